//! Sinks: where derived data goes over the network — a Pushgateway, and
//! the `/metrics` endpoint Prometheus scrapes. (The helpers that run the
//! real Prometheus programs for tests live in `tests/common/prom.rs`.)

pub mod pushgateway;
pub mod server;
