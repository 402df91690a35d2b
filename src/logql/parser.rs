//! The LogQL parser: query text → [`ast::Expr`](super::ast::Expr).
//!
//! Two layers, both written with nom 7, mirroring Loki's own split between
//! `pkg/logql/syntax/lex.go` and `pkg/logql/syntax/expr.y`:
//!
//! 1. **Lexer** over `&str`. It reproduces the context-free quirks of Loki's
//!    lexer: a number immediately followed by unit letters becomes a duration
//!    (`250ms`, `1h2m`) or a byte size (`20MB`); `[…]` is always a range;
//!    `-5m` is a negative duration; `--strict` is a parser flag; function names
//!    (`rate`, `sum`, `bytes`, `ip`, …) are keywords only when followed by `(`
//!    or `by (`/`without (`; keywords are matched case-insensitively; `#`
//!    starts a comment.
//! 2. **Grammar** over the token slice, one small function per production of
//!    `expr.y`, followed by the checks Loki makes while building its AST
//!    (`newRangeAggregationExpr`, `mustNewVectorAggregationExpr`,
//!    `mustNewBinOpExpr`, `newLabelParserExpr`, `validateMatchers`, …).
//!
//! Every error carries the byte offset of the offending token (see
//! [`QueryError`]); the parser never panics.
//!
//! nagare extension: the stream selector may be omitted (the query then
//! starts with a pipeline stage, e.g. `| json` or `|= "x"`), both for log
//! queries and for the log range of a range aggregation.

use std::collections::HashSet;

use nom::branch::alt;
use nom::bytes::complete::take_while;
use nom::character::complete::{char as nchar, digit0, digit1, multispace1, one_of, satisfy};
use nom::combinator::{opt, recognize, value};
use nom::error::{ErrorKind, ParseError};
use nom::multi::many0;
use nom::sequence::{pair, tuple};
use nom::IResult;
use regex::Regex;

use super::ast::*;
use super::error::QueryError;
use crate::units::{parse_duration, parse_humanize_bytes, parse_prom_duration};

/// Parses a whole LogQL query (log query or metric query) and validates it
/// the way Loki does.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    if query.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
        return Err(QueryError::new(query, 0, "empty query"));
    }
    let tokens = lex(query)?;
    check_nesting(query, &tokens)?;
    match query_expr(&tokens) {
        Ok((_, expr)) => Ok(expr),
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e.into_query_error(query)),
        Err(nom::Err::Incomplete(_)) => Err(QueryError::new(
            query,
            query.len(),
            "syntax error: unexpected end of query",
        )),
    }
}

/// Loki's message for selectors that would select every stream.
pub const EMPTY_SELECTOR_MSG: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

/// Deepest parenthesis nesting accepted (bounds the parser's recursion).
const MAX_NESTING: usize = 100;

// ===========================================================================
// Lexer
// ===========================================================================

/// A token kind with its value.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A label name or other identifier (`[a-zA-Z_][a-zA-Z0-9_]*`).
    Ident(String),
    /// A reserved word (`json`, `by`, `or`, …), lower-cased.
    Keyword(&'static str),
    /// A function name followed by `(` (or `by (`/`without (`), lower-cased.
    Func(&'static str),
    /// A string literal, unquoted.
    Str(String),
    /// A number literal, as written.
    Number(String),
    /// A duration (`5m`, `-1.5s`) in nanoseconds.
    Duration(i64),
    /// A byte size (`20MB`) in bytes.
    Bytes(u64),
    /// A range (`[5m]`) in nanoseconds.
    Range(i64),
    /// `--strict` or `--keep-empty`.
    Flag(&'static str),
    /// Punctuation and operators.
    Op(&'static str),
    /// End of the query.
    Eof,
}

/// A token and where it starts in the query.
#[derive(Debug, Clone, PartialEq)]
struct Token<'a> {
    tok: Tok,
    pos: usize,
    raw: &'a str,
}

/// Words that are always keywords (Loki's `tokens` map).
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "bool",
    "offset",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "or",
    "and",
    "unless",
    "json",
    "regexp",
    "logfmt",
    "unpack",
    "pattern",
    "label_format",
    "line_format",
    "decolorize",
    "drop",
    "keep",
    "unwrap",
    "variants",
    "of",
];

/// Words that are keywords only when used as a function (Loki's
/// `functionTokens` map).
const FUNCTIONS: &[&str] = &[
    "rate",
    "rate_counter",
    "count_over_time",
    "bytes_rate",
    "bytes_over_time",
    "avg_over_time",
    "sum_over_time",
    "min_over_time",
    "max_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "first_over_time",
    "last_over_time",
    "absent_over_time",
    "vector",
    "sum",
    "avg",
    "max",
    "min",
    "count",
    "stddev",
    "stdvar",
    "bottomk",
    "topk",
    "sort",
    "sort_desc",
    "label_replace",
    "approx_topk",
    "bytes",
    "duration",
    "duration_seconds",
    "ip",
];

/// Operators, longest first.
const OPERATORS: &[&str] = &[
    "|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=", "|", "=", ">", "<", "{", "}", "(",
    ")", ",", "+", "-", "*", "/", "%", "^", ".",
];

type LResult<'a, T> = IResult<&'a str, T, nom::error::Error<&'a str>>;

/// Skips whitespace and `#` comments (up to the end of the line).
fn trivia(i: &str) -> LResult<'_, ()> {
    value(
        (),
        many0(alt((
            value((), multispace1),
            value((), pair(nchar('#'), take_while(|c| c != '\n'))),
        ))),
    )(i)
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
fn ident_text(i: &str) -> LResult<'_, &str> {
    recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))(i)
}

/// `e+10`, `E-3`, `e5`
fn exponent(i: &str) -> LResult<'_, &str> {
    recognize(tuple((one_of("eE"), opt(one_of("+-")), digit1)))(i)
}

/// A decimal number as Go's scanner reads it: `12`, `1.5`, `1.`, `.5`, `1e3`.
fn number_text(i: &str) -> LResult<'_, &str> {
    alt((
        recognize(tuple((
            digit1,
            opt(pair(nchar('.'), digit0)),
            opt(exponent),
        ))),
        recognize(tuple((nchar('.'), digit1, opt(exponent)))),
    ))(i)
}

/// Characters Loki's lexer collects after a number when trying a duration.
fn is_duration_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '.' | 'n' | 'u' | 'µ' | 'm' | 's' | 'h' | 'd' | 'w' | 'y')
}

/// Characters Loki's lexer collects after a number when trying a byte size.
fn is_bytes_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '.' | 'B' | 'i' | 'k' | 'K' | 'M' | 'G' | 'T' | 'P')
}

/// Splits the query into tokens, ending with [`Tok::Eof`].
fn lex(query: &str) -> Result<Vec<Token<'_>>, QueryError> {
    let mut toks = Vec::new();
    let mut rest = skip_trivia(query);
    loop {
        let pos = query.len() - rest.len();
        if rest.is_empty() {
            toks.push(Token {
                tok: Tok::Eof,
                pos,
                raw: "",
            });
            return Ok(toks);
        }
        let (next, tok) = lex_one(query, rest)?;
        let raw = &rest[..rest.len() - next.len()];
        toks.push(Token { tok, pos, raw });
        rest = skip_trivia(next);
    }
}

/// [`trivia`] as a plain function.
fn skip_trivia(i: &str) -> &str {
    match trivia(i) {
        Ok((rest, ())) => rest,
        Err(_) => i,
    }
}

/// Reads one token from the non-empty `i`.
fn lex_one<'a>(query: &'a str, i: &'a str) -> Result<(&'a str, Tok), QueryError> {
    let pos = query.len() - i.len();
    let mut chars = i.chars();
    let c = chars.next().unwrap_or(' ');
    let second = chars.next();
    match c {
        '"' => lex_quoted(query, i),
        '`' => lex_raw(query, i),
        '[' => lex_range(query, i),
        '-' => Ok(lex_minus(i)),
        c if c.is_ascii_digit() => Ok(lex_number(i)),
        '.' if second.is_some_and(|d| d.is_ascii_digit()) => Ok(lex_number(i)),
        c if c.is_ascii_alphabetic() || c == '_' => Ok(lex_word(i)),
        _ => {
            for op in OPERATORS {
                if let Some(rest) = i.strip_prefix(op) {
                    return Ok((rest, Tok::Op(op)));
                }
            }
            Err(QueryError::new(
                query,
                pos,
                format!("syntax error: unexpected character {c:?}"),
            ))
        }
    }
}

/// A number, or a duration/byte size when unit letters follow it directly.
fn lex_number(i: &str) -> (&str, Tok) {
    let Ok((rest, text)) = number_text(i) else {
        return (&i[1..], Tok::Op("."));
    };
    let (after, suffix) = split_while(rest, is_duration_char);
    if !suffix.is_empty() {
        if let Ok(d) = parse_duration(&format!("{text}{suffix}")) {
            return (after, Tok::Duration(d));
        }
    }
    let (after, suffix) = split_while(rest, is_bytes_char);
    if !suffix.is_empty() {
        if let Ok(b) = parse_humanize_bytes(&format!("{text}{suffix}")) {
            return (after, Tok::Bytes(b));
        }
    }
    (rest, Tok::Number(text.to_string()))
}

/// `s` split after its longest prefix of characters satisfying `pred`.
fn split_while(s: &str, pred: impl Fn(char) -> bool) -> (&str, &str) {
    let n = s.find(|c: char| !pred(c)).unwrap_or(s.len());
    (&s[n..], &s[..n])
}

