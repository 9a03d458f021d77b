//! What happens to orders and trades after placement: cancels (by the owner, by market, by
//! the heartbeat dead-man switch), GTD expiries, trade status progression MATCHED → MINED →
//! CONFIRMED (or FAILED, rolled back), and the sweep of resting orders that house quotes cross.

use super::*;

impl TradingState {
    /// Cancels the owner's orders among `hashes`.
    pub fn cancel(
        &mut self,
        books: &mut VenueBooks,
        buf: &mut EventBuf,
        owner: &Address,
        hashes: &[String],
        now: &Now,
    ) -> CancelResponse {
        let mut r = CancelResponse::default();
        let mut touched = Touched::default();
        for h in hashes {
            let seq = crate::trading::orders::parse_hash(h)
                .and_then(|x| self.store.by_hash.get(&x).copied())
                .filter(|s| {
                    self.store
                        .orders
                        .get(s)
                        .is_some_and(|o| o.key_owner == *owner)
                });
            match seq.map(|s| self.cancel_seq(books, &mut touched, s, OrderStatus::Canceled, now)) {
                Some(Canceled::Yes) => r.canceled.push(h.clone()),
                Some(Canceled::NotLive) => {
                    r.not_canceled
                        .insert(h.clone(), "already canceled or matched".into());
                }
                None => {
                    r.not_canceled.insert(h.clone(), "order not found".into());
                }
            }
        }
        publish_touched(books, buf, &touched, self.salt);
        r
    }

    /// Cancels every live order of `owner` that `keep` selects.
    pub fn cancel_where(
        &mut self,
        books: &mut VenueBooks,
        buf: &mut EventBuf,
        owner: &Address,
        keep: impl Fn(&VenueOrder) -> bool,
        now: &Now,
    ) -> CancelResponse {
        let mut r = CancelResponse::default();
        let mut touched = Touched::default();
        let seqs: Vec<u64> = self
            .store
            .live()
            .into_iter()
            .filter(|s| {
                self.store
                    .orders
                    .get(s)
                    .is_some_and(|o| o.key_owner == *owner && keep(o))
            })
            .collect();
        for s in seqs {
            if let Canceled::Yes =
                self.cancel_seq(books, &mut touched, s, OrderStatus::Canceled, now)
            {
                r.canceled.push(hash_hex(&self.store.orders[&s].hash));
            }
        }
        publish_touched(books, buf, &touched, self.salt);
        r
    }

    fn cancel_seq(
        &mut self,
        books: &mut VenueBooks,
        touched: &mut Touched,
        seq: u64,
        status: OrderStatus,
        now: &Now,
    ) -> Canceled {
        let Some(o) = self.store.orders.get(&seq) else {
            return Canceled::NotLive;
        };
        if o.status != OrderStatus::Live {
            return Canceled::NotLive;
        }
        let (yes, market, left, exp) = (o.yes_level(), o.market, o.remaining(), o.expiration);
        self.store.dequeue(seq);
        overlay(books, touched, market, yes, left, true);
        self.expiries.remove(&(exp, seq));
        self.finish(books, seq, status, now);
        Canceled::Yes
    }

    /// A heartbeat of API key `key` echoing `id`; returns the next id to echo.
    ///
    /// Ids rotate: each answer carries a new one and only the latest is valid. An empty or
    /// absent id starts a chain (or restarts it); a stale or unknown id is refused (`Err`)
    /// and renews nothing, so the key's orders are canceled when the chain's deadline passes.
    pub fn heartbeat(
        &mut self,
        key: &str,
        id: Option<&str>,
        now: &Now,
    ) -> Result<String, StaleHeartbeat> {
        let id = id.filter(|i| !i.is_empty());
        if let Some(id) = id
            && self.heartbeats.get(key).is_none_or(|(cur, _)| cur != id)
        {
            return Err(StaleHeartbeat);
        }
        let deadline = now.at + Duration::from_millis(self.cfg.heartbeat_timeout_ms);
        let next = uuid();
        self.heartbeats
            .insert(key.to_string(), (next.clone(), deadline));
        Ok(next)
    }

