//! `vcg`: Vickrey–Clarke–Groves over the whole pod, with an exact branch-and-bound search for
//! the allocation of greatest weighted value.

use super::feasibility::{check_floors, check_weights, clash, fits_pod, is_eligible, rank_order};
use super::{Auction, Award, Bid, Pod, micros_from_weighted, weight_units, weighted_value};
use crate::money::Micros;

/// Vickrey–Clarke–Groves for a pod.
///
/// **Allocation.** Among the feasible sets of eligible bids, one of greatest weighted value
/// Σ `weights[k]` × amount, its winners placed by rank (descending amount): since the weights
/// do not increase, that is the best placement of any set (rearrangement inequality). With
/// pod constraints this can differ from the greedy fill, e.g. two 15 s bids beat one better
/// 30 s bid in a 30 s pod.
///
/// **Ties.** Among equally valuable sets, the one that, read in ranking order, holds the
/// better-ranked bid at the first bid where the two sets differ (the lexicographically
/// greatest membership vector). The greedy fill is the lexicographically greatest feasible
/// set, so whenever greedy is optimal `Vcg` allocates exactly as `FirstPrice` does.
///
/// **Payment.** Each bid is one agent: a bidder with two bids is charged for each as if they
/// came from two bidders. The winner of bid i at position k pays its externality
/// W\*₋ᵢ − (W\* − `weights[k]` × amountᵢ), where W\* is the optimal value and W\*₋ᵢ the optimum
/// without bid i: the value the others lose because i is there. That is already a price for
/// i's one impression [CPM micros], at most `weights[k]` × amountᵢ because W\*₋ᵢ ≤ W\*.
///
/// **Reserve.** Bids below their floor are dropped before the search, and the floor is then a
/// per-bid minimum: price = max(externality, `weights[k]` × floorᵢ). Both terms are at most
/// the offer `weights[k]` × amountᵢ, so no winner pays more than it bid for its position.
/// With one slot this is exactly the Vickrey auction with reserves.
///
/// **Arithmetic.** Values are exact integers (weight units of 1e-9 × micros, in `i128`), so
/// comparisons and differences never round; each price is rounded half away from zero to the
/// micro once.
///
/// **Search.** Bids that another bid dominates (see `mark_dominated`) are set aside first:
/// no chosen optimum holds one. The rest are searched depth-first in ranking order, each
/// node trying to add every later bid in turn, so the first complete path is the greedy
/// fill, a strong first incumbent. A branch is cut as soon as an upper bound on what it can
/// add cannot beat the incumbent (`Search::bound`). One more search per winner finds W\*₋ᵢ,
/// seeded with the value of the optimal set without i. Up to 64 candidate bids live on the
/// stack, with clashes as bit masks; more take heap buffers and pairwise checks. On
/// adversarial pods of 30 bids, 6 slots, 15/30 s creatives and four categories a call takes
/// tens of microseconds (release build), a tenth of a millisecond at worst.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vcg;

/// Candidates held on the stack; a call with more uses heap buffers and no clash masks.
const INLINE_CANDIDATES: usize = 64;

/// The most winners a pod can have: `Pod::slots` is a `u8`.
const MAX_WINNERS: usize = u8::MAX as usize;

/// An eligible bid that fits the pod, as the search sees it.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    /// Index into the auction's `bids`.
    bid: usize,
    /// Index in the ranked list of all candidates.
    rank: usize,
    ad: Bid,
    /// Candidates with this one's advertiser, itself included (saturates at `u16::MAX`).
    advertiser_bids: u16,
    /// Whether a better-ranked candidate dominates this one.
    dominated: bool,
    /// This candidate's bit and the bits of the candidates it clashes with, by position in
    /// the ranked list of all candidates (both 0 beyond 64 candidates).
    bit: u64,
    clashes: u64,
    /// Shortest creative among this candidate and those after it in the search's list [s].
    shortest_from_here: u16,
}

