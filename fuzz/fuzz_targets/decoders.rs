//! The built-in decoders, framing readers and format detection.
//! The body is `nagare::fuzzing::decoders`, kept in the library so the normal
//! build and tests check it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| nagare::fuzzing::decoders(data));
