//! The LogQL syntax tree.
//!
//! One type per construct of Loki's grammar (`expr.y`). The tree holds what the
//! user wrote, already validated and typed (durations in nanoseconds, numbers
//! as `f64`), plus the byte offset of each construct so later passes can point
//! at it. Compilation into an executable pipeline lives in `logql::pipeline`.

use std::fmt;

/// Byte offset of a construct in the query text (0-based); errors print it as
/// a 1-based column.
pub type Pos = usize;

/// A whole query: a log query (lines) or a metric query (samples).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Log(LogExpr),
    Metric(MetricExpr),
}

/// `{selector} | stage | stage …`. For pipes and files the selector may be
/// omitted, which matches every stream (`matchers` is then empty and
/// `selector_written` false).
#[derive(Debug, Clone, PartialEq)]
pub struct LogExpr {
    pub matchers: Vec<Matcher>,
    pub selector_written: bool,
    pub stages: Vec<Stage>,
}

/// A stream-label matcher inside `{…}`. Regex matchers are anchored, as in
/// Prometheus and Loki.
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    Neq,
    Re,
    Nre,
}

/// One stage of a log pipeline, in the order written.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `|= "a" or "b" != "c"`: one operator with its `or` alternatives.
    LineFilter(LineFilter),
    /// `| json`, `| logfmt`, `| regexp "…"`, `| pattern "…"`, `| unpack`.
    Parser(Parser),
    /// `| decolorize`: strips ANSI colour sequences from the line.
    Decolorize,
    /// `| status >= 500 and path =~ "/v1/.*"`.
    LabelFilter(LabelFilter),
    /// `| line_format "{{.status}} {{.path}}"`.
    LineFormat(String),
    /// `| label_format dst=src, dst="{{.x}}"`.
    LabelFormat(Vec<LabelFormatOp>),
    /// `| drop a, b="x"`.
    Drop(Vec<LabelSelectorItem>),
    /// `| keep a, b="x"`.
    Keep(Vec<LabelSelectorItem>),
    /// `| unwrap field`, `| unwrap duration(field)`: only valid inside a range
    /// aggregation; kept here because Loki writes it as a pipeline stage.
    Unwrap(Unwrap),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LineFilter {
    pub op: LineFilterOp,
    /// The value and its `or` alternatives; the filter matches if any does
    /// (for the negated operators: if none does).
    pub values: Vec<LineFilterValue>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFilterOp {
    /// `|=`
    Contains,
    /// `!=`
    NotContains,
    /// `|~` (unanchored regex)
    Match,
    /// `!~`
    NotMatch,
    /// `|>` (pattern)
    Pattern,
    /// `!>`
    NotPattern,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LineFilterValue {
    Text(String),
    /// `ip("10.0.0.0/8")`
    Ip(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Parser {
    /// `json` or `json a="x.y", b`: with params only the named paths are
    /// extracted.
    Json(Vec<ExtractionParam>),
    /// `logfmt [--strict] [--keep-empty] [params]`
    Logfmt {
        strict: bool,
        keep_empty: bool,
        params: Vec<ExtractionParam>,
    },
    Regexp(String),
    Pattern(String),
    Unpack,
}

/// `label="path"` or a bare `label` (path = label) in `json`/`logfmt` params.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractionParam {
    pub label: String,
    pub path: String,
}

/// A boolean expression over labels.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelFilter {
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    /// `name = "v"`, `name != "v"`, `name =~ "re"`, `name !~ "re"`.
    String {
        name: String,
        op: MatchOp,
        value: String,
        pos: Pos,
    },
    /// `name >= 500`; `==` and `!=` with a number literal are numeric too.
    Number {
        name: String,
        op: CmpOp,
        value: f64,
        pos: Pos,
    },
    /// `name > 250ms`; the value in seconds.
    Duration {
        name: String,
        op: CmpOp,
        value: f64,
        pos: Pos,
    },
    /// `name > 20MB`; the value in bytes.
    Bytes {
        name: String,
        op: CmpOp,
        value: f64,
        pos: Pos,
    },
    /// `name = ip("10.0.0.0/8")`
    Ip {
        name: String,
        negated: bool,
        value: String,
        pos: Pos,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Neq => "!=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
        }
    }

    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Neq => a != b,
            CmpOp::Gt => a > b,
            CmpOp::Gte => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Lte => a <= b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LabelFormatOp {
    /// `dst=src`: rename.
    Rename { dst: String, src: String },
    /// `dst="{{.a}}-{{.b}}"`: template.
    Template { dst: String, template: String },
}

/// An item of `drop`/`keep`: a bare name, or a name with a value matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSelectorItem {
    pub name: String,
    pub matcher: Option<(MatchOp, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unwrap {
    pub label: String,
    pub conversion: UnwrapConversion,
    /// Label filters written after the unwrap (`| unwrap x | __error__=""`).
    pub post_filters: Vec<LabelFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwrapConversion {
    None,
    Duration,
    DurationSeconds,
    Bytes,
}

// ---------------------------------------------------------------------------
// Metric queries. Parsed and evaluated by the metric engine; the pipe filter
// rejects them with a clear message.

#[derive(Debug, Clone, PartialEq)]
pub enum MetricExpr {
    Range(RangeAggregation),
    Vector(VectorAggregation),
    Binary(Box<BinaryExpr>),
    Literal(f64),
    /// `vector(1)`
    VectorLiteral(f64),
    LabelReplace(Box<LabelReplace>),
    Paren(Box<MetricExpr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RangeAggregation {
    pub op: RangeOp,
    /// `quantile_over_time(0.95, …)`
    pub param: Option<f64>,
    pub log: LogExpr,
    /// Range in nanoseconds.
    pub range_ns: i64,
    pub offset_ns: i64,
    pub grouping: Option<Grouping>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    Rate,
    RateCounter,
    CountOverTime,
    BytesRate,
    BytesOverTime,
    AbsentOverTime,
    SumOverTime,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    StddevOverTime,
    StdvarOverTime,
    QuantileOverTime,
    FirstOverTime,
    LastOverTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VectorAggregation {
    pub op: VectorOp,
    pub param: Option<f64>,
    pub inner: Box<MetricExpr>,
    pub grouping: Option<Grouping>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Sort,
    SortDesc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    pub op: BinaryOp,
    pub lhs: MetricExpr,
    pub rhs: MetricExpr,
    pub return_bool: bool,
    pub matching: Option<VectorMatching>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Unless,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VectorMatching {
    pub on: bool,
    pub labels: Vec<String>,
    /// `group_left(…)` / `group_right(…)`
    pub group: Option<(GroupSide, Vec<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSide {
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelReplace {
    pub inner: MetricExpr,
    pub dst: String,
    pub replacement: String,
    pub src: String,
    pub regex: String,
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Eq => "=",
            MatchOp::Neq => "!=",
            MatchOp::Re => "=~",
            MatchOp::Nre => "!~",
        })
    }
}

impl fmt::Display for LineFilterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Match => "|~",
            LineFilterOp::NotMatch => "!~",
            LineFilterOp::Pattern => "|>",
            LineFilterOp::NotPattern => "!>",
        })
    }
}
