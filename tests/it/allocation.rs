//! Guaranteed-delivery plans on a contended instance, and the cost of a launch-blind forecast.

use adsim::report;

fn allocation(name: &str, overrides: &[&str]) -> report::AllocationSummary {
    let scenario = crate::load(name, overrides);
    let simulation = crate::simulate(&scenario, false);
    report::summary(&scenario, &simulation)
        .allocation
        .expect("the scenario has an [allocation] table")
}

#[test]
fn plans_on_a_contended_instance() {
    // guaranteed_contention: goals are 90% of the forecast supply and overlap (run of network,
    // TV, GB). On the forecast, the optimum (max-flow) delivers every goal; HWM here does
    // too (its gap to the optimum is 0 on this instance; on the hand-computed instance of
    // `planning::tests` it is 1/11); greedy by booking order spends the TV and GB supply
    // on the run-of-network deal first and falls ~9.6% short.
    let greedy = allocation(
        "guaranteed_contention.toml",
        &["allocation.plan=\"greedy\""],
    );
    let hwm = allocation("guaranteed_contention.toml", &["allocation.plan=\"hwm\""]);
    let optimal = allocation(
        "guaranteed_contention.toml",
        &["allocation.plan=\"optimal\""],
    );
    let goals = optimal.goals;
    assert!((optimal.planned.optimal - goals).abs() < 1e-6 * goals);
    assert!(hwm.gap_to_optimum.hwm <= 0.01, "{:?}", hwm.gap_to_optimum);
    assert!(
        greedy.gap_to_optimum.greedy > 0.05,
        "{:?}",
        greedy.gap_to_optimum
    );
    // Served on the simulated traffic (which differs from the forecast by sampling noise,
    // ~0.5% of a segment's requests): the plans deliver within 1% of the goals; greedy is
    // short by about its forecast gap (observed 9.3%; at least 5% asserted).
    for (label, summary) in [("hwm", &hwm), ("optimal", &optimal)] {
        assert!(
            summary.under_delivery <= 0.01 * goals,
            "{label} under-delivers {} of {goals}",
            summary.under_delivery
        );
    }
    assert!(
        greedy.under_delivery >= 0.05 * goals,
        "greedy under-delivers only {} of {goals}",
        greedy.under_delivery
    );
    // Each run reports all three forecast figures, whatever plan it serves.
    assert_eq!(greedy.planned, optimal.planned);
}

#[test]
fn a_launch_blind_forecast_costs_delivery() {
    // title_launch: the HWM plan made from the inventory of the week without the launch
    // promises every goal; the launch moves viewing to drama and the genre-targeted items
    // under-deliver (observed 4.6% of all goals). Planned from the oracle, which knows the
    // launch, the plan itself warns it is short (~1%), and delivery falls short by about
    // that much (observed 0.8%).
    let blind = allocation("title_launch.toml", &[]);
    let oracle = allocation("title_launch.toml", &["allocation.forecast=\"oracle\""]);
    assert!(blind.planned.hwm >= 0.999 * blind.goals);
    assert!(
        blind.under_delivery >= 0.03 * blind.goals,
        "launch-blind plan under-delivers only {} of {}",
        blind.under_delivery,
        blind.goals
    );
    assert!(
        oracle.under_delivery <= 0.4 * blind.under_delivery,
        "oracle {} vs blind {}",
        oracle.under_delivery,
        blind.under_delivery
    );
}
