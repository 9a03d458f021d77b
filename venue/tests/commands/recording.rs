//! Recordings end to end: `polyarb demo --record DIR` against the venue double, then
//! `polyarb replay --recording DIR` rebuilds the same books and makes the same decisions; a cut
//! file is a clear error naming the file and the offset; and the venue double streams the
//! recording to a market-channel client (`source.kind = "replay"`) whose books end as the
//! replay's.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use testkit::{ScratchDir, bins, stdout_of_success};
use venue_testkit::wire::{Http, MarketClient, venue_with};

/// The number before `label` on the line starting with `prefix` ("decisions 12 recorded" → 12).
fn count(out: &str, prefix: &str, label: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in\n{out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == label)
        .unwrap_or_else(|| panic!("no {label:?} in {line}"));
    words[at - 1].parse().unwrap()
}

/// Runs `polyarb demo` for `secs` recording into `rec`; returns its stdout.
fn demo(dir: &Path, rec: &Path, secs: &str) -> String {
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml"))
            .unwrap();
    let every = shipped
        .lines()
        .find(|l| l.starts_with("mispricing_every_ms"))
        .expect("demo.toml sets mispricing_every_ms");
    let config = dir.join("demo.toml");
    // Mispriced often, so that a few seconds always hold opportunities to audit.
    std::fs::write(&config, shipped.replace(every, "mispricing_every_ms = 150")).unwrap();
    let out = Command::new(bins::polyarb_venue())
        .current_dir(dir)
        .args(["demo", "--duration", secs, "--config"])
        .arg(&config)
        .arg("--record")
        .arg(rec)
        .output()
        .expect("demo runs");
    stdout_of_success("polyarb demo --record", &out)
}

fn replay(args: &[&str], rec: &Path) -> std::process::Output {
    Command::new(bins::polyarb())
        .arg("replay")
        .args(args)
        .arg("--recording")
        .arg(rec)
        .output()
        .expect("replay runs")
}

#[test]
fn a_demo_recording_replays_to_the_same_books_and_decisions() {
    let dir = ScratchDir::new("rec-demo");
    let rec = dir.path().join("rec");
    let stdout = demo(dir.path(), &rec, "4");
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("recording "))
        .unwrap_or_else(|| panic!("no recording summary in\n{stdout}"));
    assert!(
        summary.contains("ring full: 0 frames, 0 decisions dropped"),
        "{summary}"
    );
    let frames = count(summary, "recording ", "frames");
    let decisions = count(summary, "recording ", "decisions");
    assert!(frames > 100 && decisions > 0, "{summary}");

    let out = replay(&["--check"], &rec);
    let audit = stdout_of_success("polyarb replay --recording --check", &out);
    assert_eq!(count(&audit, "frames ", "replayed"), frames, "{audit}");
    assert_eq!(
        count(&audit, "decisions ", "recorded"),
        decisions,
        "{audit}"
    );
    assert_eq!(count(&audit, "decisions ", "matched"), decisions, "{audit}");
    assert_eq!(count(&audit, "decisions ", "missing"), 0, "{audit}");
    assert_eq!(count(&audit, "decisions ", "extra"), 0, "{audit}");
    let books = count(&audit, "books ", "identical");
    assert!(books > 20, "{audit}");
    assert_eq!(count(&audit, "books ", "differ"), 0, "{audit}");
    assert!(
        audit.contains("result    the replay reproduces the recording"),
        "{audit}"
    );

    // The JSON audit says the same.
    let out = replay(&["--json"], &rec);
    let j: Value = serde_json::from_str(&stdout_of_success("replay --json", &out)).unwrap();
    assert_eq!(j["matched"].as_u64(), Some(decisions));
    assert_eq!(j["books"]["identical"].as_u64(), Some(books));
    assert!(j["first_divergence"].is_null());

    // A recording cut short: a clear error naming the file and the offset, never a panic.
    let files: Vec<_> = std::fs::read_dir(&rec)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let cut = dir.path().join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    let last = files.iter().max().unwrap();
    let bytes = std::fs::read(last).unwrap();
    let cut_file = cut.join(last.file_name().unwrap());
    std::fs::write(&cut_file, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = replay(&["--check"], &cut);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&cut_file.display().to_string()), "{stderr}");
    assert!(stderr.contains("at byte "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The venue double streams the same recording to a client, whose books end as the replay's.
    let out = replay(&["--dump-books"], &rec);
    let dump: Value =
        serde_json::from_str(&stdout_of_success("replay --dump-books", &out)).unwrap();
    let replayed: Vec<Value> = dump["books"].as_array().unwrap().clone();
    assert_eq!(replayed.len() as u64, books);
    let v = venue_with(2, 8, |c| {
        c.source.kind = polyarb_venue::SourceKind::Replay;
        c.source.replay_file = Some(rec.clone());
    });
    let http = Http::new(&v);
    // The venue learns the assets from the recording's first frames (the engine's initial
    // dumps), streams the rest to the subscribed client.
    let (first, _) = v.step(20);
    assert_eq!(first, 20);
    let assets = v.asset_ids();
    let mut c = MarketClient::connect(&v.ws_url());
    c.subscribe(&assets);
    c.sync();
    let (rest, _) = v.step(u64::MAX / 2);
    assert!(
        rest + 20 >= frames - 5,
        "{rest} of {frames} frames streamed"
    );
    c.sync();
    let counters = c.books.counters();
    assert_eq!(
        (counters.invalid, counters.mismatch, counters.crossed),
        (0, 0, 0)
    );
    assert_eq!(c.book_values(), http.venue_books(&assets));
    let client: Vec<Value> = c.book_values();
    for b in &client {
        let id = &b["asset_id"];
        let r = replayed
            .iter()
            .find(|r| &r["asset_id"] == id)
            .unwrap_or_else(|| panic!("the replay has no book {id}"));
        assert_eq!(
            (&b["bids"], &b["asks"]),
            (&r["bids"], &r["asks"]),
            "book {id}"
        );
    }
    assert_eq!(client.len(), replayed.len());
}
