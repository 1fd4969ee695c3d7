//! Outputs of a replay scenario: summary.json (the log and one entry per strategy and budget),
//! strategies.csv, pid_rounds.csv, and the terminal table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::replay::evaluate::{Evaluation, fraction_label};
use crate::scenario::ReplayScenario;

#[derive(Clone, Debug, Serialize)]
pub struct ReplaySummary {
    pub schema_version: u32,
    pub adsim_version: String,
    pub scenario: String,
    pub seed: u64,
    pub log: LogSummary,
    pub strategies: Vec<StrategySummary>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LogSummary {
    pub file: String,
    pub rows: u64,
    pub clicks: u64,
    /// Σ market price / 1000 [currency].
    pub total_cost: f64,
    pub rows_skipped: u64,
    pub first_skipped_lines: Vec<usize>,
    pub train_rows: u64,
    pub train_cost: f64,
    pub base_ctr: f64,
    pub ortb_c: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct StrategySummary {
    pub name: String,
    pub kind: &'static str,
    pub budget_fraction: f64,
    pub budget: f64,
    /// The tuned parameter: cpm (constant), base_bid (linear, pid), lambda (ortb).
    pub parameter: f64,
    pub bids: u64,
    pub impressions: u64,
    pub clicks: u64,
    pub conversions: u64,
    pub spend: f64,
    pub ctr: f64,
    pub cpm: f64,
    pub ecpc: f64,
    pub win_rate: f64,
    pub budget_exhausted_at: Option<String>,
    pub reference_ecpc: Option<f64>,
    pub settling_round: Option<usize>,
    pub overshoot: Option<f64>,
}

pub fn summary(scenario: &ReplayScenario, evaluation: &Evaluation) -> ReplaySummary {
    ReplaySummary {
        schema_version: super::OUTPUT_SCHEMA_VERSION,
        adsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        log: LogSummary {
            file: scenario.file.display().to_string(),
            rows: evaluation.rows,
            clicks: evaluation.clicks,
            total_cost: evaluation.total_cost,
            rows_skipped: evaluation.skipped_test.count,
            first_skipped_lines: evaluation.skipped_test.first_lines.clone(),
            train_rows: evaluation.train_rows,
            train_cost: evaluation.train_cost,
            base_ctr: evaluation.base_ctr,
            ortb_c: evaluation.ortb_c,
        },
        strategies: evaluation
            .results
            .iter()
            .map(|(name, fraction, r)| {
                use crate::replay::ReplayStrategy as S;
                let (kind, parameter) = match r.strategy {
                    S::Constant { cpm } => ("constant", cpm),
                    S::Linear { base_bid, .. } if r.reference.is_some() => ("pid", base_bid),
                    S::Linear { base_bid, .. } => ("linear", base_bid),
                    S::Ortb { lambda, .. } => ("ortb", lambda),
                };
                StrategySummary {
                    name: name.clone(),
                    kind,
                    budget_fraction: *fraction,
                    budget: r.budget.as_units(),
                    parameter,
                    bids: r.bids,
                    impressions: r.impressions,
                    clicks: r.clicks,
                    conversions: r.conversions,
                    spend: r.spend.as_units(),
                    ctr: r.ctr(),
                    cpm: r.cpm(),
                    ecpc: r.ecpc(),
                    win_rate: r.win_rate(),
                    budget_exhausted_at: r.exhausted_at.map(|at| at.to_string()),
                    reference_ecpc: r.reference,
                    settling_round: r.settling_round,
                    overshoot: r.overshoot,
                }
            })
            .collect(),
    }
}

/// `strategies.csv`: one row per strategy and budget.
pub fn strategies_csv(summary: &ReplaySummary) -> String {
    let mut out = String::from(
        "strategy,kind,budget_fraction,budget,parameter,bids,impressions,clicks,spend,ctr,cpm,ecpc,win_rate\n",
    );
    for s in &summary.strategies {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            super::csv_field(&s.name),
            s.kind,
            s.budget_fraction,
            s.budget,
            s.parameter,
            s.bids,
            s.impressions,
            s.clicks,
            s.spend,
            s.ctr,
            s.cpm,
            s.ecpc,
            s.win_rate
        );
    }
    out
}

/// `pid_rounds.csv`: per PID strategy and round, the cumulative eCPC against its reference and
/// the control signal (the bid multiplier exp(φ) set for the next round).
pub fn pid_rounds_csv(evaluation: &Evaluation) -> String {
    let mut out = String::from(
        "strategy,budget_fraction,round,time,spend,clicks,ecpc,reference_ecpc,bid_multiplier\n",
    );
    for (name, fraction, r) in &evaluation.results {
        let Some(reference) = r.reference else {
            continue;
        };
        for round in &r.rounds {
            let _ = writeln!(
                out,
                "{},{fraction},{},{},{},{},{},{reference},{}",
                super::csv_field(name),
                round.round,
                round.at,
                round.spend,
                round.clicks,
                round.ecpc.map_or(String::new(), |e| e.to_string()),
                round.multiplier
            );
        }
    }
    out
}

/// The strategy table.
pub fn table(summary: &ReplaySummary) -> String {
    let mut out = format!(
        "{} · {} rows, {} clicks, logged cost {:.2} · strategies tuned on {} training rows\n\n",
        summary.scenario,
        summary.log.rows,
        summary.log.clicks,
        summary.log.total_cost,
        summary.log.train_rows
    );
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>11} {:>7} {:>10} {:>8} {:>8} {:>8} {:>7}   pid settling / overshoot",
        "strategy", "budget", "impressions", "clicks", "spend", "CTR", "CPM", "eCPC", "win"
    );
    for s in &summary.strategies {
        let pid = match (s.reference_ecpc, s.settling_round, s.overshoot) {
            (Some(r), settled, overshoot) => format!(
                "ref {r}: {} / {}",
                settled.map_or("never".to_string(), |k| format!("round {k}")),
                overshoot.map_or("-".to_string(), |o| format!("{:.1}%", o * 100.0))
            ),
            _ => String::new(),
        };
        let name = s.name.split(" @ ").next().unwrap_or(&s.name);
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>11} {:>7} {:>10.2} {:>7.3}% {:>8.2} {:>8.2} {:>6.1}%   {pid}",
            name,
            fraction_label(s.budget_fraction),
            s.impressions,
            s.clicks,
            s.spend,
            s.ctr * 100.0,
            s.cpm,
            s.ecpc,
            s.win_rate * 100.0
        );
    }
    out
}
