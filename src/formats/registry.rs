//! Where format definitions come from: `--parsers DIR` folders first, then
//! `./parsers` and the user's config folder (`$XDG_CONFIG_HOME/nagare/parsers`,
//! else `~/.config/nagare/parsers`). Every `*.toml` in them is one format,
//! read in file-name order. A definition that does not load is an error
//! (exit 2) naming file, line and column; a name defined twice keeps the
//! first and warns about the rest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{definition, CustomFormat};
use crate::config_error::ConfigError;

#[derive(Debug, Default, Clone)]
pub struct Registry {
    pub formats: Vec<Arc<CustomFormat>>,
}

/// No custom formats.
static EMPTY: Registry = Registry {
    formats: Vec::new(),
};

impl Registry {
    /// A registry with no custom formats.
    pub fn empty() -> &'static Registry {
        &EMPTY
    }

    /// Keeps this registry for the rest of the process, so that a format
    /// of it (`decode::Format::Custom`) is a small `Copy` value that any
    /// thread can hold. A process that loads formats again (a reload)
    /// gets a second registry beside the first; the few kilobytes of the
    /// old one stay, which is what makes handing formats out by reference
    /// safe.
    pub fn keep(self) -> &'static Registry {
        Box::leak(Box::new(self))
    }

    pub fn get(&self, name: &str) -> Option<&Arc<CustomFormat>> {
        self.formats.iter().find(|f| f.name == name)
    }
}

/// The default folders, those that exist.
pub fn default_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("parsers")];
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(c) = config {
        dirs.push(c.join("nagare").join("parsers"));
    }
    dirs.retain(|d| d.is_dir());
    dirs
}

/// Loads every definition in `explicit` folders (each must exist) and then
/// in `defaults`.
pub fn load(explicit: &[PathBuf], defaults: &[PathBuf]) -> Result<Registry, ConfigError> {
    let mut reg = Registry::default();
    let mut seen_dirs: Vec<PathBuf> = Vec::new();
    let io_err = |p: &Path, e: std::io::Error| ConfigError {
        path: p.display().to_string(),
        line: 1,
        column: 1,
        message: format!("cannot read: {e}"),
    };
    let dirs = explicit
        .iter()
        .map(|d| (d, true))
        .chain(defaults.iter().map(|d| (d, false)));
    for (dir, required) in dirs {
        let canon = match dir.canonicalize() {
            Ok(c) => c,
            Err(e) if required => return Err(io_err(dir, e)),
            Err(_) => continue,
        };
        if seen_dirs.contains(&canon) {
            continue;
        }
        seen_dirs.push(canon);
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io_err(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
            let shown = path.display().to_string();
            let f = definition::parse(&text, &shown)?;
            if let Some(first) = reg.get(&f.name) {
                tracing::warn!(
                    "format {:?} in {} is ignored: {} defines it first",
                    f.name,
                    shown,
                    first.path
                );
                continue;
            }
            reg.formats.push(Arc::new(f));
        }
    }
    Ok(reg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn loads_in_order_first_definition_wins() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(a.path(), "x.toml", "name = \"x\"\npattern = '<a> <b>'\n");
        write(a.path(), "notes.txt", "not a definition");
        write(b.path(), "x.toml", "name = \"x\"\nregex = '(?P<a>.)'\n");
        write(b.path(), "y.toml", "name = \"y\"\npattern = '<a>'\n");
        let reg = load(&[a.path().to_path_buf()], &[b.path().to_path_buf()]).unwrap();
        let names: Vec<_> = reg.formats.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["x", "y"]);
        assert_eq!(reg.get("x").unwrap().kind(), "pattern");
    }

    #[test]
    fn errors_name_the_file() {
        let a = tempfile::tempdir().unwrap();
        write(
            a.path(),
            "bad.toml",
            "name = \"x\"\npattern = '<a>'\ntypes = { a = \"num\" }\n",
        );
        let e = load(&[a.path().to_path_buf()], &[]).unwrap_err();
        assert!(e.path.ends_with("bad.toml"), "{e}");
        assert_eq!((e.line, e.column), (3, 15));
        let missing = a.path().join("nope");
        let e = load(std::slice::from_ref(&missing), &[]).unwrap_err();
        assert!(e.message.starts_with("cannot read"), "{e}");
        // A missing default folder is fine.
        assert!(load(&[], &[missing]).unwrap().formats.is_empty());
    }
}
