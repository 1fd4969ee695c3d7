//! Optimal: the largest total delivery any plan can reach on the forecast, each demand
//! capped at its goal, as a maximum flow.
//!
//! The transportation problem `max sum_ij f_ij` subject to `sum_i f_ij <= goal_j`,
//! `0 <= f_ij <= requests_i` (one slot per request and demand) and
//! `sum_j f_ij <= slots_i * requests_i` is a maximum flow in the network
//!
//! ```text
//! source --goal_j--> demand j --requests_i--> type i --slots_i * requests_i--> sink
//! ```
//!
//! with a middle arc only where `j` is eligible for `i`. Hours are aggregated (any request
//! may serve any eligible demand, whatever the hour), so types with the same `slots` and
//! `eligible` are merged into one class first (their requests add up, and so do both
//! capacities); a class's flow to a demand is split back over its types in proportion to
//! their requests, which keeps every type within its own capacities. So `fraction_ij =
//! f_(j, class of i) / requests_class`, the same for every type of a class.
//!
//! The flow is found by Dinic's algorithm on `f64` (module `flow`), with residuals of at
//! most `1e-12 ×` the network's largest capacity treated as zero; goals are first clipped to
//! what the demand can reach, so that a huge goal does not set that scale. On integer
//! requests and goals the result is exact. Among maximum flows the one found is
//! deterministic (arcs are added in (priority, index) order of demands, then class order)
//! but not otherwise chosen: it does not favour higher priorities.
//!
//! Cost: O(T log T · e) to merge `T` types with eligible lists of length `e`, then Dinic,
//! O(V² E) in the worst case on `V = demands + classes + 2` nodes and `E` arcs, far less in
//! practice on these three-layer networks.

use std::collections::BTreeMap;

use super::flow::FlowNetwork;
use super::{Demand, Plan, PlanKind, SupplyType, check_input, planned_from, priority_order};

/// Supply types merged because serving cannot tell them apart once hours are aggregated.
struct Class {
    slots: u32,
    /// Sum of the members' requests [ad requests].
    requests: f64,
    /// Member type indices, increasing.
    members: Vec<usize>,
}

