//! The metrics report: the JSON document of ARCHITECTURE.md, contract: "Derived metrics", and a
//! readable table with the golden signals first.
//!
//! Quantiles here are nearest-rank (k = ceil(p·n) of the sorted values),
//! read from the mergeable sketch within 1 % relative error; LogQL's
//! `quantile_over_time` is Prometheus's interpolated φ-quantile instead.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use super::aggregate::{Agg, MetricsConfig, OTHER};
use super::normalize::{redact, truncate_label};
use crate::time::format_rfc3339_digits;

/// How query label values are shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryDisplay {
    pub redact: bool,
    pub max_chars: usize,
}

impl QueryDisplay {
    pub fn show(&self, q: &str) -> String {
        if q == OTHER {
            return q.to_string();
        }
        if self.redact {
            redact(q)
        } else {
            truncate_label(q, self.max_chars.max(1)).to_string()
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn q(s: &super::sketch::QuantileSketch, p: f64) -> f64 {
    s.quantile(p).map(round3).unwrap_or(0.0)
}

/// The top queries in order, then `_other_` with the rest.
pub fn top_queries(agg: &Agg, cfg: &MetricsConfig, disp: &QueryDisplay) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = agg
        .queries
        .top(cfg.top)
        .into_iter()
        .map(|(k, n)| (disp.show(&k), n))
        .collect();
    v.push((OTHER.to_string(), agg.queries.other_count(cfg.top)));
    v
}

/// Rule counters as `{name: [{"labels": {…}, "count": n}]}`.
pub fn counters_json(agg: &Agg, counters: &[super::rules::CounterDef]) -> Value {
    let mut out = Map::new();
    for (i, def) in counters.iter().enumerate() {
        let mut series: Vec<(&Vec<String>, u64)> = agg
            .counters
            .iter()
            .filter(|((r, _), _)| *r == i)
            .map(|((_, v), n)| (v, *n))
            .collect();
        series.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let docs: Vec<Value> = series
            .into_iter()
            .map(|(values, n)| {
                let labels: Map<String, Value> = def
                    .labels
                    .iter()
                    .zip(values)
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                json!({"labels": labels, "count": n})
            })
            .collect();
        out.insert(def.name.clone(), Value::Array(docs));
    }
    Value::Object(out)
}

/// The report document for `agg`.
pub fn json_report(agg: &Agg, cfg: &MetricsConfig, disp: &QueryDisplay) -> Value {
    let ts = |ns: Option<i64>| -> Value {
        ns.map_or(Value::Null, |n| {
            Value::String(format_rfc3339_digits(n, agg.ts_digits))
        })
    };
    let total = agg.requests();
    let e5 = agg.class_count(5);
    let lat = agg.latency();
    let slow: u64 = agg.routes.values().map(|r| r.slow).sum();
    let mut by_class = Map::new();
    for c in 1..=5u16 {
        by_class.insert(format!("{c}xx"), json!(agg.class_count(c)));
    }
    let mut by_status = Map::new();
    let mut statuses: Vec<_> = agg.by_status.iter().collect();
    statuses.sort();
    for (s, n) in statuses {
        by_status.insert(s.to_string(), json!(n));
    }
    let routes: Vec<Value> = agg
        .routes
        .iter()
        .filter(|(_, r)| r.requests > 0)
        .map(|(name, r)| {
            json!({
                "route": name,
                "requests": r.requests,
                "errors_5xx": r.errors_5xx,
                "error_rate_5xx": ratio(r.errors_5xx, r.requests),
                "p50_ms": q(&r.latency, 0.50),
                "p95_ms": q(&r.latency, 0.95),
                "p99_ms": q(&r.latency, 0.99),
                "slow": r.slow,
            })
        })
        .collect();
    let bursts = agg.bursts();
    let mut locks_by_route = Map::new();
    for (name, r) in &agg.routes {
        if r.lock_events > 0 {
            locks_by_route.insert(name.clone(), json!(r.lock_events));
        }
    }
    let burst_docs: Vec<Value> = bursts
        .bursts
        .iter()
        .map(|b| {
            json!({
                "start": ts(Some(b.start_ns)),
                "end": ts(Some(b.end_ns)),
                "events": b.events,
                "routes": b.routes,
            })
        })
        .collect();
    let tq: Vec<Value> = top_queries(agg, cfg, disp)
        .into_iter()
        .map(|(q, n)| json!({"q": q, "count": n}))
        .collect();
    let counts = |m: &indexmap::IndexMap<String, u64>| -> Value {
        let mut v: Vec<_> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        Value::Object(v.into_iter().map(|(k, n)| (k.clone(), json!(n))).collect())
    };
    let mut functions: Vec<Value> = agg
        .functions
        .iter()
        .map(|((f, st), a)| json!({"function": f, "status": st, "executions": a.executions, "seconds_sum": round3(a.seconds_sum)}))
        .collect();
    functions.sort_by(|a, b| a["function"].as_str().cmp(&b["function"].as_str()));
    let mut db_locks = json!({
        "events": agg.lock_event_count(),
        "by_route": locks_by_route,
        "bursts": burst_docs,
        "outside_bursts": bursts.outside,
    });
    // Present only when they happen, so a report of ordinary logs keeps its shape.
    if bursts.late > 0 {
        db_locks["late_events"] = json!(bursts.late);
    }
    if bursts.omitted > 0 {
        db_locks["bursts_not_listed"] = json!(bursts.omitted);
    }
    json!({
        "lines": agg.lines,
        "records": agg.records,
        "malformed": agg.malformed,
        "span": {"start": ts(agg.first_ns), "end": ts(agg.last_ns)},
        "requests": {
            "total": total,
            "by_class": by_class,
            "by_status": by_status,
            "error_rate_5xx": ratio(e5, total),
            "without_latency": agg.without_latency,
        },
        "records_without_status": agg.without_status,
        "latency_ms": {"p50": q(&lat, 0.50), "p95": q(&lat, 0.95), "p99": q(&lat, 0.99)},
        "slow_requests": {"threshold_ms": cfg.slow_ms, "total": slow},
        "routes": routes,
        "db_locks": db_locks,
        "top_queries": tq,
        "top_queries_exact": agg.queries.is_exact(),
        "top_queries_error_bound": agg.queries.error_bound(),
        "events": counts(&agg.events),
        "levels": counts(&agg.levels),
        "convex_functions": functions,
    })
}

/// A readable report: golden signals first, then routes, locks, queries.
pub fn table_report(agg: &Agg, cfg: &MetricsConfig, disp: &QueryDisplay, color: bool) -> String {
    let bold = |s: &str| {
        if color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let red = |s: String, on: bool| {
        if color && on {
            format!("\x1b[31m{s}\x1b[0m")
        } else {
            s
        }
    };
    let mut o = String::new();
    let total = agg.requests();
    let e5 = agg.class_count(5);
    let lat = agg.latency();
    let slow: u64 = agg.routes.values().map(|r| r.slow).sum();
    let span = match (agg.first_ns, agg.last_ns) {
        (Some(a), Some(b)) => format!(
            "{} … {}",
            format_rfc3339_digits(a, agg.ts_digits),
            format_rfc3339_digits(b, agg.ts_digits)
        ),
        _ => "no timestamps".to_string(),
    };
    let _ = writeln!(o, "{}", bold("Golden signals"));
    let _ = writeln!(o, "  span          {span}");
    let _ = writeln!(
        o,
        "  traffic       {total} requests  ({} lines, {} records, {} malformed)",
        agg.lines, agg.records, agg.malformed
    );
    let rate = ratio(e5, total);
    let _ = writeln!(
        o,
        "  errors        {}  ({e5} 5xx; 2xx {} · 3xx {} · 4xx {})",
        red(format!("{:.2}% 5xx", rate * 100.0), rate > 0.01),
        agg.class_count(2),
        agg.class_count(3),
        agg.class_count(4)
    );
    let _ = writeln!(
        o,
        "  latency       p50 {:.1} ms · p95 {:.1} ms · p99 {:.1} ms  (nearest-rank, ±1%)",
        q(&lat, 0.5),
        q(&lat, 0.95),
        q(&lat, 0.99)
    );
    let _ = writeln!(o, "  slow          {slow} requests over {} ms", cfg.slow_ms);
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", bold("Routes"));
    let _ = writeln!(
        o,
        "  {:<40} {:>9} {:>7} {:>9} {:>9} {:>9} {:>6}",
        "route", "requests", "5xx%", "p50 ms", "p95 ms", "p99 ms", "slow"
    );
    let mut routes: Vec<_> = agg.routes.iter().filter(|(_, r)| r.requests > 0).collect();
    routes.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then(a.0.cmp(b.0)));
    for (name, r) in routes.iter().take(25) {
        let rate = ratio(r.errors_5xx, r.requests);
        let _ = writeln!(
            o,
            "  {:<40} {:>9} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>6}",
            truncate_label(name, 40),
            r.requests,
            red(format!("{:.2}", rate * 100.0), rate > 0.01),
            q(&r.latency, 0.5),
            q(&r.latency, 0.95),
            q(&r.latency, 0.99),
            r.slow
        );
    }
    if routes.len() > 25 {
        let _ = writeln!(
            o,
            "  … {} more routes (--output json lists all)",
            routes.len() - 25
        );
    }
    let bursts = agg.bursts();
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{}  {} events, {} bursts, {} outside bursts",
        bold("DB locks"),
        agg.lock_event_count(),
        bursts.bursts_total,
        bursts.outside
    );
    if bursts.late > 0 {
        let _ = writeln!(
            o,
            "  {} late events (beyond the reorder window; in no burst)",
            bursts.late
        );
    }
    if bursts.omitted > 0 {
        let _ = writeln!(o, "  … {} earlier bursts not listed", bursts.omitted);
    }
    for b in &bursts.bursts {
        let _ = writeln!(
            o,
            "  {} … {}  {:>4} events  {}",
            format_rfc3339_digits(b.start_ns, agg.ts_digits),
            format_rfc3339_digits(b.end_ns, agg.ts_digits),
            b.events,
            b.routes.join(", ")
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", bold("Top queries"));
    for (qv, n) in top_queries(agg, cfg, disp) {
        let _ = writeln!(o, "  {n:>9}  {qv}");
    }
    if !agg.queries.is_exact() {
        let _ = writeln!(
            o,
            "  (approximate: counts over-estimate by at most {})",
            agg.queries.error_bound()
        );
    }
    let mut levels: Vec<_> = agg.levels.iter().collect();
    levels.sort_by(|a, b| b.1.cmp(a.1));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{}  {}",
        bold("Levels"),
        levels
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    let mut events: Vec<_> = agg.events.iter().collect();
    events.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let _ = writeln!(o, "{}", bold("Events"));
    for (k, n) in events.iter().take(15) {
        let _ = writeln!(o, "  {n:>9}  {k}");
    }
    o
}

/// Writes the JSON report: one document for the whole run, or with
/// `--window` one document per window of event time (NDJSON), each with
/// its window's bounds and the rule counters.
pub fn write_json(
    w: &mut impl std::io::Write,
    t: &super::aggregate::Totals,
    cfg: &MetricsConfig,
    disp: &QueryDisplay,
    counters: &[super::rules::CounterDef],
) -> std::io::Result<()> {
    match cfg.window_ns {
        Some(w_ns) => {
            for (start, agg) in &t.windows {
                let mut doc = json_report(agg, cfg, disp);
                doc["counters"] = counters_json(agg, counters);
                doc["window"] = serde_json::json!({
                    "start": crate::time::format_rfc3339_digits(*start, t.all.ts_digits),
                    "end": crate::time::format_rfc3339_digits(start + w_ns, t.all.ts_digits),
                });
                writeln!(w, "{doc}")?;
            }
            Ok(())
        }
        None => {
            let mut doc = json_report(&t.all, cfg, disp);
            doc["counters"] = counters_json(&t.all, counters);
            writeln!(w, "{doc}")
        }
    }
}
