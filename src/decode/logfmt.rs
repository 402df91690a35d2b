//! logfmt: `level=info msg="request done" status=200 dur=1.2ms`.
//!
//! The scanner follows Loki's `logfmt.Decoder` (`pkg/logql/log/logfmt`),
//! which its `logfmt` stage uses: keys run to `=` or a space, values are
//! bare words or double-quoted strings with Go escapes; a bare key has an
//! empty value. An unterminated quote, a stray `=` or `"`, or a key holding
//! U+FFFD is an error: the pair is skipped and scanning goes on (or stops,
//! for `--strict`). Keys are sanitized into label names like the JSON keys
//! are; a repeated key keeps its first value.

use super::{DecodeCtx, Decoded, Want};
use crate::decode::json::append_sanitized;
use crate::record::Fields;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("logfmt syntax error at pos {} : {msg}", .pos + 1)]
pub struct LogfmtError {
    pub pos: usize,
    pub msg: &'static str,
}

/// Loki's `logfmt.Decoder` (`pkg/logql/log/logfmt/decode.go`): one
/// `ScanKeyval` step at a time. A pair that does not scan is skipped up to
/// the next space and recorded as the decoder's error; the caller decides
/// whether to go on (Loki's parser does, unless `--strict`).
struct Decoder<'a> {
    line: &'a [u8],
    pos: usize,
    err: Option<LogfmtError>,
}

/// A scanned value: absent (bare key, `k=` or `k= `), bare, or quoted (the
/// bytes between the quotes, still escaped).
enum Val<'a> {
    None,
    Bare(&'a [u8]),
    Quoted(&'a [u8]),
}

/// Whether `b` holds U+FFFD or is not valid UTF-8 (Go's
/// `bytes.ContainsRune(b, utf8.RuneError)`).
fn contains_rune_error(b: &[u8]) -> bool {
    match std::str::from_utf8(b) {
        Ok(s) => s.contains('\u{FFFD}'),
        Err(_) => true,
    }
}

impl<'a> Decoder<'a> {
    fn eol(&self) -> bool {
        self.pos >= self.line.len()
    }

    fn error(&mut self, pos: usize, msg: &'static str) {
        self.err = Some(LogfmtError { pos, msg });
    }

    /// Skips to the next space (`skip_value`) and reports no pair.
    fn skip_value(&mut self) -> Option<(&'a [u8], Val<'a>)> {
        let line = self.line;
        while self.pos < line.len() && line[self.pos] > b' ' {
            self.pos += 1;
        }
        None
    }

    /// `ScanKeyval`: the next pair, or `None` for a pair that does not scan
    /// (error recorded) or trailing spaces.
    fn scan_keyval(&mut self) -> Option<(&'a [u8], Val<'a>)> {
        let line = self.line;
        let n = line.len();
        while self.pos < n && line[self.pos] <= b' ' {
            self.pos += 1;
        }
        if self.pos >= n {
            return None;
        }
        // key
        let start = self.pos;
        let mut multibyte = false;
        let key;
        loop {
            if self.pos >= n {
                key = &line[start..];
                if multibyte && contains_rune_error(key) {
                    self.error(self.pos, "invalid key");
                    return None;
                }
                return Some((key, Val::None));
            }
            let c = line[self.pos];
            if c == b'=' {
                if self.pos == start {
                    self.error(self.pos, "unexpected '='");
                    return self.skip_value();
                }
                key = &line[start..self.pos];
                if multibyte && contains_rune_error(key) {
                    self.error(self.pos, "invalid key");
                    return self.skip_value();
                }
                break;
            } else if c == b'"' {
                self.error(self.pos, "unexpected '\"'");
                return self.skip_value();
            } else if c <= b' ' {
                key = &line[start..self.pos];
                if multibyte && contains_rune_error(key) {
                    self.error(self.pos, "invalid key");
                    return None;
                }
                return Some((key, Val::None));
            } else if c >= 0x80 {
                multibyte = true;
            }
            self.pos += 1;
        }
        // equal
        self.pos += 1;
        if self.pos >= n || line[self.pos] <= b' ' {
            return Some((key, Val::None));
        }
        if line[self.pos] == b'"' {
            // qvalue
            let open = self.pos;
            let mut esc = false;
            let mut j = open + 1;
            while j < n {
                let c = line[j];
                if esc {
                    esc = false;
                } else if c == b'\\' {
                    esc = true;
                } else if c == b'"' {
                    self.pos = j + 1;
                    return Some((key, Val::Quoted(&line[open + 1..j])));
                }
                j += 1;
            }
            self.pos = n;
            self.error(n, "unterminated quoted value");
            return None;
        }
        let vs = self.pos;
        while self.pos < n {
            let c = line[self.pos];
            if c == b'=' || c == b'"' {
                self.error(
                    self.pos,
                    if c == b'=' {
                        "unexpected '='"
                    } else {
                        "unexpected '\"'"
                    },
                );
                return self.skip_value();
            }
            if c <= b' ' {
                break;
            }
            self.pos += 1;
        }
        Some((key, Val::Bare(&line[vs..self.pos])))
    }
}

/// Calls `pair(key, value, quoted)` for every pair that scans, as Loki's
/// logfmt parser loops over `ScanKeyval`: a malformed pair is skipped and
/// scanning goes on, unless `strict`, which stops at it. Values of quoted
/// strings are still escaped (use [`unquote_into`]). Returns the number of
/// pairs that had an `=`, or the (last) syntax error.
pub fn scan<'a>(
    line: &'a [u8],
    strict: bool,
    mut pair: impl FnMut(&'a [u8], Option<&'a [u8]>, bool),
) -> Result<usize, LogfmtError> {
    let mut dec = Decoder {
        line,
        pos: 0,
        err: None,
    };
    let mut with_value = 0;
    while !dec.eol() {
        match dec.scan_keyval() {
            Some((key, Val::None)) => pair(key, None, false),
            Some((key, Val::Bare(v))) => {
                with_value += 1;
                pair(key, Some(v), false)
            }
            Some((key, Val::Quoted(v))) => {
                with_value += 1;
                pair(key, Some(v), true)
            }
            None if strict && dec.err.is_some() => break,
            None => {}
        }
    }
    match dec.err {
        Some(e) => Err(e),
        None => Ok(with_value),
    }
}

