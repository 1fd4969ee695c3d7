//! Greedy: what an ad server with priorities and no plan delivers on the forecast.
//!
//! Each request is offered to its eligible demands in (priority, index) order; each demand
//! that is still short of its goal takes one slot, until the pod is full. This is computed as a
//! fluid: hours are played in increasing order, and within an hour the requests of every
//! type of that hour arrive at a constant rate (`requests_i` per hour). At any instant a type
//! feeds the first `slots_i` of its eligible demands that are still short, so a demand is fed
//! at a constant rate until some demand of the hour meets its goal; that demand stops at that
//! instant, on every type at once, and the rates are recomputed. A demand that would be
//! over-filled in an hour thus takes only what it needs, in the same share of the hour from
//! each type that was feeding it (proportionally to those types' requests when nothing else
//! changes in the hour). `fraction_ij` is the share of the hour during which type `i` fed
//! demand `j`.
//!
//! Cost: each event either ends the hour or meets a goal, so an hour with `d` active demands
//! and `e` (type, eligible demand) pairs costs O((d + 1) · e); O(T log T + E · log E) for the
//! sorts, with `T` types and `E` pairs overall.

use super::{Demand, Plan, PlanKind, SupplyType, check_input, planned_from, priority_order};

/// The greedy-by-priority plan: the fluid outcome of serving requests as they come, hour by
/// hour, to eligible demands in (priority, index) order. See the module docs.
pub fn greedy(supply: &[SupplyType], demands: &[Demand]) -> Plan {
    check_input(supply, demands);
    let order = priority_order(demands);
    let mut rank = vec![0; demands.len()];
    for (position, &j) in order.iter().enumerate() {
        rank[j] = position;
    }
    // Each type's eligible demands in serving order, and the share of the hour each was fed.
    let queues: Vec<Vec<usize>> = supply
        .iter()
        .map(|supply_type| {
            let mut queue = supply_type.eligible.clone();
            queue.sort_by_key(|&j| rank[j]);
            queue
        })
        .collect();
    let mut fed: Vec<Vec<f64>> = queues.iter().map(|queue| vec![0.0; queue.len()]).collect();

    let mut by_hour: Vec<usize> = (0..supply.len()).collect();
    by_hour.sort_by_key(|&i| (supply[i].hour, i));

    let mut need: Vec<f64> = demands.iter().map(|demand| demand.goal).collect();
    let mut rate = vec![0.0; demands.len()];
    let mut served: Vec<usize> = Vec::new();
    for hour_types in by_hour.chunk_by(|&a, &b| supply[a].hour == supply[b].hour) {
        let mut elapsed = 0.0;
        loop {
            for &j in &served {
                rate[j] = 0.0;
            }
            served.clear();
            for &i in hour_types {
                let supply_type = &supply[i];
                if supply_type.requests <= 0.0 {
                    continue;
                }
                let queue = feeding(&queues[i], supply_type.slots, &need);
                for &j in queue.iter().filter(|&&j| need[j] > 0.0) {
                    if rate[j] == 0.0 {
                        served.push(j);
                    }
                    rate[j] += supply_type.requests;
                }
            }
            if served.is_empty() {
                break;
            }
            // The next event: the end of the hour, or the first demand to meet its goal.
            let mut step = 1.0 - elapsed;
            let mut ends_hour = true;
            for &j in &served {
                let time_to_goal = need[j] / rate[j];
                if time_to_goal < step {
                    step = time_to_goal;
                    ends_hour = false;
                }
            }
            for &i in hour_types {
                let supply_type = &supply[i];
                if supply_type.requests <= 0.0 {
                    continue;
                }
                let n_fed = feeding(&queues[i], supply_type.slots, &need).len();
                for (position, &j) in queues[i].iter().enumerate().take(n_fed) {
                    if need[j] > 0.0 {
                        fed[i][position] += step;
                    }
                }
            }
            for &j in &served {
                // Compared as times, so the demand that set `step` always stops here.
                if need[j] / rate[j] <= step {
                    need[j] = 0.0;
                } else {
                    need[j] -= step * rate[j];
                }
            }
            if ends_hour {
                break;
            }
            elapsed += step;
        }
    }

    let fractions: Vec<Vec<(usize, f64)>> = queues
        .iter()
        .zip(&fed)
        .map(|(queue, shares)| {
            queue
                .iter()
                .zip(shares)
                .filter(|&(_, &share)| share > 0.0)
                .map(|(&j, &share)| (j, share.min(1.0)))
                .collect()
        })
        .collect();
    let planned = planned_from(supply, &fractions, demands.len());
    Plan {
        kind: PlanKind::Greedy,
        order,
        alpha: Vec::new(),
        fractions,
        planned,
    }
}

/// The prefix of `queue` that holds the demands a type currently feeds: it ends after the
/// `slots`-th demand still short of its goal (the demands met within it are skipped).
fn feeding<'a>(queue: &'a [usize], slots: u32, need: &[f64]) -> &'a [usize] {
    let mut free = slots;
    for (position, &j) in queue.iter().enumerate() {
        if free == 0 {
            return &queue[..position];
        }
        if need[j] > 0.0 {
            free -= 1;
        }
    }
    queue
}
