use super::*;

fn dutch_cfg(seed: u64) -> ModelConfig {
    ModelConfig {
        dutch_book_every_ms: 400,
        dutch_book_duration_ms: 150,
        ..ModelConfig::for_assets(60, seed)
    }
}

fn on_grid(levels: &crate::book::Levels, t: u32) -> bool {
    levels
        .keys()
        .all(|p| p.0.is_multiple_of(t) && p.is_level_price())
}

#[test]
fn same_seed_same_markets_and_events() {
    let run = |seed| {
        let mut m = MarketModel::new(dutch_cfg(seed));
        let mut buf = EventBuf::new();
        let mut all = Vec::new();
        for i in 0..3000 {
            buf.clear();
            m.step(1_000 + i * 2, &mut buf);
            all.push((buf.events.clone(), buf.deltas.clone()));
        }
        let tokens: Vec<String> = m
            .books()
            .assets
            .iter()
            .map(|a| a.token_str.to_string())
            .collect();
        let books: Vec<VenueBook> = m.books().assets.iter().map(|a| a.book.clone()).collect();
        (tokens, books, all)
    };
    let a = run(11);
    assert!(a == run(11), "same seed must replay identically");
    assert!(a.0 != run(12).0);
}

#[test]
fn books_stay_mirrored_uncrossed_on_grid_and_claims_are_true() {
    let mut m = MarketModel::new(dutch_cfg(3));
    let margin = m.config().dutch_book_margin.0;
    let mut buf = EventBuf::new();
    let (mut ticks, mut dutch_seen, mut trades) = (0, 0, 0);
    for i in 0..40_000u64 {
        buf.clear();
        let now = 10_000 + i;
        m.step(now, &mut buf);
        // Each entry's claimed top is the top right after it; the last one per asset is final.
        let mut last: rustc_hash::FxHashMap<u32, (Option<Price>, Option<Price>)> =
            Default::default();
        for d in &buf.deltas {
            last.insert(d.asset, (d.best_bid, d.best_ask));
        }
        for (&a, &(bb, ba)) in &last {
            // A tick change in the same step rebuilds the book; its fresh `book` supersedes.
            if buf.events.contains(&VenueEvent::Book { asset: a }) {
                continue;
            }
            let b = &m.books().asset(a).book;
            assert_eq!(
                (b.best_bid(), b.best_ask()),
                (bb, ba),
                "claimed top of asset {a}"
            );
        }
        for ev in &buf.events {
            match ev {
                VenueEvent::TickSizeChange { .. } => ticks += 1,
                VenueEvent::LastTrade { price, .. } => {
                    assert!(price.is_level_price());
                    trades += 1;
                }
                _ => {}
            }
        }
        for mk in 0..m.market_count() {
            let (yes, no) = m.outcomes(mk);
            let (y, n) = (&m.books().asset(yes), &m.books().asset(no));
            assert_eq!(y.tick, n.tick);
            let t = y.tick.micros();
            for b in [&y.book, &n.book] {
                assert!(!b.is_crossed(), "market {mk} crossed at step {i}");
                assert!(
                    on_grid(&b.bids, t) && on_grid(&b.asks, t),
                    "market {mk} off grid"
                );
            }
            assert!(!y.book.bids.is_empty() && !y.book.asks.is_empty());
            if m.walks[mk as usize].frozen_until_ms.is_some() {
                let sum = y.book.best_ask().unwrap().0 + n.book.best_ask().unwrap().0;
                assert!(sum < 1_000_000 - margin, "Dutch book sum {sum}");
                dutch_seen += 1;
            } else {
                assert_eq!(
                    n.book,
                    y.book.mirrored(),
                    "market {mk} not mirrored at step {i}"
                );
            }
        }
    }
    assert!(m.dutch_books > 10, "{}", m.dutch_books);
    assert!(dutch_seen > 0 && trades > 100);
    assert!(ticks > 0, "no tick size change in 40k steps");
}

#[test]
fn tick_change_is_followed_by_fresh_books_and_neg_risk_groups_share_ids() {
    let mut m = MarketModel::new(ModelConfig::for_assets(200, 8));
    let mut buf = EventBuf::new();
    let mut checked = 0;
    for i in 0..60_000u64 {
        buf.clear();
        m.step(i, &mut buf);
        if let Some(pos) = buf
            .events
            .iter()
            .position(|e| matches!(e, VenueEvent::TickSizeChange { .. }))
        {
            let VenueEvent::TickSizeChange { asset, .. } = buf.events[pos] else {
                unreachable!()
            };
            assert!(
                buf.events[pos..].contains(&VenueEvent::Book { asset }),
                "tick change without a fresh book"
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
    let groups: Vec<&str> = m
        .books()
        .markets
        .iter()
        .filter_map(|mk| mk.neg_risk_market_id.as_deref())
        .collect();
    assert_eq!(groups.len(), 20); // 100 markets, a fifth grouped
    assert_eq!(groups.iter().filter(|g| **g == groups[0]).count(), 4);
}

#[test]
fn gap_moves_the_top_without_telling() {
    let mut m = MarketModel::new(ModelConfig::for_assets(4, 1));
    let (yes, _) = m.outcomes(0);
    let before = m.books().asset(yes).book.clone();
    let mut buf = EventBuf::new();
    assert!(m.inject_gap(0, &mut buf));
    let after = &m.books().asset(yes).book;
    assert_ne!(
        (before.best_bid(), before.best_ask()),
        (after.best_bid(), after.best_ask())
    );
    // The broadcast change alone, applied to the old book, leaves the old top in place.
    let mut client = before.clone();
    for d in buf.deltas.iter().filter(|d| d.asset == yes) {
        client.set(d.side, d.price, d.size);
    }
    let d = buf.deltas.iter().rev().find(|d| d.asset == yes).unwrap();
    assert_ne!(
        (client.best_bid(), client.best_ask()),
        (d.best_bid, d.best_ask)
    );
}

#[test]
fn neg_risk_groups_stay_coherent_without_injected_dutch_books() {
    // Without injection a group's YES asks never sum below 1 (no free Dutch book) and its
    // YES bids never above 1, however long the walk runs.
    for seed in [3, 4, 5] {
        walk_checking_groups(seed);
    }
}

fn walk_checking_groups(seed: u64) {
    let mut m = MarketModel::new(ModelConfig::for_assets(200, seed));
    let mut buf = EventBuf::new();
    let mut worst_asks = u64::MAX;
    for i in 0..60_000u64 {
        buf.clear();
        m.step(i, &mut buf);
        if i % 50 != 0 {
            continue;
        }
        for g in m.cfg.binary_markets..m.market_count() {
            let Some(group) = m.group_of(g) else { continue };
            if group.start != g {
                continue;
            }
            let (mut asks, mut bids) = (0u64, 0u64);
            for o in group {
                asks += u64::from(m.yes(o).best_ask().map_or(ONE, |p| p.0));
                bids += u64::from(m.yes(o).best_bid().map_or(0, |p| p.0));
            }
            worst_asks = worst_asks.min(asks);
            assert!(
                asks >= u64::from(ONE),
                "step {i}: group at {g} asks sum {asks}"
            );
            assert!(
                bids <= u64::from(ONE),
                "step {i}: group at {g} bids sum {bids}"
            );
        }
    }
    assert!(worst_asks < u64::MAX, "no group was checked");
}
