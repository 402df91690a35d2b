//! Command-line flags (clap), resolved once into the library's option
//! structs; no clap type leaks past this module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cmd::filter::FilterOptions;
use crate::cmd::InputOptions;
use crate::decode::Format;
use crate::formats::registry::Registry;
use crate::framing::DEFAULT_MAX_LINE;
use crate::output::LineOutput;
use crate::record::Labels;
use crate::source::{self, FollowOptions, InputSpec, ReadOptions};

const ABOUT: &str = "nagare (流れ): a log-analytics stream processor that speaks LogQL.";

const METRICS_EXAMPLES: &str = "\
Examples:
  nagare metrics fixtures/app.log
  nagare metrics --output json 'app.log*.gz'
  nagare metrics --output json --window 5m app.log
  nagare metrics --output prom --field status=status_code --field latency=duration:s app.log
  nagare metrics --push http://127.0.0.1:9091 --job api app.log.gz
  flyctl logs | nagare metrics -f --listen 127.0.0.1:9464";

const QUERY_EXAMPLES: &str = "\
Examples:
  nagare query 'sum by (path) (count_over_time({filename=~\".+\"} | json | __error__=\"\" [5m]))' app.log
  nagare query --output json 'rate({filename=~\".+\"} |= \"database is locked\" [1m])' app.log
  nagare query --instant 'quantile_over_time(0.95, {filename=~\".+\"} | json | __error__=\"\" | unwrap latency_ms [5m]) by (path)' app.log
  nagare query --limit 20 '| json | status >= 500' app.log";

const FILTER_EXAMPLES: &str = "\
Examples:
  flyctl logs | nagare filter '{app=\"api\"} | json | status >= 500'
  nagare filter '| json | latency_ms > 1000' app.log.gz
  nagare filter '|= \"database is locked\"' 'logs/*.log'
  nagare filter '| json | line_format \"{{.status}} {{.path}}\"' app.log
  nagare filter --output jsonl --since 1h '| json | level=\"error\"' app.log
  nagare filter -f '| json | __error__=\"\" | status >= 500' /var/log/app.log
  nagare filter --count '| json | q=\"\"' app.log";

