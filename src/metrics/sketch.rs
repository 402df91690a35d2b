//! Latency quantiles from a bounded, mergeable sketch.
//!
//! Question answered: *"what are p50 / p95 / p99 of the request latency, overall and per
//! route?"* — without keeping every value, and so that per-thread sketches can be merged
//! into the same answer a single pass would give.
//!
//! # Algorithm
//! A DDSketch-style sketch (Masson, Rim, Lee, VLDB 2019). Positive values go to
//! logarithmic buckets: with `γ = (1 + α) / (1 − α)` a value `v` goes to bucket
//! `i = ceil(log_γ v)`, which holds `(γ^(i−1), γ^i]`, and the bucket answers with
//! `2·γ^i / (γ + 1)`, which is within relative error `α` of every value in the bucket.
//! Here `α = 0.005`, so an answer is within 0.5 % of the exact value — half the 1 % the
//! metrics contract promises, which leaves room for floating-point rounding at bucket
//! edges. Exact zeros have their own bucket (a logarithm has no bucket for 0).
//!
//! # Quantile definition
//! [`QuantileSketch::quantile`] is **nearest-rank**, as in the metrics report: for `n`
//! values and `p ∈ [0, 1]` it answers for the `k`-th smallest value with
//! `k = max(1, ceil(p·n))` (see [`nearest_rank`]). It is *not* Prometheus's interpolated
//! φ-quantile. Answers are clamped to the exact `[min, max]` seen, so `p = 0` and `p = 1`
//! give the exact minimum and maximum.
//!
//! # Memory
//! Buckets are a dense array covering the contiguous index range seen so far, allocated
//! on first use (an empty sketch allocates nothing). The range is capped at
//! [`DEFAULT_MAX_BUCKETS`] = 2048 buckets (16 KiB of counters), which at α = 0.005 spans a
//! factor of `γ^2048 ≈ 7.8·10^8` between the smallest and largest bucket — for example
//! 1 µs to 13 minutes when values are milliseconds. If data ever spans more than that, the
//! **lowest** buckets are collapsed into the lowest kept bucket: the high quantiles
//! (p95/p99, what latency alerts read) keep their guarantee, and only ranks that fall into
//! the collapsed bucket lose it (they then answer with a value that is too large, never
//! below the true minimum). [`QuantileSketch::collapsed`] tells whether that happened.
//!
//! # Ignored input
//! `NaN`, infinities and negative values are not latencies; [`QuantileSketch::add`] skips
//! them and counts them in [`QuantileSketch::ignored`] so nothing is lost silently.
//! `-0.0` counts as zero.

/// Relative accuracy of every answer (0.5 %).
pub const RELATIVE_ACCURACY: f64 = 0.005;

/// Default cap on the number of logarithmic buckets (see the module docs).
pub const DEFAULT_MAX_BUCKETS: usize = 2048;

/// `ln γ` for `γ = (1 + α) / (1 − α)`, i.e. `2·atanh(α)`, computed by its series so it can
/// be a constant: `2(α + α³/3 + α⁵/5 + α⁷/7)`; the next term is below 1e-19.
const LN_GAMMA: f64 = 2.0
    * (RELATIVE_ACCURACY
        + RELATIVE_ACCURACY * RELATIVE_ACCURACY * RELATIVE_ACCURACY / 3.0
        + RELATIVE_ACCURACY
            * RELATIVE_ACCURACY
            * RELATIVE_ACCURACY
            * RELATIVE_ACCURACY
            * RELATIVE_ACCURACY
            / 5.0);
const INV_LN_GAMMA: f64 = 1.0 / LN_GAMMA;

/// Bins reserved on first use, so the first few values around a typical latency do not
/// reallocate one bin at a time.
const INITIAL_BIN_CAPACITY: usize = 128;

/// The nearest rank `k = max(1, ceil(p·n))` of quantile `p ∈ [0, 1]` among `n` values,
/// or `None` when `n == 0` or `p` is outside `[0, 1]` (or NaN).
///
/// `p·n` is computed in floating point, where for instance `0.95 · 100` may come out as
/// `95.00000000000001`; a product within `1e-9` of an integer is taken as that integer,
/// so the rank is the one the exact arithmetic gives. Exact oracles in tests and the
/// engine's exact path should use this same function.
pub fn nearest_rank(p: f64, n: u64) -> Option<u64> {
    if n == 0 || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let x = p * n as f64;
    let rounded = x.round();
    let k = if (x - rounded).abs() <= 1e-9 * rounded.max(1.0) {
        rounded
    } else {
        x.ceil()
    };
    Some((k as u64).clamp(1, n))
}

