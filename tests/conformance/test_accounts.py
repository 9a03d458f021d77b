"""Accounts of every signature type, made and used the way production wants (docs.polymarket.com
and the official clients.3, §13): orders, balances and trades belong to the account the key trades for."""

import pytest
from py_clob_client_v2.clob_types import OrderArgsV2, OrderType, TradeParams

from conftest import api_error, collateral, make_trader, tokens

EOA_REFUSED = "maker address not allowed, please use the deposit wallet flow"


def buy_at_ask(venue, trader, market=1):
    cond, yes, _ = venue.market(market)
    venue.set_book(yes, bids=[("0.40", "100")], asks=[("0.60", "100")])
    order = trader.client.create_order(OrderArgsV2(token_id=yes, price=0.60, size=10, side="BUY"))
    return cond, yes, order


@pytest.mark.parametrize("signature_type", [1, 2, 3])
def test_funded_accounts_trade_for_their_funder(venue, venue_eoa, signature_type):
    # A fresh API user's proxy or Safe is refused like an EOA (below); where the venue takes
    # them (older accounts), orders trade for the funder.
    if signature_type != 3:
        venue = venue_eoa
    t = make_trader(venue, signature_type=signature_type)
    cond, yes, order = buy_at_ask(venue, t)
    cash = collateral(t)
    r = t.client.post_order(order, OrderType.GTC)
    assert r["status"] == "matched", r
    assert collateral(t) == cash - 6_000_000
    assert tokens(t, yes) == 10_000_000
    trades = t.client.get_trades(TradeParams(market=cond))
    assert [x["id"] for x in trades] == r["tradeIDs"]
    assert trades[0]["maker_address"].lower() == t.funder.lower()
    if signature_type == 3:
        # The deposit wallet is maker and signer; the venue derives it from the owner.
        assert venue.deposit_wallet(t.owner).lower() == t.funder.lower()
        assert t.funder.lower() != t.owner.lower()


@pytest.mark.parametrize("signature_type", [0, 1, 2])
def test_eoa_proxy_and_safe_orders_are_refused_by_default(venue, signature_type):
    t = make_trader(venue, signature_type=signature_type)
    _, _, order = buy_at_ask(venue, t)
    with pytest.raises(Exception) as e:
        t.client.post_order(order, OrderType.GTC)
    assert api_error(e) == (400, EOA_REFUSED)


def test_eoa_orders_where_allowed(venue_eoa):
    t = make_trader(venue_eoa, signature_type=0)
    cond, yes, order = buy_at_ask(venue_eoa, t)
    cash = collateral(t)
    r = t.client.post_order(order, OrderType.GTC)
    assert r["status"] == "matched", r
    assert collateral(t) == cash - 6_000_000
    assert tokens(t, yes) == 10_000_000


def test_use_server_time_pass(venue):
    """One pass with the client's server clock: it reads GET /time before each signed call."""
    t = make_trader(venue, use_server_time=True)
    cond, yes, _ = venue.market(1)
    venue.set_book(yes, bids=[("0.40", "100")], asks=[("0.60", "100")])
    r = t.client.create_and_post_order(OrderArgsV2(token_id=yes, price=0.30, size=10, side="BUY"))
    assert r["status"] == "live", r
    assert [o["id"] for o in t.client.get_open_orders()] == [r["orderID"]]
    assert t.client.get_api_keys() == {"apiKeys": [t.client.creds.api_key]}
    beat = t.client.post_heartbeat("")
    assert t.client.post_heartbeat(beat["heartbeat_id"])["heartbeat_id"]
    assert t.client.cancel_all()["canceled"] == [r["orderID"]]
    assert t.client.derive_api_key().api_key == t.client.creds.api_key


def test_l1_create_and_derive(venue):
    from eth_account import Account
    from py_clob_client_v2.client import ClobClient

    from conftest import CHAIN_ID, simple_fixture

    key = "0x" + Account.create().key.hex().removeprefix("0x")
    c = ClobClient(venue.http, CHAIN_ID, key=key)
    made = c.create_api_key()
    assert c.derive_api_key() == made
    # Creating again falls back to deriving the same key, as the official client does.
    assert c.create_or_derive_api_key() == made
    raw = c._get(f"{venue.http}/auth/derive-api-key", headers=c._l1_headers())
    assert set(raw) == set(simple_fixture("GET /auth/derive-api-key (response)"))
    # Another nonce is another key.
    other = c.create_api_key(nonce=7)
    assert other.api_key != made.api_key and c.derive_api_key(nonce=7) == other
