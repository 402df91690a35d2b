//! Where format definitions come from: `--parsers DIR` folders first, then
//! `./parsers` and the user's config folder (`$XDG_CONFIG_HOME/nagare/parsers`,
//! else `~/.config/nagare/parsers`), then the definitions shipped in this
//! repository's `parsers/` folder, built into the binary ([`BUILT_IN`]), so
//! they work from any directory. Every `*.toml` in a folder is one format,
//! read in file-name order; the first definition of a name wins (a name
//! defined twice in files keeps the first and warns about the rest; a file
//! overrides a built-in definition quietly).
//!
//! A definition is compiled (its TOML checked, its pattern or regex built)
//! only when it is needed: `--format NAME`, auto-detection reaching custom
//! formats, `formats list` and `formats test`. Loading reads the files and
//! finds each one's `name`, so a run that needs none of them pays for
//! none. Definitions in `--parsers` folders, which the user asked for, are
//! compiled at once; a definition that does not load is an error (exit 2)
//! naming file, line and column when it is compiled.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::{definition, CustomFormat};
use crate::config_error::ConfigError;

/// The definitions shipped in `parsers/`, built into the binary: one line
/// per file (a test checks that every `parsers/*.toml` is listed).
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "apache-error.toml",
        include_str!("../../parsers/apache-error.toml"),
    ),
    ("aws-alb.toml", include_str!("../../parsers/aws-alb.toml")),
    (
        "caddy-json.toml",
        include_str!("../../parsers/caddy-json.toml"),
    ),
    (
        "django-runserver.toml",
        include_str!("../../parsers/django-runserver.toml"),
    ),
    (
        "fly-proxy.toml",
        include_str!("../../parsers/fly-proxy.toml"),
    ),
    ("gunicorn.toml", include_str!("../../parsers/gunicorn.toml")),
    (
        "haproxy-http.toml",
        include_str!("../../parsers/haproxy-http.toml"),
    ),
    (
        "haproxy-tcp.toml",
        include_str!("../../parsers/haproxy-tcp.toml"),
    ),
    (
        "heroku-router.toml",
        include_str!("../../parsers/heroku-router.toml"),
    ),
    ("klog.toml", include_str!("../../parsers/klog.toml")),
    (
        "nginx-upstream.toml",
        include_str!("../../parsers/nginx-upstream.toml"),
    ),
    (
        "postgres-pgbadger.toml",
        include_str!("../../parsers/postgres-pgbadger.toml"),
    ),
    ("postgres.toml", include_str!("../../parsers/postgres.toml")),
    (
        "rails-completed.toml",
        include_str!("../../parsers/rails-completed.toml"),
    ),
    (
        "rails-started.toml",
        include_str!("../../parsers/rails-started.toml"),
    ),
    (
        "slog-text.toml",
        include_str!("../../parsers/slog-text.toml"),
    ),
    (
        "traefik-clf.toml",
        include_str!("../../parsers/traefik-clf.toml"),
    ),
    ("uvicorn.toml", include_str!("../../parsers/uvicorn.toml")),
];

/// How built-in definitions are named in messages and `formats list`.
pub const BUILT_IN_SOURCE: &str = "built-in";

/// One definition, compiled on first use.
#[derive(Debug)]
pub struct Entry {
    pub name: String,
    /// The file it was read from, or `built-in parsers/NAME.toml`.
    pub path: String,
    pub built_in: bool,
    text: std::borrow::Cow<'static, str>,
    compiled: OnceLock<Result<Arc<CustomFormat>, ConfigError>>,
}

impl Entry {
    /// The compiled definition (compiled now if it was not yet).
    pub fn compiled(&self) -> Result<&Arc<CustomFormat>, &ConfigError> {
        self.compiled
            .get_or_init(|| definition::parse(&self.text, &self.path).map(Arc::new))
            .as_ref()
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    pub entries: Vec<Entry>,
}

/// No custom formats.
static EMPTY: Registry = Registry {
    entries: Vec::new(),
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

    /// The names of the definitions, in order (nothing is compiled).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// The definition of `name`, compiled; `Ok(None)` if there is none.
    pub fn find(&self, name: &str) -> Result<Option<&Arc<CustomFormat>>, &ConfigError> {
        match self.entries.iter().find(|e| e.name == name) {
            Some(e) => e.compiled().map(Some),
            None => Ok(None),
        }
    }

    /// The definition of `name`, if it compiles.
    pub fn get(&self, name: &str) -> Option<&Arc<CustomFormat>> {
        self.find(name).ok().flatten()
    }

    /// Every definition that compiles, in order, each compiled now if it
    /// was not yet; one that does not is said once (`diag::USER`) and left
    /// out.
    pub fn compiled(&self) -> impl Iterator<Item = &Arc<CustomFormat>> {
        self.entries.iter().filter_map(|e| {
            let first = e.compiled.get().is_none();
            match e.compiled() {
                Ok(f) => Some(f),
                Err(err) => {
                    if first {
                        tracing::warn!(target: crate::diag::USER, "{err} (format left out)");
                    }
                    None
                }
            }
        })
    }

    fn add(&mut self, entry: Entry) {
        if let Some(first) = self.entries.iter().find(|e| e.name == entry.name) {
            if !entry.built_in {
                tracing::warn!(
                    "format {:?} in {} is ignored: {} defines it first",
                    entry.name,
                    entry.path,
                    first.path
                );
            }
            return;
        }
        self.entries.push(entry);
    }
}

/// The value of a definition's top-level `name = "…"`, found without
/// reading the TOML (`None` when it is not written that simply; the
/// definition is then compiled to learn it).
fn scan_name(text: &str) -> Option<&str> {
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            return None;
        }
        let Some(rest) = l.strip_prefix("name") else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let inner = &rest[1..];
        let end = inner.find(quote)?;
        let (value, after) = (&inner[..end], inner[end + 1..].trim_start());
        let plain = !value.is_empty()
            && !value.contains('\\')
            && (after.is_empty() || after.starts_with('#'));
        return plain.then_some(value);
    }
    None
}

