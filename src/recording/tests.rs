//! The recorder and reader over real files: rotation and retention, the ring-full count and
//! its gap records, and clear errors (file and offset, never a panic) for damaged files.

use std::path::{Path, PathBuf};

use super::format::{self, RecordKind};
use super::reader::{RecordingError, RecordingReader, list_files};
use super::writer::{Recorder, SessionInfo};
use super::{RecordingConfig, audit};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyarb-rec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn cfg(dir: &Path) -> RecordingConfig {
    RecordingConfig {
        dir: dir.to_path_buf(),
        config_text: "[strategy]\nmin_profit = \"0.02\"\n".into(),
        ..RecordingConfig::default()
    }
}

fn empty_session() -> SessionInfo {
    SessionInfo {
        assets: Vec::new(),
        groups: Vec::new(),
        held: Vec::new(),
    }
}

fn frame(i: u64) -> String {
    format!(r#"{{"event_type":"last_trade_price","asset_id":"1","price":"0.5","n":{i}}}"#)
}

/// Every frame record of a recording: (time, conn, text).
fn frames_of(dir: &Path) -> Result<Vec<(u64, u16, String)>, RecordingError> {
    let mut r = RecordingReader::open(dir)?;
    let mut out = Vec::new();
    while let Some(rec) = r.next_record()? {
        if rec.kind == Some(RecordKind::Frame) {
            out.push((
                rec.time_ns,
                rec.conn,
                String::from_utf8(rec.payload.clone()).unwrap(),
            ));
        }
    }
    Ok(out)
}

/// Waits until the recorder has taken `n` frames off its ring (the tap never waits).
fn drained(r: &Recorder, n: u64) {
    let t0 = std::time::Instant::now();
    while r.stats().records.get() < n {
        assert!(t0.elapsed().as_secs() < 20, "the recorder did not drain");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn frames_come_back_in_order_across_rotated_files() {
    let dir = scratch("rotate");
    let mut c = cfg(&dir);
    c.rotate_bytes = 4_096;
    c.max_files = 0;
    let r = Recorder::start(&c, empty_session()).unwrap();
    let tap = r.tap();
    for i in 0..2_000u64 {
        tap.frame(frame(i).as_bytes(), 1_000 + i, (i % 3) as u16);
        if i % 100 == 99 {
            drained(&r, i + 1);
        }
    }
    let s = r.finish();
    assert_eq!((s.frames, s.dropped_frames, s.error), (2_000, 0, None));
    let files = list_files(&dir).unwrap();
    assert!(files.len() > 10, "{} files", files.len());
    assert_eq!(files.len() as u64, s.files);
    let got = frames_of(&dir).unwrap();
    assert_eq!(got.len(), 2_000);
    for (i, (t, conn, text)) in got.iter().enumerate() {
        assert_eq!(text, &frame(i as u64));
        assert_eq!(*conn, (i % 3) as u16);
        if i > 0 {
            assert_eq!(*t - got[i - 1].0, 1, "receive times keep their spacing");
        }
    }
    // Every file is self-describing: its own header, the same session, its own seq.
    let (session, _, first) = &files[0];
    let r = RecordingReader::open(first).unwrap();
    assert_eq!(r.header().session, *session);
    assert_eq!(r.header().seq, 1);
    assert_eq!(r.header().format_version, format::VERSION);
    assert_eq!(
        r.header().config_hash,
        format::config_hash(&cfg(&dir).config_text)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn max_files_keeps_the_newest_files() {
    let dir = scratch("prune");
    let mut c = cfg(&dir);
    c.rotate_bytes = 4_096;
    c.max_files = 3;
    let r = Recorder::start(&c, empty_session()).unwrap();
    let tap = r.tap();
    for i in 0..1_000u64 {
        tap.frame(frame(i).as_bytes(), i, 0);
        if i % 50 == 49 {
            drained(&r, i + 1);
        }
    }
    let s = r.finish();
    assert!(s.files > 3);
    let files = list_files(&dir).unwrap();
    assert_eq!(files.len(), 3);
    let seqs: Vec<u32> = files.iter().map(|f| f.1).collect();
    let last = s.files as u32;
    assert_eq!(seqs, vec![last - 2, last - 1, last]);
    // The newest files read on their own: the last frame is the last one recorded.
    let got = frames_of(&dir).unwrap();
    assert_eq!(got.last().unwrap().2, frame(999));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_ring_is_counted_and_leaves_a_gap_record_never_a_wait() {
    let dir = scratch("full");
    let mut c = cfg(&dir);
    c.ring_frames = 16;
    let r = Recorder::start(&c, empty_session()).unwrap();
    let tap = r.tap();
    let sent = 50_000u64;
    let t0 = std::time::Instant::now();
    for i in 0..sent {
        tap.frame(frame(i).as_bytes(), i, 0);
    }
    let took = t0.elapsed();
    let s = r.finish();
    assert!(s.dropped_frames > 0, "a 16-slot ring took {sent} frames");
    assert_eq!(s.frames + s.dropped_frames, sent);
    assert!(
        s.line()
            .contains(&format!("ring full: {} frames", s.dropped_frames))
    );
    // The recording holds exactly the frames handed over, and gaps that count the rest.
    let mut rd = RecordingReader::open(&dir).unwrap();
    let (mut frames, mut lost) = (0u64, 0u64);
    while let Some(rec) = rd.next_record().unwrap() {
        match rec.kind {
            Some(RecordKind::Frame) => frames += 1,
            Some(RecordKind::Gap) => {
                let v: serde_json::Value = serde_json::from_slice(&rec.payload).unwrap();
                lost += v["frames"].as_u64().unwrap();
            }
            _ => {}
        }
    }
    assert_eq!((frames, lost), (s.frames, s.dropped_frames));
    assert!(took.as_secs() < 5, "the tap waited: {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small finished recording of one file.
fn one_file(tag: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(tag);
    let r = Recorder::start(&cfg(&dir), empty_session()).unwrap();
    let tap = r.tap();
    for i in 0..3_000u64 {
        tap.frame(frame(i).as_bytes(), i, 0);
        if i % 100 == 99 {
            drained(&r, i + 1);
        }
    }
    r.finish();
    let file = list_files(&dir).unwrap().remove(0).2;
    (dir, file)
}

#[test]
fn a_truncated_file_is_an_error_naming_the_file_and_the_offset() {
    let (dir, file) = one_file("trunc");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let e = frames_of(&dir).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            RecordingError::Truncated { .. } | RecordingError::Corrupt { .. }
        ),
        "{msg}"
    );
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    assert!(msg.contains("at byte "), "{msg}");
    // The audit reports the same error.
    let e = audit::replay(&dir).unwrap_err().to_string();
    assert!(
        e.contains(&file.display().to_string()) && e.contains("at byte "),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupted_file_is_an_error_not_a_panic() {
    let (dir, file) = one_file("corrupt");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&file, &bytes).unwrap();
    let msg = frames_of(&dir).unwrap_err().to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    assert!(msg.contains("at byte "), "{msg}");

    // Not a recording at all: said so, with the file.
    std::fs::write(&file, b"not zstd at all").unwrap();
    let msg = frames_of(&dir).unwrap_err().to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    let other = dir.join(format::file_name(1, 1));
    let mut enc = zstd::Encoder::new(Vec::new(), 1).unwrap();
    std::io::Write::write_all(&mut enc, b"SOMETHING ELSE ENTIRELY").unwrap();
    std::fs::write(&other, enc.finish().unwrap()).unwrap();
    let e = RecordingReader::open(&other).err().unwrap();
    assert!(matches!(e, RecordingError::NotARecording { .. }), "{e}");

    // A directory without recording files.
    let empty = scratch("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = RecordingReader::open(&empty).err().unwrap();
    assert!(matches!(e, RecordingError::Empty(_)), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&empty);
}
