//! Runs every fuzz target's body (`nagare::fuzzing`) on the inputs
//! `fuzz/seeds.sh` seeds the fuzzers with, plus the inputs fuzzing found:
//! the targets stay in step with the API, and their properties hold on the
//! repository's own queries, formats, lines and templates.

use std::fs;
use std::path::Path;

use nagare::fuzzing;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every file in `dir` whose name ends with `ext`, sorted.
fn files(dir: &str, ext: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    v.sort();
    v
}

/// The texts of `open … close` spans in `src`.
fn spans<'a>(src: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find(open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

#[test]
fn logql_parse_on_the_conformance_queries() {
    let src = read("tests/logql_conformance.rs");
    let queries = spans(&src, "r#\"", "\"#");
    assert!(queries.len() > 250, "{} queries", queries.len());
    for q in queries {
        fuzzing::logql_parse(q.as_bytes());
    }
    // Not UTF-8, empty, and an error at the very end.
    for q in [&b"\xff{"[..], b"", b"{job=\"a\"} |= "] {
        fuzzing::logql_parse(q);
    }
}

#[test]
fn pattern_on_fixture_lines() {
    let nginx = read("fixtures/formats/nginx.log");
    let first = nginx.lines().next().unwrap();
    for (pat, line) in [
        (
            r#"<ip> - <_> [<ts>] "<method> <path> <_>" <status> <size> "<_>" "<ua>""#,
            first,
        ),
        ("[<ts>] <level>: <msg>", "[2024-06-01] INFO: started"),
        ("<a><b>", "ab"),
        ("<_> <x> <_>", "only"),
        ("a <x> b", "a  b"),
    ] {
        fuzzing::pattern(format!("{pat}\n{line}").as_bytes());
    }
}

#[test]
fn format_definition_on_the_shipped_parsers() {
    let lines = read("fixtures/formats/nginx.log");
    let parsers = files("parsers", ".toml");
    assert!(parsers.len() >= 10);
    for p in parsers {
        let mut data = fs::read(&p).unwrap();
        data.push(0);
        data.extend_from_slice(lines.as_bytes());
        fuzzing::format_definition(&data);
    }
    // A definition that does not load, and one whose multi-line rule runs.
    fuzzing::format_definition(b"name = \"x\"\npattern = 5\0line");
    fuzzing::format_definition(
        b"name = \"ml\"\npattern = '<level> <msg>'\nmultiline = { start = '^[A-Z]' }\0INFO a\n  b\nWARN c",
    );
}

#[test]
fn decoders_on_every_fixture_line() {
    let mut n = 0;
    for dir in ["fixtures/formats", "fixtures/semantics"] {
        for f in files(dir, ".log") {
            let text = fs::read(&f).unwrap();
            // Whole files (the readers in front of framing, multi-line)…
            fuzzing::decoders(&text);
            // …and each line on its own.
            for line in text.split(|&b| b == b'\n') {
                fuzzing::decoders(line);
                n += 1;
            }
        }
    }
    assert!(n > 100, "{n} lines");
}

#[test]
fn template_on_the_template_tests_literals() {
    let src = read("src/logql/template/tests.rs");
    let mut n = 0;
    for t in spans(&src, "\"", "\"") {
        if t.contains("{{") {
            fuzzing::template(t.as_bytes());
            n += 1;
        }
    }
    assert!(n > 100, "{n} templates");
}

#[test]
fn time_on_the_seed_times_and_the_found_crash() {
    for t in [
        "2024-06-01T12:34:56.789Z",
        "2024-06-01 12:34:56,789",
        "2024-06-01T12:34:56+02:00",
        "01/Jun/2024:12:34:56 +0000",
        "Sat, 01 Jun 2024 12:34:56 GMT",
        "Jun  1 12:34:56",
        "1717245296",
        "1717245296.123",
        "1717245296123456789",
        "1h30m",
        "now-5m",
        "%d/%b/%Y:%H:%M:%S %z\n01/Jun/2024:12:34:56 +0000",
        "%b %e %H:%M:%S\nJun  1 12:34:56",
        "%Y-%m-%d %H:%M:%S %Z\n2024-06-01 12:34:56 UTC",
        // Found by the fuzzer: a year of 12 digits overflowed a u32.
        "Sat, 01 Jun 242120242120 :34T",
    ] {
        fuzzing::time(t.as_bytes());
    }
}

#[test]
fn fuzz_cargo_toml_lists_every_target() {
    let manifest = read("fuzz/Cargo.toml");
    for (name, _) in fuzzing::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        let target = read(&format!("fuzz/fuzz_targets/{name}.rs"));
        assert!(
            target.contains(&format!("nagare::fuzzing::{name}(data)")),
            "fuzz/fuzz_targets/{name}.rs does not call nagare::fuzzing::{name}"
        );
    }
}
