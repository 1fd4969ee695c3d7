//! Metrics: the counters a run accumulates. Pure data; `report` turns them into files.
//!
//! Hourly series are indexed by whole hours since the run start. Inventory is kept per period
//! (an hour or a UTC day) and per segment of the scenario's inventory keys (by default country ×
//! device × genre), the grain forecasting jobs train on.

use hdrhistogram::Histogram;

use crate::money::Micros;
use crate::response::{Outcome, Responder, Response, ResponseKind};
use crate::time::{SimDuration, SimTime};
use crate::traffic::{AdRequest, Dimensions};

/// Per line item totals, in scenario order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemMetrics {
    pub impressions: u64,
    /// Distinct members who saw the item at least once.
    pub reach: u64,
    /// Requests the item was otherwise eligible for (targeting, flight, goal, pod) but a
    /// frequency cap blocked.
    pub lost_to_caps: u64,
    pub responses: Responses,
}

/// User responses to one line item's or bidder's ads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Responses {
    /// Ads watched to the end.
    pub completions: u64,
    /// Clicks and attributed conversions that happened before the run's end.
    pub clicks: u64,
    pub conversions: u64,
    /// Conversions drawn beyond the attribution window (never attributed).
    pub late_conversions: u64,
    /// Clicks and attributed conversions drawn (some fall after the run's end).
    pub clicks_due: u64,
    pub conversions_due: u64,
}

/// One inventory cell: an hour × segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub requests: u32,
    pub opportunities: u32,
    pub impressions: u32,
}

/// Everything a run counts.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub start: SimTime,
    pub n_hours: usize,
    pub requests: u64,
    pub opportunities: u64,
    pub impressions: u64,
    pub items: Vec<ItemMetrics>,
    /// `delivery[hour * n_items + item]`: impressions of an item in an hour.
    pub delivery: Vec<u32>,
    pub bidders: Vec<BidderMetrics>,
    /// `bidder_delivery[hour * n_bidders + bidder]`: impressions and spend [micros] in an hour.
    pub bidder_delivery: Vec<(u32, i64)>,
    pub auction: AuctionMetrics,
    /// `responses_hourly[hour * (n_items + n_bidders) + owner]`: clicks and conversions in an
    /// hour; owners are line items (scenario order), then bidders.
    pub responses_hourly: Vec<(u32, u32)>,
    /// `pacer_hourly[hour * (n_items + n_bidders) + owner]`: the pacer's participation and bid
    /// multiplier as decided at the hour's last pacing tick (NaN if none).
    pub pacer_hourly: Vec<(f32, f32)>,
    /// Inventory cells: `inventory[period * cells_per_period + segment]`, the segment a
    /// mixed-radix index over the inventory keys' values (the first key most significant).
    pub inventory: Vec<Cell>,
    pub inventory_layout: InventoryLayout,
    /// Requests, opportunities and impressions per hour of the run, whatever the inventory
    /// grain (for the report's charts).
    pub hourly: Vec<Cell>,
}

/// How inventory is cut: the period (an hour or a UTC day) and the segment keys.
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryLayout {
    /// Request dimensions that form a segment, with their number of values.
    pub keys: Vec<(usize, usize)>,
    pub period: SimDuration,
    pub n_periods: usize,
    pub cells_per_period: usize,
}

impl InventoryLayout {
    /// Cells for `keys` (dimension indices) over a run from `start` to `end` cut into
    /// `period`s (an hour or a day; the run starts on a whole hour, and daily periods are UTC
    /// days, the first one possibly partial).
    pub fn new(
        keys: &[usize],
        period: SimDuration,
        start: SimTime,
        end: SimTime,
        dims: &Dimensions,
    ) -> InventoryLayout {
        let first = start.0.div_euclid(period.0);
        let last = (end.0 - 1).div_euclid(period.0);
        let keys: Vec<(usize, usize)> = keys
            .iter()
            .map(|&dim| (dim, dims.list[dim].values.len()))
            .collect();
        InventoryLayout {
            cells_per_period: keys.iter().map(|&(_, n)| n).product(),
            keys,
            period,
            n_periods: (last - first + 1).max(0) as usize,
        }
    }

    /// The period index of `at` (periods are aligned on multiples of `period` since the epoch).
    #[inline]
    pub fn period_of(&self, at: SimTime, start: SimTime) -> usize {
        (at.0.div_euclid(self.period.0) - start.0.div_euclid(self.period.0)) as usize
    }

    /// Start of period `idx`.
    pub fn period_start(&self, idx: usize, start: SimTime) -> SimTime {
        SimTime((start.0.div_euclid(self.period.0) + idx as i64) * self.period.0)
    }

    /// The segment index of a request's values.
    #[inline]
    pub fn segment(&self, values: &[u16]) -> usize {
        self.keys
            .iter()
            .fold(0, |index, &(dim, n)| index * n + usize::from(values[dim]))
    }

