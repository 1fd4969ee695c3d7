//! Replay of logged auctions: market-price replay, the evaluation convention of the RTB
//! literature (and of the iPinYou benchmark).
//!
//! Each logged row is an auction that was won in the log at its *market price* — the highest
//! competing bid, which stands for all the competing demand. A strategy under evaluation bids
//! on the row; it wins if its bid **exceeds** the market price and then pays the market price
//! (second-price logic); only then does it see the row's logged click (and conversion) label.
//! It stops bidding when its budget is spent. Strategies are evaluated independently, each
//! against the whole log (they do not compete with each other), as in Zhang, Yuan and Wang,
//! "Optimal real-time bidding for display advertising" (KDD 2014) and Zhang et al., "Feedback
//! control of real-time display advertising" (WSDM 2016).
//!
//! Files are streamed: memory does not grow with the file (`reader`). Rows carry a time — from
//! a timestamp column, or for formats without one (iPinYou's) the row's position times a fixed
//! spacing — so that pacing and control rounds are intervals of time, as in the engine.

pub mod evaluate;
pub mod reader;
pub mod run;

pub use reader::{Columns, Format, Malformed, Row, RowReader};
pub use run::{ReplayBidder, ReplayStrategy, RoundRecord, StrategyResult, run};