#[derive(Parser, Debug)]
#[command(name = "nagare", version, about = ABOUT, long_about = None)]
pub struct Cli {
    /// More diagnostics on stderr (-v info, -vv debug); RUST_LOG also works.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the records a LogQL log query selects, as they arrive.
    #[command(after_help = FILTER_EXAMPLES)]
    Filter(FilterArgs),
    /// Golden signals and derived metrics: report, Prometheus exposition, /metrics, Pushgateway.
    #[command(after_help = METRICS_EXAMPLES)]
    Metrics(Box<MetricsArgs>),
    /// Run a LogQL log or metric query over files or stdin (no index needed).
    #[command(after_help = QUERY_EXAMPLES)]
    Query(Box<QueryArgs>),
    /// Parse a LogQL query and print its plan (exit 2 with the column if invalid).
    #[command(
        after_help = "Examples:\n  nagare explain '{app=\"api\"} | json | status >= 500'\n  nagare explain 'sum by (path) (rate({job=\"app\"} | json [5m]))'"
    )]
    Explain {
        /// The query.
        query: String,
    },
    /// List the log formats, or check the samples of custom ones (parsers/*.toml).
    #[command(
        after_help = "Examples:\n  nagare formats list\n  nagare formats test\n  nagare formats test --parsers ./my-parsers nginx-timed"
    )]
    Formats {
        #[command(subcommand)]
        action: FormatsAction,
        /// Another folder of format definitions (repeatable; read before
        /// ./parsers and the user config folder).
        #[arg(long = "parsers", value_name = "DIR", global = true)]
        parsers: Vec<std::path::PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum FormatsAction {
    /// Built-in and custom formats, with where each custom one is defined.
    List,
    /// Decode every [[sample]] and compare with its `expect` (exit 1 on a mismatch).
    Test {
        /// Only this format.
        name: Option<String>,
    },
}

/// Reads the custom formats (`--parsers` folders, `./parsers`, the user
/// config folder), then resolves `--format`: `auto` (`None`), a built-in
/// format or a custom one by name.
pub fn resolve_format(
    name: &str,
    parsers: &[PathBuf],
) -> Result<(Option<Format>, &'static Registry), UsageError> {
    use crate::formats::registry;
    let reg = registry::load_with_built_in(parsers, &registry::default_dirs())
        .map_err(|e| UsageError(e.to_string()))?
        .keep();
    if name == "auto" {
        return Ok((None, reg));
    }
    // Only the definition named is compiled; one that does not load stops
    // the command (exit 2).
    if let Err(e) = reg.find(name) {
        return Err(UsageError(e.to_string()));
    }
    let format = Format::from_name(name, reg).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL
            .into_iter()
            .map(|f| f.name())
            .chain(reg.names())
            .collect();
        UsageError(format!(
            "--format: unknown format {name:?}; expected auto, {} (custom formats come from --parsers DIR, ./parsers, the user config folder and the built-in parsers/)",
            names.join(", ")
        ))
    })?;
    Ok((Some(format), reg))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum QueryOutputArg {
    /// Series by step (metric queries) or the lines (log queries).
    Table,
    /// Loki's query_range JSON (metric queries) or logcli's JSON Lines (log queries).
    Json,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The LogQL query, then the files (none or `-`: stdin).
    #[arg(value_name = "QUERY")]
    pub query: String,
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Start of the range (RFC 3339 or a duration ago); default: the data's first time.
    #[arg(long)]
    pub start: Option<String>,
    /// End of the range; default: the data's last time.
    #[arg(long)]
    pub end: Option<String>,
    /// Shorthand for --start: evaluate from this long ago (e.g. 6h).
    #[arg(long)]
    pub since: Option<String>,
    /// Step between points (default: the largest range in the query).
    #[arg(long)]
    pub step: Option<String>,
    /// Evaluate once, at the end time.
    #[arg(long)]
    pub instant: bool,
    /// Log queries: at most this many lines.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Metric queries: refuse an answer (or a range aggregation's
    /// collected samples) of more series than this, as Loki's
    /// max_query_series; 0 for no limit.
    #[arg(long, default_value_t = 20_000)]
    pub max_series: usize,
    /// Log queries: oldest first (default newest first, as Loki).
    #[arg(long)]
    pub forward: bool,
    /// Output shape.
    #[arg(long, value_enum, default_value = "table")]
    pub output: QueryOutputArg,
}

impl QueryArgs {
    pub fn resolve(self) -> Result<crate::cmd::query::QueryOptions, UsageError> {
        use crate::cmd::query::{QueryOptions, QueryOutput};
        let (inputs, unreadable) = expand_inputs(&self.files)?;
        let now = crate::time::now_ns();
        let t = |flag: &str, v: &Option<String>| -> Result<Option<i64>, UsageError> {
            v.as_deref()
                .map(|s| {
                    crate::time::parse_cli_time(s, now)
                        .map_err(|e| UsageError(format!("{flag}: {e}")))
                })
                .transpose()
        };
        let start = t("--start", &self.start)?.or(t("--since", &self.since)?);
        let end = t("--end", &self.end)?;
        // Loki refuses an end before the start (pkg/loghttp/query.go,
        // errEndBeforeStart), with this message.
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                return Err(UsageError(
                    "--start/--end: end timestamp must not be before or equal to start time".into(),
                ));
            }
        }
        let step = match &self.step {
            Some(s) => Some(
                crate::units::parse_duration(s)
                    .ok()
                    .filter(|d| *d > 0)
                    .ok_or_else(|| {
                        UsageError(format!("--step {s:?}: expected a duration such as 1m"))
                    })?,
            ),
            None => None,
        };
        Ok(QueryOptions {
            query: self.query,
            inputs,
            unreadable_inputs: unreadable,
            start,
            end,
            step,
            instant: self.instant,
            limit: self.limit,
            max_series: self.max_series,
            forward: self.forward,
            output: match self.output {
                QueryOutputArg::Table => QueryOutput::Table,
                QueryOutputArg::Json => QueryOutput::Json,
            },
            lines: match self.output {
                QueryOutputArg::Table => LineOutput::Raw,
                QueryOutputArg::Json => LineOutput::Jsonl,
            },
            engine: self.input.engine_options()?,
        })
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum MetricsOutputArg {
    /// A readable report, golden signals first.
    Table,
    /// One JSON document (NDJSON, one per window, with --window).
    Json,
    /// Prometheus text exposition.
    Prom,
}

