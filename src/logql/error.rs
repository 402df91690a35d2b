//! Query errors: what went wrong and where, as a 1-based column.

/// A query that does not parse or does not validate. `pos` is a byte offset
/// into the query text; [`QueryError::column`] turns it into the 1-based
/// column users see (counted in characters, so non-ASCII text lines up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse error at line {}, col {}: {message}", self.line(), self.column())]
pub struct QueryError {
    pub pos: usize,
    pub message: String,
    /// The query text, kept so the error can render a caret line.
    pub query: String,
}

impl QueryError {
    pub fn new(query: &str, pos: usize, message: impl Into<String>) -> Self {
        let mut pos = pos.min(query.len());
        // Never split a character, whatever offset a caller computed.
        while !query.is_char_boundary(pos) {
            pos -= 1;
        }
        QueryError {
            pos,
            message: message.into(),
            query: query.to_string(),
        }
    }

    /// 1-based line of the error (queries may span lines in saved files).
    pub fn line(&self) -> usize {
        self.query[..self.pos].matches('\n').count() + 1
    }

    /// 1-based column of the error, in characters, within its line.
    pub fn column(&self) -> usize {
        let start = self.query[..self.pos].rfind('\n').map_or(0, |i| i + 1);
        self.query[start..self.pos].chars().count() + 1
    }

    /// The offending line of the query and a caret under the column.
    pub fn snippet(&self) -> String {
        let start = self.query[..self.pos].rfind('\n').map_or(0, |i| i + 1);
        let end = self.query[self.pos..]
            .find('\n')
            .map_or(self.query.len(), |i| self.pos + i);
        let caret = " ".repeat(self.column() - 1);
        format!("  {}\n  {}^", &self.query[start..end], caret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_never_split_a_character() {
        // Byte 2 is inside "é": the error moves back to its start.
        let e = QueryError::new("{é=\"x\"}", 2, "bad");
        assert_eq!(e.pos, 1);
        assert_eq!(e.column(), 2);
        assert!(e.snippet().contains('^'));
        assert_eq!(QueryError::new("ab", 99, "end").column(), 3);
    }
}
