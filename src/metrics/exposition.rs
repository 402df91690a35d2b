//! The metrics model and the Prometheus text exposition format, version 0.0.4.
//!
//! Derived metrics (ARCHITECTURE.md, contract: "Derived metrics") are collected elsewhere and handed to
//! this module as plain data: a list of [`MetricFamily`], each with a name, a help text, a
//! [`MetricKind`] and its [`Sample`]s. [`write_text`] turns them into the text that
//! Prometheus scrapes and the Pushgateway accepts; the same text passes
//! `promtool check metrics` without lint warnings.
//!
//! ```
//! # use nagare::metrics::exposition::*;
//! let families = vec![MetricFamily::counter("http_requests_total", "HTTP requests by route.")
//!     .with_sample(Sample::scalar(&[("route", "/v1/x"), ("status", "200")], 3.0))];
//! let mut out = String::new();
//! write_text(&families, "", &mut out);
//! let lines: Vec<&str> = out.lines().collect();
//! assert_eq!(lines, [
//!     "# HELP http_requests_total HTTP requests by route.",
//!     "# TYPE http_requests_total counter",
//!     "http_requests_total{route=\"/v1/x\",status=\"200\"} 3",
//! ]);
//! ```
//!
//! What the writer guarantees, whatever the input:
//! - Families are written sorted by their full name; families that share a name and a kind
//!   are merged. Within a sample labels are sorted by name, and samples are sorted by their
//!   label pairs, so the same data always gives the same bytes.
//! - Counters are named with their `_total` suffix in `# HELP`, `# TYPE` and the samples, as
//!   the 0.0.4 text format and promtool expect; a counter name given without `_total` gets it.
//! - Histograms are written as `_bucket{le="…"}` (cumulative, ascending, ending with the
//!   `+Inf` bucket taken from `count`), `_sum` and `_count`.
//! - Label values are escaped (`\\`, `\"`, `\n`), help texts too (`\\`, `\n`); floats are
//!   written as Prometheus' Go client writes them (shortest round-trip, `+Inf`, `-Inf`,
//!   `NaN`, `1e+06` style exponents).
//! - Invalid input never makes invalid output: characters not allowed in metric or label
//!   names become `_`, a sample whose value does not fit its family's kind, a label repeated
//!   in one sample, a user label named `le` on a histogram and a second sample with the same
//!   labels are left out; an empty help text is replaced by the metric name. Each such repair logs a warning; [`validate`] reports them all as
//!   errors for callers (and tests) that want to know up front.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The standard latency buckets, in seconds (ARCHITECTURE.md, contract: "Derived metrics": 0.005 … 10 s).
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The namespace prefix nagare uses when one is asked for (the default is none: `""`).
pub const NAGARE_PREFIX: &str = "nagare_";

/// The `Content-Type` of the text this module writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The Prometheus type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Only grows for the life of the process; the name ends in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Cumulative buckets plus a sum and a count.
    Histogram,
}

impl MetricKind {
    /// The word used on the `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One metric family: every series of one metric name.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// The name without the namespace prefix; counters include `_total`
    /// (`http_requests_total`), histograms have no suffix (`http_request_duration_seconds`).
    pub name: String,
    /// One line of help text.
    pub help: String,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// The series; their order does not matter.
    pub samples: Vec<Sample>,
}

/// One series of a family: its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Label pairs (name, value); their order does not matter.
    pub labels: Vec<(String, String)>,
    /// A scalar for counters and gauges, a histogram for histograms.
    pub value: SampleValue,
}

/// The value of one series.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleValue {
    /// The value of a counter or a gauge.
    Scalar(f64),
    /// A histogram: `buckets` are `(upper bound, cumulative count)` pairs, without the `+Inf`
    /// bucket, which the writer adds from `count`.
    Histogram {
        /// `(upper bound, cumulative count of observations <= bound)`, ascending.
        buckets: Vec<(f64, u64)>,
        /// The sum of all observations.
        sum: f64,
        /// The number of observations.
        count: u64,
    },
}

