//! The ad server: direct-sold line items and programmatic demand filling the pods of ad
//! requests.
//!
//! Per request: the eligible line items are those whose targeting accepts the request, in
//! flight, short of their goal, under every frequency cap (line item and advertiser) and let
//! through by their pacer's throttle. They fill the pod's slots by priority tier, and within a
//! tier by delivery urgency (how far behind its schedule an item is, as a share of its goal),
//! subject to the pod's slot count and total duration, competitive separation (no two ads of
//! one category in a pod) and at most one ad per line item per pod.
//!
//! Decisioning is unified, as in ad servers that run guaranteed and programmatic demand
//! together: guaranteed tiers (priority below 12) fill first; then the remaining slots go to
//! an auction among the bidders (see `exchange`) and the price-priority line items (priority
//! 12, bidding their CPM); then house line items (priority above 12) fill what is left. The
//! pod's rules — slots, duration, competitive separation, one ad per advertiser unless the
//! scenario allows more — hold for every ad, however it was sold.
//!
//! Line items are held in priority order. After every pacing decision the server ranks them
//! by (priority, urgency, index); eligible items are marked in a bitset indexed by rank, and a
//! walk over its bits visits them in serving order, with no per-request sort.

mod allocation;
mod counters;
mod curves;
mod eventlog;
mod exchange;
mod targeting;

pub use allocation::{
    Allocation, AllocationConfig, Avails, Bound, ForecastRow, ForecastSource, MAX_PLANNED,
    OracleInputs, PlannedItem, avails,
};
pub use counters::{Counters, MAX_COUNTERS, Period};
pub use curves::Curves;
pub use eventlog::{EventLog, EventLogConfig, LoggedBid};
pub use exchange::{BidderSpec, ExchangeConfig, FloorRule, Latency};

pub use targeting::{Rule, Targeting, bitset_words};

use crate::auction::{Auction, Award, Bid, Pod};
use crate::bidder::Bidder;
use crate::engine::Stream;
use crate::metrics::Metrics;
use crate::money::Micros;
use crate::pacing::{Observation, Pacer, PacingSpec};
use crate::response::{Responder, Response, ResponseConfig, ResponseKind};
use crate::time::{SimDuration, SimTime};
use crate::traffic::{AdRequest, Dimensions, ExpectedTraffic};

/// A frequency cap: at most `max` impressions per member per `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    pub max: u16,
    pub period: Period,
}

/// A direct-sold line item, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct LineItem {
    pub name: String,
    /// Index into `Config::advertisers`.
    pub advertiser: usize,
    /// Priority 1 (highest) to 16 (house); lower numbers fill first.
    pub priority: u8,
    /// Price [micros per thousand impressions].
    pub cpm: Micros,
    /// Delivery goal [impressions]; `None` delivers without limit (house, remnant).
    pub goal: Option<u64>,
    pub flight_start: SimTime,
    pub flight_end: SimTime,
    pub targeting: Vec<Rule>,
    pub caps: Vec<Cap>,
    /// Competitive category index into `Config::categories`.
    pub category: Option<u16>,
    /// Creative length [s], a multiple of 5.
    pub creative_duration_s: u16,
    pub pacing: PacingSpec,
}

/// An advertiser, with caps across all its line items.
#[derive(Clone, Debug, PartialEq)]
pub struct Advertiser {
    pub name: String,
    pub caps: Vec<Cap>,
}

/// The ad server's part of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub line_items: Vec<LineItem>,
    pub advertisers: Vec<Advertiser>,
    pub categories: Vec<String>,
    pub pacing_interval: SimDuration,
    /// Whether a pod may hold two ads of one advertiser.
    pub allow_same_advertiser: bool,
    pub exchange: ExchangeConfig,
    pub bidders: Vec<BidderSpec>,
    /// Budget synchronisation lag: pacers, goal stops and budget checks see delivery and
    /// spend only as of the last synchronisation, every this often. `None`: at once.
    pub budget_sync: Option<SimDuration>,
    /// User response to ads, if modelled.
    pub response: Option<ResponseConfig>,
    /// Guaranteed-delivery allocation plan, if any (else guaranteed items follow their pacers).
    pub allocation: Option<AllocationConfig>,
    /// The auction event log, if asked for.
    pub event_log: Option<EventLogConfig>,
}

/// The priority of line items that compete in the auction at their CPM.
pub const PRICE_PRIORITY: u8 = 12;

/// Whether any of `cap_checks` is reached for the request's member, loading the member's
/// counters first unless `loaded` says they are.
#[inline]
fn capped(
    counters: &mut Counters,
    cap_checks: &[(u16, u16)],
    request: &AdRequest,
    loaded: &mut bool,
) -> bool {
    if !*loaded {
        counters.load(request.member, request.at, request.utc_offset_minutes);
        *loaded = true;
    }
    cap_checks
        .iter()
        .any(|&(counter, max)| counters.count(counter) >= max)
}

/// The `(counter, max)` checks and the counters to bump for a list of caps, allocating
/// counters with `new_counter`: one per hour/day/week cap, one shared by all flight caps.
fn cap_counters(caps: &[Cap], new_counter: &mut impl FnMut(Period) -> u16) -> ItemCounters {
    let mut checks = Vec::new();
    let mut bumps = Vec::new();
    let mut lifetime = None;
    for cap in caps {
        let counter = if cap.period == Period::Flight {
            *lifetime.get_or_insert_with(|| new_counter(Period::Flight))
        } else {
            new_counter(cap.period)
        };
        if !bumps.contains(&counter) {
            bumps.push(counter);
        }
        checks.push((counter, cap.max));
    }
    (checks, bumps)
}

/// A line item's `(counter, max)` cap checks and the counters an impression bumps.
type ItemCounters = (Vec<(u16, u16)>, Vec<u16>);

