//! Database-lock bursts: when did `database is locked` errors cluster, and where?
//!
//! Question answered: *"were there windows in which the database kept locking up, how
//! long, how many events, which routes were hit — and how many lock events were isolated
//! ones?"*
//!
//! # Definition
//! Lock events `(timestamp_ns, route)` arrive in any order (several inputs, parallel
//! workers). Sorted by time, consecutive events at most `max_gap` apart belong to one
//! group (a gap of exactly `max_gap` joins); a group of at least `min_count` events is a
//! [`Burst`]. Events in smaller groups are counted as `outside`. The CLI spec is
//! `--burst MIN/GAP`, default `3/5m` ([`BurstSpec::parse`]).
//!
//! # Memory
//! Bursts can only be found once all events are known (a late event may join two groups),
//! so events are stored: 16 bytes each plus one copy of each distinct route name. Lock
//! events are rare, and storage is capped ([`DEFAULT_MAX_EVENTS`] = 1 000 000 events,
//! about 16 MB); past the cap new events are not stored but counted in
//! [`LockEvents::dropped`], and bursts are computed over the stored events.

use std::collections::HashMap;

/// Default cap on stored lock events.
pub const DEFAULT_MAX_EVENTS: usize = 1_000_000;

/// Route index meaning "the event has no route".
const NO_ROUTE: u32 = u32::MAX;

/// Burst parameters: at least `min_count` events, consecutive ones at most `max_gap_ns`
/// apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstSpec {
    pub min_count: u64,
    pub max_gap_ns: i64,
}

impl Default for BurstSpec {
    /// `3/5m`, the documented default.
    fn default() -> Self {
        BurstSpec {
            min_count: 3,
            max_gap_ns: 5 * 60 * 1_000_000_000,
        }
    }
}

/// Why a `--burst` spec was rejected. The message names the spec and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid burst spec {spec:?}: {reason} (expected MIN/GAP, e.g. \"3/5m\": at least MIN \
     events, each at most GAP after the previous one)"
)]
pub struct BurstSpecError {
    spec: String,
    reason: String,
}

impl BurstSpec {
    /// Parses `MIN/GAP`: `MIN` a positive integer, `GAP` a duration as LogQL writes
    /// one (units `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, `d`, `w`, `y`), e.g. `5m`,
    /// `90s`, `1m30s`, `1.5h`, `0s`. Surrounding whitespace is ignored.
    pub fn parse(spec: &str) -> Result<BurstSpec, BurstSpecError> {
        let err = |reason: &str| BurstSpecError {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let s = spec.trim();
        let Some((min, gap)) = s.split_once('/') else {
            return Err(err("missing '/' between the minimum count and the gap"));
        };
        let min = min.trim();
        if min.is_empty() {
            return Err(err("missing minimum count before '/'"));
        }
        if !min.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(&format!(
                "minimum count {min:?} is not a positive integer"
            )));
        }
        let min_count: u64 = min
            .parse()
            .map_err(|_| err(&format!("minimum count {min:?} is too large")))?;
        if min_count == 0 {
            return Err(err("minimum count must be at least 1"));
        }
        let gap = gap.trim();
        if gap.is_empty() {
            return Err(err("missing gap after '/'"));
        }
        let max_gap_ns = parse_gap_ns(gap).map_err(|r| err(&r))?;
        Ok(BurstSpec {
            min_count,
            max_gap_ns,
        })
    }
}

impl std::str::FromStr for BurstSpec {
    type Err = BurstSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BurstSpec::parse(s)
    }
}

