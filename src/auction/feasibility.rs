//! Rules every mechanism shares: the ranking of bids, which bids may take part, whether a bid
//! still fits the pod, the checks on the caller's input, and the greedy slot-by-slot fill that
//! `FirstPrice`, `SecondPrice` and `Gsp` price in their own ways.

use std::cmp::{Ordering, Reverse};

use super::{Award, Bid, Pod};
use crate::money::Micros;

/// The ranking of two bids (indices into `bids`): higher amount first, then lower `bidder`
/// id, then lower index. Total, so the same bids always rank the same way.
pub(super) fn rank_order(bids: &[Bid], a: usize, b: usize) -> Ordering {
    let key = |idx: usize| (Reverse(bids[idx].amount), bids[idx].bidder, idx);
    key(a).cmp(&key(b))
}

/// Whether a bid may take part at all: it offers at least its own floor.
pub(super) fn is_eligible(bid: &Bid) -> bool {
    bid.amount >= bid.floor
}

/// Whether a bid fits the pod as the auction found it: no longer than the seconds left, and
/// neither its category nor (unless allowed) its advertiser already in the pod.
pub(super) fn fits_pod(bid: &Bid, pod: &Pod<'_>) -> bool {
    bid.duration_s <= pod.seconds
        && bid
            .category
            .is_none_or(|category| !pod.used_categories.contains(&category))
        && (pod.allow_same_advertiser || !pod.used_advertisers.contains(&bid.advertiser))
}

/// Whether two ads may not share a pod: same competitive category, or same advertiser where
/// the pod forbids it.
pub(super) fn clash(a: &Bid, b: &Bid, allow_same_advertiser: bool) -> bool {
    (a.category.is_some() && a.category == b.category)
        || (!allow_same_advertiser && a.advertiser == b.advertiser)
}

/// Panics unless every floor is non-negative: a negative floor would let a price go below
/// zero, and the scenario loader never builds one.
pub(super) fn check_floors(bids: &[Bid]) {
    for (idx, bid) in bids.iter().enumerate() {
        assert!(
            bid.floor >= Micros::ZERO,
            "auction: bid {idx} has a negative floor {:?}",
            bid.floor
        );
    }
}

/// Panics unless `pod.weights` holds the `Pod::weights` contract for the slots being sold:
/// at least one weight per slot, each in (0, 1], non-increasing.
pub(super) fn check_weights(pod: &Pod<'_>) {
    let n_slots = usize::from(pod.slots);
    assert!(
        pod.weights.len() >= n_slots,
        "auction: {} position weights for {n_slots} slots",
        pod.weights.len()
    );
    let mut previous = 1.0;
    for (slot_idx, &weight) in pod.weights[..n_slots].iter().enumerate() {
        assert!(
            weight > 0.0 && weight <= previous,
            "auction: position weight {slot_idx} is {weight}; weights must lie in (0, 1] \
             and not increase"
        );
        previous = weight;
    }
}

/// One slot sold by the greedy fill, handed to the mechanism's pricing rule.
#[derive(Clone, Copy, Debug)]
pub(super) struct SlotSale {
    /// Position of the slot among those sold, 0 = first.
    pub(super) position: u8,
    /// Index of the winning bid.
    pub(super) winner: usize,
    /// Index of the best-ranked other bid that could have taken this slot, given the slots
    /// already sold: the bid that would have won it had the winner not bid.
    pub(super) runner_up: Option<usize>,
}

/// Fills the pod's slots one at a time: the best-ranked eligible bid that still fits wins the
/// next slot, at the price `price` sets for it. Bids that do not fit (too long, category or
/// advertiser already present) are skipped, not stoppers; the fill ends when the slots run
/// out or no remaining bid fits. Clears `awards` first.
///
/// This runs once per auctioned request, so it avoids per-slot allocation and closures: the
/// bids that can take part at all (eligible and fitting the pod as found) are decided once,
/// and each slot's pass only checks length and clashes with the slots already sold.
pub(super) fn sell_greedily(
    bids: &[Bid],
    pod: &Pod<'_>,
    awards: &mut Vec<Award>,
    mut price: impl FnMut(SlotSale) -> Micros,
) {
    awards.clear();
    if cfg!(debug_assertions) {
        check_floors(bids);
    }
    // Better-ranked: higher amount, then lower bidder id, then lower index.
    let better = |a: usize, b: usize| {
        let (x, y) = (&bids[a], &bids[b]);
        x.amount > y.amount || (x.amount == y.amount && (x.bidder, a) < (y.bidder, b))
    };
    let mut seconds_left = pod.seconds;
    while awards.len() < usize::from(pod.slots) {
        let mut winner: Option<usize> = None;
        let mut runner_up: Option<usize> = None;
        for (idx, bid) in bids.iter().enumerate() {
            if bid.amount < bid.floor || bid.duration_s > seconds_left || !fits_pod(bid, pod) {
                continue;
            }
            if awards.iter().any(|award| {
                award.bid == idx || clash(bid, &bids[award.bid], pod.allow_same_advertiser)
            }) {
                continue;
            }
            match winner {
                Some(best) if !better(idx, best) => {
                    if runner_up.is_none_or(|second| better(idx, second)) {
                        runner_up = Some(idx);
                    }
                }
                _ => {
                    runner_up = winner;
                    winner = Some(idx);
                }
            }
        }
        let Some(winner) = winner else { break };
        let position = u8::try_from(awards.len()).expect("at most `slots` (a u8) awards");
        let sale = SlotSale {
            position,
            winner,
            runner_up,
        };
        awards.push(Award {
            bid: winner,
            position,
            price: price(sale),
        });
        seconds_left -= bids[winner].duration_s;
    }
}
