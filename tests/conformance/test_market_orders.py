"""Market orders (FOK and FAK, BUY and SELL) built by the official client over random
amount/price pairs at every tick size, answered as production answers them (Polymarket's docs):

- a marketable BUY's maker (pUSD) may carry 2 decimals and its taker (shares) 4; a SELL's maker
  (shares) 2 and taker (pUSD) 4. The client's fine-tick amounts break that rule (py-clob-client-v2
  #99): production refuses them with its `invalid amounts` text;
- a BUY spends its pUSD across the levels up to its price; a SELL sells its shares;
- FOK fills fully or is killed; FAK fills what the book has within the price.

Every fill is checked against the account's balances to the micro-unit.
"""

import random
from decimal import ROUND_DOWN, Decimal

import pytest
from py_clob_client_v2.clob_types import MarketOrderArgsV2, OrderType
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2

from conftest import TICKS, api_error, collateral, make_trader, tokens

PAIRS = 100
MICRO = Decimal(1_000_000)
FOK_KILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
BAD_AMOUNTS = (
    "invalid amounts, the market {side} orders maker amount supports a max accuracy of 2 "
    "decimals, taker amount a max of 4 decimals"
)


def book_for(tick, rng):
    """Four ask levels from 0.5 up and four bid levels below, on the tick, random sizes."""
    t = Decimal(tick)
    asks = [(Decimal("0.5") + k * t, Decimal(rng.randint(500, 40_000)) / 100) for k in range(4)]
    bids = [(Decimal("0.5") - (k + 1) * t, Decimal(rng.randint(500, 40_000)) / 100) for k in range(4)]
    return bids, asks


def amounts_of(order):
    o = order_to_json_v2(order, "", OrderType.FOK, False, False)["order"]
    return int(o["makerAmount"]), int(o["takerAmount"])


def fits_market_precision(maker, taker):
    return maker % 10_000 == 0 and taker % 100 == 0


def random_amount(rng, within, low):
    """An amount either well inside what the book has within the price, or well past it."""
    if rng.random() < 0.75:
        hi = max(low * Decimal("1.2"), within * Decimal("0.95"))
        x = Decimal(str(rng.uniform(float(low), float(hi))))
    else:
        x = within * Decimal(str(rng.uniform(1.05, 1.5))) + 1
    return float(x.quantize(Decimal(1).scaleb(-rng.randint(0, 4)), rounding=ROUND_DOWN))


