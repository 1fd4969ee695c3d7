//! Expected traffic: the mean number of session starts and ad requests per minute.
//!
//! Pacing needs to know how traffic will unfold (to deliver "evenly" is to follow the traffic
//! curve, not the clock), and the traffic tests compare simulated counts with these means.
//! Both come from the same configuration the synthetic source samples from:
//! sessions starting in minute `j` of country `c` number `rate_c(j) · 1 min` on average; each
//! brings a pre-roll in minute `j` and a mid-roll in minute `j + k·I` with probability
//! `P(length > k·I)`.

use super::{BreakKind, SyntheticConfig};
use crate::time::{SimDuration, SimTime};

/// Mean sessions and ad requests per minute of the run, by country and break kind.
#[derive(Clone, Debug)]
pub struct ExpectedTraffic {
    pub start: SimTime,
    pub n_minutes: usize,
    /// `sessions[country][minute]`.
    pub sessions: Vec<Vec<f64>>,
    /// `requests[country * 2 + break kind][minute]`.
    pub requests: Vec<Vec<f64>>,
}

impl ExpectedTraffic {
    pub fn new(config: &SyntheticConfig) -> ExpectedTraffic {
        let n_minutes = ((config.end - config.start).0 / SimDuration::MINUTE.0).max(0) as usize;
        let members = config.members_per_country();
        let sessions: Vec<Vec<f64>> = config
            .countries
            .iter()
            .zip(&members)
            .map(|(country, &count)| {
                (0..n_minutes)
                    .map(|minute| {
                        let at = config.start + SimDuration::MINUTE * minute as i64;
                        config.session_rate(count, country.utc_offset_minutes, at)
                            * SimDuration::MINUTE.0 as f64
                    })
                    .collect()
            })
            .collect();
        let interval_minutes = (config.mid_roll_interval.0 / SimDuration::MINUTE.0).max(1) as usize;
        let survival: Vec<f64> = (0..=n_minutes / interval_minutes)
            .map(|k| {
                config
                    .session_length
                    .survival((k * interval_minutes * 60) as f64)
            })
            .collect();
        let mut requests = vec![vec![0.0; n_minutes]; 2 * sessions.len()];
        for (country, starts) in sessions.iter().enumerate() {
            if config.pre_roll.is_some() {
                requests[country * 2 + BreakKind::PreRoll as usize].clone_from(starts);
            }
            if config.mid_roll.is_some() {
                let mid = &mut requests[country * 2 + BreakKind::MidRoll as usize];
                for (minute, &count) in starts.iter().enumerate() {
                    for (k, &alive) in survival.iter().enumerate().skip(1) {
                        let at = minute + k * interval_minutes;
                        if at >= n_minutes || alive == 0.0 {
                            break;
                        }
                        mid[at] += count * alive;
                    }
                }
            }
        }
        ExpectedTraffic {
            start: config.start,
            n_minutes,
            sessions,
            requests,
        }
    }

    /// Running total of expected requests at each minute boundary (`n_minutes + 1` values,
    /// starting at 0), counting the requests of `(country, break kind)` in the minutes
    /// starting at `at` for which `include(country, kind, at)` is true. Because local hour
    /// and weekday are functions of time and country, dayparted targeting is expressible here.
    pub fn cumulative_requests(
        &self,
        include: impl Fn(usize, BreakKind, SimTime) -> bool,
    ) -> Vec<f64> {
        let mut total = vec![0.0; self.n_minutes + 1];
        for (idx, series) in self.requests.iter().enumerate() {
            let kind = if idx % 2 == 0 {
                BreakKind::PreRoll
            } else {
                BreakKind::MidRoll
            };
            for (minute, &count) in series.iter().enumerate() {
                if count > 0.0
                    && include(
                        idx / 2,
                        kind,
                        self.start + SimDuration::MINUTE * minute as i64,
                    )
                {
                    total[minute + 1] += count;
                }
            }
        }
        for minute in 1..total.len() {
            total[minute] += total[minute - 1];
        }
        total
    }

    /// Expected session starts per hour of the run, summed over countries.
    pub fn sessions_per_hour(&self) -> Vec<f64> {
        let mut hours = vec![0.0; self.n_minutes.div_ceil(60)];
        for series in &self.sessions {
            for (minute, &count) in series.iter().enumerate() {
                hours[minute / 60] += count;
            }
        }
        hours
    }
}