#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// Files (none or `-`: stdin); globs and .gz work.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output shape.
    #[arg(long, value_enum, default_value = "table")]
    pub output: MetricsOutputArg,
    /// Override a field role, e.g. status=status_code, latency=duration:s (repeatable).
    #[arg(long = "field", value_name = "ROLE=NAME")]
    pub fields: Vec<String>,
    /// Rules file (thresholds, patterns, roles, extra counters); default: the built-in queries/metrics.toml.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,
    /// Requests slower than this many milliseconds are slow [rules default: 1000].
    #[arg(long, value_name = "MS")]
    pub slow_ms: Option<f64>,
    /// DB lock bursts: minimum events / maximum gap between consecutive ones [rules default: 3/5m].
    #[arg(long, value_name = "N/GAP")]
    pub burst: Option<String>,
    /// Regex (on the raw line) that marks a DB lock event [rules default: database is locked].
    #[arg(long, value_name = "REGEX")]
    pub lock_pattern: Option<String>,
    /// How far (event time) a lock event may trail the newest one and still join a burst;
    /// older ones are counted as late [rules: lock_reorder_window; default 5m with -f,
    /// unlimited otherwise].
    #[arg(long, value_name = "DURATION")]
    pub lock_reorder_window: Option<String>,
    /// Series of http_requests_total and of the Convex executions before new label
    /// combinations are folded (method and function status _other_, status by class)
    /// [rules default: 1000].
    #[arg(long, value_name = "N")]
    pub series_cap: Option<usize>,
    /// How many top search queries are named; the rest is _other_ [rules default: 20].
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Replace query label values by a short stable hash.
    #[arg(long)]
    pub redact_queries: bool,
    /// One JSON document per window of event time (with --output json).
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Serve /metrics on this address (e.g. 127.0.0.1:9464) while running;
    /// after the input ends, keep serving until SIGINT or SIGTERM (exit 0).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Push the exposition to this Pushgateway (at the end, or every --push-interval with -f).
    #[arg(long, value_name = "URL")]
    pub push: Option<String>,
    /// Pushgateway job name.
    #[arg(long, value_name = "NAME", default_value = "nagare")]
    pub job: String,
    /// Extra Pushgateway grouping labels (repeatable).
    #[arg(long, value_name = "K=V")]
    pub grouping: Vec<String>,
    /// Push period while following.
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub push_interval: String,
    /// Time limit of one push: connecting, sending, reading the answer, retries and the
    /// waits between them.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub push_timeout: String,
    /// Basic-auth user name for --push [env: NAGARE_PUSH_USERNAME].
    #[arg(long, value_name = "NAME", requires = "push")]
    pub push_basic_auth_username: Option<String>,
    /// File holding the basic-auth password for --push (a trailing newline is dropped)
    /// [or the password itself in NAGARE_PUSH_PASSWORD].
    #[arg(long, value_name = "FILE", requires = "push")]
    pub push_basic_auth_password_file: Option<PathBuf>,
    /// File holding a bearer token for --push (a trailing newline is dropped)
    /// [or the token itself in NAGARE_PUSH_BEARER_TOKEN].
    #[arg(
        long,
        value_name = "FILE",
        requires = "push",
        conflicts_with_all = ["push_basic_auth_username", "push_basic_auth_password_file"]
    )]
    pub push_bearer_token_file: Option<PathBuf>,
    /// Metric name prefix (namespace), e.g. nagare_.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub prefix: String,
}

