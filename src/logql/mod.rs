//! LogQL: the syntax tree, the parser, and the compiled log pipeline.
//!
//! [`parse`] ([`syntax`]: lexer and grammar) turns text into an
//! [`ast::Expr`]; [`pipeline::CompiledQuery`]
//! compiles a log query into executable stages; [`pipeline::Exec`] runs them
//! line by line with reused buffers, one batch at a time
//! ([`pipeline::Exec::run_batch`], the record loop every command shares).
//! [`sample`] turns selected records into a range aggregation's samples,
//! [`metric_query`] and [`log_query`] answer whole queries from any source
//! of batches, and [`result`] writes Loki's result shapes. [`plan`] is the
//! planner hook: what a store may push down before the exact pipeline runs
//! over its candidates.

pub mod ast;
pub mod error;
pub mod eval;
pub mod explain;
pub mod ip;
pub mod label_buf;
pub mod label_filter;
pub mod line_filter;
pub mod log_query;
pub mod metric_query;
pub mod parser_stages;
pub mod pattern;
pub mod pipeline;
pub mod plan;
pub mod result;
pub mod sample;
pub mod syntax;
pub mod template;

pub use error::QueryError;
pub use syntax::parse;

/// A query that parses but cannot be compiled (bad regex, bad template,
/// unsupported construct); `pos` is a byte offset into the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    pub pos: usize,
    pub message: String,
}

impl CompileError {
    pub fn new(pos: usize, message: impl Into<String>) -> Self {
        CompileError {
            pos,
            message: message.into(),
        }
    }

    /// As a [`QueryError`] against the query text, for uniform reporting.
    pub fn into_query_error(self, query: &str) -> QueryError {
        QueryError::new(query, self.pos, self.message)
    }
}
