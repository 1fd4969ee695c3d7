//! The ad server: direct-sold line items filling the pods of ad requests.
//!
//! Per request: the eligible line items are those whose targeting accepts the request, in
//! flight, short of their goal, under every frequency cap (line item and advertiser) and let
//! through by their pacer's throttle. They fill the pod's slots by priority tier, and within a
//! tier by delivery urgency (how far behind its schedule an item is, as a share of its goal),
//! subject to the pod's slot count and total duration, competitive separation (no two ads of
//! one category in a pod) and at most one ad per line item per pod.
//!
//! Line items are held in priority order. After every pacing decision the server ranks them
//! by (priority, urgency, index); eligible items are marked in a bitset indexed by rank, and a
//! walk over its bits visits them in serving order, with no per-request sort.

mod counters;
mod targeting;

pub use counters::{Counters, MAX_COUNTERS, Period};
pub use targeting::{Rule, Targeting, bitset_words};

use crate::engine::Stream;
use crate::metrics::Metrics;
use crate::money::Micros;
use crate::pacing::{Observation, Pacer, PacingMode};
use crate::time::{SimDuration, SimTime};
use crate::traffic::{AdRequest, BreakKind, DIM_COUNTRY, Dimensions, ExpectedTraffic};

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
    pub pacing: PacingMode,
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
}

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

/// A line item's `(counter, max)` cap checks and the counters an impression bumps.
type ItemCounters = (Vec<(u16, u16)>, Vec<u16>);

/// A line item as the hot path wants it, in priority order.
struct Item {
    /// Position in the scenario's list (reports use scenario order).
    scenario_idx: usize,
    priority: u8,
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
}

