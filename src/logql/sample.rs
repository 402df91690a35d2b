//! Sample extraction: what a range aggregation reads from each record.
//!
//! `{…} | stages | unwrap x | post-filters` becomes, per selected record, a
//! sample: a label set (the record's labels less `__error__`, less the
//! unwrapped label, narrowed to a `by`/`without` projection) and a value
//! (the unwrapped label converted as Loki converts it, or the line length
//! for `bytes_over_time`; the count aggregations ignore it). A record that
//! carries `__error__` after the post-filters is not a sample but a
//! pipeline error, which fails the query when a window it evaluates holds
//! it (Loki's `rangeVectorEvaluator`).
//!
//! Any source of records gets the same samples: the files and stdin today,
//! the archive and Loki responses next, all through [`SampleWorker::record`].

use std::collections::HashMap;

use super::ast::{Grouping, LogExpr, RangeAggregation, Stage, Unwrap, UnwrapConversion};
use super::eval::{self, LabelSet};
use super::label_buf::LabelBuf;
use super::label_filter::{FilterState, LabelFilterExec};
use super::pipeline::{CompileOptions, CompiledQuery, Exec, Record};
use super::CompileError;
use crate::batch::Batch;
use crate::units::{go_duration_seconds, humanize_bytes_f64};

/// A batch's samples of one range aggregation, grouped by series, so a
/// label set is kept once per series rather than once per sample.
pub type ChunkSeries = HashMap<LabelSet, Vec<(i64, f64)>>;

/// Records that carry `__error__`: the pipeline error each would fail the
/// query with, and their times.
pub type ErrorSamples = HashMap<String, Vec<i64>>;

/// What one batch yields for one range aggregation.
#[derive(Default)]
pub struct ChunkSamples {
    pub series: ChunkSeries,
    pub errors: ErrorSamples,
    /// With known steps: the earliest step an error sample here fails.
    best_step: Option<i64>,
}

/// The steps of the query when they are known before reading (both bounds
/// given, or an instant's time): error samples are then checked against
/// the windows as they come, and only the one that would fail the query is
/// kept.
#[derive(Clone, Copy)]
pub struct KnownSteps<'a> {
    pub range: &'a RangeAggregation,
    pub times: &'a [i64],
}

/// A range aggregation's log part, compiled.
pub struct SampleExtractor {
    query: CompiledQuery,
    unwrap: Option<Unwrap>,
    post: Vec<LabelFilterExec>,
    projection: Option<Grouping>,
}

impl SampleExtractor {
    /// Compiles the log part of a range aggregation. With a `by`
    /// projection only the grouping labels (and what the pipeline and the
    /// unwrap read) are extracted.
    pub fn compile(
        log: &LogExpr,
        projection: Option<&Grouping>,
    ) -> Result<SampleExtractor, CompileError> {
        let (pipeline, unwrap) = split_unwrap(log);
        let by_only = projection.filter(|g| !g.without);
        let mut query = CompiledQuery::compile(
            &pipeline,
            CompileOptions {
                all_labels: by_only.is_none(),
                need_ts: true,
                ..Default::default()
            },
        )?;
        let post: Vec<LabelFilterExec> = match &unwrap {
            Some(u) => u
                .post_filters
                .iter()
                .map(LabelFilterExec::compile)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        if let Some(g) = by_only {
            let mut names = g.labels.clone();
            if let Some(u) = &unwrap {
                names.push(u.label.clone());
                for f in &post {
                    f.names(&mut names);
                }
            }
            query.want_also(&names);
        }
        Ok(SampleExtractor {
            query,
            unwrap,
            post,
            projection: projection.cloned(),
        })
    }

    /// The compiled pipeline before the unwrap (its selector decides which
    /// inputs are read).
    pub fn query(&self) -> &CompiledQuery {
        &self.query
    }

    /// Per-worker state: reused line after line, so a sample allocates only
    /// for a new series (or an error).
    pub fn worker(&self) -> SampleWorker<'_> {
        SampleWorker {
            x: self,
            exec: Exec::new(&self.query, None),
            labels: LabelBuf::default(),
            details: String::new(),
        }
    }
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

/// One worker's extraction state.
pub struct SampleWorker<'x> {
    x: &'x SampleExtractor,
    exec: Exec<'x>,
    labels: LabelBuf,
    details: String,
}

/// The labels a post-unwrap filter sees: the sample's, and its error.
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