    /// The value index of each key for segment `segment`.
    pub fn decode(&self, mut segment: usize) -> Vec<usize> {
        let mut values = vec![0; self.keys.len()];
        for (slot, &(_, n)) in values.iter_mut().zip(&self.keys).rev() {
            *slot = segment % n;
            segment /= n;
        }
        values
    }
}

impl Metrics {
    /// Counters for a run from `start` to `end`; the bid landscape is kept if `landscape`;
    /// inventory is cut as `layout` says.
    pub fn new(
        start: SimTime,
        end: SimTime,
        n_items: usize,
        n_bidders: usize,
        layout: InventoryLayout,
        landscape: bool,
    ) -> Metrics {
        let n_hours = ((end - start).0 as u64).div_ceil(SimDuration::HOUR.0 as u64) as usize;
        Metrics {
            start,
            n_hours,
            requests: 0,
            opportunities: 0,
            impressions: 0,
            items: vec![ItemMetrics::default(); n_items],
            delivery: vec![0; n_hours * n_items],
            bidders: vec![BidderMetrics::default(); n_bidders],
            bidder_delivery: vec![(0, 0); n_hours * n_bidders],
            auction: AuctionMetrics {
                landscape: landscape.then(|| vec![0; n_hours * LANDSCAPE_BUCKETS]),
                ..AuctionMetrics::default()
            },
            responses_hourly: Vec::new(),
            pacer_hourly: vec![(f32::NAN, f32::NAN); n_hours * (n_items + n_bidders)],
            inventory: vec![Cell::default(); layout.n_periods * layout.cells_per_period],
            inventory_layout: layout,
            hourly: vec![Cell::default(); n_hours],
        }
    }

    #[inline]
    pub fn hour(&self, at: SimTime) -> usize {
        ((at - self.start).0 / SimDuration::HOUR.0) as usize
    }

    /// Records an impression of line item `item` (scenario index).
    #[inline]
    pub fn record_impression(&mut self, item: usize, at: SimTime) {
        let n_items = self.items.len();
        self.items[item].impressions += 1;
        let hour = self.hour(at);
        self.delivery[hour * n_items + item] += 1;
    }

    /// Records an impression won by bidder `bidder` at `price` [CPM micros].
    #[inline]
    pub fn record_bidder_impression(&mut self, bidder: usize, at: SimTime, price: Micros) {
        let cost = price.cost_of(1).0;
        let n_bidders = self.bidders.len();
        let stats = &mut self.bidders[bidder];
        stats.wins += 1;
        stats.spend += cost;
        stats.price_sum += price.0;
        let hour = self.hour(at);
        let cell = &mut self.bidder_delivery[hour * n_bidders + bidder];
        cell.0 += 1;
        cell.1 += cost;
    }

    fn responses_mut(&mut self, responder: Responder) -> (&mut Responses, usize) {
        let n_items = self.items.len();
        match responder {
            Responder::LineItem(idx) => (&mut self.items[idx as usize].responses, idx as usize),
            Responder::Bidder(b) => (
                &mut self.bidders[b as usize].responses,
                n_items + b as usize,
            ),
        }
    }

    /// Records the responses drawn for one impression.
    pub fn record_response_draw(&mut self, responder: Responder, outcome: &Outcome) {
        let (responses, _) = self.responses_mut(responder);
        responses.completions += u64::from(outcome.completed);
        responses.clicks_due += u64::from(outcome.click_at.is_some());
        match outcome.conversion {
            Some((_, true)) => responses.conversions_due += 1,
            Some((_, false)) => responses.late_conversions += 1,
            None => {}
        }
    }

