//! Additive Holt-Winters (ETS(A,A,A), undamped) with fitted smoothing parameters.
//!
//! # Recursions
//!
//! In error-correction form (FPP3 §8.5), with one-step error
//! `e_t = y_t − (ℓ_{t−1} + b_{t−1} + s_{t−m})`:
//! `ℓ_t = ℓ_{t−1} + b_{t−1} + α·e_t`, `b_t = b_{t−1} + αβ·e_t`, `s_t = s_{t−m} + γ·e_t`,
//! which is algebraically the component form of FPP3 §8.3 quoted in the module docs.
//!
//! # Initial states (first two seasons)
//!
//! With `ȳ₀, ȳ₁` the means of `y_0..y_{m−1}` and `y_m..y_{2m−1}`: trend `b = (ȳ₁ − ȳ₀)/m`;
//! the trend line through season `j` is `ȳ_j + b·(i − (m−1)/2)` at position `i`, so
//! `s_i = ½ Σ_{j=0,1} (y_{i+jm} − ȳ_j − b·(i − (m−1)/2))` (they sum to 0), and the level
//! before the first observation is `ℓ_{−1} = ȳ₀ − b·((m−1)/2 + 1)`. A series that is exactly
//! linear trend plus additive season is initialised exactly.
//!
//! # Fitting
//!
//! `α, β, γ` minimise the one-step SSE over all `T` observations (the first two seasons
//! included) within `α, β ∈ [0, 1]`, `γ ∈ [0, 1 − α]` (the usual region of FPP3 §8.3):
//! 1. a coarse grid `α ∈ {0.02, 0.1, 0.25, 0.5, 0.8}` × `β ∈ {0, 0.02, 0.1, 0.3}` ×
//!    `γ ∈ {0, 0.05, 0.15, 0.4}` (points with `γ > 1 − α` skipped), 76 evaluations;
//! 2. a compass (pattern) search from the best grid point: evaluate the `±step` neighbours
//!    on each axis (projected into the box), move to the best one if it improves, else halve
//!    all steps; steps start at `(0.05, 0.02, 0.05)` and the search stops when they fall
//!    below `1e-3` or after [`MAX_EVALUATIONS`] SSE evaluations (typically ≈ 140 on 8 weeks
//!    of hourly data; a hard cap so the cost per segment is bounded).
//!
//! Speed: a series pass is bound by the latency of the level–trend recursion, so candidates
//! are evaluated 8 at a time in lock-step lanes (the whole neighbourhood in one pass, the
//! grid in ten), and a pass stops early once every lane's partial SSE exceeds the best so
//! far. Each lane does exactly the arithmetic of a lone evaluation and ties keep the earlier
//! candidate, so the fit is deterministic and independent of the batching. No subsampling.
//!
//! # Interval
//!
//! The ETS(A,A,A) forecast variance (FPP3 §8.7, Table 8.8) is
//! `σ_h² = σ²[1 + Σ_{j=1}^{h−1} c_j²]`, `c_j = α + αβ·j + γ·[j mod m = 0]`
//! (Hyndman, Koehler, Ord & Snyder 2008, ch. 6), which sums to the closed form
//! `σ²[1 + (h−1){α² + α²β·h + (αβ)²h(2h−1)/6} + γk{2α + γ + αβ·m(k+1)}]`,
//! `k = ⌊(h−1)/m⌋`; it is accumulated term by term here. `σ̂² = SSE/(T − 3)`. The interval
//! is `ŷ ± Φ⁻¹((1 + level)/2)·σ_h`, clamped at 0. Like all ETS intervals it ignores the
//! uncertainty of the parameters and initial states, so it runs slightly narrow: ≈ 78 %
//! empirical coverage for a nominal 80 % on the synthetic series of the tests.

use super::stats::normal_quantile;
use super::{
    Forecast, ForecastError, Grain, check_grain, check_len, check_level, check_period, check_series,
};

/// Upper bound on SSE evaluations (parameter sets tried) per fit, grid included.
pub const MAX_EVALUATIONS: usize = 250;

/// Parameter sets evaluated together in one pass over the series.
const LANES: usize = 8;

const ALPHA_GRID: [f64; 5] = [0.02, 0.1, 0.25, 0.5, 0.8];
const BETA_GRID: [f64; 4] = [0.0, 0.02, 0.1, 0.3];
const GAMMA_GRID: [f64; 4] = [0.0, 0.05, 0.15, 0.4];
const INITIAL_STEP: [f64; 3] = [0.05, 0.02, 0.05];
const MIN_STEP: f64 = 1e-3;

