//! LogQL parser stages: `json`, `logfmt`, `regexp`, `pattern`, `unpack`,
//! `decolorize`. Each extracts labels from the current line; `json` and
//! `logfmt` set `__error__` as Loki does when the line is not in their
//! format (`logfmt` only with `--strict`, since by default Loki's logfmt
//! parser skips what it cannot read).
//!
//! These are stages of a compiled pipeline that run on every line; the
//! parser of the query text itself is [`super::syntax`].

use regex::bytes::Regex;

use super::ast::{ExtractionParam, Parser};
use super::pattern::Pattern;
use super::CompileError;
use crate::decode::json::{append_sanitized, JsonScanner};
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
    /// whether a name is a stream label (extracted names then take the
    /// `_extracted` suffix).
    pub fn run(
        &self,
        line: &[u8],
        want: &Want,
        clash: &dyn Fn(&str) -> bool,
        scratch: &mut Scratch,
        fields: &mut Fields,
    ) -> Outcome {
        let clash_bytes = |n: &[u8]| std::str::from_utf8(n).is_ok_and(clash);
        match self {
            ParserExec::Json => match scratch.json.scan(line, want, &clash_bytes, fields) {
                Ok(()) => Outcome::Ok,
                Err(e) => Outcome::Error(JSON_PARSER_ERR, e.to_string()),
            },
            ParserExec::JsonParams(params) => {
                let value: serde_json::Value = match serde_json::from_slice(line) {
                    Ok(v) => v,
                    Err(e) => return Outcome::Error(JSON_PARSER_ERR, e.to_string()),
                };
                for (label, path) in params {
                    let mut cur = Some(&value);
                    for el in path {
                        cur = match (cur, el) {
                            (Some(serde_json::Value::Object(m)), PathElem::Key(k)) => m.get(k),
                            (Some(serde_json::Value::Array(a)), PathElem::Index(i)) => a.get(*i),
                            _ => None,
                        };
                    }
                    let name = if clash(label) {
                        format!("{label}_extracted")
                    } else {
                        label.clone()
                    };
                    fields.set_with(&name, |buf| match cur {
                        Some(serde_json::Value::String(s)) => buf.push_str(s),
                        Some(serde_json::Value::Null) | None => {}
                        Some(v) => buf.push_str(&v.to_string()),
                    });
                }
                Outcome::Ok
            }
            ParserExec::Logfmt { strict, keep_empty } => {
                match logfmt::extract(line, want, clash, *keep_empty, &mut scratch.name, fields) {
                    Err(e) if *strict => Outcome::Error(LOGFMT_PARSER_ERR, e.to_string()),
                    _ => Outcome::Ok,
                }
            }
            ParserExec::LogfmtParams {
                strict,
                keep_empty,
                params,
            } => {
                let mut tmp = Fields::new();
                let r = logfmt::extract(
                    line,
                    &Want::All,
                    &|_| false,
                    *keep_empty,
                    &mut scratch.name,
                    &mut tmp,
                );
                for (label, key) in params {
                    let name = if clash(label) {
                        format!("{label}_extracted")
                    } else {
                        label.clone()
                    };
                    fields.set(&name, tmp.get(key).unwrap_or(""));
                }
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
            ParserExec::Unpack => {
                let map: serde_json::Map<String, serde_json::Value> =
                    match serde_json::from_slice(line) {
                        Ok(m) => m,
                        Err(e) => return Outcome::Error(JSON_PARSER_ERR, e.to_string()),
                    };
                let mut entry = None;
                for (k, v) in &map {
                    let serde_json::Value::String(s) = v else {
                        continue;
                    };
                    if k == "_entry" {
                        entry = Some(s.clone().into_bytes());
                        continue;
                    }
                    set_capture(fields, clash, &mut scratch.name, k, Some(s.as_bytes()));
                }
                match entry {
                    Some(e) => Outcome::ReplaceLine(e),
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
        let out = e.run(line.as_bytes(), &Want::All, &|n| n == "app", &mut s, &mut f);
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
        ) {
            Outcome::ReplaceLine(l) => assert_eq!(l, b"red"),
            _ => panic!("expected a new line"),
        }
        let (f, _) = run(&Parser::Unpack, r#"{"container":"web","_entry":"hello"}"#);
        assert_eq!(f.get("container"), Some("web"));
    }
}
