//! Expected-traffic curves per targeting scope, for pacing.
//!
//! Pacing follows the expected traffic in a line item's or bidder's scope: the countries,
//! break kinds, local hours and weekdays its targeting accepts (local hour and weekday are
//! functions of time and country, so dayparting is exact). Other attributes (device, age,
//! genre, title, custom ones) are assumed to scale traffic uniformly over time. Demand with
//! the same scope shares one curve.

use super::Rule;
use crate::time::{SimDuration, SimTime};
use crate::traffic::{BreakKind, DIM_COUNTRY, Dimensions, ExpectedTraffic};

/// Cumulative expected requests per minute, one curve per distinct scope.
pub struct Curves {
    keys: Vec<Vec<bool>>,
    curves: Vec<Vec<f64>>,
    start: SimTime,
}

impl Curves {
    pub fn new(expected: &ExpectedTraffic) -> Curves {
        Curves {
            keys: Vec::new(),
            curves: Vec::new(),
            start: expected.start,
        }
    }

    /// The curve of the scope `targeting` accepts, computed on first use.
    pub fn scope(
        &mut self,
        targeting: &[Rule],
        dims: &Dimensions,
        offsets: &[i32],
        expected: &ExpectedTraffic,
    ) -> usize {
        let accepts = |dim: usize, value: usize| {
            targeting
                .iter()
                .filter(|r| r.dim == dim)
                .all(|r| r.accepts(value as u16))
        };
        let n_countries = dims.list[DIM_COUNTRY].values.len();
        let key: Vec<bool> = (0..n_countries)
            .map(|c| accepts(DIM_COUNTRY, c))
            .chain((0..2).map(|kind| accepts(dims.break_kind(), kind)))
            .chain((0..24).map(|hour| accepts(dims.local_hour(), hour)))
            .chain((0..7).map(|day| accepts(dims.weekday(), day)))
            .collect();
        if let Some(found) = self.keys.iter().position(|k| *k == key) {
            return found;
        }
        self.curves.push(
            expected.cumulative_requests(|country, kind: BreakKind, at: SimTime| {
                let offset = offsets[country];
                key[country]
                    && key[n_countries + kind as usize]
                    && key[n_countries + 2 + at.local_hour(offset) as usize]
                    && key[n_countries + 26 + at.local_weekday(offset) as usize]
            }),
        );
        self.keys.push(key);
        self.curves.len() - 1
    }

    /// Cumulative expected requests of `curve` at `at`, interpolated within the minute and
    /// clamped to the horizon.
    pub fn at(&self, curve: usize, at: SimTime) -> f64 {
        let curve = &self.curves[curve];
        let minutes = (at - self.start).0 as f64 / SimDuration::MINUTE.0 as f64;
        let minutes = minutes.clamp(0.0, (curve.len() - 1) as f64);
        let whole = minutes.floor() as usize;
        let next = curve[(whole + 1).min(curve.len() - 1)];
        curve[whole] + (minutes - whole as f64) * (next - curve[whole])
    }

    /// Share of the expected traffic between `begin` and `end` that falls before `at`, in
    /// [0, 1]; 1 when the window holds no traffic.
    pub fn share(&self, curve: usize, begin: SimTime, end: SimTime, at: SimTime) -> f64 {
        let first = self.at(curve, begin);
        let total = self.at(curve, end) - first;
        if at >= end || total <= 0.0 {
            return 1.0;
        }
        if at <= begin {
            return 0.0;
        }
        ((self.at(curve, at) - first) / total).clamp(0.0, 1.0)
    }
}
