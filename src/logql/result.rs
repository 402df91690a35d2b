//! Loki's result shapes: a metric query's answer written as it is
//! produced, as Loki's `query_range`/`query` JSON or as a table, never the
//! whole answer in memory.

use std::io::{self, Write};

use super::ast::{MetricExpr, RangeAggregation};
use super::eval::{self, LabelSet, RangeData, Value};
use crate::output::write_json_object;

/// What `query` prints for metric queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOutput {
    Table,
    Json,
}

fn labels_json(out: &mut Vec<u8>, labels: &LabelSet) {
    write_json_object(out, labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
}

/// Unix seconds as Loki prints them: an integer when whole.
fn ts_json(ns: i64) -> String {
    if ns % crate::time::NANOS_PER_SEC == 0 {
        (ns / crate::time::NANOS_PER_SEC).to_string()
    } else {
        format!("{}", ns as f64 / 1e9)
    }
}

fn value_str(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// What a metric query evaluated to, in output order.
pub enum QueryResult {
    Scalar(i64, f64),
    Series(Vec<(LabelSet, Vec<(i64, f64)>)>),
}

/// Evaluates the whole expression at each step. A range query's points go
/// into a matrix sorted by labels; a scalar (a literal query) becomes one
/// series with no labels, as Loki's `PopulateMatrixFromScalar`. An instant
/// vector is sorted by labels too, unless the query sorts by value (`sort`,
/// `sort_desc`: Loki's `Sortable`), which keeps the evaluation order.
pub fn evaluate_by_step(
    m: &MetricExpr,
    instant: bool,
    data: &RangeData,
    times: &[i64],
) -> Result<QueryResult, eval::EvalError> {
    let mut matrix: std::collections::BTreeMap<LabelSet, Vec<(i64, f64)>> = Default::default();
    let mut series: Vec<(LabelSet, Vec<(i64, f64)>)> = Vec::new();
    for t in times {
        match eval::eval_at(m, *t, data)? {
            Value::Scalar(v) if instant => return Ok(QueryResult::Scalar(*t, v)),
            Value::Scalar(v) => matrix.entry(Vec::new()).or_default().push((*t, v)),
            Value::Vector(mut v) if instant => {
                if !eval::sorts_by_value(m) {
                    v.sort_by(|a, b| a.0.cmp(&b.0));
                }
                series = v.into_iter().map(|(l, x)| (l, vec![(*t, x)])).collect();
            }
            Value::Vector(v) => {
                for (labels, x) in v {
                    matrix.entry(labels).or_default().push((*t, x));
                }
            }
        }
    }
    if !instant {
        series = matrix.into_iter().collect();
    }
    Ok(QueryResult::Series(series))
}

pub fn write_result<W: Write>(w: &mut ResultWriter<W>, result: QueryResult) -> io::Result<()> {
    match result {
        QueryResult::Scalar(t, v) => w.scalar(t, v),
        QueryResult::Series(series) => {
            w.begin()?;
            for (labels, pts) in &series {
                w.series(labels, pts)?;
            }
            w.end()
        }
    }
}

pub fn write_per_series<W: Write>(
    w: &mut ResultWriter<W>,
    r: &RangeAggregation,
    mut data: RangeData,
    times: &[i64],
) -> io::Result<()> {
    w.begin()?;
    for s in data.pop().unwrap_or_default() {
        let pts = eval::eval_series(r, &s.points, times);
        if !pts.is_empty() {
            w.series(&s.labels, &pts)?;
        }
    }
    w.end()
}

/// Writes a result as it is produced: Loki's `query_range` JSON or the
/// table, never the whole answer in memory.
pub struct ResultWriter<W: Write> {
    pub w: W,
    output: QueryOutput,
    instant: bool,
    /// Series written so far.
    count: usize,
}

impl<W: Write> ResultWriter<W> {
    pub fn new(w: W, output: QueryOutput, instant: bool) -> Self {
        ResultWriter {
            w,
            output,
            instant,
            count: 0,
        }
    }

    pub fn begin(&mut self) -> io::Result<()> {
        if self.output == QueryOutput::Json {
            let result_type = if self.instant { "vector" } else { "matrix" };
            write!(
                self.w,
                "{{\"status\":\"success\",\"data\":{{\"resultType\":\"{result_type}\",\"result\":["
            )?;
        }
        Ok(())
    }

    pub fn scalar(&mut self, t: i64, v: f64) -> io::Result<()> {
        match self.output {
            QueryOutput::Json => writeln!(
                self.w,
                "{{\"status\":\"success\",\"data\":{{\"resultType\":\"scalar\",\"result\":[{},\"{}\"]}}}}",
                ts_json(t),
                value_str(v)
            ),
            QueryOutput::Table => writeln!(
                self.w,
                "{}  {}",
                crate::time::format_rfc3339_nano(t),
                value_str(v)
            ),
        }
    }

    pub fn series(&mut self, labels: &LabelSet, pts: &[(i64, f64)]) -> io::Result<()> {
        self.count += 1;
        match self.output {
            QueryOutput::Json => {
                let mut buf = Vec::with_capacity(64);
                if self.count > 1 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"metric\":");
                labels_json(&mut buf, labels);
                self.w.write_all(&buf)?;
                if self.instant {
                    let (t, v) = pts[pts.len() - 1];
                    write!(self.w, ",\"value\":[{},\"{}\"]}}", ts_json(t), value_str(v))
                } else {
                    self.w.write_all(b",\"values\":[")?;
                    for (j, (t, v)) in pts.iter().enumerate() {
                        if j > 0 {
                            self.w.write_all(b",")?;
                        }
                        write!(self.w, "[{},\"{}\"]", ts_json(*t), value_str(*v))?;
                    }
                    self.w.write_all(b"]}")
                }
            }
            QueryOutput::Table => {
                let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                writeln!(self.w, "{{{}}}", l.join(", "))?;
                for (t, v) in pts {
                    writeln!(
                        self.w,
                        "  {}  {}",
                        crate::time::format_rfc3339_nano(*t),
                        value_str(*v)
                    )?;
                }
                Ok(())
            }
        }
    }

    pub fn end(&mut self) -> io::Result<()> {
        if self.output == QueryOutput::Json {
            self.w.write_all(b"]}}\n")?;
        }
        Ok(())
    }
}
