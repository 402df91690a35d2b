//! The lexer of Go's text/template: text and actions (`{{ … }}`), with
//! trim markers (`{{- `, ` -}}`) and comments (`{{/* … */}}`).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Ident,
    Keyword,
    Field,
    Variable,
    Dot,
    Str,
    RawStr,
    Char,
    Number,
    Bool,
    Nil,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    /// Any other printable ASCII character (`,` in range declarations).
    Other,
    Eof,
}

#[derive(Debug, Clone)]
pub struct Item<'s> {
    pub kind: Kind,
    /// Byte offset in the template.
    pub pos: usize,
    pub text: &'s str,
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `src` into tokens; the error is (byte offset, message).
pub fn lex(src: &str) -> Result<Vec<Item<'_>>, (usize, String)> {
    let mut l = Lexer {
        src,
        pos: 0,
        items: Vec::new(),
    };
    l.run()?;
    Ok(l.items)
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    items: Vec<Item<'s>>,
}

impl<'s> Lexer<'s> {
    fn emit(&mut self, kind: Kind, start: usize, end: usize) {
        self.items.push(Item {
            kind,
            pos: start,
            text: &self.src[start..end],
        });
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn run(&mut self) -> Result<(), (usize, String)> {
        let b = self.src.as_bytes();
        loop {
            let Some(open) = self.rest().find("{{") else {
                if self.pos < self.src.len() {
                    self.emit(Kind::Text, self.pos, self.src.len());
                }
                self.emit(Kind::Eof, self.src.len(), self.src.len());
                return Ok(());
            };
            let open = self.pos + open;
            let left_trim =
                b.get(open + 2) == Some(&b'-') && b.get(open + 3).is_some_and(|&c| is_space(c));
            let mut text_end = open;
            if left_trim {
                while text_end > self.pos && is_space(b[text_end - 1]) {
                    text_end -= 1;
                }
            }
            if text_end > self.pos {
                self.emit(Kind::Text, self.pos, text_end);
            }
            self.pos = open + 2;
            if left_trim {
                self.pos += 2;
            }
            if self.rest().starts_with("/*") {
                self.comment(open)?;
                continue;
            }
            self.emit(Kind::LeftDelim, open, open + 2);
            self.inside_action()?;
        }
    }

    /// After `{{/*`: the comment must end right before the delimiter.
    fn comment(&mut self, open: usize) -> Result<(), (usize, String)> {
        let Some(end) = self.rest()[2..].find("*/") else {
            return Err((open, "unclosed comment".into()));
        };
        self.pos += 2 + end + 2;
        let (close, trim) = self.at_right_delim();
        if !close {
            return Err((open, "comment ends before closing delimiter".into()));
        }
        self.pos += if trim { 4 } else { 2 };
        if trim {
            self.trim_following();
        }
        Ok(())
    }

    /// Whether the input is at `}}` or ` -}}`.
    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest().as_bytes();
        if r.len() >= 4 && is_space(r[0]) && r[1] == b'-' && &r[2..4] == b"}}" {
            return (true, true);
        }
        (r.starts_with(b"}}"), false)
    }

    fn trim_following(&mut self) {
        let b = self.src.as_bytes();
        while self.pos < b.len() && is_space(b[self.pos]) {
            self.pos += 1;
        }
    }

