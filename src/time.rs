//! Timestamps: parsing event times from log fields, parsing the times users
//! give on the command line, and printing RFC 3339.
//!
//! Event times are `i64` nanoseconds since the Unix epoch (UTC). The parsers
//! here are hand-written because they run once per record when a query needs
//! event time; they allocate nothing.

use chrono::{DateTime, SecondsFormat, Utc};

pub const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses RFC 3339 / ISO 8601 date-times: `2026-05-06T10:30:45Z`,
/// `2026-05-06 10:30:45.123456+09:00`, `…+0900`, and a missing zone (read as
/// UTC, as structlog's default `iso` timestamps are).
pub fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    let y = digits(s, 0, 4)? as i64;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return None;
    }
    let mo = digits(s, 5, 2)?;
    let d = digits(s, 8, 2)?;
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let h = digits(s, 11, 2)?;
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return None;
    }
    let mi = digits(s, 14, 2)?;
    let sec = digits(s, 17, 2)?;
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
        return None;
    }
    // Leap seconds are folded into the next second, as Go does.
    if sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac: i64 = 0;
    if s.get(i) == Some(&b'.') || s.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        let mut scale = NANOS_PER_SEC;
        while let Some(c) = s.get(i).filter(|c| c.is_ascii_digit()) {
            if scale > 1 {
                scale /= 10;
                frac += (c - b'0') as i64 * scale;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs: i64 = match s.get(i) {
        None => 0,
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(s, i + 1, 2)? as i64;
            let (om, len) = if s.get(i + 3) == Some(&b':') {
                (digits(s, i + 4, 2)? as i64, 6)
            } else if let Some(om) = digits(s, i + 3, 2) {
                (om as i64, 5)
            } else {
                (0, 3)
            };
            i += len;
            let off = oh * 3600 + om * 60;
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        Some(_) => return None,
    };
    if i != s.len() {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86400 + (h as i64) * 3600 + (mi as i64) * 60 + sec as i64 - offset_secs;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)
}

/// Parses an epoch number; its magnitude tells the unit (seconds,
/// milliseconds, microseconds or nanoseconds). Fractions are kept.
pub fn parse_epoch(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    if !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()) {
        // Integers exactly (f64 would round nanoseconds).
        let v: i64 = text.parse().ok()?;
        return Some(if v < 100_000_000_000 {
            v.checked_mul(NANOS_PER_SEC)?
        } else if v < 100_000_000_000_000 {
            v * 1_000_000
        } else if v < 100_000_000_000_000_000 {
            v * 1_000
        } else {
            v
        });
    }
    let v: f64 = text.parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let nanos = if v < 1e11 {
        v * 1e9
    } else if v < 1e14 {
        v * 1e6
    } else if v < 1e17 {
        v * 1e3
    } else {
        v
    };
    if nanos > i64::MAX as f64 {
        return None;
    }
    Some(nanos as i64)
}

