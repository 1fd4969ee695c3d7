//! The exchange: programmatic demand for the slots direct-sold line items leave.
//!
//! Per request, after guaranteed line items have filled what they take: every bidder whose
//! targeting accepts the request, with budget left, under its frequency caps, whose creative
//! fits the pod and whose pacer lets it through is asked for a bid. Its answer may be an
//! error or a no-bid (each with the bidder's rate), or arrive after the exchange's `tmax`
//! (latency drawn from the bidder's log-normal profile, in simulated time) and be lost as a
//! timeout. Bids that arrive, together with price-priority line items at their CPM, go to the
//! auction; guaranteed line items keep their precedence because they have filled first.
//!
//! The auction resolves at the request's instant: latency decides only which answers count.
//! A bidder's floor is its deal floor if it has one, else the request's floor (the first
//! matching floor rule, else the static floor).

use super::{Cap, IntervalCounts, Rule, Seen};
use crate::auction::AuctionKind;
use crate::bidder::{Bidder, ModelBidder};
use crate::engine::Stream;
use crate::money::Micros;
use crate::pacing::{Pacer, PacingSpec};
use crate::response::ResponseKind;
use crate::time::{SimDuration, SimTime};
use crate::traffic::AdRequest;

/// A floor rule: requests its conditions accept have at least this floor.
#[derive(Clone, Debug, PartialEq)]
pub struct FloorRule {
    pub conditions: Vec<Rule>,
    pub cpm: Micros,
}

/// The exchange's part of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct ExchangeConfig {
    pub auction: AuctionKind,
    /// Floor when no rule matches [CPM micros].
    pub floor: Micros,
    /// First match wins.
    pub floor_rules: Vec<FloorRule>,
    /// Longest a bidder may take to answer.
    pub tmax: SimDuration,
    /// Value weight of each auctioned slot, best first (GSP and VCG).
    pub position_weights: Vec<f64>,
    /// Whether to write `bid_landscape.csv`.
    pub bid_landscape: bool,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            auction: AuctionKind::SecondPrice,
            floor: Micros::ZERO,
            floor_rules: Vec::new(),
            tmax: SimDuration::from_millis(200),
            position_weights: vec![1.0; 16],
            bid_landscape: false,
        }
    }
}

impl ExchangeConfig {
    /// The floor of `request` [CPM micros].
    #[inline]
    pub fn floor_for(&self, request: &AdRequest) -> Micros {
        if let Some(floor) = request.floor {
            return floor;
        }
        self.floor_rules
            .iter()
            .find(|rule| {
                rule.conditions
                    .iter()
                    .all(|c| c.accepts(request.values[c.dim]))
            })
            .map_or(self.floor, |rule| rule.cpm)
    }
}

/// Response-latency profile: log-normal with this median and log-scale deviation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    pub median: SimDuration,
    pub sigma: f64,
}

/// A programmatic bidder, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct BidderSpec {
    pub name: String,
    /// Index into `Config::advertisers` (pod separation and advertiser caps).
    pub advertiser: usize,
    pub targeting: Vec<Rule>,
    pub model: ModelBidder,
    /// Total budget for the run [micros].
    pub budget: Option<Micros>,
    /// Budget per UTC day [micros].
    pub daily_budget: Option<Micros>,
    pub pacing: PacingSpec,
    pub creative_duration_s: u16,
    pub category: Option<u16>,
    pub caps: Vec<Cap>,
    /// Deal floor replacing the request's floor for this bidder [CPM micros].
    pub deal_floor: Option<Micros>,
    pub latency: Latency,
    pub no_bid_rate: f64,
    pub error_rate: f64,
}

impl BidderSpec {
    /// The budget pacing aims at over the run: the total budget, else the daily budget times
    /// the run's length in days.
    pub fn pacing_budget(&self, run: SimDuration) -> Option<Micros> {
        self.budget.or_else(|| {
            self.daily_budget.map(|daily| {
                Micros((daily.0 as f64 * run.0 as f64 / SimDuration::DAY.0 as f64) as i64)
            })
        })
    }
}

