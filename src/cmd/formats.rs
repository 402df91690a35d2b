//! `nagare formats list` and `nagare formats test [NAME]`.

use std::io::Write;
use std::path::PathBuf;

use super::{say, EXIT_INPUT, EXIT_OK, EXIT_USAGE};
use crate::decode::Format;
use crate::formats::{registry, samples, CustomFormat};
use std::sync::Arc;

/// Where to look for definitions: `--parsers` folders, then the defaults.
pub struct FormatsOptions {
    pub parsers: Vec<PathBuf>,
}

/// Every definition, compiled: `--parsers` folders, the default ones and
/// the built-in ones; one that does not load is exit 2.
fn load(opts: &FormatsOptions) -> Result<Vec<Arc<CustomFormat>>, i32> {
    let reg =
        registry::load_with_built_in(&opts.parsers, &registry::default_dirs()).map_err(|e| {
            say(&e);
            EXIT_USAGE
        })?;
    reg.entries
        .iter()
        .map(|e| e.compiled().cloned())
        .collect::<Result<_, _>>()
        .map_err(|e| {
            say(e);
            EXIT_USAGE
        })
}

/// Prints every format: the built-in ones, then the definitions found.
pub fn list(opts: &FormatsOptions) -> i32 {
    let reg = match load(opts) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut rows: Vec<[String; 4]> = Format::ALL
        .iter()
        .map(|f| {
            [
                f.name().to_string(),
                "built-in".into(),
                String::new(),
                f.description().to_string(),
            ]
        })
        .collect();
    for f in &reg {
        rows.push([
            f.name.clone(),
            f.kind().to_string(),
            f.path.clone(),
            f.description.clone(),
        ]);
    }
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(4).max(4);
    let w1 = rows.iter().map(|r| r[1].len()).max().unwrap_or(4).max(4);
    let w2 = rows.iter().map(|r| r[2].len()).max().unwrap_or(6).max(6);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:w0$}  {:w1$}  {:w2$}  DESCRIPTION",
        "NAME", "KIND", "SOURCE"
    );
    for r in &rows {
        let _ = writeln!(out, "{:w0$}  {:w1$}  {:w2$}  {}", r[0], r[1], r[2], r[3]);
    }
    EXIT_OK
}

/// Checks the samples of one format, or of every custom format. Exit 0 if
/// all pass, 1 if one fails (each failure named: file, line, sample, the
/// first field that differs), 2 if a definition does not load.
pub fn test(opts: &FormatsOptions, name: Option<&str>) -> i32 {
    let reg = match load(opts) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let chosen: Vec<_> = match name {
        Some(n) => match reg.iter().find(|f| f.name == n) {
            Some(f) => vec![f.clone()],
            None if Format::from_name(n, registry::Registry::empty()).is_some() => {
                say(format!("{n:?} is a built-in format; `formats test` checks the samples of custom formats"));
                return EXIT_USAGE;
            }
            None => {
                say(format!("no format named {n:?} (see `nagare formats list`; --parsers DIR adds a folder)"));
                return EXIT_USAGE;
            }
        },
        None => reg,
    };
    if chosen.is_empty() {
        say("no custom formats found (./parsers, the user config folder, --parsers DIR)");
        return EXIT_USAGE;
    }
    let now = crate::time::now_ns();
    let mut failed = 0usize;
    let mut out = std::io::stdout().lock();
    for f in &chosen {
        let fails = samples::check(f, now);
        if f.samples.is_empty() {
            let _ = writeln!(out, "warn  {}: no [[sample]] to check ({})", f.name, f.path);
            continue;
        }
        if fails.is_empty() {
            let _ = writeln!(
                out,
                "ok    {}: {} samples ({})",
                f.name,
                f.samples.len(),
                f.path
            );
        }
        for x in &fails {
            failed += 1;
            let _ = writeln!(
                out,
                "FAIL  {}: {}:{}: sample {}: {}",
                f.name, f.path, x.line_no, x.index, x.message
            );
        }
    }
    if failed > 0 {
        let _ = writeln!(out, "{failed} sample(s) failed");
        EXIT_INPUT
    } else {
        EXIT_OK
    }
}
