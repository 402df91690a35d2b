//! `nagare query` metric evaluation against hand-computed answers, one
//! test per family of constructs, over `fixtures/query/app.log` (its
//! README says what each line is for). Every expected number below is
//! worked out by hand from this table, never taken from nagare's output.
//!
//! Times are seconds after T0 = 2026-05-06T10:00:00Z. Request lines
//! (`event="request"`, each exactly 160 bytes):
//!
//! | t    | path | status | latency_ms | took  | size          |
//! |------|------|--------|------------|-------|---------------|
//! | 1    | /a   | 200    | 10         | 250ms | 1KB = 1000    |
//! | 2    | /a   | 500    | 20         | 500ms | 2KiB = 2048   |
//! | 5    | /b   | 200    | 30         | 1.5s  | 512B = 512    |
//! | 10   | /a   | 200    | 40         | 2s    | 1MB = 1000000 |
//! | 10.5 | /b   | 503    | 50         | 125ms | 3KB = 3000    |
//! | 15   | /b   | 200    | 60         | 1m    | 1KiB = 1024   |
//! | 20   | /a   | 404    | 70         | 750ms | 100           |
//! | 25   | /c   | 200    | (none)     |       |               |
//! | 30   | /a   | 200    | 80         | 1s    | 2KB = 2000    |
//! | 35   | /c   | 204    | "" (empty) |       |               |
//!
//! Also: a truncated JSON line (malformed: no fields, not a request), a
//! probe at t=33 whose latency_ms is "n/a", and counters (`event="counter"`,
//! value `c`): jobs 20@62 24@64 4@66 8@68 12@78; queue 2@63 10@65 18@67
//! 26@69.
//!
//! Each point at T covers (T − range, T]; steps are multiples of the step.

use std::collections::BTreeMap;

use assert_cmd::Command;
use serde_json::Value;

const FIXTURE: &str = "fixtures/query/app.log";
const T0: i64 = 1_778_061_600; // 2026-05-06T10:00:00Z
/// The request lines.
const R: &str = r#"{filename=~".+"} | event="request""#;

fn at(s: i64) -> String {
    let (m, s) = (s.div_euclid(60), s.rem_euclid(60));
    format!("2026-05-06T10:{m:02}:{s:02}Z")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("nagare")
        .expect("nagare binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("query")
        .args(["--output", "json"])
        .args(args)
        .arg(FIXTURE)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_ok(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `{a="x", b="y"}` for a result's "metric" object (keys sorted).
fn labels(m: &Value) -> String {
    let m: BTreeMap<&String, &str> = m
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap()))
        .collect();
    let l: Vec<String> = m.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", l.join(", "))
}

fn num(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

/// An instant query at T0+`t`: (labels, value) in the order printed.
fn instant(q: &str, t: i64) -> Vec<(String, f64)> {
    let v = json_ok(&["--instant", "--end", &at(t), q]);
    assert_eq!(v["data"]["resultType"], "vector", "{q}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["value"][0], T0 + t, "{q}");
            (labels(&r["metric"]), num(&r["value"][1]))
        })
        .collect()
}

/// A range query: (labels, [(seconds after T0, value)]) per series.
fn range(q: &str, start: i64, end: i64, step: &str) -> Vec<(String, Vec<(i64, f64)>)> {
    let v = json_ok(&["--start", &at(start), "--end", &at(end), "--step", step, q]);
    assert_eq!(v["data"]["resultType"], "matrix", "{q}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let pts = r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_i64().unwrap() - T0, num(&p[1])))
                .collect();
            (labels(&r["metric"]), pts)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

#[track_caller]
fn assert_vector(got: &[(String, f64)], want: &[(&str, f64)]) {
    let ok = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|((gl, gv), (wl, wv))| gl == wl && close(*gv, *wv));
    assert!(ok, "got {got:?}\nwant {want:?}");
}

#[track_caller]
fn assert_matrix(got: &[(String, Vec<(i64, f64)>)], want: &[(&str, &[(i64, f64)])]) {
    let ok = got.len() == want.len()
        && got.iter().zip(want).all(|((gl, gp), (wl, wp))| {
            gl == wl
                && gp.len() == wp.len()
                && gp
                    .iter()
                    .zip(wp.iter())
                    .all(|(g, w)| g.0 == w.0 && close(g.1, w.1))
        });
    assert!(ok, "got {got:?}\nwant {want:?}");
}

fn by_path(inner: &str) -> String {
    format!("sum by (path) ({inner})")
}

#[test]
fn fixture_is_as_documented() {
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE))
            .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 21);
    let requests: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(r#""event":"request""#) && l.ends_with('}'))
        .collect();
    assert_eq!(requests.len(), 10);
    assert!(requests.iter().all(|l| l.len() == 160));
}

