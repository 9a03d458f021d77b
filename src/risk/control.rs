//! The operator's line into a running engine: a control file the engine watches, and the
//! answers it writes back beside it.
//!
//! `polyarb risk kill|reset` appends one request line, `<id> <command>`, to the control file
//! (`O_APPEND`: concurrent writers never interleave a line); the engine reads what was appended
//! since it last looked (requests written before it started are not replayed), acts, and
//! appends `<id> <answer>` to `<control file>.status`, which the command waits for. Commands:
//! `kill` (cancel every order at the venue, halt every strategy), `kill flatten` (and sell
//! every position held, within the flatten slippage bound), `reset` (clear every breaker).
//! SIGUSR1 is a `kill` with the configured flattening.

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What an operator asks of the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Cancel everything, halt every strategy; with `flatten`, sell every position too.
    Kill { flatten: bool },
    /// Clear every breaker (and the kill): new plans allowed again.
    Reset,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Kill { flatten: false } => "kill",
            Command::Kill { flatten: true } => "kill flatten",
            Command::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["kill"] => Some(Command::Kill { flatten: false }),
            ["kill", "flatten"] => Some(Command::Kill { flatten: true }),
            ["reset"] => Some(Command::Reset),
            _ => None,
        }
    }
}

/// One request read from the control file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    pub id: u64,
    pub command: Command,
}

/// Where the engine answers the requests of `control`.
pub fn status_path(control: &Path) -> PathBuf {
    let mut p = control.as_os_str().to_owned();
    p.push(".status");
    PathBuf::from(p)
}

fn append_line(path: &Path, line: &str) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    // One write per line: appends of one line never interleave.
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

/// Appends a request; returns its id: the wall clock in milliseconds, then the process and
/// a per-process count, so that two requests of one millisecond never share an id.
pub fn send(control: &Path, command: Command) -> io::Result<u64> {
    static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1_000;
    let id = crate::obs::clock::unix_ms()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(std::process::id() % 1_000) * 1_000 + n);
    append_line(control, &format!("{id} {}\n", command.as_str()))?;
    Ok(id)
}

/// The engine's answer to request `id`, waiting up to `timeout` for it.
pub fn wait_answer(control: &Path, id: u64, timeout: Duration) -> io::Result<Option<String>> {
    let status = status_path(control);
    let deadline = Instant::now() + timeout;
    let prefix = format!("{id} ");
    loop {
        match std::fs::read_to_string(&status) {
            Ok(text) => {
                if let Some(l) = text.lines().find(|l| l.starts_with(&prefix)) {
                    return Ok(Some(l[prefix.len()..].to_string()));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Appends the engine's answer to request `id`.
pub fn answer(control: &Path, id: u64, text: &str) -> io::Result<()> {
    let one_line = text.replace('\n', " ");
    append_line(&status_path(control), &format!("{id} {one_line}\n"))
}

/// The engine's side: requests appended since the last look.
pub struct Watcher {
    path: PathBuf,
    offset: u64,
}

impl Watcher {
    /// Watches `path`; what it holds already is history, not requests.
    pub fn new(path: &Path) -> Self {
        let offset = std::fs::metadata(path).map_or(0, |m| m.len());
        Self {
            path: path.to_path_buf(),
            offset,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whole lines appended since the last call; malformed lines are logged and skipped.
    pub fn poll(&mut self) -> Vec<Request> {
        let mut f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(_) => return Vec::new(),
        };
        let len = f.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            // Truncated or replaced: read it from the start.
            self.offset = 0;
        }
        if len == self.offset || f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut buf = String::new();
        if f.read_to_string(&mut buf).is_err() {
            return Vec::new();
        }
        // A line still being written waits for its newline.
        let Some(end) = buf.rfind('\n') else {
            return Vec::new();
        };
        self.offset += end as u64 + 1;
        buf[..end]
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| {
                let parsed = l.trim().split_once(' ').and_then(|(id, c)| {
                    Some(Request {
                        id: id.parse().ok()?,
                        command: Command::parse(c)?,
                    })
                });
                if parsed.is_none() {
                    tracing::warn!(line = l, file = %self.path.display(), "control file: not a request");
                }
                parsed
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_appended_after_the_watcher_started_are_read_once_and_answered() {
        let dir = std::env::temp_dir().join(format!("polyarb-control-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("engine.control");
        let old = send(&path, Command::Reset).unwrap();
        let mut w = Watcher::new(&path);
        assert!(
            w.poll().is_empty(),
            "a request from before the start is history"
        );
        let id = send(&path, Command::Kill { flatten: true }).unwrap();
        // A half-written line waits.
        append_line(&path, "garbage line\n12 reset\n13 re").unwrap();
        let got = w.poll();
        assert_eq!(
            got,
            vec![
                Request {
                    id,
                    command: Command::Kill { flatten: true }
                },
                Request {
                    id: 12,
                    command: Command::Reset
                }
            ]
        );
        append_line(&path, "set\n").unwrap();
        assert_eq!(
            w.poll(),
            vec![Request {
                id: 13,
                command: Command::Reset
            }]
        );
        assert!(w.poll().is_empty());
        answer(&path, id, "killed: 2 orders canceled").unwrap();
        assert_eq!(
            wait_answer(&path, id, Duration::from_millis(10)).unwrap(),
            Some("killed: 2 orders canceled".to_string())
        );
        assert_eq!(
            wait_answer(&path, old, Duration::from_millis(10)).unwrap(),
            None
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
