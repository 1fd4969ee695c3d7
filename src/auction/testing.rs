//! Test support for the auction module: a tiny deterministic generator, owned random
//! instances, a feasibility check written independently of the mechanisms, and a brute-force
//! VCG (every subset of bids) to hold the branch-and-bound to.

use super::{Award, Bid, Pod, micros_from_weighted, weight_units, weighted_value};
use crate::money::Micros;

/// xorshift64* (Vigna, 2016): small, fast and reproducible; plenty for test inputs.
pub(super) struct XorShift(u64);

impl XorShift {
    pub(super) fn new(seed: u64) -> XorShift {
        // The state must never be zero.
        XorShift(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform on `0..n` (the modulo bias is below 1e-17 for the small `n` tests use).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform on [0, 1), with 53 random bits.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// An auction input that owns its data.
#[derive(Clone, Debug)]
pub(super) struct Instance {
    pub(super) bids: Vec<Bid>,
    pub(super) slots: u8,
    pub(super) seconds: u16,
    pub(super) used_categories: Vec<u16>,
    pub(super) used_advertisers: Vec<u32>,
    pub(super) allow_same_advertiser: bool,
    pub(super) weights: Vec<f64>,
}

impl Instance {
    pub(super) fn pod(&self) -> Pod<'_> {
        Pod {
            slots: self.slots,
            seconds: self.seconds,
            used_categories: &self.used_categories,
            used_advertisers: &self.used_advertisers,
            allow_same_advertiser: self.allow_same_advertiser,
            weights: &self.weights,
        }
    }

    /// An empty 30 s pod of one slot of weight 1.
    pub(super) fn single_slot(bids: Vec<Bid>) -> Instance {
        Instance {
            bids,
            slots: 1,
            seconds: 30,
            used_categories: Vec::new(),
            used_advertisers: Vec::new(),
            allow_same_advertiser: false,
            weights: vec![1.0],
        }
    }

    /// A random pod and up to `max_bids` bids, drawn so that ties, floors that exclude,
    /// category and advertiser clashes, and creatives too long for what is left all happen
    /// often.
    pub(super) fn random(rng: &mut XorShift, max_bids: usize) -> Instance {
        let slots = 1 + rng.below(5) as u8;
        let seconds = [15, 30, 45, 60, 60, 90, 120][rng.below(7) as usize];
        let round_weights = rng.below(2) == 0;
        let mut weight: f64 = if rng.below(3) == 0 {
            1.0
        } else {
            0.5 + 0.5 * rng.unit()
        };
        let mut weights = Vec::new();
        for _ in 0..slots {
            if round_weights {
                weight = ((weight * 100.0).round() / 100.0).max(0.01);
            }
            weights.push(weight);
            weight *= 0.4 + 0.6 * rng.unit();
        }
        let used_categories = (1..=4).filter(|_| rng.below(6) == 0).collect();
        let used_advertisers = (1..=6).filter(|_| rng.below(8) == 0).collect();
        let n_bids = rng.below(max_bids as u64 + 1) as usize;
        let bids = (0..n_bids).map(|_| random_bid(rng)).collect();
        Instance {
            bids,
            slots,
            seconds,
            used_categories,
            used_advertisers,
            allow_same_advertiser: rng.below(4) == 0,
            weights,
        }
    }
}

/// A random bid: amounts on a coarse grid (ties are common) plus odd micros at times, a floor
/// that often excludes the bid, mostly 15 and 30 s creatives, four categories, six
/// advertisers and six bidder ids.
pub(super) fn random_bid(rng: &mut XorShift) -> Bid {
    let odd_micros = if rng.below(3) == 0 {
        rng.below(1_000)
    } else {
        0
    };
    Bid {
        bidder: rng.below(6) as u32,
        amount: Micros((rng.below(12) * 250_000 + odd_micros) as i64),
        floor: Micros(if rng.below(3) == 0 {
            0
        } else {
            rng.below(8) as i64 * 250_000
        }),
        duration_s: [15, 15, 15, 30, 30, 30, 20, 60][rng.below(8) as usize],
        category: (rng.below(2) == 0).then(|| 1 + rng.below(4) as u16),
        advertiser: 1 + rng.below(6) as u32,
    }
}

/// Checks every pod constraint and the shape of `awards`, from the definitions alone.
pub(super) fn check_feasible(bids: &[Bid], pod: &Pod<'_>, awards: &[Award]) -> Result<(), String> {
    if awards.len() > usize::from(pod.slots) {
        return Err(format!("{} awards for {} slots", awards.len(), pod.slots));
    }
    let mut seconds = 0_u32;
    let mut categories = pod.used_categories.to_vec();
    let mut advertisers = pod.used_advertisers.to_vec();
    let mut won = Vec::new();
    for (slot_idx, award) in awards.iter().enumerate() {
        if usize::from(award.position) != slot_idx {
            return Err(format!("award {slot_idx} at position {}", award.position));
        }
        let Some(bid) = bids.get(award.bid) else {
            return Err(format!("award {slot_idx} for missing bid {}", award.bid));
        };
        if won.contains(&award.bid) {
            return Err(format!("bid {} wins twice", award.bid));
        }
        won.push(award.bid);
        if bid.amount < bid.floor {
            return Err(format!("bid {} is below its floor", award.bid));
        }
        seconds += u32::from(bid.duration_s);
        if let Some(category) = bid.category {
            if categories.contains(&category) {
                return Err(format!("category {category} twice"));
            }
            categories.push(category);
        }
        if !pod.allow_same_advertiser {
            if advertisers.contains(&bid.advertiser) {
                return Err(format!("advertiser {} twice", bid.advertiser));
            }
            advertisers.push(bid.advertiser);
        }
    }
    if seconds > u32::from(pod.seconds) {
        return Err(format!("{seconds} s in a pod of {} s", pod.seconds));
    }
    Ok(())
}

/// Total weighted value of `awards` at their positions [weight units × micros].
pub(super) fn welfare(bids: &[Bid], pod: &Pod<'_>, awards: &[Award]) -> i128 {
    awards
        .iter()
        .map(|award| {
            let weight = pod.weights[usize::from(award.position)];
            weighted_value(weight_units(weight), bids[award.bid].amount)
        })
        .sum()
}

/// VCG found by enumeration, for comparison.
pub(super) struct Reference {
    pub(super) awards: Vec<Award>,
    pub(super) welfare: i128,
}

/// VCG by enumerating every feasible set of eligible bids (of at most `slots` members, so a
/// few dozen bids are fine for a small pod). Among sets of equal value it keeps the one that,
/// read in ranking order, includes a better-ranked bid at the first difference (a set that
/// extends another comes first): the tie rule `Vcg` documents.
pub(super) fn brute_force_vcg(bids: &[Bid], pod: &Pod<'_>) -> Reference {
    let mut ranked: Vec<usize> = (0..bids.len())
        .filter(|&idx| bids[idx].amount >= bids[idx].floor)
        .collect();
    ranked.sort_by(|&a, &b| super::feasibility::rank_order(bids, a, b));
    // Every feasible set, as ranks into `ranked` in increasing order, with its value.
    let mut feasible: Vec<(Vec<usize>, i128)> = Vec::new();
    let mut set = Vec::new();
    enumerate(bids, pod, &ranked, 0, &mut set, &mut feasible);
    let mut best = 0;
    for (idx, (ranks, value)) in feasible.iter().enumerate() {
        let (best_ranks, best_value) = &feasible[best];
        if *value > *best_value || (*value == *best_value && first_in_tie_order(ranks, best_ranks))
        {
            best = idx;
        }
    }
    let (best_ranks, best_welfare) = feasible[best].clone();
    let mut awards = awards_of(&ranked, &best_ranks);
    for (award, &rank) in awards.iter_mut().zip(&best_ranks) {
        let welfare_without = feasible
            .iter()
            .filter(|(ranks, _)| !ranks.contains(&rank))
            .map(|&(_, value)| value)
            .max()
            .expect("the empty set is feasible");
        let bid = bids[award.bid];
        let units = weight_units(pod.weights[usize::from(award.position)]);
        let own = weighted_value(units, bid.amount);
        let externality = welfare_without - (best_welfare - own);
        award.price = micros_from_weighted(externality.max(weighted_value(units, bid.floor)));
    }
    Reference {
        awards,
        welfare: best_welfare,
    }
}

/// Awards (at price 0) for the bids of `ranks`, positions in rank order.
fn awards_of(ranked: &[usize], ranks: &[usize]) -> Vec<Award> {
    ranks
        .iter()
        .enumerate()
        .map(|(position, &rank)| Award {
            bid: ranked[rank],
            position: position as u8,
            price: Micros::ZERO,
        })
        .collect()
}

/// Records `set` and every feasible extension of it by ranks from `from` on.
fn enumerate(
    bids: &[Bid],
    pod: &Pod<'_>,
    ranked: &[usize],
    from: usize,
    set: &mut Vec<usize>,
    feasible: &mut Vec<(Vec<usize>, i128)>,
) {
    let awards = awards_of(ranked, set);
    if check_feasible(bids, pod, &awards).is_err() {
        // Infeasible sets have no feasible extension.
        return;
    }
    feasible.push((set.clone(), welfare(bids, pod, &awards)));
    for rank in from..ranked.len() {
        set.push(rank);
        enumerate(bids, pod, ranked, rank + 1, set, feasible);
        set.pop();
    }
}

/// Whether the set of ranks `a` comes before `b` in the tie order: at the first rank where
/// they differ, `a` holds it; if one extends the other, the longer.
fn first_in_tie_order(a: &[usize], b: &[usize]) -> bool {
    match a.iter().zip(b).find(|(x, y)| x != y) {
        Some((x, y)) => x < y,
        None => a.len() > b.len(),
    }
}

/// The hand-computed pod of the mechanisms' tests: 3 slots of weights [1.0, 0.8, 0.5], 60 s,
/// nothing in the pod yet. Floors are 1.00 except E's (2.80); every advertiser is distinct.
///
/// | bid | index | amount | length | category |
/// |-----|-------|--------|--------|----------|
/// | A   | 1     | 10.00  | 30 s   | 1        |
/// | B   | 4     | 8.00   | 15 s   | 1        |
/// | C   | 3     | 6.00   | 30 s   | —        |
/// | D   | 0     | 5.00   | 15 s   | 2        |
/// | E   | 2     | 3.00   | 15 s   | —        |
///
/// The bids sit out of rank order in the slice so that the ranking is exercised.
pub(super) fn pod_instance() -> Instance {
    let bid = |bidder: u32, amount: i64, floor: i64, duration_s: u16, category: Option<u16>| Bid {
        bidder,
        amount: Micros(amount),
        floor: Micros(floor),
        duration_s,
        category,
        advertiser: 100 + bidder,
    };
    let a = bid(10, 10_000_000, 1_000_000, 30, Some(1));
    let b = bid(11, 8_000_000, 1_000_000, 15, Some(1));
    let c = bid(12, 6_000_000, 1_000_000, 30, None);
    let d = bid(13, 5_000_000, 1_000_000, 15, Some(2));
    let e = bid(14, 3_000_000, 2_800_000, 15, None);
    Instance {
        bids: vec![d, a, e, c, b],
        slots: 3,
        seconds: 60,
        used_categories: Vec::new(),
        used_advertisers: Vec::new(),
        allow_same_advertiser: false,
        weights: vec![1.0, 0.8, 0.5],
    }
}
