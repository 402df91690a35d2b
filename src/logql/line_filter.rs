//! Line filters (`|= != |~ !~ |> !>`), compiled to run on raw bytes.
//!
//! Substring filters use memchr's SIMD `memmem`; regex filters are
//! unanchored (`|~ "err"` finds `err` anywhere), as in Loki; `or`
//! alternatives match if any alternative does, and the negated operators
//! keep a line only if none does. `ip("…")` alternatives (`|=`/`!=` only)
//! look for an address in the pattern's range (see `logql::ip`).

use memchr::memmem::Finder;
use regex::bytes::Regex;

use super::ast::{LineFilter, LineFilterOp, LineFilterValue};
use super::ip::IpPattern;
use super::pattern::LinePattern;
use super::CompileError;

#[derive(Debug)]
pub enum LineFilterExec {
    Contains(Vec<Finder<'static>>),
    NotContains(Vec<Finder<'static>>),
    Regex {
        re: Regex,
        negated: bool,
    },
    Pattern {
        patterns: Vec<LinePattern>,
        negated: bool,
    },
    /// `|=`/`!=` with at least one `ip()` alternative.
    Mixed {
        alts: Vec<Alternative>,
        negated: bool,
    },
}

#[derive(Debug)]
pub enum Alternative {
    Text(Box<Finder<'static>>),
    Ip(IpPattern),
}

impl Alternative {
    fn matches(&self, line: &[u8]) -> bool {
        match self {
            Alternative::Text(f) => f.find(line).is_some(),
            Alternative::Ip(p) => p.find_in(line),
        }
    }
}

impl LineFilterExec {
    pub fn compile(f: &LineFilter) -> Result<LineFilterExec, CompileError> {
        if f.values.iter().any(|v| matches!(v, LineFilterValue::Ip(_))) {
            return compile_mixed(f);
        }
        let texts: Vec<&String> = f
            .values
            .iter()
            .filter_map(|v| match v {
                LineFilterValue::Text(t) => Some(t),
                LineFilterValue::Ip(_) => None,
            })
            .collect();
        let finders = || {
            texts
                .iter()
                .map(|t| Finder::new(t.as_bytes()).into_owned())
                .collect()
        };
        Ok(match f.op {
            LineFilterOp::Contains => LineFilterExec::Contains(finders()),
            LineFilterOp::NotContains => LineFilterExec::NotContains(finders()),
            LineFilterOp::Match | LineFilterOp::NotMatch => {
                let joined = texts
                    .iter()
                    .map(|t| format!("(?:{t})"))
                    .collect::<Vec<_>>()
                    .join("|");
                let re = Regex::new(&joined).map_err(|e| {
                    CompileError::new(f.pos, format!("invalid regex in line filter: {e}"))
                })?;
                LineFilterExec::Regex {
                    re,
                    negated: f.op == LineFilterOp::NotMatch,
                }
            }
            LineFilterOp::Pattern | LineFilterOp::NotPattern => {
                let patterns = texts
                    .iter()
                    .map(|t| LinePattern::parse(t).map_err(|m| CompileError::new(f.pos, m)))
                    .collect::<Result<Vec<_>, _>>()?;
                LineFilterExec::Pattern {
                    patterns,
                    negated: f.op == LineFilterOp::NotPattern,
                }
            }
        })
    }

    #[inline]
    pub fn matches(&self, line: &[u8]) -> bool {
        match self {
            LineFilterExec::Contains(fs) => fs.iter().any(|f| f.find(line).is_some()),
            LineFilterExec::NotContains(fs) => !fs.iter().any(|f| f.find(line).is_some()),
            LineFilterExec::Regex { re, negated } => re.is_match(line) != *negated,
            LineFilterExec::Pattern { patterns, negated } => {
                patterns.iter().any(|p| p.test(line)) != *negated
            }
            LineFilterExec::Mixed { alts, negated } => {
                alts.iter().any(|a| a.matches(line)) != *negated
            }
        }
    }

    /// A single non-empty literal that every matching line contains, so
    /// candidate lines can be found by searching a whole chunk at once.
    pub fn required_literal(&self) -> Option<&Finder<'static>> {
        match self {
            LineFilterExec::Contains(fs) if fs.len() == 1 && !fs[0].needle().is_empty() => {
                Some(&fs[0])
            }
            _ => None,
        }
    }
}

/// A `|=`/`!=` filter with `ip()` alternatives. The parser already rejects
/// `ip()` with other operators; a bad pattern is an error here, before any
/// line is read, as in Loki.
fn compile_mixed(f: &LineFilter) -> Result<LineFilterExec, CompileError> {
    let negated = match f.op {
        LineFilterOp::Contains => false,
        LineFilterOp::NotContains => true,
        other => {
            return Err(CompileError::new(
                f.pos,
                format!("ip() line filters only support |= and !=, not {other}"),
            ))
        }
    };
    let alts = f
        .values
        .iter()
        .map(|v| match v {
            LineFilterValue::Text(t) => Ok(Alternative::Text(Box::new(
                Finder::new(t.as_bytes()).into_owned(),
            ))),
            LineFilterValue::Ip(p) => IpPattern::parse(p)
                .map(Alternative::Ip)
                .map_err(|m| CompileError::new(f.pos, m)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LineFilterExec::Mixed { alts, negated })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lf(op: LineFilterOp, vals: &[&str]) -> LineFilterExec {
        LineFilterExec::compile(&LineFilter {
            op,
            values: vals
                .iter()
                .map(|v| LineFilterValue::Text(v.to_string()))
                .collect(),
            pos: 0,
        })
        .unwrap()
    }

    #[test]
    fn contains_and_or() {
        let f = lf(LineFilterOp::Contains, &["locked", "busy"]);
        assert!(f.matches(b"database is locked"));
        assert!(f.matches(b"busy"));
        assert!(!f.matches(b"fine"));
        let f = lf(LineFilterOp::NotContains, &["locked", "busy"]);
        assert!(!f.matches(b"database is locked"));
        assert!(f.matches(b"fine"));
        assert!(lf(LineFilterOp::Contains, &[""]).matches(b"anything"));
    }

    #[test]
    fn regex_is_unanchored() {
        let f = lf(LineFilterOp::Match, &["err(or)?"]);
        assert!(f.matches(b"an error happened"));
        let f = lf(LineFilterOp::NotMatch, &["^GET"]);
        assert!(f.matches(b"POST /"));
        assert!(!f.matches(b"GET /"));
        let f = lf(LineFilterOp::Match, &["(?i)ERROR"]);
        assert!(f.matches(b"error"));
    }

    #[test]
    fn ip_alternatives() {
        let compile = |op, vals: Vec<LineFilterValue>| {
            LineFilterExec::compile(&LineFilter {
                op,
                values: vals,
                pos: 3,
            })
        };
        let ip = |s: &str| LineFilterValue::Ip(s.into());
        let text = |s: &str| LineFilterValue::Text(s.into());
        let f = compile(LineFilterOp::Contains, vec![ip("10.0.0.0/8")]).unwrap();
        assert!(f.matches(b"from 10.1.2.3"));
        assert!(!f.matches(b"from 11.1.2.3"));
        let f = compile(LineFilterOp::NotContains, vec![ip("10.0.0.0/8")]).unwrap();
        assert!(!f.matches(b"from 10.1.2.3"));
        assert!(f.matches(b"no address"));
        let f = compile(LineFilterOp::Contains, vec![text("boom"), ip("::1")]).unwrap();
        assert!(f.matches(b"boom"));
        assert!(f.matches(b"[::1]:80"));
        assert!(!f.matches(b"[::2]:80"));
        let e = compile(LineFilterOp::Contains, vec![ip("10.0.0.0/40")]).unwrap_err();
        assert_eq!(e.pos, 3);
        assert!(e.message.contains("invalid pattern"), "{}", e.message);
    }

    #[test]
    fn invalid_regex_is_a_compile_error() {
        let e = LineFilterExec::compile(&LineFilter {
            op: LineFilterOp::Match,
            values: vec![LineFilterValue::Text("(".into())],
            pos: 7,
        })
        .unwrap_err();
        assert_eq!(e.pos, 7);
    }
}
