//! The parser of Go's text/template, following `text/template/parse`:
//! actions, pipelines, `if`/`with`/`range` with `else`, variables,
//! `define`/`template`/`block`, `break`/`continue`. Errors are Go's
//! messages at a byte offset.

use std::collections::HashMap;
use std::fmt;

use super::funcs;
use super::lex::{lex, Item, Kind};

/// A node of the template body.
#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Box<Branch>),
    With(Box<Branch>),
    Range(Box<Branch>),
    Break,
    Continue,
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

/// A pipeline: optional variable declarations and commands joined by `|`.
#[derive(Debug, Clone)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
    /// Where each argument starts (for error messages).
    pub arg_pos: Vec<usize>,
}

/// A number literal with every reading Go's parser allows.
#[derive(Debug, Clone)]
pub struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub float: Option<f64>,
    /// Go's `idealConstant`: a literal written as a float (`1.0`, `1e3`)
    /// is a float64 where any type is accepted.
    pub float_literal: bool,
}

#[derive(Debug, Clone)]
pub enum Arg {
    Field(Vec<String>),
    Variable(String, Vec<String>),
    Dot,
    Nil,
    Bool(bool),
    Number(Number),
    Str(String, String),
    Ident(String),
    Pipe(Box<Pipe>),
    Chain(Box<Arg>, Vec<String>),
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field(idents) => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable(name, idents) => {
                f.write_str(name)?;
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Dot => f.write_str("."),
            Arg::Nil => f.write_str("nil"),
            Arg::Bool(b) => write!(f, "{b}"),
            Arg::Number(n) => f.write_str(&n.text),
            Arg::Str(_, quoted) => f.write_str(quoted),
            Arg::Ident(name) => f.write_str(name),
            Arg::Pipe(p) => write!(f, "({p})"),
            Arg::Chain(node, fields) => {
                match node.as_ref() {
                    Arg::Pipe(_) => write!(f, "{node}")?,
                    other => write!(f, "{other}")?,
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A parsed template: the main body and the `define`d ones.
#[derive(Debug, Clone)]
pub struct Tree {
    pub root: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
}

type PResult<T> = Result<T, (usize, String)>;

/// Go's parser nests at most this deep (`maxStackDepth`-like guard), so a
/// hostile template cannot overflow the stack.
const MAX_DEPTH: usize = 100;

pub fn parse(src: &str) -> PResult<Tree> {
    let items = lex(src)?;
    let mut p = Parser {
        items,
        i: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
        defines: HashMap::new(),
    };
    let mut root = Vec::new();
    loop {
        if p.peek().kind == Kind::Eof {
            break;
        }
        if p.peek().kind == Kind::LeftDelim {
            let save = p.i;
            p.next();
            let t = p.peek_non_space();
            if t.kind == Kind::Keyword && t.text == "define" {
                p.next_non_space();
                p.define()?;
                continue;
            }
            p.i = save;
        }
        match p.text_or_action()? {
            Parsed::Node(n) => root.push(n),
            Parsed::End(pos) => return Err((pos, "unexpected {{end}}".into())),
            Parsed::Else(pos, _) => return Err((pos, "unexpected {{else}}".into())),
        }
    }
    Ok(Tree {
        root,
        defines: p.defines,
    })
}

enum Parsed {
    Node(Node),
    End(usize),
    /// `{{else}}`, or `{{else if …}}` / `{{else with …}}` (the keyword).
    Else(usize, Option<&'static str>),
}

struct Parser<'s> {
    items: Vec<Item<'s>>,
    i: usize,
    /// Variables in scope, for Go's "undefined variable" check.
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    defines: HashMap<String, Vec<Node>>,
}

fn unexpected(t: &Item, context: &str) -> (usize, String) {
    let what = match t.kind {
        Kind::Eof => "EOF".to_string(),
        Kind::RightDelim => "\"}}\"".to_string(),
        Kind::LeftDelim => "\"{{\"".to_string(),
        _ => format!("{:?}", t.text),
    };
    (t.pos, format!("unexpected {what} in {context}"))
}

impl<'s> Parser<'s> {
    fn peek(&self) -> &Item<'s> {
        &self.items[self.i.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> Item<'s> {
        let t = self.peek().clone();
        if self.i < self.items.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn peek_non_space(&mut self) -> Item<'s> {
        while self.peek().kind == Kind::Space {
            self.i += 1;
        }
        self.peek().clone()
    }

    fn next_non_space(&mut self) -> Item<'s> {
        self.peek_non_space();
        self.next()
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Item<'s>> {
        let t = self.next_non_space();
        if t.kind != kind {
            return Err(unexpected(&t, context));
        }
        Ok(t)
    }

    fn enter(&mut self, pos: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((pos, "max expression depth exceeded".into()));
        }
        Ok(())
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Text => Ok(Parsed::Node(Node::Text(t.text.to_string()))),
            Kind::LeftDelim => {
                self.enter(t.pos)?;
                let r = self.action();
                self.depth -= 1;
                r
            }
            _ => Err(unexpected(&t, "input")),
        }
    }

    /// A list of nodes up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        loop {
            if self.peek_non_space().kind == Kind::Eof {
                return Err((self.peek().pos, "unexpected EOF".into()));
            }
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let t = self.peek_non_space();
        if t.kind == Kind::Keyword {
            self.next_non_space();
            return match t.text {
                "else" => self.else_control(t.pos),
                "end" => {
                    self.expect(Kind::RightDelim, "end")?;
                    Ok(Parsed::End(t.pos))
                }
                "if" => Ok(Parsed::Node(Node::If(Box::new(self.control(true, "if")?)))),
                "with" => Ok(Parsed::Node(Node::With(Box::new(
                    self.control(true, "with")?,
                )))),
                "range" => {
                    self.range_depth += 1;
                    let b = self.control(false, "range");
                    self.range_depth -= 1;
                    Ok(Parsed::Node(Node::Range(Box::new(b?))))
                }
                "break" | "continue" => {
                    if self.range_depth == 0 {
                        return Err((t.pos, format!("{{{{{}}}}} outside {{{{range}}}}", t.text)));
                    }
                    self.expect(Kind::RightDelim, t.text)?;
                    Ok(Parsed::Node(if t.text == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    }))
                }
                "template" => self.template_control(t.pos),
                "block" => self.block_control(t.pos),
                _ => Err((t.pos, format!("unexpected {:?} in command", t.text))),
            };
        }
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn else_control(&mut self, pos: usize) -> PResult<Parsed> {
        let t = self.peek_non_space();
        if t.kind == Kind::Keyword && (t.text == "if" || t.text == "with") {
            // `{{else if …}}` is `{{else}}{{if …}}…{{end}}`; the keyword
            // is left for the caller to parse.
            let kw = if t.text == "if" { "if" } else { "with" };
            return Ok(Parsed::Else(pos, Some(kw)));
        }
        self.expect(Kind::RightDelim, "else")?;
        Ok(Parsed::Else(pos, None))
    }

