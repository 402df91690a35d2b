//! The metric catalogue (`nagare::metrics::catalog`) agrees with what nagare
//! emits and with what the README documents:
//!
//! - a full exposition of `nagare metrics --output prom`, over fixtures that
//!   exercise every family (statuses, latencies, slow requests, DB locks with
//!   a burst, search queries, events, levels, malformed lines, Convex
//!   executions), holds every catalogue entry with its type, help text and
//!   labels, and no family outside the catalogue except the rule counters
//!   (the one dynamic family, from the built-in `queries/metrics.toml`);
//! - every catalogue name is documented in README.md, and every `*_total` or
//!   `*_seconds` name the README documents is in the catalogue (rule counter
//!   examples excepted).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::prom::{parse_samples, TextSample};
use common::*;
use nagare::metrics::aggregate::MetricsConfig;
use nagare::metrics::catalog::{self, MetricDef};
use nagare::metrics::exposition::MetricKind;
use nagare::metrics::rules;
use regex::Regex;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The names of the built-in rule counters: the one dynamic family.
fn rule_counter_names() -> BTreeSet<String> {
    let mut cfg = MetricsConfig::default();
    rules::load(rules::DEFAULT_RULES, rules::DEFAULT_RULES_PATH, &mut cfg)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|c| c.name)
        .collect()
}

/// One family as written: `# HELP`, `# TYPE` and its samples.
#[derive(Debug, Default)]
struct Written {
    help: Option<String>,
    kind: Option<String>,
    samples: Vec<TextSample>,
}

/// Splits an exposition into families by its `# HELP`/`# TYPE` lines; each
/// sample goes to the family whose name it extends.
fn families(text: &str, prefix: &str) -> BTreeMap<String, Written> {
    let mut fams: BTreeMap<String, Written> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            let name = name.strip_prefix(prefix).expect("prefixed name");
            fams.entry(name.to_owned()).or_default().help = Some(help.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            let name = name.strip_prefix(prefix).expect("prefixed name");
            fams.entry(name.to_owned()).or_default().kind = Some(kind.to_owned());
        }
    }
    for s in parse_samples(text) {
        let name = s.name.strip_prefix(prefix).expect("prefixed sample");
        let family = ["_bucket", "_sum", "_count", ""]
            .iter()
            .filter_map(|suffix| name.strip_suffix(suffix))
            .find(|f| fams.contains_key(*f))
            .unwrap_or_else(|| panic!("sample {} belongs to no family", s.name))
            .to_owned();
        fams.get_mut(&family).unwrap().samples.push(s);
    }
    fams
}

/// Checks one catalogue entry against its written family.
fn check_def(def: &MetricDef, fam: &Written, prefix: &str) {
    let name = def.name;
    assert_eq!(fam.kind.as_deref(), Some(def.kind.as_str()), "{name}: type");
    assert_eq!(fam.help.as_deref(), Some(def.help), "{name}: help");
    assert!(!fam.samples.is_empty(), "{name}: no samples");
    let wanted: BTreeSet<&str> = def.labels.iter().copied().collect();
    let series: BTreeSet<String> = def
        .series_names()
        .iter()
        .map(|s| format!("{prefix}{s}"))
        .collect();
    for s in &fam.samples {
        assert!(series.contains(&s.name), "{name}: sample {s:?}");
        let mut got: BTreeSet<&str> = s.labels.keys().map(String::as_str).collect();
        if def.kind == MetricKind::Histogram && s.name.ends_with("_bucket") {
            assert!(got.remove("le"), "{name}: bucket without le: {s:?}");
        }
        assert_eq!(got, wanted, "{name}: labels of {s:?}");
    }
    // The fixtures exercise the family: some series counts something.
    // Two families count only what hostile input causes (tested in
    // metrics_bounded_state.rs).
    if ["db_lock_late_events_total", "series_folded_total"].contains(&name) {
        return;
    }
    let counted = fam.samples.iter().any(|s| {
        s.value > 0.0 && (def.kind != MetricKind::Histogram || s.name.ends_with("_count"))
    });
    assert!(
        counted,
        "{name}: the fixtures do not exercise it: {:?}",
        fam.samples
    );
    if def.kind == MetricKind::Histogram {
        let les: BTreeSet<String> = fam
            .samples
            .iter()
            .filter_map(|s| s.labels.get("le").cloned())
            .collect();
        for b in def.buckets {
            let le = nagare::metrics::exposition::format_float(*b);
            assert!(les.contains(&le), "{name}: no bucket le={le}");
        }
    }
}

