//! Matching: a taker against the best opposite liquidity, price first, then time.
//!
//! Liquidity is of two kinds. House liquidity is what the market model quotes on a token's own
//! book (anonymous; at one price it is older than any user order, so it goes first). User
//! liquidity is the resting orders of the market's YES-space queue, which serves both tokens:
//! a BUY YES taker meets SELL YES makers at p and BUY NO makers at 1 − p (a mint), a SELL YES
//! taker meets BUY YES makers and SELL NO makers (a merge). Fills are at the maker's price.
//!
//! Settlement moves balances at once and records every move, so that a trade that later fails
//! (fault injection) can be rolled back. Amounts are exact integers: `shares × price` is
//! floored once for the taker and the counterpart gets the complement, so collateral is
//! conserved to the micro-unit.

use crate::book::VenueBooks;
use crate::event::{EventBuf, LevelDelta, VenueEvent};
use polyarb::adapters::polymarket::signing::{Address, OrderSide};
use polyarb::core::decimal::MICROS_PER_UNIT;
use polyarb::core::fees::FeeSchedule;
use polyarb::core::{Price, Side, Size};

use super::accounts::{Accounts, Holding};
use super::orders::{OrderStatus, OrderStore, to_yes};

/// Who is on the other side of a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counterparty {
    House,
    User(u64),
}

/// One fill of a taker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub maker: Counterparty,
    /// In the taker's token's price space.
    pub price: Price,
    pub shares: u64,
}

/// What a taker wants, in its own token's terms.
#[derive(Clone, Copy, Debug)]
pub struct TakerSpec {
    pub market: u32,
    pub asset: u32,
    /// The market's other token.
    pub other: u32,
    pub outcome: u8,
    pub side: OrderSide,
    pub limit: Price,
    pub qty: u64,
    /// A market BUY's micro-pUSD to spend (then `qty` does not bound it).
    pub budget: Option<u64>,
    /// The taker's own order (a user taker) or none (house liquidity crossing user orders).
    pub order: Option<u64>,
}

/// A balance move, kept for rollback: (account, holding, signed micro-units).
pub type LedgerEntry = (Address, Holding, i64);

/// Levels touched by an operation, published as `price_change` entries afterwards.
#[derive(Default)]
pub struct Touched(pub Vec<(u32, Side, Price)>);

impl Touched {
    pub fn add(&mut self, asset: u32, side: Side, price: Price) {
        if !self.0.contains(&(asset, side, price)) {
            self.0.push((asset, side, price));
        }
    }
}

/// The parts of the venue an operation works on.
pub struct Ctx<'a> {
    pub store: &'a mut OrderStore,
    pub accounts: &'a mut Accounts,
    pub books: &'a mut VenueBooks,
    pub touched: &'a mut Touched,
}

/// `shares × price`, floored to a micro-unit.
pub fn notional(shares: u64, price: Price) -> u64 {
    (u128::from(shares) * u128::from(price.0) / u128::from(MICROS_PER_UNIT)) as u64
}

/// The micro-shares `cash` micro-pUSD buys at `price`, floored.
pub fn shares_for(cash: u64, price: Price) -> u64 {
    if price.0 == 0 {
        return 0;
    }
    u64::try_from(u128::from(cash) * u128::from(MICROS_PER_UNIT) / u128::from(price.0))
        .unwrap_or(u64::MAX)
}

/// What a budget taker takes of `size` at `price` with `left` micro-pUSD: (shares, cost), or
/// `None` when the budget left buys nothing that costs a micro-pUSD.
fn budget_take(left: u64, size: u64, price: Price) -> Option<(u64, u64)> {
    let s = size.min(shares_for(left, price));
    let cost = notional(s, price);
    (cost > 0).then_some((s, cost))
}

fn own_price(outcome: u8, yes_price: Price) -> Price {
    if outcome == 0 {
        yes_price
    } else {
        yes_price.complement().unwrap_or(Price::ZERO)
    }
}

/// Whether `p` is at least as good as `limit` for a taker of `side`.
fn within(side: OrderSide, p: Price, limit: Price) -> bool {
    match side {
        OrderSide::Buy => p <= limit,
        OrderSide::Sell => p >= limit,
    }
}

/// Whether `a` is strictly better than `b` for a taker of `side`.
fn better(side: OrderSide, a: Price, b: Price) -> bool {
    match side {
        OrderSide::Buy => a < b,
        OrderSide::Sell => a > b,
    }
}

/// The side of the taker's own book it takes from (asks for a BUY).
fn opposite_side(side: OrderSide) -> Side {
    side.book_side().opposite()
}

