//! Auction: the mechanisms that sell the slots of an ad pod that direct-sold line items left
//! empty, to programmatic bidders and price-priority line items.
//!
//! An `Auction` is a pure function of one request's bids and what is left of its pod: no I/O,
//! no randomness, no state across calls, no floats for money. Built-ins, one per file:
//! `FirstPrice`, `SecondPrice` and `Gsp` share one greedy allocation and differ only in what
//! a winner pays; `Vcg` finds the allocation of greatest weighted value exactly and charges each
//! winner the value its presence costs the others.
//!
//! Rules every mechanism follows:
//! - **Ranking**: by amount descending, then lower `bidder` id, then lower index in `bids`.
//! - **Eligibility**: a bid takes part only if its amount is at least its own floor.
//! - **Feasibility**: at most `slots` winners, total duration within `seconds`, no competitive
//!   category twice (counting `used_categories`), no advertiser twice (counting
//!   `used_advertisers`) unless the pod allows it.
//! - **Weighted prices** (`Gsp`, `Vcg`): position weights are read to nine decimals, as
//!   integers of 1e-9, so weighted values (weight units × micros) are exact `i128` integers;
//!   a weighted price is rounded half away from zero to the micro once, at the end. For the
//!   weights a scenario can write (at most nine decimals) this is exactly `weight × amount`.

mod feasibility;
mod first_price;
mod gsp;
mod second_price;
#[cfg(test)]
mod testing;
mod vcg;

pub use first_price::FirstPrice;
pub use gsp::Gsp;
pub use second_price::SecondPrice;
pub use vcg::Vcg;

use crate::money::Micros;

/// One bid for one slot of the pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bid {
    /// Caller's id of the bidder (or price-priority line item); also the tie-breaker: on equal
    /// amounts the lower id ranks first.
    pub bidder: u32,
    /// Offered price [micros per thousand impressions] for a slot of position weight 1.
    pub amount: Micros,
    /// Minimum price this bid may clear at [CPM micros]: the request's floor, or a deal
    /// floor. Bids below their floor are not eligible. Never negative.
    pub floor: Micros,
    /// Creative length [s].
    pub duration_s: u16,
    /// Competitive category, if any: no two ads of one category in a pod.
    pub category: Option<u16>,
    /// Advertiser id: at most one ad per advertiser per pod unless
    /// `Pod::allow_same_advertiser`.
    pub advertiser: u32,
}

/// What is left of the pod when the auction runs (direct-sold ads may already fill part of
/// it).
#[derive(Clone, Copy, Debug)]
pub struct Pod<'a> {
    /// Slots left to sell.
    pub slots: u8,
    /// Seconds left in the pod [s].
    pub seconds: u16,
    /// Competitive categories already in the pod.
    pub used_categories: &'a [u16],
    /// Advertisers already in the pod.
    pub used_advertisers: &'a [u32],
    /// Whether one advertiser may appear more than once in the pod.
    pub allow_same_advertiser: bool,
    /// Position weights of the slots being sold, best first (`weights[k]` for the k-th slot
    /// sold); length >= `slots`; non-increasing, each in (0, 1]. Value of an ad in slot k =
    /// `weights[k]` × its per-unit value. First- and second-price ignore them (they price per
    /// slot at weight 1); GSP and VCG use them.
    pub weights: &'a [f64],
}

/// A won slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Award {
    /// Index into the `bids` slice.
    pub bid: usize,
    /// Position among the slots sold by this auction, 0 = first.
    pub position: u8,
    /// Price paid for the impression [CPM micros]; never above what the bid offered for that
    /// position, never below the bid's floor (both scaled by the position weight for GSP and
    /// VCG).
    pub price: Micros,
}

/// A mechanism that sells a pod's remaining slots.
///
/// Contract: the ad server calls `run` once per ad request that still has slots left after
/// direct demand and at least one bid (an empty `bids` or zero slots is accepted too and
/// awards nothing). `run` clears `awards` and fills it in position order (`awards[k].position
/// == k`), so that the caller can reuse one buffer for every request. Each bid wins at most
/// one slot. The awards respect every pod constraint: at most `slots` of them, total duration
/// within `seconds`, each bid at or above its floor, no competitive category or (unless
/// allowed) advertiser twice, counting those already in the pod. Each price lies between the
/// bid's floor and its amount, both scaled by the position weight for mechanisms that use
/// weights. `run` is deterministic (same input, same output), keeps no state across calls and
/// draws no random numbers. A negative floor, or position weights that break the
/// `Pod::weights` contract in a mechanism that reads them, is a caller bug and panics.
pub trait Auction {
    /// The mechanism's registry name, as a scenario writes it (e.g. `"second_price"`).
    fn name(&self) -> &'static str;

