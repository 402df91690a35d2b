//! Label filters, with Loki's semantics exactly:
//!
//! - a string filter reads a missing label as "" (so `q=""` matches records
//!   without `q`); regex matchers are anchored;
//! - a numeric, duration or bytes filter drops a line that lacks the label
//!   (even one already carrying `__error__`), compares a value that is
//!   present, and on a value that does not parse passes the line and sets
//!   `__error__="LabelFilterErr"` unless an error is already set (Loki 3,
//!   grafana/loki#12378);
//! - an `ip(…)` filter still passes a line that carries `__error__`
//!   (Loki's `IPLabelFilter`);
//! - `or` stops at the first side that passes; `and` evaluates both sides
//!   (so both may set errors), as Loki's `BinaryLabelFilter.Process` does.

use regex::Regex;

use super::ast::{CmpOp, LabelFilter, MatchOp};
use super::ip::IpPattern;
use super::CompileError;
use crate::units::{go_duration_seconds, humanize_bytes_f64};

pub const LABEL_FILTER_ERR: &str = "LabelFilterErr";

#[derive(Debug)]
pub enum StrMatch {
    Eq(String),
    Neq(String),
    Re(Regex),
    Nre(Regex),
}

impl StrMatch {
    pub fn compile(op: MatchOp, value: &str, pos: usize) -> Result<StrMatch, CompileError> {
        let anchored = || {
            Regex::new(&format!("^(?s:{value})$"))
                .map_err(|e| CompileError::new(pos, format!("invalid regex {value:?}: {e}")))
        };
        Ok(match op {
            MatchOp::Eq => StrMatch::Eq(value.to_string()),
            MatchOp::Neq => StrMatch::Neq(value.to_string()),
            MatchOp::Re => StrMatch::Re(anchored()?),
            MatchOp::Nre => StrMatch::Nre(anchored()?),
        })
    }