/// An event time from a field value: RFC 3339 text or an epoch number.
pub fn parse_event_time(s: &[u8]) -> Option<i64> {
    match s.first() {
        Some(b'0'..=b'9') if s.len() >= 10 && s.get(4) == Some(&b'-') => parse_rfc3339(s),
        Some(b'0'..=b'9') => parse_epoch(s),
        _ => None,
    }
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses the common log format time, `06/May/2026:10:30:45 +0900`.
pub fn parse_clf(s: &[u8]) -> Option<i64> {
    let d = digits(s, 0, 2)?;
    let mon = s.get(3..6)?;
    let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u32 + 1;
    if s.get(2) != Some(&b'/') || s.get(6) != Some(&b'/') || s.get(11) != Some(&b':') {
        return None;
    }
    let y = digits(s, 7, 4)? as i64;
    let h = digits(s, 12, 2)?;
    let mi = digits(s, 15, 2)?;
    let sec = digits(s, 18, 2)?;
    if s.get(20) != Some(&b' ') {
        return None;
    }
    let sign = *s.get(21)?;
    let oh = digits(s, 22, 2)? as i64;
    let om = digits(s, 24, 2)? as i64;
    if s.len() != 26 || !matches!(sign, b'+' | b'-') || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    let off = (oh * 3600 + om * 60) * if sign == b'-' { -1 } else { 1 };
    let secs =
        days_from_civil(y, mo, d) * 86400 + (h as i64) * 3600 + (mi as i64) * 60 + sec as i64 - off;
    secs.checked_mul(NANOS_PER_SEC)
}

/// Formats nanoseconds as RFC 3339 in UTC with Go's `RFC3339Nano` precision
/// rule (trailing zeros of the fraction dropped), as logcli prints.
pub fn format_rfc3339_nano(ns: i64) -> String {
    match DateTime::<Utc>::from_timestamp(
        ns.div_euclid(NANOS_PER_SEC),
        ns.rem_euclid(NANOS_PER_SEC) as u32,
    ) {
        Some(t) => {
            let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
            trim_fraction(s)
        }
        None => ns.to_string(),
    }
}

fn trim_fraction(s: String) -> String {
    // "2026-05-06T10:00:00.120000000Z" → "2026-05-06T10:00:00.12Z"
    let Some(dot) = s.find('.') else { return s };
    let z = s.len() - 1;
    let frac = s[dot + 1..z].trim_end_matches('0');
    if frac.is_empty() {
        format!("{}Z", &s[..dot])
    } else {
        format!("{}.{}Z", &s[..dot], frac)
    }
}

/// Parses a duration as Prometheus and Go write it: `90s`, `1h30m`, `500ms`,
/// `1.5h`, `2d`, `1w`. Returns nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let mut i = 0;
    let mut total: f64 = 0.0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let num: f64 = s[start..i].parse().ok()?;
        let ustart = i;
        while i < b.len() && !(b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let unit = match &s[ustart..i] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            "w" => 7.0 * 86400e9,
            "y" => 365.0 * 86400e9,
            _ => return None,
        };
        total += num * unit;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    Some(total as i64)
}

/// A time given on the command line: RFC 3339 (`2026-05-06T10:00:00Z`), a
/// date (`2026-05-06`), epoch seconds, or a duration before `now` (`6h`).
pub fn parse_cli_time(s: &str, now_ns: i64) -> Result<i64, String> {
    let t = s.trim();
    if let Some(ns) = parse_rfc3339(t.as_bytes()) {
        return Ok(ns);
    }
    if t.len() == 10 {
        let full = format!("{t}T00:00:00Z");
        if let Some(ns) = parse_rfc3339(full.as_bytes()) {
            return Ok(ns);
        }
    }
    if let Some(d) = parse_duration(t.trim_start_matches('-')) {
        return Ok(now_ns - d);
    }
    if t.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        if let Some(ns) = parse_epoch(t.as_bytes()) {
            return Ok(ns);
        }
    }
    Err(format!(
        "invalid time {s:?}: expected RFC 3339 (2026-05-06T10:00:00Z), a date, epoch seconds or a duration ago (6h, 30m)"
    ))
}

pub fn now_ns() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_nanos() as i64
}

