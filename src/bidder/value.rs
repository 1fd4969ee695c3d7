//! Value models: what an impression is worth to a bidder [CPM, currency units].
//!
//! A value is drawn per bid request from the bidder's own stream, then multiplied by every
//! segment multiplier whose attribute value matches the request. The `ctr` model values an
//! impression at `pCTR × value_per_click × 1000` with pCTR looked up by segment; strategies
//! that bid on pCTR (linear) read it from the same lookup.

use crate::engine::Stream;
use crate::traffic::AdRequest;

/// A distribution of per-impression values [CPM].
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    Fixed(f64),
    /// Uniform on `[low, high)`.
    Uniform {
        low: f64,
        high: f64,
    },
    /// Normal, truncated at 0 (negative draws become 0, a value of nothing).
    Normal {
        mean: f64,
        sd: f64,
    },
    /// Log-normal with the given median and log-scale deviation.
    LogNormal {
        median: f64,
        sigma: f64,
    },
    Exponential {
        mean: f64,
    },
    /// Uniformly one of the listed values (an empirical distribution).
    Empirical(Vec<f64>),
    /// `pCTR × value_per_click × 1000`.
    Ctr {
        value_per_click: f64,
    },
}

/// Click-through rate by segment: the first rule whose dimension value matches wins.
#[derive(Clone, Debug, PartialEq)]
pub struct CtrTable {
    pub default: f64,
    /// `(dimension index, value index, ctr)`.
    pub rules: Vec<(usize, u16, f64)>,
}

impl CtrTable {
    #[inline]
    pub fn ctr(&self, request: &AdRequest) -> f64 {
        self.rules
            .iter()
            .find(|&&(dim, value, _)| request.values[dim] == value)
            .map_or(self.default, |&(_, _, ctr)| ctr)
    }
}

/// A bidder's value model.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueModel {
    pub distribution: Distribution,
    /// `(dimension index, value index, factor)`: every matching rule multiplies the value.
    pub multipliers: Vec<(usize, u16, f64)>,
    pub ctr: Option<CtrTable>,
}

impl ValueModel {
    /// Predicted click-through rate for the request (0 without a CTR table).
    #[inline]
    pub fn pctr(&self, request: &AdRequest) -> f64 {
        self.ctr.as_ref().map_or(0.0, |table| table.ctr(request))
    }

    /// Draws the value of `request` [CPM].
    #[inline]
    pub fn value(&self, request: &AdRequest, stream: &mut Stream) -> f64 {
        let base = match &self.distribution {
            Distribution::Fixed(value) => *value,
            Distribution::Uniform { low, high } => low + (high - low) * stream.uniform(),
            Distribution::Normal { mean, sd } => (mean + sd * stream.standard_normal()).max(0.0),
            Distribution::LogNormal { median, sigma } => {
                median * (sigma * stream.standard_normal()).exp()
            }
            Distribution::Exponential { mean } => mean * stream.exp1(),
            Distribution::Empirical(values) => values[stream.below(values.len() as u32) as usize],
            Distribution::Ctr { value_per_click } => self.pctr(request) * value_per_click * 1000.0,
        };
        self.multipliers
            .iter()
            .filter(|&&(dim, value, _)| request.values[dim] == value)
            .fold(base, |value, &(_, _, factor)| value * factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(model: &ValueModel, request: &AdRequest, n: usize) -> f64 {
        let mut stream = Stream::new(5, "value-test");
        (0..n)
            .map(|_| model.value(request, &mut stream))
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn distributions_have_their_means() {
        let request = AdRequest::default();
        let n = 100_000;
        // (model, mean, standard deviation of one draw); bounds are 4 standard errors.
        let cases = [
            (
                Distribution::Uniform {
                    low: 1.0,
                    high: 3.0,
                },
                2.0,
                (4.0f64 / 12.0).sqrt(),
            ),
            (Distribution::Exponential { mean: 2.0 }, 2.0, 2.0),
            (
                Distribution::LogNormal {
                    median: 1.0,
                    sigma: 0.5,
                },
                (0.125f64).exp(),
                0.6,
            ),
            (Distribution::Empirical(vec![1.0, 2.0, 6.0]), 3.0, 2.16),
            (Distribution::Fixed(4.5), 4.5, 0.0),
        ];
        for (distribution, mean, sd) in cases {
            let model = ValueModel {
                distribution: distribution.clone(),
                multipliers: vec![],
                ctr: None,
            };
            let observed = mean_of(&model, &request, n);
            assert!(
                (observed - mean).abs() <= 4.0 * sd / (n as f64).sqrt() + 1e-12,
                "{distribution:?}: {observed}"
            );
        }
        // Truncation: a normal with mean 0 has a truncated mean of sd/sqrt(2π).
        let model = ValueModel {
            distribution: Distribution::Normal { mean: 0.0, sd: 1.0 },
            multipliers: vec![],
            ctr: None,
        };
        let observed = mean_of(&model, &request, n);
        assert!(
            (observed - 1.0 / (2.0 * std::f64::consts::PI).sqrt()).abs()
                < 4.0 * 0.6 / (n as f64).sqrt(),
            "{observed}"
        );
    }

    #[test]
    fn multipliers_and_ctr_apply_by_segment() {
        let mut request = AdRequest::default();
        request.values[1] = 2;
        let model = ValueModel {
            distribution: Distribution::Ctr {
                value_per_click: 2.0,
            },
            multipliers: vec![(1, 2, 1.5), (1, 3, 10.0), (0, 0, 2.0)],
            ctr: Some(CtrTable {
                default: 0.001,
                rules: vec![(1, 2, 0.004)],
            }),
        };
        let mut stream = Stream::new(1, "x");
        // 0.004 × 2 × 1000 = 8, × 1.5 (device 2) × 2 (country 0) = 24.
        assert!((model.value(&request, &mut stream) - 24.0).abs() < 1e-9);
        request.values[1] = 0;
        assert!((model.pctr(&request) - 0.001).abs() < 1e-12);
    }
}
