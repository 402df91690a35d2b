//! A validating single-pass JSON object scanner that extracts only the
//! fields a query asks for.
//!
//! It checks the whole line (exactly one object, strict RFC 8259: no
//! trailing data, no raw control characters in strings, valid escapes and
//! numbers) because `| json` must flag every line that is not one valid
//! object, whichever fields the query reads. Extraction follows Loki's `json`
//! stage: nested objects flatten with `_` (`http.client_ip` →
//! `http_client_ip`), keys are sanitized to label names, arrays and `null`s
//! are not extracted, strings are unescaped, numbers and booleans keep their
//! text. A field whose name is already a stream label gets the `_extracted`
//! suffix.
//!
//! Nothing is allocated per line: names are built in scratch buffers and
//! values are written straight into the reused [`Fields`] slots.

use crate::record::Fields;

/// The first reason a line is not one valid JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{msg} at byte {pos}")]
pub struct JsonError {
    pub pos: usize,
    pub msg: &'static str,
}

/// Which flattened field names to extract.
#[derive(Debug, Clone, Default)]
pub enum Want {
    /// Every field (for `--output jsonl`, `keep`, templates over all labels).
    All,
    /// Only these names (label names after flattening and sanitizing).
    Names(NameSet),
    /// Validate only.
    #[default]
    Nothing,
}

/// Wanted names, with their lengths precomputed so that most keys of a
/// line are ruled out by one bit test.
#[derive(Debug, Clone, Default)]
pub struct NameSet {
    names: Vec<String>,
    /// Bit `l` is set when a key of length `l` (< 64) could sanitize to a
    /// wanted name: a name's own length, one less (a leading digit gains
    /// a `_`), and the same for names with the `_extracted` suffix.
    key_lens: u64,
    /// A wanted name is at least this long... (keys of 64+ bytes always
    /// count as candidates).
    max_len: usize,
}

impl NameSet {
    fn new(names: Vec<String>) -> NameSet {
        let mut key_lens = 0u64;
        for n in &names {
            let l = n.len();
            let mut lens = vec![l, l.saturating_sub(1)];
            if let Some(base) = n.strip_suffix("_extracted") {
                lens.push(base.len());
                lens.push(base.len().saturating_sub(1));
            }
            for l in lens {
                if l < 64 {
                    key_lens |= 1 << l;
                }
            }
        }
        let max_len = names.iter().map(String::len).max().unwrap_or(0);
        NameSet {
            names,
            key_lens,
            max_len,
        }
    }

    /// Whether a plain key of this length, holding a scalar, may be wanted.
    #[inline(always)]
    fn scalar_candidate(&self, key_len: usize) -> bool {
        key_len >= 64 || self.key_lens & (1 << key_len) != 0
    }

    /// Whether a plain key of this length, holding an object, may have
    /// wanted names below it.
    #[inline(always)]
    fn object_candidate(&self, key_len: usize) -> bool {
        self.max_len > key_len
    }
}

impl std::ops::Deref for NameSet {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.names
    }
}

impl Want {
    pub fn names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Want {
        let v: Vec<String> = names.into_iter().map(Into::into).collect();
        if v.is_empty() {
            Want::Nothing
        } else {
            Want::Names(NameSet::new(v))
        }
    }

    pub fn is_nothing(&self) -> bool {
        matches!(self, Want::Nothing)
    }

    /// Whether the field `name` is wanted.
    pub fn wants(&self, name: &str) -> bool {
        self.wants_bytes(name.as_bytes())
    }

    pub fn wants_bytes(&self, name: &[u8]) -> bool {
        match self {
            Want::All => true,
            Want::Names(v) => v.iter().any(|n| n.as_bytes() == name),
            Want::Nothing => false,
        }
    }

    /// Whether any wanted name lies below the object prefix `p` (`p_…`).
    fn wants_below(&self, p: &[u8]) -> bool {
        match self {
            Want::All => true,
            Want::Names(v) => v.iter().any(|n| {
                let n = n.as_bytes();
                n.len() > p.len() && n.starts_with(p) && n[p.len()] == b'_'
            }),
            Want::Nothing => false,
        }
    }
}

const MAX_DEPTH: usize = 256;

