//! Small hostile inputs that used to give a wrong or puzzling answer: a
//! blank query, a byte order mark, a UTF-16 file.

mod common;

fn run(args: &[&str], file: &std::path::Path) -> (i32, String, String) {
    let out = common::nagare().args(args).arg(file).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `filter --count ''` said "nagare: : No such file or directory".
#[test]
fn a_blank_query_is_an_empty_query_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("app.log");
    std::fs::write(&f, "{}\n").unwrap();
    let (code, out, err) = run(&["filter", "--count", ""], &f);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("empty query"), "{err}");
}

/// A UTF-8 byte order mark made the first line a JSONParserErr.
#[test]
fn a_byte_order_mark_is_not_part_of_the_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bom.log");
    std::fs::write(&f, b"\xef\xbb\xbf{\"status\":503}\n{\"status\":200}\n").unwrap();
    let (code, out, err) = run(&["filter", r#"| json | __error__="" | status >= 500"#], &f);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "{\"status\":503}\n");
}

/// UTF-16 is not decoded, but the user is told why nothing matches.
#[test]
fn utf16_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("utf16.log");
    let mut bytes = vec![0xff, 0xfe];
    for u in "{\"status\":503}\n".encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(&f, bytes).unwrap();
    let (code, _, err) = run(&["filter", "--count", "| json | status >= 500"], &f);
    assert_eq!(code, 0);
    assert!(err.contains("UTF-16"), "{err}");
}
