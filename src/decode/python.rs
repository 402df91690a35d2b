//! Python's standard `logging` lines, in the formats one gets without
//! configuring one:
//!
//! - `2026-05-06 10:30:45,123 - app.db - ERROR - database is locked`
//!   (`%(asctime)s - %(name)s - %(levelname)s - %(message)s`, the logging
//!   HOWTO's and many templates' format);
//! - `ERROR:app.db:database is locked` (`basicConfig()`'s default
//!   `%(levelname)s:%(name)s:%(message)s`);
//! - `[2026-05-06 10:30:45,123] ERROR in app: message` (Flask's default
//!   handler, `[%(asctime)s] %(levelname)s in %(module)s: %(message)s`).
//!
//! A record runs until the next line that starts one of these, so a
//! traceback (and any other continuation line) belongs to the record it
//! follows: the framing joins them (see [`RECORD_START`]).
//!
//! Fields: `time` (the `asctime` text), `logger` (`%(name)s`) or `module`
//! (Flask), `level` as written, `message` (with its continuation lines),
//! and, when the record holds a traceback, `exc_type` and `exc_message`
//! from its last line (`sqlite3.OperationalError: database is locked`).
//! `asctime` has no zone; it is read as UTC.

use super::{DecodeCtx, Decoded, Want};
use crate::framing::RecordStart;
use crate::record::Fields;

/// Where a Python logging record starts (its header).
pub static RECORD_START: RecordStart = RecordStart::Fn(is_record_start);

/// Level names `logging` writes.
const LEVELS: [&[u8]; 5] = [b"DEBUG", b"INFO", b"WARNING", b"ERROR", b"CRITICAL"];

struct Header<'a> {
    time: Option<&'a [u8]>,
    /// `logger` or `module`, and its value.
    source: (&'static str, &'a [u8]),
    level: &'a [u8],
    /// The message's first line onward.
    message: &'a [u8],
}

/// `2026-05-06 10:30:45,123`: the length of an `asctime` at the start.
fn asctime(s: &[u8]) -> Option<usize> {
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd:dd,ddd";
    if s.len() < SHAPE.len() {
        return None;
    }
    let ok = SHAPE.iter().zip(s).all(|(&p, &c)| match p {
        b'd' => c.is_ascii_digit(),
        _ => p == c,
    });
    ok.then_some(SHAPE.len())
}

fn level_word(w: &[u8]) -> bool {
    !w.is_empty() && w.iter().all(|c| c.is_ascii_uppercase())
}

fn parse_header(line: &[u8]) -> Option<Header<'_>> {
    match line.first()? {
        b'0'..=b'9' => {
            // asctime - name - LEVEL - message
            let t = asctime(line)?;
            let r = line[t..].strip_prefix(b" - ")?;
            let sep = memchr::memmem::find(r, b" - ")?;
            let name = &r[..sep];
            let r = &r[sep + 3..];
            let sp = memchr::memchr(b' ', r)?;
            let level = &r[..sp];
            let message = r[sp..].strip_prefix(b" - ")?;
            (!name.is_empty() && level_word(level)).then_some(Header {
                time: Some(&line[..t]),
                source: ("logger", name),
                level,
                message,
            })
        }
        b'[' => {
            // [asctime] LEVEL in module: message
            let t = asctime(&line[1..])?;
            let r = line[1 + t..].strip_prefix(b"] ")?;
            let sp = memchr::memchr(b' ', r)?;
            let level = &r[..sp];
            let r = r[sp..].strip_prefix(b" in ")?;
            let colon = memchr::memmem::find(r, b": ")?;
            let module = &r[..colon];
            if !level_word(level) || module.is_empty() || module.contains(&b' ') {
                return None;
            }
            Some(Header {
                time: Some(&line[1..1 + t]),
                source: ("module", module),
                level,
                message: &r[colon + 2..],
            })
        }
        _ => {
            // LEVEL:name:message
            let c = memchr::memchr(b':', line)?;
            let level = &line[..c];
            if !LEVELS.contains(&level) {
                return None;
            }
            let r = &line[c + 1..];
            let c = memchr::memchr(b':', r)?;
            let name = &r[..c];
            if name.is_empty() || name.contains(&b' ') {
                return None;
            }
            Some(Header {
                time: None,
                source: ("logger", name),
                level,
                message: &r[c + 1..],
            })
        }
    }
}

/// Whether a line starts a record.
pub fn is_record_start(line: &[u8]) -> bool {
    parse_header(line).is_some()
}

fn set(f: &mut Fields, want: &Want, name: &str, v: &[u8]) {
    if want.wants(name) {
        f.set_with(name, |b| b.push_str(&String::from_utf8_lossy(v)));
    }
}

