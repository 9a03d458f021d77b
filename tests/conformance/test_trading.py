"""Limit orders, batches, cancels, queries, balances and heartbeats through the official
client, with production's answers and refusal texts (Polymarket's docs and clients)."""

import re
import time

import pytest
from eth_account import Account
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    CreateOrderOptions,
    OpenOrderParams,
    OrderArgsV2,
    OrderMarketCancelParams,
    OrderPayload,
    OrderType,
    PostOrdersV2Args,
    TradeParams,
)

from conftest import (
    CHAIN_ID,
    api_error,
    assert_same_keys,
    collateral,
    fixture,
    make_trader,
    tokens,
)

ORDER_ID = re.compile(r"0x[0-9a-f]{64}")
# POST /order answer keys (clob-client-v2 OrderResponse; the venue sends all of them).
ORDER_RESPONSE_KEYS = {
    "success",
    "errorMsg",
    "orderID",
    "status",
    "makingAmount",
    "takingAmount",
    "transactionsHashes",
    "tradeIDs",
}
TICK_MARKET = 1  # tick 0.01


@pytest.fixture()
def book(venue):
    """Market 1 (tick 0.01) with a known book: YES bids 0.40/0.39, asks 0.60/0.61."""
    cond, yes, no = venue.market(TICK_MARKET)
    venue.set_book(yes, bids=[("0.40", "500"), ("0.39", "500")], asks=[("0.60", "500"), ("0.61", "500")])
    return cond, yes, no


def limit(trader, token, price, size, side="BUY", **kw):
    return trader.client.create_order(OrderArgsV2(token_id=token, price=price, size=size, side=side, **kw))


def check_order_response(r, status):
    assert set(r) == ORDER_RESPONSE_KEYS, r
    ok = fixture("clob_post_order_response_ok_synthetic.json")
    assert set(ok) <= set(r)
    assert r["success"] is True and r["errorMsg"] == "", r
    assert ORDER_ID.fullmatch(r["orderID"]), r
    assert r["status"] == status, r


def test_gtc_rests_lists_and_cancels(venue, trader, book):
    cond, yes, _ = book
    before = collateral(trader)
    r = trader.client.post_order(limit(trader, yes, 0.35, 10), OrderType.GTC)
    check_order_response(r, "live")
    oid = r["orderID"]
    # A resting BUY holds back its pUSD.
    got = trader.client.get_order(oid)
    want = fixture("clob_open_orders_page_synthetic.json")["data"][0]
    assert_same_keys(got, want, "GET /data/order/{id}")
    assert got["id"] == oid and got["status"] == "LIVE" and got["price"] == "0.35"
    assert got["original_size"] == "10" and got["size_matched"] == "0"
    assert got["maker_address"].lower() == trader.funder.lower()
    listed = trader.client.get_open_orders(OpenOrderParams(market=cond))
    assert [o["id"] for o in listed] == [oid]
    assert collateral(trader) == before  # balance counts what orders hold
    c = trader.client.cancel_order(OrderPayload(orderID=oid))
    assert c == {"canceled": [oid], "not_canceled": {}}
    again = trader.client.cancel_order(OrderPayload(orderID=oid))
    assert again == {"canceled": [], "not_canceled": {oid: "already canceled or matched"}}
    assert_same_keys(again, fixture("clob_cancel_response_failed.json"), "cancel answer")
    # Production answers GET /data/order/{id} for open orders only.
    assert not trader.client.get_order(oid)
    assert trader.client.get_open_orders(OpenOrderParams(market=cond)) == []


def test_gtd_and_its_expiration_rule(venue, trader, book):
    _, yes, _ = book
    exp = int(time.time()) + 3600
    r = trader.client.post_order(limit(trader, yes, 0.30, 10, expiration=exp), OrderType.GTD)
    check_order_response(r, "live")
    assert trader.client.get_order(r["orderID"])["expiration"] == str(exp)
    with pytest.raises(Exception) as e:
        trader.client.post_order(
            limit(trader, yes, 0.30, 10, expiration=int(time.time()) + 5), OrderType.GTD
        )
    assert api_error(e) == (400, "invalid expiration")
    trader.client.cancel_all()


