//! Simulated time: integer microseconds, never floats.
//!
//! `SimTime` is an instant in UTC, counted in microseconds since the Unix epoch, so that local
//! hours, weekdays and calendar-aligned frequency-cap windows fall out of plain integer
//! arithmetic. `SimDuration` is a signed span in microseconds. Neither reads a clock: the
//! engine's time only moves when an event is taken from its queue.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

/// Microseconds in one second.
pub const MICROS_PER_SEC: i64 = 1_000_000;

/// An instant of simulated time [µs since 1970-01-01T00:00:00Z].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub i64);

/// A span of simulated time [µs].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(pub i64);

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    pub const SECOND: SimDuration = SimDuration(MICROS_PER_SEC);
    pub const MINUTE: SimDuration = SimDuration(60 * MICROS_PER_SEC);
    pub const HOUR: SimDuration = SimDuration(3_600 * MICROS_PER_SEC);
    pub const DAY: SimDuration = SimDuration(86_400 * MICROS_PER_SEC);
    pub const WEEK: SimDuration = SimDuration(7 * 86_400 * MICROS_PER_SEC);

    pub const fn from_secs(secs: i64) -> SimDuration {
        SimDuration(secs * MICROS_PER_SEC)
    }

    pub const fn from_millis(millis: i64) -> SimDuration {
        SimDuration(millis * 1_000)
    }

    pub const fn from_minutes(minutes: i64) -> SimDuration {
        SimDuration(minutes * 60 * MICROS_PER_SEC)
    }

    /// The span in seconds, as a float for rates and reports (never for bookkeeping).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SEC as f64
    }

    /// Parses a humane duration such as `"15m"`, `"1d"`, `"1h30m"`, `"250ms"` or `"8w"`.
    ///
    /// Units: `w`, `d`, `h`, `m`, `s`, `ms`, `us`. Components must come in descending order
    /// and at least one is required; a bare number is rejected so that a unit is never guessed.
    pub fn parse(text: &str) -> Result<SimDuration, String> {
        let expected = "expected a duration such as \"90s\", \"15m\", \"6h\", \"1d\" or \"1h30m\"";
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(format!("{expected}, found an empty string"));
        }
        let mut total: i64 = 0;
        let mut rest = trimmed;
        let mut last_unit_rank = usize::MAX;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(format!("{expected}, found \"{text}\""));
            }
            let number: i64 = rest[..digits]
                .parse()
                .map_err(|_| format!("number too large in duration \"{text}\""))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let (rank, micros) = match unit {
                "w" => (0, SimDuration::WEEK.0),
                "d" => (1, SimDuration::DAY.0),
                "h" => (2, SimDuration::HOUR.0),
                "m" | "min" => (3, SimDuration::MINUTE.0),
                "s" => (4, MICROS_PER_SEC),
                "ms" => (5, 1_000),
                "us" | "µs" => (6, 1),
                "" => return Err(format!("{expected}: \"{text}\" lacks a unit")),
                other => {
                    return Err(format!(
                        "{expected}: unknown unit \"{other}\" (use w, d, h, m, s, ms or us)"
                    ));
                }
            };
            if last_unit_rank != usize::MAX && rank <= last_unit_rank {
                return Err(format!(
                    "{expected}: units in \"{text}\" must go from largest to smallest"
                ));
            }
            last_unit_rank = rank;
            total = number
                .checked_mul(micros)
                .and_then(|v| v.checked_add(total))
                .ok_or_else(|| format!("duration \"{text}\" is too long"))?;
        }
        Ok(SimDuration(total))
    }
}

impl fmt::Display for SimDuration {
    /// Formats as the largest exact units, e.g. `1d`, `1h30m`, `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        if rest < 0 {
            f.write_str("-")?;
            rest = -rest;
        }
        for (unit, micros) in [
            ("d", SimDuration::DAY.0),
            ("h", SimDuration::HOUR.0),
            ("m", SimDuration::MINUTE.0),
            ("s", MICROS_PER_SEC),
            ("ms", 1_000),
            ("us", 1),
        ] {
            if rest >= micros {
                write!(f, "{}{unit}", rest / micros)?;
                rest %= micros;
            }
        }
        Ok(())
    }
}

