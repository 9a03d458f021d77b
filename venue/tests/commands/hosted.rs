//! `polyarb` hands its venue-backed commands to the `polyarb-venue` beside it: the same
//! arguments, output and exit code as running `polyarb-venue` directly, and a clear error that
//! names the cargo command when `polyarb-venue` is not there.

use std::path::Path;
use std::process::{Command, Output};

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn venue_commands_run_through_polyarb_as_in_polyarb_venue() {
    let polyarb = testkit::bins::polyarb();
    let venue_bin = Path::new(env!("CARGO_BIN_EXE_polyarb-venue"));

    // A venue for half a second, global flag before the command.
    let out = run(
        &polyarb,
        &["-v", "venue", "--duration", "0.5", "--config", "venue"],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("venue ws   ws://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("venue stopping after"), "{stdout}");

    // The same config check and output.
    for name in ["demo", "venue", "flood"] {
        let via = run(&polyarb, &["config", "show", name]);
        let direct = run(venue_bin, &["config", "show", name]);
        assert!(via.status.success(), "{}", text(&via.stderr));
        assert_eq!(
            text(&via.stdout),
            text(&direct.stdout),
            "config show {name}"
        );
    }

    // The exit code passes through: a usage error is clap's 2, not polyarb's own 1.
    let out = run(&polyarb, &["flood", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--no-such-flag"));

    // `--help` is the command's own.
    let out = run(&polyarb, &["synth", "frames", "--help"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("--events"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn without_polyarb_venue_beside_it_polyarb_says_what_to_build() {
    let dir = std::env::temp_dir().join(format!("polyarb-hosted-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lone = dir.join(format!("polyarb{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(testkit::bins::polyarb(), &lone).unwrap();

    let out = run(&lone, &["demo", "--duration", "1"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`polyarb demo` runs in polyarb-venue"),
        "{err}"
    );
    assert!(err.contains("cargo build --workspace"), "{err}");
    assert!(out.stdout.is_empty());

    // A config with a venue in it is polyarb-venue's to check; an engine-only one is not.
    let out = run(&lone, &["config", "show", "venue"]);
    assert!(text(&out.stderr).contains("`polyarb config show venue` runs in polyarb-venue"));
    let out = run(&lone, &["config", "show", "feed"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
