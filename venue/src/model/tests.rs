use super::*;

fn dutch_cfg(seed: u64) -> ModelConfig {
    ModelConfig {
        binary_dutch_fault_every_ms: 400,
        binary_dutch_fault_duration_ms: 150,
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
    let margin = m.config().binary_dutch_fault_margin.0;
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
            if m.walks[mk as usize].unmirrored {
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
    assert!(m.binary_dutch_faults > 10, "{}", m.binary_dutch_faults);
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
fn neg_risk_groups_keep_their_overround_without_injected_mispricings() {
    // Without injection a group's YES asks never sum below 1 + overround and its YES bids
    // never above 1 - overround, however long the walk runs.
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
            let over = u64::from(m.cfg.neg_risk_overround.0);
            assert!(
                asks >= u64::from(ONE) + over,
                "step {i}: group at {g} asks sum {asks}"
            );
            assert!(
                bids + over <= u64::from(ONE),
                "step {i}: group at {g} bids sum {bids}"
            );
        }
    }
    assert!(worst_asks < u64::MAX, "no group was checked");
}

fn event_cfg(seed: u64) -> ModelConfig {
    ModelConfig {
        seed,
        binary_markets: 10,
        neg_risk_groups: 12,
        neg_risk_group_size: 2,
        neg_risk_group_size_max: 40,
        neg_risk_augmented_groups: 2,
        mispricing_every_ms: 300,
        mispricing_duration_ms: 200,
        mispricing_margin: Price(30_000),
        mispricing_levels: 3,
        ..ModelConfig::default()
    }
}

/// Σ over the group's questions of the price `rank` levels behind the best on a YES side.
fn level_sum(m: &MarketModel, group: std::ops::Range<u32>, side: Side, rank: usize) -> Option<u64> {
    group
        .map(|q| m.level_at_rank(q, side, rank).map(|(p, _)| u64::from(p.0)))
        .sum()
}

#[test]
fn neg_risk_events_keep_an_overround_and_are_mispriced_both_ways() {
    let mut m = MarketModel::new(event_cfg(5));
    let groups: Vec<(std::ops::Range<u32>, bool)> = m.groups().collect();
    let sizes: Vec<u32> = groups.iter().map(|(r, _)| r.len() as u32).collect();
    assert!(sizes.iter().all(|k| (2..=40).contains(k)), "{sizes:?}");
    assert!(
        sizes.iter().any(|&k| k <= 4) && sizes.iter().any(|&k| k >= 10),
        "{sizes:?}"
    );
    // Augmented events: the last two, ending with two placeholders and "Other".
    for (r, augmented) in &groups {
        let infos: Vec<&MarketInfo> = r.clone().map(|q| &m.books().markets[q as usize]).collect();
        let last = infos.last().unwrap();
        assert_eq!(last.neg_risk_other, *augmented);
        assert!(infos.iter().all(|i| i.neg_risk_augmented == *augmented));
        if *augmented {
            assert_eq!(last.group_item_title.as_deref(), Some("Other"));
            let n = infos.len();
            assert_eq!(infos[n - 2].group_item_title.as_deref(), Some("Person B"));
        }
    }
    assert!(groups.iter().filter(|g| g.1).count() == 2);
    let (one, margin, over) = (1_000_000u64, 30_000u64, 10_000u64);
    let mut buf = EventBuf::new();
    let (mut quiet, mut in_band, mut seen_yes, mut seen_no) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..60_000u64 {
        buf.clear();
        m.step(10_000 + i, &mut buf);
        if i % 25 != 0 {
            continue;
        }
        for mk in 0..m.market_count() {
            let (yes, no) = m.outcomes(mk);
            let (y, n) = (&m.books().asset(yes).book, &m.books().asset(no).book);
            assert_eq!(*n, y.mirrored(), "market {mk} not one book at step {i}");
            assert!(!y.is_crossed(), "market {mk} crossed at step {i}");
        }
        for (r, _) in &groups {
            let frozen = r
                .clone()
                .any(|q| m.walks[q as usize].frozen_until_ms.is_some());
            // A mispriced question may have one side pulled entirely.
            let asks = level_sum(&m, r.clone(), Side::Ask, 0).unwrap_or(u64::MAX / 2);
            let bids = level_sum(&m, r.clone(), Side::Bid, 0).unwrap_or(0);
            if !frozen {
                quiet += 1;
                assert!(asks >= one + over && bids + over <= one, "{asks} {bids}");
                if asks <= 1_100_000 && bids >= 900_000 {
                    in_band += 1;
                }
                continue;
            }
            if asks + margin < one {
                seen_yes += 1;
                // Deeper levels of every question still clear the margin.
                if let Some(deep) = level_sum(&m, r.clone(), Side::Ask, 2) {
                    assert!(deep + margin < one || r.len() > 30, "{deep}");
                }
            } else if bids > one + margin {
                seen_no += 1;
                if let Some(deep) = level_sum(&m, r.clone(), Side::Bid, 2) {
                    assert!(deep > one + margin || r.len() > 30, "{deep}");
                }
                // Σ NO asks = N − Σ YES bids < N − 1 − margin.
                let no_asks: u64 = r
                    .clone()
                    .map(|q| u64::from(m.books().asset(2 * q + 1).book.best_ask().unwrap().0))
                    .sum();
                assert!(no_asks + margin < (r.len() as u64 - 1) * one, "{no_asks}");
            } else {
                panic!("frozen group {r:?} not mispriced: asks {asks} bids {bids}");
            }
        }
    }
    let (yes, no) = m.mispricings;
    assert!(yes > 20 && no > 20, "{yes} {no}");
    assert!(seen_yes > 0 && seen_no > 0);
    assert!(
        in_band * 10 >= quiet * 8,
        "{in_band} of {quiet} samples in 1.01..1.10 / 0.90..0.99"
    );
}

#[test]
fn activity_is_heavy_tailed() {
    // 500 markets: a few hot ones carry most changes, most stay quiet.
    let mut m = MarketModel::new(ModelConfig::for_assets(1_000, 4));
    let n = m.market_count() as usize;
    let mut changes = vec![0u64; n];
    let mut buf = EventBuf::new();
    for i in 0..20_000u64 {
        buf.clear();
        m.step(i, &mut buf);
        for d in &buf.deltas {
            changes[m.books().asset(d.asset).market as usize] += 1;
        }
    }
    let total: u64 = changes.iter().sum();
    let mut sorted = changes.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let top: u64 = sorted[..n / 20].iter().sum();
    assert!(top * 2 > total, "top 5% carry {top} of {total}");
    let median = sorted[n / 2];
    // The median market gets under a fifth of a uniform share: at 20 changes/s across 500
    // markets, one change every few minutes.
    assert!(
        median * n as u64 * 5 < total,
        "median market {median} of {total}"
    );
}

#[test]
fn takers_leave_the_walk_alone_follow_the_seed_and_move_the_price_their_way() {
    let cfg = |on| {
        let mut c = ModelConfig::for_assets(40, 4);
        c.takers.enabled = on;
        c.takers.orders_per_market_per_min = 120;
        c.takers.adverse_per_mille = 1000;
        c
    };
    let run = |c: ModelConfig| {
        let mut m = MarketModel::new(c);
        let mut buf = EventBuf::new();
        let mut events = Vec::new();
        let mut takers = Vec::new();
        for i in 0..4000u64 {
            buf.clear();
            m.step(1_000 + i * 5, &mut buf);
            events.push((buf.events.clone(), buf.deltas.clone()));
            takers.extend(m.take_takers());
        }
        (events, takers)
    };
    let (off, none) = run(cfg(false));
    assert!(none.is_empty());
    // On, but nothing executes them: the walk's own events are those of the model without.
    let (on, takers) = run(cfg(true));
    assert!(on == off, "the takers draw from their own generator");
    // 20 markets × 120 a minute for 20 s: about 800, spread by activity weight.
    assert!((600..=1000).contains(&takers.len()), "{}", takers.len());
    assert_eq!(run(cfg(true)).1, takers, "same seed, same takers");
    let mut per_market = vec![0u32; 20];
    for t in &takers {
        per_market[t.market as usize] += 1;
        assert!(t.depth_ticks <= 2 && t.shares >= 5_000_000 && t.outcome <= 1);
    }
    per_market.sort_unstable();
    assert!(per_market[19] > 4 * per_market[10].max(1), "{per_market:?}");
    // A fill moves the top on in the taker's direction (adverse selection).
    let mut m = MarketModel::new(cfg(true));
    let mut buf = EventBuf::new();
    for (outcome, side, up) in [
        (0, OrderSide::Buy, true),
        (1, OrderSide::Sell, true),
        (0, OrderSide::Sell, false),
        (1, OrderSide::Buy, false),
    ] {
        let t = TakerOrder {
            market: 0,
            outcome,
            side,
            shares: 5_000_000,
            depth_ticks: 0,
        };
        let (b, a) = (m.yes(0).best_bid().unwrap(), m.yes(0).best_ask().unwrap());
        assert!(!m.after_taker(&t, 0, &mut buf), "no fill, no move");
        assert!(m.after_taker(&t, 1, &mut buf));
        let (nb, na) = (m.yes(0).best_bid().unwrap(), m.yes(0).best_ask().unwrap());
        if up {
            assert!(na > a && nb >= b, "{b} {a} -> {nb} {na}");
        } else {
            assert!(nb < b && na <= a, "{b} {a} -> {nb} {na}");
        }
        assert!(nb < na);
    }
    assert_eq!(m.taker_stats().adverse_moves, 4);
}