impl Candidate {
    const EMPTY: Candidate = Candidate {
        bid: 0,
        rank: 0,
        ad: Bid {
            bidder: 0,
            amount: Micros::ZERO,
            floor: Micros::ZERO,
            duration_s: 0,
            category: None,
            advertiser: 0,
        },
        advertiser_bids: 0,
        dominated: false,
        bit: 0,
        clashes: 0,
        shortest_from_here: 0,
    };
}

/// A scratch slice of `len` elements: in `inline` when it fits, else in `heap`.
fn scratch<'b, T: Copy>(
    inline: &'b mut [T; INLINE_CANDIDATES],
    heap: &'b mut Vec<T>,
    len: usize,
    fill: T,
) -> &'b mut [T] {
    if len <= INLINE_CANDIDATES {
        &mut inline[..len]
    } else {
        heap.clear();
        heap.resize(len, fill);
        heap
    }
}

/// Whether candidate `i` (better ranked) dominates candidate `j` among `all` candidates: the
/// two cannot share a pod, i is no longer, and everything else that clashes with i also
/// clashes with j. Then any feasible set holding j stays feasible with i in j's place, is
/// worth at least as much, and comes first in the tie order, so no chosen optimum holds j.
/// Dropping a candidate from `all` never undoes a domination (i only becomes freer).
fn dominates(i: &Candidate, j: &Candidate, allow_same_advertiser: bool) -> bool {
    let same_advertiser = !allow_same_advertiser && i.ad.advertiser == j.ad.advertiser;
    i.ad.duration_s <= j.ad.duration_s
        && match i.ad.category {
            // i clashes via its advertiser only, and j shares it.
            None => same_advertiser,
            // Same category: i's other clashes are its advertiser's other bids, if any.
            Some(_) if i.ad.category == j.ad.category => {
                allow_same_advertiser || same_advertiser || i.advertiser_bids == 1
            }
            Some(_) => false,
        }
}

/// Sets `advertiser_bids`, `dominated` and (up to 64 candidates) the clash masks of `all`,
/// which is in ranking order. Quadratic in the candidates, once per call: where most
/// advertisers have one bid, at most one candidate per category and creative length stays.
fn mark_dominated(all: &mut [Candidate], allow_same_advertiser: bool) {
    for j in 0..all.len() {
        all[j].rank = j;
        let advertiser = all[j].ad.advertiser;
        let n_bids = all.iter().filter(|c| c.ad.advertiser == advertiser).count();
        all[j].advertiser_bids = u16::try_from(n_bids).unwrap_or(u16::MAX);
    }
    for j in 0..all.len() {
        let (better, rest) = all.split_at_mut(j);
        let candidate = &mut rest[0];
        candidate.dominated = better
            .iter()
            .any(|i| dominates(i, candidate, allow_same_advertiser));
    }
    if all.len() <= 64 {
        for j in 0..all.len() {
            all[j].bit = 1 << j;
            all[j].clashes = (0..all.len())
                .filter(|&i| i != j && clash(&all[i].ad, &all[j].ad, allow_same_advertiser))
                .fold(0, |mask, i| mask | 1 << i);
        }
    }
}

/// Copies to `list` the candidates of `all` that `keep` accepts, sets their
/// `shortest_from_here` and writes to `by_duration` their indices in `list`, shortest
/// creative first. Returns how many were kept.
fn select(
    all: &[Candidate],
    keep: impl Fn(&Candidate) -> bool,
    list: &mut [Candidate],
    by_duration: &mut [usize],
) -> usize {
    let mut n_kept = 0;
    for candidate in all.iter().filter(|candidate| keep(candidate)) {
        list[n_kept] = *candidate;
        n_kept += 1;
    }
    let list = &mut list[..n_kept];
    let mut shortest = u16::MAX;
    for candidate in list.iter_mut().rev() {
        shortest = shortest.min(candidate.ad.duration_s);
        candidate.shortest_from_here = shortest;
    }
    let by_duration = &mut by_duration[..n_kept];
    for (slot, idx) in by_duration.iter_mut().zip(0..) {
        *slot = idx;
    }
    by_duration.sort_unstable_by_key(|&idx| (list[idx].ad.duration_s, idx));
    n_kept
}

