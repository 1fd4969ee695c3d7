//! Output files and terminal tables of replications, comparisons, sweeps and checks.
//!
//! Every file is tidy CSV (one observation per row), numbers in Rust's shortest round-trip
//! form, rows in a fixed order (replication, then KPI in `experiment::KPIS` order), so that
//! the same experiment gives the same bytes on any number of threads.

use std::fmt::Write as _;

use crate::experiment::stats::Estimate;
use crate::experiment::{CheckRow, Comparison, KPIS, RunResult, Verdict};

use super::csv_field;

/// `replications.csv`: `replication,seed,kpi,value`.
pub fn replications_csv(results: &[RunResult]) -> String {
    let mut out = String::from("replication,seed,kpi,value\n");
    for (r, result) in results.iter().enumerate() {
        for (kpi, value) in KPIS.iter().zip(&result.kpis) {
            let _ = writeln!(out, "{r},{},{},{value}", result.seed, kpi.name);
        }
    }
    out
}

/// `kpis.csv`: per KPI, the estimate over the replications.
pub fn kpis_csv(estimates: &[Estimate]) -> String {
    let mut out = String::from("kpi,direction,n,mean,se,ci_low,ci_high\n");
    for (kpi, e) in KPIS.iter().zip(estimates) {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            kpi.name,
            kpi.direction.name(),
            e.n,
            e.mean,
            e.se,
            e.low,
            e.high
        );
    }
    out
}

/// `compare.csv`: per KPI, A, B, the paired difference and its interval, and the unpaired
/// interval for reference.
pub fn compare_csv(comparisons: &[Comparison]) -> String {
    let mut out = String::from(
        "kpi,direction,n,a_mean,b_mean,difference,relative_difference,ci_low,ci_high,significant,unpaired_ci_low,unpaired_ci_high\n",
    );
    for (kpi, c) in KPIS.iter().zip(comparisons) {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            kpi.name,
            kpi.direction.name(),
            c.difference.n,
            c.a.mean,
            c.b.mean,
            c.difference.mean,
            c.relative(),
            c.difference.low,
            c.difference.high,
            c.significant(),
            c.unpaired.low,
            c.unpaired.high
        );
    }
    out
}

/// `compare_replications.csv`: `replication,seed,kpi,a,b,difference`.
pub fn compare_replications_csv(a: &[RunResult], b: &[RunResult]) -> String {
    let mut out = String::from("replication,seed,kpi,a,b,difference\n");
    for (r, (ra, rb)) in a.iter().zip(b).enumerate() {
        for (k, kpi) in KPIS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{r},{},{},{},{},{}",
                ra.seed,
                kpi.name,
                ra.kpis[k],
                rb.kpis[k],
                rb.kpis[k] - ra.kpis[k]
            );
        }
    }
    out
}

/// A grid point of a sweep: the value given to each swept path.
pub struct Point<'a> {
    pub values: Vec<&'a str>,
    pub results: &'a [RunResult],
}

/// `sweep.csv` (one row per point × replication × KPI) and `sweep_summary.csv` (one row per
/// point × KPI, with the estimate over replications).
pub fn sweep_csvs(paths: &[String], points: &[Point<'_>]) -> (String, String) {
    let header: String = paths.iter().map(|p| format!(",{}", csv_field(p))).collect();
    let mut tidy = format!("point{header},replication,seed,kpi,value\n");
    let mut summary = format!("point{header},kpi,direction,n,mean,se,ci_low,ci_high\n");
    for (idx, point) in points.iter().enumerate() {
        // A TOML string value (`"first_price"`) is written without its quotes.
        let values: String = point
            .values
            .iter()
            .map(|v| {
                let bare = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                format!(",{}", csv_field(bare))
            })
            .collect();
        for (r, result) in point.results.iter().enumerate() {
            for (kpi, value) in KPIS.iter().zip(&result.kpis) {
                let _ = writeln!(
                    tidy,
                    "{idx}{values},{r},{},{},{value}",
                    result.seed, kpi.name
                );
            }
        }
        for (kpi, e) in KPIS.iter().zip(crate::experiment::estimates(point.results)) {
            let _ = writeln!(
                summary,
                "{idx}{values},{},{},{},{},{},{},{}",
                kpi.name,
                kpi.direction.name(),
                e.n,
                e.mean,
                e.se,
                e.low,
                e.high
            );
        }
    }
    (tidy, summary)
}

/// `check.csv`: per KPI, the baseline, the change and its interval, the allowed band and the
/// verdict.
pub fn check_csv(rows: &[CheckRow]) -> String {
    let mut out =
        String::from("kpi,direction,n,baseline,candidate,change,ci_low,ci_high,allowed,verdict\n");
    for row in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            row.kpi.name,
            row.kpi.direction.name(),
            row.change.n,
            row.baseline,
            row.baseline + row.change.mean,
            row.change.mean,
            row.change.low,
            row.change.high,
            row.allowed,
            verdict_name(row.verdict)
        );
    }
    out
}

