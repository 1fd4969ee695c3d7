//! Invariants of ad serving, checked pod by pod over several seeds: caps, pod limits,
//! competitive separation, one ad per advertiser, flights, targeting, goals, and for
//! programmatic sales floors, prices and budgets.

use std::collections::BTreeMap;

use adsim::adserver::Period;
use adsim::auction::AuctionKind;
use adsim::scenario::Scenario;
use adsim::time::SimDuration;

fn check(scenario: &Scenario) -> adsim::engine::Simulation {
    let simulation = crate::simulate(scenario, true);
    let items = &scenario.adserver.line_items;
    let advertisers = &scenario.adserver.advertisers;
    // (member, line item or advertiser, cap index, window) → impressions
    let mut item_counts: BTreeMap<(u32, usize, usize, u32), u32> = BTreeMap::new();
    let mut advertiser_counts: BTreeMap<(u32, usize, usize, u32), u32> = BTreeMap::new();
    let mut bidder_counts: BTreeMap<(u32, usize, usize, u32), u32> = BTreeMap::new();
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
        let bidders = &scenario.adserver.bidders;
        assert!(
            record.items.len() + record.sales.len() <= usize::from(pod.max_slots),
            "pod over its slot count: {record:?}"
        );
        let seconds: u32 = record
            .items
            .iter()
            .map(|&idx| u32::from(items[idx].creative_duration_s))
            .sum::<u32>()
            + record
                .sales
                .iter()
                .map(|sale| u32::from(bidders[sale.bidder].creative_duration_s))
                .sum::<u32>();
        assert!(
            seconds <= u32::from(pod.max_duration_s),
            "pod over its duration: {record:?}"
        );
        // Separation and one ad per advertiser hold across direct and programmatic ads.
        let mut categories: Vec<u16> = record
            .items
            .iter()
            .filter_map(|&idx| items[idx].category)
            .chain(
                record
                    .sales
                    .iter()
                    .filter_map(|sale| bidders[sale.bidder].category),
            )
            .collect();
        let n_categories = categories.len();
        categories.sort_unstable();
        categories.dedup();
        assert_eq!(
            categories.len(),
            n_categories,
            "competitive separation broken: {record:?}"
        );
        if !scenario.adserver.allow_same_advertiser {
            let mut pod_advertisers: Vec<usize> = record
                .items
                .iter()
                .map(|&idx| items[idx].advertiser)
                .chain(
                    record
                        .sales
                        .iter()
                        .map(|sale| bidders[sale.bidder].advertiser),
                )
                .collect();
            let n_ads = pod_advertisers.len();
            pod_advertisers.sort_unstable();
            pod_advertisers.dedup();
            assert_eq!(
                pod_advertisers.len(),
                n_ads,
                "two ads of one advertiser: {record:?}"
            );
        }
        for sale in &record.sales {
            let spec = &bidders[sale.bidder];
            for (cap_idx, cap) in spec.caps.iter().enumerate() {
                let window = cap.period.window(request.at, request.utc_offset_minutes);
                let count = bidder_counts
                    .entry((request.member, sale.bidder, cap_idx, window))
                    .or_default();
                *count += 1;
                assert!(
                    *count <= u32::from(cap.max),
                    "{} cap {cap:?} exceeded for member {}",
                    spec.name,
                    request.member
                );
            }
            // GSP and VCG price per unit of position weight: a slot of weight w clears at
            // no less than w × floor and no more than w × bid.
            let weight = match scenario.adserver.exchange.auction {
                AuctionKind::Gsp | AuctionKind::Vcg => {
                    scenario.adserver.exchange.position_weights[usize::from(sale.position)]
                }
                AuctionKind::FirstPrice | AuctionKind::SecondPrice => 1.0,
            };
            let scaled = |amount: adsim::money::Micros| (weight * amount.0 as f64).round() as i64;
            assert!(
                sale.price.0 >= scaled(sale.floor),
                "sold below its floor: {sale:?}"
            );
            assert!(
                sale.price.0 <= scaled(sale.bid),
                "paid more than its bid: {sale:?}"
            );
            if scenario.adserver.exchange.auction == AuctionKind::FirstPrice {
                assert_eq!(
                    sale.price, sale.bid,
                    "a first-price winner pays its bid: {sale:?}"
                );
            }
            if let Some(budget) = spec.budget {
                // The budget is checked before bidding, so one sale may cross it, no more.
                assert!(
                    sale.spent - sale.price.cost_of(1).0 < budget.0,
                    "{} bid past its budget: {sale:?}",
                    spec.name
                );
            }
            placed_total += 1;
        }
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
    if items.iter().any(|item| !item.caps.is_empty()) {
        assert!(
            metrics.items.iter().any(|item| item.lost_to_caps > 0),
            "no cap ever bound"
        );
    }
    simulation
}

