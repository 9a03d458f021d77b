#!/usr/bin/env python3
"""Market-order amounts as the official client computes them, for tests/engine/signing_vectors.rs.

Drives py-clob-client-v2's own `OrderBuilder.get_market_order_amounts` (the code behind
`create_market_order`) at tick 0.01 over seeded random (amount, price) pairs per side, plus a
few hand-picked edges, and writes what it signs as makerAmount/takerAmount. Re-run with the
pinned client (the virtual environment scripts/test.sh makes) to re-derive the fixture:

    target/conformance-venv/bin/python scripts/gen_market_amounts.py > fixtures/polymarket/market_amounts_tick_0.01.json
"""
import json
import random
import sys
from importlib.metadata import version

from py_clob_client_v2.order_builder.builder import OrderBuilder, ROUNDING_CONFIG
from py_clob_client_v2.order_builder.constants import BUY, SELL
from py_clob_client_v2.order_builder.helpers import round_down

TICK = "0.01"
PAIRS_PER_SIDE = 150
EDGES = [("10", "0.47"), ("1", "0.99"), ("1.01", "0.64"), ("99999.99", "0.01"), ("2", "0.36"),
         ("15", "0.24"), ("3.333333", "0.33"), ("1000000", "0.5")]


def amount_text(rng: random.Random) -> str:
    # Up to 6 decimals (the client cuts to 2): what a caller may pass, not what it signs.
    whole = rng.choice([1, 2, 5, 10, 37, 100, 999, 12345, 250000])
    whole = rng.randint(1, whole)
    dp = rng.randint(0, 6)
    frac = rng.randint(0, 10**dp - 1) if dp else 0
    return f"{whole}.{frac:0{dp}d}" if dp else str(whole)


def main() -> None:
    rng = random.Random(17)
    builder = OrderBuilder(signer=None)
    cfg = ROUNDING_CONFIG[TICK]
    cases = []
    for side in (BUY, SELL):
        pairs = list(EDGES)
        while len(pairs) < PAIRS_PER_SIDE:
            pairs.append((amount_text(rng), f"0.{rng.randint(1, 99):02d}"))
        for amount, price in pairs:
            _, maker, taker = builder.get_market_order_amounts(side, float(amount), float(price), cfg)
            # The client cuts in binary floats: 0.29 becomes 0.28 and 2.01 becomes 2.00 on the
            # way (floor(28.999999999999996) / 100). What it cut to is recorded, so the test
            # can tell its float artefacts from a difference in the rule.
            cut_amount = repr(round_down(float(amount), cfg.size))
            cut_price = repr(round_down(float(price), cfg.price))
            cases.append({"side": side, "amount": amount, "price": price,
                          "client_cut_amount": cut_amount, "client_cut_price": cut_price,
                          "maker": str(maker), "taker": str(taker)})
    json.dump({"client": f"py-clob-client-v2 {version('py-clob-client-v2')}", "tick_size": TICK,
               "cases": cases}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
