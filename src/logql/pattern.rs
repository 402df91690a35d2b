//! LogQL's pattern syntax (`<ip> - <_> "<method> <path> <_>"`), for the
//! `pattern` parser and the `|>`/`!>` line filters, with Loki's matching
//! rules: a leading literal must sit at the start of the line; each capture
//! runs to the next occurrence of the literal after it; a trailing capture
//! takes the rest of the line; if a literal is not found, the capture before
//! it takes the rest and matching stops.

use memchr::memmem::Finder;
use nom::branch::alt;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::{anychar, char, satisfy};
use nom::combinator::{recognize, value};
use nom::multi::many0;
use nom::sequence::{delimited, pair};
use nom::IResult;

#[derive(Debug, Clone)]
enum Node {
    /// Literal text, with its searcher built once.
    Literal(Box<Finder<'static>>),
    /// A named capture, or `None` for `<_>`.
    Capture(Option<String>),
}

impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Literal(a), Node::Literal(b)) => a.needle() == b.needle(),
            (Node::Capture(a), Node::Capture(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    nodes: Vec<Node>,
}

/// Where a line stopped matching, for messages (`nagare formats test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The line does not start with the pattern's leading literal.
    Start(String),
    /// After capture `after` (`<_>` for an unnamed one), literal not found.
    Literal { after: String, literal: String },
    /// The pattern ended on a literal and the line goes on.
    Trailing(String),
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Start(l) => write!(f, "the line does not start with {l:?}"),
            Mismatch::Literal { after, literal } => {
                write!(f, "after <{after}>, {literal:?} is not found")
            }
            Mismatch::Trailing(rest) => {
                write!(f, "the line goes on after the pattern ends: {rest:?}")
            }
        }
    }
}

/// One piece of pattern text: `<name>` is a capture when `name` is an
/// identifier; any other `<` is literal text, as in Loki's lexer.
#[derive(Debug, Clone, PartialEq)]
enum Piece<'a> {
    Capture(&'a str),
    Text(&'a str),
}

fn capture(i: &str) -> IResult<&str, Piece<'_>> {
    let ident = recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ));
    let (r, name) = delimited(char('<'), ident, char('>'))(i)?;
    Ok((r, Piece::Capture(name)))
}

fn text(i: &str) -> IResult<&str, Piece<'_>> {
    alt((
        // A run without `<`, or a lone `<` that starts no capture.
        take_while1(|c| c != '<'),
        recognize(value((), anychar)),
    ))(i)
    .map(|(r, t)| (r, Piece::Text(t)))
}

fn pieces(src: &str) -> Vec<Piece<'_>> {
    // `text` consumes at least one character, so this reads all of `src`.
    many0(alt((capture, text)))(src).map_or_else(|_| Vec::new(), |(_, v)| v)
}

/// The literals and captures of a pattern (the parse both the pattern
/// parser and pattern line filters share); consecutive captures are an
/// error.
fn nodes(src: &str) -> Result<Vec<Node>, String> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut lit = String::new();
    for piece in pieces(src) {
        match piece {
            Piece::Text(t) => lit.push_str(t),
            Piece::Capture(name) => {
                if !lit.is_empty() {
                    let l = std::mem::take(&mut lit);
                    nodes.push(Node::Literal(Box::new(
                        Finder::new(l.as_bytes()).into_owned(),
                    )));
                }
                if matches!(nodes.last(), Some(Node::Capture(_))) {
                    return Err(format!(
                        "invalid pattern {src:?}: consecutive captures are not allowed"
                    ));
                }
                nodes.push(Node::Capture((name != "_").then(|| name.to_string())));
            }
        }
    }
    if !lit.is_empty() {
        nodes.push(Node::Literal(Box::new(
            Finder::new(lit.as_bytes()).into_owned(),
        )));
    }
    Ok(nodes)
}

impl Pattern {
    pub fn parse(src: &str) -> Result<Pattern, String> {
        let nodes = nodes(src)?;
        if !nodes.iter().any(|n| matches!(n, Node::Capture(_))) {
            return Err(format!(
                "invalid pattern {src:?}: at least one capture is required"
            ));
        }
        let mut seen = Vec::new();
        for n in &nodes {
            if let Node::Capture(Some(name)) = n {
                if seen.contains(name) {
                    return Err(format!(
                        "invalid pattern {src:?}: duplicate capture {name:?}"
                    ));
                }
                seen.push(name.clone());
            }
        }
        Ok(Pattern { nodes })
    }

