//! Healing untrustworthy books: REST snapshot requests, the deltas kept while a fetch is out,
//! applying a fetched snapshot, auditing quiet books, and the watchdog (audits due, missing
//! first snapshots, timeouts).
//! The policy is in the book stage's module doc.

use super::*;

/// Whether the venue re-sends the book by itself after this, so REST is only the fallback.
fn expects_in_band_snapshot(reason: ResyncReason) -> bool {
    matches!(
        reason,
        ResyncReason::Reconnect | ResyncReason::TickSizeChange
    )
}

/// A request for a REST snapshot of one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResyncRequest {
    pub asset: AssetIndex,
    pub reason: ResyncReason,
    /// An audit of a quiet `ok` book, not a heal: fetched when the audit budget allows.
    pub audit: bool,
}

impl BookStage {
    pub(super) fn transition(
        &mut self,
        asset: AssetIndex,
        before: BookState,
        after: BookState,
        now_ns: impl Fn() -> u64,
    ) {
        match (before, after) {
            (BookState::Ok, BookState::ResyncNeeded(reason)) => {
                self.stats.invalidations.inc();
                if let Some(c) = self.cell(asset) {
                    c.invalidations[reason_index(reason)].inc();
                }
                let now = now_ns();
                let h = self.health_mut(asset);
                h.detected_ns = now;
                match reason {
                    ResyncReason::Reconnect => self.stats.invalidated_reconnect.inc(),
                    ResyncReason::RingFull => self.stats.invalidated_ring_full.inc(),
                    _ => {}
                }
                if !expects_in_band_snapshot(reason) {
                    self.request(asset, reason, now);
                }
            }
            (_, BookState::Ok)
                if self
                    .health
                    .get(asset.get())
                    .is_some_and(|h| h.detected_ns != 0 || h.requested_ns != 0) =>
            {
                let now = now_ns();
                let h = self.health_mut(asset);
                let detected = std::mem::take(&mut h.detected_ns);
                h.requested_ns = 0;
                let overflowed = std::mem::take(&mut h.overflowed);
                if detected != 0 {
                    self.resync_latency.record(now.saturating_sub(detected));
                    self.stats.resyncs_completed.inc();
                    if let Some(c) = self.cell(asset) {
                        c.resyncs.inc();
                    }
                }
                self.pending.retain(|d| d.asset != asset);
                if overflowed {
                    // Some deltas of the fetch window were not kept: this book is unproven.
                    self.books.invalidate(asset, ResyncReason::RingFull);
                    self.transition(asset, BookState::Ok, self.state(asset), now_ns);
                }
            }
            _ => {}
        }
    }

    pub(super) fn request(&mut self, asset: AssetIndex, reason: ResyncReason, now: u64) {
        if self
            .links
            .resync_tx
            .try_send(ResyncRequest {
                asset,
                reason,
                audit: false,
            })
            .is_ok()
        {
            self.stats.resync_requests.inc();
            if let Some(c) = self.cell(asset) {
                c.resync_requests.inc();
            }
            self.health_mut(asset).requested_ns = now;
        }
        // A full request channel leaves `requested_ns` at 0: the watchdog asks again.
    }

    pub(super) fn buffer(&mut self, asset: AssetIndex, side: Side, price: Price, size: Size) {
        if self.pending.len() < self.cfg.pending_capacity {
            self.pending.push(PendingDelta {
                asset,
                side,
                price,
                size,
                venue_ts_ms: 0,
            });
        } else {
            self.stats.pending_overflows.inc();
            self.health_mut(asset).overflowed = true;
        }
    }

    /// The event's timestamp arrives after its deltas: stamp the asset's unstamped tail.
    pub(super) fn stamp_pending(&mut self, asset: AssetIndex, ts: u64) {
        for d in self.pending.iter_mut().rev() {
            if d.asset != asset {
                continue;
            }
            if d.venue_ts_ms != 0 {
                break;
            }
            d.venue_ts_ms = ts;
        }
    }

