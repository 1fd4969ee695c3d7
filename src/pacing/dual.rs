//! `dual`: multiplicative bid pacing by dual subgradient descent.
//!
//! Balseiro and Gur, "Learning in repeated auctions with budgets: regret minimization and
//! equilibrium" (Management Science, 2019): a budget-constrained bidder bids `v / (1 + μ)`
//! and updates the budget's dual variable with the subgradient of the Lagrangian, after each
//! auction `k`: `μ ← max(0, μ − ε (ρ − z_k))`, where `ρ = B / T` is the target spend per auction
//! and `z_k` the spend. Summed over the auctions of one pacing interval, with the per-auction
//! target following the traffic forecast, that is
//!
//! ```text
//! μ ← clamp(μ + step · (spend_t − planned_t) / (B / n_intervals), 0, 10⁴)
//! bid multiplier = 1 / (1 + μ),   participation = 1
//! ```
//!
//! where `planned_t` is the schedule's allotment for the interval just elapsed and the
//! normaliser `B / n_intervals` (the average allotment) makes `step` scale-free. At the fixed
//! point expected spend equals the allotment: the multiplier converges to the one whose
//! expected spend rate matches the budget rate — the fluid-optimal multiplier when values are
//! independent of the competition (tested in `tests/it/pacing.rs`). μ starts at 0 (truthful
//! bids), as in the paper. Since μ accumulates the spend error, it is also the integral of the
//! cumulative overspend: the controller never lets early overspend stand.

use super::{Decision, Observation, Pacer};

const MAX_DUAL: f64 = 1e4;

/// Dual-descent bid pacing.
#[derive(Clone, Debug)]
pub struct Dual {
    step: f64,
    dual: f64,
}

impl Dual {
    /// Default step 0.02.
    pub const DEFAULT_STEP: f64 = 0.02;

    pub fn new(step: f64) -> Dual {
        Dual { step, dual: 0.0 }
    }
}

impl Pacer for Dual {
    fn update(&mut self, obs: &Observation) -> Decision {
        if let Some(goal) = obs.goal
            && obs.interval_elapsed
        {
            let allotment = (goal as f64 / obs.n_intervals.max(1.0)).max(1.0);
            let gradient = (obs.deliveries as f64 - obs.planned_last()) / allotment;
            self.dual = (self.dual + self.step * gradient).clamp(0.0, MAX_DUAL);
        }
        Decision {
            participation: 1.0,
            bid_multiplier: 1.0 / (1.0 + self.dual),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::observation_for_tests;

    #[test]
    fn overspending_raises_the_dual_and_lowers_bids() {
        let mut pacer = Dual::new(0.1);
        // Allotment 100 per interval; spent 300 where 100 was planned: gradient 2.
        let over = Observation {
            deliveries: 300,
            target_last: 0.0,
            target_now: 100.0,
            ..observation_for_tests()
        };
        let d = pacer.update(&over);
        assert!((d.bid_multiplier - 1.0 / 1.2).abs() < 1e-12, "{d:?}");
        assert_eq!(d.participation, 1.0);
        // Underspending lowers μ, never below 0.
        let under = Observation {
            deliveries: 0,
            ..over
        };
        for _ in 0..10 {
            pacer.update(&under);
        }
        assert_eq!(pacer.update(&under).bid_multiplier, 1.0);
    }
}