/// A fitted additive Holt-Winters model: parameters and the states after the last
/// observation.
#[derive(Clone, Debug, PartialEq)]
pub struct HwModel {
    /// Season length `m`, in periods.
    pub period: usize,
    /// Level smoothing `α` in [0, 1].
    pub alpha: f64,
    /// Trend smoothing `β` (FPP3's `β*`) in [0, 1]; the ETS slope gain is `α·β`.
    pub beta: f64,
    /// Seasonal smoothing `γ` in [0, 1 − α].
    pub gamma: f64,
    /// Level `ℓ_T` after the last observation.
    pub level: f64,
    /// Trend `b_T` after the last observation [count per period].
    pub trend: f64,
    /// Seasonal states by position: `season[p]` is the latest `s_t` with `t mod m = p`.
    pub season: Vec<f64>,
    /// Number of observations fitted, `T`.
    pub n: usize,
    /// In-sample one-step sum of squared errors.
    pub sse: f64,
    /// Residual standard deviation `σ̂ = √(SSE/(T − 3))` (denominator at least 1).
    pub sigma: f64,
    /// SSE evaluations the parameter search used.
    pub evaluations: usize,
}

impl HwModel {
    /// Unclamped point forecast `ℓ_T + h·b_T + s_{T+h−m(k+1)}` for `h >= 1` periods ahead
    /// (the seasonal term is 0 if `season` is empty).
    pub fn point(&self, h: usize) -> f64 {
        let t = (self.n + h).saturating_sub(1);
        let seasonal = t
            .checked_rem(self.season.len())
            .map_or(0.0, |p| self.season[p]);
        self.level + h as f64 * self.trend + seasonal
    }

    /// Forecast of `horizon` periods with a central normal interval at `level`, clamped at 0.
    ///
    /// # Errors
    ///
    /// A `level` outside (0, 1), or a model whose `season` does not hold `period >= 1`
    /// states (only possible for a hand-built model).
    pub fn forecast(&self, horizon: usize, level: f64) -> Result<Forecast, ForecastError> {
        check_level(level)?;
        if self.period == 0 || self.season.len() != self.period {
            return Err(ForecastError::InvalidPeriod(self.period));
        }
        let z = normal_quantile((1.0 + level) / 2.0);
        let slope_gain = self.alpha * self.beta;
        let mut out = Forecast::with_capacity(horizon);
        // Σ_{j=1}^{h−1} c_j², grown by one term per step.
        let mut sum_c2 = 0.0;
        for h in 1..=horizon {
            if h > 1 {
                let j = h - 1;
                let seasonal = if j % self.period == 0 {
                    self.gamma
                } else {
                    0.0
                };
                let c = self.alpha + slope_gain * j as f64 + seasonal;
                sum_c2 += c * c;
            }
            let half_width = z * self.sigma * (1.0 + sum_c2).sqrt();
            let point = self.point(h);
            out.push(point, point - half_width, point + half_width);
        }
        Ok(out)
    }
}

/// Season length for Holt-Winters on `n` periods at `grain`: weekly if the history holds two
/// full weeks, else daily.
///
/// # Errors
///
/// An invalid grain, or `n` below two days of periods.
pub fn holt_winters_period(n: usize, grain: Grain) -> Result<usize, ForecastError> {
    check_grain(grain)?;
    let (day, week) = (grain.daily_period(), grain.weekly_period());
    if n >= 2 * week {
        Ok(week)
    } else if n >= 2 * day {
        Ok(day)
    } else {
        Err(ForecastError::HistoryTooShort {
            needed: 2 * day,
            got: n,
        })
    }
}

