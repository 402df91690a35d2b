//! LogQL queries: parse, compile log queries (regexes, templates, parser
//! patterns), explain, and check that the canonical printing re-parses and
//! prints the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nagare::logql::ast::Expr;
use nagare::logql::explain::explain;
use nagare::logql::pipeline::CompiledQuery;

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    let len = q.chars().count();
    let expr = match nagare::logql::parse(q) {
        Ok(e) => e,
        Err(e) => {
            let col = e.column();
            assert!(
                (1..=len + 1).contains(&col),
                "error column {col} for {q:?}: {e}"
            );
            let _ = e.to_string();
            return;
        }
    };
    if let Expr::Log(log) = &expr {
        if let Err(e) = CompiledQuery::compile(log, Default::default()) {
            let e = e.into_query_error(q);
            let col = e.column();
            assert!(
                (1..=len + 1).contains(&col),
                "compile error column {col} for {q:?}: {e}"
            );
        }
    }
    let _ = explain(&expr);
    let printed = expr.to_string();
    let again = nagare::logql::parse(&printed)
        .unwrap_or_else(|e| panic!("{q:?} printed as {printed:?} does not re-parse: {e}"));
    assert_eq!(printed, again.to_string(), "{q:?} printed twice differs");
});
