//! The built-in decoders: the input as one line in every format, as a
//! stream through the CRI partial-line joiner and the multi-line (Python)
//! framing, and as a sample for format detection.
#![no_main]

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use nagare::decode::{DecodeCtx, Decoded, Decoder, Format, Want};
use nagare::framing::{self, Chunker};
use nagare::record::Labels;

// 2024-06-01T00:00:00Z: a fixed clock, so runs reproduce.
const NOW_NS: i64 = 1_717_200_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let mut stream = Labels::new();
    stream.insert("app", "web");
    stream.insert("level", "info");
    let mut dec = Decoder::new();
    let mut out = Decoded::default();
    for (want, need_ts, label_values) in [
        (Want::All, true, true),
        (Want::names(["status", "msg", "level", "app"]), false, false),
    ] {
        let ctx = DecodeCtx {
            want: &want,
            need_ts,
            stream: &stream,
            label_values,
            now_ns: NOW_NS,
        };
        for f in Format::ALL {
            let _ = dec.decode(f, data, &ctx, &mut out);
            let _ = out.line(data).len();
        }
    }

    let _ = nagare::decode::detect::detect(data);
    let _ = nagare::decode::detect::is_pretty_json(data);

    // Readers in front of framing: CRI partial lines joined, Loki bodies and
    // Convex batches split into records; a small line limit reaches the
    // too-long paths.
    for format in [Format::Cri, Format::Loki, Format::Convex] {
        for max_line in [16, 1 << 20] {
            let mut joined = Vec::new();
            let mut r = format.join_lines(Box::new(Cursor::new(data.to_vec())), max_line, "fuzz");
            let _ = r.read_to_end(&mut joined);
        }
    }

    // Multi-line records (Python tracebacks): framing cuts only where a
    // record starts.
    for max_line in [16, 1 << 20] {
        let mut chunker = Chunker::new(Cursor::new(data), max_line, true)
            .with_record_start(Format::Python.record_start());
        let mut buf = Vec::new();
        while let Ok(Some((_, n))) = chunker.next_chunk(&mut buf) {
            for line in framing::lines(&buf[..n]) {
                let _ = line.len();
            }
            // (A last line without `\n` is handed out with one added.)
            assert!(
                chunker.offset() <= data.len() as u64,
                "framing is past the end of its input"
            );
        }
    }
});