/// Fits additive Holt-Winters with season `period` to `history` (see the module docs).
///
/// # Errors
///
/// A `period` of 0, a value that is not finite and `>= 0`, or fewer than `2·period` values.
pub fn holt_winters_fit(history: &[f64], period: usize) -> Result<HwModel, ForecastError> {
    check_period(period)?;
    check_series(history)?;
    check_len(history, 2 * period)?;
    let init = Init::from_two_seasons(history, period);
    let mut search = Search {
        y: history,
        init: &init,
        season: Vec::with_capacity(period),
        evaluations: 0,
        best: [ALPHA_GRID[0], BETA_GRID[0], GAMMA_GRID[0]],
        best_sse: f64::INFINITY,
    };

    // 1. Coarse grid, `LANES` candidates per pass.
    let mut grid = Vec::with_capacity(ALPHA_GRID.len() * BETA_GRID.len() * GAMMA_GRID.len());
    for alpha in ALPHA_GRID {
        for beta in BETA_GRID {
            for gamma in GAMMA_GRID.into_iter().filter(|g| *g <= 1.0 - alpha) {
                grid.push([alpha, beta, gamma]);
            }
        }
    }
    search.try_candidates(&grid);

    // 2. Compass search: the ±step neighbours on each axis in one pass; move to the best
    // improving one, or halve the steps if none improves.
    let mut step = INITIAL_STEP;
    while step.iter().any(|s| *s >= MIN_STEP) && search.evaluations + 6 <= MAX_EVALUATIONS {
        let centre = search.best;
        let mut neighbours = Vec::with_capacity(LANES);
        for dim in 0..3 {
            for sign in [1.0, -1.0] {
                let mut p = centre;
                p[dim] += sign * step[dim];
                let p = project(p);
                if p != centre {
                    neighbours.push(p);
                }
            }
        }
        if !search.try_candidates(&neighbours) {
            step.iter_mut().for_each(|s| *s /= 2.0);
        }
    }

    let (best, evaluations) = (search.best, search.evaluations);
    let mut season = Vec::with_capacity(period);
    let (sse, level, trend) = run(history, &init, best, &mut season);
    let dof = history.len().saturating_sub(3).max(1);
    Ok(HwModel {
        period,
        alpha: best[0],
        beta: best[1],
        gamma: best[2],
        level,
        trend,
        season,
        n: history.len(),
        sse,
        sigma: (sse / dof as f64).sqrt(),
        evaluations,
    })
}

/// Clamps parameters into `α, β ∈ [0, 1]`, `γ ∈ [0, 1 − α]`.
fn project([alpha, beta, gamma]: [f64; 3]) -> [f64; 3] {
    let alpha = alpha.clamp(0.0, 1.0);
    [alpha, beta.clamp(0.0, 1.0), gamma.clamp(0.0, 1.0 - alpha)]
}

/// Initial states: level and trend before the first observation, seasonal states by position.
struct Init {
    level: f64,
    trend: f64,
    season: Vec<f64>,
}

impl Init {
    /// The two-season heuristic of the module docs; `y.len() >= 2·m`.
    fn from_two_seasons(y: &[f64], m: usize) -> Init {
        let mean = |s: &[f64]| s.iter().sum::<f64>() / m as f64;
        let means = [mean(&y[..m]), mean(&y[m..2 * m])];
        let trend = (means[1] - means[0]) / m as f64;
        let centre = (m as f64 - 1.0) / 2.0;
        let season = (0..m)
            .map(|i| {
                let ramp = trend * (i as f64 - centre);
                0.5 * ((y[i] - means[0] - ramp) + (y[i + m] - means[1] - ramp))
            })
            .collect();
        Init {
            level: means[0] - trend * (centre + 1.0),
            trend,
            season,
        }
    }
}

/// Parameter search state: the data, the best candidate so far and a scratch buffer.
struct Search<'a> {
    y: &'a [f64],
    init: &'a Init,
    season: Vec<[f64; LANES]>,
    evaluations: usize,
    best: [f64; 3],
    best_sse: f64,
}

impl Search<'_> {
    /// Evaluates `candidates`, [`LANES`] per pass over the series, and keeps the first one
    /// with the lowest SSE if it beats the best so far. Returns whether the best changed.
    fn try_candidates(&mut self, candidates: &[[f64; 3]]) -> bool {
        let mut improved = false;
        for batch in candidates.chunks(LANES) {
            // Unused lanes repeat the first candidate; their results are ignored.
            let params: [[f64; 3]; LANES] =
                std::array::from_fn(|i| *batch.get(i).unwrap_or(&batch[0]));
            let (sse, _, _) =
                run_lanes(self.y, self.init, &params, self.best_sse, &mut self.season);
            self.evaluations += batch.len();
            for (p, sse) in batch.iter().zip(sse) {
                if sse < self.best_sse {
                    self.best = *p;
                    self.best_sse = sse;
                    improved = true;
                }
            }
        }
        improved
    }
}

/// Runs the recursions over `y` with parameters `[α, β, γ]`, leaving the final seasonal
/// states in `season`. Returns `(SSE, ℓ_T, b_T)`.
fn run(y: &[f64], init: &Init, params: [f64; 3], season: &mut Vec<f64>) -> (f64, f64, f64) {
    let mut lanes = Vec::with_capacity(init.season.len());
    let (sse, level, trend) = run_lanes(y, init, &[params], f64::INFINITY, &mut lanes);
    season.clear();
    season.extend(lanes.iter().map(|s| s[0]));
    (sse[0], level[0], trend[0])
}

