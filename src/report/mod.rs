//! Reports: the only place that knows the output schema.
//!
//! A run's files are rendered in memory first and then each written atomically (a temporary
//! file in the output folder, then a rename), so a failed or interrupted run never leaves a
//! half-written file that looks complete. Everything here except `run.json` is a pure function
//! of the scenario, the seed and the adsim version: numbers are formatted deterministically and
//! rows come in a fixed order.

pub mod experiment;
pub mod forecast;
pub mod html;
pub mod replay;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::Simulation;
use crate::metrics::{LANDSCAPE_BUCKET, LANDSCAPE_BUCKETS};
use crate::money::Micros;
use crate::scenario::Scenario;
use crate::time::SimDuration;

/// Version of the output schema (summary.json, the CSV columns).
pub const OUTPUT_SCHEMA_VERSION: u32 = 3;

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
    pub auction: AuctionSummary,
    pub bidders: Vec<BidderSummary>,
    /// The guaranteed-delivery plan, with an `[allocation]` table.
    pub allocation: Option<AllocationSummary>,
    /// With `[logged_traffic]`: the log and its skipped rows.
    pub logged_traffic: Option<LoggedTrafficSummary>,
    /// The run-level KPIs that replications, comparisons, sweeps and `adsim check` use
    /// (`experiment::KPIS`), by name: a `check` baseline reads them from here.
    pub kpis: std::collections::BTreeMap<&'static str, f64>,
}

/// The replayed log of a `[logged_traffic]` run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LoggedTrafficSummary {
    pub file: String,
    /// Malformed rows skipped (`malformed = "skip"`), and the first five of their lines.
    pub rows_skipped: usize,
    pub first_skipped_lines: Vec<usize>,
}

