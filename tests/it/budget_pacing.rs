//! Budget pacers: spend, schedule error, overspend with and without a synchronisation lag,
//! and dual pacing's fixed point.

use adsim::engine::Simulation;
use adsim::report;
use adsim::scenario;

/// pacing_comparison at 40,000 members, where each campaign's budget of 150 is about 30% of
/// what it would spend unpaced (it spends ~1,300 at 100,000 members with no budget): feasible
/// for every pacer.
fn comparison(extra: &[&str]) -> (adsim::scenario::Scenario, Simulation) {
    let mut overrides = vec!["members.count=40000".to_string()];
    for b in 0..6 {
        overrides.push(format!("bidders.{b}.budget=150"));
    }
    overrides.extend(extra.iter().map(|s| s.to_string()));
    let scenario = scenario::load(&crate::scenario_path("pacing_comparison.toml"), &overrides)
        .unwrap_or_else(|error| panic!("{error}"));
    let simulation = crate::simulate(&scenario, false);
    (scenario, simulation)
}

fn bidder<'a>(summary: &'a report::Summary, name: &str) -> &'a report::BidderSummary {
    summary.bidders.iter().find(|b| b.name == name).unwrap()
}

#[test]
fn budget_pacers_spend_their_budget_along_the_schedule() {
    let (scenario, simulation) = comparison(&[]);
    let summary = report::summary(&scenario, &simulation);
    // Spend: 95–100% of the budget (plus at most one impression's price, checked below).
    // Schedule: RMSE of cumulative spend against the traffic-following target, sampled at
    // every hour, as a fraction of the budget. The controllers re-decide every minute; a
    // minute's spend is ~0.1% of the budget at peak, so an RMSE of 3% means the pacer lost
    // the schedule for hours. Observed: even, throttle and pid 0.03–0.8%, dual 2–4% (its
    // dual variable is the integral of the spend error, so it runs a little ahead of the
    // schedule and ends some minutes early).
    for (name, bound) in [
        ("Campaign (even)", 0.03),
        ("Campaign (throttle)", 0.03),
        ("Campaign (pid)", 0.03),
        ("Campaign (dual)", 0.05),
    ] {
        let b = bidder(&summary, name);
        let used = b.budget_used.unwrap();
        assert!((0.95..=1.001).contains(&used), "{name} used {used}");
        let error = b.pacing_error.unwrap();
        assert!(error <= bound, "{name}: pacing error {error} > {bound}");
    }
    // asap spends the budget too, but in the first hours: the same measure fails it by far.
    let asap = bidder(&summary, "Campaign (asap)");
    assert!(asap.budget_used.unwrap() >= 0.95);
    assert!(asap.pacing_error.unwrap() > 0.2, "{:?}", asap.pacing_error);
    // The KPI pacer is not a budget pacer: it holds eCPC at its target of 1.90 (observed
    // 1.84–1.91 across runs; ±10% allows for a few hundred clicks' Poisson noise, ~6%). A
    // controller that slams its bids to the floor on an early costly click ends far away
    // (an earlier version measured 4.3 here).
    let kpi = bidder(&summary, "Campaign (kpi_pid)");
    assert!(
        (kpi.responses.ecpc - 1.9).abs() <= 0.19,
        "eCPC {} vs target 1.90",
        kpi.responses.ecpc
    );
}

#[test]
fn no_overspend_without_lag_and_overspend_with_it() {
    // Without a lag, budget checks see every sale at once: a campaign can overshoot only by
    // the sale that crossed its budget. Clearing prices here stay far below 50 CPM (values
    // are log-normal with median 9 CPM), so one sale costs under 0.05.
    let (scenario, simulation) = comparison(&[]);
    let summary = report::summary(&scenario, &simulation);
    for b in &summary.bidders[..6] {
        let overspend = b.overspend.unwrap();
        assert!(overspend < 0.05, "{}: overspend {overspend}", b.name);
    }
    // With spend seen every 5 minutes, asap keeps buying for up to 5 minutes after the
    // budget is gone, at its unpaced rate (~1 currency unit a minute at 40,000 members).
    let (scenario, simulation) = comparison(&["adserver.budget_sync=\"5m\""]);
    let lagged = report::summary(&scenario, &simulation);
    let asap = bidder(&lagged, "Campaign (asap)");
    assert!(
        asap.overspend.unwrap() > 0.5,
        "asap overspend under a 5-minute lag: {:?}",
        asap.overspend
    );
}

