//! What a line becomes: stream labels, extracted fields, timestamps.
//!
//! A record is not one struct that owns its data: the line bytes borrow from
//! the read buffer, the stream labels are shared per input, and the fields a
//! decoder or parser extracts live in a [`Fields`] table that each worker
//! reuses line after line, so the hot loop does not allocate.

use std::fmt;

/// Stream labels: set per input (`filename`, `job`, `--label k=v`) and, for
/// envelope formats such as Fly's, per line (`app`, `region`, `instance`).
/// Kept sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pairs: Vec<(String, String)>,
}

impl Labels {
    pub fn new() -> Self {
        Labels::default()
    }

    /// Sets `name` to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.pairs.binary_search_by(|(n, _)| n.as_str().cmp(&name)) {
            Ok(i) => self.pairs[i].1 = value,
            Err(i) => self.pairs.insert(i, (name, value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    pub fn contains_bytes(&self, name: &[u8]) -> bool {
        self.pairs.iter().any(|(n, _)| n.as_bytes() == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

/// Fields extracted from one line (decoded by its format or by a LogQL parser
/// stage), as name/value strings like Loki's labels.
///
/// Slots are reused: `clear` only resets the length, so after the first few
/// lines setting a field copies bytes into existing buffers and allocates
/// nothing. Lookups are linear, which beats hashing for the dozen-odd fields a
/// log line has.
#[derive(Default)]
pub struct Fields {
    names: Vec<String>,
    values: Vec<String>,
    len: usize,
}

impl Fields {
    pub fn new() -> Self {
        Fields::default()
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot holding `name`, valid until the next `set` of a new name,
    /// `remove` or `retain`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names[..self.len].iter().position(|n| n == name)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.values[i].as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets `name` to `value` (the last write wins, as in Loki).
    pub fn set(&mut self, name: &str, value: &str) {
        self.set_with(name, |buf| buf.push_str(value));
    }

    /// Sets `name` to whatever `fill` writes into the (cleared) value buffer,
    /// so decoders can unescape straight into place.
    pub fn set_with(&mut self, name: &str, fill: impl FnOnce(&mut String)) {
        let i = match self.position(name) {
            Some(i) => i,
            None => self.push_slot(name),
        };
        let buf = &mut self.values[i];
        buf.clear();
        fill(buf);
    }

    /// Like `set_with`, with the name given as bytes that are known to be
    /// valid UTF-8 (decoders build names in byte buffers).
    pub fn set_with_name_bytes(&mut self, name: &[u8], fill: impl FnOnce(&mut String)) {
        self.set_unless_set_since(name, None, fill)
    }

    /// [`Fields::set_with_name_bytes`], except that a field already set at
    /// index `since` or later keeps its value (`Some(0)`: any field), as a
    /// Loki parser keeps a label already extracted for the line.
    pub fn set_unless_set_since(
        &mut self,
        name: &[u8],
        since: Option<usize>,
        fill: impl FnOnce(&mut String),
    ) {
        let i = match self.names[..self.len]
            .iter()
            .position(|n| n.as_bytes() == name)
        {
            Some(i) if since.is_some_and(|s| i >= s) => return,
            Some(i) => i,
            // Lines of one stream have the same fields in the same order:
            // the next free slot usually holds this name already.
            None if self
                .names
                .get(self.len)
                .is_some_and(|n| n.as_bytes() == name) =>
            {
                self.len += 1;
                self.len - 1
            }
            None => self.push_slot(&String::from_utf8_lossy(name)),
        };
        let buf = &mut self.values[i];
        buf.clear();
        fill(buf);
    }

    fn push_slot(&mut self, name: &str) -> usize {
        let i = self.len;
        if i == self.names.len() {
            self.names.push(String::with_capacity(name.len().max(16)));
            self.values.push(String::with_capacity(32));
        }
        self.names[i].clear();
        self.names[i].push_str(name);
        self.len += 1;
        i
    }

    /// Makes `self` a copy of `other`, reusing slots (no allocation once
    /// warm).
    pub fn copy_from(&mut self, other: &Fields) {
        self.clear();
        for (n, v) in other.iter() {
            self.set_with_name_bytes(n.as_bytes(), |b| b.push_str(v));
        }
    }

    pub fn remove(&mut self, name: &str) {
        if let Some(i) = self.position(name) {
            // Keep order stable: rotate the removed slot to the end.
            self.names[i..self.len].rotate_left(1);
            self.values[i..self.len].rotate_left(1);
            self.len -= 1;
        }
    }

    /// Keeps only the fields for which `keep` says yes.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        let mut i = 0;
        while i < self.len {
            if keep(&self.names[i], &self.values[i]) {
                i += 1;
            } else {
                self.names[i..self.len].rotate_left(1);
                self.values[i..self.len].rotate_left(1);
                self.len -= 1;
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names[..self.len]
            .iter()
            .zip(&self.values[..self.len])
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_reuse_slots_and_overwrite() {
        let mut f = Fields::new();
        f.set("status", "200");
        f.set("path", "/x");
        f.set("status", "500");
        assert_eq!(f.get("status"), Some("500"));
        assert_eq!(f.len(), 2);
        f.clear();
        assert_eq!(f.get("status"), None);
        f.set("a", "1");
        assert_eq!(f.iter().collect::<Vec<_>>(), vec![("a", "1")]);
    }

    #[test]
    fn fields_remove_and_retain_keep_order() {
        let mut f = Fields::new();
        for (n, v) in [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")] {
            f.set(n, v);
        }
        f.remove("b");
        assert_eq!(
            f.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            vec!["a", "c", "d"]
        );
        f.retain(|n, _| n != "c");
        assert_eq!(f.iter().map(|(n, _)| n).collect::<Vec<_>>(), vec!["a", "d"]);
        f.set("e", "5");
        assert_eq!(f.get("e"), Some("5"));
    }

    #[test]
    fn labels_sorted_and_replaced() {
        let mut l = Labels::new();
        l.insert("job", "app");
        l.insert("filename", "a.log");
        l.insert("job", "api");
        assert_eq!(l.to_string(), r#"{filename="a.log", job="api"}"#);
    }
}
