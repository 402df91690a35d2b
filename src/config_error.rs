//! Errors in files a user writes (metric rules, format definitions), with
//! the place to look: `path:line:column: message`, like a compiler's.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ConfigError {
    /// An error at byte `pos` of `text`, the contents of `path`.
    pub fn at(path: &str, text: &str, pos: usize, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_col(text, pos);
        ConfigError {
            path: path.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A TOML syntax or shape error, placed where the TOML parser says.
    pub fn from_toml(path: &str, text: &str, e: &toml::de::Error) -> ConfigError {
        let pos = e.span().map_or(0, |s| s.start);
        ConfigError::at(path, text, pos, e.message())
    }
}

/// 1-based line and column (in characters) of byte `pos` in `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    (line, col)
}

/// Byte offset of the first line whose text starts with `key` (for keys
/// the TOML parser gives no span of their own), or 0.
pub fn key_pos(text: &str, key: &str) -> usize {
    let mut off = 0;
    for l in text.split_inclusive('\n') {
        if l.trim_start().starts_with(key) {
            return off + (l.len() - l.trim_start().len());
        }
        off += l.len();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let t = "a = 1\n  bé = x\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 8), (2, 3));
        // Inside a multi-byte character: snapped back, never a panic.
        assert_eq!(line_col(t, 10), (2, 4));
        assert_eq!(line_col(t, 999), (3, 1));
        assert_eq!(key_pos(t, "bé"), 8);
        let e = ConfigError::at("f.toml", t, 8, "bad");
        assert_eq!(e.to_string(), "f.toml:2:3: bad");
    }
}
