//! Guaranteed-delivery allocation: serving guaranteed line items from a plan.
//!
//! With an `[allocation]` table, the guaranteed line items (priority below 12, with a goal)
//! are served by a plan computed at the start of the run from a supply forecast, instead of by
//! their pacers:
//!
//! - `greedy`: no plan: every eligible request goes to the guaranteed items by priority
//!   (then scenario order) until their goals are met — what an ad server does without one;
//! - `hwm`: the High-Water-Mark plan (Chen et al., EC 2012): a request takes item `j` with
//!   probability `min(α_j, what is left of the pod)`, items in the plan's order;
//! - `optimal`: the maximum-flow optimum of the transportation problem on the forecast,
//!   served with the optimal fractions of the request's supply type.
//!
//! A request's supply type is the set of planned items whose targeting accepts it and whose
//! flight is running, plus its pod's slot count. The items a request takes part in are
//! chosen with one uniform draw by systematic sampling (`planning::systematic_pick`), so each
//! item takes part with exactly its planned probability; caps, pod duration and competitive
//! separation can still turn it away, as they would in production.
//!
//! The supply forecast is either the scenario's own expected traffic (`forecast = "oracle"`:
//! session and break rates per country, member attribute weights and the slate's popularity,
//! launch spikes included, at each hour) or a CSV file (`docs/forecast.md`). All three plans
//! are computed on the same forecast, so every run reports each plan's forecast delivery and
//! its gap to the optimum.

use std::collections::BTreeMap;

use super::Rule;
use crate::engine::Stream;
use crate::planning::{self, Demand, Plan, PlanKind, SupplyType};
use crate::time::{SimDuration, SimTime};
use crate::traffic::{
    BreakKind, DIM_COUNTRY, Dimensions, ExpectedTraffic, MAX_DIMENSIONS, Synthetic,
};

/// Most guaranteed line items a plan covers (one bit each in a supply type's signature).
pub const MAX_PLANNED: usize = 128;

/// One row of a forecast file: expected requests in one UTC hour and one segment.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastRow {
    pub hour: SimTime,
    /// Value per dimension; meaningful where `known` has the dimension's bit.
    pub values: [u16; MAX_DIMENSIONS],
    pub known: u32,
    pub requests: f64,
    /// Slot opportunities of those requests, if the file says (an inventory.csv does).
    pub opportunities: Option<f64>,
    /// Bounds of the forecast's prediction interval, if the file has them (`requests_low`,
    /// `requests_high`, as `adsim forecast` writes).
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// Which value of a forecast supply is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Point,
    /// The interval's bounds (the point where a file has none; the oracle has none).
    Low,
    High,
}

/// Where the plan's supply forecast comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ForecastSource {
    Oracle,
    File {
        path: String,
        rows: Vec<ForecastRow>,
    },
}

impl ForecastSource {
    pub fn name(&self) -> &str {
        match self {
            ForecastSource::Oracle => "oracle",
            ForecastSource::File { path, .. } => path,
        }
    }
}

/// The scenario's `[allocation]` table, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocationConfig {
    pub plan: PlanKind,
    pub forecast: ForecastSource,
}

/// A planned line item, as the plan needs it.
#[derive(Clone, Copy)]
pub struct PlannedItem<'a> {
    /// Internal (priority-order) index in the ad server.
    pub internal: usize,
    pub priority: u8,
    /// Goal over the run [impressions] (the part of a longer flight that falls in the run).
    pub goal: f64,
    pub targeting: &'a [Rule],
    pub flight: (SimTime, SimTime),
}

/// What the oracle needs to know about traffic.
pub struct OracleInputs<'a> {
    pub expected: &'a ExpectedTraffic,
    pub traffic: &'a Synthetic,
    pub offsets: &'a [i32],
}

/// Per targeted dimension and value, the planned items accepting it.
struct Masks {
    /// `(dim, mask per value)` for each dimension some planned item targets.
    dims: Vec<(usize, Vec<u128>)>,
    all: u128,
}

