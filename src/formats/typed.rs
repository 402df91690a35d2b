//! Field types a format definition may give its captures (`types = { status
//! = "int", request_time = "seconds" }`), and the conversion each applies to
//! the captured text.
//!
//! Values stay text (labels are strings in LogQL); a type checks the text
//! and writes it in one canonical form, so `status >= 500` and the metrics
//! roles read what they expect. `seconds` and `ms` also set `latency_ms`,
//! the field the metrics latency role reads first.

use crate::decode::clf::seconds_text_to_ms;
use crate::units::humanize_bytes_f64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A whole number, written without leading zeros or `+`.
    Int,
    /// A decimal number, maybe negative, kept as written.
    Float,
    /// A duration in seconds; `latency_ms` gets it in milliseconds.
    Seconds,
    /// A duration in milliseconds; `latency_ms` gets it too.
    Ms,
    /// A size such as `512`, `1.5KB`, `10MiB`, as a number of bytes.
    Bytes,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case).
    Bool,
    /// Text, unchanged (the default; named so a definition can say it).
    String,
    /// Text that may be a double-quoted string with Go/JSON escapes (as
    /// Go's `slog` and logfmt writers quote values with spaces): the quotes
    /// are removed and the escapes read; unquoted text is kept as it is.
    Quoted,
    /// A URL query string (`q=a+b&page=2`): kept as it is, and each
    /// parameter also becomes a field of its own name, URL-decoded, unless
    /// the format has a capture of that name (as the built-in nginx does).
    Query,
}

pub const TYPE_NAMES: &str = "int, float, seconds, ms, bytes, bool, string, quoted, query";

/// The field that `seconds` and `ms` fields also set.
pub const LATENCY_FIELD: &str = "latency_ms";

impl FieldType {
    pub fn from_name(name: &str) -> Option<FieldType> {
        Some(match name {
            "int" => FieldType::Int,
            "float" => FieldType::Float,
            "seconds" => FieldType::Seconds,
            "ms" => FieldType::Ms,
            "bytes" => FieldType::Bytes,
            "bool" => FieldType::Bool,
            "string" => FieldType::String,
            "quoted" => FieldType::Quoted,
            "query" => FieldType::Query,
            _ => return None,
        })
    }

    /// Whether `text` means "no value" for this type: `-` and empty, as
    /// access logs write a missing number. Such a field is left out rather
    /// than failing the line.
    pub fn is_absent(self, text: &str) -> bool {
        !matches!(self, FieldType::String | FieldType::Quoted) && (text.is_empty() || text == "-")
    }

    /// Writes the canonical form of `text` into `out` (cleared first), and
    /// the milliseconds into `latency` for duration types. `Err` names what
    /// is wrong with the value.
    pub fn convert(
        self,
        text: &str,
        out: &mut String,
        latency: &mut String,
    ) -> Result<(), &'static str> {
        out.clear();
        latency.clear();
        match self {
            FieldType::String | FieldType::Query => out.push_str(text),
            FieldType::Quoted => match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(inner) if text.len() >= 2 => unquote_go(inner, out),
                _ => out.push_str(text),
            },
            FieldType::Int => {
                let v: i64 = text.trim().parse().map_err(|_| "not an integer")?;
                use std::fmt::Write as _;
                let _ = write!(out, "{v}");
            }
            FieldType::Float => {
                // A sign is allowed here (AWS ALB writes -1 for "none"),
                // not for durations.
                plain_decimal(text.strip_prefix('-').unwrap_or(text)).ok_or("not a number")?;
                out.push_str(text);
            }
            FieldType::Seconds => {
                plain_decimal(text).ok_or("not a number of seconds")?;
                out.push_str(text);
                seconds_text_to_ms(text.as_bytes(), latency);
            }
            FieldType::Ms => {
                plain_decimal(text).ok_or("not a number of milliseconds")?;
                out.push_str(text);
                latency.push_str(text);
            }
            FieldType::Bytes => {
                let b = humanize_bytes_f64(text).map_err(|_| "not a size")?;
                use std::fmt::Write as _;
                if b.fract() == 0.0 && b.abs() < 9.0e15 {
                    let _ = write!(out, "{}", b as i64);
                } else {
                    let _ = write!(out, "{b}");
                }
            }
            FieldType::Bool => {
                let v = match text.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" | "t" | "y" => "true",
                    "false" | "0" | "no" | "off" | "f" | "n" => "false",
                    _ => return Err("not a boolean"),
                };
                out.push_str(v);
            }
        }
        Ok(())
    }
}

