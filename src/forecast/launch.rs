//! Launch-aware forecast: a weekly seasonal profile scaled by a launch regressor.
//!
//! # Model
//!
//! `y_t = s_p·(1 + β·x_t) + ε_t`, `p = t mod m`, `β >= 0`, with `x_t >= 0` the launch
//! regressor (known in advance for the horizon) and `m` one week of periods. It is a
//! regression on seasonal dummies with a spike-style intervention variable (FPP3 §7.4)
//! entering multiplicatively, so a launch lifts each hour in proportion to its usual traffic.
//! The profile is assumed stable over the history (no trend): it is an average of all weeks.
//!
//! # Fitting
//!
//! For fixed `β`, write `w_t = 1 + β·x_t >= 1`; the least-squares profile is
//! `s_p(β) = Σ_{t≡p} y_t·w_t / Σ_{t≡p} w_t²`, and the profile SSE
//! `SSE(β) = Σ_t (y_t − s_p(β)·w_t)² = Σ_p [Σy² − (Σyw)²/Σw²]` is a function of `β` alone,
//! evaluated in `O(m)` from per-position sums (`Σyw` and `Σw²` are polynomials in `β`). It
//! is minimised by a 1-D search over the lift at the largest regressor value,
//! `L = β·max_t x_t`: a grid `L ∈ {0} ∪ {10^(i/10) : i = −30..=30}` (62 points, 0.1 % to
//! 1000 % lift), then 60 golden-section steps on the bracket around the best grid point,
//! keeping the better of the two. If `x` is 0 over the whole history, `β` is not identified
//! and is set to 0 ([`LaunchModel::beta_identified`] is false): the forecast is then the
//! weekly profile even when a launch is scheduled.
//!
//! # Interval
//!
//! Fitted residuals `r_t = y_t − ŝ_p·(1 + β̂·x_t)` understate forecast errors because each
//! `ŝ_p` was fitted to the observations it is compared with: for a mean of `n_p` values the
//! residual variance is `σ²(1 − 1/n_p)` and the forecast-error variance `σ²(1 + 1/n_p)`
//! (exactly so for `β = 0`, approximately otherwise). So the interval is
//! `ŷ + c·[q_lo, q_hi]`, with `q` the central `level` quantiles (type 7) of `r` and
//! `c = √((n_p + 1)/(n_p − 1))`, `n_p = T/m >= 2`. The model has no random-walk component,
//! so the width does not grow with the horizon (unlike seasonal naive). Residuals are
//! additive, so launch hours, whose noise is larger in absolute terms, are covered less
//! often than quiet hours.

use super::stats::{quantile_sorted, sorted_central_quantiles};
use super::{
    Forecast, ForecastError, check_len, check_level, check_period, check_regressor, check_series,
};

const LIFT_GRID_DECADES: i32 = 3;
const LIFT_GRID_PER_DECADE: i32 = 10;
const GOLDEN_STEPS: usize = 60;

/// A fitted launch-aware model.
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchModel {
    /// Season length `m`, in periods.
    pub period: usize,
    /// Baseline profile by position: `season[p]` for `t mod m = p` [count, >= 0].
    pub season: Vec<f64>,
    /// Launch coefficient `β >= 0`: lift per unit of regressor.
    pub beta: f64,
    /// Whether the history's regressor had any non-zero value; if not, `β = 0` by default.
    pub beta_identified: bool,
    /// Number of observations fitted, `T`.
    pub n: usize,
    /// In-sample sum of squared residuals.
    pub sse: f64,
    /// Fitted residuals `y_t − ŷ_t`, sorted ascending.
    pub residuals: Vec<f64>,
    /// Interval inflation `√((n_p + 1)/(n_p − 1))`, `n_p = T/m`.
    pub inflation: f64,
}

impl LaunchModel {
    /// Forecast of the periods `T, T + 1, …` whose regressor values are `future` (one per
    /// period; its length is the horizon), with a central interval at `level`.
    ///
    /// # Errors
    ///
    /// A `level` outside (0, 1), a regressor value that is not finite and `>= 0`, or a model
    /// whose `season` does not hold `period >= 1` values (only possible for a hand-built
    /// model).
    pub fn forecast(&self, future: &[f64], level: f64) -> Result<Forecast, ForecastError> {
        check_level(level)?;
        if self.period == 0 || self.season.len() != self.period {
            return Err(ForecastError::InvalidPeriod(self.period));
        }
        check_regressor(future, self.n)?;
        let (q_lo, q_hi) = sorted_central_quantiles(&self.residuals, level);
        let mut out = Forecast::with_capacity(future.len());
        for (j, x) in future.iter().enumerate() {
            let point = self.season[(self.n + j) % self.period] * (1.0 + self.beta * x);
            out.push(
                point,
                point + self.inflation * q_lo,
                point + self.inflation * q_hi,
            );
        }
        Ok(out)
    }

