//! Timing of the brief's workload (not asserted): 1,000 hourly segments × 8 weeks (1,344
//! points each), per method a 168-hour forecast plus a 4-origin, 168-hour backtest.
//!
//! Run with `cargo test --release -- --ignored --nocapture speed_1000_segments`.

use super::testing::{SplitMix64, launch_regressor, sparse_series, weekly_profile};
use super::{Grain, Method, Regressor, backtest, forecast, pool};

#[test]
#[ignore = "timing run; use --release --ignored --nocapture"]
// The core reads no clock (clippy.toml); this test only reports wall time.
#[allow(clippy::disallowed_methods)]
fn speed_1000_segments() {
    const SEGMENTS: usize = 1000;
    const N: usize = 8 * 168;
    const H: usize = 168;
    let mut rng = SplitMix64::new(42);
    let segments: Vec<(Vec<f64>, Regressor)> = (0..SEGMENTS)
        .map(|i| {
            let scale = 0.05 + 20.0 * rng.uniform();
            let launches: Vec<usize> = (0..3)
                .map(|_| (rng.next_u64() % (N + H) as u64) as usize)
                .collect();
            let x = launch_regressor(N + H, &launches);
            let y = if i % 5 == 0 {
                // Every fifth segment is sparse: mostly zeros.
                sparse_series(&mut rng, N, 0.2)
            } else {
                (0..N)
                    .map(|t| {
                        let mean = scale * weekly_profile(t) * (1.0 + 0.6 * x[t]);
                        (mean + mean.sqrt() * rng.normal()).max(0.0).round()
                    })
                    .collect()
            };
            (y, Regressor { values: x })
        })
        .collect();

    for method in Method::ALL {
        let start = std::time::Instant::now();
        let mut parts = Vec::with_capacity(SEGMENTS);
        let mut checksum = 0.0;
        for (y, reg) in &segments {
            let f = forecast(method, y, Grain::HOURLY, H, 0.8, Some(reg)).unwrap();
            checksum += f.mean.iter().sum::<f64>();
            let bt = backtest(method, y, Grain::HOURLY, H, 4, 0.8, Some(reg)).unwrap();
            parts.push(bt.accumulator);
        }
        let secs = start.elapsed().as_secs_f64();
        let acc = pool(&parts);
        println!(
            "{:<22} {secs:>7.3} s  (5 fits/segment)  pooled WAPE {:.4}  bias {:+.4}  \
             80% coverage {:.3}  MAPE {:.3} ({} zeros skipped)  checksum {checksum:.0}",
            method.name(),
            acc.wape.unwrap_or(f64::NAN),
            acc.bias.unwrap_or(f64::NAN),
            acc.coverage.unwrap_or(f64::NAN),
            acc.mape.unwrap_or(f64::NAN),
            acc.n_zero_skipped,
        );
    }
}