impl MetricFamily {
    /// An empty family of any kind.
    pub fn new(name: impl Into<String>, help: impl Into<String>, kind: MetricKind) -> Self {
        MetricFamily {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        }
    }

    /// An empty counter family.
    pub fn counter(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricKind::Counter)
    }

    /// An empty gauge family.
    pub fn gauge(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricKind::Gauge)
    }

    /// An empty histogram family.
    pub fn histogram(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricKind::Histogram)
    }

    /// The family with one more sample.
    pub fn with_sample(mut self, sample: Sample) -> Self {
        self.samples.push(sample);
        self
    }
}

impl Sample {
    /// A counter or gauge sample.
    pub fn scalar(labels: &[(&str, &str)], value: f64) -> Self {
        Sample {
            labels: owned_labels(labels),
            value: SampleValue::Scalar(value),
        }
    }

    /// A histogram sample.
    pub fn histogram(labels: &[(&str, &str)], histogram: &Histogram) -> Self {
        Sample {
            labels: owned_labels(labels),
            value: histogram.value(),
        }
    }
}

fn owned_labels(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// A small histogram accumulator over fixed bucket bounds, e.g. [`LATENCY_BUCKETS`].
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bounds: Vec<f64>,
    /// Non-cumulative counts per bound; observations above the last bound only count in `count`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// An empty histogram; the bounds are sorted and NaN or infinite bounds dropped.
    pub fn new(bounds: &[f64]) -> Self {
        let mut bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        Histogram {
            counts: vec![0; bounds.len()],
            bounds,
            sum: 0.0,
            count: 0,
        }
    }

    /// Records one observation (NaN is counted but falls in no finite bucket).
    pub fn observe(&mut self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    /// Adds another histogram with the same bounds; returns false (and changes nothing) when
    /// the bounds differ.
    pub fn merge(&mut self, other: &Histogram) -> bool {
        if self.bounds != other.bounds {
            return false;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.sum += other.sum;
        self.count += other.count;
        true
    }

    /// The number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exposition value, with cumulative bucket counts.
    pub fn value(&self) -> SampleValue {
        let mut acc = 0;
        let buckets = self
            .bounds
            .iter()
            .zip(&self.counts)
            .map(|(b, c)| {
                acc += c;
                (*b, acc)
            })
            .collect();
        SampleValue::Histogram {
            buckets,
            sum: self.sum,
            count: self.count,
        }
    }
}

/// A problem in the input that [`write_text`] repairs (and warns about) and [`validate`]
/// reports. Each names the metric and, where there is one, the label.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExpositionError {
    /// The name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("metric name {name:?} is not valid: use letters, digits and '_' only, not starting with a digit")]
    InvalidMetricName { name: String },
    /// The label name does not match `[a-zA-Z_][a-zA-Z0-9_]*` or starts with the reserved `__`.
    #[error("metric {metric}: label name {label:?} is not valid: use letters, digits and '_' only, not starting with a digit or \"__\"")]
    InvalidLabelName { metric: String, label: String },
    /// A histogram sample has a label named `le`, which the writer sets itself.
    #[error("metric {metric}: label \"le\" is reserved for histogram buckets")]
    ReservedLabel { metric: String },
    /// One sample has the same label twice.
    #[error("metric {metric}: label {label:?} appears twice in one sample")]
    DuplicateLabel { metric: String, label: String },
    /// Two samples of one family have the same labels.
    #[error("metric {metric}: two samples have the same labels {{{labels}}}")]
    DuplicateSeries { metric: String, labels: String },
    /// Two families have the same name but different kinds.
    #[error("metric {name} is declared as both {first} and {second}")]
    KindConflict {
        name: String,
        first: &'static str,
        second: &'static str,
    },
    /// A scalar in a histogram family or a histogram in a counter or gauge family.
    #[error("metric {metric}: a {value} value in a {kind} family")]
    ValueKind {
        metric: String,
        value: &'static str,
        kind: &'static str,
    },
    /// A counter sample that is negative or NaN.
    #[error("metric {metric}{{{labels}}}: counter value {value} is negative or NaN")]
    BadCounterValue {
        metric: String,
        labels: String,
        value: String,
    },
    /// Histogram buckets that are not ascending with non-decreasing counts not above `count`.
    #[error("metric {metric}{{{labels}}}: histogram buckets must be ascending with non-decreasing cumulative counts no larger than count")]
    BadBuckets { metric: String, labels: String },
    /// The help text is empty (promtool warns "no help text").
    #[error("metric {metric} has no help text")]
    MissingHelp { metric: String },
}

/// Checks families for everything [`write_text`] would have to repair; returns all problems.
pub fn validate(families: &[MetricFamily], prefix: &str) -> Result<(), Vec<ExpositionError>> {
    let mut problems = Vec::new();
    let prefix = normalize_prefix(prefix);
    let mut kinds: BTreeMap<String, MetricKind> = BTreeMap::new();
    let mut series: BTreeMap<String, Vec<Vec<(String, String)>>> = BTreeMap::new();
    for f in families {
        let raw = format!("{prefix}{}", f.name);
        if !is_valid_metric_name(&raw) {
            problems.push(ExpositionError::InvalidMetricName { name: raw.clone() });
        }
        let name = full_name(&prefix, f);
        if f.help.trim().is_empty() {
            problems.push(ExpositionError::MissingHelp {
                metric: name.clone(),
            });
        }
        match kinds.get(&name) {
            Some(k) if *k != f.kind => problems.push(ExpositionError::KindConflict {
                name: name.clone(),
                first: k.as_str(),
                second: f.kind.as_str(),
            }),
            _ => {
                kinds.insert(name.clone(), f.kind);
            }
        }
        for s in &f.samples {
            let mut seen: Vec<&str> = Vec::new();
            for (label, _) in &s.labels {
                if !is_valid_label_name(label) {
                    problems.push(ExpositionError::InvalidLabelName {
                        metric: name.clone(),
                        label: label.clone(),
                    });
                }
                if f.kind == MetricKind::Histogram && label == "le" {
                    problems.push(ExpositionError::ReservedLabel {
                        metric: name.clone(),
                    });
                }
                if seen.contains(&label.as_str()) {
                    problems.push(ExpositionError::DuplicateLabel {
                        metric: name.clone(),
                        label: label.clone(),
                    });
                }
                seen.push(label);
            }
            let mut sorted = s.labels.clone();
            sorted.sort();
            let shown = show_labels(&sorted);
            let known = series.entry(name.clone()).or_default();
            if known.contains(&sorted) {
                problems.push(ExpositionError::DuplicateSeries {
                    metric: name.clone(),
                    labels: shown.clone(),
                });
            } else {
                known.push(sorted);
            }
            match (&s.value, f.kind) {
                (SampleValue::Scalar(v), MetricKind::Counter) => {
                    if v.is_nan() || *v < 0.0 {
                        problems.push(ExpositionError::BadCounterValue {
                            metric: name.clone(),
                            labels: shown,
                            value: format_float(*v),
                        });
                    }
                }
                (SampleValue::Scalar(_), MetricKind::Gauge) => {}
                (SampleValue::Histogram { buckets, count, .. }, MetricKind::Histogram) => {
                    let ascending = buckets
                        .windows(2)
                        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
                    let bounded = buckets.iter().all(|(b, c)| !b.is_nan() && c <= count);
                    if !ascending || !bounded {
                        problems.push(ExpositionError::BadBuckets {
                            metric: name.clone(),
                            labels: shown,
                        });
                    }
                }
                (v, kind) => problems.push(ExpositionError::ValueKind {
                    metric: name.clone(),
                    value: value_kind(v),
                    kind: kind.as_str(),
                }),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Writes `families` in the Prometheus text format 0.0.4, appending to `out`.
///
/// `prefix` is the namespace (`""` for none, or [`NAGARE_PREFIX`]); a non-empty prefix
/// without a trailing `_` gets one. Families without samples are left out. See the module
/// docs for ordering and for how invalid input is repaired.
pub fn write_text(families: &[MetricFamily], prefix: &str, out: &mut String) {
    let prefix = normalize_prefix(prefix);
    // Full name -> (kind, help, samples), so that families are sorted and merged.
    let mut merged: BTreeMap<String, (MetricKind, &str, Vec<&Sample>)> = BTreeMap::new();
    for f in families {
        let name = full_name(&prefix, f);
        match merged.get_mut(&name) {
            Some((kind, _, samples)) if *kind == f.kind => samples.extend(&f.samples),
            Some((kind, _, _)) => tracing::warn!(
                metric = %name,
                "metric {name} is declared as both {} and {}; the {} family is left out",
                kind.as_str(),
                f.kind.as_str(),
                f.kind.as_str()
            ),
            None => {
                merged.insert(name, (f.kind, &f.help, f.samples.iter().collect()));
            }
        }
    }
    for (name, (kind, help, samples)) in merged {
        write_family(&name, kind, help, &samples, out);
    }
}

/// [`write_text`] into a new string.
pub fn to_text(families: &[MetricFamily], prefix: &str) -> String {
    let mut out = String::new();
    write_text(families, prefix, &mut out);
    out
}

fn write_family(name: &str, kind: MetricKind, help: &str, samples: &[&Sample], out: &mut String) {
    // Clean every sample's labels first, then sort, then drop repeated label sets.
    let mut rows: Vec<(Vec<(String, &str)>, &SampleValue)> = Vec::with_capacity(samples.len());
    for s in samples {
        let fits = matches!(
            (&s.value, kind),
            (
                SampleValue::Scalar(_),
                MetricKind::Counter | MetricKind::Gauge
            ) | (SampleValue::Histogram { .. }, MetricKind::Histogram)
        );
        if !fits {
            tracing::warn!(
                metric = %name,
                "metric {name}: a {} value in a {} family is left out",
                value_kind(&s.value),
                kind.as_str()
            );
            continue;
        }
        let mut labels: Vec<(String, &str)> = Vec::with_capacity(s.labels.len());
        for (label, value) in &s.labels {
            let label = sanitize_label_name(label);
            if kind == MetricKind::Histogram && label == "le" {
                tracing::warn!(metric = %name, "metric {name}: user label \"le\" is reserved for histogram buckets and left out");
                continue;
            }
            if labels.iter().any(|(l, _)| *l == label) {
                tracing::warn!(metric = %name, "metric {name}: label {label:?} appears twice in one sample; the second is left out");
                continue;
            }
            labels.push((label, value));
        }
        labels.sort();
        rows.push((labels, &s.value));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            tracing::warn!(metric = %name, "metric {name}: a second sample with labels {{{}}} is left out", show_labels(&later.0));
        }
        same
    });
    if rows.is_empty() {
        return;
    }

    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    if help.trim().is_empty() {
        // promtool warns "no help text" for an empty one.
        tracing::warn!(metric = %name, "metric {name} has no help text; its name is used");
        out.push_str(name);
    } else {
        escape_help(help, out);
    }
    out.push('\n');
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());

    for (labels, value) in rows {
        match value {
            SampleValue::Scalar(v) => write_line(out, name, "", &labels, None, *v),
            SampleValue::Histogram {
                buckets,
                sum,
                count,
            } => {
                let mut buckets: Vec<(f64, u64)> = buckets
                    .iter()
                    .copied()
                    .filter(|(b, _)| !b.is_nan() && *b != f64::INFINITY)
                    .collect();
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                buckets.dedup_by(|later, earlier| later.0 == earlier.0);
                for (bound, c) in buckets {
                    write_line(out, name, "_bucket", &labels, Some(bound), c as f64);
                }
                write_line(
                    out,
                    name,
                    "_bucket",
                    &labels,
                    Some(f64::INFINITY),
                    *count as f64,
                );
                write_line(out, name, "_sum", &labels, None, *sum);
                write_line(out, name, "_count", &labels, None, *count as f64);
            }
        }
    }
}

fn write_line(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, &str)],
    le: Option<f64>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        for (l, v) in labels {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(l);
            out.push_str("=\"");
            escape_label_value(v, out);
            out.push('"');
        }
        if let Some(le) = le {
            if !first {
                out.push(',');
            }
            out.push_str("le=\"");
            out.push_str(&format_float(le));
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&format_float(value));
    out.push('\n');
}

