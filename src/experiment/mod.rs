//! Experiments: replications, paired comparisons, sweeps and the KPI regression gate.
//!
//! A *replication* is one run of a scenario with one seed. Replication 0 uses the scenario's
//! master seed (so it is the plain `adsim run`); replication `r > 0` uses
//! `SplitMix64(master seed + r)`, a fixed function of the master seed and `r`. Runs execute in
//! parallel (rayon), each single-threaded and deterministic, and results are collected in
//! replication order, so every output is the same whatever the thread count.
//!
//! A comparison runs two scenarios on the same seeds. Traffic, and every component that does
//! not depend on the policy under test, draws from its own named stream, so A and B see the
//! same members, sessions and breaks (common random numbers) and their KPIs can be compared
//! per seed (`stats::paired`).
//!
//! Each run is reduced to the KPIs of `KPIS`, numbers read from its `Summary`.

pub mod stats;

use rayon::prelude::*;

use crate::adserver::PRICE_PRIORITY;
use crate::engine::Simulation;
use crate::report::{self, Summary};
use crate::scenario::Scenario;

/// Which way a KPI should move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
    /// Descriptive only: never a regression.
    Neutral,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher",
            Direction::LowerIsBetter => "lower",
            Direction::Neutral => "neutral",
        }
    }
}

/// A run-level KPI: its name, what is better, and how to read it from a summary.
#[derive(Debug)]
pub struct Kpi {
    pub name: &'static str,
    pub direction: Direction,
    pub read: fn(&Summary) -> f64,
}

fn guaranteed(summary: &Summary) -> impl Iterator<Item = &report::LineItemSummary> {
    summary
        .line_items
        .iter()
        .filter(|item| item.goal.is_some() && item.priority < PRICE_PRIORITY)
}

fn mean_of(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Every KPI, in output order. Documented in `docs/experiments.md`.
pub const KPIS: &[Kpi] = &[
    Kpi {
        name: "requests",
        direction: Direction::Neutral,
        read: |s| s.totals.requests as f64,
    },
    Kpi {
        name: "impressions",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.impressions as f64,
    },
    Kpi {
        name: "fill_rate",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.fill_rate,
    },
    Kpi {
        name: "revenue",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.revenue,
    },
    Kpi {
        name: "revenue_direct",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.revenue_direct,
    },
    Kpi {
        name: "revenue_programmatic",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.revenue_programmatic,
    },
    Kpi {
        name: "ecpm",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.ecpm,
    },
    Kpi {
        name: "guaranteed_delivery",
        direction: Direction::HigherIsBetter,
        read: |s| {
            let (delivered, goals) = guaranteed(s).fold((0.0, 0.0), |(d, g), item| {
                let goal = item.goal.unwrap_or(0) as f64;
                (d + (item.impressions as f64).min(goal), g + goal)
            });
            if goals > 0.0 { delivered / goals } else { 1.0 }
        },
    },
    Kpi {
        name: "under_delivery",
        direction: Direction::LowerIsBetter,
        read: |s| s.totals.under_delivery as f64,
    },
    Kpi {
        name: "pacing_error",
        direction: Direction::LowerIsBetter,
        read: |s| {
            mean_of(
                s.line_items
                    .iter()
                    .filter_map(|item| item.pacing_error)
                    .chain(s.bidders.iter().filter_map(|b| b.pacing_error)),
            )
        },
    },
    Kpi {
        name: "budget_used",
        direction: Direction::Neutral,
        read: |s| mean_of(s.bidders.iter().filter_map(|b| b.budget_used)),
    },
    Kpi {
        name: "overspend",
        direction: Direction::LowerIsBetter,
        // `+ 0.0`: an empty float sum is −0.0.
        read: |s| s.bidders.iter().filter_map(|b| b.overspend).sum::<f64>() + 0.0,
    },
    Kpi {
        name: "average_clearing_price",
        direction: Direction::Neutral,
        read: |s| s.auction.average_clearing_price,
    },
    Kpi {
        name: "completions",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.completions as f64,
    },
    Kpi {
        name: "clicks",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.clicks as f64,
    },
    Kpi {
        name: "conversions",
        direction: Direction::HigherIsBetter,
        read: |s| s.totals.conversions as f64,
    },
];

/// The KPI called `name`.
pub fn kpi(name: &str) -> Option<&'static Kpi> {
    KPIS.iter().find(|kpi| kpi.name == name)
}

/// The values of every KPI for one run, in `KPIS` order.
pub fn kpi_values(summary: &Summary) -> Vec<f64> {
    KPIS.iter().map(|kpi| (kpi.read)(summary)).collect()
}

