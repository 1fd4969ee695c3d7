//! Forecasting: ad-request inventory per segment, with prediction intervals and backtests.
//!
//! # Data
//!
//! A *series* is a `&[f64]` of non-negative ad-request counts of one segment (e.g. country ×
//! device × genre) at a fixed step; index 0 is the first period of history and the last
//! element the most recent. The step is described by a [`Grain`]: `periods_per_day = 24` for
//! hourly data (daily season `m = 24`, weekly season `m = 168`) or `1` for daily data (weekly
//! season `m = 7`). A forecast is made at origin `T = history.len()` for the `horizon` periods
//! `T, T + 1, …` (in the formulas below `y_{T+h}`, `h = 1..=horizon`, is the `h`-th of them,
//! i.e. element `T + h - 1` of the full series).
//!
//! Every method returns a [`Forecast`]: a point forecast `mean` and a central prediction
//! interval `[low, high]` at probability `level` (e.g. 0.8 for the 10 % and 90 % quantiles),
//! all clamped at 0 because counts cannot be negative. Clamping only moves values that were
//! negative, so `0 <= low <= high` always holds; `low <= mean <= high` holds for the
//! Holt-Winters interval and whenever the residual quantiles straddle 0 (see below).
//!
//! # Methods
//!
//! - [`Method::SeasonalNaiveDaily`] / [`Method::SeasonalNaiveWeekly`], season `m` = one day /
//!   one week of periods (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*,
//!   3rd ed. (FPP3), §5.2): `ŷ_{T+h} = y_{T+h−m·k}` with `k = ceil(h/m)`, the last observed
//!   value of the same season position. Interval: the empirical `(1 − level)/2` and
//!   `(1 + level)/2` quantiles `q_lo, q_hi` (type 7, linear interpolation) of the in-sample
//!   one-season-ahead errors `e_t = y_t − y_{t−m}`, `t = m..T`, scaled by `√k` for the `k`-th
//!   season ahead — the `σ_h = σ·√k` of FPP3 §5.5, Table 5.2, applied to quantiles instead of
//!   `σ` so that the skew of sparse, spiky segments is kept:
//!   `[ŷ + √k·q_lo, ŷ + √k·q_hi]`. No parameters. Needs two full seasons (`T >= 2m`) so that
//!   at least `m` errors exist. See [`seasonal_naive`].
//! - [`Method::HoltWinters`]: additive Holt-Winters, i.e. ETS(A,A,A) without damping
//!   (`φ = 1` fixed rather than fitted: one parameter fewer keeps the fit fast, and on
//!   the synthetic hourly segments of the tests the fitted trend gain `αβ` is of order 1e-5;
//!   a damped trend is the first thing to try if week-ahead forecasts overshoot after
//!   spikes), FPP3 §8.3 and §8.5:
//!   `ℓ_t = α(y_t − s_{t−m}) + (1 − α)(ℓ_{t−1} + b_{t−1})`,
//!   `b_t = β(ℓ_t − ℓ_{t−1}) + (1 − β)b_{t−1}`,
//!   `s_t = γ(y_t − ℓ_{t−1} − b_{t−1}) + (1 − γ)s_{t−m}`,
//!   `ŷ_{T+h} = ℓ_T + h·b_T + s_{T+h−m(k+1)}`, `k = ⌊(h − 1)/m⌋`, with `β` the `β*` of FPP3
//!   §8.2 (the ETS slope gain is `αβ`). The season is weekly if the history holds two full
//!   weeks, else daily (two days at least; [`holt_winters_period`]). Initial states come
//!   from the first two seasons; `α, β, γ` minimise the in-sample one-step SSE over the box
//!   `α, β ∈ [0, 1]`, `γ ∈ [0, 1 − α]` by a fixed coarse grid followed by a compass
//!   (pattern) search, which is deterministic. Interval: `ŷ ± z·σ_h` with the ETS(A,A,A)
//!   variance of FPP3 §8.7, Table 8.8, `σ̂² = SSE/(T − 3)` and `z` the normal quantile. See
//!   [`holt_winters_fit`].
//! - [`Method::LaunchAware`]: a weekly seasonal profile scaled by a launch regressor `x_t`
//!   known in advance from the content slate (0 when nothing launches):
//!   `y_t = s_{t mod m}·(1 + β·x_t) + ε_t`, `β >= 0`, `m` = one week — a regression on a
//!   seasonal dummy and a spike-like intervention variable (FPP3 §7.4). `β` is found by a 1-D
//!   search on the profile SSE (for each `β` the least-squares `s_p` are in closed form); if
//!   the regressor is 0 over the whole history `β` cannot be fitted and is 0. Needs two full
//!   weeks. Interval: the empirical residual quantiles, inflated for the estimated profile
//!   and constant over the horizon. See [`launch_fit`].
//!
//! # Backtests and accuracy
//!
//! [`backtest()`] is a rolling-origin evaluation (FPP3 §5.10, "time series cross-validation"):
//! `k` origins spaced by `horizon` at the end of the series, the last at
//! `series.len() − horizon`, each refitted on the history before it. Errors are summed in an
//! [`Accumulator`]; [`Accuracy`] reports WAPE `Σ|y − ŷ|/Σ|y|`, MAPE (mean of `|y − ŷ|/y` over
//! `y > 0`, zeros skipped and counted), bias `Σ(ŷ − y)/Σy` (positive = over-forecast) and
//! interval coverage. Segments pool by summing accumulators ([`pool`]), so an overall figure
//! weights segments by volume instead of averaging their ratios.
//!
//! # Determinism
//!
//! Every function is a pure function of its input: no clock, no randomness, no hash maps;
//! sums run in index order and sorts use `f64::total_cmp`, so the same input gives
//! bit-identical output.
//!
//! # Input contract
//!
//! History values, regressor values and actuals must be finite and `>= 0`, `level` in
//! `(0, 1)` and `periods_per_day >= 1`. Violations, empty or too-short histories and too-short
//! regressors are reported as a [`ForecastError`], never as a panic.

