"""The user and market channels, read with `websockets` while the official client trades, in
production's shapes (fixtures ws_*; Polymarket's docs and clients)."""

import json
import time

import pytest
from py_clob_client_v2.clob_types import OrderArgsV2, OrderType
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import assert_same_keys, fixture, make_trader


def events(ws, want, timeout=5.0):
    """Reads frames until one event with `event_type == want`; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {want} event within {timeout} s"
        raw = ws.recv(timeout=left)
        if raw in ("PONG", "NO NEW ASSETS"):
            continue
        msg = json.loads(raw)
        for ev in msg if isinstance(msg, list) else [msg]:
            if ev.get("event_type") == want:
                return ev


def user_socket(venue, trader, markets):
    ws = connect(f"{venue.ws}/ws/user")
    c = trader.client.creds
    ws.send(
        json.dumps(
            {
                "auth": {"apiKey": c.api_key, "secret": c.api_secret, "passphrase": c.api_passphrase},
                "markets": markets,
                "assets_ids": [],
                "type": "user",
            }
        )
    )
    return ws


def test_user_channel_orders_trades_and_added_markets(venue):
    t = make_trader(venue)
    cond1, yes1, _ = venue.market(1)
    cond2, yes2, _ = venue.market(4)
    for tok in (yes1, yes2):
        venue.set_book(tok, bids=[("0.40", "100")], asks=[("0.60", "100")])
    with user_socket(venue, t, [cond1]) as ws:
        time.sleep(0.2)
        r = t.client.post_order(
            t.client.create_order(OrderArgsV2(token_id=yes1, price=0.30, size=10, side="BUY")), OrderType.GTC
        )
        placed = events(ws, "order")
        real = fixture("ws_user_order_placement_real.json")
        assert_same_keys(placed, real, "user order PLACEMENT")
        assert placed["type"] == "PLACEMENT" and placed["id"] == r["orderID"]
        assert placed["associate_trades"] is None
        assert len(placed["timestamp"]) == 13
        # More markets on the open connection.
        ws.send(json.dumps({"operation": "subscribe", "markets": [cond2]}))
        time.sleep(0.2)
        r2 = t.client.post_order(
            t.client.create_order(OrderArgsV2(token_id=yes2, price=0.60, size=10, side="BUY")), OrderType.GTC
        )
        trade = events(ws, "trade")
        assert_same_keys(trade, fixture("ws_user_trade_taker_matched_real.json"), "user trade")
        assert trade["market"] == cond2 and trade["taker_order_id"] == r2["orderID"]
        assert len(trade["timestamp"]) == 13 and abs(int(trade["timestamp"]) - time.time() * 1000) < 10_000
        t.client.cancel_all()


def test_user_channel_auth_failure_closes_with_a_plain_reason(venue):
    with connect(f"{venue.ws}/ws/user") as ws:
        ws.send(json.dumps({"auth": {"apiKey": "x", "secret": "y", "passphrase": "z"}, "markets": [], "type": "user"}))
        with pytest.raises(ConnectionClosed) as e:
            ws.recv(timeout=5)
    rcvd = e.value.rcvd
    assert rcvd is not None, "the venue closes with a close frame"
    assert rcvd.reason and not rcvd.reason.lstrip().startswith("{"), rcvd


def test_market_channel_custom_features(venue):
    cond, yes, no = venue.market(5)
    venue.set_book(yes, bids=[("0.40", "100")], asks=[("0.60", "100")])
    with connect(f"{venue.ws}/ws/market") as ws:
        ws.send(json.dumps({"assets_ids": [yes, no], "type": "market", "custom_feature_enabled": True}))
        book = events(ws, "book")
        assert book["market"] == cond
        venue.set_book(yes, bids=[("0.45", "100")], asks=[("0.55", "100")])
        bba = events(ws, "best_bid_ask")
        assert_same_keys(bba, fixture("ws_best_bid_ask.json"), "best_bid_ask")
        assert bba["market"] == cond and bba["asset_id"] in (yes, no)
        want = {yes: ("0.45", "0.55"), no: ("0.45", "0.55")}[bba["asset_id"]]
        assert (bba["best_bid"], bba["best_ask"], bba["spread"]) == (*want, "0.1")
        venue.admin_post("/admin/market-event", {"condition_id": cond, "event": "new_market"})
        new = events(ws, "new_market")
        assert_same_keys(new, fixture("ws_new_market.json"), "new_market")
        assert new["market"] == cond and new["assets_ids"] == [yes, no]
        venue.admin_post(
            "/admin/market-event", {"condition_id": cond, "event": "market_resolved", "winning_asset_id": yes}
        )
        resolved = events(ws, "market_resolved")
        assert_same_keys(resolved, fixture("ws_market_resolved.json"), "market_resolved")
        assert resolved["winning_asset_id"] == yes and resolved["winning_outcome"] == "Yes"


def test_market_channel_without_custom_features(venue):
    _, yes, _ = venue.market(5)
    venue.set_book(yes, bids=[("0.40", "100")], asks=[("0.60", "100")])
    with connect(f"{venue.ws}/ws/market") as ws:
        ws.send(json.dumps({"assets_ids": [yes], "type": "market"}))
        events(ws, "book")
        venue.set_book(yes, bids=[("0.42", "100")], asks=[("0.58", "100")])
        events(ws, "book")
        ws.send("PING")
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            raw = ws.recv(timeout=5)
            if raw == "PONG":
                break
            msg = json.loads(raw)
            seen += [e["event_type"] for e in (msg if isinstance(msg, list) else [msg])]
        assert "best_bid_ask" not in seen, seen