/// Whether the pod's length can bind: the `n_positions` longest creatives of `candidates`
/// do not fit together in `seconds`.
fn time_binds(candidates: &[Candidate], n_positions: usize, seconds: u16) -> bool {
    let mut longest = [0_u16; MAX_WINNERS];
    for candidate in candidates {
        // Keeps the `n_positions` longest lengths, longest first.
        let mut length = candidate.ad.duration_s;
        for slot in &mut longest[..n_positions] {
            if length > *slot {
                std::mem::swap(&mut length, slot);
            }
        }
    }
    let total: u32 = longest[..n_positions].iter().map(|&s| u32::from(s)).sum();
    total > u32::from(seconds)
}

impl Auction for Vcg {
    fn name(&self) -> &'static str {
        "vcg"
    }

    fn run(&self, bids: &[Bid], pod: &Pod<'_>, awards: &mut Vec<Award>) {
        awards.clear();
        check_floors(bids);
        check_weights(pod);
        let allow_same_advertiser = pod.allow_same_advertiser;
        let takes_part = |bid: &Bid| is_eligible(bid) && fits_pod(bid, pod);
        let n_candidates = bids.iter().filter(|bid| takes_part(bid)).count();
        let (mut inline, mut heap) = ([Candidate::EMPTY; INLINE_CANDIDATES], Vec::new());
        let all = scratch(&mut inline, &mut heap, n_candidates, Candidate::EMPTY);
        let taking_part = bids.iter().enumerate().filter(|(_, bid)| takes_part(bid));
        for (slot, (idx, bid)) in all.iter_mut().zip(taking_part) {
            *slot = Candidate {
                bid: idx,
                ad: *bid,
                ..Candidate::EMPTY
            };
        }
        all.sort_unstable_by(|a, b| rank_order(bids, a.bid, b.bid));
        mark_dominated(all, allow_same_advertiser);
        let all = &*all;

        let (mut inline, mut heap) = ([Candidate::EMPTY; INLINE_CANDIDATES], Vec::new());
        let list = scratch(&mut inline, &mut heap, n_candidates, Candidate::EMPTY);
        let (mut inline, mut heap) = ([0; INLINE_CANDIDATES], Vec::new());
        let by_duration = scratch(&mut inline, &mut heap, n_candidates, 0);
        let mut path = [0; MAX_WINNERS];
        let mut best = [0; MAX_WINNERS];
        // The duration-aware bound, set up (32 KiB) only if the pod's length can bind.
        let mut knapsack: Option<KnapsackBound> = None;

        let n_positions = usize::from(pod.slots).min(n_candidates);
        let mut position_units = [0_i64; MAX_WINNERS];
        for (units, &weight) in position_units.iter_mut().zip(&pod.weights[..n_positions]) {
            *units = weight_units(weight);
        }
        let position_units = &position_units[..n_positions];

        let n_listed = select(all, |c| !c.dominated, list, by_duration);
        let (listed, by_duration_now) = (&list[..n_listed], &by_duration[..n_listed]);
        let bound = prepare_knapsack(&mut knapsack, listed, position_units, pod.seconds);
        let mut search = Search {
            candidates: listed,
            by_duration: by_duration_now,
            position_units,
            knapsack: bound,
            allow_same_advertiser,
            path: &mut path,
            path_len: 0,
            blocked: (n_candidates <= 64).then_some(0),
            best: &mut best,
            n_best: 0,
            best_value: -1,
        };
        search.explore(0, pod.seconds, 0);
        let welfare = search.best_value;
        let n_winners = search.n_best;
        // Winners by rank among all candidates, in position order.
        let mut winners = [0; MAX_WINNERS];
        for (winner, &idx) in winners.iter_mut().zip(&best[..n_winners]) {
            *winner = listed[idx].rank;
        }
        let winners = &winners[..n_winners];

        for (position, &winner) in winners.iter().enumerate() {
            let winner = &all[winner];
            let own = weighted_value(position_units[position], winner.ad.amount);
            let others_now = welfare - own;
            // The optimal set without the winner, the others moved up a position each from
            // there on, is feasible: its value is a lower bound on W*₋ᵢ to start from.
            let others_moved_up: i128 = winners
                .iter()
                .filter(|&&other| other != winner.rank)
                .zip(position_units)
                .map(|(&other, &units)| weighted_value(units, all[other].ad.amount))
                .sum();
            // Without the winner, the candidates only it dominated are back in the running.
            let keep = |c: &Candidate| {
                c.bid != winner.bid && (!c.dominated || dominates(winner, c, allow_same_advertiser))
            };
            let n_listed = select(all, keep, list, by_duration);
            let (listed, by_duration_now) = (&list[..n_listed], &by_duration[..n_listed]);
            let positions = &position_units[..n_positions.min(n_listed)];
            let bound = prepare_knapsack(&mut knapsack, listed, positions, pod.seconds);
            let mut search_without = Search {
                candidates: listed,
                by_duration: by_duration_now,
                position_units: positions,
                knapsack: bound,
                allow_same_advertiser,
                path: &mut path,
                path_len: 0,
                blocked: (n_candidates <= 64).then_some(0),
                best: &mut best,
                n_best: 0,
                best_value: others_moved_up,
            };
            search_without.explore(0, pod.seconds, 0);
            let externality = search_without.best_value - others_now;
            let reserve = weighted_value(position_units[position], winner.ad.floor);
            awards.push(Award {
                bid: winner.bid,
                position: u8::try_from(position).expect("at most `slots` (a u8) winners"),
                price: micros_from_weighted(externality.max(reserve)),
            });
        }
    }
}

