//! Commands: each turns resolved options into one run and an exit status.
//! What a query or a metric means lives in the library (`logql`,
//! `metrics`); a command only wires options, sources, the engine and
//! stdout together.

pub mod explain;
pub mod filter;
pub mod formats;
pub mod metrics;
pub mod query;

use std::fmt::Display;

use std::ops::ControlFlow;

use crate::batch::{Batch, BatchSource};
use crate::engine::{Engine, Output, Summary};
use crate::logql::QueryError;
use crate::source::files::InputFilter;
use crate::source::{FileSource, InputSpec, ReadOptions};

/// Exit status: the command did its job (malformed lines never change it).
pub const EXIT_OK: i32 = 0;
/// An input could not be read (named on stderr; the others were processed).
pub const EXIT_INPUT: i32 = 1;
/// A bad query, flag or config.
pub const EXIT_USAGE: i32 = 2;

/// How a command reads its inputs.
#[derive(Clone)]
pub struct InputOptions {
    pub read: ReadOptions,
    pub threads: usize,
}

impl InputOptions {
    /// The engine for these inputs: streaming when stdin or followed files
    /// are read, so output is flushed as it comes.
    pub fn engine(&self, inputs: &[InputSpec]) -> Engine {
        Engine {
            threads: self.threads,
            streaming: self.read.follow.is_some() || inputs.contains(&InputSpec::Stdin),
        }
    }

    /// Reads `inputs` (skipping those `filter` rules out) with the engine:
    /// `make_worker`'s workers over every batch, `consume` in read order.
    /// The command line keeps no checkpoints.
    pub fn run<'a, W, O>(
        &self,
        inputs: &[InputSpec],
        filter: InputFilter<'a>,
        make_worker: &(dyn Fn() -> W + Sync),
        consume: impl FnMut(Output<O>) -> ControlFlow<()>,
    ) -> Summary
    where
        W: FnMut(&Batch) -> O,
        O: Send,
    {
        self.engine(inputs).run(
            self.sources(inputs, filter),
            make_worker,
            consume,
            &mut crate::engine::no_progress,
        )
    }

    /// The sources that read `inputs`, skipping those `filter` rules out.
    pub fn sources<'a>(
        &self,
        inputs: &[InputSpec],
        filter: InputFilter<'a>,
    ) -> Vec<Box<dyn BatchSource + 'a>> {
        FileSource::split(inputs.to_vec(), &self.read, filter)
    }
}

/// Tells the user something on stderr (`nagare: …`).
pub fn say(msg: impl Display) {
    tracing::error!(target: crate::diag::USER, "{msg}");
}

/// Prints a query error the same way for every command.
pub fn report_query_error(e: &QueryError) {
    say(format!("{e}\n{}", e.snippet()));
}

/// 0, or 1 when an input could not be read.
pub fn exit_status(summary: &Summary, unreadable_inputs: usize) -> i32 {
    if summary.errors.is_empty() && unreadable_inputs == 0 {
        EXIT_OK
    } else {
        EXIT_INPUT
    }
}
