//! `nagare explain QUERY`: parse, validate and print the plan.

use std::io::Write;

use super::{report_query_error, EXIT_OK, EXIT_USAGE};
use crate::logql::ast::Expr;
use crate::logql::pipeline::{CompileOptions, CompiledQuery};
use crate::logql::{explain, parse};

pub fn run(query: &str) -> i32 {
    let expr = match parse(query) {
        Ok(e) => e,
        Err(e) => {
            report_query_error(&e);
            return EXIT_USAGE;
        }
    };
    // Compile log queries too, so regexes and templates are checked.
    if let Expr::Log(log) = &expr {
        if let Err(e) = CompiledQuery::compile(log, CompileOptions::default()) {
            report_query_error(&e.into_query_error(query));
            return EXIT_USAGE;
        }
    }
    // A closed pipe (`| head -1`) ends the command quietly: the plan was
    // made, the reader wanted no more of it.
    let mut out = std::io::stdout().lock();
    match out
        .write_all(explain::explain(&expr).as_bytes())
        .and_then(|_| out.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            super::say(format!("writing output: {e}"));
            super::EXIT_INPUT
        }
        _ => EXIT_OK,
    }
}
