//! The metrics engine: what each record contributes, and how contributions
//! merge.
//!
//! Workers turn a chunk of lines into a [`ChunkAgg`] (every key it saw, in
//! the order it saw them); the command merges chunks into a [`Totals`] in
//! input order, which is where the cardinality caps apply ("the first 200
//! routes seen"), so the answer does not depend on the number of threads.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use regex::bytes::Regex;

use super::bursts::{self, BurstSpec};
use super::normalize::normalize_query;
use super::roles::{LatencyUnit, Roles};
use super::route::normalize_route;
use super::sketch::QuantileSketch;
use super::topk::TopCounter;
use crate::record::Fields;

/// The label value that collects everything past a cap.
pub const OTHER: &str = "_other_";
/// The route of a request that names none.
pub const NO_ROUTE: &str = "_unknown_";

/// Default series cap of a labelled family ([`MetricsConfig::series_cap`]).
pub const DEFAULT_SERIES_CAP: usize = 1_000;

/// Reorder window for lock events when following (event time).
pub const FOLLOW_LOCK_REORDER_NS: i64 = 5 * 60 * 1_000_000_000;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What the engine derives, and its limits.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub roles: Roles,
    /// Requests slower than this are slow.
    pub slow_ms: f64,
    /// A record whose line matches is a DB lock event.
    pub lock_re: Regex,
    pub burst: BurstSpec,
    /// How far (event time) a lock event may trail the newest one and still
    /// be placed in order; `None`: no limit (a batch run's default).
    pub lock_reorder_ns: Option<i64>,
    /// Series of a labelled family (`http_requests_total`, the Convex
    /// executions) before new label combinations are folded.
    pub series_cap: usize,
    /// How many top queries are named (the rest is `_other_`).
    pub top: usize,
    pub route_cap: usize,
    pub event_cap: usize,
    pub function_cap: usize,
    /// Distinct queries counted exactly before switching to a bounded sketch.
    pub query_capacity: usize,
    /// Width of `--window` in nanoseconds.
    pub window_ns: Option<i64>,
    /// Per rule counter: its series cap (`max_series`).
    pub counter_caps: Vec<usize>,
}

impl MetricsConfig {
    /// The start of the `--window` a time falls in (0 without windows).
    pub fn window_of(&self, t: i64) -> i64 {
        match self.window_ns {
            Some(w) if w > 0 => t - t.rem_euclid(w),
            _ => 0,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            roles: Roles::default(),
            slow_ms: 1000.0,
            lock_re: Regex::new("database is locked").expect("valid default regex"),
            burst: BurstSpec::default(),
            lock_reorder_ns: None,
            series_cap: DEFAULT_SERIES_CAP,
            top: 20,
            route_cap: 200,
            event_cap: 200,
            function_cap: 200,
            query_capacity: 100_000,
            window_ns: None,
            counter_caps: Vec::new(),
        }
    }
}

/// A borrowed `(method, status)` key: hashes and compares like the owned
/// `(String, u16)` keys of [`RouteAgg::by_method_status`].
#[derive(Hash)]
struct MethodKey<'a>(&'a str, u16);

impl indexmap::Equivalent<(String, u16)> for MethodKey<'_> {
    fn equivalent(&self, key: &(String, u16)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// Per-route request figures.
#[derive(Debug, Clone, Default)]
pub struct RouteAgg {
    pub requests: u64,
    pub errors_5xx: u64,
    pub slow: u64,
    pub lock_events: u64,
    pub latency: QuantileSketch,
    /// Non-cumulative counts per bucket of [`LATENCY_BUCKETS`], plus +Inf.
    pub buckets: [u64; LATENCY_BUCKETS.len() + 1],
    pub latency_sum_s: f64,
    /// Requests by (method, status).
    pub by_method_status: IndexMap<(String, u16), u64>,
}

/// Distinct HTTP methods named before the rest is `_other_` (real logs
/// have a handful; a hostile stream could have millions).
pub const METHOD_CAP: usize = 16;

/// Distinct Convex function statuses named before the rest is `_other_`
/// (Convex reports `success` and `failure`).
pub const STATUS_CAP: usize = 16;

/// The series a capped family has named so far, and the records folded
/// past its cap ([`MetricsConfig::series_cap`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeriesBudget {
    pub named: usize,
    pub folded: u64,
}

