//! Criterion benchmarks for the hot paths: framing, JSON decoding, and the
//! compiled LogQL pipeline, each with byte throughput.
//!
//! `cargo bench --bench hot_paths`; the end-to-end comparison against jq and
//! ripgrep is `benches/compare.sh`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use nagare::decode::json::{JsonScanner, Want};
use nagare::decode::Format;
use nagare::framing::{lines, Chunker, DEFAULT_MAX_LINE};
use nagare::logql::ast::Expr;
use nagare::logql::parse;
use nagare::logql::pipeline::{CompileOptions, CompiledQuery, Exec, InputInfo};
use nagare::record::{Fields, Labels};

/// About 4 MB of structlog-like request lines, a few malformed.
fn corpus() -> Vec<u8> {
    let mut out = Vec::new();
    let paths = [
        "/v1/search",
        "/v1/items/12345",
        "/v1/users/42/keys",
        "/healthz",
    ];
    let mut i: u64 = 0;
    while out.len() < 4_000_000 {
        i += 1;
        let status = if i % 97 == 0 { 503 } else { 200 };
        if i % 211 == 0 {
            out.extend_from_slice(b"{\"event\":\"request\",\"status\":50\n");
            continue;
        }
        if i % 499 == 0 {
            out.extend_from_slice(
                b"{\"timestamp\":\"2026-05-06T10:00:00.000000Z\",\"level\":\"error\",\"event\":\"db.error\",\"message\":\"sqlite3.OperationalError: database is locked\"}\n",
            );
            continue;
        }
        out.extend_from_slice(
            format!(
                "{{\"timestamp\":\"2026-05-06T10:{:02}:{:02}.{:06}Z\",\"level\":\"info\",\"event\":\"request\",\"method\":\"GET\",\"path\":\"{}\",\"status\":{},\"latency_ms\":{}.{},\"request_id\":\"{:032x}\",\"api_key_hash_prefix\":\"{:08x}\",\"tier\":\"pro\",\"q\":\"caf\\u00e9 {}\"}}\n",
                (i / 60) % 60,
                i % 60,
                i % 1_000_000,
                paths[(i % 4) as usize],
                status,
                i % 900,
                i % 1000,
                i.wrapping_mul(0x9e3779b97f4a7c15),
                i,
                i % 50
            )
            .as_bytes(),
        );
    }
    out
}

fn bench_framing(c: &mut Criterion) {
    let data = corpus();
    let mut g = c.benchmark_group("framing");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("chunker+lines", |b| {
        b.iter(|| {
            let mut chunker = Chunker::new(&data[..], DEFAULT_MAX_LINE, true);
            let mut buf = Vec::new();
            let mut n = 0usize;
            while let Ok(Some((_, len))) = chunker.next_chunk(&mut buf) {
                n += lines(&buf[..len]).count();
            }
            black_box(n)
        })
    });
    g.finish();
}

fn bench_json(c: &mut Criterion) {
    let data = corpus();
    let mut g = c.benchmark_group("decode_json");
    g.throughput(Throughput::Bytes(data.len() as u64));
    let want_status = Want::names(["status"]);
    g.bench_function("validate+extract status", |b| {
        let mut s = JsonScanner::new();
        let mut f = Fields::new();
        b.iter(|| {
            let mut ok = 0usize;
            for line in lines(&data) {
                f.clear();
                if s.scan(line, &want_status, &(), &mut f).is_ok() {
                    ok += 1;
                }
            }
            black_box(ok)
        })
    });
    g.bench_function("extract all", |b| {
        let mut s = JsonScanner::new();
        let mut f = Fields::new();
        b.iter(|| {
            let mut n = 0usize;
            for line in lines(&data) {
                f.clear();
                let _ = s.scan(line, &Want::All, &(), &mut f);
                n += f.len();
            }
            black_box(n)
        })
    });
    g.finish();
}

fn bench_pipeline(c: &mut Criterion) {
    let data = corpus();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(data.len() as u64));
    let input = InputInfo::new(
        Default::default(),
        "bench".into(),
        Labels::new(),
        Format::Json,
    );
    for query in [
        r#"| json | status >= 500"#,
        r#"|= "database is locked""#,
        r#"| json | __error__="" | path=~"/v1/items/.*" and status >= 500"#,
        r#"| json | line_format "{{.method}} {{.path}} {{.status}}""#,
    ] {
        let Ok(Expr::Log(log)) = parse(query) else {
            panic!("bench query must parse: {query}")
        };
        let q = CompiledQuery::compile(&log, CompileOptions::default()).expect("compiles");
        g.bench_function(query, |b| {
            let mut exec = Exec::new(&q, None);
            b.iter(|| {
                let mut n = 0usize;
                for line in lines(&data) {
                    if exec.process(&input, line, 0) {
                        n += exec.line(line).len();
                    }
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_framing, bench_json, bench_pipeline);
criterion_main!(benches);
