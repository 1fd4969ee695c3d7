//! Criterion benches of the engine and of decisioning.
//!
//! Each asserts a checksum of the work it measures (requests and impressions, pinned for the
//! current RNG streams and crate versions), so an optimisation that changes behaviour fails
//! loudly instead of looking fast. Refresh the pins only for an intended change of results.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use adsim::adserver::AdServer;
use adsim::engine::{Event, EventQueue, Simulation};
use adsim::metrics::Metrics;
use adsim::scenario::{self, Scenario};
use adsim::traffic::{AdRequest, ExpectedTraffic, Synthetic, TrafficSource};

/// quickstart.toml, two hours of it: 100k members, ten line items.
fn quickstart() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    scenario::load(&path, &["duration=2h".to_string()]).expect("quickstart loads")
}

const QUICKSTART_2H_REQUESTS: u64 = 33_946;
const QUICKSTART_2H_IMPRESSIONS: u64 = 79_257;

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
    let offsets: Vec<i32> = scenario
        .traffic
        .countries
        .iter()
        .map(|c| c.utc_offset_minutes)
        .collect();
    let expected = ExpectedTraffic::new(&scenario.traffic);
    let build = || {
        let mut server = AdServer::new(
            &scenario.adserver,
            &dims,
            &offsets,
            &expected,
            traffic.n_members(),
            scenario.seed,
            (scenario.start, scenario.end),
        );
        for idx in 0..server.n_items() {
            server.start_flight(idx, scenario.start);
        }
        let metrics = Metrics::new(
            scenario.start,
            scenario.end,
            scenario.adserver.line_items.len(),
            scenario.adserver.bidders.len(),
            &dims,
        );
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

criterion_group!(benches, engine, decisioning);
criterion_main!(benches);
