//! User response: completion and click rates, and conversion delays against their
//! configured distribution (Kolmogorov–Smirnov).

use adsim::response::{Delay, ResponseKind};
use adsim::scenario;
use adsim::time::SimDuration;

fn scenario_text(delay: &str) -> String {
    format!(
        r#"
schema_version = 1
name = "response"
seed = 9
start = 2026-11-02T00:00:00Z
duration = "1d"

[members]
count = 20000

[[members.countries]]
name = "ZZ"
share = 1.0
utc_offset = "+00:00"

[viewing]
sessions_per_member_per_day = 1.0

[breaks]
pre_roll = {{ max_slots = 1, max_duration = "30s", slot_durations = ["30s"] }}
mid_roll = {{ enabled = false }}

[response]
completion = {{ base = 0.9, per_position = 0.1, per_extra_slot = 0.05 }}
ctr = {{ default = "20%" }}
conversion = {{ rate = "50%", delay = {delay}, window = "60d" }}

[[line_items]]
name = "house"
advertiser = "House"
priority = "house"
cpm = 0.0
"#
    )
}

/// Delays [µs] from click to conversion of every conversion drawn in a run.
fn delays(text: &str) -> (Vec<f64>, adsim::report::Summary) {
    let scenario = scenario::from_text(text, "response.toml", &[]).unwrap();
    let simulation = crate::simulate(&scenario, true);
    let mut out = Vec::new();
    for pod in simulation.server().trace() {
        // One slot per pod: a conversion follows its own click.
        let click = pod
            .responses
            .iter()
            .find(|(_, r)| r.kind == ResponseKind::Click);
        let conversion = pod
            .responses
            .iter()
            .find(|(_, r)| r.kind == ResponseKind::Conversion);
        if let (Some((clicked, _)), Some((converted, _))) = (click, conversion) {
            out.push((*converted - *clicked).0 as f64);
        }
    }
    let summary = adsim::report::summary(&scenario, &simulation);
    (out, summary)
}

/// The Kolmogorov–Smirnov statistic of `sample` against `cdf`.
fn ks_statistic(mut sample: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    sample.sort_by(f64::total_cmp);
    let n = sample.len() as f64;
    sample
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn conversion_delays_follow_the_configured_distribution() {
    // The 60-day window cuts off no measurable mass (P(delay > 60 d) < 1e-9 for both), so
    // every drawn conversion is attributed and in the trace. Critical value of the KS test
    // at the 0.1% level: 1.949 / sqrt(n). The wrong distribution (the other one of the two,
    // with the same median) must fail it.
    let cases = [
        (
            r#"{ distribution = "lognormal", median = "2h", sigma = 1.0 }"#,
            Delay::LogNormal {
                median: SimDuration::HOUR * 2,
                sigma: 1.0,
            },
            Delay::Exponential {
                mean: SimDuration::from_secs((2.0 * 3600.0 / std::f64::consts::LN_2) as i64),
            },
        ),
        (
            r#"{ distribution = "exponential", mean = "6h" }"#,
            Delay::Exponential {
                mean: SimDuration::HOUR * 6,
            },
            Delay::LogNormal {
                median: SimDuration::from_secs((6.0 * 3600.0 * std::f64::consts::LN_2) as i64),
                sigma: 1.0,
            },
        ),
    ];
    for (spec, delay, wrong) in cases {
        let (sample, _) = delays(&scenario_text(spec));
        let n = sample.len();
        assert!(n > 1_000, "{spec}: only {n} conversions");
        let critical = 1.949 / (n as f64).sqrt();
        let d = ks_statistic(sample.clone(), |x| delay.cdf(x));
        assert!(d < critical, "{spec}: D = {d:.4} ≥ {critical:.4} (n = {n})");
        let d_wrong = ks_statistic(sample, |x| wrong.cdf(x));
        assert!(
            d_wrong > critical,
            "{spec}: the wrong law passes, D = {d_wrong:.4}"
        );
    }
}

#[test]
fn completion_and_click_rates_match_the_model() {
    // One-slot pods: position 0, no extra slots, so P(complete) = base = 0.9; CTR 20%.
    // Clicks are counted when they happen (all within the day here, as they happen at the
    // ad's end), conversions only when attributed before the run's end. ±4 standard errors.
    let (_, summary) = delays(&scenario_text(
        r#"{ distribution = "exponential", mean = "1h" }"#,
    ));
    let house = &summary.line_items[0];
    let n = house.impressions as f64;
    for (label, observed, p) in [
        ("completion", house.responses.completion_rate, 0.9),
        ("ctr", house.responses.ctr, 0.2),
    ] {
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (observed - p).abs() <= 4.0 * se,
            "{label}: {observed:.4} vs {p} ± {:.4}",
            4.0 * se
        );
    }
    // Conversions after the day's end are pending, not counted.
    assert!(summary.totals.responses_after_end > 0);
    assert!(summary.totals.conversions < house.responses.clicks / 2 + 1);
}
