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

/// `rank_order` as one integer: greater is better-ranked (higher amount, then lower `bidder`
/// id, then lower index), and the index is its low 32 bits, complemented. Every key is at
/// least 2^127 (amounts of eligible bids are not negative), so 0 can stand for "no bid".
#[inline]
pub(super) fn rank_key(bid: &Bid, idx: usize) -> u128 {
    // Flipping the sign bit maps i64 order onto u64 order.
    let amount = (bid.amount.0 as u64) ^ (1 << 63);
    let idx = u32::try_from(idx).expect("fewer than 2^32 bids");
    (u128::from(amount) << 64) | (u128::from(!bid.bidder) << 32) | u128::from(!idx)
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
/// This runs once per auctioned request, so it allocates nothing: each slot is one pass over
/// the bids that keeps the best two as rank keys (`rank_key`) without branching on them, and
/// while the pod is still empty the pass checks only amounts and lengths.
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
    let mut seconds_left = pod.seconds;
    while awards.len() < usize::from(pod.slots) {
        // Rank keys (`rank_key`) of the best and second-best bids that may take this slot;
        // 0 for none. The key holds the bid's index, so the scan keeps no indices.
        let (mut best, mut second) = (0u128, 0u128);
        // Nothing in the pod yet (the usual first slot): only amount and length can rule a
        // bid out.
        let open =
            awards.is_empty() && pod.used_categories.is_empty() && pod.used_advertisers.is_empty();
        for (idx, bid) in bids.iter().enumerate() {
            if bid.amount < bid.floor || bid.duration_s > seconds_left {
                continue;
            }
            if !open
                && (!fits_pod(bid, pod)
                    || awards.iter().any(|award| {
                        award.bid == idx || clash(bid, &bids[award.bid], pod.allow_same_advertiser)
                    }))
            {
                continue;
            }
            let key = rank_key(bid, idx);
            // Without branches on the keys, which are in random order.
            let above_best = key > best;
            second = if above_best { best } else { second.max(key) };
            best = best.max(key);
        }
        let index_of = |key: u128| (key != 0).then_some(!(key as u32) as usize);
        let (winner, runner_up) = (index_of(best), index_of(second));
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
