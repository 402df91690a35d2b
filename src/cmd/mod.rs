//! Commands: each turns resolved options into work and an exit status.

pub mod explain;
pub mod filter;
pub mod formats;
pub mod metrics;
pub mod query;

use crate::logql::QueryError;

/// Exit status: the command did its job (malformed lines never change it).
pub const EXIT_OK: i32 = 0;
/// An input could not be read (named on stderr; the others were processed).
pub const EXIT_INPUT: i32 = 1;
/// A bad query, flag or config.
pub const EXIT_USAGE: i32 = 2;

/// Prints a query error the same way for every command.
pub fn report_query_error(e: &QueryError) {
    eprintln!("nagare: {e}\n{}", e.snippet());
}
