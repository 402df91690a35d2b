//! Route normalization and a bounded route table for per-route metrics.
//!
//! Question answered: *"which endpoint did this request hit?"* — `/v1/items/12345` and
//! `/v1/items/67890` are the same route `/v1/items/{id}` — and *"how do per-route series
//! stay bounded?"*: only the first [`DEFAULT_MAX_ROUTES`] = 200 distinct routes keep their
//! names; every later one is counted as [`OTHER_ROUTE`] (`_other_`).
//!
//! # Normalization ([`normalize_route`])
//! 1. A `scheme://authority` prefix (when the field holds a full URL) is dropped.
//! 2. The query string (`?…`) and fragment (`#…`) are dropped.
//! 3. Each `/`-separated segment that is all ASCII digits, a UUID (8-4-4-4-12 hex digits,
//!    any case), or 16 or more hex digits is replaced by `{id}`.
//! 4. A leading and a trailing slash are kept as given; an empty path becomes `/`.
//!
//! # Deterministic merging across workers
//! "First seen" means first in *input order*. Workers that each process a contiguous
//! chunk of the input keep their own [`RouteTable`]; merge the workers' tables into one
//! **in input order** (chunk 0, then chunk 1, …) with [`RouteTable::merge`], and use the
//! returned remapping to move each worker's per-route statistics to the merged ids.
//! * The merged table names exactly the routes, with exactly the ids, that one
//!   sequential pass would (a sequential pass names chunk A's routes, then the first
//!   routes of chunk B not already named; B's table lists B's routes in first-seen order
//!   and has room for at least as many new ones as are still free, so it holds them all).
//! * Every record a worker counted under a named route lands on its sequential id.
//! * The one difference: a record that a worker had already sent to its own `_other_`
//!   (its table was full) stays in `_other_`, even if an earlier chunk named that route.
//!   Totals are conserved, and the result is deterministic for a given chunking. When no
//!   worker table overflows (fewer distinct routes per chunk than its cap — the usual
//!   case, which a worker cap larger than the final cap, e.g. 4×, makes more likely) the
//!   result equals the sequential one record for record.
//!
//! A tree of merges that keeps input order names the same routes.

use std::collections::HashMap;

/// Default number of named routes.
pub const DEFAULT_MAX_ROUTES: usize = 200;

/// Name of the catch-all route for everything past the cap.
pub const OTHER_ROUTE: &str = "_other_";

/// Replacement for an identifier segment.
pub const ID_SEGMENT: &str = "{id}";

/// Writes the normalized route of `path` into `out` (cleared first; its allocation is
/// reused). See the module docs for the rules.
pub fn normalize_route(path: &str, out: &mut String) {
    out.clear();
    let path = strip_scheme_and_authority(path);
    // A byte scan: '?' and '#' are ASCII, so they never occur inside a multi-byte char.
    let end = path
        .bytes()
        .position(|b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    let path = &path[..end];
    if path.is_empty() {
        out.push('/');
        return;
    }
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if is_id_segment(segment) {
            out.push_str(ID_SEGMENT);
        } else {
            out.push_str(segment);
        }
    }
}

/// `https://host:8080/v1/x` → `/v1/x`; `https://host` → `` (then `/`). Anything that does
/// not start with `scheme://` is returned unchanged.
fn strip_scheme_and_authority(path: &str) -> &str {
    // The usual case, a path, cannot start with a scheme: skip the substring search.
    if path.starts_with('/') {
        return path;
    }
    let Some(colon) = path.find("://") else {
        return path;
    };
    let scheme = &path[..colon];
    let valid_scheme = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid_scheme {
        return path;
    }
    let rest = &path[colon + 3..];
    match rest.find(['/', '?', '#']) {
        Some(i) => &rest[i..],
        None => "",
    }
}

/// Whether a path segment is an identifier: all digits, a UUID, or ≥ 16 hex digits.
fn is_id_segment(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    if b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    is_uuid(b)
}

/// 8-4-4-4-12 hex digits separated by dashes, any case.
fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Small dense id of a route in a [`RouteTable`]; usable as an index into per-route
/// arrays (`id.index()`). [`RouteId::OTHER`] (index 0) is the `_other_` route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(u32);

impl RouteId {
    /// The `_other_` catch-all, always present.
    pub const OTHER: RouteId = RouteId(0);

    /// Dense index: 0 for `_other_`, then 1, 2, … in first-seen order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Interns normalized routes to small ids, naming at most `max_routes` of them (the first
/// seen); later ones map to [`RouteId::OTHER`]. Memory is bounded by the cap.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// `names[0]` is `_other_`; `names[i]` is the route with id `i`.
    names: Vec<Box<str>>,
    ids: HashMap<Box<str>, RouteId>,
    max_routes: usize,
    /// Whether some route was sent to `_other_` because the table was full.
    overflowed: bool,
}

