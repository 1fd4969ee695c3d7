//! Bidders: programmatic demand (one DSP or campaign each).
//!
//! A `Bidder` turns an ad request into a bid. The exchange (in `adserver::exchange`) decides
//! whether a bidder is asked at all (targeting, budget, frequency caps, its pacer) and whether
//! its answer arrives in time (latency, no-bid and error rates, `tmax`); the bidder only
//! values the impression and bids. The built-in `ModelBidder` combines a value model
//! (`value`) and a bid strategy (`strategy`).

pub mod strategy;
pub mod value;

pub use strategy::{Shader, Strategy};
pub use value::{CtrTable, Distribution, ValueModel};

use crate::engine::Stream;
use crate::money::Micros;
use crate::response::ResponseKind;
use crate::traffic::AdRequest;

/// Programmatic demand.
///
/// Contract: the exchange calls `bid` once per request the bidder is asked for and that it
/// answers in time; `bid` draws any randomness from `stream` (the bidder's own) and returns a
/// CPM, or `None` to pass. After the auction the exchange calls `outcome` once for every
/// `Some` bid, with whether it won and the price paid (CPM). Bids below the floor may be
/// returned; the auction ignores them. The exchange multiplies each bid by the bidder's
/// pacer's bid multiplier (1 unless a `dual` or `kpi_pid` pacer says otherwise) before the
/// auction.
pub trait Bidder {
    fn bid(&mut self, request: &AdRequest, floor: Micros, stream: &mut Stream) -> Option<Micros>;
    fn outcome(&mut self, _won: bool, _price: Micros) {}
    /// A click or conversion on one of the bidder's ads happens (at its own time, after the
    /// impression; see `response`).
    fn response(&mut self, _kind: ResponseKind) {}
    /// Whether `outcome` does anything; the exchange skips the calls when it does not.
    fn learns(&self) -> bool {
        true
    }
}

/// A bidder that draws a value and applies a strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelBidder {
    pub value: ValueModel,
    pub strategy: Strategy,
}

impl Bidder for ModelBidder {
    #[inline]
    fn bid(&mut self, request: &AdRequest, _floor: Micros, stream: &mut Stream) -> Option<Micros> {
        let value = self.value.value(request, stream);
        let pctr = match self.strategy {
            Strategy::Linear { .. } => self.value.pctr(request),
            _ => 0.0,
        };
        let bid = self.strategy.bid(value, pctr);
        (bid > 0.0).then(|| Micros::from_units(bid)).flatten()
    }

    #[inline]
    fn outcome(&mut self, won: bool, price: Micros) {
        self.strategy.outcome(won, price.as_units());
    }

    fn learns(&self) -> bool {
        matches!(self.strategy, Strategy::LearningShader(_))
    }
}