/// `-`: a parser flag (`--strict`), a negative duration (`-5m`) or minus.
fn lex_minus(i: &str) -> (&str, Tok) {
    let after = &i[1..];
    if let Some(flag) = after.strip_prefix('-') {
        let (rest, word) = split_while(flag, |c| c.is_alphabetic() || c == '-');
        match word {
            "strict" => return (rest, Tok::Flag("--strict")),
            "keep-empty" => return (rest, Tok::Flag("--keep-empty")),
            _ => {}
        }
    }
    let (rest, suffix) = split_while(after, is_duration_char);
    if !suffix.is_empty() {
        if let Ok(d) = parse_duration(&format!("-{suffix}")) {
            return (rest, Tok::Duration(d));
        }
    }
    (after, Tok::Op("-"))
}

/// An identifier, keyword or function name.
fn lex_word(i: &str) -> (&str, Tok) {
    let Ok((rest, text)) = ident_text(i) else {
        return (&i[1..], Tok::Op("."));
    };
    let lower = text.to_ascii_lowercase();
    if let Some(f) = FUNCTIONS.iter().find(|f| **f == lower) {
        if is_function_call(rest) {
            return (rest, Tok::Func(f));
        }
        return (rest, Tok::Ident(text.to_string()));
    }
    if let Some(k) = KEYWORDS.iter().find(|k| **k == lower) {
        return (rest, Tok::Keyword(k));
    }
    (rest, Tok::Ident(text.to_string()))
}

/// Loki's `isFunction`: the next token is `(`, or `by`/`without` then `(`.
fn is_function_call(rest: &str) -> bool {
    let r = skip_trivia(rest);
    if r.starts_with('(') {
        return true;
    }
    for word in ["by", "without"] {
        if r.get(..word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
        {
            return skip_trivia(&r[word.len()..]).starts_with('(');
        }
    }
    false
}

/// A double-quoted string with Go escapes (`strconv.Unquote`).
fn lex_quoted<'a>(query: &'a str, i: &'a str) -> Result<(&'a str, Tok), QueryError> {
    let start = query.len() - i.len();
    let mut out: Vec<u8> = Vec::new();
    let mut it = i.char_indices().skip(1).peekable();
    let err = |at: usize, msg: &str| QueryError::new(query, start + at, msg.to_string());
    while let Some((at, c)) = it.next() {
        match c {
            '"' => {
                let s = String::from_utf8(out)
                    .map_err(|_| err(0, "invalid UTF-8 in string literal"))?;
                return Ok((&i[at + 1..], Tok::Str(s)));
            }
            '\n' => break,
            '\\' => {
                let Some((_, e)) = it.next() else { break };
                let simple = match e {
                    'a' => Some(7u8),
                    'b' => Some(8),
                    'f' => Some(12),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(11),
                    '\\' => Some(b'\\'),
                    '"' => Some(b'"'),
                    _ => None,
                };
                if let Some(b) = simple {
                    out.push(b);
                    continue;
                }
                let bad = || err(at, &format!("invalid escape sequence \\{e} in string"));
                let mut digits = |n: usize, radix: u32| -> Result<u32, QueryError> {
                    let mut v: u32 = 0;
                    for _ in 0..n {
                        match it.next() {
                            Some((_, d)) if d.is_digit(radix) => {
                                v = v * radix + d.to_digit(radix).unwrap_or(0)
                            }
                            _ => return Err(bad()),
                        }
                    }
                    Ok(v)
                };
                match e {
                    'x' => out.push(digits(2, 16)? as u8),
                    'u' | 'U' => {
                        let v = digits(if e == 'u' { 4 } else { 8 }, 16)?;
                        let ch = char::from_u32(v).ok_or_else(bad)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    '0'..='7' => {
                        let rest = digits(2, 8)?;
                        let v = (e as u32 - '0' as u32) * 64 + rest;
                        if v > 255 {
                            return Err(bad());
                        }
                        out.push(v as u8);
                    }
                    _ => return Err(bad()),
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Err(err(0, "syntax error: string literal not terminated"))
}

/// A backtick raw string: no escapes, may span lines.
fn lex_raw<'a>(query: &'a str, i: &'a str) -> Result<(&'a str, Tok), QueryError> {
    match i[1..].find('`') {
        Some(end) => Ok((&i[end + 2..], Tok::Str(i[1..end + 1].to_string()))),
        None => Err(QueryError::new(
            query,
            query.len() - i.len(),
            "syntax error: raw string literal not terminated",
        )),
    }
}

/// `[5m]`: everything up to `]` must be a Prometheus duration.
fn lex_range<'a>(query: &'a str, i: &'a str) -> Result<(&'a str, Tok), QueryError> {
    let pos = query.len() - i.len();
    let Some(end) = i.find(']') else {
        return Err(QueryError::new(
            query,
            pos,
            "syntax error: missing closing ']' in duration",
        ));
    };
    let text = &i[1..end];
    match parse_prom_duration(text) {
        Ok(d) => Ok((&i[end + 1..], Tok::Range(d))),
        Err(e) => Err(QueryError::new(
            query,
            pos + 1,
            format!("invalid range: {e}"),
        )),
    }
}

// ===========================================================================
// Grammar: nom over the token slice
// ===========================================================================

type Toks<'a> = &'a [Token<'a>];
type PResult<'a, T> = IResult<Toks<'a>, T, PErr>;

/// A parse error: where, what was found, and what would have been accepted
/// (or a complete message for semantic errors).
#[derive(Debug, Clone, PartialEq)]
struct PErr {
    pos: usize,
    found: String,
    expected: Vec<String>,
    message: Option<String>,
}

impl PErr {
    /// "unexpected <token at i>, expecting <what>".
    fn unexpected(i: Toks<'_>, what: &[&str]) -> Self {
        let t = first(i);
        PErr {
            pos: t.pos,
            found: describe(t),
            expected: what.iter().map(|s| s.to_string()).collect(),
            message: None,
        }
    }

    fn render(&self) -> String {
        if let Some(m) = &self.message {
            return m.clone();
        }
        let mut s = format!("syntax error: unexpected {}", self.found);
        match self.expected.len() {
            0 => {}
            1 => s.push_str(&format!(", expecting {}", self.expected[0])),
            _ => s.push_str(&format!(", expecting one of {}", self.expected.join(", "))),
        }
        s
    }

    fn into_query_error(self, query: &str) -> QueryError {
        QueryError::new(query, self.pos, self.render())
    }
}

impl<'a> ParseError<Toks<'a>> for PErr {
    fn from_error_kind(input: Toks<'a>, _kind: ErrorKind) -> Self {
        PErr::unexpected(input, &[])
    }

    fn append(_input: Toks<'a>, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    /// Keeps the error that got furthest; at the same place, merges what was
    /// expected.
    fn or(self, other: Self) -> Self {
        if self.pos != other.pos {
            return if self.pos > other.pos { self } else { other };
        }
        if self.message.is_some() {
            return self;
        }
        if other.message.is_some() {
            return other;
        }
        let mut merged = self;
        for e in other.expected {
            if !merged.expected.contains(&e) {
                merged.expected.push(e);
            }
        }
        merged
    }
}

static EOF_TOKEN: Token<'static> = Token {
    tok: Tok::Eof,
    pos: usize::MAX,
    raw: "",
};

/// The next token (the end token if the slice is exhausted).
fn first<'a>(i: Toks<'a>) -> &'a Token<'a> {
    i.first().unwrap_or(&EOF_TOKEN)
}

/// The token after the next one.
fn second<'a>(i: Toks<'a>) -> &'a Token<'a> {
    i.get(1).unwrap_or(&EOF_TOKEN)
}

/// The input after the next token.
fn advance<'a>(i: Toks<'a>) -> Toks<'a> {
    i.get(1..).unwrap_or(i)
}

/// How a token is named in error messages.
fn describe(t: &Token<'_>) -> String {
    let raw: String = if t.raw.chars().count() > 40 {
        let cut: String = t.raw.chars().take(37).collect();
        format!("{cut}...")
    } else {
        t.raw.to_string()
    };
    match &t.tok {
        Tok::Ident(s) => format!("IDENTIFIER {s:?}"),
        Tok::Keyword(k) => format!("keyword {k:?}"),
        Tok::Func(f) => format!("function {f:?}"),
        Tok::Str(_) => format!("STRING {raw}"),
        Tok::Number(_) => format!("NUMBER {raw}"),
        Tok::Duration(_) => format!("DURATION {raw}"),
        Tok::Bytes(_) => format!("BYTES {raw}"),
        Tok::Range(_) => format!("RANGE {raw}"),
        Tok::Flag(f) => format!("flag {f:?}"),
        Tok::Op(o) => format!("{o:?}"),
        Tok::Eof => "end of query".to_string(),
    }
}

/// A recoverable "expected …" error at the next token.
fn expected<'a>(i: Toks<'a>, what: &[&str]) -> nom::Err<PErr> {
    nom::Err::Error(PErr::unexpected(i, what))
}

/// A fatal error with a complete message.
fn fatal(pos: usize, msg: impl Into<String>) -> nom::Err<PErr> {
    nom::Err::Failure(PErr {
        pos,
        found: String::new(),
        expected: Vec::new(),
        message: Some(msg.into()),
    })
}

/// Turns a recoverable error into a fatal one (nom's `cut`, for results).
fn cut_err<T>(r: Result<T, nom::Err<PErr>>) -> Result<T, nom::Err<PErr>> {
    r.map_err(|e| match e {
        nom::Err::Error(e) => nom::Err::Failure(e),
        other => other,
    })
}

