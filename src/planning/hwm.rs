//! High-Water-Mark (HWM): the compact allocation plan of Chen, Berkhin, Anderson and
//! Devanur, "Ad serving using a compact allocation plan" (EC 2012), section 4.
//!
//! # Planning
//!
//! Demands are ordered by (priority, eligible supply `S_j = sum_{i eligible} requests_i`
//! ascending, index): within a priority, the demand with the fewest options goes first. Every
//! type starts with remaining capacity `r_i = slots_i * requests_i` [impressions]. In order,
//! each demand gets the smallest `alpha_j` in [0, 1] with
//!
//! ```text
//! sum_{i eligible for j} min(r_i, alpha_j * requests_i) = goal_j
//! ```
//!
//! (`alpha_j = 1` when even 1 falls short), and then takes that from each type:
//! `r_i -= min(r_i, alpha_j * requests_i)`. The left side is piecewise linear, concave and
//! non-decreasing in `alpha_j`, with a kink at each `r_i / requests_i`, so it is solved
//! exactly by walking the kinks in increasing order (no bisection).
//!
//! # Serving
//!
//! A request of type `i` visits its eligible demands in the plan's order; demand `j` takes
//! part with probability `alpha_j`, but the pod's `slots_i` run out first come, first served:
//!
//! ```text
//! x_ij = min(alpha_j, s_i),  then s_i -= x_ij,   s_i starting at slots_i
//! ```
//!
//! These `x_ij` are the plan's `fractions` (served with `systematic_pick`), and `planned` is
//! what they deliver in expectation on the forecast. Since `s_i * requests_i` is exactly the
//! planning phase's `r_i`, serving delivers what planning assumed: every goal that planning
//! could reach is planned in full.
//!
//! HWM is not optimal: a demand is spread evenly over all its types, including those a later
//! demand needed. Time is aggregated: `alpha_j` holds over the whole flight, so the plan
//! ignores the hours (pacing over the flight is the ad server's job).
//!
//! Cost: O(E log E) for `E` (type, eligible demand) pairs (one sort of kinks per demand).

use super::{Demand, Plan, PlanKind, SupplyType, check_input, planned_from, types_of};

/// The HWM plan: allocation order, one `alpha_j` per demand, and the fractions HWM serving
/// gives each type. See the module docs.
pub fn hwm(supply: &[SupplyType], demands: &[Demand]) -> Plan {
    check_input(supply, demands);
    let types = types_of(supply, demands.len());
    let eligible_supply: Vec<f64> = types
        .iter()
        .map(|eligible| eligible.iter().map(|&i| supply[i].requests).sum())
        .collect();
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by(|&a, &b| {
        (demands[a].priority.cmp(&demands[b].priority))
            .then(eligible_supply[a].total_cmp(&eligible_supply[b]))
            .then(a.cmp(&b))
    });

    let mut remaining: Vec<f64> = supply
        .iter()
        .map(|supply_type| f64::from(supply_type.slots) * supply_type.requests)
        .collect();
    let mut alpha = vec![0.0; demands.len()];
    let mut kinks = Vec::new();
    for &j in &order {
        let alpha_j = solve_alpha(demands[j].goal, &types[j], supply, &remaining, &mut kinks);
        alpha[j] = alpha_j;
        for &i in &types[j] {
            remaining[i] = (remaining[i] - alpha_j * supply[i].requests).max(0.0);
        }
    }

    let mut share: Vec<f64> = supply
        .iter()
        .map(|supply_type| f64::from(supply_type.slots))
        .collect();
    let mut fractions = vec![Vec::new(); supply.len()];
    for &j in &order {
        for &i in &types[j] {
            let fraction = alpha[j].min(share[i]);
            if fraction > 0.0 {
                fractions[i].push((j, fraction));
                share[i] -= fraction;
            }
        }
    }
    let planned = planned_from(supply, &fractions, demands.len());
    Plan {
        kind: PlanKind::Hwm,
        order,
        alpha,
        fractions,
        planned,
    }
}

