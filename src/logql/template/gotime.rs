//! Go's `time.Time` as templates see it: formatting and parsing with Go's
//! reference-time layouts ("2006-01-02 15:04:05", "Jan 2 15:04:05 MST").
//!
//! The server's local zone is UTC (as in Loki's container images), so
//! `date`, `toDate` and `now` work in UTC. Calendar arithmetic is done
//! here on plain integers so that no input can panic.

use std::fmt::Write as _;
use std::rc::Rc;

/// An instant with the zone it is shown in.
#[derive(Debug, Clone, PartialEq)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    pub nsec: u32,
    /// Offset east of UTC, in seconds.
    pub offset: i32,
    /// The zone abbreviation; `None` is UTC (and the local zone).
    pub zone: Option<Rc<str>>,
}

/// Seconds from 0001-01-01 to 1970-01-01: Go's zero `time.Time`.
const ZERO_UNIX: i64 = -62_135_596_800;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The broken-down local time of an instant.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    yday: u32,
    wday: u32,
}

impl GoTime {
    pub fn from_unix_nanos(ns: i64) -> GoTime {
        GoTime {
            secs: ns.div_euclid(1_000_000_000),
            nsec: ns.rem_euclid(1_000_000_000) as u32,
            offset: 0,
            zone: None,
        }
    }

    pub fn from_unix(secs: i64, nsec: i64) -> GoTime {
        let secs = secs.wrapping_add(nsec.div_euclid(1_000_000_000));
        GoTime {
            secs,
            nsec: nsec.rem_euclid(1_000_000_000) as u32,
            offset: 0,
            zone: None,
        }
    }

    /// Go's zero time, `0001-01-01 00:00:00 +0000 UTC` (what `toDate`
    /// returns for an unparsable string).
    pub fn zero() -> GoTime {
        GoTime {
            secs: ZERO_UNIX,
            nsec: 0,
            offset: 0,
            zone: None,
        }
    }

