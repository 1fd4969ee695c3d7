//! Test helpers: a tiny seeded generator and random small planning instances.

use super::{Demand, SupplyType};

/// SplitMix64 (Steele, Lea, Flood 2014): enough randomness for test instances.
pub(super) struct SplitMix64(pub u64);

impl SplitMix64 {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0); the modulo bias is irrelevant for tests.
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A random instance of 1 to 6 demands and 1 to 7 supply types over 4 hours. Half the
/// instances have integer requests and goals (so max-flow arithmetic is exact), half have
/// arbitrary reals; some types have no requests, no slots or no eligible demand.
pub(super) fn random_instance(rng: &mut SplitMix64) -> (Vec<SupplyType>, Vec<Demand>) {
    let integer = rng.below(2) == 0;
    let amount = |rng: &mut SplitMix64, max: usize| {
        if integer {
            rng.below(max + 1) as f64
        } else {
            max as f64 * rng.unit()
        }
    };
    let n_demands = 1 + rng.below(6);
    let n_types = 1 + rng.below(7);
    let supply = (0..n_types)
        .map(|_| {
            let requests = if rng.below(10) == 0 {
                0.0
            } else {
                amount(rng, 40)
            };
            let slots = [0, 1, 1, 1, 2, 2, 3][rng.below(7)];
            let eligible = (0..n_demands).filter(|_| rng.below(2) == 0).collect();
            SupplyType {
                hour: rng.below(4) as u32,
                requests,
                slots,
                eligible,
            }
        })
        .collect();
    let demands = (0..n_demands)
        .map(|_| Demand {
            goal: amount(rng, 80),
            priority: 1 + rng.below(3) as u8,
        })
        .collect();
    (supply, demands)
}
