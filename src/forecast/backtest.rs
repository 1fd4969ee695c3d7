//! Rolling-origin backtests and pooled accuracy metrics.
//!
//! # Origins
//!
//! For `k` origins and horizon `H` on a series of length `n`, origin `i = 1..=k` is
//! `o_i = n − (k − i + 1)·H`: the last is `n − H` and they are `H` apart, so the `k` forecast
//! windows `[o_i, o_i + H)` tile the last `k·H` periods without overlap (FPP3 §5.10; Tashman
//! 2000, "Out-of-sample tests of forecasting accuracy"). Each forecast is refitted on
//! `series[..o_i]` only; the regressor, known in advance, is read up to `o_i + H`.
//!
//! # Metrics
//!
//! With actuals `y`, point forecasts `ŷ` and intervals `[lo, hi]` over all points:
//! - WAPE `= Σ|y − ŷ| / Σ|y|` (Kolassa & Schütz 2007's MAD/mean ratio);
//! - MAPE `= mean over y > 0 of |y − ŷ|/y` (FPP3 §5.8); points with `y = 0` are skipped and
//!   counted in `n_zero_skipped`;
//! - bias `= Σ(ŷ − y) / Σy`, positive when over-forecasting;
//! - coverage `=` share of points with `lo <= y <= hi`.
//!
//! An [`Accumulator`] keeps the sums, so pooling segments ([`pool`]) is summing them: the
//! pooled WAPE is the WAPE of the concatenated points, weighting segments by volume, not the
//! mean of per-segment WAPEs. A ratio whose denominator is 0 is `None`.

use super::{
    Forecast, ForecastError, Grain, Method, Regressor, check_grain, check_level, check_series,
    forecast, min_history,
};

/// One backtest window: a forecast from one origin and what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Index of the first forecast period; the history was `series[..origin]`.
    pub origin: usize,
    /// Actual values `series[origin..origin + horizon]`.
    pub actual: Vec<f64>,
    /// The forecast made at `origin`.
    pub forecast: Forecast,
}

/// A rolling-origin backtest of one method on one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Backtest {
    /// The method evaluated.
    pub method: Method,
    /// Periods forecast from each origin.
    pub horizon: usize,
    /// Windows in increasing origin order.
    pub windows: Vec<Window>,
    /// Error sums over all windows.
    pub accumulator: Accumulator,
}

impl Backtest {
    /// Accuracy over all windows.
    pub fn accuracy(&self) -> Accuracy {
        self.accumulator.accuracy()
    }

    /// The origins, increasing.
    pub fn origins(&self) -> Vec<usize> {
        self.windows.iter().map(|w| w.origin).collect()
    }
}

/// The `origins` rolling origins for a series of `len` periods and `horizon`:
/// `o_i = len − (origins − i + 1)·horizon`, `i = 1..=origins`.
///
/// # Errors
///
/// A `horizon` or `origins` of 0, or `len <= origins·horizon` (the first origin would have
/// no history at all).
pub fn backtest_origins(
    len: usize,
    horizon: usize,
    origins: usize,
) -> Result<Vec<usize>, ForecastError> {
    if horizon == 0 {
        return Err(ForecastError::InvalidHorizon);
    }
    if origins == 0 {
        return Err(ForecastError::NoOrigins);
    }
    let span = origins.saturating_mul(horizon);
    if len <= span {
        return Err(ForecastError::HistoryTooShort {
            needed: span.saturating_add(1),
            got: len,
        });
    }
    Ok((0..origins)
        .map(|i| len - (origins - i) * horizon)
        .collect())
}