    pub fn now() -> GoTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        GoTime::from_unix(d.as_secs() as i64, i64::from(d.subsec_nanos()))
    }

    /// The same instant shown in UTC (`t.UTC()`, `t.In(Local)`).
    pub fn utc(&self) -> GoTime {
        GoTime {
            secs: self.secs,
            nsec: self.nsec,
            offset: 0,
            zone: None,
        }
    }

    pub fn unix_nanos(&self) -> i64 {
        self.secs
            .wrapping_mul(1_000_000_000)
            .wrapping_add(i64::from(self.nsec))
    }

    pub fn unix_millis(&self) -> i64 {
        self.secs
            .wrapping_mul(1000)
            .wrapping_add(i64::from(self.nsec / 1_000_000))
    }

    pub fn unix_micros(&self) -> i64 {
        self.secs
            .wrapping_mul(1_000_000)
            .wrapping_add(i64::from(self.nsec / 1000))
    }

    pub fn is_zero(&self) -> bool {
        self.secs == ZERO_UNIX && self.nsec == 0
    }

    fn civil(&self) -> Civil {
        let local = self.secs.saturating_add(i64::from(self.offset));
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        let wday = (days + 4).rem_euclid(7) as u32;
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
            yday,
            wday,
        }
    }

    pub fn year(&self) -> i64 {
        self.civil().year
    }
    pub fn month_name(&self) -> &'static str {
        MONTHS[(self.civil().month - 1) as usize]
    }
    pub fn day(&self) -> u32 {
        self.civil().day
    }
    pub fn hour(&self) -> u32 {
        self.civil().hour
    }
    pub fn minute(&self) -> u32 {
        self.civil().min
    }
    pub fn second(&self) -> u32 {
        self.civil().sec
    }
    pub fn year_day(&self) -> u32 {
        self.civil().yday
    }
    pub fn weekday_name(&self) -> &'static str {
        DAYS[self.civil().wday as usize]
    }

    /// `t.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    pub fn write_string(&self, out: &mut String) {
        self.format(out, "2006-01-02 15:04:05.999999999 -0700 MST");
    }

    /// `t.Format(layout)`.
    pub fn format(&self, out: &mut String, layout: &str) {
        let c = self.civil();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(std) = std else { break };
            rest = suffix;
            self.format_chunk(out, &c, std);
        }
    }

    fn format_chunk(&self, out: &mut String, c: &Civil, std: Std) {
        match std {
            Std::LongMonth => out.push_str(MONTHS[(c.month - 1) as usize]),
            Std::Month => out.push_str(&MONTHS[(c.month - 1) as usize][..3]),
            Std::NumMonth => push_num(out, i64::from(c.month), 0),
            Std::ZeroMonth => push_num(out, i64::from(c.month), 2),
            Std::LongWeekDay => out.push_str(DAYS[c.wday as usize]),
            Std::WeekDay => out.push_str(&DAYS[c.wday as usize][..3]),
            Std::Day => push_num(out, i64::from(c.day), 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                push_num(out, i64::from(c.day), 0);
            }
            Std::ZeroDay => push_num(out, i64::from(c.day), 2),
            Std::UnderYearDay => {
                let _ = write!(out, "{:>3}", c.yday);
            }
            Std::ZeroYearDay => push_num(out, i64::from(c.yday), 3),
            Std::Hour => push_num(out, i64::from(c.hour), 2),
            Std::Hour12 | Std::ZeroHour12 => {
                let h = match c.hour % 12 {
                    0 => 12,
                    h => h,
                };
                push_num(out, i64::from(h), if std == Std::Hour12 { 0 } else { 2 });
            }
            Std::Minute => push_num(out, i64::from(c.min), 0),
            Std::ZeroMinute => push_num(out, i64::from(c.min), 2),
            Std::Second => push_num(out, i64::from(c.sec), 0),
            Std::ZeroSecond => push_num(out, i64::from(c.sec), 2),
            Std::LongYear => push_num(out, c.year, 4),
            Std::Year => push_num(out, c.year.rem_euclid(100), 2),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::TZ => match &self.zone {
                None => out.push_str("UTC"),
                Some(name) if !name.is_empty() => out.push_str(name),
                Some(_) => {
                    let z = self.offset / 60;
                    out.push(if z < 0 { '-' } else { '+' });
                    let z = z.unsigned_abs();
                    let _ = write!(out, "{:02}{:02}", z / 60, z % 60);
                }
            },
            Std::Offset {
                iso,
                colon,
                secs,
                hours_only,
            } => {
                let off = self.offset;
                if iso && off == 0 {
                    out.push('Z');
                    return;
                }
                out.push(if off < 0 { '-' } else { '+' });
                let a = off.unsigned_abs();
                let _ = write!(out, "{:02}", a / 3600);
                if !hours_only {
                    if colon {
                        out.push(':');
                    }
                    let _ = write!(out, "{:02}", a / 60 % 60);
                }
                if secs {
                    if colon {
                        out.push(':');
                    }
                    let _ = write!(out, "{:02}", a % 60);
                }
            }
            Std::Frac { sep, digits, trim } => {
                let s = format!("{:09}", self.nsec);
                let mut d = &s[..digits.min(9)];
                if trim {
                    d = d.trim_end_matches('0');
                    if d.is_empty() {
                        return;
                    }
                }
                out.push(sep);
                out.push_str(d);
                // Go allows more than nine fractional digits; the rest is 0.
                if !trim {
                    for _ in 9..digits {
                        out.push('0');
                    }
                }
            }
        }
    }
}

fn push_num(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:0width$}", n.unsigned_abs(), width = width);
}

/// One element of a Go layout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    Offset {
        iso: bool,
        colon: bool,
        secs: bool,
        hours_only: bool,
    },
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

