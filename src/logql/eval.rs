//! Metric query evaluation, as Loki does it: a range query from `start` to
//! `end` every `step`, each point at T looking back over (T − range, T]
//! (shifted by `offset`), points at multiples of the step.
//!
//! The input is the samples of every range aggregation of the query
//! (collected by running its log pipeline over the data, see
//! `cmd::query`); evaluation itself is pure: no I/O, no threads.

use std::collections::BTreeMap;

use super::ast::{
    BinaryExpr, BinaryOp, GroupSide, Grouping, MetricExpr, RangeAggregation, RangeOp,
    VectorAggregation, VectorOp,
};

/// A label set, sorted by name.
pub type LabelSet = Vec<(String, String)>;

/// The samples of one series of a range aggregation, sorted by time.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub labels: LabelSet,
    /// (time in ns, value): the value is the unwrapped number, or the line's
    /// byte length for log ranges (counting functions ignore it).
    pub points: Vec<(i64, f64)>,
}

/// The samples of every range aggregation in a query, keyed by the
/// aggregation's position in the tree (pre-order index).
pub type RangeData = Vec<Vec<Series>>;

/// The value of an expression at one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<(LabelSet, f64)>),
}

/// An expression Loki would refuse to evaluate, or one not supported yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

/// Every range aggregation of `e`, in pre-order (the index into
/// [`RangeData`]).
pub fn range_aggregations(e: &MetricExpr) -> Vec<&RangeAggregation> {
    fn walk<'a>(e: &'a MetricExpr, out: &mut Vec<&'a RangeAggregation>) {
        match e {
            MetricExpr::Range(r) => out.push(r),
            MetricExpr::Vector(v) => walk(&v.inner, out),
            MetricExpr::Binary(b) => {
                walk(&b.lhs, out);
                walk(&b.rhs, out);
            }
            MetricExpr::LabelReplace(l) => walk(&l.inner, out),
            MetricExpr::Paren(p) => walk(p, out),
            MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(e, &mut out);
    out
}

/// For each range aggregation (pre-order, as [`range_aggregations`]): the
/// only labels its series need, when the answer does not depend on the
/// others — its own `by`/`without`, or a `sum by/without` directly around a
/// range function that adds up (counts, bytes, rates, sums). Collecting
/// series already projected keeps memory and time proportional to the
/// groups, not to every distinct label set (Loki pushes these down too).
pub fn projections(e: &MetricExpr) -> Vec<Option<Grouping>> {
    fn additive(op: RangeOp) -> bool {
        matches!(
            op,
            RangeOp::CountOverTime
                | RangeOp::Rate
                | RangeOp::BytesOverTime
                | RangeOp::BytesRate
                | RangeOp::SumOverTime
        )
    }
    fn walk(e: &MetricExpr, parent_sum: Option<&Grouping>, out: &mut Vec<Option<Grouping>>) {
        match e {
            MetricExpr::Range(r) => out.push(match (&r.grouping, parent_sum) {
                (Some(g), _) => Some(g.clone()),
                (None, Some(g)) if additive(r.op) => Some(g.clone()),
                _ => None,
            }),
            MetricExpr::Vector(v) => {
                let sum_group = match (&v.op, &v.grouping) {
                    (VectorOp::Sum, Some(g)) => Some(g),
                    _ => None,
                };
                let sum_all = Grouping {
                    without: false,
                    labels: Vec::new(),
                };
                let g = match (&v.op, sum_group) {
                    (_, Some(g)) => Some(g),
                    (VectorOp::Sum, None) => Some(&sum_all),
                    _ => None,
                };
                // `sum(x)` with no grouping keeps no labels at all.
                walk(&v.inner, g, out)
            }
            MetricExpr::Binary(b) => {
                walk(&b.lhs, None, out);
                walk(&b.rhs, None, out);
            }
            MetricExpr::LabelReplace(l) => walk(&l.inner, None, out),
            MetricExpr::Paren(p) => walk(p, parent_sum, out),
            MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(e, None, &mut out);
    out
}

/// The range aggregation of a query whose every output series is exactly
/// one collected series, so a range query can be evaluated one series at a
/// time over all steps (see [`eval_series`]) instead of one step at a time
/// over all series: a range aggregation on its own (its `by`/`without`
/// pushed into collection), or a `sum` around an additive one whose grouping
/// was pushed down. Memory then stays that of the collected samples, with no
/// per-step vectors or result matrix.
pub fn single_series_range(e: &MetricExpr) -> Option<&RangeAggregation> {
    fn unparen(mut e: &MetricExpr) -> &MetricExpr {
        while let MetricExpr::Paren(p) = e {
            e = p;
        }
        e
    }
    match unparen(e) {
        MetricExpr::Range(r) if r.op != RangeOp::AbsentOverTime => Some(r),
        MetricExpr::Vector(v) if v.op == VectorOp::Sum => match unparen(&v.inner) {
            MetricExpr::Range(r) if r.grouping.is_none() && projections(e)[0].is_some() => {
                matches!(
                    r.op,
                    RangeOp::CountOverTime
                        | RangeOp::Rate
                        | RangeOp::BytesOverTime
                        | RangeOp::BytesRate
                        | RangeOp::SumOverTime
                )
                .then_some(r)
            }
            _ => None,
        },
        _ => None,
    }
}

/// The points of one collected series of `r` at `times` (ascending), empty
/// windows omitted; the same numbers [`eval_at`] gives for that series.
/// Only steps whose window holds a sample are visited.
pub fn eval_series(r: &RangeAggregation, points: &[(i64, f64)], times: &[i64]) -> Vec<(i64, f64)> {
    let unwrapped = r
        .log
        .stages
        .iter()
        .any(|s| matches!(s, super::ast::Stage::Unwrap(_)));
    let mut out = Vec::new();
    let Some(first) = points.first() else {
        return out;
    };
    // A sample at p is in the window of step t when
    // t - offset - range < p <= t - offset.
    let mut i = times.partition_point(|&t| t.saturating_sub(r.offset_ns) < first.0);
    while let Some(&t) = times.get(i) {
        let to = t.saturating_sub(r.offset_ns);
        let from = to.saturating_sub(r.range_ns);
        let w = window(points, from, to);
        if w.is_empty() {
            let next = points.partition_point(|(p, _)| *p <= to);
            let Some((p, _)) = points.get(next) else {
                break;
            };
            i = i.max(times.partition_point(|&t| t.saturating_sub(r.offset_ns) < *p));
            continue;
        }
        if let Some(v) = range_value(r.op, r.param, w, (from, to), unwrapped) {
            out.push((t, v));
        }
        i += 1;
    }
    out
}

/// The first step of `times` (ascending) whose window of `r` holds a
/// sample at `ts`: t - offset - range < ts <= t - offset.
pub fn first_step_covering(r: &RangeAggregation, times: &[i64], ts: i64) -> Option<i64> {
    let i = times.partition_point(|&t| t.saturating_sub(r.offset_ns) < ts);
    let t = *times.get(i)?;
    (t.saturating_sub(r.offset_ns).saturating_sub(r.range_ns) < ts).then_some(t)
}

/// Whether the query sorts by value (`sort`, `sort_desc` anywhere): an
/// instant result then keeps its order instead of being sorted by labels.
pub fn sorts_by_value(e: &MetricExpr) -> bool {
    match e {
        MetricExpr::Vector(v) => {
            matches!(v.op, VectorOp::Sort | VectorOp::SortDesc) || sorts_by_value(&v.inner)
        }
        MetricExpr::Binary(b) => sorts_by_value(&b.lhs) || sorts_by_value(&b.rhs),
        MetricExpr::LabelReplace(l) => sorts_by_value(&l.inner),
        MetricExpr::Paren(p) => sorts_by_value(p),
        MetricExpr::Range(_) | MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => false,
    }
}

/// Applies a projection to a label set.
pub fn project(labels: &mut LabelSet, g: &Grouping) {
    labels.retain(|(n, _)| keeps(g, n));
}

/// Whether a projection keeps the label `name`.
pub fn keeps(g: &Grouping, name: &str) -> bool {
    g.labels.iter().any(|l| l == name) != g.without
}

/// The largest range in the query (the default step), in ns.
pub fn max_range(e: &MetricExpr) -> Option<i64> {
    range_aggregations(e).iter().map(|r| r.range_ns).max()
}

/// Step times: `start` and `end` rounded down to multiples of `step`, then
/// every step from one to the other, as Loki's query frontend aligns range
/// queries (`StepAlignMiddleware`: `start = start / step * step`, the same
/// for `end`), so the first point may lie before `start`.
/// Callers check [`step_count`] against [`MAX_STEPS`] first; more are
/// never produced.
pub fn steps(start: i64, end: i64, step: i64) -> Vec<i64> {
    let n = step_count(start, end, step).min(MAX_STEPS as i128) as i64;
    let first = start.div_euclid(step.max(1)) as i128 * step as i128;
    // In i128: k × step alone may pass i64 even where first + k × step,
    // a time between start and end, does not.
    (0..n as i128)
        .map(|k| (first + k * step as i128) as i64)
        .collect()
}

/// Step times `start`, `start + step`, … up to `end`, as Loki's engine
/// evaluates a range query it is given (`rangeVectorIterator` steps from
/// the query's start; no alignment). Callers check
/// [`step_count_from`] against [`MAX_STEPS`] first.
pub fn steps_from(start: i64, end: i64, step: i64) -> Vec<i64> {
    let n = step_count_from(start, end, step).min(MAX_STEPS as i128) as i64;
    (0..n as i128)
        .map(|k| (start as i128 + k * step as i128) as i64)
        .collect()
}

/// How many steps [`steps_from`] gives for these bounds.
pub fn step_count_from(start: i64, end: i64, step: i64) -> i128 {
    if step <= 0 || end < start {
        return 0;
    }
    (end as i128 - start as i128) / step as i128 + 1
}

/// At most this many steps per query (Loki's default is 11,000 points per
/// series); more is refused rather than cut short.
pub const MAX_STEPS: i64 = 100_000;

/// How many steps [`steps`] gives for these bounds: counted in i128, since
/// the span of two far-apart times overflows i64.
pub fn step_count(start: i64, end: i64, step: i64) -> i128 {
    if step <= 0 || end < start {
        return 0;
    }
    (end.div_euclid(step) as i128 - start.div_euclid(step) as i128) + 1
}

/// Prometheus's interpolated φ-quantile of `values` (sorted in place).
pub fn quantile(phi: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    if phi < 0.0 {
        return f64::NEG_INFINITY;
    }
    if phi > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len() as f64;
    let rank = phi * (n - 1.0);
    let lower = rank.floor().max(0.0) as usize;
    let upper = (rank.ceil() as usize).min(values.len() - 1);
    let weight = rank - rank.floor();
    values[lower] * (1.0 - weight) + values[upper] * weight
}

fn window(points: &[(i64, f64)], from_excl: i64, to_incl: i64) -> &[(i64, f64)] {
    let lo = points.partition_point(|(t, _)| *t <= from_excl);
    let hi = points.partition_point(|(t, _)| *t <= to_incl);
    &points[lo..hi.max(lo)]
}

/// `rate_counter`: Prometheus's `rate` over the samples of one window
/// (from_excl, to_incl], as Loki computes it (`extrapolatedRate` in
/// `pkg/logql/range_vector.go`, with the window bounds and nanosecond
/// durations of grafana/loki#23684): the increase corrected for counter
/// resets, extrapolated to the window edges when the first/last sample
/// lies within 1.1 average intervals of them (else by half an interval),
/// never back past the counter's zero point, divided by the range. Fewer
/// than two samples give 0, as in Loki (the element is kept).
pub fn extrapolated_rate(pts: &[(i64, f64)], from_excl: i64, to_incl: i64) -> f64 {
    if pts.len() < 2 {
        return 0.0;
    }
    let secs = |ns: i64| ns as f64 / 1e9;
    let (first_t, first_v) = pts[0];
    let (last_t, last_v) = pts[pts.len() - 1];
    let mut result = last_v - first_v;
    let mut prev = first_v;
    for &(_, v) in &pts[1..] {
        if v < prev {
            result += prev;
        }
        prev = v;
    }
    let sampled = secs(last_t - first_t);
    let average = sampled / (pts.len() - 1) as f64;
    let threshold = average * 1.1;
    let mut to_start = secs(first_t - from_excl);
    let mut to_end = secs(to_incl - last_t);
    if to_start >= threshold {
        to_start = average / 2.0;
    }
    if result > 0.0 && first_v >= 0.0 {
        // Do not extrapolate below zero: a counter starts at 0.
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = average / 2.0;
    }
    result * (sampled + to_start + to_end) / sampled / secs(to_incl - from_excl)
}

/// Loki's `max_over_time`/`min_over_time` (and `max`/`min`): the first
/// value, replaced by each larger (smaller) one; a NaN is replaced by the
/// next value, so NaN only when every value is.
fn extreme(vals: impl Iterator<Item = f64>, max: bool) -> f64 {
    vals.fold(f64::NAN, |acc, v| {
        if acc.is_nan() || (max && v > acc) || (!max && v < acc) {
            v
        } else {
            acc
        }
    })
}

fn range_value(
    op: RangeOp,
    param: Option<f64>,
    pts: &[(i64, f64)],
    (from, to): (i64, i64),
    unwrapped: bool,
) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
    let range_s = (to - from) as f64 / 1e9;
    let vals = || pts.iter().map(|(_, v)| *v);
    let n = pts.len() as f64;
    Some(match op {
        RangeOp::CountOverTime => n,
        RangeOp::Rate if unwrapped => vals().sum::<f64>() / range_s,
        RangeOp::Rate => n / range_s,
        RangeOp::BytesOverTime => vals().sum(),
        RangeOp::BytesRate => vals().sum::<f64>() / range_s,
        RangeOp::AbsentOverTime => return None,
        RangeOp::SumOverTime => vals().sum(),
        RangeOp::AvgOverTime => vals().sum::<f64>() / n,
        RangeOp::MinOverTime => extreme(vals(), false),
        RangeOp::MaxOverTime => extreme(vals(), true),
        RangeOp::StddevOverTime | RangeOp::StdvarOverTime => {
            let mean = vals().sum::<f64>() / n;
            let var = vals().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if op == RangeOp::StddevOverTime {
                var.sqrt()
            } else {
                var
            }
        }
        RangeOp::QuantileOverTime => {
            let mut v: Vec<f64> = vals().collect();
            quantile(param.unwrap_or(0.5), &mut v)
        }
        RangeOp::FirstOverTime => pts[0].1,
        RangeOp::LastOverTime => pts[pts.len() - 1].1,
        RangeOp::RateCounter => extrapolated_rate(pts, from, to),
    })
}

/// The labels of `absent_over_time`'s element, as Loki's `absentLabels`:
/// each name matched once and only by equality, with that value (a name
/// matched twice, or also by `!=`, `=~`, `!~`, is left out).
fn absent_labels(matchers: &[super::ast::Matcher]) -> LabelSet {
    let mut labels: LabelSet = matchers
        .iter()
        .filter(|m| {
            m.op == super::ast::MatchOp::Eq
                && matchers.iter().filter(|o| o.name == m.name).count() == 1
        })
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect();
    labels.sort();
    labels
}

/// Labels kept by a grouping (`by` keeps the listed, `without` drops them).
fn group_labels(labels: &LabelSet, g: &Grouping) -> LabelSet {
    labels
        .iter()
        .filter(|(n, _)| g.labels.iter().any(|l| l == n) != g.without)
        .cloned()
        .collect()
}

struct Ctx<'a> {
    data: &'a RangeData,
    next_range: usize,
}

/// Evaluates `e` at time `t`.
pub fn eval_at(e: &MetricExpr, t: i64, data: &RangeData) -> Result<Value, EvalError> {
    let mut ctx = Ctx {
        data,
        next_range: 0,
    };
    eval(e, t, &mut ctx)
}

fn eval(e: &MetricExpr, t: i64, ctx: &mut Ctx<'_>) -> Result<Value, EvalError> {
    match e {
        MetricExpr::Literal(v) => Ok(Value::Scalar(*v)),
        MetricExpr::VectorLiteral(v) => Ok(Value::Vector(vec![(Vec::new(), *v)])),
        MetricExpr::Paren(p) => eval(p, t, ctx),
        MetricExpr::Range(r) => {
            let idx = ctx.next_range;
            ctx.next_range += 1;
            eval_range(r, t, ctx.data.get(idx).map(Vec::as_slice).unwrap_or(&[]))
        }
        MetricExpr::Vector(v) => {
            let inner = eval(&v.inner, t, ctx)?;
            Ok(Value::Vector(aggregate(v, into_vector(inner)?)?))
        }
        MetricExpr::Binary(b) => {
            let l = eval(&b.lhs, t, ctx)?;
            let r = eval(&b.rhs, t, ctx)?;
            binary(b, l, r)
        }
        MetricExpr::LabelReplace(l) => {
            let inner = into_vector(eval(&l.inner, t, ctx)?)?;
            // Anchored as Loki compiles it (`^(?:…)$`: `.` stops at \n).
            let re = regex::Regex::new(&format!("^(?:{})$", l.regex))
                .map_err(|e| EvalError(format!("label_replace: invalid regex: {e}")))?;
            let out = inner
                .into_iter()
                .map(|(mut labels, v)| {
                    let src = labels
                        .iter()
                        .find(|(n, _)| *n == l.src)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    if let Some(caps) = re.captures(&src) {
                        let mut value = String::new();
                        caps.expand(&l.replacement, &mut value);
                        labels.retain(|(n, _)| *n != l.dst);
                        if !value.is_empty() {
                            labels.push((l.dst.clone(), value));
                            labels.sort();
                        }
                    }
                    (labels, v)
                })
                .collect();
            Ok(Value::Vector(out))
        }
    }
}

fn into_vector(v: Value) -> Result<Vec<(LabelSet, f64)>, EvalError> {
    match v {
        Value::Vector(v) => Ok(v),
        Value::Scalar(_) => Err(EvalError("expected a vector, got a scalar".into())),
    }
}

fn eval_range(r: &RangeAggregation, t: i64, series: &[Series]) -> Result<Value, EvalError> {
    let to = t.saturating_sub(r.offset_ns);
    let from = to.saturating_sub(r.range_ns);
    let unwrapped = r
        .log
        .stages
        .iter()
        .any(|s| matches!(s, super::ast::Stage::Unwrap(_)));
    if r.op == RangeOp::AbsentOverTime {
        let any = series
            .iter()
            .any(|s| !window(&s.points, from, to).is_empty());
        if any {
            return Ok(Value::Vector(Vec::new()));
        }
        return Ok(Value::Vector(vec![(absent_labels(&r.log.matchers), 1.0)]));
    }
    match &r.grouping {
        None => Ok(Value::Vector(
            series
                .iter()
                .filter_map(|s| {
                    range_value(
                        r.op,
                        r.param,
                        window(&s.points, from, to),
                        (from, to),
                        unwrapped,
                    )
                    .map(|v| (s.labels.clone(), v))
                })
                .collect(),
        )),
        Some(g) => {
            // Grouped range aggregation: samples of each group pooled.
            let mut groups: BTreeMap<LabelSet, Vec<(i64, f64)>> = BTreeMap::new();
            for s in series {
                let w = window(&s.points, from, to);
                if w.is_empty() {
                    continue;
                }
                groups
                    .entry(group_labels(&s.labels, g))
                    .or_default()
                    .extend_from_slice(w);
            }
            Ok(Value::Vector(
                groups
                    .into_iter()
                    .filter_map(|(labels, mut pts)| {
                        pts.sort_by_key(|(t, _)| *t);
                        range_value(r.op, r.param, &pts, (from, to), unwrapped).map(|v| (labels, v))
                    })
                    .collect(),
            ))
        }
    }
}

/// The order of `sort`, `sort_desc`, `topk` and `bottomk` as Loki's
/// heaps give it (`vectorByValueHeap`/`vectorByReverseValueHeap` in
/// pkg/logql/vector.go count NaN as less than anything on the way in,
/// and it comes out last): values ascending or descending, NaN (of any
/// sign) last, so `topk` and `bottomk` keep it only when too few other
/// values are left.
fn nan_last(a: f64, b: f64, ascending: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // Go's `<`: -0 and 0 are equal.
        _ if ascending => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

fn aggregate(
    v: &VectorAggregation,
    input: Vec<(LabelSet, f64)>,
) -> Result<Vec<(LabelSet, f64)>, EvalError> {
    let key = |labels: &LabelSet| match &v.grouping {
        Some(g) => group_labels(labels, g),
        None => Vec::new(),
    };
    match v.op {
        VectorOp::Sort | VectorOp::SortDesc => {
            let mut out = input;
            out.sort_by(|a, b| nan_last(a.1, b.1, v.op == VectorOp::Sort));
            Ok(out)
        }
        VectorOp::Topk | VectorOp::Bottomk => {
            let k = v.param.unwrap_or(0.0) as usize;
            let mut groups: BTreeMap<LabelSet, Vec<(LabelSet, f64)>> = BTreeMap::new();
            for (labels, x) in input {
                groups.entry(key(&labels)).or_default().push((labels, x));
            }
            let mut out = Vec::new();
            for (_, mut members) in groups {
                members.sort_by(|a, b| nan_last(a.1, b.1, v.op == VectorOp::Bottomk));
                members.truncate(k);
                out.extend(members);
            }
            Ok(out)
        }
        _ => {
            let mut groups: BTreeMap<LabelSet, Vec<f64>> = BTreeMap::new();
            for (labels, x) in input {
                groups.entry(key(&labels)).or_default().push(x);
            }
            Ok(groups
                .into_iter()
                .map(|(labels, xs)| {
                    let n = xs.len() as f64;
                    let sum: f64 = xs.iter().sum();
                    let value = match v.op {
                        VectorOp::Sum => sum,
                        VectorOp::Avg => sum / n,
                        VectorOp::Min => extreme(xs.iter().copied(), false),
                        VectorOp::Max => extreme(xs.iter().copied(), true),
                        VectorOp::Count => n,
                        VectorOp::Stddev | VectorOp::Stdvar => {
                            let mean = sum / n;
                            let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
                            if v.op == VectorOp::Stddev {
                                var.sqrt()
                            } else {
                                var
                            }
                        }
                        _ => f64::NAN,
                    };
                    (labels, value)
                })
                .collect())
        }
    }
}

fn arith(op: BinaryOp, a: f64, b: f64) -> Option<f64> {
    Some(match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        // Loki guards both against a zero divisor: NaN, not ±Inf
        // (`MergeBinOp` in pkg/logql/syntax).
        BinaryOp::Div | BinaryOp::Mod if b == 0.0 => f64::NAN,
        BinaryOp::Div => a / b,
        BinaryOp::Mod => a % b,
        BinaryOp::Pow => a.powf(b),
        _ => return None,
    })
}

fn compare(op: BinaryOp, a: f64, b: f64) -> Option<bool> {
    Some(match op {
        BinaryOp::Eq => a == b,
        BinaryOp::Neq => a != b,
        BinaryOp::Gt => a > b,
        BinaryOp::Gte => a >= b,
        BinaryOp::Lt => a < b,
        BinaryOp::Lte => a <= b,
        _ => return None,
    })
}

/// The label set two vector elements are matched on.
fn match_key(labels: &LabelSet, b: &BinaryExpr) -> LabelSet {
    match &b.matching {
        Some(m) if m.on => labels
            .iter()
            .filter(|(n, _)| m.labels.contains(n))
            .cloned()
            .collect(),
        Some(m) => labels
            .iter()
            .filter(|(n, _)| !m.labels.contains(n))
            .cloned()
            .collect(),
        None => labels.clone(),
    }
}

fn binary(b: &BinaryExpr, l: Value, r: Value) -> Result<Value, EvalError> {
    let op = b.op;
    // Result of one pair: Some(value) keeps the element.
    let pair = |a: f64, c: f64| -> Option<f64> {
        if let Some(x) = arith(op, a, c) {
            return Some(x);
        }
        let holds = compare(op, a, c)?;
        if b.return_bool {
            Some(if holds { 1.0 } else { 0.0 })
        } else if holds {
            Some(a)
        } else {
            None
        }
    };
    match (l, r) {
        // Loki folds literal legs when parsing (`reduceBinOp`), comparing
        // without filtering: 1 or 0, `bool` or not.
        (Value::Scalar(a), Value::Scalar(c)) => Ok(Value::Scalar(match compare(op, a, c) {
            Some(holds) => f64::from(u8::from(holds)),
            None => arith(op, a, c).unwrap_or(f64::NAN),
        })),
        (Value::Vector(v), Value::Scalar(c)) => Ok(Value::Vector(
            v.into_iter()
                .filter_map(|(labels, a)| pair(a, c).map(|x| (labels, x)))
                .collect(),
        )),
        (Value::Scalar(a), Value::Vector(v)) => Ok(Value::Vector(
            v.into_iter()
                .filter_map(|(labels, c)| {
                    // For comparisons the vector element's value is kept.
                    if let (Some(holds), false) = (compare(op, a, c), b.return_bool) {
                        return holds.then_some((labels, c));
                    }
                    pair(a, c).map(|x| (labels, x))
                })
                .collect(),
        )),
        (Value::Vector(lv), Value::Vector(rv)) => match op {
            BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => {
                let rkeys: Vec<LabelSet> = rv.iter().map(|(l, _)| match_key(l, b)).collect();
                let lkeys: Vec<LabelSet> = lv.iter().map(|(l, _)| match_key(l, b)).collect();
                let out = match op {
                    BinaryOp::And => lv
                        .into_iter()
                        .zip(lkeys)
                        .filter(|(_, k)| rkeys.contains(k))
                        .map(|(e, _)| e)
                        .collect(),
                    BinaryOp::Unless => lv
                        .into_iter()
                        .zip(lkeys)
                        .filter(|(_, k)| !rkeys.contains(k))
                        .map(|(e, _)| e)
                        .collect(),
                    _ => {
                        let mut out: Vec<(LabelSet, f64)> = lv.clone();
                        for ((labels, x), k) in rv.into_iter().zip(rkeys) {
                            if !lkeys.contains(&k) {
                                out.push((labels, x));
                            }
                        }
                        out
                    }
                };
                Ok(Value::Vector(out))
            }
            _ => vector_binop(b, pair, lv, rv).map(Value::Vector),
        },
    }
}

/// Arithmetic and comparisons between two vectors, as Loki's `vectorBinop`
/// (pkg/logql/evaluator.go): the "one" side (the right, or the left for
/// `group_right`) is indexed by match key and must be unique; each element
/// of the other side is paired with its match; one-to-one matching allows
/// one pair per key, grouped matching one per result label set.
fn vector_binop(
    b: &BinaryExpr,
    pair: impl Fn(f64, f64) -> Option<f64>,
    lv: Vec<(LabelSet, f64)>,
    rv: Vec<(LabelSet, f64)>,
) -> Result<Vec<(LabelSet, f64)>, EvalError> {
    let group = b.matching.as_ref().and_then(|m| m.group.as_ref());
    let flipped = matches!(group, Some((GroupSide::Right, _)));
    let (many, one) = if flipped { (rv, lv) } else { (lv, rv) };
    let mut index: BTreeMap<LabelSet, (LabelSet, f64)> = BTreeMap::new();
    for (labels, x) in one {
        if index.insert(match_key(&labels, b), (labels, x)).is_some() {
            let side = if flipped { "left" } else { "right" };
            return Err(EvalError(format!(
                "found duplicate series on the {side} hand-side;many-to-many matching not allowed: matching labels must be unique on one side"
            )));
        }
    }
    let mut matched: BTreeMap<LabelSet, Vec<LabelSet>> = BTreeMap::new();
    let mut out = Vec::new();
    for (labels, x) in many {
        let k = match_key(&labels, b);
        let Some((one_labels, y)) = index.get(&k) else {
            continue;
        };
        let result_labels = result_labels(&labels, one_labels, b);
        let seen = matched.entry(k).or_default();
        if group.is_none() {
            if !seen.is_empty() {
                return Err(EvalError(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
            seen.push(Vec::new());
        } else if seen.contains(&result_labels) {
            return Err(EvalError(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        } else {
            seen.push(result_labels.clone());
        }
        let (a, c) = if flipped { (*y, x) } else { (x, *y) };
        if let Some(v) = pair(a, c) {
            out.push((result_labels, v));
        }
    }
    Ok(out)
}

/// The labels of a vector–vector result (Loki's `resultMetric`): those of
/// the "many" side; with one-to-one matching only the `on` labels, or all
/// but the `ignoring` ones; `group_x(l…)` copies each `l` from the "one"
/// side, or removes it when that side lacks it.
fn result_labels(many: &LabelSet, one: &LabelSet, b: &BinaryExpr) -> LabelSet {
    let Some(m) = &b.matching else {
        return many.clone();
    };
    let mut out: LabelSet = match &m.group {
        None => match_key(many, b),
        Some(_) => many.clone(),
    };
    if let Some((_, include)) = &m.group {
        for name in include {
            out.retain(|(n, _)| n != name);
            if let Some(l) = one.iter().find(|(n, v)| n == name && !v.is_empty()) {
                out.push(l.clone());
            }
        }
        out.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logql::ast::Expr;
    use crate::logql::parse;

    const S: i64 = 1_000_000_000;

    fn metric(q: &str) -> MetricExpr {
        match parse(q).unwrap() {
            Expr::Metric(m) => m,
            Expr::Log(_) => panic!("not a metric query"),
        }
    }

    fn series(labels: &[(&str, &str)], pts: &[(i64, f64)]) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            points: pts.iter().map(|(t, v)| (t * S, *v)).collect(),
        }
    }

    fn vector(v: Value) -> Vec<(LabelSet, f64)> {
        match v {
            Value::Vector(v) => v,
            Value::Scalar(s) => panic!("scalar {s}"),
        }
    }

    /// Loki's engine steps a range query from its start: start, start +
    /// step, … while ≤ end.
    #[test]
    fn steps_from_start_are_not_aligned() {
        assert_eq!(
            steps_from(7 * S, 31 * S, 10 * S),
            vec![7 * S, 17 * S, 27 * S]
        );
        assert_eq!(step_count_from(7 * S, 31 * S, 10 * S), 3);
        assert_eq!(steps_from(7 * S, 7 * S, 10 * S), vec![7 * S]);
        assert!(steps_from(8 * S, 7 * S, 10 * S).is_empty());
        assert_eq!(step_count_from(i64::MIN, i64::MAX, 1), u64::MAX as i128 + 1);
    }

    #[test]
    fn steps_are_aligned_to_multiples() {
        // Start and end both round down: 7 → 0, 31 → 30.
        assert_eq!(
            steps(7 * S, 31 * S, 10 * S),
            vec![0, 10 * S, 20 * S, 30 * S]
        );
        assert_eq!(steps(10 * S, 20 * S, 10 * S), vec![10 * S, 20 * S]);
        assert_eq!(step_count(7 * S, 31 * S, 10 * S), 4);
        // Times 500 years apart: no overflow, and the count says so.
        let (a, b) = (-8_520_336_000 * S, 7_258_118_400 * S); // 1700, 2200
                                                              // −8.52e9 s ÷ 365 d rounds down to −271, 7.26e9 s to 230.
        assert_eq!(step_count(a, b, 8760 * 3600 * S), 502);
        let t = steps(a, b, 8760 * 3600 * S);
        assert_eq!(t.len(), 502);
        assert!(t[0] <= a && *t.last().unwrap() <= b && t.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(step_count(i64::MIN, i64::MAX, 1), u64::MAX as i128 + 1);
        assert!(steps(i64::MIN, i64::MAX, 1).len() as i64 == MAX_STEPS);
    }

    /// Series-at-a-time evaluation gives exactly the step-at-a-time
    /// answers, for steps shorter, equal and longer than the range, with
    /// offsets, gaps, and samples on window edges.
    #[test]
    fn series_at_a_time_equals_step_at_a_time() {
        let queries = [
            r#"count_over_time({job="a"}[10s])"#,
            r#"sum by (path) (rate({job="a"}[10s] offset 5s))"#,
            r#"sum(bytes_over_time({job="a"}[30s]))"#,
            r#"quantile_over_time(0.9, {job="a"} | unwrap v [10s]) by (path)"#,
            r#"rate_counter({job="a"} | unwrap v [20s])"#,
            r#"last_over_time({job="a"} | unwrap v [10s] offset 10s)"#,
        ];
        // Deterministic pseudo-random samples with gaps and edge times.
        let mut x: u64 = 7;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        let mut all = Vec::new();
        for k in 0..6 {
            let mut t = 0i64;
            let mut pts = Vec::new();
            for _ in 0..40 {
                t += match next() % 5 {
                    0 => 10,
                    1 => 37,
                    _ => (next() % 4) as i64 + 1,
                };
                pts.push((t, (next() % 100) as f64));
            }
            all.push(series(&[("path", &format!("/p{k}"))], &pts));
        }
        for q in queries {
            let e = metric(q);
            let r = single_series_range(&e).unwrap_or_else(|| panic!("{q}: not per-series"));
            // Collected as `cmd::query` collects: labels projected, the
            // samples of equal label sets merged in time order.
            let mut merged: BTreeMap<LabelSet, Vec<(i64, f64)>> = BTreeMap::new();
            for s in &all {
                let mut l = s.labels.clone();
                if let Some(g) = &projections(&e)[0] {
                    project(&mut l, g);
                }
                merged.entry(l).or_default().extend_from_slice(&s.points);
            }
            let collected: Vec<Series> = merged
                .into_iter()
                .map(|(labels, mut points)| {
                    points.sort_by_key(|(t, _)| *t);
                    Series { labels, points }
                })
                .collect();
            for step in [3, 10, 25] {
                let times = steps(0, 300 * S, step * S);
                let data = vec![collected.clone()];
                for s in &collected {
                    let got = eval_series(r, &s.points, &times);
                    let want: Vec<(i64, f64)> = times
                        .iter()
                        .filter_map(|&t| {
                            let v = vector(eval_at(&e, t, &data).unwrap());
                            v.iter().find(|(l, _)| *l == s.labels).map(|(_, x)| (t, *x))
                        })
                        .collect();
                    assert_eq!(got, want, "{q} step {step} {:?}", s.labels);
                }
            }
        }
        for q in [
            r#"sum by (path) (max_over_time({job="a"} | unwrap v [10s]))"#,
            r#"count(count_over_time({job="a"}[10s]))"#,
            r#"absent_over_time({job="a"}[10s])"#,
            r#"sum by (path) (count_over_time({job="a"}[10s])) > 1"#,
        ] {
            assert!(single_series_range(&metric(q)).is_none(), "{q}");
        }
    }

    #[test]
    fn window_is_left_open_right_closed() {
        let e = metric(r#"count_over_time({job="a"}[10s])"#);
        let data = vec![vec![series(
            &[("job", "a")],
            &[(0, 1.0), (5, 1.0), (10, 1.0), (11, 1.0)],
        )]];
        // (0, 10]: the samples at 5 and 10, not the one at 0.
        assert_eq!(vector(eval_at(&e, 10 * S, &data).unwrap())[0].1, 2.0);
        // (10, 20]: only 11.
        assert_eq!(vector(eval_at(&e, 20 * S, &data).unwrap())[0].1, 1.0);
        // Empty windows give no element.
        assert!(vector(eval_at(&e, 40 * S, &data).unwrap()).is_empty());
    }

    #[test]
    fn rate_offset_and_unwrap_functions() {
        let data = vec![vec![series(
            &[("p", "/x")],
            &[(1, 2.0), (2, 4.0), (3, 9.0)],
        )]];
        let at = |q: &str, t: i64| vector(eval_at(&metric(q), t * S, &data).unwrap())[0].1;
        assert_eq!(at(r#"rate({p="/x"}[4s])"#, 4), 0.75);
        assert_eq!(at(r#"sum_over_time({p="/x"} | unwrap v [4s])"#, 4), 15.0);
        assert_eq!(at(r#"avg_over_time({p="/x"} | unwrap v [4s])"#, 4), 5.0);
        assert_eq!(at(r#"max_over_time({p="/x"} | unwrap v [4s])"#, 4), 9.0);
        assert_eq!(at(r#"first_over_time({p="/x"} | unwrap v [4s])"#, 4), 2.0);
        assert_eq!(at(r#"last_over_time({p="/x"} | unwrap v [4s])"#, 4), 9.0);
        // Interpolated quantile of [2, 4, 9] at 0.5 is 4; at 0.75: 4 + 0.5·5.
        assert_eq!(
            at(r#"quantile_over_time(0.75, {p="/x"} | unwrap v [4s])"#, 4),
            6.5
        );
        // offset 2s shifts the window to (−2, 2].
        assert_eq!(at(r#"count_over_time({p="/x"}[4s] offset 2s)"#, 4), 2.0);
    }

    #[test]
    fn vector_aggregations_and_binary_ops() {
        let data = vec![vec![
            series(&[("path", "/a"), ("s", "500")], &[(1, 0.0), (2, 0.0)]),
            series(&[("path", "/a"), ("s", "200")], &[(1, 0.0)]),
            series(
                &[("path", "/b"), ("s", "200")],
                &[(1, 0.0), (2, 0.0), (3, 0.0)],
            ),
        ]];
        let q = |q: &str| {
            let mut v = vector(eval_at(&metric(q), 5 * S, &data).unwrap());
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let by_path = q(r#"sum by (path) (count_over_time({s=~".+"}[10s]))"#);
        assert_eq!(by_path.len(), 2);
        assert_eq!(by_path[0].1, 3.0);
        assert_eq!(by_path[1].1, 3.0);
        let top = q(r#"topk(1, count_over_time({s=~".+"}[10s]))"#);
        assert_eq!(top[0].1, 3.0);
        // Each range aggregation has its own samples (here: 5xx only, all).
        let two = vec![vec![data[0][0].clone()], data[0].clone()];
        let mut ratio = vector(
            eval_at(
                &metric(r#"sum by (path) (count_over_time({s="500"}[10s])) / sum by (path) (count_over_time({s=~".+"}[10s]))"#),
                5 * S,
                &two,
            )
            .unwrap(),
        );
        ratio.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(ratio.len(), 1);
        assert!((ratio[0].1 - 2.0 / 3.0).abs() < 1e-12);
        let filtered = q(r#"sum by (path) (count_over_time({s=~".+"}[10s])) > 2"#);
        assert_eq!(filtered.len(), 2);
        let as_bool = q(r#"sum by (path) (count_over_time({s="500"}[10s])) > bool 5"#);
        assert_eq!(as_bool[0].1, 0.0);
        assert_eq!(
            eval_at(&metric("1 + 2 * 3"), 0, &data).unwrap(),
            Value::Scalar(7.0)
        );
    }

    #[test]
    fn rate_counter_is_prometheus_rate_over_the_window() {
        // Counter 2, 10, 18, 26 at 3, 5, 7, 9 s; window (0, 10]: increase
        // 24 over 6 s (average 2 s, threshold 2.2 s). To start 3 s ≥ 2.2 →
        // half an interval (1 s), capped by the zero point 6·2/24 = 0.5 s;
        // to end 1 s. 24 · (6 + 0.5 + 1) / 6 / 10 s = 3.
        let pts = [(3 * S, 2.0), (5 * S, 10.0), (7 * S, 18.0), (9 * S, 26.0)];
        assert_eq!(extrapolated_rate(&pts, 0, 10 * S), 3.0);
        // A reset adds the value before it: 20, 24, 4, 8 → 8 − 20 + 24.
        let reset = [(2 * S, 20.0), (4 * S, 24.0), (6 * S, 4.0), (8 * S, 8.0)];
        assert_eq!(extrapolated_rate(&reset, 0, 10 * S), 2.0);
        // One sample: 0, and the element is kept.
        assert_eq!(extrapolated_rate(&reset[..1], 0, 10 * S), 0.0);
        let e = metric(r#"rate_counter({job="a"} | unwrap v [10s])"#);
        let data = vec![vec![series(&[("job", "a")], &[(3, 2.0)])]];
        assert_eq!(vector(eval_at(&e, 10 * S, &data).unwrap())[0].1, 0.0);
    }

    /// NaN comes last in `sort`, `sort_desc`, `topk` and `bottomk`, as
    /// Loki's value heaps (pkg/logql/vector.go, VectorAggEvaluator) put it.
    #[test]
    fn nan_sorts_last_as_loki() {
        let data = vec![vec![
            series(&[("k", "a")], &[(1, 2.0)]),
            series(&[("k", "n")], &[(1, f64::NAN)]),
            series(&[("k", "b")], &[(1, 5.0)]),
            series(&[("k", "m")], &[(1, -f64::NAN)]),
        ]];
        let order = |q: &str| -> Vec<String> {
            vector(eval_at(&metric(q), 5 * S, &data).unwrap())
                .into_iter()
                .map(|(l, _)| l[0].1.clone())
                .collect()
        };
        let inner = r#"sum_over_time({job="a"} | unwrap v [10s])"#;
        let top = order(&format!("sort_desc({inner})"));
        assert_eq!(top[..2], ["b", "a"]);
        let bottom = order(&format!("sort({inner})"));
        assert_eq!(bottom[..2], ["a", "b"]);
        assert_eq!(order(&format!("topk(2, {inner})")), ["b", "a"]);
        assert_eq!(order(&format!("bottomk(2, {inner})")), ["a", "b"]);
        // NaN is kept only when fewer values are left.
        let three = order(&format!("topk(3, {inner})"));
        assert_eq!(three.len(), 3);
        assert!(three[2] == "n" || three[2] == "m");
    }

    #[test]
    fn division_by_zero_is_nan_and_literal_comparisons_fold() {
        let data = vec![vec![series(&[("job", "a")], &[(1, 0.0)])]];
        let at = |q: &str| eval_at(&metric(q), 5 * S, &data).unwrap();
        for q in [
            r#"count_over_time({job="a"}[10s]) / 0"#,
            r#"count_over_time({job="a"}[10s]) % 0"#,
        ] {
            assert!(vector(at(q))[0].1.is_nan(), "{q}");
        }
        assert!(matches!(at("vector(1) / 0"), Value::Vector(v) if v[0].1.is_nan()));
        // Loki reduces literal legs without filtering: 1 or 0.
        assert_eq!(at("1 > 2"), Value::Scalar(0.0));
        assert_eq!(at("2 > 1"), Value::Scalar(1.0));
    }

    #[test]
    fn vector_matching_labels_as_loki() {
        let data = vec![
            vec![
                series(&[("p", "/a"), ("s", "500")], &[(1, 0.0)]),
                series(&[("p", "/b"), ("s", "503")], &[(1, 0.0), (2, 0.0)]),
            ],
            vec![
                series(&[("o", "x"), ("p", "/a")], &[(1, 0.0)]),
                series(&[("p", "/b")], &[(1, 0.0)]),
            ],
        ];
        let at = |q: &str| eval_at(&metric(q), 5 * S, &data).map(vector);
        let l = |v: &[(&str, &str)]| -> LabelSet {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        // ignoring(…) one-to-one: the ignored labels leave the result.
        let got = at(
            r#"count_over_time({s=~".+"}[10s]) / ignoring(s, o) count_over_time({p=~".+"}[10s])"#,
        )
        .unwrap();
        assert_eq!(
            got,
            vec![(l(&[("p", "/a")]), 1.0), (l(&[("p", "/b")]), 2.0)]
        );
        // group_left(o): copied from the one side, removed where it lacks it.
        let got = at(r#"count_over_time({s=~".+"}[10s]) / on(p) group_left(o) count_over_time({p=~".+"}[10s])"#).unwrap();
        assert_eq!(
            got,
            vec![
                (l(&[("o", "x"), ("p", "/a"), ("s", "500")]), 1.0),
                (l(&[("p", "/b"), ("s", "503")]), 2.0)
            ]
        );
        // The one side must be unique even with group_left.
        let err = at(
            r#"count_over_time({p=~".+"}[10s]) / on() group_left count_over_time({s=~".+"}[10s])"#,
        )
        .unwrap_err();
        assert!(
            err.0
                .starts_with("found duplicate series on the right hand-side"),
            "{err}"
        );
    }

    #[test]
    fn absent_labels_keep_names_matched_once_by_equality() {
        let m = |q: &str| match metric(q) {
            MetricExpr::Range(r) => absent_labels(&r.log.matchers),
            _ => unreachable!(),
        };
        let l = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert_eq!(m(r#"absent_over_time({a="x", b=~"y"}[1m])"#), l("a", "x"));
        assert_eq!(
            m(r#"absent_over_time({a="x", a!="y", b="z"}[1m])"#),
            l("b", "z")
        );
    }

    #[test]
    fn min_max_follow_loki_with_nan() {
        assert!(extreme([f64::NAN, f64::NAN].into_iter(), true).is_nan());
        assert_eq!(extreme([f64::NAN, 3.0, 1.0].into_iter(), false), 1.0);
        assert_eq!(extreme([2.0, f64::NAN, 5.0].into_iter(), true), 5.0);
        assert!(sorts_by_value(&metric(
            r#"sort(count_over_time({a="b"}[1m])) * 2"#
        )));
        assert!(!sorts_by_value(&metric(
            r#"topk(1, count_over_time({a="b"}[1m]))"#
        )));
    }

    #[test]
    fn prometheus_quantile_interpolates() {
        let mut v = vec![1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(0.5, &mut v), 2.5);
        assert_eq!(quantile(0.0, &mut v), 1.0);
        assert_eq!(quantile(1.0, &mut v), 4.0);
    }
}