/// The knapsack bound for a search over `candidates`, if the pod's length can bind and the
/// table fits; sets up `slot` on first use.
fn prepare_knapsack<'k>(
    slot: &'k mut Option<KnapsackBound>,
    candidates: &[Candidate],
    position_units: &[i64],
    seconds: u16,
) -> Option<&'k KnapsackBound> {
    if !time_binds(candidates, position_units.len(), seconds) {
        return None;
    }
    let knapsack = slot.get_or_insert_with(KnapsackBound::new);
    knapsack
        .build(candidates, position_units, seconds)
        .then_some(&*knapsack)
}

/// Cells of `KnapsackBound` on the stack [i64]; a search that would need more does without.
const TABLE_CELLS: usize = 4096;

/// `KnapsackBound` stores values in units of 2^20 weight units × micros (about a
/// thousandth of a micro), rounded up, so that a cell fits an `i64` and needs no division.
const TABLE_SHIFT: u32 = 20;

/// The search's duration-aware bound: for every first candidate i, positions already filled
/// d and time left t, the greatest value of a set drawn from candidates i.. into positions
/// d.. whose creatives fit in t, ignoring categories and advertisers (each term rounded up,
/// so the table never falls below the exact value). A 0/1 knapsack by dynamic programming
/// in time units of the gcd of the candidates' lengths: 15 × 7 × 9 cells for 14 candidates
/// of 15/30 s, 6 slots and 120 s.
struct KnapsackBound {
    cells: [i64; TABLE_CELLS],
    /// Seconds per time unit: the gcd of the candidates' lengths (0 if all last 0 s).
    unit_s: u16,
    n_depths: usize,
    n_levels: usize,
}

impl KnapsackBound {
    fn new() -> KnapsackBound {
        KnapsackBound {
            cells: [0; TABLE_CELLS],
            unit_s: 0,
            n_depths: 0,
            n_levels: 0,
        }
    }

    /// `seconds` in time units, rounded down (0 when every length is 0 s).
    fn level(&self, seconds: u16) -> usize {
        seconds.checked_div(self.unit_s).map_or(0, usize::from)
    }

