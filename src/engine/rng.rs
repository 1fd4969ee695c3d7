//! Seeded random streams, one per component.
//!
//! Every component that draws random numbers (member attributes, the content slate, session
//! arrivals, pacing throttles, later each bidder and the response model) owns a `Stream` derived
//! from the run's master seed and the component's stable name. Streams are independent, so
//! changing one component's strategy never shifts another component's draws: two policies run
//! on the same seed see the same traffic (common random numbers).
//!
//! The generator is xoshiro256++ (value-stable: named after its algorithm, unlike `StdRng`),
//! seeded through SplitMix64 from `master_seed ^ FNV-1a(name)`.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

/// One component's random stream.
#[derive(Clone, Debug)]
pub struct Stream {
    rng: Xoshiro256PlusPlus,
}

impl Stream {
    /// The stream named `name` (e.g. `"traffic.arrivals"`) of the run with `master_seed`.
    pub fn new(master_seed: u64, name: &str) -> Stream {
        let mut state = master_seed ^ fnv1a64(name.as_bytes());
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        Stream {
            rng: Xoshiro256PlusPlus::from_seed(seed),
        }
    }

    /// The next raw 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform draw from [0, 1) with 53 bits of precision.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `0..n` (`n > 0`), by the multiply-shift method; its bias is below
    /// `n / 2^64`, far under anything a simulation can observe.
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u32
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// `chance(p)` for a `threshold` of `chance_threshold(p)`: the same draw and the same
    /// answer, compared as integers (for a probability used many times).
    #[inline]
    pub fn chance_below(&mut self, threshold: u64) -> bool {
        (self.next_u64() >> 11) < threshold
    }

    /// A draw from the unit-rate exponential distribution.
    #[inline]
    pub fn exp1(&mut self) -> f64 {
        -(1.0 - self.uniform()).ln()
    }

    /// A draw from the standard normal distribution.
    #[inline]
    pub fn standard_normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.rng)
    }
}

/// The integer form of probability `p` in [0, 1] for `Stream::chance_below`: a draw k·2⁻⁵³
/// (k an integer below 2⁵³) is below p exactly when k < ⌈p·2⁵³⌉, and p·2⁵³ is exact.
pub fn chance_threshold(p: f64) -> u64 {
    debug_assert!((0.0..=1.0).contains(&p));
    (p * (1u64 << 53) as f64).ceil() as u64
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64-bit: stream names to seeds, and (in `traffic::logged`) member ids to members.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_value_stable() {
        // Pinned values: if these change, every golden output changes with them.
        let mut stream = Stream::new(42, "traffic.arrivals");
        let first: Vec<u64> = (0..3).map(|_| stream.next_u64()).collect();
        let mut again = Stream::new(42, "traffic.arrivals");
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        let mut other = Stream::new(42, "adserver.pacing");
        assert_ne!(first[0], other.next_u64());
        let mut other_seed = Stream::new(43, "traffic.arrivals");
        assert_ne!(first[0], other_seed.next_u64());
    }

    #[test]
    fn integer_chance_matches_the_float_one() {
        let mut probabilities = vec![0.0, 1.0, 0.5, 0.1, 0.9, 1e-300, 1.0 - f64::EPSILON];
        let mut pick = Stream::new(3, "p");
        probabilities.extend((0..200).map(|_| pick.uniform()));
        for p in probabilities {
            let (mut a, mut b) = (Stream::new(9, "c"), Stream::new(9, "c"));
            let threshold = chance_threshold(p);
            for _ in 0..2_000 {
                assert_eq!(a.chance(p), b.chance_below(threshold), "p = {p}");
            }
        }
        // At the edge: the largest draw below p and the smallest at or above it.
        let p = 0.3;
        let threshold = chance_threshold(p);
        assert!(((threshold - 1) as f64 / (1u64 << 53) as f64) < p);
        assert!((threshold as f64 / (1u64 << 53) as f64) >= p);
    }

    #[test]
    fn draws_have_the_right_moments() {
        let mut stream = Stream::new(7, "test");
        let n = 200_000;
        let mean_u = (0..n).map(|_| stream.uniform()).sum::<f64>() / n as f64;
        let mean_e = (0..n).map(|_| stream.exp1()).sum::<f64>() / n as f64;
        let mean_b = (0..n).map(|_| f64::from(stream.below(10))).sum::<f64>() / n as f64;
        // Standard errors: 0.29/sqrt(n) = 0.00065, 1/sqrt(n) = 0.0022, 2.87/sqrt(n) = 0.0064;
        // the bounds are about 4 standard errors.
        assert!((mean_u - 0.5).abs() < 0.0026, "{mean_u}");
        assert!((mean_e - 1.0).abs() < 0.009, "{mean_e}");
        assert!((mean_b - 4.5).abs() < 0.026, "{mean_b}");
    }
}
