//! The quote decision: a market's YES top and the inventory in, the quote of each side of the
//! YES book out. Pure and allocation-free (it runs on every top change of a quoted market);
//! prices and sizes are integer micro-units throughout.
//!
//! On the YES book's scale (a NO price p is the YES price 1 − p):
//! - the bid side is a BUY YES at `b`, or a SELL NO at 1 − `b` when NO is held;
//! - the ask side is a BUY NO at 1 − `a`, or a SELL YES at `a` when YES is held.
//!
//! `b` starts `improve_ticks` above the best bid and `a` as far below the best ask; both move
//! down by the skew when YES is net held (up when NO is), so the side that adds to the
//! inventory gets less eager and the side that sheds it more. Then the bounds, which always
//! win: `b` at most one tick under the best ask and `a` at least one over the best bid (post-only
//! never crosses), `b` at most mid − `fair_edge_ticks` and `a` at least mid + that (never
//! better than the fair value), both on the tick grid strictly inside (0, 1).
//!
//! A BUY's size is `size × room / max_inventory` (room = `max_inventory` − held), never more
//! than the room, floored to the 0.01-share lot; a SELL's is the smaller of `size` and what is
//! held. A size under the market's minimum leaves that side unquoted.

use crate::adapters::polymarket::signing::OrderSide;
use crate::core::{Price, Size, TickSize};

use super::{Outcome, SpreadConfig, mirror};

/// Limit orders carry sizes in hundredths of a share.
pub const LOT: u64 = 10_000;
const ONE: i64 = 1_000_000;

/// The YES book's top as the decision sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct YesTop {
    pub bid: Price,
    pub bid_size: Size,
    pub ask: Price,
    pub ask_size: Size,
    /// The book is `ok` (synced, connection alive): otherwise nothing is quoted.
    pub ok: bool,
}

/// What the account holds of a market's two outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    pub yes: Size,
    pub no: Size,
}

/// One quote: an order on one outcome token at that token's own price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    pub outcome: Outcome,
    pub side: OrderSide,
    pub price: Price,
    pub size: Size,
}

impl Quote {
    /// The price on the YES book's scale.
    pub fn yes_price(&self) -> Price {
        match self.outcome {
            Outcome::Yes => self.price,
            Outcome::No => mirror(self.price),
        }
    }
}

/// The decision: the quote of each side of the YES book (`None`: that side rests nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quotes {
    pub bid: Option<Quote>,
    pub ask: Option<Quote>,
}

impl Quotes {
    pub const NONE: Self = Self {
        bid: None,
        ask: None,
    };

    /// The quotes as slots: 0 the bid side, 1 the ask side.
    pub fn slots(&self) -> [Option<Quote>; 2] {
        [self.bid, self.ask]
    }
}

/// The market's trading rules the decision needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuoteRules {
    pub tick: TickSize,
    pub min_order_size: Size,
}

/// The skew in ticks: negative when YES is net held (quotes move down), positive for NO.
#[inline]
pub fn skew_ticks(cfg: &SpreadConfig, inv: Inventory) -> i64 {
    let net = i128::from(inv.yes.0) - i128::from(inv.no.0);
    let ticks =
        net.unsigned_abs() * u128::from(cfg.skew_micro_ticks_per_share) / 1_000_000_000_000u128;
    let ticks = ticks.min(u128::from(cfg.max_skew_ticks)) as i64;
    if net > 0 { -ticks } else { ticks }
}

/// The size of a BUY with `held` shares of its token already held.
#[inline]
pub fn buy_size(cfg: &SpreadConfig, rules: &QuoteRules, held: Size) -> Option<Size> {
    let cap = cfg.max_inventory.0;
    let room = cap.checked_sub(held.0).filter(|r| *r > 0)?;
    let scaled = (u128::from(cfg.size.0) * u128::from(room) / u128::from(cap.max(1))) as u64;
    let s = scaled.min(room) / LOT * LOT;
    (s >= rules.min_order_size.0.max(LOT)).then_some(Size(s))
}

