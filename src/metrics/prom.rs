//! The derived metrics as Prometheus families, under the catalogue's names
//! (so existing PromQL keeps working), with every label bounded.
//!
//! Names, kinds, help texts and label names come from [`super::catalog`];
//! only the rule counters (the one dynamic family) come from their
//! [`super::rules::CounterDef`]s.
//!
//! Counters only grow for the life of the process: a query admitted to the
//! top series keeps its series, and `_other_` takes the rest. A query
//! admitted after the first exposition starts counting from its admission,
//! so `_other_` never goes down.

use indexmap::IndexMap;

use super::aggregate::{Agg, MetricsConfig, RouteAgg, LATENCY_BUCKETS, OTHER};
use super::catalog;
use super::exposition::{MetricFamily, Sample, SampleValue};
use super::report::QueryDisplay;

/// Which queries own a series, and from what count on.
#[derive(Debug, Default)]
pub struct QuerySeries {
    /// Query → its count when admitted (0 if admitted before anything was
    /// exposed).
    admitted: IndexMap<String, u64>,
    exposed: bool,
    /// Last values exposed, so counters never go down even when the
    /// bounded sketch revises an estimate.
    last: IndexMap<String, f64>,
    last_bursts: f64,
}

fn histogram_value(buckets: &[u64], sum: f64) -> SampleValue {
    let mut cum = 0u64;
    let mut out = Vec::with_capacity(LATENCY_BUCKETS.len());
    for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
        cum += buckets[i];
        out.push((*le, cum));
    }
    let count = cum + buckets[LATENCY_BUCKETS.len()];
    SampleValue::Histogram {
        buckets: out,
        sum,
        count,
    }
}

fn sample(labels: &[(&str, &str)], value: SampleValue) -> Sample {
    Sample {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value,
    }
}