/// A figure for each plan kind.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PerPlan {
    pub greedy: f64,
    pub hwm: f64,
    pub optimal: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AllocationSummary {
    /// The plan served.
    pub plan: &'static str,
    /// `oracle` or the forecast file.
    pub forecast: String,
    pub forecast_requests: f64,
    /// Goals of the planned line items within the run [impressions].
    pub goals: f64,
    /// Delivery each plan expects on the forecast, and its gap to the optimum (a fraction).
    pub planned: PerPlan,
    pub gap_to_optimum: PerPlan,
    /// What the served plan delivered (each item counted up to its goal), what fell short,
    /// and the shortfall against the forecast optimum.
    pub delivered: f64,
    pub under_delivery: f64,
    pub realised_gap_to_optimum: f64,
    pub line_items: Vec<PlannedItemSummary>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlannedItemSummary {
    pub name: String,
    pub goal: f64,
    /// Expected delivery under the served plan and under the optimum, on the forecast.
    pub planned: f64,
    pub planned_optimal: f64,
    pub delivered: u64,
    pub under_delivery: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AuctionSummary {
    pub mechanism: &'static str,
    pub floor_cpm: f64,
    pub auctions: u64,
    pub auctions_with_bid_above_floor: u64,
    pub slots_sold: u64,
    pub average_clearing_price: f64,
    pub clearing_price_p50: f64,
    pub clearing_price_p90: f64,
    pub clearing_price_p99: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BidderSummary {
    pub name: String,
    pub advertiser: String,
    pub strategy: &'static str,
    pub requests: u64,
    pub bids: u64,
    pub no_bids: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub wins: u64,
    pub impressions: u64,
    pub spend: f64,
    pub average_clearing_price: f64,
    pub win_rate: f64,
    pub budget: Option<f64>,
    pub daily_budget: Option<f64>,
    pub budget_used: Option<f64>,
    pub budget_exhausted_at: Option<String>,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub latency_ms_p99: f64,
    pub pacing: &'static str,
    /// RMSE of cumulative spend against the pacer's target at each hour's end, as a fraction
    /// of the paced budget.
    pub pacing_error: Option<f64>,
    /// Spend beyond the total budget, plus spend beyond the daily budget on each UTC day.
    pub overspend: Option<f64>,
    #[serde(flatten)]
    pub responses: ResponseSummary,
}

/// User responses to a line item's or bidder's ads (all 0 without a `[response]` table).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ResponseSummary {
    pub completions: u64,
    pub completion_rate: f64,
    pub clicks: u64,
    pub ctr: f64,
    pub conversions: u64,
    /// Spend per click and per conversion (0 when there are none).
    pub ecpc: f64,
    pub cpa: f64,
}

impl ResponseSummary {
    fn new(responses: &crate::metrics::Responses, impressions: u64, spend: f64) -> Self {
        ResponseSummary {
            completions: responses.completions,
            completion_rate: ratio(responses.completions as f64, impressions as f64),
            clicks: responses.clicks,
            ctr: ratio(responses.clicks as f64, impressions as f64),
            conversions: responses.conversions,
            ecpc: ratio(spend, responses.clicks as f64),
            cpa: ratio(spend, responses.conversions as f64),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Totals {
    pub requests: u64,
    pub opportunities: u64,
    pub impressions: u64,
    pub fill_rate: f64,
    pub revenue: f64,
    pub revenue_direct: f64,
    pub revenue_programmatic: f64,
    pub ecpm: f64,
    /// Goal minus delivery, summed over guaranteed line items (priority below 12) with goals.
    pub under_delivery: u64,
    pub completions: u64,
    pub clicks: u64,
    pub conversions: u64,
    /// Conversions beyond the attribution window, and clicks and conversions due after the
    /// run's end (not counted above).
    pub late_conversions: u64,
    pub responses_after_end: u64,
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
    /// Goal minus delivery, if short (line items with a goal).
    pub under_delivery: Option<u64>,
    /// RMSE of cumulative delivery against the pacer's target at each hour's end within the
    /// flight, as a fraction of the goal.
    pub pacing_error: Option<f64>,
    #[serde(flatten)]
    pub responses: ResponseSummary,
}

/// Wall-clock facts about a run, kept apart from the deterministic outputs.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub adsim_version: String,
    pub scenario: String,
    pub seed: u64,
    /// Building members, slate and ad server, and running the simulation [s].
    pub wall_time_s: f64,
    /// The building part of `wall_time_s` [s].
    pub setup_s: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    /// Requests per second of the simulation alone (without setup), the figure comparable
    /// with `shared/bench/refsim.py`'s `req_per_s`.
    pub simulation_requests_per_second: f64,
    pub events: u64,
    pub peak_memory_bytes: Option<u64>,
    pub members: u32,
    pub peak_memory_bytes_per_member: Option<f64>,
    pub counter_entries: u64,
}

/// Wall-clock facts about a batch of replications (`adsim run --replications N`), kept
/// apart from the deterministic outputs.
#[derive(Clone, Debug, Serialize)]
pub struct BatchInfo {
    pub adsim_version: String,
    pub scenario: String,
    /// The master seed the replications' seeds derive from.
    pub seed: u64,
    pub replications: usize,
    /// Worker threads the replications ran on.
    pub threads: usize,
    /// From the first replication's setup to the last one's end, all of them [s].
    pub wall_time_s: f64,
    /// Ad requests simulated over all replications.
    pub requests: u64,
    pub requests_per_second: f64,
    pub peak_memory_bytes: Option<u64>,
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
    let series = Series::new(scenario, simulation);
    let mut revenue = Micros::ZERO;
    let line_items = scenario
        .adserver
        .line_items
        .iter()
        .zip(&metrics.items)
        .enumerate()
        .map(|(idx, (item, counts))| {
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
                under_delivery: item
                    .goal
                    .map(|goal| goal.saturating_sub(counts.impressions)),
                pacing_error: item
                    .goal
                    .and_then(|goal| pacing_error(&series.items[idx], goal as f64)),
                responses: ResponseSummary::new(
                    &counts.responses,
                    counts.impressions,
                    item_revenue.as_units(),
                ),
            }
        })
        .collect();
    let direct = revenue;
    let mut programmatic = Micros::ZERO;
    let bidders = scenario
        .adserver
        .bidders
        .iter()
        .zip(&metrics.bidders)
        .enumerate()
        .map(|(b, (spec, stats))| {
            programmatic += Micros(stats.spend);
            let paced = spec.pacing_budget(scenario.duration());
            let latency_ms = |quantile: f64| {
                if stats.latency_us.is_empty() {
                    0.0
                } else {
                    stats.latency_us.value_at_quantile(quantile) as f64 / 1000.0
                }
            };
            BidderSummary {
                name: spec.name.clone(),
                advertiser: scenario.adserver.advertisers[spec.advertiser].name.clone(),
                strategy: spec.model.strategy.name(),
                requests: stats.requests,
                bids: stats.bids,
                no_bids: stats.no_bids,
                timeouts: stats.timeouts,
                errors: stats.errors,
                wins: stats.wins,
                impressions: stats.wins,
                spend: Micros(stats.spend).as_units(),
                average_clearing_price: ratio(stats.price_sum as f64, stats.wins as f64) / 1e6,
                win_rate: ratio(stats.wins as f64, stats.bids as f64),
                budget: spec.budget.map(Micros::as_units),
                daily_budget: spec.daily_budget.map(Micros::as_units),
                budget_used: spec
                    .pacing_budget(scenario.duration())
                    .map(|budget| ratio(stats.spend as f64, budget.0 as f64)),
                budget_exhausted_at: stats.exhausted_at.map(|at| at.to_string()),
                latency_ms_p50: latency_ms(0.5),
                latency_ms_p95: latency_ms(0.95),
                latency_ms_p99: latency_ms(0.99),
                pacing: spec.pacing.name(),
                pacing_error: paced
                    .and_then(|budget| pacing_error(&series.bidders[b], budget.0 as f64)),
                overspend: (spec.budget.is_some() || spec.daily_budget.is_some()).then(|| {
                    let total = spec
                        .budget
                        .map_or(0, |budget| (stats.spend - budget.0).max(0));
                    let daily = spec.daily_budget.map_or(0, |daily| {
                        series.bidder_daily_spend[b]
                            .iter()
                            .map(|&spent| (spent - daily.0).max(0))
                            .sum()
                    });
                    Micros(total + daily).as_units()
                }),
                responses: ResponseSummary::new(
                    &stats.responses,
                    stats.wins,
                    Micros(stats.spend).as_units(),
                ),
            }
        })
        .collect();
    revenue += programmatic;
    let mut all_responses = crate::metrics::Responses::default();
    for responses in metrics
        .items
        .iter()
        .map(|item| &item.responses)
        .chain(metrics.bidders.iter().map(|bidder| &bidder.responses))
    {
        all_responses.completions += responses.completions;
        all_responses.clicks += responses.clicks;
        all_responses.conversions += responses.conversions;
        all_responses.late_conversions += responses.late_conversions;
        all_responses.clicks_due += responses.clicks_due;
        all_responses.conversions_due += responses.conversions_due;
    }
    let auction = &metrics.auction;
    let price_at = |quantile: f64| {
        if auction.clearing_price.is_empty() {
            0.0
        } else {
            auction.clearing_price.value_at_quantile(quantile) as f64 / 1e6
        }
    };
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
            revenue_direct: direct.as_units(),
            revenue_programmatic: programmatic.as_units(),
            ecpm: ratio(revenue.as_units() * 1000.0, metrics.impressions as f64),
            under_delivery: scenario
                .adserver
                .line_items
                .iter()
                .zip(&metrics.items)
                .filter(|(item, _)| item.priority < crate::adserver::PRICE_PRIORITY)
                .filter_map(|(item, counts)| {
                    item.goal
                        .map(|goal| goal.saturating_sub(counts.impressions))
                })
                .sum(),
            completions: all_responses.completions,
            clicks: all_responses.clicks,
            conversions: all_responses.conversions,
            late_conversions: all_responses.late_conversions,
            responses_after_end: (all_responses.clicks_due - all_responses.clicks)
                + (all_responses.conversions_due - all_responses.conversions),
        },
        line_items,
        auction: AuctionSummary {
            mechanism: scenario.adserver.exchange.auction.name(),
            floor_cpm: scenario.adserver.exchange.floor.as_units(),
            auctions: auction.auctions,
            auctions_with_bid_above_floor: auction.auctions_above_floor,
            slots_sold: auction.slots_sold,
            average_clearing_price: ratio(auction.price_sum as f64, auction.slots_sold as f64)
                / 1e6,
            clearing_price_p50: price_at(0.5),
            clearing_price_p90: price_at(0.9),
            clearing_price_p99: price_at(0.99),
        },
        bidders,
        allocation: allocation_summary(scenario, simulation),
        logged_traffic: scenario
            .logged_traffic
            .as_ref()
            .map(|logged| LoggedTrafficSummary {
                file: logged
                    .file
                    .file_name()
                    .map_or(String::new(), |name| name.to_string_lossy().into_owned()),
                rows_skipped: logged.skip.len(),
                first_skipped_lines: logged.skip.iter().take(5).copied().collect(),
            }),
        kpis: std::collections::BTreeMap::new(),
    }
    .with_kpis()
}

impl Summary {
    fn with_kpis(mut self) -> Summary {
        self.kpis = crate::experiment::KPIS
            .iter()
            .map(|kpi| (kpi.name, (kpi.read)(&self)))
            .collect();
        self
    }
}

fn allocation_summary(scenario: &Scenario, simulation: &Simulation) -> Option<AllocationSummary> {
    let allocation = simulation.server().allocation()?;
    let metrics = simulation.metrics();
    let per_plan = |f: &dyn Fn(&crate::planning::Plan) -> f64| PerPlan {
        greedy: f(&allocation.plans[0]),
        hwm: f(&allocation.plans[1]),
        optimal: f(&allocation.plans[2]),
    };
    let optimum = allocation.plans[2].total();
    let served = allocation.served();
    let line_items: Vec<PlannedItemSummary> = allocation
        .internal
        .iter()
        .enumerate()
        .map(|(j, &internal)| {
            let idx = simulation.server().scenario_index(internal);
            let goal = allocation.demands[j].goal;
            let delivered = metrics.items[idx].impressions;
            PlannedItemSummary {
                name: scenario.adserver.line_items[idx].name.clone(),
                goal,
                planned: served.planned[j],
                planned_optimal: allocation.plans[2].planned[j],
                delivered,
                under_delivery: (goal - delivered as f64).max(0.0),
            }
        })
        .collect();
    let goals: f64 = line_items.iter().map(|item| item.goal).sum();
    let delivered: f64 = line_items
        .iter()
        .map(|item| (item.delivered as f64).min(item.goal))
        .sum();
    Some(AllocationSummary {
        plan: allocation.kind.name(),
        forecast: allocation.forecast_name.clone(),
        forecast_requests: allocation.forecast_requests,
        goals,
        planned: per_plan(&|plan| plan.total()),
        // No plan beats the optimum; a negative gap would be rounding in the last bits.
        gap_to_optimum: per_plan(&|plan| {
            crate::planning::gap_to_optimum(plan.total(), optimum).max(0.0)
        }),
        delivered,
        under_delivery: goals - delivered,
        realised_gap_to_optimum: crate::planning::gap_to_optimum(delivered, optimum),
        line_items,
    })
}

/// Hourly cumulative delivery against the pacing target, per line item and bidder.
struct Series {
    /// Per line item (scenario order): `(cumulative impressions, target)` at each hour's end
    /// within the flight.
    items: Vec<Vec<(f64, f64)>>,
    /// Per bidder: `(cumulative spend, target)` [micros] at each hour's end, if it paces.
    bidders: Vec<Vec<(f64, f64)>>,
    /// Per bidder: spend [micros] on each UTC day of the run.
    bidder_daily_spend: Vec<Vec<i64>>,
}

impl Series {
    fn new(scenario: &Scenario, simulation: &Simulation) -> Series {
        let metrics = simulation.metrics();
        let server = simulation.server();
        let n_items = metrics.items.len();
        let n_bidders = metrics.bidders.len();
        let mut internal = vec![0; n_items];
        for idx in 0..n_items {
            internal[server.scenario_index(idx)] = idx;
        }
        let mut items = vec![Vec::new(); n_items];
        let mut bidders = vec![Vec::new(); n_bidders];
        let mut bidder_daily_spend = vec![Vec::new(); n_bidders];
        let mut cumulative = vec![0u64; n_items];
        let mut spent = vec![0i64; n_bidders];
        let first_day = scenario.start.local_day(0);
        for hour in 0..metrics.n_hours {
            let hour_start = metrics.start + SimDuration::HOUR * hour as i64;
            let hour_end = (hour_start + SimDuration::HOUR).min(scenario.end);
            for (idx, item) in scenario.adserver.line_items.iter().enumerate() {
                cumulative[idx] += u64::from(metrics.delivery[hour * n_items + idx]);
                if item.goal.is_some()
                    && hour_end > item.flight_start
                    && hour_start < item.flight_end
                {
                    items[idx].push((
                        cumulative[idx] as f64,
                        server.target_at(internal[idx], hour_end),
                    ));
                }
            }
            let day = (hour_start.local_day(0) - first_day) as usize;
            for b in 0..n_bidders {
                let spend = metrics.bidder_delivery[hour * n_bidders + b].1;
                spent[b] += spend;
                let daily = &mut bidder_daily_spend[b];
                if daily.len() <= day {
                    daily.resize(day + 1, 0);
                }
                daily[day] += spend;
                if let Some(target) = server.bidder_spend_target(b, hour_end) {
                    bidders[b].push((spent[b] as f64, target));
                }
            }
        }
        Series {
            items,
            bidders,
            bidder_daily_spend,
        }
    }
}

/// RMSE of `(actual, target)` pairs, as a fraction of `scale`.
fn pacing_error(points: &[(f64, f64)], scale: f64) -> Option<f64> {
    if points.is_empty() || scale <= 0.0 {
        return None;
    }
    let mean_square = points
        .iter()
        .map(|(actual, target)| (actual - target).powi(2))
        .sum::<f64>()
        / points.len() as f64;
    Some(mean_square.sqrt() / scale)
}

/// `delivery.csv`: hour × line item and hour × bidder: impressions and spend, each with its
/// cumulative value and the pacing target for it.
pub fn delivery_csv(scenario: &Scenario, simulation: &Simulation) -> String {
    let metrics = simulation.metrics();
    let server = simulation.server();
    let n_items = metrics.items.len();
    let n_bidders = metrics.bidders.len();
    // Targets are kept by internal (priority) index; reports go in scenario order.
    let mut internal = vec![0; n_items];
    for idx in 0..n_items {
        internal[server.scenario_index(idx)] = idx;
    }
    let mut out = String::from(
        "hour,kind,name,impressions,cumulative,cumulative_target,spend,cumulative_spend,cumulative_spend_target,clicks,conversions,participation,bid_multiplier\n",
    );
    let mut cumulative = vec![0u64; n_items];
    let mut bidder_cumulative = vec![(0u64, 0i64); n_bidders];
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
            let spend = item.cpm.cost_of(u64::from(impressions));
            let cumulative_spend = item.cpm.cost_of(cumulative[idx]);
            let spend_target = match item.goal {
                Some(_) => format!(
                    "{:.2}",
                    item.cpm.as_units() * server.target_at(internal[idx], hour_end) / 1000.0
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "{hour_start},line_item,{},{impressions},{},{target},{spend},{cumulative_spend},{spend_target},{}",
                csv_field(&item.name),
                cumulative[idx],
                control_columns(metrics, hour, idx),
            );
        }
        for (b, bidder) in scenario.adserver.bidders.iter().enumerate() {
            let (impressions, spend) = metrics.bidder_delivery[hour * n_bidders + b];
            let total = &mut bidder_cumulative[b];
            total.0 += u64::from(impressions);
            total.1 += spend;
            let spend_target = server
                .bidder_spend_target(b, hour_end)
                .map_or(String::new(), |target| format!("{:.2}", target / 1e6));
            let _ = writeln!(
                out,
                "{hour_start},bidder,{},{impressions},{},,{},{},{spend_target},{}",
                csv_field(&bidder.name),
                total.0,
                Micros(spend),
                Micros(total.1),
                control_columns(metrics, hour, n_items + b),
            );
        }
    }
    out
}

