//! Timestamp parsers: every `pub` parser in `nagare::time` on the input,
//! and user strftime formats (`timestamp.format` in a format definition):
//! the input up to its first newline is the format, the rest the time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nagare::formats::timestamp::TimestampSpec;
use nagare::time;

// 2024-06-01T00:00:00Z: a fixed clock, so runs reproduce.
const NOW_NS: i64 = 1_717_200_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let _ = time::parse_rfc3339(data);
    let _ = time::parse_rfc2822(data);
    let _ = time::parse_epoch(data);
    let _ = time::parse_clf(data);
    let _ = time::fraction_digits(data);
    if let Some(ns) = time::parse_event_time(data) {
        let _ = time::format_rfc3339_nano(ns);
        let _ = time::format_rfc3339_digits(ns, time::fraction_digits(data));
    }
    for now in [NOW_NS, 0, i64::MIN, i64::MAX] {
        if let Some((_, used)) = time::parse_bsd_syslog(data, now) {
            assert!(used <= data.len());
        }
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = time::parse_duration(s);
    let _ = time::parse_cli_time(s, NOW_NS);
    let (fmt, text) = s.split_once('\n').unwrap_or((s, ""));
    for f in [None, Some(fmt)] {
        if let Ok(spec) = TimestampSpec::new("ts", f) {
            let _ = spec.parse(text, NOW_NS);
        }
    }
});