impl QuerySeries {
    /// Builds every family from `agg` (the totals so far); `counters` are
    /// the rule counters' definitions.
    pub fn families(
        &mut self,
        agg: &Agg,
        cfg: &MetricsConfig,
        disp: &QueryDisplay,
        counters: &[super::rules::CounterDef],
    ) -> Vec<MetricFamily> {
        let mut fams = Vec::new();
        for (i, def) in counters.iter().enumerate() {
            let mut fam = MetricFamily::counter(def.name.clone(), def.help.clone());
            for ((rule, values), n) in &agg.counters {
                if *rule != i {
                    continue;
                }
                let labels: Vec<(&str, &str)> = def
                    .labels
                    .iter()
                    .map(String::as_str)
                    .zip(values.iter().map(String::as_str))
                    .collect();
                fam.samples
                    .push(sample(&labels, SampleValue::Scalar(*n as f64)));
            }
            if fam.samples.is_empty() && def.labels.is_empty() {
                fam.samples.push(sample(&[], SampleValue::Scalar(0.0)));
            }
            fams.push(fam);
        }

        // Requests by route, method, status (methods were capped as they
        // were merged).
        let mut requests = catalog::HTTP_REQUESTS.family();
        for (route, r) in &agg.routes {
            for ((m, s), n) in &r.by_method_status {
                // Statuses folded past the series cap keep their class.
                let status = if *s < 100 {
                    format!("{s}xx")
                } else {
                    s.to_string()
                };
                requests.samples.push(
                    catalog::HTTP_REQUESTS
                        .sample(&[route, m, &status], SampleValue::Scalar(*n as f64)),
                );
            }
        }
        fams.push(requests);

        let mut duration = catalog::HTTP_REQUEST_DURATION.family();
        let mut slow = catalog::HTTP_SLOW_REQUESTS.family();
        let mut locks = catalog::DB_LOCK_EVENTS.family();
        for (route, r) in &agg.routes {
            let RouteAgg {
                requests,
                slow: n_slow,
                lock_events,
                buckets,
                latency_sum_s,
                ..
            } = r;
            if *requests > 0 {
                duration.samples.push(
                    catalog::HTTP_REQUEST_DURATION
                        .sample(&[route], histogram_value(buckets, *latency_sum_s)),
                );
                slow.samples.push(
                    catalog::HTTP_SLOW_REQUESTS
                        .sample(&[route], SampleValue::Scalar(*n_slow as f64)),
                );
            }
            if *lock_events > 0 {
                locks.samples.push(
                    catalog::DB_LOCK_EVENTS
                        .sample(&[route], SampleValue::Scalar(*lock_events as f64)),
                );
            }
        }
        fams.push(duration);
        fams.push(slow);
        fams.push(locks);

        let lock_report = agg.bursts();
        let bursts = lock_report.bursts_total as f64;
        self.last_bursts = self.last_bursts.max(bursts);
        fams.push(catalog::DB_LOCK_BURSTS.family().with_sample(
            catalog::DB_LOCK_BURSTS.sample(&[], SampleValue::Scalar(self.last_bursts)),
        ));

        let late = lock_report.late as f64;
        fams.push(
            catalog::DB_LOCK_LATE_EVENTS
                .family()
                .with_sample(catalog::DB_LOCK_LATE_EVENTS.sample(&[], SampleValue::Scalar(late))),
        );

        // Top queries: admitted series plus `_other_`.
        let top = agg.queries.top(cfg.top);
        for (q, n) in &top {
            if self.admitted.len() >= cfg.top {
                break;
            }
            if !self.admitted.contains_key(q) {
                let base = if self.exposed { *n } else { 0 };
                self.admitted.insert(q.clone(), base);
            }
        }
        let mut queries = catalog::SEARCH_QUERIES.family();
        let mut named_sum = 0f64;
        for (q, base) in &self.admitted {
            let v = agg.queries.count(q).saturating_sub(*base) as f64;
            let shown = disp.show(q);
            let prev = self.last.get(&shown).copied().unwrap_or(0.0);
            let v = v.max(prev);
            self.last.insert(shown.clone(), v);
            named_sum += v;
            queries
                .samples
                .push(catalog::SEARCH_QUERIES.sample(&[&shown], SampleValue::Scalar(v)));
        }
        let other = (agg.queries.total() as f64 - named_sum).max(0.0);
        let prev = self.last.get(OTHER).copied().unwrap_or(0.0);
        let other = other.max(prev);
        self.last.insert(OTHER.to_string(), other);
        queries
            .samples
            .push(catalog::SEARCH_QUERIES.sample(&[OTHER], SampleValue::Scalar(other)));
        fams.push(queries);

        let mut events = catalog::LOG_EVENTS.family();
        for (e, n) in &agg.events {
            events
                .samples
                .push(catalog::LOG_EVENTS.sample(&[e], SampleValue::Scalar(*n as f64)));
        }
        fams.push(events);
        let mut levels = catalog::LOG_LINES.family();
        for (l, n) in &agg.levels {
            levels
                .samples
                .push(catalog::LOG_LINES.sample(&[l], SampleValue::Scalar(*n as f64)));
        }
        fams.push(levels);
        fams.push(catalog::LOG_MALFORMED_LINES.family().with_sample(
            catalog::LOG_MALFORMED_LINES.sample(&[], SampleValue::Scalar(agg.malformed as f64)),
        ));

        let mut executions = catalog::CONVEX_FUNCTION_EXECUTIONS.family();
        let mut exec_seconds = catalog::CONVEX_FUNCTION_EXECUTION_SECONDS.family();
        let mut per_function: IndexMap<&str, ([u64; LATENCY_BUCKETS.len() + 1], f64)> =
            IndexMap::new();
        for ((f, st), a) in &agg.functions {
            executions.samples.push(
                catalog::CONVEX_FUNCTION_EXECUTIONS
                    .sample(&[f, st], SampleValue::Scalar(a.executions as f64)),
            );
            let e = per_function
                .entry(f.as_str())
                .or_insert(([0; LATENCY_BUCKETS.len() + 1], 0.0));
            for (x, y) in e.0.iter_mut().zip(a.buckets.iter()) {
                *x += y;
            }
            e.1 += a.seconds_sum;
        }
        for (f, (b, sum)) in &per_function {
            exec_seconds.samples.push(
                catalog::CONVEX_FUNCTION_EXECUTION_SECONDS.sample(&[f], histogram_value(b, *sum)),
            );
        }
        fams.push(executions);
        fams.push(exec_seconds);
        let mut folded = catalog::SERIES_FOLDED.family();
        for (def, budget) in [
            (&catalog::HTTP_REQUESTS, agg.request_series),
            (&catalog::CONVEX_FUNCTION_EXECUTIONS, agg.function_series),
        ] {
            folded.samples.push(
                catalog::SERIES_FOLDED
                    .sample(&[def.name], SampleValue::Scalar(budget.folded as f64)),
            );
        }
        fams.push(folded);
        self.exposed = true;
        fams
    }
}
