//! The hub: the venue's source and books, every connection's subscriptions, and the routing of
//! each event to the connections that asked for it.
//!
//! All of it sits behind one lock on purpose. Stepping the source, rendering its events and
//! queueing them happen under the same lock as a subscribe (snapshot + registration), so a
//! subscriber always gets its `book` first and then every later change, none missing and none
//! twice, exactly as on the real venue. Frames go into per-connection `Outbox`es; the io thread
//! drains them and writes, so the lock is never held across a socket write.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use tungstenite::Utf8Bytes;

use polyarb::core::TokenId;

use super::book::VenueBooks;
use super::custom_feed;
use super::event::EventBuf;
use super::fault::MalformedShape;
use super::model::{MarketModel, MispricingSide};
use super::source::Source;
use super::trading::state::{Now, UserFrame};
use super::trading::{TradingShared, TradingState};
use super::wire::{event_assets, write_book_array, write_event};
use polyarb::adapters::polymarket::signing::{Address, ApiCredentials};

/// Books per frame of a subscription's initial dump.
const DUMP_CHUNK: usize = 50;

/// Frames waiting to be written to one connection.
pub struct Outbox {
    q: Mutex<OutQueue>,
    overflow: AtomicBool,
    limit: usize,
}

#[derive(Default)]
struct OutQueue {
    frames: VecDeque<Utf8Bytes>,
    bytes: usize,
}

impl Outbox {
    pub fn new(limit: usize) -> Self {
        Self {
            q: Mutex::new(OutQueue::default()),
            overflow: AtomicBool::new(false),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OutQueue> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a frame; returns whether the io thread needs waking for this connection (it was
    /// idle, or the queue just overflowed and the connection must be closed).
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        if self.overflow.load(Ordering::Relaxed) {
            return false;
        }
        let mut q = self.lock();
        let was_empty = q.frames.is_empty();
        q.bytes += frame.len();
        q.frames.push_back(frame);
        if q.bytes > self.limit {
            // A slow consumer: the venue drops it rather than buffer without bound.
            q.frames.clear();
            q.bytes = 0;
            self.overflow.store(true, Ordering::Relaxed);
            return true;
        }
        was_empty
    }

    /// Moves every queued frame into `into` (which must be empty).
    pub fn take(&self, into: &mut VecDeque<Utf8Bytes>) {
        let mut q = self.lock();
        std::mem::swap(&mut q.frames, into);
        q.bytes = 0;
    }

    /// Puts frames that could not be written back in front of the queue.
    pub fn put_back(&self, mut rest: VecDeque<Utf8Bytes>) {
        if rest.is_empty() {
            return;
        }
        let mut q = self.lock();
        q.bytes += rest.iter().map(|f| f.as_str().len()).sum::<usize>();
        rest.append(&mut q.frames);
        q.frames = rest;
    }

    pub fn pending_bytes(&self) -> usize {
        self.lock().bytes
    }

    pub fn overflowed(&self) -> bool {
        self.overflow.load(Ordering::Relaxed)
    }
}

/// Work for the io thread that the hub cannot do itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoCommand {
    Close {
        conn: Option<u64>,
        abrupt: bool,
    },
    /// Closes one connection with a close frame carrying a plain-text reason (a refused
    /// user-channel subscription).
    Refuse {
        conn: u64,
        reason: &'static str,
    },
}

/// How the hub (and the admin side) wake the io thread.
pub struct Notifier {
    ready: Mutex<Vec<u64>>,
    commands: Mutex<Vec<IoCommand>>,
    waker: mio::Waker,
}

impl Notifier {
    pub fn new(waker: mio::Waker) -> Self {
        Self {
            ready: Mutex::new(Vec::new()),
            commands: Mutex::new(Vec::new()),
            waker,
        }
    }

    fn mark(&self, conn: u64) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }

    pub fn take_ready(&self, into: &mut Vec<u64>) {
        std::mem::swap(
            &mut *self.ready.lock().unwrap_or_else(|e| e.into_inner()),
            into,
        );
    }

