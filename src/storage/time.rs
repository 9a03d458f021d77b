//! Wall-clock time for stored rows: UNIX nanoseconds, ISO 8601 text for people, and the anchor
//! that turns the hot path's monotonic receive stamps into wall-clock ones.
//!
//! Stored `recv_ns` must mean the same thing across restarts, which a monotonic clock does not;
//! the hot path keeps its cheap monotonic stamps and the producer converts them with one
//! `WallClock` anchor taken at start-up.

use thiserror::Error;

pub const NS_PER_MS: u64 = 1_000_000;
pub const NS_PER_S: u64 = 1_000_000_000;
const NS_PER_DAY: u64 = 86_400 * NS_PER_S;

/// Now, as UNIX nanoseconds (0 if the system clock is before 1970): `obs::clock::unix_ns`.
pub fn unix_now_ns() -> u64 {
    crate::obs::clock::unix_ns()
}

/// Maps a monotonic clock (any origin, in ns) onto UNIX nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    offset_ns: i128,
}

impl WallClock {
    /// Anchors the monotonic reading `mono_now_ns` to the current wall-clock time.
    pub fn anchor(mono_now_ns: u64) -> Self {
        Self {
            offset_ns: i128::from(unix_now_ns()) - i128::from(mono_now_ns),
        }
    }

    /// The wall-clock time of a monotonic reading (clamped into `u64`).
    #[inline]
    pub fn wall_ns(&self, mono_ns: u64) -> u64 {
        (i128::from(mono_ns) + self.offset_ns).clamp(0, i128::from(u64::MAX)) as u64
    }
}

/// Why a time given on the command line was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TimeError {
    #[error("time {0:?}: expected UNIX milliseconds, `now`, or UTC like 2026-11-25T12:00:00.250Z")]
    Unrecognised(String),
    #[error("time {0:?} is out of range")]
    OutOfRange(String),
}

/// Parses a point in time: `now`, UNIX milliseconds (`1764072000250`), or ISO 8601 UTC
/// (`2026-11-25T12:00:00Z`, `2026-11-25T12:00:00.250Z`, `2026-11-25 12:00:00`).
pub fn parse_time_ns(s: &str) -> Result<u64, TimeError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(unix_now_ns());
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let ms: u64 = t.parse().map_err(|_| TimeError::OutOfRange(s.into()))?;
        return ms
            .checked_mul(NS_PER_MS)
            .ok_or_else(|| TimeError::OutOfRange(s.into()));
    }
    parse_iso(t).ok_or_else(|| TimeError::Unrecognised(s.into()))
}

fn parse_iso(t: &str) -> Option<u64> {
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    let b = t.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = t.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut frac_ns = 0u64;
    if b.len() > 19 {
        if b[19] != b'.' || b.len() == 20 || b.len() > 29 {
            return None;
        }
        let digits = &t[20..];
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        frac_ns = digits.parse::<u64>().ok()? * 10u64.pow(9 - digits.len() as u32);
    }
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    if days < 0 {
        return None;
    }
    let secs = days as u64 * 86_400 + h * 3600 + mi * 60 + se;
    secs.checked_mul(NS_PER_S)?.checked_add(frac_ns)
}

/// UTC text with milliseconds: `2026-11-25T12:00:00.250Z`.
pub fn format_ns(ns: u64) -> String {
    let days = ns / NS_PER_DAY;
    let rem = ns % NS_PER_DAY;
    let (y, m, d) = civil_from_days(days as i64);
    let secs = rem / NS_PER_S;
    let ms = (rem % NS_PER_S) / NS_PER_MS;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_utc() {
        let ns = parse_time_ns("2026-11-25T12:00:00.250Z").unwrap();
        assert_eq!(ns, 1_795_608_000_250 * NS_PER_MS);
        assert_eq!(format_ns(ns), "2026-11-25T12:00:00.250Z");
        assert_eq!(parse_time_ns("1795608000250").unwrap(), ns);
        assert_eq!(
            parse_time_ns("2026-11-25 12:00:00").unwrap(),
            1_795_608_000 * NS_PER_S
        );
        assert_eq!(parse_time_ns("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(format_ns(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse_time_ns("2024-02-29T23:59:59.000000001Z").unwrap() % NS_PER_S,
            1
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-25T12:00",
            "-5",
            "2026-11-25T12:00:00.Z",
        ] {
            assert!(parse_time_ns(bad).is_err(), "{bad:?}");
        }
        assert!(parse_time_ns("99999999999999999999").is_err());
        assert!(parse_time_ns("now").unwrap() > ns - 365 * NS_PER_DAY);
    }

    #[test]
    fn wall_clock_maps_monotonic_readings() {
        let w = WallClock::anchor(1_000);
        let now = unix_now_ns();
        let got = w.wall_ns(1_000 + NS_PER_S);
        assert!(
            got >= now + NS_PER_S - NS_PER_S / 2 && got <= now + 2 * NS_PER_S,
            "{got} vs {now}"
        );
    }
}
