//! `kpi_pid`: a PID controller on a cost-per-outcome KPI, controlling the bid.
//!
//! Zhang, Rong, Wang, Zhu and Wang, "Feedback control of real-time display advertising"
//! (WSDM 2016): the bid is the strategy's bid times `exp(φ_t)`, with `φ_t` the output of a PID
//! controller on the error between the reference KPI and the measured one. Here the KPI is
//! eCPC (spend per click) or CPA (spend per attributed conversion), measured cumulatively from
//! the responses observed so far — clicks and conversions arrive after the impressions that
//! caused them, so the controller sees them late, as a real one does. The error is relative,
//! so the gains do not depend on the currency or the target:
//!
//! ```text
//! x_t = (spend + k·target) / (clicks + k)        (or conversions), observed so far
//! e_t = (target − x_t) / target                  > 0: cheaper than the target, bid up
//! I_t = I_{t−1} + e_t          (anti-windup: not integrated while φ is clamped and e pushes on)
//! φ_t = clamp(kp·e_t + ki·I_t + kd·(e_t − e_{t−1}), −ln 20, ln 20)
//! bid multiplier = exp(φ_t),   participation = 1
//! ```
//!
//! The measurement starts from `k = 10` pseudo-outcomes at the target (a prior): with a
//! handful of clicks the raw ratio swings by a factor of several, and a controller acting on
//! it slams bids to the floor, stops winning, and — since a cumulative KPI only moves with new
//! outcomes — never recovers. The prior's weight fades as outcomes accumulate. Before any
//! spend, the multiplier stays at 1. The budget still binds: a KPI pacer does not spread
//! spend.

use super::{Decision, Gains, Observation, Pacer};

/// The controlled cost-per-outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kpi {
    /// Effective cost per click.
    Ecpc,
    /// Cost per (attributed) conversion.
    Cpa,
}

impl Kpi {
    pub const NAMES: &'static [&'static str] = &["cpa", "ecpc"];

    pub fn from_name(name: &str) -> Option<Kpi> {
        match name {
            "ecpc" => Some(Kpi::Ecpc),
            "cpa" => Some(Kpi::Cpa),
            _ => None,
        }
    }
}

/// PID on eCPC or CPA.
#[derive(Clone, Debug)]
pub struct KpiPid {
    kpi: Kpi,
    /// Reference KPI [micros per outcome].
    target: f64,
    gains: Gains,
    integral: f64,
    last_error: Option<f64>,
    output: f64,
}

/// Pseudo-outcomes at the target that the measured KPI starts from.
const PRIOR_OUTCOMES: f64 = 10.0;

/// Largest |φ|: bids move at most 20× either way.
const MAX_LOG_MULTIPLIER: f64 = 2.995_732_273_553_991; // ln 20

impl KpiPid {
    /// Defaults: kp 0.4, ki 0.02, kd 0.
    pub const DEFAULT: Gains = Gains {
        kp: 0.4,
        ki: 0.02,
        kd: 0.0,
    };

    /// A controller holding `kpi` at `target` [micros per outcome].
    pub fn new(kpi: Kpi, target: f64, gains: Gains) -> KpiPid {
        KpiPid {
            kpi,
            target,
            gains,
            integral: 0.0,
            last_error: None,
            output: 0.0,
        }
    }
}

impl Pacer for KpiPid {
    fn update(&mut self, obs: &Observation) -> Decision {
        let outcomes = match self.kpi {
            Kpi::Ecpc => obs.clicks,
            Kpi::Cpa => obs.conversions,
        };
        if obs.spend > 0 && obs.interval_elapsed && self.target > 0.0 {
            let measured = (obs.spend as f64 + PRIOR_OUTCOMES * self.target)
                / (outcomes as f64 + PRIOR_OUTCOMES);
            let error = (self.target - measured) / self.target;
            let saturated = (self.output >= MAX_LOG_MULTIPLIER && error > 0.0)
                || (self.output <= -MAX_LOG_MULTIPLIER && error < 0.0);
            if !saturated {
                self.integral += error;
            }
            let derivative = self.last_error.map_or(0.0, |last| error - last);
            self.last_error = Some(error);
            let Gains { kp, ki, kd } = self.gains;
            self.output = (kp * error + ki * self.integral + kd * derivative)
                .clamp(-MAX_LOG_MULTIPLIER, MAX_LOG_MULTIPLIER);
        }
        Decision {
            participation: 1.0,
            bid_multiplier: self.output.exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::observation_for_tests;

    #[test]
    fn bids_down_when_outcomes_cost_too_much() {
        // Target eCPC 2.00 (2,000,000 micros).
        let mut pacer = KpiPid::new(
            Kpi::Ecpc,
            2_000_000.0,
            Gains {
                kp: 0.5,
                ki: 0.1,
                kd: 0.0,
            },
        );
        // No spend yet: nothing to measure.
        let quiet = observation_for_tests();
        assert_eq!(pacer.update(&quiet).bid_multiplier, 1.0);
        // 10 clicks for 60.00, with 10 pseudo-clicks at 2.00: eCPC (60 + 20) / 20 = 4.00,
        // error −1, φ = 0.5·(−1) + 0.1·(−1).
        let costly = Observation {
            spend: 60_000_000,
            clicks: 10,
            ..quiet
        };
        let m = pacer.update(&costly).bid_multiplier;
        assert!((m - (-0.6f64).exp()).abs() < 1e-12, "{m}");
        // 10 clicks for 10.00: eCPC 30 / 20 = 1.50, error +0.25; the integral remembers the
        // costly round: φ = 0.5·0.25 + 0.1·(−1 + 0.25).
        let cheap = Observation {
            spend: 10_000_000,
            ..costly
        };
        let m = pacer.update(&cheap).bid_multiplier;
        assert!((m - (0.125f64 - 0.075).exp()).abs() < 1e-12, "{m}");
        // The CPA pacer counts conversions, not clicks: none yet, so (60 + 20) / 10 = 8.00,
        // error −3, φ = 0.4·(−3) + 0.02·(−3).
        let mut cpa = KpiPid::new(Kpi::Cpa, 2_000_000.0, KpiPid::DEFAULT);
        let m = cpa.update(&costly).bid_multiplier;
        assert!((m - (-1.26f64).exp()).abs() < 1e-12, "{m}");
    }
}
