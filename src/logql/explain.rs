//! Printing the syntax tree: canonical LogQL ([`std::fmt::Display`] for the
//! AST types, which re-parses to the same tree) and a readable plan
//! ([`explain`]).

use std::fmt::{self, Display, Formatter, Write as _};

use super::ast::*;
use super::syntax::{range_op_name, vector_op_name};

/// A readable, indented plan of the query: one line per stage for log
/// queries, a tree for metric queries.
pub fn explain(expr: &Expr) -> String {
    let mut out = String::new();
    match expr {
        Expr::Log(l) => explain_log(&mut out, l, 0),
        Expr::Metric(m) => {
            out.push_str("metric query\n");
            explain_metric(&mut out, m, 1);
        }
    }
    out
}

/// Appends one line at `depth` levels of indentation.
fn line(out: &mut String, depth: usize, text: impl Display) {
    for _ in 0..depth {
        out.push_str("  ");
    }
    let _ = writeln!(out, "{text}");
}

/// A log query: selector then one line per stage.
fn explain_log(out: &mut String, l: &LogExpr, depth: usize) {
    line(out, depth, "log query");
    if l.selector_written {
        line(
            out,
            depth + 1,
            format_args!("selector: {}", Selector(&l.matchers)),
        );
    } else {
        line(out, depth + 1, "selector: none (every stream)");
    }
    for s in &l.stages {
        explain_stage(out, s, depth + 1);
    }
}

/// One pipeline stage.
fn explain_stage(out: &mut String, s: &Stage, depth: usize) {
    match s {
        Stage::LineFilter(f) => line(out, depth, format_args!("line filter: {f}")),
        Stage::Parser(p) => line(out, depth, format_args!("parser: {}", ParserText(p))),
        Stage::Decolorize => line(out, depth, "decolorize"),
        Stage::LabelFilter(f) => line(out, depth, format_args!("label filter: {}", Grouped(f))),
        Stage::LineFormat(t) => line(out, depth, format_args!("line_format: {}", Quoted(t))),
        Stage::LabelFormat(ops) => line(out, depth, format_args!("label_format: {}", Joined(ops))),
        Stage::Drop(items) => line(out, depth, format_args!("drop: {}", Joined(items))),
        Stage::Keep(items) => line(out, depth, format_args!("keep: {}", Joined(items))),
        Stage::Unwrap(u) => {
            line(out, depth, format_args!("unwrap: {}", UnwrapTarget(u)));
            for f in &u.post_filters {
                line(out, depth + 1, format_args!("post filter: {}", Grouped(f)));
            }
        }
    }
}

/// A metric expression as a tree.
fn explain_metric(out: &mut String, m: &MetricExpr, depth: usize) {
    match m {
        MetricExpr::Range(r) => {
            let mut head = range_op_name(r.op).to_string();
            if let Some(p) = r.param {
                let _ = write!(head, "({})", Num(p));
            }
            let _ = write!(head, " [{}]", PromDuration(r.range_ns));
            if r.offset_ns != 0 {
                let _ = write!(head, " offset {}", GoDuration(r.offset_ns));
            }
            if let Some(g) = &r.grouping {
                let _ = write!(head, " {g}");
            }
            line(out, depth, format_args!("range aggregation: {head}"));
            explain_log(out, &r.log, depth + 1);
        }
        MetricExpr::Vector(v) => {
            let mut head = vector_op_name(v.op).to_string();
            if let Some(p) = v.param {
                let _ = write!(head, "({})", Num(p));
            }
            if let Some(g) = &v.grouping {
                let _ = write!(head, " {g}");
            }
            line(out, depth, format_args!("vector aggregation: {head}"));
            explain_metric(out, &v.inner, depth + 1);
        }
        MetricExpr::Binary(b) => {
            line(out, depth, format_args!("binary: {}", BinaryHead(b)));
            explain_metric(out, &b.lhs, depth + 1);
            explain_metric(out, &b.rhs, depth + 1);
        }
        MetricExpr::Literal(v) => line(out, depth, format_args!("literal: {}", Num(*v))),
        MetricExpr::VectorLiteral(v) => line(out, depth, format_args!("vector({})", Num(*v))),
        MetricExpr::LabelReplace(l) => {
            line(
                out,
                depth,
                format_args!(
                    "label_replace: dst={} replacement={} src={} regex={}",
                    Quoted(&l.dst),
                    Quoted(&l.replacement),
                    Quoted(&l.src),
                    Quoted(&l.regex)
                ),
            );
            explain_metric(out, &l.inner, depth + 1);
        }
        MetricExpr::Paren(inner) => explain_metric(out, inner, depth),
    }
}

