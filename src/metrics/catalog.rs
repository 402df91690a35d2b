//! The metric catalogue: what metrics exist, by what names?
//!
//! One table, [`ALL`], lists every metric family the Prometheus exposition of
//! `nagare metrics` can emit (ARCHITECTURE.md, contract: "Derived metrics"): its name, its
//! [`MetricKind`], its help text, its label names and, for histograms, its
//! bucket bounds. The exposition builder ([`super::prom`]) takes names, kinds,
//! help texts and labels from here and nowhere else, so this table is the
//! single source of truth for anything that has to agree with the exposition:
//! the README's list of names (checked by a test), and generators of Grafana
//! dashboards or Prometheus alert rules.
//!
//! ```
//! use nagare::metrics::catalog::{self, MetricDef};
//! use nagare::metrics::exposition::MetricKind;
//!
//! let def: &MetricDef = catalog::get("http_requests_total").unwrap();
//! assert_eq!(def.kind, MetricKind::Counter);
//! assert_eq!(def.labels, ["route", "method", "status"]);
//! assert!(catalog::ALL.iter().any(|d| d.name == "http_request_duration_seconds"));
//! assert!(catalog::get("no_such_metric").is_none());
//! ```
//!
//! Names are written without the namespace prefix (`--namespace`, default
//! none); counters include their `_total` suffix; a histogram's name is the
//! family name, its series being `NAME_bucket{…,le}`, `NAME_sum` and
//! `NAME_count` ([`MetricDef::series_names`]).
//!
//! **The one dynamic family: rule counters.** Counters defined by LogQL
//! label filters in a rules file (`[[counter]]` in `queries/metrics.toml`,
//! the built-in defaults, or `--rules FILE`; see [`super::rules`]) have
//! user-chosen names, help texts and labels, so they are not in this table;
//! they are built from their [`super::rules::CounterDef`]s. Every other
//! family of the exposition is listed here.

use super::aggregate::LATENCY_BUCKETS;
use super::exposition::{MetricFamily, MetricKind, Sample, SampleValue};

/// The definition of one metric family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDef {
    /// The family name without the namespace prefix; counters end in
    /// `_total`, histograms carry no `_bucket`/`_sum`/`_count` suffix.
    pub name: &'static str,
    /// Counter, gauge or histogram: the word on the `# TYPE` line.
    pub kind: MetricKind,
    /// The one-line help text written on the `# HELP` line.
    pub help: &'static str,
    /// The label names every series carries, in the order the builder gives
    /// their values ([`MetricDef::sample`]); a histogram's `le` is not listed.
    /// Every label is bounded (routes and events capped, the rest as
    /// `_other_`; queries top 20 + `_other_`).
    pub labels: &'static [&'static str],
    /// A histogram's bucket upper bounds in seconds (without `+Inf`); empty
    /// for counters and gauges.
    pub buckets: &'static [f64],
}

