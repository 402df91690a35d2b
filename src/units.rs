//! Durations and byte sizes: the one place that says what `1.5h` and
//! `1MiB` mean, for the query language, its label values, every flag and
//! every config file.
//!
//! Each parser follows one upstream function exactly, so a value that Loki
//! accepts is accepted here with the same meaning, and one that Loki refuses
//! is refused:
//!
//! - [`parse_duration`]: a duration as Loki's lexer reads it
//!   (`pkg/logql/syntax/lex.go` `parseDuration`): Prometheus'
//!   [`model.ParseDuration`](parse_prom_duration) first (`1y2w3d4h5m6s7ms`,
//!   integers, units largest first), else Go's
//!   [`time.ParseDuration`](parse_go_duration) (`1.5h`, `1h30m`, `250ms`,
//!   `-5m`). So `1.5h` is 90 minutes, `2d` two days, and `1.5d` nothing: no
//!   day unit takes a fraction. Flags (`--step`, `--since`, `--window`,
//!   `--burst 3/1.5h`) and config files (`burst = "3/5m"`) read durations
//!   with this too, so a duration that works in a query works everywhere.
//! - [`parse_prom_duration`]: a range `[5m]`, which Loki reads with
//!   Prometheus' parser alone (`[1.5h]` is refused, as in Loki).
//! - [`parse_go_duration`], [`go_duration_seconds`]: label values at run time
//!   (`| latency > 250ms`, `unwrap duration(x)`, the template `duration`
//!   function), which Loki reads with Go's `time.ParseDuration`.
//! - [`parse_humanize_bytes`], [`humanize_bytes_f64`]: byte sizes in queries
//!   (`size > 1KiB`) and label values (`unwrap bytes(x)`, the template
//!   `bytes` function, typed format fields), as go-humanize's `ParseBytes`
//!   (`kB` is 1000, `KiB` 1024, case-insensitive, commas allowed).
//! - [`parse_size`]: a byte-size flag (`--max-line-length 1MiB`,
//!   `nagare-corpus --bytes 300MB`): the same units as `ParseBytes`, but
//!   whole numbers are exact (no detour through a float).

const NS: u64 = 1;
const US: u64 = 1_000 * NS;
const MS: u64 = 1_000 * US;
const SEC: u64 = 1_000 * MS;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
const YEAR: u64 = 365 * DAY;

/// Why a duration did not parse; [`Display`](std::fmt::Display) gives the
/// upstream function's own message (what Loki puts in `__error_details__`
/// or in a parse error), [`kind`](Self::kind) lets a caller word its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DurationError {
    kind: DurationErrorKind,
    message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationErrorKind {
    /// Not of the form number-unit… at all (or empty).
    Syntax,
    /// A number with no unit after it (`5`).
    MissingUnit,
    /// A unit that is not one (`5x`: `"x"`).
    UnknownUnit(String),
    /// More than about 292 years: time.Duration would overflow.
    OutOfRange,
}

impl DurationError {
    fn new(kind: DurationErrorKind, message: String) -> Self {
        DurationError { kind, message }
    }

    pub fn kind(&self) -> &DurationErrorKind {
        &self.kind
    }
}

/// Loki's lexer (`lex.go` `parseDuration`): Prometheus' `model.ParseDuration`
/// first, so the PromQL units `d`, `w`, `y` work, else Go's
/// `time.ParseDuration`, whose error is the one reported unless Prometheus
/// found the duration too long. Nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    match parse_prom_duration(s) {
        Ok(d) => Ok(d),
        // `999999999999d` is too long, not a bad unit: Go, which has no
        // `d`, would say the latter. (Loki's lexer shows neither message.)
        Err(e) if e.kind == DurationErrorKind::OutOfRange => Err(e),
        Err(_) => parse_go_duration(s),
    }
}