/// Rolling-origin backtest of `method` on `series` (see the module docs).
///
/// # Errors
///
/// Those of [`backtest_origins`] and [`forecast`]; in particular
/// `HistoryTooShort { needed: min_history + origins·horizon, .. }` when the first origin's
/// history is shorter than [`min_history`] for the method.
pub fn backtest(
    method: Method,
    series: &[f64],
    grain: Grain,
    horizon: usize,
    origins: usize,
    level: f64,
    regressor: Option<&Regressor>,
) -> Result<Backtest, ForecastError> {
    check_grain(grain)?;
    check_level(level)?;
    check_series(series)?;
    let origin_list = backtest_origins(series.len(), horizon, origins)?;
    let needed = min_history(method, grain).saturating_add(origins * horizon);
    if series.len() < needed {
        return Err(ForecastError::HistoryTooShort {
            needed,
            got: series.len(),
        });
    }
    let mut accumulator = Accumulator::new();
    let mut windows = Vec::with_capacity(origins);
    for origin in origin_list {
        let f = forecast(method, &series[..origin], grain, horizon, level, regressor)?;
        let actual = series[origin..origin + horizon].to_vec();
        accumulator.add(&actual, &f);
        windows.push(Window {
            origin,
            actual,
            forecast: f,
        });
    }
    Ok(Backtest {
        method,
        horizon,
        windows,
        accumulator,
    })
}

/// Running sums for the accuracy metrics; add points, merge accumulators, read [`Accuracy`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Accumulator {
    n: usize,
    sum_abs_error: f64,
    sum_abs_actual: f64,
    sum_error: f64,
    sum_actual: f64,
    sum_ape: f64,
    n_ape: usize,
    n_zero_skipped: usize,
    n_covered: usize,
}

impl Accumulator {
    /// An empty accumulator.
    pub fn new() -> Accumulator {
        Accumulator::default()
    }

    /// Adds one point: actual `y`, point forecast `mean`, interval `[low, high]`.
    pub fn add_point(&mut self, y: f64, mean: f64, low: f64, high: f64) {
        let error = mean - y;
        self.n += 1;
        self.sum_abs_error += error.abs();
        self.sum_abs_actual += y.abs();
        self.sum_error += error;
        self.sum_actual += y;
        if y > 0.0 {
            self.sum_ape += error.abs() / y;
            self.n_ape += 1;
        } else {
            self.n_zero_skipped += 1;
        }
        if low <= y && y <= high {
            self.n_covered += 1;
        }
    }

    /// Adds `actual[i]` against period `i` of `forecast`, for `i` below the shorter length.
    pub fn add(&mut self, actual: &[f64], forecast: &Forecast) {
        for (i, y) in actual.iter().enumerate().take(forecast.len()) {
            self.add_point(*y, forecast.mean[i], forecast.low[i], forecast.high[i]);
        }
    }

    /// Adds another accumulator's points to this one.
    pub fn merge(&mut self, other: &Accumulator) {
        self.n += other.n;
        self.sum_abs_error += other.sum_abs_error;
        self.sum_abs_actual += other.sum_abs_actual;
        self.sum_error += other.sum_error;
        self.sum_actual += other.sum_actual;
        self.sum_ape += other.sum_ape;
        self.n_ape += other.n_ape;
        self.n_zero_skipped += other.n_zero_skipped;
        self.n_covered += other.n_covered;
    }

    /// The metrics of the points added so far.
    pub fn accuracy(&self) -> Accuracy {
        let ratio = |num: f64, den: f64| (den != 0.0).then(|| num / den);
        Accuracy {
            wape: ratio(self.sum_abs_error, self.sum_abs_actual),
            mape: ratio(self.sum_ape, self.n_ape as f64),
            bias: ratio(self.sum_error, self.sum_actual),
            coverage: ratio(self.n_covered as f64, self.n as f64),
            n: self.n,
            n_zero_skipped: self.n_zero_skipped,
        }
    }
}

/// Accuracy metrics over a set of points (see the module docs for definitions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accuracy {
    /// `Σ|y − ŷ| / Σ|y|`; `None` if every actual is 0.
    pub wape: Option<f64>,
    /// Mean of `|y − ŷ|/y` over `y > 0`; `None` if no actual is positive.
    pub mape: Option<f64>,
    /// `Σ(ŷ − y) / Σy`, positive = over-forecast; `None` if every actual is 0.
    pub bias: Option<f64>,
    /// Share of actuals inside `[low, high]`; `None` without points.
    pub coverage: Option<f64>,
    /// Number of points.
    pub n: usize,
    /// Points left out of MAPE because their actual was 0.
    pub n_zero_skipped: usize,
}

