//! `nagare query`: LogQL over files or stdin without an index. Log queries
//! print lines (newest first, like Loki; `--forward` oldest first); metric
//! queries are evaluated as Loki range queries (or `--instant`) and print a
//! table or Loki's `query_range` JSON.

use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::ControlFlow;

use super::{report_query_error, EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::engine::{self, EngineOptions, Job};
use crate::framing::{self, ChunkKind};
use crate::logql::ast::{
    Expr, Grouping, LogExpr, MetricExpr, RangeAggregation, Stage, Unwrap, UnwrapConversion,
};
use crate::logql::eval::{self, LabelSet, RangeData, Series, Value};
use crate::logql::label_buf::LabelBuf;
use crate::logql::label_filter::{FilterState, LabelFilterExec};
use crate::logql::parse;
use crate::logql::pipeline::{CompileOptions, CompiledQuery, Exec, InputInfo};
use crate::output::{write_json_str, write_record, LineOutput};
use crate::source::InputSpec;
use crate::units::{go_duration_seconds, humanize_bytes_f64};

/// What `query` prints for metric queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOutput {
    Table,
    Json,
}

/// Resolved options of `query`.
pub struct QueryOptions {
    pub query: String,
    pub inputs: Vec<InputSpec>,
    pub unreadable_inputs: usize,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub step: Option<i64>,
    pub instant: bool,
    pub limit: usize,
    pub forward: bool,
    pub output: QueryOutput,
    pub lines: LineOutput,
    pub engine: EngineOptions,
}

/// One selected record of a log query.
struct Hit {
    ts: i64,
    printed: Vec<u8>,
}

/// A chunk's samples of a range aggregation, grouped by series, so a label
/// set is kept once per series rather than once per sample.
type ChunkSeries = HashMap<LabelSet, Vec<(i64, f64)>>;

/// Samples that carry `__error__`: the pipeline error each would fail the
/// query with, and their times. Loki fails a metric query only when an
/// evaluated window holds one, which is known once the steps are.
type ErrorSamples = HashMap<String, Vec<i64>>;

/// What a range aggregation's log part collected.
struct Collected {
    series: Vec<Series>,
    errors: ErrorSamples,
}

/// When a sample carrying `__error__` fails a metric query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorMode {
    /// No --start, --end or --instant: the query stands for all the data.
    AnySample,
    /// When an evaluated window holds it, as in Loki.
    InWindows,
}

impl ErrorMode {
    fn of(opts: &QueryOptions) -> ErrorMode {
        if opts.instant || opts.start.is_some() || opts.end.is_some() {
            ErrorMode::InWindows
        } else {
            ErrorMode::AnySample
        }
    }
}

/// How a range aggregation's collection treats error samples.
struct ErrorCheck<'a> {
    mode: ErrorMode,
    range: &'a RangeAggregation,
    /// The steps, when known before reading (both bounds given).
    times: Option<&'a [i64]>,
}

/// The evaluation steps from `start` to `end`, or why there would be too
/// many (more than [`eval::MAX_STEPS`]: refused rather than cut short).
fn checked_steps(start: i64, end: i64, step: i64) -> Result<Vec<i64>, String> {
    let n = eval::step_count(start, end, step);
    if n > eval::MAX_STEPS as i128 {
        return Err(format!(
            "the query would evaluate {n} steps of {}s from {} to {}, more than {}: give a larger --step or a shorter --start/--end",
            step as f64 / 1e9,
            crate::time::format_rfc3339_nano(start),
            crate::time::format_rfc3339_nano(end),
            eval::MAX_STEPS
        ));
    }
    Ok(eval::steps(start, end, step))
}

/// The first step whose window of `r` holds an error sample, and that
/// sample's pipeline error (Loki evaluates step by step and stops at the
/// first).
fn first_pipeline_error<'e>(
    r: &RangeAggregation,
    errors: &'e ErrorSamples,
    times: &[i64],
) -> Option<(i64, &'e str)> {
    errors
        .iter()
        .filter_map(|(msg, ts)| {
            let t = ts
                .iter()
                .filter_map(|&p| eval::first_step_covering(r, times, p))
                .min()?;
            Some((t, msg.as_str()))
        })
        .min()
}