#[test]
fn dual_pacing_converges_to_the_fluid_optimal_multiplier() {
    // One budgeted bidder with values v ~ U[0, 10] CPM faces one truthful competitor with
    // values d ~ U[0, 10] CPM in a second-price auction for single-slot pods, no floor. Bidding
    // m·v (m ≤ 1), it wins when m·v > d and pays d, so its expected spend per request is
    //   E[d · 1{d < m v}] / 1000 = 10 · m² / 6 / 1000 = m² / 600   [currency]
    // (∫₀¹∫₀^{mx} y dy dx = m²/6 on the unit square, scaled by 10 CPM). With budget B over N
    // requests, the fluid-optimal multiplier spends exactly B: m* = sqrt(600 · B / N). Dual
    // descent's fixed point is where expected spend equals the allotment, i.e. m*. B is set
    // so that m* = 0.5 for N ≈ 30,000 requests; the test recomputes m* from the actual N.
    // Tolerance: ±0.05 on the average hourly multiplier over hours 6–23 (after the first
    // quarter of the day). The multiplier is a mean-reverting random walk whose hourly
    // readings vary by about ±0.02 around its level; 0.05 is 2.5 such swings, while the
    // truthful multiplier (1) or any stuck value misses by 10 times that.
    let text = r#"
schema_version = 1
name = "dual"
seed = 3
start = 2026-11-02T00:00:00Z
duration = "1d"

[members]
count = 30000

[[members.countries]]
name = "ZZ"
share = 1.0
utc_offset = "+00:00"

[viewing]
sessions_per_member_per_day = 1.0

[breaks]
pre_roll = { max_slots = 1, max_duration = "15s", slot_durations = ["15s"] }
mid_roll = { enabled = false }

[exchange]
auction = "second_price"
floor_cpm = 0.0

[[bidders]]
name = "paced"
value = { distribution = "uniform", low = 0.0, high = 10.0 }
strategy = "truthful"
budget = 12.5
pacing = "dual"
creative_duration = "15s"
latency = { median = "1ms", sigma = 0.0 }

[[bidders]]
name = "rival"
value = { distribution = "uniform", low = 0.0, high = 10.0 }
strategy = "truthful"
creative_duration = "15s"
latency = { median = "1ms", sigma = 0.0 }
"#;
    let scenario = scenario::from_text(text, "dual.toml", &[]).unwrap();
    let simulation = crate::simulate(&scenario, false);
    let n = simulation.metrics().requests as f64;
    let budget = 12.5;
    let optimum = (600.0 * budget / n).sqrt();
    let csv = report::delivery_csv(&scenario, &simulation);
    let multipliers: Vec<f64> = csv
        .lines()
        .skip(1)
        .filter(|line| line.split(',').nth(2) == Some("paced"))
        .map(|line| line.split(',').nth(12).unwrap().parse().unwrap())
        .collect();
    assert_eq!(multipliers.len(), 24);
    let late = &multipliers[6..];
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    assert!(
        (mean - optimum).abs() <= 0.05,
        "mean multiplier {mean:.4} vs fluid optimum {optimum:.4} (N = {n}); hourly: {multipliers:?}"
    );
    // And it spends its budget.
    let spent = simulation.metrics().bidders[0].spend as f64 / 1e6;
    assert!(spent >= 0.95 * budget, "spent {spent} of {budget}");
}
