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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

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

/// Applies a projection to a label set.
pub fn project(labels: &mut LabelSet, g: &Grouping) {
    labels.retain(|(n, _)| g.labels.iter().any(|l| l == n) != g.without);
}

/// The largest range in the query (the default step), in ns.
pub fn max_range(e: &MetricExpr) -> Option<i64> {
    range_aggregations(e).iter().map(|r| r.range_ns).max()
}

/// Step times: multiples of `step` from the first at or after `start` to
/// the last at or before `end`.
pub fn steps(start: i64, end: i64, step: i64) -> Vec<i64> {
    if step <= 0 || end < start {
        return Vec::new();
    }
    let first = start.div_euclid(step) * step + if start.rem_euclid(step) == 0 { 0 } else { step };
    let mut v = Vec::new();
    let mut t = first;
    while t <= end && v.len() < 100_000 {
        v.push(t);
        t += step;
    }
    v
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

fn range_value(
    op: RangeOp,
    param: Option<f64>,
    pts: &[(i64, f64)],
    range_s: f64,
    unwrapped: bool,
) -> Option<f64> {
    if pts.is_empty() {
        return None;
    }
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
        RangeOp::MinOverTime => vals().fold(f64::INFINITY, f64::min),
        RangeOp::MaxOverTime => vals().fold(f64::NEG_INFINITY, f64::max),
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
        RangeOp::RateCounter => return None,
    })
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
            let re = regex::Regex::new(&format!("^(?s:{})$", l.regex))
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
    let to = t - r.offset_ns;
    let from = to - r.range_ns;
    let range_s = r.range_ns as f64 / 1e9;
    let unwrapped = r
        .log
        .stages
        .iter()
        .any(|s| matches!(s, super::ast::Stage::Unwrap(_)));
    if r.op == RangeOp::RateCounter {
        return Err(EvalError("rate_counter is not supported yet".into()));
    }
    if r.op == RangeOp::AbsentOverTime {
        let any = series
            .iter()
            .any(|s| !window(&s.points, from, to).is_empty());
        if any {
            return Ok(Value::Vector(Vec::new()));
        }
        // Labels from the selector's equality matchers, as Prometheus does.
        let mut labels: LabelSet = r
            .log
            .matchers
            .iter()
            .filter(|m| m.op == super::ast::MatchOp::Eq)
            .map(|m| (m.name.clone(), m.value.clone()))
            .collect();
        labels.sort();
        labels.dedup_by(|a, b| a.0 == b.0);
        return Ok(Value::Vector(vec![(labels, 1.0)]));
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
                        range_s,
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
                        range_value(r.op, r.param, &pts, range_s, unwrapped).map(|v| (labels, v))
                    })
                    .collect(),
            ))
        }
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
            out.sort_by(|a, b| {
                let o = a.1.total_cmp(&b.1);
                if v.op == VectorOp::Sort {
                    o
                } else {
                    o.reverse()
                }
            });
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
                members.sort_by(|a, b| {
                    let o = b.1.total_cmp(&a.1);
                    if v.op == VectorOp::Topk {
                        o
                    } else {
                        o.reverse()
                    }
                });
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
                        VectorOp::Min => xs.iter().copied().fold(f64::INFINITY, f64::min),
                        VectorOp::Max => xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
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
    let is_cmp = compare(op, 0.0, 0.0).is_some();
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
        (Value::Scalar(a), Value::Scalar(c)) => {
            if is_cmp && !b.return_bool {
                return Err(EvalError(
                    "comparisons between scalars must use the bool modifier".into(),
                ));
            }
            Ok(Value::Scalar(pair(a, c).unwrap_or(f64::NAN)))
        }
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
            _ => {
                let group = b.matching.as_ref().and_then(|m| m.group.clone());
                // The "one" side is indexed by its match key.
                let (many, one, flipped) = match &group {
                    Some((GroupSide::Right, _)) => (rv, lv, true),
                    _ => (lv, rv, false),
                };
                let mut index: BTreeMap<LabelSet, (LabelSet, f64)> = BTreeMap::new();
                for (labels, x) in one {
                    let k = match_key(&labels, b);
                    if index.insert(k, (labels, x)).is_some() && group.is_none() {
                        return Err(EvalError(
                            "found duplicate series for the match group on the right-hand side of the operation; many-to-many matching not allowed: use group_left/group_right"
                                .into(),
                        ));
                    }
                }
                let mut out = Vec::new();
                let mut seen: BTreeMap<LabelSet, ()> = BTreeMap::new();
                for (labels, x) in many {
                    let k = match_key(&labels, b);
                    let Some((one_labels, y)) = index.get(&k) else {
                        continue;
                    };
                    let (a, c) = if flipped { (*y, x) } else { (x, *y) };
                    let Some(v) = pair(a, c) else { continue };
                    let mut result_labels = if group.is_some() {
                        labels.clone()
                    } else if b.matching.as_ref().is_some_and(|m| m.on) {
                        k.clone()
                    } else {
                        labels.clone()
                    };
                    if let Some((_, include)) = &group {
                        for name in include {
                            if let Some(v) = one_labels.iter().find(|(n, _)| n == name) {
                                result_labels.retain(|(n, _)| n != name);
                                result_labels.push(v.clone());
                            }
                        }
                        result_labels.sort();
                    }
                    if group.is_none() && seen.insert(result_labels.clone(), ()).is_some() {
                        return Err(EvalError(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                        ));
                    }
                    out.push((result_labels, v));
                }
                Ok(Value::Vector(out))
            }
        },
    }
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

    #[test]
    fn steps_are_aligned_to_multiples() {
        assert_eq!(steps(7 * S, 31 * S, 10 * S), vec![10 * S, 20 * S, 30 * S]);
        assert_eq!(steps(10 * S, 20 * S, 10 * S), vec![10 * S, 20 * S]);
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
    fn prometheus_quantile_interpolates() {
        let mut v = vec![1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(0.5, &mut v), 2.5);
        assert_eq!(quantile(0.0, &mut v), 1.0);
        assert_eq!(quantile(1.0, &mut v), 4.0);
    }
}
