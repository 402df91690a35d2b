//! Metric rules files: the built-in defaults, user counters, and errors that
//! name the file, line and column.

use assert_cmd::Command;

fn nagare() -> Command {
    Command::cargo_bin("nagare").expect("nagare binary")
}

const LINES: &str = concat!(
    r#"{"event":"mcp.tool_call","tool":"search","status":200}"#,
    "\n",
    r#"{"event":"mcp.tool_call","tool":"fetch"}"#,
    "\n",
    r#"{"event":"mcp.tool_call","tool":"search"}"#,
    "\n",
    r#"{"event":"key.issued","tier":"pro"}"#,
    "\n",
    r#"{"event":"request","path":"/x","status":429,"tier":"free","latency_ms":3}"#,
    "\n",
);

fn report(args: &[&str]) -> serde_json::Value {
    let out = nagare()
        .args(["metrics", "--output", "json"])
        .args(args)
        .write_stdin(LINES)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn default_rules_count_tool_calls_keys_and_rate_limits() {
    let r = report(&[]);
    let c = &r["counters"];
    let tools = c["mcp_tool_calls_total"].as_array().unwrap();
    assert_eq!(tools[0]["labels"]["tool"], "search");
    assert_eq!(tools[0]["count"], 2);
    assert_eq!(tools[1]["count"], 1);
    assert_eq!(c["api_keys_issued_total"][0]["count"], 1);
    assert_eq!(
        c["rate_limited_requests_total"][0]["labels"]["tier"],
        "free"
    );
}

#[test]
fn user_rules_replace_defaults_and_cap_series() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "slow_ms = 1\n[[counter]]\nname = \"tools_total\"\nquery = '| event=~\"mcp.*\"'\nlabels = [\"tool\"]\nmax_series = 1\n",
    )
    .unwrap();
    let r = report(&["--rules", rules.to_str().unwrap()]);
    assert_eq!(r["slow_requests"]["threshold_ms"], 1.0);
    assert_eq!(r["slow_requests"]["total"], 1);
    let tools = r["counters"]["tools_total"].as_array().unwrap();
    // One named series, the rest folded into _other_.
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0]["labels"]["tool"], "search");
    assert_eq!(tools[1]["labels"]["tool"], "_other_");
    assert!(r["counters"].get("mcp_tool_calls_total").is_none());
    // A flag still wins over the file.
    let r = report(&["--rules", rules.to_str().unwrap(), "--slow-ms", "100"]);
    assert_eq!(r["slow_requests"]["threshold_ms"], 100.0);
}

#[test]
fn bad_rule_files_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("slow_ms = 1000\nburst = \"3/\"\n", ":2:"),
        (
            "[[counter]]\nname = \"x_total\"\nquery = '| status >= '\n",
            ":3:22:",
        ),
        (
            "[[counter]]\nname = \"bad name\"\nquery = '| a=\"b\"'\n",
            ":2:",
        ),
        ("nope = 1\n", ":1:"),
        ("slow_ms = \n", ":1:"),
    ];
    for (i, (text, place)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("r{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = nagare()
            .args(["metrics", "--rules", path.to_str().unwrap()])
            .write_stdin(LINES)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        let want = format!("{}{place}", path.display());
        assert!(err.contains(&want), "{text:?}: expected {want:?} in {err}");
    }
}
