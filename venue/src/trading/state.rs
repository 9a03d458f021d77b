//! [`TradingState`]: balances, orders and trades, under the hub lock so that every order
//! operation and the market-channel events it causes are one atomic step of the venue.
//!
//! Placing an order: refuse duplicates and unfunded orders, check FOK/FAK/post-only against
//! the liquidity in reach, match, settle, rest the remainder (GTC/GTD) or cancel it (FAK), and
//! queue the user-channel events (`order` PLACEMENT/UPDATE/CANCELLATION, `trade` MATCHED).
//! The timer then moves trades MATCHED → MINED → CONFIRMED (or FAILED, rolled back), expires
//! GTD orders and fires the heartbeat dead-man switch.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::time::{Duration, Instant};

use rand::RngCore;
use rustc_hash::FxHashMap;
use thiserror::Error;
use tungstenite::Utf8Bytes;

use crate::book::VenueBooks;
use crate::event::{EventBuf, VenueEvent};
use polyarb::adapters::polymarket::signing::{Address, OrderSide, OrderType};
use polyarb::core::{Price, Size, TickSize};

use super::accounts::{Accounts, Holding};
use super::config::VenueTradingConfig;
use super::matching::{
    Counterparty, Ctx, Fill, TakerSpec, Touched, available, budget_absorbed, execute, execute_walk,
    notional, overlay, publish_touched, settle, shares_for, take_house,
};
use super::orders::{OrderHash, OrderStatus, OrderStore, VenueOrder, hash_hex};
use super::refusal::{Reason, Refusal};
use super::render;
pub use super::trades::{MakerFill, TradeRecord, TradeStatus};
use super::wire::{CancelResponse, OrderResponse};

mod lifecycle;
mod synthetic;

/// The venue's clock for one operation: wall time for the wire, an instant for deadlines.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub ms: u64,
    pub at: Instant,
}

impl Now {
    pub fn current() -> Self {
        Self {
            ms: polyarb::obs::clock::unix_ms(),
            at: Instant::now(),
        }
    }

    pub fn s(&self) -> u64 {
        self.ms / 1000
    }
}

/// What the venue knows about a token's market, read before an order is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketFacts {
    pub asset: u32,
    pub other: u32,
    pub market: u32,
    pub outcome: u8,
    pub tick: TickSize,
    pub min_size: Size,
    pub neg_risk: bool,
}

impl MarketFacts {
    /// `None` for an unknown token or a market that is not binary.
    pub fn of(books: &VenueBooks, asset: u32) -> Option<Self> {
        let a = books.asset(asset);
        let m = &books.markets[a.market as usize];
        if m.assets.len() != 2 {
            return None;
        }
        let outcome = u8::from(m.assets[1] == asset);
        Some(Self {
            asset,
            other: m.assets[1 - outcome as usize],
            market: a.market,
            outcome,
            tick: a.tick,
            min_size: a.min_order_size,
            neg_risk: m.neg_risk(),
        })
    }
}

/// An order whose signature, owner, version, tick and size rules have been checked.
#[derive(Clone, Debug)]
pub struct CheckedOrder {
    pub hash: OrderHash,
    /// The API key it is posted under.
    pub owner: String,
    /// The address of that key (the EOA that owns the account the order trades for).
    pub key_owner: Address,
    /// The account whose balances it moves: the deposit wallet, the proxy/Safe funder, or
    /// the EOA itself.
    pub maker: Address,
    pub signer: Address,
    pub facts: MarketFacts,
    pub side: OrderSide,
    /// The worst price it accepts (a limit order's price exactly).
    pub price: Price,
    /// Micro-shares: what a limit BUY buys, what a SELL sells, and for a market BUY the
    /// takerAmount (the shares its pUSD buys at the worst price).
    pub shares: u64,
    /// A market BUY: the micro-pUSD it spends across the levels it walks.
    pub budget: Option<u64>,
    /// What it gives: micro-pUSD for a BUY, micro-shares for a SELL (the signed makerAmount).
    pub pays: u64,
    pub order_type: OrderType,
    pub post_only: bool,
    pub expiration: u64,
}

/// Why the matching engine refused an order (production's texts).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlaceError {
    #[error("order {0} is invalid. Duplicated.")]
    Duplicated(String),
    #[error("not enough balance / allowance")]
    Balance,
    #[error("invalid post-only order: order crosses book")]
    PostOnlyCrosses,
    #[error("order couldn't be fully filled. FOK orders are fully filled or killed.")]
    FokNotFilled,
    #[error(
        "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
    )]
    FakNoMatch,
}

