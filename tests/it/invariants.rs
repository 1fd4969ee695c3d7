//! Invariants of ad serving, checked pod by pod over several seeds: caps, pod limits,
//! competitive separation, flights, targeting and goals.

use std::collections::BTreeMap;

use adsim::adserver::Period;
use adsim::scenario::Scenario;
use adsim::time::SimDuration;

fn check(scenario: &Scenario) {
    let simulation = crate::simulate(scenario, true);
    let items = &scenario.adserver.line_items;
    let advertisers = &scenario.adserver.advertisers;
    // (member, line item or advertiser, cap index, window) → impressions
    let mut item_counts: BTreeMap<(u32, usize, usize, u32), u32> = BTreeMap::new();
    let mut advertiser_counts: BTreeMap<(u32, usize, usize, u32), u32> = BTreeMap::new();
    let mut delivered = vec![0u64; items.len()];
    let mut placed_total = 0u64;
    for record in simulation.server().trace() {
        let request = &record.request;
        let pod = request.pod;
        let is_pre_roll = request.values[scenario.dims.break_kind()] == 0;
        assert_eq!(
            is_pre_roll,
            request.break_index == 0,
            "break position disagrees with its kind: {record:?}"
        );
        assert!(
            record.items.len() <= usize::from(pod.max_slots),
            "pod over its slot count: {record:?}"
        );
        let seconds: u32 = record
            .items
            .iter()
            .map(|&idx| u32::from(items[idx].creative_duration_s))
            .sum();
        assert!(
            seconds <= u32::from(pod.max_duration_s),
            "pod over its duration: {record:?}"
        );
        for (pos, &idx) in record.items.iter().enumerate() {
            let item = &items[idx];
            assert!(
                pod.allows(item.creative_duration_s),
                "creative length not allowed: {record:?}"
            );
            assert!(
                !record.items[..pos].contains(&idx),
                "line item twice in a pod: {record:?}"
            );
            if let Some(category) = item.category {
                assert!(
                    !record.items[..pos]
                        .iter()
                        .any(|&other| items[other].category == Some(category)),
                    "competitive separation broken: {record:?}"
                );
            }
            assert!(
                item.flight_start <= request.at && request.at < item.flight_end,
                "{} delivered outside its flight at {}",
                item.name,
                request.at
            );
            for rule in &item.targeting {
                assert!(
                    rule.accepts(request.values[rule.dim]),
                    "{} served off-target: {rule:?}",
                    item.name
                );
            }
            delivered[idx] += 1;
            for (cap_idx, cap) in item.caps.iter().enumerate() {
                let window = cap.period.window(request.at, request.utc_offset_minutes);
                let count = item_counts
                    .entry((request.member, idx, cap_idx, window))
                    .or_default();
                *count += 1;
                assert!(
                    *count <= u32::from(cap.max),
                    "{} cap {cap:?} exceeded for member {}",
                    item.name,
                    request.member
                );
            }
            for (cap_idx, cap) in advertisers[item.advertiser].caps.iter().enumerate() {
                let window = cap.period.window(request.at, request.utc_offset_minutes);
                let count = advertiser_counts
                    .entry((request.member, item.advertiser, cap_idx, window))
                    .or_default();
                *count += 1;
                assert!(
                    *count <= u32::from(cap.max),
                    "advertiser cap {cap:?} exceeded for member {}",
                    request.member
                );
            }
        }
        placed_total += record.items.len() as u64;
    }
    let metrics = simulation.metrics();
    assert_eq!(placed_total, metrics.impressions);
    assert_eq!(simulation.server().trace().len() as u64, metrics.requests);
    for (idx, item) in items.iter().enumerate() {
        assert_eq!(delivered[idx], metrics.items[idx].impressions);
        if let Some(goal) = item.goal {
            assert!(
                delivered[idx] <= goal,
                "{} over-delivered {} > {goal}",
                item.name,
                delivered[idx]
            );
        }
    }
    // Caps must actually bind somewhere, or this test proves nothing about them.
    assert!(
        metrics.items.iter().any(|item| item.lost_to_caps > 0),
        "no cap ever bound"
    );
}

#[test]
fn serving_respects_caps_pods_separation_flights_and_goals() {
    for seed in [1, 2, 3] {
        let mut scenario = crate::load("quickstart.toml", &["members.count=30000"]);
        scenario.seed = seed;
        check(&scenario);
    }
}

#[test]
fn hourly_and_weekly_caps_hold_across_a_week_boundary() {
    // Two days around a Monday 00:00 in every member's time zone, with an advertiser cap per
    // week and a line-item cap per hour.
    let scenario = crate::load(
        "quickstart.toml",
        &[
            "members.count=20000",
            "start=2026-11-07T12:00:00Z",
            "duration=2d",
            "line_items.7.flight_start=2026-11-07T12:00:00Z",
            "line_items.7.flight_end=2026-11-09T12:00:00Z",
            "advertisers.0.frequency_caps=[{max = 4, per = \"week\"}]",
            "line_items.3.frequency_caps=[{max = 1, per = \"hour\"}]",
        ],
    );
    assert_eq!(scenario.duration(), SimDuration::DAY * 2);
    assert_eq!(
        scenario.adserver.advertisers[0].caps[0].period,
        Period::Week
    );
    check(&scenario);
}