    /// Timed work: trade statuses, GTD expiries, heartbeats. Returns the next deadline.
    pub fn tick(
        &mut self,
        books: &mut VenueBooks,
        buf: &mut EventBuf,
        now: &Now,
    ) -> Option<Instant> {
        while let Some(&Reverse((at, idx))) = self.pending.peek() {
            if at > now.at {
                break;
            }
            self.pending.pop();
            self.advance_trade(books, idx, now);
        }
        let mut touched = Touched::default();
        let due: Vec<(u64, u64)> = self.expiries.range(..(now.s() + 1, 0)).copied().collect();
        for (_, seq) in due {
            self.cancel_seq(books, &mut touched, seq, OrderStatus::Expired, now);
        }
        let dead: Vec<String> = self
            .heartbeats
            .iter()
            .filter(|(_, (_, d))| *d <= now.at)
            .map(|(k, _)| k.clone())
            .collect();
        for key in dead {
            self.heartbeats.remove(&key);
            let seqs: Vec<u64> = self
                .store
                .live()
                .into_iter()
                .filter(|s| self.store.orders[s].owner == key)
                .collect();
            for s in seqs {
                self.cancel_seq(books, &mut touched, s, OrderStatus::Canceled, now);
            }
        }
        publish_touched(books, buf, &touched, self.salt);
        let trade = self.pending.peek().map(|Reverse((at, _))| *at);
        let hb = self.heartbeats.values().map(|(_, d)| *d).min();
        let exp = self
            .expiries
            .first()
            .map(|&(s, _)| now.at + Duration::from_secs(s.saturating_sub(now.s()) + 1));
        [trade, hb, exp].into_iter().flatten().min()
    }

    fn advance_trade(&mut self, books: &VenueBooks, idx: usize, now: &Now) {
        let Some(t) = self.trades.get_mut(idx) else {
            return;
        };
        let next = match (t.status, t.fail) {
            (TradeStatus::Matched, true) => TradeStatus::Failed,
            (TradeStatus::Matched, false) => TradeStatus::Mined,
            (TradeStatus::Mined, _) => TradeStatus::Confirmed,
            _ => return,
        };
        t.status = next;
        t.last_update_s = now.s();
        if next == TradeStatus::Mined {
            let wait = self
                .cfg
                .confirmed_after_ms
                .saturating_sub(self.cfg.mined_after_ms);
            self.pending
                .push(Reverse((now.at + Duration::from_millis(wait), idx)));
        }
        if next == TradeStatus::Confirmed
            && let Some(fs) = self.cfg.fees
        {
            // Maker rebates: a share of the fee the taker owed for each maker's part.
            for m in t.makers.iter().filter(|m| m.seq.is_some()) {
                let fee = fs.taker_fee(t.price, Size(m.shares)).0;
                let rebate = (u128::from(fee) * u128::from(MAKER_REBATE_PPM) / 1_000_000) as u64;
                *self.rebates.entry(m.address).or_default() += rebate;
            }
        }
        if next == TradeStatus::Failed {
            // The settlement never happened on chain: every balance move is undone.
            for &(who, h, delta) in &t.ledger {
                if delta < 0 {
                    self.accounts.credit(who, h, delta.unsigned_abs());
                } else {
                    self.accounts.debit_free(who, h, delta as u64);
                }
            }
        }
        self.trade_events(books, idx);
    }

    /// House quotes that moved across resting orders trade with them, as the venue's matching
    /// engine would: the resting orders are the makers. Runs after every model step.
    pub fn sweep(&mut self, books: &mut VenueBooks, buf: &mut EventBuf, now: &Now) {
        if self.is_idle() {
            return;
        }
        let mut touched = Touched::default();
        let markets: Vec<u32> = self.store.queues.keys().copied().collect();
        for m in markets {
            let assets = books.markets[m as usize].assets.clone();
            if assets.len() != 2 {
                continue;
            }
            for outcome in 0..2u8 {
                let (asset, other) = (assets[outcome as usize], assets[1 - outcome as usize]);
                for side in [OrderSide::Sell, OrderSide::Buy] {
                    for _ in 0..64 {
                        // The house quote on the book side this taker side would come from.
                        let house_side = side.book_side();
                        let Some(hp) = books.asset(asset).book.best(house_side) else {
                            break;
                        };
                        let size = books.asset(asset).book.side(house_side)[&hp].0;
                        let spec = TakerSpec {
                            market: m,
                            asset,
                            other,
                            outcome,
                            side,
                            limit: hp,
                            qty: size,
                            budget: None,
                            order: None,
                        };
                        let mut ctx = Ctx {
                            store: &mut self.store,
                            accounts: &mut self.accounts,
                            books,
                            touched: &mut touched,
                        };
                        let fills = execute(&mut ctx, &spec, false);
                        if fills.is_empty() {
                            break;
                        }
                        let filled: u64 = fills.iter().map(|f| f.shares).sum();
                        take_house(&mut ctx, asset, other, house_side, hp, filled);
                        let taker = TakerParty {
                            hash: {
                                let mut h = [0u8; 32];
                                rand::rng().fill_bytes(&mut h);
                                h
                            },
                            seq: None,
                            owner: HOUSE_OWNER.to_string(),
                            address: Address::ZERO,
                            key_owner: Address::ZERO,
                        };
                        self.record_trades(books, buf, &mut touched, &spec, &taker, &fills, now);
                    }
                }
            }
        }
        publish_touched(books, buf, &touched, self.salt);
    }
}