    pub fn command(&self, c: IoCommand) {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(c);
        self.wake();
    }

    pub fn take_commands(&self) -> Vec<IoCommand> {
        std::mem::take(&mut *self.commands.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn wake(&self) {
        // Waking only fails if the poll is gone, i.e. the venue is shutting down.
        let _ = self.waker.wake();
    }
}

/// A stall's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stall {
    Until(Instant),
    Forever,
}

impl Stall {
    pub fn new(duration_ms: Option<u64>, now: Instant) -> Self {
        match duration_ms {
            Some(ms) => Self::Until(now + std::time::Duration::from_millis(ms)),
            None => Self::Forever,
        }
    }

    fn active(s: Option<Stall>, now: Instant) -> bool {
        match s {
            None => false,
            Some(Self::Forever) => true,
            Some(Self::Until(t)) => now < t,
        }
    }
}

/// An authenticated user-channel subscription.
#[derive(Clone, Debug)]
struct UserSub {
    address: Address,
    /// Condition ids watched (empty = every market).
    markets: Vec<String>,
}

/// One connection as the hub sees it.
struct ConnSubs {
    /// Whether it connected to `/ws/user` (else `/ws/market`).
    user_channel: bool,
    /// Market channel with `custom_feature_enabled: true`: also gets `best_bid_ask`,
    /// `new_market` and `market_resolved`.
    custom: bool,
    user: Option<UserSub>,
    assets: FxHashSet<u32>,
    outbox: Arc<Outbox>,
    stall: Option<Stall>,
    peer: String,
    frames: u64,
    snapshots: u64,
}

/// A connection, as listed by `/admin/stats`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConnInfo {
    pub id: u64,
    pub peer: String,
    pub assets: usize,
    pub frames: u64,
    pub snapshots: u64,
    pub stalled: bool,
    pub pending_bytes: usize,
}

/// What the hub has done since start.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HubStats {
    /// Source events (model steps' events or replayed frames) published.
    pub events: u64,
    /// Level changes in published `price_change` events.
    pub changes: u64,
    /// Frames queued to connections.
    pub frames: u64,
    /// `book` snapshots sent on subscribe.
    pub snapshots: u64,
    pub subscribe_requests: u64,
    /// Client messages that were not a valid market subscription (ignored).
    pub bad_requests: u64,
    /// Subscribed token ids the venue does not know (ignored).
    pub unknown_assets: u64,
    /// Assets subscribed past the per-connection limit (updates, but no snapshot).
    pub over_limit_assets: u64,
    /// Frames not sent because of a stall.
    pub dropped_stalled: u64,
    pub malformed_sent: u64,
    pub gaps: u64,
    /// Binary Dutch book faults injected on request.
    pub dutch_books: u64,
    /// Books changed without any message (the `silent_change` fault).
    #[serde(default)]
    pub silent_changes: u64,
    /// Neg-risk mispricings injected on request.
    #[serde(default)]
    pub mispricings: u64,
}

/// A client's market-channel request (`type: market` initial form or `operation` form).
#[derive(Deserialize)]
struct ClientRequest {
    #[serde(default)]
    assets_ids: Vec<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    initial_dump: Option<bool>,
    #[serde(default)]
    custom_feature_enabled: Option<bool>,
}

