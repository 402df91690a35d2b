//! Placeholder until the explainer lands.
use super::ast::Expr;
pub fn explain(expr: &Expr) -> String {
    format!("{expr:?}")
}