    /// `if`, `with`, `range`: pipeline, list, optional else list, end.
    fn control(&mut self, allow_else_chain: bool, context: &'static str) -> PResult<Branch> {
        let mark = self.vars.len();
        let r = self.control_inner(allow_else_chain, context);
        self.vars.truncate(mark);
        r
    }

    fn control_inner(&mut self, allow_else_chain: bool, context: &'static str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let (list, end) = self.item_list()?;
        let else_list = match end {
            Parsed::End(_) => None,
            Parsed::Else(pos, chained) => {
                if let Some(kw) = chained {
                    // Go allows `else if` inside `if` and `else with` inside
                    // `with` only.
                    if !allow_else_chain
                        || (context == "if" && kw != "if")
                        || (context == "with" && kw != "with")
                    {
                        return Err((pos, format!("unexpected \"{kw}\" in else")));
                    }
                    self.next_non_space();
                    self.enter(pos)?;
                    let inner = self.control(true, kw);
                    self.depth -= 1;
                    let inner = inner?;
                    let node = if kw == "if" {
                        Node::If(Box::new(inner))
                    } else {
                        Node::With(Box::new(inner))
                    };
                    // The chained control consumed the shared {{end}}.
                    Some(vec![node])
                } else {
                    let (else_list, end) = self.item_list()?;
                    match end {
                        Parsed::End(_) => {}
                        Parsed::Else(pos, _) => {
                            return Err((pos, "expected end; found {{else}}".into()))
                        }
                        Parsed::Node(_) => unreachable!(),
                    }
                    Some(else_list)
                }
            }
            Parsed::Node(_) => unreachable!(),
        };
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, context: &str) -> PResult<String> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Str | Kind::RawStr => unquote(t.text).ok_or((t.pos, "invalid syntax".into())),
            _ => Err(unexpected(&t, context)),
        }
    }

    fn template_control(&mut self, pos: usize) -> PResult<Parsed> {
        let name = self.template_name("template clause")?;
        let pipe = if self.peek_non_space().kind != Kind::RightDelim {
            Some(self.pipeline("template clause", Kind::RightDelim)?)
        } else {
            self.next_non_space();
            None
        };
        Ok(Parsed::Node(Node::Template { pos, name, pipe }))
    }

    fn block_control(&mut self, pos: usize) -> PResult<Parsed> {
        let name = self.template_name("block clause")?;
        let pipe = self.pipeline("block clause", Kind::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let r = self.item_list();
        self.vars = saved;
        let (list, end) = r?;
        if let Parsed::Else(p, _) = end {
            return Err((p, "unexpected {{else}}".into()));
        }
        self.defines.insert(name.clone(), list);
        Ok(Parsed::Node(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn define(&mut self) -> PResult<()> {
        let name = self.template_name("define clause")?;
        self.expect(Kind::RightDelim, "define clause")?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let r = self.item_list();
        self.vars = saved;
        let (list, end) = r?;
        if let Parsed::Else(p, _) = end {
            return Err((p, "unexpected {{else}}".into()));
        }
        self.defines.insert(name, list);
        Ok(())
    }

    /// Declarations, then commands separated by `|`, up to `end`.
    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $v :=` (range only).
        if start.kind == Kind::Variable {
            let save = self.i;
            self.next_non_space();
            let t = self.peek_non_space();
            match t.kind {
                Kind::Declare | Kind::Assign => {
                    self.next_non_space();
                    pipe.is_assign = t.kind == Kind::Assign;
                    pipe.decl.push(start.text.to_string());
                    if !pipe.is_assign {
                        self.vars.push(start.text.to_string());
                    } else {
                        self.use_var(start.pos, start.text)?;
                    }
                }
                Kind::Other if t.text == "," => {
                    self.next_non_space();
                    pipe.decl.push(start.text.to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        let v = self.next_non_space();
                        if v.kind != Kind::Variable {
                            return Err((
                                v.pos,
                                format!("range can only initialize variables, found {:?}", v.text),
                            ));
                        }
                        let op = self.next_non_space();
                        if op.kind != Kind::Declare && op.kind != Kind::Assign {
                            return Err(unexpected(&op, "range"));
                        }
                        pipe.is_assign = op.kind == Kind::Assign;
                        pipe.decl.push(v.text.to_string());
                        for d in &pipe.decl {
                            if pipe.is_assign {
                                self.use_var(start.pos, d)?;
                            }
                        }
                        if !pipe.is_assign {
                            self.vars.extend(pipe.decl.iter().cloned());
                        }
                    } else {
                        return Err((t.pos, format!("too many declarations in {context}")));
                    }
                }
                _ => self.i = save,
            }
        }
        loop {
            let t = self.peek_non_space();
            if t.kind == end {
                self.next_non_space();
                self.check_pipeline(&pipe, context, t.pos)?;
                return Ok(pipe);
            }
            match t.kind {
                Kind::Bool
                | Kind::Char
                | Kind::Dot
                | Kind::Field
                | Kind::Ident
                | Kind::Number
                | Kind::Nil
                | Kind::RawStr
                | Kind::Str
                | Kind::Variable
                | Kind::LeftParen => {
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, pos: usize) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err((pos, format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(_) | Arg::Dot | Arg::Nil | Arg::Number(_) | Arg::Str(..)
            ) {
                return Err((
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Cmd> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        let mut arg_pos = Vec::new();
        loop {
            let at = self.peek_non_space().pos;
            if let Some(op) = self.operand()? {
                args.push(op);
                arg_pos.push(at);
            }
            let t = self.next();
            match t.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.i -= 1,
                Kind::Pipe => {}
                _ => return Err(unexpected(&t, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err((pos, "empty command".into()));
        }
        Ok(Cmd { pos, args, arg_pos })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(self.next().text[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field(mut idents) => {
                idents.extend(fields);
                Arg::Field(idents)
            }
            Arg::Variable(name, mut idents) => {
                idents.extend(fields);
                Arg::Variable(name, idents)
            }
            Arg::Bool(_) | Arg::Str(..) | Arg::Number(_) | Arg::Nil | Arg::Dot => {
                return Err((
                    self.peek().pos,
                    format!("unexpected . after term {:?}", node.to_string()),
                ))
            }
            other => Arg::Chain(Box::new(other), fields),
        }))
    }

    fn use_var(&self, pos: usize, name: &str) -> PResult<()> {
        if self.vars.iter().any(|v| v == name) {
            Ok(())
        } else {
            Err((pos, format!("undefined variable {name:?}")))
        }
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.kind {
            Kind::Ident => {
                if !funcs::exists(t.text) {
                    return Err((t.pos, format!("function {:?} not defined", t.text)));
                }
                Arg::Ident(t.text.to_string())
            }
            Kind::Dot => Arg::Dot,
            Kind::Nil => Arg::Nil,
            Kind::Variable => {
                self.use_var(t.pos, t.text)?;
                Arg::Variable(t.text.to_string(), Vec::new())
            }
            Kind::Field => Arg::Field(vec![t.text[1..].to_string()]),
            Kind::Bool => Arg::Bool(t.text == "true"),
            Kind::Char | Kind::Number => Arg::Number(
                number(t.text, t.kind == Kind::Char)
                    .ok_or_else(|| (t.pos, format!("illegal number syntax: {:?}", t.text)))?,
            ),
            Kind::LeftParen => {
                self.enter(t.pos)?;
                let p = self.pipeline("parenthesized pipeline", Kind::RightParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(p?))
            }
            Kind::Str | Kind::RawStr => {
                let s = unquote(t.text).ok_or((t.pos, "invalid syntax".to_string()))?;
                Arg::Str(s, t.text.to_string())
            }
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        }))
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: base prefixes, a leading 0 for
/// octal, `_` between digits.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if digits.contains('_') {
        // Underscores only separate digits, after a base prefix or between
        // digits.
        let b = digits.as_bytes();
        let bad = b.last() == Some(&b'_')
            || digits.contains("__")
            || (!prefixed && b.first() == Some(&b'_'));
        if bad {
            return None;
        }
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() || clean.starts_with(['+', '-']) {
        return None;
    }
    let mag = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if mag > i64::MAX as u64 + 1 {
            return None;
        }
        Some((mag as i64).wrapping_neg())
    } else {
        i64::try_from(mag).ok()
    }
}

/// Go's `strconv.ParseFloat` for template literals (decimal and `_`).
fn parse_go_float(s: &str) -> Option<f64> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    if lower.contains("0x") || lower.contains("inf") || lower.contains("nan") {
        return None;
    }
    clean.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `parse.NumberNode` readings of a literal.
fn number(text: &str, is_char: bool) -> Option<Number> {
    if is_char {
        let c = unquote_char(text)?;
        return Some(Number {
            text: text.to_string(),
            int: Some(i64::from(c as u32)),
            float: Some(f64::from(c as u32)),
            float_literal: false,
        });
    }
    let mut n = Number {
        text: text.to_string(),
        int: parse_go_int(text),
        float: None,
        float_literal: false,
    };
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(f) = parse_go_float(text) {
        if !text.contains(['.', 'e', 'E']) {
            return None; // integer overflow
        }
        n.float = Some(f);
        n.float_literal = true;
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            n.int = Some(f as i64);
        }
    } else {
        return None;
    }
    Some(n)
}

fn unquote_char(text: &str) -> Option<char> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let s = unescape(inner, '\'')?;
    let mut it = s.chars();
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

/// Go's `strconv.Unquote` for "…" and `…` literals.
pub fn unquote(text: &str) -> Option<String> {
    if let Some(raw) = text.strip_prefix('`') {
        return Some(raw.strip_suffix('`')?.replace('\r', ""));
    }
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    unescape(inner, '"')
}

fn unescape(s: &str, quote: char) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == quote {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next()?;
        let hex = |it: &mut std::iter::Peekable<std::str::Chars>, n: usize| -> Option<u32> {
            let mut v = 0u32;
            for _ in 0..n {
                v = v * 16 + it.next()?.to_digit(16)?;
            }
            Some(v)
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' | '"' if e == quote => out.push(e),
            'x' => {
                // A byte; only ASCII bytes keep the string valid UTF-8.
                let v = hex(&mut it, 2)?;
                out.push(
                    char::from_u32(v)
                        .filter(char::is_ascii)
                        .unwrap_or('\u{FFFD}'),
                );
            }
            'u' => out.push(char::from_u32(hex(&mut it, 4)?)?),
            'U' => out.push(char::from_u32(hex(&mut it, 8)?)?),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + it.next()?.to_digit(8)?;
                }
                if v > 255 {
                    return None;
                }
                out.push(
                    char::from_u32(v)
                        .filter(char::is_ascii)
                        .unwrap_or('\u{FFFD}'),
                );
            }
            _ => return None,
        }
    }
    Some(out)
}
