//! Whole-query tests of the parser: valid queries round-trip, invalid ones
//! fail where and as Loki's do.

use super::*;
use crate::logql::ast::*;

/// Parses, panicking with the rendered error on failure.
fn ok(q: &str) -> Expr {
    match parse(q) {
        Ok(e) => e,
        Err(e) => panic!("{q:?} should parse, got: {e}\n{}", e.snippet()),
    }
}

/// The error of a query that must not parse.
fn err(q: &str) -> QueryError {
    match parse(q) {
        Ok(e) => panic!("{q:?} should fail, got {e:?}"),
        Err(e) => e,
    }
}

fn log(q: &str) -> LogExpr {
    match ok(q) {
        Expr::Log(l) => l,
        other => panic!("{q:?} is not a log query: {other:?}"),
    }
}

fn metric(q: &str) -> MetricExpr {
    match ok(q) {
        Expr::Metric(m) => m,
        other => panic!("{q:?} is not a metric query: {other:?}"),
    }
}

/// The single label filter of `{a="b"} | <filter>`.
fn label_filter(f: &str) -> LabelFilter {
    match log(&format!("{{a=\"b\"}} | {f}")).stages.pop() {
        Some(Stage::LabelFilter(lf)) => lf,
        other => panic!("{f:?}: not a label filter: {other:?}"),
    }
}