/// A pipeline error Loki would fail the metric query with
/// (`PipelineError` in pkg/logqlmodel): the series is the sample's labels
/// with `__error__` and `__error_details__` among them.
fn pipeline_error(err: &str, details: &str, labels: &[(String, String)]) -> String {
    let mut all = labels.to_vec();
    all.push(("__error__".into(), err.into()));
    if !details.is_empty() {
        all.push(("__error_details__".into(), details.into()));
    }
    all.sort();
    let l: Vec<String> = all.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!(
        "pipeline error: '{err}' for series: '{{{}}}'.\nUse a label filter to intentionally skip this error. (e.g | __error__!=\"{err}\").\nTo skip all potential errors you can match empty errors.(e.g __error__=\"\")\nThe label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )",
        l.join(", ")
    )
}

/// Splits `{…} | stages | unwrap x | post` into the pipeline before the
/// unwrap and the unwrap itself.
fn split_unwrap(log: &LogExpr) -> (LogExpr, Option<Unwrap>) {
    let mut before = log.clone();
    let pos = before
        .stages
        .iter()
        .position(|s| matches!(s, Stage::Unwrap(_)));
    match pos {
        Some(i) => {
            let Stage::Unwrap(u) = before.stages.remove(i) else {
                return (before, None);
            };
            before.stages.truncate(i);
            (before, Some(u))
        }
        None => (before, None),
    }
}

struct SampleState<'a> {
    labels: &'a [(String, String)],
    err: Option<&'static str>,
}

impl FilterState for SampleState<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        if name == "__error__" {
            return self.err;
        }
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn has_error(&self) -> bool {
        self.err.is_some()
    }
    fn set_error(&mut self, err: &'static str, _: &str) {
        self.err = Some(err);
    }
}