/// The status key of requests folded past the series cap: the class
/// (1–5, written `1xx`–`5xx`), never a real status (those are 100–599).
pub fn folded_status(status: u16) -> u16 {
    status / 100
}

impl RouteAgg {
    /// Merges `o`; a method not among `methods` joins them while there is
    /// room, else it is counted as `_other_`; a (method, status) pair new to
    /// the family past its series cap is folded to (`_other_`, class).
    fn merge(
        &mut self,
        o: &RouteAgg,
        methods: &mut HashSet<String>,
        series: &mut SeriesBudget,
        series_cap: usize,
    ) {
        self.requests += o.requests;
        self.errors_5xx += o.errors_5xx;
        self.slow += o.slow;
        self.lock_events += o.lock_events;
        self.latency.merge(&o.latency);
        for (a, b) in self.buckets.iter_mut().zip(o.buckets.iter()) {
            *a += b;
        }
        self.latency_sum_s += o.latency_sum_s;
        for ((m, status), v) in &o.by_method_status {
            // Usually the route has the pair already: no copy, no cap check.
            if let Some(n) = self.by_method_status.get_mut(&MethodKey(m, *status)) {
                *n += v;
                continue;
            }
            let m = if m == OTHER || methods.contains(m) {
                m.clone()
            } else if methods.len() < METHOD_CAP {
                methods.insert(m.clone());
                m.clone()
            } else {
                OTHER.to_string()
            };
            let key = (m, *status);
            if let Some(n) = self.by_method_status.get_mut(&key) {
                *n += v;
            } else if *status < 100 || series.named < series_cap {
                // Folded keys (status < 100) are bounded by routes × 5.
                series.named += usize::from(*status >= 100);
                self.by_method_status.insert(key, *v);
            } else {
                series.folded += v;
                *self
                    .by_method_status
                    .entry((OTHER.to_string(), folded_status(*status)))
                    .or_default() += v;
            }
        }
    }

    fn observe_latency(&mut self, ms: f64) {
        self.latency.add(ms);
        let s = ms / 1000.0;
        let i = LATENCY_BUCKETS
            .iter()
            .position(|&b| s <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i] += 1;
        self.latency_sum_s += s;
    }
}

/// Convex function executions of one (function, status).
#[derive(Debug, Clone, Default)]
pub struct FunctionAgg {
    pub executions: u64,
    pub buckets: [u64; LATENCY_BUCKETS.len() + 1],
    pub seconds_sum: f64,
}

/// Everything derived from some records (one chunk, one window, or all).
#[derive(Debug, Clone, Default)]
pub struct Agg {
    pub lines: u64,
    pub records: u64,
    pub malformed: u64,
    /// Records without an integer status (left out of request metrics).
    pub without_status: u64,
    /// Requests without a readable latency.
    pub without_latency: u64,
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// Fraction digits of the data's timestamps (reports print as many).
    pub ts_digits: u8,
    pub by_status: IndexMap<u16, u64>,
    pub routes: IndexMap<String, RouteAgg>,
    /// A chunk's lock events: (time, route), handed to `locks` on merge.
    pub lock_events: Vec<(i64, Option<String>)>,
    /// Bursts of the lock events merged so far (bounded state).
    pub locks: bursts::BurstTracker,
    pub queries: TopCounter,
    pub events: IndexMap<String, u64>,
    pub levels: IndexMap<String, u64>,
    pub functions: IndexMap<(String, String), FunctionAgg>,
    /// Rule counters: (rule index, label values) → records.
    pub counters: IndexMap<(usize, Vec<String>), u64>,
    /// The distinct function names among `functions` (`_other_` aside)
    /// and the series of each rule counter, kept beside the maps so a cap
    /// is checked in constant time, not by a scan per key merged.
    function_names: HashSet<String>,
    counter_series: HashMap<usize, usize>,
    /// The Convex statuses named so far (at most [`STATUS_CAP`]).
    function_statuses: HashSet<String>,
    /// The HTTP methods named so far (at most [`METHOD_CAP`]); others are
    /// counted as `_other_` as they are merged, not only when printed.
    method_names: HashSet<String>,
    /// Series of `http_requests_total` and of the Convex executions.
    pub request_series: SeriesBudget,
    pub function_series: SeriesBudget,
}