/// [`label_filter`] with offsets zeroed.
fn label_filter_shape(f: &str) -> LabelFilter {
    let q = format!("{{a=\"b\"}} | {f}");
    match strip_pos(ok(&q)) {
        Expr::Log(mut l) => match l.stages.pop() {
            Some(Stage::LabelFilter(lf)) => lf,
            other => panic!("{f:?}: not a label filter: {other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn s(name: &str, op: MatchOp, value: &str, pos: usize) -> LabelFilter {
    LabelFilter::String {
        name: name.into(),
        op,
        value: value.into(),
        pos,
    }
}

fn and(l: LabelFilter, r: LabelFilter) -> LabelFilter {
    LabelFilter::And(Box::new(l), Box::new(r))
}

fn or(l: LabelFilter, r: LabelFilter) -> LabelFilter {
    LabelFilter::Or(Box::new(l), Box::new(r))
}

/// Every valid query used by the table tests; each must also survive a
/// Display round trip.
const VALID: &[&str] = &[
    // selectors
    r#"{app="api"}"#,
    r#"{app="api", env!="dev", pod=~"api-.*", ns!~"kube-.*"}"#,
    r#"{app=~".+"}"#,
    r#"{app=`api`}"#,
    r#"{ app = "api" , env = "prod" }"#,
    r#"{App_1="x"}"#,
    "{app=\"api\"}\n  # a comment\n  |= \"x\"",
    r#"({app="api"})"#,
    r#"({app="api"} |= "x")"#,
    // line filters
    r#"{app="api"} |= "error""#,
    r#"{app="api"} != "debug" |~ "err(or)?" !~ "time.?out""#,
    r#"{app="api"} |> "<_> error <_>" !> "<_> debug <_>""#,
    r#"{app="api"} |= "a" or "b" or "c""#,
    r#"{app="api"} != "a" or "b""#,
    r#"{app="api"} |~ "a" or "b" |= "c""#,
    r#"{app="api"} |= ip("10.0.0.0/8")"#,
    r#"{app="api"} != ip("192.168.0.1-192.168.0.9")"#,
    r#"{app="api"} |= "a" or ip("10.0.0.1")"#,
    r#"{app="api"} |= """#,
    r#"{app="api"} |~ `\d+ms`"#,
    r#"{app="api"} |= "caf\u00e9 \"q\" \\ \t\n""#,
    r#"{app="api"} |= "\x41\101\U0001F600""#,
    r#"{app="é"} |= "ünïcödé""#,
    // selector-less
    r#"| json | status >= 500"#,
    r#"|= "x""#,
    r#"!~ "x" | logfmt"#,
    // parsers
    r#"{app="api"} | json"#,
    r#"{app="api"} | json a="x.y", b, c="x[0]""#,
    r#"{app="api"} | logfmt"#,
    r#"{app="api"} | logfmt --strict"#,
    r#"{app="api"} | logfmt --keep-empty --strict"#,
    r#"{app="api"} | logfmt --strict a, b="c""#,
    r#"{app="api"} | regexp "(?P<method>\\w+) (?P<path>\\S+)""#,
    r#"{app="api"} | regexp `(?P<ip>\S+) (?<rest>.*)`"#,
    r#"{app="api"} | pattern "<ip> - - <_> \"<method> <path> <_>\"""#,
    r#"{app="api"} | unpack"#,
    r#"{app="api"} | decolorize"#,
    r#"{app="api"} | JSON | Logfmt"#,
    // label filters
    r#"{app="api"} | json | status == 500"#,
    r#"{app="api"} | json | status = 500"#,
    r#"{app="api"} | json | status != 500"#,
    r#"{app="api"} | json | status > -1"#,
    r#"{app="api"} | json | status < + 2.5"#,
    r#"{app="api"} | json | ratio <= 1e-3"#,
    r#"{app="api"} | json | latency > 250ms"#,
    r#"{app="api"} | json | latency >= 1h2m"#,
    r#"{app="api"} | json | latency < 1.5s"#,
    r#"{app="api"} | json | latency == 10us"#,
    r#"{app="api"} | json | latency != 5µs"#,
    r#"{app="api"} | json | latency = 100ns"#,
    r#"{app="api"} | json | latency > -5m"#,
    r#"{app="api"} | json | size > 20MB"#,
    r#"{app="api"} | json | size <= 5KiB"#,
    r#"{app="api"} | json | size == 1B"#,
    r#"{app="api"} | json | size != 10kB"#,
    r#"{app="api"} | json | addr = ip("192.168.0.0/16")"#,
    r#"{app="api"} | json | addr != ip("::1")"#,
    r#"{app="api"} | json | a="x" and b!="y""#,
    r#"{app="api"} | json | a=~"x.*" or b!~"y""#,
    r#"{app="api"} | json | a="x", b="y""#,
    r#"{app="api"} | json | a="x" b="y""#,
    r#"{app="api"} | json | (a="x" or b="y") and c > 1"#,
    r#"{app="api"} | json | a="x" (b="y" or c="z")"#,
    r#"{app="api"} | json | a="1" or b="2" and c="3" or d="4""#,
    r#"{app="api"} | json | a="1", b="2" or c="3""#,
    r#"{app="api"} | json | __error__="""#,
    r#"{app="api"} | json | count > 5"#,
    r#"{app="api"} | json | bytes > 5"#,
    // formatting and label selection
    r#"{app="api"} | line_format "{{.status}} {{.path}}""#,
    r#"{app="api"} | label_format dst=src, tmpl="{{.a}}-{{.b}}""#,
    r#"{app="api"} | drop a, b="v", c=~"re.*", d!="x""#,
    r#"{app="api"} | keep a, b!~"v""#,
    // metric queries
    r#"rate({app="api"}[5m])"#,
    r#"rate({app="api"} [5m])"#,
    r#"count_over_time({app="api"} |= "error" [1m])"#,
    r#"bytes_rate({app="api"}[1h30m])"#,
    r#"bytes_over_time({app="api"}[500ms])"#,
    r#"absent_over_time({app="api"}[1d])"#,
    r#"count_over_time({app="api"}[1y])"#,
    r#"count_over_time({app="api"}[2w])"#,
    r#"count_over_time({app="api"}[0])"#,
    r#"sum_over_time({app="api"} | json | unwrap bytes [5m])"#,
    r#"avg_over_time({app="api"} | logfmt | unwrap duration(latency) | __error__="" [5m]) by (path)"#,
    r#"quantile_over_time(0.99, {app="api"} | json | unwrap latency [5m]) by (path)"#,
    r#"max_over_time({app="api"} | unwrap bytes(size) [1w])"#,
    r#"min_over_time({app="api"} | unwrap duration_seconds(t) [1m]) without (pod)"#,
    r#"stddev_over_time({app="api"} | unwrap x [1m])"#,
    r#"stdvar_over_time({app="api"} | unwrap x | x > 1 | y="2" [1m])"#,
    r#"first_over_time({app="api"} | unwrap x [1m]) by (a)"#,
    r#"last_over_time({app="api"} | unwrap x [1m])"#,
    r#"rate_counter({app="api"} | unwrap x [1m])"#,
    r#"rate({app="api"} | json | unwrap x [1m])"#,
    r#"absent_over_time({app="api"} | unwrap x [1m])"#,
    r#"rate(({app="api"} | json)[5m])"#,
    r#"rate(({app="api"} | json | unwrap x)[5m] offset 1h)"#,
    r#"rate(({app="api"}[5m]))"#,
    r#"rate({app="api"}[5m] offset 1h)"#,
    r#"rate({app="api"} | json [5m] offset -30m)"#,
    r#"rate({app="api"} | json [5m] offset 1h30m)"#,
    r#"rate({app="api"}[5m] | json | x > 1)"#,
    r#"sum_over_time({app="api"}[5m] offset 1m | json | unwrap x)"#,
    r#"count_over_time(|= "x" [5m])"#,
    r#"count_over_time((| json)[5m])"#,
    r#"sum by (app) (rate({app="api"}[5m]))"#,
    r#"sum(rate({app="api"}[5m])) by (app, env)"#,
    r#"sum without (pod) (rate({app="api"}[5m]))"#,
    r#"sum by () (rate({app="api"}[5m]))"#,
    r#"avg(rate({app="api"}[5m]))"#,
    r#"min(rate({app="api"}[5m]))"#,
    r#"max(rate({app="api"}[5m]))"#,
    r#"count(rate({app="api"}[5m]))"#,
    r#"stddev(rate({app="api"}[5m]))"#,
    r#"stdvar(rate({app="api"}[5m]))"#,
    r#"topk(5, sum by (path) (rate({app="api"}[5m])))"#,
    r#"bottomk(2, rate({app="api"}[5m])) by (x)"#,
    r#"sort(rate({app="api"}[5m]))"#,
    r#"sort_desc(rate({app="api"}[5m]))"#,
    r#"SUM BY (app) (RATE({app="api"}[5m]))"#,
    r#"sum(rate({a="b"}[5m])) / sum(rate({c="d"}[5m]))"#,
    r#"sum(rate({a="b"}[5m])) + 1 * 2"#,
    r#"(sum(rate({a="b"}[5m])) + 1) * 2"#,
    r#"2 ^ 3 ^ 2"#,
    r#"rate({a="b"}[5m]) > bool 1"#,
    r#"rate({a="b"}[5m]) / on (x) group_left (y) rate({c="d"}[5m])"#,
    r#"rate({a="b"}[5m]) / ignoring (x) group_right rate({c="d"}[5m])"#,
    r#"rate({a="b"}[5m]) * on () group_left () (rate({c="d"}[5m]))"#,
    r#"rate({a="b"}[5m]) or rate({c="d"}[5m])"#,
    r#"rate({a="b"}[5m]) and rate({c="d"}[5m]) unless rate({e="f"}[5m])"#,
    r#"sum(count_over_time({a="b"}[5m])) > 10 or vector(0)"#,
    r#"rate({a="b"}[5m]) -1"#,
    r#"rate({a="b"}[5m]) - -1"#,
    r#"rate({a="b"}[5m]) % 2 == 0"#,
    r#"vector(1)"#,
    r#"1"#,
    r#"-1"#,
    r#"+2.5"#,
    r#"1e3"#,
    r#".5 + 1."#,
    r#"1 + 1"#,
    r#"label_replace(rate({a="b"}[5m]), "dst", "$1", "src", "(.*)")"#,
    r#"sum(label_replace(rate({a="b"}[5m]), "dst", "$1", "src", "(.*)")) by (dst)"#,
];

#[test]
fn valid_queries_parse_and_round_trip() {
    for q in VALID {
        let e = ok(q);
        let printed = e.to_string();
        let again = match parse(&printed) {
            Ok(x) => x,
            Err(err) => panic!("{q:?} printed as {printed:?} does not re-parse: {err}"),
        };
        assert_eq!(
            strip_pos(e),
            strip_pos(again),
            "{q:?} printed as {printed:?}"
        );
        // explain never panics and mentions the kind of query
        assert!(super::super::explain::explain(&ok(q)).contains("query"));
    }
    assert!(VALID.len() >= 120, "{} valid cases", VALID.len());
}

/// Zeroes the offsets (printing changes them).
fn strip_pos(e: Expr) -> Expr {
    fn lf(f: &mut LabelFilter) {
        match f {
            LabelFilter::And(a, b) | LabelFilter::Or(a, b) => {
                lf(a);
                lf(b);
            }
            LabelFilter::String { pos, .. }
            | LabelFilter::Number { pos, .. }
            | LabelFilter::Duration { pos, .. }
            | LabelFilter::Bytes { pos, .. }
            | LabelFilter::Ip { pos, .. } => *pos = 0,
        }
    }
    fn log(l: &mut LogExpr) {
        for m in &mut l.matchers {
            m.pos = 0;
        }
        for s in &mut l.stages {
            match s {
                Stage::LineFilter(f) => f.pos = 0,
                Stage::LabelFilter(f) => lf(f),
                Stage::Unwrap(u) => u.post_filters.iter_mut().for_each(lf),
                _ => {}
            }
        }
    }
    fn metric(m: &mut MetricExpr) {
        match m {
            MetricExpr::Range(r) => {
                r.pos = 0;
                log(&mut r.log);
            }
            MetricExpr::Vector(v) => {
                v.pos = 0;
                metric(&mut v.inner);
            }
            MetricExpr::Binary(b) => {
                metric(&mut b.lhs);
                metric(&mut b.rhs);
            }
            MetricExpr::LabelReplace(l) => metric(&mut l.inner),
            MetricExpr::Paren(p) => metric(p),
            MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => {}
        }
    }
    let mut e = e;
    match &mut e {
        Expr::Log(l) => log(l),
        Expr::Metric(m) => metric(m),
    }
    e
}

/// (query, 1-based column of the error, part of the message)
const INVALID: &[(&str, usize, &str)] = &[
    ("", 1, "empty query"),
    ("   ", 1, "empty query"),
    ("{}", 1, "at least one regexp or equality matcher"),
    (r#"{a=""}"#, 1, "at least one regexp"),
    (r#"{a=~".*"}"#, 1, "at least one regexp"),
    (r#"{a!="x"}"#, 1, "at least one regexp"),
    (r#"{a!~"x", b=""}"#, 1, "at least one regexp"),
    (
        r#"{foo}"#,
        5,
        r#"unexpected "}", expecting one of "=", "!=", "=~", "!~""#,
    ),
    (r#"{a="b""#, 7, r#"expecting one of ",", "}""#),
    (r#"{a="b",}"#, 8, "expecting IDENTIFIER"),
    (r#"{a=b}"#, 4, "expecting STRING"),
    (r#"{a=="b"}"#, 3, "expecting one of"),
    (r#"{json="b"}"#, 2, "keyword \"json\""),
    (r#"{a="b"} foo"#, 9, "unexpected IDENTIFIER \"foo\""),
    (r#"{a="b"} |~ "(""#, 12, "invalid regular expression"),
    (r#"{a="é"} |~ "(""#, 12, "invalid regular expression"),
    (r#"{a="b"} |= "x" or"#, 18, "expecting one of STRING"),
    (r#"{a="b"} |= "x" or 5"#, 19, "expecting one of STRING"),
    (r#"{a="b"} |~ ip("1.2.3.4")"#, 12, "only support |= and !="),
    (
        r#"{a="b"} |> "<a> x""#,
        12,
        "named captures are not allowed",
    ),
    (r#"{a="b"} @"#, 9, "unexpected character '@'"),
    (r#"{a="b"} |= "x"#, 12, "not terminated"),
    ("{a=\"b\"} |= \"x\ny\"", 12, "not terminated"),
    (r#"{a="b"} |= `x"#, 12, "not terminated"),
    (r#"{a="\q"}"#, 5, "invalid escape"),
    (r#"{a="b"} |= "\u12""#, 13, "invalid escape"),
    (r#"{a="b"} |= "\'""#, 13, "invalid escape"),
    (r#"{a="b"} |= "\400""#, 13, "invalid escape"),
    (r#"{a="b"} |= "\xff""#, 12, "invalid UTF-8"),
    (r#"{a="b"} | foo"#, 14, "unexpected end of query"),
    (r#"{a="b"} |"#, 10, "unexpected end of query"),
    (r#"{a="b"} | 5"#, 11, "expecting one of \"json\""),
    (
        r#"{a="b"} | regexp "(\\w+)""#,
        18,
        "at least one named capture",
    ),
    (
        r#"{a="b"} | regexp "(?P<a.b>x)""#,
        18,
        "invalid extracted label name",
    ),
    (r#"{a="b"} | regexp "(""#, 18, "invalid regexp parser"),
    (
        r#"{a="b"} | pattern "foo""#,
        19,
        "at least one capture is required",
    ),
    (
        r#"{a="b"} | pattern "<_> x""#,
        19,
        "at least one capture is required",
    ),
    (
        r#"{a="b"} | pattern "<a><b>""#,
        19,
        "found consecutive capture '<a><b>'",
    ),
    (
        r#"{a="b"} | pattern "<a> <a>""#,
        19,
        "duplicate capture name (a)",
    ),
    (r#"{a="b"} | pattern """#, 19, "empty pattern"),
    (r#"{a="b"} | regexp"#, 17, "expecting STRING"),
    (r#"{a="b"} | json a="#, 18, "expecting STRING"),
    (r#"{a="b"} | json a,"#, 18, "expecting IDENTIFIER"),
    (r#"{a="b"} | logfmt --nope"#, 18, "unexpected \"-\""),
    (r#"{a="b"} | unwrap x"#, 11, "unwrap is only allowed"),
    (
        r#"{a="b"} | x > "5""#,
        15,
        "expecting one of NUMBER, DURATION, BYTES",
    ),
    (r#"{a="b"} | x =~ 5"#, 16, "expecting STRING"),
    (r#"{a="b"} | x"#, 12, "unexpected end of query"),
    (
        r#"{a="b"} | x = "a" and"#,
        22,
        "expecting one of IDENTIFIER",
    ),
    (r#"{a="b"} | x = "a" or (y = "b""#, 30, "expecting \")\""),
    (r#"{a="b"} | x =~ "(""#, 16, "invalid regular expression"),
    (r#"{a="b"} | x > 1 B"#, 18, "unexpected end of query"),
    (r#"{a="b"} | x > 5mb"#, 18, "unexpected end of query"),
    (r#"{a="b"} | x = ip(1)"#, 18, "expecting STRING"),
    (r#"{a="b"} | line_format 5"#, 23, "expecting STRING"),
    (
        r#"{a="b"} | label_format a=5"#,
        26,
        "expecting one of IDENTIFIER, STRING",
    ),
    (
        r#"{a="b"} | label_format a=b, a="x""#,
        29,
        "multiple label name 'a'",
    ),
    (
        r#"{a="b"} | label_format __error__="x""#,
        24,
        "__error__ cannot be formatted",
    ),
    (r#"{a="b"} | drop"#, 15, "expecting IDENTIFIER"),
    (r#"{a="b"} | keep a=~"(""#, 19, "invalid regular expression"),
    (r#"{a="b"} | drop a,"#, 18, "expecting IDENTIFIER"),
    (r#"| json | x > 1 foo"#, 19, "unexpected end of query"),
    (r#"foo"#, 1, "unexpected IDENTIFIER \"foo\""),
    (r#"rate"#, 1, "unexpected IDENTIFIER \"rate\""),
    (
        r#"count_over_time({a="b"} | unwrap x [5m])"#,
        1,
        "invalid aggregation count_over_time with unwrap",
    ),
    (
        r#"bytes_rate({a="b"} | unwrap x [5m])"#,
        1,
        "invalid aggregation bytes_rate with unwrap",
    ),
    (
        r#"sum_over_time({a="b"}[5m])"#,
        1,
        "invalid aggregation sum_over_time without unwrap",
    ),
    (
        r#"rate_counter({a="b"}[5m])"#,
        1,
        "invalid aggregation rate_counter without unwrap",
    ),
    (r#"first_over_time({a="b"}[5m])"#, 1, "without unwrap"),
    (
        r#"quantile_over_time({a="b"} | unwrap x [5m])"#,
        1,
        "parameter required for operation quantile_over_time",
    ),
    (
        r#"rate(0.5, {a="b"}[5m])"#,
        6,
        "parameter 0.5 not supported for operation rate",
    ),
    (
        r#"rate({a="b"}[5m]) by (x)"#,
        1,
        "grouping not allowed for rate aggregation",
    ),
    (
        r#"sum_over_time({a="b"} | unwrap x [5m]) by (x)"#,
        1,
        "grouping not allowed for sum_over_time",
    ),
    (
        r#"topk(sum(rate({a="b"}[5m])))"#,
        1,
        "parameter required for operation topk",
    ),
    (r#"topk(0, rate({a="b"}[5m]))"#, 6, "must be greater than 0"),
    (
        r#"topk(1.5, rate({a="b"}[5m]))"#,
        6,
        "invalid parameter topk(1.5,",
    ),
    (
        r#"sum(5, rate({a="b"}[5m]))"#,
        5,
        "unsupported parameter for operation sum",
    ),
    (
        r#"sort by (a) (rate({a="b"}[5m]))"#,
        1,
        "sort and sort_desc doesn't allow grouping",
    ),
    (
        r#"sum by (a) (rate({a="b"}[5m])) by (b)"#,
        32,
        "unexpected keyword \"by\"",
    ),
    (r#"rate({a="b"}[5x])"#, 14, "invalid range"),
    (r#"rate({a="b"}[1.5m])"#, 14, "invalid range"),
    (r#"rate({a="b"}[5m ])"#, 14, "invalid range"),
    (r#"rate({a="b"}[1m1h])"#, 14, "invalid range"),
    (r#"rate({a="b"}[5m)"#, 13, "missing closing ']'"),
    (r#"rate({a="b"})"#, 13, "expecting"),
    (r#"rate({a="b"}[5m]"#, 17, "expecting \")\""),
    (r#"rate({a="b"}[5m] offset)"#, 24, "expecting DURATION"),
    (
        r#"rate({a="b"} | unwrap x | json [5m])"#,
        27,
        "only label filters may follow unwrap",
    ),
    (
        r#"rate({a="b"} | unwrap x |= "y" [5m])"#,
        25,
        "only label filters may follow unwrap",
    ),
    (r#"rate({}[5m])"#, 6, "at least one regexp"),
    (r#"rate([5m])"#, 6, "unexpected RANGE [5m]"),
    (r#"sum("#, 5, "unexpected end of query"),
    (r#"sum(rate({a="b"}[5m])"#, 22, "expecting \")\""),
    (
        r#"1 or vector(1)"#,
        3,
        "unexpected literal for left leg of logical/set binary operation (or)",
    ),
    (
        r#"vector(1) and (1 + 1)"#,
        11,
        "unexpected literal for right leg",
    ),
    (r#"vector(1) +"#, 12, "expecting a metric expression"),
    (r#"vector(-1)"#, 8, "expecting NUMBER"),
    (
        r#"rate({a="b"}[5m]) * group_left rate({c="d"}[5m])"#,
        21,
        "expecting a metric expression",
    ),
    (
        r#"rate({a="b"}[5m]) * on (a,) rate({c="d"}[5m])"#,
        27,
        "expecting IDENTIFIER",
    ),
    (
        r#"rate({a="b"}[5m]) > 1h"#,
        21,
        "expecting a metric expression",
    ),
    (
        r#"label_replace(rate({a="b"}[5m]), "d", "$1", "s", "(")"#,
        50,
        "invalid regex in label_replace",
    ),
    (
        r#"label_replace(rate({a="b"}[5m]), "d", "$1", "s")"#,
        48,
        "expecting \",\"",
    ),
    (r#"approx_topk(5, rate({a="b"}[5m]))"#, 1, "not supported"),
    (r#"{a="b"} + 1"#, 9, "unexpected \"+\""),
    (r#"(rate({a="b"}[5m])"#, 19, "expecting \")\""),
    (r#"1e400"#, 1, "out of range"),
    (
        r#"sum(rate({a="b"}[5m])) by (a b)"#,
        30,
        r#"expecting one of ",", ")""#,
    ),
];

#[test]
fn invalid_queries_report_column_and_message() {
    let mut bad = Vec::new();
    for (q, col, msg) in INVALID {
        match parse(q) {
            Ok(e) => bad.push(format!("{q:?} parsed: {e:?}")),
            Err(e) if !e.message.contains(msg) || e.column() != *col => bad.push(format!(
                "{q:?} (want col {col}, {msg:?}): {e}\n{}",
                e.snippet()
            )),
            Err(_) => {}
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(INVALID.len() >= 100, "{} invalid cases", INVALID.len());
}

#[test]
fn never_panics_on_truncated_or_mutated_input() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    let alphabet: Vec<char> = "{}()[]|=!~<>,\"`\\ -+*/%^.#\n0123456789abcmsµéBKiP_"
        .chars()
        .collect();
    for q in VALID {
        let chars: Vec<char> = q.chars().collect();
        // every prefix and suffix
        for k in 0..=chars.len() {
            let pre: String = chars[..k].iter().collect();
            let suf: String = chars[k..].iter().collect();
            for x in [pre, suf] {
                if let Err(e) = parse(&x) {
                    let _ = (e.column(), e.line(), e.snippet(), e.to_string());
                }
            }
        }
        // random mutations
        for _ in 0..40 {
            let mut m = chars.clone();
            for _ in 0..1 + rnd(3) {
                let at = rnd(m.len() + 1);
                match rnd(3) {
                    0 if at < m.len() => {
                        m.remove(at);
                    }
                    1 if at < m.len() => m[at] = alphabet[rnd(alphabet.len())],
                    _ => m.insert(at, alphabet[rnd(alphabet.len())]),
                }
            }
            let x: String = m.into_iter().collect();
            match parse(&x) {
                Ok(e) => {
                    // whatever parses must print to something that parses
                    let printed = e.to_string();
                    let again =
                        parse(&printed).unwrap_or_else(|err| panic!("{x:?} -> {printed:?}: {err}"));
                    assert_eq!(strip_pos(e), strip_pos(again), "{x:?} -> {printed:?}");
                }
                Err(e) => {
                    assert!(e.pos <= x.len() && x.is_char_boundary(e.pos), "{x:?}");
                    let _ = (e.column(), e.snippet(), e.to_string());
                }
            }
        }
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    let q = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(err(&q).message.contains("nested too deeply"));
    // Up to 1,000 binary operators (each nests the tree one level): fine.
    let q = format!("{}1", "1 ^ ".repeat(1000));
    assert!(parse(&q).is_ok());
    let q = format!("{{a=\"b\"}} | {}", "x=\"1\" and ".repeat(1000) + "y=\"2\"");
    assert!(parse(&q).is_ok());
    // Past them, a message, not a stack overflow in a later pass (a chain
    // of 14,000 terms aborted the process).
    for q in [
        format!("{}1", "1 + ".repeat(14_000)),
        format!("{{a=\"b\"}} | {}", "x=\"1\", ".repeat(2000) + "y=\"2\""),
        format!("{{a=\"b\"}} | {}", "x=\"1\" or ".repeat(1001) + "y=\"2\""),
    ] {
        assert!(
            err(&q).message.contains("more than 1000 binary operators"),
            "{}",
            &q[..40]
        );
    }
    // Loki's input limit, with its message.
    let q = format!("{{a=\"b\"}} |= \"{}\"", "x".repeat(131_072));
    assert_eq!(err(&q).message, "input size too long (131085 > 131072)");
}

// --- grammar pieces ----------------------------------------------------

#[test]
fn selector_matchers_and_positions() {
    let l = log(r#"{app="api", env!~"dev|test"}"#);
    assert!(l.selector_written);
    assert_eq!(
        l.matchers,
        vec![
            Matcher {
                name: "app".into(),
                op: MatchOp::Eq,
                value: "api".into(),
                pos: 1
            },
            Matcher {
                name: "env".into(),
                op: MatchOp::Nre,
                value: "dev|test".into(),
                pos: 12
            },
        ]
    );
    assert!(l.stages.is_empty());
}

#[test]
fn selector_less_log_query() {
    let l = log(r#"| json | status >= 500"#);
    assert!(!l.selector_written);
    assert!(l.matchers.is_empty());
    assert_eq!(l.stages.len(), 2);
    assert_eq!(l.stages[0], Stage::Parser(Parser::Json(vec![])));
}

#[test]
fn line_filter_or_values() {
    let l = log(r#"{a="b"} != "x" or ip("10.0.0.1") |~ "y""#);
    assert_eq!(
        l.stages[0],
        Stage::LineFilter(LineFilter {
            op: LineFilterOp::NotContains,
            values: vec![
                LineFilterValue::Text("x".into()),
                LineFilterValue::Ip("10.0.0.1".into())
            ],
            pos: 8,
        })
    );
    assert!(matches!(&l.stages[1], Stage::LineFilter(f) if f.op == LineFilterOp::Match));
}

#[test]
fn parser_stages() {
    let l = log(
        r#"{a="b"} | json a="x.y", b | logfmt --keep-empty c | regexp "(?P<x>.)" | pattern "<y> z" | unpack | decolorize"#,
    );
    let ep = |l: &str, p: &str| ExtractionParam {
        label: l.into(),
        path: p.into(),
    };
    assert_eq!(
        l.stages,
        vec![
            Stage::Parser(Parser::Json(vec![ep("a", "x.y"), ep("b", "b")])),
            Stage::Parser(Parser::Logfmt {
                strict: false,
                keep_empty: true,
                params: vec![ep("c", "c")]
            }),
            Stage::Parser(Parser::Regexp("(?P<x>.)".into())),
            Stage::Parser(Parser::Pattern("<y> z".into())),
            Stage::Parser(Parser::Unpack),
            Stage::Decolorize,
        ]
    );
}

#[test]
fn label_filter_values_are_typed() {
    assert_eq!(
        label_filter("x >= 500"),
        LabelFilter::Number {
            name: "x".into(),
            op: CmpOp::Gte,
            value: 500.0,
            pos: 10
        }
    );
    assert_eq!(
        label_filter("x = -1.5"),
        LabelFilter::Number {
            name: "x".into(),
            op: CmpOp::Eq,
            value: -1.5,
            pos: 10
        }
    );
    assert_eq!(
        label_filter("x > 250ms"),
        LabelFilter::Duration {
            name: "x".into(),
            op: CmpOp::Gt,
            value: 0.25,
            pos: 10
        }
    );
    assert_eq!(
        label_filter("x < 1h2m"),
        LabelFilter::Duration {
            name: "x".into(),
            op: CmpOp::Lt,
            value: 3720.0,
            pos: 10
        }
    );
    assert_eq!(
        label_filter("x != 20MB"),
        LabelFilter::Bytes {
            name: "x".into(),
            op: CmpOp::Neq,
            value: 20e6,
            pos: 10
        }
    );
    assert_eq!(
        label_filter(r#"x != ip("10.0.0.0/8")"#),
        LabelFilter::Ip {
            name: "x".into(),
            negated: true,
            value: "10.0.0.0/8".into(),
            pos: 10
        }
    );
    assert_eq!(
        label_filter(r#"x =~ "a.*""#),
        s("x", MatchOp::Re, "a.*", 10)
    );
}

#[test]
fn label_filter_precedence_follows_loki() {
    let (a, b, c) = (
        || s("a", MatchOp::Eq, "1", 0),
        || s("b", MatchOp::Eq, "2", 0),
        || s("c", MatchOp::Eq, "3", 0),
    );
    let cases = [
        // and binds tighter than or
        (r#"a="1" or b="2" and c="3""#, or(a(), and(b(), c()))),
        (r#"a="1" and b="2" or c="3""#, or(and(a(), b()), c())),
        // `,` and juxtaposition group to the right (yacc shifts)
        (r#"a="1", b="2" or c="3""#, and(a(), or(b(), c()))),
        (r#"a="1" b="2" or c="3""#, and(a(), or(b(), c()))),
        (r#"a="1" or b="2", c="3""#, or(a(), and(b(), c()))),
        (r#"a="1", b="2", c="3""#, and(a(), and(b(), c()))),
        // parentheses
        (r#"(a="1" or b="2") and c="3""#, and(or(a(), b()), c())),
        (r#"a="1" and (b="2" or c="3")"#, and(a(), or(b(), c()))),
        // left associativity
        (r#"a="1" or b="2" or c="3""#, or(or(a(), b()), c())),
        (r#"a="1" and b="2" and c="3""#, and(and(a(), b()), c())),
    ];
    for (q, want) in cases {
        assert_eq!(label_filter_shape(q), want, "{q}");
    }
    // offsets point at the label name
    assert_eq!(label_filter(r#"x="1""#), s("x", MatchOp::Eq, "1", 10));
}

#[test]
fn label_format_drop_keep() {
    let l = log(r#"{a="b"} | label_format x=y, z="{{.y}}" | drop a, b="c" | keep d=~"e""#);
    assert_eq!(
        l.stages,
        vec![
            Stage::LabelFormat(vec![
                LabelFormatOp::Rename {
                    dst: "x".into(),
                    src: "y".into()
                },
                LabelFormatOp::Template {
                    dst: "z".into(),
                    template: "{{.y}}".into()
                },
            ]),
            Stage::Drop(vec![
                LabelSelectorItem {
                    name: "a".into(),
                    matcher: None
                },
                LabelSelectorItem {
                    name: "b".into(),
                    matcher: Some((MatchOp::Eq, "c".into()))
                },
            ]),
            Stage::Keep(vec![LabelSelectorItem {
                name: "d".into(),
                matcher: Some((MatchOp::Re, "e".into()))
            }]),
        ]
    );
}

#[test]
fn range_aggregation_forms_agree() {
    let want = metric(r#"sum_over_time({a="b"} | json | unwrap x [5m] offset 1h)"#);
    for q in [
        r#"sum_over_time({a="b"}[5m] offset 1h | json | unwrap x)"#,
        r#"sum_over_time(({a="b"} | json | unwrap x)[5m] offset 1h)"#,
        r#"sum_over_time((({a="b"} | json | unwrap x)[5m] offset 1h))"#,
    ] {
        let got = metric(q);
        assert_eq!(
            strip_pos(Expr::Metric(got)),
            strip_pos(Expr::Metric(want.clone())),
            "{q}"
        );
    }
    let MetricExpr::Range(r) = want else { panic!() };
    assert_eq!(r.op, RangeOp::SumOverTime);
    assert_eq!(r.range_ns, 300_000_000_000);
    assert_eq!(r.offset_ns, 3_600_000_000_000);
    assert_eq!(r.pos, 0);
    assert!(matches!(r.log.stages.last(), Some(Stage::Unwrap(u)) if u.label == "x"));
}

#[test]
fn unwrap_conversion_and_post_filters() {
    let MetricExpr::Range(r) = metric(
        r#"avg_over_time({a="b"} | unwrap duration_seconds(t) | __error__="" | t > 1 [1m])"#,
    ) else {
        panic!()
    };
    let Some(Stage::Unwrap(u)) = r.log.stages.last() else {
        panic!()
    };
    assert_eq!(u.conversion, UnwrapConversion::DurationSeconds);
    assert_eq!(u.post_filters.len(), 2);
}

#[test]
fn vector_aggregation_grouping_and_param() {
    let MetricExpr::Vector(v) = metric(r#"topk by (a) (3, rate({a="b"}[1m]))"#) else {
        panic!()
    };
    assert_eq!(v.op, VectorOp::Topk);
    assert_eq!(v.param, Some(3.0));
    assert_eq!(
        v.grouping,
        Some(Grouping {
            without: false,
            labels: vec!["a".into()]
        })
    );
    let MetricExpr::Vector(v) = metric(r#"sum(rate({a="b"}[1m])) without (x, y)"#) else {
        panic!()
    };
    assert_eq!(
        v.grouping.map(|g| (g.without, g.labels.len())),
        Some((true, 2))
    );
}

#[test]
fn binary_precedence_and_modifiers() {
    // 1 + 2 * 3 ^ 2 ^ 2 or … : check the shape through the printer with
    // explicit parentheses.
    fn shape(m: &MetricExpr) -> String {
        match m {
            MetricExpr::Binary(b) => format!("({} {} {})", shape(&b.lhs), b.op, shape(&b.rhs)),
            MetricExpr::Literal(v) => v.to_string(),
            MetricExpr::Paren(p) => format!("[{}]", shape(p)),
            _ => "v".into(),
        }
    }
    assert_eq!(
        shape(&metric("1 + 2 * 3 ^ 2 ^ 2")),
        "(1 + (2 * (3 ^ (2 ^ 2))))"
    );
    assert_eq!(shape(&metric("1 - 2 - 3")), "((1 - 2) - 3)");
    assert_eq!(shape(&metric("1 / 2 * 3 % 4")), "(((1 / 2) * 3) % 4)");
    assert_eq!(shape(&metric("(1 - 2) * 3")), "([(1 - 2)] * 3)");
    assert_eq!(shape(&metric("1 < 2 + 3 == 4")), "((1 < (2 + 3)) == 4)");
    assert_eq!(shape(&metric("-2 ^ 2")), "(-2 ^ 2)");
    assert_eq!(
        shape(&metric("vector(1) or vector(2) and vector(3) > 1")),
        "(v or (v and (v > 1)))"
    );
    let MetricExpr::Binary(b) =
        metric(r#"rate({a="b"}[5m]) > bool on (x, y) group_right (z) rate({c="d"}[5m])"#)
    else {
        panic!()
    };
    assert!(b.return_bool);
    assert_eq!(
        b.matching,
        Some(VectorMatching {
            on: true,
            labels: vec!["x".into(), "y".into()],
            group: Some((GroupSide::Right, vec!["z".into()]))
        })
    );
}

#[test]
fn literals_and_label_replace() {
    assert_eq!(metric("-1"), MetricExpr::Literal(-1.0));
    assert_eq!(metric("+ 2.5"), MetricExpr::Literal(2.5));
    assert_eq!(metric("1e3"), MetricExpr::Literal(1000.0));
    assert_eq!(metric("vector(7)"), MetricExpr::VectorLiteral(7.0));
    let MetricExpr::LabelReplace(l) =
        metric(r#"label_replace(vector(1), "dst", "$1-x", "src", "(.*)")"#)
    else {
        panic!()
    };
    assert_eq!(
        (
            l.dst.as_str(),
            l.replacement.as_str(),
            l.src.as_str(),
            l.regex.as_str()
        ),
        ("dst", "$1-x", "src", "(.*)")
    );
}

#[test]
fn errors_render_like_loki() {
    let e = err(r#"{app="api"} | json | status >= "x""#);
    assert_eq!(
        e.message,
        r#"syntax error: unexpected STRING "x", expecting one of NUMBER, DURATION, BYTES"#
    );
    assert_eq!(
        e.to_string(),
        format!("parse error at line 1, col 32: {}", e.message)
    );
    let e = err("{app=\"api\"}\n| foo");
    assert_eq!((e.line(), e.column()), (2, 6));
}

/// Go's text/scanner reads hexadecimal numbers and Loki's
/// `mustNewLiteralExpr` converts them with `strconv.ParseFloat`, which
/// takes hexadecimal floats (`p` exponent required).
#[test]
fn hexadecimal_float_literals() {
    for (q, want) in [
        ("0x1p3", 8.0),
        ("0x1.8p1", 3.0),
        ("0X1P-2", 0.25),
        ("0x_1p4", 16.0),
    ] {
        assert_eq!(metric(q), MetricExpr::Literal(want), "{q}");
    }
    assert_eq!(metric("vector(0x1p3)"), MetricExpr::VectorLiteral(8.0));
    let e = err("vector(0xff)");
    assert!(
        e.to_string()
            .contains(r#"strconv.ParseFloat: parsing "0xff": invalid syntax"#),
        "{e}"
    );
}
