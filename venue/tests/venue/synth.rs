//! `synth frames` output replayed through the project's replayer ends with exactly the model's
//! books, with nothing invalid, mismatched or crossed, also when frames batch two events and
//! the clock starts elsewhere; with the wrong-top fault on, the replayer flags the claims its
//! books contradict; with the late-tick-book fault on, books wait in `tick_size_change`.

use polyarb::replay::{FrameReader, Replayer};
use polyarb_venue::ModelConfig;
use polyarb_venue::control::books_dump;
use polyarb_venue::synth::{FrameOptions, write_frames, write_frames_with};
use serde_json::Value;

fn replay(bytes: Vec<u8>) -> Replayer {
    let mut r = Replayer::new();
    let mut reader = FrameReader::from_reader(std::io::Cursor::new(bytes));
    r.run(&mut reader).unwrap();
    r
}

#[test]
fn synth_file_replays_to_exactly_the_models_books() {
    let cfg = ModelConfig {
        binary_dutch_fault_every_ms: 300,
        mispricing_every_ms: 300,
        ..ModelConfig::for_assets(160, 5)
    };
    let mut out = Vec::new();
    let (model, summary) = write_frames(cfg, 40_000, &mut out).unwrap();
    assert!(
        summary.tick_size_changes > 0
            && summary.binary_dutch_faults > 0
            && summary.mispricings_yes > 0
            && summary.mispricings_no > 0,
        "{summary:?}"
    );
    assert_eq!(
        out.iter().filter(|&&b| b == b'\n').count() as u64,
        summary.frames
    );
    // The initial dump is batched into JSON arrays.
    assert!(out.starts_with(b"[{\"event_type\":\"book\""));
    let r = replay(out);
    let c = r.counters();
    assert_eq!(
        (c.invalid, c.mismatch, c.crossed, c.orphan, c.ignored),
        (0, 0, 0, 0, 0),
        "{c:?}"
    );
    assert_eq!(c.tick_size_changes, summary.tick_size_changes);
    assert_eq!(c.deltas, summary.level_changes);
    let got = serde_json::to_value(&r.dump().books).unwrap();
    let want = serde_json::to_value(books_dump(model.books())).unwrap();
    assert_eq!(got.as_array().unwrap().len(), 160);
    assert!(got == want, "replayed books differ from the model's");
}

#[test]
fn same_arguments_same_bytes() {
    let run = |seed| {
        let mut out = Vec::new();
        write_frames(ModelConfig::for_assets(20, seed), 2_000, &mut out).unwrap();
        out
    };
    assert_eq!(run(4), run(4));
    assert_ne!(run(4), run(5));
}

#[test]
fn the_wrong_top_fault_sends_claims_the_books_contradict() {
    let replayed = |per_mille| {
        let cfg = ModelConfig {
            wrong_top_fault_per_mille: per_mille,
            ..ModelConfig::for_assets(40, 6)
        };
        let mut out = Vec::new();
        let (_, summary) = write_frames(cfg, 5_000, &mut out).unwrap();
        (summary, replay(out).counters())
    };
    let (_, clean) = replayed(0);
    assert_eq!((clean.mismatch, clean.invalid), (0, 0), "{clean:?}");
    let (summary, faulty) = replayed(20);
    assert_eq!(faulty.invalid, 0, "{faulty:?}");
    assert!(faulty.mismatch > 0, "{faulty:?}");
    // A fault changes claims only: every level change still arrives.
    assert_eq!(faulty.deltas, summary.level_changes);
}

