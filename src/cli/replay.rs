//! `polyarb replay`: frames file → parser → books; dump the books, time the run, or print the
//! opportunity contract's lines (`--opportunities`, see `strategy::contract`). With
//! `--recording`, a recording of the engine → books and strategy → an audit of its decisions
//! (`recording::audit`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use polyarb::obs::build_info;
use polyarb::replay::{FrameArena, FrameReader, Replayer};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Frames file: one raw market-channel frame per line (`.zst` decompressed, `-` = stdin).
    #[arg(long, required_unless_present = "recording")]
    pub frames: Option<PathBuf>,
    /// A recording directory (or one of its files): rebuild the books, re-run the strategy
    /// with the recorded config and audit its decisions against the recorded ones.
    #[arg(long, conflicts_with_all = ["frames", "bench", "opportunities"])]
    pub recording: Option<PathBuf>,
    /// With --recording: exit with status 1 when the replay diverges from the recording.
    #[arg(long, requires = "recording")]
    pub check: bool,
    /// Print every book and the counters as one JSON document.
    #[arg(long, conflicts_with = "bench")]
    pub dump_books: bool,
    /// Time parse+apply over the whole file (loaded into memory first).
    #[arg(long)]
    pub bench: bool,
    /// With --bench: print the figures as one JSON object; with --recording: the audit.
    #[arg(long)]
    pub json: bool,
    /// Print a JSON line each time a group's complete-set opportunity appears, changes or
    /// disappears (the opportunity contract; needs --groups).
    #[arg(long, requires = "groups", conflicts_with_all = ["bench", "dump_books"])]
    pub opportunities: bool,
    /// Groups file for --opportunities: a JSON array of neg-risk groups.
    #[arg(long, requires = "opportunities")]
    pub groups: Option<PathBuf>,
}

pub fn run(a: ReplayArgs) -> anyhow::Result<()> {
    if let Some(dir) = &a.recording {
        return recording(&a, dir);
    }
    if a.json && !a.bench {
        anyhow::bail!("--json needs --bench or --recording");
    }
    let frames = a
        .frames
        .clone()
        .context("--frames or --recording is required")?;
    if a.opportunities {
        return opportunities(&a, &frames);
    }
    let mut reader = FrameReader::open(&frames)
        .with_context(|| format!("cannot open frames file {}", frames.display()))?;
    let mut r = Replayer::new();
    if a.bench {
        return bench(&a, &frames, &mut reader, &mut r);
    }
    r.run(&mut reader)
        .with_context(|| format!("reading {}", frames.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if a.dump_books {
        serde_json::to_writer(&mut out, &r.dump())?;
        writeln!(out)?;
    } else {
        let c = r.counters();
        writeln!(
            out,
            "replayed {}: {} assets with books",
            frames.display(),
            r.books.iter().count()
        )?;
        writeln!(out, "{}", serde_json::to_string_pretty(&c)?)?;
    }
    Ok(())
}

/// `--recording`: the audit, as text or JSON (`--dump-books`: the replayed books instead).
fn recording(a: &ReplayArgs, dir: &std::path::Path) -> anyhow::Result<()> {
    let report = polyarb::recording::audit::replay(dir)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if a.dump_books {
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({"books": report.replayed_books}),
        )?;
        writeln!(out)?;
    } else if a.json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report.render())?;
    }
    out.flush()?;
    if a.check && !report.reproduced() {
        drop(out);
        eprintln!("error: the replay diverges from the recording (see the audit above)");
        std::process::exit(1);
    }
    Ok(())
}