def run_pairs(venue, tick_index, side, order_type):
    tick = TICKS[tick_index]
    rng = random.Random(f"{tick}-{side}-{order_type}")
    _, yes, _ = venue.market(tick_index)
    trader = make_trader(venue, funds={yes: "1000000"})
    outcomes = {"filled": 0, "partial": 0, "killed": 0, "refused": 0}
    for _ in range(PAIRS):
        bids, asks = book_for(tick, rng)
        venue.set_book(yes, bids=bids, asks=asks)
        levels = asks if side == "BUY" else bids
        j = rng.randrange(len(levels))
        worst = levels[j][0]
        reach = levels[: j + 1]
        if side == "BUY":
            within = sum(p * s for p, s in reach)
            amount = random_amount(rng, within, Decimal(1))
        else:
            within = sum(s for _, s in reach)
            amount = random_amount(rng, within, max(Decimal(5), 2 / worst))
        order = trader.client.create_market_order(
            MarketOrderArgsV2(token_id=yes, amount=amount, side=side, price=float(worst), order_type=order_type)
        )
        maker, taker = amounts_of(order)
        cash0, shares0 = collateral(trader), tokens(trader, yes)
        if not fits_market_precision(maker, taker):
            with pytest.raises(Exception) as e:
                trader.client.post_order(order, order_type)
            assert api_error(e) == (400, BAD_AMOUNTS.format(side=side.lower())), (amount, worst)
            outcomes["refused"] += 1
            continue
        wanted = Decimal(maker) / MICRO
        if order_type == OrderType.FOK and wanted > within:
            with pytest.raises(Exception) as e:
                trader.client.post_order(order, order_type)
            assert api_error(e) == (400, FOK_KILLED), (amount, worst)
            assert (collateral(trader), tokens(trader, yes)) == (cash0, shares0)
            outcomes["killed"] += 1
            continue
        r = trader.client.post_order(order, order_type)
        assert r["success"] is True and r["status"] == "matched", (amount, worst, r)
        making = int(Decimal(r["makingAmount"]) * MICRO)
        taking = int(Decimal(r["takingAmount"]) * MICRO)
        partial = wanted > within
        if side == "BUY":
            # The pUSD amount is spent across the levels (all of it, or all the book has).
            spend = within if partial else wanted
            assert abs(making - int(spend * MICRO)) <= 10 * len(reach), (amount, worst, r)
            if partial:
                assert taking == int(sum(s for _, s in reach) * MICRO), (amount, worst, r)
            assert Decimal(making) <= Decimal(taking) * worst + 10, (amount, worst, r)
            assert collateral(trader) == cash0 - making
            assert tokens(trader, yes) == shares0 + taking
        else:
            sold = within if partial else wanted
            assert making == int(sold * MICRO), (amount, worst, r)
            left, value = sold, Decimal(0)
            for p, s in reach:
                q = min(left, s)
                value += q * p
                left -= q
            assert taking == int(value * MICRO), (amount, worst, r)
            assert tokens(trader, yes) == shares0 - making
            assert collateral(trader) == cash0 + taking
        outcomes["partial" if partial else "filled"] += 1
    # Each run must have exercised fills (and, for FOK, kills) rather than refusals alone.
    assert outcomes["filled"] > 0, outcomes
    return outcomes


@pytest.mark.parametrize("order_type", [OrderType.FOK, OrderType.FAK])
@pytest.mark.parametrize("side", ["BUY", "SELL"])
@pytest.mark.parametrize("tick_index", range(len(TICKS)), ids=TICKS)
def test_market_orders(venue, tick_index, side, order_type):
    outcomes = run_pairs(venue, tick_index, side, order_type)
    if order_type == OrderType.FOK:
        assert outcomes["killed"] > 0 and outcomes["partial"] == 0, outcomes
    else:
        assert outcomes["killed"] == 0 and outcomes["partial"] > 0, outcomes


def test_market_buy_at_the_highest_price(venue):
    """A market BUY at 1 - tick, as the official client builds it: the share amount is floored to
    4 decimals, so maker/taker lands a little above the price asked (7.77 pUSD at 0.99 names
    0.990014). Production fills such orders against asks at 0.99; nothing is refused."""
    tick_index = TICKS.index("0.01")
    _, yes, _ = venue.market(tick_index)
    trader = make_trader(venue)
    above = 0
    for amount in [7.77, 3.33, 12.34, 1.01, 25.55]:
        venue.set_book(yes, bids=[(Decimal("0.98"), Decimal(100))], asks=[(Decimal("0.99"), Decimal(1000))])
        order = trader.client.create_market_order(
            MarketOrderArgsV2(token_id=yes, amount=amount, side="BUY", price=0.99, order_type=OrderType.FOK)
        )
        maker, taker = amounts_of(order)
        assert fits_market_precision(maker, taker), (amount, maker, taker)
        if maker * 1_000_000 // taker > 990_000:
            above += 1
        cash0, shares0 = collateral(trader), tokens(trader, yes)
        r = trader.client.post_order(order, OrderType.FOK)
        assert r["success"] is True and r["status"] == "matched", (amount, r)
        making = int(Decimal(r["makingAmount"]) * MICRO)
        taking = int(Decimal(r["takingAmount"]) * MICRO)
        # The pUSD is spent at 0.99 a share, each share amount floored to the micro-unit.
        assert abs(making - maker) <= 10 and Decimal(making) <= Decimal(taking) * Decimal("0.99") + 10, (amount, r)
        assert collateral(trader) == cash0 - making
        assert tokens(trader, yes) == shares0 + taking
    # The case this test is about: amounts whose ratio is above the price asked.
    assert above >= 3, above
