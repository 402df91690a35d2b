//! Metric rules: the thresholds, patterns and field roles behind the derived
//! metrics, and extra counters defined by LogQL label filters — all in a
//! TOML file (`queries/metrics.toml` holds the defaults, built in), so users
//! change them without touching code.
//!
//! ```toml
//! slow_ms = 1000
//! lock_pattern = "database is locked"
//! burst = "3/5m"
//!
//! [[counter]]
//! name = "mcp_tool_calls_total"
//! help = "MCP tool calls by tool."
//! query = '| event="mcp.tool_call"'
//! labels = ["tool"]
//! max_series = 50
//! ```

use serde::Deserialize;

use super::aggregate::MetricsConfig;
use super::bursts::BurstSpec;
use super::exposition::{is_valid_label_name, is_valid_metric_name};
use crate::logql::ast::Expr;
use crate::logql::parse;
use crate::logql::pipeline::{CompileOptions, CompiledQuery};

/// The default rules, shipped in the repository and built into the binary.
pub const DEFAULT_RULES: &str = include_str!("../../queries/metrics.toml");
pub const DEFAULT_RULES_PATH: &str = "queries/metrics.toml";

/// Series a counter may have before further label values become `_other_`.
pub const DEFAULT_MAX_SERIES: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    slow_ms: Option<f64>,
    lock_pattern: Option<String>,
    burst: Option<String>,
    lock_reorder_window: Option<String>,
    series_cap: Option<usize>,
    top_queries: Option<usize>,
    route_cap: Option<usize>,
    event_cap: Option<usize>,
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    counter: Vec<CounterRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterRule {
    name: toml::Spanned<String>,
    help: Option<String>,
    query: toml::Spanned<String>,
    #[serde(default)]
    labels: Vec<String>,
    max_series: Option<usize>,
}

/// A counter defined by a rule: records its query selects, by the values
/// of its labels.
#[derive(Debug)]
pub struct CounterDef {
    pub name: String,
    pub help: String,
    pub query: CompiledQuery,
    pub labels: Vec<String>,
    pub max_series: usize,
}

/// A rule file that cannot be used, with the place to look.
pub type RuleError = crate::config_error::ConfigError;

/// Loads rules from `text` (read from `path`, for messages) into `cfg`, and
/// returns the counters they define.
pub fn load(text: &str, path: &str, cfg: &mut MetricsConfig) -> Result<Vec<CounterDef>, RuleError> {
    let err_at = |pos: usize, message: String| RuleError::at(path, text, pos, message);
    let file: RulesFile = toml::from_str(text).map_err(|e| RuleError::from_toml(path, text, &e))?;
    // Keys without a span of their own are reported at their line.
    let key_pos = |key: &str| crate::config_error::key_pos(text, key);
    if let Some(ms) = file.slow_ms {
        if ms.is_nan() || ms < 0.0 {
            return Err(err_at(
                key_pos("slow_ms"),
                "slow_ms must be a number >= 0".into(),
            ));
        }
        cfg.slow_ms = ms;
    }
    if let Some(p) = &file.lock_pattern {
        cfg.lock_re = regex::bytes::Regex::new(p).map_err(|e| {
            err_at(
                key_pos("lock_pattern"),
                format!("lock_pattern is not a valid regex: {e}"),
            )
        })?;
    }
    if let Some(b) = &file.burst {
        cfg.burst = BurstSpec::parse(b).map_err(|e| err_at(key_pos("burst"), e.to_string()))?;
    }
    if let Some(w) = &file.lock_reorder_window {
        let ns = crate::units::parse_duration(w).map_err(|e| {
            err_at(
                key_pos("lock_reorder_window"),
                format!("lock_reorder_window {w:?}: {e} (expected a duration such as \"5m\")"),
            )
        })?;
        cfg.lock_reorder_ns = Some(ns);
    }
    if let Some(n) = file.series_cap {
        if n == 0 {
            return Err(err_at(
                key_pos("series_cap"),
                "series_cap must be at least 1".into(),
            ));
        }
        cfg.series_cap = n;
    }
    if let Some(n) = file.top_queries {
        if n == 0 {
            return Err(err_at(
                key_pos("top_queries"),
                "top_queries must be at least 1".into(),
            ));
        }
        cfg.top = n;
    }
    if let Some(n) = file.route_cap {
        cfg.route_cap = n.max(1);
    }
    if let Some(n) = file.event_cap {
        cfg.event_cap = n.max(1);
    }
    cfg.roles
        .apply_overrides(&file.fields)
        .map_err(|e| err_at(key_pos("fields"), e.0))?;
    let mut counters = Vec::new();
    for rule in file.counter {
        let name = rule.name.get_ref().clone();
        let name_pos = rule.name.span().start + 1;
        if !is_valid_metric_name(&name) {
            return Err(err_at(
                name_pos,
                format!("{name:?} is not a valid metric name"),
            ));
        }
        let qtext = rule.query.get_ref();
        // The query sits inside a TOML string: its columns start after the
        // opening quote.
        let qpos = rule.query.span().start + 1;
        let expr = parse(qtext).map_err(|e| {
            err_at(
                qpos + e.pos,
                format!("counter {name:?}: query: {}", e.message),
            )
        })?;
        let Expr::Log(log) = expr else {
            return Err(err_at(
                qpos,
                format!("counter {name:?}: query must be a log query (label filters), not a metric query"),
            ));
        };
        let query = CompiledQuery::compile(&log, CompileOptions::default()).map_err(|e| {
            err_at(
                qpos + e.pos,
                format!("counter {name:?}: query: {}", e.message),
            )
        })?;
        for l in &rule.labels {
            if !is_valid_label_name(l) {
                return Err(err_at(
                    name_pos,
                    format!("counter {name:?}: {l:?} is not a valid label name"),
                ));
            }
        }
        counters.push(CounterDef {
            help: rule
                .help
                .unwrap_or_else(|| format!("Records selected by {qtext}")),
            name,
            query,
            labels: rule.labels,
            max_series: rule.max_series.unwrap_or(DEFAULT_MAX_SERIES).max(1),
        });
    }
    Ok(counters)
}

