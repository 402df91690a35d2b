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
//! A follow run lasts weeks, so the state is bounded ([`BurstTracker`]): the open group
//! (its first and last time, size and routes), a reorder buffer, and the most recent
//! bursts. An event waits in the buffer until it trails the newest event by more than the
//! reorder window (`lock_reorder_window`, 5 minutes by default when following); then
//! events are placed in time order. An event older than the last one placed is *late*:
//! counted and reported, in no group. Without a window (batch runs, whose input ends)
//! every event waits, so the answer is the sorted-list definition above exactly, up to
//! [`DEFAULT_MAX_PENDING`] waiting events (16 bytes each); past that the oldest are placed
//! early. At most [`DEFAULT_MAX_KEPT_BURSTS`] bursts are listed (the most recent); the
//! count covers all of them.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};

/// Events that may wait to be placed in time order (16 bytes each).
pub const DEFAULT_MAX_PENDING: usize = 1_000_000;

/// Bursts listed in a report (the most recent ones).
pub const DEFAULT_MAX_KEPT_BURSTS: usize = 1_000;

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

/// Bursts found, in time order, and the events that belong to none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BurstReport {
    /// The most recent bursts (all of them unless `omitted` > 0).
    pub bursts: Vec<Burst>,
    /// Bursts found, listed or not.
    pub bursts_total: u64,
    /// Older bursts not listed (the kept list is bounded).
    pub omitted: u64,
    /// Events placed in no burst.
    pub outside: u64,
    /// Events that came later than the reorder window allows: in no burst
    /// and not in `outside`.
    pub late: u64,
}

/// Streaming burst finder with bounded state (see the module docs).
///
/// Events wait in a reorder buffer until they are older than the newest
/// event seen minus the reorder window; then they are taken in time order
/// into the open group, which either grows or is closed (a burst, or
/// events outside any burst). Mergeable state is not needed: the command
/// feeds one tracker in input order, so the answer does not depend on the
/// number of threads.
#[derive(Debug, Clone)]
pub struct BurstTracker {
    spec: BurstSpec,
    /// How far (event time) an event may trail the newest one and still be
    /// placed in order; `None`: no limit (batch runs, whose input ends).
    reorder_ns: Option<i64>,
    /// Events not yet placed, smallest time first.
    pending: BinaryHeap<Reverse<(i64, u32)>>,
    max_pending: usize,
    newest: Option<i64>,
    /// Time of the last placed event: an event before it is late.
    placed_until: Option<i64>,
    open: Option<Group>,
    /// The most recent closed bursts (at most `max_kept`).
    kept: VecDeque<Burst>,
    max_kept: usize,
    closed_bursts: u64,
    outside: u64,
    late: u64,
    events: u64,
    route_names: Vec<Box<str>>,
    route_ids: HashMap<Box<str>, u32>,
}

/// The group being built: its first and last time, size and routes.
#[derive(Debug, Clone)]
struct Group {
    start: i64,
    last: i64,
    events: u64,
    routes: BTreeSet<u32>,
}

impl Default for BurstTracker {
    fn default() -> Self {
        Self::new(BurstSpec::default(), None)
    }
}

impl BurstTracker {
    /// A tracker for `spec` with this reorder window (`None`: unlimited, up
    /// to [`DEFAULT_MAX_PENDING`] waiting events).
    pub fn new(spec: BurstSpec, reorder_ns: Option<i64>) -> Self {
        BurstTracker {
            spec,
            reorder_ns: reorder_ns.map(|w| w.max(0)),
            pending: BinaryHeap::new(),
            max_pending: DEFAULT_MAX_PENDING,
            newest: None,
            placed_until: None,
            open: None,
            kept: VecDeque::new(),
            max_kept: DEFAULT_MAX_KEPT_BURSTS,
            closed_bursts: 0,
            outside: 0,
            late: 0,
            events: 0,
            route_names: Vec::new(),
            route_ids: HashMap::new(),
        }
    }

