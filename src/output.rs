//! Printers for selected log lines: the line itself, or logcli's JSON Lines
//! shape `{"labels":{…},"line":"…","timestamp":"RFC 3339"}`.

use crate::logql::pipeline::Record;

/// The shape `filter` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutput {
    /// The line: unchanged input, the app's own line for envelopes, or the
    /// `line_format` result.
    Raw,
    /// logcli's `--output jsonl`.
    Jsonl,
}

/// Appends `s` as a JSON string (quotes included). Invalid UTF-8 becomes
/// U+FFFD, as Go's encoder does.
pub fn write_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    match std::str::from_utf8(s) {
        Ok(t) => escape_json_into(out, t.as_bytes()),
        Err(_) => escape_json_into(out, String::from_utf8_lossy(s).as_bytes()),
    }
    out.push(b'"');
}

/// Bytes a JSON string must escape: controls, `"` and `\`.
const fn json_escapes() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
}
static JSON_ESCAPES: [bool; 256] = json_escapes();

/// Escapes UTF-8 text `b` into `out`, copying runs that need nothing whole.
fn escape_json_into(out: &mut Vec<u8>, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(b.len());
    let mut plain = 0;
    for (i, &c) in b.iter().enumerate() {
        if !JSON_ESCAPES[c as usize] {
            continue;
        }
        out.extend_from_slice(&b[plain..i]);
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 0xf) as usize],
            ]),
        }
        plain = i + 1;
    }
    out.extend_from_slice(&b[plain..]);
}

/// Appends a JSON object of string pairs, in the order given.
pub fn write_json_object<'a>(
    out: &mut Vec<u8>,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    out.push(b'{');
    for (i, (n, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, n.as_bytes());
        out.push(b':');
        write_json_str(out, v.as_bytes());
    }
    out.push(b'}');
}

/// Appends one selected record in the chosen shape, with a newline.
pub fn write_record(mode: LineOutput, record: &Record<'_>, out: &mut Vec<u8>) {
    match mode {
        LineOutput::Raw => {
            out.extend_from_slice(record.line());
            out.push(b'\n');
        }
        LineOutput::Jsonl => {
            let mut labels: Vec<(&str, &str)> = Vec::new();
            record.for_each_label(|n, v| labels.push((n, v)));
            labels.sort_by(|a, b| a.0.cmp(b.0));
            labels.dedup_by(|a, b| a.0 == b.0);
            out.extend_from_slice(b"{\"labels\":");
            write_json_object(out, labels);
            out.extend_from_slice(b",\"line\":");
            write_json_str(out, record.line());
            out.extend_from_slice(b",\"timestamp\":\"");
            out.extend_from_slice(crate::time::format_rfc3339_nano(record.timestamp()).as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings() {
        let mut v = Vec::new();
        write_json_str(&mut v, b"a\"b\\c\nd\x01\xff");
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "\"a\\\"b\\\\c\\nd\\u0001\u{FFFD}\""
        );
    }
}