/// Go's `bytes.Map(removeInvalidUtf, v)` as Loki's logfmt parser applies it
/// to a value: every U+FFFD, and every byte of an invalid UTF-8 sequence
/// (which Go decodes as U+FFFD one byte at a time), becomes a space.
pub fn push_replacing_invalid(out: &mut String, v: &[u8]) {
    for chunk in v.utf8_chunks() {
        for ch in chunk.valid().chars() {
            out.push(if ch == '\u{FFFD}' { ' ' } else { ch });
        }
        for _ in chunk.invalid() {
            out.push(' ');
        }
    }
}

/// Unescapes a quoted logfmt value (Go `strconv.Unquote` escapes).
pub fn unquote_into(raw: &[u8], out: &mut String) {
    let mut i = 0;
    let mut plain = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&raw[plain..i]));
        let c = raw.get(i + 1).copied().unwrap_or(b'\\');
        i += 2;
        match c {
            b'n' => out.push('\n'),
            b't' => out.push('\t'),
            b'r' => out.push('\r'),
            b'u' => {
                let ch = std::str::from_utf8(raw.get(i..i + 4).unwrap_or(b""))
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32);
                if ch.is_some() {
                    i += 4;
                }
                out.push(ch.unwrap_or('\u{FFFD}'));
            }
            other => out.push(other as char),
        }
        plain = i;
    }
    if plain < raw.len() {
        out.push_str(&String::from_utf8_lossy(&raw[plain..]));
    }
}

/// How [`extract`] treats a line.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOpts {
    /// Stop at the first malformed pair (`--strict`).
    pub strict: bool,
    /// Keep pairs whose value is empty (`--keep-empty`).
    pub keep_empty: bool,
    /// A repeated key keeps its last value instead of its first (Loki's
    /// `LogfmtExpressionParser`, which re-sets the keys it is asked for).
    pub last_wins: bool,
}