// ---------------------------------------------------------------------------
// Formatting helpers

/// A Go-style double-quoted string that the parser reads back verbatim.
pub struct Quoted<'a>(pub &'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// A number that re-lexes to the same value (`-0` is printed as `0`, which
/// compares equal).
struct Num(f64);

impl Display for Num {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0 == 0.0 {
            f.write_str("0")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A duration in the largest Go unit that divides it exactly (`90m`,
/// `250ms`, `-1h`).
struct GoDuration(i64);

impl Display for GoDuration {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        if self.0 < 0 {
            f.write_char('-')?;
        }
        let n = self.0.unsigned_abs();
        for (unit, size) in [
            ("h", 3_600_000_000_000u64),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
        ] {
            if n % size == 0 {
                return write!(f, "{}{unit}", n / size);
            }
        }
        write!(f, "{n}ns")
    }
}

/// Seconds as a Go duration.
fn seconds(secs: f64) -> GoDuration {
    GoDuration((secs * 1e9).round() as i64)
}

/// A Prometheus duration (`1h30m`, `1w`), as in `model.Duration.String`.
struct PromDuration(i64);

impl Display for PromDuration {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0 < 0 || self.0 % 1_000_000 != 0 {
            return GoDuration(self.0).fmt(f);
        }
        let mut ms = self.0 / 1_000_000;
        if ms == 0 {
            return f.write_str("0s");
        }
        const DAY: i64 = 24 * 3600 * 1000;
        for (unit, mult, exact) in [
            ("y", 365 * DAY, true),
            ("w", 7 * DAY, true),
            ("d", DAY, false),
            ("h", 3600 * 1000, false),
            ("m", 60 * 1000, false),
            ("s", 1000, false),
            ("ms", 1, false),
        ] {
            if exact && ms % mult != 0 {
                continue;
            }
            let v = ms / mult;
            if v > 0 {
                write!(f, "{v}{unit}")?;
                ms -= v * mult;
            }
        }
        Ok(())
    }
}

/// Items separated by `, `.
struct Joined<'a, T>(&'a [T]);

impl<T: Display> Display for Joined<'_, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, x) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{x}")?;
        }
        Ok(())
    }
}

/// Label names separated by `, `.
struct Names<'a>(&'a [String]);

impl Display for Names<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

/// `{a="b", c=~"d"}`
struct Selector<'a>(&'a [Matcher]);

impl Display for Selector<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", Joined(self.0))
    }
}

/// A label filter, in parentheses when it combines several.
struct Grouped<'a>(&'a LabelFilter);

impl Display for Grouped<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            LabelFilter::And(..) | LabelFilter::Or(..) => write!(f, "({})", self.0),
            other => write!(f, "{other}"),
        }
    }
}

/// A parser stage without the leading `|`.
struct ParserText<'a>(&'a Parser);

impl Display for ParserText<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Parser::Json(params) => {
                f.write_str("json")?;
                if !params.is_empty() {
                    write!(f, " {}", Joined(params))?;
                }
                Ok(())
            }
            Parser::Logfmt {
                strict,
                keep_empty,
                params,
            } => {
                f.write_str("logfmt")?;
                if *strict {
                    f.write_str(" --strict")?;
                }
                if *keep_empty {
                    f.write_str(" --keep-empty")?;
                }
                if !params.is_empty() {
                    write!(f, " {}", Joined(params))?;
                }
                Ok(())
            }
            Parser::Regexp(re) => write!(f, "regexp {}", Quoted(re)),
            Parser::Pattern(p) => write!(f, "pattern {}", Quoted(p)),
            Parser::Unpack => f.write_str("unpack"),
        }
    }
}

/// `x` or `duration(x)`.
struct UnwrapTarget<'a>(&'a Unwrap);

impl Display for UnwrapTarget<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let u = self.0;
        match u.conversion {
            UnwrapConversion::None => f.write_str(&u.label),
            UnwrapConversion::Duration => write!(f, "duration({})", u.label),
            UnwrapConversion::DurationSeconds => write!(f, "duration_seconds({})", u.label),
            UnwrapConversion::Bytes => write!(f, "bytes({})", u.label),
        }
    }
}

/// The operator of a binary expression with its modifiers.
struct BinaryHead<'a>(&'a BinaryExpr);

impl Display for BinaryHead<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{}", b.op)?;
        if b.return_bool {
            f.write_str(" bool")?;
        }
        if let Some(m) = &b.matching {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Canonical LogQL

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(l) => l.fmt(f),
            Expr::Metric(m) => m.fmt(f),
        }
    }
}

