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
/// `2026-05-06 10:30:45.123456+09:00`, `…+0900`, `…+09`, a comma before the
/// fraction (Python's `asctime`), a missing zone (read as UTC, as structlog's
/// default `iso` timestamps are), and a zone after a space, numeric or named
/// `UTC`/`GMT`/`UT` (`2026-05-06 10:30:45 UTC`, Go's
/// `2026-05-06 10:30:45.5 +0000 UTC`).
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
    let mut i = 19;
    let frac = fraction(s, &mut i)?;
    // A zone may follow a space (Python, Go and SQL print it so).
    if s.get(i) == Some(&b' ') && i + 1 < s.len() {
        i += 1;
    }
    let offset_secs = zone(s, &mut i)?;
    if i != s.len() {
        return None;
    }
    civil_to_ns(y, mo, d, h, mi, sec, frac, offset_secs)
}

/// An optional `.123` or `,123` fraction at `s[*i..]`, as nanoseconds.
fn fraction(s: &[u8], i: &mut usize) -> Option<i64> {
    let mut frac = 0;
    if s.get(*i) == Some(&b'.') || s.get(*i) == Some(&b',') {
        *i += 1;
        let start = *i;
        let mut scale = NANOS_PER_SEC;
        while let Some(c) = s.get(*i).filter(|c| c.is_ascii_digit()) {
            if scale > 1 {
                scale /= 10;
                frac += (c - b'0') as i64 * scale;
            }
            *i += 1;
        }
        if *i == start {
            return None;
        }
    }
    Some(frac)
}

/// A zone at `s[*i..]` as seconds east of UTC: none (UTC), `Z`, `+hh:mm`,
/// `+hhmm`, `+hh`, or a name for UTC (`UTC`, `GMT`, `UT`). A numeric offset
/// may be followed by the zone's abbreviation (` UTC`, ` JST`), which the
/// offset already says, so it is skipped.
fn zone(s: &[u8], i: &mut usize) -> Option<i64> {
    match s.get(*i) {
        None => Some(0),
        Some(b'Z' | b'z') if s.len() == *i + 1 => {
            *i += 1;
            Some(0)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(s, *i + 1, 2)? as i64;
            let (om, len) = if s.get(*i + 3) == Some(&b':') {
                (digits(s, *i + 4, 2)? as i64, 6)
            } else if let Some(om) = digits(s, *i + 3, 2) {
                (om as i64, 5)
            } else {
                (0, 3)
            };
            if oh > 23 || om > 59 {
                return None;
            }
            *i += len;
            if s.get(*i) == Some(&b' ') {
                let name = &s[*i + 1..];
                if (1..=5).contains(&name.len()) && name.iter().all(u8::is_ascii_alphabetic) {
                    *i = s.len();
                }
            }
            let off = oh * 3600 + om * 60;
            Some(if sign == b'-' { -off } else { off })
        }
        Some(_) => {
            let off = named_zone(&s[*i..])?;
            *i = s.len();
            Some(off)
        }
    }
}

/// The zone names RFC 2822 §4.3 keeps from RFC 822, as it defines them
/// (North American). Only RFC 2822 dates read `CST`/`CDT`/`PST` so.
const RFC2822_US_ZONES: [(&[u8], i64); 8] = [
    (b"EST", -18000),
    (b"EDT", -14400),
    (b"CST", -21600),
    (b"CDT", -18000),
    (b"MST", -25200),
    (b"MDT", -21600),
    (b"PST", -28800),
    (b"PDT", -25200),
];

