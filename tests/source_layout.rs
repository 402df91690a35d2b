//! Rules about the source tree that review alone does not keep: only the
//! binaries' `main` prints or exits; the library reports through `tracing`
//! and returns outcomes, so any embedding (the agent, tests) decides.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn library_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.retain(|p| {
        let rel = p.strip_prefix(root).unwrap();
        rel != Path::new("src/main.rs") && !rel.starts_with("src/bin")
    });
    assert!(files.len() > 50, "found {} files", files.len());
    files
}

#[test]
fn nothing_below_main_prints_to_stderr_or_exits() {
    let mut found = Vec::new();
    for f in library_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("eprintln!")
                || code.contains("eprint!")
                || code.contains("process::exit")
            {
                found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "below main:\n{}", found.join("\n"));
}

/// Test helpers (processes started for tests, fixtures) live in `tests/`,
/// not in the library every user builds.
#[test]
fn no_test_helpers_in_the_library() {
    let helpers: Vec<_> = library_files()
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
            name.contains("test_support")
                || name.contains("tests_support")
                || name.contains("testutil")
        })
        .collect();
    assert!(helpers.is_empty(), "{helpers:?}");
}
