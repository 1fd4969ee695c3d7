//! User response to ads: completion, clicks and conversions.
//!
//! Per impression, with the run's `response` stream:
//!
//! - **completion**: the viewer watches the ad to its end with probability
//!   `base − per_position · position − per_extra_slot · (pod slots − 1)`, clamped to [0, 1]
//!   (position 0 is the first ad of the break): later slots and longer breaks lose viewers.
//! - **click**: with the CTR of the first rule matching the request's attributes and the ad's
//!   advertiser, else the default CTR. The click happens when the ad ends (the break's start
//!   plus the ad time up to and including this ad).
//! - **conversion**: after a click, with probability `rate`, after a delay drawn from an
//!   exponential or log-normal distribution. Conversions within the attribution `window` of
//!   their click are attributed; later ones are counted apart and never reach anyone.
//!
//! Clicks and attributed conversions are engine events at their own times: bidders and KPI
//! pacers learn of them only when they happen, which is the delayed feedback real controllers
//! live with. Responses due after the run's end are not counted (they are reported as
//! pending). Completion is recorded at the impression (nothing reacts to it).

use crate::adserver::Rule;
use crate::engine::Stream;
use crate::time::{SimDuration, SimTime};
use crate::traffic::AdRequest;

/// Completion probability by slot position and pod length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completion {
    pub base: f64,
    pub per_position: f64,
    pub per_extra_slot: f64,
}

impl Completion {
    /// Probability that the ad in `position` (0-based) of a `slots`-slot break completes.
    pub fn probability(&self, position: u32, slots: u8) -> f64 {
        (self.base
            - self.per_position * f64::from(position)
            - self.per_extra_slot * f64::from(slots.saturating_sub(1)))
        .clamp(0.0, 1.0)
    }
}

/// A CTR for requests that match `conditions` and ads of `advertiser` (any if `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct CtrRule {
    pub conditions: Vec<Rule>,
    pub advertiser: Option<usize>,
    pub ctr: f64,
}

/// Distribution of the delay from click to conversion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Delay {
    Exponential { mean: SimDuration },
    LogNormal { median: SimDuration, sigma: f64 },
}

impl Delay {
    /// Draws a delay [µs], at least 1.
    pub fn sample(&self, stream: &mut Stream) -> i64 {
        let us = match *self {
            Delay::Exponential { mean } => mean.0 as f64 * stream.exp1(),
            Delay::LogNormal { median, sigma } => {
                median.0 as f64 * (sigma * stream.standard_normal()).exp()
            }
        };
        (us.round() as i64).max(1)
    }

    /// Cumulative distribution function at `x` [µs].
    pub fn cdf(&self, x: f64) -> f64 {
        use statrs::distribution::{ContinuousCDF, LogNormal};
        if x <= 0.0 {
            return 0.0;
        }
        match *self {
            Delay::Exponential { mean } => 1.0 - (-x / mean.0 as f64).exp(),
            Delay::LogNormal { median, sigma } => {
                LogNormal::new((median.0 as f64).ln(), sigma).map_or(0.0, |d| d.cdf(x))
            }
        }
    }
}

/// Conversions after clicks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conversion {
    /// Probability that a click converts (ever).
    pub rate: f64,
    pub delay: Delay,
    pub window: SimDuration,
}

/// The scenario's `[response]` table, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseConfig {
    pub completion: Completion,
    pub default_ctr: f64,
    /// First match wins.
    pub ctr_rules: Vec<CtrRule>,
    pub conversion: Option<Conversion>,
}

impl ResponseConfig {
    /// The CTR of an ad of `advertiser` on `request`.
    pub fn ctr(&self, request: &AdRequest, advertiser: usize) -> f64 {
        self.ctr_rules
            .iter()
            .find(|rule| {
                rule.advertiser.is_none_or(|a| a == advertiser)
                    && rule
                        .conditions
                        .iter()
                        .all(|c| c.accepts(request.values[c.dim]))
            })
            .map_or(self.default_ctr, |rule| rule.ctr)
    }
}

/// What a viewer did after an ad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseKind {
    Click,
    Conversion,
}

/// Whose ad the response belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Responder {
    /// A line item, by scenario index.
    LineItem(u32),
    Bidder(u32),
}

/// A response due at some time: an engine event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub kind: ResponseKind,
    pub responder: Responder,
}

/// The draws for one impression.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    pub completed: bool,
    /// When the click happens, if any.
    pub click_at: Option<SimTime>,
    /// When the conversion happens, and whether it falls within the attribution window.
    pub conversion: Option<(SimTime, bool)>,
}

impl ResponseConfig {
    /// Draws the viewer's response to an ad that ends at `ends` and sits at `position` of a
    /// `slots`-slot break. Draw order is fixed (completion, click, then conversion and its
    /// delay only after a click), so results depend only on the stream and the impressions.
    pub fn draw(
        &self,
        request: &AdRequest,
        advertiser: usize,
        position: u32,
        ends: SimTime,
        stream: &mut Stream,
    ) -> Outcome {
        let completed = stream.chance(self.completion.probability(position, request.pod.max_slots));
        let mut outcome = Outcome {
            completed,
            ..Outcome::default()
        };
        if stream.chance(self.ctr(request, advertiser)) {
            outcome.click_at = Some(ends);
            if let Some(conversion) = &self.conversion
                && stream.chance(conversion.rate)
            {
                let delay = conversion.delay.sample(stream);
                outcome.conversion =
                    Some((ends + SimDuration(delay), delay <= conversion.window.0));
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_falls_with_position_and_pod_length() {
        let c = Completion {
            base: 0.95,
            per_position: 0.05,
            per_extra_slot: 0.01,
        };
        assert!((c.probability(0, 1) - 0.95).abs() < 1e-12);
        assert!((c.probability(2, 4) - (0.95 - 0.10 - 0.03)).abs() < 1e-12);
        assert_eq!(c.probability(40, 16), 0.0);
    }

    #[test]
    fn delay_cdfs_match_their_parameters() {
        let exp = Delay::Exponential {
            mean: SimDuration::HOUR,
        };
        assert!((exp.cdf(SimDuration::HOUR.0 as f64) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        let log = Delay::LogNormal {
            median: SimDuration::HOUR,
            sigma: 1.0,
        };
        assert!((log.cdf(SimDuration::HOUR.0 as f64) - 0.5).abs() < 1e-9);
    }
}