    /// The same tracker with other bounds (tests, and callers that know
    /// better).
    pub fn with_bounds(mut self, max_pending: usize, max_kept: usize) -> Self {
        self.max_pending = max_pending.max(1);
        self.max_kept = max_kept;
        self
    }

    /// Lock events seen (placed, waiting and late).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Records one lock event. Allocates only for a route name not seen
    /// before; route names are the capped ones, so they are few.
    pub fn push(&mut self, timestamp_ns: i64, route: Option<&str>) {
        self.events += 1;
        if self.placed_until.is_some_and(|p| timestamp_ns < p) {
            self.late += 1;
            return;
        }
        let r = match route {
            None => NO_ROUTE,
            Some(name) => self.route_index(name),
        };
        self.pending.push(Reverse((timestamp_ns, r)));
        self.newest = Some(self.newest.map_or(timestamp_ns, |n| n.max(timestamp_ns)));
        if let (Some(w), Some(newest)) = (self.reorder_ns, self.newest) {
            let horizon = newest.saturating_sub(w);
            while let Some(&Reverse((t, r))) = self.pending.peek() {
                if t >= horizon {
                    break;
                }
                self.pending.pop();
                self.place(t, r);
            }
        }
        while self.pending.len() > self.max_pending {
            let Reverse((t, r)) = self.pending.pop().expect("non-empty");
            self.place(t, r);
        }
    }

    fn route_index(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.route_ids.get(name) {
            return i;
        }
        // Names are capped routes (a few hundred); saturate rather than wrap.
        let i = (self.route_names.len() as u32).min(NO_ROUTE - 1);
        if (i as usize) < self.route_names.len() {
            return i;
        }
        let name: Box<str> = name.into();
        self.route_names.push(name.clone());
        self.route_ids.insert(name, i);
        i
    }

    /// Takes one event, in time order, into the open group.
    fn place(&mut self, t: i64, r: u32) {
        self.placed_until = Some(t);
        let gap = self.spec.max_gap_ns.max(0) as u64;
        match &mut self.open {
            // abs_diff avoids overflow between far-apart i64 timestamps.
            Some(g) if t.abs_diff(g.last) <= gap => {
                g.last = t;
                g.events += 1;
                if r != NO_ROUTE {
                    g.routes.insert(r);
                }
            }
            _ => {
                if let Some(g) = self.open.take() {
                    self.close(g);
                }
                self.open = Some(Group {
                    start: t,
                    last: t,
                    events: 1,
                    routes: (r != NO_ROUTE).then_some(r).into_iter().collect(),
                });
            }
        }
    }

    fn close(&mut self, g: Group) {
        if g.events >= self.spec.min_count {
            self.closed_bursts += 1;
            if self.max_kept > 0 {
                if self.kept.len() == self.max_kept {
                    self.kept.pop_front();
                }
                let burst = self.burst(&g);
                self.kept.push_back(burst);
            }
        } else {
            self.outside += g.events;
        }
    }

    fn burst(&self, g: &Group) -> Burst {
        let mut routes: Vec<String> = g
            .routes
            .iter()
            .map(|&r| self.route_names[r as usize].to_string())
            .collect();
        routes.sort_unstable();
        Burst {
            start_ns: g.start,
            end_ns: g.last,
            events: g.events,
            routes,
        }
    }

    /// The bursts so far, as if the input ended now: waiting events are
    /// placed in a copy, so `self` keeps accepting events.
    pub fn report(&self) -> BurstReport {
        let mut end = self.clone();
        while let Some(Reverse((t, r))) = end.pending.pop() {
            end.place(t, r);
        }
        if let Some(g) = end.open.take() {
            end.close(g);
        }
        let shown = end.kept.len() as u64;
        BurstReport {
            bursts: end.kept.into_iter().collect(),
            bursts_total: end.closed_bursts,
            omitted: end.closed_bursts - shown,
            outside: end.outside,
            late: end.late,
        }
    }
}