/// Pooled accuracy of several accumulators (e.g. one per segment): the metrics of all their
/// points together, i.e. ratios of pooled sums, not means of per-part ratios.
pub fn pool(parts: &[Accumulator]) -> Accuracy {
    let mut total = Accumulator::new();
    for part in parts {
        total.merge(part);
    }
    total.accuracy()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fc(mean: &[f64], low: &[f64], high: &[f64]) -> Forecast {
        Forecast {
            mean: mean.to_vec(),
            low: low.to_vec(),
            high: high.to_vec(),
        }
    }

    /// Test 4: metrics on a hand-computed example.
    ///
    /// y = [10, 0, 5, 20], ŷ = [12, 1, 5, 16], lo = [8, 0, 6, 10], hi = [14, 2, 8, 18]
    /// - |y − ŷ| = [2, 1, 0, 4], Σ = 7; Σy = 35 → WAPE = 7/35 = 0.2
    /// - MAPE over y > 0: (2/10 + 0/5 + 4/20)/3 = 0.4/3 = 0.1333…, one zero skipped
    /// - Σ(ŷ − y) = 2 + 1 + 0 − 4 = −1 → bias = −1/35 (under-forecast)
    /// - covered: 10 ∈ [8, 14] yes, 0 ∈ [0, 2] yes (ends inclusive), 5 ∈ [6, 8] no,
    ///   20 ∈ [10, 18] no → coverage = 2/4 = 0.5
    ///
    /// Tolerance 1e-12: the values are sums of a few doubles, exact up to rounding.
    #[test]
    fn metrics_match_hand_computation() {
        let mut acc = Accumulator::new();
        acc.add(
            &[10.0, 0.0, 5.0, 20.0],
            &fc(
                &[12.0, 1.0, 5.0, 16.0],
                &[8.0, 0.0, 6.0, 10.0],
                &[14.0, 2.0, 8.0, 18.0],
            ),
        );
        let a = acc.accuracy();
        let close = |x: Option<f64>, want: f64| (x.unwrap() - want).abs() < 1e-12;
        assert!(close(a.wape, 0.2), "{a:?}");
        assert!(close(a.mape, 0.4 / 3.0), "{a:?}");
        assert!(close(a.bias, -1.0 / 35.0), "{a:?}");
        assert!(close(a.coverage, 0.5), "{a:?}");
        assert_eq!((a.n, a.n_zero_skipped), (4, 1));

        // Undefined ratios are None, not NaN.
        let mut zeros = Accumulator::new();
        zeros.add_point(0.0, 1.0, 0.0, 2.0);
        let z = zeros.accuracy();
        assert_eq!(
            (z.wape, z.mape, z.bias, z.coverage),
            (None, None, None, Some(1.0))
        );
        assert_eq!(Accumulator::new().accuracy().coverage, None);
    }

    /// Test 4b: pooling two accumulators equals computing on the concatenated points
    /// (tolerance 1e-12: only the summation order differs), and differs from the mean of the
    /// two WAPEs. Segment A: y = [10, 0], ŷ = [12, 1] → WAPE 3/10. Segment B: y = [5, 20],
    /// ŷ = [5, 16] → WAPE 4/25. Pooled: 7/35 = 0.2; mean of ratios: 0.23.
    #[test]
    fn pooling_equals_concatenation() {
        let (ya, yb) = ([10.0, 0.0], [5.0, 20.0]);
        let fa = fc(&[12.0, 1.0], &[8.0, 0.0], &[14.0, 2.0]);
        let fb = fc(&[5.0, 16.0], &[6.0, 10.0], &[8.0, 18.0]);
        let (mut a, mut b) = (Accumulator::new(), Accumulator::new());
        a.add(&ya, &fa);
        b.add(&yb, &fb);
        let pooled = pool(&[a, b]);
        let mut all = Accumulator::new();
        all.add(
            &[10.0, 0.0, 5.0, 20.0],
            &fc(
                &[12.0, 1.0, 5.0, 16.0],
                &[8.0, 0.0, 6.0, 10.0],
                &[14.0, 2.0, 8.0, 18.0],
            ),
        );
        let concat = all.accuracy();
        let pairs = [
            (pooled.wape, concat.wape),
            (pooled.mape, concat.mape),
            (pooled.bias, concat.bias),
            (pooled.coverage, concat.coverage),
        ];
        for (p, c) in pairs {
            assert!(
                (p.unwrap() - c.unwrap()).abs() < 1e-12,
                "{pooled:?} vs {concat:?}"
            );
        }
        assert_eq!(
            (pooled.n, pooled.n_zero_skipped),
            (concat.n, concat.n_zero_skipped)
        );
        let mean_of_ratios = (a.accuracy().wape.unwrap() + b.accuracy().wape.unwrap()) / 2.0;
        assert!((mean_of_ratios - 0.23).abs() < 1e-12);
        assert!((pooled.wape.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(pool(&[]), Accumulator::new().accuracy());
    }

    /// Test 5a: n = 20, horizon 3, 4 origins → [8, 11, 14, 17]; the last is 20 − 3 and the
    /// windows [8, 11), [11, 14), [14, 17), [17, 20) tile the tail.
    #[test]
    fn origins_are_exact() {
        assert_eq!(backtest_origins(20, 3, 4), Ok(vec![8, 11, 14, 17]));
        assert_eq!(
            backtest_origins(20, 20, 1),
            Err(ForecastError::HistoryTooShort {
                needed: 21,
                got: 20
            })
        );
        assert_eq!(backtest_origins(21, 20, 1), Ok(vec![1]));
        assert_eq!(
            backtest_origins(20, 0, 4),
            Err(ForecastError::InvalidHorizon)
        );
        assert_eq!(backtest_origins(20, 3, 0), Err(ForecastError::NoOrigins));
        assert!(backtest_origins(20, usize::MAX, 3).is_err());

        // The same origins through a backtest, with seasonal naive at 2 periods per day.
        let y: Vec<f64> = (0..20).map(|t| (t % 2) as f64 + 1.0).collect();
        let grain = Grain { periods_per_day: 2 };
        let bt = backtest(Method::SeasonalNaiveDaily, &y, grain, 3, 4, 0.8, None).unwrap();
        assert_eq!(bt.origins(), vec![8, 11, 14, 17]);
        assert_eq!(bt.windows[1].actual, y[11..14].to_vec());
        // The series has exact period 2, so every forecast is exact.
        let acc = bt.accuracy();
        assert_eq!((acc.wape, acc.coverage, acc.n), (Some(0.0), Some(1.0), 12));
    }

    /// Test 5b: too-short histories are errors naming what is needed: seasonal naive daily at
    /// 2 periods per day needs 4 periods before the first origin, so 6 origins × 3 = 18 + 4.
    #[test]
    fn too_short_history_is_an_error() {
        let y = vec![1.0; 20];
        let grain = Grain { periods_per_day: 2 };
        let sn = Method::SeasonalNaiveDaily;
        assert_eq!(
            backtest(sn, &y, grain, 3, 6, 0.8, None),
            Err(ForecastError::HistoryTooShort {
                needed: 22,
                got: 20
            })
        );
        // 5 origins leave exactly 20 − 15 = 5 >= 4 periods: fine.
        assert!(backtest(sn, &y, grain, 3, 5, 0.8, None).is_ok());
        assert!(matches!(
            backtest(sn, &y, grain, 3, 7, 0.8, None),
            Err(ForecastError::HistoryTooShort { .. })
        ));
        assert!(matches!(
            backtest(Method::HoltWinters, &[], Grain::HOURLY, 24, 1, 0.8, None),
            Err(ForecastError::HistoryTooShort { .. })
        ));
        assert_eq!(
            backtest(
                Method::LaunchAware,
                &vec![1.0; 400],
                Grain::HOURLY,
                24,
                1,
                0.8,
                None
            ),
            Err(ForecastError::MissingRegressor)
        );
        let mut bad = y.clone();
        bad[19] = f64::NAN;
        assert!(matches!(
            backtest(sn, &bad, grain, 3, 2, 0.8, None),
            Err(ForecastError::InvalidValue { index: 19, .. })
        ));
    }
}
