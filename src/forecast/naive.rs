//! Seasonal naive forecasts with empirical prediction intervals.

use super::stats::central_quantiles;
use super::{Forecast, ForecastError, check_len, check_level, check_period, check_series};

/// Seasonal naive forecast with season length `period` (FPP3 §5.2).
///
/// Point forecast: `ŷ_{T+h} = y_{T+h−m·k}`, `k = ceil(h/m)`, i.e. forecast period `j`
/// (0-based) repeats `history[T − m + (j mod m)]`. Interval: the central `level` quantiles
/// `q_lo, q_hi` of the in-sample one-season-ahead errors `e_t = y_t − y_{t−m}` scaled by `√k`
/// (FPP3 §5.5, Table 5.2), `[ŷ + √k·q_lo, ŷ + √k·q_hi]`, clamped at 0.
///
/// # Errors
///
/// A `period` of 0, a `level` outside (0, 1), a value that is not finite and `>= 0`, or fewer
/// than `2·period` values of history.
pub fn seasonal_naive(
    history: &[f64],
    period: usize,
    horizon: usize,
    level: f64,
) -> Result<Forecast, ForecastError> {
    check_period(period)?;
    check_level(level)?;
    check_series(history)?;
    check_len(history, 2 * period)?;
    let n = history.len();
    let mut errors: Vec<f64> = history[period..]
        .iter()
        .zip(history)
        .map(|(now, season_ago)| now - season_ago)
        .collect();
    let (q_lo, q_hi) = central_quantiles(&mut errors, level);
    let last_season = &history[n - period..];
    let mut out = Forecast::with_capacity(horizon);
    for j in 0..horizon {
        let point = last_season[j % period];
        let scale = ((j / period + 1) as f64).sqrt();
        out.push(point, point + scale * q_lo, point + scale * q_hi);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{Grain, Method, forecast};

    fn daily_shape(t: usize) -> f64 {
        // An arbitrary, non-symmetric hourly profile.
        [
            3.0, 2.0, 1.0, 1.0, 2.0, 5.0, 9.0, 14.0, 16.0, 15.0, 14.0, 13.0, 15.0, 14.0, 13.0,
            12.0, 14.0, 18.0, 25.0, 31.0, 30.0, 22.0, 12.0, 6.0,
        ][t % 24]
    }

    /// Test 1a: a series with exact period 24 is reproduced exactly (bit-for-bit: the
    /// forecast copies values) and, as every in-sample error is 0, the interval collapses.
    #[test]
    fn periodic_series_is_reproduced_exactly() {
        let y: Vec<f64> = (0..72).map(daily_shape).collect();
        let f = forecast(Method::SeasonalNaiveDaily, &y, Grain::HOURLY, 48, 0.8, None).unwrap();
        let truth: Vec<f64> = (72..120).map(daily_shape).collect();
        assert_eq!(f.mean, truth);
        assert_eq!(f.low, truth);
        assert_eq!(f.high, truth);

        // Weekly: a profile that differs by day of week, 3 weeks of history.
        let weekly = |t: usize| daily_shape(t) * (1.0 + 0.1 * ((t / 24) % 7) as f64);
        let y: Vec<f64> = (0..504).map(weekly).collect();
        let f = forecast(
            Method::SeasonalNaiveWeekly,
            &y,
            Grain::HOURLY,
            200,
            0.8,
            None,
        );
        let truth: Vec<f64> = (504..704).map(weekly).collect();
        assert_eq!(f.unwrap().mean, truth);
    }

    /// Test 1b: after a level step inside the last season the forecast is the last season,
    /// element for element, not the pre-step pattern.
    #[test]
    fn step_series_forecasts_the_last_season() {
        let y: Vec<f64> = (0..96)
            .map(|t| daily_shape(t) + if t >= 80 { 30.0 } else { 0.0 })
            .collect();
        let f = forecast(Method::SeasonalNaiveDaily, &y, Grain::HOURLY, 48, 0.8, None).unwrap();
        for j in 0..48 {
            assert_eq!(f.mean[j], y[72 + j % 24], "j={j}");
        }
        // Hours 8..23 of the last day are stepped up by 30 and so are their forecasts.
        assert_eq!(f.mean[10], daily_shape(10) + 30.0);
        assert_eq!(f.mean[3], daily_shape(3));
    }

    /// The interval is the residual quantiles scaled by √k: residuals here are
    /// e = [0, …, 0, +30 × 16] over 72 values, so with level 0.8, q_lo = 0 and
    /// q_hi = 30 (more than 10 % of the errors are 30). Season 1: high = ŷ + 30; season 2:
    /// high = ŷ + 30·√2.
    #[test]
    fn interval_width_grows_with_sqrt_of_seasons_ahead() {
        let y: Vec<f64> = (0..96)
            .map(|t| daily_shape(t) + if t >= 80 { 30.0 } else { 0.0 })
            .collect();
        let f = seasonal_naive(&y, 24, 48, 0.8).unwrap();
        for j in 0..48 {
            let k = (j / 24 + 1) as f64;
            assert_eq!(f.low[j], f.mean[j]);
            assert!(
                (f.high[j] - f.mean[j] - 30.0 * k.sqrt()).abs() < 1e-9,
                "j={j}"
            );
        }
    }

    #[test]
    fn too_short_history_is_an_error() {
        assert_eq!(
            seasonal_naive(&[1.0; 47], 24, 5, 0.8),
            Err(ForecastError::HistoryTooShort {
                needed: 48,
                got: 47
            })
        );
        assert_eq!(
            seasonal_naive(&[1.0; 47], 0, 5, 0.8),
            Err(ForecastError::InvalidPeriod(0))
        );
        // Daily grain, daily season: period 1 is the plain naive forecast.
        let f = seasonal_naive(&[1.0, 2.0, 4.0], 1, 2, 0.8).unwrap();
        assert_eq!(f.mean, vec![4.0, 4.0]);
    }
}
