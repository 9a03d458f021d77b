//! Gamma's timestamps to UNIX seconds, without a date crate: Gamma uses a handful of ISO 8601
//! spellings (`2026-04-05T21:10:00Z`, `2025-07-11T18:36:02.893Z`, `2026-04-05 19:37:33+00`,
//! `2026-04-05`), and the catalog only needs them to compare end dates with "now".

/// UNIX seconds of an ISO 8601 date or date-time; `None` if it is not one. A missing zone is
/// UTC; fractional seconds are dropped (end dates are compared at second resolution).
pub fn parse_unix_s(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())
            .flatten()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(days * 86_400);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let rb = rest.as_bytes();
    if rb.len() < 5 || rb[2] != b':' {
        return None;
    }
    let two = |t: &str| -> Option<i64> {
        (t.len() == 2 && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let h = two(rest.get(0..2)?)?;
    let mi = two(rest.get(3..5)?)?;
    let mut i = 5;
    let mut sec = 0;
    if rb.get(5) == Some(&b':') {
        sec = two(rest.get(6..8)?)?;
        i = 8;
        if rb.get(8) == Some(&b'.') {
            i = 9;
            while rb.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let zone = &rest[i..];
    let offset = match zone {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let z = &zone[1..];
            let (zh, zm) = match z.len() {
                2 => (two(z)?, 0),
                4 => (two(&z[..2])?, two(&z[2..])?),
                5 if z.as_bytes()[2] == b':' => (two(&z[..2])?, two(&z[3..])?),
                _ => return None,
            };
            sign * (zh * 3600 + zm * 60)
        }
    };
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_spellings() {
        assert_eq!(parse_unix_s("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_unix_s("2026-04-05T21:10:00Z"), Some(1_775_423_400));
        assert_eq!(parse_unix_s("2026-04-05"), Some(1_775_347_200));
        assert_eq!(
            parse_unix_s("2025-07-11T18:36:02.893Z"),
            Some(1_752_258_962)
        );
        assert_eq!(parse_unix_s("2026-04-05 19:37:33+00"), Some(1_775_417_853));
        assert_eq!(
            parse_unix_s("2026-04-05T21:10:00+02:00"),
            Some(1_775_423_400 - 7200)
        );
        assert_eq!(parse_unix_s("2028-11-07T00:00:00Z"), Some(1_857_168_000));
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-04-05X",
            "2026-04-05T2",
            "yesterday",
            "2026-04-05T21:10:00+2",
        ] {
            assert_eq!(parse_unix_s(bad), None, "{bad}");
        }
    }
}