/// Zone abbreviations the tz database prints for one offset only, in
/// seconds east of UTC. Names it prints for more than one are left out, so
/// a time carrying one does not read rather than reading hours off: `IST`
/// (India, Ireland, Israel), `CST` (US Central, China, Cuba), `CDT` (US,
/// Cuba), `PST` (US Pacific, Philippines), `AST`/`ADT` (Atlantic, Arabia).
const ZONE_ABBREVIATIONS: [(&[u8], i64); 43] = [
    (b"UTC", 0),
    (b"GMT", 0),
    (b"UT", 0),
    (b"Z", 0),
    (b"WET", 0),
    (b"WEST", 3600),
    (b"BST", 3600),
    (b"CET", 3600),
    (b"MET", 3600),
    (b"WAT", 3600),
    (b"CEST", 7200),
    (b"MEST", 7200),
    (b"EET", 7200),
    (b"CAT", 7200),
    (b"SAST", 7200),
    (b"EEST", 10800),
    (b"MSK", 10800),
    (b"EAT", 10800),
    (b"PKT", 18000),
    (b"WIB", 25200),
    (b"WITA", 28800),
    (b"AWST", 28800),
    (b"HKT", 28800),
    (b"WIT", 32400),
    (b"JST", 32400),
    (b"KST", 32400),
    (b"ACST", 34200),
    (b"AEST", 36000),
    (b"ACDT", 37800),
    (b"AEDT", 39600),
    (b"NZST", 43200),
    (b"NZDT", 46800),
    (b"HST", -36000),
    (b"AKST", -32400),
    (b"AKDT", -28800),
    (b"PDT", -25200),
    (b"MST", -25200),
    (b"MDT", -21600),
    (b"EST", -18000),
    (b"EDT", -14400),
    (b"NST", -12600),
    (b"NDT", -9000),
    (b"CHST", 36000),
];

/// A zone abbreviation's offset in seconds east of UTC (any case), from
/// [`ZONE_ABBREVIATIONS`], or the tz database's numeric abbreviations
/// (`+08`, `-0330`) for zones without a name.
pub fn named_zone(name: &[u8]) -> Option<i64> {
    if let Some(&sign @ (b'+' | b'-')) = name.first() {
        let (h, m) = match name.len() {
            3 => (digits(name, 1, 2)?, 0),
            5 => (digits(name, 1, 2)?, digits(name, 3, 2)?),
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        let off = h as i64 * 3600 + m as i64 * 60;
        return Some(if sign == b'-' { -off } else { off });
    }
    ZONE_ABBREVIATIONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, s)| *s)
}

/// Validates a civil date-time and turns it into nanoseconds since the
/// epoch.
#[allow(clippy::too_many_arguments)]
fn civil_to_ns(
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    sec: u32,
    frac: i64,
    offset_secs: i64,
) -> Option<i64> {
    // Leap seconds (60) are folded into the next second, as Go does.
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86400 + (h as i64) * 3600 + (mi as i64) * 60 + sec as i64 - offset_secs;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)
}

fn month(name: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .map(|i| i as u32 + 1)
}

/// Parses RFC 2822 (and RFC 822/1123) dates as mail and HTTP headers write
/// them: `Tue, 1 Jul 2003 10:52:37 +0200`, without the day name, without
/// seconds, with `GMT`/`UT`/`UTC` or a North American zone name, and
/// two-digit years (00–49 → 20xx, 50–99 → 19xx, as RFC 2822 §4.3 says).
pub fn parse_rfc2822(s: &[u8]) -> Option<i64> {
    let mut words = s
        .split(|&c| c == b' ' || c == b'\t')
        .filter(|w| !w.is_empty());
    let mut w = words.next()?;
    if w.last() == Some(&b',') {
        // The day name says nothing the date does not.
        if w.len() != 4 || !w[..3].iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        w = words.next()?;
    }
    if w.is_empty() || w.len() > 2 {
        return None;
    }
    let d = digits(w, 0, w.len())?;
    let mo = month(words.next()?)?;
    let yw = words.next()?;
    // Before reading it: a longer word would overflow `digits`.
    if !(2..=4).contains(&yw.len()) {
        return None;
    }
    let y = match (yw.len(), digits(yw, 0, yw.len())? as i64) {
        (4, y) => y,
        (2, y) if y < 50 => 2000 + y,
        (2, y) => 1900 + y,
        (3, y) => 1900 + y,
        _ => return None,
    };
    let t = words.next()?;
    let h = digits(t, 0, 2)?;
    if t.get(2) != Some(&b':') {
        return None;
    }
    let mi = digits(t, 3, 2)?;
    let sec = match t.len() {
        5 => 0,
        8 if t[5] == b':' => digits(t, 6, 2)?,
        _ => return None,
    };
    let offset = match words.next() {
        // RFC 2822 §4.3: a missing or unknown zone reads as UTC ("-0000").
        None => 0,
        Some(z) => {
            // RFC 2822 defines the obsolete US names itself (§4.3), so here
            // `CST` is US Central whatever else it may mean.
            match RFC2822_US_ZONES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(z))
            {
                Some((_, off)) => *off,
                None => {
                    let mut i = 0;
                    let off = zone(z, &mut i)?;
                    if i != z.len() {
                        return None;
                    }
                    off
                }
            }
        }
    };
    if words.next().is_some() {
        return None;
    }
    civil_to_ns(y, mo, d, h, mi, sec, 0, offset)
}

