"""Every public read of the official client, answered in production's shapes."""

import re
import time

from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    BookParams,
    PricesHistoryParams,
)
from py_clob_client_v2.client import ClobClient

from conftest import (
    CHAIN_ID,
    TICKS,
    assert_decimal_string,
    assert_same_keys,
    fixture,
    simple_fixture,
)


def public(venue):
    return ClobClient(venue.http, CHAIN_ID)


def test_ok_time_version(venue):
    c = public(venue)
    assert c.get_ok() == "OK"
    t = c.get_server_time()
    # Production: a bare number of unix seconds.
    assert isinstance(t, int) and abs(t - time.time()) < 5, t
    assert isinstance(simple_fixture("GET /time"), int)
    assert c.get_version() == 2


def test_tick_size_neg_risk_fee_rate(venue):
    for i, tick in enumerate(TICKS):
        c = public(venue)
        _, yes, no = venue.market(i)
        assert c.get_tick_size(yes) == tick
        assert c.get_tick_size(no) == tick
        assert c.get_neg_risk(yes) is False
        assert c.get_fee_rate_bps(yes) == 0
    c = public(venue)
    raw = c._get(f"{venue.http}/tick-size", params={"token_id": venue.market(1)[1]})
    assert_same_keys(raw, simple_fixture("GET /tick-size?token_id=1"), "/tick-size")
    raw = c._get(f"{venue.http}/neg-risk", params={"token_id": venue.market(1)[1]})
    assert_same_keys(raw, simple_fixture("GET /neg-risk?token_id=1"), "/neg-risk")
    raw = c._get(f"{venue.http}/fee-rate", params={"token_id": venue.market(1)[1]})
    assert_same_keys(raw, simple_fixture("GET /fee-rate?token_id=1"), "/fee-rate")
    # The neg-risk group follows the stand-alone markets.
    neg = [m for m in venue.markets if m["neg_risk"]]
    assert neg, "the conformance venue has a neg-risk group"
    assert public(venue).get_neg_risk(neg[0]["token_ids"][0]) is True


def test_market_info_by_token_and_clob_market(venue):
    for i, tick in enumerate(TICKS):
        cond, yes, no = venue.market(i)
        c = public(venue)
        by_token = c._get(f"{venue.http}/markets-by-token/{yes}")
        assert by_token["condition_id"] == cond
        info = c.get_clob_market_info(cond)
        assert info["c"] == cond
        assert [t["t"] for t in info["t"]] == [yes, no]
        assert [t["o"] for t in info["t"]] == ["Yes", "No"]
        assert str(info["mts"]) == tick
        assert info["nr"] is False
        assert set(info["fd"]) == {"r", "e", "to"}
        assert isinstance(info["fd"]["r"], (int, float))
        assert isinstance(info["fd"]["to"], bool)
        # The client then knows the tick without asking /tick-size again.
        assert c.get_tick_size(yes) == tick


def test_markets_listings(venue):
    c = public(venue)
    real = fixture("clob_markets_page_real_2024.json")
    page = c.get_markets()
    assert_same_keys(page, real, "/markets page")
    assert page["next_cursor"] == "LTE=" and page["count"] == len(venue.markets)
    assert_same_keys(page["data"][0], real["data"][0], "/markets item")
    cond = venue.market(2)[0]
    one = c.get_market(cond)
    market_2026 = fixture("clob_market_real_2026.json")
    assert_same_keys(one, market_2026, "/markets/{condition_id}")
    assert one["condition_id"] == cond
    assert str(one["minimum_tick_size"]) == TICKS[2]
    assert_same_keys(one["tokens"][0], market_2026["tokens"][0], "market token")
    for listing in (c.get_simplified_markets(), c.get_sampling_markets()):
        assert set(listing) == {"data", "next_cursor", "limit", "count"}
        assert listing["data"], listing
    simple = c.get_simplified_markets()["data"][0]
    assert set(simple) == {
        "condition_id",
        "rewards",
        "tokens",
        "active",
        "closed",
        "archived",
        "accepting_orders",
    }
    sampling = c.get_sampling_markets()["data"][0]
    assert_same_keys(sampling, market_2026, "/sampling-markets item")


def test_book_and_prices(venue):
    cond, yes, no = venue.market(1)
    venue.set_book(yes, bids=[("0.45", "100"), ("0.44", "50")], asks=[("0.48", "70"), ("0.5", "10")])
    c = public(venue)
    book = c.get_order_book(yes)
    sample = simple_fixture("GET /book?token_id=1")
    assert_same_keys(book, sample, "/book", allow_extra=("hash", "last_trade_price"))
    assert book["market"] == cond and book["asset_id"] == yes
    assert c.get_order_book_hash(book) and re.fullmatch(r"[0-9a-f]{40}", book["hash"])
    assert c.get_midpoint(yes) == {"mid": "0.465"}
    assert c.get_price(yes, "BUY") == {"price": "0.45"}  # production: BUY = best bid
    assert c.get_price(yes, "SELL") == {"price": "0.48"}
    assert c.get_spread(yes) == {"spread": "0.03"}
    # The NO token is the mirrored book.
    assert c.get_midpoint(no) == {"mid": "0.535"}
    assert c.get_price(no, "BUY") == {"price": "0.52"}
    mids = c.get_midpoints([BookParams(token_id=yes), BookParams(token_id=no)])
    assert mids == {yes: 0.465, no: 0.535}
    prices = c.get_prices([BookParams(token_id=yes, side="BUY"), BookParams(token_id=no, side="SELL")])
    assert prices == {yes: {"BUY": 0.45}, no: {"SELL": 0.55}}
    shape = simple_fixture("POST /prices [{token_id,side}]")["1"]
    assert set(prices[yes]) == set(shape)
    spreads = c.get_spreads([BookParams(token_id=yes)])
    assert spreads == {yes: 0.03}
    books = c.get_order_books([BookParams(token_id=yes), BookParams(token_id=no)])
    assert [b["asset_id"] for b in books] == [yes, no]


def test_last_trade_and_history(venue):
    cond, yes, _ = venue.market(1)
    c = public(venue)
    last = c.get_last_trade_price(yes)
    assert_same_keys(last, simple_fixture("GET /last-trade-price?token_id=1"), "/last-trade-price")
    many = c.get_last_trades_prices([BookParams(token_id=yes)])
    want = simple_fixture("GET /last-trades-prices [{token_id}]")
    assert isinstance(many, list) and len(many) == 1
    assert_same_keys(many[0], want[0], "/last-trades-prices item")
    assert many[0]["token_id"] == yes
    now = int(time.time())
    hist = c.get_prices_history(PricesHistoryParams(market=yes, start_ts=now - 3600, end_ts=now))
    assert set(hist) == {"history"}
    for point in hist["history"]:
        assert set(point) == {"t", "p"}


def test_unknown_token_is_refused(venue):
    c = public(venue)
    r = c._get  # the client raises on any non-200
    try:
        r(f"{venue.http}/midpoint", params={"token_id": "123"})
    except Exception as e:  # noqa: BLE001 - the refusal is what is checked
        assert e.status_code == 404
        assert e.error_msg == {"error": "No orderbook exists for the requested token id"}
    else:
        raise AssertionError("an unknown token must be refused")


def test_balance_shapes(venue, trader):
    from conftest import collateral

    assert collateral(trader) > 0
    raw = trader.client.get_balance_allowance(
        BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
    )
    assert_same_keys(raw, fixture("clob_balance_allowance.json"), "/balance-allowance")
    assert_decimal_string(raw["balance"], "balance")