/// How many pacing intervals fit in `span` (at least 1).
fn intervals(span: SimDuration, interval: SimDuration) -> f64 {
    (span.0 as f64 / interval.0.max(1) as f64).max(1.0)
}

/// A line item as the hot path wants it, in priority order.
struct Item {
    /// Position in the scenario's list (reports use scenario order).
    scenario_idx: usize,
    priority: u8,
    cpm: Micros,
    advertiser: u32,
    goal: Option<u64>,
    category: Option<u16>,
    creative_duration_s: u16,
    /// `(counter, max)` for every cap that applies, the item's own and its advertiser's.
    cap_checks: Vec<(u16, u16)>,
    /// Counters an impression bumps; the first is created at a member's first impression of
    /// the item (reach).
    bumps: Vec<u16>,
    /// Index into `AdServer::curves`, the expected traffic in the item's scope.
    curve: usize,
    flight_start: SimTime,
    flight_end: SimTime,
}

/// One served pod, as recorded when tracing is on (tests, and later event logs).
#[derive(Clone, Debug)]
pub struct PodRecord {
    pub request: AdRequest,
    /// Line items placed, by scenario index, in slot order.
    pub items: Vec<usize>,
    /// Slots sold to bidders.
    pub sales: Vec<Sale>,
    /// Responses drawn for this pod's ads, with when they are due.
    pub responses: Vec<(SimTime, Response)>,
}

/// A slot sold to a bidder, as traced.
#[derive(Clone, Copy, Debug)]
pub struct Sale {
    pub bidder: usize,
    /// Position among the slots the auction sold, 0 = first.
    pub position: u8,
    /// The bid and its floor [CPM micros].
    pub bid: Micros,
    pub floor: Micros,
    /// Price paid [CPM micros].
    pub price: Micros,
    /// The bidder's total spend after this sale [micros].
    pub spent: i64,
}

/// Counts of one pacing interval, for the pacer.
#[derive(Clone, Copy, Default)]
pub(crate) struct IntervalCounts {
    eligible: u64,
    attempts: u64,
}

/// What a pacer or budget check can see of one line item or bidder: delivery (impressions,
/// or spend in micros) as of the last synchronisation, and the responses observed so far.
#[derive(Clone, Copy, Default)]
pub(crate) struct Seen {
    delivered: i64,
    /// Spend on the current UTC day (bidders).
    delivered_day: i64,
    /// `delivered` when the pacer last decided, and the schedule's target then.
    at_update: i64,
    target_at_update: f64,
    clicks: u64,
    conversions: u64,
}

/// Serving state.
pub struct AdServer {
    items: Vec<Item>,
    pacers: Vec<Box<dyn Pacer>>,
    targeting: Targeting,
    /// Items in flight and short of their goal.
    active: Vec<u64>,
    counters: Counters,
    /// Participation probability per item, set by its pacer.
    throttle: Vec<f64>,
    /// Behind-schedule share of goal per item, set at each tick; higher serves first in a tier.
    urgency: Vec<f64>,
    delivered: Vec<u64>,
    seen: Vec<Seen>,
    interval: Vec<IntervalCounts>,
    /// When each item's pacer last decided: the interval its counts cover starts there.
    last_update: Vec<SimTime>,
    /// Expected traffic per pacing scope.
    curves: Curves,
    pacing_interval: SimDuration,
    stream: Stream,
    // Per-request scratch, reused so that serving allocates nothing.
    set: Vec<u64>,
    /// Eligible items of the current request, as a bitset indexed by rank.
    candidates: Vec<u64>,
    /// Serving order: `rank[idx]` of each item and `by_rank[rank]`, refreshed when urgency
    /// changes.
    rank: Vec<u16>,
    by_rank: Vec<u16>,
    placed: Vec<usize>,
    sales: Vec<Sale>,
    trace: Option<Vec<PodRecord>>,
    // Programmatic demand.
    bidders: Vec<exchange::BidderState>,
    bidder_targeting: Targeting,
    bidder_set: Vec<u64>,
    exchange: ExchangeConfig,
    auction: Box<dyn Auction>,
    allow_same_advertiser: bool,
    run_start: SimTime,
    run_end: SimTime,
    bids: Vec<Bid>,
    awards: Vec<Award>,
    price_priority: Vec<usize>,
    // Synchronisation lag and user response.
    lagged: bool,
    response: Option<ResponseConfig>,
    response_stream: Stream,
    /// Responses drawn while serving, for the engine to schedule.
    pending: Vec<(SimTime, Response)>,
    // Guaranteed-delivery plan.
    allocation: Option<Allocation>,
    /// Demand index in the plan of each internal item, if planned.
    demand_of: Vec<Option<u8>>,
    /// Demands the current request's plan draw picked.
    picked: u128,
    seed: u64,
    event_log: Option<EventLog>,
}

/// What is left of the pod being filled.
struct PodFill {
    slots_left: u8,
    seconds_left: u16,
    categories: [u16; 16],
    n_categories: usize,
    advertisers: [u32; 16],
    n_advertisers: usize,
    placed: u32,
}

impl PodFill {
    fn admits(&self, category: Option<u16>, advertiser: u32, allow_same_advertiser: bool) -> bool {
        category.is_none_or(|c| !self.categories[..self.n_categories].contains(&c))
            && (allow_same_advertiser
                || !self.advertisers[..self.n_advertisers].contains(&advertiser))
    }