    /// Sells what is left of `pod` to `bids`, writing the won slots to `awards`.
    fn run(&self, bids: &[Bid], pod: &Pod<'_>, awards: &mut Vec<Award>);
}

/// Mechanisms selectable by name from a scenario, alphabetical.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuctionKind {
    /// Pay your own bid, slot by slot.
    FirstPrice,
    /// Generalized second price over the pod's weighted positions.
    Gsp,
    /// Pay the runner-up's bid (or your floor), slot by slot.
    SecondPrice,
    /// Vickrey–Clarke–Groves over the whole pod.
    Vcg,
}

impl AuctionKind {
    /// Registry names, alphabetical, in the order of the variants.
    pub const NAMES: &'static [&'static str] = &["first_price", "gsp", "second_price", "vcg"];

    /// The mechanism a scenario names, if any.
    pub fn from_name(name: &str) -> Option<AuctionKind> {
        match name {
            "first_price" => Some(AuctionKind::FirstPrice),
            "gsp" => Some(AuctionKind::Gsp),
            "second_price" => Some(AuctionKind::SecondPrice),
            "vcg" => Some(AuctionKind::Vcg),
            _ => None,
        }
    }

    /// The mechanism's registry name.
    pub fn name(self) -> &'static str {
        match self {
            AuctionKind::FirstPrice => "first_price",
            AuctionKind::Gsp => "gsp",
            AuctionKind::SecondPrice => "second_price",
            AuctionKind::Vcg => "vcg",
        }
    }

    /// The mechanism, ready to run.
    pub fn build(self) -> Box<dyn Auction> {
        match self {
            AuctionKind::FirstPrice => Box::new(FirstPrice),
            AuctionKind::Gsp => Box::new(Gsp),
            AuctionKind::SecondPrice => Box::new(SecondPrice),
            AuctionKind::Vcg => Box::new(Vcg),
        }
    }
}

/// Integer units in a position weight of 1: weights are read to nine decimals.
const WEIGHT_UNITS_PER_ONE: i64 = 1_000_000_000;

/// A position weight in integer units of 1e-9 (0.8 is 800,000,000).
fn weight_units(weight: f64) -> i64 {
    (weight * WEIGHT_UNITS_PER_ONE as f64).round() as i64
}

/// The exact value of `amount` at a position of `weight_units` [weight units × micros].
fn weighted_value(weight_units: i64, amount: Micros) -> i128 {
    i128::from(weight_units) * i128::from(amount.0)
}

/// A weighted value [weight units × micros] in micros, rounded half away from zero.
fn micros_from_weighted(value: i128) -> Micros {
    let per_one = i128::from(WEIGHT_UNITS_PER_ONE);
    let half = if value >= 0 {
        per_one / 2
    } else {
        -per_one / 2
    };
    let micros = (value + half) / per_one;
    Micros(i64::try_from(micros).expect("a weighted price is at most its unweighted amount"))
}

/// `weight × amount` rounded half away from zero to the micro: the offer or price, for one
/// impression at a position of weight `weight`, of a per-unit `amount`.
fn weighted_price(amount: Micros, weight: f64) -> Micros {
    micros_from_weighted(weighted_value(weight_units(weight), amount))
}

#[cfg(test)]
mod tests {
    use super::testing::{Instance, XorShift, brute_force_vcg, check_feasible, welfare};
    use super::*;

    const ALL: [AuctionKind; 4] = [
        AuctionKind::FirstPrice,
        AuctionKind::Gsp,
        AuctionKind::SecondPrice,
        AuctionKind::Vcg,
    ];

    fn run(kind: AuctionKind, instance: &Instance) -> Vec<Award> {
        // Stale content checks that `run` clears the buffer.
        let mut awards = vec![
            Award {
                bid: 99,
                position: 7,
                price: Micros(-1),
            };
            3
        ];
        kind.build()
            .run(&instance.bids, &instance.pod(), &mut awards);
        awards
    }