/// Rejects queries nested deeper than [`MAX_NESTING`] parentheses.
fn check_nesting(query: &str, toks: &[Token<'_>]) -> Result<(), QueryError> {
    let mut depth = 0usize;
    for t in toks {
        match t.tok {
            Tok::Op("(") => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(QueryError::new(
                        query,
                        t.pos,
                        format!("query nested too deeply (more than {MAX_NESTING} parentheses)"),
                    ));
                }
            }
            Tok::Op(")") => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Primitive token parsers

/// The operator `s`; yields its offset.
fn op<'a>(s: &'static str) -> impl Fn(Toks<'a>) -> PResult<'a, usize> {
    move |i| {
        let t = first(i);
        if t.tok == Tok::Op(s) {
            Ok((advance(i), t.pos))
        } else {
            Err(expected(i, &[&format!("{s:?}")]))
        }
    }
}

/// The keyword `k`; yields its offset.
fn kw<'a>(k: &'static str) -> impl Fn(Toks<'a>) -> PResult<'a, usize> {
    move |i| {
        let t = first(i);
        if t.tok == Tok::Keyword(k) {
            Ok((advance(i), t.pos))
        } else {
            Err(expected(i, &[&format!("{k:?}")]))
        }
    }
}

/// The function name `f` (followed by `(`); yields its offset.
fn func<'a>(f: &'static str) -> impl Fn(Toks<'a>) -> PResult<'a, usize> {
    move |i| {
        let t = first(i);
        if t.tok == Tok::Func(f) {
            Ok((advance(i), t.pos))
        } else {
            Err(expected(i, &[&format!("{f:?}")]))
        }
    }
}

/// An identifier and its offset.
fn ident(i: Toks<'_>) -> PResult<'_, (String, usize)> {
    let t = first(i);
    match &t.tok {
        Tok::Ident(s) => Ok((advance(i), (s.clone(), t.pos))),
        _ => Err(expected(i, &["IDENTIFIER"])),
    }
}

/// A string literal (unquoted) and its offset.
fn string(i: Toks<'_>) -> PResult<'_, (String, usize)> {
    let t = first(i);
    match &t.tok {
        Tok::Str(s) => Ok((advance(i), (s.clone(), t.pos))),
        _ => Err(expected(i, &["STRING"])),
    }
}

/// A number literal as written, and its offset.
fn number(i: Toks<'_>) -> PResult<'_, (String, usize)> {
    let t = first(i);
    match &t.tok {
        Tok::Number(s) => Ok((advance(i), (s.clone(), t.pos))),
        _ => Err(expected(i, &["NUMBER"])),
    }
}

/// A duration token (nanoseconds).
fn duration(i: Toks<'_>) -> PResult<'_, i64> {
    match first(i).tok {
        Tok::Duration(d) => Ok((advance(i), d)),
        _ => Err(expected(i, &["DURATION"])),
    }
}

/// A byte-size token.
fn bytes(i: Toks<'_>) -> PResult<'_, u64> {
    match first(i).tok {
        Tok::Bytes(b) => Ok((advance(i), b)),
        _ => Err(expected(i, &["BYTES"])),
    }
}

/// A range token `[5m]` (nanoseconds).
fn range(i: Toks<'_>) -> PResult<'_, i64> {
    match first(i).tok {
        Tok::Range(d) => Ok((advance(i), d)),
        _ => Err(expected(i, &["a range like [5m]"])),
    }
}

/// Parses a float the way Go's `strconv.ParseFloat` does for Loki literals.
fn to_f64(text: &str, pos: usize) -> Result<f64, nom::Err<PErr>> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(fatal(
            pos,
            format!("unable to parse literal as a float: {text:?} is out of range"),
        )),
    }
}

/// `item ("," item)*` with a fatal error after a dangling comma.
fn list1<'a, T>(
    item: impl Fn(Toks<'a>) -> PResult<'a, T>,
) -> impl Fn(Toks<'a>) -> PResult<'a, Vec<T>> {
    move |i| {
        let (mut i, x) = item(i)?;
        let mut out = vec![x];
        while let Ok((r, _)) = op(",")(i) {
            let (r, x) = cut_err(item(r))?;
            out.push(x);
            i = r;
        }
        Ok((i, out))
    }
}

// ---------------------------------------------------------------------------
// Regex helpers

/// The one-line gist of a regex compile error.
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().last().unwrap_or("").trim().to_string())
}

/// Compiles a label matcher regex the way Prometheus does: `^(?s:re)$`.
fn anchored_regex(re: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?s:{re})$")).map_err(|e| regex_error(&e))
}

/// Checks the regex of a `=~`/`!~` matcher, failing at `pos`.
fn check_match_regex(op: MatchOp, value: &str, pos: usize) -> Result<(), nom::Err<PErr>> {
    if matches!(op, MatchOp::Re | MatchOp::Nre) {
        anchored_regex(value)
            .map_err(|e| fatal(pos, format!("invalid regular expression {value:?}: {e}")))?;
    }
    Ok(())
}

/// Whether a matcher accepts the empty label value.
fn matches_empty(m: &Matcher) -> bool {
    match m.op {
        MatchOp::Eq => m.value.is_empty(),
        MatchOp::Neq => !m.value.is_empty(),
        MatchOp::Re => anchored_regex(&m.value).is_ok_and(|r| r.is_match("")),
        MatchOp::Nre => anchored_regex(&m.value).is_ok_and(|r| !r.is_match("")),
    }
}

// ---------------------------------------------------------------------------
// Stream selector

/// `=`, `!=`, `=~`, `!~`
fn match_op(i: Toks<'_>) -> PResult<'_, MatchOp> {
    alt((
        value(MatchOp::Eq, op("=")),
        value(MatchOp::Neq, op("!=")),
        value(MatchOp::Re, op("=~")),
        value(MatchOp::Nre, op("!~")),
    ))(i)
}

/// `name op "value"` (regexes validated).
fn matcher(i: Toks<'_>) -> PResult<'_, Matcher> {
    let (i, (name, pos)) = ident(i)?;
    let (i, mop) = cut_err(match_op(i))?;
    let (i, (value, vpos)) = cut_err(string(i))?;
    check_match_regex(mop, &value, vpos)?;
    Ok((
        i,
        Matcher {
            name,
            op: mop,
            value,
            pos,
        },
    ))
}

/// `{matcher, …}`; at least one matcher must not match the empty value.
fn selector(i: Toks<'_>) -> PResult<'_, Vec<Matcher>> {
    let (i, open) = op("{")(i)?;
    if op("}")(i).is_ok() {
        return Err(fatal(open, EMPTY_SELECTOR_MSG));
    }
    let (mut i, m) = cut_err(matcher(i))?;
    let mut ms = vec![m];
    loop {
        if let Ok((r, _)) = op(",")(i) {
            let (r, m) = cut_err(matcher(r))?;
            ms.push(m);
            i = r;
        } else if let Ok((r, _)) = op("}")(i) {
            i = r;
            break;
        } else {
            return Err(nom::Err::Failure(PErr::unexpected(i, &["\",\"", "\"}\""])));
        }
    }
    if ms.iter().all(matches_empty) {
        return Err(fatal(open, EMPTY_SELECTOR_MSG));
    }
    Ok((i, ms))
}

// ---------------------------------------------------------------------------
// Line filters

/// The line-filter operator of a token, if it is one.
fn line_filter_op(t: &Tok) -> Option<LineFilterOp> {
    match t {
        Tok::Op("|=") => Some(LineFilterOp::Contains),
        Tok::Op("!=") => Some(LineFilterOp::NotContains),
        Tok::Op("|~") => Some(LineFilterOp::Match),
        Tok::Op("!~") => Some(LineFilterOp::NotMatch),
        Tok::Op("|>") => Some(LineFilterOp::Pattern),
        Tok::Op("!>") => Some(LineFilterOp::NotPattern),
        _ => None,
    }
}

/// `ip("…")`; yields the argument and the offset of `ip`.
fn ip_call(i: Toks<'_>) -> PResult<'_, (String, usize)> {
    let (i, pos) = func("ip")(i)?;
    let (i, _) = cut_err(op("(")(i))?;
    let (i, (v, _)) = cut_err(string(i))?;
    let (i, _) = cut_err(op(")")(i))?;
    Ok((i, (v, pos)))
}

/// A line-filter value: `"text"` or `ip("cidr")`, with its offset.
fn line_filter_value(i: Toks<'_>) -> PResult<'_, (LineFilterValue, usize)> {
    if let Ok((r, (s, pos))) = string(i) {
        return Ok((r, (LineFilterValue::Text(s), pos)));
    }
    match ip_call(i) {
        Ok((r, (s, pos))) => Ok((r, (LineFilterValue::Ip(s), pos))),
        Err(nom::Err::Error(_)) => Err(expected(i, &["STRING", "\"ip\""])),
        Err(e) => Err(e),
    }
}

/// `|= "a" or "b"`: an operator with its `or` alternatives.
fn line_filter(i: Toks<'_>) -> PResult<'_, LineFilter> {
    let t = first(i);
    let Some(lop) = line_filter_op(&t.tok) else {
        return Err(expected(i, &["a line filter"]));
    };
    let (mut i, v) = cut_err(line_filter_value(advance(i)))?;
    let mut values = vec![v];
    while let Ok((r, _)) = kw("or")(i) {
        let (r, v) = cut_err(line_filter_value(r))?;
        values.push(v);
        i = r;
    }
    for (v, pos) in &values {
        check_line_filter_value(lop, v, *pos)?;
    }
    Ok((
        i,
        LineFilter {
            op: lop,
            values: values.into_iter().map(|(v, _)| v).collect(),
            pos: t.pos,
        },
    ))
}

/// Regexes must compile, `|>` patterns may only use `<_>`, `ip()` only with
/// `|=`/`!=`.
fn check_line_filter_value(
    lop: LineFilterOp,
    v: &LineFilterValue,
    pos: usize,
) -> Result<(), nom::Err<PErr>> {
    match (lop, v) {
        (LineFilterOp::Match | LineFilterOp::NotMatch, LineFilterValue::Text(re)) => {
            Regex::new(re).map_err(|e| {
                fatal(
                    pos,
                    format!(
                        "invalid regular expression {re:?} in line filter: {}",
                        regex_error(&e)
                    ),
                )
            })?;
        }
        (LineFilterOp::Pattern | LineFilterOp::NotPattern, LineFilterValue::Text(p)) => {
            if let Some(name) = pattern_captures(p).into_iter().find(|c| c != "_") {
                return Err(fatal(
                    pos,
                    format!("invalid line filter pattern: named captures are not allowed: found '<{name}>'"),
                ));
            }
        }
        (LineFilterOp::Contains | LineFilterOp::NotContains, _) => {}
        (_, LineFilterValue::Ip(_)) => {
            return Err(fatal(
                pos,
                format!("ip() line filters only support |= and !=, not {lop}"),
            ))
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Pattern (`<name>`) helpers

/// The captures of a Loki pattern, in order, with `None` separating literal
/// runs: `"<a> x <_>"` → `[Some(a), None, Some(_)]`.
fn pattern_nodes(p: &str) -> Vec<Option<String>> {
    let mut nodes: Vec<Option<String>> = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            if let Ok((r, name)) = ident_text(after) {
                if let Some(r) = r.strip_prefix('>') {
                    nodes.push(Some(name.to_string()));
                    rest = r;
                    continue;
                }
            }
        }
        if nodes.last() != Some(&None) {
            nodes.push(None);
        }
        let n = rest.chars().next().map_or(1, char::len_utf8);
        rest = &rest[n..];
    }
    nodes
}

/// All capture names of a pattern, including `_`.
fn pattern_captures(p: &str) -> Vec<String> {
    pattern_nodes(p).into_iter().flatten().collect()
}

/// Loki's `pattern.New` validation.
fn validate_pattern(p: &str) -> Result<(), String> {
    let nodes = pattern_nodes(p);
    if nodes.is_empty() {
        return Err("syntax error: empty pattern".into());
    }
    let named: Vec<&String> = nodes.iter().flatten().filter(|c| *c != "_").collect();
    if named.is_empty() {
        return Err("at least one capture is required".into());
    }
    for w in nodes.windows(2) {
        if let (Some(a), Some(b)) = (&w[0], &w[1]) {
            return Err(format!(
                "found consecutive capture '<{a}><{b}>': invalid expression"
            ));
        }
    }
    let mut seen = HashSet::new();
    for n in named {
        if !seen.insert(n) {
            return Err(format!("duplicate capture name ({n}): invalid expression"));
        }
    }
    Ok(())
}

/// Loki's `NewRegexpParser` validation: compiles, has ≥1 named capture,
/// names are valid label names.
fn validate_regexp_parser(re: &str) -> Result<(), String> {
    let r = Regex::new(re).map_err(|e| regex_error(&e))?;
    let names: Vec<&str> = r.capture_names().flatten().collect();
    if names.is_empty() {
        return Err("at least one named capture must be supplied".into());
    }
    for n in names {
        if ident_text(n).map_or(true, |(rest, _)| !rest.is_empty()) {
            return Err(format!("invalid extracted label name '{n}'"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Parser stages

/// `label="path"` or a bare `label`.
fn extraction_param(i: Toks<'_>) -> PResult<'_, ExtractionParam> {
    let (i, (label, _)) = ident(i)?;
    if let Ok((r, _)) = op("=")(i) {
        let (r, (path, _)) = cut_err(string(r))?;
        return Ok((r, ExtractionParam { label, path }));
    }
    Ok((
        i,
        ExtractionParam {
            path: label.clone(),
            label,
        },
    ))
}

/// Optional `a="x", b` after `json`/`logfmt`.
fn extraction_params(i: Toks<'_>) -> PResult<'_, Vec<ExtractionParam>> {
    match first(i).tok {
        Tok::Ident(_) => list1(extraction_param)(i),
        _ => Ok((i, Vec::new())),
    }
}

/// `json [params]`
fn json_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("json")(i)?;
    let (i, params) = extraction_params(i)?;
    Ok((i, Stage::Parser(Parser::Json(params))))
}

/// `logfmt [--strict] [--keep-empty] [params]`
fn logfmt_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (mut i, _) = kw("logfmt")(i)?;
    let (mut strict, mut keep_empty) = (false, false);
    while let Tok::Flag(f) = first(i).tok {
        match f {
            "--strict" => strict = true,
            _ => keep_empty = true,
        }
        i = advance(i);
    }
    let (i, params) = extraction_params(i)?;
    Ok((
        i,
        Stage::Parser(Parser::Logfmt {
            strict,
            keep_empty,
            params,
        }),
    ))
}

/// `regexp "(?P<name>…)"`
fn regexp_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("regexp")(i)?;
    let (i, (re, pos)) = cut_err(string(i))?;
    validate_regexp_parser(&re).map_err(|e| fatal(pos, format!("invalid regexp parser: {e}")))?;
    Ok((i, Stage::Parser(Parser::Regexp(re))))
}

/// `pattern "<a> <_> <b>"`
fn pattern_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("pattern")(i)?;
    let (i, (p, pos)) = cut_err(string(i))?;
    validate_pattern(&p).map_err(|e| fatal(pos, format!("invalid pattern parser: {e}")))?;
    Ok((i, Stage::Parser(Parser::Pattern(p))))
}

/// `unpack`
fn unpack_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("unpack")(i)?;
    Ok((i, Stage::Parser(Parser::Unpack)))
}

/// `decolorize`
fn decolorize_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("decolorize")(i)?;
    Ok((i, Stage::Decolorize))
}

/// `line_format "template"`
fn line_format_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("line_format")(i)?;
    let (i, (t, _)) = cut_err(string(i))?;
    Ok((i, Stage::LineFormat(t)))
}

/// `dst=src` (rename) or `dst="template"`, with the offset of `dst`.
fn label_format_op(i: Toks<'_>) -> PResult<'_, (LabelFormatOp, usize)> {
    let (i, (dst, pos)) = ident(i)?;
    let (i, _) = cut_err(op("=")(i))?;
    if let Ok((r, (src, _))) = ident(i) {
        return Ok((r, (LabelFormatOp::Rename { dst, src }, pos)));
    }
    match string(i) {
        Ok((r, (template, _))) => Ok((r, (LabelFormatOp::Template { dst, template }, pos))),
        Err(_) => Err(nom::Err::Failure(PErr::unexpected(
            i,
            &["IDENTIFIER", "STRING"],
        ))),
    }
}

/// `label_format a=b, c="{{.x}}"`; a label may be set once per stage and
/// `__error__` not at all (Loki's `NewLabelsFormatter`).
fn label_format_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("label_format")(i)?;
    let (i, ops) = cut_err(list1(label_format_op)(i))?;
    let mut seen = HashSet::new();
    for (o, pos) in &ops {
        let (LabelFormatOp::Rename { dst, .. } | LabelFormatOp::Template { dst, .. }) = o;
        if dst == "__error__" {
            return Err(fatal(*pos, "__error__ cannot be formatted"));
        }
        if !seen.insert(dst.clone()) {
            return Err(fatal(
                *pos,
                format!("multiple label name '{dst}' not allowed in a single format operation"),
            ));
        }
    }
    Ok((
        i,
        Stage::LabelFormat(ops.into_iter().map(|(o, _)| o).collect()),
    ))
}

/// A `drop`/`keep` item: `name` or `name op "value"`.
fn label_selector_item(i: Toks<'_>) -> PResult<'_, LabelSelectorItem> {
    let (i, (name, _)) = ident(i)?;
    match match_op(i) {
        Ok((r, mop)) => {
            let (r, (v, vpos)) = cut_err(string(r))?;
            check_match_regex(mop, &v, vpos)?;
            Ok((
                r,
                LabelSelectorItem {
                    name,
                    matcher: Some((mop, v)),
                },
            ))
        }
        Err(_) => Ok((
            i,
            LabelSelectorItem {
                name,
                matcher: None,
            },
        )),
    }
}

/// `drop a, b="v"`
fn drop_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("drop")(i)?;
    let (i, items) = cut_err(list1(label_selector_item)(i))?;
    Ok((i, Stage::Drop(items)))
}

/// `keep a, b="v"`
fn keep_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    let (i, _) = kw("keep")(i)?;
    let (i, items) = cut_err(list1(label_selector_item)(i))?;
    Ok((i, Stage::Keep(items)))
}

/// `unwrap x` or `unwrap duration(x)` / `duration_seconds(x)` / `bytes(x)`
/// (post filters are read by the pipeline).
fn unwrap_stage(i: Toks<'_>) -> PResult<'_, Unwrap> {
    let (i, _) = kw("unwrap")(i)?;
    let conversion = match first(i).tok {
        Tok::Func("duration") => Some(UnwrapConversion::Duration),
        Tok::Func("duration_seconds") => Some(UnwrapConversion::DurationSeconds),
        Tok::Func("bytes") => Some(UnwrapConversion::Bytes),
        _ => None,
    };
    let (i, label) = match conversion {
        Some(_) => {
            let i = advance(i);
            let (i, _) = cut_err(op("(")(i))?;
            let (i, (label, _)) = cut_err(ident(i))?;
            let (i, _) = cut_err(op(")")(i))?;
            (i, label)
        }
        None => match ident(i) {
            Ok((i, (label, _))) => (i, label),
            Err(_) => {
                return Err(nom::Err::Failure(PErr::unexpected(
                    i,
                    &[
                        "IDENTIFIER",
                        "\"bytes\"",
                        "\"duration\"",
                        "\"duration_seconds\"",
                    ],
                )))
            }
        },
    };
    Ok((
        i,
        Unwrap {
            label,
            conversion: conversion.unwrap_or(UnwrapConversion::None),
            post_filters: Vec::new(),
        },
    ))
}

/// One stage after `|` (everything except line filters and `unwrap`).
fn pipe_stage(i: Toks<'_>) -> PResult<'_, Stage> {
    alt((
        json_stage,
        logfmt_stage,
        regexp_stage,
        pattern_stage,
        unpack_stage,
        decolorize_stage,
        line_format_stage,
        label_format_stage,
        drop_stage,
        keep_stage,
        |i| label_filter_expr(i).map(|(r, f)| (r, Stage::LabelFilter(f))),
    ))(i)
}

/// A sequence of stages. With `allow_unwrap`, an `| unwrap …` stage may end
/// the pipeline, followed only by `| label filter`s (its post filters).
fn pipeline<'a>(allow_unwrap: bool) -> impl Fn(Toks<'a>) -> PResult<'a, Vec<Stage>> {
    move |mut i| {
        let mut stages = Vec::new();
        loop {
            let t = first(i);
            if line_filter_op(&t.tok).is_some() {
                let (r, lf) = line_filter(i)?;
                stages.push(Stage::LineFilter(lf));
                i = r;
                continue;
            }
            if t.tok != Tok::Op("|") {
                break;
            }
            let after_pipe = advance(i);
            let next = first(after_pipe);
            if next.tok == Tok::Keyword("unwrap") {
                if !allow_unwrap {
                    return Err(fatal(
                        next.pos,
                        "unwrap is only allowed in the log range of a range aggregation, e.g. sum_over_time({app=\"x\"} | unwrap bytes [5m])",
                    ));
                }
                let (r, mut u) = cut_err(unwrap_stage(after_pipe))?;
                let (r, post) = unwrap_post_filters(r)?;
                u.post_filters = post;
                stages.push(Stage::Unwrap(u));
                i = r;
                break;
            }
            let (r, st) = cut_err(pipe_stage(after_pipe))?;
            stages.push(st);
            i = r;
        }
        Ok((i, stages))
    }
}

/// `| filter` stages after `unwrap`; nothing else may follow it.
fn unwrap_post_filters(mut i: Toks<'_>) -> PResult<'_, Vec<LabelFilter>> {
    let mut out = Vec::new();
    loop {
        let t = first(i);
        if line_filter_op(&t.tok).is_some() {
            return Err(fatal(
                t.pos,
                "only label filters may follow unwrap; put line filters before it",
            ));
        }
        if t.tok != Tok::Op("|") {
            return Ok((i, out));
        }
        let r = advance(i);
        let n = first(r);
        if !matches!(n.tok, Tok::Ident(_) | Tok::Op("(")) {
            return Err(fatal(
                n.pos,
                format!(
                    "syntax error: unexpected {}, only label filters may follow unwrap",
                    describe(n)
                ),
            ));
        }
        let (r, f) = cut_err(label_filter_expr(r))?;
        out.push(f);
        i = r;
    }
}

// ---------------------------------------------------------------------------
// Label filters

/// Operators between label filters. `and` binds tighter than `or`; `,` and
/// juxtaposition (both meaning `and`) have no precedence in Loki's yacc
/// grammar, so — as yacc resolves such conflicts by shifting — they group
/// everything to their right: `a, b or c` is `a and (b or c)`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LfOp {
    Or,
    And,
    Comma,
    Juxt,
}

impl LfOp {
    fn prec(self) -> Option<u8> {
        match self {
            LfOp::Or => Some(1),
            LfOp::And => Some(2),
            LfOp::Comma | LfOp::Juxt => None,
        }
    }
}

/// Whether the pending `top` operator is reduced before shifting `next`
/// (yacc: only when both have a precedence; `and`/`or` are left-assoc).
fn lf_reduces(top: LfOp, next: LfOp) -> bool {
    match (top.prec(), next.prec()) {
        (Some(a), Some(b)) => a >= b,
        _ => false,
    }
}

/// Pops one operator and its operands, pushing the combined filter.
fn lf_reduce(operands: &mut Vec<LabelFilter>, ops: &mut Vec<LfOp>) {
    if let (Some(o), Some(r), Some(l)) = (ops.pop(), operands.pop(), operands.pop()) {
        operands.push(match o {
            LfOp::Or => LabelFilter::Or(Box::new(l), Box::new(r)),
            _ => LabelFilter::And(Box::new(l), Box::new(r)),
        });
    }
}

/// A label-filter expression: primaries combined with `and`, `or`, `,` and
/// juxtaposition, with Loki's precedence.
fn label_filter_expr(i: Toks<'_>) -> PResult<'_, LabelFilter> {
    let (mut i, f) = label_filter_primary(i)?;
    let mut operands = vec![f];
    let mut ops: Vec<LfOp> = Vec::new();
    loop {
        let (r, o) = match first(i).tok {
            Tok::Keyword("and") => (advance(i), LfOp::And),
            Tok::Keyword("or") => (advance(i), LfOp::Or),
            Tok::Op(",") => (advance(i), LfOp::Comma),
            Tok::Ident(_) | Tok::Op("(") => (i, LfOp::Juxt),
            _ => break,
        };
        while ops.last().is_some_and(|top| lf_reduces(*top, o)) {
            lf_reduce(&mut operands, &mut ops);
        }
        ops.push(o);
        let (r, f) = cut_err(label_filter_primary(r))?;
        operands.push(f);
        i = r;
    }
    while !ops.is_empty() {
        lf_reduce(&mut operands, &mut ops);
    }
    match operands.pop() {
        Some(f) => Ok((i, f)),
        None => Err(expected(i, &["a label filter"])),
    }
}

/// Comparison operators in label filters.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LfCmp {
    Eq,
    Neq,
    Re,
    Nre,
    CmpEq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// The operator after a label name.
fn label_filter_cmp(i: Toks<'_>) -> PResult<'_, LfCmp> {
    alt((
        value(LfCmp::Eq, op("=")),
        value(LfCmp::Neq, op("!=")),
        value(LfCmp::Re, op("=~")),
        value(LfCmp::Nre, op("!~")),
        value(LfCmp::CmpEq, op("==")),
        value(LfCmp::Gt, op(">")),
        value(LfCmp::Gte, op(">=")),
        value(LfCmp::Lt, op("<")),
        value(LfCmp::Lte, op("<=")),
    ))(i)
}

/// A number literal with an optional sign (`-1`, `+ 2.5`).
fn signed_number(i: Toks<'_>) -> PResult<'_, f64> {
    let (i, sign) = opt(alt((value(-1.0, op("-")), value(1.0, op("+")))))(i)?;
    let (i, (text, pos)) = match sign {
        Some(_) => cut_err(number(i))?,
        None => number(i)?,
    };
    let v = to_f64(&text, pos)?;
    Ok((i, v * sign.unwrap_or(1.0)))
}

/// `(filter)` or `name op value`.
fn label_filter_primary(i: Toks<'_>) -> PResult<'_, LabelFilter> {
    if let Ok((r, _)) = op("(")(i) {
        let (r, f) = cut_err(label_filter_expr(r))?;
        let (r, _) = cut_err(op(")")(r))?;
        return Ok((r, f));
    }
    let (i, (name, pos)) = ident(i).map_err(|_| expected(i, &["IDENTIFIER", "\"(\""]))?;
    let (i, cmp) = cut_err(label_filter_cmp(i))?;
    let num_op = match cmp {
        LfCmp::Eq | LfCmp::CmpEq => CmpOp::Eq,
        LfCmp::Neq => CmpOp::Neq,
        LfCmp::Gt => CmpOp::Gt,
        LfCmp::Gte => CmpOp::Gte,
        LfCmp::Lt => CmpOp::Lt,
        LfCmp::Lte => CmpOp::Lte,
        LfCmp::Re | LfCmp::Nre => CmpOp::Eq,
    };
    // String and ip() values: only after = != =~ !~.
    if matches!(cmp, LfCmp::Eq | LfCmp::Neq | LfCmp::Re | LfCmp::Nre) {
        if let Ok((r, (value, vpos))) = string(i) {
            let mop = match cmp {
                LfCmp::Eq => MatchOp::Eq,
                LfCmp::Neq => MatchOp::Neq,
                LfCmp::Re => MatchOp::Re,
                _ => MatchOp::Nre,
            };
            check_match_regex(mop, &value, vpos)?;
            return Ok((
                r,
                LabelFilter::String {
                    name,
                    op: mop,
                    value,
                    pos,
                },
            ));
        }
        if matches!(cmp, LfCmp::Re | LfCmp::Nre) {
            return Err(nom::Err::Failure(PErr::unexpected(i, &["STRING"])));
        }
        match ip_call(i) {
            Ok((r, (value, _))) => {
                return Ok((
                    r,
                    LabelFilter::Ip {
                        name,
                        negated: cmp == LfCmp::Neq,
                        value,
                        pos,
                    },
                ))
            }
            Err(nom::Err::Error(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if let Ok((r, d)) = duration(i) {
        return Ok((
            r,
            LabelFilter::Duration {
                name,
                op: num_op,
                value: d as f64 / 1e9,
                pos,
            },
        ));
    }
    if let Ok((r, b)) = bytes(i) {
        return Ok((
            r,
            LabelFilter::Bytes {
                name,
                op: num_op,
                value: b as f64,
                pos,
            },
        ));
    }
    match signed_number(i) {
        Ok((r, v)) => Ok((
            r,
            LabelFilter::Number {
                name,
                op: num_op,
                value: v,
                pos,
            },
        )),
        Err(nom::Err::Error(_)) => {
            let what: &[&str] = if matches!(cmp, LfCmp::Eq | LfCmp::Neq) {
                &["STRING", "NUMBER", "DURATION", "BYTES", "\"ip\""]
            } else {
                &["NUMBER", "DURATION", "BYTES"]
            };
            Err(nom::Err::Failure(PErr::unexpected(i, what)))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// Log queries

/// Operators that can start a selector-less log query.
const LOG_START: &[&str] = &[
    "\"{\"", "\"|\"", "\"|=\"", "\"!=\"", "\"|~\"", "\"!~\"", "\"|>\"", "\"!>\"",
];

/// `[{selector}] stages…` — at least one of the two.
fn log_body(allow_unwrap: bool) -> impl Fn(Toks<'_>) -> PResult<'_, LogExpr> {
    move |i| {
        let (i, matchers) = opt(selector)(i)?;
        let (r, stages) = pipeline(allow_unwrap)(i)?;
        if matchers.is_none() && stages.is_empty() {
            return Err(expected(i, LOG_START));
        }
        Ok((
            r,
            LogExpr {
                selector_written: matchers.is_some(),
                matchers: matchers.unwrap_or_default(),
                stages,
            },
        ))
    }
}

/// A log query, possibly in parentheses.
fn log_query(i: Toks<'_>) -> PResult<'_, LogExpr> {
    if let Ok((r, _)) = op("(")(i) {
        let (r, e) = log_query(r)?;
        let (r, _) = cut_err(op(")")(r))?;
        return Ok((r, e));
    }
    log_body(false)(i)
}

// ---------------------------------------------------------------------------
// Metric queries

/// The log part of a range aggregation.
struct LogRange {
    log: LogExpr,
    range_ns: i64,
    offset_ns: i64,
}

/// `offset 1h` (Go or Prometheus duration, may be negative).
fn offset(i: Toks<'_>) -> PResult<'_, i64> {
    let (i, _) = kw("offset")(i)?;
    cut_err(duration(i))
}

/// All of Loki's `logRangeExpr` forms:
/// `{…} | stages [5m]`, `{…}[5m] | stages`, `({…} | stages)[5m]`,
/// `( logRange )`, each with an optional `offset` after the range.
fn log_range(i: Toks<'_>) -> PResult<'_, LogRange> {
    alt((
        log_range_wrapped,
        log_range_parens,
        log_range_range_first,
        log_range_range_last,
    ))(i)
}

/// `( logRange )`
fn log_range_wrapped(i: Toks<'_>) -> PResult<'_, LogRange> {
    let (i, _) = op("(")(i)?;
    let (i, lr) = log_range(i)?;
    let (i, _) = op(")")(i)?;
    Ok((i, lr))
}

/// `( {…} | stages ) [5m] [offset d]`
fn log_range_parens(i: Toks<'_>) -> PResult<'_, LogRange> {
    let (i, _) = op("(")(i)?;
    let (i, log) = log_body(true)(i)?;
    let (i, _) = op(")")(i)?;
    let (i, range_ns) = range(i)?;
    let (i, offset_ns) = opt(offset)(i)?;
    Ok((
        i,
        LogRange {
            log,
            range_ns,
            offset_ns: offset_ns.unwrap_or(0),
        },
    ))
}

/// `{…} [5m] [offset d] stages`
fn log_range_range_first(i: Toks<'_>) -> PResult<'_, LogRange> {
    let (i, matchers) = selector(i)?;
    let (i, range_ns) = range(i)?;
    let (i, offset_ns) = opt(offset)(i)?;
    let (i, stages) = pipeline(true)(i)?;
    Ok((
        i,
        LogRange {
            log: LogExpr {
                matchers,
                selector_written: true,
                stages,
            },
            range_ns,
            offset_ns: offset_ns.unwrap_or(0),
        },
    ))
}

/// `[{…}] stages [5m] [offset d]`
fn log_range_range_last(i: Toks<'_>) -> PResult<'_, LogRange> {
    let (i, log) = log_body(true)(i)?;
    let (i, range_ns) = range(i)?;
    let (i, offset_ns) = opt(offset)(i)?;
    Ok((
        i,
        LogRange {
            log,
            range_ns,
            offset_ns: offset_ns.unwrap_or(0),
        },
    ))
}

/// Range-aggregation names.
const RANGE_OPS: &[(&str, RangeOp)] = &[
    ("rate", RangeOp::Rate),
    ("rate_counter", RangeOp::RateCounter),
    ("count_over_time", RangeOp::CountOverTime),
    ("bytes_rate", RangeOp::BytesRate),
    ("bytes_over_time", RangeOp::BytesOverTime),
    ("absent_over_time", RangeOp::AbsentOverTime),
    ("sum_over_time", RangeOp::SumOverTime),
    ("avg_over_time", RangeOp::AvgOverTime),
    ("min_over_time", RangeOp::MinOverTime),
    ("max_over_time", RangeOp::MaxOverTime),
    ("stddev_over_time", RangeOp::StddevOverTime),
    ("stdvar_over_time", RangeOp::StdvarOverTime),
    ("quantile_over_time", RangeOp::QuantileOverTime),
    ("first_over_time", RangeOp::FirstOverTime),
    ("last_over_time", RangeOp::LastOverTime),
];

/// Vector-aggregation names.
const VECTOR_OPS: &[(&str, VectorOp)] = &[
    ("sum", VectorOp::Sum),
    ("avg", VectorOp::Avg),
    ("min", VectorOp::Min),
    ("max", VectorOp::Max),
    ("count", VectorOp::Count),
    ("stddev", VectorOp::Stddev),
    ("stdvar", VectorOp::Stdvar),
    ("topk", VectorOp::Topk),
    ("bottomk", VectorOp::Bottomk),
    ("sort", VectorOp::Sort),
    ("sort_desc", VectorOp::SortDesc),
];

/// The LogQL name of a range operation.
pub fn range_op_name(op: RangeOp) -> &'static str {
    RANGE_OPS
        .iter()
        .find(|(_, o)| *o == op)
        .map_or("?", |(n, _)| n)
}

/// The LogQL name of a vector operation.
pub fn vector_op_name(op: VectorOp) -> &'static str {
    VECTOR_OPS
        .iter()
        .find(|(_, o)| *o == op)
        .map_or("?", |(n, _)| n)
}

/// `(a, b)` or `()`.
fn label_list(i: Toks<'_>) -> PResult<'_, Vec<String>> {
    let (i, _) = op("(")(i)?;
    if let Ok((r, _)) = op(")")(i) {
        return Ok((r, Vec::new()));
    }
    let (i, labels) = cut_err(list1(ident)(i))?;
    let labels = labels.into_iter().map(|(l, _)| l).collect();
    match op(")")(i) {
        Ok((r, _)) => Ok((r, labels)),
        Err(_) => Err(nom::Err::Failure(PErr::unexpected(i, &["\",\"", "\")\""]))),
    }
}

/// `by (…)` or `without (…)`.
fn grouping(i: Toks<'_>) -> PResult<'_, Grouping> {
    let (i, without) = alt((value(false, kw("by")), value(true, kw("without"))))(i)?;
    let (i, labels) = cut_err(label_list(i))?;
    Ok((i, Grouping { without, labels }))
}

/// `rate(…)`, `quantile_over_time(0.9, …) by (x)`, … with Loki's checks.
fn range_aggregation(i: Toks<'_>) -> PResult<'_, MetricExpr> {
    let t = first(i);
    let Some(rop) = RANGE_OPS.iter().find_map(|(n, o)| match t.tok {
        Tok::Func(f) if f == *n => Some(*o),
        _ => None,
    }) else {
        return Err(expected(i, &["a range aggregation"]));
    };
    let name = range_op_name(rop);
    let pos = t.pos;
    let (i, _) = cut_err(op("(")(advance(i)))?;
    let (i, param) = match (&first(i).tok, &second(i).tok) {
        (Tok::Number(text), Tok::Op(",")) => {
            let p = first(i);
            if rop != RangeOp::QuantileOverTime {
                return Err(fatal(
                    p.pos,
                    format!("parameter {text} not supported for operation {name}"),
                ));
            }
            (&i[2..], Some(to_f64(text, p.pos)?))
        }
        _ => (i, None),
    };
    let (i, lr) = cut_err(log_range(i))?;
    let (i, _) = cut_err(op(")")(i))?;
    let (i, grouping) = opt(grouping)(i)?;
    if rop == RangeOp::QuantileOverTime && param.is_none() {
        return Err(fatal(
            pos,
            format!("parameter required for operation {name}"),
        ));
    }
    validate_range_aggregation(rop, grouping.is_some(), &lr.log).map_err(|msg| fatal(pos, msg))?;
    Ok((
        i,
        MetricExpr::Range(RangeAggregation {
            op: rop,
            param,
            log: lr.log,
            range_ns: lr.range_ns,
            offset_ns: lr.offset_ns,
            grouping,
            pos,
        }),
    ))
}

/// Loki's `RangeAggregationExpr.validate`.
fn validate_range_aggregation(op: RangeOp, grouped: bool, log: &LogExpr) -> Result<(), String> {
    use RangeOp::*;
    let name = range_op_name(op);
    if grouped
        && !matches!(
            op,
            AvgOverTime
                | StddevOverTime
                | StdvarOverTime
                | QuantileOverTime
                | MaxOverTime
                | MinOverTime
                | FirstOverTime
                | LastOverTime
        )
    {
        return Err(format!("grouping not allowed for {name} aggregation"));
    }
    let unwrapped = matches!(log.stages.last(), Some(Stage::Unwrap(_)));
    if unwrapped {
        return match op {
            AvgOverTime | SumOverTime | MaxOverTime | MinOverTime | StddevOverTime
            | StdvarOverTime | QuantileOverTime | Rate | RateCounter | AbsentOverTime
            | FirstOverTime | LastOverTime => Ok(()),
            _ => Err(format!("invalid aggregation {name} with unwrap")),
        };
    }
    match op {
        BytesOverTime | BytesRate | CountOverTime | Rate | AbsentOverTime => Ok(()),
        _ => Err(format!("invalid aggregation {name} without unwrap")),
    }
}

/// `sum by (x) (…)`, `topk(5, …)`, `sort(…)`, … with Loki's checks.
fn vector_aggregation(i: Toks<'_>) -> PResult<'_, MetricExpr> {
    let t = first(i);
    let Some(vop) = VECTOR_OPS.iter().find_map(|(n, o)| match t.tok {
        Tok::Func(f) if f == *n => Some(*o),
        _ => None,
    }) else {
        return Err(expected(i, &["a vector aggregation"]));
    };
    let name = vector_op_name(vop);
    let pos = t.pos;
    let (i, before) = opt(grouping)(advance(i))?;
    let (i, _) = cut_err(op("(")(i))?;
    let (i, param) = match (&first(i).tok, &second(i).tok) {
        (Tok::Number(text), Tok::Op(",")) => (&i[2..], Some((text.clone(), first(i).pos))),
        _ => (i, None),
    };
    let (i, inner) = cut_err(metric_expr(i))?;
    let (i, _) = cut_err(op(")")(i))?;
    let (i, after) = match before {
        None => opt(grouping)(i)?,
        Some(_) => (i, None),
    };
    let grouping = before.or(after);
    let param = match (vop, param) {
        (VectorOp::Topk | VectorOp::Bottomk, None) => {
            return Err(fatal(
                pos,
                format!("parameter required for operation {name}"),
            ))
        }
        (VectorOp::Topk | VectorOp::Bottomk, Some((text, ppos))) => {
            let k: i64 = text
                .parse()
                .map_err(|_| fatal(ppos, format!("invalid parameter {name}({text},")))?;
            if k <= 0 {
                return Err(fatal(
                    ppos,
                    format!("invalid parameter (must be greater than 0) {name}({text}"),
                ));
            }
            Some(k as f64)
        }
        (_, Some((text, ppos))) => {
            return Err(fatal(
                ppos,
                format!("unsupported parameter for operation {name}({text},"),
            ))
        }
        (_, None) => None,
    };
    if matches!(vop, VectorOp::Sort | VectorOp::SortDesc)
        && grouping.as_ref().is_some_and(|g| !g.labels.is_empty())
    {
        return Err(fatal(pos, "sort and sort_desc doesn't allow grouping by"));
    }
    Ok((
        i,
        MetricExpr::Vector(VectorAggregation {
            op: vop,
            param,
            inner: Box::new(inner),
            grouping,
            pos,
        }),
    ))
}

/// `label_replace(expr, "dst", "replacement", "src", "regex")`
fn label_replace(i: Toks<'_>) -> PResult<'_, MetricExpr> {
    let (i, _) = func("label_replace")(i)?;
    let (i, _) = cut_err(op("(")(i))?;
    let (i, inner) = cut_err(metric_expr(i))?;
    let (i, _) = cut_err(op(",")(i))?;
    let (i, (dst, _)) = cut_err(string(i))?;
    let (i, _) = cut_err(op(",")(i))?;
    let (i, (replacement, _)) = cut_err(string(i))?;
    let (i, _) = cut_err(op(",")(i))?;
    let (i, (src, _)) = cut_err(string(i))?;
    let (i, _) = cut_err(op(",")(i))?;
    let (i, (regex, rpos)) = cut_err(string(i))?;
    let (i, _) = cut_err(op(")")(i))?;
    Regex::new(&format!("^(?:{regex})$")).map_err(|e| {
        fatal(
            rpos,
            format!("invalid regex in label_replace: {}", regex_error(&e)),
        )
    })?;
    Ok((
        i,
        MetricExpr::LabelReplace(Box::new(LabelReplace {
            inner,
            dst,
            replacement,
            src,
            regex,
        })),
    ))
}

/// `vector(1)`
fn vector_literal(i: Toks<'_>) -> PResult<'_, MetricExpr> {
    let (i, _) = func("vector")(i)?;
    let (i, _) = cut_err(op("(")(i))?;
    let (i, (text, pos)) = cut_err(number(i))?;
    let (i, _) = cut_err(op(")")(i))?;
    Ok((i, MetricExpr::VectorLiteral(to_f64(&text, pos)?)))
}

/// `( metric )`
fn paren_metric(i: Toks<'_>) -> PResult<'_, MetricExpr> {
    let (i, _) = op("(")(i)?;
    let (i, inner) = metric_expr(i)?;
    let (i, _) = cut_err(op(")")(i))?;
    Ok((i, MetricExpr::Paren(Box::new(inner))))
}

/// One operand of a binary expression.
fn metric_operand(i: Toks<'_>) -> PResult<'_, MetricExpr> {
    let t = first(i);
    match &t.tok {
        Tok::Func(f) if RANGE_OPS.iter().any(|(n, _)| n == f) => range_aggregation(i),
        Tok::Func(f) if VECTOR_OPS.iter().any(|(n, _)| n == f) => vector_aggregation(i),
        Tok::Func("label_replace") => label_replace(i),
        Tok::Func("vector") => vector_literal(i),
        Tok::Func("approx_topk") => Err(fatal(t.pos, "approx_topk is not supported")),
        Tok::Keyword("variants") => Err(fatal(t.pos, "variants(…) of (…) is not supported")),
        Tok::Number(_) | Tok::Op("+") | Tok::Op("-") => {
            let (r, v) = signed_number(i)?;
            Ok((r, MetricExpr::Literal(v)))
        }
        Tok::Op("(") => paren_metric(i),
        _ => Err(expected(
            i,
            &["a metric expression (rate(…), sum(…), vector(…), a number, \"(\")"],
        )),
    }
}

/// The binary operator of a token with its precedence (Prometheus').
fn binary_op(t: &Tok) -> Option<(BinaryOp, u8)> {
    Some(match t {
        Tok::Keyword("or") => (BinaryOp::Or, 1),
        Tok::Keyword("and") => (BinaryOp::And, 2),
        Tok::Keyword("unless") => (BinaryOp::Unless, 2),
        Tok::Op("==") => (BinaryOp::Eq, 3),
        Tok::Op("!=") => (BinaryOp::Neq, 3),
        Tok::Op(">") => (BinaryOp::Gt, 3),
        Tok::Op(">=") => (BinaryOp::Gte, 3),
        Tok::Op("<") => (BinaryOp::Lt, 3),
        Tok::Op("<=") => (BinaryOp::Lte, 3),
        Tok::Op("+") => (BinaryOp::Add, 4),
        Tok::Op("-") => (BinaryOp::Sub, 4),
        Tok::Op("*") => (BinaryOp::Mul, 5),
        Tok::Op("/") => (BinaryOp::Div, 5),
        Tok::Op("%") => (BinaryOp::Mod, 5),
        Tok::Op("^") => (BinaryOp::Pow, 6),
        _ => return None,
    })
}

/// `[bool] [on|ignoring (labels) [group_left|group_right [(labels)]]]`
fn binop_modifiers(i: Toks<'_>) -> PResult<'_, (bool, Option<VectorMatching>)> {
    let (i, return_bool) = opt(kw("bool"))(i)?;
    let (i, on) = opt(alt((value(true, kw("on")), value(false, kw("ignoring")))))(i)?;
    let Some(on) = on else {
        return Ok((i, (return_bool.is_some(), None)));
    };
    let (i, labels) = cut_err(label_list(i))?;
    let (i, side) = opt(alt((
        value(GroupSide::Left, kw("group_left")),
        value(GroupSide::Right, kw("group_right")),
    )))(i)?;
    let (i, group) = match side {
        Some(side) => {
            let (i, include) = opt(label_list)(i)?;
            (i, Some((side, include.unwrap_or_default())))
        }
        None => (i, None),
    };
    Ok((
        i,
        (
            return_bool.is_some(),
            Some(VectorMatching { on, labels, group }),
        ),
    ))
}

/// A pending binary operator in [`metric_expr`].
struct PendingOp {
    op: BinaryOp,
    prec: u8,
    return_bool: bool,
    matching: Option<VectorMatching>,
    pos: usize,
}

/// The value of a literal leg as Loki sees it (it folds `1 + 1` into `2`).
fn literal_value(e: &MetricExpr) -> Option<f64> {
    match e {
        MetricExpr::Literal(v) => Some(*v),
        MetricExpr::Paren(inner) => literal_value(inner),
        MetricExpr::Binary(b) => {
            let (l, r) = (literal_value(&b.lhs)?, literal_value(&b.rhs)?);
            let bool_of = |c: bool| if c { 1.0 } else { 0.0 };
            Some(match b.op {
                BinaryOp::Add => l + r,
                BinaryOp::Sub => l - r,
                BinaryOp::Mul => l * r,
                BinaryOp::Div if r == 0.0 => f64::NAN,
                BinaryOp::Div => l / r,
                BinaryOp::Mod if r == 0.0 => f64::NAN,
                BinaryOp::Mod => l % r,
                BinaryOp::Pow => l.powf(r),
                BinaryOp::Eq => bool_of(l == r),
                BinaryOp::Neq => bool_of(l != r),
                BinaryOp::Gt => bool_of(l > r),
                BinaryOp::Gte => bool_of(l >= r),
                BinaryOp::Lt => bool_of(l < r),
                BinaryOp::Lte => bool_of(l <= r),
                BinaryOp::Or | BinaryOp::And | BinaryOp::Unless => return None,
            })
        }
        _ => None,
    }
}

/// Pops one operator and its operands into a [`BinaryExpr`] (Loki's
/// `mustNewBinOpExpr` checks: no literal legs for `or`/`and`/`unless`).
fn binary_reduce(
    operands: &mut Vec<MetricExpr>,
    ops: &mut Vec<PendingOp>,
) -> Result<(), nom::Err<PErr>> {
    let (Some(p), Some(rhs), Some(lhs)) = (ops.pop(), operands.pop(), operands.pop()) else {
        return Ok(());
    };
    if matches!(p.op, BinaryOp::Or | BinaryOp::And | BinaryOp::Unless) {
        let name = match p.op {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            _ => "unless",
        };
        for (leg, e) in [("left", &lhs), ("right", &rhs)] {
            if let Some(v) = literal_value(e) {
                return Err(fatal(
                    p.pos,
                    format!(
                        "unexpected literal for {leg} leg of logical/set binary operation ({name}): {v:.6}"
                    ),
                ));
            }
        }
    }
    operands.push(MetricExpr::Binary(Box::new(BinaryExpr {
        op: p.op,
        lhs,
        rhs,
        return_bool: p.return_bool,
        matching: p.matching,
    })));
    Ok(())
}

/// A metric expression: operands joined by binary operators, with
/// Prometheus precedence (`or` < `and`/`unless` < comparisons < `+ -` <
/// `* / %` < `^`, all left-associative except `^`).
fn metric_expr(i: Toks<'_>) -> PResult<'_, MetricExpr> {
    let (mut i, lhs) = metric_operand(i)?;
    let mut operands = vec![lhs];
    let mut ops: Vec<PendingOp> = Vec::new();
    while let Some((bop, prec)) = binary_op(&first(i).tok) {
        let pos = first(i).pos;
        let (r, (return_bool, matching)) = binop_modifiers(advance(i))?;
        while ops
            .last()
            .is_some_and(|top| top.prec > prec || (top.prec == prec && bop != BinaryOp::Pow))
        {
            binary_reduce(&mut operands, &mut ops)?;
        }
        ops.push(PendingOp {
            op: bop,
            prec,
            return_bool,
            matching,
            pos,
        });
        let (r, rhs) = cut_err(metric_operand(r))?;
        operands.push(rhs);
        i = r;
    }
    while !ops.is_empty() {
        binary_reduce(&mut operands, &mut ops)?;
    }
    match operands.pop() {
        Some(e) => Ok((i, e)),
        None => Err(expected(i, &["a metric expression"])),
    }
}

// ---------------------------------------------------------------------------
// Whole query

/// End of a log query.
fn end_of_log(i: Toks<'_>) -> PResult<'_, ()> {
    match first(i).tok {
        Tok::Eof => Ok((i, ())),
        _ => Err(expected(
            i,
            &["\"|\"", "a line filter (|= != |~ !~ |> !>)", "end of query"],
        )),
    }
}

/// End of a metric query.
fn end_of_metric(i: Toks<'_>) -> PResult<'_, ()> {
    match first(i).tok {
        Tok::Eof => Ok((i, ())),
        _ => Err(expected(i, &["a binary operator", "end of query"])),
    }
}

/// A metric query.
fn metric_query(i: Toks<'_>) -> PResult<'_, Expr> {
    let (i, m) = metric_expr(i)?;
    let (i, _) = end_of_metric(i)?;
    Ok((i, Expr::Metric(m)))
}

/// A log query.
fn log_query_whole(i: Toks<'_>) -> PResult<'_, Expr> {
    let (i, l) = log_query(i)?;
    let (i, _) = end_of_log(i)?;
    Ok((i, Expr::Log(l)))
}

/// The root: a metric query or a log query.
fn query_expr(i: Toks<'_>) -> PResult<'_, Expr> {
    alt((metric_query, log_query_whole))(i)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                        let again = parse(&printed)
                            .unwrap_or_else(|err| panic!("{x:?} -> {printed:?}: {err}"));
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
        let q = format!("{}1", "1 ^ ".repeat(3000));
        assert!(parse(&q).is_ok());
        let q = format!("{{a=\"b\"}} | {}", "x=\"1\" and ".repeat(2000) + "y=\"2\"");
        assert!(parse(&q).is_ok());
        let q = format!("{{a=\"b\"}} | {}", "x=\"1\", ".repeat(2000) + "y=\"2\"");
        assert!(parse(&q).is_ok());
    }

    // --- lexer -------------------------------------------------------------

    fn kinds(q: &str) -> Vec<Tok> {
        lex(q).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexer_reads_durations_bytes_and_numbers_like_loki() {
        use Tok::*;
        let cases: &[(&str, Tok)] = &[
            ("5m", Duration(300_000_000_000)),
            ("1h2m", Duration(3_720_000_000_000)),
            ("1.5s", Duration(1_500_000_000)),
            ("10us", Duration(10_000)),
            ("10µs", Duration(10_000)),
            ("100ns", Duration(100)),
            ("2d", Duration(172_800_000_000_000)),
            ("-5m", Duration(-300_000_000_000)),
            ("20MB", Bytes(20_000_000)),
            ("5KiB", Bytes(5_120)),
            ("1B", Bytes(1)),
            ("10kB", Bytes(10_000)),
            ("5k", Bytes(5_000)),
            ("1.5KB", Bytes(1_500)),
            ("42", Number("42".into())),
            ("1e3", Number("1e3".into())),
            (".5", Number(".5".into())),
            ("1.", Number("1.".into())),
            ("[5m]", Range(300_000_000_000)),
            ("[1h30m]", Range(5_400_000_000_000)),
            ("[0]", Range(0)),
            ("--strict", Flag("--strict")),
            ("--keep-empty", Flag("--keep-empty")),
            ("json", Keyword("json")),
            ("JSON", Keyword("json")),
            ("Or", Keyword("or")),
            ("rate(", Func("rate")),
            ("rate", Ident("rate".into())),
            ("sum by (", Func("sum")),
            ("sum without(", Func("sum")),
            ("sum bye (", Ident("sum".into())),
            ("ip(", Func("ip")),
            ("ip", Ident("ip".into())),
            ("bytes (", Func("bytes")),
            ("__error__", Ident("__error__".into())),
            (r#""a\tb""#, Str("a\tb".into())),
            ("`a\\tb`", Str("a\\tb".into())),
            ("|=", Op("|=")),
            ("!>", Op("!>")),
            ("=~", Op("=~")),
            ("==", Op("==")),
            (">=", Op(">=")),
        ];
        for (src, want) in cases {
            let got = kinds(src);
            assert_eq!(got.first(), Some(want), "{src:?} lexed as {got:?}");
        }
        // "-" followed by a number that is not a duration stays minus
        assert_eq!(kinds("-1")[..2], [Op("-"), Number("1".into())]);
        // "5mb": duration 5m then identifier b (as in Loki)
        assert_eq!(
            kinds("5mb")[..2],
            [Duration(300_000_000_000), Ident("b".into())]
        );
        // comments run to the end of the line
        assert_eq!(kinds("# x\n1 # y"), [Number("1".into()), Eof]);
    }

    #[test]
    fn lexer_positions_are_byte_offsets() {
        let toks = lex(r#"{a="é"} |= "x""#).unwrap();
        let pos: Vec<usize> = toks.iter().map(|t| t.pos).collect();
        assert_eq!(pos, vec![0, 1, 2, 3, 7, 9, 12, 15]);
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

    /// Runs a token-level parser on `q`, requiring it to stop at the end.
    fn run<T>(p: impl Fn(Toks<'_>) -> PResult<'_, T>, q: &str) -> Result<T, PErr> {
        let toks = lex(q).unwrap();
        match p(&toks) {
            Ok((rest, v)) => {
                assert_eq!(first(rest).tok, Tok::Eof, "{q:?} not fully consumed");
                Ok(v)
            }
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e),
            Err(nom::Err::Incomplete(_)) => unreachable!(),
        }
    }

    #[test]
    fn small_grammar_functions() {
        assert_eq!(run(match_op, "=~"), Ok(MatchOp::Re));
        assert_eq!(run(match_op, ">").unwrap_err().expected.len(), 4);
        assert_eq!(run(matcher, r#"a!="b""#).map(|m| m.op), Ok(MatchOp::Neq));
        assert_eq!(run(label_list, "()"), Ok(vec![]));
        assert_eq!(run(label_list, "(a, b)"), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(
            run(grouping, "without (a)"),
            Ok(Grouping {
                without: true,
                labels: vec!["a".into()]
            })
        );
        assert_eq!(run(offset, "offset 1h"), Ok(3_600_000_000_000));
        assert_eq!(run(signed_number, "- 2"), Ok(-2.0));
        assert_eq!(
            run(extraction_param, r#"a="b.c""#),
            Ok(ExtractionParam {
                label: "a".into(),
                path: "b.c".into()
            })
        );
        assert_eq!(
            run(label_format_op, "a=b"),
            Ok((
                LabelFormatOp::Rename {
                    dst: "a".into(),
                    src: "b".into()
                },
                0
            ))
        );
        assert_eq!(
            run(unwrap_stage, "unwrap bytes(x)").map(|u| u.conversion),
            Ok(UnwrapConversion::Bytes)
        );
        assert_eq!(
            run(binop_modifiers, "bool ignoring (a) group_left"),
            Ok((
                true,
                Some(VectorMatching {
                    on: false,
                    labels: vec!["a".into()],
                    group: Some((GroupSide::Left, vec![]))
                })
            ))
        );
        assert_eq!(
            run(metric_operand, "vector(2)"),
            Ok(MetricExpr::VectorLiteral(2.0))
        );
        let lr = run(log_range, r#"({a="b"})[1m] offset 2m"#).ok().unwrap();
        assert_eq!(
            (lr.range_ns, lr.offset_ns),
            (60_000_000_000, 120_000_000_000)
        );
    }

    #[test]
    fn pattern_and_regexp_parser_validation() {
        assert_eq!(
            pattern_nodes("<a> x<_>y <b"),
            vec![Some("a".into()), None, Some("_".into()), None]
        );
        assert!(validate_pattern("<a> <b>").is_ok());
        assert!(validate_pattern("<a><_>").is_err());
        assert!(validate_pattern("<1a> x").is_err());
        assert!(validate_regexp_parser("(?P<a>x)(?<b>y)").is_ok());
        assert!(validate_regexp_parser("(x)").is_err());
        assert!(is_function_call(" ( x"));
        assert!(is_function_call(" BY (x) ("));
        assert!(!is_function_call(" > 5"));
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
}