    /// Records a click or attributed conversion happening at `at`.
    pub fn record_response(&mut self, response: Response, at: SimTime) {
        let owners = self.items.len() + self.bidders.len();
        let hour = self.hour(at);
        let (responses, owner) = self.responses_mut(response.responder);
        let cell = match response.kind {
            ResponseKind::Click => {
                responses.clicks += 1;
                0
            }
            ResponseKind::Conversion => {
                responses.conversions += 1;
                1
            }
        };
        if self.responses_hourly.is_empty() {
            self.responses_hourly = vec![(0, 0); self.n_hours * owners];
        }
        let entry = &mut self.responses_hourly[hour * owners + owner];
        if cell == 0 {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }

    /// Records a pacer's decision at `at` for owner `owner` (line items by scenario index,
    /// then bidders).
    pub fn record_pacer(&mut self, owner: usize, at: SimTime, participation: f64, multiplier: f64) {
        let owners = self.items.len() + self.bidders.len();
        let hour = self.hour(at);
        if hour < self.n_hours {
            self.pacer_hourly[hour * owners + owner] = (participation as f32, multiplier as f32);
        }
    }

    /// Completes what is buffered (latency runs); call once the run is over. Idempotent.
    pub fn finish(&mut self) {
        for bidder in &mut self.bidders {
            bidder.flush_latency();
        }
    }

    /// Records a served request and how many of its slots were filled.
    #[inline]
    pub fn record_request(&mut self, request: &AdRequest, filled: u32) {
        let opportunities = request.pod.opportunities();
        self.requests += 1;
        self.opportunities += u64::from(opportunities);
        self.impressions += u64::from(filled);
        let layout = &self.inventory_layout;
        let cell = layout.period_of(request.at, self.start) * layout.cells_per_period
            + layout.segment(&request.values);
        let hour = self.hour(request.at);
        for cell in [&mut self.inventory[cell], &mut self.hourly[hour]] {
            cell.requests += 1;
            cell.opportunities += opportunities;
            cell.impressions += filled;
        }
    }
}

/// Per bidder totals, in scenario order.
#[derive(Clone, Debug)]
pub struct BidderMetrics {
    /// Bid requests sent to the bidder (it was eligible and asked).
    pub requests: u64,
    pub bids: u64,
    pub no_bids: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub wins: u64,
    /// Spend [micros].
    pub spend: i64,
    /// Sum of the clearing prices it paid [CPM micros].
    pub price_sum: i64,
    /// Response latencies [µs] of the requests it answered or timed out on (complete after
    /// `Metrics::finish`).
    pub latency_us: Histogram<u64>,
    /// A run of equal latencies not yet in the histogram: `(latency, count)`. Constant
    /// latency profiles then cost one histogram update per run, not one per request.
    pending_latency: (u64, u64),
    /// When the total budget ran out, if it did.
    pub exhausted_at: Option<SimTime>,
    pub responses: Responses,
}

impl BidderMetrics {
    /// Records one response latency [µs].
    #[inline]
    pub fn record_latency(&mut self, latency_us: u64) {
        if self.pending_latency.0 == latency_us {
            self.pending_latency.1 += 1;
        } else {
            self.flush_latency();
            self.pending_latency = (latency_us, 1);
        }
    }

    /// Records `count` response latencies of `latency_us` each.
    pub fn record_latency_n(&mut self, latency_us: u64, count: u64) {
        if self.pending_latency.0 == latency_us {
            self.pending_latency.1 += count;
        } else {
            self.flush_latency();
            self.pending_latency = (latency_us, count);
        }
    }

    fn flush_latency(&mut self) {
        let (value, count) = self.pending_latency;
        if count > 0 {
            // Values beyond the histogram's range are clamped to it.
            let _ = self
                .latency_us
                .record_n(value.clamp(1, self.latency_us.high()), count);
        }
        self.pending_latency = (0, 0);
    }
}

impl Default for BidderMetrics {
    fn default() -> Self {
        BidderMetrics {
            requests: 0,
            bids: 0,
            no_bids: 0,
            timeouts: 0,
            errors: 0,
            wins: 0,
            spend: 0,
            price_sum: 0,
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("valid histogram bounds"),
            pending_latency: (0, 0),
            exhausted_at: None,
            responses: Responses::default(),
        }
    }
}

/// Exchange totals.
#[derive(Clone, Debug)]
pub struct AuctionMetrics {
    /// Requests that reached the exchange with slots left and at least one bid.
    pub auctions: u64,
    /// Auctions in which at least one bid was at or above its floor.
    pub auctions_above_floor: u64,
    /// Slots sold (to bidders and price-priority line items).
    pub slots_sold: u64,
    /// Clearing prices of sold slots [CPM micros].
    pub clearing_price: Histogram<u64>,
    /// Exact sum and sum of squares of clearing prices [CPM micros, micros²].
    pub price_sum: i128,
    pub price_sum_sq: i128,
    /// Bid landscape, when asked for: sales per hour and clearing-price bucket,
    /// `landscape[hour * LANDSCAPE_BUCKETS + bucket]`.
    pub landscape: Option<Vec<u32>>,
}

/// Width of a bid-landscape price bucket [CPM micros] (0.25 CPM).
pub const LANDSCAPE_BUCKET: i64 = 250_000;
/// Buckets per hour: 0.25-CPM buckets up to 100 CPM, and one for everything above.
pub const LANDSCAPE_BUCKETS: usize = 401;

impl AuctionMetrics {
    /// Records a sold slot's clearing price [CPM micros] in hour `hour` of the run.
    #[inline]
    pub fn record_sale(&mut self, hour: usize, price: Micros) {
        if let Some(landscape) = &mut self.landscape {
            let bucket = ((price.0.max(0) / LANDSCAPE_BUCKET) as usize).min(LANDSCAPE_BUCKETS - 1);
            landscape[hour * LANDSCAPE_BUCKETS + bucket] += 1;
        }
        self.slots_sold += 1;
        let _ = self.clearing_price.record(price.0.max(1) as u64);
        self.price_sum += i128::from(price.0);
        self.price_sum_sq += i128::from(price.0) * i128::from(price.0);
    }
}

impl Default for AuctionMetrics {
    fn default() -> Self {
        AuctionMetrics {
            auctions: 0,
            auctions_above_floor: 0,
            slots_sold: 0,
            clearing_price: Histogram::new_with_bounds(1, 1_000_000_000_000, 3)
                .expect("valid histogram bounds"),
            price_sum: 0,
            price_sum_sq: 0,
            landscape: None,
        }
    }
}