/// The gap as LogQL reads a duration ([`crate::units::parse_duration`]:
/// `5m`, `1m30s`, `1.5h`, `2d`), in nanoseconds, with the failure said in
/// terms of the spec. Units are required (a bare `300` is ambiguous) and a
/// negative gap means nothing.
fn parse_gap_ns(s: &str) -> Result<i64, String> {
    use crate::units::DurationErrorKind as K;
    const UNITS: &str = "ns, us, ms, s, m, h, d, w, y";
    let not_a_duration =
        || format!("gap {s:?} is not a duration (use a number and a unit: {UNITS})");
    if s.starts_with(['-', '+']) {
        return Err(not_a_duration());
    }
    crate::units::parse_duration(s).map_err(|e| match e.kind() {
        K::Syntax => not_a_duration(),
        K::MissingUnit => format!("gap {s:?} needs a unit ({UNITS})"),
        K::UnknownUnit(u) => format!("gap {s:?} has unknown unit {u:?} (use {UNITS})"),
        K::OutOfRange => format!("gap {s:?} is too large"),
    })
}

/// One burst: first and last event time, event count, and the distinct routes hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    pub start_ns: i64,
    pub end_ns: i64,
    pub events: u64,
    /// Distinct routes of the burst's events, sorted; events without a route add none.
    pub routes: Vec<String>,
}

/// Bursts found, in time order, and the stored events that belong to none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BurstReport {
    pub bursts: Vec<Burst>,
    /// Stored events not in any burst.
    pub outside: u64,
    /// Events not stored because of the cap (not in `bursts` nor in `outside`).
    pub dropped: u64,
}

/// Collector of lock events (bounded; see the module docs). Mergeable across workers.
#[derive(Debug, Clone)]
pub struct LockEvents {
    /// `(timestamp_ns, route index or NO_ROUTE)`.
    events: Vec<(i64, u32)>,
    route_names: Vec<Box<str>>,
    route_ids: HashMap<Box<str>, u32>,
    max_events: usize,
    dropped: u64,
}

impl Default for LockEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl LockEvents {
    /// A collector storing up to [`DEFAULT_MAX_EVENTS`] events.
    pub fn new() -> Self {
        Self::with_max_events(DEFAULT_MAX_EVENTS)
    }

    /// A collector storing up to `max_events` events.
    pub fn with_max_events(max_events: usize) -> Self {
        LockEvents {
            events: Vec::new(),
            route_names: Vec::new(),
            route_ids: HashMap::new(),
            max_events,
            dropped: 0,
        }
    }

    /// Records one lock event. Allocates only for a route name not seen before (and when
    /// the event vector grows).
    pub fn push(&mut self, timestamp_ns: i64, route: Option<&str>) {
        if self.events.len() >= self.max_events {
            self.dropped += 1;
            return;
        }
        let r = match route {
            None => NO_ROUTE,
            Some(name) => self.route_index(name),
        };
        self.events.push((timestamp_ns, r));
    }

    fn route_index(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.route_ids.get(name) {
            return i;
        }
        // Indices stay below NO_ROUTE because events (and so names) are capped far lower
        // in practice; saturate rather than wrap if someone sets a huge cap.
        let i = (self.route_names.len() as u32).min(NO_ROUTE - 1);
        if (i as usize) < self.route_names.len() {
            return i;
        }
        let name: Box<str> = name.into();
        self.route_names.push(name.clone());
        self.route_ids.insert(name, i);
        i
    }

    /// Number of stored events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is stored.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Events not stored because the cap was reached.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Adds `other`'s events (and its dropped count); the cap of `self` applies.
    pub fn merge(&mut self, other: &LockEvents) {
        self.dropped += other.dropped;
        for &(ts, r) in &other.events {
            let route = (r != NO_ROUTE).then(|| &*other.route_names[r as usize]);
            self.push(ts, route);
        }
    }