    /// Applies a REST snapshot (messages for one asset: start, levels, event end).
    pub fn on_rest_snapshot(&mut self, msgs: &[MarketMsg], now_ns: impl Fn() -> u64 + Copy) {
        let Some(MarketMsg::SnapshotStart {
            asset, venue_ts_ms, ..
        }) = msgs.first().copied()
        else {
            return;
        };
        let h = self.health.get(asset.get()).copied().unwrap_or_default();
        let current = self.state(asset);
        if h.audit_sent_ns != 0 {
            self.audits_out = self.audits_out.saturating_sub(1);
            self.health_mut(asset).audit_sent_ns = 0;
            if h.requested_ns == 0 && current == BookState::Ok {
                self.audit(asset, msgs, h, now_ns());
                return;
            }
        }
        // Unrequested, or older than what the book already has: discard.
        let stale = venue_ts_ms != 0 && h.snapshot_ts_ms > venue_ts_ms;
        if h.requested_ns == 0 && current == BookState::Ok || stale {
            self.stats.rest_snapshots_discarded.inc();
            return;
        }
        self.applying_rest = Some(asset);
        // The snapshot is "received" now: that is what its freshness is measured from.
        self.books.apply(&MarketMsg::FrameStart {
            recv_ns: now_ns(),
            sent_ns: 0,
        });
        let end = msgs.len() - 1;
        for m in &msgs[..end] {
            self.on_msg(m, now_ns);
        }
        // Re-apply the deltas of the fetch window that the snapshot may not contain.
        for d in self
            .pending
            .iter()
            .filter(|d| d.asset == asset && d.venue_ts_ms >= venue_ts_ms)
        {
            self.books.apply(&MarketMsg::LevelChange {
                asset,
                side: d.side,
                price: d.price,
                size: d.size,
            });
        }
        self.on_msg(&msgs[end], now_ns);
        self.applying_rest = None;
        self.stats.rest_snapshots_applied.inc();
    }

    /// Compares an audit snapshot with the `ok` book it re-read. A book that changed while the
    /// audit was out is not judged. A difference is confirmed by a second audit before the
    /// book is marked: a change already sent on the WebSocket but not yet applied here can
    /// make one snapshot look different, never two with no event in between.
    fn audit(&mut self, asset: AssetIndex, msgs: &[MarketMsg], h: Health, now: u64) {
        let Some(b) = self.books.book(asset) else {
            return;
        };
        if b.last_event_ns.max(b.last_snapshot_ns) > h.audit_sent_ns {
            self.stats.audits_skipped.inc();
            self.health_mut(asset).audit_suspect = false;
            return;
        }
        self.stats.audits.inc();
        let mut levels = msgs.iter().filter_map(|m| match *m {
            MarketMsg::SnapshotLevel {
                side, price, size, ..
            } if !size.is_zero() => Some((side, price, size)),
            _ => None,
        });
        let mut same = true;
        let mut count = 0usize;
        for (side, price, size) in levels.by_ref() {
            count += 1;
            if b.side(side).size_at(price) != size {
                same = false;
                break;
            }
        }
        same &= count == b.side(Side::Bid).len() + b.side(Side::Ask).len();
        if same {
            self.health_mut(asset).audit_suspect = false;
            return;
        }
        self.stats.audit_differences.inc();
        if !h.audit_suspect {
            // Look again at once, before judging.
            self.health_mut(asset).audit_suspect = true;
            self.request_audit(asset, now);
            return;
        }
        self.health_mut(asset).audit_suspect = false;
        self.stats.audit_mismatches.inc();
        self.books.invalidate(asset, ResyncReason::Stale);
        self.transition(asset, BookState::Ok, self.state(asset), || now);
        self.emit_top(asset, now);
    }

    /// Asks the resync worker to re-read `asset` for an audit; false when the request channel
    /// or the in-flight allowance is full.
    fn request_audit(&mut self, asset: AssetIndex, now: u64) -> bool {
        if self.audits_out >= self.cfg.audit_in_flight.max(1) {
            return false;
        }
        let req = ResyncRequest {
            asset,
            reason: ResyncReason::Stale,
            audit: true,
        };
        if self.links.resync_tx.try_send(req).is_err() {
            return false;
        }
        self.audits_out += 1;
        self.stats.audits_requested.inc();
        let h = self.health_mut(asset);
        h.audit_sent_ns = now;
        h.audited_ns = now;
        true
    }