    /// Median fitted residual, a quick check of systematic bias.
    pub fn median_residual(&self) -> f64 {
        quantile_sorted(&self.residuals, 0.5)
    }
}

/// Fits the launch-aware model with season `period` to `history` and the regressor values
/// over the same periods (`regressor[..history.len()]` is used).
///
/// # Errors
///
/// A `period` of 0, a history or regressor value that is not finite and `>= 0`, fewer than
/// `2·period` values of history, or a regressor shorter than the history.
pub fn launch_fit(
    history: &[f64],
    regressor: &[f64],
    period: usize,
) -> Result<LaunchModel, ForecastError> {
    check_period(period)?;
    check_series(history)?;
    check_len(history, 2 * period)?;
    let n = history.len();
    if regressor.len() < n {
        return Err(ForecastError::RegressorTooShort {
            needed: n,
            got: regressor.len(),
        });
    }
    let x = &regressor[..n];
    check_regressor(x, 0)?;

    let x_max = x.iter().fold(0.0_f64, |a, b| a.max(*b));
    let moments = Moments::new(history, x, period);
    let beta = if x_max > 0.0 {
        search_beta(&moments, x_max)
    } else {
        0.0
    };
    let season = moments.season(beta);
    let mut residuals: Vec<f64> = history
        .iter()
        .zip(x)
        .enumerate()
        .map(|(t, (y, xt))| y - season[t % period] * (1.0 + beta * xt))
        .collect();
    let sse = residuals.iter().map(|r| r * r).sum();
    residuals.sort_unstable_by(f64::total_cmp);
    let per_position = n as f64 / period as f64;
    Ok(LaunchModel {
        period,
        season,
        beta,
        beta_identified: x_max > 0.0,
        n,
        sse,
        residuals,
        inflation: ((per_position + 1.0) / (per_position - 1.0)).sqrt(),
    })
}

/// Minimises the profile SSE over `β = L / x_max`: lift grid, then golden section on the
/// bracket around the best grid point; the better of the two is returned.
fn search_beta(moments: &Moments, x_max: f64) -> f64 {
    let steps = LIFT_GRID_DECADES * LIFT_GRID_PER_DECADE;
    let mut grid = vec![0.0];
    for i in -steps..=steps {
        grid.push(10f64.powf(f64::from(i) / f64::from(LIFT_GRID_PER_DECADE)));
    }
    let sse_of = |lift: f64| {
        let sse = moments.sse(lift / x_max);
        if sse.is_nan() { f64::INFINITY } else { sse }
    };
    let mut best = (0, f64::INFINITY);
    for (i, lift) in grid.iter().enumerate() {
        let sse = sse_of(*lift);
        if sse < best.1 {
            best = (i, sse);
        }
    }
    let (i, grid_sse) = best;
    let (mut a, mut b) = (grid[i.saturating_sub(1)], grid[(i + 1).min(grid.len() - 1)]);
    // Golden-section search on [a, b].
    let inv_phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - inv_phi * (b - a);
    let mut d = a + inv_phi * (b - a);
    let (mut fc, mut fd) = (sse_of(c), sse_of(d));
    for _ in 0..GOLDEN_STEPS {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - inv_phi * (b - a);
            fc = sse_of(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + inv_phi * (b - a);
            fd = sse_of(d);
        }
    }
    let (lift, sse) = if fc <= fd { (c, fc) } else { (d, fd) };
    if sse < grid_sse {
        lift / x_max
    } else {
        grid[i] / x_max
    }
}

/// Per-position sums that make the profile SSE an `O(m)` function of `β`: with
/// `w = 1 + βx`, `Σyw = S_y + β·S_yx` and `Σw² = n_p + 2β·S_x + β²·S_xx`, so
/// `s_p = Σyw/Σw²` and `SSE_p = S_yy − (Σyw)²/Σw²`.
struct Moments {
    count: Vec<f64>,
    y: Vec<f64>,
    yy: Vec<f64>,
    yx: Vec<f64>,
    x: Vec<f64>,
    xx: Vec<f64>,
}

