//! Serving a plan: which demands fill one request, by systematic sampling.
//!
//! A type's fractions `f_1, f_2, …` (in the plan's order, each in [0, 1], summing to `F <=
//! slots`) are laid end to end on a line as half-open intervals `[acc_k, acc_k + f_k)`. One
//! uniform `u` in [0, 1) places the points `u, u + 1, u + 2, …`; a demand is picked when its
//! interval holds a point. As `f_k <= 1`, an interval holds at most one point, and it holds
//! one for a set of `u` of measure exactly `f_k`: each demand is picked with probability
//! `f_k`, never twice, and the number picked is `floor(F)` or `ceil(F)`, so never more than
//! the pod's slots (Madow 1949, systematic sampling with unequal probabilities). Picked
//! demands come out in the plan's order, which is the order in which the ad server should
//! try them.

/// Writes to `out` (cleared first) the demands that serve one request, given the request
/// type's `fractions` in serving order (each in [0, 1], summing to at most the pod's slots)
/// and one uniform draw `u` in [0, 1). Demand `j` is picked with probability exactly its
/// fraction; picks keep the order of `fractions`. Allocation-free once `out` has capacity
/// for the pod's slots.
pub fn systematic_pick(fractions: &[(usize, f64)], u: f64, out: &mut Vec<usize>) {
    out.clear();
    // `point` is the first of u, u + 1, … at or after `start`, the current interval's start:
    // true for u at 0, and kept true below because every interval is at most 1 long.
    let mut n_points_passed = 0u32;
    let mut point = u;
    let mut start = 0.0;
    for &(demand, fraction) in fractions {
        let end = start + fraction;
        if point < end {
            out.push(demand);
            n_points_passed += 1;
            point = u + f64::from(n_points_passed);
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::SplitMix64;
    use super::*;

    /// Picks of each entry over the grid u = (m + 1/2) / n_grid, m in 0..n_grid, checking
    /// along the way that each draw picks floor(F) or ceil(F) distinct demands in order.
    fn pick_counts(fractions: &[(usize, f64)], n_grid: u32) -> Vec<u32> {
        let total: f64 = fractions.iter().map(|p| p.1).sum();
        let mut counts = vec![0; fractions.len()];
        let mut out = Vec::new();
        for m in 0..n_grid {
            let u = (f64::from(m) + 0.5) / f64::from(n_grid);
            systematic_pick(fractions, u, &mut out);
            let n_picked = out.len() as f64;
            assert!(
                n_picked >= (total - 1e-9).floor() && n_picked <= (total + 1e-9).ceil(),
                "{n_picked} picks of {total}"
            );
            let mut position = 0;
            for &demand in &out {
                let offset = fractions[position..]
                    .iter()
                    .position(|p| p.0 == demand)
                    .expect("picks are distinct and in order");
                position += offset;
                counts[position] += 1;
                position += 1;
            }
        }
        counts
    }

    #[test]
    fn dyadic_fractions_are_picked_exactly_in_proportion() {
        // Multiples of 1/64 and a grid of 1024 midpoints: all arithmetic is exact, so each
        // entry is picked on exactly fraction × 1024 grid points.
        let fractions = [
            (4, 0.375),
            (1, 1.0),
            (7, 0.0),
            (2, 0.640625),
            (0, 0.984375),
            (5, 0.5),
        ];
        let counts = pick_counts(&fractions, 1024);
        for (count, &(_, fraction)) in counts.iter().zip(&fractions) {
            assert_eq!(f64::from(*count), fraction * 1024.0);
        }
    }

    #[test]
    fn random_fractions_are_picked_in_proportion_up_to_the_grid() {
        // A length-f interval (mod 1) holds f × n or a neighbouring count of n midpoints.
        let mut rng = SplitMix64(5);
        let n_grid = 1 << 12;
        for _ in 0..200 {
            let slots = 1 + rng.below(4);
            let mut room = slots as f64;
            let fractions: Vec<(usize, f64)> = (0..1 + rng.below(8))
                .map(|j| {
                    let fraction = rng.unit().min(room);
                    room -= fraction;
                    (j, fraction)
                })
                .collect();
            let counts = pick_counts(&fractions, n_grid);
            for (count, &(_, fraction)) in counts.iter().zip(&fractions) {
                let expected = fraction * f64::from(n_grid);
                assert!((f64::from(*count) - expected).abs() <= 1.0 + 1e-6);
            }
        }
    }

    #[test]
    fn full_fractions_are_always_picked() {
        let mut out = Vec::new();
        for u in [0.0, 0.25, 0.999_999] {
            systematic_pick(&[(3, 1.0), (1, 1.0), (2, 0.0)], u, &mut out);
            assert_eq!(out, vec![3, 1]);
        }
        systematic_pick(&[], 0.5, &mut out);
        assert!(out.is_empty());
    }
}