#[test]
fn batched_frames_from_a_chosen_start_carry_the_same_events() {
    let cfg = ModelConfig::for_assets(40, 3);
    let mut plain = Vec::new();
    let (_, plain_sum) = write_frames(cfg.clone(), 3_000, &mut plain).unwrap();
    let opts = FrameOptions {
        start_ms: 1_700_000_000_000,
        batched_per_mille: 100,
    };
    let mut out = Vec::new();
    let (model, sum) = write_frames_with(cfg, opts, 3_000, &mut out).unwrap();
    assert!(sum.batched_frames > 100, "{sum:?}");
    // Batching only regroups the model's events.
    assert_eq!(sum.frames + sum.batched_frames, plain_sum.frames);
    assert_eq!(sum.level_changes, plain_sum.level_changes);
    let frames: Vec<Value> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(frames.len() as u64, sum.frames);
    // One dump frame (40 books), then the batched frames are arrays of exactly two events.
    let pairs = frames[1..]
        .iter()
        .filter_map(Value::as_array)
        .inspect(|a| assert_eq!(a.len(), 2))
        .count();
    assert_eq!(pairs as u64, sum.batched_frames);
    let stamp = |v: &Value| -> u64 { v["timestamp"].as_str().unwrap().parse().unwrap() };
    assert_eq!(stamp(&frames[0][0]), 1_700_000_000_000);
    assert!(frames.iter().all(|f| match f.as_array() {
        Some(a) => a.iter().all(|e| stamp(e) >= 1_700_000_000_000),
        None => stamp(f) > 1_700_000_000_000,
    }));
    let r = replay(out);
    let c = r.counters();
    assert_eq!((c.invalid, c.mismatch, c.crossed), (0, 0, 0), "{c:?}");
    assert_eq!(c.deltas, sum.level_changes);
    let got = serde_json::to_value(&r.dump().books).unwrap();
    let want = serde_json::to_value(books_dump(model.books())).unwrap();
    assert!(got == want, "replayed books differ from the model's");
}

/// Replays `frames`; returns the replayer and how many tick-size changes still left their book
/// waiting three frames later (when a book the venue sends at once has arrived).
fn books_left_waiting(frames: &[u8]) -> (Replayer, usize) {
    let mut r = Replayer::new();
    let mut due: Vec<(String, usize)> = Vec::new();
    let mut waiting = 0;
    for (i, line) in std::str::from_utf8(frames).unwrap().lines().enumerate() {
        r.frame(line.as_bytes(), 0);
        let v: Value = serde_json::from_str(line).unwrap();
        if v["event_type"] == "tick_size_change" {
            due.push((v["asset_id"].as_str().unwrap().to_string(), i + 3));
        }
        if due.iter().any(|(_, at)| *at == i) {
            let books = r.dump().books;
            for (asset, _) in due.iter().filter(|(_, at)| *at == i) {
                let book = books.iter().find(|b| &b.asset_id == asset).unwrap();
                if book.reason.as_deref() == Some("tick_size_change") {
                    waiting += 1;
                }
            }
            due.retain(|(_, at)| *at != i);
        }
    }
    (r, waiting)
}

#[test]
fn the_late_tick_book_fault_leaves_books_waiting_for_their_book() {
    let written = |per_mille| {
        let cfg = ModelConfig {
            late_tick_book_fault_per_mille: per_mille,
            ..ModelConfig::for_assets(40, 6)
        };
        let mut out = Vec::new();
        let (_, summary) = write_frames(cfg, 5_000, &mut out).unwrap();
        (summary, out)
    };
    // Without the fault every tick change is followed by its book at once: none waits.
    let (clean, out) = written(0);
    assert!(clean.tick_size_changes > 0, "{clean:?}");
    let (r, waiting) = books_left_waiting(&out);
    assert_eq!(waiting, 0);
    assert_eq!(r.counters().invalid, 0);
    let (summary, out) = written(10);
    assert!(
        summary.tick_size_changes > clean.tick_size_changes + 20,
        "{clean:?} {summary:?}"
    );
    let (r, waiting) = books_left_waiting(&out);
    assert!(waiting > 10, "{waiting} books waited for their book");
    let c = r.counters();
    assert_eq!((c.invalid, c.mismatch, c.crossed), (0, 0, 0), "{c:?}");
    assert_eq!(c.tick_size_changes, summary.tick_size_changes);
}
