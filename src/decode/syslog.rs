//! syslog: RFC 5424 and RFC 3164 (BSD) messages, with or without the
//! `<PRI>` part (files such as /var/log/syslog have none).
//!
//! - RFC 5424: `<165>1 2003-10-11T22:14:15.003Z host app 1234 ID47
//!   [exampleSDID@32473 iut="3"] message`
//! - RFC 3164: `<34>Oct 11 22:14:15 mymachine su: 'su root' failed…`, and
//!   the same with an RFC 3339 time, as rsyslog writes files by default.
//!
//! Fields: `facility` and `severity` as the keywords syslog.h and `logger`
//! use (`auth`, `local4`; `err`, `notice`) when there is a PRI;
//! `hostname`, `app_name` (RFC 3164's tag), `procid` (the `[pid]`),
//! `msgid`, `message`; every structured-data parameter as
//! `sd_<SD-ID>_<name>` with characters other than letters, digits and `_`
//! made `_` (`sd_exampleSDID_32473_iut`, the names Loki's syslog target
//! gives them: no clash between elements, or with the fields above).
//! RFC 5424's nil `-` leaves a field out. RFC 3164 times have no year and
//! no zone: the zone is taken as UTC and the year as the latest one that
//! does not put the line in the future of when it was read.

use super::{DecodeCtx, Decoded, Want};
use crate::record::Fields;

/// Facility keywords by code (RFC 5424 table 1; the names go-syslog, and so
/// Loki, give the codes syslog.h leaves unnamed).
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// Severity keywords by code (syslog.h's `prioritynames`).
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Reused buffer for structured-data field names.
#[derive(Default)]
pub struct Scratch {
    name: Vec<u8>,
}

/// `<PRI>` at the start: the priority and what follows.
fn pri(line: &[u8]) -> Option<(u8, &[u8])> {
    let r = line.strip_prefix(b"<")?;
    let close = r.iter().take(4).position(|&c| c == b'>')?;
    let digits = &r[..close];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (v < 192).then_some((v as u8, &r[close + 1..]))
}

fn word(r: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = memchr::memchr(b' ', r)?;
    Some((&r[..sp], &r[sp + 1..]))
}

fn set(f: &mut Fields, want: &Want, name: &str, v: &[u8]) {
    if want.wants(name) {
        f.set_with(name, |b| b.push_str(&String::from_utf8_lossy(v)));
    }
}

/// Sets a header field unless it is RFC 5424's nil value.
fn set_header(f: &mut Fields, want: &Want, name: &str, v: &[u8]) {
    if v != b"-" {
        set(f, want, name, v);
    }
}

pub fn decode(scratch: &mut Scratch, line: &[u8], ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let (prio, rest) = match pri(line) {
        Some((p, r)) => (Some(p), r),
        None => (None, line),
    };
    let ok = match rest {
        [b'1'..=b'9', b' ', r @ ..] if prio.is_some() => rfc5424(scratch, r, ctx, out),
        _ => rfc3164(rest, prio.is_some(), ctx, out),
    };
    if !ok {
        out.fields.clear();
        out.ts = None;
        return false;
    }
    if let Some(p) = prio {
        let want = ctx.want;
        set(
            &mut out.fields,
            want,
            "facility",
            FACILITIES[p as usize / 8].as_bytes(),
        );
        set(
            &mut out.fields,
            want,
            "severity",
            SEVERITIES[p as usize % 8].as_bytes(),
        );
    }
    true
}