impl Masks {
    fn new(items: &[PlannedItem<'_>], dims: &Dimensions) -> Masks {
        let all = if items.len() == MAX_PLANNED {
            u128::MAX
        } else {
            (1u128 << items.len()) - 1
        };
        let mut out = Vec::new();
        for (dim, dimension) in dims.list.iter().enumerate() {
            if !items
                .iter()
                .any(|item| item.targeting.iter().any(|r| r.dim == dim))
            {
                continue;
            }
            let masks = (0..dimension.values.len())
                .map(|value| {
                    items
                        .iter()
                        .enumerate()
                        .filter(|(_, item)| {
                            item.targeting
                                .iter()
                                .filter(|r| r.dim == dim)
                                .all(|r| r.accepts(value as u16))
                        })
                        .fold(0u128, |mask, (j, _)| mask | 1 << j)
                })
                .collect();
            out.push((dim, masks));
        }
        Masks { dims: out, all }
    }

    fn targets(&self, dim: usize) -> bool {
        self.dims.iter().any(|(d, _)| *d == dim)
    }

    fn of(&self, dim: usize, value: u16) -> u128 {
        self.dims
            .iter()
            .find(|(d, _)| *d == dim)
            .map_or(self.all, |(_, masks)| masks[usize::from(value)])
    }

    /// The items accepting `values` on every targeted dimension.
    #[inline]
    fn accepting(&self, values: &[u16]) -> u128 {
        self.dims.iter().fold(self.all, |mask, (dim, masks)| {
            mask & masks[usize::from(values[*dim])]
        })
    }
}

/// The planned items in flight at `at`.
fn flying(items: &[PlannedItem<'_>], at: SimTime) -> u128 {
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| item.flight.0 <= at && at < item.flight.1)
        .fold(0u128, |mask, (j, _)| mask | 1 << j)
}

/// Supply types by `(hour, slots, signature)`, accumulated, and all forecast requests in the
/// horizon (including those no planned item can take).
#[derive(Default)]
struct SupplyTable(BTreeMap<(u32, u32, u128), f64>, f64);

impl SupplyTable {
    fn add(&mut self, hour: u32, slots: u32, signature: u128, requests: f64) {
        self.1 += requests;
        if signature != 0 && slots > 0 && requests > 0.0 {
            *self.0.entry((hour, slots, signature)).or_default() += requests;
        }
    }