impl MetricsArgs {
    pub fn resolve(self) -> Result<crate::cmd::metrics::MetricsOptions, UsageError> {
        use crate::cmd::metrics::{MetricsOptions, MetricsOutput, PushTarget};
        use crate::metrics::aggregate::MetricsConfig;
        let (inputs, unreadable) = expand_inputs(&self.files)?;
        let mut cfg = MetricsConfig::default();
        let (rules_text, rules_path) = match &self.rules {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|e| UsageError(format!("--rules {p}: {e}")))?,
                p.clone(),
            ),
            None => (
                crate::metrics::rules::DEFAULT_RULES.to_string(),
                crate::metrics::rules::DEFAULT_RULES_PATH.to_string(),
            ),
        };
        let counters = crate::metrics::rules::load(&rules_text, &rules_path, &mut cfg)
            .map_err(|e| UsageError(e.to_string()))?;
        cfg.counter_caps = counters.iter().map(|c| c.max_series).collect();
        // Flags given on the command line win over the rules file.
        cfg.roles
            .apply_overrides(&self.fields)
            .map_err(|e| UsageError(e.0))?;
        if let Some(ms) = self.slow_ms {
            if ms.is_nan() || ms < 0.0 {
                return Err(UsageError("--slow-ms must be a number >= 0".into()));
            }
            cfg.slow_ms = ms;
        }
        if let Some(b) = &self.burst {
            cfg.burst = crate::metrics::bursts::BurstSpec::parse(b)
                .map_err(|e| UsageError(format!("--burst: {e}")))?;
        }
        if let Some(p) = &self.lock_pattern {
            cfg.lock_re = regex::bytes::Regex::new(p)
                .map_err(|e| UsageError(format!("--lock-pattern: {e}")))?;
        }
        if let Some(w) = &self.lock_reorder_window {
            cfg.lock_reorder_ns = Some(crate::units::parse_duration(w).map_err(|e| {
                UsageError(format!(
                    "--lock-reorder-window {w:?}: {e} (expected a duration such as 5m)"
                ))
            })?);
        }
        if cfg.lock_reorder_ns.is_none() && self.input.follow {
            cfg.lock_reorder_ns = Some(crate::metrics::aggregate::FOLLOW_LOCK_REORDER_NS);
        }
        if let Some(n) = self.series_cap {
            if n == 0 {
                return Err(UsageError("--series-cap must be at least 1".into()));
            }
            cfg.series_cap = n;
        }
        if let Some(top) = self.top {
            if top == 0 {
                return Err(UsageError("--top must be at least 1".into()));
            }
            cfg.top = top;
        }
        let dur = |flag: &str, v: &str| {
            crate::units::parse_duration(v)
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| UsageError(format!("{flag} {v:?}: expected a duration such as 5m")))
        };
        cfg.window_ns = match &self.window {
            Some(w) => Some(dur("--window", w)?),
            None => None,
        };
        let mut grouping = Vec::new();
        for g in &self.grouping {
            let (k, v) = g
                .split_once('=')
                .ok_or_else(|| UsageError(format!("--grouping {g:?}: expected K=V")))?;
            grouping.push((k.to_string(), v.to_string()));
        }
        let push = match &self.push {
            Some(url) => {
                use crate::sink::pushgateway::{group_path, parse_push_url};
                // Checked before any input is read: a bad URL is a bad flag.
                let (base, url_auth) =
                    parse_push_url(url).map_err(|e| UsageError(format!("--push: {e}")))?;
                group_path(url, &self.job, &grouping)
                    .map_err(|e| UsageError(format!("--job/--grouping: {e}")))?;
                let env = |name: &str| std::env::var(name).ok();
                Some(PushTarget {
                    url: base.to_string(),
                    job: self.job.clone(),
                    grouping,
                    interval: std::time::Duration::from_nanos(dur(
                        "--push-interval",
                        &self.push_interval,
                    )? as u64),
                    timeout: std::time::Duration::from_nanos(dur(
                        "--push-timeout",
                        &self.push_timeout,
                    )? as u64),
                    auth: self.push_auth(url_auth, &env)?,
                })
            }
            None => None,
        };
        Ok(MetricsOptions {
            inputs,
            unreadable_inputs: unreadable,
            output: match self.output {
                MetricsOutputArg::Table => MetricsOutput::Table,
                MetricsOutputArg::Json => MetricsOutput::Json,
                MetricsOutputArg::Prom => MetricsOutput::Prom,
            },
            config: cfg,
            counters,
            display: crate::metrics::report::QueryDisplay {
                redact: self.redact_queries,
                max_chars: crate::metrics::normalize::DEFAULT_LABEL_CHARS,
            },
            prefix: self.prefix,
            listen: self.listen,
            push,
            engine: self.input.engine_options()?,
        })
    }
}

