//! A label set built line after line into the same strings: collecting a
//! metric query's samples needs each selected line's labels, sorted, to find
//! its series, and allocating them anew for every line would dominate.
//! The buffer keeps every string's capacity; a series map keyed by
//! `Vec<(String, String)>` is searched with [`LabelBuf::as_slice`], and a
//! label set is copied out only for a series seen for the first time.

use super::eval::LabelSet;

#[derive(Debug, Default)]
pub struct LabelBuf {
    /// `items[..len]` are the labels; the rest are spare strings.
    items: Vec<(String, String)>,
    len: usize,
}

impl LabelBuf {
    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn push(&mut self, name: &str, value: &str) {
        if let Some((n, v)) = self.items.get_mut(self.len) {
            n.clear();
            n.push_str(name);
            v.clear();
            v.push_str(value);
        } else {
            self.items.push((name.to_string(), value.to_string()));
        }
        self.len += 1;
    }

    /// Sorts by name (then value) and keeps the first of each name.
    pub fn sort_dedup(&mut self) {
        let live = &mut self.items[..self.len];
        live.sort_unstable();
        let mut kept = 0;
        for i in 0..live.len() {
            if kept > 0 && live[kept - 1].0 == live[i].0 {
                continue;
            }
            live.swap(kept, i);
            kept += 1;
        }
        self.len = kept;
    }

    /// Keeps the labels `keep` accepts, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let mut kept = 0;
        for i in 0..self.len {
            if keep(&self.items[i].0) {
                self.items.swap(kept, i);
                kept += 1;
            }
        }
        self.len = kept;
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.as_slice()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn as_slice(&self) -> &[(String, String)] {
        &self.items[..self.len]
    }

    pub fn to_label_set(&self) -> LabelSet {
        self.as_slice().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(b: &LabelBuf) -> Vec<(&str, &str)> {
        b.as_slice()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn reuse_sort_dedup_retain() {
        let mut b = LabelBuf::default();
        for (n, v) in [("path", "/a"), ("job", "x"), ("path", "/b"), ("app", "y")] {
            b.push(n, v);
        }
        b.sort_dedup();
        // The first of each name in sorted order: ("path", "/a") < ("path", "/b").
        assert_eq!(pairs(&b), [("app", "y"), ("job", "x"), ("path", "/a")]);
        b.retain(|n| n != "job");
        assert_eq!(pairs(&b), [("app", "y"), ("path", "/a")]);
        assert_eq!(b.get("path"), Some("/a"));
        assert_eq!(b.get("job"), None);
        // A shorter set reuses the strings; the spares are not seen.
        b.clear();
        b.push("z", "1");
        assert_eq!(pairs(&b), [("z", "1")]);
        assert_eq!(b.to_label_set(), vec![("z".to_string(), "1".to_string())]);
        // Looked up in a map keyed by label sets without copying.
        let mut m = std::collections::HashMap::new();
        m.insert(b.to_label_set(), 1);
        assert_eq!(m.get(b.as_slice()), Some(&1));
    }
}