    fn inside_action(&mut self) -> Result<(), (usize, String)> {
        let mut depth = 0usize;
        loop {
            let (close, trim) = self.at_right_delim();
            if close {
                if depth > 0 {
                    return Err((self.pos, "unclosed left paren".into()));
                }
                let start = self.pos + if trim { 2 } else { 0 };
                self.emit(Kind::RightDelim, start, start + 2);
                self.pos = start + 2;
                if trim {
                    self.trim_following();
                }
                return Ok(());
            }
            let start = self.pos;
            let Some(c) = self.rest().chars().next() else {
                return Err((start, "unclosed action".into()));
            };
            let b = self.src.as_bytes();
            match c {
                c if c.is_ascii() && is_space(c as u8) => {
                    while self.pos < b.len() && is_space(b[self.pos]) && !self.at_right_delim().1 {
                        self.pos += 1;
                    }
                    self.emit(Kind::Space, start, self.pos);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Kind::Assign, start, self.pos);
                }
                ':' => {
                    if b.get(start + 1) != Some(&b'=') {
                        return Err((start, "expected :=".into()));
                    }
                    self.pos += 2;
                    self.emit(Kind::Declare, start, self.pos);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Kind::Pipe, start, self.pos);
                }
                '"' => self.quote(start, b'"', Kind::Str, "unterminated quoted string")?,
                '\'' => self.quote(start, b'\'', Kind::Char, "unterminated character constant")?,
                '`' => {
                    let Some(end) = self.src[start + 1..].find('`') else {
                        return Err((start, "unterminated raw quoted string".into()));
                    };
                    self.pos = start + 1 + end + 1;
                    self.emit(Kind::RawStr, start, self.pos);
                }
                '$' => self.field_or_variable(start, Kind::Variable)?,
                '.' => {
                    if b.get(start + 1).is_some_and(u8::is_ascii_digit) {
                        self.number(start)?;
                    } else {
                        self.field_or_variable(start, Kind::Field)?;
                    }
                }
                '+' | '-' | '0'..='9' => self.number(start)?,
                c if is_alnum(c) => {
                    let end = self
                        .rest()
                        .find(|c: char| !is_alnum(c))
                        .map_or(self.src.len(), |e| start + e);
                    self.pos = end;
                    self.check_terminator()?;
                    let word = &self.src[start..end];
                    let kind = if KEYWORDS.contains(&word) {
                        Kind::Keyword
                    } else if word == "true" || word == "false" {
                        Kind::Bool
                    } else if word == "nil" {
                        Kind::Nil
                    } else {
                        Kind::Ident
                    };
                    self.emit(kind, start, end);
                }
                '(' => {
                    depth += 1;
                    self.pos += 1;
                    self.emit(Kind::LeftParen, start, self.pos);
                }
                ')' => {
                    if depth == 0 {
                        return Err((start, "unexpected right paren".into()));
                    }
                    depth -= 1;
                    self.pos += 1;
                    self.emit(Kind::RightParen, start, self.pos);
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.pos += 1;
                    self.emit(Kind::Other, start, self.pos);
                }
                c => {
                    return Err((
                        start,
                        format!("unrecognized character in action: U+{:04X}", c as u32),
                    ))
                }
            }
        }
    }

    fn quote(
        &mut self,
        start: usize,
        q: u8,
        kind: Kind,
        unterminated: &str,
    ) -> Result<(), (usize, String)> {
        let b = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match b.get(i) {
                None | Some(b'\n') => return Err((start, unterminated.into())),
                Some(b'\\') => i += 2,
                Some(&c) if c == q => break,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        self.emit(kind, start, self.pos);
        Ok(())
    }

    fn check_terminator(&self) -> Result<(), (usize, String)> {
        let r = self.rest();
        let Some(c) = r.chars().next() else {
            return Ok(());
        };
        if (c.is_ascii() && is_space(c as u8))
            || matches!(c, '.' | ',' | '|' | ':' | ')' | '(' | '=')
            || r.starts_with("}}")
        {
            return Ok(());
        }
        Err((self.pos, format!("bad character U+{:04X} '{c}'", c as u32)))
    }

    /// `.name`, `$name`, a lone `.` or `$`.
    fn field_or_variable(&mut self, start: usize, kind: Kind) -> Result<(), (usize, String)> {
        self.pos = start + 1;
        let r = self.rest();
        let n = r.find(|c: char| !is_alnum(c)).unwrap_or(r.len());
        if n == 0 {
            self.check_terminator()?;
            let k = if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            };
            self.emit(k, start, self.pos);
            return Ok(());
        }
        self.pos += n;
        self.check_terminator()?;
        self.emit(kind, start, self.pos);
        Ok(())
    }

    /// Go's `scanNumber`: sign, base prefix, digits with `_`, fraction,
    /// exponent; anything alphanumeric right after is an error.
    fn number(&mut self, start: usize) -> Result<(), (usize, String)> {
        let b = self.src.as_bytes();
        let mut i = start;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let mut radix = 10;
        if b.get(i) == Some(&b'0') {
            i += 1;
            match b.get(i) {
                Some(b'x' | b'X') => {
                    radix = 16;
                    i += 1;
                }
                Some(b'o' | b'O') => {
                    radix = 8;
                    i += 1;
                }
                Some(b'b' | b'B') => {
                    radix = 2;
                    i += 1;
                }
                _ => {}
            }
        }
        let digit = |c: u8| c == b'_' || (c as char).is_digit(radix);
        while b.get(i).is_some_and(|&c| digit(c)) {
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(|&c| digit(c)) {
                i += 1;
            }
        }
        let exp: &[u8] = match radix {
            10 => b"eE",
            16 => b"pP",
            _ => b"",
        };
        if b.get(i).is_some_and(|c| exp.contains(c)) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            while b.get(i).is_some_and(|&c| c.is_ascii_digit() || c == b'_') {
                i += 1;
            }
        }
        if b.get(i) == Some(&b'i') {
            i += 1;
        }
        let next = self.src[i..].chars().next();
        if i == start || next.is_some_and(is_alnum) {
            let end = i + next.map_or(0, char::len_utf8);
            return Err((
                start,
                format!("bad number syntax: {:?}", &self.src[start..end]),
            ));
        }
        self.pos = i;
        self.emit(Kind::Number, start, i);
        Ok(())
    }
}