pub fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Improved => "improved",
        Verdict::Regressed => "regressed",
    }
}

/// A number for a terminal table: 4 significant digits, thousands without exponent.
fn short(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs();
    if magnitude >= 1_000.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.4}")
    }
}

/// The estimates of a replicated run as a table.
pub fn kpis_table(estimates: &[Estimate]) -> String {
    let mut out = format!(
        "{:<24} {:>14} {:>12} {:>29}\n",
        "kpi", "mean", "se", "95% CI"
    );
    for (kpi, e) in KPIS.iter().zip(estimates) {
        let _ = writeln!(
            out,
            "{:<24} {:>14} {:>12} {:>29}",
            kpi.name,
            short(e.mean),
            short(e.se),
            format!("[{}, {}]", short(e.low), short(e.high))
        );
    }
    out
}

/// A comparison as a table: A, B, the difference, its relative size, the paired interval, and
/// a mark where it is significant (`*`, with `+`/`−` for better/worse by the KPI's direction).
pub fn compare_table(comparisons: &[Comparison]) -> String {
    let mut out = format!(
        "{:<24} {:>12} {:>12} {:>12} {:>9} {:>29}  sig\n",
        "kpi", "A", "B", "B − A", "rel", "paired 95% CI"
    );
    for (kpi, c) in KPIS.iter().zip(comparisons) {
        let mark = if !c.significant() {
            ""
        } else {
            match (kpi.direction, c.difference.mean > 0.0) {
                (crate::experiment::Direction::Neutral, _) => "*",
                (crate::experiment::Direction::HigherIsBetter, true)
                | (crate::experiment::Direction::LowerIsBetter, false) => "* better",
                _ => "* worse",
            }
        };
        let relative = c.relative();
        let relative = if relative.is_finite() {
            format!("{:+.2}%", relative * 100.0)
        } else {
            "-".to_string()
        };
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>12} {:>12} {:>9} {:>29}  {mark}",
            kpi.name,
            short(c.a.mean),
            short(c.b.mean),
            short(c.difference.mean),
            relative,
            format!(
                "[{}, {}]",
                short(c.difference.low),
                short(c.difference.high)
            )
        );
    }
    out
}

/// A regression check as a table, moved KPIs marked.
pub fn check_table(rows: &[CheckRow]) -> String {
    let mut out = format!(
        "{:<24} {:>9} {:>12} {:>12} {:>12} {:>29}  verdict\n",
        "kpi", "better", "baseline", "candidate", "allowed ±", "change, 95% CI"
    );
    for row in rows {
        let verdict = match row.verdict {
            Verdict::Pass => "ok",
            Verdict::Improved => "IMPROVED",
            Verdict::Regressed => "REGRESSED",
        };
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>12} {:>12} {:>12} {:>29}  {verdict}",
            row.kpi.name,
            row.kpi.direction.name(),
            short(row.baseline),
            short(row.baseline + row.change.mean),
            short(row.allowed),
            format!(
                "{} [{}, {}]",
                short(row.change.mean),
                short(row.change.low),
                short(row.change.high)
            )
        );
    }
    out
}