impl<'x> SampleWorker<'x> {
    /// The samples of one batch.
    pub fn batch(&mut self, batch: &Batch, known: Option<KnownSteps<'_>>) -> ChunkSamples {
        let mut out = ChunkSamples::default();
        let SampleWorker {
            x,
            exec,
            labels,
            details,
        } = self;
        exec.run_batch(batch, None, |s| {
            sample_of(x, &s.record(), labels, details, known, &mut out)
        });
        out
    }

    /// The sample of one line from any source of records, if the query
    /// selects it.
    pub fn record(
        &mut self,
        input: &crate::batch::InputInfo,
        line: &[u8],
        arrival_ns: i64,
        known: Option<KnownSteps<'_>>,
        out: &mut ChunkSamples,
    ) {
        if self.exec.process(input, line, arrival_ns) {
            let r = self.exec.record(input, line);
            sample_of(self.x, &r, &mut self.labels, &mut self.details, known, out);
        }
    }
}

/// Turns a selected record into a sample, an error sample, or nothing (an
/// unwrap of a missing label, a post-filter that drops it).
fn sample_of(
    x: &SampleExtractor,
    r: &Record<'_>,
    labels: &mut LabelBuf,
    details: &mut String,
    known: Option<KnownSteps<'_>>,
    out: &mut ChunkSamples,
) {
    labels.clear();
    details.clear();
    r.for_each_label(|n, v| {
        if n == "__error_details__" {
            details.push_str(v);
        } else if n != "__error__" {
            labels.push(n, v);
        }
    });
    labels.sort_dedup();
    let mut err = r.error();
    let value = match &x.unwrap {
        None => r.line().len() as f64,
        Some(u) => {
            // An unwrap of a missing or empty label drops the sample
            // (Loki's label sample extractor).
            let Some(raw) = labels.get(&u.label).filter(|v| !v.is_empty()) else {
                return;
            };
            match convert(raw, u.conversion) {
                Ok(v) => v,
                Err(e) => {
                    if err.is_none() {
                        err = Some("SampleExtractionErr");
                        *details = e;
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
    if !x.post.iter().all(|f| f.eval(&mut st)) {
        return;
    }
    let ts = r.timestamp();
    if let Some(e) = st.err {
        if let Some(k) = known {
            // Steps known: only a sample a window holds matters, and only
            // the earliest step's.
            let Some(t) = eval::first_step_covering(k.range, k.times, ts) else {
                return;
            };
            if out.best_step.is_some_and(|b| b <= t) {
                return;
            }
            out.best_step = Some(t);
            out.errors.clear();
        }
        let msg = pipeline_error(e, details, labels.as_slice());
        out.errors.entry(msg).or_default().push(ts);
        return;
    }
    // The filters after the unwrap still see the unwrapped label (Loki's
    // extractor drops it only from the sample's labels).
    if let Some(u) = &x.unwrap {
        labels.retain(|n| n != u.label);
    }
    if let Some(g) = &x.projection {
        labels.retain(|n| eval::keeps(g, n));
    }
    let point = (ts, value);
    match out.series.get_mut(labels.as_slice()) {
        Some(points) => points.push(point),
        None => {
            out.series.insert(labels.to_label_set(), vec![point]);
        }
    }
}

/// An unwrapped label's value as Loki converts it. Go's
/// `strconv.ParseFloat` and `time.ParseDuration` take the value as it is
/// (no trimming).
pub fn convert(raw: &str, conversion: UnwrapConversion) -> Result<f64, String> {
    match conversion {
        UnwrapConversion::None => raw
            .parse::<f64>()
            .map_err(|_| format!("strconv.ParseFloat: parsing {raw:?}: invalid syntax")),
        UnwrapConversion::Duration | UnwrapConversion::DurationSeconds => go_duration_seconds(raw),
        UnwrapConversion::Bytes => humanize_bytes_f64(raw),
    }
}

/// The error Loki fails a metric query with when a sample carries
/// `__error__` (`PipelineError` in pkg/logqlmodel): the series is the
/// sample's labels with `__error__` and `__error_details__` among them.
pub fn pipeline_error(err: &str, details: &str, labels: &[(String, String)]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::InputInfo;
    use crate::decode::Format;
    use crate::logql::ast::{Expr, MetricExpr};
    use crate::logql::parse;
    use crate::record::Labels;

    fn extractor(query: &str) -> SampleExtractor {
        let Expr::Metric(m) = parse(query).unwrap() else {
            panic!("not a metric query")
        };
        let ranges = eval::range_aggregations(&m);
        let projections = eval::projections(&m);
        SampleExtractor::compile(&ranges[0].log, projections[0].as_ref()).unwrap()
    }

    fn job_x() -> Labels {
        let mut l = Labels::new();
        l.insert("job", "x");
        l
    }

    fn samples(query: &str, lines: &[&str]) -> ChunkSamples {
        let x = extractor(query);
        let mut w = x.worker();
        let input = InputInfo::new(Default::default(), "t".into(), job_x(), Format::Json);
        let mut out = ChunkSamples::default();
        for (i, l) in lines.iter().enumerate() {
            w.record(&input, l.as_bytes(), i as i64, None, &mut out);
        }
        out
    }

    #[test]
    fn unwrap_converts_as_loki_and_drops_missing_or_empty_labels() {
        let s = samples(
            r#"sum by (path) (sum_over_time({job="x"} | json | unwrap duration(d) [1m]))"#,
            &[
                r#"{"path":"/a","d":"1.5s","ts":"2024-01-01T00:00:00Z"}"#,
                r#"{"path":"/a","ts":"2024-01-01T00:00:01Z"}"#,
                r#"{"path":"/a","d":"","ts":"2024-01-01T00:00:02Z"}"#,
                r#"{"path":"/b","d":"250ms","ts":"2024-01-01T00:00:03Z"}"#,
            ],
        );
        let mut got: Vec<(String, Vec<f64>)> = s
            .series
            .iter()
            .map(|(l, p)| (l[0].1.clone(), p.iter().map(|x| x.1).collect()))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![("/a".into(), vec![1.5]), ("/b".into(), vec![0.25])]
        );
        assert!(s.errors.is_empty());
    }

    /// Loki's convertBytes (pkg/logql/log/metrics_extraction.go):
    /// humanize.ParseBytes returns whole bytes, so `unwrap bytes(…)` cuts
    /// a fraction off: `1.5B` is 1, `1.5KiB` is 1536.
    #[test]
    fn unwrap_bytes_truncates_as_loki() {
        assert_eq!(convert("1.5B", UnwrapConversion::Bytes), Ok(1.0));
        assert_eq!(convert("2.9", UnwrapConversion::Bytes), Ok(2.0));
        assert_eq!(convert("1.5KiB", UnwrapConversion::Bytes), Ok(1536.0));
    }

    /// Loki's `PipelineError` text, with the labels sorted and the
    /// conversion error's details (pkg/logqlmodel/error.go).
    #[test]
    fn a_bad_value_is_a_pipeline_error_unless_filtered_after_the_unwrap() {
        let q = r#"sum(sum_over_time({job="x"} | logfmt | unwrap v [1m]))"#;
        let s = samples(q, &["v=abc"]);
        let (msg, times) = s.errors.iter().next().unwrap();
        assert_eq!(times, &vec![0]);
        assert!(msg.starts_with(
            r#"pipeline error: 'SampleExtractionErr' for series: '{__error__="SampleExtractionErr", __error_details__="strconv.ParseFloat: parsing \"abc\": invalid syntax", job="x", v="abc"}'."#
        ), "{msg}");
        let q = r#"sum(sum_over_time({job="x"} | logfmt | unwrap v | __error__="" [1m]))"#;
        let s = samples(q, &["v=abc", "v=2"]);
        assert!(s.errors.is_empty());
        assert_eq!(s.series.values().next().unwrap(), &vec![(1, 2.0)]);
    }

    #[test]
    fn known_steps_keep_only_the_earliest_failing_error() {
        let q = r#"sum_over_time({job="x"} | logfmt | unwrap v [10s])"#;
        let Expr::Metric(m) = parse(q).unwrap() else {
            panic!()
        };
        let MetricExpr::Range(r) = &m else { panic!() };
        let x = extractor(q);
        let mut w = x.worker();
        let input = InputInfo::new(Default::default(), "t".into(), job_x(), Format::Raw);
        let s = 1_000_000_000;
        let times = [100 * s, 200 * s];
        let known = Some(KnownSteps {
            range: r,
            times: &times,
        });
        let mut out = ChunkSamples::default();
        // 50 is in no window; 195 is in (190, 200]; 95 in (90, 100].
        for (ts, v) in [(50, "a"), (195, "b"), (95, "c")] {
            w.record(&input, format!("v={v}").as_bytes(), ts * s, known, &mut out);
        }
        let times: Vec<i64> = out.errors.values().flatten().copied().collect();
        assert_eq!(times, vec![95 * s]);
    }
}