/// Points at start, start + step, … up to end, as Loki's engine steps a
/// range query from its start (no alignment; DESIGN: "with `--start`
/// given the points are start, start + step, …").
#[test]
fn window_is_left_open_right_closed_and_steps_start_at_start() {
    let q = format!("sum(count_over_time({R} [10s]))");
    // Points at 13 and 23 (33 is past 27). (3,13] holds t=5, 10, 10.5 → 3;
    // (13,23] holds 15, 20 → 2.
    assert_matrix(
        &range(&q, 13, 27, "10s"),
        &[("{}", &[(13, 3.0), (23, 2.0)])],
    );
    // (0,10] holds t=1,2,5 and t=10 (right edge in): 4. (10,20] holds
    // 10.5, 15 and 20 but not t=10 (left edge out): 3. (20,30]: t=25, 30
    // → 2; (30,40]: t=35 → 1 (the malformed line has no event label, the
    // probe is not a request).
    assert_matrix(
        &range(&q, 10, 40, "10s"),
        &[("{}", &[(10, 4.0), (20, 3.0), (30, 2.0), (40, 1.0)])],
    );
    // A 5s step from 3: (−2,3] = 1,2 → 2; (3,8] = 5 → 1; (8,13] = 10,
    // 10.5 → 2; (13,18] = 15 → 1.
    let q5 = format!("sum(count_over_time({R} [5s]))");
    assert_matrix(
        &range(&q5, 3, 22, "5s"),
        &[("{}", &[(3, 2.0), (8, 1.0), (13, 2.0), (18, 1.0)])],
    );
    // An instant query is evaluated at --end exactly: (3,13] → 3.
    assert_vector(&instant(&q, 13), &[("{}", 3.0)]);
}

