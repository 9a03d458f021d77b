//! `synth frames` output replayed through the project's replayer ends with exactly the model's
//! books, with nothing invalid, mismatched or crossed; with the wrong-top fault on, the
//! replayer flags the claims its books contradict.

use polyarb::replay::{FrameReader, Replayer};
use polyarb_venue::ModelConfig;
use polyarb_venue::control::books_dump;
use polyarb_venue::synth::write_frames;

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