/// Parses the BSD syslog (RFC 3164) time, `Oct 11 22:14:15` or `Oct  1
/// 22:14:15`, optionally with a fraction (`22:14:15.123`, as some daemons
/// write). It has no year and no zone: the zone is read as UTC and the
/// year is the latest one that does not put the time in the future of
/// `now_ns` (allowing a day of clock skew), so a December line read in
/// January belongs to last year. Returns the time and the length parsed.
pub fn parse_bsd_syslog(s: &[u8], now_ns: i64) -> Option<(i64, usize)> {
    let mo = month(s.get(0..3)?)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let d = match (s.get(4)?, s.get(5)?) {
        (b' ', c) if c.is_ascii_digit() => (c - b'0') as u32,
        _ => digits(s, 4, 2)?,
    };
    if s.get(6) != Some(&b' ') || s.get(9) != Some(&b':') || s.get(12) != Some(&b':') {
        return None;
    }
    let h = digits(s, 7, 2)?;
    let mi = digits(s, 10, 2)?;
    let sec = digits(s, 13, 2)?;
    let mut i = 15;
    let frac = fraction(s, &mut i)?;
    let latest = now_ns.saturating_add(86400 * NANOS_PER_SEC);
    let this_year = chrono::DateTime::<Utc>::from_timestamp(now_ns.div_euclid(NANOS_PER_SEC), 0)
        .map_or(1970, |t| chrono::Datelike::year(&t) as i64);
    // Four years back reaches a leap year for 29 Feb.
    (0..5)
        .filter_map(|back| civil_to_ns(this_year - back, mo, d, h, mi, sec, frac, 0))
        .find(|&ns| ns <= latest)
        .map(|ns| (ns, i))
}