impl PlaceError {
    pub fn reason(&self) -> Reason {
        match self {
            Self::Duplicated(_) => Reason::Duplicated,
            Self::Balance => Reason::Balance,
            Self::PostOnlyCrosses => Reason::PostOnlyCrosses,
            Self::FokNotFilled => Reason::FokNotFilled,
            Self::FakNoMatch => Reason::FakNoMatch,
        }
    }
}

impl From<PlaceError> for Refusal {
    fn from(e: PlaceError) -> Self {
        Refusal::new(e.reason(), e.to_string())
    }
}

/// A heartbeat whose id is not the latest of its key's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("Invalid Heartbeat ID")]
pub struct StaleHeartbeat;

/// An event for the user channel: for the connections authenticated as `address` that watch
/// `market` (a condition id) or every market. `address` is the EOA whose API keys trade for
/// the event's account (a deposit wallet's owner, a proxy's signer, an EOA itself), so that a
/// key's connections get its account's events whatever the signature type.
#[derive(Clone, Debug)]
pub struct UserFrame {
    pub address: Address,
    pub market: String,
    pub text: Utf8Bytes,
}

/// The API key of house liquidity in trades (no account holder owns it).
pub const HOUSE_OWNER: &str = "00000000-0000-0000-0000-000000000000";

/// The API key of the synthetic takers (`[model.takers]`) in trades: the market's other
/// traders, no account holder of the venue.
pub const SYNTHETIC_TAKER_OWNER: &str = "00000000-0000-4000-8000-00000000face";

pub struct TradingState {
    pub(crate) cfg: VenueTradingConfig,
    pub accounts: Accounts,
    pub store: OrderStore,
    pub trades: Vec<TradeRecord>,
    /// Trade index → when its status moves next.
    pending: BinaryHeap<Reverse<(Instant, usize)>>,
    /// (expiration s, seq) of live GTD orders.
    expiries: BTreeSet<(u64, u64)>,
    /// API key → (latest heartbeat id, deadline).
    heartbeats: FxHashMap<String, (String, Instant)>,
    /// Trades still to fail on purpose (fault injection).
    pub fail_trades: u64,
    /// Signer → the funder its orders name as maker (proxy, safe, deposit wallet).
    funders: FxHashMap<Address, Address>,
    events: Vec<UserFrame>,
    salt: u64,
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// A fresh UUID-shaped id (version-4 layout).
pub fn uuid() -> String {
    let h = random_hex(16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..]
    )
}

/// What a cancel did, per order.
enum Canceled {
    Yes,
    NotLive,
}

impl TradingState {
    pub fn new(cfg: VenueTradingConfig) -> Self {
        Self {
            cfg,
            accounts: Accounts::default(),
            store: OrderStore::default(),
            trades: Vec::new(),
            pending: BinaryHeap::new(),
            expiries: BTreeSet::new(),
            heartbeats: FxHashMap::default(),
            fail_trades: 0,
            funders: FxHashMap::default(),
            events: Vec::new(),
            salt: rand::rng().next_u64(),
        }
    }

    /// Nothing rests: house moves cannot cross anything.
    pub fn is_idle(&self) -> bool {
        self.store.queues.is_empty()
    }

    /// User-channel events queued since the last call.
    pub fn take_events(&mut self) -> Vec<UserFrame> {
        std::mem::take(&mut self.events)
    }

    fn push_event<T: serde::Serialize>(
        &mut self,
        books: &VenueBooks,
        address: Address,
        market: u32,
        v: &T,
    ) {
        let text = serde_json::to_string(v).unwrap_or_default();
        self.events.push(UserFrame {
            address,
            market: books.markets[market as usize].condition_id.clone(),
            text: Utf8Bytes::from(text),
        });
    }

    fn order_event(&mut self, books: &VenueBooks, seq: u64, kind: &'static str, now: &Now) {
        let Some(o) = self.store.orders.get(&seq) else {
            return;
        };
        let ev = render::order_event(books, o, kind, now.ms);
        let (who, market) = (o.key_owner, o.market);
        self.push_event(books, who, market, &ev);
    }

    fn trade_events(&mut self, books: &VenueBooks, idx: usize) {
        let Some(t) = self.trades.get(idx) else {
            return;
        };
        let mut out = Vec::new();
        if t.taker_seq.is_some() {
            out.push((t.taker_key_owner, render::trade_event(books, t, None)));
        }
        let mut seen: Vec<Address> = Vec::new();
        for m in t.makers.iter().filter(|m| m.seq.is_some()) {
            if !seen.contains(&m.key_owner) {
                seen.push(m.key_owner);
                out.push((m.key_owner, render::trade_event(books, t, Some(m))));
            }
        }
        let market = t.market;
        for (who, ev) in out {
            self.push_event(books, who, market, &ev);
        }
    }

