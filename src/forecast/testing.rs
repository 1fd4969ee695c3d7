//! Test helpers: a tiny deterministic generator and synthetic inventory series.

use std::f64::consts::PI;

/// SplitMix64 (Steele, Lea & Flood 2014): a 64-bit generator good enough for test noise.
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1): 53 random bits, offset by half a step so 0 never occurs.
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal by Box–Muller (the cosine half; the sine half is discarded).
    pub(crate) fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }

    /// Poisson draw by Knuth's multiplication method (fine for the small means used here).
    pub(crate) fn poisson(&mut self, mean: f64) -> f64 {
        let limit = (-mean).exp();
        let mut k = 0.0;
        let mut p = self.uniform();
        while p > limit {
            k += 1.0;
            p *= self.uniform();
        }
        k
    }
}

/// A weekly hourly profile around 100 requests: a daily shape with an evening peak, 20 %
/// more traffic on weekends (days 5 and 6).
pub(crate) fn weekly_profile(t: usize) -> f64 {
    let hour = (t % 24) as f64;
    let day = (t / 24) % 7;
    let daily = 100.0
        + 40.0 * (2.0 * PI * (hour - 14.0) / 24.0).cos()
        + 10.0 * (4.0 * PI * hour / 24.0).sin();
    daily * if day >= 5 { 1.2 } else { 1.0 }
}

/// A launch regressor over `n` hours: each launch at hour `L` adds `e^{−(t−L)/24}` for
/// `L <= t < L + 72` (a three-day decaying spike of popularity 1 at launch).
pub(crate) fn launch_regressor(n: usize, launches: &[usize]) -> Vec<f64> {
    let mut x = vec![0.0; n];
    for &start in launches {
        for (age, v) in x.iter_mut().skip(start).take(72).enumerate() {
            *v += (-(age as f64) / 24.0).exp();
        }
    }
    x
}

/// A sparse hourly segment: Poisson counts with mean `scale · weekly_profile(t) / 100`.
pub(crate) fn sparse_series(rng: &mut SplitMix64, n: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|t| rng.poisson(scale * weekly_profile(t) / 100.0))
        .collect()
}