/// A mergeable DDSketch-style quantile sketch for non-negative values (latencies in
/// milliseconds). See the module docs for accuracy and memory guarantees.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileSketch {
    /// `bins[j]` counts values in bucket index `offset + j`.
    bins: Vec<u64>,
    /// Bucket index of `bins[0]`.
    offset: i32,
    /// Count of exact zeros.
    zero_count: u64,
    /// Count of all accepted values (zeros included).
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// Values rejected by `add` (NaN, infinite, negative).
    ignored: u64,
    max_bins: usize,
    /// Whether low buckets were ever folded together because of `max_bins`.
    collapsed: bool,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl QuantileSketch {
    /// An empty sketch with relative accuracy [`RELATIVE_ACCURACY`] and at most
    /// [`DEFAULT_MAX_BUCKETS`] buckets. Allocates nothing until the first value.
    pub fn new() -> Self {
        Self::with_max_buckets(DEFAULT_MAX_BUCKETS)
    }

    /// An empty sketch with a different bucket cap (at least 1). Sketches with different
    /// caps still merge; the receiver's cap applies.
    pub fn with_max_buckets(max_buckets: usize) -> Self {
        QuantileSketch {
            bins: Vec::new(),
            offset: 0,
            zero_count: 0,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ignored: 0,
            max_bins: max_buckets.max(1),
            collapsed: false,
        }
    }

    /// Records one value. NaN, infinite and negative values are skipped and counted in
    /// [`ignored`](Self::ignored). Does not allocate except when the bucket range grows.
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() || v < 0.0 {
            self.ignored += 1;
            return;
        }
        // `-0.0 < 0.0` is false, so it lands here; store it as +0.0 for min/max.
        let v = if v == 0.0 { 0.0 } else { v };
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v == 0.0 {
            self.zero_count += 1;
        } else {
            self.add_to_bucket(bucket_index(v), 1);
        }
    }

    /// Adds every value of `other` into `self`. The result is the sketch of the
    /// concatenated inputs (bucket for bucket, as long as neither side collapsed).
    pub fn merge(&mut self, other: &QuantileSketch) {
        if other.count == 0 {
            self.ignored += other.ignored;
            return;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.zero_count += other.zero_count;
        self.ignored += other.ignored;
        self.collapsed |= other.collapsed;
        if !other.bins.is_empty() {
            // Grow once to cover both ends of `other`, then add bin by bin.
            let lo = other.offset;
            let hi = other.offset + (other.bins.len() as i32 - 1);
            self.add_to_bucket(hi, 0);
            self.add_to_bucket(lo, 0);
            for (j, &c) in other.bins.iter().enumerate() {
                if c != 0 {
                    self.add_to_bucket(other.offset + j as i32, c);
                }
            }
        }
    }

    /// Number of values recorded (zeros included, ignored values excluded).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether no value was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sum of the values recorded (exact up to f64 rounding), 0 when empty.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Exact smallest value recorded.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Exact largest value recorded.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Number of values `add` skipped (NaN, infinite, negative).
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// Whether the bucket cap forced the lowest buckets to be folded together (then
    /// ranks falling in the lowest kept bucket may exceed the 1 % bound).
    pub fn collapsed(&self) -> bool {
        self.collapsed
    }

    /// Number of logarithmic buckets currently allocated (≤ the cap).
    pub fn bucket_count(&self) -> usize {
        self.bins.len()
    }

    /// Nearest-rank quantile: a value within 0.5 % relative error (1 % promised) of the
    /// `k`-th smallest recorded value, `k = max(1, ceil(p·n))`. `None` when empty or when
    /// `p` is not in `[0, 1]`.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        let k = nearest_rank(p, self.count)?;
        // The extremes are known exactly; no need to go through a bucket.
        if k == self.count {
            return Some(self.max);
        }
        if k == 1 {
            return Some(self.min);
        }
        if k <= self.zero_count {
            return Some(0.0);
        }
        let mut seen = self.zero_count;
        for (j, &c) in self.bins.iter().enumerate() {
            seen += c;
            if seen >= k {
                let v = bucket_value(self.offset + j as i32);
                // The true value lies in [min, max]; clamping can only reduce the error.
                return Some(v.clamp(self.min, self.max));
            }
        }
        // Unreachable while the counts are consistent; answer the max rather than panic.
        Some(self.max)
    }

    /// Adds `n` to bucket `index`, growing the dense range and, past the cap, folding
    /// the lowest buckets into the lowest kept one.
    fn add_to_bucket(&mut self, index: i32, n: u64) {
        if self.bins.is_empty() {
            self.bins.reserve(INITIAL_BIN_CAPACITY.min(self.max_bins));
            self.bins.push(n);
            self.offset = index;
            return;
        }
        let len = self.bins.len() as i64;
        let lo = self.offset as i64;
        let hi = lo + len - 1;
        let i = index as i64;
        let cap = self.max_bins as i64;
        if i >= lo && i <= hi {
            self.bins[(i - lo) as usize] += n;
        } else if i > hi {
            let new_lo = lo.max(i - cap + 1);
            if new_lo > lo {
                // Fold buckets below `new_lo` into `new_lo` (keeps the top ones exact).
                self.collapsed = true;
                let shift = (new_lo - lo) as usize;
                if shift >= self.bins.len() {
                    let total: u64 = self.bins.iter().sum();
                    self.bins.clear();
                    self.bins.push(total);
                } else {
                    let folded: u64 = self.bins[..shift].iter().sum();
                    self.bins.drain(..shift);
                    self.bins[0] += folded;
                }
                self.offset = new_lo as i32;
            }
            let new_len = (i - new_lo + 1) as usize;
            self.bins.resize(new_len, 0);
            let last = self.bins.len() - 1;
            self.bins[last] += n;
        } else {
            // i < lo: extend downwards, but never past `hi - cap + 1`.
            let new_lo = i.max(hi - cap + 1);
            if i < new_lo {
                self.collapsed = true;
            }
            let grow = (lo - new_lo) as usize;
            if grow > 0 {
                self.bins.splice(0..0, std::iter::repeat_n(0, grow));
                self.offset = new_lo as i32;
            }
            self.bins[0] += n;
        }
    }
}