/// The `clicks,conversions,participation,bid_multiplier` columns of `owner` (line items,
/// then bidders) in `hour`; the pacer's columns are empty when it did not decide that hour.
fn control_columns(metrics: &crate::metrics::Metrics, hour: usize, owner: usize) -> String {
    let owners = metrics.items.len() + metrics.bidders.len();
    let (clicks, conversions) = metrics
        .responses_hourly
        .get(hour * owners + owner)
        .copied()
        .unwrap_or((0, 0));
    let (participation, multiplier) = metrics.pacer_hourly[hour * owners + owner];
    let number = |value: f32| {
        if value.is_nan() {
            String::new()
        } else {
            format!("{value:.4}")
        }
    };
    format!(
        "{clicks},{conversions},{},{}",
        number(participation),
        number(multiplier)
    )
}

/// The inventory export as a table: the period start (`hour` or `day`), one text column per
/// inventory key, then `requests`, `opportunities`, `impressions` and `unfilled` — the rows of
/// `inventory.csv` and `inventory.parquet`.
pub fn inventory_table(scenario: &Scenario, simulation: &Simulation) -> crate::table::Table {
    use crate::table::{Column, Table};
    let metrics = simulation.metrics();
    let layout = &metrics.inventory_layout;
    let dims = &scenario.dims;
    let period_name = if layout.period == SimDuration::DAY {
        "day"
    } else {
        "hour"
    };
    let rows = layout.n_periods * layout.cells_per_period;
    let mut periods = Vec::with_capacity(rows);
    let mut keys: Vec<Vec<String>> = vec![Vec::with_capacity(rows); layout.keys.len()];
    let mut measures: [Vec<u64>; 4] = Default::default();
    let segments: Vec<Vec<usize>> = (0..layout.cells_per_period)
        .map(|segment| layout.decode(segment))
        .collect();
    for period in 0..layout.n_periods {
        let at = layout
            .period_start(period, metrics.start)
            .max(metrics.start);
        let cells = &metrics.inventory
            [period * layout.cells_per_period..(period + 1) * layout.cells_per_period];
        for (values, cell) in segments.iter().zip(cells) {
            periods.push(at.0);
            for ((column, &value), &(dim, _)) in keys.iter_mut().zip(values).zip(&layout.keys) {
                column.push(dims.list[dim].values[value].clone());
            }
            for (column, value) in measures.iter_mut().zip([
                cell.requests,
                cell.opportunities,
                cell.impressions,
                cell.opportunities - cell.impressions,
            ]) {
                column.push(u64::from(value));
            }
        }
    }
    let mut table = Table::new().with(period_name, Column::TimestampMicros(periods));
    for (column, &(dim, _)) in keys.into_iter().zip(&layout.keys) {
        table = table.with(&dims.list[dim].name, Column::Text(column));
    }
    let [requests, opportunities, impressions, unfilled] = measures;
    table
        .with("requests", Column::U64(requests))
        .with("opportunities", Column::U64(opportunities))
        .with("impressions", Column::U64(impressions))
        .with("unfilled", Column::U64(unfilled))
}