/// Reads the escapes of a double-quoted value (without its quotes) the way
/// Go's `strconv.Unquote` does, which is what `slog` and Go logfmt writers
/// produce (`\n`, `\t`, `\"`, `\\`, `\a`, `\b`, `\f`, `\v`, `\xHH`, octal
/// `\ooo`, `\uXXXX`, `\UXXXXXXXX`), plus JSON's `\/` and UTF-16 surrogate
/// pairs (`\ud83d\ude00`). A byte escape above 0x7f or a lone surrogate
/// becomes U+FFFD (labels are UTF-8); an unknown escape is kept as written.
fn unquote_go(inner: &str, out: &mut String) {
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let mut rest = inner;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i + 1..];
        let Some(c) = esc.chars().next() else {
            out.push('\\');
            return;
        };
        // (char, bytes of `esc` used); None keeps the backslash as text.
        let read: Option<(char, usize)> = match c {
            'a' => Some(('\u{7}', 1)),
            'b' => Some(('\u{8}', 1)),
            'f' => Some(('\u{c}', 1)),
            'n' => Some(('\n', 1)),
            'r' => Some(('\r', 1)),
            't' => Some(('\t', 1)),
            'v' => Some(('\u{b}', 1)),
            '\\' | '"' | '\'' | '/' => Some((c, 1)),
            'x' => esc.get(1..3).and_then(hex).map(|b| (byte_char(b), 3)),
            '0'..='7' => esc
                .get(..3)
                .and_then(|o| u32::from_str_radix(o, 8).ok())
                .filter(|&b| b <= 0xff)
                .map(|b| (byte_char(b), 3)),
            'U' => esc
                .get(1..9)
                .and_then(hex)
                .map(|u| (char::from_u32(u).unwrap_or('\u{FFFD}'), 9)),
            'u' => esc.get(1..5).and_then(hex).map(|u| {
                if (0xD800..0xDC00).contains(&u) {
                    // A high surrogate: joined with a low one after it.
                    let low = esc
                        .get(5..7)
                        .filter(|p| *p == "\\u")
                        .and_then(|_| esc.get(7..11))
                        .and_then(hex)
                        .filter(|l| (0xDC00..0xE000).contains(l));
                    match low {
                        Some(l) => {
                            let c = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                            (char::from_u32(c).unwrap_or('\u{FFFD}'), 11)
                        }
                        None => ('\u{FFFD}', 5),
                    }
                } else {
                    (char::from_u32(u).unwrap_or('\u{FFFD}'), 5)
                }
            }),
            _ => None,
        };
        match read {
            Some((ch, used)) => {
                out.push(ch);
                rest = &esc[used..];
            }
            None => {
                out.push('\\');
                rest = esc;
            }
        }
    }
    out.push_str(rest);
}

/// A byte escape as a character: ASCII as itself; above 0x7f it would be
/// one byte of a UTF-8 sequence written byte by byte, which a label cannot
/// hold alone.
fn byte_char(b: u32) -> char {
    if b < 0x80 {
        char::from_u32(b).unwrap_or('\u{FFFD}')
    } else {
        '\u{FFFD}'
    }
}