/// The best house level the taker may take, in its own space.
fn best_house(books: &VenueBooks, t: &TakerSpec) -> Option<Price> {
    books
        .asset(t.asset)
        .book
        .best(opposite_side(t.side))
        .filter(|&p| within(t.side, p, t.limit))
}

/// The best user level the taker may take, in its own space, and the order at its front.
fn best_user(store: &OrderStore, t: &TakerSpec) -> Option<(Price, u64)> {
    let q = store.queues.get(&t.market)?;
    let (yes_side, _) = to_yes(t.outcome, opposite_side(t.side), Price::ZERO);
    let levels = q.side(yes_side);
    let (&yp, fifo) = match yes_side {
        Side::Bid => levels.iter().next_back()?,
        Side::Ask => levels.iter().next()?,
    };
    let p = own_price(t.outcome, yp);
    within(t.side, p, t.limit).then_some((p, *fifo.front()?))
}

fn next_level(ctx: &Ctx<'_>, t: &TakerSpec, house: bool) -> Option<(Price, Counterparty)> {
    let h = if house {
        best_house(ctx.books, t)
    } else {
        None
    };
    let u = best_user(ctx.store, t);
    match (h, u) {
        // At one price the house quote is older than any user order.
        (Some(hp), Some((up, seq))) if better(t.side, up, hp) => {
            Some((up, Counterparty::User(seq)))
        }
        (Some(hp), _) => Some((hp, Counterparty::House)),
        (None, Some((up, seq))) => Some((up, Counterparty::User(seq))),
        (None, None) => None,
    }
}

/// The best price the taker may take now within its limit (house or resting order), in its
/// own token's space.
pub fn best_price(ctx: &Ctx<'_>, t: &TakerSpec, house: bool) -> Option<Price> {
    next_level(ctx, t, house).map(|(p, _)| p)
}

/// Shares the taker could get now within its limit (for FOK and post-only checks).
pub fn available(ctx: &Ctx<'_>, t: &TakerSpec, house: bool) -> u64 {
    let mut total: u64 = 0;
    if house {
        let book = &ctx.books.asset(t.asset).book;
        let side = book.side(opposite_side(t.side));
        total += side
            .iter()
            .filter(|(p, _)| within(t.side, **p, t.limit))
            .map(|(_, s)| s.0)
            .sum::<u64>();
    }
    if let Some(q) = ctx.store.queues.get(&t.market) {
        let (yes_side, _) = to_yes(t.outcome, opposite_side(t.side), Price::ZERO);
        for (&yp, fifo) in q.side(yes_side) {
            if within(t.side, own_price(t.outcome, yp), t.limit) {
                total += fifo
                    .iter()
                    .filter_map(|s| ctx.store.orders.get(s))
                    .map(|o| o.remaining())
                    .sum::<u64>();
            }
        }
    }
    total
}

/// The liquidity a taker may reach, best price first, in the chunks [`execute`] fills
/// (a house level, then each resting order in time priority).
fn chunks(ctx: &Ctx<'_>, t: &TakerSpec, house: bool) -> Vec<(Price, u64)> {
    let mut out: Vec<(Price, u64)> = Vec::new();
    if house {
        let book = &ctx.books.asset(t.asset).book;
        for (p, s) in book.side(opposite_side(t.side)) {
            if within(t.side, *p, t.limit) {
                out.push((*p, s.0));
            }
        }
    }
    if let Some(q) = ctx.store.queues.get(&t.market) {
        let (yes_side, _) = to_yes(t.outcome, opposite_side(t.side), Price::ZERO);
        for (&yp, fifo) in q.side(yes_side) {
            let p = own_price(t.outcome, yp);
            if within(t.side, p, t.limit) {
                for o in fifo.iter().filter_map(|s| ctx.store.orders.get(s)) {
                    out.push((p, o.remaining()));
                }
            }
        }
    }
    // Stable: at one price the house comes first, then resting orders in time order.
    match t.side {
        OrderSide::Buy => out.sort_by_key(|c| c.0),
        OrderSide::Sell => out.sort_by_key(|c| std::cmp::Reverse(c.0)),
    }
    out
}

/// Whether the liquidity in reach absorbs a market BUY's whole `budget`: walking it as
/// [`execute`] would, the budget runs out before the liquidity does.
pub fn budget_absorbed(ctx: &Ctx<'_>, t: &TakerSpec, house: bool, budget: u64) -> bool {
    let mut left = budget;
    for (p, size) in chunks(ctx, t, house) {
        match budget_take(left, size, p) {
            None => return true,
            Some((s, cost)) => {
                left -= cost;
                if s < size {
                    return budget_take(left, size - s, p).is_none();
                }
            }
        }
    }
    budget_take(left, u64::MAX, t.limit).is_none()
}

