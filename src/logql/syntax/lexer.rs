//! The LogQL lexer, as Loki's `pkg/logql/syntax/lex.go`: tokens,
//! identifiers and keywords, string literals and their escapes, numbers, and
//! the durations and byte sizes a number turns into when unit letters follow
//! it (read by [`crate::units`]).

use nom::branch::alt;
use nom::bytes::complete::take_while;
use nom::character::complete::{char as nchar, digit0, digit1, multispace1, one_of, satisfy};
use nom::combinator::{opt, recognize, value};
use nom::multi::many0;
use nom::sequence::{pair, tuple};
use nom::IResult;

use crate::logql::error::QueryError;
use crate::units::{parse_duration, parse_humanize_bytes, parse_prom_duration};

/// A token kind with its value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
pub(super) struct Token<'a> {
    pub(super) tok: Tok,
    pub(super) pos: usize,
    pub(super) raw: &'a str,
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
pub(super) fn ident_text(i: &str) -> LResult<'_, &str> {
    recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))(i)
}

/// `e+10`, `E-3`, `e5`
fn exponent(i: &str) -> LResult<'_, &str> {
    recognize(tuple((one_of("eE"), opt(one_of("+-")), digit1)))(i)
}

/// A hexadecimal number as Go's scanner reads it: `0x1p3`, `0x1.8P-2`,
/// `0xff` (which `strconv.ParseFloat` then refuses for want of a `p`
/// exponent).
fn hex_number_text(i: &str) -> LResult<'_, &str> {
    recognize(tuple((
        nchar('0'),
        one_of("xX"),
        take_while(|c: char| c.is_ascii_hexdigit() || c == '_' || c == '.'),
        opt(tuple((one_of("pP"), opt(one_of("+-")), digit1))),
    )))(i)
}

/// A decimal number as Go's scanner reads it: `12`, `1.5`, `1.`, `.5`, `1e3`;
/// or a hexadecimal one.
fn number_text(i: &str) -> LResult<'_, &str> {
    alt((
        hex_number_text,
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
pub(super) fn lex(query: &str) -> Result<Vec<Token<'_>>, QueryError> {
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
pub(super) fn is_function_call(rest: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
