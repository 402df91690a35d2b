//! The planner hook: what a store (the local archive, later a remote one)
//! may use to find candidate records before the exact pipeline runs.
//!
//! A [`Pushdown`] lists necessary conditions, as data: every record the
//! query selects satisfies all of them, so a store may return any superset
//! of the records that do, and running the compiled query over those
//! candidates (`LogQueryWorker::record`, `MetricWorker::record`) gives
//! exactly the answer a full scan gives. The conditions are only those that
//! are cheap to index: the stream selector, the event-time range, literal
//! line filters written before any other stage, and string equalities on
//! labels written before any stage that renames or drops labels.

use super::ast::{
    LabelFilter, LineFilterOp, LineFilterValue, LogExpr, MatchOp, Matcher, MetricExpr,
    RangeAggregation, Stage,
};
use super::eval;

/// Necessary conditions on the records a log query selects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pushdown {
    /// The stream selector (all must match the record's stream labels).
    pub matchers: Vec<Matcher>,
    /// Event time in `[start, end)`, when bounded.
    pub time_range: Option<(i64, i64)>,
    /// Conditions on the raw line (before envelopes are opened).
    pub line: Vec<LineCondition>,
    /// `name = "value"` holds for the labels as the pipeline sees them at
    /// that point: the stream labels, what the format decoded and what the
    /// parser stages written before it extracted (a store that indexes
    /// decoded fields may use those it decodes the same way).
    pub label_equals: Vec<(String, String)>,
}

/// A literal condition on a line.
#[derive(Debug, Clone, PartialEq)]
pub enum LineCondition {
    /// The line contains at least one of these (`|= "a" or "b"`).
    ContainsAny(Vec<String>),
    /// The line contains none of these (`!= "a" or "b"`).
    ContainsNone(Vec<String>),
}

impl Pushdown {
    /// The conditions of a log query evaluated over `time_range`.
    pub fn of_log(log: &LogExpr, time_range: Option<(i64, i64)>) -> Pushdown {
        let mut p = Pushdown {
            matchers: log.matchers.clone(),
            time_range,
            ..Default::default()
        };
        let mut leading = true;
        for stage in &log.stages {
            match stage {
                Stage::LineFilter(f) if leading => {
                    if let Some(c) = line_condition(f.op, &f.values) {
                        p.line.push(c);
                    }
                }
                Stage::LineFilter(_) => {}
                Stage::LabelFilter(f) => {
                    leading = false;
                    equalities(f, &mut p.label_equals);
                }
                Stage::Parser(_) | Stage::Decolorize | Stage::LineFormat(_) => leading = false,
                // Labels are renamed or dropped from here on: what follows
                // is not a condition on the record's own labels.
                Stage::LabelFormat(_) | Stage::Drop(_) | Stage::Keep(_) | Stage::Unwrap(_) => break,
            }
        }
        p
    }

    /// The conditions of each range aggregation of a metric query, in the
    /// order of [`eval::range_aggregations`]: the time range widens to
    /// every window the steps `start..=end` read, `(start − range −
    /// offset, end − offset]`, as `[start − range − offset + 1ns, end −
    /// offset + 1ns)`.
    pub fn of_metric(m: &MetricExpr, bounds: Option<(i64, i64)>) -> Vec<Pushdown> {
        eval::range_aggregations(m)
            .into_iter()
            .map(|r| Pushdown::of_log(&r.log, bounds.map(|b| window_span(r, b))))
            .collect()
    }
}

/// The event times the windows of `r` at steps in `[start, end]` cover.
fn window_span(r: &RangeAggregation, (start, end): (i64, i64)) -> (i64, i64) {
    let lo = start
        .saturating_sub(r.range_ns)
        .saturating_sub(r.offset_ns)
        .saturating_add(1);
    let hi = end.saturating_sub(r.offset_ns).saturating_add(1);
    (lo, hi)
}

