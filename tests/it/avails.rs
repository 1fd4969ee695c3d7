//! `adsim avails` on a small contended instance computed by hand.

use crate::{adsim, assert_ok};

const SCENARIO: &str = r#"schema_version = 1
name = "avails"
seed = 1
start = 2026-11-02T00:00:00Z
duration = "1h"

[members]
count = 1000
device = { tv = 0.5, mobile = 0.5 }

[[members.countries]]
name = "US"
share = 0.5
utc_offset = "+00:00"

[[members.countries]]
name = "GB"
share = 0.5
utc_offset = "+00:00"

[breaks]
pre_roll = { enabled = false }
mid_roll = { max_slots = 1, max_duration = "30s", slot_durations = ["30s"] }

[[line_items]]
name = "A: TV"
advertiser = "A"
priority = "standard"
cpm = 10.0
goal = GOAL_A
targeting = { include = { device = ["tv"] } }

[[line_items]]
name = "B: US"
advertiser = "B"
priority = "standard"
cpm = 10.0
goal = 100
targeting = { include = { country = ["US"] } }
"#;

/// Forecast for the one hour: US-tv 100, US-mobile 50, GB-tv 30, GB-mobile 20 requests of one
/// slot each.
const FORECAST: &str = "hour,country,device,requests
2026-11-02T00:00:00Z,US,tv,100
2026-11-02T00:00:00Z,US,mobile,50
2026-11-02T00:00:00Z,GB,tv,30
2026-11-02T00:00:00Z,GB,mobile,20
";

fn avails(goal_a: u32, target: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, SCENARIO.replace("GOAL_A", &goal_a.to_string())).unwrap();
    let forecast = dir.path().join("forecast.csv");
    std::fs::write(&forecast, FORECAST).unwrap();
    let output = adsim(&[
        "avails",
        scenario.to_str().unwrap(),
        "--forecast",
        forecast.to_str().unwrap(),
        "--target",
        target,
        "--json",
    ]);
    assert_ok(&output);
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn avails_account_for_contention_between_booked_items() {
    // Booked: A (TV) 70, B (US) 100. B needs 100 of the 150 US requests, so at least 50 of
    // US-TV; A's 70 TV impressions then come from the other 50 US-TV and 20 of GB-TV.
    // GB left: GB-TV 10 + GB-mobile 20 = 30. TV left: 130 − 50 − 70 = 10 (B cannot avoid 50
    // US-TV). US left: A can take all 30 GB-TV, so US gives A only 40: 150 − 100 − 40 = 10.
    let cases = [
        ("country=GB", 30.0, 50.0),
        ("device=tv", 10.0, 130.0),
        ("country=US", 10.0, 150.0),
    ];
    for (target, available, eligible) in cases {
        let answer = avails(70, target);
        let got = answer["available"].as_f64().unwrap();
        assert!(
            (got - available).abs() < 1e-6,
            "{target}: {got} vs {available}"
        );
        assert!((answer["eligible_requests"].as_f64().unwrap() - eligible).abs() < 1e-6);
        assert_eq!(answer["booked"].as_f64().unwrap(), 170.0);
        assert_eq!(answer["booked_deliverable"].as_f64().unwrap(), 170.0);
    }
    // Overbooked: A 90 + B 100 = 190 of the 180 requests A or B can take: 180 deliverable,
    // nothing left for TV.
    let answer = avails(90, "device=tv");
    assert_eq!(answer["booked_deliverable"].as_f64().unwrap(), 180.0);
    assert_eq!(answer["available"].as_f64().unwrap(), 0.0);
}

#[test]
fn avails_reject_bad_queries() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, SCENARIO.replace("GOAL_A", "70")).unwrap();
    let scenario = scenario.to_str().unwrap();
    for (args, needle) in [
        (vec!["--target", "device=toaster"], "unknown device"),
        (vec!["--target", "colour=red"], "unknown attribute"),
        (vec!["--target", "device"], "ATTRIBUTE=V1,V2"),
        (vec!["--from", "2026-11-02T00:30:00Z"], "whole UTC hour"),
        (vec!["--forecast", "/nonexistent.csv"], "cannot read"),
    ] {
        let mut all = vec!["avails", scenario];
        all.extend(args);
        let output = adsim(&all);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
}