impl MetricsArgs {
    /// The push credentials: the flags, else the URL's user info, else the environment
    /// (`NAGARE_PUSH_BEARER_TOKEN`; `NAGARE_PUSH_USERNAME` with `NAGARE_PUSH_PASSWORD`).
    /// Errors name the flag, file or variable, never a secret.
    fn push_auth(
        &self,
        url_auth: Option<crate::sink::pushgateway::PushAuth>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<crate::sink::pushgateway::PushAuth>, UsageError> {
        use crate::sink::pushgateway::PushAuth;
        let env = |name: &str| {
            env(name)
                .map(|v| v.trim_end_matches(['\n', '\r']).to_owned())
                .filter(|v| !v.is_empty())
        };
        let flags = self.push_basic_auth_username.is_some()
            || self.push_basic_auth_password_file.is_some()
            || self.push_bearer_token_file.is_some();
        if flags && url_auth.is_some() {
            return Err(UsageError(
                "--push: the URL carries user info and a --push-basic-auth-*/--push-bearer-token-file flag is given too; use one".into(),
            ));
        }
        let auth = if let Some(path) = &self.push_bearer_token_file {
            Some(PushAuth::Bearer(read_secret(
                "--push-bearer-token-file",
                path,
            )?))
        } else if flags {
            let username = self
                .push_basic_auth_username
                .clone()
                .or_else(|| env("NAGARE_PUSH_USERNAME"))
                .ok_or_else(|| {
                    UsageError(
                        "--push-basic-auth-password-file needs --push-basic-auth-username (or NAGARE_PUSH_USERNAME)".into(),
                    )
                })?;
            let password = match &self.push_basic_auth_password_file {
                Some(path) => read_secret("--push-basic-auth-password-file", path)?,
                None => env("NAGARE_PUSH_PASSWORD").unwrap_or_default(),
            };
            Some(PushAuth::Basic { username, password })
        } else if url_auth.is_some() {
            url_auth
        } else {
            match (
                env("NAGARE_PUSH_BEARER_TOKEN"),
                env("NAGARE_PUSH_USERNAME"),
                env("NAGARE_PUSH_PASSWORD"),
            ) {
                (Some(_), Some(_), _) => {
                    return Err(UsageError(
                        "NAGARE_PUSH_BEARER_TOKEN and NAGARE_PUSH_USERNAME are both set; unset one".into(),
                    ))
                }
                (Some(token), None, _) => Some(PushAuth::Bearer(token)),
                (None, Some(username), password) => Some(PushAuth::Basic {
                    username,
                    password: password.unwrap_or_default(),
                }),
                (None, None, Some(_)) => {
                    return Err(UsageError(
                        "NAGARE_PUSH_PASSWORD is set without a user name: give --push-basic-auth-username or NAGARE_PUSH_USERNAME".into(),
                    ))
                }
                (None, None, None) => None,
            }
        };
        if let Some(a) = &auth {
            a.validate()
                .map_err(|reason| UsageError(format!("push credentials: {reason}")))?;
        }
        Ok(auth)
    }
}

/// A secret kept in a file (a password, a token): its text without the trailing newline.
fn read_secret(flag: &str, path: &std::path::Path) -> Result<String, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{flag} {}: {e}", path.display())))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(UsageError(format!(
            "{flag} {}: the file is empty",
            path.display()
        )));
    }
    Ok(secret.to_owned())
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LineOutputArg {
    /// The line itself (the app's own line for Fly envelopes).
    Raw,
    /// logcli's JSON Lines: {"labels":{…},"line":"…","timestamp":"…"}.
    Jsonl,
}

