//! `line_format`/`label_format` templates (Go text/template, from users):
//! parse, list fields, and render over fixed labels. Rendering is bounded
//! (output size, depth, loop iterations), so a hang or an out-of-memory
//! here is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nagare::logql::template::{Template, TemplateData};

struct D(&'static [(&'static str, &'static str)]);

impl TemplateData for D {
    fn label(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
    fn line(&self) -> &[u8] {
        b"the Line"
    }
    fn timestamp_ns(&self) -> i64 {
        // 2021-11-02T03:04:05.123456789Z
        1_635_822_245_123_456_789
    }
    fn for_each_label<'s>(&'s self, f: &mut dyn FnMut(&'s str, &'s str)) {
        for (k, v) in self.0 {
            f(k, v);
        }
    }
}

const DATA: D = D(&[
    ("status", "503"),
    ("path", "/v1/items"),
    ("lvl", " warn "),
    ("err", "ErrTimeout"),
    (
        "json",
        r#"{"a":1,"b":[1,2.5,"x"],"c":{"d":null},"queries":[{"query":"q1"},{"query":"q2"}]}"#,
    ),
    ("from", "1679577215"),
    ("ms", "1679577215123"),
    ("ts", "2021-11-02T10:00:00Z"),
    ("n", "12"),
    ("f", "2.5"),
    ("hex", "0x1f"),
    ("b64", "aGVsbG8="),
    ("url", "a b&c=d/é"),
    ("multi", "a\nb"),
]);

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let t = match Template::parse(src) {
        Ok(t) => t,
        Err((pos, _)) => {
            assert!(
                pos <= src.len(),
                "error position {pos} past the end of {src:?}"
            );
            return;
        }
    };
    let _ = t.fields();
    let _ = t.reads_all_labels();
    let _ = t.calls("now");
    let mut out = String::new();
    let _ = t.render(&DATA, &mut out);
    let _ = t.named("label").render(&DATA, &mut out);
});
