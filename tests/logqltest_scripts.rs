//! Loki's scripted engine tests (`pkg/logql/internal/logqltest/testdata/
//! *.logqltest` in grafana/loki, format described in that package's
//! README) run through `nagare query`: each `load` block becomes a Loki
//! push body on stdin (`--format loki`), each `eval` a query whose JSON
//! answer is compared with the script's expected series.
//!
//! Loki's scripts are AGPL-3.0 and this crate is Apache-2.0, so none is
//! copied here: the test reads them from a Loki checkout named by the
//! environment variable `LOKI_LOGQLTEST_DIR` (its `testdata` folder) and
//! is skipped without it. `SCRIPTS` lists the files that pass in full;
//! `LOKI_LOGQLTEST_SCRIPTS` (a comma-separated list) runs others.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use serde_json::Value;

/// The scripts run, each in full.
const SCRIPTS: &[&str] = &[
    "binary_operations.logqltest",
    "conversions.logqltest",
    "formatters.logqltest",
    "line_filters.logqltest",
    "parsers.logqltest",
    "range_aggregations.logqltest",
    "vector_aggregations.logqltest",
];

/// The script epoch (t=0): 2024-01-01T00:00:00Z.
const EPOCH: i64 = 1_704_067_200;

/// A Go duration as the scripts write them (`90s`, `1m30s`, `500ms`), in
/// milliseconds.
fn dur_ms(s: &str) -> i64 {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let v: f64 = rest[..n].parse().unwrap_or_else(|_| panic!("duration {s}"));
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            other => panic!("unit {other:?} in {s}"),
        };
        total += v * mult;
        rest = &rest[u..];
    }
    let ms = total as i64;
    if neg {
        -ms
    } else {
        ms
    }
}

/// RFC 3339 for a script time (ms from the epoch, under a month).
fn rfc3339(ms: i64) -> String {
    let s = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    assert!((0..28 * 86_400).contains(&s), "time {ms}ms out of range");
    format!(
        "2024-01-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + s / 86_400,
        s % 86_400 / 3600,
        s % 3600 / 60,
        s % 60,
        frac
    )
}

/// Drops a `#` comment outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '`') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// `{a="b", c="d"}` → sorted pairs.
fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    let mut out = BTreeMap::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let eq = rest.find('=').expect("label =");
        let name = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        assert!(after.starts_with('"'), "label value in {s}");
        let end = after[1..].find('"').expect("closing quote") + 1;
        out.insert(name, after[1..end].to_string());
        rest = after[end + 1..].trim_start().trim_start_matches(',').trim();
    }
    out
}

/// A series' labels and its points, one per step (`None`: no point).
type Series = (BTreeMap<String, String>, Vec<Option<f64>>);

struct Entry {
    labels: BTreeMap<String, String>,
    ms: i64,
    line: String,
    metadata: BTreeMap<String, String>,
}

/// One `load` line: `{sel} "line" @ t [repeat every d for n]`.
fn load_line(l: &str, out: &mut Vec<Entry>) {
    let close = l.find('}').expect("selector");
    let labels = parse_labels(&l[..=close]);
    let rest = l[close + 1..].trim_start();
    let q = rest.chars().next().expect("line");
    let end = rest[1..].find(q).expect("closing quote") + 1;
    let line = rest[1..end].to_string();
    let rest = rest[end + 1..].trim();
    let rest = rest.strip_prefix('@').expect("@ time").trim();
    let mut parts = rest.split('[');
    let t = parts.next().unwrap_or("").trim();
    let mut repeat = None;
    let mut metadata = BTreeMap::new();
    for part in parts {
        let part = part.trim().trim_end_matches(']').trim();
        if let Some(m) = part.strip_prefix("metadata") {
            // `key="value"` pairs, a key possibly quoted.
            let m = m.trim();
            let mut rest = m;
            while !rest.is_empty() {
                let eq = rest.find("=\"").expect("metadata =");
                let key = rest[..eq].trim().trim_matches('"').to_string();
                let after = &rest[eq + 2..];
                let close = after.find('"').expect("metadata value");
                metadata.insert(key, after[..close].to_string());
                rest = after[close + 1..].trim_start();
            }
        } else {
            repeat = Some(part);
        }
    }
    let start = dur_ms(t);
    let (step, count) = match repeat {
        Some(r) => {
            let w: Vec<&str> = r.split_whitespace().collect();
            assert_eq!((w[0], w[1], w[3]), ("repeat", "every", "for"), "{l}");
            (dur_ms(w[2]), w[4].parse().unwrap())
        }
        None => (0, 1),
    };
    for i in 0..count {
        out.push(Entry {
            labels: labels.clone(),
            ms: start + i * step,
            line: line.replace("{{.i}}", &i.to_string()),
            metadata: metadata.clone(),
        });
    }
}

