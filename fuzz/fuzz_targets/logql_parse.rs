//! LogQL queries: parse, compile, explain, print and re-parse.
//! The body is `nagare::fuzzing::logql_parse`, kept in the library so the normal
//! build and tests check it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| nagare::fuzzing::logql_parse(data));