impl Moments {
    fn new(y: &[f64], x: &[f64], period: usize) -> Moments {
        let mut mo = Moments {
            count: vec![0.0; period],
            y: vec![0.0; period],
            yy: vec![0.0; period],
            yx: vec![0.0; period],
            x: vec![0.0; period],
            xx: vec![0.0; period],
        };
        for (t, (yt, xt)) in y.iter().zip(x).enumerate() {
            let p = t % period;
            mo.count[p] += 1.0;
            mo.y[p] += yt;
            mo.yy[p] += yt * yt;
            mo.yx[p] += yt * xt;
            mo.x[p] += xt;
            mo.xx[p] += xt * xt;
        }
        mo
    }

    /// `Σyw` and `Σw²` of position `p` at `β`; `Σw² >= n_p >= 2` as `T >= 2m` and `w >= 1`.
    fn sums(&self, p: usize, beta: f64) -> (f64, f64) {
        (
            self.y[p] + beta * self.yx[p],
            self.count[p] + beta * (2.0 * self.x[p] + beta * self.xx[p]),
        )
    }

    /// The least-squares profile at `β`.
    fn season(&self, beta: f64) -> Vec<f64> {
        (0..self.count.len())
            .map(|p| {
                let (yw, ww) = self.sums(p, beta);
                yw / ww
            })
            .collect()
    }