/// Takes `shares` of house liquidity at `price` of `asset`'s `side`, and the mirrored level
/// of the other token if the model quotes it there (keeping the two books mirrored).
pub fn take_house(
    ctx: &mut Ctx<'_>,
    asset: u32,
    other: u32,
    side: Side,
    price: Price,
    shares: u64,
) {
    let cur = ctx.books.asset(asset).book.side(side).get(&price).copied();
    let left = Size(cur.map_or(0, |s| s.0.saturating_sub(shares)));
    ctx.books.set(asset, side, price, left);
    ctx.touched.add(asset, side, price);
    if let Some(cp) = price.complement() {
        let mside = side.opposite();
        if let Some(m) = ctx.books.asset(other).book.side(mside).get(&cp).copied() {
            ctx.books
                .set(other, mside, cp, Size(m.0.saturating_sub(shares)));
            ctx.touched.add(other, mside, cp);
        }
    }
}

/// Adds or removes resting size at a YES-space level on both tokens' published books.
pub fn overlay(
    books: &mut VenueBooks,
    touched: &mut Touched,
    market: u32,
    yes: (Side, Price),
    shares: u64,
    remove: bool,
) {
    let assets = &books.markets[market as usize].assets;
    let (y, n) = (assets[0], assets[1]);
    let (side, price) = yes;
    books
        .asset_mut(y)
        .user
        .add(side, price, Size(shares), remove);
    touched.add(y, side, price);
    if let Some(cp) = price.complement() {
        books
            .asset_mut(n)
            .user
            .add(side.opposite(), cp, Size(shares), remove);
        touched.add(n, side.opposite(), cp);
    }
}

/// Fills the taker against the book until its quantity or its limit runs out. Resting makers
/// are updated (matched size, queue, published size); balances are left to [`settle`].
pub fn execute(ctx: &mut Ctx<'_>, t: &TakerSpec, house: bool) -> Vec<Fill> {
    execute_walk(ctx, t, house).0
}

/// [`execute`], for a budget taker too: also says whether the walk ended because the budget
/// was spent (rather than the liquidity or the limit running out).
pub fn execute_walk(ctx: &mut Ctx<'_>, t: &TakerSpec, house: bool) -> (Vec<Fill>, bool) {
    let mut left = t.qty;
    let mut budget = t.budget;
    let mut fills = Vec::new();
    let mut spent_all = false;
    while left > 0 {
        let Some((price, cp)) = next_level(ctx, t, house) else {
            break;
        };
        // A budget taker takes at most what its pUSD left buys at this price.
        let cap = match budget {
            Some(b) => match budget_take(b, u64::MAX, price) {
                Some((s, _)) => s,
                None => {
                    spent_all = true;
                    break;
                }
            },
            None => u64::MAX,
        };
        let left_here = left.min(cap);
        let shares = match cp {
            Counterparty::House => {
                let size = ctx
                    .books
                    .asset(t.asset)
                    .book
                    .side(opposite_side(t.side))
                    .get(&price)
                    .map_or(0, |s| s.0);
                let s = left_here.min(size);
                take_house(ctx, t.asset, t.other, opposite_side(t.side), price, s);
                s
            }
            Counterparty::User(seq) => {
                let Some(m) = ctx.store.orders.get_mut(&seq) else {
                    // A queue entry without its order: drop it rather than loop.
                    ctx.store.dequeue(seq);
                    continue;
                };
                let s = left_here.min(m.remaining());
                m.matched += s;
                let (yes, market, done) = (m.yes_level(), m.market, m.remaining() == 0);
                if done {
                    m.status = OrderStatus::Matched;
                    ctx.store.dequeue(seq);
                }
                overlay(ctx.books, ctx.touched, market, yes, s, true);
                s
            }
        };
        if shares == 0 {
            break;
        }
        left -= shares;
        if let Some(b) = budget.as_mut() {
            *b -= notional(shares, price);
        }
        fills.push(Fill {
            maker: cp,
            price,
            shares,
        });
    }
    if budget.is_some_and(|b| budget_take(b, u64::MAX, t.limit).is_none()) {
        spent_all = true;
    }
    (fills, spent_all)
}