/// `inventory.csv`: requests, opportunities and impressions per period (hour or UTC day) and
/// segment of the inventory keys (by default country × device × genre).
pub fn inventory_csv(scenario: &Scenario, simulation: &Simulation) -> String {
    inventory_table(scenario, simulation).to_csv()
}

/// The auction event log as a table, one row per logged bid (see `adserver::eventlog`), if
/// the scenario has an `[event_log]` table.
pub fn events_table(scenario: &Scenario, simulation: &Simulation) -> Option<crate::table::Table> {
    use crate::table::{Column, Table};
    let server = simulation.server();
    let log = server.event_log()?;
    let dims = &scenario.dims;
    let n_bidders = scenario.adserver.bidders.len();
    let mut table = Table::new()
        .with(
            "auction",
            Column::U64(log.bids.iter().map(|b| b.auction).collect()),
        )
        .with(
            "time",
            Column::TimestampMicros(log.bids.iter().map(|b| b.at.0).collect()),
        );
    for (dim, dimension) in dims.list.iter().enumerate() {
        let values: Vec<String> = log
            .bids
            .iter()
            .map(|b| {
                let value = log.requests[b.request as usize * log.n_dims + dim];
                dimension.values[usize::from(value)].clone()
            })
            .collect();
        table = table.with(&dimension.name, Column::Text(values));
    }
    let pod = |b: &crate::adserver::LoggedBid| log.pods[b.request as usize];
    let (names, kinds): (Vec<String>, Vec<String>) = log
        .bids
        .iter()
        .map(|b| {
            let id = b.owner as usize;
            if id < n_bidders {
                (
                    scenario.adserver.bidders[id].name.clone(),
                    "bidder".to_string(),
                )
            } else {
                let item = server.scenario_index(id - n_bidders);
                (
                    scenario.adserver.line_items[item].name.clone(),
                    "line_item".to_string(),
                )
            }
        })
        .unzip();
    Some(
        table
            .with(
                "slots",
                Column::U64(log.bids.iter().map(|b| u64::from(pod(b).0)).collect()),
            )
            .with(
                "seconds",
                Column::U64(log.bids.iter().map(|b| u64::from(pod(b).1)).collect()),
            )
            .with("owner", Column::Text(names))
            .with("owner_kind", Column::Text(kinds))
            .with(
                "bid",
                Column::F64(log.bids.iter().map(|b| b.amount.as_units()).collect()),
            )
            .with(
                "floor",
                Column::F64(log.bids.iter().map(|b| b.floor.as_units()).collect()),
            )
            .with(
                "propensity",
                Column::F64(log.bids.iter().map(|b| b.propensity).collect()),
            )
            .with(
                "won",
                Column::Bool(log.bids.iter().map(|b| b.won.is_some()).collect()),
            )
            .with(
                "position",
                Column::OptF64(
                    log.bids
                        .iter()
                        .map(|b| b.won.map(|(p, _)| f64::from(p)))
                        .collect(),
                ),
            )
            .with(
                "price",
                Column::OptF64(
                    log.bids
                        .iter()
                        .map(|b| b.won.map(|(_, price)| price.as_units()))
                        .collect(),
                ),
            ),
    )
}