def test_post_only(venue, trader, book):
    _, yes, _ = book
    r = trader.client.post_order(limit(trader, yes, 0.41, 10), OrderType.GTC, post_only=True)
    check_order_response(r, "live")
    with pytest.raises(Exception) as e:
        trader.client.post_order(limit(trader, yes, 0.60, 10), OrderType.GTC, post_only=True)
    assert api_error(e) == (400, "invalid post-only order: order crosses book")
    trader.client.cancel_all()


def test_crossing_gtc_fills_and_trades_are_listed(venue, trader, book):
    cond, yes, _ = book
    cash0, shares0 = collateral(trader), tokens(trader, yes)
    r = trader.client.post_order(limit(trader, yes, 0.60, 20), OrderType.GTC)
    check_order_response(r, "matched")
    assert r["makingAmount"] == "12" and r["takingAmount"] == "20", r
    assert len(r["tradeIDs"]) == 1 and len(r["transactionsHashes"]) == 1
    assert collateral(trader) == cash0 - 12_000_000
    assert tokens(trader, yes) == shares0 + 20_000_000
    trades = trader.client.get_trades(TradeParams(market=cond))
    assert [t["id"] for t in trades] == r["tradeIDs"]
    assert_same_keys(trades[0], fixture("clob_data_trade_item_real.json"), "/data/trades item")
    assert trades[0]["trader_side"] == "TAKER" and trades[0]["price"] == "0.6"
    assert trades[0]["maker_address"].lower() == trader.funder.lower()
    page = trader.client.get_trades_paginated(TradeParams(id=r["tradeIDs"][0]))
    assert [t["id"] for t in page["trades"]] == r["tradeIDs"]
    # A matched order is no longer served by GET /data/order/{id}.
    assert not trader.client.get_order(r["orderID"])


def test_refusal_texts(venue, trader, book):
    _, yes, _ = book
    # A price off the 0.01 grid: the client would round it, so the order is built by hand.
    off_grid = trader.client.builder.build_order(
        OrderArgsV2(token_id=yes, price=0.315, size=10, side="BUY"),
        CreateOrderOptions(tick_size="0.001", neg_risk=False),
    )
    with pytest.raises(Exception) as e:
        trader.client.post_order(off_grid, OrderType.GTC)
    status, text = api_error(e)
    assert status == 400
    assert re.fullmatch(
        r"order 0x[0-9a-f]{64} is invalid\. Price \(0\.315\) breaks minimum tick size rule: 0\.01",
        text,
    ), text
    with pytest.raises(Exception) as e:
        trader.client.post_order(limit(trader, yes, 0.30, 2), OrderType.GTC)
    status, text = api_error(e)
    assert status == 400
    assert re.fullmatch(r"order 0x[0-9a-f]{64} is invalid\. Size \(2\) lower than the minimum: 5", text), text
    once = limit(trader, yes, 0.30, 10)
    check_order_response(trader.client.post_order(once, OrderType.GTC), "live")
    with pytest.raises(Exception) as e:
        trader.client.post_order(once, OrderType.GTC)
    status, text = api_error(e)
    assert status == 400
    assert re.fullmatch(r"order 0x[0-9a-f]{64} is invalid\. Duplicated\.", text), text
    with pytest.raises(Exception) as e:
        trader.client.post_order(limit(trader, yes, 0.39, 100_000_000), OrderType.GTC)
    assert api_error(e) == (400, "not enough balance / allowance")
    with pytest.raises(Exception) as e:
        trader.client.get_balance_allowance(BalanceAllowanceParams(asset_type="NOT_AN_ASSET"))
    assert api_error(e) == (400, "Invalid asset type")
    with pytest.raises(Exception) as e:
        trader.client.cancel_order(OrderPayload(orderID="not-an-order-id"))
    assert api_error(e) == (400, "Invalid orderID")
    trader.client.cancel_all()