    /// Fills the table for `candidates` in a pod of `seconds`; false if it has too few cells.
    fn build(&mut self, candidates: &[Candidate], position_units: &[i64], seconds: u16) -> bool {
        fn gcd(a: u16, b: u16) -> u16 {
            if b == 0 { a } else { gcd(b, a % b) }
        }
        self.unit_s = candidates.iter().fold(0, |g, c| gcd(g, c.ad.duration_s));
        self.n_depths = position_units.len() + 1;
        self.n_levels = self.level(seconds) + 1;
        let row_len = self.n_depths * self.n_levels;
        let n_cells = (candidates.len() + 1) * row_len;
        if n_cells > TABLE_CELLS {
            return false;
        }
        let (rows, last_row) = self.cells[..n_cells].split_at_mut(n_cells - row_len);
        last_row.fill(0);
        let mut next_row: &[i64] = last_row;
        for (candidate, row) in candidates.iter().zip(rows.chunks_exact_mut(row_len)).rev() {
            let length = candidate
                .ad
                .duration_s
                .checked_div(self.unit_s)
                .map_or(0, usize::from);
            for depth in 0..self.n_depths {
                let at = depth * self.n_levels;
                let here = &mut row[at..at + self.n_levels];
                here.copy_from_slice(&next_row[at..at + self.n_levels]);
                let Some(&units) = position_units.get(depth) else {
                    continue;
                };
                let value = weighted_value(units, candidate.ad.amount);
                let rounded_up = (value + (1 << TABLE_SHIFT) - 1) >> TABLE_SHIFT;
                let value = i64::try_from(rounded_up).unwrap_or(i64::MAX);
                let deeper = &next_row[at + self.n_levels..at + 2 * self.n_levels];
                for (level, cell) in here.iter_mut().enumerate().skip(length) {
                    *cell = (*cell).max(value.saturating_add(deeper[level - length]));
                }
            }
            next_row = row;
        }
        true
    }

    /// The bound for sets drawn from candidates `from`.. into positions `depth`.. within
    /// `seconds_left` [weight units × micros].
    fn get(&self, from: usize, depth: usize, seconds_left: u16) -> i128 {
        let cell = (from * self.n_depths + depth) * self.n_levels + self.level(seconds_left);
        i128::from(self.cells[cell]) << TABLE_SHIFT
    }
}

/// One depth-first branch-and-bound search for the feasible set of greatest weighted value.
struct Search<'a> {
    /// The bids searched over, in ranking order.
    candidates: &'a [Candidate],
    /// Indices into `candidates`, shortest creative first.
    by_duration: &'a [usize],
    /// Weight of each position that may be filled [1e-9 units]; its length caps the winners.
    position_units: &'a [i64],
    /// Built for `candidates` and `position_units`, if the pod's length can bind.
    knapsack: Option<&'a KnapsackBound>,
    allow_same_advertiser: bool,
    /// The set being built: indices into `candidates`, in ranking order.
    path: &'a mut [usize],
    path_len: usize,
    /// Union of the path members' `clashes`, if candidates have clash masks.
    blocked: Option<u64>,
    /// The incumbent: the best set found so far and its value [weight units × micros]. Only
    /// sets worth more than the initial `best_value` are reported.
    best: &'a mut [usize],
    n_best: usize,
    best_value: i128,
}