/// The maximum-flow plan: the largest total delivery reachable on the forecast, with
/// `fractions[i]` = flow from type `i` to each demand / `requests_i`. See the module docs.
pub fn optimal(supply: &[SupplyType], demands: &[Demand]) -> Plan {
    check_input(supply, demands);
    let order = priority_order(demands);
    let n_demands = demands.len();

    let mut class_of_key: BTreeMap<(u32, &[usize]), usize> = BTreeMap::new();
    let mut classes: Vec<Class> = Vec::new();
    for (i, supply_type) in supply.iter().enumerate() {
        if supply_type.requests <= 0.0 || supply_type.slots == 0 || supply_type.eligible.is_empty()
        {
            continue;
        }
        let key = (supply_type.slots, supply_type.eligible.as_slice());
        let class = *class_of_key.entry(key).or_insert_with(|| {
            classes.push(Class {
                slots: supply_type.slots,
                requests: 0.0,
                members: Vec::new(),
            });
            classes.len() - 1
        });
        classes[class].requests += supply_type.requests;
        classes[class].members.push(i);
    }
    let mut classes_of = vec![Vec::new(); n_demands];
    for (class_idx, class) in classes.iter().enumerate() {
        for &j in &supply[class.members[0]].eligible {
            classes_of[j].push(class_idx);
        }
    }

    let capacity = |class: &Class| f64::from(class.slots) * class.requests;
    let reach: Vec<f64> = classes_of
        .iter()
        .map(|of| of.iter().map(|&c| classes[c].requests).sum())
        .collect();
    let source_capacity = |j: usize| demands[j].goal.min(reach[j]);
    let scale = (0..n_demands)
        .map(source_capacity)
        .chain(classes.iter().map(capacity))
        .fold(0.0, f64::max);

    let (source, sink) = (0, 1);
    let demand_node = |j: usize| 2 + j;
    let class_node = |c: usize| 2 + n_demands + c;
    let mut network = FlowNetwork::new(2 + n_demands + classes.len());
    let mut demand_arcs: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n_demands];
    for &j in &order {
        if source_capacity(j) > 0.0 {
            network.add_arc(source, demand_node(j), source_capacity(j));
            for &c in &classes_of[j] {
                let arc = network.add_arc(demand_node(j), class_node(c), classes[c].requests);
                demand_arcs[j].push((c, arc));
            }
        }
    }
    for (c, class) in classes.iter().enumerate() {
        network.add_arc(class_node(c), sink, capacity(class));
    }
    network.max_flow(source, sink, 1e-12 * scale);

    // Rounding may leave a class a hair over its slots: scale it back so the plan is feasible.
    let mut used = vec![0.0; classes.len()];
    for arcs in &demand_arcs {
        for &(c, arc) in arcs {
            used[c] += (network.flow(arc) / classes[c].requests).min(1.0);
        }
    }
    let mut fractions = vec![Vec::new(); supply.len()];
    for &j in &order {
        for &(c, arc) in &demand_arcs[j] {
            let slots = f64::from(classes[c].slots);
            let overflow = if used[c] > slots {
                slots / used[c]
            } else {
                1.0
            };
            let fraction = (network.flow(arc) / classes[c].requests).min(1.0) * overflow;
            if fraction > 0.0 {
                for &i in &classes[c].members {
                    fractions[i].push((j, fraction));
                }
            }
        }
    }
    let planned = planned_from(supply, &fractions, n_demands);
    Plan {
        kind: PlanKind::Optimal,
        order,
        alpha: Vec::new(),
        fractions,
        planned,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{SplitMix64, random_instance};
    use super::*;

    /// Minimum cut of the unmerged network, by enumeration. A cut puts a set `D` of demands
    /// on the source side (the others cost their `source -> j` arc, `goal_j`); each type
    /// then goes to whichever side is cheaper: the source side costs its sink arc
    /// `slots_i * requests_i`, the sink side costs the arcs from `D`, `requests_i` each.
    /// So max flow = min over D of `sum_{j not in D} goal_j
    /// + sum_i min(slots_i * requests_i, requests_i * |D ∩ eligible_i|)`.
    fn min_cut(supply: &[SupplyType], demands: &[Demand]) -> f64 {
        let n = demands.len();
        (0..1u32 << n)
            .map(|in_source_side| {
                let cut_goals: f64 = (0..n)
                    .filter(|&j| in_source_side & (1 << j) == 0)
                    .map(|j| demands[j].goal)
                    .sum();
                let cut_types: f64 = supply
                    .iter()
                    .map(|t| {
                        let reached = t
                            .eligible
                            .iter()
                            .filter(|&&j| in_source_side & (1 << j) != 0)
                            .count();
                        (f64::from(t.slots) * t.requests).min(t.requests * reached as f64)
                    })
                    .sum();
                cut_goals + cut_types
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn optimum_equals_the_enumerated_minimum_cut() {
        let mut rng = SplitMix64(3);
        let mut n_contended = 0;
        for _ in 0..1_000 {
            let (supply, demands) = random_instance(&mut rng);
            let cut = min_cut(&supply, &demands);
            let flow = optimal(&supply, &demands).total();
            assert!(
                (flow - cut).abs() <= 1e-9 * (1.0 + cut),
                "flow {flow} != cut {cut} on {supply:?} {demands:?}"
            );
            let goals: f64 = demands.iter().map(|d| d.goal).sum();
            n_contended += usize::from(cut < goals - 1e-9);
        }
        // The instances must exercise binding supply, not only goals.
        assert!(n_contended > 300, "{n_contended}");
    }

    #[test]
    fn merged_types_share_a_class_flow_by_requests() {
        // Two hours of the same segment: one class of 30 requests, demand 0 needs 15.
        let supply = vec![
            SupplyType {
                hour: 0,
                requests: 10.0,
                slots: 1,
                eligible: vec![0],
            },
            SupplyType {
                hour: 1,
                requests: 20.0,
                slots: 1,
                eligible: vec![0],
            },
        ];
        let demands = [Demand {
            goal: 15.0,
            priority: 1,
        }];
        let plan = optimal(&supply, &demands);
        assert_eq!(plan.fractions, vec![vec![(0, 0.5)], vec![(0, 0.5)]]);
        assert_eq!(plan.planned, vec![15.0]);
    }
}