/// A definition read from `text`; compiled at once when `eager` or when
/// its name cannot be found without compiling it.
fn entry(
    text: std::borrow::Cow<'static, str>,
    path: String,
    built_in: bool,
    eager: bool,
) -> Result<Entry, ConfigError> {
    let compiled = OnceLock::new();
    let name = match scan_name(&text) {
        Some(n) if !eager => n.to_string(),
        _ => {
            let f = definition::parse(&text, &path)?;
            let name = f.name.clone();
            let _ = compiled.set(Ok(Arc::new(f)));
            name
        }
    };
    Ok(Entry {
        name,
        path,
        built_in,
        text,
        compiled,
    })
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

/// Loads every definition in `explicit` folders (each must exist; compiled
/// at once) and then in `defaults` (compiled when needed).
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
            reg.add(entry(text.into(), shown, false, required)?);
        }
    }
    Ok(reg)
}

/// [`load`], then the built-in definitions ([`BUILT_IN`]) that no file
/// overrides: what the command line uses.
pub fn load_with_built_in(
    explicit: &[PathBuf],
    defaults: &[PathBuf],
) -> Result<Registry, ConfigError> {
    let mut reg = load(explicit, defaults)?;
    for (file, text) in BUILT_IN {
        let path = format!("{BUILT_IN_SOURCE} parsers/{file}");
        reg.add(entry((*text).into(), path, true, false)?);
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
        let names: Vec<_> = reg.names().collect();
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
        assert!(load(&[], &[missing]).unwrap().entries.is_empty());
    }

    #[test]
    fn default_folders_compile_when_needed() {
        let a = tempfile::tempdir().unwrap();
        write(
            a.path(),
            "bad.toml",
            "name = \"x\"\npattern = '<a>'\ntypes = { a = \"num\" }\n",
        );
        write(a.path(), "y.toml", "name = 'y' # why\npattern = '<a>'\n");
        let reg = load(&[], &[a.path().to_path_buf()]).unwrap();
        assert_eq!(reg.names().collect::<Vec<_>>(), ["x", "y"]);
        assert!(reg.entries.iter().all(|e| e.compiled.get().is_none()));
        assert_eq!(reg.find("y").unwrap().unwrap().kind(), "pattern");
        let e = reg.find("x").unwrap_err();
        assert_eq!((e.line, e.column), (3, 15));
        assert_eq!(reg.compiled().count(), 1);
    }

    #[test]
    fn scan_name_reads_only_plain_names() {
        assert_eq!(scan_name("# c\nname = \"a-b\"\n"), Some("a-b"));
        assert_eq!(scan_name("name='a' # x\n"), Some("a"));
        assert_eq!(scan_name("names = 1\nname = \"a\"\n"), Some("a"));
        assert_eq!(scan_name("name = \"a\\u0041\"\n"), None);
        assert_eq!(scan_name("[t]\nname = \"a\"\n"), None);
        assert_eq!(scan_name("name.x = \"a\"\n"), None);
    }

    /// Every shipped definition is built in, compiles and passes its samples.
    #[test]
    fn every_shipped_definition_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("parsers");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        files.sort();
        let listed: Vec<&str> = BUILT_IN.iter().map(|(f, _)| *f).collect();
        assert_eq!(listed, files);
        for (file, text) in BUILT_IN {
            assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap(), *text);
        }
        let reg = load_with_built_in(&[], &[]).unwrap();
        assert_eq!(reg.entries.len(), BUILT_IN.len());
        for e in &reg.entries {
            let f = e.compiled().unwrap();
            assert_eq!(f.name, e.name, "{}", e.path);
        }
    }
}