/// Flags shared by the commands that read logs.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Input log format: auto (detects per input from its first lines), json,
    /// logfmt, fly, nginx, apache, syslog, python, cri, raw, or a custom
    /// format's name (`nagare formats list`).
    #[arg(long, default_value = "auto", value_name = "NAME")]
    pub format: String,
    /// Another folder of custom format definitions (repeatable; read before
    /// ./parsers and the user config folder).
    #[arg(long = "parsers", value_name = "DIR")]
    pub parsers: Vec<PathBuf>,
    /// Add a stream label to every input (repeatable), e.g. --label job=api.
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,
    /// Follow files as they grow, across rotation (like tail -F).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines longer than this many bytes are truncated (and flagged); a
    /// number of bytes or a size such as 64KiB or 1MiB.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE, value_parser = size_flag)]
    pub max_line_length: usize,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct FilterArgs {
    /// The LogQL log query, then the files (none or `-`: stdin). A first
    /// argument that does not start with `{`, `|` or `!` is read as a file
    /// and every record is printed (one that is no file but a pipeline
    /// without its leading `|` is refused, exit 2, with the fix).
    #[arg(value_name = "QUERY")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output shape.
    #[arg(long, value_enum, default_value = "raw")]
    pub output: LineOutputArg,
    /// Print only the number of selected records.
    #[arg(long)]
    pub count: bool,
    /// Select only the lines their format could not decode (a JSON line
    /// that is not one object, an access line a pattern does not match…);
    /// the query still applies. Shows what a format misses, e.g.
    /// `nagare filter --format my-format --malformed app.log`.
    #[arg(long)]
    pub malformed: bool,
    /// Only records at or after this event time (RFC 3339 or a duration ago: 6h).
    #[arg(long)]
    pub since: Option<String>,
    /// Only records before this event time (RFC 3339 or a duration ago).
    #[arg(long)]
    pub until: Option<String>,
    /// Flush after every chunk even into a pipe (a terminal always is).
    #[arg(long)]
    pub line_buffered: bool,
}

/// A byte-size flag (`--max-line-length 1MiB`), read by
/// [`crate::units::parse_size`] like every size flag.
fn size_flag(s: &str) -> Result<usize, String> {
    let n = crate::units::parse_size(s)?;
    usize::try_from(n).map_err(|_| format!("{s:?} is too large"))
}

/// A flag value that is wrong, with the flag named.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Expands file arguments; inputs that cannot be read (a glob matching
/// nothing) are named now and counted, so the exit status can say so. With
/// nothing readable at all it is a usage error.
fn expand_inputs(args: &[String]) -> Result<(Vec<InputSpec>, usize), UsageError> {
    let (inputs, errors) = source::expand(args);
    if let Some(e) = errors.first() {
        if inputs.is_empty() {
            return Err(UsageError(e.to_string()));
        }
        for e in &errors {
            crate::cmd::say(e);
        }
    }
    Ok((inputs, errors.len()))
}

