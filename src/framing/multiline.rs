//! Multi-line records (Python tracebacks, Java stack traces): a record
//! starts at a line that a [`RecordStart`] rule accepts and runs up to the
//! next such line, so continuation lines join the record before them.
//!
//! Two places apply the rule: the [`super::Chunker`] ends each chunk where a
//! record starts (so a record is never split between workers), and
//! [`Records`] splits a chunk into records. A record keeps its inner
//! newlines: it is printed as it was written.

/// Where records start.
#[derive(Debug)]
pub enum RecordStart {
    /// A built-in format's header check.
    Fn(fn(&[u8]) -> bool),
    /// A custom format's `multiline = { start = '…' }`.
    Regex(regex::bytes::Regex),
}

impl RecordStart {
    #[inline]
    pub fn is_start(&self, line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match self {
            RecordStart::Fn(f) => f(line),
            RecordStart::Regex(r) => r.is_match(line),
        }
    }
}

/// The start of the last complete line of `buf[..end]` (which ends in
/// `\n`) that starts a record, other than the first line of `buf`. Lines
/// that start before `from` were checked already and are skipped.
pub fn last_record_start(buf: &[u8], from: usize, end: usize, rule: &RecordStart) -> Option<usize> {
    debug_assert!(end > 0 && buf[end - 1] == b'\n');
    let mut line_end = end - 1;
    loop {
        let line_start = memchr::memrchr(b'\n', &buf[..line_end]).map_or(0, |p| p + 1);
        if line_start == 0 || line_start < from {
            return None;
        }
        if rule.is_start(&buf[line_start..line_end]) {
            return Some(line_start);
        }
        line_end = line_start - 1;
    }
}

/// The records of a chunk, without their final terminator; with no rule,
/// exactly its lines (see [`super::lines`]).
pub struct Records<'a> {
    rest: Option<&'a [u8]>,
    start: Option<&'a RecordStart>,
}

pub fn records<'a>(chunk: &'a [u8], start: Option<&'a RecordStart>) -> Records<'a> {
    Records {
        rest: Some(chunk.strip_suffix(b"\n").unwrap_or(chunk)),
        start,
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let r = self.rest?;
        let mut end = match memchr::memchr(b'\n', r) {
            Some(p) => p,
            None => {
                self.rest = None;
                return Some(r.strip_suffix(b"\r").unwrap_or(r));
            }
        };
        if let Some(rule) = self.start {
            // Take continuation lines until the next record starts.
            while end < r.len() {
                let next = &r[end + 1..];
                let len = memchr::memchr(b'\n', next).unwrap_or(next.len());
                if rule.is_start(&next[..len]) {
                    break;
                }
                end += 1 + len;
            }
        }
        let rec = &r[..end];
        self.rest = r.get(end + 1..);
        Some(rec.strip_suffix(b"\r").unwrap_or(rec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digit_start(l: &[u8]) -> bool {
        l.first().is_some_and(u8::is_ascii_digit)
    }

    const RULE: RecordStart = RecordStart::Fn(digit_start);

    #[test]
    fn joins_continuation_lines() {
        let chunk = b"1 a\n  more\n  more\n2 b\n3 c\r\n  x\r\n";
        let got: Vec<&[u8]> = records(chunk, Some(&RULE)).collect();
        assert_eq!(
            got,
            vec![&b"1 a\n  more\n  more"[..], b"2 b", b"3 c\r\n  x"]
        );
        // A chunk that starts with a continuation keeps it as a record.
        let got: Vec<&[u8]> = records(b"  orphan\n1 a\n", Some(&RULE)).collect();
        assert_eq!(got, vec![&b"  orphan"[..], b"1 a"]);
        // Without a rule: lines.
        let got: Vec<&[u8]> = records(b"1 a\n  more\n", None).collect();
        assert_eq!(got, vec![&b"1 a"[..], b"  more"]);
        // Empty lines inside a record stay in it.
        let got: Vec<&[u8]> = records(b"1 a\n\n  b\n", Some(&RULE)).collect();
        assert_eq!(got, vec![&b"1 a\n\n  b"[..]]);
    }

    #[test]
    fn finds_the_last_start() {
        let buf = b"1 a\n  x\n2 b\n  y\n  z\n";
        assert_eq!(last_record_start(buf, 0, buf.len(), &RULE), Some(8));
        assert_eq!(last_record_start(buf, 9, buf.len(), &RULE), None);
        assert_eq!(last_record_start(b"1 a\n  x\n", 0, 8, &RULE), None);
    }

    #[test]
    fn regex_rule() {
        let rule = RecordStart::Regex(regex::bytes::Regex::new(r"^\d{4}-").unwrap());
        let got: Vec<&[u8]> = records(b"2026- a\nb\n2026- c\n", Some(&rule)).collect();
        assert_eq!(got, vec![&b"2026- a\nb"[..], b"2026- c"]);
    }
}