impl Agg {
    pub fn new(cfg: &MetricsConfig) -> Agg {
        Agg {
            queries: TopCounter::new(cfg.query_capacity),
            locks: bursts::BurstTracker::new(cfg.burst, cfg.lock_reorder_ns),
            ..Agg::default()
        }
    }

    /// Requests in total.
    pub fn requests(&self) -> u64 {
        self.by_status.values().sum()
    }

    pub fn class_count(&self, class: u16) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| **s / 100 == class)
            .map(|(_, n)| n)
            .sum()
    }

    /// All request latencies, over every route.
    pub fn latency(&self) -> QuantileSketch {
        let mut s = QuantileSketch::new();
        for r in self.routes.values() {
            s.merge(&r.latency);
        }
        s
    }

    /// Merges `o` (which comes after `self` in input order) into `self`,
    /// applying the caps: keys beyond a cap are folded into `_other_`.
    pub fn merge(&mut self, o: &Agg, cfg: &MetricsConfig) {
        self.lines += o.lines;
        self.records += o.records;
        self.malformed += o.malformed;
        self.without_status += o.without_status;
        self.without_latency += o.without_latency;
        self.first_ns = min_opt(self.first_ns, o.first_ns);
        self.last_ns = max_opt(self.last_ns, o.last_ns);
        self.ts_digits = self.ts_digits.max(o.ts_digits);
        for (k, v) in &o.by_status {
            *self.by_status.entry(*k).or_default() += v;
        }
        if self.method_names.is_empty() {
            for r in self.routes.values() {
                for (m, _) in r.by_method_status.keys() {
                    if m != OTHER && self.method_names.len() < METHOD_CAP {
                        self.method_names.insert(m.clone());
                    }
                }
            }
        }
        if self.request_series.named == 0 {
            self.request_series.named = self
                .routes
                .values()
                .flat_map(|r| r.by_method_status.keys())
                .filter(|(_, s)| *s >= 100)
                .count();
        }
        self.request_series.folded += o.request_series.folded;
        for (route, agg) in &o.routes {
            let key = capped_key(&self.routes, route, cfg.route_cap);
            self.routes.entry(key).or_default().merge(
                agg,
                &mut self.method_names,
                &mut self.request_series,
                cfg.series_cap,
            );
        }
        for (t, r) in &o.lock_events {
            let r = r
                .as_ref()
                .map(|r| capped_key(&self.routes, r, cfg.route_cap));
            self.locks.push(*t, r.as_deref());
        }
        self.queries.merge(&o.queries);
        for (k, v) in &o.events {
            let key = capped_key(&self.events, k, cfg.event_cap);
            *self.events.entry(key).or_default() += v;
        }
        for (k, v) in &o.levels {
            let key = capped_key(&self.levels, k, cfg.event_cap);
            *self.levels.entry(key).or_default() += v;
        }
        self.index_caps();
        self.function_series.folded += o.function_series.folded;
        for ((rule, values), n) in &o.counters {
            let key = (*rule, values.clone());
            let key = if self.counters.contains_key(&key) {
                key
            } else {
                let series = self.counter_series.entry(*rule).or_default();
                let cap = cfg.counter_caps.get(*rule).copied().unwrap_or(100);
                if *series < cap {
                    *series += 1;
                    key
                } else {
                    (*rule, values.iter().map(|_| OTHER.to_string()).collect())
                }
            };
            *self.counters.entry(key).or_default() += n;
        }
        for ((f, st), agg) in &o.functions {
            let f = if f == OTHER || self.function_names.contains(f) {
                f.clone()
            } else if self.function_names.len() < cfg.function_cap {
                self.function_names.insert(f.clone());
                f.clone()
            } else {
                OTHER.to_string()
            };
            let st = if st == OTHER || self.function_statuses.contains(st) {
                st.clone()
            } else if self.function_statuses.len() < STATUS_CAP {
                self.function_statuses.insert(st.clone());
                st.clone()
            } else {
                OTHER.to_string()
            };
            let key = (f, st);
            // `(f, _other_)` keys are bounded by the function cap and not counted.
            let key = if self.functions.contains_key(&key) || key.1 == OTHER {
                key
            } else if self.function_series.named < cfg.series_cap {
                self.function_series.named += 1;
                key
            } else {
                // Past the family's cap the status is folded; the function
                // keeps its name (functions are capped on their own).
                self.function_series.folded += agg.executions;
                (key.0, OTHER.to_string())
            };
            let e = self.functions.entry(key).or_default();
            e.executions += agg.executions;
            e.seconds_sum += agg.seconds_sum;
            for (a, b) in e.buckets.iter_mut().zip(agg.buckets.iter()) {
                *a += b;
            }
        }
    }

    /// Builds the cap indexes of maps filled without `merge` (a chunk's
    /// own observations), once.
    fn index_caps(&mut self) {
        if self.function_names.is_empty() && !self.functions.is_empty() {
            self.function_names = self
                .functions
                .keys()
                .map(|(f, _)| f)
                .filter(|f| *f != OTHER)
                .cloned()
                .collect();
            self.function_statuses = self
                .functions
                .keys()
                .map(|(_, s)| s)
                .filter(|s| *s != OTHER)
                .cloned()
                .collect();
            // `(f, _other_)` keys are not counted (see `merge`).
            self.function_series.named = self.functions.keys().filter(|(_, s)| *s != OTHER).count();
        }
        if self.counter_series.is_empty() && !self.counters.is_empty() {
            for ((rule, values), _) in &self.counters {
                if values.iter().any(|v| v != OTHER) {
                    *self.counter_series.entry(*rule).or_default() += 1;
                }
            }
        }
    }

    /// Counts one record for rule counter `rule` with these label values.
    pub fn count_rule(&mut self, rule: usize, values: Vec<String>) {
        *self.counters.entry((rule, values)).or_default() += 1;
    }

    /// Bursts of lock events so far (in time order).
    pub fn bursts(&self) -> bursts::BurstReport {
        if self.lock_events.is_empty() {
            return self.locks.report();
        }
        // A chunk's own events, not merged anywhere yet.
        let mut locks = self.locks.clone();
        for (t, r) in &self.lock_events {
            locks.push(*t, r.as_deref());
        }
        locks.report()
    }

    /// Lock events seen (in bursts, outside them, or late).
    pub fn lock_event_count(&self) -> u64 {
        self.locks.events() + self.lock_events.len() as u64
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// `key` if it is already present or there is room under `cap`, else
/// `_other_` (which does not count against the cap).
fn capped_key<V>(map: &IndexMap<String, V>, key: &str, cap: usize) -> String {
    if map.contains_key(key) {
        return key.to_string();
    }
    let named = map.len() - usize::from(map.contains_key(OTHER));
    if named < cap && key != OTHER {
        key.to_string()
    } else {
        OTHER.to_string()
    }
}

/// A chunk's contribution: one [`Agg`] per window (one in all without
/// `--window`), keyed by the window's start.
#[derive(Debug, Default)]
pub struct ChunkAgg {
    pub windows: IndexMap<i64, Agg>,
}

/// Reused scratch for observing records.
#[derive(Default)]
pub struct Observer {
    route: String,
    query: String,
}

fn first<'a>(fields: &'a Fields, names: &[String]) -> Option<&'a str> {
    names.iter().find_map(|n| fields.get(n))
}

