//! Fly.io logs, in the three shapes teams have them:
//!
//! - the log-shipper/NATS envelope, one JSON object per line:
//!   `{"event":{"provider":"app"},"fly":{"app":{"instance":"…","name":"api"},"region":"ams"},
//!     "host":"…","log":{"level":"info"},"message":"<app line>","timestamp":"…"}`
//! - `flyctl logs --json`: `{"timestamp":…,"message":…,"level":…,"instance":…,"region":…,
//!   "meta":{…}}`, printed as pretty multi-line JSON (the source joins it back
//!   into one line per object, see `framing::JsonJoiner`);
//! - `flyctl logs` plain output: `<time> <provider>[<instance>] <region> [<level>] <message>`
//!   (current flyctl writes no space after `[<level>]`; both read). The word
//!   before `[<instance>]` is the event provider (`app`, `proxy`, `runner`),
//!   not the app's name, which plain output does not carry: it is the
//!   `provider` label, and the app's name comes from `--label app=NAME`.
//!
//! The app's own line is the inner `message`; it is what the query sees and
//! what `filter` prints. `app` (the envelope's), `provider`, `region` and
//! `instance` become stream labels.
//! The inner line is decoded as JSON too; the record's event time is the app
//! record's own `timestamp`, else the envelope's. A record needs the inner
//! message to be one JSON object (ARCHITECTURE.md, contract: "Records"); other app lines are kept
//! as malformed.

use super::json::{JsonScanner, Want};
use super::{DecodeCtx, Decoded, TIME_FIELDS};
use crate::record::Fields;

/// Reusable scratch for the envelope's own fields.
#[derive(Default)]
pub struct FlyScratch {
    envelope: Fields,
}

fn envelope_want() -> &'static Want {
    static WANT: std::sync::OnceLock<Want> = std::sync::OnceLock::new();
    WANT.get_or_init(|| {
        Want::names([
            "fly_app_name",
            "fly_app_instance",
            "fly_region",
            "message",
            "timestamp",
            "instance",
            "region",
            "meta_instance",
            "meta_region",
            "event_provider",
            "meta_event_provider",
        ])
    })
}

/// The per-line label names Fly sets; inner JSON fields with these names get
/// the `_extracted` suffix, as Loki does for stream labels.
pub const LINE_LABELS: [&str; 4] = ["app", "instance", "provider", "region"];

