//! Sinks: where derived data goes over the network — a Pushgateway, and
//! the `/metrics` endpoint Prometheus scrapes.

pub mod pushgateway;
pub mod server;
pub mod tests_support;
