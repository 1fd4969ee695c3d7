//! A forecasting job over an inventory export: every segment's series, every method, a
//! forecast for the horizon after the history and a rolling-origin backtest, in parallel over
//! segments (results in segment order, so outputs do not depend on the thread count).

use rayon::prelude::*;

use super::{
    Accumulator, Accuracy, Forecast, ForecastError, Grain, Method, Regressor, backtest, forecast,
    pool,
};

/// One segment's history.
#[derive(Clone, Debug)]
pub struct Segment {
    /// The segment's key values, in the inventory's key order.
    pub key: Vec<String>,
    /// Requests per period.
    pub requests: Vec<f64>,
    /// Slot opportunities per request over the history (to forecast opportunities too), if
    /// the inventory has them.
    pub opportunities_per_request: Option<f64>,
    /// Launch regressor over history and horizon, for `LaunchAware`.
    pub regressor: Option<Regressor>,
}

/// What one method did on one segment.
#[derive(Clone, Debug)]
pub struct SegmentResult {
    pub forecast: Result<Forecast, ForecastError>,
    pub backtest: Result<Accumulator, ForecastError>,
}

/// What one method did on every segment.
#[derive(Clone, Debug)]
pub struct MethodResult {
    pub method: Method,
    pub segments: Vec<SegmentResult>,
    /// Backtest accuracy pooled over the segments that could be backtested.
    pub pooled: Accuracy,
}

/// Forecast settings.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub grain: Grain,
    pub horizon: usize,
    pub origins: usize,
    pub level: f64,
}

/// Runs `methods` on every segment.
pub fn run(segments: &[Segment], methods: &[Method], settings: Settings) -> Vec<MethodResult> {
    methods
        .iter()
        .map(|&method| {
            let results: Vec<SegmentResult> = segments
                .par_iter()
                .map(|segment| {
                    let regressor = segment.regressor.as_ref();
                    SegmentResult {
                        forecast: forecast(
                            method,
                            &segment.requests,
                            settings.grain,
                            settings.horizon,
                            settings.level,
                            regressor,
                        ),
                        backtest: backtest(
                            method,
                            &segment.requests,
                            settings.grain,
                            settings.horizon,
                            settings.origins,
                            settings.level,
                            regressor,
                        )
                        .map(|b| b.accumulator),
                    }
                })
                .collect();
            let parts: Vec<Accumulator> = results
                .iter()
                .filter_map(|r| r.backtest.as_ref().ok().cloned())
                .collect();
            MethodResult {
                method,
                pooled: pool(&parts),
                segments: results,
            }
        })
        .collect()
}