    #[test]
    fn registry_names_round_trip_in_alphabetical_order() {
        assert_eq!(AuctionKind::NAMES.len(), ALL.len());
        for (kind, &name) in ALL.iter().zip(AuctionKind::NAMES) {
            assert_eq!(kind.name(), name);
            assert_eq!(kind.build().name(), name);
            assert_eq!(AuctionKind::from_name(name), Some(*kind));
        }
        assert!(AuctionKind::NAMES.is_sorted());
        assert_eq!(AuctionKind::from_name("english"), None);
        assert_eq!(AuctionKind::from_name("GSP"), None);
    }

    #[test]
    fn weighted_prices_round_half_away_from_zero() {
        assert_eq!(weighted_price(Micros(3), 0.5), Micros(2));
        assert_eq!(weighted_price(Micros(5), 0.5), Micros(3));
        assert_eq!(weighted_price(Micros(4), 0.5), Micros(2));
        assert_eq!(weighted_price(Micros(-3), 0.5), Micros(-2));
        assert_eq!(weighted_price(Micros(5_000_000), 0.8), Micros(4_000_000));
        assert_eq!(weighted_price(Micros(1_234_567), 1.0), Micros(1_234_567));
        // 0.3 × 5 = 1.5 exactly in nine-decimal units, though not in f64.
        assert_eq!(weighted_price(Micros(5), 0.3), Micros(2));
        assert_eq!(weight_units(0.8), 800_000_000);
    }

    #[test]
    fn nothing_to_sell_awards_nothing() {
        let bid = Bid {
            bidder: 1,
            amount: Micros(2_000_000),
            floor: Micros::ZERO,
            duration_s: 15,
            category: None,
            advertiser: 1,
        };
        let mut no_slots = Instance::single_slot(vec![bid]);
        no_slots.slots = 0;
        let no_bids = Instance::single_slot(Vec::new());
        let mut too_short = Instance::single_slot(vec![bid]);
        too_short.seconds = 10;
        for kind in ALL {
            assert_eq!(run(kind, &no_slots), [], "{kind:?}");
            assert_eq!(run(kind, &no_bids), [], "{kind:?}");
            assert_eq!(run(kind, &too_short), [], "{kind:?}");
        }
    }

    /// With one slot of weight 1, second price, GSP and VCG are all the Vickrey auction.
    #[test]
    fn one_slot_of_weight_one_is_vickrey_for_all_second_price_rules() {
        let mut rng = XorShift::new(0x5eed_0001);
        let mut n_sold = 0;
        for _ in 0..3_000 {
            let mut instance = Instance::random(&mut rng, 10);
            instance.slots = 1;
            instance.weights = vec![1.0];
            let second_price = run(AuctionKind::SecondPrice, &instance);
            assert_eq!(
                run(AuctionKind::Gsp, &instance),
                second_price,
                "{instance:?}"
            );
            assert_eq!(
                run(AuctionKind::Vcg, &instance),
                second_price,
                "{instance:?}"
            );
            n_sold += second_price.len();
        }
        assert!(n_sold > 2_000, "too few instances sell anything: {n_sold}");
    }

