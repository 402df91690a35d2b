//! The event time of a custom format: which capture holds it, and how to
//! read it (`timestamp = { field = "time_local", format = "%d/%b/%Y:%H:%M:%S %z" }`).
//!
//! Without a `format`, the value is read as the built-in formats read times
//! (RFC 3339 and ISO 8601 variants, epoch numbers by magnitude, the common
//! log format). With one, it is a strftime format (chrono's): no zone in
//! the format means UTC; a trailing `%Z` reads the zone abbreviations that
//! name one offset (`UTC`, `CET`, `EDT`, `JST`, `+08`: `time::named_zone`;
//! not the ambiguous `IST`, `CST`, `PST`); no
//! year in the format (syslog style) means the year that puts the time
//! nearest before now, so nothing is dated in the future across New Year.

use chrono::format::{parse as parse_items, Item, Parsed, StrftimeItems};
use chrono::DateTime;

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// How far ahead of the clock a yearless time may be before it is taken
/// to be last year's (clocks of log writers and readers differ a little).
const FUTURE_SLACK_NS: i64 = 86_400 * NANOS_PER_SEC;

#[derive(Debug, Clone, PartialEq)]
pub struct TimestampSpec {
    pub field: String,
    pub format: Option<String>,
    has_zone: bool,
    has_year: bool,
    /// A trailing `%Z`, matched by hand (chrono cannot parse zone names).
    zone_name: bool,
    /// The format, parsed once (chrono would parse it again on every line).
    items: Vec<Item<'static>>,
    /// `%Y ` and the format, for yearless formats.
    items_with_year: Vec<Item<'static>>,
}

impl TimestampSpec {
    /// Checks the format once, so a bad one is a definition error rather
    /// than a bad time on every line.
    pub fn new(field: &str, format: Option<&str>) -> Result<TimestampSpec, String> {
        let mut spec = TimestampSpec {
            field: field.to_string(),
            format: None,
            has_zone: false,
            has_year: false,
            zone_name: false,
            items: Vec::new(),
            items_with_year: Vec::new(),
        };
        if let Some(f) = format {
            let mut f = f.to_string();
            if let Some(rest) = f.strip_suffix("%Z") {
                spec.zone_name = true;
                f = rest.trim_end().to_string();
            }
            if f.contains("%Z") {
                return Err("%Z (a zone name) is only supported at the end of a format".into());
            }
            let owned = |f: &str| -> Vec<Item<'static>> {
                StrftimeItems::new(f).map(Item::to_owned).collect()
            };
            spec.items = owned(&f);
            spec.items_with_year = owned(&format!("%Y {f}"));
            if spec.items.iter().any(|i| matches!(i, Item::Error)) {
                return Err(format!("invalid strftime format {f:?}"));
            }
            let has = |specs: &[&str]| specs.iter().any(|s| f.contains(s));
            spec.has_zone = has(&["%z", "%:z", "%::z", "%#z", "%+", "%s"]);
            spec.has_year = has(&[
                "%Y", "%y", "%G", "%g", "%C", "%D", "%F", "%c", "%+", "%s", "%v",
            ]);
            spec.format = Some(f);
        }
        Ok(spec)
    }

    /// The time in ns since the epoch, or `None` if `text` does not read.
    pub fn parse(&self, text: &str, now_ns: i64) -> Option<i64> {
        if self.format.is_none() {
            let b = text.as_bytes();
            return crate::time::parse_event_time(b).or_else(|| crate::time::parse_clf(b));
        }
        let mut text = text.trim();
        // Seconds east of UTC that a trailing zone name says.
        let mut offset = 0;
        if self.zone_name {
            let (rest, zone) = text.rsplit_once(' ').unwrap_or(("", text));
            // With a numeric offset in the format too, the name only
            // repeats it (`+0900 JST`).
            if !self.has_zone {
                offset = crate::time::named_zone(zone.as_bytes())?;
            }
            text = rest.trim_end();
        }
        let to_utc = |t: i64| t.checked_sub(offset.checked_mul(NANOS_PER_SEC)?);
        if self.has_year {
            return to_utc(parse_with(&self.items, text, self.has_zone)?);
        }
        // No year: try this year, and last year if that is in the future.
        let year = DateTime::from_timestamp(now_ns.div_euclid(NANOS_PER_SEC), 0)?
            .format("%Y")
            .to_string();
        let with_year = |y: &str| {
            to_utc(parse_with(
                &self.items_with_year,
                &format!("{y} {text}"),
                self.has_zone,
            )?)
        };
        let t = with_year(&year)?;
        if t > now_ns.saturating_add(FUTURE_SLACK_NS) {
            let last: i64 = year.parse().ok()?;
            return with_year(&(last - 1).to_string());
        }
        Some(t)
    }
}