/// Digits after the decimal point of an RFC 3339 time (`…45.123456Z` → 6),
/// so reports can print times with the data's own precision.
pub fn fraction_digits(s: &[u8]) -> u8 {
    match s.iter().position(|&c| c == b'.' || c == b',') {
        Some(dot) if dot >= 19 => s[dot + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
            .min(9) as u8,
        _ => 0,
    }
}

/// Formats nanoseconds as RFC 3339 in UTC with exactly `digits` fraction
/// digits (0 to 9).
pub fn format_rfc3339_digits(ns: i64, digits: u8) -> String {
    let secs = ns.div_euclid(NANOS_PER_SEC);
    let frac = ns.rem_euclid(NANOS_PER_SEC);
    let Some(t) = DateTime::<Utc>::from_timestamp(secs, frac as u32) else {
        return ns.to_string();
    };
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let digits = digits.min(9) as usize;
    if digits == 0 {
        format!("{base}Z")
    } else {
        let f = format!("{frac:09}");
        format!("{base}.{}Z", &f[..digits])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_ns(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    #[test]
    fn rfc3339_agrees_with_chrono() {
        for s in [
            "2026-05-06T10:30:45Z",
            "2026-05-06T10:30:45.123456Z",
            "2026-05-06T10:30:45.123456789+09:00",
            "1999-12-31T23:59:59-05:30",
            "2024-02-29T00:00:00Z",
            "1970-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(s.as_bytes()), Some(chrono_ns(s)), "{s}");
        }
        assert_eq!(
            parse_rfc3339(b"2026-05-06 10:30:45.5"),
            Some(chrono_ns("2026-05-06T10:30:45.5Z"))
        );
        assert_eq!(
            parse_rfc3339(b"2026-05-06T10:30:45+0900"),
            Some(chrono_ns("2026-05-06T10:30:45+09:00"))
        );
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for s in [
            "",
            "2026",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-05-06T10:30:45Zx",
            "2026-05-06T10:30:45.Z",
            "abcd-ef-ghT",
            "2026-05-06T24:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn epoch_magnitudes() {
        let s = 1_778_061_045i64;
        assert_eq!(parse_epoch(b"1778061045"), Some(s * NANOS_PER_SEC));
        assert_eq!(
            parse_epoch(b"1778061045123"),
            Some(s * NANOS_PER_SEC + 123_000_000)
        );
        assert_eq!(
            parse_epoch(b"1778061045123456"),
            Some(s * NANOS_PER_SEC + 123_456_000)
        );
        assert_eq!(
            parse_epoch(b"1778061045123456789"),
            Some(s * NANOS_PER_SEC + 123_456_789)
        );
    }

    #[test]
    fn clf_time() {
        assert_eq!(
            parse_clf(b"06/May/2026:10:30:45 +0900"),
            Some(chrono_ns("2026-05-06T10:30:45+09:00"))
        );
        assert_eq!(parse_clf(b"06/Foo/2026:10:30:45 +0900"), None);
    }

    #[test]
    fn format_trims_like_go() {
        let ns = chrono_ns("2026-05-06T10:30:45.120Z");
        assert_eq!(format_rfc3339_nano(ns), "2026-05-06T10:30:45.12Z");
        let ns = chrono_ns("2026-05-06T10:30:45Z");
        assert_eq!(format_rfc3339_nano(ns), "2026-05-06T10:30:45Z");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(300 * NANOS_PER_SEC));
        assert_eq!(parse_duration("1h30m"), Some(5400 * NANOS_PER_SEC));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("5"), None);
    }

    #[test]
    fn cli_times() {
        let now = chrono_ns("2026-05-06T12:00:00Z");
        assert_eq!(
            parse_cli_time("6h", now),
            Ok(chrono_ns("2026-05-06T06:00:00Z"))
        );
        assert_eq!(
            parse_cli_time("2026-05-06", now),
            Ok(chrono_ns("2026-05-06T00:00:00Z"))
        );
        assert!(parse_cli_time("yesterday", now).is_err());
    }
}

#[cfg(test)]
mod precision_tests {
    use super::*;

    #[test]
    fn digits_round_trip() {
        let s = b"2026-05-06T10:00:00.123456Z";
        assert_eq!(fraction_digits(s), 6);
        let ns = parse_rfc3339(s).unwrap();
        assert_eq!(format_rfc3339_digits(ns, 6), "2026-05-06T10:00:00.123456Z");
        assert_eq!(format_rfc3339_digits(ns, 0), "2026-05-06T10:00:00Z");
        assert_eq!(fraction_digits(b"2026-05-06T10:00:00Z"), 0);
    }
}