impl Default for RouteTable {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteTable {
    /// A table naming up to [`DEFAULT_MAX_ROUTES`] routes.
    pub fn new() -> Self {
        Self::with_max_routes(DEFAULT_MAX_ROUTES)
    }

    /// A table naming up to `max_routes` routes (0 sends everything to `_other_`).
    pub fn with_max_routes(max_routes: usize) -> Self {
        RouteTable {
            names: vec![OTHER_ROUTE.into()],
            ids: HashMap::new(),
            max_routes,
            overflowed: false,
        }
    }

    /// The id of `route` (already normalized), adding it if the table has room, else
    /// [`RouteId::OTHER`]. A route literally named `_other_` is the catch-all. Allocates
    /// only when a new route is named.
    pub fn intern(&mut self, route: &str) -> RouteId {
        if let Some(&id) = self.ids.get(route) {
            return id;
        }
        if route == OTHER_ROUTE {
            return RouteId::OTHER;
        }
        if self.ids.len() >= self.max_routes {
            self.overflowed = true;
            return RouteId::OTHER;
        }
        let id = RouteId(self.names.len() as u32);
        let name: Box<str> = route.into();
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    /// The id of `route` if it is named, without adding it.
    pub fn get(&self, route: &str) -> Option<RouteId> {
        if route == OTHER_ROUTE {
            return Some(RouteId::OTHER);
        }
        self.ids.get(route).copied()
    }

    /// The route's name; `_other_` for [`RouteId::OTHER`] or an id not from this table.
    pub fn name(&self, id: RouteId) -> &str {
        self.names.get(id.index()).map_or(OTHER_ROUTE, |n| n)
    }

    /// Number of named routes (`_other_` not included).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no route is named yet.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of ids including `_other_`: the length per-route arrays need.
    pub fn id_count(&self) -> usize {
        self.names.len()
    }

    /// Whether the cap was reached and some route was sent to `_other_`.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// `(id, name)` for every id, `_other_` first, then in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (RouteId, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (RouteId(i as u32), &**n))
    }