    /// The bursts under `spec`. Sorts a copy of the events; `self` is unchanged so more
    /// events can still be added.
    pub fn bursts(&self, spec: &BurstSpec) -> BurstReport {
        let mut events = self.events.clone();
        // Stable sort by time only: ties keep arrival order (which cannot change groups).
        events.sort_by_key(|&(ts, _)| ts);
        let mut report = BurstReport {
            dropped: self.dropped,
            ..BurstReport::default()
        };
        let gap = spec.max_gap_ns.max(0) as u64;
        let mut start = 0;
        while start < events.len() {
            let mut end = start + 1;
            // abs_diff avoids overflow between far-apart i64 timestamps.
            while end < events.len() && events[end].0.abs_diff(events[end - 1].0) <= gap {
                end += 1;
            }
            let group = &events[start..end];
            if group.len() as u64 >= spec.min_count {
                let mut routes: Vec<String> = group
                    .iter()
                    .filter(|&&(_, r)| r != NO_ROUTE)
                    .map(|&(_, r)| self.route_names[r as usize].to_string())
                    .collect();
                routes.sort_unstable();
                routes.dedup();
                report.bursts.push(Burst {
                    start_ns: group[0].0,
                    end_ns: group[group.len() - 1].0,
                    events: group.len() as u64,
                    routes,
                });
            } else {
                report.outside += group.len() as u64;
            }
            start = end;
        }
        report
    }
}