/// Runs the log part of a range aggregation over the inputs and returns its
/// series.
fn collect_range(
    log: &LogExpr,
    projection: Option<&Grouping>,
    opts: &QueryOptions,
    check: &ErrorCheck<'_>,
    errors: &mut usize,
) -> Result<Collected, String> {
    let (pipeline, unwrap) = split_unwrap(log);
    // With a `by` projection only the grouping labels (and what the
    // pipeline and unwrap read) need extracting.
    let by_only = projection.filter(|g| !g.without);
    let mut q = CompiledQuery::compile(
        &pipeline,
        CompileOptions {
            all_labels: by_only.is_none(),
            need_ts: true,
            ..Default::default()
        },
    )
    .map_err(|e| e.message)?;
    if let Some(g) = by_only {
        let mut names = g.labels.clone();
        if let Some(u) = &unwrap {
            names.push(u.label.clone());
            for f in &u.post_filters {
                if let Ok(e) = LabelFilterExec::compile(f) {
                    e.names(&mut names);
                }
            }
        }
        q.want_also(&names);
    }
    let post: Vec<LabelFilterExec> = match &unwrap {
        Some(u) => u
            .post_filters
            .iter()
            .map(LabelFilterExec::compile)
            .collect::<Result<_, _>>()
            .map_err(|e| e.message)?,
        None => Vec::new(),
    };
    let q_ref = &q;
    let unwrap_ref = &unwrap;
    let post_ref = &post;
    let projection = projection.cloned();
    let projection = &projection;
    let make_worker = move || {
        let mut exec = Exec::new(q_ref, None);
        // Reused line after line: no allocation per sample but for a new
        // series (or an error).
        let mut labels = LabelBuf::default();
        let mut details = String::new();
        move |job: Job,
              recycle: &crossbeam_channel::Sender<Vec<u8>>|
              -> (ChunkSeries, ErrorSamples) {
            let mut out = ChunkSeries::new();
            let mut failed = ErrorSamples::new();
            let mut best_step: Option<i64> = None;
            let input: &InputInfo = &job.input;
            let data = &job.data[..job.len];
            let mut one = |line: &[u8]| {
                if !exec.process(input, line, job.arrival_ns) {
                    return;
                }
                labels.clear();
                details.clear();
                exec.for_each_label(input, |n, v| {
                    if n == "__error_details__" {
                        details.push_str(v);
                    } else if n != "__error__" {
                        labels.push(n, v);
                    }
                });
                labels.sort_dedup();
                let mut err = exec.error();
                let value = match unwrap_ref {
                    None => exec.line(line).len() as f64,
                    Some(u) => {
                        // An unwrap of a missing or empty label drops the
                        // sample (Loki's label sample extractor).
                        let Some(raw) = labels.get(&u.label).filter(|v| !v.is_empty()) else {
                            return;
                        };
                        // Go's strconv.ParseFloat and time.ParseDuration
                        // take the value as it is (no trimming).
                        let parsed = match u.conversion {
                            UnwrapConversion::None => raw.parse::<f64>().map_err(|_| {
                                format!("strconv.ParseFloat: parsing {raw:?}: invalid syntax")
                            }),
                            UnwrapConversion::Duration | UnwrapConversion::DurationSeconds => {
                                go_duration_seconds(raw)
                            }
                            UnwrapConversion::Bytes => humanize_bytes_f64(raw),
                        };
                        match parsed {
                            Ok(v) => v,
                            Err(e) => {
                                if err.is_none() {
                                    err = Some("SampleExtractionErr");
                                    details = e;
                                }
                                0.0
                            }
                        }
                    }
                };
                let mut st = SampleState {
                    labels: labels.as_slice(),
                    err,
                };
                if !post_ref.iter().all(|f| f.eval(&mut st)) {
                    return;
                }
                if let Some(e) = st.err {
                    let ts = exec.timestamp();
                    if let Some(times) = check.times {
                        // Steps known: only a sample a window holds
                        // matters, and only the earliest step's.
                        let Some(t) = eval::first_step_covering(check.range, times, ts) else {
                            return;
                        };
                        if best_step.is_some_and(|b| b <= t) {
                            return;
                        }
                        best_step = Some(t);
                        failed.clear();
                    }
                    let msg = pipeline_error(e, &details, labels.as_slice());
                    failed.entry(msg).or_default().push(ts);
                    return;
                }
                // The filters after the unwrap still see the unwrapped
                // label (Loki's extractor drops it only from the sample's
                // labels).
                if let Some(u) = unwrap_ref {
                    labels.retain(|n| n != u.label);
                }
                if let Some(g) = projection {
                    labels.retain(|n| eval::keeps(g, n));
                }
                let point = (exec.timestamp(), value);
                match out.get_mut(labels.as_slice()) {
                    Some(points) => points.push(point),
                    None => {
                        out.insert(labels.to_label_set(), vec![point]);
                    }
                }
            };
            if job.kind == ChunkKind::Truncated {
                one(data)
            } else {
                framing::records(data, input.format.record_start()).for_each(&mut one)
            };
            let _ = recycle.send(job.data);
            (out, failed)
        }
    };
    let select = |labels: &crate::record::Labels| {
        crate::logql::pipeline::matchers_select(&q.matchers, labels)
    };
    let mut series: HashMap<LabelSet, Vec<(i64, f64)>> = HashMap::new();
    let mut failed = ErrorSamples::new();
    let summary = engine::run(
        &opts.inputs,
        &opts.engine,
        &select,
        &make_worker,
        |(chunk, chunk_failed): (ChunkSeries, ErrorSamples), _| {
            for (labels, points) in chunk {
                match series.get_mut(&labels) {
                    Some(all) => all.extend_from_slice(&points),
                    None => {
                        series.insert(labels, points);
                    }
                }
            }
            let any_failed = !chunk_failed.is_empty();
            for (msg, times) in chunk_failed {
                failed.entry(msg).or_default().extend(times);
            }
            // Any error sample fails such a query (see run_metric): no need
            // to read on.
            if any_failed && check.mode == ErrorMode::AnySample {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    *errors += summary.errors.len();
    let mut out: Vec<Series> = series
        .into_iter()
        .map(|(labels, mut points)| {
            points.sort_by_key(|(t, _)| *t);
            // Growth slack is up to half of every series' samples.
            points.shrink_to_fit();
            Series { labels, points }
        })
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Collected {
        series: out,
        errors: failed,
    })
}

fn labels_json(out: &mut Vec<u8>, labels: &LabelSet) {
    out.push(b'{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, k.as_bytes());
        out.push(b':');
        write_json_str(out, v.as_bytes());
    }
    out.push(b'}');
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

fn run_metric(m: &MetricExpr, opts: &QueryOptions) -> i32 {
    let step = opts
        .step
        .or_else(|| eval::max_range(m))
        .unwrap_or(60 * crate::time::NANOS_PER_SEC)
        .max(1);
    let mode = ErrorMode::of(opts);
    // With both bounds (or an instant's end) the steps are known before
    // reading, so error samples are checked against the windows as they
    // come and only the one that would fail the query is kept.
    let known_times = match (opts.instant, opts.start, opts.end) {
        (true, _, Some(end)) => Some(vec![end]),
        (false, Some(start), Some(end)) => match checked_steps(start, end, step) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("nagare: {e}");
                return EXIT_USAGE;
            }
        },
        _ => None,
    };
    let mut input_errors = 0usize;
    let mut data: RangeData = Vec::new();
    let mut failed: Vec<ErrorSamples> = Vec::new();
    let projections = eval::projections(m);
    let ranges = eval::range_aggregations(m);
    for (r, p) in ranges.iter().zip(&projections) {
        let check = ErrorCheck {
            mode,
            range: r,
            times: known_times.as_deref(),
        };
        match collect_range(&r.log, p.as_ref(), opts, &check, &mut input_errors) {
            Ok(c) => {
                data.push(c.series);
                failed.push(c.errors);
            }
            Err(e) => {
                eprintln!("nagare: {e}");
                return EXIT_USAGE;
            }
        }
    }
    // Without --start, --end or --instant the query stands for all the data,
    // so any sample carrying `__error__` fails it (the first one read is
    // named), whatever the steps.
    if mode == ErrorMode::AnySample {
        let first = failed
            .iter()
            .flat_map(|f| f.iter())
            .filter_map(|(msg, ts)| Some((*ts.iter().min()?, msg.as_str())))
            .min();
        if let Some((_, e)) = first {
            eprintln!("nagare: {e}");
            return EXIT_USAGE;
        }
    }
    // A bound not given covers the data: every sample the query read, those
    // carrying `__error__` included.
    let (lo, hi) = data
        .iter()
        .flatten()
        .flat_map(|s| s.points.iter().map(|(t, _)| *t))
        .chain(failed.iter().flat_map(|f| f.values().flatten().copied()))
        .fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let start = opts.start.unwrap_or(if lo == i64::MAX { 0 } else { lo });
    // The data's own span: up to the first step at or after the last sample.
    let end = opts.end.unwrap_or(if hi == i64::MIN {
        start
    } else {
        hi.div_euclid(step) * step + if hi.rem_euclid(step) == 0 { 0 } else { step }
    });
    let times = match known_times {
        Some(t) => t,
        None if opts.instant => vec![end],
        None => match checked_steps(start, end, step) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("nagare: {e}");
                return EXIT_USAGE;
            }
        },
    };
    // Otherwise a sample with `__error__` fails the query when a window the
    // query evaluates holds it, as in Loki (the earliest such step's error
    // is named).
    let first_error = ranges
        .iter()
        .zip(&failed)
        .filter_map(|(r, f)| first_pipeline_error(r, f, &times))
        .min_by_key(|(t, _)| *t);
    if let Some((_, e)) = first_error {
        eprintln!("nagare: {e}");
        return EXIT_USAGE;
    }
    let stdout = io::stdout();
    let mut w = ResultWriter {
        w: io::BufWriter::with_capacity(1 << 16, stdout.lock()),
        output: opts.output,
        instant: opts.instant,
        count: 0,
    };
    let written = match eval::single_series_range(m).filter(|_| !opts.instant) {
        // Every output series is one collected series: evaluated and
        // written one at a time, each freed once written.
        Some(r) => write_per_series(&mut w, r, data, &times),
        None => match evaluate_by_step(m, opts, &data, &times) {
            Ok(result) => write_result(&mut w, result),
            Err(e) => {
                eprintln!("nagare: {e}");
                return EXIT_USAGE;
            }
        },
    };
    if let Err(e) = written.and_then(|_| w.w.flush()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("nagare: writing output: {e}");
            return EXIT_INPUT;
        }
    }
    if input_errors > 0 || opts.unreadable_inputs > 0 {
        EXIT_INPUT
    } else {
        EXIT_OK
    }
}

