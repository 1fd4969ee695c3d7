//! Pacing: how fast a line item delivers its goal, or a bidder spends its budget.
//!
//! A `Pacer` is a controller consulted once per pacing tick, never per request: it observes
//! what happened in the last interval and decides two controls for the next one:
//!
//! - a **participation probability** — the share of eligible requests the line item or bidder
//!   takes part in (the ad server applies it per request with its own seeded stream, so the
//!   hot path stays one comparison); and
//! - a **bid multiplier** — applied by bidders to every bid (line items sell at a fixed CPM
//!   and ignore it).
//!
//! Built-ins, selectable by name in a scenario: `asap`, `even` (forecast-following adaptive
//! throttling), `throttle` (multiplicative bang-bang throttling), `pid` (PID on the spend or
//! delivery schedule, controlling participation), `dual` (multiplicative bid pacing by dual
//! descent) and `kpi_pid` (PID on eCPC or CPA, controlling the bid). Each module documents its
//! update rule and source.

mod asap;
mod dual;
mod even;
mod kpi;
mod pid;
mod throttle;

pub use asap::Asap;
pub use dual::Dual;
pub use even::Even;
pub use kpi::{Kpi, KpiPid};
pub use pid::{Gains, SpendPid};
pub use throttle::Throttle;

use crate::time::{SimDuration, SimTime};

/// What a pacer sees at a pacing tick, about one line item or bidder.
///
/// For line items, delivery is counted in impressions; for bidders, in micros of spend. With
/// a budget synchronisation lag, `delivered` (and the counts the server derives from it) is
/// the value as of the last synchronisation, as a distributed ad server would see it.
#[derive(Clone, Copy, Debug)]
pub struct Observation {
    /// The tick's time; the decision holds until `now + interval`.
    pub now: SimTime,
    pub interval: SimDuration,
    /// Delivery goal [impressions], or the budget being paced [micros], if any.
    pub goal: Option<u64>,
    /// Delivered (or spent) so far.
    pub delivered: u64,
    /// Cumulative delivery the traffic-following schedule asks for by `now`.
    pub target_now: f64,
    /// Cumulative delivery the traffic-following schedule asks for by `now + interval`
    /// (0 without a goal).
    pub target_next: f64,
    /// Cumulative delivery the schedule asked for at the previous decision.
    pub target_last: f64,
    /// Intervals of this length in the whole flight (or run, for bidders), at least 1.
    pub n_intervals: f64,
    /// Expected requests in the scope (the countries, break kinds, local hours and weekdays
    /// targeted), from the scenario's traffic curve: since the previous decision (0 at the
    /// first), and during the next interval.
    pub expected_last: f64,
    pub expected_next: f64,
    /// Since the previous decision: requests for which the item or bidder was eligible
    /// before pacing (targeting, flight, caps, goal or budget), those on which it took part
    /// after pacing, and what it delivered (impressions, or micros of spend).
    pub eligible: u64,
    pub attempts: u64,
    pub deliveries: u64,
    /// Cumulative spend [micros] and the user responses observed so far: clicks and
    /// (attributed) conversions. Responses arrive after the impression (see `response`), so
    /// these lag what the spend bought.
    pub spend: i64,
    pub clicks: u64,
    pub conversions: u64,
    /// False for the decision at a flight's start, which follows no interval.
    pub interval_elapsed: bool,
}

impl Observation {
    /// What the schedule planned for the interval just elapsed.
    pub fn planned_last(&self) -> f64 {
        (self.target_now - self.target_last).max(0.0)
    }
}

/// A pacer's decision for the next interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// Probability of taking part in an eligible request, in [0, 1].
    pub participation: f64,
    /// Factor applied to every bid (bidders only), > 0.
    pub bid_multiplier: f64,
}

impl Decision {
    /// Take part with probability `participation`, bidding unchanged.
    pub fn participate(participation: f64) -> Decision {
        Decision {
            participation,
            bid_multiplier: 1.0,
        }
    }
}

/// A pacing controller.
///
/// Contract: the ad server calls `update` at the start of the flight (bidders: of the run)
/// and then at every pacing tick while the line item is in flight and short of its goal (a
/// bidder: while the run lasts); each call gets the counts of the interval since the previous
/// call. The returned decision holds for every request until the next call: participation is
/// drawn per eligible request, the bid multiplier scales every bid. Implementations keep their
/// own state across calls and draw no random numbers.
pub trait Pacer {
    fn update(&mut self, observation: &Observation) -> Decision;
}

/// A pacer selected in a scenario, with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum PacingSpec {
    Asap,
    Even,
    Throttle { down: f64, up: f64, min: f64 },
    Pid(Gains),
    Dual { step: f64 },
    KpiPid { kpi: Kpi, target: f64, gains: Gains },
}

impl PacingSpec {
    /// Names selectable in a scenario, alphabetical.
    pub const NAMES: &'static [&'static str] =
        &["asap", "dual", "even", "kpi_pid", "pid", "throttle"];

    pub fn name(&self) -> &'static str {
        match self {
            PacingSpec::Asap => "asap",
            PacingSpec::Even => "even",
            PacingSpec::Throttle { .. } => "throttle",
            PacingSpec::Pid(_) => "pid",
            PacingSpec::Dual { .. } => "dual",
            PacingSpec::KpiPid { .. } => "kpi_pid",
        }
    }

    /// Whether the pacer controls bids (and so only makes sense for bidders).
    pub fn controls_bids(&self) -> bool {
        matches!(self, PacingSpec::Dual { .. } | PacingSpec::KpiPid { .. })
    }

    /// A fresh pacer.
    pub fn build(&self) -> Box<dyn Pacer> {
        match *self {
            PacingSpec::Asap => Box::new(Asap),
            PacingSpec::Even => Box::new(Even::default()),
            PacingSpec::Throttle { down, up, min } => Box::new(Throttle::new(down, up, min)),
            PacingSpec::Pid(gains) => Box::new(SpendPid::new(gains)),
            PacingSpec::Dual { step } => Box::new(Dual::new(step)),
            PacingSpec::KpiPid { kpi, target, gains } => Box::new(KpiPid::new(kpi, target, gains)),
        }
    }
}

#[cfg(test)]
pub(crate) fn observation_for_tests() -> Observation {
    Observation {
        now: SimTime(0),
        interval: SimDuration::MINUTE,
        goal: Some(10_000),
        delivered: 0,
        target_now: 0.0,
        target_next: 0.0,
        target_last: 0.0,
        n_intervals: 100.0,
        expected_last: 1_000.0,
        expected_next: 1_000.0,
        eligible: 0,
        attempts: 0,
        deliveries: 0,
        spend: 0,
        clicks: 0,
        conversions: 0,
        interval_elapsed: true,
    }
}