/// A Loki push body holding the entries.
fn push_body(entries: &[Entry]) -> String {
    let mut streams: BTreeMap<String, (Value, Vec<Value>)> = BTreeMap::new();
    for e in entries {
        let key = format!("{:?}", e.labels);
        let s = streams
            .entry(key)
            .or_insert_with(|| (serde_json::to_value(&e.labels).unwrap(), Vec::new()));
        let ns = (EPOCH as i128 * 1000 + e.ms as i128) * 1_000_000;
        s.1.push(if e.metadata.is_empty() {
            serde_json::json!([ns.to_string(), e.line])
        } else {
            serde_json::json!([ns.to_string(), e.line, e.metadata])
        });
    }
    let streams: Vec<Value> = streams
        .into_values()
        .map(|(stream, values)| serde_json::json!({"stream": stream, "values": values}))
        .collect();
    serde_json::json!({ "streams": streams }).to_string()
}

/// Expands a point list (`1 2 _ 4x3 2+3x2`).
fn points(words: &[&str]) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for w in words {
        if *w == "_" {
            out.push(None);
            continue;
        }
        if let Some((base, count)) = w.rsplit_once('x').filter(|(b, _)| !b.is_empty()) {
            let count: usize = count.parse().unwrap();
            let (base, delta) = match base[1..].find(['+', '-']) {
                Some(i) => (&base[..i + 1], num(&base[i + 1..])),
                None => (base, 0.0),
            };
            let b = num(base);
            for k in 0..=count {
                out.push(Some(b + delta * k as f64));
            }
            continue;
        }
        out.push(Some(num(w)));
    }
    out
}

fn num(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "Inf" | "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or_else(|_| panic!("number {s:?}")),
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || ((a - b) / b).abs() < 1e-9
}

enum Expect {
    Fail,
    Empty,
    Scalar(f64),
    /// The series, and whether their order counts (`expect ordered`).
    Series(Vec<Series>, bool),
}

/// Runs one `eval` and returns what went wrong, if anything.
fn eval(header: &str, expect: &Expect, entries: &[Entry]) -> Option<String> {
    let w: Vec<&str> = header.split_whitespace().collect();
    let (args, query, times): (Vec<String>, String, Vec<i64>) = match w[1] {
        "instant" => {
            assert_eq!(w[2], "at");
            let t = dur_ms(w[3]);
            let q = header.splitn(5, char::is_whitespace).nth(4).unwrap();
            (
                vec!["--instant".into(), "--end".into(), rfc3339(t)],
                q.to_string(),
                vec![t],
            )
        }
        "range" => {
            let (t0, t1, step) = (dur_ms(w[3]), dur_ms(w[5]), dur_ms(w[7]));
            let q = header.splitn(9, char::is_whitespace).nth(8).unwrap();
            let times = (0..)
                .map(|k| t0 + k * step)
                .take_while(|t| *t <= t1)
                .collect();
            (
                vec![
                    "--start".into(),
                    rfc3339(t0),
                    "--end".into(),
                    rfc3339(t1),
                    "--step".into(),
                    format!("{}ms", step),
                ],
                q.to_string(),
                times,
            )
        }
        other => panic!("eval {other}"),
    };
    let mut a: Vec<&str> = vec!["query", "--format", "loki", "--output", "json"];
    a.extend(args.iter().map(String::as_str));
    // A query may start with `-` (`-10 / 0`).
    a.push("--");
    a.push(&query);
    let out = run_stdin(&a, push_body(entries).as_bytes());
    let code = out.status.code();
    if let Expect::Fail = expect {
        return (code == Some(0)).then(|| "expected a failure, the query succeeded".into());
    }
    if code != Some(0) {
        return Some(format!("failed: {}", stderr(&out)));
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    if let Expect::Scalar(want) = expect {
        let r = &v["data"]["result"];
        return match (v["data"]["resultType"].as_str(), r[1].as_str()) {
            (Some("scalar"), Some(x)) if same(num(x), *want) => None,
            _ => Some(format!("got {v}, want the scalar {want}")),
        };
    }
    let mut got: Vec<Series> = Vec::new();
    for s in v["data"]["result"].as_array().into_iter().flatten() {
        let labels: BTreeMap<String, String> = serde_json::from_value(s["metric"].clone()).unwrap();
        let mut pts = vec![None; times.len()];
        let vals: Vec<&Value> = match s.get("values") {
            Some(vs) => vs.as_array().unwrap().iter().collect(),
            None => vec![&s["value"]],
        };
        for p in vals {
            let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64 - EPOCH * 1000;
            let Some(i) = times.iter().position(|x| *x == t) else {
                return Some(format!("a point at {t}ms, not a step"));
            };
            pts[i] = Some(num(p[1].as_str().unwrap()));
        }
        got.push((labels, pts));
    }
    let want = match expect {
        Expect::Empty => Vec::new(),
        Expect::Series(s, _) => s.clone(),
        Expect::Fail | Expect::Scalar(_) => unreachable!(),
    };
    let matches = |a: &Series, b: &Series| {
        a.0 == b.0
            && a.1.len() == b.1.len()
            && a.1.iter().zip(&b.1).all(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => same(*x, *y),
                (None, None) => true,
                _ => false,
            })
    };
    let ordered = matches!(expect, Expect::Series(_, true));
    let ok = got.len() == want.len()
        && if ordered {
            got.iter().zip(&want).all(|(g, w)| matches(g, w))
        } else {
            want.iter().all(|w| got.iter().any(|g| matches(g, w)))
        };
    (!ok).then(|| format!("got {got:?}\nwant {want:?}"))
}