/// The size of a SELL of `held` shares.
#[inline]
fn sell_size(cfg: &SpreadConfig, rules: &QuoteRules, held: Size) -> Option<Size> {
    let s = held.0.min(cfg.size.0) / LOT * LOT;
    (s >= rules.min_order_size.0.max(LOT)).then_some(Size(s))
}

/// The quotes for this top and inventory (see the module doc).
#[inline]
pub fn decide(cfg: &SpreadConfig, rules: &QuoteRules, top: &YesTop, inv: Inventory) -> Quotes {
    let t = i64::from(rules.tick.micros().max(1));
    let (bid, ask) = (i64::from(top.bid.0), i64::from(top.ask.0));
    if !top.ok || bid <= 0 || ask <= 0 || ask >= ONE || ask <= bid {
        return Quotes::NONE;
    }
    let mid2 = bid + ask;
    let edge2 = 2 * i64::from(cfg.fair_edge_ticks) * t;
    let improve = i64::from(cfg.improve_ticks) * t;
    let shift = skew_ticks(cfg, inv) * t;
    // Highest bid the bounds allow, lowest ask: on the grid, inside (0, 1).
    let bid_max = ((mid2 - edge2).div_euclid(2 * t) * t).min(ask - t);
    let ask_min = {
        let lo = mid2 + edge2;
        let c = lo.div_euclid(2 * t) + i64::from(lo.rem_euclid(2 * t) != 0);
        (c * t).max(bid + t)
    };
    let b = ((bid + improve + shift).div_euclid(t) * t).min(bid_max);
    let a = {
        let x = ask - improve + shift;
        let c = x.div_euclid(t) + i64::from(x.rem_euclid(t) != 0);
        (c * t).max(ask_min)
    };
    let mut out = Quotes::NONE;
    if b >= t && b < a {
        let p = Price(b as u32);
        out.bid = if cfg.sell_inventory && inv.no.0 >= rules.min_order_size.0.max(LOT) {
            sell_size(cfg, rules, inv.no).map(|size| Quote {
                outcome: Outcome::No,
                side: OrderSide::Sell,
                price: mirror(p),
                size,
            })
        } else {
            buy_size(cfg, rules, inv.yes).map(|size| Quote {
                outcome: Outcome::Yes,
                side: OrderSide::Buy,
                price: p,
                size,
            })
        };
    }
    if a <= ONE - t && a > b {
        let p = Price(a as u32);
        out.ask = if cfg.sell_inventory && inv.yes.0 >= rules.min_order_size.0.max(LOT) {
            sell_size(cfg, rules, inv.yes).map(|size| Quote {
                outcome: Outcome::Yes,
                side: OrderSide::Sell,
                price: p,
                size,
            })
        } else {
            buy_size(cfg, rules, inv.no).map(|size| Quote {
                outcome: Outcome::No,
                side: OrderSide::Buy,
                price: mirror(p),
                size,
            })
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SpreadConfig {
        SpreadConfig {
            improve_ticks: 1,
            fair_edge_ticks: 1,
            size: Size(10_000_000),
            max_inventory: Size(40_000_000),
            skew_micro_ticks_per_share: 100_000,
            max_skew_ticks: 3,
            ..SpreadConfig::default()
        }
    }

    const RULES: QuoteRules = QuoteRules {
        tick: TickSize::CENT,
        min_order_size: Size(5_000_000),
    };

    fn top(bid: u32, ask: u32) -> YesTop {
        YesTop {
            bid: Price(bid),
            bid_size: Size(100_000_000),
            ask: Price(ask),
            ask_size: Size(100_000_000),
            ok: true,
        }
    }

    #[test]
    fn a_wide_book_is_quoted_one_tick_inside_on_both_sides_without_inventory() {
        let q = decide(&cfg(), &RULES, &top(400_000, 500_000), Inventory::default());
        let bid = q.bid.unwrap();
        assert_eq!(
            (bid.outcome, bid.side, bid.price, bid.size),
            (
                Outcome::Yes,
                OrderSide::Buy,
                Price(410_000),
                Size(10_000_000)
            )
        );
        let ask = q.ask.unwrap();
        // The ask side is a BUY NO at 1 − 0.49.
        assert_eq!(
            (ask.outcome, ask.side, ask.price, ask.size),
            (
                Outcome::No,
                OrderSide::Buy,
                Price(510_000),
                Size(10_000_000)
            )
        );
        assert_eq!(ask.yes_price(), Price(490_000));
    }

    #[test]
    fn quotes_never_cross_and_keep_the_fair_edge_on_narrow_books() {
        let c = cfg();
        for (b, a) in [(490_000, 500_000), (490_000, 510_000), (480_000, 510_000)] {
            let q = decide(&c, &RULES, &top(b, a), Inventory::default());
            let mid2 = i64::from(b + a);
            if let Some(x) = q.bid {
                assert!(x.yes_price().0 < a, "{b}/{a}: bid {x:?}");
                assert!(2 * i64::from(x.yes_price().0) <= mid2 - 20_000);
            }
            if let Some(x) = q.ask {
                assert!(x.yes_price().0 > b, "{b}/{a}: ask {x:?}");
                assert!(2 * i64::from(x.yes_price().0) >= mid2 + 20_000);
            }
        }
        // One tick wide with a one-tick edge: mid ± 1 tick is outside the book on both sides.
        let q = decide(&c, &RULES, &top(490_000, 500_000), Inventory::default());
        assert_eq!(q.bid.unwrap().yes_price(), Price(480_000));
        assert_eq!(q.ask.unwrap().yes_price(), Price(510_000));
    }

    #[test]
    fn yes_inventory_skews_down_sells_it_and_shrinks_the_yes_bid() {
        let inv = Inventory {
            yes: Size(20_000_000),
            no: Size::ZERO,
        };
        // 20 shares × 0.1 tick/share = 2 ticks down.
        assert_eq!(skew_ticks(&cfg(), inv), -2);
        let q = decide(&cfg(), &RULES, &top(300_000, 600_000), inv);
        let bid = q.bid.unwrap();
        assert_eq!((bid.side, bid.price), (OrderSide::Buy, Price(290_000)));
        // Room 20 of 40: half the size.
        assert_eq!(bid.size, Size(5_000_000));
        let ask = q.ask.unwrap();
        assert_eq!(
            (ask.outcome, ask.side, ask.price, ask.size),
            (
                Outcome::Yes,
                OrderSide::Sell,
                Price(570_000),
                Size(10_000_000)
            )
        );
    }

    #[test]
    fn inventory_at_its_cap_stops_buying_that_outcome() {
        let mut c = cfg();
        c.sell_inventory = false;
        let inv = Inventory {
            yes: Size(40_000_000),
            no: Size(38_000_000),
        };
        let q = decide(&c, &RULES, &top(300_000, 600_000), inv);
        assert_eq!(q.bid, None, "YES at its cap");
        // NO room is 2 shares: under the 5-share minimum.
        assert_eq!(q.ask, None);
        for held in (0..=40).map(|s| s * 1_000_000) {
            if let Some(s) = buy_size(&c, &RULES, Size(held)) {
                assert!(held + s.0 <= c.max_inventory.0);
                assert_eq!(s.0 % LOT, 0);
            }
        }
    }

    #[test]
    fn a_book_not_ok_or_one_sided_quotes_nothing() {
        let mut t = top(400_000, 500_000);
        t.ok = false;
        assert_eq!(
            decide(&cfg(), &RULES, &t, Inventory::default()),
            Quotes::NONE
        );
        assert_eq!(
            decide(&cfg(), &RULES, &top(0, 500_000), Inventory::default()),
            Quotes::NONE
        );
        assert_eq!(
            decide(&cfg(), &RULES, &top(400_000, 0), Inventory::default()),
            Quotes::NONE
        );
    }

    #[test]
    fn fine_ticks_stay_on_their_grid() {
        let rules = QuoteRules {
            tick: TickSize::MILLI,
            min_order_size: Size(5_000_000),
        };
        let q = decide(&cfg(), &rules, &top(401_000, 409_000), Inventory::default());
        assert_eq!(q.bid.unwrap().price, Price(402_000));
        assert_eq!(q.ask.unwrap().yes_price(), Price(408_000));
    }
}