mod backtest;
mod holt_winters;
pub mod job;
mod launch;
mod naive;
#[cfg(test)]
mod speed;
mod stats;
#[cfg(test)]
mod testing;

use std::fmt;

pub use backtest::{Accumulator, Accuracy, Backtest, Window, backtest, backtest_origins, pool};
pub use holt_winters::{HwModel, holt_winters_fit, holt_winters_period};
pub use launch::{LaunchModel, launch_fit};
pub use naive::seasonal_naive;

/// Forecasting methods selectable by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// Seasonal naive with a one-day season ([`seasonal_naive`]).
    SeasonalNaiveDaily,
    /// Seasonal naive with a one-week season ([`seasonal_naive`]).
    SeasonalNaiveWeekly,
    /// Additive Holt-Winters with fitted smoothing parameters ([`holt_winters_fit`]).
    HoltWinters,
    /// Weekly profile times a launch regressor ([`launch_fit`]); needs a [`Regressor`].
    LaunchAware,
}

impl Method {
    /// Every method, in the order of [`Method::NAMES`].
    pub const ALL: [Method; 4] = [
        Method::SeasonalNaiveDaily,
        Method::SeasonalNaiveWeekly,
        Method::HoltWinters,
        Method::LaunchAware,
    ];

    /// Registry names, in the order of the variants.
    pub const NAMES: &'static [&'static str] = &[
        "seasonal_naive_daily",
        "seasonal_naive_weekly",
        "holt_winters",
        "launch_aware",
    ];

    /// The method a scenario names, if any.
    pub fn from_name(name: &str) -> Option<Method> {
        match name {
            "seasonal_naive_daily" => Some(Method::SeasonalNaiveDaily),
            "seasonal_naive_weekly" => Some(Method::SeasonalNaiveWeekly),
            "holt_winters" => Some(Method::HoltWinters),
            "launch_aware" => Some(Method::LaunchAware),
            _ => None,
        }
    }

    /// The method's registry name.
    pub fn name(self) -> &'static str {
        match self {
            Method::SeasonalNaiveDaily => "seasonal_naive_daily",
            Method::SeasonalNaiveWeekly => "seasonal_naive_weekly",
            Method::HoltWinters => "holt_winters",
            Method::LaunchAware => "launch_aware",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The time step of a series, as periods per day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grain {
    /// Periods in one day: 24 for hourly data, 1 for daily data. Must be at least 1.
    pub periods_per_day: usize,
}

impl Grain {
    /// Hourly data: daily season 24, weekly season 168.
    pub const HOURLY: Grain = Grain {
        periods_per_day: 24,
    };

    /// Daily data: daily season 1 (plain naive), weekly season 7.
    pub const DAILY: Grain = Grain { periods_per_day: 1 };

    /// Length of the daily season in periods: `periods_per_day`.
    pub fn daily_period(self) -> usize {
        self.periods_per_day
    }

    /// Length of the weekly season in periods: `7 · periods_per_day` (saturating).
    pub fn weekly_period(self) -> usize {
        self.periods_per_day.saturating_mul(7)
    }
}

/// A forecast over `horizon` periods with a central prediction interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Forecast {
    /// Point forecast per period [expected count, >= 0].
    pub mean: Vec<f64>,
    /// Lower end of the central interval per period [count, >= 0].
    pub low: Vec<f64>,
    /// Upper end of the central interval per period [count, at least `low`].
    pub high: Vec<f64>,
}