fn full_exposition(prefix: &str) -> String {
    let mut args: Vec<String> = vec!["--output".into(), "prom".into()];
    if !prefix.is_empty() {
        args.extend(["--prefix".into(), prefix.into()]);
    }
    for f in ["fixtures/app.log", "fixtures/formats/convex.log"] {
        args.push(repo(f).to_str().unwrap().to_owned());
    }
    let out = metrics(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8(out.stdout).expect("exposition is UTF-8")
}

#[test]
fn every_catalogue_entry_and_nothing_else_is_exposed() {
    let rule_counters = rule_counter_names();
    assert!(!rule_counters.is_empty());
    for name in &rule_counters {
        assert!(
            catalog::get(name).is_none(),
            "rule counter {name} shadows a catalogue entry"
        );
    }
    for prefix in ["", "nagare_"] {
        let text = full_exposition(prefix);
        let fams = families(&text, prefix);
        for def in catalog::ALL {
            let fam = fams.get(def.name).unwrap_or_else(|| {
                panic!("{} (prefix {prefix:?}) is not exposed:\n{text}", def.name)
            });
            check_def(def, fam, prefix);
        }
        for (name, fam) in &fams {
            if catalog::get(name).is_some() {
                continue;
            }
            // The one dynamic family: counters defined in the rules file.
            assert!(
                rule_counters.contains(name),
                "{name} is exposed but neither in the catalogue nor a rule counter"
            );
            assert_eq!(fam.kind.as_deref(), Some("counter"), "{name}");
        }
        // The rule counters are there too, so the exception above is exercised.
        assert!(fams.keys().any(|n| rule_counters.contains(n)));
    }
}

#[test]
fn catalogue_api() {
    let names: Vec<&str> = catalog::ALL.iter().map(|d| d.name).collect();
    for design in [
        "http_requests_total",
        "http_request_duration_seconds",
        "http_slow_requests_total",
        "db_lock_events_total",
        "db_lock_bursts_total",
        "search_queries_total",
        "log_events_total",
        "log_lines_total",
        "log_malformed_lines_total",
        "convex_function_execution_total",
        "convex_function_execution_seconds",
    ] {
        assert!(
            names.contains(&design),
            "{design} (a name the README promises) is not catalogued"
        );
    }
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "duplicate names: {names:?}");
    let d = catalog::get("http_requests_total").expect("catalogued");
    assert_eq!(
        (d.kind, d.labels),
        (MetricKind::Counter, &["route", "method", "status"][..])
    );
    assert_eq!(
        catalog::get("http_request_duration_seconds").map(|d| d.kind),
        Some(MetricKind::Histogram)
    );
    assert!(catalog::get("http_request_duration_seconds_bucket").is_none());
}

/// `name` or `name{a,b}` in backquotes, for names ending in `_total` or
/// `_seconds`.
fn readme_names(readme: &str) -> BTreeMap<String, Option<Vec<String>>> {
    let re = Regex::new(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z0-9_, ]*)\})?`").unwrap();
    let mut out = BTreeMap::new();
    for c in re.captures_iter(readme) {
        let name = c[1].to_owned();
        if !(name.ends_with("_total") || name.ends_with("_seconds")) {
            continue;
        }
        let labels = c
            .get(3)
            .map(|m| m.as_str().split(',').map(|l| l.trim().to_owned()).collect());
        let e = out.entry(name).or_insert(None);
        if labels.is_some() {
            *e = labels;
        }
    }
    out
}

#[test]
fn readme_documents_the_catalogue() {
    let readme = std::fs::read_to_string(repo("README.md")).expect("README.md");
    let documented = readme_names(&readme);
    for def in catalog::ALL {
        let labels = documented
            .get(def.name)
            .unwrap_or_else(|| panic!("{} is not documented in README.md", def.name));
        if let Some(labels) = labels {
            assert_eq!(labels, def.labels, "{}: labels in README.md", def.name);
        }
    }
    // Rule counters (the dynamic family) are documented only as examples of
    // a rules file: the built-in ones, or those a README TOML example defines.
    let rule_counters = rule_counter_names();
    let toml = Regex::new(r#"(?m)^\s*name\s*=\s*"([^"]+)""#).unwrap();
    let examples: BTreeSet<String> = toml
        .captures_iter(&readme)
        .map(|c| c[1].to_owned())
        .collect();
    assert!(!examples.is_empty(), "the README's rule example has moved");
    for name in documented.keys() {
        assert!(
            catalog::get(name).is_some() || rule_counters.contains(name) || examples.contains(name),
            "README.md documents {name}, which is not in the catalogue"
        );
    }
}
