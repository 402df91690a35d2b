//! `line_format`/`label_format` templates: parse and render.
//! The body is `nagare::fuzzing::template`, kept in the library so the normal
//! build and tests check it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| nagare::fuzzing::template(data));