    fn into_types(self) -> (Vec<SupplyType>, f64) {
        let types = self
            .0
            .into_iter()
            .map(|((hour, slots, signature), requests)| SupplyType {
                hour,
                requests,
                slots,
                eligible: (0..MAX_PLANNED)
                    .filter(|j| signature >> j & 1 == 1)
                    .collect(),
            })
            .collect();
        (types, self.1)
    }
}

/// Folds weighted values of one dimension into weighted masks, merging equal masks.
fn fold_dimension(
    masks: &BTreeMap<u128, f64>,
    per_value: impl Iterator<Item = (u128, f64)> + Clone,
) -> BTreeMap<u128, f64> {
    let mut out = BTreeMap::new();
    for (&mask, &weight) in masks {
        for (value_mask, value_weight) in per_value.clone() {
            if value_weight > 0.0 {
                *out.entry(mask & value_mask).or_insert(0.0) += weight * value_weight;
            }
        }
    }
    out
}

/// Supply from the scenario's own expected traffic.
fn oracle_supply(
    items: &[PlannedItem<'_>],
    masks: &Masks,
    dims: &Dimensions,
    oracle: &OracleInputs<'_>,
    slots_of: [u32; 2],
    run: (SimTime, SimTime),
) -> (Vec<SupplyType>, f64) {
    let config = oracle.traffic.config();
    // Member attributes are drawn independently of each other and of country.
    let mut member = BTreeMap::from([(masks.all, 1.0)]);
    for (k, attribute) in config.attributes.iter().enumerate() {
        let dim = 1 + k;
        if !masks.targets(dim) {
            continue;
        }
        let total: f64 = attribute.weights.iter().sum();
        member = fold_dimension(
            &member,
            attribute
                .weights
                .iter()
                .enumerate()
                .map(|(value, w)| (masks.of(dim, value as u16), w / total)),
        );
    }
    let title_targeted =
        masks.targets(dims.genre()) || masks.targets(dims.rating()) || masks.targets(dims.title());
    // Expected requests per (hour, country, break kind, local hour, weekday).
    let mut cells: BTreeMap<(u32, usize, usize, u32, u32), f64> = BTreeMap::new();
    let expected = oracle.expected;
    for (series_idx, series) in expected.requests.iter().enumerate() {
        let (country, kind) = (series_idx / 2, series_idx % 2);
        for (minute, &count) in series.iter().enumerate() {
            let at = expected.start + SimDuration::MINUTE * minute as i64;
            if count <= 0.0 || at < run.0 || at >= run.1 {
                continue;
            }
            let hour = ((at - run.0).0 / SimDuration::HOUR.0) as u32;
            let offset = oracle.offsets[country];
            *cells
                .entry((
                    hour,
                    country,
                    kind,
                    at.local_hour(offset),
                    at.local_weekday(offset),
                ))
                .or_default() += count;
        }
    }
    let mut table = SupplyTable::default();
    let mut titles_hour = u32::MAX;
    let mut titles = BTreeMap::from([(masks.all, 1.0)]);
    for ((hour, country, kind, local_hour, weekday), requests) in cells {
        let at = run.0 + SimDuration::HOUR * i64::from(hour);
        if title_targeted && hour != titles_hour {
            titles_hour = hour;
            let mut by_mask = BTreeMap::new();
            let mid_hour = at + SimDuration::from_minutes(30);
            for (t, (genre, rating, share)) in oracle
                .traffic
                .title_shares(mid_hour)
                .into_iter()
                .enumerate()
            {
                let mask = masks.of(dims.genre(), genre)
                    & masks.of(dims.rating(), rating)
                    & masks.of(dims.title(), t as u16);
                if share > 0.0 {
                    *by_mask.entry(mask).or_insert(0.0) += share;
                }
            }
            titles = by_mask;
        }
        let context = flying(items, at)
            & masks.of(DIM_COUNTRY, country as u16)
            & masks.of(dims.break_kind(), kind as u16)
            & masks.of(dims.local_hour(), local_hour as u16)
            & masks.of(dims.weekday(), weekday as u16);
        for (&m, &wm) in &member {
            for (&t, &wt) in &titles {
                table.add(hour, slots_of[kind], context & m & t, requests * wm * wt);
            }
        }
    }
    table.into_types()
}

/// Supply from a forecast file's rows (checked at load to carry every dimension the planned
/// items target; local hour and weekday come from the hour and the row's country).
#[allow(clippy::too_many_arguments)]
fn file_supply(
    items: &[PlannedItem<'_>],
    masks: &Masks,
    dims: &Dimensions,
    rows: &[ForecastRow],
    offsets: &[i32],
    slots_of: [u32; 2],
    run: (SimTime, SimTime),
    bound: Bound,
) -> (Vec<SupplyType>, f64) {
    let mut table = SupplyTable::default();
    for row in rows {
        if row.hour < run.0 || row.hour >= run.1 {
            continue;
        }
        let requests = match bound {
            Bound::Point => row.requests,
            Bound::Low => row.low.unwrap_or(row.requests),
            Bound::High => row.high.unwrap_or(row.requests),
        };
        // Opportunities scale with the bound, so the pre/mid-roll split stays the same.
        let opportunities = row.opportunities.map(|o| {
            if row.requests > 0.0 {
                o * requests / row.requests
            } else {
                0.0
            }
        });
        let row = ForecastRow {
            requests,
            opportunities,
            ..row.clone()
        };
        let row = &row;
        let mut values = row.values;
        let offset = if row.known & 1 << DIM_COUNTRY != 0 {
            offsets[usize::from(values[DIM_COUNTRY])]
        } else {
            0
        };
        let mid_hour = row.hour + SimDuration::from_minutes(30);
        values[dims.local_hour()] = mid_hour.local_hour(offset) as u16;
        values[dims.weekday()] = mid_hour.local_weekday(offset) as u16;
        let hour = ((row.hour - run.0).0 / SimDuration::HOUR.0) as u32;
        let mut add = |kind: usize, requests: f64| {
            values[dims.break_kind()] = kind as u16;
            let slots = if slots_of[kind] > 0 {
                slots_of[kind]
            } else {
                slots_of[1 - kind]
            };
            table.add(
                hour,
                slots,
                flying(items, row.hour) & masks.accepting(&values),
                requests,
            );
        };
        let (pre, mid) = (BreakKind::PreRoll as usize, BreakKind::MidRoll as usize);
        if row.known & 1 << dims.break_kind() != 0 {
            add(usize::from(row.values[dims.break_kind()]), row.requests);
        } else if let Some(opportunities) = row.opportunities
            && slots_of[pre] > 0
            && slots_of[mid] > 0
            && slots_of[pre] != slots_of[mid]
        {
            // Without a break column, the slot count says how the requests split:
            // requests = a + b, opportunities = a·slots_pre + b·slots_mid.
            let (s_pre, s_mid) = (f64::from(slots_of[pre]), f64::from(slots_of[mid]));
            let b =
                ((opportunities - row.requests * s_pre) / (s_mid - s_pre)).clamp(0.0, row.requests);
            add(mid, b);
            add(pre, row.requests - b);
        } else {
            let kind = if slots_of[mid] > 0 { mid } else { pre };
            add(kind, row.requests);
        }
    }
    table.into_types()
}

/// The supply types `items` see in `window`, from `source`, and all forecast requests there.
#[allow(clippy::too_many_arguments)]
fn build_supply(
    items: &[PlannedItem<'_>],
    masks: &Masks,
    dims: &Dimensions,
    source: &ForecastSource,
    oracle: &OracleInputs<'_>,
    slots_of: [u32; 2],
    window: (SimTime, SimTime),
    bound: Bound,
) -> (Vec<SupplyType>, f64) {
    match source {
        ForecastSource::Oracle => oracle_supply(items, masks, dims, oracle, slots_of, window),
        ForecastSource::File { rows, .. } => file_supply(
            items,
            masks,
            dims,
            rows,
            oracle.offsets,
            slots_of,
            window,
            bound,
        ),
    }
}

/// What `adsim avails` answers for one forecast value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Avails {
    /// Forecast requests the query's targeting accepts in the window.
    pub eligible_requests: f64,
    /// Booked goals falling in the window, and how much of them the forecast can deliver.
    pub booked: f64,
    pub booked_deliverable: f64,
    /// Impressions that can still be sold to the query's targeting.
    pub available: f64,
}

/// Availability for a new line item targeting `query` in `window`, after the booked items:
/// the booked demand is allocated on the forecast first (its maximum flow), and what is
/// available is how much more flow a demand of unbounded goal with the query's targeting can
/// add — the two maximum flows' difference. Augmenting paths never take flow back from the
/// source's other edges, so the booked items keep all they had: the answer accounts for
/// contention exactly, including a query that overlaps several booked items.
#[allow(clippy::too_many_arguments)]
pub fn avails(
    booked: &[PlannedItem<'_>],
    query: &[Rule],
    dims: &Dimensions,
    source: &ForecastSource,
    oracle: &OracleInputs<'_>,
    slots_of: [u32; 2],
    window: (SimTime, SimTime),
    bound: Bound,
) -> Avails {
    let mut items: Vec<PlannedItem<'_>> = booked.to_vec();
    items.push(PlannedItem {
        internal: usize::MAX,
        priority: u8::MAX,
        goal: f64::MAX,
        targeting: query,
        flight: window,
    });
    let masks = Masks::new(&items, dims);
    let (supply, _) = build_supply(
        &items, &masks, dims, source, oracle, slots_of, window, bound,
    );
    let new = items.len() - 1;
    let eligible_requests: f64 = supply
        .iter()
        .filter(|s| s.eligible.contains(&new))
        .map(|s| s.requests)
        .sum();
    // Cap the query's goal at what it can reach, so flows stay finite.
    let reach: f64 = eligible_requests;
    let demands: Vec<Demand> = items
        .iter()
        .map(|item| Demand {
            goal: if item.goal == f64::MAX {
                reach
            } else {
                item.goal
            },
            priority: item.priority,
        })
        .collect();
    let booked_only: Vec<Demand> = demands
        .iter()
        .enumerate()
        .map(|(j, d)| {
            if j == new {
                Demand { goal: 0.0, ..*d }
            } else {
                *d
            }
        })
        .collect();
    let before = planning::optimal(&supply, &booked_only).total();
    let after = planning::optimal(&supply, &demands).total();
    Avails {
        eligible_requests,
        booked: booked.iter().map(|item| item.goal).sum(),
        booked_deliverable: before,
        available: (after - before).max(0.0),
    }
}

/// A plan being served, and what the report needs of it.
pub struct Allocation {
    pub kind: PlanKind,
    pub forecast_name: String,
    /// Internal index of each demand.
    pub internal: Vec<usize>,
    pub demands: Vec<Demand>,
    /// Greedy, HWM and optimal plans on the forecast, in that order.
    pub plans: [Plan; 3],
    pub forecast_requests: f64,
    masks: Masks,
    /// Position of each demand in the served plan's order.
    position: Vec<usize>,
    /// Optimal fractions by `(slots, signature)`.
    optimal: BTreeMap<(u32, u128), Vec<(usize, f64)>>,
    /// Planned items in flight.
    pub(super) flying: u128,
    stream: Stream,
    // Scratch.
    fractions: Vec<(usize, f64)>,
    picked: Vec<usize>,
}

impl Allocation {
    /// Plans `items` on the forecast of `config`.
    pub fn new(
        config: &AllocationConfig,
        items: &[PlannedItem<'_>],
        dims: &Dimensions,
        oracle: &OracleInputs<'_>,
        slots_of: [u32; 2],
        run: (SimTime, SimTime),
        seed: u64,
    ) -> Allocation {
        let masks = Masks::new(items, dims);
        let (supply, forecast_requests) = build_supply(
            items,
            &masks,
            dims,
            &config.forecast,
            oracle,
            slots_of,
            run,
            Bound::Point,
        );
        let demands: Vec<Demand> = items
            .iter()
            .map(|item| Demand {
                goal: item.goal,
                priority: item.priority,
            })
            .collect();
        let plans = [
            planning::greedy(&supply, &demands),
            planning::hwm(&supply, &demands),
            planning::optimal(&supply, &demands),
        ];
        let mut optimal = BTreeMap::new();
        for (supply_type, fractions) in supply.iter().zip(&plans[2].fractions) {
            let signature = supply_type
                .eligible
                .iter()
                .fold(0u128, |mask, &j| mask | 1 << j);
            optimal
                .entry((supply_type.slots, signature))
                .or_insert_with(|| fractions.clone());
        }
        let served = &plans[kind_index(config.plan)];
        let mut position = vec![0; items.len()];
        for (pos, &j) in served.order.iter().enumerate() {
            position[j] = pos;
        }
        Allocation {
            kind: config.plan,
            forecast_name: config.forecast.name().to_string(),
            internal: items.iter().map(|item| item.internal).collect(),
            demands,
            forecast_requests,
            plans,
            masks,
            position,
            optimal,
            flying: 0,
            stream: Stream::new(seed, "adserver.allocation"),
            fractions: Vec::with_capacity(16),
            picked: Vec::with_capacity(16),
        }
    }

    /// The served plan.
    pub fn served(&self) -> &Plan {
        &self.plans[kind_index(self.kind)]
    }

    /// Position of demand `j` in the served plan's serving order.
    pub fn position(&self, j: usize) -> usize {
        self.position[j]
    }

    /// The demands that take part in a request with these `values` and `slots`, in serving
    /// order, as a mask over demands.
    pub fn pick(&mut self, values: &[u16], slots: u32) -> u128 {
        let signature = self.flying & self.masks.accepting(values);
        if signature == 0 || slots == 0 {
            return 0;
        }
        match self.kind {
            PlanKind::Greedy => signature,
            PlanKind::Hwm => {
                self.fractions.clear();
                let alpha = &self.plans[1].alpha;
                let mut left = f64::from(slots);
                for &j in &self.plans[1].order {
                    if signature >> j & 1 == 1 && left > 0.0 {
                        let x = alpha[j].min(left).min(1.0);
                        if x > 0.0 {
                            self.fractions.push((j, x));
                            left -= x;
                        }
                    }
                }
                self.sample()
            }
            PlanKind::Optimal => {
                self.fractions.clear();
                if let Some(fractions) = self.optimal.get(&(slots, signature)) {
                    self.fractions.extend_from_slice(fractions);
                }
                self.sample()
            }
        }
    }

    fn sample(&mut self) -> u128 {
        if self.fractions.is_empty() {
            return 0;
        }
        let u = self.stream.uniform();
        planning::systematic_pick(&self.fractions, u, &mut self.picked);
        self.picked.iter().fold(0u128, |mask, &j| mask | 1 << j)
    }
}

fn kind_index(kind: PlanKind) -> usize {
    match kind {
        PlanKind::Greedy => 0,
        PlanKind::Hwm => 1,
        PlanKind::Optimal => 2,
    }
}