/// Runs every `eval` of one script; returns the failures.
fn run_script(text: &str) -> (usize, Vec<String>) {
    let lines: Vec<&str> = text.lines().map(strip_comment).collect();
    let mut entries = Vec::new();
    let mut failures = Vec::new();
    let mut evals = 0;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim_end();
        i += 1;
        if l.trim().is_empty() {
            continue;
        }
        let block = |i: &mut usize| {
            let mut b = Vec::new();
            while *i < lines.len() && lines[*i].starts_with([' ', '\t']) {
                if !lines[*i].trim().is_empty() {
                    b.push(lines[*i].trim());
                }
                *i += 1;
            }
            b
        };
        if l == "clear" {
            entries.clear();
        } else if l == "load" {
            for b in block(&mut i) {
                load_line(b, &mut entries);
            }
        } else if l.starts_with("eval ") {
            // `skip … on "<executor>"` concerns Loki's other executors
            // (sharded query frontends), not a direct evaluation.
            let b: Vec<&str> = block(&mut i)
                .into_iter()
                .filter(|x| !x.starts_with("skip "))
                .collect();
            let expect = match b.first().copied() {
                Some(x) if x.starts_with("expect fail") => Expect::Fail,
                Some("expect empty") => Expect::Empty,
                Some(x) if !x.contains('{') && b.len() == 1 => Expect::Scalar(num(x)),
                _ => Expect::Series(
                    b.iter()
                        .filter(|x| !x.starts_with("expect"))
                        .map(|x| {
                            let close = x.rfind('}').expect("series labels");
                            let words: Vec<&str> = x[close + 1..].split_whitespace().collect();
                            (parse_labels(&x[..=close]), points(&words))
                        })
                        .collect(),
                    b.contains(&"expect ordered"),
                ),
            };
            evals += 1;
            if let Some(why) = eval(l, &expect, &entries) {
                failures.push(format!("{l}\n{why}"));
            }
        } else {
            panic!("unknown command {l:?}");
        }
    }
    (evals, failures)
}

#[test]
fn loki_logqltest_scripts() {
    let Some(dir) = std::env::var_os("LOKI_LOGQLTEST_DIR").map(PathBuf::from) else {
        eprintln!("LOKI_LOGQLTEST_DIR is not set: Loki's .logqltest scripts are not run");
        return;
    };
    // `LOKI_LOGQLTEST_SCRIPTS=a.logqltest,b.logqltest` runs others.
    let chosen = std::env::var("LOKI_LOGQLTEST_SCRIPTS").ok();
    let names: Vec<&str> = match &chosen {
        Some(list) => list.split(',').collect(),
        None => SCRIPTS.to_vec(),
    };
    for name in names {
        let text =
            std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (evals, failures) = run_script(&text);
        assert!(evals > 0, "{name}: no eval");
        assert!(
            failures.is_empty(),
            "{name}: {} of {evals} evals failed:\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}