/// After `<PRI>1 `: `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]`.
fn rfc5424(scratch: &mut Scratch, r: &[u8], ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let want = ctx.want;
    let mut header = [&b""[..]; 5];
    let mut r = r;
    for h in &mut header {
        let Some((w, rest)) = word(r) else {
            return false;
        };
        if w.is_empty() {
            return false;
        }
        *h = w;
        r = rest;
    }
    let [time, host, app, procid, msgid] = header;
    if time != b"-" {
        match crate::time::parse_rfc3339(time) {
            Some(ts) => out.ts = Some(ts),
            None => return false,
        }
    }
    let f = &mut out.fields;
    set_header(f, want, "hostname", host);
    set_header(f, want, "app_name", app);
    set_header(f, want, "procid", procid);
    set_header(f, want, "msgid", msgid);
    let msg = if let Some(rest) = r.strip_prefix(b"-") {
        rest
    } else {
        match structured_data(scratch, r, want, f) {
            Some(rest) => rest,
            None => return false,
        }
    };
    let msg = match msg {
        [] => None,
        [b' ', m @ ..] => Some(m),
        _ => return false,
    };
    if let Some(m) = msg {
        // RFC 5424 §6.4: a UTF-8 message starts with a BOM.
        let m = m.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(m);
        set(f, want, "message", m);
    }
    true
}

/// `[id name="value" …][…]`: each parameter as a field; returns what
/// follows, or `None` if it is not well-formed.
fn structured_data<'a>(
    scratch: &mut Scratch,
    mut r: &'a [u8],
    want: &Want,
    f: &mut Fields,
) -> Option<&'a [u8]> {
    if r.first() != Some(&b'[') {
        return None;
    }
    while let Some(elem) = r.strip_prefix(b"[") {
        let id_end = elem.iter().position(|&c| c == b' ' || c == b']')?;
        let id = &elem[..id_end];
        if id.is_empty() {
            return None;
        }
        r = &elem[id_end..];
        loop {
            match r {
                [b']', rest @ ..] => {
                    r = rest;
                    break;
                }
                [b' ', rest @ ..] => {
                    let eq = rest.iter().position(|&c| c == b'=')?;
                    let pname = &rest[..eq];
                    let v = rest[eq + 1..].strip_prefix(b"\"")?;
                    let end = value_end(v)?;
                    scratch.name.clear();
                    scratch.name.extend_from_slice(b"sd_");
                    sanitize_into(&mut scratch.name, id);
                    scratch.name.push(b'_');
                    sanitize_into(&mut scratch.name, pname);
                    if pname.is_empty() {
                        return None;
                    }
                    if want.wants_bytes(&scratch.name) {
                        f.set_with_name_bytes(&scratch.name, |b| unescape_param(&v[..end], b));
                    }
                    r = &v[end + 1..];
                }
                _ => return None,
            }
        }
    }
    Some(r)
}

/// The index of the closing quote of a PARAM-VALUE (`\"`, `\\` and `\]`
/// are escapes).
fn value_end(v: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn unescape_param(v: &[u8], out: &mut String) {
    let mut start = 0;
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' && matches!(v.get(i + 1), Some(b'"' | b'\\' | b']')) {
            out.push_str(&String::from_utf8_lossy(&v[start..i]));
            start = i + 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push_str(&String::from_utf8_lossy(&v[start..]));
}

fn sanitize_into(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.iter().map(|&c| {
        if c.is_ascii_alphanumeric() || c == b'_' {
            c
        } else {
            b'_'
        }
    }));
}

/// `TIMESTAMP HOSTNAME TAG[PID]: MSG` (RFC 3164 §4.1.2–3), the time being
/// BSD's or RFC 3339. With a PRI but no valid header the rest is the
/// message (§4.3.3); without a PRI the time is required.
fn rfc3164(r: &[u8], has_pri: bool, ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let want = ctx.want;
    let after_time = if let Some((ts, len)) = crate::time::parse_bsd_syslog(r, ctx.now_ns) {
        out.ts = Some(ts);
        r.get(len..).and_then(|t| t.strip_prefix(b" "))
    } else {
        word(r).and_then(|(w, rest)| {
            let ts = crate::time::parse_rfc3339(w)?;
            out.ts = Some(ts);
            Some(rest)
        })
    };
    let Some(after_time) = after_time else {
        if !has_pri {
            return false;
        }
        set(&mut out.fields, want, "message", r);
        return true;
    };
    let f = &mut out.fields;
    // A tag right after the time means the sender left the host out (as
    // local daemons writing to /dev/log do).
    let msg = match word(after_time) {
        Some((w, rest)) if !is_tag(w) && !w.is_empty() => {
            set(f, want, "hostname", w);
            rest
        }
        _ => after_time,
    };
    match tag(msg) {
        Some((app, pid, m)) => {
            set(f, want, "app_name", app);
            if let Some(pid) = pid {
                set(f, want, "procid", pid);
            }
            set(f, want, "message", m);
        }
        None => set(f, want, "message", msg),
    }
    true
}