/// The fields of a bidder's spec the per-request path reads, copied together so that checking
/// a bidder touches one cache line rather than a scattered `BidderSpec`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hot {
    pub duration: u16,
    /// `PodSpec::duration_bit` of the creative.
    pub duration_bit: u64,
    pub has_caps: bool,
    pub category: Option<u16>,
    pub advertiser: u32,
    /// Budgets [micros]; `i64::MAX` when unset.
    pub budget: i64,
    pub daily: i64,
    pub error_rate: f64,
    pub no_bid_rate: f64,
    pub latency_median: i64,
    pub latency_sigma: f64,
    pub deal_floor: Option<Micros>,
}

/// A bidder's request outcomes kept locally between flushes to `Metrics`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LocalCounts {
    pub requests: u64,
    pub bids: u64,
    pub no_bids: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// A run of equal latencies `(latency [µs], count)` not yet recorded.
    pub latency: (u64, u64),
}

/// A bidder's serving state. Laid out hot fields first (`repr(C)`): what every request reads,
/// then what a request the bidder takes part in reads, then the rest.
#[repr(C)]
pub(super) struct BidderState {
    pub hot: Hot,
    pub throttle: f64,
    /// `chance_threshold(throttle)`, for the participation draw.
    pub throttle_threshold: u64,
    /// The pacer's bid multiplier.
    pub multiplier: f64,
    pub day: i64,
    /// What budget checks and the pacer see (spend as of the last synchronisation) and the
    /// responses observed.
    pub seen: Seen,
    pub interval: IntervalCounts,
    /// Request outcomes not yet added to the run's metrics.
    pub counts: LocalCounts,
    /// Spend [micros]: over the run, and on the UTC day `day`.
    pub spent: i64,
    pub spent_day: i64,
    /// The pacer's participation draws, apart so that a pacing change moves nothing else.
    pub pacing_stream: Stream,
    /// Errors, no-bids and latencies, apart so that a value-model change leaves them as they were.
    pub response: Stream,
    /// The bidder's own stream (values, strategy randomness).
    pub stream: Stream,
    pub bidder: Demand,
    pub cap_checks: Vec<(u16, u16)>,
    pub bumps: Vec<u16>,
    pub pacer: Box<dyn Pacer>,
    pub last_update: SimTime,
    pub curve: usize,
    /// Budget pacing aims at over the run [micros].
    pub pacing_budget: Option<i64>,
    pub spec: BidderSpec,
}

impl BidderState {
    pub fn new(
        spec: &BidderSpec,
        seed: u64,
        curve: usize,
        run: SimDuration,
        counters: (Vec<(u16, u16)>, Vec<u16>),
    ) -> BidderState {
        BidderState {
            hot: Hot {
                duration: spec.creative_duration_s,
                duration_bit: crate::traffic::PodSpec::duration_bit(spec.creative_duration_s),
                has_caps: !counters.0.is_empty(),
                category: spec.category,
                advertiser: spec.advertiser as u32,
                budget: spec.budget.map_or(i64::MAX, |b| b.0),
                daily: spec.daily_budget.map_or(i64::MAX, |b| b.0),
                error_rate: spec.error_rate,
                no_bid_rate: spec.no_bid_rate,
                latency_median: spec.latency.median.0,
                latency_sigma: spec.latency.sigma,
                deal_floor: spec.deal_floor,
            },
            bidder: Demand::Model(spec.model.clone()),
            stream: Stream::new(seed, &format!("bidder.{}", spec.name)),
            response: Stream::new(seed, &format!("bidder.{}.response", spec.name)),
            pacing_stream: Stream::new(seed, &format!("bidder.{}.pacing", spec.name)),
            cap_checks: counters.0,
            bumps: counters.1,
            spent: 0,
            spent_day: 0,
            day: i64::MIN,
            seen: Seen::default(),
            counts: LocalCounts::default(),
            throttle: 1.0,
            throttle_threshold: crate::engine::chance_threshold(1.0),
            multiplier: 1.0,
            pacer: spec.pacing.build(),
            interval: IntervalCounts::default(),
            last_update: SimTime(i64::MIN),
            curve,
            pacing_budget: spec.pacing_budget(run).map(|budget| budget.0),
            spec: spec.clone(),
        }
    }

