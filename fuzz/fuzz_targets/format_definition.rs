//! User-defined formats (`parsers/*.toml`): the input up to its first NUL
//! byte is the definition; if it loads, its samples are checked and each
//! line of the rest is decoded with it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nagare::decode::custom::{self, CustomScratch};
use nagare::decode::{DecodeCtx, Decoded, Want};
use nagare::record::Labels;

// 2024-06-01T00:00:00Z: a fixed clock, so runs reproduce.
const NOW_NS: i64 = 1_717_200_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let (def, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(text) = std::str::from_utf8(def) else {
        return;
    };
    let fmt = match nagare::formats::definition::parse(text, "fuzz.toml") {
        Ok(f) => f,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = nagare::formats::samples::check(&fmt, NOW_NS);
    let stream = Labels::new();
    let mut scratch = CustomScratch::default();
    let mut out = Decoded::default();
    for need_ts in [true, false] {
        let ctx = DecodeCtx {
            want: &Want::All,
            need_ts,
            stream: &stream,
            label_values: need_ts,
            now_ns: NOW_NS,
        };
        for line in rest.split(|&b| b == b'\n') {
            out.reset();
            let _ = custom::decode(&fmt, &mut scratch, line, &ctx, &mut out);
        }
        if let Some(re) = &fmt.multiline {
            let _ = re.is_start(rest);
        }
    }
});
