//! Custom formats are values, not process-wide state: two registries loaded
//! in one process (as an agent reloading its config does) each decode with
//! their own definitions, even when both name a format alike.

use nagare::decode::{DecodeCtx, Decoded, Decoder, Format, Want};
use nagare::formats::registry::{self, Registry};
use nagare::record::Labels;

fn load(definition: &str) -> (&'static Registry, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kv.toml"), definition).unwrap();
    let reg = registry::load(&[dir.path().to_path_buf()], &[])
        .unwrap()
        .keep();
    (reg, dir)
}

fn decode(format: Format, line: &str) -> Vec<(String, String)> {
    let stream = Labels::new();
    let ctx = DecodeCtx {
        want: &Want::All,
        need_ts: false,
        stream: &stream,
        label_values: true,
        now_ns: 0,
    };
    let mut out = Decoded::default();
    let mut decoder = Decoder::new();
    assert!(
        decoder.decode(format, line.as_bytes(), &ctx, &mut out),
        "{line}"
    );
    let mut fields: Vec<(String, String)> = out
        .fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    fields.sort();
    fields
}

#[test]
fn two_registries_decode_with_their_own_definitions() {
    let (old, _a) = load("name = \"kv\"\npattern = '<user> <status>'\n");
    let (new, _b) = load("name = \"kv\"\npattern = '<status> <user>'\n");
    let before = Format::from_name("kv", old).unwrap();
    let after = Format::from_name("kv", new).unwrap();
    assert_ne!(before, after, "same name, different formats");
    assert_eq!(
        decode(before, "alice 200"),
        vec![
            ("status".into(), "200".into()),
            ("user".into(), "alice".into())
        ]
    );
    assert_eq!(
        decode(after, "alice 200"),
        vec![
            ("status".into(), "alice".into()),
            ("user".into(), "200".into())
        ]
    );
    // A registry without it does not know the name; the built-ins are
    // always there.
    assert_eq!(Format::from_name("kv", Registry::empty()), None);
    assert_eq!(
        Format::from_name("json", Registry::empty()),
        Some(Format::Json)
    );
}