impl Forecast {
    /// Number of periods forecast.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// Whether the forecast covers no period.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// An empty forecast with room for `horizon` periods.
    fn with_capacity(horizon: usize) -> Forecast {
        Forecast {
            mean: Vec::with_capacity(horizon),
            low: Vec::with_capacity(horizon),
            high: Vec::with_capacity(horizon),
        }
    }

    /// Appends one period, clamping all three values at 0.
    fn push(&mut self, mean: f64, low: f64, high: f64) {
        self.mean.push(mean.max(0.0));
        self.low.push(low.max(0.0));
        self.high.push(high.max(0.0));
    }
}

/// An exogenous regressor for [`Method::LaunchAware`], aligned with the series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Regressor {
    /// One value per period, index 0 = first period of history, covering history and horizon
    /// (`len >= history.len() + horizon`); finite and `>= 0`, e.g. the launch-spike popularity
    /// of titles in the segment's genre, 0 when nothing launches.
    pub values: Vec<f64>,
}

/// Why a forecast or backtest could not be made.
#[derive(Clone, Debug, PartialEq)]
pub enum ForecastError {
    /// A season length or `periods_per_day` of 0, or one too large to compute with.
    InvalidPeriod(usize),
    /// A prediction-interval level outside `(0, 1)`.
    InvalidLevel(f64),
    /// A history or series value that is negative, NaN or infinite.
    InvalidValue {
        /// Index of the offending value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Fewer periods than the method needs (an empty history included).
    HistoryTooShort {
        /// Periods needed.
        needed: usize,
        /// Periods given.
        got: usize,
    },
    /// [`Method::LaunchAware`] without a [`Regressor`].
    MissingRegressor,
    /// A regressor that does not cover history and horizon.
    RegressorTooShort {
        /// Values needed.
        needed: usize,
        /// Values given.
        got: usize,
    },
    /// A regressor value that is negative, NaN or infinite.
    InvalidRegressorValue {
        /// Index of the offending value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A backtest horizon of 0.
    InvalidHorizon,
    /// A backtest with 0 origins.
    NoOrigins,
}

impl fmt::Display for ForecastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForecastError::InvalidPeriod(m) => write!(f, "invalid season length {m}"),
            ForecastError::InvalidLevel(l) => {
                write!(f, "prediction-interval level {l} is not in (0, 1)")
            }
            ForecastError::InvalidValue { index, value } => {
                write!(
                    f,
                    "series value {value} at index {index} is not finite and >= 0"
                )
            }
            ForecastError::HistoryTooShort { needed, got } => {
                write!(f, "history too short: {got} periods, {needed} needed")
            }
            ForecastError::MissingRegressor => f.write_str("launch_aware needs a regressor"),
            ForecastError::RegressorTooShort { needed, got } => {
                write!(f, "regressor too short: {got} values, {needed} needed")
            }
            ForecastError::InvalidRegressorValue { index, value } => {
                write!(
                    f,
                    "regressor value {value} at index {index} is not finite and >= 0"
                )
            }
            ForecastError::InvalidHorizon => f.write_str("backtest horizon must be at least 1"),
            ForecastError::NoOrigins => f.write_str("backtest needs at least one origin"),
        }
    }
}

impl std::error::Error for ForecastError {}

/// Shortest history, in periods, that [`forecast`] accepts for `method` at `grain`: two full
/// seasons (Holt-Winters: two days, using a weekly season only from two weeks on).
pub fn min_history(method: Method, grain: Grain) -> usize {
    let season = match method {
        Method::SeasonalNaiveDaily | Method::HoltWinters => grain.daily_period(),
        Method::SeasonalNaiveWeekly | Method::LaunchAware => grain.weekly_period(),
    };
    season.saturating_mul(2)
}

