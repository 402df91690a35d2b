//! Derived metrics: the SRE answers (requests, 5xx rate, latency
//! quantiles, slow requests, DB lock bursts, top queries, events) computed
//! from the log stream, and their outlets (report, Prometheus exposition).
//!
//! - [`roles`]: which field is the status, latency, route, …
//! - [`aggregate`]: what each record adds, and how partial results merge;
//! - [`sketch`], [`topk`], [`route`], [`normalize`], [`bursts`]: the bounded
//!   algorithms behind them;
//! - [`report`]: the JSON document and the table; [`prom`] and
//!   [`exposition`]: Prometheus families and their text format.

pub mod aggregate;
pub mod bursts;
pub mod exposition;
pub mod normalize;
pub mod prom;
pub mod report;
pub mod roles;
pub mod route;
pub mod rules;
pub mod sketch;
pub mod topk;