/// One type's kink in a demand's reach `g(alpha) = sum_i min(r_i, alpha * requests_i)`.
struct Kink {
    /// `alpha` from which the type is used up: `r_i / requests_i`.
    at: f64,
    /// The type's remaining capacity `r_i` [impressions].
    remaining: f64,
    /// Slope of `g` just below `at`: requests of this and all later kinks.
    slope: f64,
}

/// The smallest `alpha` in [0, 1] whose reach over `eligible` meets `goal`, or 1 if none.
fn solve_alpha(
    goal: f64,
    eligible: &[usize],
    supply: &[SupplyType],
    remaining: &[f64],
    kinks: &mut Vec<Kink>,
) -> f64 {
    if goal <= 0.0 {
        return 0.0;
    }
    kinks.clear();
    for &i in eligible {
        let requests = supply[i].requests;
        if requests > 0.0 && remaining[i] > 0.0 {
            kinks.push(Kink {
                at: remaining[i] / requests,
                remaining: remaining[i],
                slope: requests,
            });
        }
    }
    // Stable: equal kinks keep type order, so the sums below are reproducible.
    kinks.sort_by(|a, b| a.at.total_cmp(&b.at));
    // Suffix sums, so each slope is a sum of positives and never drifts below zero.
    let mut slope = 0.0;
    for kink in kinks.iter_mut().rev() {
        slope += kink.slope;
        kink.slope = slope;
    }
    let mut saturated = 0.0;
    for kink in kinks.iter() {
        // On the segment ending at this kink, g(alpha) = saturated + alpha * slope.
        let end = kink.at.min(1.0);
        if saturated + end * kink.slope >= goal {
            return ((goal - saturated) / kink.slope).clamp(0.0, 1.0);
        }
        if kink.at >= 1.0 {
            return 1.0;
        }
        saturated += kink.remaining;
    }
    1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(alpha: f64, eligible: &[usize], supply: &[SupplyType], remaining: &[f64]) -> f64 {
        eligible
            .iter()
            .map(|&i| remaining[i].min(alpha * supply[i].requests))
            .sum()
    }

    #[test]
    fn solve_alpha_inverts_the_reach_across_kinks() {
        let supply: Vec<SupplyType> = [50.0, 100.0, 200.0, 0.0]
            .iter()
            .map(|&requests| SupplyType {
                hour: 0,
                requests,
                slots: 1,
                eligible: vec![0],
            })
            .collect();
        // Kinks at 0.2 (10 of 50), 0.5 (50 of 100), 1.0 (200 of 200); the empty type adds
        // nothing. Reach: 350a up to 0.2 (70), then 10 + 300a up to 0.5 (160), then
        // 60 + 200a up to 1 (260).
        let remaining = [10.0, 50.0, 200.0, 5.0];
        let eligible = [0, 1, 2, 3];
        let mut kinks = Vec::new();
        for (goal, alpha) in [
            (35.0, 0.1),
            (70.0, 0.2),
            (100.0, 0.3),
            (160.0, 0.5),
            (200.0, 0.7),
        ] {
            let solved = solve_alpha(goal, &eligible, &supply, &remaining, &mut kinks);
            assert!(
                (solved - alpha).abs() < 1e-12,
                "goal {goal}: {solved} != {alpha}"
            );
            assert!((reach(solved, &eligible, &supply, &remaining) - goal).abs() < 1e-9);
        }
        assert_eq!(
            solve_alpha(0.0, &eligible, &supply, &remaining, &mut kinks),
            0.0
        );
        assert_eq!(
            solve_alpha(261.0, &eligible, &supply, &remaining, &mut kinks),
            1.0
        );
        assert_eq!(solve_alpha(5.0, &[3], &supply, &remaining, &mut kinks), 1.0);
    }
}
