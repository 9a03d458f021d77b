//! The process's clocks: the monotonic nanosecond clock that every receive time and latency
//! uses, and the wall-clock Unix milliseconds that the venue's timestamps, order timestamps and
//! API-key headers are written in.
//!
//! `Instant` reads the vDSO clock (no syscall); nanoseconds since a process-wide epoch fit a
//! `u64` for 580 years and are cheap to carry in hot-path messages.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Monotonic nanoseconds since the first call in this process.
#[inline]
pub fn now_ns() -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    Instant::now().duration_since(epoch).as_nanos() as u64
}

/// Wall-clock nanoseconds since the Unix epoch, 0 if the system clock is before 1970: the one
/// reading of the system clock (stored rows keep this unit).
pub fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Wall-clock milliseconds since the Unix epoch, 0 if the system clock is before 1970: the
/// unit of venue event timestamps and of the V2 order `timestamp`.
pub fn unix_ms() -> u64 {
    unix_ns() / 1_000_000
}

/// On-CPU time of the calling thread in nanoseconds (the scheduler's run time from
/// `/proc/thread-self/schedstat`), or `None` where that file does not exist. Unlike wall time
/// it does not grow while the thread waits for a core, so figures taken on a busy machine
/// still describe the code. A file read: for benchmarks, never on the hot path.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Bytes the calling thread has handed to `write(2)` and friends (`wchar` in
/// `/proc/thread-self/io`), or `None` where that file does not exist. For a storage thread this
/// is what it wrote to SQLite's files, page for page: the figure that write amplification shows
/// in. A file read, like [`thread_cpu_ns`].
pub fn thread_write_bytes() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/thread-self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
}