/// Convenience: the bursts of a list of events (unbounded storage; the caller owns it).
pub fn find_bursts(events: &[(i64, Option<String>)], spec: &BurstSpec) -> BurstReport {
    let mut c = BurstTracker::new(*spec, None).with_bounds(usize::MAX, usize::MAX);
    for (ts, route) in events {
        c.push(*ts, route.as_deref());
    }
    c.report()
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
    fn waiting_events_are_bounded() {
        // Without a window, past 5 waiting events the oldest is placed early;
        // then an event before it is late.
        let mut c = BurstTracker::new(BurstSpec::default(), None).with_bounds(5, 100);
        for i in 0..8 {
            c.push(i * SEC, Some("/a"));
        }
        assert_eq!(c.pending.len(), 5);
        c.push(0, Some("/a"));
        let r = c.report();
        assert_eq!(r.bursts.len(), 1);
        assert_eq!(r.bursts[0].events, 8);
        assert_eq!(r.late, 1);
        assert_eq!(r.outside, 0);
        assert_eq!(c.events(), 9);
    }

    /// Events out of order by less than the window give the exact answer;
    /// one older than the last placed event is late and joins nothing.
    #[test]
    fn reorder_window_and_late_events() {
        let spec = BurstSpec::default();
        let mut events = Vec::new();
        for i in 0..200i64 {
            // Clusters of 10 every hour, each cluster shuffled within 50 s.
            let ts = (i / 10) * 60 * MIN + ((i * 7) % 10) * 5 * SEC;
            events.push(ev(ts, Some(["/a", "/b", "/c"][(i % 3) as usize])));
        }
        let exact = find_bursts(&events, &spec);
        let mut c = BurstTracker::new(spec, Some(MIN));
        for (t, r) in &events {
            c.push(*t, r.as_deref());
        }
        assert_eq!(c.report(), exact);
        assert_eq!(exact.bursts.len(), 20);
        // At most a cluster's worth of events waits.
        assert!(c.pending.len() <= 10, "{}", c.pending.len());
        // An hour late: counted, not placed.
        c.push(0, Some("/z"));
        let r = c.report();
        assert_eq!(r.late, 1);
        assert_eq!(r.bursts, exact.bursts);
        assert_eq!(r.outside, exact.outside);
        // Older than the window but not older than the last placed event:
        // still in order, so it is placed.
        let mut c = BurstTracker::new(spec, Some(MIN));
        c.push(0, None);
        c.push(10 * MIN, None);
        c.push(5 * MIN, None);
        let r = c.report();
        assert_eq!(r.late, 0);
        assert_eq!(r.bursts.len(), 1);
        assert_eq!(r.bursts[0].events, 3);
    }

    #[test]
    fn kept_bursts_are_the_most_recent() {
        let spec = BurstSpec::parse("1/0s").unwrap();
        let mut c = BurstTracker::new(spec, Some(0)).with_bounds(10, 3);
        for i in 0..10 {
            c.push(i * MIN, None);
        }
        let r = c.report();
        assert_eq!(r.bursts_total, 10);
        assert_eq!(r.omitted, 7);
        let starts: Vec<i64> = r.bursts.iter().map(|b| b.start_ns / MIN).collect();
        assert_eq!(starts, vec![7, 8, 9]);
        // State stays small however many bursts pass.
        for i in 10..100_000 {
            c.push(i * MIN, None);
        }
        assert!(c.kept.len() <= 3 && c.pending.len() <= 1);
        assert_eq!(c.report().bursts_total, 100_000);
    }

    #[test]
    fn collector_keeps_accepting_after_report() {
        let mut c = BurstTracker::default();
        c.push(0, None);
        c.push(SEC, None);
        assert!(c.report().bursts.is_empty());
        c.push(2 * SEC, None);
        assert_eq!(c.report().bursts.len(), 1);
        assert_eq!(c.events(), 3);
    }
}