/// An integer HTTP status (100–599).
fn parse_status(v: &str) -> Option<u16> {
    let s: u16 = v.trim().parse().ok()?;
    (100..=599).contains(&s).then_some(s)
}

impl Observer {
    /// Adds one line to `chunk`. `record` says whether it decoded
    /// completely; `ts` is its event time if it has one. `raw_query_field`
    /// says the format's `query` field is a raw query string (nginx), not a
    /// search query: only `q` is read then.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        chunk: &mut ChunkAgg,
        cfg: &MetricsConfig,
        fields: &Fields,
        line: &[u8],
        ts: Option<i64>,
        arrival_ns: i64,
        record: bool,
        raw_query_field: bool,
    ) {
        let window = cfg.window_of(ts.unwrap_or(arrival_ns));
        let t = ts.unwrap_or(arrival_ns);
        let agg = chunk.windows.entry(window).or_insert_with(|| Agg::new(cfg));
        agg.lines += 1;
        if !record {
            agg.malformed += 1;
            return;
        }
        agg.records += 1;
        if let Some(ts) = ts {
            agg.first_ns = min_opt(agg.first_ns, Some(ts));
            agg.last_ns = max_opt(agg.last_ns, Some(ts));
            if let Some(v) = crate::decode::TIME_FIELDS
                .iter()
                .find_map(|n| fields.get(n))
            {
                agg.ts_digits = agg
                    .ts_digits
                    .max(crate::time::fraction_digits(v.as_bytes()));
            }
        }
        let roles = &cfg.roles;
        // Route, used by requests and lock events.
        self.route.clear();
        let has_route = match first(fields, &roles.route) {
            Some(r) if !r.is_empty() => {
                normalize_route(r, &mut self.route);
                // Label values stay short: routes are cut like queries.
                let cut = super::normalize::truncate_label(&self.route, 64).len();
                self.route.truncate(cut);
                true
            }
            _ => false,
        };
        let route_name: &str = if has_route { &self.route } else { NO_ROUTE };
        if cfg.lock_re.is_match(line) {
            agg.lock_events
                .push((t, has_route.then(|| self.route.clone())));
            if has_route {
                agg.routes
                    .entry(self.route.clone())
                    .or_default()
                    .lock_events += 1;
            }
        }
        // Requests: records with an integer status.
        let status = first(fields, &roles.status).and_then(parse_status);
        match status {
            Some(status) => {
                *agg.by_status.entry(status).or_default() += 1;
                let method = first(fields, &roles.method).unwrap_or("");
                let r = match agg.routes.get_mut(route_name) {
                    Some(r) => r,
                    None => agg.routes.entry(route_name.to_string()).or_default(),
                };
                r.requests += 1;
                if status >= 500 {
                    r.errors_5xx += 1;
                }
                // Logged methods are almost always upper case already: look
                // them up by reference, allocating a key only for new ones.
                let upper = !method.bytes().any(|b| b.is_ascii_lowercase());
                let hit = if upper {
                    r.by_method_status.get_mut(&MethodKey(method, status))
                } else {
                    None
                };
                match hit {
                    Some(n) => *n += 1,
                    None => {
                        *r.by_method_status
                            .entry((method.to_ascii_uppercase(), status))
                            .or_default() += 1;
                    }
                }
                let latency = roles.latency.iter().find_map(|(n, unit)| {
                    let v: f64 = fields.get(n)?.trim().parse().ok()?;
                    let ms = match unit {
                        LatencyUnit::Millis => v,
                        LatencyUnit::Seconds => v * 1000.0,
                    };
                    (ms.is_finite() && ms >= 0.0).then_some(ms)
                });
                match latency {
                    Some(ms) => {
                        r.observe_latency(ms);
                        if ms > cfg.slow_ms {
                            r.slow += 1;
                        }
                    }
                    None => agg.without_latency += 1,
                }
            }
            None => agg.without_status += 1,
        }
        // Search queries.
        let q = roles
            .query
            .iter()
            .filter(|n| !(raw_query_field && n.as_str() == "query"))
            .find_map(|n| fields.get(n));
        if let Some(q) = q {
            self.query.clear();
            normalize_query(q, &mut self.query);
            if !self.query.is_empty() {
                agg.queries.add(&self.query, 1);
            }
        }
        if let Some(e) = first(fields, &roles.event) {
            let e = super::normalize::truncate_label(e, 64);
            match agg.events.get_mut(e) {
                Some(n) => *n += 1,
                None => {
                    agg.events.insert(e.to_string(), 1);
                }
            }
        }
        if let Some(l) = first(fields, &roles.level) {
            let l = super::normalize::truncate_label(l, 64);
            match agg
                .levels
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case(l))
            {
                Some((_, n)) => *n += 1,
                None => {
                    agg.levels.insert(l.to_ascii_lowercase(), 1);
                }
            }
        }
        // A Convex event other than a function execution (a console line
        // names its function too) is no execution.
        let execution = fields
            .get("topic")
            .is_none_or(|t| t == "function_execution");
        if let Some(f) = first(fields, &roles.function).filter(|_| execution) {
            let st = first(fields, &roles.function_status).unwrap_or("unknown");
            let key = (
                super::normalize::truncate_label(f, 128).to_string(),
                super::normalize::truncate_label(st, 64).to_string(),
            );
            let e = agg.functions.entry(key).or_default();
            e.executions += 1;
            let secs = roles.latency.iter().find_map(|(n, unit)| {
                let v: f64 = fields.get(n)?.trim().parse().ok()?;
                let s = match unit {
                    LatencyUnit::Millis => v / 1000.0,
                    LatencyUnit::Seconds => v,
                };
                (s.is_finite() && s >= 0.0).then_some(s)
            });
            if let Some(s) = secs {
                let i = LATENCY_BUCKETS
                    .iter()
                    .position(|&b| s <= b)
                    .unwrap_or(LATENCY_BUCKETS.len());
                e.buckets[i] += 1;
                e.seconds_sum += s;
            }
        }
    }
}