/// The user channel's subscribe message: raw credentials, an optional market filter.
#[derive(Deserialize)]
struct UserRequest {
    /// Required on the first message; a later `operation` message may leave it out.
    #[serde(default)]
    auth: Option<ApiCredentials>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    markets: Vec<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

/// The venue's shared market state; see the module doc.
pub struct Hub {
    pub source: Source,
    conns: BTreeMap<u64, ConnSubs>,
    /// Per venue asset: the connections subscribed to it.
    subs: Vec<Vec<u64>>,
    stalled_assets: FxHashMap<u32, Stall>,
    pub stats: HubStats,
    /// Accounts, orders and trades: changed together with the books they rest in.
    pub trading: TradingState,
    trading_shared: Arc<TradingShared>,
    max_assets_per_conn: usize,
    notifier: Arc<Notifier>,
    woke: bool,
    now: Instant,
    buf: EventBuf,
    scratch: Scratch,
    /// Per asset: the best bid and ask last announced in `best_bid_ask`.
    announced: Vec<Option<custom_feed::Best>>,
    /// Per asset: the taker side of its last trade print (`GET /last-trade-price`).
    last_side: Vec<Option<polyarb::core::Side>>,
}

#[derive(Default)]
struct Scratch {
    assets: Vec<u32>,
    /// (connection, bit mask over `assets` it should get).
    targets: Vec<(u64, u64)>,
    variants: Vec<(u64, Option<Utf8Bytes>)>,
    frame: Vec<u8>,
}

impl Hub {
    pub fn new(
        source: Source,
        max_assets_per_conn: usize,
        notifier: Arc<Notifier>,
        trading_shared: Arc<TradingShared>,
    ) -> Self {
        Self {
            trading: TradingState::new(trading_shared.cfg.clone()),
            trading_shared,
            source,
            conns: BTreeMap::new(),
            subs: Vec::new(),
            stalled_assets: FxHashMap::default(),
            stats: HubStats::default(),
            max_assets_per_conn,
            notifier,
            woke: false,
            now: Instant::now(),
            buf: EventBuf::new(),
            scratch: Scratch::default(),
            announced: Vec::new(),
            last_side: Vec::new(),
        }
    }

    /// The taker side of the asset's last trade (the other outcome's print seen mirrored).
    pub fn last_trade_side(&self, asset: u32) -> Option<polyarb::core::Side> {
        self.last_side.get(asset as usize).copied().flatten()
    }

    pub fn books(&self) -> &VenueBooks {
        self.source.books()
    }

    pub fn add_conn(&mut self, id: u64, peer: String, outbox: Arc<Outbox>) {
        self.conns.insert(
            id,
            ConnSubs {
                user_channel: false,
                custom: false,
                user: None,
                assets: FxHashSet::default(),
                outbox,
                stall: None,
                peer,
                frames: 0,
                snapshots: 0,
            },
        );
    }

    pub fn remove_conn(&mut self, id: u64) {
        if let Some(c) = self.conns.remove(&id) {
            for a in c.assets {
                if let Some(list) = self.subs.get_mut(a as usize) {
                    list.retain(|&x| x != id);
                }
            }
        }
    }

    pub fn conn_ids(&self) -> Vec<u64> {
        self.conns.keys().copied().collect()
    }

    pub fn connections(&self) -> Vec<ConnInfo> {
        let now = Instant::now();
        self.conns
            .iter()
            .map(|(&id, c)| ConnInfo {
                id,
                peer: c.peer.clone(),
                assets: c.assets.len(),
                frames: c.frames,
                snapshots: c.snapshots,
                stalled: Stall::active(c.stall, now),
                pending_bytes: c.outbox.pending_bytes(),
            })
            .collect()
    }

    /// The largest backlog of any connection (flood mode paces itself on it).
    pub fn max_pending_bytes(&self) -> usize {
        self.conns
            .values()
            .map(|c| c.outbox.pending_bytes())
            .max()
            .unwrap_or(0)
    }

    /// Wakes the io thread if anything was queued since the last call.
    pub fn flush_wakes(&mut self) {
        if std::mem::take(&mut self.woke) {
            self.notifier.wake();
        }
    }

    fn push(notifier: &Notifier, woke: &mut bool, id: u64, c: &mut ConnSubs, frame: Utf8Bytes) {
        c.frames += 1;
        if c.outbox.push(frame) {
            notifier.mark(id);
            *woke = true;
        }
    }

