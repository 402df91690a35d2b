//! Timestamp parsers and user strftime formats.
//! The body is `nagare::fuzzing::time`, kept in the library so the normal
//! build and tests check it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| nagare::fuzzing::time(data));