/// Names of fields the counters' queries and labels read.
pub fn wanted_fields(counters: &[CounterDef]) -> Vec<String> {
    let mut v = Vec::new();
    for c in counters {
        if let crate::decode::Want::Names(n) = &c.query.want {
            v.extend(n.iter().cloned());
        }
        v.extend(c.labels.iter().cloned());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_load() {
        let mut cfg = MetricsConfig::default();
        let counters = load(DEFAULT_RULES, DEFAULT_RULES_PATH, &mut cfg).unwrap();
        assert!(!counters.is_empty());
        assert_eq!(cfg.slow_ms, 1000.0);
    }

    #[test]
    fn series_cap_and_lock_reorder_window() {
        let mut cfg = MetricsConfig::default();
        load(DEFAULT_RULES, DEFAULT_RULES_PATH, &mut cfg).unwrap();
        assert_eq!(cfg.series_cap, 1000);
        // Unset by default: the command picks 5m when following.
        assert_eq!(cfg.lock_reorder_ns, None);
        load(
            "series_cap = 50\nlock_reorder_window = \"90s\"\n",
            "r.toml",
            &mut cfg,
        )
        .unwrap();
        assert_eq!(cfg.series_cap, 50);
        assert_eq!(cfg.lock_reorder_ns, Some(90_000_000_000));
        let e = load("series_cap = 0\n", "r.toml", &mut cfg).unwrap_err();
        assert!(
            e.to_string().contains("series_cap must be at least 1"),
            "{e}"
        );
        let e = load("\nlock_reorder_window = \"x\"\n", "r.toml", &mut cfg).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("r.toml:2") && e.contains("lock_reorder_window \"x\""),
            "{e}"
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let mut cfg = MetricsConfig::default();
        let e = load("slow_ms = 1000\nburst = \n", "r.toml", &mut cfg).unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("r.toml", 2));
        let text = "[[counter]]\nname = \"x_total\"\nquery = '| event=\"a\" | status >= '\n";
        let e = load(text, "r.toml", &mut cfg).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.column > 9, "{e}");
        assert!(e.to_string().starts_with("r.toml:3:"), "{e}");
        let e = load("nope = 1\n", "r.toml", &mut cfg).unwrap_err();
        assert_eq!(e.line, 1);
        let e = load("burst = \"x/5m\"\n", "r.toml", &mut cfg).unwrap_err();
        assert!(e.message.contains("x/5m"), "{e}");
    }
}