    /// Places a checked order: match, settle, rest or cancel the remainder.
    ///
    /// A market BUY (`budget`) spends its pUSD level by level, each at its own price: at a
    /// level the taker gets `floor(budget_left × 10⁶ / price)` micro-shares (capped by what
    /// rests there) and pays `floor(shares × price / 10⁶)` micro-pUSD; the walk ends when the
    /// budget left buys nothing that costs a micro-pUSD, so at most a micro-pUSD of the
    /// amount stays unspent. A FOK is killed unless the liquidity within its worst price
    /// absorbs the whole amount that way; a FAK keeps what it got and cancels the rest.
    pub fn place(
        &mut self,
        books: &mut VenueBooks,
        buf: &mut EventBuf,
        o: CheckedOrder,
        now: &Now,
    ) -> Result<OrderResponse, PlaceError> {
        if self.store.by_hash.contains_key(&o.hash) {
            return Err(PlaceError::Duplicated(hash_hex(&o.hash)));
        }
        let f = o.facts;
        let pays = match o.side {
            OrderSide::Buy => Holding::Collateral,
            OrderSide::Sell => Holding::Token(f.asset),
        };
        if o.maker != o.signer {
            self.funders.insert(o.signer, o.maker);
        }
        // A BUY that may take must also cover its taker fee, charged in pUSD after the fill:
        // the most it can cost is the fee at the fill price nearest 0.5 the limit allows.
        if o.side == OrderSide::Buy
            && let Some(fs) = self.cfg.fees
        {
            let worst = Price(o.price.0.min(500_000));
            let fee = fs.taker_fee(worst, Size(o.shares)).0;
            let free = self.accounts.balance(&o.maker, Holding::Collateral).free();
            if free < o.pays.saturating_add(fee) {
                return Err(PlaceError::Balance);
            }
        }
        if !self.accounts.reserve(o.maker, pays, o.pays) {
            return Err(PlaceError::Balance);
        }
        let mut spec = TakerSpec {
            market: f.market,
            asset: f.asset,
            other: f.other,
            outcome: f.outcome,
            side: o.side,
            limit: o.price,
            qty: if o.budget.is_some() {
                u64::MAX
            } else {
                o.shares
            },
            budget: o.budget,
            order: None,
        };
        let mut touched = Touched::default();
        let probe = Ctx {
            store: &mut self.store,
            accounts: &mut self.accounts,
            books,
            touched: &mut touched,
        };
        let reach = available(&probe, &spec, true);
        let fills_fully = match o.budget {
            Some(b) => budget_absorbed(&probe, &spec, true, b),
            None => reach >= o.shares,
        };
        let refusal = if o.post_only && reach > 0 {
            Some(PlaceError::PostOnlyCrosses)
        } else if o.order_type == OrderType::Fok && !fills_fully {
            Some(PlaceError::FokNotFilled)
        } else if o.order_type == OrderType::Fak && reach == 0 {
            Some(PlaceError::FakNoMatch)
        } else {
            None
        };
        let seq = self.store.next_seq();
        self.store.insert(VenueOrder {
            seq,
            hash: o.hash,
            owner: o.owner.clone(),
            key_owner: o.key_owner,
            maker: o.maker,
            signer: o.signer,
            asset: f.asset,
            market: f.market,
            outcome: f.outcome,
            side: o.side,
            price: o.price,
            original: o.shares,
            matched: 0,
            order_type: o.order_type,
            expiration: o.expiration,
            created_s: now.s(),
            reserved: o.pays,
            status: OrderStatus::Live,
            trades: Vec::new(),
        });
        if let Some(e) = refusal {
            if e != PlaceError::PostOnlyCrosses {
                // The venue reports killed market orders on the user channel.
                self.finish(books, seq, OrderStatus::Killed, now);
            } else {
                self.finish_quietly(seq, OrderStatus::Canceled);
            }
            return Err(e);
        }
        self.order_event(books, seq, "PLACEMENT", now);
        spec.order = Some(seq);
        let (fills, spent_all) = execute_walk(
            &mut Ctx {
                store: &mut self.store,
                accounts: &mut self.accounts,
                books,
                touched: &mut touched,
            },
            &spec,
            true,
        );
        let taker = TakerParty {
            hash: o.hash,
            seq: Some(seq),
            owner: o.owner,
            address: o.maker,
            key_owner: o.key_owner,
        };
        let got: u64 = fills.iter().map(|f| f.shares).sum();
        if let Some(ord) = self.store.orders.get_mut(&seq) {
            ord.matched += got;
            if let Some(b) = o.budget {
                // A market BUY's size is what its pUSD bought, plus (for a FAK cut short) the
                // shares the rest would have bought at the worst price: the part canceled.
                let spent: u64 = fills.iter().map(|f| notional(f.shares, f.price)).sum();
                let rest = if spent_all || o.order_type == OrderType::Fok {
                    0
                } else {
                    shares_for(b.saturating_sub(spent), o.price)
                };
                ord.original = ord.matched + rest;
            }
        }
        let trades = self.record_trades(books, buf, &mut touched, &spec, &taker, &fills, now);
        let (mut making, mut taking) = (0u64, 0u64);
        for f in &fills {
            let cash = notional(f.shares, f.price);
            match o.side {
                OrderSide::Buy => (making, taking) = (making + cash, taking + f.shares),
                OrderSide::Sell => (making, taking) = (making + f.shares, taking + cash),
            }
        }
        let rests = {
            let ord = &self.store.orders[&seq];
            ord.remaining() > 0 && matches!(ord.order_type, OrderType::Gtc | OrderType::Gtd)
        };
        let remaining = self.store.orders[&seq].remaining();
        if rests {
            self.store.enqueue(seq);
            let ord = &self.store.orders[&seq];
            let (yes, market) = (ord.yes_level(), ord.market);
            overlay(books, &mut touched, market, yes, remaining, false);
            if o.expiration > 0 && o.order_type == OrderType::Gtd {
                self.expiries.insert((o.expiration, seq));
            }
            if !fills.is_empty() {
                self.order_event(books, seq, "UPDATE", now);
            }
        } else if remaining > 0 {
            // A FAK's unfilled rest is canceled.
            self.order_event(books, seq, "UPDATE", now);
            self.finish(books, seq, OrderStatus::Canceled, now);
        } else {
            self.finish(books, seq, OrderStatus::Matched, now);
        }
        publish_touched(books, buf, &touched, self.salt);
        let tx: Vec<String> = trades.iter().map(|&i| self.trades[i].tx.clone()).collect();
        Ok(OrderResponse {
            success: true,
            error_msg: String::new(),
            order_id: hash_hex(&o.hash),
            status: if rests { "live" } else { "matched" }.to_string(),
            making_amount: if fills.is_empty() {
                String::new()
            } else {
                Size(making).to_string()
            },
            taking_amount: if fills.is_empty() {
                String::new()
            } else {
                Size(taking).to_string()
            },
            transactions_hashes: tx,
            trade_ids: trades.iter().map(|&i| self.trades[i].id.clone()).collect(),
        })
    }

