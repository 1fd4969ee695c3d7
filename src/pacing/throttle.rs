//! `throttle`: multiplicative probabilistic throttling.
//!
//! At each tick: if delivery (or spend) is ahead of the target at this instant, the
//! participation probability is multiplied by `down` (never below `min`), otherwise by `up`
//! (never above 1). It starts at 1. This is the controller of the reference workload in
//! `shared/bench/refsim.py` (0.9 / 1.1 / 0.01 every simulated minute), a bang-bang variant of
//! the adaptive throttling of Agarwal et al., "Budget pacing for targeted online
//! advertisements at LinkedIn" (KDD 2014).

use super::{Decision, Observation, Pacer};

/// Multiplicative throttle.
#[derive(Clone, Debug)]
pub struct Throttle {
    pub down: f64,
    pub up: f64,
    pub min: f64,
    participation: f64,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(0.9, 1.1, 0.01)
    }
}

impl Throttle {
    pub fn new(down: f64, up: f64, min: f64) -> Throttle {
        Throttle {
            down,
            up,
            min,
            participation: 1.0,
        }
    }
}

impl Pacer for Throttle {
    fn update(&mut self, obs: &Observation) -> Decision {
        if obs.goal.is_some() && obs.interval_elapsed {
            self.participation = if obs.delivered as f64 > obs.target_now {
                (self.participation * self.down).max(self.min)
            } else {
                (self.participation * self.up).min(1.0)
            };
        }
        Decision::participate(self.participation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_down_when_ahead_and_up_when_behind() {
        let mut pacer = Throttle::default();
        let mut obs = Observation {
            goal: Some(1_000),
            delivered: 600,
            target_now: 500.0,
            target_next: 510.0,
            ..crate::pacing::observation_for_tests()
        };
        assert!((pacer.update(&obs).participation - 0.9).abs() < 1e-12);
        assert!((pacer.update(&obs).participation - 0.81).abs() < 1e-12);
        obs.delivered = 400;
        assert!((pacer.update(&obs).participation - 0.891).abs() < 1e-12);
        for _ in 0..10 {
            pacer.update(&obs);
        }
        assert_eq!(pacer.update(&obs).participation, 1.0);
        obs.delivered = 900;
        for _ in 0..100 {
            pacer.update(&obs);
        }
        assert_eq!(pacer.update(&obs).participation, 0.01);
    }
}
