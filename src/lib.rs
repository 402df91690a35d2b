//! nagare (流れ, "stream"): a log-analytics stream processor that speaks
//! LogQL.
//!
//! The crate reads as its pipeline:
//!
//! ```text
//! source ──bytes──▶ framing ──lines──▶ decode ──fields──▶ logql ──▶ output
//! ```
//!
//! - [`source`]: stdin, files, gzip, globs, followed files;
//! - [`framing`]: chunks of whole lines, line-length limit;
//! - [`decode`]: json, logfmt, Fly, nginx, and format detection;
//! - [`logql`]: the query language: AST, parser, compiled pipeline;
//! - [`batch`]: batches of lines with their input's identity and offset,
//!   and the [`batch::BatchSource`] seam every source plugs into;
//! - [`engine`]: the parallel, order-keeping batch runner;
//! - [`output`]: printers; [`cmd`]: the commands; [`cli`]: flags;
//! - [`units`]: what `1.5h` and `1MiB` mean, for queries, flags and files.
//!
//! ```
//! use nagare::logql::{parse, ast::Expr, pipeline::{CompiledQuery, CompileOptions, Exec, InputInfo}};
//! use nagare::decode::Format;
//! use nagare::record::Labels;
//!
//! let Expr::Log(log) = parse(r#"| json | status >= 500"#).unwrap() else { unreachable!() };
//! let q = CompiledQuery::compile(&log, CompileOptions::default()).unwrap();
//! let input = InputInfo::new(Default::default(), "-".into(), Labels::new(), Format::Json);
//! let mut exec = Exec::new(&q, None);
//! assert!(exec.process(&input, br#"{"status":503}"#, 0));
//! assert!(!exec.process(&input, br#"{"status":200}"#, 0));
//! ```

pub mod batch;
pub mod cli;
pub mod cmd;
pub mod config_error;
pub mod decode;
pub mod diag;
pub mod engine;
pub mod formats;
pub mod framing;
#[doc(hidden)]
pub mod fuzzing;
pub mod logql;
pub mod metrics;
pub mod output;
pub mod record;
pub mod sink;
pub mod source;
pub mod time;
pub mod units;