/// A non-negative decimal without exponent (`0.231`, `12`, `.5`), the form
/// durations take in logs; its value.
fn plain_decimal(t: &str) -> Option<f64> {
    let ok = !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && t.bytes().filter(|&b| b == b'.').count() <= 1
        && t != ".";
    if ok {
        t.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(t: FieldType, text: &str) -> Result<(String, String), &'static str> {
        let (mut out, mut lat) = (String::new(), String::new());
        t.convert(text, &mut out, &mut lat)?;
        Ok((out, lat))
    }

    #[test]
    fn conversions() {
        assert_eq!(conv(FieldType::Int, "0503").unwrap().0, "503");
        assert_eq!(conv(FieldType::Int, "-7").unwrap().0, "-7");
        assert!(conv(FieldType::Int, "5.0").is_err());
        assert!(conv(FieldType::Int, "abc").is_err());
        assert_eq!(conv(FieldType::Float, "3.25").unwrap().0, "3.25");
        assert!(conv(FieldType::Float, "1e3").is_err());
        assert_eq!(conv(FieldType::Float, "-1").unwrap().0, "-1");
        assert!(conv(FieldType::Float, "--1").is_err());
        assert!(conv(FieldType::Float, "-").is_err());
        assert_eq!(
            conv(FieldType::Seconds, "0.231").unwrap(),
            ("0.231".into(), "231".into())
        );
        assert_eq!(conv(FieldType::Seconds, "1.5").unwrap().1, "1500");
        assert_eq!(conv(FieldType::Seconds, "0.0005").unwrap().1, "0.5");
        assert!(conv(FieldType::Seconds, "-1").is_err());
        assert_eq!(conv(FieldType::Ms, "12.5").unwrap().1, "12.5");
        assert_eq!(conv(FieldType::Bytes, "1.5KB").unwrap().0, "1500");
        assert_eq!(conv(FieldType::Bytes, "2KiB").unwrap().0, "2048");
        assert_eq!(conv(FieldType::Bytes, "512").unwrap().0, "512");
        assert!(conv(FieldType::Bytes, "lots").is_err());
        assert_eq!(conv(FieldType::Bool, "YES").unwrap().0, "true");
        assert_eq!(conv(FieldType::Bool, "0").unwrap().0, "false");
        assert!(conv(FieldType::Bool, "maybe").is_err());
        assert_eq!(conv(FieldType::String, " x ").unwrap().0, " x ");
        assert!(FieldType::Int.is_absent("-"));
        assert!(FieldType::Int.is_absent(""));
        assert!(!FieldType::String.is_absent("-"));
        // Quoted: Go's strconv.Quote escapes read; unquoted text unchanged.
        assert_eq!(
            conv(FieldType::Quoted, r#""a \"b\"\tc\u00e9""#).unwrap().0,
            "a \"b\"\tcé"
        );
        assert_eq!(conv(FieldType::Quoted, "plain").unwrap().0, "plain");
        // Every escape Go's strconv.Quote writes, JSON's \/ and surrogate
        // pairs; an unknown escape is kept, a lone surrogate or a byte
        // above 0x7f becomes U+FFFD.
        for (quoted, want) in [
            (
                r#""\x1b[0m\a\b\f\v\r\n""#,
                "\u{1b}[0m\u{7}\u{8}\u{c}\u{b}\r\n",
            ),
            (r#""\U0001F600 \u00e9 \ud83d\ude00 \/ \101""#, "😀 é 😀 / A"),
            (
                r#""\ud83d alone, \xff, \q, end\""#,
                "\u{FFFD} alone, \u{FFFD}, \\q, end\\",
            ),
            (r#""\u12""#, "\\u12"),
        ] {
            assert_eq!(conv(FieldType::Quoted, quoted).unwrap().0, want, "{quoted}");
        }
        assert_eq!(conv(FieldType::Quoted, r#""""#).unwrap().0, "");
        assert_eq!(conv(FieldType::Quoted, r#"""#).unwrap().0, "\"");
        assert!(!FieldType::Quoted.is_absent("-"));
        // Query: the text itself; the parameters are the decoder's job.
        assert_eq!(conv(FieldType::Query, "q=a+b").unwrap().0, "q=a+b");
        assert!(FieldType::Query.is_absent("-"));
    }
}