impl Search<'_> {
    /// Explores every set that extends the current path with candidates from `from` on,
    /// given the seconds left and the path's value. Extensions are tried before the path
    /// itself and better-ranked additions first, i.e. in decreasing lexicographic order of
    /// membership, and only a strictly better set replaces the incumbent: so among equally
    /// valuable sets the first found, the lexicographically greatest, is kept. This is also
    /// why a cut needs only `bound <= incumbent`: what it cuts could at best tie, later.
    fn explore(&mut self, from: usize, seconds_left: u16, value: i128) {
        let depth = self.path_len;
        let may_extend = depth < self.position_units.len()
            && from < self.candidates.len()
            && self.bound(from, seconds_left, value) > self.best_value;
        if may_extend {
            for next in from..self.candidates.len() {
                // A quick bound on every set built from `next` on, so on the later
                // iterations of this loop too.
                if self.quick_bound(next, seconds_left, value) <= self.best_value {
                    break;
                }
                if !self.may_join(next, seconds_left) {
                    continue;
                }
                let candidate = self.candidates[next];
                let blocked_before = self.blocked;
                self.blocked = blocked_before.map(|blocked| blocked | candidate.clashes);
                self.path[depth] = next;
                self.path_len += 1;
                let added = weighted_value(self.position_units[depth], candidate.ad.amount);
                self.explore(
                    next + 1,
                    seconds_left - candidate.ad.duration_s,
                    value + added,
                );
                self.path_len -= 1;
                self.blocked = blocked_before;
            }
        }
        if value > self.best_value {
            self.best_value = value;
            self.best[..depth].copy_from_slice(&self.path[..depth]);
            self.n_best = depth;
        }
    }

    /// Whether candidate `idx` fits in `seconds_left` and clashes with nothing on the path.
    fn may_join(&self, idx: usize, seconds_left: u16) -> bool {
        let candidate = &self.candidates[idx];
        candidate.ad.duration_s <= seconds_left
            && match self.blocked {
                Some(blocked) => blocked & candidate.bit == 0,
                None => self.path[..self.path_len].iter().all(|&on_path| {
                    !clash(
                        &candidate.ad,
                        &self.candidates[on_path].ad,
                        self.allow_same_advertiser,
                    )
                }),
            }
    }

    /// An upper bound on the value of any set that extends the current path (its value
    /// `value`, `seconds_left`) with candidates from `from` on: the least of
    /// - the knapsack table, exact but for categories and advertisers;
    /// - `best_distinct` by category, with as many members as there are positions left and
    ///   as F's shortest creatives fit together in the time left, where F is the candidates
    ///   from `from` on that could join the path on their own;
    /// - the same by advertiser, where the pod forbids repeating one.
    fn bound(&self, from: usize, seconds_left: u16, value: i128) -> i128 {
        let depth = self.path_len;
        let knapsack = self
            .knapsack
            .map(|table| table.get(from, depth, seconds_left));
        if let Some(more) = knapsack
            && value + more <= self.best_value
        {
            return value + more;
        }
        let positions_left = self.position_units.len() - depth;
        let mut n_fit = 0;
        let mut seconds_used = 0_u16;
        for &idx in self.by_duration {
            if n_fit == positions_left {
                break;
            }
            if idx < from || !self.may_join(idx, seconds_left) {
                continue;
            }
            let length = self.candidates[idx].ad.duration_s;
            if length > seconds_left - seconds_used {
                break;
            }
            seconds_used += length;
            n_fit += 1;
        }
        let by_category =
            self.best_distinct(from, seconds_left, n_fit, |ad| ad.category.map(u32::from));
        let mut more = knapsack.map_or(by_category, |knapsack| knapsack.min(by_category));
        if !self.allow_same_advertiser {
            let by_advertiser =
                self.best_distinct(from, seconds_left, n_fit, |ad| Some(ad.advertiser));
            more = more.min(by_advertiser);
        }
        value + more
    }

    /// The value, at positions `depth`.., of the first `n_max` candidates from `from` on that
    /// could join the path, keeping only the first (best) of each `key` (all of those without
    /// one). Any extension of the path whose members have distinct keys is worth no more: its
    /// best j members belong to j distinct keys (or none), each at most the best of its key.
    fn best_distinct(
        &self,
        from: usize,
        seconds_left: u16,
        n_max: usize,
        key: impl Fn(&Bid) -> Option<u32>,
    ) -> i128 {
        let depth = self.path_len;
        let mut keys = [0_u32; MAX_WINNERS];
        let mut n_keys = 0;
        let mut n_kept = 0;
        let mut more = 0;
        for (idx, candidate) in self.candidates.iter().enumerate().skip(from) {
            if n_kept == n_max {
                break;
            }
            let candidate_key = key(&candidate.ad);
            if let Some(candidate_key) = candidate_key
                && keys[..n_keys].contains(&candidate_key)
            {
                continue;
            }
            if !self.may_join(idx, seconds_left) {
                continue;
            }
            if let Some(candidate_key) = candidate_key {
                keys[n_keys] = candidate_key;
                n_keys += 1;
            }
            more += weighted_value(self.position_units[depth + n_kept], candidate.ad.amount);
            n_kept += 1;
        }
        more
    }

    /// A cheaper bound for the same sets as `bound` with `from = next`: the knapsack table if
    /// built, else the best amounts from `next` on, as many as there are positions left and
    /// as fit in the time left at the shortest creative's length. Either covers every set
    /// built from `next` on, so a loop over `next` may stop at the first that fails.
    fn quick_bound(&self, next: usize, seconds_left: u16, value: i128) -> i128 {
        let depth = self.path_len;
        if let Some(table) = self.knapsack {
            return value + table.get(next, depth, seconds_left);
        }
        let shortest = self.candidates[next].shortest_from_here;
        let fit_in_time = seconds_left
            .checked_div(shortest)
            .map_or(usize::MAX, usize::from);
        let n_more = (self.position_units.len() - depth)
            .min(self.candidates.len() - next)
            .min(fit_in_time);
        let more: i128 = self.position_units[depth..depth + n_more]
            .iter()
            .zip(&self.candidates[next..])
            .map(|(&units, candidate)| weighted_value(units, candidate.ad.amount))
            .sum();
        value + more
    }
}

