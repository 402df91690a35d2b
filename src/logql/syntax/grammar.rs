//! The LogQL grammar: nom over the lexer's token slice, one small function
//! per production of Loki's `pkg/logql/syntax/expr.y`, with the checks Loki
//! makes while building its AST.

use std::collections::HashSet;

use nom::branch::alt;
use nom::combinator::{opt, value};
use nom::error::{ErrorKind, ParseError};
use nom::IResult;
use regex::Regex;

use super::lexer::*;
use crate::logql::ast::*;
use crate::logql::error::QueryError;

/// Deepest parenthesis nesting accepted (bounds the parser's recursion).
const MAX_NESTING: usize = 100;
/// Binary operators (arithmetic, comparison, `and`/`or`/`unless`, also
/// inside label filters) a query may hold. Each nests the tree one level
/// deeper, and parsing, checking and evaluating recurse over it: a chain
/// of thousands overflowed the stack. Loki (a table-driven parser, Go's
/// growing stacks) accepts them up to its input limit; no real query comes
/// near this.
const MAX_OPERATORS: usize = 1000;

/// Loki's message for selectors that would select every stream.
pub const EMPTY_SELECTOR_MSG: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

type Toks<'a> = &'a [Token<'a>];
type PResult<'a, T> = IResult<Toks<'a>, T, PErr>;

/// A parse error: where, what was found, and what would have been accepted
/// (or a complete message for semantic errors).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PErr {
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

    pub(super) fn into_query_error(self, query: &str) -> QueryError {
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

/// Rejects queries nested deeper than [`MAX_NESTING`] parentheses or
/// holding more than [`MAX_OPERATORS`] binary operators.
pub(super) fn check_nesting(query: &str, toks: &[Token<'_>]) -> Result<(), QueryError> {
    let mut depth = 0usize;
    let mut operators = 0usize;
    for t in toks {
        let binary = matches!(
            t.tok,
            Tok::Op(
                "+" | "-" | "*" | "/" | "%" | "^" | "==" | "!=" | ">" | ">=" | "<" | "<=" | ","
            ) | Tok::Keyword("and" | "or" | "unless")
        );
        if binary {
            operators += 1;
            if operators > MAX_OPERATORS {
                return Err(QueryError::new(
                    query,
                    t.pos,
                    format!("query has more than {MAX_OPERATORS} binary operators; nagare refuses it (split the query)"),
                ));
            }
        }
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

/// Parses a float the way Go's `strconv.ParseFloat` does for Loki literals
/// (`mustNewLiteralExpr`), hexadecimal floats included.
fn to_f64(text: &str, pos: usize) -> Result<f64, nom::Err<PErr>> {
    let why = match crate::units::go_parse_float(text) {
        Some(v) if v.is_finite() => return Ok(v),
        Some(_) => "value out of range",
        None => "invalid syntax",
    };
    Err(fatal(
        pos,
        format!("unable to parse literal as a float: strconv.ParseFloat: parsing {text:?}: {why}"),
    ))
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
    let (i, t) = cut_err(template(i))?;
    Ok((i, Stage::LineFormat(t)))
}

/// A template string literal, checked now, so that an error in it points
/// at its column in the query rather than at the stage.
fn template(i: Toks<'_>) -> PResult<'_, String> {
    let raw = first(i).raw;
    let (r, (t, pos)) = string(i)?;
    if let Err((at, msg)) = crate::logql::template::Template::parse(&t) {
        return Err(fatal(
            pos + raw_offset(raw, at),
            format!("invalid template: {msg}"),
        ));
    }
    Ok((r, t))
}

/// Where byte `at` of a string literal's value is in the literal as
/// written (`raw`, quotes included): after the opening quote, each escape
/// (`\"`, `\n`, `\x41`, `\u00e9`, …) counted as written.
fn raw_offset(raw: &str, at: usize) -> usize {
    let b = raw.as_bytes();
    if b.first() != Some(&b'"') {
        // A back-quoted string is its value.
        return (1 + at).min(raw.len());
    }
    let (mut i, mut produced) = (1, 0);
    while produced < at && i + 1 < b.len() {
        let (len, out) = if b[i] == b'\\' {
            match b.get(i + 1) {
                Some(b'x' | b'0'..=b'7') => (4, 1),
                Some(&u @ (b'u' | b'U')) => {
                    let n = if u == b'u' { 4 } else { 8 };
                    let c = raw
                        .get(i + 2..i + 2 + n)
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32);
                    (2 + n, c.map_or(3, char::len_utf8))
                }
                _ => (2, 1),
            }
        } else {
            let n = raw[i..].chars().next().map_or(1, char::len_utf8);
            (n, n)
        };
        if produced + out > at {
            break;
        }
        i += len;
        produced += out;
    }
    i.min(raw.len())
}

/// `dst=src` (rename) or `dst="template"`, with the offset of `dst`.
fn label_format_op(i: Toks<'_>) -> PResult<'_, (LabelFormatOp, usize)> {
    let (i, (dst, pos)) = ident(i)?;
    let (i, _) = cut_err(op("=")(i))?;
    if let Ok((r, (src, _))) = ident(i) {
        return Ok((r, (LabelFormatOp::Rename { dst, src }, pos)));
    }
    if !matches!(first(i).tok, Tok::Str(_)) {
        return Err(nom::Err::Failure(PErr::unexpected(
            i,
            &["IDENTIFIER", "STRING"],
        )));
    }
    let (r, template) = template(i)?;
    Ok((r, (LabelFormatOp::Template { dst, template }, pos)))
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
pub(super) fn query_expr(i: Toks<'_>) -> PResult<'_, Expr> {
    alt((metric_query, log_query_whole))(i)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