    /// Marks a connection as the authenticated user channel (`/ws/user`).
    pub fn set_user_channel(&mut self, id: u64) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.user_channel = true;
        }
    }

    /// A user-channel message. The first must carry credentials of a key the venue issued;
    /// otherwise the connection is closed with a plain reason, as the venue does. Later
    /// messages add markets (`subscribe`, or a repeated subscribe message) or remove them
    /// (`operation: unsubscribe`).
    fn user_message(&mut self, id: u64, text: &str) {
        let req = serde_json::from_str::<UserRequest>(text).ok().filter(|r| {
            r.kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case("user"))
        });
        let key = req.as_ref().and_then(|r| r.auth.as_ref()).and_then(|auth| {
            let keys = self
                .trading_shared
                .keys
                .read()
                .unwrap_or_else(|e| e.into_inner());
            keys.check_raw(auth).map(|k| k.address)
        });
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let refuse = match (req, key, c.user.as_mut()) {
            (Some(r), Some(address), None) => {
                c.user = Some(UserSub {
                    address,
                    markets: r.markets,
                });
                None
            }
            // On an open subscription: more markets, fewer, or (wrong credentials) a refusal.
            (Some(r), key, Some(sub)) if r.auth.is_none() || key == Some(sub.address) => {
                if r.operation.as_deref() == Some("unsubscribe") {
                    sub.markets.retain(|m| !r.markets.contains(m));
                } else if !sub.markets.is_empty() {
                    if r.markets.is_empty() {
                        sub.markets.clear();
                    }
                    for m in r.markets {
                        if !sub.markets.contains(&m) {
                            sub.markets.push(m);
                        }
                    }
                }
                None
            }
            (Some(r), _, _) if r.auth.is_some() => Some(custom_feed::AUTH_REFUSED),
            _ => Some(custom_feed::BAD_USER_MESSAGE),
        };
        match refuse {
            None => self.stats.subscribe_requests += 1,
            Some(reason) => {
                self.stats.bad_requests += 1;
                self.notifier
                    .command(IoCommand::Refuse { conn: id, reason });
            }
        }
    }

    /// Runs a trading operation on the books and the trading state, then publishes its market
    /// events and user-channel events. `None` when the source cannot trade (a replay).
    pub fn trading_op<R>(
        &mut self,
        now_ms: u64,
        f: impl FnOnce(&mut TradingState, &mut VenueBooks, &mut EventBuf) -> R,
    ) -> Option<R> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.ts_ms = now_ms;
        let r = match &mut self.source {
            Source::Model(m) => Some(f(&mut self.trading, m.books_mut(), &mut buf)),
            Source::Replay(_) => None,
        };
        self.now = Instant::now();
        self.publish(&buf);
        self.buf = buf;
        self.route_user_events();
        self.flush_wakes();
        r
    }

    /// Queues the trading state's user-channel events to the subscribed connections.
    fn route_user_events(&mut self) {
        let events: Vec<UserFrame> = self.trading.take_events();
        for ev in events {
            for (&id, c) in self.conns.iter_mut() {
                let Some(sub) = &c.user else { continue };
                if sub.address == ev.address
                    && (sub.markets.is_empty() || sub.markets.contains(&ev.market))
                {
                    self.stats.frames += 1;
                    Self::push(&self.notifier, &mut self.woke, id, c, ev.text.clone());
                }
            }
        }
    }

    /// Handles one text message from a client (anything but `PING`).
    pub fn client_message(&mut self, id: u64, text: &str, now_ms: u64) {
        if self.conns.get(&id).is_some_and(|c| c.user_channel) {
            self.user_message(id, text);
            self.flush_wakes();
            return;
        }
        let req: ClientRequest = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(_) => {
                self.stats.bad_requests += 1;
                return;
            }
        };
        let op = req.operation.as_deref();
        let market_type = matches!(req.kind.as_deref(), None | Some("market") | Some("Market"));
        if !market_type || (req.kind.is_none() && op.is_none()) {
            self.stats.bad_requests += 1;
            return;
        }
        self.stats.subscribe_requests += 1;
        if req.custom_feature_enabled == Some(true)
            && let Some(c) = self.conns.get_mut(&id)
        {
            c.custom = true;
        }
        match op {
            None | Some("subscribe") => self.subscribe(
                id,
                &req.assets_ids,
                req.initial_dump.unwrap_or(true),
                now_ms,
            ),
            Some("unsubscribe") => self.unsubscribe(id, &req.assets_ids),
            Some(_) => self.stats.bad_requests += 1,
        }
        self.flush_wakes();
    }

    fn resolve(&mut self, ids: &[String]) -> Vec<u32> {
        let mut out = Vec::with_capacity(ids.len());
        for s in ids {
            match TokenId::parse(s).ok().and_then(|t| self.books().lookup(&t)) {
                Some(a) => out.push(a),
                None => self.stats.unknown_assets += 1,
            }
        }
        out
    }

    fn subscribe(&mut self, id: u64, ids: &[String], initial_dump: bool, now_ms: u64) {
        let assets = self.resolve(ids);
        if self.subs.len() < self.books().len() {
            self.subs.resize_with(self.books().len(), Vec::new);
        }
        let now = Instant::now();
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let mut dump = Vec::new();
        for a in assets {
            if !c.assets.insert(a) {
                continue;
            }
            self.subs[a as usize].push(id);
            if c.assets.len() > self.max_assets_per_conn {
                // As on the real venue: past ~500 assets a connection gets no snapshots.
                self.stats.over_limit_assets += 1;
            } else if initial_dump && !Stall::active(self.stalled_assets.get(&a).copied(), now) {
                dump.push(a);
            }
        }
        if Stall::active(c.stall, now) {
            self.stats.dropped_stalled += dump.len() as u64;
            return;
        }
        let books = self.source.books();
        for chunk in dump.chunks(DUMP_CHUNK) {
            self.scratch.frame.clear();
            write_book_array(books, chunk, now_ms, &mut self.scratch.frame);
            let frame = Utf8Bytes::from(String::from_utf8_lossy(&self.scratch.frame).into_owned());
            c.snapshots += chunk.len() as u64;
            self.stats.snapshots += chunk.len() as u64;
            Self::push(&self.notifier, &mut self.woke, id, c, frame);
        }
    }

    fn unsubscribe(&mut self, id: u64, ids: &[String]) {
        let assets = self.resolve(ids);
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        for a in assets {
            if c.assets.remove(&a)
                && let Some(list) = self.subs.get_mut(a as usize)
            {
                list.retain(|&x| x != id);
            }
        }
    }

    /// Runs the synthetic model for up to `max_steps` steps or `max_changes` level changes,
    /// publishing every event. Returns (steps, changes), or `None` for a replay source.
    pub fn step_model(
        &mut self,
        now_ms: u64,
        max_changes: u64,
        max_steps: u64,
    ) -> Option<(u64, u64)> {
        if !matches!(self.source, Source::Model(_)) {
            return None;
        }
        self.now = Instant::now();
        let mut buf = std::mem::take(&mut self.buf);
        let (mut steps, mut changes) = (0, 0);
        let idle = self.trading.is_idle();
        let now = Now::current();
        while steps < max_steps && changes < max_changes {
            buf.clear();
            if let Source::Model(m) = &mut self.source {
                m.step(now_ms, &mut buf);
                // The synthetic takers (none unless `[model.takers]` is on), each followed
                // by the move it may cause.
                for t in m.take_takers() {
                    let got = self
                        .trading
                        .synthetic_take(m.books_mut(), &mut buf, &t, &now);
                    m.after_taker(&t, got, &mut buf);
                }
                if !idle {
                    // House quotes that moved across resting orders trade with them.
                    self.trading.sweep(m.books_mut(), &mut buf, &now);
                }
            }
            steps += 1;
            changes += buf.change_count() as u64;
            self.publish(&buf);
        }
        self.buf = buf;
        if !idle {
            self.route_user_events();
        }
        self.flush_wakes();
        Some((steps, changes))
    }

    /// Replays up to `max_frames` frames. Returns how many, or `None` for the synthetic source.
    pub fn step_replay(&mut self, max_frames: u64) -> Option<u64> {
        self.now = Instant::now();
        let mut n = 0;
        while n < max_frames {
            let mut assets = std::mem::take(&mut self.scratch.assets);
            let Source::Replay(r) = &mut self.source else {
                return None;
            };
            let Some(frame) = r.next_frame(&mut assets) else {
                self.scratch.assets = assets;
                break;
            };
            n += 1;
            self.stats.events += 1;
            if self.subs.len() < self.books().len() {
                self.subs.resize_with(self.books().len(), Vec::new);
            }
            self.route_raw(&frame, &assets);
            self.scratch.assets = assets;
        }
        self.flush_wakes();
        Some(n)
    }

    /// Sends a recorded frame verbatim to every connection subscribed to one of its assets.
    fn route_raw(&mut self, frame: &Utf8Bytes, assets: &[u32]) {
        let now = self.now;
        let mut targets = std::mem::take(&mut self.scratch.targets);
        targets.clear();
        for &a in assets {
            if Stall::active(self.stalled_assets.get(&a).copied(), now) {
                continue;
            }
            for &id in self.subs.get(a as usize).map_or(&[][..], Vec::as_slice) {
                if !targets.iter().any(|t| t.0 == id) {
                    targets.push((id, 1));
                }
            }
        }
        for &(id, _) in &targets {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            if Stall::active(c.stall, now) {
                self.stats.dropped_stalled += 1;
                continue;
            }
            self.stats.frames += 1;
            Self::push(&self.notifier, &mut self.woke, id, c, frame.clone());
        }
        self.scratch.targets = targets;
    }

    /// Renders and queues every event of `buf` for its subscribers.
    fn publish(&mut self, buf: &EventBuf) {
        let Hub {
            source,
            conns,
            subs,
            stalled_assets,
            stats,
            notifier,
            woke,
            now,
            scratch,
            announced,
            last_side,
            ..
        } = self;
        let books = source.books();
        if subs.len() < books.len() {
            subs.resize_with(books.len(), Vec::new);
        }
        stats.changes += buf.change_count() as u64;
        let mut touched: Vec<u32> = Vec::new();
        if last_side.len() < books.len() {
            last_side.resize(books.len(), None);
        }
        for ev in &buf.events {
            stats.events += 1;
            if let super::event::VenueEvent::LastTrade { asset, side, .. } = *ev {
                last_side[asset as usize] = Some(side);
                // Buying one outcome is selling the other.
                for &other in &books.market_of(asset).assets {
                    if other != asset {
                        last_side[other as usize] = Some(side.opposite());
                    }
                }
            }
            event_assets(buf, ev, &mut scratch.assets);
            for &a in &scratch.assets {
                if !touched.contains(&a) {
                    touched.push(a);
                }
            }
            scratch.targets.clear();
            for (i, &a) in scratch.assets.iter().enumerate().take(64) {
                let list = &subs[a as usize];
                if list.is_empty() || Stall::active(stalled_assets.get(&a).copied(), *now) {
                    continue;
                }
                for &id in list {
                    match scratch.targets.iter_mut().find(|t| t.0 == id) {
                        Some(t) => t.1 |= 1 << i,
                        None => scratch.targets.push((id, 1 << i)),
                    }
                }
            }
            if scratch.targets.is_empty() {
                continue;
            }
            scratch.variants.clear();
            for &(id, mask) in &scratch.targets {
                let Some(c) = conns.get_mut(&id) else {
                    continue;
                };
                if Stall::active(c.stall, *now) {
                    stats.dropped_stalled += 1;
                    continue;
                }
                // Connections with the same interest share one rendering of the frame.
                let frame = match scratch.variants.iter().find(|v| v.0 == mask) {
                    Some(v) => v.1.clone(),
                    None => {
                        scratch.frame.clear();
                        let assets = &scratch.assets;
                        let keep = |a: u32| {
                            assets
                                .iter()
                                .position(|&x| x == a)
                                .is_some_and(|i| i < 64 && mask & (1 << i) != 0)
                        };
                        let f = write_event(books, buf, ev, &keep, &mut scratch.frame).then(|| {
                            Utf8Bytes::from(String::from_utf8_lossy(&scratch.frame).into_owned())
                        });
                        scratch.variants.push((mask, f.clone()));
                        f
                    }
                };
                if let Some(frame) = frame {
                    stats.frames += 1;
                    Self::push(notifier, woke, id, c, frame);
                }
            }
        }
        // `best_bid_ask` for the custom-feature subscribers of assets whose top changed.
        if announced.len() < books.len() {
            announced.resize(books.len(), None);
        }
        for a in touched {
            let best = custom_feed::Best::of(books, a);
            if announced[a as usize] == Some(best) {
                continue;
            }
            announced[a as usize] = Some(best);
            let mut frame = None;
            for &id in &subs[a as usize] {
                let Some(c) = conns.get_mut(&id) else {
                    continue;
                };
                if !c.custom || Stall::active(c.stall, *now) {
                    continue;
                }
                let f = frame
                    .get_or_insert_with(|| {
                        Utf8Bytes::from(custom_feed::best_bid_ask(books, a, best, buf.ts_ms))
                    })
                    .clone();
                stats.frames += 1;
                Self::push(notifier, woke, id, c, f);
            }
        }
    }

    /// Sends a `new_market` (every custom-feature subscriber) or `market_resolved` (those
    /// subscribed to the market's assets) event for a market; `None` if it is unknown.
    pub fn market_event(
        &mut self,
        condition_id: &str,
        kind: custom_feed::MarketEventKind,
        now_ms: u64,
    ) -> Option<usize> {
        let books = self.source.books();
        let m = books.market_by_condition(condition_id)?;
        let frame = Utf8Bytes::from(custom_feed::market_event(books, m, &kind, now_ms)?);
        let assets = books.markets[m as usize].assets.clone();
        let mut sent = 0;
        for (&id, c) in self.conns.iter_mut() {
            let wants = match kind {
                custom_feed::MarketEventKind::NewMarket => true,
                custom_feed::MarketEventKind::Resolved { .. } => {
                    assets.iter().any(|a| c.assets.contains(a))
                }
            };
            if c.custom && !c.user_channel && wants {
                self.stats.frames += 1;
                sent += 1;
                Self::push(&self.notifier, &mut self.woke, id, c, frame.clone());
            }
        }
        self.flush_wakes();
        Some(sent)
    }

    /// Stalls one connection (or all); returns how many.
    pub fn stall_conn(&mut self, conn: Option<u64>, stall: Option<Stall>) -> u64 {
        let mut n = 0;
        for (&id, c) in self.conns.iter_mut() {
            if conn.is_none_or(|x| x == id) {
                c.stall = stall;
                n += 1;
            }
        }
        n
    }

    /// Stops everything about one asset; returns false for an unknown token.
    pub fn stall_asset(&mut self, token: &TokenId, stall: Stall) -> bool {
        match self.books().lookup(token) {
            Some(a) => {
                self.stalled_assets.insert(a, stall);
                true
            }
            None => false,
        }
    }

    pub fn clear_stalls(&mut self) {
        self.stalled_assets.clear();
        for c in self.conns.values_mut() {
            c.stall = None;
        }
    }

    /// Queues malformed frames to one connection (or all); returns how many connections.
    pub fn malformed(&mut self, conn: Option<u64>, count: u32, shape: MalformedShape) -> u64 {
        let (market, asset) = match self.books().assets.first() {
            Some(a) => (
                self.books().market_of(0).condition_id.clone(),
                a.token_str.to_string(),
            ),
            None => ("0x00".to_string(), "0".to_string()),
        };
        let frame = Utf8Bytes::from(shape.frame(&market, &asset));
        let mut n = 0;
        for (&id, c) in self.conns.iter_mut() {
            if conn.is_none_or(|x| x == id) {
                for _ in 0..count {
                    Self::push(&self.notifier, &mut self.woke, id, c, frame.clone());
                    self.stats.malformed_sent += 1;
                }
                n += 1;
            }
        }
        self.flush_wakes();
        n
    }

    /// The market of `asset`: `Some(None)` when no asset is named, `None` for an unknown token.
    fn market_of(&self, asset: Option<&TokenId>) -> Option<Option<u32>> {
        match asset {
            Some(t) => Some(Some(self.books().asset(self.books().lookup(t)?).market)),
            None => Some(None),
        }
    }

    /// Runs `inject` on `target`, or on each of the first `count` targets until one takes it,
    /// and publishes the events it wrote. Returns the target that took it; `None` when none
    /// could (or the source is a replay, which cannot be changed).
    fn inject_published(
        &mut self,
        target: Option<u32>,
        count: u32,
        now_ms: u64,
        mut inject: impl FnMut(&mut MarketModel, u32, &mut EventBuf) -> bool,
    ) -> Option<u32> {
        let Source::Model(model) = &mut self.source else {
            return None;
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.ts_ms = now_ms;
        let hit = match target {
            Some(t) => Some(t).filter(|&t| inject(model, t, &mut buf)),
            None => (0..count).find(|&t| inject(model, t, &mut buf)),
        };
        if hit.is_some() {
            self.now = Instant::now();
            self.publish(&buf);
            self.flush_wakes();
        }
        self.buf = buf;
        hit
    }

    /// How many markets the model has (0 for a replay).
    fn model_markets(&self) -> u32 {
        match &self.source {
            Source::Model(model) => model.market_count(),
            _ => 0,
        }
    }

    /// Simulates a gap on the market of `asset` (or the first market where one is possible).
    /// Returns the market's assets, or `None` when impossible (replay source, unknown token).
    pub fn gap(&mut self, asset: Option<&TokenId>, now_ms: u64) -> Option<Vec<u32>> {
        let market = self.market_of(asset)?;
        let count = self.model_markets();
        let hit = self.inject_published(market, count, now_ms, |model, m, buf| {
            model.inject_gap(m, buf)
        })?;
        self.stats.gaps += 1;
        Some(self.books().markets[hit as usize].assets.clone())
    }

    /// Changes the book of `asset`'s market (or of the first market where possible) without
    /// sending anything. Returns the market's assets, or `None` when impossible.
    pub fn silent_change(&mut self, asset: Option<&TokenId>) -> Option<Vec<u32>> {
        let market = self.market_of(asset)?;
        let Source::Model(model) = &mut self.source else {
            return None;
        };
        let hit = match market {
            Some(m) => Some(m).filter(|&m| model.inject_silent_change(m)),
            None => (0..model.market_count()).find(|&m| model.inject_silent_change(m)),
        }?;
        self.stats.silent_changes += 1;
        Some(self.books().markets[hit as usize].assets.clone())
    }

    /// Misprices a neg-risk event (`group`, or the first possible) on `side`; returns the
    /// event's index.
    pub fn mispricing(
        &mut self,
        group: Option<usize>,
        side: MispricingSide,
        now_ms: u64,
    ) -> Option<usize> {
        let groups = match &self.source {
            Source::Model(model) => model.groups().count() as u32,
            _ => 0,
        };
        let group = match group {
            Some(g) => Some(u32::try_from(g).ok()?),
            None => None,
        };
        let hit = self.inject_published(group, groups, now_ms, |model, g, buf| {
            model.inject_mispricing(g as usize, side, now_ms, buf)
        })?;
        self.stats.mispricings += 1;
        Some(hit as usize)
    }

    /// Injects a Dutch book on a market (or the first possible); returns the market index.
    pub fn dutch_book(&mut self, market: Option<u32>, now_ms: u64) -> Option<u32> {
        let count = self.model_markets();
        let hit = self.inject_published(market, count, now_ms, |model, m, buf| {
            model.inject_dutch(m, now_ms, buf)
        })?;
        self.stats.dutch_books += 1;
        Some(hit)
    }
}
