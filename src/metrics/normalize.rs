//! Search-query normalization, label truncation and redaction for the "top queries" metric.
//!
//! Question answered: *"which of these `q` values are the same query?"* — so that
//! `"  Café   Au  LAIT "`, `"café au lait"` and `"cafe\u{301} au lait"` are counted as one —
//! and *"how is a query shown as a Prometheus label?"* (cut to 64 characters, or replaced
//! by a short stable hash with `--redact-queries`).
//!
//! Normalization is, in this order: Unicode NFKC (compatibility composition: fullwidth
//! letters become ASCII, `e` + combining acute becomes `é`, ligatures split), lowercase,
//! trim, and every run of Unicode whitespace collapsed into one ASCII space. An empty
//! result means the query is skipped.
//!
//! Lowercasing is per character (`char::to_lowercase`), not context-sensitive: a final
//! capital sigma becomes `σ`, not `ς` as `str::to_lowercase` would give. Counting only
//! needs a consistent mapping, and per-character mapping needs no second buffer.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Default maximum length of a label value, in characters.
pub const DEFAULT_LABEL_CHARS: usize = 64;

/// Writes the normalized form of `q` into `out` (cleared first; its allocation is reused,
/// so normalizing a stream of queries into one buffer does not allocate per query).
/// `out` is empty when the query has no non-whitespace character: skip it.
pub fn normalize_query(q: &str, out: &mut String) {
    out.clear();
    // ASCII is unchanged by NFKC, so skip the decomposition machinery for it (the common
    // case for search boxes).
    // Text that the quick check proves already NFKC (most non-Latin queries, e.g. plain
    // Japanese) skips it too: same output, several times faster.
    if q.is_ascii() || is_nfkc_quick(q.chars()) == IsNormalized::Yes {
        push_collapsed(q.chars(), out);
    } else {
        push_collapsed(q.nfkc(), out);
    }
}

/// Lowercases `chars` into `out`, trimming and collapsing whitespace runs to one space.
fn push_collapsed(chars: impl Iterator<Item = char>, out: &mut String) {
    let mut pending_space = false;
    for c in chars {
        if c.is_whitespace() {
            // Only emit the space once a later non-space shows up (this trims the end);
            // never at the start (this trims the beginning).
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// `s` cut to at most `max_chars` characters, at a character boundary (never splits a
/// UTF-8 sequence). Use [`DEFAULT_LABEL_CHARS`] for label values.
pub fn truncate_label(s: &str, max_chars: usize) -> &str {
    // Fast path: byte length bounds the char count.
    if s.len() <= max_chars {
        return s;
    }
    match s.char_indices().nth(max_chars) {
        Some((byte, _)) => &s[..byte],
        None => s,
    }
}

/// FNV-1a 64-bit hash of `bytes`: tiny, fixed, and the same on every run and platform
/// (unlike `std`'s randomly keyed `DefaultHasher`), which a label value must be.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// A short stable stand-in for `s`: `"h:"` followed by the first 12 hex digits (48 bits)
/// of its FNV-1a 64 hash, e.g. `redact("a") == "h:af63dc4c8601"`. The same input gives the
/// same label on every run and platform, so `rate()` over a redacted series still works.
/// Redact the *normalized* query so equal queries share one label. Not a cryptographic
/// hash: it hides queries from casual view on dashboards, it does not resist guessing.
pub fn redact(s: &str) -> String {
    let h = fnv1a64(s.as_bytes()) >> 16;
    format!("h:{h:012x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(q: &str) -> String {
        let mut out = String::new();
        normalize_query(q, &mut out);
        out
    }

    #[test]
    fn trims_lowercases_and_collapses() {
        assert_eq!(norm("  Café   Au  LAIT "), "café au lait");
        assert_eq!(norm("Hello World"), "hello world");
        assert_eq!(norm("a\tb\nc\r\nd"), "a b c d");
        assert_eq!(norm("\t\n  x  \n\t"), "x");
        assert_eq!(norm("one"), "one");
    }

    #[test]
    fn unicode_whitespace_is_collapsed() {
        // NBSP, ideographic space, em space, line separator, NEL.
        assert_eq!(
            norm("a\u{00A0}b\u{3000}c\u{2003}\u{2028}d\u{0085}e"),
            "a b c d e"
        );
        assert_eq!(norm("\u{3000}東京\u{3000}"), "東京");
    }

    #[test]
    fn nfkc_forms() {
        assert_eq!(norm("ｆｕｌｌｗｉｄｔｈ"), "fullwidth");
        assert_eq!(norm("ＦＵＬＬ"), "full");
        assert_eq!(norm("cafe\u{301}"), "café");
        assert_eq!(norm("cafe\u{301}"), norm("café"));
        assert_eq!(norm("ﬁle"), "file"); // ligature
        assert_eq!(norm("①"), "1");
        assert_eq!(norm("ｶﾀｶﾅ"), "カタカナ"); // halfwidth katakana
    }

    #[test]
    fn cjk_and_other_scripts_unchanged() {
        assert_eq!(norm("東京"), "東京");
        assert_eq!(norm("東京 タワー"), "東京 タワー");
        assert_eq!(norm("ΑΒΓ"), "αβγ");
        assert_eq!(norm("İ"), "i\u{307}");
    }

    #[test]
    fn empty_means_skip() {
        assert_eq!(norm(""), "");
        assert_eq!(norm("   "), "");
        assert_eq!(norm("\t\n\u{3000}"), "");
    }

    #[test]
    fn buffer_is_reused_and_cleared() {
        let mut out = String::with_capacity(64);
        normalize_query("FIRST query", &mut out);
        assert_eq!(out, "first query");
        let cap = out.capacity();
        normalize_query("x", &mut out);
        assert_eq!(out, "x");
        assert_eq!(out.capacity(), cap);
        normalize_query("  ", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn idempotent() {
        for q in [
            "  Café   Au  LAIT ",
            "ｆｕｌｌ",
            "cafe\u{301}",
            "東京",
            "A\u{00A0}B",
        ] {
            let once = norm(q);
            assert_eq!(norm(&once), once, "{q:?}");
        }
    }

    #[test]
    fn truncate_at_char_boundary() {
        assert_eq!(truncate_label("short", 64), "short");
        assert_eq!(truncate_label("abcdef", 3), "abc");
        assert_eq!(truncate_label("abc", 3), "abc");
        assert_eq!(truncate_label("abc", 0), "");
        assert_eq!(truncate_label("東京タワー", 2), "東京");
        assert_eq!(truncate_label("éé", 1), "é");
        let long: String = "日".repeat(100);
        let cut = truncate_label(&long, DEFAULT_LABEL_CHARS);
        assert_eq!(cut.chars().count(), 64);
        assert_eq!(cut.len(), 64 * 3);
        // 40 three-byte chars: 120 bytes but only 40 chars, so unchanged at 64.
        let mid: String = "日".repeat(40);
        assert_eq!(truncate_label(&mid, 64), mid);
        assert_eq!(truncate_label("", 5), "");
    }

    #[test]
    fn fnv_known_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn redact_is_short_stable_and_distinct() {
        assert_eq!(redact("a"), "h:af63dc4c8601");
        assert_eq!(redact(""), "h:cbf29ce48422");
        assert_eq!(redact("foobar"), "h:85944171f739");
        let r = redact("café au lait");
        assert_eq!(r.len(), 14);
        assert!(r.starts_with("h:"));
        assert!(r[2..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(r, redact("café au lait"));
        assert_ne!(redact("query one"), redact("query two"));
    }
}