/// Moves balances for one fill, and charges a user taker the market's taker fee (`fees`) in
/// pUSD; returns the moves (for rollback) and the fee charged.
///
/// The fee comes from the taker's free pUSD after what the fill paid and gave (a SELL taker
/// pays it out of the proceeds); the order's reservation covers only its notional, so a BUY
/// taker's fee is taken from what is free (at most all of it: the venue does not refuse a
/// match over a fee).
pub fn settle(
    ctx: &mut Ctx<'_>,
    t: &TakerSpec,
    fill: &Fill,
    fees: Option<&FeeSchedule>,
) -> (Vec<LedgerEntry>, u64) {
    let mut ledger = Vec::with_capacity(4);
    let s = fill.shares;
    let cash = notional(s, fill.price);
    let (a, b) = (t.asset, t.other);
    let mut pay = |ctx: &mut Ctx<'_>, who: Address, seq: u64, h: Holding, amount: u64| {
        ctx.accounts.debit_reserved(who, h, amount);
        if let Some(o) = ctx.store.orders.get_mut(&seq) {
            o.reserved = o.reserved.saturating_sub(amount);
        }
        ledger.push((who, h, -(amount as i64)));
    };
    let taker = t
        .order
        .and_then(|seq| ctx.store.orders.get(&seq).map(|o| (seq, o.maker)));
    let maker = match fill.maker {
        Counterparty::User(seq) => ctx.store.orders.get(&seq).map(|o| (seq, o.maker)),
        Counterparty::House => None,
    };
    let mut gets: Vec<(Address, Holding, u64)> = Vec::with_capacity(2);
    // What the taker gives and gets.
    if let Some((seq, who)) = taker {
        match t.side {
            OrderSide::Buy => {
                pay(ctx, who, seq, Holding::Collateral, cash);
                gets.push((who, Holding::Token(a), s));
            }
            OrderSide::Sell => {
                pay(ctx, who, seq, Holding::Token(a), s);
                gets.push((who, Holding::Collateral, cash));
            }
        }
    }
    if let Some((seq, who)) = maker {
        let same_token = ctx.store.orders.get(&seq).is_some_and(|o| o.asset == a);
        match (t.side, same_token) {
            // Maker sells the taker's token.
            (OrderSide::Buy, true) => {
                pay(ctx, who, seq, Holding::Token(a), s);
                gets.push((who, Holding::Collateral, cash));
            }
            // Mint: the maker buys the other token and pays the rest of one unit per share.
            (OrderSide::Buy, false) => {
                pay(ctx, who, seq, Holding::Collateral, s - cash);
                gets.push((who, Holding::Token(b), s));
            }
            // Maker buys the taker's token.
            (OrderSide::Sell, true) => {
                pay(ctx, who, seq, Holding::Collateral, cash);
                gets.push((who, Holding::Token(a), s));
            }
            // Merge: the maker sells the other token and gets the rest of one unit per share.
            (OrderSide::Sell, false) => {
                pay(ctx, who, seq, Holding::Token(b), s);
                gets.push((who, Holding::Collateral, s - cash));
            }
        }
    }
    for (who, h, amount) in gets {
        ctx.accounts.credit(who, h, amount);
        ledger.push((who, h, amount as i64));
    }
    let mut fee = 0;
    if let (Some((_, who)), Some(fs)) = (taker, fees) {
        let due = fs.taker_fee(fill.price, Size(s)).0;
        fee = due.min(ctx.accounts.balance(&who, Holding::Collateral).free());
        if fee > 0 {
            ctx.accounts.debit_free(who, Holding::Collateral, fee);
            ledger.push((who, Holding::Collateral, -(fee as i64)));
        }
    }
    (ledger, fee)
}

/// Appends `price_change` events for the touched levels (house sizes and tops: the wire adds
/// resting user orders). A change to the market of the last `price_change` whose deltas end
/// where these begin extends that event, so that a client checks the book only once the
/// whole step has been applied.
pub fn publish_touched(books: &VenueBooks, buf: &mut EventBuf, touched: &Touched, salt: u64) {
    let mut markets: Vec<u32> = touched
        .0
        .iter()
        .map(|&(a, _, _)| books.asset(a).market)
        .collect();
    markets.dedup();
    markets.sort_unstable();
    markets.dedup();
    for m in markets {
        let start = buf.begin_price_change();
        for &(a, side, price) in touched.0.iter().filter(|e| books.asset(e.0).market == m) {
            let asset = books.asset(a);
            buf.deltas.push(LevelDelta {
                asset: a,
                side,
                price,
                size: asset
                    .book
                    .side(side)
                    .get(&price)
                    .copied()
                    .unwrap_or(Size::ZERO),
                best_bid: asset.book.best_bid(),
                best_ask: asset.book.best_ask(),
                hash: salt ^ (u64::from(a) << 32) ^ asset.version ^ u64::from(price.0),
            });
        }
        let end = buf.deltas.len() as u32;
        let extend = buf.events.iter_mut().rev().find_map(|ev| match ev {
            VenueEvent::PriceChange {
                market, end: last, ..
            } if *market == m && *last == start => Some(last),
            _ => None,
        });
        match extend {
            Some(last) => *last = end,
            None => buf.end_price_change(m, start),
        }
    }
}