impl SimTime {
    /// The instant at a UTC civil date and time.
    pub fn from_utc(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> SimTime {
        let days = days_from_civil(year, month, day);
        SimTime((days * 86_400 + i64::from(hour * 3_600 + minute * 60 + second)) * MICROS_PER_SEC)
    }

    /// Whole seconds since the epoch (floor).
    pub fn as_unix_secs(self) -> i64 {
        self.0.div_euclid(MICROS_PER_SEC)
    }

    /// Days since the epoch of the instant shifted by `offset_minutes` (floor), i.e. the local
    /// calendar day number in a zone at that fixed UTC offset.
    pub fn local_day(self, offset_minutes: i32) -> i64 {
        (self.0 + i64::from(offset_minutes) * SimDuration::MINUTE.0).div_euclid(SimDuration::DAY.0)
    }

    /// Local day number and hour of day at a fixed UTC offset, from one division.
    #[inline]
    pub fn local_day_and_hour(self, offset_minutes: i32) -> (i64, u32) {
        let hours = (self.0 + i64::from(offset_minutes) * SimDuration::MINUTE.0)
            .div_euclid(SimDuration::HOUR.0);
        (hours.div_euclid(24), hours.rem_euclid(24) as u32)
    }

    /// Local hour of day 0–23 at a fixed UTC offset.
    pub fn local_hour(self, offset_minutes: i32) -> u32 {
        let local = self.0 + i64::from(offset_minutes) * SimDuration::MINUTE.0;
        (local.rem_euclid(SimDuration::DAY.0) / SimDuration::HOUR.0) as u32
    }

    /// Local weekday at a fixed UTC offset, 0 = Monday … 6 = Sunday.
    pub fn local_weekday(self, offset_minutes: i32) -> u32 {
        // 1970-01-01 was a Thursday (index 3 when Monday is 0).
        (self.local_day(offset_minutes) + 3).rem_euclid(7) as u32
    }
}

impl Mul<i64> for SimDuration {
    type Output = SimDuration;
    fn mul(self, rhs: i64) -> SimDuration {
        SimDuration(self.0 * rhs)
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0 + rhs.0)
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        self.0 += rhs.0;
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, rhs: SimTime) -> SimDuration {
        SimDuration(self.0 - rhs.0)
    }
}

impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0 - rhs.0)
    }
}

impl fmt::Display for SimTime {
    /// RFC 3339 in UTC with whole seconds, e.g. `2026-11-02T13:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.as_unix_secs();
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let of_day = secs.rem_euclid(86_400);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            of_day / 3_600,
            of_day % 3_600 / 60,
            of_day % 60
        )
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The Gregorian date of a day number since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_humane_durations() {
        assert_eq!(SimDuration::parse("15m"), Ok(SimDuration::from_minutes(15)));
        assert_eq!(SimDuration::parse("1d"), Ok(SimDuration::DAY));
        assert_eq!(
            SimDuration::parse("1h30m"),
            Ok(SimDuration::from_minutes(90))
        );
        assert_eq!(SimDuration::parse("250ms"), Ok(SimDuration(250_000)));
        assert_eq!(
            SimDuration::parse("8w"),
            Ok(SimDuration(8 * SimDuration::WEEK.0))
        );
        assert!(
            SimDuration::parse("15")
                .unwrap_err()
                .contains("lacks a unit")
        );
        assert!(
            SimDuration::parse("3x")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(
            SimDuration::parse("30m1h")
                .unwrap_err()
                .contains("largest to smallest")
        );
        assert!(SimDuration::parse("").is_err());
        assert!(SimDuration::parse("h").is_err());
    }

    #[test]
    fn durations_display_round_trip() {
        for text in ["1d", "1h30m", "250ms", "6h", "45s", "1d2h3m4s5ms6us"] {
            assert_eq!(SimDuration::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn civil_conversions_agree() {
        let t = SimTime::from_utc(2026, 11, 2, 13, 5, 9);
        assert_eq!(t.to_string(), "2026-11-02T13:05:09Z");
        assert_eq!(t.as_unix_secs(), 1_793_624_709);
        // 2026-11-02 is a Monday.
        assert_eq!(t.local_weekday(0), 0);
        assert_eq!(t.local_hour(0), 13);
        assert_eq!(t.local_hour(-300), 8);
        assert_eq!(t.local_hour(330), 18);
        assert_eq!(t.local_day_and_hour(330), (t.local_day(330), 18));
        assert_eq!(SimTime(-1).local_day_and_hour(0), (-1, 23));
        // Late Monday UTC is already Tuesday in Tokyo.
        assert_eq!(
            SimTime::from_utc(2026, 11, 2, 20, 0, 0).local_weekday(540),
            1
        );
        for days in [-800_000i64, -1, 0, 1, 59, 365, 20_000, 3_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m, d), days);
        }
        assert_eq!(
            SimTime::from_utc(2024, 2, 29, 0, 0, 0).to_string(),
            "2024-02-29T00:00:00Z"
        );
    }
}