fn line_condition(op: LineFilterOp, values: &[LineFilterValue]) -> Option<LineCondition> {
    // `ip()` alternatives match by address, not by text: nothing literal.
    let texts: Option<Vec<String>> = values
        .iter()
        .map(|v| match v {
            LineFilterValue::Text(t) => Some(t.clone()),
            LineFilterValue::Ip(_) => None,
        })
        .collect();
    let texts = texts?;
    match op {
        // An empty alternative matches every line: no condition.
        LineFilterOp::Contains if texts.iter().all(|t| !t.is_empty()) => {
            Some(LineCondition::ContainsAny(texts))
        }
        LineFilterOp::NotContains => {
            let texts: Vec<String> = texts.into_iter().filter(|t| !t.is_empty()).collect();
            (!texts.is_empty()).then_some(LineCondition::ContainsNone(texts))
        }
        _ => None,
    }
}

/// The `name = "value"` filters that must all hold for `f` to pass: the
/// top-level conjuncts (an `or` promises neither side).
fn equalities(f: &LabelFilter, out: &mut Vec<(String, String)>) {
    match f {
        LabelFilter::And(a, b) => {
            equalities(a, out);
            equalities(b, out);
        }
        // `__error__` is set by the stages themselves, never stored.
        LabelFilter::String {
            name,
            op: MatchOp::Eq,
            value,
            ..
        } if !name.starts_with("__error") => out.push((name.clone(), value.clone())),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logql::ast::Expr;
    use crate::logql::parse;

    fn log(q: &str) -> LogExpr {
        match parse(q).unwrap() {
            Expr::Log(l) => l,
            Expr::Metric(_) => panic!("{q} is a metric query"),
        }
    }

    #[test]
    fn selector_leading_literals_and_equalities_are_pushed_down() {
        let p = Pushdown::of_log(
            &log(
                r#"{app="api", env=~"prod|staging"} |= "GET" or "HEAD" != "health" |~ "v[12]" | json | status = "500" and path != "/x" | level = "error" or level = "warn" |= "late" | label_format s=status | route = "/a""#,
            ),
            Some((10, 20)),
        );
        assert_eq!(p.matchers.len(), 2);
        assert_eq!(p.time_range, Some((10, 20)));
        assert_eq!(
            p.line,
            vec![
                LineCondition::ContainsAny(vec!["GET".into(), "HEAD".into()]),
                LineCondition::ContainsNone(vec!["health".into()]),
            ]
        );
        assert_eq!(p.label_equals, vec![("status".into(), "500".into())]);
    }

    #[test]
    fn what_cannot_be_promised_is_left_out() {
        let p = Pushdown::of_log(
            &log(
                r#"{app="api"} |= "" |= ip("10.0.0.0/8") != "" | __error__ = "" | x = "1" or y = "2""#,
            ),
            None,
        );
        assert!(p.line.is_empty(), "{:?}", p.line);
        assert!(p.label_equals.is_empty(), "{:?}", p.label_equals);
    }

    /// Loki's windows are (T − range − offset, T − offset]: the steps from
    /// 100 s to 200 s of `[10s] offset 5s` read (85 s, 195 s].
    #[test]
    fn metric_ranges_widen_to_their_windows() {
        let Expr::Metric(m) = parse(
            r#"sum(count_over_time({a="1"} |= "x" [10s] offset 5s)) / sum(count_over_time({b="2"}[1m]))"#,
        )
        .unwrap() else {
            panic!()
        };
        let s = 1_000_000_000;
        let p = Pushdown::of_metric(&m, Some((100 * s, 200 * s)));
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].time_range, Some((85 * s + 1, 195 * s + 1)));
        assert_eq!(
            p[0].line,
            vec![LineCondition::ContainsAny(vec!["x".into()])]
        );
        assert_eq!(p[1].time_range, Some((40 * s + 1, 200 * s + 1)));
        assert_eq!(p[1].matchers[0].name, "b");
    }
}
