//! The built binary runs from any directory: the shipped configs are built in, a config file's
//! relative paths resolve against its directory, output files go under the current directory
//! (or where a flag says) and the commands say where they wrote. Every command runs as a real
//! process in a fresh temporary directory, never in the repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh, empty directory outside the repository, removed at drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let d =
            std::env::temp_dir().join(format!("polyarb-anywhere-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `polyarb ARGS` run in `dir` (`polyarb-venue` runs the venue-backed commands; it must be
/// built and fresh).
fn polyarb(dir: &Path, args: &[&str]) -> Output {
    if matches!(
        args.first(),
        Some(&("demo" | "flood" | "synth" | "venue" | "config"))
    ) {
        testkit::bins::polyarb_venue();
    }
    Command::new(env!("CARGO_BIN_EXE_polyarb"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Stdout of a run that must have succeeded.
fn ok(out: Output) -> String {
    testkit::stdout_of_success("polyarb", &out)
}

/// Stderr of a run that must have failed.
fn failed(out: Output) -> String {
    assert!(
        !out.status.success(),
        "must fail:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config")
            .join(format!("{name}.toml")),
    )
    .unwrap()
}

#[test]
fn flood_runs_outside_the_repository_and_says_where_it_wrote() {
    let dir = Scratch::new("flood");
    let stdout = ok(polyarb(
        &dir.0,
        &[
            "flood",
            "--duration",
            "2",
            "--rate",
            "2000",
            "--assets",
            "20",
        ],
    ));
    assert!(stdout.contains("storage: out/flood.db"), "{stdout}");
    assert!(
        stdout.contains("histograms saved as .hgrm in out/flood"),
        "{stdout}"
    );
    assert!(dir.0.join("out/flood.db").is_file());
    let hgrm = std::fs::read_dir(dir.0.join("out/flood")).unwrap().count();
    assert!(hgrm > 0, "no .hgrm written");

    // Where the flags say, relative to the current directory.
    let stdout = ok(polyarb(
        &dir.0,
        &[
            "flood",
            "--duration",
            "1",
            "--rate",
            "2000",
            "--assets",
            "20",
            "--db",
            "runs/a.db",
            "--hgrm-dir",
            "runs/h",
        ],
    ));
    assert!(stdout.contains("storage: runs/a.db"), "{stdout}");
    assert!(stdout.contains("in runs/h"), "{stdout}");
    assert!(dir.0.join("runs/a.db").is_file());
    assert!(std::fs::read_dir(dir.0.join("runs/h")).unwrap().count() > 0);
}

#[test]
fn every_built_in_config_shows_as_the_toml_of_its_file() {
    let dir = Scratch::new("show");
    let list = ok(polyarb(&dir.0, &["config", "list"]));
    let names: Vec<&str> = list
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut files: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("config"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .path()
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
    files.sort();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, files, "config list names every shipped file");
    for name in names {
        let shown = ok(polyarb(&dir.0, &["config", "show", name]));
        assert!(shown.starts_with('#'), "{shown}");
        let shown: toml::Table = toml::from_str(&shown).unwrap_or_else(|e| panic!("{name}: {e}"));
        let file: toml::Table = toml::from_str(&shipped(name)).unwrap();
        assert_eq!(shown, file, "{name}");
    }
}

#[test]
fn relative_paths_in_a_config_file_resolve_against_its_directory() {
    let dir = Scratch::new("relative");
    std::fs::create_dir_all(dir.0.join("cfg")).unwrap();
    // The shipped demo names its database `out/demo.db`; its endpoint takes a free port
    // (tests run side by side).
    std::fs::write(
        dir.0.join("cfg/demo.toml"),
        shipped("demo") + "\n[obs]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();

    let shown = ok(polyarb(&dir.0, &["config", "show", "cfg/demo.toml"]));
    let shown: toml::Table = toml::from_str(&shown).unwrap();
    assert_eq!(shown["storage"]["path"].as_str(), Some("cfg/out/demo.db"));

    let stdout = ok(polyarb(
        &dir.0,
        &["demo", "--duration", "1", "--config", "cfg/demo.toml"],
    ));
    assert!(stdout.contains("storage  cfg/out/demo.db"), "{stdout}");
    assert!(dir.0.join("cfg/out/demo.db").is_file());
    assert!(!dir.0.join("out/demo.db").exists());
    // The histograms are output of the run, not of the file: the current directory's.
    assert!(
        stdout.contains("histograms saved as .hgrm in out/demo"),
        "{stdout}"
    );
    assert!(dir.0.join("out/demo").is_dir());

    // The built-in's paths are the current directory's.
    let stdout = ok(polyarb(&dir.0, &["demo", "--duration", "1"]));
    assert!(stdout.contains("storage  out/demo.db"), "{stdout}");
    assert!(dir.0.join("out/demo.db").is_file());
}

#[test]
fn the_venue_runs_anywhere_from_its_built_in_config() {
    let dir = Scratch::new("venue");
    let stdout = ok(polyarb(
        &dir.0,
        &["venue", "--config", "venue", "--duration", "0.3"],
    ));
    assert!(stdout.contains("venue ws   ws://127.0.0.1:"), "{stdout}");
}

#[test]
fn a_broken_config_names_the_file_the_key_and_what_was_expected() {
    let dir = Scratch::new("broken");
    let cases = [
        (
            "[feed]\nmax_assets_per_connection = 900\n",
            &["feed.max_assets_per_connection", "1 to 500", "900"][..],
        ),
        (
            "[strategy]\nmin_profit = 0.02\n",
            &["min_profit", "line 2", "expected a string"][..],
        ),
        ("[feed]\nmystery = 1\n", &["mystery", "line 2"][..]),
    ];
    for (text, says) in cases {
        std::fs::write(dir.0.join("broken.toml"), text).unwrap();
        for cmd in [
            &["flood", "--duration", "1", "--config", "broken.toml"][..],
            &["config", "show", "broken.toml"][..],
        ] {
            let err = failed(polyarb(&dir.0, cmd));
            assert!(err.contains("broken.toml"), "{cmd:?}: {err}");
            for s in says {
                assert!(err.contains(s), "{cmd:?} should say {s:?}: {err}");
            }
        }
    }
    let err = failed(polyarb(&dir.0, &["demo", "--config", "demoo"]));
    assert!(
        err.contains("demoo") && err.contains("demo-catalog"),
        "{err}"
    );
    let err = failed(polyarb(&dir.0, &["demo", "--config", "missing.toml"]));
    assert!(
        err.contains("cannot read config file missing.toml"),
        "{err}"
    );
}
