//! `even`: deliver the goal over the flight following the expected traffic curve.
//!
//! The target is `goal × (share of the flight's expected traffic seen so far)`, so an item
//! delivers more in prime time and less at night, as viewers do. At each tick the pacer
//! sets the participation probability that would bring delivery back onto the target by the
//! next tick:
//!
//! ```text
//! need  = target(now + interval) − delivered
//! ρ     ← EWMA of eligible / expected requests        (the item's share of its traffic)
//! s     ← EWMA of deliveries / attempts               (how often taking part wins a slot)
//! p     = clamp(need / (ρ · expected_next · s), 0, 1)
//! ```
//!
//! Errors are corrected at the next tick (a proportional catch-up controller with gain 1 on
//! the remaining gap), so cumulative delivery stays within about one interval's delivery of
//! the curve whenever the goal is feasible. Both ratios start at 1, which makes the first
//! interval deliberately optimistic; the EWMA weight 0.3 forgets a traffic surprise within a
//! few ticks.
//!
//! This is the adaptive probabilistic throttling of Agarwal, Ghosh, Wei and Yang, "Budget
//! pacing for targeted online advertisements at LinkedIn" (KDD 2014): the allocation for each
//! interval comes from a traffic forecast (here the scenario's expected-traffic curve in the
//! item's scope) and the pass-through rate is adapted so that delivery meets it. Their rate
//! update is multiplicative; this one solves for the rate directly from the estimated
//! eligible share and win rate, which reaches the allocation within a tick or two.

use super::{Decision, Observation, Pacer};

const SMOOTHING: f64 = 0.3;

/// Traffic-following even pacer.
#[derive(Clone, Debug)]
pub struct Even {
    eligible_share: f64,
    success: f64,
}

impl Default for Even {
    fn default() -> Self {
        Even {
            eligible_share: 1.0,
            success: 1.0,
        }
    }
}

impl Pacer for Even {
    fn update(&mut self, obs: &Observation) -> Decision {
        if obs.goal.is_none() {
            return Decision::participate(1.0);
        }
        if obs.expected_last > 0.0 {
            let share = obs.eligible as f64 / obs.expected_last;
            self.eligible_share += SMOOTHING * (share - self.eligible_share);
        }
        if obs.attempts > 0 {
            let success = obs.deliveries as f64 / obs.attempts as f64;
            self.success += SMOOTHING * (success - self.success);
        }
        let need = obs.target_next - obs.delivered as f64;
        if need <= 0.0 {
            return Decision::participate(0.0);
        }
        let capacity = self.eligible_share * obs.expected_next * self.success;
        let participation = if capacity > 0.0 {
            (need / capacity).min(1.0)
        } else {
            1.0
        };
        Decision::participate(participation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(delivered: u64, target_next: f64, eligible: u64) -> Observation {
        Observation {
            delivered,
            target_now: target_next,
            target_next,
            eligible,
            attempts: eligible,
            deliveries: eligible,
            ..crate::pacing::observation_for_tests()
        }
    }

    #[test]
    fn throttle_closes_the_gap_to_the_target() {
        let mut pacer = Even::default();
        // Eligible for every expected request, always winning: to deliver 100 of 1,000
        // eligible requests it should take part in about 10% of them.
        let mut p = 1.0;
        for _ in 0..20 {
            p = pacer.update(&observation(0, 100.0, 1_000)).participation;
        }
        assert!((p - 0.1).abs() < 1e-3, "{p}");
        // Ahead of the target: stop.
        assert_eq!(
            pacer.update(&observation(500, 100.0, 1_000)).participation,
            0.0
        );
        // Far behind: full participation.
        assert_eq!(
            pacer.update(&observation(0, 5_000.0, 1_000)).participation,
            1.0
        );
    }
}