fn lower_at(s: &str, i: usize) -> bool {
    s.as_bytes().get(i).is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: the literal text before the first layout element,
/// the element, and the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..i + s.len()) == Some(s);
    for i in 0..b.len() {
        let hit = |len: usize, std: Std| Some((i, len, std));
        let found = match b[i] {
            b'J' if at(i, "January") => hit(7, Std::LongMonth),
            b'J' if at(i, "Jan") && !lower_at(layout, i + 3) => hit(3, Std::Month),
            b'M' if at(i, "Monday") => hit(6, Std::LongWeekDay),
            b'M' if at(i, "Mon") && !lower_at(layout, i + 3) => hit(3, Std::WeekDay),
            b'M' if at(i, "MST") => hit(3, Std::TZ),
            b'0' if matches!(b.get(i + 1), Some(b'1'..=b'6')) => hit(
                2,
                match b[i + 1] {
                    b'1' => Std::ZeroMonth,
                    b'2' => Std::ZeroDay,
                    b'3' => Std::ZeroHour12,
                    b'4' => Std::ZeroMinute,
                    b'5' => Std::ZeroSecond,
                    _ => Std::Year,
                },
            ),
            b'0' if at(i, "002") => hit(3, Std::ZeroYearDay),
            b'1' if at(i, "15") => hit(2, Std::Hour),
            b'1' => hit(1, Std::NumMonth),
            b'2' if at(i, "2006") => hit(4, Std::LongYear),
            b'2' => hit(1, Std::Day),
            b'_' if at(i, "_2006") => {
                // A literal `_` followed by the year.
                return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
            }
            b'_' if at(i, "_2") => hit(2, Std::UnderDay),
            b'_' if at(i, "__2") => hit(3, Std::UnderYearDay),
            b'3' => hit(1, Std::Hour12),
            b'4' => hit(1, Std::Minute),
            b'5' => hit(1, Std::Second),
            b'P' if at(i, "PM") => hit(2, Std::PM),
            b'p' if at(i, "pm") => hit(2, Std::Pm),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                let off = |colon, secs, hours_only| Std::Offset {
                    iso,
                    colon,
                    secs,
                    hours_only,
                };
                if at(i + 1, "070000") {
                    hit(7, off(false, true, false))
                } else if at(i + 1, "07:00:00") {
                    hit(9, off(true, true, false))
                } else if at(i + 1, "0700") {
                    hit(5, off(false, false, false))
                } else if at(i + 1, "07:00") {
                    hit(6, off(true, false, false))
                } else if at(i + 1, "07") {
                    hit(3, off(false, false, true))
                } else {
                    None
                }
            }
            c @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    hit(
                        j - i,
                        Std::Frac {
                            sep: c as char,
                            digits: j - i - 1,
                            trim: ch == b'9',
                        },
                    )
                }
            }
            _ => None,
        };
        if let Some((i, len, std)) = found {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

/// Go's `skip`: the layout's literal text must appear in the value; a
/// run of spaces in the layout matches a run of spaces in the value.
fn skip<'v>(mut value: &'v str, mut prefix: &str) -> Option<&'v str> {
    while let Some(&p) = prefix.as_bytes().first() {
        if p == b' ' {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        if value.as_bytes().first() != Some(&p) {
            return None;
        }
        prefix = &prefix[1..];
        value = value.get(1..)?;
    }
    Some(value)
}

/// Up to two digits (exactly two when `fixed`).
fn getnum(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    if !b.get(1).is_some_and(u8::is_ascii_digit) {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &v[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &v[2..],
    ))
}

/// [`getnum`] with the number checked against `range` (an hour, a minute…).
fn getnum_in(v: &str, fixed: bool, range: std::ops::RangeInclusive<i64>) -> Option<(i64, &str)> {
    getnum(v, fixed).filter(|(n, _)| range.contains(n))
}

fn getnum_n(v: &str, n: usize) -> Option<(i64, &str)> {
    let d = v.get(..n)?;
    if !d.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((d.parse().ok()?, &v[n..]))
}

fn lookup<'v>(v: &'v str, names: &[&str], len: Option<usize>) -> Option<(usize, &'v str)> {
    for (i, name) in names.iter().enumerate() {
        let name = len.map_or(*name, |l| &name[..l]);
        if v.len() >= name.len() && v.as_bytes()[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            return Some((i, &v[name.len()..]));
        }
    }
    None
}

fn frac_nanos(digits: &str) -> i64 {
    let mut ns = 0i64;
    for (i, c) in digits.bytes().take(9).enumerate() {
        ns += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
    }
    ns
}