#[test]
fn empty_windows_are_omitted_per_series() {
    let q = by_path(&format!("count_over_time({R} [10s])"));
    // /a: (0,10] 1,2,10 → 3; (10,20] 20 → 1; (20,30] 30 → 1; (30,40] none.
    // /b: (0,10] 5 → 1; (10,20] 10.5,15 → 2; later none.
    // /c: (20,30] 25 → 1; (30,40] 35 → 1; earlier none.
    assert_matrix(
        &range(&q, 10, 40, "10s"),
        &[
            (r#"{path="/a"}"#, &[(10, 3.0), (20, 1.0), (30, 1.0)]),
            (r#"{path="/b"}"#, &[(10, 1.0), (20, 2.0)]),
            (r#"{path="/c"}"#, &[(30, 1.0), (40, 1.0)]),
        ],
    );
}

#[test]
fn instant_mode_and_offset() {
    // Instant at 10: the one window (0,10].
    assert_vector(
        &instant(&format!("sum(count_over_time({R} [10s]))"), 10),
        &[("{}", 4.0)],
    );
    // offset 10s at T=20 looks at (0,10] → 4, reported at 20; at 30 it
    // looks at (10,20] → 3.
    let q = format!("sum(count_over_time({R} [10s] offset 10s))");
    assert_vector(&instant(&q, 20), &[("{}", 4.0)]);
    assert_matrix(
        &range(&q, 20, 30, "10s"),
        &[("{}", &[(20, 4.0), (30, 3.0)])],
    );
}

#[test]
fn log_range_aggregations() {
    // (0,10]: /a 3 lines, /b 1 line, 160 bytes each.
    // rate = count / 10 s: /a 0.3, /b 0.1.
    assert_vector(
        &instant(&by_path(&format!("rate({R} [10s])")), 10),
        &[(r#"{path="/a"}"#, 0.3), (r#"{path="/b"}"#, 0.1)],
    );
    assert_vector(
        &instant(&by_path(&format!("count_over_time({R} [10s])")), 10),
        &[(r#"{path="/a"}"#, 3.0), (r#"{path="/b"}"#, 1.0)],
    );
    // bytes_over_time: 3 × 160 = 480, 1 × 160 = 160; bytes_rate / 10 s.
    assert_vector(
        &instant(&by_path(&format!("bytes_over_time({R} [10s])")), 10),
        &[(r#"{path="/a"}"#, 480.0), (r#"{path="/b"}"#, 160.0)],
    );
    assert_vector(
        &instant(&by_path(&format!("bytes_rate({R} [10s])")), 10),
        &[(r#"{path="/a"}"#, 48.0), (r#"{path="/b"}"#, 16.0)],
    );
}

#[test]
fn absent_over_time_and_its_labels() {
    let with_job = |q: &str, a: &[&str]| {
        let mut args = vec!["--label", "job=api"];
        args.extend_from_slice(a);
        args.push(q);
        json_ok(&args)
    };
    // [5s] windows at 10..60: (5,10] has t=10, (15,20] has t=20 (t=15 is
    // the open left edge), (25,30] has t=30; (35,40] does not have t=35
    // (left edge), (45,50] and (55,60] are empty → 1 at 40, 50, 60, with
    // the selector's equality label job="api" (the regex one is not kept).
    let v = with_job(
        r#"absent_over_time({job="api", filename=~".+"} | event="request" [5s])"#,
        &["--start", &at(10), "--end", &at(60), "--step", "10s"],
    );
    let r = &v["data"]["result"];
    assert_eq!(r.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(labels(&r[0]["metric"]), r#"{job="api"}"#);
    assert_eq!(
        r[0]["values"],
        serde_json::json!([[T0 + 40, "1"], [T0 + 50, "1"], [T0 + 60, "1"]])
    );
    // A name matched twice is left out (Loki's absentLabels).
    let v = with_job(
        r#"absent_over_time({job="api", job=~"a.+"} | event="request" [5s])"#,
        &["--instant", "--end", &at(50)],
    );
    assert_eq!(labels(&v["data"]["result"][0]["metric"]), "{}");
    assert_eq!(v["data"]["result"][0]["value"][1], "1");
}

#[test]
fn unwrapped_range_aggregations() {
    // [20s] at T=20: (0,20] holds /a 10, 20, 40, 70 and /b 30, 50, 60.
    let u = |f: &str, extra: &str| format!("{f}({R} | unwrap latency_ms{extra} [20s]) by (path)");
    let a = r#"{path="/a"}"#;
    let b = r#"{path="/b"}"#;
    let cases: &[(String, f64, f64)] = &[
        // /a: 140 / 4; /b: 140 / 3.
        (u("avg_over_time", ""), 35.0, 140.0 / 3.0),
        (u("min_over_time", ""), 10.0, 30.0),
        (u("max_over_time", ""), 70.0, 60.0),
        (u("first_over_time", ""), 10.0, 30.0),
        (u("last_over_time", ""), 70.0, 60.0),
        // Population variance. /a: mean 35, deviations −25 −15 5 35:
        // (625 + 225 + 25 + 1225) / 4 = 525. /b: (900 + 2500 + 3600) / 3
        // − (140/3)² = 1400 / 9.
        (u("stdvar_over_time", ""), 525.0, 1400.0 / 9.0),
        (
            u("stddev_over_time", ""),
            525f64.sqrt(),
            (1400f64 / 9.0).sqrt(),
        ),
        // Interpolated: rank φ·(n−1). /a [10 20 40 70], 0.75·3 = 2.25 →
        // 40 + 0.25·30 = 47.5; /b [30 50 60], 0.75·2 = 1.5 → 55.
        (
            "quantile_over_time(0.75, ".to_string() + R + " | unwrap latency_ms [20s]) by (path)",
            47.5,
            55.0,
        ),
        // 0.25: /a 0.75 → 10 + 0.75·10 = 17.5; /b 0.5 → 40.
        (
            "quantile_over_time(0.25, ".to_string() + R + " | unwrap latency_ms [20s]) by (path)",
            17.5,
            40.0,
        ),
        // Label filters after the unwrap see every label, the unwrapped
        // one included: status ≥ 500 keeps /a 20 and /b 50.
        (u("max_over_time", " | status >= 500"), 20.0, 50.0),
        // latency_ms < 50 keeps /a 10 20 40 and /b 30.
        (u("max_over_time", " | latency_ms < 50"), 40.0, 30.0),
    ];
    for (q, va, vb) in cases {
        assert_vector(&instant(q, 20), &[(a, *va), (b, *vb)]);
    }
    // sum_over_time and rate take no grouping: summed by path outside.
    // Sums 140 and 140; rate of an unwrapped range is the sum per second
    // (Loki's rateLogs with values): 140 / 20 = 7.
    let s = |f: &str, conv: &str| by_path(&format!("{f}({R} | unwrap {conv} [20s])"));
    assert_vector(
        &instant(&s("sum_over_time", "latency_ms"), 20),
        &[(a, 140.0), (b, 140.0)],
    );
    assert_vector(
        &instant(&s("rate", "latency_ms"), 20),
        &[(a, 7.0), (b, 7.0)],
    );
    // duration(took) in seconds: /a 0.25 + 0.5 + 2 + 0.75 = 3.5;
    // /b 1.5 + 0.125 + 60 = 61.625. duration_seconds is the same.
    for conv in ["duration(took)", "duration_seconds(took)"] {
        assert_vector(
            &instant(&s("sum_over_time", conv), 20),
            &[(a, 3.5), (b, 61.625)],
        );
    }
    // bytes(size): /a 1000 + 2048 + 1000000 + 100 = 1003148;
    // /b 512 + 3000 + 1024 = 4536.
    assert_vector(
        &instant(&s("sum_over_time", "bytes(size)"), 20),
        &[(a, 1_003_148.0), (b, 4536.0)],
    );
    // `without`: status dropped, /a and /b pooled per path (max 70, 60).
    assert_vector(
        &instant(
            &format!(
                "max_over_time({R} | keep path, status, latency_ms | unwrap latency_ms [20s]) without (status)"
            ),
            20,
        ),
        &[(a, 70.0), (b, 60.0)],
    );
    // (20,40]: t=25 lacks latency_ms and t=35 has it empty: both samples
    // are dropped, not errors; only /a 80 (t=30) is left.
    assert_vector(
        &instant(&s("sum_over_time", "latency_ms"), 40),
        &[(a, 80.0)],
    );
    // (30,40]: only the empty one → no sample at all.
    assert_vector(
        &instant(
            &format!("max_over_time({R} | unwrap latency_ms [10s]) by (path)"),
            40,
        ),
        &[],
    );
}

#[test]
fn rate_counter_extrapolates_like_prometheus() {
    let q = |r: &str| {
        format!(
            r#"rate_counter({{filename=~".+"}} | event="counter" | keep name, c | unwrap c [{r}])"#
        )
    };
    // T=70, [10s], window (60,70]:
    // jobs 20@62 24@64 4@66 8@68: increase 8 − 20 = −12, plus 24 for the
    // reset (24 → 4) = 12. Sampled 6 s over 3 intervals: average 2 s,
    // threshold 2.2 s. To start 62 − 60 = 2 < 2.2 → kept; zero point
    // 6 · 20/12 = 10 s away, not closer. To end 70 − 68 = 2 → kept.
    // 12 · (6 + 2 + 2) / 6 / 10 s = 2.
    // queue 2@63 10@65 18@67 26@69: increase 24; average 2, threshold
    // 2.2; to start 3 ≥ 2.2 → half an interval, 1; zero point
    // 6 · 2/24 = 0.5 < 1 → 0.5; to end 1. 24 · (6 + 0.5 + 1) / 6 / 10 = 3.
    assert_vector(
        &instant(&q("10s"), 70),
        &[(r#"{name="jobs"}"#, 2.0), (r#"{name="queue"}"#, 3.0)],
    );
    // T=80, [10s]: (70,80] holds jobs 12@78 alone → 0 (fewer than two
    // samples; Loki keeps the element); queue has nothing.
    assert_vector(&instant(&q("10s"), 80), &[(r#"{name="jobs"}"#, 0.0)]);
    // T=80, [20s], (60,80]: jobs adds 12@78: increase 12 − 20 + 24 = 16
    // over 16 s, 4 intervals: average 4, threshold 4.4; to start 2, to
    // end 2, zero point 16 · 20/16 = 20 → 16 · 20/16 / 20 = 1.
    // queue: to start 3 ≥ 2.2 → 1, zero point 0.5 → 0.5; to end
    // 80 − 69 = 11 ≥ 2.2 → 1: 24 · 7.5/6 / 20 = 1.5.
    assert_vector(
        &instant(&q("20s"), 80),
        &[(r#"{name="jobs"}"#, 1.0), (r#"{name="queue"}"#, 1.5)],
    );
    // T=100, [40s], (60,100]: jobs to end 22 ≥ 4.4 → half interval 2:
    // 16 · (16 + 2 + 2)/16 / 40 = 0.5. queue to end 31 → 1:
    // 24 · 7.5/6 / 40 = 0.75.
    assert_vector(
        &instant(&q("40s"), 100),
        &[(r#"{name="jobs"}"#, 0.5), (r#"{name="queue"}"#, 0.75)],
    );
}

/// v = requests per path over (0,40] at T=40: /a 5 (1,2,10,20,30),
/// /b 3 (5,10.5,15), /c 2 (25,35).
fn v() -> String {
    by_path(&format!("count_over_time({R} [40s])"))
}

/// w = 5xx per path over (0,40]: /a 1 (500 at 2), /b 1 (503 at 10.5).
fn w() -> String {
    by_path(&format!("count_over_time({R} | status >= 500 [40s])"))
}

const A: &str = r#"{path="/a"}"#;
const B: &str = r#"{path="/b"}"#;
const C: &str = r#"{path="/c"}"#;

#[test]
fn vector_aggregations() {
    let v = v();
    assert_vector(&instant(&v, 40), &[(A, 5.0), (B, 3.0), (C, 2.0)]);
    let agg = |op: &str| instant(&format!("{op}({v})"), 40);
    assert_vector(&agg("sum"), &[("{}", 10.0)]);
    assert_vector(&agg("avg"), &[("{}", 10.0 / 3.0)]);
    assert_vector(&agg("min"), &[("{}", 2.0)]);
    assert_vector(&agg("max"), &[("{}", 5.0)]);
    assert_vector(&agg("count"), &[("{}", 3.0)]);
    // Population: mean 10/3, squares (25 + 1 + 16)/9 → 42/9 / 3 = 14/9.
    assert_vector(&agg("stdvar"), &[("{}", 14.0 / 9.0)]);
    assert_vector(&agg("stddev"), &[("{}", (14f64 / 9.0).sqrt())]);
    // by/without before and after the argument; statuses over (0,40]:
    // 200 ×6 (1,5,10,15,25,30), 204, 404, 500, 503 ×1.
    let s = format!("count_over_time({R} | keep path, status [40s])");
    let statuses = [
        (r#"{status="200"}"#, 6.0),
        (r#"{status="204"}"#, 1.0),
        (r#"{status="404"}"#, 1.0),
        (r#"{status="500"}"#, 1.0),
        (r#"{status="503"}"#, 1.0),
    ];
    assert_vector(&instant(&format!("sum by (status) ({s})"), 40), &statuses);
    assert_vector(&instant(&format!("sum({s}) by (status)"), 40), &statuses);
    let paths = [(A, 5.0), (B, 3.0), (C, 2.0)];
    assert_vector(&instant(&format!("sum without (status) ({s})"), 40), &paths);
    assert_vector(&instant(&format!("sum({s}) without (status)"), 40), &paths);
    // Distinct statuses per path: /a 200 404 500, /b 200 503, /c 200 204.
    assert_vector(
        &instant(&format!("count by (path) ({s})"), 40),
        &[(A, 3.0), (B, 2.0), (C, 2.0)],
    );
    // topk/bottomk keep the elements' own labels.
    assert_vector(
        &instant(&format!("topk(2, {v})"), 40),
        &[(A, 5.0), (B, 3.0)],
    );
    assert_vector(&instant(&format!("bottomk(1, {v})"), 40), &[(C, 2.0)]);
    // Per path, the largest count: /a 200 (3), /b 200 (2), and for /c a
    // tie of 200 and 204 (1 each): the first in label order wins.
    assert_vector(
        &instant(&format!("topk by (path) (1, {s})"), 40),
        &[
            (r#"{path="/a", status="200"}"#, 3.0),
            (r#"{path="/b", status="200"}"#, 2.0),
            (r#"{path="/c", status="200"}"#, 1.0),
        ],
    );
    // A tie between /b and /c (2 statuses each): /b, first in label order.
    assert_vector(
        &instant(&format!("bottomk(1, count by (path) ({s}))"), 40),
        &[(B, 2.0)],
    );
    // sort/sort_desc order an instant vector by value (otherwise it is
    // ordered by labels).
    assert_vector(
        &instant(&format!("sort({v})"), 40),
        &[(C, 2.0), (B, 3.0), (A, 5.0)],
    );
    assert_vector(
        &instant(&format!("sort_desc({v})"), 40),
        &[(A, 5.0), (B, 3.0), (C, 2.0)],
    );
}

#[test]
fn arithmetic_and_comparisons_with_scalars() {
    let v = v();
    let q = |e: &str| instant(&e.replace('V', &v), 40);
    // v = /a 5, /b 3, /c 2.
    assert_vector(&q("V + 1"), &[(A, 6.0), (B, 4.0), (C, 3.0)]);
    assert_vector(&q("V - 1"), &[(A, 4.0), (B, 2.0), (C, 1.0)]);
    assert_vector(&q("V * 2"), &[(A, 10.0), (B, 6.0), (C, 4.0)]);
    assert_vector(&q("V / 2"), &[(A, 2.5), (B, 1.5), (C, 1.0)]);
    assert_vector(&q("V % 2"), &[(A, 1.0), (B, 1.0), (C, 0.0)]);
    assert_vector(&q("V ^ 2"), &[(A, 25.0), (B, 9.0), (C, 4.0)]);
    // Loki divides by zero to NaN (not ±Inf), for / and %.
    let nan = f64::NAN;
    assert_vector(&q("V / 0"), &[(A, nan), (B, nan), (C, nan)]);
    assert_vector(&q("V % 0"), &[(A, nan), (B, nan), (C, nan)]);
    let (_, out, _) = run(&["--instant", "--end", &at(40), &format!("{v} / 0")]);
    assert!(out.contains(r#""NaN""#), "{out}");
    // Comparisons filter, keeping the vector's value.
    assert_vector(&q("V == 3"), &[(B, 3.0)]);
    assert_vector(&q("V != 3"), &[(A, 5.0), (C, 2.0)]);
    assert_vector(&q("V > 2"), &[(A, 5.0), (B, 3.0)]);
    assert_vector(&q("V >= 3"), &[(A, 5.0), (B, 3.0)]);
    assert_vector(&q("V < 3"), &[(C, 2.0)]);
    assert_vector(&q("V <= 3"), &[(B, 3.0), (C, 2.0)]);
    // bool: 1 or 0 for every element.
    assert_vector(&q("V > bool 2"), &[(A, 1.0), (B, 1.0), (C, 0.0)]);
    assert_vector(&q("V == bool 3"), &[(A, 0.0), (B, 1.0), (C, 0.0)]);
    // Scalar on the left: 10 − v; a comparison still keeps v's value.
    assert_vector(&q("10 - V"), &[(A, 5.0), (B, 7.0), (C, 8.0)]);
    assert_vector(&q("2 < V"), &[(A, 5.0), (B, 3.0)]);
    assert_vector(&q("2 < bool V"), &[(A, 1.0), (B, 1.0), (C, 0.0)]);
    // Precedence: ^ over * over +; ^ is right-associative.
    assert_vector(&q("V * 2 ^ 2"), &[(A, 20.0), (B, 12.0), (C, 8.0)]);
    assert_vector(&q("V - 1 * 2"), &[(A, 3.0), (B, 1.0), (C, 0.0)]);
    assert_vector(&q("(V - 1) * 2"), &[(A, 8.0), (B, 4.0), (C, 2.0)]);
}

#[test]
fn literals_vector_and_nesting() {
    let scalar = |q: &str| {
        let v = json_ok(&["--instant", "--end", &at(40), q]);
        assert_eq!(v["data"]["resultType"], "scalar", "{q}");
        assert_eq!(v["data"]["result"][0], T0 + 40);
        num(&v["data"]["result"][1])
    };
    assert_eq!(scalar("2 ^ 3 ^ 2"), 512.0); // 2^(3^2), not (2^3)^2 = 64
    assert_eq!(scalar("1 + 2 * 3 ^ 2"), 19.0);
    assert_eq!(scalar("(1 + 2) * 3"), 9.0);
    assert_eq!(scalar("2 * 3 + 1"), 7.0);
    // Loki folds literal comparisons without filtering: 1 or 0.
    assert_eq!(scalar("1 > 2"), 0.0);
    assert_eq!(scalar("2 > 1"), 1.0);
    assert_eq!(scalar("2 > bool 1"), 1.0);
    // A range query of a literal is one unlabelled series, every step.
    assert_matrix(
        &range("1 + 1", 0, 20, "10s"),
        &[("{}", &[(0, 2.0), (10, 2.0), (20, 2.0)])],
    );
    assert_matrix(
        &range("vector(1)", 0, 20, "10s"),
        &[("{}", &[(0, 1.0), (10, 1.0), (20, 1.0)])],
    );
    assert_vector(&instant("vector(3)", 40), &[("{}", 3.0)]);
    let v = v();
    // sum(v) = 10 and vector(1) both have no labels: 11.
    assert_vector(
        &instant(&format!("sum({v}) + vector(1)"), 40),
        &[("{}", 11.0)],
    );
    // avg by hand: sum / count = 10 / 3.
    assert_vector(
        &instant(&format!("sum({v}) / count({v})"), 40),
        &[("{}", 10.0 / 3.0)],
    );
}

#[test]
fn vector_matching() {
    let (v, w) = (v(), w());
    let q = |e: &str| instant(&e.replace('V', &v).replace('W', &w), 40);
    // One-to-one: w / v on equal label sets: /a 1/5, /b 1/3; /c has no w.
    assert_vector(&q("W / V"), &[(A, 0.2), (B, 1.0 / 3.0)]);
    assert_vector(&q("W / on(path) V"), &[(A, 0.2), (B, 1.0 / 3.0)]);
    // ignoring(status): the 5xx series {path, status} match v by path;
    // one-to-one drops the ignored label from the result.
    let w_status = format!("sum by (path, status) (count_over_time({R} | status >= 500 [40s]))");
    assert_vector(
        &instant(&format!("{w_status} / ignoring(status) {v}"), 40),
        &[(A, 0.2), (B, 1.0 / 3.0)],
    );
    // Vector comparisons filter and keep the left value; bool gives 1/0.
    assert_vector(&q("V > W"), &[(A, 5.0), (B, 3.0)]);
    assert_vector(&q("V > bool W"), &[(A, 1.0), (B, 1.0)]);
    // Set operators.
    assert_vector(&q("V and on(path) W"), &[(A, 5.0), (B, 3.0)]);
    assert_vector(&q("V unless on(path) W"), &[(C, 2.0)]);
    assert_vector(&q("W or V"), &[(A, 1.0), (B, 1.0), (C, 2.0)]);
    // Many-to-one: the share of each status in its path's requests.
    // /a: 200 3/5, 404 1/5, 500 1/5; /b: 200 2/3, 503 1/3; /c: ½, ½.
    let s = format!("sum by (path, status) (count_over_time({R} [40s]))");
    assert_vector(
        &instant(&format!("{s} / on(path) group_left {v}"), 40),
        &[
            (r#"{path="/a", status="200"}"#, 0.6),
            (r#"{path="/a", status="404"}"#, 0.2),
            (r#"{path="/a", status="500"}"#, 0.2),
            (r#"{path="/b", status="200"}"#, 2.0 / 3.0),
            (r#"{path="/b", status="503"}"#, 1.0 / 3.0),
            (r#"{path="/c", status="200"}"#, 0.5),
            (r#"{path="/c", status="204"}"#, 0.5),
        ],
    );
    // group_left(owner) copies owner from the "one" side (made with
    // label_replace: "/a" → "team-a"): count × v.
    let owned = format!(r#"label_replace({v}, "owner", "team-$1", "path", "/(.*)")"#);
    assert_vector(
        &instant(&format!("{s} * on(path) group_left(owner) {owned}"), 40),
        &[
            (r#"{owner="team-a", path="/a", status="200"}"#, 15.0),
            (r#"{owner="team-a", path="/a", status="404"}"#, 5.0),
            (r#"{owner="team-a", path="/a", status="500"}"#, 5.0),
            (r#"{owner="team-b", path="/b", status="200"}"#, 6.0),
            (r#"{owner="team-b", path="/b", status="503"}"#, 3.0),
            (r#"{owner="team-c", path="/c", status="200"}"#, 2.0),
            (r#"{owner="team-c", path="/c", status="204"}"#, 2.0),
        ],
    );
    // group_right: the right side is the "many"; v − count per status.
    assert_vector(
        &instant(&format!("{v} - on(path) group_right {s}"), 40),
        &[
            (r#"{path="/a", status="200"}"#, 2.0),
            (r#"{path="/a", status="404"}"#, 4.0),
            (r#"{path="/a", status="500"}"#, 4.0),
            (r#"{path="/b", status="200"}"#, 1.0),
            (r#"{path="/b", status="503"}"#, 2.0),
            (r#"{path="/c", status="200"}"#, 1.0),
            (r#"{path="/c", status="204"}"#, 1.0),
        ],
    );
    // Without group_left, several left series per path is an error.
    let (code, _, err) = run(&[
        "--instant",
        "--end",
        &at(40),
        &format!("{s} / on(path) {v}"),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"),
        "{err}"
    );
    // label_replace: "/a" and "/b" match ^(?:/(a|b))$; "/c" is unchanged.
    assert_vector(
        &instant(
            &format!(r#"label_replace({v}, "p", "$1", "path", "/(a|b)")"#),
            40,
        ),
        &[
            (r#"{p="a", path="/a"}"#, 5.0),
            (r#"{p="b", path="/b"}"#, 3.0),
            (C, 2.0),
        ],
    );
}

#[test]
fn pipeline_errors_fail_like_loki() {
    // The truncated line (8) is not one JSON object: `| json` sets
    // JSONParserErr on it. It has no time of its own, so it takes the time
    // of the record before it (7, at 20). A window holding it fails the
    // query with Loki's text.
    let (code, _, err) = run(&[
        "--instant",
        "--end",
        "2100-01-01T00:00:00Z",
        r#"sum(count_over_time({filename=~".+"} | json [100y]))"#,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(r#"pipeline error: 'JSONParserErr' for series: '{__error__="JSONParserErr""#),
        "{err}"
    );
    for line in [
        r#"Use a label filter to intentionally skip this error. (e.g | __error__!="JSONParserErr")."#,
        r#"To skip all potential errors you can match empty errors.(e.g __error__="")"#,
        r#"The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )"#,
    ] {
        assert!(err.contains(line), "{err}");
    }
    // Without --start/--end the query stands for all the data: any error
    // sample fails it, wherever the step grid falls.
    let (code, _, err) = run(&[r#"count_over_time({filename=~".+"} | json [1m])"#]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("'JSONParserErr'"), "{err}");
    // (−20,40] holds it (at 20): the query fails.
    let (code, _, err) = run(&[
        "--instant",
        "--end",
        &at(40),
        r#"sum(count_over_time({filename=~".+"} | json [1m]))"#,
    ]);
    assert_eq!(code, 2, "{err}");
    // At 19 no evaluated window holds it, so, as in Loki (which checks
    // each step's vector), it does not fail the query: 6 requests over
    // (−41,19]. Skipping the error lines gives the same count, and at 40
    // it leaves 10 requests + the probe.
    let sum = |filter: &str, at: i64| {
        instant(
            &format!(r#"sum(count_over_time({{filename=~".+"}} | json{filter} [1m]))"#),
            at,
        )
    };
    assert_vector(&sum("", 19), &[("{}", 6.0)]);
    assert_vector(&sum(r#" | __error__="""#, 19), &[("{}", 6.0)]);
    assert_vector(&sum(r#" | __error__="""#, 40), &[("{}", 11.0)]);
    // A non-numeric unwrapped value (the probe at 33): SampleExtractionErr
    // with Go's strconv detail, when a window holds it: (−20,40] does.
    let q = r#"sum_over_time({filename=~".+"} | event="probe" | unwrap latency_ms [1m])"#;
    let (code, _, err) = run(&["--instant", "--end", &at(40), q]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(r#"pipeline error: 'SampleExtractionErr' for series: '{__error__="SampleExtractionErr", __error_details__="strconv.ParseFloat: parsing \"n/a\": invalid syntax", "#),
        "{err}"
    );
    assert!(
        err.contains(r#"(e.g | __error__!="SampleExtractionErr")."#),
        "{err}"
    );
    // (40,100] does not hold 33: no error, and no sample either.
    assert_vector(&instant(q, 100), &[]);
    // `--instant` alone ends at the data, here the error sample's own span
    // (33, so the step after it, 60): (0,60] holds it.
    let (code, _, err) = run(&["--instant", q]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SampleExtractionErr"), "{err}");
    // Steps 0, 60, 120 with a 10 s range evaluate (−10,0], (50,60],
    // (110,120]: 33 falls between windows, so the range query succeeds.
    let q10 = r#"sum_over_time({filename=~".+"} | event="probe" | unwrap latency_ms [10s])"#;
    assert_matrix(&range(q10, 0, 120, "60s"), &[]);
    // 30 s steps (0, 30, 60, 90, 120) evaluate (20,30] and (50,60] around
    // it: still none. 5 s steps evaluate (25,35], which holds 33: fails.
    assert_matrix(&range(q10, 0, 120, "30s"), &[]);
    let (code, _, err) = run(&["--start", &at(0), "--end", &at(120), "--step", "5s", q10]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SampleExtractionErr"), "{err}");
    // A filter after the unwrap skips it: nothing is left.
    let q = r#"sum_over_time({filename=~".+"} | event="probe" | unwrap latency_ms | __error__="" [1m])"#;
    assert_vector(&instant(q, 40), &[]);
}