/// Bucket index of a positive finite value: `ceil(log_γ v)`.
fn bucket_index(v: f64) -> i32 {
    // |ln v| ≤ 745 for positive finite f64, so the index fits an i32 easily.
    (v.ln() * INV_LN_GAMMA).ceil() as i32
}

/// Representative value of bucket `i`: `2γ^i / (γ + 1)`, the point whose relative distance
/// to both ends of `(γ^(i−1), γ^i]` is `α`.
fn bucket_value(i: i32) -> f64 {
    let gamma = LN_GAMMA.exp();
    2.0 * (i as f64 * LN_GAMMA).exp() / (gamma + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::metrics::test_rng::SplitMix64;

    fn lognormal(n: usize, seed: u64, mu: f64, sigma: f64) -> Vec<f64> {
        let mut rng = SplitMix64(seed);
        (0..n).map(|_| (mu + sigma * rng.normal()).exp()).collect()
    }

    fn exact(sorted: &[f64], p: f64) -> f64 {
        let k = nearest_rank(p, sorted.len() as u64).unwrap();
        sorted[(k - 1) as usize]
    }

    fn rel_err(got: f64, want: f64) -> f64 {
        if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        }
    }

    fn check_all_ranks_close(sketch: &QuantileSketch, values: &[f64], tol: f64) {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        for p in [
            0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0,
        ] {
            let got = sketch.quantile(p).unwrap();
            let want = exact(&sorted, p);
            assert!(
                rel_err(got, want) <= tol,
                "p={p}: got {got}, want {want} (rel err {})",
                rel_err(got, want)
            );
        }
    }

    #[test]
    fn gamma_constant_matches_direct_formula() {
        let direct = ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln();
        assert!((LN_GAMMA - direct).abs() < 1e-15, "{LN_GAMMA} vs {direct}");
    }

    #[test]
    fn nearest_rank_definition() {
        assert_eq!(nearest_rank(0.5, 0), None);
        assert_eq!(nearest_rank(-0.1, 10), None);
        assert_eq!(nearest_rank(1.1, 10), None);
        assert_eq!(nearest_rank(f64::NAN, 10), None);
        assert_eq!(nearest_rank(0.0, 10), Some(1));
        assert_eq!(nearest_rank(1.0, 10), Some(10));
        assert_eq!(nearest_rank(0.5, 10), Some(5));
        assert_eq!(nearest_rank(0.5, 11), Some(6));
        assert_eq!(nearest_rank(0.95, 100), Some(95));
        assert_eq!(nearest_rank(0.99, 100), Some(99));
        assert_eq!(nearest_rank(0.999, 100_000), Some(99_900));
        assert_eq!(nearest_rank(0.95, 1), Some(1));
        assert_eq!(nearest_rank(0.95, 21), Some(20)); // ceil(19.95)
                                                      // Every p = m/100 over n = 1..=1000 gives the integer-arithmetic rank.
        for n in 1..=1000u64 {
            for m in 0..=100u64 {
                let want = ((m * n).div_ceil(100)).max(1);
                assert_eq!(nearest_rank(m as f64 / 100.0, n), Some(want), "m={m} n={n}");
            }
        }
    }

    #[test]
    fn lognormal_1e5_within_one_percent() {
        let values = lognormal(100_000, 42, 4.0, 1.2); // median ≈ 55 ms, long tail
        let mut sketch = QuantileSketch::new();
        for &v in &values {
            sketch.add(v);
        }
        assert_eq!(sketch.count(), 100_000);
        assert!(!sketch.collapsed());
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for p in [0.5, 0.95, 0.99, 0.999] {
            let got = sketch.quantile(p).unwrap();
            let want = exact(&sorted, p);
            let err = rel_err(got, want);
            assert!(err <= 0.01, "p={p}: got {got}, want {want}, err {err}");
            // The design accuracy is α = 0.5 %; allow a hair for float rounding.
            assert!(err <= RELATIVE_ACCURACY * 1.0001, "p={p}: err {err}");
        }
        check_all_ranks_close(&sketch, &values, 0.01);
        assert_eq!(sketch.min(), Some(sorted[0]));
        assert_eq!(sketch.max(), Some(sorted[sorted.len() - 1]));
        let exact_sum: f64 = values.iter().sum();
        assert!((sketch.sum() - exact_sum).abs() / exact_sum < 1e-9);
    }

    #[test]
    fn every_rank_within_accuracy_on_wide_data() {
        // Several seeds, wide spread (sigma 2 → ~7 decades, under the bucket cap); check
        // every 97th rank.
        for seed in 1..=3u64 {
            let values = lognormal(20_000, seed, 2.0, 2.0);
            let mut sketch = QuantileSketch::new();
            values.iter().for_each(|&v| sketch.add(v));
            assert!(!sketch.collapsed());
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len() as u64;
            for k in (1..=n).step_by(97) {
                // p = k/n has nearest rank k.
                let p = k as f64 / n as f64;
                let want = exact(&sorted, p);
                let got = sketch.quantile(p).unwrap();
                assert!(rel_err(got, want) <= 0.005 * 1.0001, "seed {seed} k {k}");
            }
        }
    }

    #[test]
    fn merge_of_halves_equals_whole() {
        let values = lognormal(50_000, 7, 3.0, 1.5);
        let mut whole = QuantileSketch::new();
        values.iter().for_each(|&v| whole.add(v));
        let (a, b) = values.split_at(values.len() / 2);
        let mut left = QuantileSketch::new();
        let mut right = QuantileSketch::new();
        a.iter().for_each(|&v| left.add(v));
        b.iter().for_each(|&v| right.add(v));
        left.merge(&right);
        assert_eq!(left.bins, whole.bins);
        assert_eq!(left.offset, whole.offset);
        assert_eq!(left.count(), whole.count());
        assert_eq!(left.min(), whole.min());
        assert_eq!(left.max(), whole.max());
        assert!((left.sum() - whole.sum()).abs() / whole.sum() < 1e-12);
        for p in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(left.quantile(p), whole.quantile(p), "p={p}");
        }
        // Merge the other way round too (different bin ranges on each side).
        let mut right2 = QuantileSketch::new();
        b.iter().for_each(|&v| right2.add(v));
        let mut left2 = QuantileSketch::new();
        a.iter().for_each(|&v| left2.add(v));
        right2.merge(&left2);
        assert_eq!(right2.bins, whole.bins);
        assert_eq!(right2.quantile(0.95), whole.quantile(0.95));
    }

    #[test]
    fn merge_with_empty_and_into_empty() {
        let mut s = QuantileSketch::new();
        s.add(3.0);
        let empty = QuantileSketch::new();
        s.merge(&empty);
        assert_eq!(s.count(), 1);
        let mut e = QuantileSketch::new();
        e.merge(&s);
        assert_eq!(e.quantile(0.5), Some(3.0));
        assert_eq!(e.min(), Some(3.0));
        // Disjoint ranges far apart.
        let mut lo = QuantileSketch::new();
        lo.add(0.01);
        let mut hi = QuantileSketch::new();
        hi.add(10_000.0);
        lo.merge(&hi);
        assert_eq!(lo.quantile(0.5), Some(0.01));
        assert_eq!(lo.quantile(1.0), Some(10_000.0));
    }

    #[test]
    fn empty_sketch() {
        let s = QuantileSketch::new();
        assert_eq!(s.count(), 0);
        assert!(s.is_empty());
        assert_eq!(s.quantile(0.5), None);
        assert_eq!(s.min(), None);
        assert_eq!(s.max(), None);
        assert_eq!(s.sum(), 0.0);
        assert_eq!(s.bucket_count(), 0);
    }

    #[test]
    fn zeros() {
        let mut s = QuantileSketch::new();
        for _ in 0..10 {
            s.add(0.0);
        }
        s.add(-0.0);
        assert_eq!(s.count(), 11);
        assert_eq!(s.bucket_count(), 0);
        assert_eq!(s.quantile(0.5), Some(0.0));
        assert_eq!(s.quantile(1.0), Some(0.0));
        assert!(s.quantile(1.0).unwrap().is_sign_positive());
        // Mix: 90 zeros and 10 values of 100.
        let mut m = QuantileSketch::new();
        (0..90).for_each(|_| m.add(0.0));
        (0..10).for_each(|_| m.add(100.0));
        assert_eq!(m.quantile(0.5), Some(0.0));
        assert_eq!(m.quantile(0.90), Some(0.0));
        assert!(rel_err(m.quantile(0.91).unwrap(), 100.0) <= 0.005 * 1.0001);
        assert_eq!(m.quantile(1.0), Some(100.0));
        assert_eq!(m.min(), Some(0.0));
    }

    #[test]
    fn single_value() {
        for v in [0.0, 1e-9, 0.5, 1.0, 123.456, 9.9e12] {
            let mut s = QuantileSketch::new();
            s.add(v);
            for p in [0.0, 0.5, 0.99, 1.0] {
                assert_eq!(s.quantile(p), Some(v), "v={v} p={p}");
            }
            assert_eq!(s.sum(), v);
        }
    }

    #[test]
    fn two_values_interior_rank_uses_bucket() {
        let mut s = QuantileSketch::new();
        for v in [10.0, 20.0, 30.0] {
            s.add(v);
        }
        let got = s.quantile(0.5).unwrap();
        assert!(rel_err(got, 20.0) <= 0.005 * 1.0001, "{got}");
    }

    #[test]
    fn huge_and_tiny_values() {
        for &(mu, label) in &[(-600.0f64, "tiny"), (600.0, "huge")] {
            // Values around e^±600 (≈1e±260), spread over a few decades.
            let values: Vec<f64> = lognormal(5_000, 3, mu, 1.0);
            let mut s = QuantileSketch::new();
            values.iter().for_each(|&v| s.add(v));
            assert!(!s.collapsed(), "{label}");
            check_all_ranks_close(&s, &values, 0.01);
        }
        // The extreme finite values do not panic and come back exactly as min/max.
        let mut s = QuantileSketch::new();
        s.add(f64::MIN_POSITIVE / 1e10); // subnormal
        s.add(f64::MAX);
        assert_eq!(s.quantile(0.0), Some(f64::MIN_POSITIVE / 1e10));
        assert_eq!(s.quantile(1.0), Some(f64::MAX));
        assert!(s.quantile(0.5).unwrap().is_finite());
        assert!(s.bucket_count() <= DEFAULT_MAX_BUCKETS);
    }

    #[test]
    fn invalid_values_are_ignored_and_counted() {
        let mut s = QuantileSketch::new();
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, -1e-300] {
            s.add(v);
        }
        assert_eq!(s.ignored(), 5);
        assert_eq!(s.count(), 0);
        assert_eq!(s.quantile(0.5), None);
        s.add(5.0);
        assert_eq!(s.quantile(0.5), Some(5.0));
        let mut other = QuantileSketch::new();
        other.add(f64::NAN);
        s.merge(&other);
        assert_eq!(s.ignored(), 6);
    }

    #[test]
    fn out_of_range_p() {
        let mut s = QuantileSketch::new();
        s.add(1.0);
        assert_eq!(s.quantile(-0.01), None);
        assert_eq!(s.quantile(1.01), None);
        assert_eq!(s.quantile(f64::NAN), None);
    }

    #[test]
    fn bucket_cap_collapses_lowest_and_keeps_high_quantiles() {
        // 1e-6 .. 1e6 spans ln(1e12)/ln γ ≈ 2763 buckets, more than the 2048 cap.
        let mut values = Vec::new();
        let mut rng = SplitMix64(9);
        for _ in 0..20_000 {
            let exp = -6.0 + 12.0 * rng.next_f64();
            values.push(10f64.powf(exp));
        }
        let mut s = QuantileSketch::new();
        values.iter().for_each(|&v| s.add(v));
        assert!(s.collapsed());
        assert_eq!(s.bucket_count(), DEFAULT_MAX_BUCKETS);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        // Ranks above the collapsed region (≈ the lowest quarter of decades) stay exact.
        for p in [0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let got = s.quantile(p).unwrap();
            let want = exact(&sorted, p);
            assert!(rel_err(got, want) <= 0.01, "p={p}: {got} vs {want}");
        }
        // Collapsed ranks answer too high, never below the minimum, never panic.
        let low = s.quantile(0.01).unwrap();
        assert!(low >= exact(&sorted, 0.01));
        assert_eq!(s.quantile(0.0), Some(sorted[0]));

        // Same check with a tiny cap, growing downwards as well as upwards.
        let mut small = QuantileSketch::with_max_buckets(8);
        for v in [1000.0, 1.0, 2000.0, 0.001, 5000.0, 1e-9] {
            small.add(v);
            assert!(small.bucket_count() <= 8);
        }
        assert!(small.collapsed());
        assert_eq!(small.count(), 6);
        assert_eq!(small.quantile(1.0), Some(5000.0));
        // 2000 was folded into the lowest of the 8 buckets kept below 5000's: too high,
        // never below the true value nor above the max.
        let p_top = small.quantile(5.0 / 6.0).unwrap();
        assert!((2000.0..=5000.0).contains(&p_top), "{p_top}");
        // Values within the cap's span keep their accuracy.
        let mut near = QuantileSketch::with_max_buckets(8);
        for v in [100.0, 101.0, 102.0, 103.0] {
            near.add(v);
        }
        assert!(!near.collapsed());
        assert!(rel_err(near.quantile(0.5).unwrap(), 101.0) <= 0.005 * 1.0001);
        // Merging into a small-cap sketch respects its cap.
        let mut wide = QuantileSketch::new();
        values.iter().take(1000).for_each(|&v| wide.add(v));
        let mut capped = QuantileSketch::with_max_buckets(16);
        capped.merge(&wide);
        assert!(capped.bucket_count() <= 16);
        assert_eq!(capped.count(), 1000);
        assert!(capped.quantile(0.5).is_some());
    }

    #[test]
    fn merge_many_small_sketches() {
        let values = lognormal(30_000, 11, 1.0, 0.8);
        let mut merged = QuantileSketch::new();
        for chunk in values.chunks(1000) {
            let mut s = QuantileSketch::new();
            chunk.iter().for_each(|&v| s.add(v));
            merged.merge(&s);
        }
        assert_eq!(merged.count(), 30_000);
        check_all_ranks_close(&merged, &values, 0.01);
    }
}
