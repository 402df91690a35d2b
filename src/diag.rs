//! Diagnostics. Everything the library tells the user goes through
//! `tracing`; the binary decides how it looks. Events for the user (an
//! input that could not be read, a truncated line, a bad query) use the
//! target [`USER`] and are printed as `nagare: <message>`, the way every
//! command has always printed them; other events are debugging detail,
//! shown with `-v`.

/// The `tracing` target of messages meant for the user.
pub const USER: &str = "nagare::user";