/// Whether the first argument is the query rather than a file. A blank
/// one is an (empty) query, so the user hears "empty query", not that a
/// file named "" does not exist.
fn looks_like_query(s: &str) -> bool {
    let t = s.trim_start();
    t.is_empty()
        || t.starts_with('{')
        || t.starts_with('|')
        || t.starts_with("!=")
        || t.starts_with("!~")
        || t.starts_with("!>")
}

/// A first argument that is no file but reads as a pipeline once a `|` is
/// put before it (`json | status >= 500`) is a query that lost its leading
/// `|`, not a missing file: say so (exit 2).
fn pipeline_without_bar(arg: &str) -> Option<UsageError> {
    if arg == "-" || std::path::Path::new(arg).exists() {
        return None;
    }
    let fixed = format!("| {}", arg.trim_start());
    matches!(
        crate::logql::parse(&fixed),
        Ok(crate::logql::ast::Expr::Log(_))
    )
    .then(|| {
        UsageError(format!(
            "{arg:?} is not a file; did you mean '{fixed}'? \
             (a query starts with '{{', '|', '!=' or '!~')"
        ))
    })
}

fn parse_labels(pairs: &[String]) -> Result<Labels, UsageError> {
    let mut labels = Labels::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--label {p:?}: expected K=V")))?;
        let valid = !k.is_empty()
            && !k.as_bytes()[0].is_ascii_digit()
            && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        if !valid {
            return Err(UsageError(format!(
                "--label {p:?}: {k:?} is not a valid label name"
            )));
        }
        labels.insert(k, v);
    }
    Ok(labels)
}

impl InputArgs {
    pub fn engine_options(&self) -> Result<InputOptions, UsageError> {
        if self.max_line_length == 0 {
            return Err(UsageError("--max-line-length must be at least 1".into()));
        }
        let (format, formats) = resolve_format(&self.format, &self.parsers)?;
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Ok(InputOptions {
            read: ReadOptions {
                format,
                labels: parse_labels(&self.labels)?,
                max_line: self.max_line_length,
                // Notifications wake the follower; polling every 100 ms
                // is the fallback.
                follow: self.follow.then(FollowOptions::default),
                formats,
                interrupt: None,
            },
            threads,
        })
    }
}

impl FilterArgs {
    pub fn resolve(self) -> Result<FilterOptions, UsageError> {
        let mut args = self.args;
        let query = if args.first().is_some_and(|a| looks_like_query(a)) {
            args.remove(0)
        } else if let Some(e) = args.first().and_then(|a| pipeline_without_bar(a)) {
            return Err(e);
        } else {
            // No query: every record (a selector-less pipeline matches all).
            "|= \"\"".to_string()
        };
        let (inputs, unreadable) = expand_inputs(&args)?;
        let now = crate::time::now_ns();
        let parse_time = |flag: &str, v: &Option<String>| -> Result<Option<i64>, UsageError> {
            v.as_deref()
                .map(|s| {
                    crate::time::parse_cli_time(s, now)
                        .map_err(|e| UsageError(format!("{flag}: {e}")))
                })
                .transpose()
        };
        let since = parse_time("--since", &self.since)?;
        let until = parse_time("--until", &self.until)?;
        let time_range = match (since, until) {
            (None, None) => None,
            (s, u) => Some((s.unwrap_or(i64::MIN), u.unwrap_or(i64::MAX))),
        };
        if let Some((s, u)) = time_range {
            if s >= u {
                return Err(UsageError("--since must be before --until".into()));
            }
        }
        if self.input.follow && inputs.contains(&InputSpec::Stdin) && inputs.len() > 1 {
            return Err(UsageError(
                "--follow reads files; stdin is always followed".into(),
            ));
        }
        Ok(FilterOptions {
            query,
            inputs,
            unreadable_inputs: unreadable,
            output: match self.output {
                LineOutputArg::Raw => LineOutput::Raw,
                LineOutputArg::Jsonl => LineOutput::Jsonl,
            },
            count: self.count,
            malformed_only: self.malformed,
            time_range,
            line_buffered: self.line_buffered,
            engine: self.input.engine_options()?,
        })
    }
}