/// Binary outputs only: `inventory.parquet` and `events.parquet` when asked for.
pub fn render_binary(
    scenario: &Scenario,
    simulation: &Simulation,
) -> Result<Vec<(&'static str, Vec<u8>)>, crate::table::TableError> {
    render_all(scenario, simulation).2
}

/// `bid_landscape.csv`: sales per hour and clearing-price bucket (non-empty buckets only), if
/// the scenario asked for it.
pub fn bid_landscape_csv(simulation: &Simulation) -> Option<String> {
    let metrics = simulation.metrics();
    let landscape = metrics.auction.landscape.as_ref()?;
    let mut out = String::from("hour,price_from,price_to,sales\n");
    for hour in 0..metrics.n_hours {
        let hour_start = metrics.start + SimDuration::HOUR * hour as i64;
        for bucket in 0..LANDSCAPE_BUCKETS {
            let sales = landscape[hour * LANDSCAPE_BUCKETS + bucket];
            if sales == 0 {
                continue;
            }
            let from = Micros(bucket as i64 * LANDSCAPE_BUCKET);
            let to = if bucket + 1 == LANDSCAPE_BUCKETS {
                String::new()
            } else {
                Micros(from.0 + LANDSCAPE_BUCKET).to_string()
            };
            let _ = writeln!(out, "{hour_start},{from},{to},{sales}");
        }
    }
    Some(out)
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
    if !summary.bidders.is_empty() {
        let auction = &summary.auction;
        let _ = writeln!(
            out,
            "\n{} auction · floor {:.2} · {} auctions · {} slots sold · average clearing price {:.2} · revenue direct {} / programmatic {}",
            auction.mechanism,
            auction.floor_cpm,
            auction.auctions,
            auction.slots_sold,
            auction.average_clearing_price,
            Micros::from_units(totals.revenue_direct).unwrap_or_default(),
            Micros::from_units(totals.revenue_programmatic).unwrap_or_default()
        );
        let width = summary
            .bidders
            .iter()
            .map(|b| b.name.chars().count())
            .max()
            .unwrap_or(6)
            .clamp(6, 30);
        let _ = writeln!(
            out,
            "{:<width$}  {:>9}  {:>9}  {:>8}  {:>8}  {:>10}  {:>7}  {:>7}  {:>8}  {:>8}",
            "bidder",
            "requests",
            "bids",
            "timeouts",
            "wins",
            "spend",
            "win %",
            "p95 ms",
            "pacing",
            "pace err"
        );
        for bidder in &summary.bidders {
            let name: String = bidder.name.chars().take(width).collect();
            let error = bidder
                .pacing_error
                .map_or("-".to_string(), |e| format!("{:.2}%", e * 100.0));
            let _ = writeln!(
                out,
                "{name:<width$}  {:>9}  {:>9}  {:>8}  {:>8}  {:>10}  {:>6.1}%  {:>7.0}  {:>8}  {error:>8}",
                bidder.requests,
                bidder.bids,
                bidder.timeouts,
                bidder.wins,
                Micros::from_units(bidder.spend)
                    .unwrap_or_default()
                    .to_string(),
                bidder.win_rate * 100.0,
                bidder.latency_ms_p95,
                bidder.pacing,
            );
        }
    }
    if totals.clicks + totals.completions > 0 {
        let _ = writeln!(
            out,
            "
responses: {} completions · {} clicks · {} conversions ({} beyond the window, {} due after the end)",
            totals.completions,
            totals.clicks,
            totals.conversions,
            totals.late_conversions,
            totals.responses_after_end
        );
    }
    if let Some(allocation) = &summary.allocation {
        let _ = writeln!(
            out,
            "
allocation plan {} on forecast {} · goals {:.0} · delivered {:.0} · under-delivery {:.0} ({:.1}%)",
            allocation.plan,
            allocation.forecast,
            allocation.goals,
            allocation.delivered,
            allocation.under_delivery,
            ratio(allocation.under_delivery, allocation.goals) * 100.0
        );
        let _ = writeln!(
            out,
            "forecast delivery: greedy {:.0} ({:.1}% below optimum) · hwm {:.0} ({:.1}%) · optimal {:.0}",
            allocation.planned.greedy,
            allocation.gap_to_optimum.greedy * 100.0,
            allocation.planned.hwm,
            allocation.gap_to_optimum.hwm * 100.0,
            allocation.planned.optimal
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
    let (summary, files, _) = render_all(scenario, simulation);
    (summary, files)
}

/// Text files and binary files (Parquet, when `[inventory] parquet` or `[event_log] parquet`
/// asks) of a finished run. Each table is built once and written in both formats.
#[allow(clippy::type_complexity)]
pub fn render_all(
    scenario: &Scenario,
    simulation: &Simulation,
) -> (
    Summary,
    Vec<(&'static str, String)>,
    Result<Vec<(&'static str, Vec<u8>)>, crate::table::TableError>,
) {
    let summary = summary(scenario, simulation);
    let mut json = serde_json::to_string_pretty(&summary).expect("summary serializes");
    json.push('\n');
    let inventory = inventory_table(scenario, simulation);
    let events = events_table(scenario, simulation);
    let mut files = vec![
        ("summary.json", json),
        ("delivery.csv", delivery_csv(scenario, simulation)),
        ("inventory.csv", inventory.to_csv()),
    ];
    if let Some(landscape) = bid_landscape_csv(simulation) {
        files.push(("bid_landscape.csv", landscape));
    }
    if let Some(events) = &events {
        files.push(("events.csv", events.to_csv()));
    }
    files.push((
        "report.html",
        html::run_report(scenario, simulation, &summary),
    ));
    let binary = (|| {
        let mut binary = Vec::new();
        if scenario.inventory.parquet {
            binary.push(("inventory.parquet", inventory.to_parquet()?));
        }
        if let Some(events) = &events
            && scenario.adserver.event_log.is_some_and(|log| log.parquet)
        {
            binary.push(("events.parquet", events.to_parquet()?));
        }
        Ok(binary)
    })();
    (summary, files, binary)
}

/// Renders `run.json` (a `RunInfo`, or a `BatchInfo` for replications).
pub fn run_json(info: &impl Serialize) -> String {
    let mut json = serde_json::to_string_pretty(info).expect("run info serializes");
    json.push('\n');
    json
}

/// Writes `contents` to `dir/name` atomically: a temporary file in `dir`, synced, renamed.
pub fn write_atomic(
    dir: &Path,
    name: &str,
    contents: impl AsRef<[u8]>,
) -> std::io::Result<PathBuf> {
    let target = dir.join(name);
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(contents.as_ref())?;
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
