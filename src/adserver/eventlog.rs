//! The auction event log: a sample of auctions with every bid, for off-policy evaluation.
//!
//! When the scenario has an `[event_log]` table, each auction is logged with probability
//! `rate` (drawn from the `eventlog` stream, so logging changes no other draw). A logged auction
//! writes one row per bid: the request's attributes, the bid and its floor, whether it won, at
//! which position and price, and the **propensity** of the bid's owner taking part — its pacing
//! participation probability at that moment (1 for price-priority line items and unthrottled
//! bidders). Participation is the stochastic part of the logging policy: a learning team can
//! reweight logged outcomes by 1/propensity to evaluate another participation policy. Values
//! and bids are deterministic functions of the bidder's private draws, so they have no
//! propensity of their own.

use crate::engine::Stream;
use crate::money::Micros;
use crate::time::SimTime;
use crate::traffic::AdRequest;

/// The `[event_log]` table, validated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventLogConfig {
    /// Share of auctions logged.
    pub rate: f64,
    /// Also write events.parquet.
    pub parquet: bool,
}

/// One logged bid, before names are attached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoggedBid {
    pub auction: u64,
    pub at: SimTime,
    /// Index into the logged requests' attribute rows.
    pub request: u32,
    /// Bidder index, or `n_bidders + internal item index` for a price-priority line item.
    pub owner: u32,
    pub amount: Micros,
    pub floor: Micros,
    pub propensity: f64,
    /// Position won (0 = first sold slot) and price paid [CPM micros], if it won.
    pub won: Option<(u8, Micros)>,
}

/// The log being collected.
pub struct EventLog {
    pub config: EventLogConfig,
    stream: Stream,
    pub bids: Vec<LoggedBid>,
    /// Attribute values of each logged request (`n_dims` per request).
    pub requests: Vec<u16>,
    pub n_dims: usize,
    /// Slots and seconds the auction sold from, per logged request.
    pub pods: Vec<(u8, u16)>,
    pub auctions_seen: u64,
}

impl EventLog {
    pub fn new(config: EventLogConfig, seed: u64, n_dims: usize) -> EventLog {
        EventLog {
            config,
            stream: Stream::new(seed, "eventlog"),
            bids: Vec::new(),
            requests: Vec::new(),
            n_dims,
            pods: Vec::new(),
            auctions_seen: 0,
        }
    }

    /// Whether to log the next auction (one draw per auction).
    #[inline]
    pub fn sample(&mut self) -> bool {
        self.auctions_seen += 1;
        self.config.rate >= 1.0 || self.stream.chance(self.config.rate)
    }

    /// Starts a logged auction for `request`; returns its request index.
    pub fn begin(&mut self, request: &AdRequest, slots: u8, seconds: u16) -> u32 {
        self.requests
            .extend_from_slice(&request.values[..self.n_dims]);
        self.pods.push((slots, seconds));
        (self.pods.len() - 1) as u32
    }
}
