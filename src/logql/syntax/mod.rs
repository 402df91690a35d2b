//! LogQL syntax: query text → [`ast::Expr`](super::ast::Expr).
//!
//! Two layers, both written with nom 7, mirroring Loki's own split between
//! `pkg/logql/syntax/lex.go` and `pkg/logql/syntax/expr.y`:
//!
//! 1. **[`lexer`]** over `&str`. It reproduces the context-free quirks of
//!    Loki's lexer: a number immediately followed by unit letters becomes a
//!    duration (`250ms`, `1h2m`) or a byte size (`20MB`); `[…]` is always a
//!    range; `-5m` is a negative duration; `--strict` is a parser flag;
//!    function names (`rate`, `sum`, `bytes`, `ip`, …) are keywords only when
//!    followed by `(` or `by (`/`without (`; keywords are matched
//!    case-insensitively; `#` starts a comment. What a duration or a size
//!    means is [`crate::units`]' business, shared with flags and files.
//! 2. **[`grammar`]** over the token slice, one small function per production
//!    of `expr.y`, followed by the checks Loki makes while building its AST
//!    (`newRangeAggregationExpr`, `mustNewVectorAggregationExpr`,
//!    `mustNewBinOpExpr`, `newLabelParserExpr`, `validateMatchers`, …).
//!
//! Every error carries the byte offset of the offending token (see
//! [`QueryError`]); the parser never panics.
//!
//! nagare extension: the stream selector may be omitted (the query then
//! starts with a pipeline stage, e.g. `| json` or `|= "x"`), both for log
//! queries and for the log range of a range aggregation.

mod grammar;
mod lexer;
#[cfg(test)]
mod tests;

pub use grammar::{range_op_name, vector_op_name, EMPTY_SELECTOR_MSG};

use super::ast::Expr;
use super::error::QueryError;

/// Loki refuses queries of this many bytes or more.
const MAX_INPUT_SIZE: usize = 131_072;

/// Parses a whole LogQL query (log query or metric query) and validates it
/// the way Loki does.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    if query.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
        return Err(QueryError::new(query, 0, "empty query"));
    }
    // Loki's own limit, with its message (pkg/logql/syntax/parser.go,
    // maxInputSize).
    if query.len() >= MAX_INPUT_SIZE {
        return Err(QueryError::new(
            query,
            0,
            format!("input size too long ({} > {MAX_INPUT_SIZE})", query.len()),
        ));
    }
    let tokens = lexer::lex(query)?;
    grammar::check_nesting(query, &tokens)?;
    match grammar::query_expr(&tokens) {
        Ok((_, expr)) => Ok(expr),
        Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e.into_query_error(query)),
        Err(nom::Err::Incomplete(_)) => Err(QueryError::new(
            query,
            query.len(),
            "syntax error: unexpected end of query",
        )),
    }
}
