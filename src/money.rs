//! Money: integer micros of the currency, never floats.
//!
//! A CPM of 2.50 is 2,500,000 micros per thousand impressions, so one impression at that CPM
//! costs 2,500 micros. Revenue is accumulated per line item as `impressions × cpm` and divided
//! by 1,000 once, at report time, so that no rounding is repeated per impression.

use std::fmt;
use std::ops::{Add, AddAssign};

/// Micros in one currency unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// An amount of money [micros of the currency unit].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Micros(pub i64);

impl Micros {
    pub const ZERO: Micros = Micros(0);

    /// Converts a decimal amount in currency units (as written in a scenario) to micros,
    /// rounding to the nearest micro. Returns `None` for non-finite or out-of-range values.
    #[inline]
    pub fn from_units(units: f64) -> Option<Micros> {
        let micros = units * MICROS_PER_UNIT as f64;
        if !(micros.is_finite() && micros.abs() < 9.0e18) {
            return None;
        }
        // Half away from zero, as `f64::round`, without its libm call on the bidding path.
        let half = if micros >= 0.0 { 0.5 } else { -0.5 };
        // SAFETY: `micros + half` is finite and within ±(9e18 + 0.5), inside i64's range,
        // so the truncation is defined (the checked `as` would add saturation code).
        Some(Micros(unsafe { (micros + half).to_int_unchecked::<i64>() }))
    }

    /// The amount in currency units, for reports.
    pub fn as_units(self) -> f64 {
        self.0 as f64 / MICROS_PER_UNIT as f64
    }

    /// The cost of `impressions` impressions at this CPM [micros], rounded down.
    pub fn cost_of(self, impressions: u64) -> Micros {
        Micros((i128::from(self.0) * i128::from(impressions) / 1_000) as i64)
    }
}

impl Add for Micros {
    type Output = Micros;
    fn add(self, rhs: Micros) -> Micros {
        Micros(self.0 + rhs.0)
    }
}

impl AddAssign for Micros {
    fn add_assign(&mut self, rhs: Micros) {
        self.0 += rhs.0;
    }
}

impl fmt::Display for Micros {
    /// Two decimals of the currency unit, rounded half away from zero, e.g. `1234.57`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = (self.0 + if self.0 >= 0 { 5_000 } else { -5_000 }) / 10_000;
        let sign = if cents < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpm_conversions_are_exact() {
        assert_eq!(Micros::from_units(2.5), Some(Micros(2_500_000)));
        assert_eq!(Micros::from_units(0.000_001), Some(Micros(1)));
        assert_eq!(Micros::from_units(f64::NAN), None);
        assert_eq!(Micros(2_500_000).cost_of(1_000), Micros(2_500_000));
        assert_eq!(Micros(2_500_000).cost_of(3), Micros(7_500));
        assert_eq!(Micros(1_234_567_890).to_string(), "1234.57");
        assert_eq!(Micros(-1_005_000).to_string(), "-1.01");
    }
}
