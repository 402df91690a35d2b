//! `line_format` templates through the binary, on the first lines of
//! `fixtures/app.log`: Go template syntax, sprig/Loki functions and Loki's
//! TemplateFormatErr handling.

mod common;

use std::io::Write as _;
use std::path::Path;

use common::*;

/// The first `n` lines of the app fixture, in a temporary file.
fn first_lines(n: usize) -> tempfile::NamedTempFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/app.log");
    // The fixture holds malformed lines further down; read bytes.
    let data = std::fs::read(path).unwrap();
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for line in split_lines(&data).into_iter().take(n) {
        f.write_all(line).unwrap();
        f.write_all(b"\n").unwrap();
    }
    f
}

fn run(query: &str, n: usize) -> Vec<String> {
    let f = first_lines(n);
    let out = filter([query, f.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout_strings(&out)
}

#[test]
fn line_format_with_functions_and_control_flow() {
    let q = r#"| json | line_format `{{ .method | lower }} {{ .path | trunc 10 }} {{ printf "%3d" (int .status) }} {{ divf .latency_ms 1000 | printf "%.3f" }}s {{ __timestamp__ | date "15:04:05.000" }} {{ if ge (int .status) 300 }}ERR{{ else }}ok{{ end }} {{ .q | default "-" | upper }}`"#;
    assert_eq!(
        run(q, 3),
        vec![
            "get /v1/users/ 200 0.006s 10:00:00.000 ok -",
            "get /v1/search 200 0.036s 10:00:00.007 ok NAÏVE BAYES",
            "delete /v1/items/ 204 0.007s 10:00:00.008 ok -",
        ]
    );
}

#[test]
fn line_format_with_variables_and_regex() {
    let q = r#"| json | line_format `{{ $id := .request_id | trunc 8 }}{{ regexReplaceAll "/(\\d+)" .path "/{id=$1}" }} req={{ $id }} tier={{ .tier | title }}{{ with .http_client_ip }} ip={{ . }}{{ end }}`"#;
    assert_eq!(
        run(q, 2),
        vec![
            "/v1/users/{id=2660}/keys req=4ad8d1c6 tier=Free ip=4.71.35.139",
            "/v1/search req=f6fc1310 tier=Free ip=182.46.180.159",
        ]
    );
}

#[test]
fn line_format_errors_keep_the_line_and_set_template_format_err() {
    let f = first_lines(1);
    let original = std::fs::read_to_string(f.path()).unwrap();
    let q = r#"| json | line_format `{{ div 1 0 }}` | __error__="TemplateFormatErr""#;
    assert_eq!(run(q, 1), vec![original.trim_end().to_string()]);
    assert!(run(r#"| json | line_format `{{ div 1 0 }}` | __error__="""#, 1).is_empty());
}