/// Prometheus' `model.ParseDuration` (prometheus/common): `1y2w3d4h5m6s7ms`,
/// each unit at most once and largest first, integers only; `0` alone is
/// allowed. Nanoseconds.
pub fn parse_prom_duration(s: &str) -> Result<i64, DurationError> {
    use DurationErrorKind::*;
    const UNITS: &[(&str, u64)] = &[
        ("y", YEAR),
        ("w", WEEK),
        ("d", DAY),
        ("h", HOUR),
        ("m", MIN),
        ("s", SEC),
        ("ms", MS),
    ];
    match s {
        "0" => return Ok(0),
        "" => return Err(DurationError::new(Syntax, "empty duration string".into())),
        _ => {}
    }
    let invalid = || DurationError::new(Syntax, format!("not a valid duration string: {s:?}"));
    let out_of_range = || DurationError::new(OutOfRange, "duration out of range".into());
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_unit = 0;
    while !rest.is_empty() {
        let (r, digits) = split_while(rest, |c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(invalid());
        }
        let v: u64 = digits.parse().map_err(|_| invalid())?;
        let (r, unit) = split_while(r, |c| !c.is_ascii_digit());
        if unit.is_empty() {
            return Err(invalid());
        }
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(DurationError::new(
                UnknownUnit(unit.into()),
                format!("unknown unit {unit:?} in duration {s:?}"),
            ));
        };
        if idx < last_unit {
            return Err(invalid());
        }
        last_unit = idx + 1;
        let mult = UNITS[idx].1;
        if v > (1u64 << 63) / mult {
            return Err(out_of_range());
        }
        total = total.saturating_add(v * mult);
        if total > i64::MAX as u64 {
            return Err(out_of_range());
        }
        rest = r;
    }
    Ok(total as i64)
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, units `ns`,
/// `us`/`µs`/`μs`, `ms`, `s`, `m`, `h` in any order; a fraction is exact to
/// the nanosecond the way Go computes it. Nanoseconds.
pub fn parse_go_duration(orig: &str) -> Result<i64, DurationError> {
    use DurationErrorKind::*;
    // Go reports an overflow as an invalid duration too; the kind still
    // says which it was.
    let err = |kind| DurationError::new(kind, format!("time: invalid duration {orig:?}"));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err(Syntax));
    }
    const LIMIT: u64 = 1 << 63;
    let mut d: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes()[0];
        if !(b == b'.' || b.is_ascii_digit()) {
            return Err(err(Syntax));
        }
        // [0-9]*
        let (r, int_digits) = split_while(s, |c| c.is_ascii_digit());
        let mut v: u64 = 0;
        for c in int_digits.bytes() {
            if v > LIMIT / 10 {
                return Err(err(OutOfRange));
            }
            v = v * 10 + u64::from(c - b'0');
            if v > LIMIT {
                return Err(err(OutOfRange));
            }
        }
        s = r;
        let pre = !int_digits.is_empty();
        // (\.[0-9]*)?: Go keeps the digits that fit and drops the rest.
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if let Some(r) = s.strip_prefix('.') {
            let (r, frac) = split_while(r, |c| c.is_ascii_digit());
            let mut overflow = false;
            for c in frac.bytes() {
                if overflow {
                    continue;
                }
                if f > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = !frac.is_empty();
            s = r;
        }
        if !pre && !post {
            return Err(err(Syntax));
        }
        let (r, unit) = split_while(s, |c| c != '.' && !c.is_ascii_digit());
        if unit.is_empty() {
            return Err(DurationError::new(
                MissingUnit,
                format!("time: missing unit in duration {orig:?}"),
            ));
        }
        s = r;
        let mult: u64 = match unit {
            "ns" => NS,
            "us" | "µs" | "μs" => US,
            "ms" => MS,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            _ => {
                return Err(DurationError::new(
                    UnknownUnit(unit.into()),
                    format!("time: unknown unit {unit:?} in duration {orig:?}"),
                ))
            }
        };
        if v > LIMIT / mult {
            return Err(err(OutOfRange));
        }
        v *= mult;
        if f > 0 {
            v = v.saturating_add((f as f64 * (mult as f64 / scale)) as u64);
            if v > LIMIT {
                return Err(err(OutOfRange));
            }
        }
        d = d.saturating_add(v);
        if d > LIMIT {
            return Err(err(OutOfRange));
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > i64::MAX as u64 {
        return Err(err(OutOfRange));
    }
    Ok(d as i64)
}

/// A label value as Loki reads it for a duration filter, `unwrap
/// duration(…)` and the template `duration` function: Go's
/// `time.ParseDuration(v).Seconds()`. The error is Go's message.
pub fn go_duration_seconds(v: &str) -> Result<f64, String> {
    // Duration.Seconds() splits whole seconds from nanoseconds, which keeps
    // more precision than one division for long durations.
    let ns = parse_go_duration(v).map_err(|e| e.to_string())?;
    let sec = ns / 1_000_000_000;
    let nsec = ns % 1_000_000_000;
    Ok(sec as f64 + nsec as f64 / 1e9)
}

/// Go's `strconv.ParseFloat(s, 64)`: what Rust's parser reads (decimal,
/// `inf`, `infinity`, `nan`, any case, with a sign), plus hexadecimal
/// floats, whose `p` exponent Go requires (`0x1p3` = 8, `0x1.8p1` = 3,
/// underscores between digits allowed after the prefix).
pub fn go_parse_float(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let hex = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))?;
    let p = hex.find(['p', 'P'])?;
    let (mant, exp) = (&hex[..p], &hex[p + 1..]);
    let mant = mant.replace('_', "");
    let (int, frac) = mant.split_once('.').unwrap_or((&mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp: i32 = match exp.strip_prefix('+') {
        Some(e) if !e.starts_with(['+', '-']) => e.parse().ok()?,
        _ => exp.parse().ok()?,
    };
    let mut v = 0f64;
    for c in int.chars().chain(frac.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let scale = exp.checked_sub(4 * i32::try_from(frac.len()).ok()?)?;
    let v = v * 2f64.powi(scale);
    Some(if neg { -v } else { v })
}

/// go-humanize's `ParseBytes`, as Loki's lexer reads `5KiB` and as it reads
/// label values for bytes filters: `5`, `5B`, `5kB`/`5KB`/`5k` (1000),
/// `5KiB`/`5Ki` (1024), … up to exa; the unit is case-insensitive and may
/// follow a space; commas in the number are dropped; a fraction of a byte is
/// cut off. The errors are go-humanize's (and strconv's) messages.
pub fn parse_humanize_bytes(s: &str) -> Result<u64, String> {
    // No trimming before the number: ParseBytes(" 5") fails.
    let (rest, num) = split_while(s, |c| c.is_ascii_digit() || c == '.' || c == ',');
    let num = num.replace(',', "");
    let f: f64 = num
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    if f.is_infinite() {
        return Err(format!(
            "strconv.ParseFloat: parsing {num:?}: value out of range"
        ));
    }
    let extra = rest.trim().to_lowercase();
    let Some(mult) = humanize_unit(&extra) else {
        return Err(format!("unhandled size name: {extra}"));
    };
    let v = f * mult as f64;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok(v as u64)
}

/// [`parse_humanize_bytes`] as a float, for comparisons and samples.
pub fn humanize_bytes_f64(v: &str) -> Result<f64, String> {
    parse_humanize_bytes(v).map(|b| b as f64)
}

/// go-humanize's `bytesSizeTable`, keyed by the lower-cased unit.
fn humanize_unit(unit: &str) -> Option<u64> {
    Some(match unit {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1000u64.pow(2),
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1000u64.pow(3),
        "gi" | "gib" => 1 << 30,
        "t" | "tb" => 1000u64.pow(4),
        "ti" | "tib" => 1 << 40,
        "p" | "pb" => 1000u64.pow(5),
        "pi" | "pib" => 1 << 50,
        "e" | "eb" => 1000u64.pow(6),
        "ei" | "eib" => 1 << 60,
        _ => return None,
    })
}

/// A byte size given as a flag: `1048576`, `64k`, `300MB`, `1MiB`, `1.5GiB`,
/// with [`parse_humanize_bytes`]' units. A flag is a value a person typed,
/// so surrounding spaces and a leading `+` are allowed, and a whole number
/// is exact at any size (ParseBytes would round it through a float); a
/// fraction of a byte is cut off, as ParseBytes does.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let invalid =
        || format!("{s:?} is not a size (a number of bytes, or with a unit: 64KiB, 300MB)");
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let (rest, num) = split_while(t, |c| c.is_ascii_digit() || c == '.' || c == ',');
    let num = num.replace(',', "");
    let mult = humanize_unit(&rest.trim().to_lowercase()).ok_or_else(invalid)?;
    let too_large = || format!("{s:?} is too large");
    if !num.contains('.') {
        let n: u64 = match num.parse() {
            Ok(n) => n,
            Err(_) if !num.is_empty() => return Err(too_large()),
            Err(_) => return Err(invalid()),
        };
        return n.checked_mul(mult).ok_or_else(too_large);
    }
    let f: f64 = num.parse().map_err(|_| invalid())?;
    let v = f * mult as f64;
    if v >= u64::MAX as f64 {
        return Err(too_large());
    }
    Ok(v as u64)
}

/// `s` split after its longest prefix of characters satisfying `pred`:
/// (rest, prefix).
fn split_while(s: &str, pred: impl Fn(char) -> bool) -> (&str, &str) {
    let n = s.find(|c: char| !pred(c)).unwrap_or(s.len());
    (&s[n..], &s[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;

    /// Loki `lex.go` `parseDuration`: Prometheus first, Go second.
    #[test]
    fn loki_lexer_duration() {
        assert_eq!(parse_duration("1.5h"), Ok(H * 3 / 2));
        assert_eq!(parse_duration("1h30m"), Ok(H * 3 / 2));
        assert_eq!(parse_duration("2d"), Ok(48 * H));
        assert_eq!(parse_duration("1w"), Ok(7 * 24 * H));
        assert_eq!(parse_duration("1y"), Ok(365 * 24 * H));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("5m"), Ok(300_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("5µs"), Ok(5_000));
        assert_eq!(parse_duration("5us"), Ok(5_000));
        assert_eq!(parse_duration("5ns"), Ok(5));
        assert_eq!(parse_duration("0"), Ok(0));
        // Go's order-free sums and signs
        assert_eq!(parse_duration("1m1h"), Ok(H + 60_000_000_000));
        assert_eq!(parse_duration("-5m"), Ok(-300_000_000_000));
        // neither parser: a fraction of a day, a bare number, a word
        assert!(parse_duration("1.5d").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5minutes").is_err());
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("").is_err());
        // the error reported is Go's (the fallback's)
        let e = parse_duration("5").unwrap_err();
        assert_eq!(e.to_string(), r#"time: missing unit in duration "5""#);
        assert_eq!(e.kind(), &DurationErrorKind::MissingUnit);
        let e = parse_duration("5x").unwrap_err();
        assert_eq!(e.to_string(), r#"time: unknown unit "x" in duration "5x""#);
        assert_eq!(e.kind(), &DurationErrorKind::UnknownUnit("x".into()));
        let e = parse_duration("999999999999d").unwrap_err();
        assert_eq!(e.kind(), &DurationErrorKind::OutOfRange);
    }

    /// prometheus/common `model.ParseDuration`.
    #[test]
    fn prometheus_parse_duration() {
        assert_eq!(parse_prom_duration("1y"), Ok(365 * 24 * H));
        assert_eq!(parse_prom_duration("1w2d"), Ok(9 * 24 * H));
        assert_eq!(parse_prom_duration("500ms"), Ok(500_000_000));
        assert_eq!(
            parse_prom_duration("1d2h3m4s5ms"),
            Ok(26 * H + 184_005_000_000)
        );
        assert!(parse_prom_duration("1m1h").is_err());
        assert!(parse_prom_duration("1h1h").is_err());
        assert!(parse_prom_duration("1.5m").is_err());
        assert!(parse_prom_duration("1us").is_err());
        assert!(parse_prom_duration("1000y").is_err());
        let msg = |s| parse_prom_duration(s).unwrap_err().to_string();
        assert_eq!(msg(""), "empty duration string");
        assert_eq!(
            msg("5minutes"),
            r#"unknown unit "minutes" in duration "5minutes""#
        );
        assert_eq!(msg("1m1h"), r#"not a valid duration string: "1m1h""#);
        assert_eq!(msg("1000y"), "duration out of range");
    }

    /// Go `time.ParseDuration`.
    #[test]
    fn go_parse_duration() {
        assert_eq!(parse_go_duration("1h2m3.5s"), Ok(3_723_500_000_000));
        assert_eq!(parse_go_duration("-0"), Ok(0));
        assert_eq!(parse_go_duration("+0"), Ok(0));
        assert_eq!(parse_go_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_go_duration("1.s"), Ok(1_000_000_000));
        assert_eq!(parse_go_duration("1.3h"), Ok(4_680_000_000_000));
        assert_eq!(parse_go_duration("1.0000000001s"), Ok(1_000_000_000));
        assert_eq!(parse_go_duration("-2562047h47m16.854775808s"), Ok(i64::MIN));
        assert_eq!(parse_go_duration("2562047h47m16.854775807s"), Ok(i64::MAX));
        assert!(parse_go_duration("2562047h47m16.854775808s").is_err());
        assert!(parse_go_duration("1d").is_err());
        assert!(parse_go_duration(".s").is_err());
        assert!(parse_go_duration("99999999999999h").is_err());
        let msg = |s| parse_go_duration(s).unwrap_err().to_string();
        assert_eq!(msg("1"), r#"time: missing unit in duration "1""#);
        assert_eq!(msg("1d"), r#"time: unknown unit "d" in duration "1d""#);
        assert_eq!(msg("x"), r#"time: invalid duration "x""#);
        assert_eq!(msg(""), r#"time: invalid duration """#);
    }

    /// go-humanize `ParseBytes`.
    #[test]
    fn humanize_parse_bytes() {
        assert_eq!(parse_humanize_bytes("1KiB"), Ok(1024));
        assert_eq!(parse_humanize_bytes("1kb"), Ok(1000));
        assert_eq!(parse_humanize_bytes("1K"), Ok(1000));
        assert_eq!(parse_humanize_bytes("2 MB"), Ok(2_000_000));
        assert_eq!(parse_humanize_bytes("5 "), Ok(5));
        assert_eq!(parse_humanize_bytes("1,000"), Ok(1000));
        assert_eq!(parse_humanize_bytes("1.5MiB"), Ok(1_572_864));
        assert_eq!(parse_humanize_bytes("1.5"), Ok(1));
        assert_eq!(parse_humanize_bytes("1EiB"), Ok(1 << 60));
        let msg = |s| parse_humanize_bytes(s).unwrap_err();
        assert_eq!(msg("1XB"), "unhandled size name: xb");
        assert_eq!(
            msg("MB"),
            r#"strconv.ParseFloat: parsing "": invalid syntax"#
        );
        assert_eq!(
            msg(" 5"),
            r#"strconv.ParseFloat: parsing "": invalid syntax"#
        );
        assert_eq!(
            msg("1.2.3"),
            r#"strconv.ParseFloat: parsing "1.2.3": invalid syntax"#
        );
        assert_eq!(msg("20EB"), "too large: 20EB");
    }

    /// Label values (Loki's DurationLabelFilter, BytesLabelFilter, unwrap
    /// conversions, template functions): Go's ParseDuration in seconds,
    /// ParseBytes as a float.
    #[test]
    fn label_values() {
        assert_eq!(go_duration_seconds("1.5s"), Ok(1.5));
        assert_eq!(go_duration_seconds("1h2m"), Ok(3720.0));
        assert_eq!(go_duration_seconds("250ms"), Ok(0.25));
        assert!(go_duration_seconds("12").is_err());
        assert_eq!(humanize_bytes_f64("42 MB"), Ok(42e6));
        assert_eq!(humanize_bytes_f64("1KiB"), Ok(1024.0));
        assert_eq!(humanize_bytes_f64("1024"), Ok(1024.0));
        assert!(humanize_bytes_f64("x").is_err());
        // exactly Go's: nanosecond-truncated, messages as Loki shows them
        // in __error_details__
        assert_eq!(go_duration_seconds("1.0000000001s"), Ok(1.0));
        assert_eq!(
            go_duration_seconds("12"),
            Err(r#"time: missing unit in duration "12""#.into())
        );
        assert!(go_duration_seconds("3000000h").is_err());
        // exactly ParseBytes': whole bytes, no leading space
        assert_eq!(humanize_bytes_f64("1.5"), Ok(1.0));
        assert!(humanize_bytes_f64(" 5").is_err());
    }

    /// Flags: ParseBytes' units, exact whole numbers.
    #[test]
    fn flag_sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("+5"), Ok(5));
        assert_eq!(parse_size(" 64k "), Ok(64_000));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("300MB"), Ok(300_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("2 TiB"), Ok(2 << 40));
        assert_eq!(parse_size("7"), Ok(7));
        assert_eq!(parse_size("9007199254740993"), Ok(9_007_199_254_740_993));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_size("18446744073709551616").is_err());
        assert!(parse_size("16EiB").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("-1").is_err());
    }

    /// Go's strconv.ParseFloat (atof_test.go's hexadecimal cases).
    #[test]
    fn go_parse_float_takes_hex_floats() {
        assert_eq!(go_parse_float("0x1p3"), Some(8.0));
        assert_eq!(go_parse_float("-0x1.8p1"), Some(-3.0));
        assert_eq!(go_parse_float("0x.8p1"), Some(1.0));
        assert_eq!(go_parse_float("0x1P+2"), Some(4.0));
        assert_eq!(go_parse_float("0xff"), None, "p exponent required");
        assert_eq!(go_parse_float("0xp1"), None);
        assert_eq!(go_parse_float("1.5"), Some(1.5));
        assert_eq!(go_parse_float("abc"), None);
    }
}
