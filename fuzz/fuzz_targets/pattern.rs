//! LogQL `pattern` expressions: the input up to its first newline is the
//! pattern, the rest a line to match.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nagare::logql::pattern::Pattern;

fuzz_target!(|data: &[u8]| {
    let (pat, line) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(pat) = std::str::from_utf8(pat) else {
        return;
    };
    let Ok(p) = Pattern::parse(pat) else {
        return;
    };
    let _ = p.names().count();
    let mut n = 0usize;
    p.captures(line, |name, v| {
        n += name.len() + v.len();
    });
    let full = p.captures_full(line, |_, _| {});
    assert_eq!(full, p.test(line));
    assert_eq!(full, p.mismatch(line).is_none());
});