impl MetricDef {
    const fn counter(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Self {
        MetricDef {
            name,
            kind: MetricKind::Counter,
            help,
            labels,
            buckets: &[],
        }
    }

    const fn histogram(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Self {
        MetricDef {
            name,
            kind: MetricKind::Histogram,
            help,
            labels,
            buckets: &LATENCY_BUCKETS,
        }
    }

    /// An empty [`MetricFamily`] with this name, help text and kind.
    pub fn family(&self) -> MetricFamily {
        MetricFamily::new(self.name, self.help, self.kind)
    }

    /// A sample of this family: `values` are the values of [`Self::labels`],
    /// in that order.
    ///
    /// # Panics
    /// In debug builds, when the number of values is not the number of labels.
    pub fn sample(&self, values: &[&str], value: SampleValue) -> Sample {
        debug_assert_eq!(
            values.len(),
            self.labels.len(),
            "metric {}: label values {values:?} for labels {:?}",
            self.name,
            self.labels
        );
        Sample {
            labels: self
                .labels
                .iter()
                .zip(values)
                .map(|(l, v)| ((*l).to_owned(), (*v).to_owned()))
                .collect(),
            value,
        }
    }

    /// The sample names this family writes (before any namespace prefix):
    /// the name itself for a counter or a gauge; `NAME_bucket`, `NAME_sum`
    /// and `NAME_count` for a histogram.
    pub fn series_names(&self) -> Vec<String> {
        match self.kind {
            MetricKind::Counter | MetricKind::Gauge => vec![self.name.to_owned()],
            MetricKind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
        }
    }
}

/// `http_requests_total{route,method,status}`: requests (records with an
/// integer status); methods past the first 16 are `_other_`.
pub const HTTP_REQUESTS: MetricDef = MetricDef::counter(
    "http_requests_total",
    "HTTP requests seen in the logs, by normalized route, method and status.",
    &["route", "method", "status"],
);

/// `http_request_duration_seconds{route}`: request latency histogram.
pub const HTTP_REQUEST_DURATION: MetricDef = MetricDef::histogram(
    "http_request_duration_seconds",
    "HTTP request latency from the logs, by normalized route.",
    &["route"],
);

/// `http_slow_requests_total{route}`: requests over the slow threshold.
pub const HTTP_SLOW_REQUESTS: MetricDef = MetricDef::counter(
    "http_slow_requests_total",
    "Requests slower than the slow threshold, by normalized route.",
    &["route"],
);

/// `db_lock_events_total{route}`: records matching the DB lock pattern.
pub const DB_LOCK_EVENTS: MetricDef = MetricDef::counter(
    "db_lock_events_total",
    "Records whose line matches the DB lock pattern, by normalized route.",
    &["route"],
);

/// `db_lock_bursts_total`: bursts of DB lock events (`--burst MIN/GAP`).
pub const DB_LOCK_BURSTS: MetricDef = MetricDef::counter(
    "db_lock_bursts_total",
    "Bursts of DB lock events (at least N events, at most a gap apart).",
    &[],
);

/// `search_queries_total{q}`: the top queries plus `_other_` (≤ 21 series).
pub const SEARCH_QUERIES: MetricDef = MetricDef::counter(
    "search_queries_total",
    "Search queries (normalized), the top ones by name and the rest as _other_.",
    &["q"],
);

/// `log_events_total{event}`: records by event name (capped, rest `_other_`).
pub const LOG_EVENTS: MetricDef =
    MetricDef::counter("log_events_total", "Records by event name.", &["event"]);

/// `log_lines_total{level}`: records by log level.
pub const LOG_LINES: MetricDef =
    MetricDef::counter("log_lines_total", "Records by log level.", &["level"]);

/// `log_malformed_lines_total`: lines their format could not decode.
pub const LOG_MALFORMED_LINES: MetricDef = MetricDef::counter(
    "log_malformed_lines_total",
    "Lines their format could not decode (kept, and counted here).",
    &[],
);

/// `convex_function_execution_total{function_name,status}`: Convex executions.
pub const CONVEX_FUNCTION_EXECUTIONS: MetricDef = MetricDef::counter(
    "convex_function_execution_total",
    "Convex function executions by function and status.",
    &["function_name", "status"],
);

/// `convex_function_execution_seconds{function_name}`: Convex execution time.
pub const CONVEX_FUNCTION_EXECUTION_SECONDS: MetricDef = MetricDef::histogram(
    "convex_function_execution_seconds",
    "Convex function execution time, by function.",
    &["function_name"],
);

/// `db_lock_late_events_total`: lock events later than the reorder window
/// (in no burst).
pub const DB_LOCK_LATE_EVENTS: MetricDef = MetricDef::counter(
    "db_lock_late_events_total",
    "DB lock events that came later than the reorder window allows (in no burst).",
    &[],
);

/// `series_folded_total{family}`: records counted in a folded series because
/// their family had reached its series cap, for each capped family.
pub const SERIES_FOLDED: MetricDef = MetricDef::counter(
    "series_folded_total",
    "Records counted in a folded series (method/status _other_) because the family reached its series cap.",
    &["family"],
);

/// Every metric family the exposition can emit, rule counters excepted (see
/// the module docs), sorted by name as the exposition writes them.
pub static ALL: &[MetricDef] = &[
    CONVEX_FUNCTION_EXECUTION_SECONDS,
    CONVEX_FUNCTION_EXECUTIONS,
    DB_LOCK_BURSTS,
    DB_LOCK_EVENTS,
    DB_LOCK_LATE_EVENTS,
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS,
    HTTP_SLOW_REQUESTS,
    LOG_EVENTS,
    LOG_LINES,
    LOG_MALFORMED_LINES,
    SEARCH_QUERIES,
    SERIES_FOLDED,
];

/// The definition named `name` (without namespace prefix, counters with
/// `_total`), if the catalogue has one.
pub fn get(name: &str) -> Option<&'static MetricDef> {
    ALL.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::{is_valid_label_name, is_valid_metric_name};

    #[test]
    fn names_unique_sorted_and_valid() {
        for w in ALL.windows(2) {
            assert!(w[0].name < w[1].name, "{} then {}", w[0].name, w[1].name);
        }
        for d in ALL {
            assert!(is_valid_metric_name(d.name), "{}", d.name);
            assert!(!d.help.trim().is_empty(), "{}", d.name);
            assert!(d.labels.iter().all(|l| is_valid_label_name(l)), "{d:?}");
            match d.kind {
                MetricKind::Counter => {
                    assert!(d.name.ends_with("_total") && d.buckets.is_empty(), "{d:?}")
                }
                MetricKind::Histogram => {
                    assert!(!d.labels.contains(&"le") && !d.buckets.is_empty(), "{d:?}")
                }
                MetricKind::Gauge => assert!(d.buckets.is_empty(), "{d:?}"),
            }
            assert_eq!(get(d.name), Some(d));
        }
    }

    #[test]
    fn sample_pairs_labels_with_values() {
        let s = HTTP_REQUESTS.sample(&["/v1/x", "GET", "200"], SampleValue::Scalar(1.0));
        assert_eq!(
            s.labels,
            [
                ("route".to_owned(), "/v1/x".to_owned()),
                ("method".to_owned(), "GET".to_owned()),
                ("status".to_owned(), "200".to_owned())
            ]
        );
        assert_eq!(
            HTTP_REQUEST_DURATION.series_names(),
            [
                "http_request_duration_seconds_bucket",
                "http_request_duration_seconds_sum",
                "http_request_duration_seconds_count"
            ]
        );
        assert_eq!(DB_LOCK_BURSTS.series_names(), ["db_lock_bursts_total"]);
    }
}