/// Byte classes inside a JSON string: 0 = ordinary ASCII, 1 = quote,
/// 2 = backslash, 3 = control character (invalid raw), 4 = start of a
/// non-ASCII UTF-8 sequence (validated on the spot, so the line needs no
/// separate UTF-8 pass).
static STRING_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if i < 0x20 {
            3
        } else if i >= 0x80 {
            4
        } else {
            0
        };
        i += 1;
    }
    t[b'"' as usize] = 1;
    t[b'\\' as usize] = 2;
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// SWAR: a mask with the high bit set in each byte of `w` (little endian)
/// that is `"`, `\`, a control character or non-ASCII. The lowest set byte
/// is exact (borrows only spill upwards from a true hit).
#[inline(always)]
fn special_bytes(w: u64) -> u64 {
    let q = w ^ (ONES * b'"' as u64);
    let bs = w ^ (ONES * b'\\' as u64);
    let quote = q.wrapping_sub(ONES) & !q;
    let backslash = bs.wrapping_sub(ONES) & !bs;
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    (quote | backslash | control | w) & HIGHS
}

/// Index of the first byte at or after `i` that is not ordinary string text
/// (or the end of `b` when fewer than a block of bytes remain).
#[inline(always)]
fn skip_plain(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        // SSE2 is part of the x86_64 baseline: 16 bytes per step.
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        while i + 16 <= b.len() {
            // SAFETY: the 16 bytes at `i` are in bounds (checked above);
            // loadu has no alignment requirement; SSE2 is always present on
            // x86_64.
            let mask = unsafe {
                let v = _mm_loadu_si128(b.as_ptr().add(i) as *const __m128i);
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                // Signed compare: control characters and every byte >= 0x80.
                let low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), low))
            };
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let m = special_bytes(w);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// Length of the UTF-8 sequence `b` starts with, if it is a valid one.
#[inline]
fn utf8_sequence(b: &[u8]) -> Option<usize> {
    let len = match b.first()? {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let seq = b.get(..len)?;
    std::str::from_utf8(seq).ok().map(|_| len)
}

fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Appends `key` sanitized as Loki does (`sanitizeLabelKey`): characters
/// other than ASCII letters, digits and `_` become `_`; a leading digit gets
/// a `_` prefix. Returns false for an empty key.
pub fn append_sanitized(out: &mut Vec<u8>, key: &str) -> bool {
    let key = key.trim();
    if key.is_empty() {
        return false;
    }
    if key.as_bytes()[0].is_ascii_digit() {
        out.push(b'_');
    }
    for ch in key.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            out.push(ch as u8);
        } else {
            out.push(b'_');
        }
    }
    true
}

/// Reusable scanner state; one per worker.
#[derive(Default)]
pub struct JsonScanner {
    /// The flattened name of the object being scanned (`http_client`).
    prefix: Vec<u8>,
    /// Scratch for one unescaped key.
    key: String,
    /// Scratch for the final field name.
    name: Vec<u8>,
    /// Scratch for a name with the `_extracted` suffix.
    suffixed: Vec<u8>,
    /// Keep string values that hold U+FFFD as they are (in label values
    /// Loki turns it into a space; envelope fields such as Fly's `message`
    /// are lines, not labels).
    keep_replacement_chars: bool,
    /// For LogQL labels (`Some(0)`): a label already extracted keeps its
    /// value, as in Loki, whose parsers skip a key already extracted for
    /// the line (`Hints.Extracted`).
    first_from: Option<usize>,
}

/// Decides, for an extracted name, whether it clashes with a stream label
/// (and so takes the `_extracted` suffix).
pub trait StreamClash {
    fn clashes(&self, name: &[u8]) -> bool;
}

impl StreamClash for () {
    fn clashes(&self, _: &[u8]) -> bool {
        false
    }
}