pub fn decode(
    scratch: &mut FlyScratch,
    json: &mut JsonScanner,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> bool {
    let trimmed = trim_start(line);
    if trimmed.first() == Some(&b'{') {
        decode_envelope(scratch, json, line, ctx, out)
    } else {
        decode_plain(json, line, ctx, out)
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn decode_envelope(
    scratch: &mut FlyScratch,
    json: &mut JsonScanner,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> bool {
    let env = &mut scratch.envelope;
    env.clear();
    if json
        .scan_or_keep(false, line, envelope_want(), &(), env)
        .is_err()
        || !env.contains("message")
    {
        // Not an envelope: keep the whole line as the app's line.
        return false;
    }
    let label = |a: &str, b: &str| env.get(a).or_else(|| env.get(b));
    if let Some(app) = env.get("fly_app_name") {
        out.line_labels.set("app", app);
    }
    if let Some(i) = label("fly_app_instance", "instance").or_else(|| env.get("meta_instance")) {
        out.line_labels.set("instance", i);
    }
    if let Some(r) = label("fly_region", "region").or_else(|| env.get("meta_region")) {
        out.line_labels.set("region", r);
    }
    if let Some(p) = label("event_provider", "meta_event_provider") {
        out.line_labels.set("provider", p);
    }
    out.app_line.clear();
    out.app_line
        .extend_from_slice(env.get("message").unwrap_or("").as_bytes());
    out.has_app_line = true;
    let envelope_ts = if ctx.need_ts {
        env.get("timestamp")
            .and_then(|t| crate::time::parse_event_time(t.as_bytes()))
    } else {
        None
    };
    let ok = decode_inner(json, ctx, out);
    if out.ts.is_none() {
        out.ts = envelope_ts;
    }
    ok
}

/// Decodes the app's line (already in `out.app_line`) as JSON (CRI's
/// container line too).
pub(super) fn decode_inner(json: &mut JsonScanner, ctx: &DecodeCtx<'_>, out: &mut Decoded) -> bool {
    let want = super::want_with_time(ctx.want, ctx.need_ts);
    let line_labels = &out.line_labels;
    let clash = |n: &[u8]| {
        std::str::from_utf8(n).is_ok_and(|n| ctx.stream.contains(n) || line_labels.contains(n))
    };
    let ok = json
        .scan_or_keep(
            ctx.label_values,
            &out.app_line,
            &want,
            &clash,
            &mut out.fields,
        )
        .is_ok();
    out.json_object = ok;
    if !ok {
        // A line its format cannot decode has no decoded fields
        // (ARCHITECTURE.md, contract: "Records"); `| json` will extract
        // what Loki would, with its error.
        out.fields.clear();
    }
    if ctx.need_ts {
        out.ts = TIME_FIELDS
            .iter()
            .find_map(|n| out.fields.get(n))
            .and_then(|v| crate::time::parse_event_time(v.as_bytes()));
    }
    ok
}

/// `2026-05-06T10:30:45Z app[148ed193b95089] ams [info] message…`
fn decode_plain(
    json: &mut JsonScanner,
    line: &[u8],
    ctx: &DecodeCtx<'_>,
    out: &mut Decoded,
) -> bool {
    let Some(p) = parse_plain(line) else {
        return false;
    };
    // Not the app's name: plain output does not carry it (`--label app=…`).
    out.line_labels.set_with_name_bytes(b"provider", |b| {
        b.push_str(std::str::from_utf8(p.provider).unwrap_or(""))
    });
    out.line_labels.set_with_name_bytes(b"instance", |b| {
        b.push_str(std::str::from_utf8(p.instance).unwrap_or(""))
    });
    out.line_labels.set_with_name_bytes(b"region", |b| {
        b.push_str(std::str::from_utf8(p.region).unwrap_or(""))
    });
    out.app_line.clear();
    out.app_line.extend_from_slice(p.message);
    out.has_app_line = true;
    let ok = decode_inner(json, ctx, out);
    if out.ts.is_none() && ctx.need_ts {
        out.ts = crate::time::parse_rfc3339(p.time);
    }
    ok
}

pub struct PlainLine<'a> {
    pub time: &'a [u8],
    /// The event provider: `app` for the machine's own lines, `proxy`,
    /// `runner`, … for Fly's.
    pub provider: &'a [u8],
    pub instance: &'a [u8],
    pub region: &'a [u8],
    pub level: &'a [u8],
    pub message: &'a [u8],
}

/// Splits a `flyctl logs` plain line; `None` if it is not one.
pub fn parse_plain(line: &[u8]) -> Option<PlainLine<'_>> {
    let mut rest = line;
    let mut word = || -> Option<&[u8]> {
        let end = rest.iter().position(|&c| c == b' ')?;
        let w = &rest[..end];
        rest = &rest[end + 1..];
        Some(w)
    };
    let time = word()?;
    let provider_inst = word()?;
    let region = word()?;
    crate::time::parse_rfc3339(time)?;
    let open = provider_inst.iter().position(|&c| c == b'[')?;
    if provider_inst.last() != Some(&b']') || open == 0 {
        return None;
    }
    // `[info] message` in older flyctl output, `[info]message` in current
    // output (the machine's line follows the bracket directly).
    // A region is a short lowercase code (`ams`, `iad`); a level a word
    // (`info`, `error`): without them checked, any `time a[b] c [x]y` line
    // would pass for flyctl output.
    if region.is_empty()
        || !region
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return None;
    }
    let level_end = rest.iter().position(|&c| c == b']')?;
    let level = &rest[..level_end];
    if level.first() != Some(&b'[')
        || level.len() < 2
        || !level[1..].iter().all(u8::is_ascii_lowercase)
    {
        return None;
    }
    let message = &rest[level_end + 1..];
    Some(PlainLine {
        time,
        provider: &provider_inst[..open],
        instance: &provider_inst[open + 1..provider_inst.len() - 1],
        region,
        level: &level[1..],
        message: message.strip_prefix(b" ").unwrap_or(message),
    })
}

/// Whether a line looks like Fly output (for detection).
pub fn looks_like(line: &[u8]) -> bool {
    let t = trim_start(line);
    if t.first() == Some(&b'{') {
        let has = |s: &[u8]| memchr::memmem::find(t, s).is_some();
        (has(b"\"fly\"") && has(b"\"message\""))
            || (has(b"\"message\"") && has(b"\"instance\"") && has(b"\"region\""))
    } else {
        parse_plain(line).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Decoder;
    use crate::record::Labels;

    fn run(line: &str, need_ts: bool) -> (bool, Decoded) {
        let mut d = Decoder::new();
        let mut out = Decoded::default();
        let stream = Labels::new();
        let ctx = DecodeCtx {
            want: &Want::All,
            need_ts,
            stream: &stream,
            label_values: true,
            now_ns: 0,
        };
        let ok = d.decode(super::super::Format::Fly, line.as_bytes(), &ctx, &mut out);
        (ok, out)
    }

    #[test]
    fn envelope() {
        let line = r#"{"event":{"provider":"app"},"fly":{"app":{"instance":"148ed1","name":"api"},"region":"ams"},"host":"c5b3","log":{"level":"info"},"message":"{\"event\":\"request\",\"status\":503,\"timestamp\":\"2026-05-06T10:00:00.5Z\",\"region\":\"x\"}","timestamp":"2026-05-06T10:00:00.51Z"}"#;
        let (ok, out) = run(line, true);
        assert!(ok);
        assert_eq!(out.line_labels.get("app"), Some("api"));
        assert_eq!(out.line_labels.get("region"), Some("ams"));
        assert_eq!(out.line_labels.get("instance"), Some("148ed1"));
        assert_eq!(out.line_labels.get("provider"), Some("app"));
        assert_eq!(out.fields.get("status"), Some("503"));
        assert_eq!(out.fields.get("region_extracted"), Some("x"));
        assert_eq!(
            std::str::from_utf8(&out.app_line).unwrap(),
            r#"{"event":"request","status":503,"timestamp":"2026-05-06T10:00:00.5Z","region":"x"}"#
        );
        assert_eq!(
            out.ts,
            crate::time::parse_rfc3339(b"2026-05-06T10:00:00.5Z")
        );
    }

    #[test]
    fn envelope_with_plain_message_is_malformed_but_kept() {
        let line = r#"{"fly":{"app":{"instance":"1","name":"api"},"region":"ams"},"message":"Starting server","timestamp":"2026-05-06T10:00:00Z"}"#;
        let (ok, out) = run(line, true);
        assert!(!ok);
        assert_eq!(out.app_line, b"Starting server");
        assert_eq!(out.ts, crate::time::parse_rfc3339(b"2026-05-06T10:00:00Z"));
    }

    #[test]
    fn flyctl_plain() {
        let (ok, out) = run(
            r#"2026-05-06T10:30:45Z app[148ed193b95089] ams [info] {"status":200}"#,
            true,
        );
        assert!(ok);
        // `app` is the provider, not the app's name (plain output has none).
        assert_eq!(out.line_labels.get("provider"), Some("app"));
        assert_eq!(out.line_labels.get("app"), None);
        assert_eq!(out.line_labels.get("instance"), Some("148ed193b95089"));
        assert_eq!(out.line_labels.get("region"), Some("ams"));
        assert_eq!(out.fields.get("status"), Some("200"));
        assert_eq!(out.app_line, br#"{"status":200}"#);
        assert!(out.ts.is_some());
        // Current flyctl: no space after the level; proxy lines carry a code.
        let (ok, out) = run(
            r#"2026-05-06T10:30:45Z app[148ed193b95089] lax [info]{"status":503}"#,
            true,
        );
        assert!(ok);
        assert_eq!(out.app_line, br#"{"status":503}"#);
        assert_eq!(out.fields.get("status"), Some("503"));
        let p = parse_plain(
            b"2024-05-17T07:50:31Z proxy[91852903c72378] sin [error][PC01] instance refused connection",
        )
        .unwrap();
        assert_eq!(
            (p.provider, p.region, p.level),
            (&b"proxy"[..], &b"sin"[..], &b"error"[..])
        );
        assert_eq!(p.message, b"[PC01] instance refused connection");
        // A bracket that is not a level is not a flyctl line.
        assert!(parse_plain(b"2026-05-06T10:30:45Z app[1] ams not [a level] x").is_none());
        assert!(parse_plain(b"2026-05-06T10:30:45Z app[1] ams [info").is_none());
        assert!(parse_plain(b"2026-05-06T10:30:45Z foo[bar] baz [x1]y hello").is_none());
        assert!(parse_plain(b"2026-05-06T10:30:45Z foo[bar] BAZ [info] hello").is_none());
        assert!(parse_plain(b"2026-05-06T10:30:45Z foo[bar] baz [INFO] hello").is_none());
    }

    #[test]
    fn flyctl_json() {
        let (ok, out) = run(
            r#"{"timestamp":"2026-05-06T10:30:45Z","message":"{\"status\":200}","level":"info","instance":"abc","region":"iad","meta":{"instance":"abc","region":"iad","event":{"provider":"app"}}}"#,
            false,
        );
        assert!(ok);
        assert_eq!(out.line_labels.get("region"), Some("iad"));
        assert_eq!(out.line_labels.get("provider"), Some("app"));
        assert_eq!(out.fields.get("status"), Some("200"));
    }
}