fn value_kind(v: &SampleValue) -> &'static str {
    match v {
        SampleValue::Scalar(_) => "scalar",
        SampleValue::Histogram { .. } => "histogram",
    }
}

fn show_labels<L: AsRef<str>, V: AsRef<str>>(labels: &[(L, V)]) -> String {
    let mut s = String::new();
    for (i, (l, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(l.as_ref());
        s.push_str("=\"");
        escape_label_value(v.as_ref(), &mut s);
        s.push('"');
    }
    s
}

fn normalize_prefix(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('_') {
        prefix.to_owned()
    } else {
        format!("{prefix}_")
    }
}

/// The name written for a family: prefix + name, cleaned, with `_total` for counters.
fn full_name(prefix: &str, f: &MetricFamily) -> String {
    let mut name = sanitize_metric_name(&format!("{prefix}{}", f.name));
    if f.kind == MetricKind::Counter && !name.ends_with("_total") {
        name.push_str("_total");
    }
    name
}

/// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*` and does not start with the reserved `__`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    !name.starts_with("__") && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn sanitize_metric_name(name: &str) -> String {
    if is_valid_metric_name(name) {
        return name.to_owned();
    }
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':') {
        s.insert(0, '_');
    }
    tracing::warn!("metric name {name:?} is not valid; written as {s:?}");
    s
}