/// Forecasts `horizon` periods after `history` with `method`, with a central prediction
/// interval at probability `level`.
///
/// `regressor` is read only by [`Method::LaunchAware`], which requires it to cover
/// `history.len() + horizon` periods. A `horizon` of 0 gives an empty forecast.
///
/// # Errors
///
/// See [`ForecastError`]: invalid grain, level or values, a history shorter than
/// [`min_history`], or a missing or too-short regressor.
pub fn forecast(
    method: Method,
    history: &[f64],
    grain: Grain,
    horizon: usize,
    level: f64,
    regressor: Option<&Regressor>,
) -> Result<Forecast, ForecastError> {
    check_grain(grain)?;
    check_level(level)?;
    check_series(history)?;
    match method {
        Method::SeasonalNaiveDaily => seasonal_naive(history, grain.daily_period(), horizon, level),
        Method::SeasonalNaiveWeekly => {
            seasonal_naive(history, grain.weekly_period(), horizon, level)
        }
        Method::HoltWinters => {
            let period = holt_winters_period(history.len(), grain)?;
            holt_winters_fit(history, period)?.forecast(horizon, level)
        }
        Method::LaunchAware => {
            let regressor = regressor.ok_or(ForecastError::MissingRegressor)?;
            let n = history.len();
            let needed = n.saturating_add(horizon);
            if regressor.values.len() < needed {
                return Err(ForecastError::RegressorTooShort {
                    needed,
                    got: regressor.values.len(),
                });
            }
            let (past, future) = regressor.values[..needed].split_at(n);
            check_regressor(future, n)?;
            launch_fit(history, past, grain.weekly_period())?.forecast(future, level)
        }
    }
}

/// Checks that the grain has a usable daily and weekly season.
fn check_grain(grain: Grain) -> Result<(), ForecastError> {
    let ppd = grain.periods_per_day;
    // Two weeks of periods must not overflow.
    if ppd == 0 || ppd.checked_mul(14).is_none() {
        return Err(ForecastError::InvalidPeriod(ppd));
    }
    Ok(())
}

/// Checks that a season length is at least 1 and that two seasons fit in a `usize`.
fn check_period(period: usize) -> Result<(), ForecastError> {
    if period == 0 || period.checked_mul(2).is_none() {
        return Err(ForecastError::InvalidPeriod(period));
    }
    Ok(())
}

/// Checks that `level` is in the open interval (0, 1).
fn check_level(level: f64) -> Result<(), ForecastError> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(ForecastError::InvalidLevel(level))
    }
}

