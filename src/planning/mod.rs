//! Planning: how guaranteed line items share contended supply, computed from a forecast.
//!
//! # Model
//!
//! A *demand* `j` is a guaranteed line item with a delivery goal `goal_j` [impressions] and a
//! priority (1 = highest). The forecast is split into *supply types*: a type `i` is one hour of
//! the horizon and one segment, forecast to bring `requests_i` ad requests [expected count],
//! each with a pod of `slots_i` slots, and accepted by the demands in `eligible_i` (targeting
//! and flight). A demand takes at most one slot of a request, so a plan is a matrix of
//! fractions `x_ij` in [0, 1] (the share of type `i`'s requests that carry an impression of
//! demand `j`) with
//!
//! - `sum_j x_ij <= slots_i` (a pod holds `slots_i` ads),
//! - `planned_j = sum_i x_ij * requests_i <= goal_j` [impressions].
//!
//! Quantities are fluid (expected values on the forecast, `f64`), not integers: a plan is a
//! serving rule, and what it delivers on real traffic is for the simulator to measure.
//!
//! # Plans
//!
//! - [`greedy()`]: the baseline, no plan at all: each request goes to its eligible demands in
//!   priority order until goals are met. Hours are played in order, so early supply is spent
//!   on whoever comes first, even if it was the only supply a lower-priority demand could use.
//! - [`hwm()`]: the High-Water-Mark compact allocation plan of Chen, Berkhin, Anderson and
//!   Devanur, "Ad serving using a compact allocation plan" (EC 2012): one number `alpha_j`
//!   per demand, found demand by demand in order of tightest supply, served by a
//!   first-come-first-served rule. Time is aggregated: `alpha_j` holds over the whole flight.
//! - [`optimal()`]: the largest total delivery (each demand capped at its goal) that any plan
//!   can reach on the forecast, as a maximum flow; hours aggregated. It is the yardstick
//!   for [`gap_to_optimum`], and a plan in its own right.
//!
//! # Serving
//!
//! Each plan's `fractions` for a type are listed in the plan's `order`, each at most 1 and
//! summing to at most `slots_i`. [`systematic_pick`] turns them into the demands that serve
//! one request with one uniform draw: demand `j` is picked with probability exactly `x_ij`,
//! never twice, and never more demands than the pod holds.
//!
//! # Determinism
//!
//! Every plan is a pure function of its input. Sorts break ties by index, maps are
//! `BTreeMap`s, and sums run in index order, so the same input gives bit-identical plans.
//!
//! # Input contract
//!
//! `requests` and `goal` are finite and non-negative, and each `eligible` list is strictly
//! increasing with indices below the number of demands. Anything else is a caller bug and
//! panics with a message; valid input never panics.

mod flow;
mod greedy;
mod hwm;
mod optimal;
mod serve;
#[cfg(test)]
mod testing;

pub use greedy::greedy;
pub use hwm::hwm;
pub use optimal::optimal;
pub use serve::systematic_pick;

/// One supply type of the forecast: the requests of one segment in one hour.
#[derive(Clone, Debug, PartialEq)]
pub struct SupplyType {
    /// Index of the hour in the planning horizon, 0-based. Only [`greedy()`] reads it.
    pub hour: u32,
    /// Forecast ad requests of this type in that hour [expected count, >= 0].
    pub requests: f64,
    /// Ads one request's pod can hold; each demand takes at most one of them.
    pub slots: u32,
    /// Demands whose targeting and flight accept this type, strictly increasing indices.
    pub eligible: Vec<usize>,
}

/// One guaranteed line item to plan for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Demand {
    /// Delivery goal over the horizon [impressions, >= 0].
    pub goal: f64,
    /// Priority tier, 1 = highest.
    pub priority: u8,
}

/// Planning algorithms selectable by name, alphabetical.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanKind {
    /// Serve by priority as requests come, with no plan ([`greedy()`]).
    Greedy,
    /// High-Water-Mark compact allocation plan ([`hwm()`]).
    Hwm,
    /// Maximum-flow optimum of total delivery ([`optimal()`]).
    Optimal,
}

impl PlanKind {
    /// Registry names, alphabetical, in the order of the variants.
    pub const NAMES: &'static [&'static str] = &["greedy", "hwm", "optimal"];

    /// The plan kind a scenario names, if any.
    pub fn from_name(name: &str) -> Option<PlanKind> {
        match name {
            "greedy" => Some(PlanKind::Greedy),
            "hwm" => Some(PlanKind::Hwm),
            "optimal" => Some(PlanKind::Optimal),
            _ => None,
        }
    }

    /// The plan kind's registry name.
    pub fn name(self) -> &'static str {
        match self {
            PlanKind::Greedy => "greedy",
            PlanKind::Hwm => "hwm",
            PlanKind::Optimal => "optimal",
        }
    }
}