    /// Ends an order that no longer rests: releases what it held, records the status, and
    /// reports a cancellation (or the final update of a fully matched order).
    fn finish(&mut self, books: &VenueBooks, seq: u64, status: OrderStatus, now: &Now) {
        self.finish_quietly(seq, status);
        let kind = if status == OrderStatus::Matched {
            "UPDATE"
        } else {
            "CANCELLATION"
        };
        self.order_event(books, seq, kind, now);
    }

    fn finish_quietly(&mut self, seq: u64, status: OrderStatus) {
        let Some(o) = self.store.orders.get_mut(&seq) else {
            return;
        };
        o.status = status;
        let (maker, pays, held) = (o.maker, o.pays(), o.reserved);
        o.reserved = 0;
        self.accounts.release(maker, pays, held);
    }

    /// Settles fills and records one trade per price level. Returns the trades' indices.
    #[allow(clippy::too_many_arguments)]
    fn record_trades(
        &mut self,
        books: &mut VenueBooks,
        buf: &mut EventBuf,
        touched: &mut Touched,
        spec: &TakerSpec,
        taker: &TakerParty,
        fills: &[Fill],
        now: &Now,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut updated_makers: Vec<u64> = Vec::new();
        while i < fills.len() {
            let price = fills[i].price;
            let mut j = i;
            let mut ledger = Vec::new();
            let mut makers = Vec::new();
            let mut shares = 0;
            let mut fee = 0;
            let fees = self.cfg.fees;
            while j < fills.len() && fills[j].price == price {
                let f = &fills[j];
                let (moves, charged) = settle(
                    &mut Ctx {
                        store: &mut self.store,
                        accounts: &mut self.accounts,
                        books,
                        touched,
                    },
                    spec,
                    f,
                    fees.as_ref(),
                );
                ledger.extend(moves);
                fee += charged;
                shares += f.shares;
                makers.push(self.maker_fill(books, spec, f));
                if let Counterparty::User(s) = f.maker
                    && !updated_makers.contains(&s)
                {
                    updated_makers.push(s);
                }
                j += 1;
            }
            let fail = self.fail_trades > 0;
            self.fail_trades = self.fail_trades.saturating_sub(1);
            let t = TradeRecord {
                id: uuid(),
                taker_hash: taker.hash,
                taker_seq: taker.seq,
                taker_owner: taker.owner.clone(),
                taker_address: taker.address,
                taker_key_owner: taker.key_owner,
                asset: spec.asset,
                market: spec.market,
                outcome: spec.outcome,
                side: spec.side,
                price,
                shares,
                fee,
                fee_rate_bps: if taker.seq.is_some() {
                    fees.map_or(0, |f| f.rate_ppm / 100)
                } else {
                    0
                },
                makers,
                status: TradeStatus::Matched,
                match_s: now.s(),
                last_update_s: now.s(),
                tx: format!("0x{}", random_hex(32)),
                ledger,
                fail,
            };
            let idx = self.trades.len();
            let id = t.id.clone();
            if let Some(s) = taker.seq
                && let Some(o) = self.store.orders.get_mut(&s)
            {
                o.trades.push(id.clone());
            }
            for m in t.makers.iter().filter_map(|m| m.seq) {
                if let Some(o) = self.store.orders.get_mut(&m)
                    && !o.trades.contains(&id)
                {
                    o.trades.push(id.clone());
                }
            }
            buf.events.push(VenueEvent::LastTrade {
                asset: spec.asset,
                side: spec.side.book_side(),
                price,
                size: Size(shares),
                tx: self.salt ^ idx as u64,
            });
            books.asset_mut(spec.asset).last_trade = Some(price);
            books.asset_mut(spec.other).last_trade = price.complement();
            self.trades.push(t);
            self.pending.push(Reverse((
                now.at + Duration::from_millis(self.cfg.mined_after_ms),
                idx,
            )));
            self.trade_events(books, idx);
            out.push(idx);
            i = j;
        }
        for s in updated_makers {
            let status = self.store.orders.get(&s).map(|o| o.status);
            if status == Some(OrderStatus::Matched) {
                self.finish(books, s, OrderStatus::Matched, now);
            } else {
                self.order_event(books, s, "UPDATE", now);
            }
        }
        out
    }