    /// Profile SSE at `β` up to a constant: positions where `x` is always 0 do not depend on
    /// `β` and are left out (which also keeps their rounding out of the comparison).
    fn sse(&self, beta: f64) -> f64 {
        (0..self.count.len())
            .filter(|p| self.x[*p] > 0.0)
            .map(|p| {
                let (yw, ww) = self.sums(p, beta);
                self.yy[p] - yw * yw / ww
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::testing::{SplitMix64, launch_regressor, weekly_profile};
    use crate::forecast::{Grain, Method, Regressor, backtest};

    /// Builds `y_t = s_{t mod 168}·(1 + β·x_t)·(1 + 0.05·z_t)` (5 % multiplicative noise,
    /// `z` standard normal), hourly, with launches at the given hours.
    fn synthetic(beta: f64, n: usize, launches: &[usize], seed: u64) -> (Vec<f64>, Regressor) {
        let mut rng = SplitMix64::new(seed);
        let x = launch_regressor(n, launches);
        let y = (0..n)
            .map(|t| {
                (weekly_profile(t) * (1.0 + beta * x[t]) * (1.0 + 0.05 * rng.normal())).max(0.0)
            })
            .collect();
        (y, Regressor { values: x })
    }

    /// Test 3a: β = 0.8 is recovered within 10 % from 8 weeks with 4 launches, 5 % noise.
    /// 10 % is the brief's tolerance; with ≈ 4·72 launch-affected hours the standard error
    /// of β̂ is ≈ 1–2 %, so a wrong estimator (e.g. ignoring the launch weeks' effect on the
    /// profile) fails while sampling noise does not.
    #[test]
    fn recovers_beta_within_ten_percent() {
        let n = 8 * 168;
        let (y, reg) = synthetic(0.8, n, &[100, 430, 800, 1200], 7);
        let model = launch_fit(&y, &reg.values, 168).unwrap();
        assert!(model.beta_identified);
        assert!((model.beta - 0.8).abs() < 0.08, "beta {}", model.beta);
        assert!(
            model.median_residual().abs() < 2.0,
            "{}",
            model.median_residual()
        );
        // Without a launch effect, β̂ is ≈ 0.
        let (y0, reg0) = synthetic(0.0, n, &[100, 430, 800, 1200], 8);
        let model0 = launch_fit(&y0, &reg0.values, 168).unwrap();
        assert!(model0.beta < 0.05, "beta {}", model0.beta);
    }

    /// Test 3b: on a held-out week that contains a launch, launch-aware beats weekly seasonal
    /// naive on WAPE (1 origin, horizon 168): naive repeats last week (which had its own
    /// launch on another day) and misses this week's.
    #[test]
    fn beats_weekly_seasonal_naive_on_a_launch_week() {
        let n = 8 * 168;
        let (y, reg) = synthetic(0.8, n, &[100, 430, 800, 1050, 1200], 9);
        let run = |method| {
            backtest(method, &y, Grain::HOURLY, 168, 1, 0.8, Some(&reg))
                .unwrap()
                .accuracy()
        };
        let launch = run(Method::LaunchAware);
        let naive = run(Method::SeasonalNaiveWeekly);
        let (lw, nw) = (launch.wape.unwrap(), naive.wape.unwrap());
        assert!(lw < nw, "launch-aware {lw} vs weekly naive {nw}");
        // 5 % noise: launch-aware should be close to the noise floor (≈ 4 %).
        assert!(lw < 0.06, "{lw}");
        // 80 % interval coverage on the held-out week: 168 correlated points, so a loose
        // 65–95 % band (a missing inflation or launch term would drop it well below).
        let coverage = launch.coverage.unwrap();
        assert!((0.65..=0.95).contains(&coverage), "coverage {coverage}");
    }

    /// An all-zero regressor over history: β is not identified and falls back to 0, the
    /// forecast is the weekly mean profile.
    #[test]
    fn zero_regressor_falls_back_to_seasonal_profile() {
        let n = 3 * 168;
        let y: Vec<f64> = (0..n)
            .map(|t| weekly_profile(t) + (t / 168) as f64)
            .collect();
        let model = launch_fit(&y, &vec![0.0; n], 168).unwrap();
        assert!(!model.beta_identified);
        assert_eq!(model.beta, 0.0);
        // Weeks add 0, 1, 2 to the profile: the fitted profile is the profile + 1.
        for p in 0..168 {
            assert!((model.season[p] - weekly_profile(p) - 1.0).abs() < 1e-9);
        }
        let future = vec![1.0; 24];
        let f = model.forecast(&future, 0.8).unwrap();
        assert!((f.mean[0] - weekly_profile(0) - 1.0).abs() < 1e-9);
        // Residuals are −1, 0, +1 (168 each): the 10 % and 90 % quantiles are −1 and +1,
        // and with n_p = 3 weeks the inflation is √(4/2) = √2.
        let sqrt2 = 2f64.sqrt();
        assert!((model.inflation - sqrt2).abs() < 1e-12);
        assert!((f.high[5] - f.mean[5] - sqrt2).abs() < 1e-9);
        assert!((f.mean[5] - f.low[5] - sqrt2).abs() < 1e-9);
    }

    /// The interval inflation is what makes short histories honest: with 2 weeks of history
    /// (n_p = 2) the in-sample residuals have variance σ²/2 but forecast errors 3σ²/2, so
    /// without the √3 inflation an 80 % interval covers ≈ 54 %. Pure profile + N(0, 5²)
    /// noise, β = 0, 20 seeds × 4 future weeks (13,440 points; errors share each seed's
    /// profile estimate, so the effective sample is a few thousand): pooled coverage must be
    /// 75–85 %.
    #[test]
    fn interval_is_calibrated_on_short_histories() {
        let (m, n, future_len) = (168, 2 * 168, 4 * 168);
        let (mut covered, mut total) = (0, 0);
        for seed in 0..20 {
            let mut rng = SplitMix64::new(100 + seed);
            let mut draw = |t: usize| weekly_profile(t) + 5.0 * rng.normal();
            let y: Vec<f64> = (0..n).map(&mut draw).collect();
            let actual: Vec<f64> = (n..n + future_len).map(&mut draw).collect();
            let model = launch_fit(&y, &vec![0.0; n], m).unwrap();
            let f = model.forecast(&vec![0.0; future_len], 0.8).unwrap();
            for (i, a) in actual.iter().enumerate() {
                covered += usize::from(f.low[i] <= *a && *a <= f.high[i]);
                total += 1;
            }
        }
        let coverage = covered as f64 / total as f64;
        assert!((0.75..=0.85).contains(&coverage), "coverage {coverage}");
    }

    #[test]
    fn short_inputs_are_errors() {
        assert_eq!(
            launch_fit(&[1.0; 300], &[0.0; 300], 168),
            Err(ForecastError::HistoryTooShort {
                needed: 336,
                got: 300
            })
        );
        assert_eq!(
            launch_fit(&[1.0; 400], &[0.0; 399], 168),
            Err(ForecastError::RegressorTooShort {
                needed: 400,
                got: 399
            })
        );
    }
}
