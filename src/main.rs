//! The `nagare` binary: parses flags, sets up diagnostics, runs a command
//! and turns its outcome into the exit status.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;
use nagare::cli::{Cli, Command, FormatsAction};
use nagare::cmd::{self, EXIT_USAGE};
use nagare::diag;
use signal_hook::consts::{SIGINT, SIGTERM};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Full, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Messages for the user print as `nagare: <message>`; the rest (debugging
/// detail, `-v`) in tracing's usual form.
struct Messages {
    detail: Format<Full>,
}

impl<S, N> FormatEvent<S, N> for Messages
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if event.metadata().target() == diag::USER {
            write!(writer, "nagare: ")?;
            ctx.format_fields(writer.by_ref(), event)?;
            writeln!(writer)
        } else {
            self.detail.format_event(ctx, writer, event)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Whatever the filter, what the user must be told is shown.
    let filter = match format!("{}=trace", diag::USER).parse() {
        Ok(d) => filter.add_directive(d),
        Err(_) => filter,
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        // A closed stderr (`2>&1 | head`) must not turn into a panic:
        // tracing would report the failed write with eprintln!.
        .log_internal_errors(false)
        .fmt_fields(DefaultFields::new())
        .event_format(Messages {
            detail: Format::default().with_target(false).with_ansi(ansi),
        })
        .init();
}

/// A bad flag, said on stderr; a closed stderr is no reason to panic.
fn usage_error(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "nagare: {message}");
}

/// A followed run (or one that serves `/metrics`, which keeps serving
/// after its input ends) is ended by SIGINT or SIGTERM the way it ends at
/// the end of its input: sources stop at their next wait for data, the
/// last batches are handled, and the command prints or pushes its final
/// state and exits 0. A second signal ends the process at once.
fn stop_on_signals(inputs: &mut cmd::InputOptions, serving: bool) {
    if inputs.read.follow.is_none() && !serving {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        let armed = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())
            .and_then(|_| signal_hook::flag::register(sig, stop.clone()));
        if let Err(e) = armed {
            tracing::debug!("signal {sig} not handled: {e}");
            return;
        }
    }
    inputs.read.interrupt = Some(stop);
}

fn main() {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let code = match cli.command {
        Command::Filter(args) => match args.resolve() {
            Ok(mut opts) => {
                stop_on_signals(&mut opts.engine, false);
                cmd::filter::run(opts)
            }
            Err(e) => {
                usage_error(&e.0);
                EXIT_USAGE
            }
        },
        Command::Metrics(args) => match (*args).resolve() {
            Ok(mut opts) => {
                let serving = opts.listen.is_some();
                stop_on_signals(&mut opts.engine, serving);
                cmd::metrics::run(opts)
            }
            Err(e) => {
                usage_error(&e.0);
                EXIT_USAGE
            }
        },
        Command::Query(args) => match (*args).resolve() {
            Ok(mut opts) => {
                stop_on_signals(&mut opts.engine, false);
                cmd::query::run(opts)
            }
            Err(e) => {
                usage_error(&e.0);
                EXIT_USAGE
            }
        },
        Command::Explain { query } => cmd::explain::run(&query),
        Command::Formats { action, parsers } => {
            let opts = cmd::formats::FormatsOptions { parsers };
            match action {
                FormatsAction::List => cmd::formats::list(&opts),
                FormatsAction::Test { name } => cmd::formats::test(&opts, name.as_deref()),
            }
        }
    };
    std::process::exit(code);
}