impl<F: Fn(&[u8]) -> bool> StreamClash for F {
    fn clashes(&self, name: &[u8]) -> bool {
        self(name)
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn ws(&mut self) {
        // Compact JSON has no whitespace: one comparison and out.
        if self.b.get(self.i).is_none_or(|&c| c > b' ') {
            return;
        }
        while let Some(&c) = self.b.get(self.i) {
            if c == b' ' || c == b'\n' || c == b'\t' || c == b'\r' {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, msg: &'static str) -> JsonError {
        JsonError { pos: self.i, msg }
    }

    /// A member's key at the cursor: its raw contents and whether it has
    /// escapes, as [`Cursor::string`] gives them.
    #[inline(always)]
    fn key(&mut self) -> Result<(usize, usize, bool), JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.err("expected object key"));
        }
        self.string()
    }

    /// The `:` after a member's key, and the whitespace around it.
    #[inline(always)]
    fn colon(&mut self) -> Result<(), JsonError> {
        self.ws();
        if self.peek() != Some(b':') {
            return Err(self.err("expected ':'"));
        }
        self.i += 1;
        self.ws();
        Ok(())
    }

    /// Scans a string whose opening quote is at `self.i`; returns the span of
    /// its raw contents and whether it has escapes. Validates escapes and
    /// UTF-8 as it goes.
    #[inline(always)]
    fn string(&mut self) -> Result<(usize, usize, bool), JsonError> {
        let b = self.b;
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Many bytes at a time over ordinary text.
            self.i = skip_plain(b, self.i);
            let Some(&c) = b.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            // The closing quote is by far the most common stop: test it first.
            if c == b'"' {
                let end = self.i;
                self.i += 1;
                return Ok((start, end, escaped));
            }
            match STRING_CLASS[c as usize] {
                0 => self.i += 1,
                2 => {
                    escaped = true;
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            let hex = b.get(self.i + 1..self.i + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.err("invalid \\u escape"));
                            }
                            self.i += 5;
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                3 => return Err(self.err("control character in string")),
                _ => match utf8_sequence(&b[self.i..]) {
                    Some(len) => self.i += len,
                    None => return Err(self.err("invalid UTF-8")),
                },
            }
        }
    }

    fn number(&mut self) -> Result<(), JsonError> {
        let b = self.b;
        if b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while b.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
            }
            _ => return Err(self.err("invalid number")),
        }
        if b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !b.get(self.i).is_some_and(u8::is_ascii_digit) {
                return Err(self.err("invalid number"));
            }
            while b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
        }
        if matches!(b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !b.get(self.i).is_some_and(u8::is_ascii_digit) {
                return Err(self.err("invalid number"));
            }
            while b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    /// Skips a value, with the common scalars handled inline.
    #[inline(always)]
    fn skip_scalar_or_value(&mut self, depth: usize) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.skip_value(depth),
        }
    }

    /// Validates any value without extracting it.
    fn skip_value(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.key()?;
                    self.colon()?;
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            self.ws();
                        }
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            self.ws();
                        }
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of input")),
        }
    }
}

/// One step of a `json` extraction path, for [`find_path`].
#[derive(Debug, Clone, Copy)]
pub enum PathStep<'p> {
    Key(&'p str),
    Index(usize),
}