def test_batches_of_15_and_16(venue, trader, book):
    _, yes, _ = book
    args = [
        PostOrdersV2Args(order=limit(trader, yes, 0.20 + i * 0.01, 5), orderType=OrderType.GTC)
        for i in range(16)
    ]
    with pytest.raises(Exception) as e:
        trader.client.post_orders(args)
    assert api_error(e) == (400, "Too many orders in payload: 16, max allowed: 15")
    r = trader.client.post_orders(args[:15])
    assert isinstance(r, list) and len(r) == 15
    for x in r:
        check_order_response(x, "live")
    assert len({x["orderID"] for x in r}) == 15
    ids = [x["orderID"] for x in r]
    c = trader.client.cancel_orders(ids[:5])
    assert sorted(c["canceled"]) == sorted(ids[:5]) and c["not_canceled"] == {}
    assert_same_keys(c, fixture("clob_cancel_orders_response.json"), "DELETE /orders answer")
    c = trader.client.cancel_market_orders(OrderMarketCancelParams(asset_id=yes))
    assert sorted(c["canceled"]) == sorted(ids[5:]) and c["not_canceled"] == {}
    assert trader.client.get_open_orders() == []


def test_cancel_all_and_market(venue, trader, book):
    cond, yes, no = book
    a = trader.client.post_order(limit(trader, yes, 0.30, 10), OrderType.GTC)["orderID"]
    b = trader.client.post_order(limit(trader, no, 0.30, 10), OrderType.GTC)["orderID"]
    c = trader.client.cancel_market_orders(OrderMarketCancelParams(market=cond))
    assert sorted(c["canceled"]) == sorted([a, b])
    a = trader.client.post_order(limit(trader, yes, 0.30, 10), OrderType.GTC)["orderID"]
    c = trader.client.cancel_all()
    assert c == {"canceled": [a], "not_canceled": {}}
    assert trader.client.cancel_all() == {"canceled": [], "not_canceled": {}}


def test_balances_of_the_account(venue, trader):
    _, yes, _ = venue.market(TICK_MARKET)
    venue.fund(trader.funder, tokens={yes: "25"})
    assert tokens(trader, yes) == 25_000_000
    r = trader.client.get_balance_allowance(
        BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=yes)
    )
    assert_same_keys(r, fixture("clob_balance_allowance.json"), "conditional balance")
    assert trader.client.update_balance_allowance(
        BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=yes)
    ) in ("", None, {}, "OK")


def test_heartbeats_rotate(venue, trader):
    first = trader.client.post_heartbeat("")
    assert set(first) == {"heartbeat_id"} and first["heartbeat_id"]
    second = trader.client.post_heartbeat(first["heartbeat_id"])
    assert second["heartbeat_id"] and second["heartbeat_id"] != first["heartbeat_id"]
    # The previous id is spent: production answers 400 Invalid Heartbeat ID.
    with pytest.raises(Exception) as e:
        trader.client.post_heartbeat(first["heartbeat_id"])
    assert api_error(e) == (400, "Invalid Heartbeat ID")
    with pytest.raises(Exception) as e:
        trader.client.post_heartbeat("never-issued")
    assert api_error(e) == (400, "Invalid Heartbeat ID")


def test_api_keys_listed_and_deleted(venue):
    # Key management needs L1 and L2 auth only, no trading account.
    key = "0x" + Account.create().key.hex().removeprefix("0x")
    creds = ClobClient(venue.http, CHAIN_ID, key=key).create_api_key()
    c = ClobClient(venue.http, CHAIN_ID, key=key, creds=creds)
    assert c.get_api_keys() == {"apiKeys": [creds.api_key]}
    assert c.derive_api_key().api_key == creds.api_key
    assert c.delete_api_key() == "OK"
    with pytest.raises(Exception) as e:
        c.get_api_keys()
    assert api_error(e) == (401, "Unauthorized/Invalid api key")
    # The owner may make a key again.
    again = ClobClient(venue.http, CHAIN_ID, key=key).create_api_key()
    assert again.api_key != creds.api_key