    /// Records an ad; at most 16 slots (validated), so the arrays never overflow.
    fn take(&mut self, category: Option<u16>, advertiser: u32, duration_s: u16) {
        if let Some(category) = category {
            self.categories[self.n_categories] = category;
            self.n_categories += 1;
        }
        if !self.advertisers[..self.n_advertisers].contains(&advertiser) {
            self.advertisers[self.n_advertisers] = advertiser;
            self.n_advertisers += 1;
        }
        self.slots_left -= 1;
        self.seconds_left -= duration_s;
        self.placed += 1;
    }
}

impl AdServer {
    /// Builds the server. `offsets` are the countries' UTC offsets [minutes]. `expected` must
    /// cover at least the run; flights reaching beyond it are paced against the part it covers.
    pub fn new(
        config: &Config,
        dims: &Dimensions,
        offsets: &[i32],
        expected: &ExpectedTraffic,
        n_members: u32,
        seed: u64,
        run: (SimTime, SimTime),
    ) -> AdServer {
        let mut order: Vec<usize> = (0..config.line_items.len()).collect();
        order.sort_by_key(|&idx| (config.line_items[idx].priority, idx));

        // Counters: each advertiser cap is one; each line item has one per cap period
        // (flight caps share the item's lifetime counter), or a lifetime counter if uncapped.
        // An item's first counter is created exactly once per member, at the member's first
        // impression of the item, which is how reach is counted.
        let mut periods: Vec<Period> = Vec::new();
        let mut new_counter = |period: Period| {
            periods.push(period);
            (periods.len() - 1) as u16
        };
        let advertiser_counters: Vec<Vec<(u16, u16)>> = config
            .advertisers
            .iter()
            .map(|advertiser| {
                advertiser
                    .caps
                    .iter()
                    .map(|cap| (new_counter(cap.period), cap.max))
                    .collect()
            })
            .collect();
        let item_counters: Vec<ItemCounters> = config
            .line_items
            .iter()
            .map(|line_item| {
                let (checks, mut bumps) = cap_counters(&line_item.caps, &mut new_counter);
                if bumps.is_empty() {
                    bumps.push(new_counter(Period::Flight));
                }
                (checks, bumps)
            })
            .collect();

        // Bidders' own caps, plus their advertiser's caps if the advertiser has any.
        let bidder_counters: Vec<ItemCounters> = config
            .bidders
            .iter()
            .map(|bidder| {
                let (mut checks, mut bumps) = cap_counters(&bidder.caps, &mut new_counter);
                for &(counter, max) in &advertiser_counters[bidder.advertiser] {
                    checks.push((counter, max));
                    bumps.push(counter);
                }
                (checks, bumps)
            })
            .collect();

        let mut curves = Curves::new(expected);
        let mut items = Vec::with_capacity(order.len());
        for &scenario_idx in &order {
            let line_item = &config.line_items[scenario_idx];
            let (mut cap_checks, mut bumps) = item_counters[scenario_idx].clone();
            for &(counter, max) in &advertiser_counters[line_item.advertiser] {
                cap_checks.push((counter, max));
                bumps.push(counter);
            }
            let curve = curves.scope(&line_item.targeting, dims, offsets, expected);
            items.push(Item {
                scenario_idx,
                priority: line_item.priority,
                cpm: line_item.cpm,
                advertiser: line_item.advertiser as u32,
                goal: line_item.goal,
                category: line_item.category,
                creative_duration_s: line_item.creative_duration_s,
                cap_checks,
                bumps,
                curve,
                flight_start: line_item.flight_start,
                flight_end: line_item.flight_end,
            });
        }
        let rules: Vec<Vec<Rule>> = order
            .iter()
            .map(|&idx| config.line_items[idx].targeting.clone())
            .collect();
        let targeting = Targeting::compile(&rules, dims);
        let n = items.len();
        let words = targeting.words();
        let bidder_rules: Vec<Vec<Rule>> =
            config.bidders.iter().map(|b| b.targeting.clone()).collect();
        let bidder_targeting = Targeting::compile(&bidder_rules, dims);
        let bidders: Vec<exchange::BidderState> = config
            .bidders
            .iter()
            .zip(bidder_counters)
            .map(|(spec, counters)| {
                let curve = curves.scope(&spec.targeting, dims, offsets, expected);
                exchange::BidderState::new(spec, seed, curve, run.1 - run.0, counters)
            })
            .collect();
        let mut bidder_set = vec![0u64; bidder_targeting.words()];
        for idx in 0..bidders.len() {
            bidder_set[idx / 64] |= 1 << (idx % 64);
        }
        AdServer {
            pacers: order
                .iter()
                .map(|&idx| config.line_items[idx].pacing.build())
                .collect(),
            items,
            targeting,
            active: vec![0; words],
            counters: Counters::new(n_members, periods),
            throttle: vec![1.0; n],
            urgency: vec![0.0; n],
            delivered: vec![0; n],
            seen: vec![Seen::default(); n],
            interval: vec![IntervalCounts::default(); n],
            last_update: vec![SimTime::default(); n],
            curves,
            pacing_interval: config.pacing_interval,
            stream: Stream::new(seed, "adserver.pacing"),
            set: vec![0; words],
            candidates: vec![0; words],
            rank: (0..n as u16).collect(),
            by_rank: (0..n as u16).collect(),
            placed: Vec::new(),
            sales: Vec::new(),
            trace: None,
            bidders,
            bidder_targeting,
            bidder_set,
            exchange: config.exchange.clone(),
            auction: config.exchange.auction.build(),
            allow_same_advertiser: config.allow_same_advertiser,
            run_start: run.0,
            run_end: run.1,
            bids: Vec::with_capacity(64),
            awards: Vec::with_capacity(16),
            price_priority: Vec::with_capacity(16),
            lagged: config.budget_sync.is_some(),
            response: config.response.clone(),
            response_stream: Stream::new(seed, "response"),
            pending: Vec::new(),
            allocation: None,
            demand_of: vec![None; n],
            picked: 0,
            seed,
            event_log: config
                .event_log
                .map(|log| EventLog::new(log, seed, dims.list.len())),
        }
    }

