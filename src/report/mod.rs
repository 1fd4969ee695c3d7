//! Reports: the only place that knows the output schema.
//!
//! A run's files are rendered in memory first and then each written atomically (a temporary
//! file in the output folder, then a rename), so a failed or interrupted run never leaves a
//! half-written file that looks complete. Everything here except `run.json` is a pure function
//! of the scenario, the seed and the adsim version: numbers are formatted deterministically and
//! rows come in a fixed order.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::Simulation;
use crate::money::Micros;
use crate::scenario::Scenario;
use crate::time::SimDuration;
use crate::traffic::DIM_COUNTRY;

/// Version of the output schema (summary.json, the CSV columns).
pub const OUTPUT_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub schema_version: u32,
    pub adsim_version: String,
    pub scenario: String,
    pub seed: u64,
    pub start: String,
    pub end: String,
    pub members: u32,
    pub totals: Totals,
    pub line_items: Vec<LineItemSummary>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Totals {
    pub requests: u64,
    pub opportunities: u64,
    pub impressions: u64,
    pub fill_rate: f64,
    pub revenue: f64,
    pub ecpm: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LineItemSummary {
    pub name: String,
    pub advertiser: String,
    pub priority: u8,
    pub pacing: &'static str,
    pub cpm: f64,
    pub goal: Option<u64>,
    pub impressions: u64,
    pub delivery_ratio: Option<f64>,
    pub revenue: f64,
    pub reach: u64,
    pub average_frequency: f64,
    pub requests_lost_to_caps: u64,
}

/// Wall-clock facts about a run, kept apart from the deterministic outputs.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub adsim_version: String,
    pub scenario: String,
    pub seed: u64,
    pub wall_time_s: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    pub events: u64,
    pub peak_memory_bytes: Option<u64>,
    pub members: u32,
    pub peak_memory_bytes_per_member: Option<f64>,
    pub counter_entries: u64,
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// Builds the summary of a finished run.
pub fn summary(scenario: &Scenario, simulation: &Simulation) -> Summary {
    let metrics = simulation.metrics();
    let mut revenue = Micros::ZERO;
    let line_items = scenario
        .adserver
        .line_items
        .iter()
        .zip(&metrics.items)
        .map(|(item, counts)| {
            let item_revenue = item.cpm.cost_of(counts.impressions);
            revenue += item_revenue;
            LineItemSummary {
                name: item.name.clone(),
                advertiser: scenario.adserver.advertisers[item.advertiser].name.clone(),
                priority: item.priority,
                pacing: item.pacing.name(),
                cpm: item.cpm.as_units(),
                goal: item.goal,
                impressions: counts.impressions,
                delivery_ratio: item
                    .goal
                    .map(|goal| ratio(counts.impressions as f64, goal as f64)),
                revenue: item_revenue.as_units(),
                reach: counts.reach,
                average_frequency: ratio(counts.impressions as f64, counts.reach as f64),
                requests_lost_to_caps: counts.lost_to_caps,
            }
        })
        .collect();
    Summary {
        schema_version: OUTPUT_SCHEMA_VERSION,
        adsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        start: scenario.start.to_string(),
        end: scenario.end.to_string(),
        members: scenario.traffic.members,
        totals: Totals {
            requests: metrics.requests,
            opportunities: metrics.opportunities,
            impressions: metrics.impressions,
            fill_rate: ratio(metrics.impressions as f64, metrics.opportunities as f64),
            revenue: revenue.as_units(),
            ecpm: ratio(revenue.as_units() * 1000.0, metrics.impressions as f64),
        },
        line_items,
    }
}

/// `delivery.csv`: hour × line item impressions, cumulative and the even-pacing target.
pub fn delivery_csv(scenario: &Scenario, simulation: &Simulation) -> String {
    let metrics = simulation.metrics();
    let server = simulation.server();
    let n_items = metrics.items.len();
    // Targets are kept by internal (priority) index; reports go in scenario order.
    let mut internal = vec![0; n_items];
    for idx in 0..n_items {
        internal[server.scenario_index(idx)] = idx;
    }
    let mut out = String::from("hour,line_item,impressions,cumulative,cumulative_target\n");
    let mut cumulative = vec![0u64; n_items];
    for hour in 0..metrics.n_hours {
        let hour_start = metrics.start + SimDuration::HOUR * hour as i64;
        let hour_end = (hour_start + SimDuration::HOUR).min(scenario.end);
        for (idx, item) in scenario.adserver.line_items.iter().enumerate() {
            let impressions = metrics.delivery[hour * n_items + idx];
            cumulative[idx] += u64::from(impressions);
            let target = match item.goal {
                Some(_) => format!("{:.1}", server.target_at(internal[idx], hour_end)),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "{hour_start},{},{impressions},{},{target}",
                csv_field(&item.name),
                cumulative[idx]
            );
        }
    }
    out
}

/// `inventory.csv`: hour × country × device × genre requests, opportunities, impressions.
pub fn inventory_csv(scenario: &Scenario, simulation: &Simulation) -> String {
    let metrics = simulation.metrics();
    let dims = &scenario.dims;
    let countries = &dims.list[DIM_COUNTRY].values;
    let devices = &dims.list[crate::traffic::DIM_DEVICE].values;
    let genres = &dims.list[dims.genre()].values;
    let mut out =
        String::from("hour,country,device,genre,requests,opportunities,impressions,unfilled\n");
    let mut cell_idx = 0;
    for hour in 0..metrics.n_hours {
        let hour_start = metrics.start + SimDuration::HOUR * hour as i64;
        for country in countries {
            for device in devices {
                for genre in genres {
                    let cell = metrics.inventory[cell_idx];
                    cell_idx += 1;
                    let _ = writeln!(
                        out,
                        "{hour_start},{},{},{},{},{},{},{}",
                        csv_field(country),
                        csv_field(device),
                        csv_field(genre),
                        cell.requests,
                        cell.opportunities,
                        cell.impressions,
                        cell.opportunities - cell.impressions
                    );
                }
            }
        }
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A short, readable account of the run for the terminal.
pub fn text_summary(summary: &Summary, out_dir: &Path) -> String {
    let totals = &summary.totals;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "adsim {} · scenario {} · seed {}",
        summary.adsim_version, summary.scenario, summary.seed
    );
    let _ = writeln!(
        out,
        "{} → {} · {} members",
        summary.start, summary.end, summary.members
    );
    let _ = writeln!(
        out,
        "requests {} · opportunities {} · impressions {} · fill {:.1}% · revenue {} · eCPM {:.2}",
        totals.requests,
        totals.opportunities,
        totals.impressions,
        totals.fill_rate * 100.0,
        Micros::from_units(totals.revenue).unwrap_or_default(),
        totals.ecpm
    );
    let width = summary
        .line_items
        .iter()
        .map(|item| item.name.chars().count())
        .max()
        .unwrap_or(9)
        .clamp(9, 40);
    let _ = writeln!(
        out,
        "\n{:<width$}  {:>3}  {:>11}  {:>11}  {:>8}  {:>10}  {:>5}",
        "line item", "pri", "impressions", "goal", "delivery", "revenue", "freq"
    );
    for item in &summary.line_items {
        let goal = item.goal.map_or("-".to_string(), |goal| goal.to_string());
        let delivery = item
            .delivery_ratio
            .map_or("-".to_string(), |ratio| format!("{:.1}%", ratio * 100.0));
        let name: String = item.name.chars().take(width).collect();
        let _ = writeln!(
            out,
            "{name:<width$}  {:>3}  {:>11}  {goal:>11}  {delivery:>8}  {:>10}  {:>5.2}",
            item.priority,
            item.impressions,
            Micros::from_units(item.revenue)
                .unwrap_or_default()
                .to_string(),
            item.average_frequency
        );
    }
    let _ = write!(out, "\noutputs in {}", out_dir.display());
    out
}

/// The deterministic output files of a run, rendered: `(file name, contents)`.
pub fn render(
    scenario: &Scenario,
    simulation: &Simulation,
) -> (Summary, Vec<(&'static str, String)>) {
    let summary = summary(scenario, simulation);
    let mut json = serde_json::to_string_pretty(&summary).expect("summary serializes");
    json.push('\n');
    let files = vec![
        ("summary.json", json),
        ("delivery.csv", delivery_csv(scenario, simulation)),
        ("inventory.csv", inventory_csv(scenario, simulation)),
    ];
    (summary, files)
}

/// Renders `run.json`.
pub fn run_json(info: &RunInfo) -> String {
    let mut json = serde_json::to_string_pretty(info).expect("run info serializes");
    json.push('\n');
    json
}

/// Writes `contents` to `dir/name` atomically: a temporary file in `dir`, synced, renamed.
pub fn write_atomic(dir: &Path, name: &str, contents: &str) -> std::io::Result<PathBuf> {
    let target = dir.join(name);
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map(|()| target)
}

/// Peak resident memory of this process [bytes], from `/proc/self/status` (Linux only).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