    /// k slots of equal weight and no other constraint: VCG charges every winner the
    /// (k+1)-th highest bid, GSP charges each winner the bid just below it (both at least the
    /// winner's floor, all scaled by the common weight).
    #[test]
    fn equal_weights_without_constraints_give_textbook_prices() {
        let mut rng = XorShift::new(0x5eed_0002);
        for round in 0..2_000 {
            let n_slots = 1 + rng.below(6) as u8;
            let n_bids = rng.below(12) as usize;
            let weight = if round % 2 == 0 { 1.0 } else { 0.6 };
            let bids: Vec<Bid> = (0..n_bids)
                .map(|idx| {
                    let amount = Micros(rng.below(8) as i64 * 1_000_000 + rng.below(3) as i64);
                    Bid {
                        bidder: rng.below(5) as u32,
                        amount,
                        floor: Micros(rng.below(4) as i64 * 1_000_000),
                        duration_s: 15,
                        category: None,
                        advertiser: idx as u32,
                    }
                })
                .collect();
            let instance = Instance {
                bids,
                slots: n_slots,
                seconds: 15 * u16::from(n_slots),
                used_categories: Vec::new(),
                used_advertisers: Vec::new(),
                allow_same_advertiser: false,
                weights: vec![weight; usize::from(n_slots)],
            };
            let mut ranked: Vec<usize> = (0..n_bids)
                .filter(|&idx| instance.bids[idx].amount >= instance.bids[idx].floor)
                .collect();
            ranked.sort_by(|&a, &b| feasibility::rank_order(&instance.bids, a, b));
            let n_winners = ranked.len().min(usize::from(n_slots));
            let amount_at = |rank: usize| ranked.get(rank).map(|&idx| instance.bids[idx].amount);

            let gsp = run(AuctionKind::Gsp, &instance);
            let vcg = run(AuctionKind::Vcg, &instance);
            assert_eq!(gsp.len(), n_winners);
            assert_eq!(vcg.len(), n_winners);
            for rank in 0..n_winners {
                let bid = instance.bids[ranked[rank]];
                let expected_gsp = amount_at(rank + 1).unwrap_or(Micros::ZERO).max(bid.floor);
                let expected_vcg = amount_at(n_winners).unwrap_or(Micros::ZERO).max(bid.floor);
                let award = |bid, position, price| Award {
                    bid,
                    position,
                    price: weighted_price(price, weight),
                };
                let position = rank as u8;
                assert_eq!(
                    gsp[rank],
                    award(ranked[rank], position, expected_gsp),
                    "gsp"
                );
                assert_eq!(
                    vcg[rank],
                    award(ranked[rank], position, expected_vcg),
                    "vcg"
                );
            }
        }
    }

    /// Random instances with every kind of constraint: the invariants each mechanism promises,
    /// and VCG against a brute-force enumeration of every subset of bids.
    #[test]
    fn random_instances_keep_every_promise() {
        let mut rng = XorShift::new(0x5eed_0003);
        let mut n_vcg_beats_greedy = 0;
        let mut n_awards = 0;
        for _ in 0..6_000 {
            let instance = Instance::random(&mut rng, 14);
            let bids = &instance.bids;
            let pod = instance.pod();
            let mut by_kind = Vec::new();
            for kind in ALL {
                let awards = run(kind, &instance);
                assert_eq!(
                    run(kind, &instance),
                    awards,
                    "{kind:?} is not deterministic"
                );
                if let Err(problem) = check_feasible(bids, &pod, &awards) {
                    panic!("{kind:?}: {problem}\n{instance:?}\n{awards:?}");
                }
                n_awards += awards.len();
                by_kind.push(awards);
            }
            let [first_price, gsp, second_price, vcg] = &by_kind[..] else {
                unreachable!()
            };
            let allocation = |awards: &[Award]| awards.iter().map(|a| a.bid).collect::<Vec<_>>();
            assert_eq!(allocation(second_price), allocation(first_price));
            assert_eq!(allocation(gsp), allocation(first_price));
            for award in first_price {
                assert_eq!(award.price, bids[award.bid].amount);
            }
            for award in second_price {
                let bid = bids[award.bid];
                assert!(
                    bid.floor <= award.price && award.price <= bid.amount,
                    "{award:?}"
                );
            }
            for award in gsp.iter().chain(vcg) {
                let bid = bids[award.bid];
                let weight = pod.weights[usize::from(award.position)];
                let offer = weighted_price(bid.amount, weight);
                let weighted_floor = weighted_price(bid.floor, weight);
                assert!(
                    weighted_floor <= award.price,
                    "{award:?} below floor\n{instance:?}"
                );
                assert!(award.price <= offer, "{award:?} above offer\n{instance:?}");
            }
            let reference = brute_force_vcg(bids, &pod);
            assert_eq!(*vcg, reference.awards, "{instance:?}");
            let vcg_welfare = welfare(bids, &pod, vcg);
            let greedy_welfare = welfare(bids, &pod, first_price);
            assert_eq!(vcg_welfare, reference.welfare);
            assert!(vcg_welfare >= greedy_welfare, "{instance:?}");
            if vcg_welfare > greedy_welfare {
                n_vcg_beats_greedy += 1;
            }
        }
        // The generator must reach the cases that tell the mechanisms apart.
        assert!(
            n_vcg_beats_greedy > 100,
            "only {n_vcg_beats_greedy} non-greedy optima"
        );
        assert!(n_awards > 20_000, "only {n_awards} awards");
    }
}