/// What [`find_path`] found: the value's raw text as it is in the line.
#[derive(Debug, PartialEq)]
pub enum Found<'a> {
    Null,
    /// A string's contents between the quotes, still escaped.
    Str(&'a [u8]),
    Object(&'a [u8]),
    Array(&'a [u8]),
    /// A number, `true` or `false`.
    Scalar(&'a [u8]),
}

/// Walks `line` along `path` as buger/jsonparser's `EachKey` (Loki's
/// `JSONExpressionParser`) does: lazily, reading only what lies before the
/// value, so what follows it is not checked; the first of duplicate keys
/// wins. `Ok(None)` when the path leads nowhere.
pub fn find_path<'a>(
    line: &'a [u8],
    path: &[PathStep<'_>],
) -> Result<Option<Found<'a>>, JsonError> {
    let mut c = Cursor { b: line, i: 0 };
    let mut key = String::new();
    c.ws();
    for step in path {
        match (step, c.peek()) {
            (PathStep::Key(want), Some(b'{')) => {
                c.i += 1;
                c.ws();
                if c.peek() == Some(b'}') {
                    return Ok(None);
                }
                loop {
                    let (s, e, escaped) = c.key()?;
                    let hit = if escaped {
                        key.clear();
                        unescape_into(&line[s..e], &mut key);
                        key == *want
                    } else {
                        &line[s..e] == want.as_bytes()
                    };
                    c.colon()?;
                    if hit {
                        break;
                    }
                    c.skip_value(1)?;
                    c.ws();
                    match c.peek() {
                        Some(b',') => {
                            c.i += 1;
                            c.ws();
                        }
                        Some(b'}') => return Ok(None),
                        _ => return Err(c.err("expected ',' or '}'")),
                    }
                }
            }
            (PathStep::Index(n), Some(b'[')) => {
                c.i += 1;
                c.ws();
                if c.peek() == Some(b']') {
                    return Ok(None);
                }
                for _ in 0..*n {
                    c.skip_value(1)?;
                    c.ws();
                    match c.peek() {
                        Some(b',') => {
                            c.i += 1;
                            c.ws();
                        }
                        Some(b']') => return Ok(None),
                        _ => return Err(c.err("expected ',' or ']'")),
                    }
                }
            }
            (_, None) => return Err(c.err("unexpected end of input")),
            _ => return Ok(None),
        }
    }
    let start = c.i;
    Ok(Some(match c.peek() {
        Some(b'"') => {
            let (s, e, _) = c.string()?;
            Found::Str(&line[s..e])
        }
        Some(b'n') => {
            c.literal(b"null")?;
            Found::Null
        }
        Some(open @ (b'{' | b'[')) => {
            c.skip_value(1)?;
            let raw = &line[start..c.i];
            if open == b'{' {
                Found::Object(raw)
            } else {
                Found::Array(raw)
            }
        }
        _ => {
            c.skip_value(1)?;
            Found::Scalar(&line[start..c.i])
        }
    }))
}

/// Calls `member(raw key, value)` for each member of the object `line`
/// holds, in order, as buger/jsonparser's `ObjectEach` (Loki's `unpack`):
/// the key is passed as written (still escaped).
pub fn each_member<'a>(
    line: &'a [u8],
    mut member: impl FnMut(&'a [u8], Found<'a>),
) -> Result<(), JsonError> {
    let mut c = Cursor { b: line, i: 0 };
    c.ws();
    if c.peek() != Some(b'{') {
        return Err(c.err("expected object"));
    }
    c.i += 1;
    c.ws();
    if c.peek() == Some(b'}') {
        return Ok(());
    }
    loop {
        let (ks, ke, _) = c.key()?;
        c.colon()?;
        let start = c.i;
        let found = match c.peek() {
            Some(b'"') => {
                let (s, e, _) = c.string()?;
                Found::Str(&line[s..e])
            }
            Some(b'n') => {
                c.literal(b"null")?;
                Found::Null
            }
            Some(open @ (b'{' | b'[')) => {
                c.skip_value(1)?;
                if open == b'{' {
                    Found::Object(&line[start..c.i])
                } else {
                    Found::Array(&line[start..c.i])
                }
            }
            _ => {
                c.skip_value(1)?;
                Found::Scalar(&line[start..c.i])
            }
        };
        member(&line[ks..ke], found);
        c.ws();
        match c.peek() {
            Some(b',') => {
                c.i += 1;
                c.ws();
            }
            Some(b'}') => return Ok(()),
            _ => return Err(c.err("expected ',' or '}'")),
        }
    }
}

/// Unescapes the raw contents of a JSON string (already validated) into
/// `out`. Lone surrogates become U+FFFD; returns false if there was one (Go's
/// jsonparser refuses such a string, so Loki's label value is "").
pub fn unescape_into(raw: &[u8], out: &mut String) -> bool {
    let mut whole = true;
    let mut i = 0;
    let mut plain_start = 0;
    let flush = |from: usize, to: usize, out: &mut String| {
        // The line was validated as UTF-8 and escapes sit on ASCII
        // boundaries, so these slices are valid UTF-8.
        out.push_str(std::str::from_utf8(&raw[from..to]).unwrap_or("\u{FFFD}"));
    };
    while i < raw.len() {
        if raw[i] != b'\\' {
            i += 1;
            continue;
        }
        flush(plain_start, i, out);
        let c = raw.get(i + 1).copied().unwrap_or(b'\\');
        i += 2;
        match c {
            b'n' => out.push('\n'),
            b't' => out.push('\t'),
            b'r' => out.push('\r'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'u' => {
                let hi = hex4(raw.get(i..i + 4));
                i += 4;
                let ch = match hi {
                    Some(h @ 0xD800..=0xDBFF) => {
                        let lo = if raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u') {
                            hex4(raw.get(i + 2..i + 6))
                        } else {
                            None
                        };
                        match lo {
                            Some(l @ 0xDC00..=0xDFFF) => {
                                i += 6;
                                char::from_u32(0x10000 + ((h - 0xD800) << 10) + (l - 0xDC00))
                            }
                            _ => None,
                        }
                    }
                    Some(h) => char::from_u32(h),
                    None => None,
                };
                whole &= ch.is_some();
                out.push(ch.unwrap_or('\u{FFFD}'));
            }
            other => out.push(other as char),
        }
        plain_start = i;
    }
    flush(plain_start, raw.len().max(plain_start), out);
    whole
}

fn hex4(b: Option<&[u8]>) -> Option<u32> {
    let b = b?;
    let s = std::str::from_utf8(b).ok()?;
    u32::from_str_radix(s, 16).ok()
}

impl JsonScanner {
    pub fn new() -> Self {
        JsonScanner::default()
    }

    /// Validates `line` as exactly one JSON object (whitespace around it
    /// allowed) and stores the wanted fields in `out`. On error the fields
    /// extracted before the error stay, as in Loki.
    pub fn scan(
        &mut self,
        line: &[u8],
        want: &Want,
        clash: &impl StreamClash,
        out: &mut Fields,
    ) -> Result<(), JsonError> {
        // UTF-8 is validated inside strings as they are scanned; any other
        // non-ASCII byte is a JSON syntax error anyway.
        let mut c = Cursor { b: line, i: 0 };
        c.ws();
        if c.peek() != Some(b'{') {
            return Err(c.err(if c.peek().is_none() {
                "empty line"
            } else {
                "not a JSON object"
            }));
        }
        self.prefix.clear();
        self.object(&mut c, 0, true, want, clash, out)?;
        c.ws();
        if c.i != line.len() {
            return Err(c.err("trailing data after the object"));
        }
        Ok(())
    }

    /// [`JsonScanner::scan`] for LogQL labels (`label_values`); otherwise
    /// string values holding U+FFFD are kept as they are (metrics read
    /// values as data, and envelope fields such as Fly's `message` are
    /// lines, not labels).
    pub fn scan_or_keep(
        &mut self,
        label_values: bool,
        line: &[u8],
        want: &Want,
        clash: &impl StreamClash,
        out: &mut Fields,
    ) -> Result<(), JsonError> {
        self.keep_replacement_chars = !label_values;
        self.first_from = label_values.then_some(0);
        let r = self.scan(line, want, clash, out);
        self.keep_replacement_chars = false;
        self.first_from = None;
        r
    }

    /// [`JsonScanner::scan`] for a `| json` stage: a field at index `since`
    /// or later (a label an earlier stage extracted) keeps its value, as
    /// Loki's parser skips a key already extracted for the line; fields
    /// before `since` (structured metadata) may be replaced.
    pub fn scan_labels(
        &mut self,
        line: &[u8],
        want: &Want,
        clash: &impl StreamClash,
        out: &mut Fields,
        since: usize,
    ) -> Result<(), JsonError> {
        self.first_from = Some(since);
        let r = self.scan(line, want, clash, out);
        self.first_from = None;
        r
    }

    /// Validates only (no extraction): is `line` exactly one JSON object?
    pub fn validate(line: &[u8]) -> Result<(), JsonError> {
        let mut c = Cursor { b: line, i: 0 };
        c.ws();
        if c.peek() != Some(b'{') {
            return Err(c.err("not a JSON object"));
        }
        c.skip_value(0)?;
        c.ws();
        if c.i != line.len() {
            return Err(c.err("trailing data after the object"));
        }
        Ok(())
    }

    /// Scans an object at the cursor, extracting when `extracting` is set
    /// (the current prefix may hold wanted names).
    fn object(
        &mut self,
        c: &mut Cursor<'_>,
        depth: usize,
        extracting: bool,
        want: &Want,
        clash: &impl StreamClash,
        out: &mut Fields,
    ) -> Result<(), JsonError> {
        if !extracting {
            return c.skip_value(depth);
        }
        if depth > MAX_DEPTH {
            return Err(c.err("nested too deeply"));
        }
        c.i += 1; // '{'
        c.ws();
        if c.peek() == Some(b'}') {
            c.i += 1;
            return Ok(());
        }
        loop {
            let (ks, ke, kesc) = c.key()?;
            c.colon()?;
            let raw_key = &c.b[ks..ke];
            // Most keys are not wanted: rule them out by length before
            // building a name (a sanitized name is as long as its key, one
            // more with a leading digit, ten more with `_extracted`).
            if !kesc && prefix_is_empty(&self.prefix) {
                if let Want::Names(v) = want {
                    let l = raw_key.len();
                    let candidate = if c.peek() == Some(b'{') {
                        v.object_candidate(l)
                    } else {
                        v.scalar_candidate(l)
                    };
                    if !candidate {
                        c.skip_scalar_or_value(depth + 1)?;
                        c.ws();
                        match c.peek() {
                            Some(b',') => {
                                c.i += 1;
                                c.ws();
                                continue;
                            }
                            Some(b'}') => {
                                c.i += 1;
                                return Ok(());
                            }
                            _ => return Err(c.err("expected ',' or '}'")),
                        }
                    }
                }
            }
            // The flattened, sanitized name of this key. A plain top-level
            // key is its own name: no copy.
            let simple = !kesc
                && !raw_key.is_empty()
                && !raw_key[0].is_ascii_digit()
                && raw_key.iter().all(|&b| is_label_char(b));
            let prefix_len = self.prefix.len();
            let named = if simple && prefix_len == 0 {
                true
            } else {
                self.name.clear();
                self.name.extend_from_slice(&self.prefix);
                if !self.name.is_empty() {
                    self.name.push(b'_');
                }
                if simple {
                    self.name.extend_from_slice(raw_key);
                    true
                } else {
                    self.key.clear();
                    unescape_into(raw_key, &mut self.key);
                    append_sanitized(&mut self.name, &self.key)
                }
            };
            let name: &[u8] = if simple && prefix_len == 0 {
                raw_key
            } else {
                &self.name
            };
            match c.peek() {
                Some(b'{') => {
                    if named && want.wants_below(name) {
                        if !(simple && prefix_len == 0) {
                            std::mem::swap(&mut self.prefix, &mut self.name);
                        } else {
                            self.prefix.extend_from_slice(raw_key);
                        }
                        let r = self.object(c, depth + 1, true, want, clash, out);
                        self.prefix.truncate(prefix_len);
                        r?;
                    } else {
                        c.skip_value(depth + 1)?;
                    }
                }
                Some(b'"') => {
                    let (vs, ve, vesc) = c.string()?;
                    if named {
                        let raw = &c.b[vs..ve];
                        let keep_replacement = self.keep_replacement_chars;
                        emit(
                            name,
                            &mut self.suffixed,
                            want,
                            clash,
                            self.first_from,
                            out,
                            |buf| {
                                let whole = if vesc {
                                    unescape_into(raw, buf)
                                } else {
                                    buf.push_str(std::str::from_utf8(raw).unwrap_or(""));
                                    true
                                };
                                // Loki's unescapeJSONString: a string its
                                // unescaper refuses (a lone surrogate) is
                                // "", and U+FFFD, which Prometheus rejects,
                                // becomes a space.
                                if !keep_replacement && !whole {
                                    buf.clear();
                                } else if !keep_replacement && buf.contains('\u{FFFD}') {
                                    replace_in_place(buf, '\u{FFFD}', ' ');
                                }
                            },
                        );
                    }
                }
                Some(b'-' | b'0'..=b'9') => {
                    let vs = c.i;
                    c.number()?;
                    if named {
                        let raw = &c.b[vs..c.i];
                        emit(
                            name,
                            &mut self.suffixed,
                            want,
                            clash,
                            self.first_from,
                            out,
                            |buf| buf.push_str(std::str::from_utf8(raw).unwrap_or("")),
                        );
                    }
                }
                Some(b't') => {
                    c.literal(b"true")?;
                    if named {
                        emit(
                            name,
                            &mut self.suffixed,
                            want,
                            clash,
                            self.first_from,
                            out,
                            |buf| buf.push_str("true"),
                        );
                    }
                }
                Some(b'f') => {
                    c.literal(b"false")?;
                    if named {
                        emit(
                            name,
                            &mut self.suffixed,
                            want,
                            clash,
                            self.first_from,
                            out,
                            |buf| buf.push_str("false"),
                        );
                    }
                }
                // Arrays and nulls are validated but not extracted.
                _ => c.skip_value(depth + 1)?,
            }
            c.ws();
            match c.peek() {
                Some(b',') => {
                    c.i += 1;
                    c.ws();
                }
                Some(b'}') => {
                    c.i += 1;
                    return Ok(());
                }
                _ => return Err(c.err("expected ',' or '}'")),
            }
        }
    }
}

#[inline(always)]
fn prefix_is_empty(p: &[u8]) -> bool {
    p.is_empty()
}

/// Replaces every `from` in `buf` by `to` (rare: values holding U+FFFD).
fn replace_in_place(buf: &mut String, from: char, to: char) {
    *buf = buf.replace(from, to.encode_utf8(&mut [0; 4]));
}

/// Stores a value under `name` if wanted, applying the `_extracted` rule
/// for names that are stream labels. Unwanted keys cost a few length
/// comparisons.
#[inline]
#[allow(clippy::too_many_arguments)]
fn emit(
    name: &[u8],
    suffixed: &mut Vec<u8>,
    want: &Want,
    clash: &impl StreamClash,
    first_from: Option<usize>,
    out: &mut Fields,
    fill: impl FnOnce(&mut String),
) {
    // Loki's JSON parser does not overwrite a label this line already set
    // (`{"dup":"first","dup":"second"} | json` gives dup="first").
    const SUFFIX: &[u8] = b"_extracted";
    let with_suffix = |suffixed: &mut Vec<u8>| {
        suffixed.clear();
        suffixed.extend_from_slice(name);
        suffixed.extend_from_slice(SUFFIX);
    };
    match want {
        Want::Nothing => {}
        Want::All => {
            if clash.clashes(name) {
                with_suffix(suffixed);
                out.set_unless_set_since(suffixed, first_from, fill);
            } else {
                out.set_unless_set_since(name, first_from, fill);
            }
        }
        Want::Names(v) => {
            if v.iter().any(|n| n.as_bytes() == name) && !clash.clashes(name) {
                out.set_unless_set_since(name, first_from, fill);
                return;
            }
            let suffixed_wanted = v.iter().any(|n| {
                let n = n.as_bytes();
                n.len() == name.len() + SUFFIX.len() && n.starts_with(name) && n.ends_with(SUFFIX)
            });
            if suffixed_wanted && clash.clashes(name) {
                with_suffix(suffixed);
                out.set_unless_set_since(suffixed, first_from, fill);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(line: &str, want: &Want) -> Result<Vec<(String, String)>, JsonError> {
        let mut s = JsonScanner::new();
        let mut f = Fields::new();
        s.scan(line.as_bytes(), want, &(), &mut f)?;
        Ok(f.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect())
    }

    /// A key already extracted keeps its first value for LogQL labels, as
    /// in Loki (`JSONParser.parseLabelValue` skips a key that
    /// `Hints.Extracted` names; `parsers.logqltest`:
    /// `{"dup":"first","dup":"second"} | json` gives dup="first"), also
    /// against an earlier stage's label; read as data (the report) the
    /// last one wins, as in jq.
    #[test]
    fn repeated_keys_keep_the_first_value_as_labels() {
        let line = br#"{"dup":"first","a":{"b":1},"dup":"second","a_b":2,"x":3}"#;
        for (label_values, dup, a_b, x) in
            [(true, "first", "1", "before"), (false, "second", "2", "3")]
        {
            let mut s = JsonScanner::new();
            let mut f = Fields::new();
            f.set("x", "before");
            s.scan_or_keep(label_values, line, &Want::All, &(), &mut f)
                .unwrap();
            assert_eq!(f.get("dup"), Some(dup), "label_values={label_values}");
            assert_eq!(f.get("a_b"), Some(a_b), "label_values={label_values}");
            assert_eq!(f.get("x"), Some(x), "label_values={label_values}");
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn flattens_like_loki() {
        let got = scan(
            r#"{"a":1,"b":"x\"y","n":{"c":true,"d":{"e":-1.5e3}},"arr":[1,2],"z":null,"k-ey":"v","1x":"w"}"#,
            &Want::All,
        )
        .unwrap();
        assert_eq!(
            got,
            pairs(&[
                ("a", "1"),
                ("b", "x\"y"),
                ("n_c", "true"),
                ("n_d_e", "-1.5e3"),
                ("k_ey", "v"),
                ("_1x", "w"),
            ])
        );
    }

    #[test]
    fn extracts_only_wanted() {
        let want = Want::names(["status", "http_ip"]);
        let got = scan(
            r#"{"status":503,"path":"/x","http":{"ip":"1.2.3.4","ua":"c"}}"#,
            &want,
        )
        .unwrap();
        assert_eq!(got, pairs(&[("status", "503"), ("http_ip", "1.2.3.4")]));
    }

    #[test]
    fn validates_strictly() {
        for bad in [
            "",
            "   ",
            "[1,2]",
            "42",
            "\"s\"",
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":1} x"#,
            r#"{"a":1}{"b":2}"#,
            r#"{a:1}"#,
            r#"{"a" 1}"#,
            r#"{"a":"\u12"}"#,
        ] {
            assert!(scan(bad, &Want::All).is_err(), "{bad:?} should be invalid");
            assert!(JsonScanner::validate(bad.as_bytes()).is_err(), "{bad:?}");
        }
        for good in [
            "{}",
            " {\"a\" : [ {\"b\":[]} , 1e-3, -0, \"\\u00e9\\ud83d\\ude00\" ] } ",
            r#"{"a":{"b":{"c":{}}}}"#,
        ] {
            assert!(scan(good, &Want::All).is_ok(), "{good:?} should be valid");
            assert!(JsonScanner::validate(good.as_bytes()).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut s = JsonScanner::new();
        let mut f = Fields::new();
        let e = s
            .scan(b"{\"a\":\"\xff\"}", &Want::All, &(), &mut f)
            .unwrap_err();
        assert_eq!(e.msg, "invalid UTF-8");
    }

    #[test]
    fn unescapes_unicode() {
        let got = scan(r#"{"q":"caf\u00e9 \ud83d\ude00\n"}"#, &Want::All).unwrap();
        assert_eq!(got, pairs(&[("q", "café 😀\n")]));
        // A lone surrogate: Go's jsonparser refuses the string, so Loki's
        // value is "".
        let got = scan(r#"{"q":"\ud800"}"#, &Want::All).unwrap();
        assert_eq!(got, pairs(&[("q", "")]));
        // U+FFFD, escaped or not, becomes a space (Loki's
        // unescapeJSONString, removeInvalidUtf).
        let got = scan("{\"q\":\"a\\ufffdb\",\"r\":\"c\u{FFFD}d\"}", &Want::All).unwrap();
        assert_eq!(got, pairs(&[("q", "a b"), ("r", "c d")]));
    }

    #[test]
    fn stream_label_clash_gets_suffix() {
        let mut s = JsonScanner::new();
        let mut f = Fields::new();
        let clash = |n: &[u8]| n == b"filename";
        s.scan(br#"{"filename":"x","a":"1"}"#, &Want::All, &clash, &mut f)
            .unwrap();
        assert_eq!(f.get("filename_extracted"), Some("x"));
        assert_eq!(f.get("filename"), None);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(scan(&deep, &Want::All).is_err());
        let deep_obj = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        assert!(scan(&deep_obj, &Want::All).is_err());
    }

    #[test]
    fn partial_fields_kept_on_error() {
        let mut s = JsonScanner::new();
        let mut f = Fields::new();
        assert!(s
            .scan(br#"{"status":500,"pa"#, &Want::All, &(), &mut f)
            .is_err());
        assert_eq!(f.get("status"), Some("500"));
    }
}