    /// Serves the guaranteed line items (priority below 12, with a goal) by an allocation plan
    /// made from the forecast `config` names (see `allocation`). `slots_of` are the slot
    /// opportunities of a pre-roll and a mid-roll pod (0 if disabled). Call before the run.
    pub fn plan_guaranteed(
        &mut self,
        config: &AllocationConfig,
        dims: &Dimensions,
        oracle: &OracleInputs<'_>,
        slots_of: [u32; 2],
        item_targeting: &[Vec<Rule>],
    ) {
        let run = (self.run_start, self.run_end);
        let mut planned = Vec::new();
        for (idx, item) in self.items.iter().enumerate() {
            let Some(goal) = item.goal else { continue };
            if item.priority >= PRICE_PRIORITY || planned.len() == MAX_PLANNED {
                continue;
            }
            // A flight reaching beyond the run is planned for the part of its goal that the
            // traffic-following schedule puts inside the run.
            let share =
                self.curves
                    .share(item.curve, item.flight_start, item.flight_end, self.run_end);
            planned.push(PlannedItem {
                internal: idx,
                priority: item.priority,
                goal: goal as f64 * share,
                targeting: &item_targeting[item.scenario_idx],
                flight: (item.flight_start.max(run.0), item.flight_end.min(run.1)),
            });
        }
        for (j, item) in planned.iter().enumerate() {
            self.demand_of[item.internal] = Some(j as u8);
        }
        self.allocation = Some(Allocation::new(
            config, &planned, dims, oracle, slots_of, run, self.seed,
        ));
        self.rerank();
    }

    /// The auction event log, if the scenario asks for one.
    pub fn event_log(&self) -> Option<&EventLog> {
        self.event_log.as_ref()
    }

    /// The guaranteed-delivery plan being served, if any.
    pub fn allocation(&self) -> Option<&Allocation> {
        self.allocation.as_ref()
    }

    /// Internal indices (priority order) of line items, by scenario index.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Flight start/end times of internal item `idx`.
    pub fn flight(&self, idx: usize) -> (SimTime, SimTime) {
        (self.items[idx].flight_start, self.items[idx].flight_end)
    }

    /// The traffic-following target: cumulative delivery internal item `idx` should have
    /// reached by `at` [impressions]; 0 without a goal.
    pub fn target_at(&self, idx: usize, at: SimTime) -> f64 {
        let item = &self.items[idx];
        let Some(goal) = item.goal else { return 0.0 };
        goal as f64
            * self
                .curves
                .share(item.curve, item.flight_start, item.flight_end, at)
    }

    /// Replaces bidder `b`'s value model and strategy by a `Bidder` of the library user's own;
    /// targeting, budget, pacing, caps, latency and the pod rules stay those of its scenario
    /// entry.
    pub fn plug_bidder(&mut self, b: usize, bidder: Box<dyn Bidder>) {
        self.bidders[b].bidder = exchange::Demand::Custom(bidder);
    }

    /// Cumulative spend bidder `b`'s pacer aims for by `at` [micros], if it paces a budget.
    pub fn bidder_spend_target(&self, b: usize, at: SimTime) -> Option<f64> {
        let state = &self.bidders[b];
        let budget = state.pacing_budget?;
        Some(
            budget as f64
                * self
                    .curves
                    .share(state.curve, self.run_start, self.run_end, at),
        )
    }

    /// Scenario index of internal item `idx`.
    pub fn scenario_index(&self, idx: usize) -> usize {
        self.items[idx].scenario_idx
    }

    fn set_active(&mut self, idx: usize, active: bool) {
        if active {
            self.active[idx / 64] |= 1 << (idx % 64);
        } else {
            self.active[idx / 64] &= !(1 << (idx % 64));
        }
    }

    /// Whether item `idx` has met its goal, as far as the server can see.
    fn goal_met(&self, idx: usize) -> bool {
        self.items[idx]
            .goal
            .is_some_and(|goal| self.seen[idx].delivered >= goal as i64)
    }

    /// Internal item `idx`'s flight begins.
    pub fn start_flight(&mut self, idx: usize, now: SimTime) {
        if let (Some(allocation), Some(j)) = (&mut self.allocation, self.demand_of[idx]) {
            allocation.flying |= 1 << j;
        }
        if !self.goal_met(idx) {
            self.set_active(idx, true);
            self.interval[idx] = IntervalCounts::default();
            self.last_update[idx] = now;
            self.update_pacer(idx, now);
            self.rerank();
        }
    }

    /// Internal item `idx`'s flight ends.
    pub fn end_flight(&mut self, idx: usize) {
        if let (Some(allocation), Some(j)) = (&mut self.allocation, self.demand_of[idx]) {
            allocation.flying &= !(1 << j);
        }
        self.set_active(idx, false);
    }

    /// A pacing tick: every active item's pacer sees the last interval and decides the next.
    pub fn pacing_tick(&mut self, now: SimTime, metrics: &mut Metrics) {
        self.flush_bidder_counts(metrics);
        for idx in 0..self.items.len() {
            if self.active[idx / 64] >> (idx % 64) & 1 == 1 {
                self.update_pacer(idx, now);
                metrics.record_pacer(self.items[idx].scenario_idx, now, self.throttle[idx], 1.0);
            }
            self.interval[idx] = IntervalCounts::default();
        }
        let n_items = self.items.len();
        for b in 0..self.bidders.len() {
            self.update_bidder_pacer(b, now);
            let state = &self.bidders[b];
            if state.pacing_budget.is_some() {
                metrics.record_pacer(n_items + b, now, state.throttle, state.multiplier);
            }
        }
        self.rerank();
    }

