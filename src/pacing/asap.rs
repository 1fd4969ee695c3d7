//! `asap`: take part in every eligible request until the goal is met or the budget spent.

use super::{Decision, Observation, Pacer};

/// Delivers as fast as traffic allows.
pub struct Asap;

impl Pacer for Asap {
    fn update(&mut self, _observation: &Observation) -> Decision {
        Decision::participate(1.0)
    }
}
