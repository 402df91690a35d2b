//! LogQL parser stages: `json`, `logfmt`, `regexp`, `pattern`, `unpack`,
//! `decolorize`. Each extracts labels from the current line; `json` and
//! `logfmt` set `__error__` as Loki does when the line is not in their
//! format (`logfmt` only with `--strict`, since by default Loki's logfmt
//! parser skips what it cannot read). Each follows its Loki counterpart in
//! `pkg/logql/log/parser.go`, and its unit tests name the Loki tests.
//!
//! These are stages of a compiled pipeline that run on every line; the
//! parser of the query text itself is [`super::syntax`].

use regex::bytes::Regex;

use super::ast::{ExtractionParam, Parser};
use super::pattern::Pattern;
use super::CompileError;
use crate::decode::json::{
    append_sanitized, each_member, find_path, unescape_into, Found, JsonScanner, PathStep,
};
use crate::decode::{logfmt, Want};
use crate::record::Fields;

pub const JSON_PARSER_ERR: &str = "JSONParserErr";
pub const LOGFMT_PARSER_ERR: &str = "LogfmtParserErr";

#[derive(Debug)]
pub enum ParserExec {
    Json,
    JsonParams(Vec<(String, Vec<PathElem>)>),
    Logfmt {
        strict: bool,
        keep_empty: bool,
    },
    LogfmtParams {
        strict: bool,
        keep_empty: bool,
        params: Vec<(String, String)>,
    },
    Regexp {
        re: Regex,
        names: Vec<Option<String>>,
    },
    Pattern(Pattern),
    Unpack,
    Decolorize,
}

/// One step of a `json` extraction path: `a.b[0]["c d"]`.
#[derive(Debug, Clone, PartialEq)]
pub enum PathElem {
    Key(String),
    Index(usize),
}

/// What a parser stage did to the line.
pub enum Outcome {
    Ok,
    Error(&'static str, String),
    ReplaceLine(Vec<u8>),
}

/// Reusable buffers for parser stages.
#[derive(Default)]
pub struct Scratch {
    json: JsonScanner,
    name: Vec<u8>,
    seen: Vec<usize>,
}

/// Parses a `json` extraction path (`a.b[0]`, `["a"]["b"]`, `.a`).
pub fn parse_json_path(p: &str) -> Result<Vec<PathElem>, String> {
    let b = p.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = || format!("invalid json path {p:?}");
    while i < b.len() {
        match b[i] {
            b'.' => i += 1,
            b'[' => {
                let close = p[i..].find(']').ok_or_else(err)? + i;
                let inner = p[i + 1..close].trim();
                if let Some(s) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    out.push(PathElem::Key(s.to_string()));
                } else {
                    out.push(PathElem::Index(inner.parse().map_err(|_| err())?));
                }
                i = close + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
                out.push(PathElem::Key(p[start..i].to_string()));
            }
        }
    }
    if out.is_empty() {
        return Err(err());
    }
    Ok(out)
}

fn ansi_re() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        // A constant pattern, checked by the decolorize test.
        Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").expect("valid ANSI escape regex")
    })
}