#[cfg(test)]
mod tests {
    use super::super::FirstPrice;
    use super::super::testing::{Instance, XorShift, brute_force_vcg, pod_instance, random_bid};
    use super::*;

    fn run(instance: &Instance) -> Vec<Award> {
        let mut awards = Vec::new();
        Vcg.run(&instance.bids, &instance.pod(), &mut awards);
        awards
    }

    fn bid(bidder: u32, amount: i64, duration_s: u16) -> Bid {
        Bid {
            bidder,
            amount: Micros(amount),
            floor: Micros::ZERO,
            duration_s,
            category: None,
            advertiser: bidder,
        }
    }

    #[test]
    fn pod_instance_by_hand() {
        // See `pod_instance`; weights [1.0, 0.8, 0.5], 60 s; values in currency units.
        // B and A share category 1; E's floor is 2.80.
        // Feasible sets and their values (members by rank, weights in order):
        //   {A, C}     30 + 30 s   10 + 0.8·6         = 14.8   (the greedy fill)
        //   {A, D, E}  30 + 15 + 15 10 + 0.8·5 + 0.5·3 = 15.5  ← W*
        //   {B, C, D}  15 + 30 + 15 8 + 0.8·6 + 0.5·5  = 15.3
        //   {B, C, E}              8 + 4.8 + 1.5       = 14.3
        //   {B, D, E}              8 + 4.0 + 1.5       = 13.5
        //   {C, D, E}              6 + 4.0 + 1.5       = 11.5
        //   {A, D} 14.0, {A, E} 12.4, every pair without A ≤ 12.8; A with B clashes.
        // Payments, price = W*₋ᵢ − (W* − own value), at least weight × floor:
        //   A (position 0): W*₋A = 15.3 ({B, C, D}); others now 15.5 − 10 = 5.5
        //                   → 9.80 (offer 10.00, floor 1.00)
        //   D (position 1): W*₋D = 14.8 ({A, C}); others now 15.5 − 4 = 11.5
        //                   → 3.30 (offer 0.8·5 = 4.00, floor 0.8·1 = 0.80)
        //   E (position 2): W*₋E = 15.3 ({B, C, D}); others now 15.5 − 1.5 = 14.0
        //                   → externality 1.30 < weighted floor 0.5·2.80 = 1.40 → 1.40
        // Revenue 14.50, against 12.00 for GSP on its greedy allocation.
        let expected = [
            Award {
                bid: 1,
                position: 0,
                price: Micros(9_800_000),
            },
            Award {
                bid: 0,
                position: 1,
                price: Micros(3_300_000),
            },
            Award {
                bid: 2,
                position: 2,
                price: Micros(1_400_000),
            },
        ];
        assert_eq!(run(&pod_instance()), expected);
    }