    /// Requests audits of the `ok` books silent for `audit_after_ms` (and not audited for as
    /// long), scanning from where the last scan stopped; forgets audits unanswered for
    /// `resync_timeout_ms` (the worker drops what it could not fetch).
    fn schedule_audits(&mut self, now: u64) {
        let after = self.cfg.audit_after_ms * 1_000_000;
        let timeout = self.cfg.resync_timeout_ms.max(1) * 1_000_000 * 4;
        let n = self.health.len();
        if after == 0 || n == 0 {
            return;
        }
        for k in 0..n {
            let i = (self.audit_cursor + k) % n;
            let h = self.health[i];
            if h.retired {
                continue;
            }
            if h.audit_sent_ns != 0 {
                if now.saturating_sub(h.audit_sent_ns) > timeout {
                    self.health[i].audit_sent_ns = 0;
                    self.audits_out = self.audits_out.saturating_sub(1);
                }
                continue;
            }
            let asset = AssetIndex(i as u32);
            let Some(b) = self.books.book(asset) else {
                continue;
            };
            if b.state != BookState::Ok {
                continue;
            }
            let last = b.last_event_ns.max(b.last_snapshot_ns).max(h.audited_ns);
            if last != 0 && now.saturating_sub(last) > after && !self.request_audit(asset, now) {
                self.audit_cursor = i;
                return;
            }
        }
    }

    /// Runs the watchdog if it is due (call when idle: a stalled feed delivers no frames).
    #[inline]
    pub fn maybe_watchdog(&mut self, now: u64) {
        if now >= self.next_watchdog_ns {
            self.watchdog(now);
        }
    }

    /// Periodic checks: staleness, assets still without a first snapshot, due and timed-out
    /// requests.
    pub fn watchdog(&mut self, now: u64) {
        self.next_watchdog_ns = now + self.cfg.watchdog_interval_ms * 1_000_000;
        let timeout = self.cfg.resync_timeout_ms * 1_000_000;
        let grace = self.cfg.reconnect_grace_ms * 1_000_000;
        let (mut healthy, mut unhealthy) = (0, 0);
        for i in 0..self.health.len() {
            let asset = AssetIndex(i as u32);
            let Some(b) = self.books.book(asset) else {
                continue;
            };
            if self.health[i].retired {
                continue;
            }
            let state = b.state;
            let h = self.health[i];
            match state {
                BookState::Ok => healthy += 1,
                BookState::ResyncNeeded(reason) => {
                    unhealthy += 1;
                    let due = if h.requested_ns != 0 {
                        now.saturating_sub(h.requested_ns) > timeout
                    } else {
                        reason != ResyncReason::Reconnect
                            || now.saturating_sub(h.detected_ns) > grace
                    };
                    if due {
                        if h.requested_ns != 0 {
                            self.stats.resync_retries.inc();
                        }
                        self.request(asset, reason, now);
                    }
                }
                BookState::Empty => {
                    // Subscribed but never snapshotted (e.g. past the venue's per-connection
                    // snapshot limit): give the feed the grace period, then ask REST.
                    unhealthy += 1;
                    if h.empty_since_ns == 0 {
                        self.health[i].empty_since_ns = now;
                    } else if (h.requested_ns == 0 && now.saturating_sub(h.empty_since_ns) > grace)
                        || (h.requested_ns != 0 && now.saturating_sub(h.requested_ns) > timeout)
                    {
                        self.request(asset, ResyncReason::Reconnect, now);
                    }
                }
            }
        }
        self.schedule_audits(now);
        self.stats.healthy_assets.set(healthy);
        self.stats.unhealthy_assets.set(unhealthy);
    }

    pub(super) fn poll_snapshots(&mut self) -> bool {
        let Some(rx) = &mut self.links.snapshots else {
            return false;
        };
        let mut did = false;
        let mut done = Vec::new();
        // Take what is there now; whole snapshots are applied as they complete.
        while let Some(m) = rx.pop() {
            did = true;
            let end = matches!(m, MarketMsg::AssetEventEnd { .. });
            self.snap_buf.push(m);
            if end {
                done.push(std::mem::take(&mut self.snap_buf));
            }
            if done.len() >= 64 {
                break;
            }
        }
        for snap in done {
            self.on_rest_snapshot(&snap, now_ns);
            if self.snap_buf.capacity() < snap.capacity() {
                self.snap_buf = snap;
                self.snap_buf.clear();
            }
        }
        did
    }
}