/// [`run`] for `L` parameter sets at once, each in its own lane. One series pass is bound by
/// the latency of the level-trend recursion, so independent lanes come almost for free.
/// Each lane performs exactly the floating-point operations of a single run, so results do
/// not depend on which lane or batch a candidate is in. Stops early (returning partial SSEs)
/// after any season in which every lane's running SSE exceeds `cap`; NaN counts as infinite.
fn run_lanes<const L: usize>(
    y: &[f64],
    init: &Init,
    params: &[[f64; 3]; L],
    cap: f64,
    season: &mut Vec<[f64; L]>,
) -> ([f64; L], [f64; L], [f64; L]) {
    season.clear();
    season.extend(init.season.iter().map(|s| [*s; L]));
    let alpha: [f64; L] = std::array::from_fn(|i| params[i][0]);
    let slope_gain: [f64; L] = std::array::from_fn(|i| params[i][0] * params[i][1]);
    let gamma: [f64; L] = std::array::from_fn(|i| params[i][2]);
    let (mut level, mut trend) = ([init.level; L], [init.trend; L]);
    let mut sse = [0.0; L];
    // Season position p = t mod m: chunk k of y is season k, aligned with `season`.
    for chunk in y.chunks(season.len()) {
        for (yt, s) in chunk.iter().zip(season.iter_mut()) {
            for i in 0..L {
                let base = level[i] + trend[i];
                let e = yt - base - s[i];
                sse[i] += e * e;
                level[i] = base + alpha[i] * e;
                trend[i] += slope_gain[i] * e;
                s[i] += gamma[i] * e;
            }
        }
        if sse.iter().all(|v| v.is_nan() || *v > cap) {
            break;
        }
    }
    for v in &mut sse {
        if v.is_nan() {
            *v = f64::INFINITY;
        }
    }
    (sse, level, trend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::testing::SplitMix64;
    use crate::forecast::{Method, backtest, forecast};
    use std::f64::consts::PI;

    fn truth(t: usize) -> f64 {
        100.0 + 0.5 * t as f64 + 20.0 * (2.0 * PI * t as f64 / 24.0).sin()
    }

    /// Test 2a: noise-free trend + daily sine. Forecasts 48 steps ahead must be within 1 %
    /// of the truth (the brief's tolerance; the two-season initialisation is exact for this
    /// series, so the error is actually at rounding level and an off-by-one in the season
    /// index or the trend horizon would miss by far more than 1 %). Checked with a daily
    /// season (10 days of history) and a weekly one (8 weeks).
    #[test]
    fn noise_free_trend_and_season_is_forecast_within_one_percent() {
        for (n, m) in [(240, 24), (1344, 168)] {
            let y: Vec<f64> = (0..n).map(truth).collect();
            assert_eq!(holt_winters_period(n, Grain::HOURLY), Ok(m));
            let f = forecast(Method::HoltWinters, &y, Grain::HOURLY, 48, 0.8, None).unwrap();
            for (h, got) in f.mean.iter().enumerate() {
                let want = truth(n + h);
                assert!(
                    (got - want).abs() <= 0.01 * want,
                    "n={n} h={h}: {got} vs {want}"
                );
                assert!((got - want).abs() < 1e-6, "n={n} h={h}: {got} vs {want}");
            }
        }
    }

    /// The search (76 grid points + compass, ≤ 250 SSE evaluations) must reach the minimum
    /// of a dense grid over the whole box (α, β in steps of 0.05, γ in steps of 0.05 up to
    /// 1 − α: 21 × 21 × ≤ 21 points) to within 1 % of SSE, on three different shapes: a daily
    /// season whose phase jumps by 3 hours halfway (best fit: fast level and trend, γ = 0),
    /// a noisy trend + season, and a sparse Poisson segment. 1 % because the dense grid is
    /// itself coarse: the search can beat it but should never be materially worse.
    #[test]
    fn search_reaches_the_dense_grid_minimum() {
        let mut rng = SplitMix64::new(5);
        let shifted: Vec<f64> = (0..480)
            .map(|t| {
                let shift = if t >= 240 { 3 } else { 0 };
                100.0 + 20.0 * (2.0 * PI * (t + shift) as f64 / 24.0).sin()
            })
            .collect();
        let noisy: Vec<f64> = (0..480).map(|t| truth(t) + 8.0 * rng.normal()).collect();
        let sparse = crate::forecast::testing::sparse_series(&mut rng, 480, 0.3);
        for (name, y) in [("shifted", shifted), ("noisy", noisy), ("sparse", sparse)] {
            let model = holt_winters_fit(&y, 24).unwrap();
            assert!(model.evaluations <= MAX_EVALUATIONS);
            let init = Init::from_two_seasons(&y, 24);
            let mut buffer = Vec::new();
            let mut dense_min = f64::INFINITY;
            for i in 0..=20 {
                for j in 0..=20 {
                    for k in 0..=20 {
                        let p = [i as f64 / 20.0, j as f64 / 20.0, k as f64 / 20.0];
                        if p[2] <= 1.0 - p[0] + 1e-12 {
                            let sse = run(&y, &init, p, &mut buffer).0;
                            dense_min = dense_min.min(sse);
                        }
                    }
                }
            }
            assert!(
                model.sse <= dense_min * 1.01,
                "{name}: search {} vs dense grid {dense_min} ({model:?})",
                model.sse
            );
        }
    }

    /// The term-by-term variance equals the closed form of FPP3 Table 8.8 for ETS(A,A,A),
    /// to rounding (1e-9 relative), across season boundaries.
    #[test]
    fn variance_matches_table_8_8_closed_form() {
        let model = HwModel {
            period: 5,
            alpha: 0.3,
            beta: 0.2,
            gamma: 0.15,
            level: 1000.0,
            trend: 0.0,
            season: vec![0.0; 5],
            n: 50,
            sse: 0.0,
            sigma: 2.0,
            evaluations: 0,
        };
        let f = model.forecast(23, 0.8).unwrap();
        let z = normal_quantile(0.9);
        let (a, b, g, m) = (0.3, 0.3 * 0.2, 0.15, 5.0);
        for h in 1..=23usize {
            let hf = h as f64;
            let k = ((h - 1) / 5) as f64;
            let var = 4.0
                * (1.0
                    + (hf - 1.0) * (a * a + a * b * hf + b * b * hf * (2.0 * hf - 1.0) / 6.0)
                    + g * k * (2.0 * a + g + b * m * (k + 1.0)));
            let half = (f.high[h - 1] - f.mean[h - 1]) / z;
            assert!((half * half - var).abs() < 1e-9 * var, "h={h}");
        }
    }

    /// Test 2b: y_t = 200 + 0.1 t + 30 sin(2πt/24) + 10 sin(2πt/168) + ε, ε ~ N(0, 5²) from
    /// SplitMix64/Box–Muller. A 40-origin backtest (horizon 24, 960 forecasts, each refitted
    /// on ≥ 4 weeks) must cover 70–90 % with an 80 % interval. Why that wide: errors within
    /// one 24-hour window share the fitted states, so the 960 points are worth far fewer
    /// independent trials (≈ 40–200, binomial SE ≈ 3–6 pp), and σ̂ is estimated; a
    /// variance that is wrong by a factor of 2 moves coverage to ≈ 58 % or ≈ 92 %, outside.
    /// This seed gives 75 %; twelve other seeds gave 76.5–79.4 % (the interval ignores
    /// parameter uncertainty, so slightly below 80 % is expected).
    #[test]
    fn eighty_percent_interval_covers_about_eighty_percent() {
        let mut rng = SplitMix64::new(2024);
        let n = 4 * 168 + 40 * 24;
        let y: Vec<f64> = (0..n)
            .map(|t| {
                let tf = t as f64;
                200.0
                    + 0.1 * tf
                    + 30.0 * (2.0 * PI * tf / 24.0).sin()
                    + 10.0 * (2.0 * PI * tf / 168.0).sin()
                    + 5.0 * rng.normal()
            })
            .collect();
        let bt = backtest(Method::HoltWinters, &y, Grain::HOURLY, 24, 40, 0.8, None).unwrap();
        let acc = bt.accuracy();
        let coverage = acc.coverage.unwrap();
        assert_eq!(acc.n, 960);
        assert!((0.70..=0.90).contains(&coverage), "coverage {coverage}");
        // And the point forecasts are good: WAPE of noise σ=5 on level ≈ 250 is ≈ 1.6 %.
        assert!(acc.wape.unwrap() < 0.03, "{acc:?}");
    }

    #[test]
    fn too_short_history_is_an_error() {
        assert_eq!(
            holt_winters_period(47, Grain::HOURLY),
            Err(ForecastError::HistoryTooShort {
                needed: 48,
                got: 47
            })
        );
        assert_eq!(holt_winters_period(335, Grain::HOURLY), Ok(24));
        assert_eq!(holt_winters_period(336, Grain::HOURLY), Ok(168));
        assert_eq!(holt_winters_period(13, Grain::DAILY), Ok(1));
        assert_eq!(holt_winters_period(14, Grain::DAILY), Ok(7));
        assert_eq!(
            holt_winters_fit(&[1.0; 10], 6),
            Err(ForecastError::HistoryTooShort {
                needed: 12,
                got: 10
            })
        );
    }
}