/// Extracts logfmt pairs into `out`: the `logfmt` format and stage share it.
/// As Loki's `LogfmtParser.Process`: keys are sanitized (a key that
/// sanitizes to nothing is skipped), a key already extracted from this line
/// keeps its first value, U+FFFD and invalid UTF-8 in a value become
/// spaces, and an empty value is dropped unless `keep_empty`. `seen` is
/// scratch for the slots set by this call.
pub fn extract(
    line: &[u8],
    want: &Want,
    clash: &dyn Fn(&str) -> bool,
    opts: ExtractOpts,
    name: &mut Vec<u8>,
    seen: &mut Vec<usize>,
    out: &mut Fields,
) -> Result<usize, LogfmtError> {
    seen.clear();
    scan(line, opts.strict, |key, raw, quoted| {
        name.clear();
        // A key that passed the scanner is valid UTF-8 without U+FFFD.
        if !append_sanitized(name, &String::from_utf8_lossy(key)) {
            return;
        }
        // Sanitized names are ASCII, so these conversions cannot fail.
        if clash(std::str::from_utf8(name).unwrap_or("")) {
            name.extend_from_slice(b"_extracted");
        }
        let n = std::str::from_utf8(name).unwrap_or("");
        let wanted = match want {
            Want::All => true,
            Want::Names(v) => v.iter().any(|w| w == n),
            Want::Nothing => false,
        };
        if !wanted {
            return;
        }
        if !opts.last_wins && out.position(n).is_some_and(|i| seen.contains(&i)) {
            return;
        }
        // Unquoting and replacing keep a value non-empty, so the raw bytes
        // say whether it is empty.
        if raw.is_none_or(<[u8]>::is_empty) && !opts.keep_empty {
            return;
        }
        out.set_with(n, |buf| match raw {
            Some(v) if quoted && v.contains(&b'\\') => {
                let mut unquoted = String::new();
                unquote_into(v, &mut unquoted);
                push_replacing_invalid(buf, unquoted.as_bytes());
            }
            Some(v) => push_replacing_invalid(buf, v),
            None => {}
        });
        if let Some(i) = out.position(n) {
            seen.push(i);
        }
    })
}

/// The `logfmt` format: a record has at least one `key=value` pair and no
/// syntax error.
pub fn decode(line: &[u8], ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let want = super::want_with_time(ctx.want, ctx.need_ts);
    let clash = |n: &str| ctx.stream.contains(n);
    let mut name = Vec::new();
    let mut seen = Vec::new();
    let opts = ExtractOpts::default();
    let ok = match extract(
        line,
        &want,
        &clash,
        opts,
        &mut name,
        &mut seen,
        &mut out.fields,
    ) {
        Ok(pairs) => pairs > 0 && std::str::from_utf8(line).is_ok(),
        Err(_) => false,
    };
    out.logfmt_ok = ok;
    if !ok {
        out.fields.clear();
    }
    if ctx.need_ts {
        out.ts = super::TIME_FIELDS
            .iter()
            .find_map(|n| out.fields.get(n))
            .and_then(|v| crate::time::parse_event_time(v.as_bytes()));
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(line: &str) -> Result<Vec<(String, String)>, LogfmtError> {
        let mut f = Fields::new();
        let mut name = Vec::new();
        let opts = ExtractOpts {
            keep_empty: true,
            ..ExtractOpts::default()
        };
        extract(
            line.as_bytes(),
            &Want::All,
            &|_| false,
            opts,
            &mut name,
            &mut Vec::new(),
            &mut f,
        )?;
        Ok(f.iter().map(|(a, b)| (a.into(), b.into())).collect())
    }

    #[test]
    fn parses_pairs() {
        let got =
            pairs(r#"level=info msg="hello \"w\"" status=200 flag dur=1.5ms k-ey=v"#).unwrap();
        let want: Vec<(String, String)> = [
            ("level", "info"),
            ("msg", "hello \"w\""),
            ("status", "200"),
            ("flag", ""),
            ("dur", "1.5ms"),
            ("k_ey", "v"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn errors() {
        assert!(pairs(r#"a="unterminated"#).is_err());
        assert!(pairs("=x").is_err());
        assert!(pairs("a=b=c").is_err());
        assert!(pairs("").unwrap().is_empty());
    }
}