    #[inline]
    pub fn matches(&self, v: &str) -> bool {
        match self {
            StrMatch::Eq(s) => v == s,
            StrMatch::Neq(s) => v != s,
            StrMatch::Re(r) => r.is_match(v),
            StrMatch::Nre(r) => !r.is_match(v),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Number,
    Duration,
    Bytes,
}

#[derive(Debug)]
pub enum LabelFilterExec {
    And(Box<LabelFilterExec>, Box<LabelFilterExec>),
    Or(Box<LabelFilterExec>, Box<LabelFilterExec>),
    Str {
        name: String,
        m: StrMatch,
    },
    Cmp {
        name: String,
        kind: Kind,
        op: CmpOp,
        value: f64,
    },
    /// `name = ip("…")` / `name != ip("…")`.
    Ip {
        name: String,
        pattern: IpPattern,
        negated: bool,
    },
}

/// What a label filter reads and may write: label values, and the line's
/// error state.
pub trait FilterState {
    fn label(&self, name: &str) -> Option<&str>;
    fn has_error(&self) -> bool;
    fn set_error(&mut self, err: &'static str, details: &str);
}

impl LabelFilterExec {
    pub fn compile(f: &LabelFilter) -> Result<LabelFilterExec, CompileError> {
        Ok(match f {
            LabelFilter::And(a, b) => LabelFilterExec::And(
                Box::new(LabelFilterExec::compile(a)?),
                Box::new(LabelFilterExec::compile(b)?),
            ),
            LabelFilter::Or(a, b) => LabelFilterExec::Or(
                Box::new(LabelFilterExec::compile(a)?),
                Box::new(LabelFilterExec::compile(b)?),
            ),
            LabelFilter::String {
                name,
                op,
                value,
                pos,
            } => LabelFilterExec::Str {
                name: name.clone(),
                m: StrMatch::compile(*op, value, *pos)?,
            },
            LabelFilter::Number {
                name, op, value, ..
            } => LabelFilterExec::Cmp {
                name: name.clone(),
                kind: Kind::Number,
                op: *op,
                value: *value,
            },
            LabelFilter::Duration {
                name, op, value, ..
            } => LabelFilterExec::Cmp {
                name: name.clone(),
                kind: Kind::Duration,
                op: *op,
                value: *value,
            },
            LabelFilter::Bytes {
                name, op, value, ..
            } => LabelFilterExec::Cmp {
                name: name.clone(),
                kind: Kind::Bytes,
                op: *op,
                value: *value,
            },
            LabelFilter::Ip {
                name,
                negated,
                value,
                pos,
            } => LabelFilterExec::Ip {
                name: name.clone(),
                pattern: IpPattern::parse(value).map_err(|m| CompileError::new(*pos, m))?,
                negated: *negated,
            },
        })
    }

    /// Label names the filter reads.
    pub fn names(&self, out: &mut Vec<String>) {
        match self {
            LabelFilterExec::And(a, b) | LabelFilterExec::Or(a, b) => {
                a.names(out);
                b.names(out);
            }
            LabelFilterExec::Str { name, .. }
            | LabelFilterExec::Cmp { name, .. }
            | LabelFilterExec::Ip { name, .. } => out.push(name.clone()),
        }
    }

    pub fn eval(&self, st: &mut dyn FilterState) -> bool {
        match self {
            // Loki's BinaryLabelFilter.Process: `or` returns as soon as
            // its left side passes; `and` always runs both sides.
            LabelFilterExec::And(a, b) => {
                let l = a.eval(st);
                let r = b.eval(st);
                l && r
            }
            LabelFilterExec::Or(a, b) => a.eval(st) || b.eval(st),
            LabelFilterExec::Str { name, m } => m.matches(st.label(name).unwrap_or("")),
            // Loki's IPLabelFilter: error lines pass, a missing label fails
            // (for `!=` too), and the value is scanned for an address.
            LabelFilterExec::Ip {
                name,
                pattern,
                negated,
            } => {
                if st.has_error() {
                    return true;
                }
                match st.label(name) {
                    Some(v) => pattern.find_in(v.as_bytes()) != *negated,
                    None => false,
                }
            }
            LabelFilterExec::Cmp {
                name,
                kind,
                op,
                value,
            } => {
                // Loki 3's Numeric/Duration/BytesLabelFilter.Process: no
                // pass for error lines; the label decides.
                let Some(v) = st.label(name) else {
                    return false;
                };
                let parsed = match kind {
                    Kind::Number => parse_number(v),
                    Kind::Duration => go_duration_seconds(v),
                    Kind::Bytes => humanize_bytes_f64(v),
                };
                match parsed {
                    Ok(x) => op.holds(x, *value),
                    Err(details) => {
                        // "Don't overwrite what might be a more useful error"
                        if !st.has_error() {
                            st.set_error(LABEL_FILTER_ERR, &details);
                        }
                        true
                    }
                }
            }
        }
    }
}

/// A label value as a number, like Go's `strconv.ParseFloat`.
pub fn parse_number(v: &str) -> Result<f64, String> {
    let t = v;
    t.parse::<f64>()
        .map_err(|_| format!("strconv.ParseFloat: parsing {v:?}: invalid syntax"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct St {
        labels: Vec<(&'static str, &'static str)>,
        err: Option<&'static str>,
    }
    impl FilterState for St {
        fn label(&self, name: &str) -> Option<&str> {
            if name == "__error__" {
                return self.err;
            }
            self.labels
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
        }
        fn has_error(&self) -> bool {
            self.err.is_some()
        }
        fn set_error(&mut self, err: &'static str, _: &str) {
            self.err = Some(err);
        }
    }

    fn cmp(name: &str, op: CmpOp, value: f64) -> LabelFilterExec {
        LabelFilterExec::Cmp {
            name: name.into(),
            kind: Kind::Number,
            op,
            value,
        }
    }

    #[test]
    fn numeric_semantics() {
        let f = cmp("status", CmpOp::Gte, 500.0);
        let mut s = St {
            labels: vec![("status", "503")],
            err: None,
        };
        assert!(f.eval(&mut s));
        let mut s = St {
            labels: vec![("status", "200")],
            err: None,
        };
        assert!(!f.eval(&mut s));
        // Missing label: dropped.
        let mut s = St {
            labels: vec![],
            err: None,
        };
        assert!(!f.eval(&mut s));
        // Loki 3 (grafana/loki#12378): a line with an error but without
        // the label is dropped; with the label, its value is compared.
        let mut s = St {
            labels: vec![],
            err: Some("JSONParserErr"),
        };
        assert!(!f.eval(&mut s));
        let mut s = St {
            labels: vec![("status", "200")],
            err: Some("JSONParserErr"),
        };
        assert!(!f.eval(&mut s));
        let mut s = St {
            labels: vec![("status", "503")],
            err: Some("JSONParserErr"),
        };
        assert!(f.eval(&mut s));
        // A value that does not parse: error set, line passes
        // (TestBinary_Filter's `number>100` on "not_a_number").
        let mut s = St {
            labels: vec![("status", "abc")],
            err: None,
        };
        assert!(f.eval(&mut s));
        assert_eq!(s.err, Some(LABEL_FILTER_ERR));
        // ...but an error already set is kept ("Don't overwrite what might
        // be a more useful error").
        let mut s = St {
            labels: vec![("status", "abc")],
            err: Some("JSONParserErr"),
        };
        assert!(f.eval(&mut s));
        assert_eq!(s.err, Some("JSONParserErr"));
    }

    /// Loki's BinaryLabelFilter.Process: `or` stops at the first side that
    /// passes, so `lvl="error" or took > 1s` on `took=oops` keeps the line
    /// without an error; `and` evaluates both sides.
    #[test]
    fn binary_short_circuit_as_loki() {
        let lvl = || LabelFilterExec::Str {
            name: "lvl".into(),
            m: StrMatch::compile(MatchOp::Eq, "error", 0).unwrap(),
        };
        let took = || LabelFilterExec::Cmp {
            name: "took".into(),
            kind: Kind::Duration,
            op: CmpOp::Gt,
            value: 1.0,
        };
        let or = LabelFilterExec::Or(Box::new(lvl()), Box::new(took()));
        let mut s = St {
            labels: vec![("lvl", "error"), ("took", "oops")],
            err: None,
        };
        assert!(or.eval(&mut s));
        assert_eq!(s.err, None);
        // Left side fails: the right side runs and sets the error.
        let mut s = St {
            labels: vec![("lvl", "info"), ("took", "oops")],
            err: None,
        };
        assert!(or.eval(&mut s));
        assert_eq!(s.err, Some(LABEL_FILTER_ERR));
        // `and` with a failing left side still runs the right side.
        let and = LabelFilterExec::And(Box::new(lvl()), Box::new(took()));
        let mut s = St {
            labels: vec![("lvl", "info"), ("took", "oops")],
            err: None,
        };
        assert!(!and.eval(&mut s));
        assert_eq!(s.err, Some(LABEL_FILTER_ERR));
    }

    /// Loki's IPLabelFilter: error lines pass, a missing label fails for
    /// `=` and `!=` alike, the value is scanned for an address.
    #[test]
    fn ip_semantics() {
        let ip = |negated| {
            LabelFilterExec::compile(&LabelFilter::Ip {
                name: "addr".into(),
                negated,
                value: "10.0.0.0/8".into(),
                pos: 0,
            })
            .unwrap()
        };
        let st = |labels, err| St { labels, err };
        for (labels, err, eq, neq) in [
            (vec![("addr", "10.2.3.4")], None, true, false),
            (vec![("addr", "client 10.2.3.4:55")], None, true, false),
            (vec![("addr", "11.2.3.4")], None, false, true),
            (vec![("addr", "")], None, false, true),
            (vec![], None, false, false),
            (vec![], Some("JSONParserErr"), true, true),
        ] {
            assert_eq!(
                ip(false).eval(&mut st(labels.clone(), err)),
                eq,
                "{labels:?}"
            );
            assert_eq!(
                ip(true).eval(&mut st(labels.clone(), err)),
                neq,
                "{labels:?}"
            );
        }
        let bad = LabelFilterExec::compile(&LabelFilter::Ip {
            name: "addr".into(),
            negated: false,
            value: "nope".into(),
            pos: 9,
        })
        .unwrap_err();
        assert_eq!(bad.pos, 9);
    }

    #[test]
    fn string_reads_missing_as_empty_and_regex_is_anchored() {
        let f = LabelFilterExec::Str {
            name: "q".into(),
            m: StrMatch::compile(MatchOp::Eq, "", 0).unwrap(),
        };
        let mut s = St {
            labels: vec![],
            err: None,
        };
        assert!(f.eval(&mut s));
        let f = LabelFilterExec::Str {
            name: "path".into(),
            m: StrMatch::compile(MatchOp::Re, "/v1", 0).unwrap(),
        };
        let mut s = St {
            labels: vec![("path", "/v1/x")],
            err: None,
        };
        assert!(!f.eval(&mut s));
        let mut s = St {
            labels: vec![("path", "/v1")],
            err: None,
        };
        assert!(f.eval(&mut s));
    }
}