/// Parses an epoch number; its magnitude tells the unit (seconds,
/// milliseconds, microseconds or nanoseconds). Fractions are kept.
pub fn parse_epoch(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if !int.is_empty() && int.len() <= 19 && all_digits(int) && all_digits(frac) {
        // Decimal text exactly (f64 would round nanoseconds).
        let v: i64 = int.parse().ok()?;
        let unit = if v < 100_000_000_000 {
            NANOS_PER_SEC
        } else if v < 100_000_000_000_000 {
            1_000_000
        } else if v < 100_000_000_000_000_000 {
            1_000
        } else {
            1
        };
        let mut ns = v.checked_mul(unit)?;
        let mut scale = unit;
        for c in frac.bytes() {
            if scale == 1 {
                break;
            }
            scale /= 10;
            ns = ns.checked_add((c - b'0') as i64 * scale)?;
        }
        return Some(ns);
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

/// An event time from a field value: RFC 3339 / ISO 8601 text, an epoch
/// number (seconds, ms, µs or ns, as a number or a string), the common log
/// format's time, or an RFC 2822 date.
pub fn parse_event_time(s: &[u8]) -> Option<i64> {
    match s.first() {
        Some(b'0'..=b'9') if s.len() >= 10 && s.get(4) == Some(&b'-') => parse_rfc3339(s),
        Some(b'0'..=b'9') if s.get(2) == Some(&b'/') => parse_clf(s),
        Some(b'0'..=b'9') if s.get(1) == Some(&b' ') || s.get(2) == Some(&b' ') => parse_rfc2822(s),
        Some(b'0'..=b'9') => parse_epoch(s),
        Some(c) if c.is_ascii_alphabetic() => parse_rfc2822(s),
        _ => None,
    }
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses the common log format time, `06/May/2026:10:30:45 +0900`.
pub fn parse_clf(s: &[u8]) -> Option<i64> {
    let d = digits(s, 0, 2)?;
    let mo = month(s.get(3..6)?)?;
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
    // A bare number is epoch seconds, never a duration (a duration needs a
    // unit; LogQL's one exception, "0", stays the epoch).
    let ago = t.trim_start_matches('-');
    if !ago.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        if let Ok(d) = crate::units::parse_duration(ago) {
            return Ok(now_ns - d);
        }
    }
    if t.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        if let Some(ns) = parse_epoch(t.as_bytes()) {
            return Ok(ns);
        }
    }
    // A well-formed time whose year is out of reach: say the reach, not
    // "expected RFC 3339".
    if t.len() >= 10 && t.as_bytes()[..4].iter().all(u8::is_ascii_digit) && t.as_bytes()[4] == b'-'
    {
        let probe = format!("2000{}", &t[4..]);
        let full = format!("{probe}T00:00:00Z");
        if parse_rfc3339(probe.as_bytes()).is_some()
            || (probe.len() == 10 && parse_rfc3339(full.as_bytes()).is_some())
        {
            return Err(format!(
                "invalid time {s:?}: outside the times nagare can hold ({} to {}: nanoseconds since 1970 in 64 bits)",
                format_rfc3339_nano(i64::MIN),
                format_rfc3339_nano(i64::MAX)
            ));
        }
    }
    Err(format!(
        "invalid time {s:?}: expected RFC 3339 (2026-05-06T10:00:00Z), a date, epoch seconds or a duration ago (6h, 30m)"
    ))
}

/// The wall clock, in nanoseconds since 1970: the time a line was read,
/// and what relative times (`--since 1h`) count back from.
///
/// `NAGARE_NOW` (an RFC 3339 time) stops the clock at that instant, so a run
/// can be repeated as if at another time (the tests run old archives under
/// two clocks to show the answers do not depend on it). An unreadable value
/// is ignored with a warning.
pub fn now_ns() -> i64 {
    static FIXED: std::sync::OnceLock<Option<i64>> = std::sync::OnceLock::new();
    let fixed = FIXED.get_or_init(|| {
        let v = std::env::var("NAGARE_NOW").ok()?;
        let t = parse_rfc3339(v.trim().as_bytes());
        if t.is_none() {
            tracing::warn!(
                target: crate::diag::USER,
                "NAGARE_NOW={v:?} is not an RFC 3339 time; using the system clock"
            );
        }
        t
    });
    if let Some(t) = fixed {
        return *t;
    }
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

    /// A well-formed time out of reach says the reach.
    #[test]
    fn out_of_range_times_name_the_range() {
        for t in ["0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", "1500-01-01"] {
            let e = parse_cli_time(t, 0).unwrap_err();
            assert!(e.contains("outside the times nagare can hold (1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z"), "{e}");
        }
        assert!(parse_cli_time("2026-13-01T00:00:00Z", 0)
            .unwrap_err()
            .contains("expected RFC 3339"));
    }

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
    fn iso8601_variants() {
        let utc = chrono_ns("2026-05-06T10:30:45.123Z");
        for s in [
            "2026-05-06T10:30:45.123Z",
            "2026-05-06T10:30:45.123z",
            "2026-05-06 10:30:45.123",
            "2026-05-06 10:30:45,123",
            "2026-05-06T10:30:45,123+00:00",
            "2026-05-06T10:30:45.123+0000",
            "2026-05-06T10:30:45.123+00",
            "2026-05-06 10:30:45.123 UTC",
            "2026-05-06 10:30:45.123 GMT",
            "2026-05-06T10:30:45.123 +0000",
            "2026-05-06 10:30:45.123 +0000 UTC",
            "2026-05-06T19:30:45.123+09:00",
            "2026-05-06T19:30:45.123+0900",
            "2026-05-06 19:30:45.123 +0900 JST",
            "2026-05-06T05:30:45.123 EST",
            "2026-05-06 12:30:45.123 CEST",
            "2026-05-06 19:30:45.123 JST",
            "2026-05-06 20:30:45.123 AEST",
        ] {
            assert_eq!(parse_rfc3339(s.as_bytes()), Some(utc), "{s}");
            assert_eq!(parse_event_time(s.as_bytes()), Some(utc), "{s}");
        }
        for s in [
            "2026-05-06 10:30:45 XYZ",
            "2026-05-06 10:30:45 IST",
            // China and Cuba print CST too: not guessed outside RFC 2822.
            "2026-05-06 10:30:45 CST",
            "2026-05-06 10:30:45 PST",
            "2026-05-06 10:30:45 ",
            "2026-05-06T10:30:45+25:00",
            "2026-05-06T10:30:45 +0000 TOOLONGNAME",
        ] {
            assert_eq!(parse_rfc3339(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn rfc2822() {
        let t = chrono_ns("2003-07-01T10:52:37+02:00");
        for s in [
            "Tue, 1 Jul 2003 10:52:37 +0200",
            "Tue, 01 Jul 2003 10:52:37 +0200",
            "1 Jul 2003 10:52:37 +0200",
            "Tue, 1 Jul 03 10:52:37 +0200",
            "Tue, 1 Jul 2003 08:52:37 GMT",
            "Tue, 1 Jul 2003 08:52:37 UT",
            "Tue, 1 Jul 2003 08:52:37 UTC",
            "Tue, 1 Jul 2003 04:52:37 EDT",
            "Tue, 1 Jul 2003 03:52:37 CDT",
            "Tue, 1 Jul 2003 01:52:37 PDT",
            "Tue,  1 Jul 2003 08:52:37",
        ] {
            assert_eq!(parse_rfc2822(s.as_bytes()), Some(t), "{s}");
            assert_eq!(parse_event_time(s.as_bytes()), Some(t), "{s}");
        }
        assert_eq!(
            parse_rfc2822(b"Tue, 1 Jul 2003 10:52 +0200"),
            Some(t - 37 * NANOS_PER_SEC)
        );
        assert_eq!(
            parse_rfc2822(b"Fri, 21 Nov 97 09:55:06 -0600"),
            Some(chrono_ns("1997-11-21T09:55:06-06:00"))
        );
        for s in [
            "Tue, 1 Foo 2003 10:52:37 +0200",
            "Tue, 31 Jun 2003 10:52:37 +0200",
            "Tue, 1 Jul 2003 10:52:37 +0200 extra",
            "Tue, 1 Jul 2003 25:52:37 +0200",
            "Tue, 1 Jul 2003 10:52:37 IST",
            "Tuesday",
        ] {
            assert_eq!(parse_rfc2822(s.as_bytes()), None, "{s}");
        }
    }

    /// Found by fuzzing: a year word of 10 or more digits overflowed the
    /// digit reader (a panic in debug builds) before its length was checked.
    #[test]
    fn rfc2822_overlong_year_is_rejected_not_overflowed() {
        for s in [
            "Sat, 01 Jun 242120242120 :34T",
            "1 Jul 4294967296 10:52:37 +0200",
            "1 Jul 20030 10:52:37 +0200",
        ] {
            assert_eq!(parse_rfc2822(s.as_bytes()), None, "{s}");
            assert_eq!(parse_event_time(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn epochs_as_strings_and_fractions() {
        let s = 1_778_061_045i64 * NANOS_PER_SEC;
        assert_eq!(parse_event_time(b"1778061045"), Some(s));
        assert_eq!(parse_event_time(b"1778061045.5"), Some(s + 500_000_000));
        assert_eq!(parse_event_time(b"1778061045123"), Some(s + 123_000_000));
        assert_eq!(
            parse_event_time(b"1778061045123456789"),
            Some(s + 123_456_789)
        );
        assert_eq!(parse_epoch(b"1778061045123.5"), Some(s + 123_500_000));
        assert_eq!(parse_epoch(b"-5"), None);
        assert_eq!(parse_epoch(b"abc"), None);
    }

    #[test]
    fn event_time_reads_clf() {
        assert_eq!(
            parse_event_time(b"10/Oct/2000:13:55:36 -0700"),
            Some(chrono_ns("2000-10-10T13:55:36-07:00"))
        );
    }

    #[test]
    fn bsd_syslog_year_is_inferred_from_now() {
        let now = chrono_ns("2026-05-06T12:00:00Z");
        assert_eq!(
            parse_bsd_syslog(b"Oct 11 22:14:15 mymachine", now),
            Some((chrono_ns("2025-10-11T22:14:15Z"), 15))
        );
        assert_eq!(
            parse_bsd_syslog(b"May  6 11:59:00", now),
            Some((chrono_ns("2026-05-06T11:59:00Z"), 15))
        );
        // A little ahead of now (clock skew, a zone east of UTC): this year.
        assert_eq!(
            parse_bsd_syslog(b"May  6 20:00:00", now).map(|t| t.0),
            Some(chrono_ns("2026-05-06T20:00:00Z"))
        );
        // A December line read in January is from last year.
        let jan = chrono_ns("2027-01-02T00:10:00Z");
        assert_eq!(
            parse_bsd_syslog(b"Dec 31 23:59:59", jan).map(|t| t.0),
            Some(chrono_ns("2026-12-31T23:59:59Z"))
        );
        assert_eq!(
            parse_bsd_syslog(b"Jan  2 00:09:00", jan).map(|t| t.0),
            Some(chrono_ns("2027-01-02T00:09:00Z"))
        );
        // 29 February belongs to the last leap year.
        assert_eq!(
            parse_bsd_syslog(b"Feb 29 10:00:00", now).map(|t| t.0),
            Some(chrono_ns("2024-02-29T10:00:00Z"))
        );
        assert_eq!(
            parse_bsd_syslog(b"Oct 11 22:14:15.003", now),
            Some((chrono_ns("2025-10-11T22:14:15.003Z"), 19))
        );
        for s in [
            "Oct 32 22:14:15",
            "Foo 11 22:14:15",
            "Oct 11 22:14",
            "Oct 11 2:14:15",
        ] {
            assert_eq!(parse_bsd_syslog(s.as_bytes(), now), None, "{s}");
        }
    }

    #[test]
    fn format_trims_like_go() {
        let ns = chrono_ns("2026-05-06T10:30:45.120Z");
        assert_eq!(format_rfc3339_nano(ns), "2026-05-06T10:30:45.12Z");
        let ns = chrono_ns("2026-05-06T10:30:45Z");
        assert_eq!(format_rfc3339_nano(ns), "2026-05-06T10:30:45Z");
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
        // durations ago read as LogQL reads them (units::parse_duration)
        assert_eq!(
            parse_cli_time("1.5h", now),
            Ok(chrono_ns("2026-05-06T10:30:00Z"))
        );
        assert_eq!(
            parse_cli_time("-2d", now),
            Ok(chrono_ns("2026-05-04T12:00:00Z"))
        );
        // a bare number is epoch seconds, "0" included
        assert_eq!(parse_cli_time("0", now), Ok(0));
        assert!(parse_cli_time("-0", now).is_err());
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