impl Display for LogExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if self.selector_written {
            write!(f, "{}", Selector(&self.matchers))?;
            sep = " ";
        }
        for s in &self.stages {
            write!(f, "{sep}{s}")?;
            sep = " ";
        }
        Ok(())
    }
}

impl Display for Matcher {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.name, self.op, Quoted(&self.value))
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::LineFilter(lf) => lf.fmt(f),
            Stage::Parser(p) => write!(f, "| {}", ParserText(p)),
            Stage::Decolorize => f.write_str("| decolorize"),
            Stage::LabelFilter(lf) => write!(f, "| {lf}"),
            Stage::LineFormat(t) => write!(f, "| line_format {}", Quoted(t)),
            Stage::LabelFormat(ops) => write!(f, "| label_format {}", Joined(ops)),
            Stage::Drop(items) => write!(f, "| drop {}", Joined(items)),
            Stage::Keep(items) => write!(f, "| keep {}", Joined(items)),
            Stage::Unwrap(u) => u.fmt(f),
        }
    }
}

impl Display for LineFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.op)?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl Display for LineFilterValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LineFilterValue::Text(t) => Quoted(t).fmt(f),
            LineFilterValue::Ip(ip) => write!(f, "ip({})", Quoted(ip)),
        }
    }
}

impl Display for Parser {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "| {}", ParserText(self))
    }
}

impl Display for ExtractionParam {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.label == self.path {
            f.write_str(&self.label)
        } else {
            write!(f, "{}={}", self.label, Quoted(&self.path))
        }
    }
}

impl Display for LabelFilter {
    /// `and` binds tighter than `or`, both left-associative; parentheses are
    /// added exactly where the tree needs them to re-parse identically.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        fn side(f: &mut Formatter<'_>, x: &LabelFilter, paren: bool) -> fmt::Result {
            if paren {
                write!(f, "({x})")
            } else {
                write!(f, "{x}")
            }
        }
        match self {
            LabelFilter::And(l, r) => {
                side(f, l, matches!(**l, LabelFilter::Or(..)))?;
                f.write_str(" and ")?;
                side(
                    f,
                    r,
                    matches!(**r, LabelFilter::And(..) | LabelFilter::Or(..)),
                )
            }
            LabelFilter::Or(l, r) => {
                side(f, l, false)?;
                f.write_str(" or ")?;
                side(f, r, matches!(**r, LabelFilter::Or(..)))
            }
            LabelFilter::String {
                name, op, value, ..
            } => write!(f, "{name}{op}{}", Quoted(value)),
            LabelFilter::Number {
                name, op, value, ..
            } => write!(f, "{name} {} {}", op.symbol(), Num(*value)),
            LabelFilter::Duration {
                name, op, value, ..
            } => write!(f, "{name} {} {}", op.symbol(), seconds(*value)),
            LabelFilter::Bytes {
                name, op, value, ..
            } => write!(f, "{name} {} {}B", op.symbol(), Num(value.round())),
            LabelFilter::Ip {
                name,
                negated,
                value,
                ..
            } => {
                let op = if *negated { "!=" } else { "=" };
                write!(f, "{name}{op}ip({})", Quoted(value))
            }
        }
    }
}

impl Display for LabelFormatOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFormatOp::Rename { dst, src } => write!(f, "{dst}={src}"),
            LabelFormatOp::Template { dst, template } => write!(f, "{dst}={}", Quoted(template)),
        }
    }
}

impl Display for LabelSelectorItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.matcher {
            None => f.write_str(&self.name),
            Some((op, v)) => write!(f, "{}{op}{}", self.name, Quoted(v)),
        }
    }
}

impl Display for Unwrap {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "| unwrap {}", UnwrapTarget(self))?;
        for p in &self.post_filters {
            write!(f, " | {p}")?;
        }
        Ok(())
    }
}

impl Display for MetricExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricExpr::Range(r) => r.fmt(f),
            MetricExpr::Vector(v) => v.fmt(f),
            MetricExpr::Binary(b) => b.fmt(f),
            MetricExpr::Literal(v) => Num(*v).fmt(f),
            MetricExpr::VectorLiteral(v) => write!(f, "vector({})", Num(*v)),
            MetricExpr::LabelReplace(l) => l.fmt(f),
            MetricExpr::Paren(inner) => write!(f, "({inner})"),
        }
    }
}

impl Display for RangeOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(range_op_name(*self))
    }
}

impl Display for VectorOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(vector_op_name(*self))
    }
}