    /// Whether the bidder may still spend on UTC day `day` (days since the epoch), as far as
    /// the server can see (spend as of the last synchronisation): total budget left, and
    /// daily budget left that day (the daily count restarts with each day).
    #[inline]
    pub fn has_budget(&mut self, day: i64) -> bool {
        if day != self.day {
            self.day = day;
            self.spent_day = 0;
            self.seen.delivered_day = 0;
        }
        self.seen.delivered < self.hot.budget && self.seen.delivered_day < self.hot.daily
    }
}

/// Draws a bidder's answer: `Err` with the kind of failure, or `Ok(latency)` [µs].
/// Draws are skipped where they cannot matter (no error or no-bid rate, a constant latency),
/// which changes no result for a given scenario.
#[inline]
pub(super) fn respond(hot: &Hot, stream: &mut Stream) -> Result<i64, Failure> {
    let failure_rate = hot.error_rate + hot.no_bid_rate;
    if failure_rate > 0.0 {
        let u = stream.uniform();
        if u < hot.error_rate {
            return Err(Failure::Error);
        }
        if u < failure_rate {
            return Err(Failure::NoBid);
        }
    }
    if hot.latency_sigma == 0.0 {
        return Ok(hot.latency_median.max(1));
    }
    let latency = hot.latency_median as f64 * (hot.latency_sigma * stream.standard_normal()).exp();
    // Latencies are positive: adding a half and truncating rounds to the nearest µs.
    Ok(((latency + 0.5) as i64).max(1))
}

/// The bidder behind a `BidderState`: the built-in model, called without dynamic dispatch on
/// the bidding path, or any `Bidder` a library user plugs in.
#[allow(clippy::large_enum_variant)] // one per bidder; inline saves a pointer chase per bid
pub enum Demand {
    Model(ModelBidder),
    Custom(Box<dyn Bidder>),
}

impl Demand {
    #[inline]
    pub fn bid(
        &mut self,
        request: &AdRequest,
        floor: Micros,
        stream: &mut Stream,
    ) -> Option<Micros> {
        match self {
            Demand::Model(model) => model.bid(request, floor, stream),
            Demand::Custom(bidder) => bidder.bid(request, floor, stream),
        }
    }

    #[inline]
    pub fn learns(&self) -> bool {
        match self {
            Demand::Model(model) => model.learns(),
            Demand::Custom(bidder) => bidder.learns(),
        }
    }

    pub fn outcome(&mut self, won: bool, price: Micros) {
        match self {
            Demand::Model(model) => model.outcome(won, price),
            Demand::Custom(bidder) => bidder.outcome(won, price),
        }
    }

    pub fn response(&mut self, kind: ResponseKind) {
        match self {
            Demand::Model(model) => model.response(kind),
            Demand::Custom(bidder) => bidder.response(kind),
        }
    }
}

/// Why a bidder did not bid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Error,
    NoBid,
}

/// Who placed a bid in the auction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    Bidder(usize),
    /// A price-priority line item (internal index).
    Item(usize),
}

impl Owner {
    /// The owner of a bid by its `Bid::bidder` id: bidders are numbered from 0, price-priority
    /// items after them (`n_bidders + internal index`).
    #[inline]
    pub fn of(bidder: u32, n_bidders: usize) -> Owner {
        let id = bidder as usize;
        if id < n_bidders {
            Owner::Bidder(id)
        } else {
            Owner::Item(id - n_bidders)
        }
    }
}