fn parse_with(items: &[Item<'static>], text: &str, has_zone: bool) -> Option<i64> {
    let mut p = Parsed::new();
    parse_items(&mut p, text, items.iter()).ok()?;
    if has_zone {
        return p.to_datetime().ok()?.timestamp_nanos_opt();
    }
    let naive = p
        .to_naive_datetime_with_offset(0)
        .ok()
        .or_else(|| p.to_naive_date().ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    naive.and_utc().timestamp_nanos_opt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_778_063_445 * NANOS_PER_SEC; // 2026-05-06T10:30:45Z

    fn at(rfc: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    fn p(format: Option<&str>, text: &str) -> Option<i64> {
        TimestampSpec::new("t", format).unwrap().parse(text, NOW)
    }

    #[test]
    fn strftime_formats() {
        assert_eq!(
            p(Some("%d/%b/%Y:%H:%M:%S %z"), "06/May/2026:10:30:45 +0900"),
            Some(at("2026-05-06T01:30:45Z"))
        );
        assert_eq!(
            p(Some("%Y-%m-%d %H:%M:%S%.f"), "2026-05-06 10:30:45.123"),
            Some(at("2026-05-06T10:30:45.123Z"))
        );
        assert_eq!(
            p(Some("%Y-%m-%d %H:%M:%S %Z"), "2026-05-06 10:30:45 UTC"),
            Some(at("2026-05-06T10:30:45Z"))
        );
        assert_eq!(
            p(Some("%Y-%m-%d %H:%M:%S %Z"), "2026-05-06 12:30:45 CEST"),
            Some(at("2026-05-06T10:30:45Z"))
        );
        // PostgreSQL's `%m` with a zone that has no abbreviation.
        assert_eq!(
            p(
                Some("%Y-%m-%d %H:%M:%S%.f %Z"),
                "2026-05-06 18:30:45.123 +08"
            ),
            Some(at("2026-05-06T10:30:45.123Z"))
        );
        assert_eq!(
            p(Some("%Y-%m-%d %H:%M:%S %Z"), "2026-05-06 06:30:45 edt"),
            Some(at("2026-05-06T10:30:45Z"))
        );
        // Ambiguous (India, Ireland, Israel) or unknown: does not read.
        assert_eq!(
            p(Some("%Y-%m-%d %H:%M:%S %Z"), "2026-05-06 10:30:45 IST"),
            None
        );
        assert_eq!(
            p(Some("%Y-%m-%d %H:%M:%S %Z"), "2026-05-06 10:30:45 XYZ"),
            None
        );
        // PostgreSQL on Asia/Shanghai writes CST (+8), on US Central too.
        assert_eq!(
            p(Some("%Y-%m-%d %H:%M:%S %Z"), "2026-05-06 10:30:45 CST"),
            None
        );
        // A numeric offset in the format wins; the name only repeats it.
        assert_eq!(
            p(
                Some("%Y-%m-%d %H:%M:%S %z %Z"),
                "2026-05-06 19:30:45 +0900 JST"
            ),
            Some(at("2026-05-06T10:30:45Z"))
        );
        // Yearless with a zone: the year is chosen on the UTC time.
        assert_eq!(
            p(Some("%b %d %H:%M:%S %Z"), "May 06 12:30:45 CEST"),
            Some(at("2026-05-06T10:30:45Z"))
        );
        assert_eq!(p(Some("%s"), "1778063445"), Some(NOW));
        assert_eq!(
            p(Some("%Y-%m-%d"), "2026-05-06"),
            Some(at("2026-05-06T00:00:00Z"))
        );
        assert_eq!(p(Some("%d/%b/%Y:%H:%M:%S %z"), "garbage"), None);
    }

    #[test]
    fn yearless_times_are_never_in_the_future() {
        let f = Some("%b %e %H:%M:%S");
        assert_eq!(p(f, "May  6 10:00:00"), Some(at("2026-05-06T10:00:00Z")));
        // Tomorrow-ish (within the slack) stays this year.
        assert_eq!(p(f, "May  6 23:00:00"), Some(at("2026-05-06T23:00:00Z")));
        // December read in May: last December.
        assert_eq!(p(f, "Dec 31 23:59:59"), Some(at("2025-12-31T23:59:59Z")));
    }

    #[test]
    fn default_reads_like_built_in_formats() {
        assert_eq!(p(None, "2026-05-06T10:30:45Z"), Some(NOW));
        assert_eq!(p(None, "1778063445"), Some(NOW));
        assert_eq!(p(None, "06/May/2026:19:30:45 +0900"), Some(NOW));
        assert_eq!(p(None, "yesterday"), None);
    }

    #[test]
    fn bad_formats_are_definition_errors() {
        assert!(TimestampSpec::new("t", Some("%Y-%Q")).is_err());
        assert!(TimestampSpec::new("t", Some("%Z %Y")).is_err());
    }
}