/// Counts of one pacing interval, for the pacer.
#[derive(Clone, Copy, Default)]
struct IntervalCounts {
    eligible: u64,
    attempts: u64,
    deliveries: u64,
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
    interval: Vec<IntervalCounts>,
    /// When each item's pacer last decided: the interval its counts cover starts there.
    last_update: Vec<SimTime>,
    /// Cumulative expected requests per minute of the horizon, one per distinct scope.
    curves: Vec<Vec<f64>>,
    curve_start: SimTime,
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
    trace: Option<Vec<PodRecord>>,
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
                let mut checks = Vec::new();
                let mut bumps = Vec::new();
                let mut lifetime = None;
                for cap in &line_item.caps {
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
                if bumps.is_empty() {
                    bumps.push(new_counter(Period::Flight));
                }
                (checks, bumps)
            })
            .collect();

        let mut curve_keys: Vec<Vec<bool>> = Vec::new();
        let mut curves = Vec::new();
        let n_countries = dims.list[DIM_COUNTRY].values.len();
        let mut items = Vec::with_capacity(order.len());
        for &scenario_idx in &order {
            let line_item = &config.line_items[scenario_idx];
            let (mut cap_checks, mut bumps) = item_counters[scenario_idx].clone();
            for &(counter, max) in &advertiser_counters[line_item.advertiser] {
                cap_checks.push((counter, max));
                bumps.push(counter);
            }
            // Pacing follows the expected traffic in the item's scope: the countries, break
            // kinds, local hours and weekdays its targeting accepts. Items with the same scope
            // share one curve.
            let accepts = |dim: usize, value: usize| {
                line_item
                    .targeting
                    .iter()
                    .filter(|r| r.dim == dim)
                    .all(|r| r.accepts(value as u16))
            };
            let key: Vec<bool> = (0..n_countries)
                .map(|c| accepts(DIM_COUNTRY, c))
                .chain((0..2).map(|kind| accepts(dims.break_kind(), kind)))
                .chain((0..24).map(|hour| accepts(dims.local_hour(), hour)))
                .chain((0..7).map(|day| accepts(dims.weekday(), day)))
                .collect();
            let curve = match curve_keys.iter().position(|k| *k == key) {
                Some(found) => found,
                None => {
                    curves.push(expected.cumulative_requests(
                        |country, kind: BreakKind, at: SimTime| {
                            let offset = offsets[country];
                            key[country]
                                && key[n_countries + kind as usize]
                                && key[n_countries + 2 + at.local_hour(offset) as usize]
                                && key[n_countries + 26 + at.local_weekday(offset) as usize]
                        },
                    ));
                    curve_keys.push(key);
                    curves.len() - 1
                }
            };
            items.push(Item {
                scenario_idx,
                priority: line_item.priority,
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
            interval: vec![IntervalCounts::default(); n],
            last_update: vec![SimTime::default(); n],
            curves,
            curve_start: expected.start,
            pacing_interval: config.pacing_interval,
            stream: Stream::new(seed, "adserver.pacing"),
            set: vec![0; words],
            candidates: vec![0; words],
            rank: (0..n as u16).collect(),
            by_rank: (0..n as u16).collect(),
            placed: Vec::new(),
            trace: None,
        }
    }

    /// Internal indices (priority order) of line items, by scenario index.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Flight start/end times of internal item `idx`.
    pub fn flight(&self, idx: usize) -> (SimTime, SimTime) {
        (self.items[idx].flight_start, self.items[idx].flight_end)
    }

    /// Cumulative expected requests in the scope of `curve` at `at`, interpolated by minute.
    fn expected_at(&self, curve: usize, at: SimTime) -> f64 {
        let curve = &self.curves[curve];
        let minutes = (at - self.curve_start).0 as f64 / SimDuration::MINUTE.0 as f64;
        let last = (curve.len() - 1) as f64;
        let minutes = minutes.clamp(0.0, last);
        let whole = minutes.floor() as usize;
        let frac = minutes - whole as f64;
        let next = curve[(whole + 1).min(curve.len() - 1)];
        curve[whole] + frac * (next - curve[whole])
    }

    /// The traffic-following target: cumulative delivery internal item `idx` should have
    /// reached by `at` [impressions]; 0 without a goal.
    pub fn target_at(&self, idx: usize, at: SimTime) -> f64 {
        let item = &self.items[idx];
        let Some(goal) = item.goal else { return 0.0 };
        let begin = self.expected_at(item.curve, item.flight_start);
        let total = self.expected_at(item.curve, item.flight_end) - begin;
        if at <= item.flight_start {
            return 0.0;
        }
        if at >= item.flight_end || total <= 0.0 {
            return goal as f64;
        }
        goal as f64 * (self.expected_at(item.curve, at) - begin) / total
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

    fn goal_met(&self, idx: usize) -> bool {
        self.items[idx]
            .goal
            .is_some_and(|goal| self.delivered[idx] >= goal)
    }

    /// Internal item `idx`'s flight begins.
    pub fn start_flight(&mut self, idx: usize, now: SimTime) {
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
        self.set_active(idx, false);
    }

    /// A pacing tick: every active item's pacer sees the last interval and decides the next.
    pub fn pacing_tick(&mut self, now: SimTime) {
        for idx in 0..self.items.len() {
            if self.active[idx / 64] >> (idx % 64) & 1 == 1 {
                self.update_pacer(idx, now);
            }
            self.interval[idx] = IntervalCounts::default();
        }
        self.rerank();
    }

    fn update_pacer(&mut self, idx: usize, now: SimTime) {
        let item = &self.items[idx];
        let next = now + self.pacing_interval;
        let target_next = self.target_at(idx, next);
        let counts = self.interval[idx];
        let observation = Observation {
            now,
            interval: self.pacing_interval,
            goal: item.goal,
            delivered: self.delivered[idx],
            target_next,
            expected_last: self.expected_at(item.curve, now)
                - self.expected_at(item.curve, self.last_update[idx]),
            expected_next: self.expected_at(item.curve, next) - self.expected_at(item.curve, now),
            eligible: counts.eligible,
            attempts: counts.attempts,
            deliveries: counts.deliveries,
        };
        self.last_update[idx] = now;
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
                let participation = self.throttle[idx];
                if participation < 1.0
                    && !(participation > 0.0 && self.stream.chance(participation))
                {
                    continue;
                }
                self.interval[idx].attempts += 1;
                let rank = usize::from(self.rank[idx]);
                self.candidates[rank / 64] |= 1 << (rank % 64);
            }
        }
        let mut slots_left = request.pod.max_slots;
        let mut seconds_left = request.pod.max_duration_s;
        let mut categories = [u16::MAX; 16];
        let mut n_categories = 0;
        let mut placed = 0u32;
        'fill: for word_idx in 0..self.candidates.len() {
            let mut bits = self.candidates[word_idx];
            while bits != 0 {
                if slots_left == 0 {
                    break 'fill;
                }
                let rank = word_idx * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let idx = usize::from(self.by_rank[rank]);
                let item = &self.items[idx];
                if item.creative_duration_s > seconds_left {
                    continue;
                }
                if let Some(category) = item.category
                    && categories[..n_categories].contains(&category)
                {
                    continue;
                }
                // An advertiser's caps can be reached by an earlier ad in this same pod.
                if capped(&mut self.counters, &item.cap_checks, request, &mut loaded) {
                    continue;
                }
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
                // At most 16 slots (validated), so at most 16 categories.
                if let Some(category) = item.category {
                    categories[n_categories] = category;
                    n_categories += 1;
                }
                slots_left -= 1;
                seconds_left -= item.creative_duration_s;
                placed += 1;
                self.delivered[idx] += 1;
                self.interval[idx].deliveries += 1;
                metrics.record_impression(item.scenario_idx, request.at);
                if self.trace.is_some() {
                    self.placed.push(item.scenario_idx);
                }
                if self.goal_met(idx) {
                    self.set_active(idx, false);
                }
            }
        }
        if loaded {
            self.counters.unload();
        }
        metrics.record_request(request, placed);
        if let Some(trace) = &mut self.trace {
            trace.push(PodRecord {
                request: *request,
                items: std::mem::take(&mut self.placed),
            });
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