#[test]
fn serving_respects_caps_pods_separation_flights_and_goals() {
    for seed in [1, 2, 3] {
        let mut scenario = crate::load("quickstart.toml", &["members.count=30000"]);
        scenario.seed = seed;
        let _ = check(&scenario);
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
    let _ = check(&scenario);
}

#[test]
fn programmatic_sales_respect_pods_floors_prices_and_budgets() {
    for (auction, seed) in [
        ("first_price", 1),
        ("second_price", 2),
        ("gsp", 3),
        ("vcg", 4),
    ] {
        let exchange = format!("exchange.auction={auction}");
        let mut scenario = crate::load(
            "streaming_day.toml",
            &[
                "members.count=60000",
                "duration=6h",
                &exchange,
                // Small budgets spent as fast as possible, so that they run out.
                "bidders.0.budget=5",
                "bidders.0.pacing=asap",
                "bidders.1.budget=3",
                "bidders.1.pacing=asap",
                "bidders.2.budget=1",
                "bidders.2.pacing=asap",
            ],
        );
        scenario.seed = seed;
        let simulation = check(&scenario);
        let sold: usize = simulation
            .server()
            .trace()
            .iter()
            .map(|record| record.sales.len())
            .sum();
        assert!(sold > 1_000, "{auction}: only {sold} programmatic sales");
        let exhausted = simulation
            .metrics()
            .bidders
            .iter()
            .filter(|b| b.exhausted_at.is_some())
            .count();
        assert!(
            exhausted >= 2,
            "{auction}: budgets should run out ({exhausted} did)"
        );
    }
}

#[test]
fn price_priority_items_compete_in_the_auction_at_their_cpm() {
    // The sponsorship of floor_sweep (CPM 30, well above the DSPs' values) turned into an
    // uncapped price-priority item: it must win auctions, be billed its CPM, and respect pods.
    let scenario = crate::load(
        "floor_sweep.toml",
        &[
            "members.count=20000",
            "duration=6h",
            "line_items.0.priority=price_priority",
            "line_items.0.frequency_caps=[]",
            "exchange.bid_landscape=true",
        ],
    );
    let simulation = check(&scenario);
    let metrics = simulation.metrics();
    let item = &metrics.items[0];
    assert!(
        item.impressions > 100,
        "the price-priority item won {} slots",
        item.impressions
    );
    // Every sale to it is recorded at 30.00 CPM: the landscape's 30.00–30.25 bucket holds them.
    let landscape = metrics.auction.landscape.as_ref().unwrap();
    let bucket = (30_000_000 / adsim::metrics::LANDSCAPE_BUCKET) as usize;
    let at_30: u64 = (0..metrics.n_hours)
        .map(|hour| u64::from(landscape[hour * adsim::metrics::LANDSCAPE_BUCKETS + bucket]))
        .sum();
    assert!(
        at_30 >= item.impressions,
        "{at_30} sales at 30 CPM for {} impressions",
        item.impressions
    );
}
