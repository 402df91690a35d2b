//! The `nagare` binary: parses flags, sets up diagnostics, runs a command
//! and turns its outcome into the exit status.

use clap::Parser;
use nagare::cli::{Cli, Command, FormatsAction};
use nagare::cmd::{self, EXIT_USAGE};

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn main() {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let code = match cli.command {
        Command::Filter(args) => match args.resolve() {
            Ok(opts) => cmd::filter::run(opts),
            Err(e) => {
                eprintln!("nagare: {}", e.0);
                EXIT_USAGE
            }
        },
        Command::Metrics(args) => match (*args).resolve() {
            Ok(opts) => cmd::metrics::run(opts),
            Err(e) => {
                eprintln!("nagare: {}", e.0);
                EXIT_USAGE
            }
        },
        Command::Query(args) => match (*args).resolve() {
            Ok(opts) => cmd::query::run(opts),
            Err(e) => {
                eprintln!("nagare: {}", e.0);
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