/// What a metric query evaluated to, in output order.
enum QueryResult {
    Scalar(i64, f64),
    Series(Vec<(LabelSet, Vec<(i64, f64)>)>),
}

/// Evaluates the whole expression at each step. A range query's points go
/// into a matrix sorted by labels; a scalar (a literal query) becomes one
/// series with no labels, as Loki's `PopulateMatrixFromScalar`. An instant
/// vector is sorted by labels too, unless the query sorts by value (`sort`,
/// `sort_desc`: Loki's `Sortable`), which keeps the evaluation order.
fn evaluate_by_step(
    m: &MetricExpr,
    opts: &QueryOptions,
    data: &RangeData,
    times: &[i64],
) -> Result<QueryResult, eval::EvalError> {
    let mut matrix: std::collections::BTreeMap<LabelSet, Vec<(i64, f64)>> = Default::default();
    let mut series: Vec<(LabelSet, Vec<(i64, f64)>)> = Vec::new();
    for t in times {
        match eval::eval_at(m, *t, data)? {
            Value::Scalar(v) if opts.instant => return Ok(QueryResult::Scalar(*t, v)),
            Value::Scalar(v) => matrix.entry(Vec::new()).or_default().push((*t, v)),
            Value::Vector(mut v) if opts.instant => {
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
    if !opts.instant {
        series = matrix.into_iter().collect();
    }
    Ok(QueryResult::Series(series))
}

fn write_result<W: Write>(w: &mut ResultWriter<W>, result: QueryResult) -> io::Result<()> {
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

fn write_per_series<W: Write>(
    w: &mut ResultWriter<W>,
    r: &crate::logql::ast::RangeAggregation,
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
struct ResultWriter<W: Write> {
    w: W,
    output: QueryOutput,
    instant: bool,
    /// Series written so far.
    count: usize,
}

impl<W: Write> ResultWriter<W> {
    fn begin(&mut self) -> io::Result<()> {
        if self.output == QueryOutput::Json {
            let result_type = if self.instant { "vector" } else { "matrix" };
            write!(
                self.w,
                "{{\"status\":\"success\",\"data\":{{\"resultType\":\"{result_type}\",\"result\":["
            )?;
        }
        Ok(())
    }

    fn scalar(&mut self, t: i64, v: f64) -> io::Result<()> {
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

    fn series(&mut self, labels: &LabelSet, pts: &[(i64, f64)]) -> io::Result<()> {
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

    fn end(&mut self) -> io::Result<()> {
        if self.output == QueryOutput::Json {
            self.w.write_all(b"]}}\n")?;
        }
        Ok(())
    }
}

fn run_log(log: &LogExpr, opts: &QueryOptions) -> i32 {
    let q = match CompiledQuery::compile(
        log,
        CompileOptions {
            all_labels: opts.lines == LineOutput::Jsonl,
            need_ts: true,
            ..Default::default()
        },
    ) {
        Ok(q) => q,
        Err(e) => {
            report_query_error(&e.into_query_error(&opts.query));
            return EXIT_USAGE;
        }
    };
    let range = match (opts.start, opts.end) {
        (None, None) => None,
        (s, e) => Some((s.unwrap_or(i64::MIN), e.unwrap_or(i64::MAX))),
    };
    let q_ref = &q;
    let mode = opts.lines;
    let make_worker = move || {
        let mut exec = Exec::new(q_ref, range);
        move |job: Job, recycle: &crossbeam_channel::Sender<Vec<u8>>| {
            let mut hits = Vec::new();
            let input = &*job.input;
            let data = &job.data[..job.len];
            let mut one = |line: &[u8]| {
                if exec.process(input, line, job.arrival_ns) {
                    let mut printed = Vec::new();
                    write_record(mode, &exec, input, line, &mut printed);
                    hits.push(Hit {
                        ts: exec.timestamp(),
                        printed,
                    });
                }
            };
            if job.kind == ChunkKind::Truncated {
                one(data);
            } else {
                framing::records(data, input.format.record_start()).for_each(&mut one);
            }
            let _ = recycle.send(job.data);
            hits
        }
    };
    let select = |labels: &crate::record::Labels| {
        crate::logql::pipeline::matchers_select(&q.matchers, labels)
    };
    // Keep only the `limit` newest (or oldest) records: a bounded heap.
    let mut kept: Vec<Hit> = Vec::new();
    let limit = opts.limit.max(1);
    let forward = opts.forward;
    let summary = engine::run(
        &opts.inputs,
        &opts.engine,
        &select,
        &make_worker,
        |hits: Vec<Hit>, _| {
            kept.extend(hits);
            if kept.len() > 4 * limit {
                if forward {
                    kept.sort_by_key(|h| h.ts);
                } else {
                    kept.sort_by_key(|h| std::cmp::Reverse(h.ts));
                }
                kept.truncate(limit);
            }
            ControlFlow::Continue(())
        },
    );
    if forward {
        kept.sort_by_key(|h| h.ts);
    } else {
        kept.sort_by_key(|h| std::cmp::Reverse(h.ts));
    }
    kept.truncate(limit);
    let mut w = io::BufWriter::new(io::stdout().lock());
    for h in &kept {
        if let Err(e) = w.write_all(&h.printed) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return EXIT_OK;
            }
            eprintln!("nagare: writing output: {e}");
            return EXIT_INPUT;
        }
    }
    let _ = w.flush();
    if summary.errors.is_empty() && opts.unreadable_inputs == 0 {
        EXIT_OK
    } else {
        EXIT_INPUT
    }
}

pub fn run(opts: QueryOptions) -> i32 {
    let expr = match parse(&opts.query) {
        Ok(e) => e,
        Err(e) => {
            report_query_error(&e);
            return EXIT_USAGE;
        }
    };
    match &expr {
        Expr::Log(log) => run_log(log, &opts),
        Expr::Metric(m) => run_metric(m, &opts),
    }
}
