//! LogQL `pattern` expressions: PATTERN, newline, LINE.
//! The body is `nagare::fuzzing::pattern`, kept in the library so the normal
//! build and tests check it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| nagare::fuzzing::pattern(data));
