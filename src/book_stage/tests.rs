//! The book stage's registry changes: an extension waiting in the control channel is applied
//! before the first message for its asset, a retired asset's book is emptied and untradeable
//! and its messages ignored, a revived one is rebuilt by its next snapshot.

use crossbeam::channel::{bounded, unbounded};

use super::{BookCtl, BookLinks, BookStage, BookStageConfig};
use crate::book::BookState;
use crate::core::{AssetIndex, AssetRegistry, ClaimedTop, MarketMsg, Price, Side, Size, TopOfBook};
use crate::pipeline::ring::{RingRx, ring};
use crate::pipeline::stage::{Out, Stage};
use crate::pipeline::wait::Doorbell;

fn snapshot(b: &mut BookStage, asset: AssetIndex, ask: u32) {
    b.process(MarketMsg::FrameStart {
        recv_ns: 1,
        sent_ns: 0,
    });
    b.process(MarketMsg::SnapshotStart {
        asset,
        tick: None,
        venue_ts_ms: 1,
    });
    b.process(MarketMsg::SnapshotLevel {
        asset,
        side: Side::Ask,
        price: Price(ask),
        size: Size(10_000_000),
    });
    b.process(MarketMsg::AssetEventEnd {
        asset,
        claimed: ClaimedTop::UNKNOWN,
        venue_ts_ms: 1,
    });
    b.process(MarketMsg::FrameEnd { recv_ns: 1 });
}

fn last_top(rx: &mut RingRx<TopOfBook>, asset: AssetIndex) -> Option<TopOfBook> {
    let mut last = None;
    while let Some(t) = rx.pop() {
        if t.asset == asset {
            last = Some(t);
        }
    }
    last
}

#[test]
fn extensions_apply_before_the_first_message_and_retired_books_are_untradeable() {
    let mut cold = AssetRegistry::new();
    cold.register(b"11").unwrap();
    let (resync_tx, _requests) = bounded(16);
    let (ctl, ctl_rx) = unbounded();
    let (tops_tx, mut tops) = ring("tops", 64, Doorbell::new());
    let mut b = BookStage::new(
        BookStageConfig::default(),
        Out::Ring(tops_tx),
        BookLinks {
            resync_tx,
            snapshots: None,
            ctl: Some(ctl_rx),
            views: None,
            view_interval_ms: 0,
            registry: cold.clone(),
            max_assets: 8,
            storage: None,
        },
    );
    // A market listed while running: its extension is in the channel, no tick has run.
    let new = cold.register(b"22").unwrap();
    ctl.send(BookCtl::Extend(Box::new(cold.cut(1, 2)))).unwrap();
    snapshot(&mut b, new, 400_000);
    assert_eq!(b.stats.extended_assets.get(), 1);
    assert_eq!(b.stats.ignored.get(), 0);
    assert_eq!(b.books.get(new).map(|x| x.state), Some(BookState::Ok));
    let top = last_top(&mut tops, new).expect("a top for the new asset");
    assert!(top.tradeable && top.ask == Price(400_000));

    // A message for an asset nobody announced is dropped and counted, never grows a table.
    snapshot(&mut b, AssetIndex(5), 400_000);
    assert_eq!(b.stats.ignored.get(), 3);
    assert!(b.books.book(AssetIndex(5)).is_none());

    // Closed: retired on the next message or tick; its top turns untradeable.
    ctl.send(BookCtl::Retire(vec![new])).unwrap();
    b.tick(2);
    assert_eq!(b.stats.retired_assets.get(), 1);
    assert!(b.books.get(new).is_none(), "emptied");
    assert!(!last_top(&mut tops, new).expect("a top").tradeable);
    snapshot(&mut b, new, 300_000);
    assert!(b.books.get(new).is_none(), "its messages are ignored");
    assert_eq!(b.stats.ignored.get(), 6);

    // Reopened: revived before it is subscribed again; its next snapshot rebuilds it.
    ctl.send(BookCtl::Revive(vec![new])).unwrap();
    snapshot(&mut b, new, 300_000);
    assert_eq!(b.stats.revived_assets.get(), 1);
    let top = last_top(&mut tops, new).expect("a top");
    assert!(top.tradeable && top.ask == Price(300_000));
}
