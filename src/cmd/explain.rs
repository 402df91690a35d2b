//! `nagare explain QUERY`: parse, validate and print the plan.

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
    print!("{}", explain::explain(&expr));
    EXIT_OK
}