impl ParserExec {
    pub fn compile(p: &Parser) -> Result<ParserExec, CompileError> {
        Ok(match p {
            Parser::Json(params) if params.is_empty() => ParserExec::Json,
            Parser::Json(params) => ParserExec::JsonParams(
                params
                    .iter()
                    .map(|ExtractionParam { label, path }| {
                        parse_json_path(path)
                            .map(|p| (label.clone(), p))
                            .map_err(|m| CompileError::new(0, m))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Parser::Logfmt {
                strict,
                keep_empty,
                params,
            } if params.is_empty() => ParserExec::Logfmt {
                strict: *strict,
                keep_empty: *keep_empty,
            },
            Parser::Logfmt {
                strict,
                keep_empty,
                params,
            } => ParserExec::LogfmtParams {
                strict: *strict,
                keep_empty: *keep_empty,
                params: params
                    .iter()
                    .map(|p| (p.label.clone(), p.path.clone()))
                    .collect(),
            },
            Parser::Regexp(re) => {
                let re = Regex::new(re)
                    .map_err(|e| CompileError::new(0, format!("invalid regexp {re:?}: {e}")))?;
                let names: Vec<Option<String>> =
                    re.capture_names().map(|n| n.map(str::to_string)).collect();
                if names.iter().all(Option::is_none) {
                    return Err(CompileError::new(
                        0,
                        "at least one named capture must be supplied",
                    ));
                }
                ParserExec::Regexp { re, names }
            }
            Parser::Pattern(p) => {
                ParserExec::Pattern(Pattern::parse(p).map_err(|m| CompileError::new(0, m))?)
            }
            Parser::Unpack => ParserExec::Unpack,
        })
    }

    /// Runs the stage on `line`, writing labels into `fields`. `clash` says
    /// whether a name is a stream label or structured metadata (extracted
    /// names then take the `_extracted` suffix); `fields[..metadata]` are
    /// the structured metadata (the json stage may replace those, never a
    /// label an earlier stage extracted).
    pub fn run(
        &self,
        line: &[u8],
        want: &Want,
        clash: &dyn Fn(&str) -> bool,
        scratch: &mut Scratch,
        fields: &mut Fields,
        metadata: usize,
    ) -> Outcome {
        let clash_bytes = |n: &[u8]| std::str::from_utf8(n).is_ok_and(clash);
        match self {
            ParserExec::Json => {
                match scratch
                    .json
                    .scan_labels(line, want, &clash_bytes, fields, metadata)
                {
                    Ok(()) => Outcome::Ok,
                    Err(e) => Outcome::Error(JSON_PARSER_ERR, e.to_string()),
                }
            }
            // Loki's JSONExpressionParser.Process: an empty line is left
            // alone; a line that does not start as JSON is an error (no
            // details, no labels); each path takes the first of duplicate
            // keys; an object is its raw text, other values go through
            // unescapeJSONString; a label whose path finds nothing is "".
            ParserExec::JsonParams(params) => {
                if line.is_empty() {
                    return Outcome::Ok;
                }
                if !matches!(line[0], b'"' | b'{' | b'[') {
                    return Outcome::Error(JSON_PARSER_ERR, String::new());
                }
                let mut outcome = Outcome::Ok;
                let mut steps = Vec::new();
                for (label, path) in params {
                    steps.clear();
                    steps.extend(path.iter().map(|el| match el {
                        PathElem::Key(k) => PathStep::Key(k),
                        PathElem::Index(i) => PathStep::Index(*i),
                    }));
                    let found = match find_path(line, &steps) {
                        Ok(Some(found)) => found,
                        Ok(None) => continue,
                        Err(e) => {
                            outcome = Outcome::Error(JSON_PARSER_ERR, e.to_string());
                            continue;
                        }
                    };
                    let name = if clash(label) {
                        format!("{label}_extracted")
                    } else {
                        label.clone()
                    };
                    fields.set_with(&name, |buf| match found {
                        Found::Null => {}
                        Found::Object(raw) => buf.push_str(&String::from_utf8_lossy(raw)),
                        Found::Str(raw) | Found::Array(raw) | Found::Scalar(raw) => {
                            unescape_json_string(raw, buf)
                        }
                    });
                }
                // "Ensure there's a label for every value".
                for (label, _) in params {
                    if !clash(label) && !fields.contains(label) {
                        fields.set(label, "");
                    }
                }
                outcome
            }
            ParserExec::Logfmt { strict, keep_empty } => {
                let opts = logfmt::ExtractOpts {
                    strict: *strict,
                    keep_empty: *keep_empty,
                    last_wins: false,
                };
                let r = logfmt::extract(
                    line,
                    want,
                    clash,
                    opts,
                    &mut scratch.name,
                    &mut scratch.seen,
                    fields,
                );
                match r {
                    Err(e) if *strict => Outcome::Error(LOGFMT_PARSER_ERR, e.to_string()),
                    _ => Outcome::Ok,
                }
            }
            // Loki's LogfmtExpressionParser.Process: every label is set to
            // "" first (unless it is a stream label); a key asked for keeps
            // its last value; a value holding U+FFFD is "".
            ParserExec::LogfmtParams {
                strict,
                keep_empty: _,
                params,
            } => {
                let target = |label: &str| {
                    if clash(label) {
                        format!("{label}_extracted")
                    } else {
                        label.to_string()
                    }
                };
                for (label, _) in params {
                    if !clash(label) {
                        fields.set(label, "");
                    }
                }
                let name = &mut scratch.name;
                let r = logfmt::scan(line, *strict, |key, raw, quoted| {
                    name.clear();
                    if !append_sanitized(name, &String::from_utf8_lossy(key)) {
                        return;
                    }
                    let k = std::str::from_utf8(name).unwrap_or("");
                    let id = params
                        .iter()
                        .find(|(_, orig)| orig == k)
                        .or_else(|| params.iter().find(|(label, _)| label == k));
                    let Some((label, _)) = id else { return };
                    let mut v = String::new();
                    match raw {
                        Some(raw) if quoted => logfmt::unquote_into(raw, &mut v),
                        Some(raw) => v.push_str(&String::from_utf8_lossy(raw)),
                        None => {}
                    }
                    if v.contains('\u{FFFD}') {
                        v.clear();
                    }
                    fields.set(&target(label), &v);
                });
                match r {
                    Err(e) if *strict => Outcome::Error(LOGFMT_PARSER_ERR, e.to_string()),
                    _ => Outcome::Ok,
                }
            }
            ParserExec::Regexp { re, names } => {
                if let Some(caps) = re.captures(line) {
                    for (i, name) in names.iter().enumerate() {
                        let Some(name) = name else { continue };
                        set_capture(
                            fields,
                            clash,
                            &mut scratch.name,
                            name,
                            caps.get(i).map(|m| m.as_bytes()),
                        );
                    }
                }
                Outcome::Ok
            }
            ParserExec::Pattern(p) => {
                p.captures(line, |name, v| {
                    set_capture(fields, clash, &mut scratch.name, name, Some(v));
                });
                Outcome::Ok
            }
            // Loki's UnpackParser.Process: an empty line is left alone; a
            // line not starting with `{` is an error; string members become
            // labels only when the object packs an `_entry`, which becomes
            // the line. A stream label's name takes `_extracted` before the
            // key is sanitized; a blank key gives the label named "".
            ParserExec::Unpack => {
                if line.is_empty() {
                    return Outcome::Ok;
                }
                if line[0] != b'{' {
                    return Outcome::Error(
                        JSON_PARSER_ERR,
                        "expecting json object(6), but it is not".to_string(),
                    );
                }
                let mut entry = None;
                let mut labels: Vec<(Vec<u8>, String)> = Vec::new();
                let r = each_member(line, |key, value| {
                    let Found::Str(raw) = value else { return };
                    if key == b"_entry" {
                        let mut e = String::new();
                        unescape_into(raw, &mut e);
                        entry = Some(e.into_bytes());
                        return;
                    }
                    let key = String::from_utf8_lossy(key);
                    let key = if clash(&key) {
                        format!("{key}_extracted")
                    } else {
                        key.into_owned()
                    };
                    let mut name = Vec::new();
                    append_sanitized(&mut name, &key);
                    let mut v = String::new();
                    unescape_json_string(raw, &mut v);
                    labels.push((name, v));
                });
                if let Err(e) = r {
                    return Outcome::Error(JSON_PARSER_ERR, e.to_string());
                }
                match entry {
                    Some(e) => {
                        for (name, v) in &labels {
                            fields.set_with_name_bytes(name, |b| b.push_str(v));
                        }
                        Outcome::ReplaceLine(e)
                    }
                    None => Outcome::Ok,
                }
            }
            ParserExec::Decolorize => {
                let re = ansi_re();
                if re.is_match(line) {
                    Outcome::ReplaceLine(re.replace_all(line, &b""[..]).into_owned())
                } else {
                    Outcome::Ok
                }
            }
        }
    }
}

/// Loki's `unescapeJSONString`: JSON escapes undone, and U+FFFD (also
/// from invalid UTF-8) replaced with a space (`removeInvalidUtf`).
fn unescape_json_string(raw: &[u8], out: &mut String) {
    let mut s = String::new();
    unescape_into(raw, &mut s);
    logfmt::push_replacing_invalid(out, s.as_bytes());
}

fn set_capture(
    fields: &mut Fields,
    clash: &dyn Fn(&str) -> bool,
    name_buf: &mut Vec<u8>,
    name: &str,
    value: Option<&[u8]>,
) {
    name_buf.clear();
    if !append_sanitized(name_buf, name) {
        return;
    }
    if clash(std::str::from_utf8(name_buf).unwrap_or("")) {
        name_buf.extend_from_slice(b"_extracted");
    }
    let v = value.map(String::from_utf8_lossy).unwrap_or_default();
    fields.set_with_name_bytes(name_buf, |b| b.push_str(&v));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p: &Parser, line: &str) -> (Fields, Option<&'static str>) {
        let e = ParserExec::compile(p).unwrap();
        let mut f = Fields::new();
        let mut s = Scratch::default();
        let out = e.run(
            line.as_bytes(),
            &Want::All,
            &|n| n == "app",
            &mut s,
            &mut f,
            0,
        );
        let err = match out {
            Outcome::Error(e, _) => Some(e),
            _ => None,
        };
        (f, err)
    }

    #[test]
    fn json_error_on_non_object() {
        let (_, err) = run(&Parser::Json(vec![]), "plain text");
        assert_eq!(err, Some(JSON_PARSER_ERR));
        let (f, err) = run(&Parser::Json(vec![]), r#"{"app":"x","a":{"b":1}}"#);
        assert_eq!(err, None);
        assert_eq!(f.get("app_extracted"), Some("x"));
        assert_eq!(f.get("a_b"), Some("1"));
    }

    #[test]
    fn json_params() {
        let p = Parser::Json(vec![
            ExtractionParam {
                label: "first".into(),
                path: "items[0].id".into(),
            },
            ExtractionParam {
                label: "ua".into(),
                path: r#"http["user-agent"]"#.into(),
            },
            ExtractionParam {
                label: "missing".into(),
                path: "nope".into(),
            },
        ]);
        let (f, err) = run(&p, r#"{"items":[{"id":7}],"http":{"user-agent":"curl"}}"#);
        assert_eq!(err, None);
        assert_eq!(f.get("first"), Some("7"));
        assert_eq!(f.get("ua"), Some("curl"));
        assert_eq!(f.get("missing"), Some(""));
    }

    #[test]
    fn regexp_and_pattern() {
        let (f, _) = run(
            &Parser::Regexp(r"(?P<method>\w+) (?P<path>\S+)(?P<opt> x)?".into()),
            "GET /v1/x",
        );
        assert_eq!(f.get("method"), Some("GET"));
        assert_eq!(f.get("opt"), Some(""));
        let (f, _) = run(&Parser::Pattern("<m> <p>".into()), "GET /v1");
        assert_eq!(f.get("p"), Some("/v1"));
    }

    #[test]
    fn logfmt_strict_sets_error() {
        let strict = Parser::Logfmt {
            strict: true,
            keep_empty: false,
            params: vec![],
        };
        let (_, err) = run(&strict, "a=1 b=\"unterminated");
        assert_eq!(err, Some(LOGFMT_PARSER_ERR));
        let lax = Parser::Logfmt {
            strict: false,
            keep_empty: false,
            params: vec![],
        };
        let (f, err) = run(&lax, "a=1 b=\"unterminated");
        assert_eq!(err, None);
        assert_eq!(f.get("a"), Some("1"));
    }

    fn logfmt(strict: bool, keep_empty: bool) -> Parser {
        Parser::Logfmt {
            strict,
            keep_empty,
            params: vec![],
        }
    }

    fn run_details(p: &Parser, line: &[u8]) -> (Vec<(String, String)>, Option<String>) {
        let e = ParserExec::compile(p).unwrap();
        let mut f = Fields::new();
        let mut s = Scratch::default();
        let out = e.run(line, &Want::All, &|n| n == "foo", &mut s, &mut f, 0);
        let err = match out {
            Outcome::Error(_, d) => Some(d),
            _ => None,
        };
        let mut got: Vec<(String, String)> = f.iter().map(|(a, b)| (a.into(), b.into())).collect();
        got.sort();
        (got, err)
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        v.sort();
        v
    }

    /// Loki's TestLogfmtParser_parse (pkg/logql/log/parser_test.go), with
    /// the stream label `foo`: without `--strict` a malformed pair is
    /// skipped and decoding goes on; with it, decoding stops there and the
    /// error says where.
    #[test]
    fn logfmt_as_loki_parse_table() {
        type Pairs<'a> = &'a [(&'a str, &'a str)];
        // (line, labels, labels with --strict, the strict error's details)
        let cases: &[(&[u8], Pairs, Pairs, Option<&str>)] = &[
            (
                b"foobar====wqe=sdad1r",
                &[],
                &[],
                Some("logfmt syntax error at pos 8 : unexpected '='"),
            ),
            (
                "buzz=foo bar=\u{FFFD}f".as_bytes(),
                &[("bar", " f"), ("buzz", "foo")],
                &[("bar", " f"), ("buzz", "foo")],
                None,
            ),
            (b"buzz bar=foo", &[("bar", "foo")], &[("bar", "foo")], None),
            (
                br#"foo="foo bar" =notkey bar=10ms"#,
                &[("foo_extracted", "foo bar"), ("bar", "10ms")],
                &[("foo_extracted", "foo bar")],
                Some("logfmt syntax error at pos 15 : unexpected '='"),
            ),
            (
                "foo=\"foo bar\" b\u{FFFD}r=10ms".as_bytes(),
                &[("foo_extracted", "foo bar")],
                &[("foo_extracted", "foo bar")],
                Some("logfmt syntax error at pos 20 : invalid key"),
            ),
            (
                br#"foo="foo bar" bu"zz=10ms"#,
                &[("foo_extracted", "foo bar")],
                &[("foo_extracted", "foo bar")],
                Some(r#"logfmt syntax error at pos 17 : unexpected '"'"#),
            ),
            (
                br#"bar=bu=zz foo="foo bar""#,
                &[("foo_extracted", "foo bar")],
                &[],
                Some("logfmt syntax error at pos 7 : unexpected '='"),
            ),
            // "duplicate from line property": the first value is kept.
            (
                br#"foobar="foo bar" foobar=10ms"#,
                &[("foobar", "foo bar")],
                &[("foobar", "foo bar")],
                None,
            ),
            // A key that sanitizes to nothing is skipped.
            (b"\xc2\xa0=x a=1", &[("a", "1")], &[("a", "1")], None),
        ];
        for (line, lax, strict, err) in cases {
            let (got, e) = run_details(&logfmt(false, false), line);
            assert_eq!(got, labels(lax), "{}", String::from_utf8_lossy(line));
            assert_eq!(e, None);
            let (got, e) = run_details(&logfmt(true, false), line);
            assert_eq!(
                got,
                labels(strict),
                "strict {}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(
                e.as_deref(),
                *err,
                "strict {}",
                String::from_utf8_lossy(line)
            );
        }
    }

    /// Loki's TestLogfmtParser_keepEmpty: an empty value is dropped unless
    /// `--keep-empty`; U+FFFD in a value becomes a space (removeInvalidUtf),
    /// and so does each byte of invalid UTF-8.
    #[test]
    fn logfmt_keep_empty_and_error_runes() {
        for strict in [false, true] {
            let (got, _) = run_details(&logfmt(strict, false), b"foo bar=buzz e= q=\"\"");
            assert_eq!(got, labels(&[("bar", "buzz")]));
            let (got, _) = run_details(&logfmt(strict, true), b"foo bar=buzz");
            assert_eq!(got, labels(&[("foo_extracted", ""), ("bar", "buzz")]));
            for keep in [false, true] {
                let (got, _) =
                    run_details(&logfmt(strict, keep), "foo=b\u{FFFD}r bar=buzz".as_bytes());
                assert_eq!(got, labels(&[("foo_extracted", "b r"), ("bar", "buzz")]));
            }
            let (got, _) = run_details(&logfmt(strict, false), b"x=a\xe2\x82b");
            assert_eq!(got, labels(&[("x", "a  b")]));
        }
    }

    fn json_with(params: &[(&str, &str)]) -> Parser {
        Parser::Json(
            params
                .iter()
                .map(|(label, path)| ExtractionParam {
                    label: label.to_string(),
                    path: path.to_string(),
                })
                .collect(),
        )
    }

    /// Loki's TestJSONExpressionParser (pkg/logql/log/parser_test.go),
    /// with the stream label `foo`.
    #[test]
    fn json_params_as_loki() {
        let line = br#"{"app":"foo","null_field":null,"bool_field":false,"pod":{"uuid":"foo","deployment":{"ref":"foobar", "params": [1,2,3,"string_value"]}}}"#;
        let one =
            |label: &str, path: &str, line: &[u8]| run_details(&json_with(&[(label, path)]), line);
        // "full object": the raw text as in the line, not re-serialised.
        let (got, _) = one("deployment", "pod.deployment", line);
        assert_eq!(
            got,
            labels(&[(
                "deployment",
                r#"{"ref":"foobar", "params": [1,2,3,"string_value"]}"#
            )])
        );
        let (got, _) = one("params", "pod.deployment.params", line);
        assert_eq!(got, labels(&[("params", r#"[1,2,3,"string_value"]"#)]));
        // "null field", "boolean field", "expression matching nothing".
        assert_eq!(one("nf", "null_field", line).0, labels(&[("nf", "")]));
        assert_eq!(one("b", "bool_field", line).0, labels(&[("b", "false")]));
        assert_eq!(one("nope", "pod.nope", line).0, labels(&[("nope", "")]));
        // "label override": a stream label's name takes `_extracted`.
        assert_eq!(
            one("foo", "pod.uuid", line).0,
            labels(&[("foo_extracted", "foo")])
        );
        // "duplicate field name takes first value".
        assert_eq!(
            one("app", "app", br#"{"app":"foo","app":"duplicate"}"#).0,
            labels(&[("app", "foo")])
        );
        // "nested object with escaped value": lazy, like jsonparser.
        assert_eq!(
            one("app", "app", br#"{"app":{"name":"great \"loki\""}"#).0,
            labels(&[("app", r#"{"name":"great \"loki\""}"#)])
        );
        // "invalid JSON line": an error without details, and no labels.
        let (got, err) = one("uuid", "will.not.work", b"invalid json");
        assert_eq!(got, labels(&[]));
        assert_eq!(err.as_deref(), Some(""));
        // "empty line": untouched.
        let (got, err) = one("uuid", "will.not.work", b"");
        assert_eq!((got, err), (labels(&[]), None));
        // unescapeJSONString: U+FFFD becomes a space.
        assert_eq!(
            one("q", "q", "{\"q\":\"a\u{FFFD}b\"}".as_bytes()).0,
            labels(&[("q", "a b")])
        );
    }

    /// Loki's Test_unpackParser_Parse.
    #[test]
    fn unpack_as_loki() {
        let (got, err) = run_details(&Parser::Unpack, b"");
        assert_eq!((got, err), (labels(&[]), None), "empty line");
        let (got, err) = run_details(&Parser::Unpack, br#"["foo","bar"]"#);
        assert_eq!(got, labels(&[]));
        assert_eq!(
            err.as_deref(),
            Some("expecting json object(6), but it is not")
        );
        // "should not change log and labels if no packed entry".
        let (got, err) = run_details(
            &Parser::Unpack,
            br#"{"bar":1,"app":"foo","namespace":"prod","pod":{"uid":"1"}}"#,
        );
        assert_eq!((got, err), (labels(&[]), None));
        // "should rename", "invalid key names"; a blank key gives the
        // label named "" (as Loki's json test "whitespace key").
        let (got, err) = run_details(
            &Parser::Unpack,
            br#"{"bar":1,"foo":"x","foo.bar":"10ms","test-dash":"y"," ":"z","_entry":"some message"}"#,
        );
        assert_eq!(err, None);
        assert_eq!(
            got,
            labels(&[
                ("foo_extracted", "x"),
                ("foo_bar", "10ms"),
                ("test_dash", "y"),
                ("", "z")
            ])
        );
    }

    #[test]
    fn decolorize_and_unpack() {
        let e = ParserExec::Decolorize;
        let mut f = Fields::new();
        let mut s = Scratch::default();
        match e.run(
            b"\x1b[31mred\x1b[0m",
            &Want::All,
            &|_| false,
            &mut s,
            &mut f,
            0,
        ) {
            Outcome::ReplaceLine(l) => assert_eq!(l, b"red"),
            _ => panic!("expected a new line"),
        }
        let (f, _) = run(&Parser::Unpack, r#"{"container":"web","_entry":"hello"}"#);
        assert_eq!(f.get("container"), Some("web"));
    }
}