/// Checks that every value is finite and non-negative.
fn check_series(values: &[f64]) -> Result<(), ForecastError> {
    match values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        Some(index) => Err(ForecastError::InvalidValue {
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks regressor values, reporting indices offset by `first_index`.
fn check_regressor(values: &[f64], first_index: usize) -> Result<(), ForecastError> {
    match values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        Some(i) => Err(ForecastError::InvalidRegressorValue {
            index: first_index + i,
            value: values[i],
        }),
        None => Ok(()),
    }
}

/// Checks that `history` holds at least `needed` periods.
fn check_len(history: &[f64], needed: usize) -> Result<(), ForecastError> {
    if history.len() < needed {
        Err(ForecastError::HistoryTooShort {
            needed,
            got: history.len(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{SplitMix64, sparse_series};
    use super::*;

    #[test]
    fn method_names_round_trip() {
        assert_eq!(Method::ALL.len(), Method::NAMES.len());
        for (method, name) in Method::ALL.iter().zip(Method::NAMES) {
            assert_eq!(method.name(), *name);
            assert_eq!(Method::from_name(name), Some(*method));
            assert_eq!(method.to_string(), *name);
        }
        assert_eq!(Method::from_name("holt-winters"), None);
    }

    #[test]
    fn invalid_input_is_an_error_not_a_panic() {
        let ok = vec![1.0; 400];
        let h = Grain::HOURLY;
        for method in Method::ALL {
            let reg = Regressor {
                values: vec![0.0; 500],
            };
            let r = Some(&reg);
            assert_eq!(
                forecast(method, &[], h, 24, 0.8, r),
                Err(ForecastError::HistoryTooShort {
                    needed: min_history(method, h),
                    got: 0
                })
            );
            let short = vec![1.0; min_history(method, h) - 1];
            assert!(matches!(
                forecast(method, &short, h, 24, 0.8, r),
                Err(ForecastError::HistoryTooShort { .. })
            ));
            for level in [0.0, 1.0, -0.5, f64::NAN] {
                assert!(matches!(
                    forecast(method, &ok, h, 24, level, r),
                    Err(ForecastError::InvalidLevel(_))
                ));
            }
            let grain0 = Grain { periods_per_day: 0 };
            assert_eq!(
                forecast(method, &ok, grain0, 24, 0.8, r),
                Err(ForecastError::InvalidPeriod(0))
            );
            let huge = Grain {
                periods_per_day: usize::MAX / 3,
            };
            assert!(matches!(
                forecast(method, &ok, huge, 24, 0.8, r),
                Err(ForecastError::InvalidPeriod(_))
            ));
            for bad in [f64::NAN, -1.0, f64::INFINITY] {
                let mut v = ok.clone();
                v[7] = bad;
                let err = forecast(method, &v, h, 24, 0.8, r).unwrap_err();
                assert!(matches!(err, ForecastError::InvalidValue { index: 7, .. }));
            }
            // A zero horizon is valid and gives an empty forecast.
            assert_eq!(forecast(method, &ok, h, 0, 0.8, r), Ok(Forecast::default()));
        }
        let la = Method::LaunchAware;
        assert_eq!(
            forecast(la, &ok, h, 24, 0.8, None),
            Err(ForecastError::MissingRegressor)
        );
        let short_reg = Regressor {
            values: vec![0.0; 410],
        };
        assert_eq!(
            forecast(la, &ok, h, 24, 0.8, Some(&short_reg)),
            Err(ForecastError::RegressorTooShort {
                needed: 424,
                got: 410
            })
        );
        let mut bad_reg = Regressor {
            values: vec![0.0; 424],
        };
        bad_reg.values[410] = -2.0;
        assert_eq!(
            forecast(la, &ok, h, 24, 0.8, Some(&bad_reg)),
            Err(ForecastError::InvalidRegressorValue {
                index: 410,
                value: -2.0
            })
        );
        bad_reg.values[410] = 0.0;
        bad_reg.values[3] = f64::NAN;
        assert!(matches!(
            forecast(la, &ok, h, 24, 0.8, Some(&bad_reg)),
            Err(ForecastError::InvalidRegressorValue { index: 3, .. })
        ));
    }

    /// Sparse segments (mostly zeros) must give finite, non-negative, ordered output, and the
    /// same input must give bit-identical output.
    #[test]
    fn sparse_series_give_valid_deterministic_forecasts() {
        let mut rng = SplitMix64::new(11);
        let y = sparse_series(&mut rng, 4 * 168, 0.15);
        assert!(y.iter().filter(|v| **v == 0.0).count() > y.len() / 2);
        let mut reg = Regressor {
            values: vec![0.0; y.len() + 168],
        };
        reg.values[300..320].fill(0.7);
        reg.values[y.len() + 5] = 1.0;
        for method in Method::ALL {
            let f = forecast(method, &y, Grain::HOURLY, 168, 0.8, Some(&reg)).unwrap();
            assert_eq!(f.len(), 168);
            for i in 0..f.len() {
                let (m, l, h) = (f.mean[i], f.low[i], f.high[i]);
                assert!(m.is_finite() && l.is_finite() && h.is_finite(), "{method}");
                assert!(m >= 0.0 && l >= 0.0 && l <= h, "{method} {i}: {l} {m} {h}");
            }
            let again = forecast(method, &y, Grain::HOURLY, 168, 0.8, Some(&reg)).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&f.mean), bits(&again.mean));
            assert_eq!(bits(&f.low), bits(&again.low));
            assert_eq!(bits(&f.high), bits(&again.high));
        }
        // An all-zero segment forecasts zero with a zero-width interval.
        let zeros = vec![0.0; 400];
        for method in Method::ALL {
            let f = forecast(method, &zeros, Grain::HOURLY, 30, 0.8, Some(&reg)).unwrap();
            assert!(
                f.mean
                    .iter()
                    .chain(&f.low)
                    .chain(&f.high)
                    .all(|v| *v == 0.0)
            );
        }
    }
}