/// `time.Parse(layout, value)` with UTC as the default zone; `None` where
/// Go returns an error (the callers turn that into Go's zero time).
pub fn parse(layout: &str, value: &str) -> Option<GoTime> {
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let mut pm_set = None::<bool>;
    let mut offset = None::<i64>;
    let mut zone_name = None::<String>;
    let mut layout = layout;
    let mut value = value;
    loop {
        let (prefix, std, suffix) = next_std_chunk(layout);
        value = skip(value, prefix)?;
        let Some(std) = std else {
            if !value.is_empty() {
                return None; // extra text
            }
            break;
        };
        layout = suffix;
        match std {
            Std::Year => {
                let (n, r) = getnum_n(value, 2)?;
                year = if n >= 69 { 1900 + n } else { 2000 + n };
                value = r;
            }
            Std::LongYear => {
                let (n, r) = getnum_n(value, 4)?;
                year = n;
                value = r;
            }
            Std::Month | Std::LongMonth => {
                let len = (std == Std::Month).then_some(3);
                let (i, r) = lookup(value, &MONTHS, len)?;
                month = i as i64 + 1;
                value = r;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, r) = getnum_in(value, std == Std::ZeroMonth, 1..=12)?;
                month = n;
                value = r;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let len = (std == Std::WeekDay).then_some(3);
                value = lookup(value, &DAYS, len)?.1;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && value.starts_with(' ') {
                    value = &value[1..];
                }
                let (n, r) = getnum(value, std == Std::ZeroDay)?;
                day = n;
                value = r;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                if std == Std::UnderYearDay {
                    for _ in 0..2 {
                        if value.starts_with(' ') {
                            value = &value[1..];
                        }
                    }
                }
                let end = value.bytes().take(3).take_while(u8::is_ascii_digit).count();
                if std == Std::ZeroYearDay && end != 3 || end == 0 {
                    return None;
                }
                yday = value[..end].parse().ok()?;
                value = &value[end..];
            }
            Std::Hour => {
                let (n, r) = getnum_in(value, false, 0..=23)?;
                hour = n;
                value = r;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, r) = getnum_in(value, std == Std::ZeroHour12, 0..=12)?;
                hour = n;
                value = r;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, r) = getnum_in(value, std == Std::ZeroMinute, 0..=59)?;
                min = n;
                value = r;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, r) = getnum_in(value, std == Std::ZeroSecond, 0..=59)?;
                sec = n;
                value = r;
                // A fractional second in the value that the layout does not
                // spell out is read anyway (as Go does).
                let b = value.as_bytes();
                if b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit() {
                    let (_, next, _) = next_std_chunk(layout);
                    if !matches!(next, Some(Std::Frac { .. })) {
                        let n = 1 + value[1..].bytes().take_while(u8::is_ascii_digit).count();
                        nsec = frac_nanos(&value[1..n]);
                        value = &value[n..];
                    }
                }
            }
            Std::PM | Std::Pm => {
                let p = value.get(..2)?;
                let (am, pmv) = if std == Std::PM {
                    ("AM", "PM")
                } else {
                    ("am", "pm")
                };
                pm_set = Some(if p == pmv {
                    true
                } else if p == am {
                    false
                } else {
                    return None;
                });
                value = &value[2..];
            }
            Std::Offset {
                iso,
                colon,
                secs,
                hours_only,
            } => {
                if iso && value.starts_with('Z') {
                    value = &value[1..];
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                    continue;
                }
                let sign = match value.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let (hh, mut r) = getnum_n(&value[1..], 2)?;
                let mut mm = 0;
                let mut ss = 0;
                if !hours_only {
                    if colon {
                        r = r.strip_prefix(':')?;
                    }
                    let (m, r2) = getnum_n(r, 2)?;
                    mm = m;
                    r = r2;
                }
                if secs {
                    if colon {
                        r = r.strip_prefix(':')?;
                    }
                    let (s, r2) = getnum_n(r, 2)?;
                    ss = s;
                    r = r2;
                }
                if hh > 24 || mm > 60 || ss > 60 {
                    return None;
                }
                offset = Some(sign * (hh * 3600 + mm * 60 + ss));
                value = r;
            }
            Std::TZ => {
                if value.starts_with("UTC") {
                    zone_name = Some("UTC".into());
                    value = &value[3..];
                    continue;
                }
                let n = value.bytes().take_while(u8::is_ascii_uppercase).count();
                if !(3..=5).contains(&n) {
                    return None;
                }
                zone_name = Some(value[..n].to_string());
                value = &value[n..];
            }
            Std::Frac { digits, trim, .. } => {
                let b = value.as_bytes();
                let has = b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit();
                if trim {
                    if !has {
                        continue;
                    }
                    let n = 1 + value[1..].bytes().take_while(u8::is_ascii_digit).count();
                    nsec = frac_nanos(&value[1..n]);
                    value = &value[n..];
                } else {
                    if !matches!(b.first(), Some(b'.' | b',')) {
                        return None;
                    }
                    let d = value.get(1..1 + digits)?;
                    if !d.bytes().all(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    nsec = frac_nanos(d);
                    value = &value[1 + digits..];
                }
            }
        }
    }
    if let Some(pm) = pm_set {
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 {
            hour = 0;
        }
    }
    if yday >= 0 {
        let leap = is_leap(year);
        if yday < 1 || yday > if leap { 366 } else { 365 } {
            return None;
        }
        let days = days_from_civil(year, 1, 1) + yday - 1;
        let (_, m, d) = civil_from_days(days);
        if month >= 0 && month != i64::from(m) || day >= 0 && day != i64::from(d) {
            return None;
        }
        month = i64::from(m);
        day = i64::from(d);
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > i64::from(days_in_month(year, month as u32)) {
        return None; // day out of range
    }
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    let mut t = GoTime {
        secs: local,
        nsec: nsec as u32,
        offset: 0,
        zone: None,
    };
    if let Some(off) = offset {
        t.secs = local - off;
        if off != 0 {
            // Go: a parsed offset that is not the local zone's makes a
            // fabricated zone without a name.
            t.offset = off as i32;
            t.zone = Some(Rc::from(""));
        }
        return Some(t);
    }
    if let Some(name) = zone_name {
        if name != "UTC" {
            // An unknown abbreviation: that name with a zero offset, or
            // GMT±h.
            t.zone = Some(Rc::from(name.as_str()));
        }
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(t: &GoTime, layout: &str) -> String {
        let mut s = String::new();
        t.format(&mut s, layout);
        s
    }

    #[test]
    fn formats_go_layouts() {
        // 2021-11-02T03:04:05.123456789Z, a Tuesday.
        let t = GoTime::from_unix_nanos(1_635_822_245_123_456_789);
        assert_eq!(fmt(&t, "2006-01-02"), "2021-11-02");
        assert_eq!(
            fmt(&t, "2006-01-02T15:04:05.00Z-07:00"),
            "2021-11-02T03:04:05.12Z+00:00"
        );
        assert_eq!(fmt(&t, "Jan _2 3:4:5 PM MST"), "Nov  2 3:4:5 AM UTC");
        assert_eq!(
            fmt(&t, "Monday, January 2 2006 .999"),
            "Tuesday, November 2 2021 .123"
        );
        assert_eq!(fmt(&t, "06 002 __2 Z07:00"), "21 306 306 Z");
        let mut s = String::new();
        t.write_string(&mut s);
        assert_eq!(s, "2021-11-02 03:04:05.123456789 +0000 UTC");
        let mut s = String::new();
        GoTime::zero().write_string(&mut s);
        assert_eq!(s, "0001-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn parses_go_layouts() {
        let t = parse("2006-01-02", "2021-11-02").unwrap();
        assert_eq!(t.secs, 1_635_811_200);
        let t = parse(
            "2006-01-02T15:04:05.999999999Z07:00",
            "2021-11-02T10:00:00.5+09:00",
        )
        .unwrap();
        assert_eq!(
            (t.secs, t.nsec, t.offset),
            (1_635_814_800, 500_000_000, 32_400)
        );
        let mut s = String::new();
        t.write_string(&mut s);
        assert_eq!(s, "2021-11-02 10:00:00.5 +0900 +0900");
        // Fractional seconds the layout does not mention are accepted.
        assert_eq!(parse("15:04:05", "10:00:00.25").unwrap().nsec, 250_000_000);
        assert_eq!(parse("Jan 2 2006", "feb 29 2021"), None);
        assert_eq!(parse("2006-01-02", "2021-11-02x"), None);
        assert_eq!(
            parse("3PM", "12AM").unwrap().secs,
            days_from_civil(0, 1, 1) * 86_400
        );
    }
}