/// `--opportunities`: every line of the frames file is a frame, blank ones included.
fn opportunities(a: &ReplayArgs, frames: &std::path::Path) -> anyhow::Result<()> {
    use polyarb::strategy::contract::{OpportunityReplay, parse_groups};
    use std::io::BufRead;
    let path = a.groups.as_ref().context("--groups is required")?;
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read groups file {}", path.display()))?;
    let groups = parse_groups(&bytes).with_context(|| format!("groups file {}", path.display()))?;
    let input: Box<dyn BufRead> = if frames.as_os_str() == "-" {
        Box::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin()))
    } else {
        let f = std::fs::File::open(frames)
            .with_context(|| format!("cannot open frames file {}", frames.display()))?;
        if frames.extension().is_some_and(|e| e == "zst") {
            Box::new(std::io::BufReader::with_capacity(
                1 << 20,
                zstd::Decoder::new(f)?,
            ))
        } else {
            Box::new(std::io::BufReader::with_capacity(1 << 20, f))
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    OpportunityReplay::new(groups)
        .run(input, &mut out)
        .with_context(|| format!("reading {}", frames.display()))?;
    out.flush()?;
    Ok(())
}

/// Wall and on-CPU seconds of `f` on this thread (on-CPU is `None` off Linux).
fn timed(f: impl FnOnce()) -> (f64, Option<f64>) {
    let cpu0 = polyarb::obs::clock::thread_cpu_ns();
    let t0 = Instant::now();
    f();
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    let cpu = match (cpu0, polyarb::obs::clock::thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => Some((b - a) as f64 / 1e9),
        _ => None,
    };
    (secs, cpu)
}

fn bench(
    a: &ReplayArgs,
    frames: &std::path::Path,
    reader: &mut FrameReader,
    r: &mut Replayer,
) -> anyhow::Result<()> {
    let mut arena =
        FrameArena::load(reader).with_context(|| format!("reading {}", frames.display()))?;
    // The floor pass runs on a copy: simd-json unescapes strings in place.
    let mut floor_arena = arena.clone();
    let (floor_secs, floor_cpu) = timed(|| {
        floor_arena.json_floor();
    });
    drop(floor_arena);
    let (secs, cpu_secs) = timed(|| arena.replay_into(r));
    let c = r.counters();
    let changes = r.level_writes;
    let events_per_s = c.events as f64 / secs;
    let changes_per_s = changes as f64 / secs;
    let ns_per_change = if changes == 0 {
        0.0
    } else {
        secs * 1e9 / changes as f64
    };
    let cpu_ns_per_change = cpu_secs
        .filter(|_| changes > 0)
        .map(|c| c * 1e9 / changes as f64);
    let per_change = |s: f64| {
        if changes == 0 {
            0.0
        } else {
            s * 1e9 / changes as f64
        }
    };
    let floor_ns = per_change(floor_cpu.unwrap_or(floor_secs));
    let round1 = |v: f64| (v * 10.0).round() / 10.0;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "events_per_s": events_per_s.round(),
                "changes_per_s": changes_per_s.round(),
                "ns_per_change": (ns_per_change * 10.0).round() / 10.0,
                "cpu_ns_per_change": cpu_ns_per_change.map(round1),
                "json_floor_ns_per_change": round1(floor_ns),
                "rustflags": build_info::RUSTFLAGS,
            })
        );
        if let Some(w) = build_info::speed_warning() {
            eprintln!("warning: {w}");
        }
    } else {
        println!(
            "frames            {:>12}  ({} MB)",
            arena.len(),
            arena.total_bytes() / 1_000_000
        );
        println!("events            {:>12}", c.events);
        println!(
            "level changes     {:>12}  (snapshot levels + deltas)",
            changes
        );
        println!("invalid/ignored   {:>12} / {}", c.invalid, c.ignored);
        println!(
            "elapsed           {:>12.3} s  (parse + apply, one thread)",
            secs
        );
        println!("events/s          {:>12.0}", events_per_s);
        println!("changes/s         {:>12.0}", changes_per_s);
        println!(
            "ns per change     {:>12.1}  (target ≤ 250; wall clock)",
            ns_per_change
        );
        if let Some(c) = cpu_ns_per_change {
            println!(
                "on-CPU ns/change  {:>12.1}  (this thread's scheduler run time: robust to a busy machine)",
                c
            );
        }
        println!(
            "JSON floor        {:>12.1}  (simd-json tape alone over the same frames, ns/change{})",
            floor_ns,
            if floor_cpu.is_some() { ", on-CPU" } else { "" }
        );
        println!("build flags       {}", build_info::RUSTFLAGS);
        if let Some(w) = build_info::speed_warning() {
            println!("warning: {w}");
        }
        if changes < 1_000_000 {
            println!("note: fewer than 1M changes; use a larger file for a stable figure");
        }
    }
    Ok(())
}
