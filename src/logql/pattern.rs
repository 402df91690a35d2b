//! LogQL's pattern syntax (`<ip> - <_> "<method> <path> <_>"`), for the
//! `pattern` parser and the `|>`/`!>` line filters, with Loki's matching
//! rules: a leading literal must sit at the start of the line; each capture
//! runs to the next occurrence of the literal after it; a trailing capture
//! takes the rest of the line; if a literal is not found, the capture before
//! it takes the rest and matching stops.

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Literal(Vec<u8>),
    /// A named capture, or `None` for `<_>`.
    Capture(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    nodes: Vec<Node>,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Pattern {
    pub fn parse(src: &str) -> Result<Pattern, String> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut lit = Vec::new();
        let mut rest = src;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('<') {
                if let Some(close) = after.find('>') {
                    let name = &after[..close];
                    if is_name(name) {
                        if !lit.is_empty() {
                            nodes.push(Node::Literal(std::mem::take(&mut lit)));
                        }
                        if matches!(nodes.last(), Some(Node::Capture(_))) {
                            return Err(format!(
                                "invalid pattern {src:?}: consecutive captures are not allowed"
                            ));
                        }
                        nodes.push(Node::Capture((name != "_").then(|| name.to_string())));
                        rest = &after[close + 1..];
                        continue;
                    }
                }
            }
            let ch = rest.chars().next().unwrap_or(' ');
            let mut buf = [0u8; 4];
            lit.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            rest = &rest[ch.len_utf8()..];
        }
        if !lit.is_empty() {
            nodes.push(Node::Literal(lit));
        }
        if !nodes.iter().any(|n| matches!(n, Node::Capture(_))) {
            return Err(format!(
                "invalid pattern {src:?}: at least one capture is required"
            ));
        }
        let mut seen = Vec::new();
        for n in &nodes {
            if let Node::Capture(Some(name)) = n {
                if seen.contains(name) {
                    return Err(format!(
                        "invalid pattern {src:?}: duplicate capture {name:?}"
                    ));
                }
                seen.push(name.clone());
            }
        }
        Ok(Pattern { nodes })
    }

    /// Names of the named captures, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Capture(Some(s)) => Some(s.as_str()),
            _ => None,
        })
    }

    /// Calls `emit(name, value)` for each named capture that matched.
    pub fn captures<'a>(&self, line: &'a [u8], mut emit: impl FnMut(&str, &'a [u8])) {
        self.walk(line, &mut emit);
    }

    /// Returns whether the whole pattern matches (for `|>`).
    pub fn test(&self, line: &[u8]) -> bool {
        self.walk(line, &mut |_, _| {})
    }

    fn walk<'a>(&self, mut input: &'a [u8], emit: &mut impl FnMut(&str, &'a [u8])) -> bool {
        let mut nodes = &self.nodes[..];
        if let Some(Node::Literal(l)) = nodes.first() {
            if !input.starts_with(l) {
                return false;
            }
            input = &input[l.len()..];
            nodes = &nodes[1..];
        }
        while let Some(Node::Capture(name)) = nodes.first() {
            match nodes.get(1) {
                None => {
                    if let Some(n) = name {
                        emit(n, input);
                    }
                    return true;
                }
                Some(Node::Literal(l)) => match memchr::memmem::find(input, l) {
                    Some(i) => {
                        if let Some(n) = name {
                            emit(n, &input[..i]);
                        }
                        input = &input[i + l.len()..];
                        nodes = &nodes[2..];
                    }
                    None => {
                        if let Some(n) = name {
                            emit(n, input);
                        }
                        return false;
                    }
                },
                Some(Node::Capture(_)) => return false,
            }
        }
        // Ended on a literal: the whole line must have been consumed.
        input.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(p: &str, line: &str) -> Vec<(String, String)> {
        let mut v = Vec::new();
        Pattern::parse(p)
            .unwrap()
            .captures(line.as_bytes(), |n, val| {
                v.push((n.to_string(), String::from_utf8_lossy(val).into_owned()))
            });
        v
    }

    #[test]
    fn nginx_pattern() {
        let got = caps(
            r#"<ip> - <_> [<_>] "<method> <path> <_>" <status> <_>"#,
            r#"1.2.3.4 - - [06/May/2026:10:30:45 +0000] "GET /x HTTP/1.1" 200 512 "-" "curl""#,
        );
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["ip", "method", "path", "status"]);
        assert_eq!(got[3].1, "200");
    }

    #[test]
    fn leading_literal_must_be_at_start() {
        assert!(caps("level=<lvl> ", "x level=info ").is_empty());
        assert_eq!(
            caps("level=<lvl> ", "level=info more"),
            vec![("lvl".into(), "info".into())]
        );
    }

    #[test]
    fn test_requires_full_match() {
        let p = Pattern::parse("<_> error <_>").unwrap();
        assert!(p.test(b"an error here"));
        assert!(!p.test(b"fine"));
        let p = Pattern::parse("GET <path> HTTP").unwrap();
        assert!(!p.test(b"GET /x HTTP/1.1"));
        assert!(p.test(b"GET /x HTTP"));
    }

    #[test]
    fn invalid() {
        assert!(Pattern::parse("no captures").is_err());
        assert!(Pattern::parse("<a><b>").is_err());
        assert!(Pattern::parse("<a> <a>").is_err());
    }
}