fn sanitize_label_name(name: &str) -> String {
    if is_valid_label_name(name) {
        return name.to_owned();
    }
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    // "__" is reserved; "" and a leading digit are not allowed.
    while s.starts_with("__") {
        s.remove(0);
    }
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert_str(0, "l_");
    }
    tracing::warn!("label name {name:?} is not valid; written as {s:?}");
    s
}

fn escape_label_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Formats a float as Prometheus' Go client does (`strconv.FormatFloat(f, 'g', -1, 64)` with
/// `+Inf`, `-Inf`, `NaN`): the shortest text that reads back as the same float, in exponent
/// form (`1e+06`, `1.5e-07`) when the decimal exponent is below -4 or at least 6.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return "0".to_owned(); // also -0, as Go's writer does
    }
    // Rust's `{:e}` is the shortest round-trip form: "1.2345e6", "5e-3".
    let e = format!("{:e}", f.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut s = String::with_capacity(digits.len() + 8);
    if f < 0.0 {
        s.push('-');
    }
    if !(-4..6).contains(&exp) {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let _ = write!(s, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else {
        let dp = exp + 1; // digits before the decimal point
        if dp <= 0 {
            s.push_str("0.");
            s.extend(std::iter::repeat_n('0', (-dp) as usize));
            s.push_str(&digits);
        } else if dp as usize >= digits.len() {
            s.push_str(&digits);
            s.extend(std::iter::repeat_n('0', dp as usize - digits.len()));
        } else {
            s.push_str(&digits[..dp as usize]);
            s.push('.');
            s.push_str(&digits[dp as usize..]);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests() -> MetricFamily {
        MetricFamily::counter(
            "http_requests_total",
            "HTTP requests by route, method and status.",
        )
        .with_sample(Sample::scalar(
            &[("status", "500"), ("route", "/v1/x"), ("method", "GET")],
            2.0,
        ))
        .with_sample(Sample::scalar(
            &[("route", "/v1/x"), ("method", "GET"), ("status", "200")],
            1234567.0,
        ))
    }

    fn latency() -> MetricFamily {
        let mut h = Histogram::new(&LATENCY_BUCKETS);
        for v in [0.004, 0.02, 0.3, 0.3, 7.0, 12.0] {
            h.observe(v);
        }
        let mut g = Histogram::new(&LATENCY_BUCKETS);
        g.observe(0.1);
        MetricFamily::histogram(
            "http_request_duration_seconds",
            "Request latency in seconds.",
        )
        .with_sample(Sample::histogram(&[("route", "/v1/y")], &g))
        .with_sample(Sample::histogram(&[("route", "/v1/x")], &h))
    }

    fn gauge() -> MetricFamily {
        MetricFamily::gauge("queue_depth", "Records waiting.")
            .with_sample(Sample::scalar(&[], 0.25))
    }

    #[test]
    fn golden_counter() {
        let out = to_text(&[requests()], "");
        assert_eq!(
            out,
            "# HELP http_requests_total HTTP requests by route, method and status.\n\
             # TYPE http_requests_total counter\n\
             http_requests_total{method=\"GET\",route=\"/v1/x\",status=\"200\"} 1.234567e+06\n\
             http_requests_total{method=\"GET\",route=\"/v1/x\",status=\"500\"} 2\n"
        );
    }

    #[test]
    fn golden_gauge_with_prefix() {
        assert_eq!(
            to_text(&[gauge()], NAGARE_PREFIX),
            "# HELP nagare_queue_depth Records waiting.\n\
             # TYPE nagare_queue_depth gauge\n\
             nagare_queue_depth 0.25\n"
        );
        // A prefix without the trailing '_' gets one.
        assert!(to_text(&[gauge()], "nagare").contains("\nnagare_queue_depth 0.25\n"));
    }

    #[test]
    fn golden_histogram() {
        let out = to_text(&[latency()], "");
        let want = "\
# HELP http_request_duration_seconds Request latency in seconds.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.005\"} 1
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.01\"} 1
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.025\"} 2
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.05\"} 2
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.1\"} 2
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.25\"} 2
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.5\"} 4
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"1\"} 4
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"2.5\"} 4
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"5\"} 4
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"10\"} 5
http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"+Inf\"} 6
http_request_duration_seconds_sum{route=\"/v1/x\"} 19.624
http_request_duration_seconds_count{route=\"/v1/x\"} 6
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"0.005\"} 0
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"0.01\"} 0
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"0.025\"} 0
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"0.05\"} 0
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"0.1\"} 1
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"0.25\"} 1
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"0.5\"} 1
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"1\"} 1
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"2.5\"} 1
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"5\"} 1
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"10\"} 1
http_request_duration_seconds_bucket{route=\"/v1/y\",le=\"+Inf\"} 1
http_request_duration_seconds_sum{route=\"/v1/y\"} 0.1
http_request_duration_seconds_count{route=\"/v1/y\"} 1
";
        assert_eq!(out, want);
    }

    #[test]
    fn families_sorted_merged_and_empty_ones_skipped() {
        let more = MetricFamily::counter("http_requests_total", "ignored second help")
            .with_sample(Sample::scalar(&[("method", "A")], 1.0));
        let empty = MetricFamily::gauge("aaa_empty", "no samples");
        let out = to_text(&[requests(), gauge(), empty, more], "");
        let names: Vec<&str> = out.lines().filter(|l| l.starts_with("# TYPE")).collect();
        assert_eq!(
            names,
            [
                "# TYPE http_requests_total counter",
                "# TYPE queue_depth gauge"
            ]
        );
        assert!(out.contains("http_requests_total{method=\"A\"} 1\n"));
    }

    #[test]
    fn escaping() {
        let f = MetricFamily::counter("search_queries_total", "Top queries; a \\ and a\nnewline.")
            .with_sample(Sample::scalar(&[("q", "say \"hi\"\\n\nx")], 1.0));
        assert_eq!(
            to_text(&[f], ""),
            "# HELP search_queries_total Top queries; a \\\\ and a\\nnewline.\n\
             # TYPE search_queries_total counter\n\
             search_queries_total{q=\"say \\\"hi\\\"\\\\n\\nx\"} 1\n"
        );
    }

    #[test]
    fn floats_as_prometheus_writes_them() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (0.1, "0.1"),
            (0.005, "0.005"),
            (2.5, "2.5"),
            (10.0, "10"),
            (123456.0, "123456"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5e300, "-2.5e+300"),
            (1.7e9, "1.7e+09"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float(*v), *want, "formatting {v:?}");
        }
    }

    #[test]
    fn bad_input_is_repaired_and_reported() {
        let bad = vec![
            MetricFamily::counter("bad-name.count", "")
                .with_sample(Sample::scalar(&[("0x", "a"), ("x", "1")], -1.0))
                .with_sample(Sample::scalar(&[("x", "1"), ("0x", "a")], 3.0))
                .with_sample(Sample::scalar(&[("x", "1"), ("x", "2")], 5.0))
                .with_sample(Sample {
                    labels: vec![],
                    value: Histogram::new(&[1.0]).value(),
                }),
            MetricFamily::histogram("h_seconds", "h")
                .with_sample(Sample::scalar(&[], 1.0))
                .with_sample(Sample {
                    labels: vec![("le".into(), "x".into())],
                    value: SampleValue::Histogram {
                        buckets: vec![(2.0, 3), (1.0, 1), (f64::INFINITY, 3)],
                        sum: 1.0,
                        count: 2,
                    },
                }),
            MetricFamily::gauge("h_seconds", "same name, other kind")
                .with_sample(Sample::scalar(&[], 1.0)),
        ];
        let problems = validate(&bad, "").unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        let joined = text.join("\n");
        for needle in [
            "metric name \"bad-name.count\" is not valid",
            "metric bad_name_count_total has no help text",
            "label name \"0x\" is not valid",
            "label \"x\" appears twice",
            "two samples have the same labels {0x=\"a\",x=\"1\"}",
            "counter value -1 is negative",
            "a histogram value in a counter family",
            "a scalar value in a histogram family",
            "label \"le\" is reserved",
            "histogram buckets must be ascending",
            "metric h_seconds is declared as both histogram and gauge",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
        }
        let out = to_text(&bad, "");
        assert_eq!(
            out,
            "# HELP bad_name_count_total bad_name_count_total\n\
             # TYPE bad_name_count_total counter\n\
             bad_name_count_total{l_0x=\"a\",x=\"1\"} -1\n\
             bad_name_count_total{x=\"1\"} 5\n\
             # HELP h_seconds h\n\
             # TYPE h_seconds histogram\n\
             h_seconds_bucket{le=\"1\"} 1\n\
             h_seconds_bucket{le=\"2\"} 3\n\
             h_seconds_bucket{le=\"+Inf\"} 2\n\
             h_seconds_sum 1\n\
             h_seconds_count 2\n"
        );
        assert!(validate(&[requests(), latency(), gauge()], NAGARE_PREFIX).is_ok());
    }

    #[test]
    fn counter_without_total_gets_it() {
        let f = MetricFamily::counter("db_lock_bursts", "Bursts.")
            .with_sample(Sample::scalar(&[], 4.0));
        assert!(to_text(&[f], "")
            .ends_with("# TYPE db_lock_bursts_total counter\ndb_lock_bursts_total 4\n"));
    }

    #[test]
    fn histogram_merge_and_nan() {
        let mut a = Histogram::new(&[1.0, 0.5, f64::NAN, 0.5]);
        a.observe(0.2);
        let mut b = Histogram::new(&[0.5, 1.0]);
        b.observe(0.7);
        b.observe(f64::NAN);
        assert!(a.merge(&b));
        assert_eq!(a.count(), 3);
        match a.value() {
            SampleValue::Histogram { buckets, count, .. } => {
                assert_eq!(buckets, vec![(0.5, 1), (1.0, 2)]);
                assert_eq!(count, 3);
            }
            v => panic!("unexpected {v:?}"),
        }
        assert!(!a.merge(&Histogram::new(&[2.0])));
    }
}
