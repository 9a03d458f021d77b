//! `polyarb synth frames` and `polyarb replay --bench --json` as a user runs them: the report
//! is one JSON object with the documented keys, the timed run covered every change of the file,
//! and it names the flags the binary was built with.

use std::process::Command;

/// `polyarb ARGS`; `synth` runs in `polyarb-venue`, which must be built and fresh.
fn polyarb(args: &[&str]) -> String {
    if args.first() == Some(&"synth") {
        testkit::bins::polyarb_venue();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_polyarb"))
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "polyarb {args:?}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bench_report_covers_the_file_and_names_the_build_flags() {
    let dir = std::env::temp_dir().join(format!("polyarb-cli-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let frames = dir.join("bench.frames");
    let frames = frames.to_str().unwrap();
    polyarb(&[
        "synth", "frames", "--assets", "40", "--events", "5000", "--seed", "7", "--out", frames,
    ]);

    let report: serde_json::Value =
        serde_json::from_str(polyarb(&["replay", "--frames", frames, "--bench", "--json"]).trim())
            .expect("one JSON object");
    for key in [
        "events_per_s",
        "changes_per_s",
        "ns_per_change",
        "json_floor_ns_per_change",
    ] {
        let v = report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {report}"));
        assert!(v > 0.0, "{key} = {v} in {report}");
    }
    // The rate and the time per change describe the same run.
    let rate = report["changes_per_s"].as_f64().unwrap();
    let ns = report["ns_per_change"].as_f64().unwrap();
    assert!((rate * ns / 1e9 - 1.0).abs() < 0.01, "{report}");
    assert_eq!(
        report["rustflags"].as_str(),
        Some(env!("POLYARB_RUSTFLAGS")),
        "{report}"
    );

    // The text report counts every level change the dump's counters saw.
    let text = polyarb(&["replay", "--frames", frames, "--bench"]);
    let dump: serde_json::Value =
        serde_json::from_str(polyarb(&["replay", "--frames", frames, "--dump-books"]).trim())
            .unwrap();
    let c = &dump["counters"];
    let events = c["events"].as_u64().unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("events "))
        .unwrap_or_else(|| panic!("no events line:\n{text}"));
    assert_eq!(
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap(),
        events,
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("build flags") && l.ends_with(env!("POLYARB_RUSTFLAGS"))),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