/// The running result: totals over everything, and per window.
#[derive(Debug)]
pub struct Totals {
    pub all: Agg,
    pub windows: std::collections::BTreeMap<i64, Agg>,
}

impl Totals {
    pub fn new(cfg: &MetricsConfig) -> Totals {
        Totals {
            all: Agg::new(cfg),
            windows: Default::default(),
        }
    }

    /// Folds in the next chunk (chunks must come in input order).
    pub fn add_chunk(&mut self, chunk: &ChunkAgg, cfg: &MetricsConfig) {
        for (w, agg) in &chunk.windows {
            self.all.merge(agg, cfg);
            if cfg.window_ns.is_some() {
                self.windows
                    .entry(*w)
                    .or_insert_with(|| Agg::new(cfg))
                    .merge(agg, cfg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn functions(names: &[(&str, &str)]) -> Agg {
        let mut a = Agg::default();
        for (f, st) in names {
            let e = a
                .functions
                .entry((f.to_string(), st.to_string()))
                .or_default();
            e.executions += 1;
        }
        a
    }

    /// The cap counts distinct names: a function seen with two statuses is
    /// one name (the old count deduplicated an unsorted list, so names
    /// under the cap were folded into `_other_`).
    #[test]
    fn function_cap_counts_distinct_names() {
        let cfg = MetricsConfig {
            function_cap: 3,
            ..MetricsConfig::default()
        };
        let mut total = Agg::new(&cfg);
        total.merge(
            &functions(&[("a", "success"), ("b", "success"), ("a", "failure")]),
            &cfg,
        );
        total.merge(&functions(&[("c", "success"), ("d", "success")]), &cfg);
        let names: Vec<&str> = total.functions.keys().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["a", "b", "a", "c", OTHER]);
    }

    /// Methods are capped as they are merged: 100,000 distinct methods
    /// leave 16 named and the rest in `_other_`, counted.
    #[test]
    fn methods_are_capped_when_merged() {
        let cfg = MetricsConfig::default();
        let mut chunk = Agg::default();
        let route = chunk.routes.entry("/a".to_string()).or_default();
        for i in 0..100_000 {
            route.by_method_status.insert((format!("M{i}"), 200), 1);
        }
        let mut total = Agg::new(&cfg);
        total.merge(&chunk, &cfg);
        let r = &total.routes["/a"];
        assert_eq!(r.by_method_status.len(), METHOD_CAP + 1);
        assert_eq!(
            r.by_method_status[&(OTHER.to_string(), 200)],
            100_000 - METHOD_CAP as u64
        );
    }

    /// 50,000 distinct (function, status) pairs merge in linear time: the
    /// old per-key scans took minutes at this size.
    #[test]
    fn merging_many_functions_is_linear() {
        let cfg = MetricsConfig::default();
        let mut chunk = Agg::default();
        for i in 0..50_000 {
            chunk
                .functions
                .entry((format!("f{}", i % 500), format!("status {i}")))
                .or_default()
                .executions += 1;
        }
        let started = std::time::Instant::now();
        let mut total = Agg::new(&cfg);
        total.merge(&chunk, &cfg);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let distinct: HashSet<&str> = total.functions.keys().map(|(f, _)| f.as_str()).collect();
        assert_eq!(distinct.len(), cfg.function_cap + 1);
        // Statuses are capped too (120,000 distinct ones made as many
        // series): 16 named, the rest `_other_`.
        let statuses: HashSet<&str> = total.functions.keys().map(|(_, s)| s.as_str()).collect();
        assert_eq!(statuses.len(), STATUS_CAP + 1);
        let executions: u64 = total.functions.values().map(|a| a.executions).sum();
        assert_eq!(executions, 50_000);
    }

    /// Past the family's series cap a new (route, method, status) is folded
    /// to (route, `_other_`, class): the route's totals and its 5xx count
    /// stay right, the family stays bounded, and the folded records are
    /// counted.
    #[test]
    fn request_series_are_capped_per_family() {
        let cfg = MetricsConfig {
            series_cap: 10,
            ..MetricsConfig::default()
        };
        let mut total = Agg::new(&cfg);
        let mut expected_5xx = 0;
        for chunk_no in 0..50u16 {
            let mut chunk = Agg::default();
            for i in 0..40u16 {
                let route = format!("/r{}", (chunk_no * 40 + i) % 300);
                let status = 100 + (chunk_no * 40 + i) % 500;
                expected_5xx += u64::from(status >= 500);
                let r = chunk.routes.entry(route).or_default();
                *r.by_method_status
                    .entry((format!("M{}", i % 30), status))
                    .or_default() += 1;
                r.requests += 1;
            }
            total.merge(&chunk, &cfg);
        }
        let series: Vec<&(String, u16)> = total
            .routes
            .values()
            .flat_map(|r| r.by_method_status.keys())
            .collect();
        let named = series.iter().filter(|(_, s)| *s >= 100).count();
        assert_eq!(named, 10);
        // Folded keys: at most one per (route, class).
        assert!(
            series.len() <= 10 + 5 * (cfg.route_cap + 1),
            "{}",
            series.len()
        );
        let count: u64 = total
            .routes
            .values()
            .flat_map(|r| r.by_method_status.values())
            .sum();
        assert_eq!(count, 2_000);
        assert_eq!(total.request_series.folded, 2_000 - 10);
        let fivexx: u64 = total
            .routes
            .values()
            .flat_map(|r| r.by_method_status.iter())
            .filter(|((_, s), _)| *s == 5 || *s >= 500)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(fivexx, expected_5xx);
    }

    /// The same cap for the Convex family: past it a new (function, status)
    /// keeps its function and folds its status.
    #[test]
    fn function_series_are_capped_per_family() {
        let cfg = MetricsConfig {
            series_cap: 5,
            ..MetricsConfig::default()
        };
        let mut total = Agg::new(&cfg);
        for f in 0..10 {
            let st = format!("s{f}");
            total.merge(&functions(&[(&format!("f{f}"), &st)]), &cfg);
        }
        assert_eq!(total.function_series.named, 5);
        assert_eq!(total.function_series.folded, 5);
        let keys: Vec<(&str, &str)> = total
            .functions
            .keys()
            .map(|(f, s)| (f.as_str(), s.as_str()))
            .collect();
        assert_eq!(keys[5], ("f5", OTHER));
        assert_eq!(keys.len(), 10);
    }

    /// Lock events merged in input order go through the bounded tracker;
    /// a chunk's own events count too.
    #[test]
    fn lock_events_merge_into_bounded_tracker() {
        let cfg = MetricsConfig {
            lock_reorder_ns: Some(60_000_000_000),
            ..MetricsConfig::default()
        };
        let mut total = Agg::new(&cfg);
        for i in 0..10_000i64 {
            let mut chunk = Agg::default();
            chunk
                .lock_events
                .push((i * 1_000_000_000, Some("/a".into())));
            total.merge(&chunk, &cfg);
        }
        let r = total.bursts();
        assert_eq!(r.bursts_total, 1);
        assert_eq!(r.bursts[0].events, 10_000);
        assert_eq!(total.lock_event_count(), 10_000);
        let mut chunk = Agg::default();
        chunk.lock_events.push((0, None));
        assert_eq!(chunk.lock_event_count(), 1);
        assert_eq!(chunk.bursts().outside, 1);
    }
}