    /// Merges `other` (the table of the input chunk that comes *after* everything already
    /// in `self`) into `self`, naming its routes in its first-seen order while `self` has
    /// room (`self`'s cap applies), and returns the remapping: `remap[other_id.index()]`
    /// is the id in `self` of that route ([`RouteId::OTHER`] maps to itself). See the
    /// module docs for how this compares with one sequential pass.
    pub fn merge(&mut self, other: &RouteTable) -> Vec<RouteId> {
        let mut remap = Vec::with_capacity(other.names.len());
        remap.push(RouteId::OTHER);
        for name in &other.names[1..] {
            remap.push(self.intern(name));
        }
        // `intern` flagged names that no longer fit; the other side may have sent routes
        // to `_other_` itself.
        self.overflowed |= other.overflowed;
        remap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(p: &str) -> String {
        let mut out = String::new();
        normalize_route(p, &mut out);
        out
    }

    #[test]
    fn ids_are_replaced() {
        assert_eq!(route("/v1/items/12345"), "/v1/items/{id}");
        assert_eq!(
            route("/v1/items/9b2c5f1e-1d2a-4c3b-8e7f-0a1b2c3d4e5f/x"),
            "/v1/items/{id}/x"
        );
        assert_eq!(
            route("/v1/items/9B2C5F1E-1D2A-4C3B-8E7F-0A1B2C3D4E5F"),
            "/v1/items/{id}"
        );
        assert_eq!(route("/t/0123456789abcdef"), "/t/{id}");
        assert_eq!(route("/t/0123456789ABCDEF0123"), "/t/{id}");
        assert_eq!(route("/t/0123456789abcde"), "/t/0123456789abcde"); // 15 hex
        assert_eq!(route("/users/42/orders/7"), "/users/{id}/orders/{id}");
        assert_eq!(route("/0"), "/{id}");
    }

    #[test]
    fn non_ids_are_kept() {
        assert_eq!(route("/v1/search"), "/v1/search");
        assert_eq!(route("/v2/items/abc123"), "/v2/items/abc123");
        assert_eq!(route("/t/0123456789abcdeg"), "/t/0123456789abcdeg"); // 'g' not hex
        assert_eq!(route("/t/12a"), "/t/12a");
        // Almost-UUIDs: wrong dash place, wrong length, non-hex.
        assert_eq!(
            route("/u/9b2c5f1e1-d2a-4c3b-8e7f-0a1b2c3d4e5f"),
            "/u/9b2c5f1e1-d2a-4c3b-8e7f-0a1b2c3d4e5f"
        );
        assert_eq!(
            route("/u/9b2c5f1e-1d2a-4c3b-8e7f-0a1b2c3d4e5"),
            "/u/9b2c5f1e-1d2a-4c3b-8e7f-0a1b2c3d4e5"
        );
        assert_eq!(
            route("/u/zb2c5f1e-1d2a-4c3b-8e7f-0a1b2c3d4e5f"),
            "/u/zb2c5f1e-1d2a-4c3b-8e7f-0a1b2c3d4e5f"
        );
        assert_eq!(route("/-1"), "/-1");
        assert_eq!(route("/１２３"), "/１２３"); // fullwidth digits are not ASCII digits
    }

    #[test]
    fn query_and_fragment_dropped() {
        assert_eq!(route("/v1/search?q=x"), "/v1/search");
        assert_eq!(route("/v1/search?q=x#frag"), "/v1/search");
        assert_eq!(route("/doc#section/12"), "/doc");
        assert_eq!(route("/v1/items/12?x=/1"), "/v1/items/{id}");
        assert_eq!(route("?q=x"), "/");
    }

    #[test]
    fn slashes_and_empty() {
        assert_eq!(route(""), "/");
        assert_eq!(route("/"), "/");
        assert_eq!(route("/v1/items/"), "/v1/items/");
        assert_eq!(route("/v1/items/12/"), "/v1/items/{id}/");
        assert_eq!(route("v1/items/12"), "v1/items/{id}");
        assert_eq!(route("//a//1"), "//a//{id}");
        assert_eq!(route("12"), "{id}");
        assert_eq!(route("東京/12"), "東京/{id}");
    }

    #[test]
    fn full_urls() {
        assert_eq!(
            route("https://api.example.com/v1/items/7?x=1"),
            "/v1/items/{id}"
        );
        assert_eq!(route("http://localhost:8080/health"), "/health");
        assert_eq!(route("https://api.example.com"), "/");
        assert_eq!(route("https://api.example.com?x=1"), "/");
        // Not a scheme: kept as a path.
        assert_eq!(route("/redirect/http://x/1"), "/redirect/http://x/{id}");
        assert_eq!(route("1ab://x/1"), "1ab://x/{id}");
    }

    #[test]
    fn buffer_reuse() {
        let mut out = String::new();
        normalize_route("/a/1", &mut out);
        normalize_route("/b", &mut out);
        assert_eq!(out, "/b");
    }

    #[test]
    fn table_interns_and_names() {
        let mut t = RouteTable::new();
        assert_eq!(t.name(RouteId::OTHER), "_other_");
        let a = t.intern("/a");
        let b = t.intern("/b");
        assert_eq!(t.intern("/a"), a);
        assert_ne!(a, b);
        assert_eq!(a.index(), 1);
        assert_eq!(b.index(), 2);
        assert_eq!(t.name(a), "/a");
        assert_eq!(t.name(b), "/b");
        assert_eq!(t.len(), 2);
        assert_eq!(t.id_count(), 3);
        assert!(!t.overflowed());
        assert_eq!(t.get("/a"), Some(a));
        assert_eq!(t.get("/zzz"), None);
        assert_eq!(t.intern(OTHER_ROUTE), RouteId::OTHER);
        assert_eq!(t.name(RouteId(999)), "_other_");
        let names: Vec<&str> = t.iter().map(|(_, n)| n).collect();
        assert_eq!(names, vec!["_other_", "/a", "/b"]);
    }

    #[test]
    fn table_cap_100k_distinct_paths() {
        let mut t = RouteTable::new();
        let mut out = String::new();
        let mut first_ids = Vec::new();
        for i in 0..100_000u32 {
            // Mix of id-bearing paths (which collapse) and distinct literal paths.
            let p = if i % 2 == 0 {
                format!("/v1/items/{i}")
            } else {
                format!("/page-{i}/x")
            };
            normalize_route(&p, &mut out);
            let id = t.intern(&out);
            if i < 10 {
                first_ids.push(id);
            }
        }
        assert_eq!(t.len(), 200);
        assert!(t.id_count() <= 201);
        assert!(t.overflowed());
        assert_eq!(t.name(first_ids[0]), "/v1/items/{id}");
        assert_eq!(t.name(first_ids[1]), "/page-1/x");
        assert_eq!(t.intern("/page-99999/x"), RouteId::OTHER);
        assert_eq!(t.intern("/v1/items/{id}"), first_ids[0]);
    }

    #[test]
    fn zero_cap_sends_all_to_other() {
        let mut t = RouteTable::with_max_routes(0);
        assert_eq!(t.intern("/a"), RouteId::OTHER);
        assert_eq!(t.len(), 0);
        assert!(t.is_empty());
    }

    /// Deterministic pseudo-random route stream with repeats.
    fn routes(n: usize, seed: u64) -> Vec<String> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("/r{}", (x >> 33) % 400)
            })
            .collect()
    }

    /// Splits `input` into 4 uneven chunks, builds one table per chunk with `local_cap`,
    /// merges them in input order into a table with `cap`, and returns the merged table,
    /// the per-record final ids and the per-record worker ids.
    fn parallel(
        input: &[String],
        cap: usize,
        local_cap: usize,
    ) -> (RouteTable, Vec<RouteId>, Vec<RouteId>, Vec<RouteTable>) {
        let n = input.len();
        let bounds = [0, 7.min(n), (3 * n / 20).max(7.min(n)), n * 11 / 20, n];
        let mut tables = Vec::new();
        let mut worker_ids = Vec::new();
        let mut final_ids = Vec::new();
        let mut merged = RouteTable::with_max_routes(cap);
        for w in bounds.windows(2) {
            let mut t = RouteTable::with_max_routes(local_cap);
            let ids: Vec<RouteId> = input[w[0]..w[1]].iter().map(|r| t.intern(r)).collect();
            let remap = merged.merge(&t);
            final_ids.extend(ids.iter().map(|id| remap[id.index()]));
            worker_ids.extend(ids);
            tables.push(t);
        }
        (merged, final_ids, worker_ids, tables)
    }

    fn names(t: &RouteTable) -> Vec<String> {
        t.iter().map(|(_, n)| n.to_string()).collect()
    }

    #[test]
    fn merge_in_input_order_names_equal_sequential() {
        for seed in 0..20u64 {
            let input = routes(2_000, seed); // 400 distinct routes
            for (cap, local_cap) in [(50, 50), (50, 200), (1, 1), (500, 500)] {
                let mut seq = RouteTable::with_max_routes(cap);
                let seq_ids: Vec<RouteId> = input.iter().map(|r| seq.intern(r)).collect();
                let (merged, final_ids, worker_ids, tables) = parallel(&input, cap, local_cap);
                let ctx = format!("seed {seed} cap {cap} local {local_cap}");
                // The named routes and their ids are exactly the sequential ones.
                assert_eq!(names(&merged), names(&seq), "{ctx}");
                assert_eq!(merged.overflowed(), seq.overflowed(), "{ctx}");
                // Every record a worker named gets its sequential id; a record a worker
                // already sent to `_other_` stays there.
                assert_eq!(final_ids.len(), seq_ids.len());
                for (i, ((f, s), w)) in final_ids.iter().zip(&seq_ids).zip(&worker_ids).enumerate()
                {
                    if *w == RouteId::OTHER {
                        assert_eq!(*f, RouteId::OTHER, "{ctx} record {i}");
                    } else {
                        assert_eq!(f, s, "{ctx} record {i}");
                    }
                }
                // Tree merge ((0+1)+(2+3)) names the same routes.
                let mut left = RouteTable::with_max_routes(cap);
                left.merge(&tables[0]);
                left.merge(&tables[1]);
                let mut right = RouteTable::with_max_routes(local_cap);
                right.merge(&tables[2]);
                right.merge(&tables[3]);
                left.merge(&right);
                assert_eq!(names(&left), names(&seq), "tree, {ctx}");
            }
        }
    }

    #[test]
    fn merge_is_exact_when_workers_do_not_overflow() {
        let input = routes(5_000, 3);
        let cap = 200;
        let mut seq = RouteTable::with_max_routes(cap);
        let seq_ids: Vec<RouteId> = input.iter().map(|r| seq.intern(r)).collect();
        // Workers with room for every route they see: per-record ids match exactly.
        let (merged, final_ids, _, _) = parallel(&input, cap, 1_000);
        assert_eq!(names(&merged), names(&seq));
        assert_eq!(final_ids, seq_ids);
    }

    #[test]
    fn worker_overflow_stays_other() {
        // Chunk A names /a; chunk B (cap 1) names /b first, so its /a goes to _other_.
        let mut a = RouteTable::with_max_routes(1);
        assert_eq!(a.intern("/a").index(), 1);
        let mut b = RouteTable::with_max_routes(1);
        assert_eq!(b.intern("/b").index(), 1);
        assert_eq!(b.intern("/a"), RouteId::OTHER);
        let mut merged = RouteTable::with_max_routes(1);
        merged.merge(&a);
        let remap = merged.merge(&b);
        assert_eq!(names(&merged), vec!["_other_", "/a"]);
        assert_eq!(remap, vec![RouteId::OTHER, RouteId::OTHER]);
        assert!(merged.overflowed());
    }
}
