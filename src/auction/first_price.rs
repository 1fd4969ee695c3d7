//! `first_price`: slot by slot, each winner pays its own bid.

use super::feasibility::sell_greedily;
use super::{Auction, Award, Bid, Pod};

/// First-price auction per slot: the best-ranked eligible bid that still fits wins the next
/// slot and pays its amount. Position weights are ignored.
#[derive(Clone, Copy, Debug, Default)]
pub struct FirstPrice;

impl Auction for FirstPrice {
    fn name(&self) -> &'static str {
        "first_price"
    }

    fn run(&self, bids: &[Bid], pod: &Pod<'_>, awards: &mut Vec<Award>) {
        sell_greedily(bids, pod, awards, |sale| bids[sale.winner].amount);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Instance, pod_instance};
    use super::*;
    use crate::money::Micros;

    fn bid(bidder: u32, amount: i64, duration_s: u16, category: Option<u16>) -> Bid {
        Bid {
            bidder,
            amount: Micros(amount),
            floor: Micros(1_000_000),
            duration_s,
            category,
            advertiser: 100 + bidder,
        }
    }

    fn run(instance: &Instance) -> Vec<Award> {
        let mut awards = Vec::new();
        FirstPrice.run(&instance.bids, &instance.pod(), &mut awards);
        awards
    }

    #[test]
    fn pod_instance_winners_pay_their_bids() {
        // See `pod_instance`: A (index 1) takes 30 s and category 1, which shuts out B; C
        // (index 3) takes the other 30 s, and the pod is full.
        let instance = pod_instance();
        let expected = [
            Award {
                bid: 1,
                position: 0,
                price: Micros(10_000_000),
            },
            Award {
                bid: 3,
                position: 1,
                price: Micros(6_000_000),
            },
        ];
        assert_eq!(run(&instance), expected);
    }

    #[test]
    fn a_bid_that_does_not_fit_is_skipped_not_a_stopper() {
        // 45 s, 3 slots: the 30 s bid wins, the second 30 s bid no longer fits, the 15 s bid
        // below it takes the next slot, and the category-1 bid clashes with the winner.
        let mut instance = Instance::single_slot(vec![
            bid(1, 9_000_000, 30, Some(1)),
            bid(2, 8_000_000, 30, None),
            bid(3, 7_000_000, 15, Some(1)),
            bid(4, 2_000_000, 15, None),
        ]);
        instance.slots = 3;
        instance.seconds = 45;
        instance.weights = vec![1.0; 3];
        let expected = [
            Award {
                bid: 0,
                position: 0,
                price: Micros(9_000_000),
            },
            Award {
                bid: 3,
                position: 1,
                price: Micros(2_000_000),
            },
        ];
        assert_eq!(run(&instance), expected);
    }

    #[test]
    fn ties_go_to_the_lower_bidder_id_then_the_lower_index() {
        let instance = Instance::single_slot(vec![
            bid(7, 3_000_000, 15, None),
            bid(5, 3_000_000, 15, None),
            bid(5, 3_000_000, 15, None),
        ]);
        assert_eq!(run(&instance)[0].bid, 1);
    }
}
