//! `gsp`: generalized second price over the pod's weighted positions.

use super::feasibility::{check_weights, sell_greedily};
use super::{Auction, Award, Bid, Pod, weighted_price};

/// Generalized second price: the allocation of `FirstPrice` (the k-th winner takes position
/// k), each winner paying, for its one impression, `weights[k] × max(its floor, runner-up)`
/// rounded half away from zero to the micro, where the runner-up is the amount of the best
/// other bid that could have taken position k (as in `SecondPrice`). The winner's offer for
/// position k is `weights[k] × amount`, which the price never exceeds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gsp;

impl Auction for Gsp {
    fn name(&self) -> &'static str {
        "gsp"
    }

    fn run(&self, bids: &[Bid], pod: &Pod<'_>, awards: &mut Vec<Award>) {
        check_weights(pod);
        sell_greedily(bids, pod, awards, |sale| {
            let winner = &bids[sale.winner];
            let runner_up = sale.runner_up.map(|idx| bids[idx].amount);
            let per_unit = runner_up.map_or(winner.floor, |amount| amount.max(winner.floor));
            weighted_price(per_unit, pod.weights[usize::from(sale.position)])
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Instance, pod_instance};
    use super::*;
    use crate::money::Micros;

    fn run(instance: &Instance) -> Vec<Award> {
        let mut awards = Vec::new();
        Gsp.run(&instance.bids, &instance.pod(), &mut awards);
        awards
    }

    #[test]
    fn pod_instance_by_hand() {
        // See `pod_instance`; weights [1.0, 0.8, 0.5], 60 s.
        // Position 0: every bid fits; A (10.00, 30 s, cat 1) wins; runner-up B (8.00).
        //   price = round(1.0 × max(1.00, 8.00)) = 8.00; offer 1.0 × 10.00 = 10.00.
        // Position 1: 30 s left, category 1 taken: B is out; C (6.00, 30 s) wins; runner-up
        //   D (5.00). price = round(0.8 × max(1.00, 5.00)) = 4.00; offer 0.8 × 6.00 = 4.80.
        // Position 2: 0 s left: nothing fits, the slot stays unsold.
        // Revenue 12.00 (VCG on the same pod: 14.50, with a different allocation).
        let expected = [
            Award {
                bid: 1,
                position: 0,
                price: Micros(8_000_000),
            },
            Award {
                bid: 3,
                position: 1,
                price: Micros(4_000_000),
            },
        ];
        assert_eq!(run(&pod_instance()), expected);
    }

    #[test]
    fn weighted_prices_round_half_away_from_zero_and_floors_scale() {
        let bid = |bidder: u32, amount: i64, floor: i64| Bid {
            bidder,
            amount: Micros(amount),
            floor: Micros(floor),
            duration_s: 15,
            category: None,
            advertiser: bidder,
        };
        let mut instance = Instance::single_slot(vec![
            bid(1, 9_000_000, 0),
            bid(2, 3_000_001, 0),
            bid(3, 2_000_000, 2_500_000),
            bid(4, 1_000_000, 0),
        ]);
        instance.slots = 3;
        instance.seconds = 60;
        instance.weights = vec![0.5, 0.5, 0.25];
        // Position 0: 0.5 × 3_000_001 = 1_500_000.5 → 1_500_001.
        // Position 1: bid 2 wins; bid 3 is below its floor, so the runner-up is bid 4:
        //   0.5 × max(0, 1.00) = 0.50.
        // Position 2: bid 4 wins alone and pays its weighted floor, 0.25 × 0 = 0.
        let expected = [
            Award {
                bid: 0,
                position: 0,
                price: Micros(1_500_001),
            },
            Award {
                bid: 1,
                position: 1,
                price: Micros(500_000),
            },
            Award {
                bid: 3,
                position: 2,
                price: Micros::ZERO,
            },
        ];
        assert_eq!(run(&instance), expected);
    }
}