    /// Names of the named captures, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Capture(Some(s)) => Some(s.as_str()),
            _ => None,
        })
    }

    /// Calls `emit(name, value)` for each named capture that matched.
    pub fn captures<'a>(&self, line: &'a [u8], mut emit: impl FnMut(&str, &'a [u8])) {
        let _ = self.walk(line, &mut emit);
    }

    /// Like [`Pattern::captures`], and returns whether the whole pattern
    /// matched (a format's record must match in full).
    pub fn captures_full<'a>(&self, line: &'a [u8], mut emit: impl FnMut(&str, &'a [u8])) -> bool {
        self.walk(line, &mut emit).is_ok()
    }

    /// Returns whether the whole pattern matches (for `|>`).
    pub fn test(&self, line: &[u8]) -> bool {
        self.walk(line, &mut |_, _| {}).is_ok()
    }

    /// Why `line` does not match in full, or `None` if it does.
    pub fn mismatch(&self, line: &[u8]) -> Option<Mismatch> {
        self.walk(line, &mut |_, _| {}).err()
    }

    fn walk<'a>(
        &self,
        mut input: &'a [u8],
        emit: &mut impl FnMut(&str, &'a [u8]),
    ) -> Result<(), Mismatch> {
        let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut nodes = &self.nodes[..];
        if let Some(Node::Literal(l)) = nodes.first() {
            if !input.starts_with(l.needle()) {
                return Err(Mismatch::Start(shown(l.needle())));
            }
            input = &input[l.needle().len()..];
            nodes = &nodes[1..];
        }
        while let Some(Node::Capture(name)) = nodes.first() {
            match nodes.get(1) {
                None => {
                    if let Some(n) = name {
                        emit(n, input);
                    }
                    return Ok(());
                }
                Some(Node::Literal(l)) => match l.find(input) {
                    Some(i) => {
                        if let Some(n) = name {
                            emit(n, &input[..i]);
                        }
                        input = &input[i + l.needle().len()..];
                        nodes = &nodes[2..];
                    }
                    None => {
                        if let Some(n) = name {
                            emit(n, input);
                        }
                        return Err(Mismatch::Literal {
                            after: name.clone().unwrap_or_else(|| "_".into()),
                            literal: shown(l.needle()),
                        });
                    }
                },
                // The parser never puts two captures side by side.
                Some(Node::Capture(_)) => return Err(Mismatch::Trailing(shown(input))),
            }
        }
        // Ended on a literal: the whole line must have been consumed.
        if input.is_empty() {
            Ok(())
        } else {
            Err(Mismatch::Trailing(shown(input)))
        }
    }
}

/// A `|>`/`!>` line filter pattern, as Loki's `pattern.ParseLineFilter`
/// and `Matcher.Test`: only `<_>` captures (the grammar rejects named
/// ones), none needed (`"foo"`, and `""`, which matches only an empty
/// line).
#[derive(Debug, Clone, PartialEq)]
pub struct LinePattern {
    nodes: Vec<Node>,
}

impl LinePattern {
    pub fn parse(src: &str) -> Result<LinePattern, String> {
        let nodes = nodes(src)?;
        Ok(LinePattern { nodes })
    }

