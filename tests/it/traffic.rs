//! Traffic statistics: simulated arrivals match the configured profile.
//!
//! The synthetic source is driven on its own (no ad server) and its counts are compared with
//! the means of `ExpectedTraffic`, the same curve pacing relies on.

use adsim::engine::{Event, EventQueue};
use adsim::time::SimDuration;
use adsim::traffic::{
    AdRequest, BreakKind, DIM_COUNTRY, ExpectedTraffic, Synthetic, TrafficEvent, TrafficSource,
};

struct Counts {
    /// `sessions[country][hour]`
    sessions: Vec<Vec<f64>>,
    /// `requests[hour]`, pre-rolls and mid-rolls
    requests: Vec<f64>,
    titles_before_launch: u64,
}

fn count(overrides: &[&str], seed: u64) -> (Counts, ExpectedTraffic) {
    let mut scenario = crate::load("quickstart.toml", overrides);
    scenario.seed = seed;
    let config = scenario.traffic.clone();
    let expected = ExpectedTraffic::new(&config);
    let n_hours = expected.n_minutes / 60;
    let mut source = Synthetic::new(config.clone(), seed);
    let title_dim = source.dimensions().title();
    let launch = config.slate.titles[0].launch.unwrap();
    let mut queue: EventQueue<Event> = EventQueue::default();
    let mut request = AdRequest::default();
    let mut counts = Counts {
        sessions: vec![vec![0.0; n_hours]; config.countries.len()],
        requests: vec![0.0; n_hours],
        titles_before_launch: 0,
    };
    source.start(&mut queue);
    while let Some((at, event)) = queue.pop() {
        let Event::Traffic(traffic_event) = event else {
            unreachable!("only traffic events")
        };
        let hour = ((at - config.start).0 / SimDuration::HOUR.0) as usize;
        if source.handle(traffic_event, at, &mut queue, &mut request) {
            counts.requests[hour] += 1.0;
            if matches!(traffic_event, TrafficEvent::SessionArrival { .. }) {
                counts.sessions[usize::from(request.values[DIM_COUNTRY])][hour] += 1.0;
            }
            if request.values[title_dim] == 0 && at < launch {
                counts.titles_before_launch += 1;
            }
        }
    }
    (counts, expected)
}

#[test]
fn hourly_session_arrivals_follow_the_profile_in_local_time() {
    // Session starts per country and hour are Poisson with the expected mean, so each count
    // must lie within 4 standard deviations (sqrt(mean)); 72 cells × 3 seeds at 4σ leave a
    // false-alarm chance of about 1.4% for a correct simulator, and the seeds are fixed.
    for seed in [1, 2, 3] {
        let (counts, expected) = count(&[], seed);
        for (country, series) in counts.sessions.iter().enumerate() {
            for (hour, &observed) in series.iter().enumerate() {
                let mean: f64 = expected.sessions[country][hour * 60..(hour + 1) * 60]
                    .iter()
                    .sum();
                let sigma = mean.sqrt();
                assert!(
                    (observed - mean).abs() <= 4.0 * sigma + 1.0,
                    "seed {seed}, country {country}, hour {hour}: {observed} sessions, expected {mean:.1} ± {:.1}",
                    4.0 * sigma
                );
            }
        }
        // The profile really is in local time: the US (UTC−5) peaks at 21:00 local = 02:00 UTC,
        // Japan (UTC+9) at 21:00 local = 12:00 UTC.
        let peak = |series: &Vec<f64>| {
            series
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0
        };
        assert!(
            (1..=3).contains(&peak(&counts.sessions[0])),
            "US peak hour {}",
            peak(&counts.sessions[0])
        );
        assert!(
            (11..=13).contains(&peak(&counts.sessions[2])),
            "JP peak hour {}",
            peak(&counts.sessions[2])
        );
    }
}

#[test]
fn hourly_requests_match_the_expected_traffic_curve() {
    // Requests (pre-rolls + mid-rolls) per hour are a sum over Poisson sessions of at most
    // 1 + 60/15 = 5 breaks each inside one hour, so their variance is at most 5 × mean;
    // the bound is 4 such standard deviations.
    let (counts, expected) = count(&[], 11);
    let total = expected.cumulative_requests(|_, _, _| true);
    for (hour, &observed) in counts.requests.iter().enumerate() {
        let mean = total[(hour + 1) * 60] - total[hour * 60];
        let sigma = (5.0 * mean).sqrt();
        assert!(
            (observed - mean).abs() <= 4.0 * sigma,
            "hour {hour}: {observed} requests, expected {mean:.1} ± {:.1}",
            4.0 * sigma
        );
    }
    let _ = BreakKind::PreRoll;
}

#[test]
fn launched_titles_are_not_watched_before_launch() {
    let (counts, _) = count(&[], 5);
    assert_eq!(counts.titles_before_launch, 0);
}
