//! logfmt: `level=info msg="request done" status=200 dur=1.2ms`.
//!
//! The scanner follows go-logfmt, which Loki's `logfmt` stage uses: keys run
//! to `=` or a space, values are bare words or double-quoted strings with
//! Go escapes; a bare key has an empty value. An unterminated quote or a
//! stray `=` is an error. Keys are sanitized into label names like the JSON
//! keys are.

use super::{DecodeCtx, Decoded, Want};
use crate::decode::json::append_sanitized;
use crate::record::Fields;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("logfmt syntax error at pos {}: {msg}", .pos + 1)]
pub struct LogfmtError {
    pub pos: usize,
    pub msg: &'static str,
}

/// Calls `pair(key, value, quoted)` for every pair; values of quoted strings
/// are still escaped (use [`unquote_into`]). Returns the number of pairs
/// that had an `=`.
pub fn scan<'a>(
    line: &'a [u8],
    mut pair: impl FnMut(&'a [u8], Option<&'a [u8]>, bool),
) -> Result<usize, LogfmtError> {
    let mut i = 0;
    let n = line.len();
    let mut with_value = 0;
    while i < n {
        // Skip garbage before a key, as go-logfmt skips spaces.
        while i < n && line[i] <= b' ' {
            i += 1;
        }
        if i >= n {
            break;
        }
        if line[i] == b'=' || line[i] == b'"' {
            return Err(LogfmtError {
                pos: i,
                msg: if line[i] == b'=' {
                    "unexpected '='"
                } else {
                    "unexpected '\"'"
                },
            });
        }
        let ks = i;
        while i < n && line[i] > b' ' && line[i] != b'=' && line[i] != b'"' {
            i += 1;
        }
        let key = &line[ks..i];
        if i < n && line[i] == b'"' {
            return Err(LogfmtError {
                pos: i,
                msg: "unexpected '\"'",
            });
        }
        if i >= n || line[i] != b'=' {
            pair(key, None, false);
            continue;
        }
        i += 1; // '='
        with_value += 1;
        if i < n && line[i] == b'"' {
            let vs = i + 1;
            let mut j = vs;
            loop {
                match line.get(j) {
                    None => {
                        return Err(LogfmtError {
                            pos: n,
                            msg: "unterminated quoted value",
                        });
                    }
                    Some(b'\\') => j += 2,
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            pair(key, Some(&line[vs..j.min(n)]), true);
            i = j + 1;
        } else {
            let vs = i;
            while i < n && line[i] > b' ' {
                if line[i] == b'=' || line[i] == b'"' {
                    return Err(LogfmtError {
                        pos: i,
                        msg: "unexpected character in value",
                    });
                }
                i += 1;
            }
            pair(key, Some(&line[vs..i]), false);
        }
    }
    Ok(with_value)
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

/// Extracts logfmt pairs into `out`: the `logfmt` format and stage share it.
/// Bare keys are kept (empty value) only with `keep_empty`.
pub fn extract(
    line: &[u8],
    want: &Want,
    clash: &dyn Fn(&str) -> bool,
    keep_empty: bool,
    name: &mut Vec<u8>,
    out: &mut Fields,
) -> Result<usize, LogfmtError> {
    scan(line, |key, value, quoted| {
        if value.is_none() && !keep_empty {
            return;
        }
        name.clear();
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
        out.set_with(n, |buf| match value {
            Some(v) if quoted => unquote_into(v, buf),
            Some(v) => buf.push_str(&String::from_utf8_lossy(v)),
            None => {}
        });
    })
}

/// The `logfmt` format: a record has at least one `key=value` pair and no
/// syntax error.
pub fn decode(line: &[u8], ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let want = super::want_with_time(ctx.want, ctx.need_ts);
    let clash = |n: &str| ctx.stream.contains(n);
    let mut name = Vec::new();
    let ok = match extract(line, &want, &clash, false, &mut name, &mut out.fields) {
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
        extract(
            line.as_bytes(),
            &Want::All,
            &|_| false,
            true,
            &mut name,
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