    /// Loki's `Matcher.Test`: each literal is found after the previous one
    /// (a literal right after the previous one, an empty capture, fails);
    /// a pattern ending on a literal must reach the end of the line, one
    /// ending on a capture must leave something for it.
    pub fn test(&self, line: &[u8]) -> bool {
        if line.is_empty() || self.nodes.is_empty() {
            return line.is_empty() && self.nodes.is_empty();
        }
        let mut off = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            let Node::Literal(l) = n else { continue };
            let Some(j) = l.find(&line[off..]) else {
                return false;
            };
            if i != 0 && j == 0 {
                return false;
            }
            off += j + l.needle().len();
        }
        let req_rem = matches!(self.nodes.last(), Some(Node::Capture(_)));
        req_rem == (off != line.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(p: &str, line: &str) -> Vec<(String, String)> {
        let mut v = Vec::new();
        Pattern::parse(p)
            .unwrap()
            .captures(line.as_bytes(), |n, val| {
                v.push((n.to_string(), String::from_utf8_lossy(val).into_owned()))
            });
        v
    }

    #[test]
    fn nginx_pattern() {
        let got = caps(
            r#"<ip> - <_> [<_>] "<method> <path> <_>" <status> <_>"#,
            r#"1.2.3.4 - - [06/May/2026:10:30:45 +0000] "GET /x HTTP/1.1" 200 512 "-" "curl""#,
        );
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["ip", "method", "path", "status"]);
        assert_eq!(got[3].1, "200");
    }

    #[test]
    fn leading_literal_must_be_at_start() {
        assert!(caps("level=<lvl> ", "x level=info ").is_empty());
        assert_eq!(
            caps("level=<lvl> ", "level=info more"),
            vec![("lvl".into(), "info".into())]
        );
    }

    #[test]
    fn test_requires_full_match() {
        let p = Pattern::parse("<_> error <_>").unwrap();
        assert!(p.test(b"an error here"));
        assert!(!p.test(b"fine"));
        let p = Pattern::parse("GET <path> HTTP").unwrap();
        assert!(!p.test(b"GET /x HTTP/1.1"));
        assert!(p.test(b"GET /x HTTP"));
    }

    #[test]
    fn lone_angle_brackets_are_text() {
        assert_eq!(
            caps("<a> < <b> <1x> <>", "1 < 2 <1x> <>"),
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert!(Pattern::parse("x=<v").is_err());
    }

    #[test]
    fn mismatch_names_the_place() {
        let p = Pattern::parse("[<ts>] <level>: <msg>").unwrap();
        assert_eq!(p.mismatch(b"[t] info: hi"), None);
        assert_eq!(p.mismatch(b"t] info"), Some(Mismatch::Start("[".into())));
        assert_eq!(
            p.mismatch(b"[t] info hi"),
            Some(Mismatch::Literal {
                after: "level".into(),
                literal: ": ".into()
            })
        );
        let p = Pattern::parse("<a> end").unwrap();
        assert_eq!(
            p.mismatch(b"x end more"),
            Some(Mismatch::Trailing(" more".into()))
        );
        // Non-ASCII around captures.
        let p = Pattern::parse("é<a>ü").unwrap();
        assert!(p.test("éxü".as_bytes()));
    }

    #[test]
    fn invalid() {
        assert!(Pattern::parse("no captures").is_err());
        assert!(Pattern::parse("<a><b>").is_err());
        assert!(Pattern::parse("<a> <a>").is_err());
    }

    /// Loki's pattern_test.go: Test_ParseLineFilter (no capture needed;
    /// "" matches only an empty line) and the fixtures' `matches` column
    /// (Matcher.Test, which line filters use).
    #[test]
    fn line_patterns_test_as_loki() {
        let t = |p: &str, line: &str| LinePattern::parse(p).unwrap().test(line.as_bytes());
        assert!(t("", ""));
        assert!(!t("", "x"));
        assert!(t("<_>", "anything"));
        assert!(!t("<_>", ""));
        assert!(t("foo <_> bar", "foo buzz bar"));
        assert!(!t("<_>foo <_> bar", "foo buzz bar"));
        assert!(t("<_>bar<_>", " bar "));
        assert!(!t("<_> bar<_>", " bar "));
        assert!(!t("<_>bar <_>", " bar "));
        // The comment in Matcher.Test: "foo bar baz" does not match
        // "<_> bar", but matches "<_> baz" and "foo <_>".
        assert!(!t("<_> bar", "foo bar baz"));
        assert!(t("<_> baz", "foo bar baz"));
        assert!(t("foo <_>", "foo bar baz"));
        // Without a capture: the first literal is searched for, and must
        // end the line.
        assert!(t("foo", "foo"));
        assert!(t("foo", "xx foo"));
        assert!(!t("foo", "foo bar"));
        assert!(LinePattern::parse("<_><_>").is_err());
    }
}