/// A word that is a whole tag: `su:` or `cron[123]:`.
fn is_tag(w: &[u8]) -> bool {
    w.last() == Some(&b':') && tag(w).is_some()
}

/// (tag, pid, message)
type Tagged<'a> = (&'a [u8], Option<&'a [u8]>, &'a [u8]);

/// `TAG[PID]: MSG` → (tag, pid, msg). The tag is at most 32 characters of
/// letters, digits and `_-./` (RFC 3164 says alphanumeric; daemons use
/// the rest too).
fn tag(m: &[u8]) -> Option<Tagged<'_>> {
    let end = m
        .iter()
        .take(33)
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/')))?;
    if end == 0 {
        return None;
    }
    let app = &m[..end];
    let (pid, r) = match m[end..].strip_prefix(b"[") {
        Some(r) => {
            let close = memchr::memchr(b']', r)?;
            (Some(&r[..close]), &r[close + 1..])
        }
        None => (None, &m[end..]),
    };
    let r = r.strip_prefix(b":")?;
    Some((app, pid, r.strip_prefix(b" ").unwrap_or(r)))
}

/// Whether a line is syslog for detection: a PRI with a valid message, or a
/// time and a `tag:` (a bare time and two words are too common to count).
pub fn looks_like(line: &[u8], now_ns: i64) -> bool {
    let mut d = Decoded::default();
    let stream = crate::record::Labels::new();
    let want = Want::names(["app_name"]);
    let ctx = DecodeCtx {
        want: &want,
        need_ts: true,
        stream: &stream,
        label_values: true,
        now_ns,
    };
    decode(&mut Scratch::default(), line, &ctx, &mut d)
        && (pri(line).is_some() || d.fields.contains("app_name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Labels;
    use crate::time::parse_rfc3339;

    fn now() -> i64 {
        parse_rfc3339(b"2026-05-06T12:00:00Z").unwrap()
    }

    fn run(line: &[u8]) -> Option<Decoded> {
        let mut out = Decoded::default();
        DecodeCtx::all_fields(now(), |ctx| {
            decode(&mut Scratch::default(), line, ctx, &mut out)
        })
        .then_some(out)
    }

    fn fields(out: &Decoded) -> Vec<(&str, &str)> {
        out.fields.iter().collect()
    }

    #[test]
    fn rfc5424_examples() {
        let out = run(b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8").unwrap();
        assert_eq!(
            fields(&out),
            vec![
                ("hostname", "mymachine.example.com"),
                ("app_name", "su"),
                ("msgid", "ID47"),
                ("message", "'su root' failed for lonvick on /dev/pts/8"),
                ("facility", "auth"),
                ("severity", "crit"),
            ]
        );
        assert_eq!(out.ts, parse_rfc3339(b"2003-10-11T22:14:15.003Z"));

        let out = run(br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high" q="a\"b\]c"] An application event log entry..."#).unwrap();
        let f = &out.fields;
        assert_eq!(f.get("facility"), Some("local4"));
        assert_eq!(f.get("severity"), Some("notice"));
        assert_eq!(f.get("sd_exampleSDID_32473_iut"), Some("3"));
        assert_eq!(
            f.get("sd_exampleSDID_32473_eventSource"),
            Some("Application")
        );
        assert_eq!(f.get("sd_exampleSDID_32473_eventID"), Some("1011"));
        assert_eq!(f.get("sd_examplePriority_32473_class"), Some("high"));
        assert_eq!(f.get("sd_examplePriority_32473_q"), Some("a\"b]c"));
        assert_eq!(f.get("procid"), None);
        assert_eq!(f.get("message"), Some("An application event log entry..."));

        // No message, nil time.
        let out = run(br#"<165>1 - host app 12 - [x@1 a="1"]"#).unwrap();
        assert_eq!(out.fields.get("procid"), Some("12"));
        assert_eq!(out.fields.get("message"), None);
        assert_eq!(out.ts, None);
    }

    #[test]
    fn rfc3164_examples() {
        let out =
            run(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
                .unwrap();
        assert_eq!(
            fields(&out),
            vec![
                ("hostname", "mymachine"),
                ("app_name", "su"),
                ("message", "'su root' failed for lonvick on /dev/pts/8"),
                ("facility", "auth"),
                ("severity", "crit"),
            ]
        );
        assert_eq!(out.ts, parse_rfc3339(b"2025-10-11T22:14:15Z"));

        let out = run(b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!").unwrap();
        assert_eq!(out.fields.get("hostname"), Some("10.0.0.99"));
        assert_eq!(out.fields.get("app_name"), None);
        assert_eq!(out.fields.get("message"), Some("Use the BFG!"));
        assert_eq!(out.ts, parse_rfc3339(b"2026-02-05T17:32:18Z"));

        // No valid time after the PRI: the rest is the message.
        let out = run(b"<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!").unwrap();
        assert_eq!(out.fields.get("severity"), Some("emerg"));
        assert_eq!(out.fields.get("facility"), Some("kern"));
        assert!(out.fields.get("message").unwrap().starts_with("1990 Oct"));
    }

    #[test]
    fn files_without_pri() {
        let out = run(b"May  6 10:30:45 web-1 sshd[4242]: Accepted publickey for deploy").unwrap();
        assert_eq!(out.fields.get("hostname"), Some("web-1"));
        assert_eq!(out.fields.get("app_name"), Some("sshd"));
        assert_eq!(out.fields.get("procid"), Some("4242"));
        assert_eq!(out.fields.get("facility"), None);
        assert_eq!(
            out.fields.get("message"),
            Some("Accepted publickey for deploy")
        );

        let out = run(b"2026-05-06T10:30:45.123456+00:00 web-1 kernel: [ 1.0] eth0 up").unwrap();
        assert_eq!(out.fields.get("app_name"), Some("kernel"));
        assert_eq!(out.ts, parse_rfc3339(b"2026-05-06T10:30:45.123456Z"));

        // The host left out.
        let out = run(b"<13>May  6 10:30:45 cron[12]: job done").unwrap();
        assert_eq!(out.fields.get("hostname"), None);
        assert_eq!(out.fields.get("app_name"), Some("cron"));
    }

    #[test]
    fn malformed() {
        for line in [
            &b""[..],
            b"hello world",
            b"<999>Oct 11 22:14:15 host su: x",
            b"<34>1 2003-10-11T22:14:15.003Z host su - ID47",
            b"<34>1 2003-10-11T22:14:15.003Z host su - ID47 [broken",
            b"<34>1 not-a-time host su - ID47 - msg",
            b"<34>1 2003-10-11T22:14:15.003Z host su - ID47 -msg",
            b"Oct 11 22:14:15",
            b"\xff\xfe<1",
        ] {
            assert!(run(line).is_none(), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn only_wanted_fields() {
        let mut out = Decoded::default();
        let stream = Labels::new();
        let want = Want::names(["severity", "sd_x_1_a"]);
        let ctx = DecodeCtx {
            want: &want,
            need_ts: false,
            stream: &stream,
            label_values: true,
            now_ns: now(),
        };
        assert!(decode(
            &mut Scratch::default(),
            br#"<165>1 2003-10-11T22:14:15.003Z h a - - [x@1 a="1" b="2"] m"#,
            &ctx,
            &mut out
        ));
        assert_eq!(
            fields(&out),
            vec![("sd_x_1_a", "1"), ("severity", "notice")]
        );
    }
}