impl Display for RangeAggregation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.op)?;
        if let Some(p) = self.param {
            write!(f, "{}, ", Num(p))?;
        }
        write!(f, "{} [{}]", self.log, PromDuration(self.range_ns))?;
        if self.offset_ns != 0 {
            write!(f, " offset {}", GoDuration(self.offset_ns))?;
        }
        f.write_char(')')?;
        if let Some(g) = &self.grouping {
            write!(f, " {g}")?;
        }
        Ok(())
    }
}

impl Display for VectorAggregation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if let Some(g) = &self.grouping {
            write!(f, " {g} ")?;
        }
        f.write_char('(')?;
        if let Some(p) = self.param {
            write!(f, "{}, ", Num(p))?;
        }
        write!(f, "{})", self.inner)
    }
}

impl Display for Grouping {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kw = if self.without { "without" } else { "by" };
        write!(f, "{kw} ({})", Names(&self.labels))
    }
}

impl BinaryOp {
    /// The operator as written in LogQL.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Unless => "unless",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Gt => ">",
            BinaryOp::Gte => ">=",
            BinaryOp::Lt => "<",
            BinaryOp::Lte => "<=",
        }
    }

    /// Prometheus precedence: `or` 1 … `^` 6.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            BinaryOp::Eq
            | BinaryOp::Neq
            | BinaryOp::Gt
            | BinaryOp::Gte
            | BinaryOp::Lt
            | BinaryOp::Lte => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 5,
            BinaryOp::Pow => 6,
        }
    }
}

impl Display for BinaryOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Display for VectorMatching {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kw = if self.on { "on" } else { "ignoring" };
        write!(f, "{kw} ({})", Names(&self.labels))?;
        if let Some((side, labels)) = &self.group {
            let g = match side {
                GroupSide::Left => "group_left",
                GroupSide::Right => "group_right",
            };
            write!(f, " {g} ({})", Names(labels))?;
        }
        Ok(())
    }
}

impl Display for BinaryExpr {
    /// Operands are parenthesised only where precedence requires it (never
    /// for trees produced by the parser, which keeps explicit parentheses as
    /// [`MetricExpr::Paren`]).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let prec = self.op.precedence();
        let right_assoc = self.op == BinaryOp::Pow;
        let needs = |e: &MetricExpr, left: bool| match e {
            MetricExpr::Binary(b) => {
                let p = b.op.precedence();
                p < prec || (p == prec && (left == right_assoc))
            }
            _ => false,
        };
        let write_side = |f: &mut Formatter<'_>, e: &MetricExpr, paren: bool| {
            if paren {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        };
        write_side(f, &self.lhs, needs(&self.lhs, true))?;
        write!(f, " {} ", BinaryHead(self))?;
        write_side(f, &self.rhs, needs(&self.rhs, false))
    }
}

impl Display for LabelReplace {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "label_replace({}, {}, {}, {}, {})",
            self.inner,
            Quoted(&self.dst),
            Quoted(&self.replacement),
            Quoted(&self.src),
            Quoted(&self.regex)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::syntax::parse;
    use super::*;

    fn plan(q: &str) -> String {
        explain(&parse(q).unwrap_or_else(|e| panic!("{q}: {e}")))
    }

