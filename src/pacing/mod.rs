//! Pacing: how fast a line item (later, a bidder's budget) is allowed to deliver.
//!
//! A `Pacer` is a controller consulted once per pacing tick, never per request: it observes
//! what happened in the last interval and sets a participation probability for the next one.
//! The ad server applies that probability per request with its own seeded stream, so the hot
//! path stays a single comparison. Built-ins: `Asap`, `Even` and `Throttle`.

mod asap;
mod even;
mod throttle;

pub use asap::Asap;
pub use even::Even;
pub use throttle::Throttle;

use crate::time::{SimDuration, SimTime};

/// What a pacer sees at a pacing tick, about one line item.
#[derive(Clone, Copy, Debug)]
pub struct Observation {
    /// The tick's time; the decision holds until `now + interval`.
    pub now: SimTime,
    pub interval: SimDuration,
    /// Delivery goal [impressions], if any.
    pub goal: Option<u64>,
    /// Delivered so far in the flight [impressions, or micros for budgets].
    pub delivered: u64,
    /// Cumulative delivery the traffic-following schedule asks for by `now`.
    pub target_now: f64,
    /// Cumulative delivery the traffic-following schedule asks for by `now + interval`
    /// [impressions] (0 without a goal).
    pub target_next: f64,
    /// Expected requests in the item's scope (the countries, break kinds, local hours and
    /// weekdays it targets), from the scenario's traffic curve: since the previous decision
    /// (0 at the first), and during the next interval.
    pub expected_last: f64,
    pub expected_next: f64,
    /// Since the previous decision: requests for which the item was eligible before pacing
    /// (targeting, flight, caps, goal), those on which it took part after pacing, and the
    /// impressions it won.
    pub eligible: u64,
    pub attempts: u64,
    pub deliveries: u64,
    /// False for the decision at a flight's start, which follows no interval.
    pub interval_elapsed: bool,
}

/// A pacer's decision for the next interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// Probability of taking part in an eligible request, in [0, 1].
    pub participation: f64,
}

/// A pacing controller.
///
/// Contract: the ad server calls `update` at the start of the flight and then at every
/// pacing tick while the line item is in flight and short of its goal; each call gets the
/// counts of the interval since the previous call. The returned decision is applied to every
/// request until the next call. Implementations keep their own state across calls and draw no
/// random numbers.
pub trait Pacer {
    fn update(&mut self, observation: &Observation) -> Decision;
}

/// Pacing modes selectable by name in a scenario, alphabetical.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacingMode {
    Asap,
    Even,
    Throttle,
}

impl PacingMode {
    pub const NAMES: &'static [&'static str] = &["asap", "even", "throttle"];

    pub fn from_name(name: &str) -> Option<PacingMode> {
        match name {
            "asap" => Some(PacingMode::Asap),
            "even" => Some(PacingMode::Even),
            "throttle" => Some(PacingMode::Throttle),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PacingMode::Asap => "asap",
            PacingMode::Even => "even",
            PacingMode::Throttle => "throttle",
        }
    }

    /// A fresh pacer of this mode.
    pub fn build(self) -> Box<dyn Pacer> {
        match self {
            PacingMode::Asap => Box::new(Asap),
            PacingMode::Even => Box::new(Even::default()),
            PacingMode::Throttle => Box::new(Throttle::default()),
        }
    }
}
