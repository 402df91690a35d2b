//! Derived metrics: the SRE answers (requests, 5xx rate, latency
//! quantiles, slow requests, DB lock bursts, top queries, events) computed
//! from the log stream, and their outlets (report, Prometheus exposition).
//!
//! - [`roles`]: which field is the status, latency, route, …
//! - [`aggregate`]: what each record adds, and how partial results merge;
//! - [`sketch`], [`topk`], [`route`], [`normalize`], [`bursts`]: the bounded
//!   algorithms behind them;
//! - [`report`]: the JSON document and the table; [`catalog`]: what
//!   Prometheus metrics exist, by what names; [`prom`] and [`exposition`]:
//!   Prometheus families and their text format.

pub mod aggregate;
pub mod bursts;
pub mod catalog;
pub mod derive;
pub mod exposition;
pub mod normalize;
pub mod prom;
pub mod report;
pub mod roles;
pub mod route;
pub mod rules;
pub mod sketch;
pub mod topk;

/// A tiny deterministic PRNG (SplitMix64) for tests, so they need no `rand`
/// crate and give the same numbers everywhere.
#[cfg(test)]
pub(crate) mod test_rng {
    pub struct SplitMix64(pub u64);

    impl SplitMix64 {
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in (0, 1].
        pub fn next_f64(&mut self) -> f64 {
            ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
        }

        /// Standard normal by Box–Muller.
        pub fn normal(&mut self) -> f64 {
            let u1 = self.next_f64();
            let u2 = self.next_f64();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }
}
