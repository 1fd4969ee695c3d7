//! A replay scenario end to end: read the training log, tune each strategy for each budget,
//! replay the test log, and collect what every strategy did.

use super::reader::{Malformed, RowReader};
use super::run::{
    ReplayBidder, ReplayStrategy, Skipped, StrategyResult, Training, fit_ortb_c, run, tune,
};
use crate::engine::Stream;
use crate::money::Micros;
use crate::scenario::ReplayScenario;

/// What a replay scenario produced.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Rows and total cost of the test log (before sampling) [currency].
    pub rows: u64,
    pub total_cost: f64,
    pub clicks: u64,
    /// The training log's rows, total cost and mean pCTR (the linear strategy's base CTR).
    pub train_rows: u64,
    pub train_cost: f64,
    pub base_ctr: f64,
    /// ORTB's fitted winning-function constant [CPM].
    pub ortb_c: f64,
    /// One result per strategy × budget fraction, strategies outer.
    pub results: Vec<(String, f64, StrategyResult)>,
    pub skipped_test: Skipped,
    pub skipped_train: Skipped,
}

/// Reads every row of a log: calls `each` with the good rows; malformed rows fail or are
/// skipped as the scenario says. Errors name the file, line and column.
fn scan(
    scenario: &ReplayScenario,
    path: &std::path::Path,
    mut each: impl FnMut(&super::Row),
) -> Result<Skipped, String> {
    let mut reader = RowReader::open(path, &scenario.format, scenario.start, scenario.time_scale)?;
    let mut skipped = Skipped::default();
    while let Some(row) = reader.next_row() {
        match row {
            Ok(row) => each(&row),
            Err(error) => match scenario.malformed {
                Malformed::Fail => return Err(row_error(path, &error)),
                Malformed::Skip => skipped.note(error.line),
            },
        }
    }
    Ok(skipped)
}

fn row_error(path: &std::path::Path, error: &super::reader::RowError) -> String {
    let column = if error.column.is_empty() {
        String::new()
    } else {
        format!(" column `{}`:", error.column)
    };
    format!(
        "{}:{}:{column} {} (set replay.malformed = \"skip\" to skip such rows)",
        path.display(),
        error.line,
        error.message
    )
}

/// Runs `scenario`.
pub fn evaluate(scenario: &ReplayScenario) -> Result<Evaluation, String> {
    // The test log's size and cost, for the budgets (one streaming pass).
    let (mut rows, mut total_cost, mut clicks) = (0u64, 0.0, 0u64);
    let skipped_test = scan(scenario, &scenario.file, |row| {
        rows += 1;
        total_cost += row.market_price.cost_of(1).as_units();
        clicks += u64::from(row.click);
    })?;
    // The training log, in memory: three numbers per row.
    let mut training: Training = Vec::new();
    let skipped_train = match &scenario.train {
        Some(path) => scan(scenario, path, |row| {
            training.push((row.market_price.as_units(), row.pctr, row.click));
        })?,
        None => Skipped::default(),
    };
    let train_cost: f64 = training.iter().map(|(price, _, _)| price / 1000.0).sum();
    let base_ctr = if training.is_empty() {
        1.0
    } else {
        training.iter().map(|r| r.1).sum::<f64>() / training.len() as f64
    };
    let ortb_c = fit_ortb_c(&training);
    let mut bidders = Vec::new();
    let mut labels = Vec::new();
    for spec in &scenario.strategies {
        for &fraction in &scenario.budget_fractions {
            let target = fraction * train_cost;
            let strategy = match spec.kind.as_str() {
                "constant" => ReplayStrategy::Constant {
                    cpm: tune(&training, target, (1e-3, 1e5), true, |cpm| {
                        ReplayStrategy::Constant { cpm }
                    }),
                },
                "linear" | "pid" => ReplayStrategy::Linear {
                    base_bid: tune(&training, target, (1e-3, 1e6), true, |base_bid| {
                        ReplayStrategy::Linear { base_bid, base_ctr }
                    }),
                    base_ctr,
                },
                "ortb" => ReplayStrategy::Ortb {
                    c: ortb_c,
                    lambda: tune(&training, target, (1e-15, 1e3), false, |lambda| {
                        ReplayStrategy::Ortb { c: ortb_c, lambda }
                    }),
                },
                other => return Err(format!("unknown strategy kind {other}")),
            };
            let budget = Micros::from_units(fraction * total_cost).unwrap_or(Micros::ZERO);
            bidders.push(ReplayBidder {
                name: format!("{} @ {}", spec.name, fraction_label(fraction)),
                strategy,
                budget,
                pid: spec.pid,
            });
            labels.push((spec.name.clone(), fraction));
        }
    }
    let mut reader = RowReader::open(
        &scenario.file,
        &scenario.format,
        scenario.start,
        scenario.time_scale,
    )?;
    let mut stream = Stream::new(scenario.seed, "replay.sample");
    let sample = scenario.sample;
    let (results, _) = run(
        &mut reader,
        &bidders,
        scenario.start,
        scenario.round,
        scenario.malformed,
        || sample >= 1.0 || stream.chance(sample),
    )
    .map_err(|error| row_error(&scenario.file, &error))?;
    Ok(Evaluation {
        rows,
        total_cost,
        clicks,
        train_rows: training.len() as u64,
        train_cost,
        base_ctr,
        ortb_c,
        results: labels
            .into_iter()
            .zip(results)
            .map(|((name, fraction), result)| (name, fraction, result))
            .collect(),
        skipped_test,
        skipped_train,
    })
}

/// `1/4` for 0.25, else the decimal.
pub fn fraction_label(fraction: f64) -> String {
    let inverse = 1.0 / fraction;
    if (inverse - inverse.round()).abs() < 1e-9 && inverse.round() > 1.0 {
        format!("1/{}", inverse.round() as u64)
    } else {
        format!("{fraction}")
    }
}