    #[test]
    fn two_short_ads_beat_one_better_long_one() {
        // 30 s, 2 slots of weight 1. Greedy sells the 30 s bid (10.00) alone; the two 15 s
        // bids are worth 6 + 5 = 11 together.
        //   B (6.00): W*₋B = 10 ({A}); others now 5 → 5.00.
        //   C (5.00): W*₋C = 10 ({A}); others now 6 → 4.00.
        let mut instance = Instance::single_slot(vec![
            bid(1, 10_000_000, 30),
            bid(2, 6_000_000, 15),
            bid(3, 5_000_000, 15),
        ]);
        instance.slots = 2;
        instance.weights = vec![1.0, 1.0];
        let expected = [
            Award {
                bid: 1,
                position: 0,
                price: Micros(5_000_000),
            },
            Award {
                bid: 2,
                position: 1,
                price: Micros(4_000_000),
            },
        ];
        assert_eq!(run(&instance), expected);
        let mut greedy = Vec::new();
        FirstPrice.run(&instance.bids, &instance.pod(), &mut greedy);
        assert_eq!(greedy.iter().map(|a| a.bid).collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn equally_valuable_sets_go_to_the_better_ranked_bid() {
        // {A} and {B, C} are both worth 10: the tie rule keeps the set holding A, the best
        // ranked bid where the two differ, i.e. the greedy fill. A then pays its full bid:
        // without A the others would have had all of it.
        let mut instance = Instance::single_slot(vec![
            bid(3, 4_000_000, 15),
            bid(2, 6_000_000, 15),
            bid(1, 10_000_000, 30),
        ]);
        instance.slots = 2;
        instance.weights = vec![1.0, 1.0];
        let expected = [Award {
            bid: 2,
            position: 0,
            price: Micros(10_000_000),
        }];
        assert_eq!(run(&instance), expected);
    }

    #[test]
    fn many_bids_spill_to_the_heap_and_agree_with_the_greedy_optimum() {
        // 100 one-slot-each bids, no constraints but the slot count: greedy is optimal, so
        // VCG takes the top 4 by rank and each pays the 5th bid.
        let bids: Vec<Bid> = (0..100)
            .map(|idx| bid(idx, 1_000_000 + i64::from(idx * 7 % 100) * 10_000, 15))
            .collect();
        let mut instance = Instance::single_slot(bids);
        instance.slots = 4;
        instance.seconds = 60;
        instance.weights = vec![1.0; 4];
        let awards = run(&instance);
        let mut ranked: Vec<usize> = (0..100).collect();
        ranked.sort_by_key(|&idx| std::cmp::Reverse(instance.bids[idx].amount));
        let fifth = instance.bids[ranked[4]].amount;
        let expected: Vec<Award> = (0..4)
            .map(|position| Award {
                bid: ranked[position],
                position: position as u8,
                price: fifth,
            })
            .collect();
        assert_eq!(awards, expected);
    }

    /// More than 64 candidates: heap buffers and pairwise clash checks instead of masks, and
    /// knapsack tables too big for the stack, against enumeration (small pods keep that
    /// affordable).
    #[test]
    fn more_than_64_candidates_agree_with_enumeration() {
        let mut rng = XorShift::new(0x5eed_0004);
        for _ in 0..6 {
            let mut instance = Instance::random(&mut rng, 0);
            instance.slots = instance.slots.min(3);
            instance.seconds = instance.seconds.max(60);
            instance.weights.truncate(usize::from(instance.slots));
            instance.used_categories.clear();
            instance.used_advertisers.clear();
            instance.bids = (0..80)
                .map(|_| Bid {
                    floor: Micros::ZERO,
                    advertiser: 1 + rng.below(40) as u32,
                    ..random_bid(&mut rng)
                })
                .collect();
            let pod = instance.pod();
            let n_candidates = instance
                .bids
                .iter()
                .filter(|bid| fits_pod(bid, &pod))
                .count();
            assert!(n_candidates > 64, "only {n_candidates} candidates");
            let reference = brute_force_vcg(&instance.bids, &pod);
            assert_eq!(run(&instance), reference.awards, "{instance:?}");
        }
    }
}
