//! Confidence intervals for replicated simulation outputs.
//!
//! Replications are independent runs (different seeds), so a KPI's replication values are an
//! i.i.d. sample and its mean has the Student-t interval `mean ± t(0.975, n−1) · s / √n`. A
//! paired comparison (A and B on the same seeds) applies the same interval to the per-seed
//! differences `B − A`: common random numbers make A and B move together, so the differences
//! vary far less than either side, and the interval is narrower than the unpaired (Welch) one
//! on the same runs — `docs/experiments.md` shows by how much.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Level of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// A mean with its standard error and 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub n: usize,
    pub mean: f64,
    /// Standard error of the mean (0 with one value).
    pub se: f64,
    /// Interval bounds; equal to the mean with one value (no interval can be given).
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    /// Whether the interval excludes `value` (never, with one value).
    pub fn excludes(&self, value: f64) -> bool {
        self.n > 1 && (self.low > value || self.high < value)
    }
}

/// The two-sided `CONFIDENCE` quantile of Student's t with `df` degrees of freedom.
fn t_quantile(df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df)
        .map(|t| t.inverse_cdf(0.5 + CONFIDENCE / 2.0))
        .unwrap_or(f64::NAN)
}

/// Mean, standard error and Student-t interval of `values` (at least one).
pub fn estimate(values: &[f64]) -> Estimate {
    let n = values.len();
    assert!(n > 0, "an estimate needs at least one value");
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Estimate {
            n,
            mean,
            se: 0.0,
            low: mean,
            high: mean,
        };
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (variance / n as f64).sqrt();
    let half = t_quantile((n - 1) as f64) * se;
    Estimate {
        n,
        mean,
        se,
        low: mean - half,
        high: mean + half,
    }
}

/// The paired estimate of `b − a` over the same replications.
pub fn paired(a: &[f64], b: &[f64]) -> Estimate {
    assert_eq!(a.len(), b.len(), "paired samples have equal lengths");
    let differences: Vec<f64> = a.iter().zip(b).map(|(a, b)| b - a).collect();
    estimate(&differences)
}

/// The unpaired (Welch) estimate of `mean(b) − mean(a)`, treating the samples as independent:
/// what the comparison would give without common random numbers.
pub fn welch(a: &[f64], b: &[f64]) -> Estimate {
    let (ea, eb) = (estimate(a), estimate(b));
    let mean = eb.mean - ea.mean;
    let n = a.len().min(b.len());
    if n < 2 {
        return Estimate {
            n,
            mean,
            se: 0.0,
            low: mean,
            high: mean,
        };
    }
    let (va, vb) = (ea.se.powi(2), eb.se.powi(2));
    let se = (va + vb).sqrt();
    // Welch–Satterthwaite degrees of freedom; with two zero variances any df gives a zero
    // half-width.
    let df = if va + vb > 0.0 {
        (va + vb).powi(2) / (va.powi(2) / (a.len() - 1) as f64 + vb.powi(2) / (b.len() - 1) as f64)
    } else {
        (a.len() + b.len() - 2) as f64
    };
    let half = t_quantile(df) * se;
    Estimate {
        n,
        mean,
        se,
        low: mean - half,
        high: mean + half,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_interval_by_hand() {
        // Values 1..=5: mean 3, s² = 2.5, se = √(2.5/5) = 0.7071; t(0.975, 4) = 2.776445.
        let e = estimate(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!((e.mean - 3.0).abs() < 1e-12);
        assert!((e.se - 0.5f64.sqrt()).abs() < 1e-12);
        let half = 2.776_445_105 * 0.5f64.sqrt();
        assert!((e.high - (3.0 + half)).abs() < 1e-6, "{e:?}");
        assert!(e.excludes(6.0) && !e.excludes(4.0));
        // One value: no interval, never significant.
        let single = estimate(&[7.0]);
        assert_eq!((single.low, single.high), (7.0, 7.0));
        assert!(!single.excludes(0.0));
    }

    #[test]
    fn pairing_removes_the_shared_noise() {
        // B = A + 1 exactly, A noisy: the paired interval is the point 1; Welch's is wide.
        let a = [10.0, 12.0, 9.0, 14.0, 11.0];
        let b: Vec<f64> = a.iter().map(|x| x + 1.0).collect();
        let p = paired(&a, &b);
        assert_eq!((p.mean, p.low, p.high), (1.0, 1.0, 1.0));
        let w = welch(&a, &b);
        assert!((w.mean - 1.0).abs() < 1e-12);
        assert!(w.low < -1.0 && w.high > 3.0, "{w:?}");
    }
}
