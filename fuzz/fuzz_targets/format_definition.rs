//! User-defined formats: definition TOML, NUL byte, lines to decode.
//! The body is `nagare::fuzzing::format_definition`, kept in the library so the normal
//! build and tests check it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| nagare::fuzzing::format_definition(data));
