//! User-defined log formats: `parsers/*.toml`, one format a file.
//!
//! A definition names its format, gives a LogQL `pattern` or a `regex` with
//! named captures, and optionally the event-time capture, field types,
//! captures promoted to stream labels, a multiline start pattern and
//! `[[sample]]` lines with the fields they must decode to. This module
//! reads and checks definitions ([`definition`]), finds them on disk
//! ([`registry`]) and checks their samples ([`samples`]); decoding lines
//! with them is `decode::custom`, next to the built-in formats.

pub mod definition;
pub mod registry;
pub mod samples;
pub mod timestamp;
pub mod typed;

use regex::bytes::Regex;

use crate::framing::RecordStart;
use crate::logql::pattern::Pattern;
use timestamp::TimestampSpec;
use typed::FieldType;

/// A checked format definition, ready to decode lines.
#[derive(Debug)]
pub struct CustomFormat {
    pub name: String,
    pub description: String,
    /// The file it was read from (for messages and `formats list`).
    pub path: String,
    pub matcher: Matcher,
    /// Names of the captures, in pattern order.
    pub captures: Vec<String>,
    pub timestamp: Option<TimestampSpec>,
    pub types: Vec<(String, FieldType)>,
    /// Captures that become stream labels (like Fly's `app`), not fields.
    pub labels: Vec<String>,
    /// Where a new record starts, for formats whose records span lines.
    pub multiline: Option<RecordStart>,
    pub samples: Vec<Sample>,
}

#[derive(Debug)]
pub enum Matcher {
    /// LogQL pattern syntax; a line must match it in full.
    Pattern(Pattern),
    /// A regex with named captures; a line must match it (anchor it with
    /// `^…$` to require the whole line).
    Regex(Regex),
}

impl CustomFormat {
    pub fn kind(&self) -> &'static str {
        match self.matcher {
            Matcher::Pattern(_) => "pattern",
            Matcher::Regex(_) => "regex",
        }
    }

    pub fn type_of(&self, field: &str) -> FieldType {
        self.types
            .iter()
            .find(|(n, _)| n == field)
            .map_or(FieldType::String, |(_, t)| *t)
    }
}

/// A `[[sample]]`: a line and what it must decode to.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub line: String,
    /// Line of the `[[sample]]` header in the definition file.
    pub line_no: usize,
    pub expect: Vec<(String, Expected)>,
    /// Expected event time, ns since the epoch.
    pub timestamp: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Text(String),
    /// Compared as numbers (`200` equals `"200"`, `231.0` equals `"231"`).
    Number(f64),
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Text(s) => write!(f, "{s:?}"),
            Expected::Number(n) => write!(f, "{n}"),
        }
    }
}