    /// A bidder's pacer decides the next interval. Budgets are paced like goals, in micros:
    /// the target is the pacing budget times the share of the run's expected traffic (in the
    /// bidder's scope) seen by the next tick, and the interval's "deliveries" are its spend.
    fn update_bidder_pacer(&mut self, b: usize, now: SimTime) {
        let state = &mut self.bidders[b];
        let Some(budget) = state.pacing_budget else {
            state.interval = IntervalCounts::default();
            return;
        };
        // A spent budget has nothing left to pace.
        if state
            .spec
            .budget
            .is_some_and(|total| state.seen.delivered >= total.0)
        {
            state.interval = IntervalCounts::default();
            return;
        }
        let next = now + self.pacing_interval;
        let last = state.last_update.max(self.run_start);
        let share = |at| {
            self.curves
                .share(state.curve, self.run_start, self.run_end, at)
        };
        let target_now = budget as f64 * share(now);
        let seen = state.seen;
        let observation = Observation {
            now,
            interval: self.pacing_interval,
            goal: Some(budget as u64),
            delivered: seen.delivered.max(0) as u64,
            target_now,
            target_next: budget as f64 * share(next),
            target_last: seen.target_at_update,
            n_intervals: intervals(self.run_end - self.run_start, self.pacing_interval),
            expected_last: self.curves.at(state.curve, now) - self.curves.at(state.curve, last),
            expected_next: self.curves.at(state.curve, next) - self.curves.at(state.curve, now),
            eligible: state.interval.eligible,
            attempts: state.interval.attempts,
            deliveries: (seen.delivered - seen.at_update).max(0) as u64,
            spend: seen.delivered,
            clicks: seen.clicks,
            conversions: seen.conversions,
            interval_elapsed: now > last,
        };
        state.last_update = now;
        state.seen.at_update = seen.delivered;
        state.seen.target_at_update = target_now;
        let decision = state.pacer.update(&observation);
        state.throttle = decision.participation.clamp(0.0, 1.0);
        state.throttle_threshold = crate::engine::chance_threshold(state.throttle);
        state.multiplier = if decision.bid_multiplier.is_finite() {
            decision.bid_multiplier.max(0.0)
        } else {
            1.0
        };
        state.interval = IntervalCounts::default();
    }

    fn update_pacer(&mut self, idx: usize, now: SimTime) {
        let item = &self.items[idx];
        let next = now + self.pacing_interval;
        let target_now = self.target_at(idx, now);
        let target_next = self.target_at(idx, next);
        let counts = self.interval[idx];
        let seen = self.seen[idx];
        let observation = Observation {
            now,
            interval: self.pacing_interval,
            goal: item.goal,
            delivered: seen.delivered as u64,
            target_now,
            target_next,
            target_last: seen.target_at_update,
            n_intervals: intervals(item.flight_end - item.flight_start, self.pacing_interval),
            expected_last: self.curves.at(item.curve, now)
                - self.curves.at(item.curve, self.last_update[idx]),
            expected_next: self.curves.at(item.curve, next) - self.curves.at(item.curve, now),
            eligible: counts.eligible,
            attempts: counts.attempts,
            deliveries: (seen.delivered - seen.at_update).max(0) as u64,
            spend: item.cpm.cost_of(seen.delivered.max(0) as u64).0,
            clicks: seen.clicks,
            conversions: seen.conversions,
            interval_elapsed: now > self.last_update[idx],
        };
        self.last_update[idx] = now;
        self.seen[idx].at_update = seen.delivered;
        self.seen[idx].target_at_update = target_now;
        if let (Some(allocation), Some(j)) = (&self.allocation, self.demand_of[idx]) {
            // Served by the plan, in the plan's order.
            self.throttle[idx] = 1.0;
            self.urgency[idx] = -(allocation.position(usize::from(j)) as f64);
            return;
        }
        self.throttle[idx] = self.pacers[idx]
            .update(&observation)
            .participation
            .clamp(0.0, 1.0);
        self.urgency[idx] = match item.goal {
            Some(goal) if goal > 0 => (target_next - self.delivered[idx] as f64) / goal as f64,
            _ => f64::NEG_INFINITY,
        };
    }