/// An allocation plan: how each supply type's requests are shared among demands.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The algorithm that made the plan.
    pub kind: PlanKind,
    /// Allocation order of demands, a permutation of their indices: serving visits a
    /// request's eligible demands in this order.
    pub order: Vec<usize>,
    /// HWM: the serving fraction `alpha_j` in [0, 1] of each demand, by demand index. Empty
    /// for the other kinds.
    pub alpha: Vec<f64>,
    /// Per supply type: `(demand, fraction of the type's requests given to it)` pairs in
    /// `order`, each fraction in (0, 1], summing to at most `slots`. Demands with a zero
    /// fraction are left out.
    pub fractions: Vec<Vec<(usize, f64)>>,
    /// Expected delivery of each demand on the forecast [impressions]:
    /// `sum_i fraction_ij * requests_i`.
    pub planned: Vec<f64>,
}

impl Plan {
    /// Expected total delivery on the forecast [impressions].
    pub fn total(&self) -> f64 {
        self.planned.iter().sum()
    }
}

/// The plan of the given kind.
pub fn plan(kind: PlanKind, supply: &[SupplyType], demands: &[Demand]) -> Plan {
    match kind {
        PlanKind::Greedy => greedy(supply, demands),
        PlanKind::Hwm => hwm(supply, demands),
        PlanKind::Optimal => optimal(supply, demands),
    }
}

/// Planned shortfall of each demand, `max(goal - planned, 0)` [impressions], and its total.
pub fn under_delivery(plan: &Plan, demands: &[Demand]) -> (Vec<f64>, f64) {
    assert_eq!(
        plan.planned.len(),
        demands.len(),
        "plan and demands disagree on the number of demands"
    );
    let short: Vec<f64> = demands
        .iter()
        .zip(&plan.planned)
        .map(|(demand, &planned)| (demand.goal - planned).max(0.0))
        .collect();
    let total = short.iter().sum();
    (short, total)
}

/// Relative gap of a plan's total delivery to the optimum, `(optimum - plan) / optimum`
/// (0 when the optimum is 0). Dimensionless; 0.1 means the plan delivers 10% less.
pub fn gap_to_optimum(plan_total: f64, optimum_total: f64) -> f64 {
    if optimum_total > 0.0 {
        (optimum_total - plan_total) / optimum_total
    } else {
        0.0
    }
}

/// Panics with a message if the input breaks the module's contract.
fn check_input(supply: &[SupplyType], demands: &[Demand]) {
    for (j, demand) in demands.iter().enumerate() {
        assert!(
            demand.goal.is_finite() && demand.goal >= 0.0,
            "demand {j}: goal {} is not a finite non-negative number",
            demand.goal
        );
    }
    for (i, supply_type) in supply.iter().enumerate() {
        assert!(
            supply_type.requests.is_finite() && supply_type.requests >= 0.0,
            "supply type {i}: requests {} is not a finite non-negative number",
            supply_type.requests
        );
        assert!(
            supply_type
                .eligible
                .windows(2)
                .all(|pair| pair[0] < pair[1]),
            "supply type {i}: eligible demands are not strictly increasing"
        );
        if let Some(&last) = supply_type.eligible.last() {
            assert!(
                last < demands.len(),
                "supply type {i}: eligible demand {last} does not exist ({} demands)",
                demands.len()
            );
        }
    }
}

/// Demands by (priority, index): the order in which an ad server without a plan serves them.
fn priority_order(demands: &[Demand]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&j| (demands[j].priority, j));
    order
}

/// For each demand, the supply types it is eligible for, increasing.
fn types_of(supply: &[SupplyType], n_demands: usize) -> Vec<Vec<usize>> {
    let mut types = vec![Vec::new(); n_demands];
    for (i, supply_type) in supply.iter().enumerate() {
        for &j in &supply_type.eligible {
            types[j].push(i);
        }
    }
    types
}

