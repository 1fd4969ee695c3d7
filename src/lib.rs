//! adsim: an ad-server and bidder simulator for streaming-video advertising.
//!
//! A discrete-event engine replays ad-request traffic through pluggable pacing and
//! decisioning strategies so that a team can see what a change does before it ships. Modules
//! are listed in the order a newcomer should read them: units first, then the engine, where
//! requests come from, how they are served, what is counted, how scenarios are loaded, and how
//! results are written.

pub mod adserver;
pub mod auction;
pub mod bidder;
pub mod engine;
pub mod experiment;
pub mod forecast;
pub mod metrics;
pub mod money;
pub mod pacing;
pub mod planning;
pub mod replay;
pub mod report;
pub mod response;
pub mod scenario;
pub mod table;
pub mod time;
pub mod traffic;