    fn canonical(q: &str) -> String {
        parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).to_string()
    }

    #[test]
    fn explains_a_log_query_one_line_per_stage() {
        let got = plan(
            r#"{app="api"} |= "x" or "y" | json | status >= 500 and path =~ "/v1/.*" | line_format "{{.path}}" | drop a, b="v""#,
        );
        let want = "log query
  selector: {app=\"api\"}
  line filter: |= \"x\" or \"y\"
  parser: json
  label filter: (status >= 500 and path=~\"/v1/.*\")
  line_format: \"{{.path}}\"
  drop: a, b=\"v\"
";
        assert_eq!(got, want);
    }

    #[test]
    fn explains_a_selector_less_query() {
        assert_eq!(
            plan(r#"| logfmt --strict a, b="c.d" | decolorize"#),
            "log query\n  selector: none (every stream)\n  parser: logfmt --strict a, b=\"c.d\"\n  decolorize\n"
        );
    }

    #[test]
    fn explains_a_metric_query_as_a_tree() {
        let got = plan(
            r#"sum by (path) (quantile_over_time(0.99, {app="api"} | json | unwrap duration(latency) | __error__="" [5m] offset 1h) by (path)) / 2"#,
        );
        let want = "metric query
  binary: /
    vector aggregation: sum by (path)
      range aggregation: quantile_over_time(0.99) [5m] offset 1h by (path)
        log query
          selector: {app=\"api\"}
          parser: json
          unwrap: duration(latency)
            post filter: __error__=\"\"
    literal: 2
";
        assert_eq!(got, want);
    }

    #[test]
    fn explains_binary_modifiers_label_replace_and_vector() {
        let got = plan(
            r#"label_replace(rate({a="b"}[1m]), "d", "$1", "s", "(.*)") > bool on (x) group_left (y) vector(1)"#,
        );
        assert!(
            got.contains("binary: > bool on (x) group_left (y)"),
            "{got}"
        );
        assert!(
            got.contains("label_replace: dst=\"d\" replacement=\"$1\" src=\"s\" regex=\"(.*)\""),
            "{got}"
        );
        assert!(got.contains("    vector(1)"), "{got}");
    }

    #[test]
    fn prints_canonical_logql() {
        let cases = [
            (
                r#"{ app = "api" }  |=  "x"   or "y""#,
                r#"{app="api"} |= "x" or "y""#,
            ),
            (r#"{app=`a"b`}"#, r#"{app="a\"b"}"#),
            (
                r#"{a="b"} | json | x > 1.5s, y < 1KiB"#,
                r#"{a="b"} | json | x > 1500ms and y < 1024B"#,
            ),
            (
                r#"{a="b"} | x="1", y="2", z="3""#,
                r#"{a="b"} | x="1" and (y="2" and z="3")"#,
            ),
            (
                r#"{a="b"} | x="1" or (y="2" or z="3")"#,
                r#"{a="b"} | x="1" or (y="2" or z="3")"#,
            ),
            (
                r#"{a="b"} | LOGFMT --keep-empty --strict"#,
                r#"{a="b"} | logfmt --strict --keep-empty"#,
            ),
            (
                r#"rate({a="b"}[90m] offset 90s)"#,
                r#"rate({a="b"} [1h30m] offset 90s)"#,
            ),
            (
                r#"rate({a="b"}[5m] | json)"#,
                r#"rate({a="b"} | json [5m])"#,
            ),
            (
                r#"sum(rate({a="b"}[1d])) by (x)"#,
                r#"sum by (x) (rate({a="b"} [1d]))"#,
            ),
            (r#"topk(2,vector(1))"#, r#"topk(2, vector(1))"#),
            (r#"1+2*3"#, r#"1 + 2 * 3"#),
            (
                r#"vector(1) * on(a) group_left vector(2)"#,
                r#"vector(1) * on (a) group_left () vector(2)"#,
            ),
            (r#"| unwrap x"#, ""),
        ];
        for (q, want) in cases {
            if want.is_empty() {
                assert!(parse(q).is_err());
                continue;
            }
            assert_eq!(canonical(q), want, "{q}");
        }
    }

    #[test]
    fn binary_printing_adds_needed_parentheses_for_hand_built_trees() {
        let lit = MetricExpr::Literal;
        let bin = |op, lhs, rhs| {
            MetricExpr::Binary(Box::new(BinaryExpr {
                op,
                lhs,
                rhs,
                return_bool: false,
                matching: None,
            }))
        };
        let e = bin(
            BinaryOp::Mul,
            bin(BinaryOp::Add, lit(1.0), lit(2.0)),
            lit(3.0),
        );
        assert_eq!(e.to_string(), "(1 + 2) * 3");
        let e = bin(
            BinaryOp::Sub,
            lit(1.0),
            bin(BinaryOp::Sub, lit(2.0), lit(3.0)),
        );
        assert_eq!(e.to_string(), "1 - (2 - 3)");
        let e = bin(
            BinaryOp::Pow,
            bin(BinaryOp::Pow, lit(2.0), lit(3.0)),
            lit(2.0),
        );
        assert_eq!(e.to_string(), "(2 ^ 3) ^ 2");
    }

    #[test]
    fn durations_print_in_reparseable_units() {
        assert_eq!(GoDuration(0).to_string(), "0s");
        assert_eq!(GoDuration(-3_600_000_000_000).to_string(), "-1h");
        assert_eq!(GoDuration(1_500).to_string(), "1500ns");
        assert_eq!(GoDuration(2_000).to_string(), "2us");
        assert_eq!(PromDuration(5_400_000_000_000).to_string(), "1h30m");
        assert_eq!(PromDuration(7 * 86_400_000_000_000).to_string(), "1w");
        assert_eq!(PromDuration(8 * 86_400_000_000_000).to_string(), "8d");
        assert_eq!(PromDuration(0).to_string(), "0s");
        assert_eq!(
            Quoted("a\"\\\n\u{1}é").to_string(),
            "\"a\\\"\\\\\\n\\u0001é\""
        );
    }
}