/// Decodes one record (its first line and any continuation lines).
pub fn decode(record: &[u8], ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let first_len = memchr::memchr(b'\n', record).unwrap_or(record.len());
    let first = &record[..first_len];
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let Some(h) = parse_header(first) else {
        return false;
    };
    let want = ctx.want;
    let f = &mut out.fields;
    if let Some(t) = h.time {
        set(f, want, "time", t);
        if ctx.need_ts {
            out.ts = crate::time::parse_rfc3339(t);
        }
    }
    set(f, want, h.source.0, h.source.1);
    set(f, want, "level", h.level);
    // The message runs to the end of the record: continuation lines are
    // part of it, as `logging` wrote them.
    let offset = h.message.as_ptr() as usize - record.as_ptr() as usize;
    set(f, want, "message", &record[offset..]);
    if (want.wants("exc_type") || want.wants("exc_message")) && first_len < record.len() {
        if let Some((ty, msg)) = exception(&record[first_len..]) {
            set(f, want, "exc_type", ty);
            if let Some(m) = msg {
                set(f, want, "exc_message", m);
            }
        }
    }
    true
}

/// The exception a traceback ends with: its last line,
/// `module.Type: message` or a bare `Type`.
fn exception(rest: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    memchr::memmem::find(rest, b"Traceback (most recent call last):")?;
    let last = rest
        .split(|&c| c == b'\n')
        .map(|l| l.trim_ascii_end())
        .rfind(|l| !l.is_empty())?;
    let (ty, msg) = match memchr::memmem::find(last, b": ") {
        Some(p) => (&last[..p], Some(&last[p + 2..])),
        None => (last, None),
    };
    let ident = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.';
    let valid = ty
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && ty.iter().all(ident);
    valid.then_some((ty, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::time::parse_rfc3339;

    fn run(rec: &str) -> Option<Decoded> {
        let mut out = Decoded::default();
        DecodeCtx::all_fields(0, |ctx| decode(rec.as_bytes(), ctx, &mut out)).then_some(out)
    }

    fn fields(out: &Decoded) -> Vec<(&str, &str)> {
        out.fields.iter().collect()
    }

    #[test]
    fn three_default_formats() {
        let out = run("2026-05-06 10:30:45,123 - app.db - ERROR - database is locked").unwrap();
        assert_eq!(
            fields(&out),
            vec![
                ("time", "2026-05-06 10:30:45,123"),
                ("logger", "app.db"),
                ("level", "ERROR"),
                ("message", "database is locked"),
            ]
        );
        assert_eq!(out.ts, parse_rfc3339(b"2026-05-06T10:30:45.123Z"));

        let out = run("WARNING:root:Watch out! a: b").unwrap();
        assert_eq!(
            fields(&out),
            vec![
                ("logger", "root"),
                ("level", "WARNING"),
                ("message", "Watch out! a: b"),
            ]
        );
        assert_eq!(out.ts, None);

        let out = run("[2026-05-06 10:30:45,123] ERROR in app: Exception on /x [GET]").unwrap();
        assert_eq!(out.fields.get("module"), Some("app"));
        assert_eq!(out.fields.get("level"), Some("ERROR"));
        assert_eq!(out.fields.get("message"), Some("Exception on /x [GET]"));
        assert!(out.ts.is_some());
    }

    #[test]
    fn traceback_record() {
        let rec = "2026-05-06 10:30:45,123 - app.db - ERROR - query failed\nTraceback (most recent call last):\n  File \"/app/db.py\", line 12, in run\n    cur.execute(sql)\nsqlite3.OperationalError: database is locked\n";
        let out = run(rec).unwrap();
        assert_eq!(out.fields.get("exc_type"), Some("sqlite3.OperationalError"));
        assert_eq!(out.fields.get("exc_message"), Some("database is locked"));
        assert!(out
            .fields
            .get("message")
            .unwrap()
            .starts_with("query failed\nTraceback"));
        let out = run("ERROR:root:boom\nTraceback (most recent call last):\n  File \"x\", line 1\nKeyboardInterrupt").unwrap();
        assert_eq!(out.fields.get("exc_type"), Some("KeyboardInterrupt"));
        assert_eq!(out.fields.get("exc_message"), None);
    }

    #[test]
    fn not_records() {
        for line in [
            "",
            "Traceback (most recent call last):",
            "  File \"x.py\", line 3",
            "ValueError: bad",
            "NOTICE:x:y",
            "ERROR:with space:y",
            "2026-05-06 10:30:45,123 app.db ERROR database is locked",
            "2026-05-06 10:30:45 - app - ERROR - no millis",
            "[2026-05-06 10:30:45,123] ERROR app: x",
        ] {
            assert!(run(line).is_none(), "{line}");
            assert!(!is_record_start(line.as_bytes()), "{line}");
        }
    }
}
