//! Durations and sizes on the command line read as LogQL reads them
//! (`src/units.rs`): `1.5h` is accepted by `--burst` as by `--step`, where
//! `--burst` used to refuse fractions.

use assert_cmd::Command;

fn nagare() -> Command {
    let mut c = Command::cargo_bin("nagare").expect("nagare binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn burst_gap_takes_a_fractional_duration() {
    let out = nagare()
        .args([
            "metrics",
            "--output",
            "json",
            "--burst",
            "3/1.5h",
            "fixtures/app.log",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["db_locks"]["events"].as_u64().unwrap() > 0);
}

#[test]
fn step_takes_a_fractional_duration() {
    let out = nagare()
        .args([
            "query",
            "--step",
            "1.5h",
            "sum(count_over_time({filename=~\".+\"} [5m]))",
            "fixtures/app.log",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
}

#[test]
fn a_fraction_of_a_day_is_refused_everywhere() {
    // Neither Prometheus' nor Go's parser reads `1.5d`, so LogQL refuses
    // `[1.5d]`; the flags say no as well, with exit 2.
    for args in [
        &["metrics", "--burst", "3/1.5d", "fixtures/app.log"][..],
        &[
            "query",
            "--step",
            "1.5d",
            "count_over_time({filename=~\".+\"} [5m])",
            "fixtures/app.log",
        ],
    ] {
        let out = nagare().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn max_line_length_takes_a_size() {
    for size in ["1048576", "1MiB", "1024KiB"] {
        nagare()
            .args([
                "filter",
                "--count",
                "--max-line-length",
                size,
                "fixtures/app.log",
            ])
            .assert()
            .success();
    }
    let out = nagare()
        .args(["filter", "--max-line-length", "lots", "fixtures/app.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-line-length"));
}