/// Expected delivery of each demand under `fractions` [impressions], summed by type index.
fn planned_from(
    supply: &[SupplyType],
    fractions: &[Vec<(usize, f64)>],
    n_demands: usize,
) -> Vec<f64> {
    let mut planned = vec![0.0; n_demands];
    for (supply_type, shares) in supply.iter().zip(fractions) {
        for &(j, fraction) in shares {
            planned[j] += fraction * supply_type.requests;
        }
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::testing::{SplitMix64, random_instance};
    use super::*;

    const KINDS: [PlanKind; 3] = [PlanKind::Greedy, PlanKind::Hwm, PlanKind::Optimal];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (&a, &e) in actual.iter().zip(expected) {
            assert!(close(a, e), "{actual:?} vs {expected:?}");
        }
    }

    fn supply_type(hour: u32, requests: f64, slots: u32, eligible: &[usize]) -> SupplyType {
        SupplyType {
            hour,
            requests,
            slots,
            eligible: eligible.to_vec(),
        }
    }

    #[test]
    fn names_round_trip_in_alphabetical_order() {
        assert_eq!(PlanKind::NAMES.len(), KINDS.len());
        for (kind, &name) in KINDS.iter().zip(PlanKind::NAMES) {
            assert_eq!(kind.name(), name);
            assert_eq!(PlanKind::from_name(name), Some(*kind));
        }
        assert!(PlanKind::NAMES.is_sorted());
        assert_eq!(PlanKind::from_name("HWM"), None);
    }

    /// Demand 0 (priority 1, goal 120) can use T0 (hour 0) and T1 (hour 1); demand 1
    /// (priority 2, goal 100) can use T0 and T2 (hour 1). One slot per request.
    fn contended() -> (Vec<SupplyType>, Vec<Demand>) {
        let supply = vec![
            supply_type(0, 100.0, 1, &[0, 1]),
            supply_type(1, 100.0, 1, &[0]),
            supply_type(1, 40.0, 1, &[1]),
        ];
        let demands = vec![
            Demand {
                goal: 120.0,
                priority: 1,
            },
            Demand {
                goal: 100.0,
                priority: 2,
            },
        ];
        (supply, demands)
    }

    #[test]
    fn contended_instance_matches_hand_arithmetic() {
        let (supply, demands) = contended();

        // Greedy. Hour 0: demand 0 outranks demand 1 on T0 and takes all 100 requests (it
        // still needs 20). Hour 1: demand 0 needs 20 of T1's 100, so it stops at 0.2 of the
        // hour; demand 1 gets all 40 of T2. Delivery [120, 40]: 60 short, total 160.
        let greedy_plan = greedy(&supply, &demands);
        assert_eq!(greedy_plan.order, vec![0, 1]);
        assert_close(&greedy_plan.planned, &[120.0, 40.0]);
        assert_eq!(greedy_plan.fractions[0], vec![(0, 1.0)]);
        assert_eq!(greedy_plan.fractions[2], vec![(1, 1.0)]);
        assert!(close(greedy_plan.fractions[1][0].1, 0.2));
        let (short, total_short) = under_delivery(&greedy_plan, &demands);
        assert_close(&short, &[0.0, 60.0]);
        assert!(close(total_short, 60.0));

        // Optimal: demand 0 takes 100 of T1 and 20 of T0, demand 1 the other 80 of T0 and
        // all 40 of T2 (it needs 60 of them): every goal, 220.
        let optimal_plan = optimal(&supply, &demands);
        assert_close(
            &optimal_plan.planned,
            &demands.iter().map(|d| d.goal).collect::<Vec<_>>(),
        );
        assert!(under_delivery(&optimal_plan, &demands).1 <= 1e-9);

        // HWM, priority first: demand 0 solves alpha * (100 + 100) = 120, alpha_0 = 0.6,
        // leaving 40 of T0 and 40 of T1. Demand 1 reaches min(40, 100a) + min(40, 40a) = 80
        // < 100 even at a = 1, so alpha_1 = 1. Serving T0: demand 0 takes 0.6, demand 1
        // min(1, 1 - 0.6) = 0.4 -> 40, plus 40 of T2. Delivery [120, 80], total 200, a gap
        // of 20 / 220 = 1/11 to the optimum: HWM spreads demand 0 evenly over T0 and T1 and
        // so takes 40 of T0 that only demand 1 needed.
        let hwm_plan = hwm(&supply, &demands);
        assert_eq!(hwm_plan.order, vec![0, 1]);
        assert_close(&hwm_plan.alpha, &[0.6, 1.0]);
        assert_close(&hwm_plan.planned, &[120.0, 80.0]);
        assert_eq!(hwm_plan.fractions.len(), 3);
        assert_close(
            &hwm_plan.fractions[0]
                .iter()
                .map(|p| p.1)
                .collect::<Vec<_>>(),
            &[0.6, 0.4],
        );
        let gap = gap_to_optimum(hwm_plan.total(), optimal_plan.total());
        assert!(close(gap, 1.0 / 11.0), "gap {gap}");
        assert!(gap_to_optimum(greedy_plan.total(), optimal_plan.total()) > gap);
    }

    #[test]
    fn shared_pod_of_two_slots_matches_hand_arithmetic() {
        // One type, 100 requests of 2 slots, three equal demands of goal 80.
        let supply = vec![supply_type(0, 100.0, 2, &[0, 1, 2])];
        let demands = vec![
            Demand {
                goal: 80.0,
                priority: 1
            };
            3
        ];
        // Greedy: demands 0 and 1 fill both slots until they finish together at 0.8 of the
        // hour; demand 2 gets the last 0.2 -> [80, 80, 20].
        assert_close(&greedy(&supply, &demands).planned, &[80.0, 80.0, 20.0]);
        // HWM: alpha_0 = 0.8 (200 -> 120 left), alpha_1 = 0.8 (120 -> 40 left), demand 2
        // reaches only 40: alpha_2 = 1 and serving gives it min(1, 2 - 1.6) = 0.4 -> 40.
        let hwm_plan = hwm(&supply, &demands);
        assert_close(&hwm_plan.alpha, &[0.8, 0.8, 1.0]);
        assert_close(&hwm_plan.planned, &[80.0, 80.0, 40.0]);
        // Optimal: the pod's 200 impressions.
        assert!(close(optimal(&supply, &demands).total(), 200.0));
    }

    #[test]
    fn greedy_stops_a_filled_demand_at_the_same_instant_on_every_type() {
        // Demand 0 needs 50 of the hour's 100 + 100 requests: it stops at a quarter of the
        // hour, 25 from each type, and demand 1 has T1 from then on: 75.
        let supply = vec![
            supply_type(3, 100.0, 1, &[0, 1]),
            supply_type(3, 100.0, 1, &[0]),
        ];
        let demands = [
            Demand {
                goal: 50.0,
                priority: 1,
            },
            Demand {
                goal: 500.0,
                priority: 2,
            },
        ];
        let plan = greedy(&supply, &demands);
        assert_close(&plan.planned, &[50.0, 75.0]);
        assert_close(
            &plan.fractions[0].iter().map(|p| p.1).collect::<Vec<_>>(),
            &[0.25, 0.75],
        );
        assert_close(&[plan.fractions[1][0].1], &[0.25]);
    }

    #[test]
    fn hwm_allocates_the_tightest_demand_first_within_a_priority() {
        let supply = vec![
            supply_type(0, 100.0, 1, &[0, 1, 2]),
            supply_type(0, 50.0, 1, &[0]),
        ];
        let mut demands = [Demand {
            goal: 10.0,
            priority: 2,
        }; 3];
        // Demand 0 sees 150 requests, demands 1 and 2 see 100 each (a tie, broken by index).
        assert_eq!(hwm(&supply, &demands).order, vec![1, 2, 0]);
        // Priority comes before tightness.
        demands[0].priority = 1;
        assert_eq!(hwm(&supply, &demands).order, vec![0, 1, 2]);
    }

    #[test]
    fn under_delivery_and_gap_handle_edges() {
        let plan = Plan {
            kind: PlanKind::Greedy,
            order: vec![0, 1],
            alpha: Vec::new(),
            fractions: Vec::new(),
            planned: vec![5.0, 30.0],
        };
        let demands = [
            Demand {
                goal: 10.0,
                priority: 1,
            },
            Demand {
                goal: 20.0,
                priority: 1,
            },
        ];
        let (short, total) = under_delivery(&plan, &demands);
        assert_eq!(short, vec![5.0, 0.0]);
        assert_eq!(total, 5.0);
        assert_eq!(gap_to_optimum(0.0, 0.0), 0.0);
        assert_eq!(gap_to_optimum(75.0, 100.0), 0.25);
    }

    #[test]
    fn plans_respect_goals_capacities_eligibility_and_order() {
        let mut rng = SplitMix64(7);
        for _ in 0..1_000 {
            let (supply, demands) = random_instance(&mut rng);
            let optimum = optimal(&supply, &demands).total();
            for kind in KINDS {
                let plan = plan(kind, &supply, &demands);
                assert_eq!(plan.kind, kind);
                let mut sorted_order = plan.order.clone();
                sorted_order.sort_unstable();
                assert_eq!(sorted_order, (0..demands.len()).collect::<Vec<_>>());
                let mut rank = vec![0; demands.len()];
                for (position, &j) in plan.order.iter().enumerate() {
                    rank[j] = position;
                }
                assert_eq!(plan.fractions.len(), supply.len());
                for (supply_type, shares) in supply.iter().zip(&plan.fractions) {
                    let mut sum = 0.0;
                    for &(j, fraction) in shares {
                        assert!(fraction > 0.0 && fraction <= 1.0, "{kind:?}: {fraction}");
                        assert!(supply_type.eligible.binary_search(&j).is_ok());
                        sum += fraction;
                    }
                    assert!(
                        sum <= f64::from(supply_type.slots) + 1e-9,
                        "{kind:?}: {sum}"
                    );
                    assert!(shares.windows(2).all(|w| rank[w[0].0] < rank[w[1].0]));
                }
                let expected: Vec<f64> = (0..demands.len())
                    .map(|j| {
                        (supply.iter().zip(&plan.fractions))
                            .flat_map(|(t, shares)| {
                                shares.iter().filter(|p| p.0 == j).map(|p| p.1 * t.requests)
                            })
                            .sum()
                    })
                    .collect();
                assert_close(&plan.planned, &expected);
                for (demand, &planned) in demands.iter().zip(&plan.planned) {
                    assert!(planned <= demand.goal * (1.0 + 1e-9) + 1e-9, "{kind:?}");
                }
                assert!(plan.total() <= optimum * (1.0 + 1e-9) + 1e-9, "{kind:?}");
                if kind == PlanKind::Hwm {
                    assert_eq!(plan.alpha.len(), demands.len());
                    assert!(plan.alpha.iter().all(|a| (0.0..=1.0).contains(a)));
                }
            }
        }
    }

    #[test]
    fn hwm_delivers_every_feasible_goal_without_contention() {
        let mut rng = SplitMix64(11);
        for _ in 0..200 {
            let n_demands = 1 + rng.below(6);
            let mut supply = Vec::new();
            let mut reachable = vec![0.0; n_demands];
            for _ in 0..1 + rng.below(12) {
                let j = rng.below(n_demands);
                let requests = 1.0 + 100.0 * rng.unit();
                reachable[j] += requests;
                let slots = 1 + rng.below(3) as u32;
                supply.push(supply_type(rng.below(5) as u32, requests, slots, &[j]));
            }
            let demands: Vec<Demand> = reachable
                .iter()
                .map(|&r| Demand {
                    goal: r * rng.unit(),
                    priority: 1 + rng.below(3) as u8,
                })
                .collect();
            let plan = hwm(&supply, &demands);
            assert_close(
                &plan.planned,
                &demands.iter().map(|d| d.goal).collect::<Vec<_>>(),
            );
            for j in 0..n_demands {
                if reachable[j] > 0.0 {
                    assert!(close(plan.alpha[j], demands[j].goal / reachable[j]));
                }
            }
        }
    }

    #[test]
    fn greedy_gives_a_lone_top_priority_demand_all_it_can_reach() {
        let mut rng = SplitMix64(13);
        for _ in 0..1_000 {
            let (mut supply, mut demands) = random_instance(&mut rng);
            demands[0].priority = 1;
            for demand in &mut demands[1..] {
                demand.priority = demand.priority.max(2);
            }
            for supply_type in &mut supply {
                supply_type.slots = supply_type.slots.max(1);
            }
            let reachable: f64 = (supply.iter())
                .filter(|t| t.eligible.first() == Some(&0))
                .map(|t| t.requests)
                .sum();
            let greedy_plan = greedy(&supply, &demands);
            let optimal_plan = optimal(&supply, &demands);
            assert!(close(
                greedy_plan.planned[0],
                demands[0].goal.min(reachable)
            ));
            assert!(greedy_plan.planned[0] >= optimal_plan.planned[0] - 1e-9);
        }
    }

    #[test]
    fn optimal_ignores_hours_and_how_a_segment_is_split() {
        let mut rng = SplitMix64(17);
        for _ in 0..200 {
            let (supply, demands) = random_instance(&mut rng);
            // Split every type into two hours with a 30/70 share of its requests.
            let split: Vec<SupplyType> = supply
                .iter()
                .flat_map(|t| {
                    [0.3, 0.7].map(|share| SupplyType {
                        hour: t.hour * 2 + (share > 0.5) as u32,
                        requests: t.requests * share,
                        ..t.clone()
                    })
                })
                .collect();
            let whole = optimal(&supply, &demands).total();
            assert!(close(optimal(&split, &demands).total(), whole));
        }
    }
}