    fn maker_fill(&self, books: &VenueBooks, spec: &TakerSpec, f: &Fill) -> MakerFill {
        match f.maker {
            Counterparty::User(seq) => {
                let o = &self.store.orders[&seq];
                MakerFill {
                    seq: Some(seq),
                    hash: o.hash,
                    owner: o.owner.clone(),
                    address: o.maker,
                    key_owner: o.key_owner,
                    shares: f.shares,
                    price: o.price,
                    asset: o.asset,
                    outcome: o.outcome,
                    side: o.side,
                }
            }
            Counterparty::House => {
                let mut hash = [0u8; 32];
                hash[..8]
                    .copy_from_slice(&(self.salt ^ books.asset(spec.asset).version).to_be_bytes());
                MakerFill {
                    seq: None,
                    hash,
                    owner: HOUSE_OWNER.to_string(),
                    address: Address::ZERO,
                    key_owner: Address::ZERO,
                    shares: f.shares,
                    price: f.price,
                    asset: spec.asset,
                    outcome: spec.outcome,
                    side: match spec.side {
                        OrderSide::Buy => OrderSide::Sell,
                        OrderSide::Sell => OrderSide::Buy,
                    },
                }
            }
        }
    }

    /// Adds funds (admin, paper trading).
    pub fn fund(&mut self, who: Address, h: Holding, amount: u64) {
        self.accounts.credit(who, h, amount);
    }

    /// The address a signer's orders are funded from (itself unless it trades for a wallet).
    pub fn funder_of(&self, signer: &Address) -> Address {
        self.funders.get(signer).copied().unwrap_or(*signer)
    }

    pub fn order_by_hash(&self, h: &OrderHash) -> Option<&VenueOrder> {
        self.store.get(h)
    }
}

/// The taker of a trade, as recorded.
struct TakerParty {
    hash: OrderHash,
    seq: Option<u64>,
    owner: String,
    address: Address,
    key_owner: Address,
}
