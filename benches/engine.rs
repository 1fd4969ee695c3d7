//! Criterion benches of the engine and of decisioning.
//!
//! Each asserts a checksum of the work it measures (requests and impressions, pinned for the
//! current RNG streams and crate versions), so an optimisation that changes behaviour fails
//! loudly instead of looking fast. Refresh the pins only for an intended change of results.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use adsim::auction::{AuctionKind, Bid, Pod};
use adsim::engine::{Event, EventQueue, Simulation};
use adsim::money::Micros;
use adsim::scenario::{self, Scenario};
use adsim::traffic::{AdRequest, ExpectedTraffic, Synthetic, TrafficSource};

/// quickstart.toml, two hours of it: 100k members, ten line items.
fn quickstart() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    scenario::load(&path, &["duration=2h".to_string()]).expect("quickstart loads")
}

const QUICKSTART_2H_REQUESTS: u64 = 33_946;
const QUICKSTART_2H_IMPRESSIONS: u64 = 86_863;

fn engine(c: &mut Criterion) {
    let scenario = quickstart();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(QUICKSTART_2H_REQUESTS));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("quickstart_2h_run", |b| {
        b.iter(|| {
            let mut simulation = Simulation::new(black_box(&scenario));
            simulation.run();
            let metrics = simulation.metrics();
            assert_eq!(
                (metrics.requests, metrics.impressions),
                (QUICKSTART_2H_REQUESTS, QUICKSTART_2H_IMPRESSIONS)
            );
        })
    });
    group.finish();
}

fn decisioning(c: &mut Criterion) {
    // The requests of the run, generated once; the bench measures serving them only.
    let scenario = quickstart();
    let mut traffic = Synthetic::new(scenario.traffic.clone(), scenario.seed);
    let mut queue: EventQueue<Event> = EventQueue::default();
    let mut request = AdRequest::default();
    let mut requests = Vec::new();
    traffic.start(&mut queue);
    while let Some((at, Event::Traffic(event))) = queue.pop() {
        if at >= scenario.end {
            break;
        }
        if traffic.handle(event, at, &mut queue, &mut request) {
            requests.push(request);
        }
    }
    assert_eq!(requests.len() as u64, QUICKSTART_2H_REQUESTS);
    let dims = traffic.dimensions().clone();
    let expected = ExpectedTraffic::new(&scenario.traffic);
    let build = || {
        let mut server = adsim::engine::ad_server(&scenario, &traffic, &expected);
        for idx in 0..server.n_items() {
            server.start_flight(idx, scenario.start);
        }
        let metrics = adsim::engine::metrics_for(&scenario, &dims);
        (server, metrics)
    };
    let (mut server, mut metrics) = build();
    for request in &requests {
        server.serve(request, &mut metrics);
    }
    let checksum = metrics.impressions;
    let mut group = c.benchmark_group("decisioning");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("serve_quickstart_2h_requests", |b| {
        b.iter_batched(
            build,
            |(mut server, mut metrics)| {
                for request in &requests {
                    server.serve(black_box(request), &mut metrics);
                }
                assert_eq!(metrics.impressions, checksum);
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// 1,000 pods of 4 slots / 90 s, each with 20 bids (15 s or 30 s, 8 categories, 20
/// advertisers, floors at 1.00), drawn once from a fixed stream.
fn auction_instances() -> Vec<Vec<Bid>> {
    let mut stream = adsim::engine::Stream::new(7, "bench.auctions");
    (0..1_000)
        .map(|_| {
            (0..20u32)
                .map(|bidder| Bid {
                    bidder,
                    amount: Micros(500_000 + i64::from(stream.below(20_000_000))),
                    floor: Micros(1_000_000),
                    duration_s: if stream.chance(0.5) { 15 } else { 30 },
                    category: Some(stream.below(8) as u16),
                    advertiser: bidder,
                })
                .collect()
        })
        .collect()
}

/// Sum of all prices of the 1,000 instances, per mechanism [CPM micros].
const AUCTION_CHECKSUMS: [(&str, i64); 4] = [
    ("first_price", 68_570_784_180),
    ("gsp", 55_114_385_840),
    ("second_price", 63_512_962_988),
    ("vcg", 50_858_497_439),
];

fn auctions(c: &mut Criterion) {
    let instances = auction_instances();
    let weights = [1.0, 0.9, 0.8, 0.7];
    let pod = Pod {
        slots: 4,
        seconds: 90,
        used_categories: &[],
        used_advertisers: &[],
        allow_same_advertiser: false,
        weights: &weights,
    };
    let mut group = c.benchmark_group("auction");
    group.throughput(Throughput::Elements(instances.len() as u64));
    for (name, pinned) in AUCTION_CHECKSUMS {
        let mechanism = AuctionKind::from_name(name).expect("registered").build();
        let mut awards = Vec::new();
        let mut checksum = || -> i64 {
            instances
                .iter()
                .map(|bids| {
                    mechanism.run(black_box(bids), &pod, &mut awards);
                    awards.iter().map(|award| award.price.0).sum::<i64>()
                })
                .sum::<i64>()
        };
        assert_eq!(checksum(), pinned, "{name}: prices changed");
        group.bench_function(format!("{name}_20_bids"), |b| {
            b.iter(|| assert_eq!(checksum(), pinned))
        });
    }
    group.finish();
}

criterion_group!(benches, engine, decisioning, auctions);
criterion_main!(benches);
