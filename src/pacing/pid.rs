//! `pid`: a PID controller on the delivery (or spend) schedule, controlling participation.
//!
//! The controlled quantity is the cumulative gap to the traffic-following schedule, in units
//! of one average interval's allotment (`goal / intervals in the flight`), so the gains mean
//! the same for a 1,000-impression line item and a million-dollar budget:
//!
//! ```text
//! e_t   = (target(now) − delivered) / (goal / n_intervals)     > 0: behind schedule
//! I_t   = I_{t−1} + e_t                 (not integrated while the output is saturated and
//!                                        e_t pushes further into saturation: anti-windup)
//! u_t   = kp·e_t + ki·I_t + kd·(e_t − e_{t−1})
//! p_t   = clamp(exp(u_t), 1e−4, 1)
//! ```
//!
//! The output acts on log participation, so one set of gains works whether the item needs 90%
//! or 0.1% of its eligible traffic (a linear output would need gains per campaign). The
//! derivative of the cumulative gap is the spend-rate error (planned minus actual spend in the
//! interval), which is what makes this a controller on spend rate whose integral keeps the
//! cumulative schedule. PID pacing of this kind is the textbook feedback design; see Åström
//! and Murray, *Feedback Systems* (2008), ch. 10, for the anti-windup form, and Zhang et al.
//! (WSDM 2016, cited in `kpi`) for PID in bid and budget control. It starts at full
//! participation (u = 0) and learns the operating point through the integral.

use super::{Decision, Observation, Pacer};

/// PID gains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gains {
    pub kp: f64,
    pub ki: f64,
    pub kd: f64,
}

/// Lowest participation the controller sets (ln = −9.2).
const MIN_PARTICIPATION: f64 = 1e-4;

/// PID pacing of the delivery or spend schedule.
#[derive(Clone, Debug)]
pub struct SpendPid {
    gains: Gains,
    integral: f64,
    last_error: f64,
    output: f64,
}

impl SpendPid {
    /// Defaults: kp 0.05, ki 0.005, kd 0 (tuned on `scenarios/pacing_comparison.toml`).
    pub const DEFAULT: Gains = Gains {
        kp: 0.05,
        ki: 0.005,
        kd: 0.0,
    };

    pub fn new(gains: Gains) -> SpendPid {
        SpendPid {
            gains,
            integral: 0.0,
            last_error: 0.0,
            output: 0.0,
        }
    }
}

impl Pacer for SpendPid {
    fn update(&mut self, obs: &Observation) -> Decision {
        let Some(goal) = obs.goal else {
            return Decision::participate(1.0);
        };
        let allotment = (goal as f64 / obs.n_intervals.max(1.0)).max(1.0);
        let error = (obs.target_now - obs.delivered as f64) / allotment;
        let low = MIN_PARTICIPATION.ln();
        let saturated = (self.output >= 0.0 && error > 0.0) || (self.output <= low && error < 0.0);
        if obs.interval_elapsed && !saturated {
            self.integral += error;
        }
        let derivative = if obs.interval_elapsed {
            error - self.last_error
        } else {
            0.0
        };
        self.last_error = error;
        let Gains { kp, ki, kd } = self.gains;
        self.output = (kp * error + ki * self.integral + kd * derivative).clamp(low, 0.0);
        Decision::participate(self.output.exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::observation_for_tests;

    #[test]
    fn throttles_when_ahead_and_opens_when_behind() {
        let mut pacer = SpendPid::new(Gains {
            kp: 0.1,
            ki: 0.01,
            kd: 0.0,
        });
        // goal 10,000 over 100 intervals: one allotment = 100. Ahead by 500 = 5 allotments.
        let ahead = Observation {
            delivered: 1_500,
            target_now: 1_000.0,
            ..observation_for_tests()
        };
        let first = pacer.update(&ahead).participation;
        // u = 0.1·(−5) + 0.01·(−5) = −0.55
        assert!((first - (-0.55f64).exp()).abs() < 1e-12, "{first}");
        let second = pacer.update(&ahead).participation;
        assert!(
            second < first,
            "the integral keeps closing: {second} vs {first}"
        );
        let behind = Observation {
            delivered: 500,
            ..ahead
        };
        let mut p = second;
        for _ in 0..200 {
            p = pacer.update(&behind).participation;
        }
        assert_eq!(p, 1.0);
        // Saturated at 1 while behind: the integral did not wind up, so being ahead again
        // throttles at once.
        assert!(pacer.update(&ahead).participation < 1.0);
    }
}