/// Convenience: the bursts of a list of events (unbounded storage; the caller owns it).
pub fn find_bursts(events: &[(i64, Option<String>)], spec: &BurstSpec) -> BurstReport {
    let mut c = LockEvents::with_max_events(usize::MAX);
    for (ts, route) in events {
        c.push(*ts, route.as_deref());
    }
    c.bursts(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;
    const MIN: i64 = 60 * SEC;

    fn ev(ts: i64, route: Option<&str>) -> (i64, Option<String>) {
        (ts, route.map(str::to_string))
    }

    #[test]
    fn parse_specs() {
        assert_eq!(
            BurstSpec::parse("3/5m"),
            Ok(BurstSpec {
                min_count: 3,
                max_gap_ns: 5 * MIN
            })
        );
        assert_eq!(BurstSpec::parse("3/5m").unwrap(), BurstSpec::default());
        assert_eq!(BurstSpec::parse(" 10/30s ").unwrap().max_gap_ns, 30 * SEC);
        assert_eq!(BurstSpec::parse("2/1m30s").unwrap().max_gap_ns, 90 * SEC);
        assert_eq!(BurstSpec::parse("2/250ms").unwrap().max_gap_ns, SEC / 4);
        assert_eq!(BurstSpec::parse("2/1h").unwrap().max_gap_ns, 60 * MIN);
        assert_eq!(BurstSpec::parse("2/1d").unwrap().max_gap_ns, 24 * 60 * MIN);
        assert_eq!(BurstSpec::parse("2/7us").unwrap().max_gap_ns, 7_000);
        assert_eq!(BurstSpec::parse("2/7µs").unwrap().max_gap_ns, 7_000);
        assert_eq!(BurstSpec::parse("2/9ns").unwrap().max_gap_ns, 9);
        assert_eq!(BurstSpec::parse("1/0s").unwrap().max_gap_ns, 0);
        // LogQL's durations: fractions as Go reads them, weeks as Prometheus
        assert_eq!(BurstSpec::parse("3/1.5h").unwrap().max_gap_ns, 90 * MIN);
        assert_eq!(
            BurstSpec::parse("3/1w").unwrap().max_gap_ns,
            7 * 24 * 60 * MIN
        );
        assert_eq!("4/2m".parse::<BurstSpec>().unwrap().min_count, 4);
    }

    #[test]
    fn parse_errors_are_clear() {
        let cases = [
            ("x/5m", "minimum count \"x\" is not a positive integer"),
            ("3/", "missing gap"),
            ("0/5m", "at least 1"),
            ("", "missing '/'"),
            ("3", "missing '/'"),
            ("/5m", "missing minimum count"),
            ("-1/5m", "not a positive integer"),
            ("3/5", "needs a unit"),
            ("3/5x", "unknown unit \"x\""),
            ("3/m", "not a duration"),
            ("3/-5m", "not a duration"),
            ("3/5m/2", "unknown unit \"m/\""),
            ("99999999999999999999/5m", "too large"),
            ("3/999999999999d", "too large"),
            ("3/1.5d", "unknown unit \"d\""),
        ];
        for (spec, want) in cases {
            let e = BurstSpec::parse(spec).expect_err(spec).to_string();
            assert!(e.contains(want), "{spec:?}: {e}");
            assert!(e.contains("expected MIN/GAP"), "{spec:?}: {e}");
        }
        // The whole message, word for word.
        assert_eq!(
            BurstSpec::parse("3").unwrap_err().to_string(),
            "invalid burst spec \"3\": missing '/' between the minimum count and the gap \
             (expected MIN/GAP, e.g. \"3/5m\": at least MIN events, each at most GAP after \
             the previous one)"
        );
    }

    #[test]
    fn gap_boundary() {
        let spec = BurstSpec::default();
        // Gaps of exactly 5 minutes join.
        let joined = find_bursts(&[ev(0, None), ev(5 * MIN, None), ev(10 * MIN, None)], &spec);
        assert_eq!(joined.bursts.len(), 1);
        assert_eq!(joined.bursts[0].events, 3);
        assert_eq!(joined.bursts[0].start_ns, 0);
        assert_eq!(joined.bursts[0].end_ns, 10 * MIN);
        assert_eq!(joined.outside, 0);
        // 5 minutes + 1 ns splits: groups of 2 and 1, no burst.
        let split = find_bursts(
            &[ev(0, None), ev(5 * MIN, None), ev(10 * MIN + 1, None)],
            &spec,
        );
        assert_eq!(split.bursts, vec![]);
        assert_eq!(split.outside, 3);
    }

    #[test]
    fn unsorted_input_and_routes() {
        let spec = BurstSpec::default();
        let events = vec![
            ev(100 * MIN + 2 * SEC, Some("/b")),
            ev(30 * MIN, Some("/x")), // isolated
            ev(100 * MIN, Some("/b")),
            ev(100 * MIN + SEC, Some("/a")),
            ev(100 * MIN + 3 * SEC, None),
            ev(200 * MIN, Some("/c")),
            ev(201 * MIN, Some("/c")),
            ev(202 * MIN, Some("/c")),
        ];
        let r = find_bursts(&events, &spec);
        assert_eq!(
            r.bursts,
            vec![
                Burst {
                    start_ns: 100 * MIN,
                    end_ns: 100 * MIN + 3 * SEC,
                    events: 4,
                    routes: vec!["/a".into(), "/b".into()],
                },
                Burst {
                    start_ns: 200 * MIN,
                    end_ns: 202 * MIN,
                    events: 3,
                    routes: vec!["/c".into()],
                },
            ]
        );
        assert_eq!(r.outside, 1);
        // Any permutation gives the same report.
        let mut rev = events.clone();
        rev.reverse();
        assert_eq!(find_bursts(&rev, &spec), r);
    }

    #[test]
    fn group_of_two_is_not_a_burst() {
        let r = find_bursts(
            &[ev(0, Some("/a")), ev(SEC, Some("/a"))],
            &BurstSpec::default(),
        );
        assert!(r.bursts.is_empty());
        assert_eq!(r.outside, 2);
        // With min 2 it is.
        let spec = BurstSpec::parse("2/5m").unwrap();
        let r = find_bursts(&[ev(0, Some("/a")), ev(SEC, Some("/a"))], &spec);
        assert_eq!(r.bursts.len(), 1);
        assert_eq!(r.outside, 0);
    }

    #[test]
    fn outside_count_mixed() {
        // Isolated, pair, burst of 3, isolated.
        let ts = [
            0,
            20 * MIN,
            21 * MIN,
            40 * MIN,
            41 * MIN,
            42 * MIN,
            90 * MIN,
        ];
        let events: Vec<_> = ts.iter().map(|&t| ev(t, None)).collect();
        let r = find_bursts(&events, &BurstSpec::default());
        assert_eq!(r.bursts.len(), 1);
        assert_eq!(r.bursts[0].events, 3);
        assert!(r.bursts[0].routes.is_empty());
        assert_eq!(r.outside, 4);
        let in_bursts: u64 = r.bursts.iter().map(|b| b.events).sum();
        assert_eq!(in_bursts + r.outside, ts.len() as u64);
    }

    #[test]
    fn empty_same_timestamps_and_extremes() {
        let r = find_bursts(&[], &BurstSpec::default());
        assert_eq!(r, BurstReport::default());
        // Identical timestamps with a zero gap form one group.
        let spec = BurstSpec::parse("3/0s").unwrap();
        let same: Vec<_> = (0..3).map(|_| ev(42, Some("/a"))).collect();
        let r = find_bursts(&same, &spec);
        assert_eq!(r.bursts.len(), 1);
        assert_eq!(r.bursts[0].start_ns, 42);
        assert_eq!(r.bursts[0].end_ns, 42);
        // Extreme timestamps do not overflow.
        let ext = [ev(i64::MIN, None), ev(0, None), ev(i64::MAX, None)];
        let r = find_bursts(&ext, &BurstSpec::default());
        assert_eq!(r.outside, 3);
        let wide = BurstSpec {
            min_count: 3,
            max_gap_ns: i64::MAX,
        };
        // i64::MIN → 0 is 2^63 ns, one more than the widest gap; MIN + 1 → 0 fits.
        assert_eq!(find_bursts(&ext, &wide).bursts.len(), 0);
        let ext2 = [ev(i64::MIN + 1, None), ev(0, None), ev(i64::MAX, None)];
        assert_eq!(find_bursts(&ext2, &wide).bursts.len(), 1);
        // A negative gap (only constructible directly) is treated as 0.
        let neg = BurstSpec {
            min_count: 1,
            max_gap_ns: -5,
        };
        assert_eq!(
            find_bursts(&[ev(1, None), ev(1, None)], &neg).bursts.len(),
            1
        );
    }

    #[test]
    fn cap_counts_dropped_events() {
        let mut c = LockEvents::with_max_events(5);
        for i in 0..8 {
            c.push(i * SEC, Some("/a"));
        }
        assert_eq!(c.len(), 5);
        assert_eq!(c.dropped(), 3);
        let r = c.bursts(&BurstSpec::default());
        assert_eq!(r.bursts.len(), 1);
        assert_eq!(r.bursts[0].events, 5);
        assert_eq!(r.dropped, 3);
        assert_eq!(r.outside, 0);
    }

    #[test]
    fn merge_workers_equals_single_collector() {
        let mut all = LockEvents::new();
        let mut w1 = LockEvents::new();
        let mut w2 = LockEvents::new();
        for i in 0..100i64 {
            // Clusters every 20 events, routes cycling.
            let ts = (i / 20) * 60 * MIN + (i % 20) * 10 * SEC;
            let route = ["/a", "/b", "/c"][(i % 3) as usize];
            let route = (i % 7 != 0).then_some(route);
            all.push(ts, route);
            if i % 2 == 0 {
                w1.push(ts, route);
            } else {
                w2.push(ts, route);
            }
        }
        w2.merge(&w1);
        let spec = BurstSpec::default();
        assert_eq!(w2.bursts(&spec), all.bursts(&spec));
        assert_eq!(all.bursts(&spec).bursts.len(), 5);
        // Dropped counts carry over a merge.
        let mut small = LockEvents::with_max_events(10);
        small.merge(&all);
        assert_eq!(small.len(), 10);
        assert_eq!(small.dropped(), 90);
    }

    #[test]
    fn collector_keeps_accepting_after_report() {
        let mut c = LockEvents::new();
        c.push(0, None);
        c.push(SEC, None);
        assert!(c.bursts(&BurstSpec::default()).bursts.is_empty());
        c.push(2 * SEC, None);
        assert_eq!(c.bursts(&BurstSpec::default()).bursts.len(), 1);
        assert!(!c.is_empty());
    }
}