/// The seed of replication `r` of a scenario with master seed `master`.
pub fn replication_seed(master: u64, r: usize) -> u64 {
    if r == 0 {
        return master;
    }
    let mut z = master
        .wrapping_add(r as u64)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Rendered binary files by name.
pub type BinaryFiles = Vec<(&'static str, Vec<u8>)>;

/// One finished run: its seed, summary and KPI values, and its rendered output files if they
/// were asked for.
pub struct RunResult {
    pub seed: u64,
    pub summary: Summary,
    pub kpis: Vec<f64>,
    pub files: Option<Vec<(&'static str, String)>>,
    /// Binary files (Parquet), with `files`.
    pub binary: Option<Result<BinaryFiles, crate::table::TableError>>,
}

/// One run to make: a scenario, the master seed its replications derive from, a replication
/// index, and whether to render its output files.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    pub scenario: &'a Scenario,
    pub master_seed: u64,
    pub replication: usize,
    pub render: bool,
}

/// Runs one job.
pub fn run_once(job: &Job<'_>) -> RunResult {
    let seed = replication_seed(job.master_seed, job.replication);
    let mut seeded = job.scenario.clone();
    seeded.seed = seed;
    let mut simulation = Simulation::new(&seeded);
    simulation.run();
    let (summary, files, binary) = if job.render {
        let (summary, files, binary) = report::render_all(&seeded, &simulation);
        (summary, Some(files), Some(binary))
    } else {
        (report::summary(&seeded, &simulation), None, None)
    };
    let kpis = kpi_values(&summary);
    RunResult {
        seed,
        summary,
        kpis,
        files,
        binary,
    }
}

/// Runs every job in parallel and returns the results in job order, so that outputs do not
/// depend on the number of threads. `done` is called (from any thread) after each run.
pub fn run_jobs(jobs: &[Job<'_>], done: &(dyn Fn() + Sync)) -> Vec<RunResult> {
    jobs.par_iter()
        .map(|job| {
            let result = run_once(job);
            done();
            result
        })
        .collect()
}

/// The estimate of every KPI over `results`, in `KPIS` order.
pub fn estimates(results: &[RunResult]) -> Vec<stats::Estimate> {
    (0..KPIS.len())
        .map(|k| stats::estimate(&results.iter().map(|r| r.kpis[k]).collect::<Vec<_>>()))
        .collect()
}

/// A paired comparison of one KPI.
#[derive(Clone, Copy, Debug)]
pub struct Comparison {
    pub a: stats::Estimate,
    pub b: stats::Estimate,
    /// `b − a`, paired by seed.
    pub difference: stats::Estimate,
    /// The same difference, unpaired (Welch), for reference.
    pub unpaired: stats::Estimate,
}

impl Comparison {
    /// `difference / |a|` (0 when `a` is 0 and so is the difference; infinite otherwise).
    pub fn relative(&self) -> f64 {
        if self.a.mean != 0.0 {
            self.difference.mean / self.a.mean.abs()
        } else if self.difference.mean == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(self.difference.mean)
        }
    }

    /// Whether the paired interval excludes 0.
    pub fn significant(&self) -> bool {
        self.difference.excludes(0.0)
    }
}

/// Compares every KPI of `a` and `b`, run on the same seeds (same order).
pub fn compare(a: &[RunResult], b: &[RunResult]) -> Vec<Comparison> {
    (0..KPIS.len())
        .map(|k| {
            let va: Vec<f64> = a.iter().map(|r| r.kpis[k]).collect();
            let vb: Vec<f64> = b.iter().map(|r| r.kpis[k]).collect();
            Comparison {
                a: stats::estimate(&va),
                b: stats::estimate(&vb),
                difference: stats::paired(&va, &vb),
                unpaired: stats::welch(&va, &vb),
            }
        })
        .collect()
}

/// The verdict of the regression gate on one KPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not worse beyond the tolerance (or a neutral KPI).
    Pass,
    /// Better beyond the tolerance.
    Improved,
    /// Worse beyond the tolerance (significantly, with replications).
    Regressed,
}

/// One KPI of a regression check.
#[derive(Clone, Copy, Debug)]
pub struct CheckRow {
    pub kpi: &'static Kpi,
    pub baseline: f64,
    /// Candidate minus baseline (paired per seed when the baseline has replications).
    pub change: stats::Estimate,
    /// The change beyond which the KPI counts as moved: `tolerance × |baseline mean|`.
    pub allowed: f64,
    pub verdict: Verdict,
}

/// The regression gate: for each KPI with a direction, the candidate's change against the
/// baseline is a regression when it is worse by more than `tolerance × |baseline|` — with
/// replications, when the whole 95% interval of the paired change lies beyond that. `baseline`
/// and `candidate` hold per-replication KPI values on the same seeds (one each for a
/// single-run baseline).
pub fn check(baseline: &[Vec<f64>], candidate: &[RunResult], tolerance: f64) -> Vec<CheckRow> {
    KPIS.iter()
        .enumerate()
        .map(|(k, kpi)| {
            let base: Vec<f64> = baseline.iter().map(|values| values[k]).collect();
            let cand: Vec<f64> = candidate.iter().map(|r| r.kpis[k]).collect();
            let change = stats::paired(&base, &cand);
            let base_mean = base.iter().sum::<f64>() / base.len() as f64;
            let allowed = tolerance * base_mean.abs();
            // Beyond the allowed band in each direction: the whole interval (the value itself
            // with one replication) must be outside it.
            let up = change.low > allowed;
            let down = change.high < -allowed;
            let verdict = match kpi.direction {
                Direction::Neutral => Verdict::Pass,
                Direction::HigherIsBetter if down => Verdict::Regressed,
                Direction::HigherIsBetter if up => Verdict::Improved,
                Direction::LowerIsBetter if up => Verdict::Regressed,
                Direction::LowerIsBetter if down => Verdict::Improved,
                _ => Verdict::Pass,
            };
            CheckRow {
                kpi,
                baseline: base_mean,
                change,
                allowed,
                verdict,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_seeds_are_fixed_and_distinct() {
        assert_eq!(replication_seed(42, 0), 42);
        let seeds: Vec<u64> = (0..100).map(|r| replication_seed(42, r)).collect();
        let mut sorted = seeds.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 100);
        // Pinned: changing the derivation changes every replicated output.
        assert_eq!(replication_seed(42, 1), replication_seed(42, 1));
        assert_ne!(replication_seed(42, 1), replication_seed(43, 1));
    }

    #[test]
    fn kpi_names_are_unique() {
        for (idx, kpi) in KPIS.iter().enumerate() {
            assert!(KPIS[..idx].iter().all(|other| other.name != kpi.name));
        }
    }
}