    /// Serves one ad request: fills its pod and records the outcome in `metrics`.
    pub fn serve(&mut self, request: &AdRequest, metrics: &mut Metrics) {
        if let Some(allocation) = &mut self.allocation {
            self.picked = allocation.pick(&request.values, request.pod.opportunities());
        }
        self.set.copy_from_slice(&self.active);
        self.targeting.restrict(&request.values, &mut self.set);
        self.candidates.fill(0);
        let mut loaded = false;
        for word_idx in 0..self.set.len() {
            let mut bits = self.set[word_idx];
            while bits != 0 {
                let idx = word_idx * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let item = &self.items[idx];
                if !request.pod.allows(item.creative_duration_s) {
                    continue;
                }
                // Uncapped items never load the member's counters.
                if !item.cap_checks.is_empty()
                    && capped(&mut self.counters, &item.cap_checks, request, &mut loaded)
                {
                    metrics.items[item.scenario_idx].lost_to_caps += 1;
                    continue;
                }
                self.interval[idx].eligible += 1;
                if let Some(j) = self.demand_of[idx] {
                    // Planned: the plan's draw decides, not the pacer.
                    if self.picked >> j & 1 == 0 {
                        continue;
                    }
                } else {
                    let participation = self.throttle[idx];
                    if participation < 1.0
                        && !(participation > 0.0 && self.stream.chance(participation))
                    {
                        continue;
                    }
                }
                self.interval[idx].attempts += 1;
                let rank = usize::from(self.rank[idx]);
                self.candidates[rank / 64] |= 1 << (rank % 64);
            }
        }

        let mut pod = PodFill {
            slots_left: request.pod.max_slots,
            seconds_left: request.pod.max_duration_s,
            categories: [0; 16],
            n_categories: 0,
            advertisers: [0; 16],
            n_advertisers: 0,
            placed: 0,
        };
        self.price_priority.clear();
        let mut auctioned = false;
        'fill: for word_idx in 0..self.candidates.len() {
            let mut bits = self.candidates[word_idx];
            while bits != 0 {
                if pod.slots_left == 0 {
                    break 'fill;
                }
                let rank = word_idx * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let idx = usize::from(self.by_rank[rank]);
                let priority = self.items[idx].priority;
                if priority >= PRICE_PRIORITY && !auctioned {
                    if priority == PRICE_PRIORITY {
                        self.price_priority.push(idx);
                        continue;
                    }
                    // The first house item: the auction sells first.
                    self.run_auction(request, &mut pod, &mut loaded, metrics);
                    auctioned = true;
                    if pod.slots_left == 0 {
                        break 'fill;
                    }
                }
                let item = &self.items[idx];
                if item.creative_duration_s > pod.seconds_left
                    || !pod.admits(item.category, item.advertiser, self.allow_same_advertiser)
                {
                    continue;
                }
                // An advertiser's caps can be reached by an earlier ad in this same pod.
                if capped(&mut self.counters, &item.cap_checks, request, &mut loaded) {
                    continue;
                }
                self.place_item(idx, request, &mut pod, metrics);
            }
        }
        if !auctioned && pod.slots_left > 0 {
            self.run_auction(request, &mut pod, &mut loaded, metrics);
        }
        if loaded {
            self.counters.unload();
        }
        metrics.record_request(request, pod.placed);
        if let Some(trace) = &mut self.trace {
            trace.push(PodRecord {
                request: *request,
                items: std::mem::take(&mut self.placed),
                sales: std::mem::take(&mut self.sales),
                responses: self.pending.clone(),
            });
        }
    }

    /// Places internal item `idx` in the pod (its caps already checked).
    fn place_item(
        &mut self,
        idx: usize,
        request: &AdRequest,
        pod: &mut PodFill,
        metrics: &mut Metrics,
    ) {
        let item = &self.items[idx];
        for (bump_idx, &counter) in item.bumps.iter().enumerate() {
            let first = self.counters.bump(
                request.member,
                counter,
                request.at,
                request.utc_offset_minutes,
            );
            if first && bump_idx == 0 {
                metrics.items[item.scenario_idx].reach += 1;
            }
        }
        pod.take(item.category, item.advertiser, item.creative_duration_s);
        let (scenario_idx, advertiser) = (item.scenario_idx, item.advertiser as usize);
        self.delivered[idx] += 1;
        metrics.record_impression(scenario_idx, request.at);
        if self.response.is_some() {
            self.draw_response(
                Responder::LineItem(scenario_idx as u32),
                advertiser,
                request,
                pod,
                metrics,
            );
        }
        if self.trace.is_some() {
            self.placed.push(scenario_idx);
        }
        // Under a synchronisation lag the goal stop waits for the next synchronisation.
        if !self.lagged {
            self.seen[idx].delivered += 1;
            if self.goal_met(idx) {
                self.set_active(idx, false);
            }
        }
    }

    /// Draws the viewer's response to the ad just placed (the pod's last) and queues the
    /// clicks and attributed conversions it causes.
    fn draw_response(
        &mut self,
        responder: Responder,
        advertiser: usize,
        request: &AdRequest,
        pod: &PodFill,
        metrics: &mut Metrics,
    ) {
        let Some(config) = &self.response else { return };
        let used_s = request.pod.max_duration_s - pod.seconds_left;
        let ends = request.at + SimDuration::from_secs(i64::from(used_s));
        let outcome = config.draw(
            request,
            advertiser,
            pod.placed - 1,
            ends,
            &mut self.response_stream,
        );
        metrics.record_response_draw(responder, &outcome);
        if let Some(at) = outcome.click_at {
            self.pending.push((
                at,
                Response {
                    kind: ResponseKind::Click,
                    responder,
                },
            ));
        }
        if let Some((at, true)) = outcome.conversion {
            self.pending.push((
                at,
                Response {
                    kind: ResponseKind::Conversion,
                    responder,
                },
            ));
        }
    }

    /// The responses drawn since the last call, for the engine to schedule.
    pub fn drain_responses(&mut self) -> std::vec::Drain<'_, (SimTime, Response)> {
        self.pending.drain(..)
    }

    /// Whether serving may have drawn responses to schedule.
    #[inline]
    pub fn has_responses(&self) -> bool {
        !self.pending.is_empty()
    }

    /// A click or conversion happens: the line item's or bidder's pacer and the bidder see it
    /// from now on.
    pub fn on_response(&mut self, response: Response, at: SimTime, metrics: &mut Metrics) {
        let seen = match response.responder {
            Responder::LineItem(scenario_idx) => {
                let idx = self
                    .items
                    .iter()
                    .position(|item| item.scenario_idx == scenario_idx as usize)
                    .expect("responses come from known line items");
                &mut self.seen[idx]
            }
            Responder::Bidder(b) => {
                let state = &mut self.bidders[b as usize];
                state.bidder.response(response.kind);
                &mut state.seen
            }
        };
        match response.kind {
            ResponseKind::Click => seen.clicks += 1,
            ResponseKind::Conversion => seen.conversions += 1,
        }
        metrics.record_response(response, at);
    }

    /// Adds the bidders' locally kept request counts and latency runs to `metrics` and resets
    /// them. Called at every pacing tick and before the run's metrics are read.
    pub fn flush_bidder_counts(&mut self, metrics: &mut Metrics) {
        for (state, stats) in self.bidders.iter_mut().zip(&mut metrics.bidders) {
            let counts = std::mem::take(&mut state.counts);
            stats.requests += counts.requests;
            stats.bids += counts.bids;
            stats.no_bids += counts.no_bids;
            stats.errors += counts.errors;
            stats.timeouts += counts.timeouts;
            if counts.latency.1 > 0 {
                stats.record_latency_n(counts.latency.0, counts.latency.1);
            }
        }
    }

    /// Budget synchronisation: pacers, goal stops and budget checks catch up with delivery
    /// and spend.
    pub fn synchronise(&mut self) {
        for idx in 0..self.items.len() {
            self.seen[idx].delivered = self.delivered[idx] as i64;
            if self.goal_met(idx) {
                self.set_active(idx, false);
            }
        }
        for state in &mut self.bidders {
            state.seen.delivered = state.spent;
            state.seen.delivered_day = state.spent_day;
        }
    }

    /// Sells the pod's remaining slots: asks the eligible bidders, adds the price-priority
    /// items collected by `serve`, runs the auction and delivers its awards.
    fn run_auction(
        &mut self,
        request: &AdRequest,
        pod: &mut PodFill,
        loaded: &mut bool,
        metrics: &mut Metrics,
    ) {
        if pod.slots_left == 0 || (self.bidders.is_empty() && self.price_priority.is_empty()) {
            return;
        }
        let floor = self.exchange.floor_for(request);
        let day = request.at.local_day(0);
        self.bids.clear();
        // Nothing in the pod yet (no guaranteed ad took a slot): no separation to check.
        let pod_open = pod.n_categories == 0 && pod.n_advertisers == 0;
        let mut eligible = [0u64; 4];
        let words = self.bidder_set.len().min(eligible.len());
        eligible[..words].copy_from_slice(&self.bidder_set[..words]);
        self.bidder_targeting
            .restrict(&request.values, &mut eligible[..words]);
        // Pass 1: the bidders that may be asked, and their pacers' participation draws. Who
        // takes part is written down without branching on the draw (random, so a branch on
        // it would mispredict often); pass 2 asks them.
        let mut asked = [0u8; 256];
        let mut n_asked = 0;
        for (word_idx, &word) in eligible[..words].iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let b = word_idx * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let state = &mut self.bidders[b];
                let duration = state.hot.duration;
                if request.pod.allowed_durations & state.hot.duration_bit == 0
                    || duration > pod.seconds_left
                    || !pod_open
                        && !pod.admits(
                            state.hot.category,
                            state.hot.advertiser,
                            self.allow_same_advertiser,
                        )
                    || !state.has_budget(day)
                {
                    continue;
                }
                if state.hot.has_caps
                    && capped(&mut self.counters, &state.cap_checks, request, loaded)
                {
                    continue;
                }
                state.interval.eligible += 1;
                // Full participation and none draw nothing.
                let takes_part = if state.throttle >= 1.0 {
                    true
                } else if state.throttle > 0.0 {
                    state.pacing_stream.chance_below(state.throttle_threshold)
                } else {
                    false
                };
                state.interval.attempts += u64::from(takes_part);
                // At most 256 bidders (`bidder_set` has at most 4 words).
                asked[n_asked] = b as u8;
                n_asked += usize::from(takes_part);
            }
        }
        // Pass 2: each asked bidder answers (or fails, or times out) and bids.
        for &b in &asked[..n_asked] {
            let b = usize::from(b);
            let state = &mut self.bidders[b];
            // Counted in the bidder's own state and flushed to `metrics` at pacing ticks and
            // at the end (`flush_bidder_counts`): the per-request path then stays in the
            // bidder's hot fields.
            let stats = &mut state.counts;
            stats.requests += 1;
            match exchange::respond(&state.hot, &mut state.response) {
                Err(exchange::Failure::Error) => stats.errors += 1,
                Err(exchange::Failure::NoBid) => stats.no_bids += 1,
                Ok(latency_us) => {
                    let latency = latency_us as u64;
                    if stats.latency.0 == latency {
                        stats.latency.1 += 1;
                    } else {
                        let (value, count) = stats.latency;
                        if count > 0 {
                            metrics.bidders[b].record_latency_n(value, count);
                        }
                        stats.latency = (latency, 1);
                    }
                    if latency_us > self.exchange.tmax.0 {
                        stats.timeouts += 1;
                        continue;
                    }
                    let bid_floor = state.hot.deal_floor.unwrap_or(floor);
                    match state.bidder.bid(request, bid_floor, &mut state.stream) {
                        None => stats.no_bids += 1,
                        Some(amount) => {
                            let amount = if state.multiplier == 1.0 {
                                amount
                            } else {
                                Micros((amount.0 as f64 * state.multiplier).round() as i64)
                            };
                            stats.bids += 1;
                            self.bids.push(Bid {
                                bidder: b as u32,
                                amount,
                                floor: bid_floor,
                                duration_s: state.hot.duration,
                                category: state.hot.category,
                                advertiser: state.hot.advertiser,
                            });
                        }
                    }
                }
            }
        }
        for &idx in &self.price_priority {
            let item = &self.items[idx];
            if item.creative_duration_s > pod.seconds_left
                || !pod.admits(item.category, item.advertiser, self.allow_same_advertiser)
            {
                continue;
            }
            self.bids.push(Bid {
                bidder: (self.bidders.len() + idx) as u32,
                amount: item.cpm,
                floor,
                duration_s: item.creative_duration_s,
                category: item.category,
                advertiser: item.advertiser,
            });
        }
        if self.bids.is_empty() {
            return;
        }
        metrics.auction.auctions += 1;
        if self.bids.iter().any(|bid| bid.amount >= bid.floor) {
            metrics.auction.auctions_above_floor += 1;
        }
        let auction_pod = Pod {
            slots: pod.slots_left,
            seconds: pod.seconds_left,
            used_categories: &pod.categories[..pod.n_categories],
            used_advertisers: &pod.advertisers[..pod.n_advertisers],
            allow_same_advertiser: self.allow_same_advertiser,
            weights: &self.exchange.position_weights,
        };
        self.auction.run(&self.bids, &auction_pod, &mut self.awards);
        if let Some(log) = &mut self.event_log
            && log.sample()
        {
            let request_idx = log.begin(request, pod.slots_left, pod.seconds_left);
            let auction = log.auctions_seen;
            let n_bidders = self.bidders.len();
            for (bid_idx, bid) in self.bids.iter().enumerate() {
                let propensity = match exchange::Owner::of(bid.bidder, n_bidders) {
                    exchange::Owner::Bidder(b) => self.bidders[b].throttle,
                    exchange::Owner::Item(idx) => self.throttle[idx],
                };
                let won = self
                    .awards
                    .iter()
                    .find(|award| award.bid == bid_idx)
                    .map(|award| (award.position, award.price));
                log.bids.push(LoggedBid {
                    auction,
                    at: request.at,
                    request: request_idx,
                    owner: bid.bidder,
                    amount: bid.amount,
                    floor: bid.floor,
                    propensity,
                    won,
                });
            }
        }
        for award_idx in 0..self.awards.len() {
            let award = self.awards[award_idx];
            let bid = self.bids[award.bid];
            // A price-priority item is a fixed-price booking: it is billed (and its sale
            // recorded at) its CPM, whatever the mechanism would have charged.
            let owner = exchange::Owner::of(bid.bidder, self.bidders.len());
            let billed = match owner {
                exchange::Owner::Bidder(_) => award.price,
                exchange::Owner::Item(idx) => self.items[idx].cpm,
            };
            let hour = metrics.hour(request.at);
            metrics.auction.record_sale(hour, billed);
            match owner {
                exchange::Owner::Bidder(b) => {
                    let state = &mut self.bidders[b];
                    for &counter in &state.bumps {
                        self.counters.bump(
                            request.member,
                            counter,
                            request.at,
                            request.utc_offset_minutes,
                        );
                    }
                    let cost = award.price.cost_of(1).0;
                    state.spent += cost;
                    state.spent_day += cost;
                    if !self.lagged {
                        state.seen.delivered = state.spent;
                        state.seen.delivered_day = state.spent_day;
                    }
                    metrics.record_bidder_impression(b, request.at, award.price);
                    if state
                        .spec
                        .budget
                        .is_some_and(|budget| state.spent >= budget.0)
                    {
                        metrics.bidders[b].exhausted_at.get_or_insert(request.at);
                    }
                    pod.take(bid.category, bid.advertiser, bid.duration_s);
                    if self.response.is_some() {
                        self.draw_response(
                            Responder::Bidder(b as u32),
                            bid.advertiser as usize,
                            request,
                            pod,
                            metrics,
                        );
                    }
                    if self.trace.is_some() {
                        let spent = self.bidders[b].spent;
                        self.sales.push(Sale {
                            bidder: b,
                            position: award.position,
                            bid: bid.amount,
                            floor: bid.floor,
                            price: award.price,
                            spent,
                        });
                    }
                }
                exchange::Owner::Item(idx) => {
                    // Its caps were checked when it became a candidate; an uncapped item
                    // has not loaded the member's counters yet.
                    if !*loaded {
                        self.counters
                            .load(request.member, request.at, request.utc_offset_minutes);
                        *loaded = true;
                    }
                    self.place_item(idx, request, pod, metrics);
                }
            }
        }
        for (bid_idx, bid) in self.bids.iter().enumerate() {
            if let exchange::Owner::Bidder(b) = exchange::Owner::of(bid.bidder, self.bidders.len())
                && self.bidders[b].bidder.learns()
            {
                let won = self.awards.iter().find(|award| award.bid == bid_idx);
                self.bidders[b]
                    .bidder
                    .outcome(won.is_some(), won.map_or(Micros::ZERO, |award| award.price));
            }
        }
    }

    /// Prefetch hint: `member`'s counter slot will be needed soon.
    #[inline]
    pub fn prefetch_slot(&self, member: u32) {
        self.counters.prefetch_slot(member);
    }

    /// Prefetch hint: `member`'s counters will be needed very soon (its slot should already
    /// be in cache from `prefetch_slot`).
    #[inline]
    pub fn prefetch_counters(&self, member: u32) {
        self.counters.prefetch_block(member);
    }

    /// Re-ranks items into serving order: priority, then urgency (most behind first), then
    /// index.
    fn rerank(&mut self) {
        let (items, urgency) = (&self.items, &self.urgency);
        self.by_rank.sort_by(|&a, &b| {
            let (a, b) = (usize::from(a), usize::from(b));
            items[a]
                .priority
                .cmp(&items[b].priority)
                .then(urgency[b].total_cmp(&urgency[a]))
                .then(a.cmp(&b))
        });
        for (rank, &idx) in self.by_rank.iter().enumerate() {
            self.rank[usize::from(idx)] = rank as u16;
        }
    }

    /// Starts recording every served pod (memory grows with the run: for tests and short runs).
    pub fn enable_trace(&mut self) {
        self.trace = Some(Vec::new());
    }

    /// The pods recorded since `enable_trace`.
    pub fn trace(&self) -> &[PodRecord] {
        self.trace.as_deref().unwrap_or_default()
    }

    /// Distinct (member, counter) entries in use, a measure of member-state memory.
    pub fn counter_entries(&self) -> u64 {
        self.counters.n_entries()
    }
}
