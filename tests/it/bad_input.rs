//! Bad input: every class of scenario error exits with code 2, names the line and the field,
//! and leaves no output files behind.

use std::path::Path;

use crate::{adsim, assert_ok, read_json};

const VALID: &str = r#"schema_version = 1
name = "tiny"
seed = 3
start = 2026-11-02T00:00:00Z
duration = "2h"

[members]
count = 2000

[[members.countries]]
name = "US"
share = 0.7
utc_offset = "-05:00"

[[members.countries]]
name = "GB"
share = 0.3
utc_offset = "+00:00"

[[line_items]]
name = "A"
advertiser = "Acme"
priority = "standard"
cpm = 10.0
goal = 500
targeting = { include = { country = ["US"] } }

[[line_items]]
name = "B"
advertiser = "Acme"
priority = 6
cpm = 5
frequency_caps = [{ max = 2, per = "day" }]
"#;

/// Runs `adsim run` on `text` (with extra args) and returns (exit code, stderr, files left).
fn run_text(text: &str, extra: &[&str]) -> (i32, String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("out");
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let output = adsim(&args);
    let left = list(&out);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        left,
    )
}

fn list(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a rejected input: exit 2, each `needle` in the message, no outputs.
fn rejected(text: &str, extra: &[&str], needles: &[&str]) {
    let (code, stderr, left) = run_text(text, extra);
    assert_eq!(
        code, 2,
        "expected exit code 2, got {code}; stderr:\n{stderr}"
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "message lacks {needle:?}:\n{stderr}"
        );
    }
    assert!(left.is_empty(), "outputs were written: {left:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_valid_base_runs() {
    let (code, stderr, left) = run_text(VALID, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(left.contains(&"summary.json".to_string()), "{left:?}");
}

#[test]
fn toml_syntax_error() {
    rejected(
        &VALID.replace("name = \"tiny\"", "name = \"tiny"),
        &[],
        &["line 2", "scenario.toml"],
    );
}

#[test]
fn unknown_or_misspelt_field() {
    rejected(
        &VALID.replace("duration = \"2h\"", "duration = \"2h\"\ndurration = \"1d\""),
        &[],
        &["line 6", "durration"],
    );
    rejected(
        &VALID.replace("cpm = 10.0", "cpm = 10.0\ngoall = 3"),
        &[],
        &["line 25", "line_items.0.goall"],
    );
}

#[test]
fn wrong_type() {
    rejected(
        &VALID.replace("cpm = 10.0", "cpm = \"ten\""),
        &[],
        &["line 24", "line_items.0.cpm", "expected"],
    );
}

#[test]
fn missing_required_field() {
    rejected(
        &VALID.replace("start = 2026-11-02T00:00:00Z\n", ""),
        &[],
        &["start", "missing"],
    );
    rejected(
        &VALID.replace("advertiser = \"Acme\"\npriority = 6", "priority = 6"),
        &[],
        &["line_items.1.advertiser", "line 28"],
    );
}

#[test]
fn bad_units() {
    rejected(
        &VALID.replace("duration = \"2h\"", "duration = \"2x\""),
        &[],
        &["line 5", "duration", "unknown unit"],
    );
    rejected(
        &VALID.replace("start = 2026-11-02T00:00:00Z", "start = \"yesterday\""),
        &[],
        &["line 4", "start", "date-time"],
    );
    rejected(
        &VALID.replace("utc_offset = \"-05:00\"", "utc_offset = \"-05:10\""),
        &[],
        &["line 13", "members.countries.0.utc_offset"],
    );
}

#[test]
fn out_of_range_values() {
    rejected(
        &VALID.replace("share = 0.7", "share = 1.7"),
        &[],
        &["line 12", "members.countries.0.share", "between 0 and 1"],
    );
    rejected(
        &VALID.replace("goal = 500", "goal = -5"),
        &[],
        &["line 25", "line_items.0.goal"],
    );
    rejected(
        &VALID.replace("priority = 6", "priority = 17"),
        &[],
        &["line 31", "line_items.1.priority"],
    );
    rejected(
        &VALID.replace("schema_version = 1", "schema_version = 2"),
        &[],
        &["line 1", "schema_version"],
    );
}

#[test]
fn unknown_reference() {
    rejected(
        &VALID.replace("country = [\"US\"]", "country = [\"FR\"]"),
        &[],
        &[
            "line 26",
            "targeting.include.country.0",
            "unknown country \"FR\"",
            "`US`, `GB`",
        ],
    );
    rejected(
        &VALID.replace("country = [\"US\"]", "continent = [\"EU\"]"),
        &[],
        &["line 26", "unknown attribute `continent`"],
    );
    rejected(
        &VALID.replace("per = \"day\"", "per = \"fortnight\""),
        &[],
        &["line 33", "line_items.1.frequency_caps.0.per"],
    );
}

#[test]
fn bad_overrides() {
    rejected(
        VALID,
        &["--set", "members.count=abc"],
        &["--set #1", "members.count"],
    );
    rejected(
        VALID,
        &["--set", "line_items.9.cpm=1"],
        &["--set #1", "line_items"],
    );
    rejected(VALID, &["--set", "nonsense"], &["--set #1"]);
    rejected(
        VALID,
        &["--set", "line_items.0.cpmm=3"],
        &["--set #1", "line_items.0.cpmm"],
    );
}

#[test]
fn bad_flags_and_missing_files() {
    let output = adsim(&["run", "/nonexistent/scenario.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/scenario.toml"));
    let output = adsim(&["run", "scenarios/quickstart.toml", "--seed", "minus-one"]);
    assert_eq!(output.status.code(), Some(2));
    let output = adsim(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn validate_reports_every_problem_at_once() {
    let text = VALID
        .replace("cpm = 10.0", "cpm = -1.0")
        .replace("utc_offset = \"+00:00\"", "utc_offset = \"GMT\"")
        .replace("per = \"day\"", "per = \"year\"")
        .replace("duration = \"2h\"", "duration = \"2h\"\ncolour = \"blue\"");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.toml");
    std::fs::write(&file, text).unwrap();
    let output = adsim(&["validate", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needle in [
        "4 problems",
        "colour",
        "members.countries.1.utc_offset",
        "line_items.0.cpm",
        "line_items.1.frequency_caps.0.per",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
}

#[test]
fn inconsistent_settings() {
    rejected(
        &VALID.replace("share = 0.3", "share = 0.5"),
        &[],
        &["members.countries", "add up to 1"],
    );
    rejected(
        &VALID.replace(
            "start = 2026-11-02T00:00:00Z",
            "start = 2026-11-02T00:30:00Z",
        ),
        &[],
        &["line 4", "whole hour"],
    );
    rejected(
        &VALID.replace("seed = 3", "seed = -3"),
        &[],
        &["line 3", "seed"],
    );
    rejected(
        VALID,
        &["--set", "line_items.0.creative_duration=120s"],
        &[
            "--set #1",
            "line_items.0.creative_duration",
            "no enabled pod",
        ],
    );
    rejected(
        VALID,
        &["--set", "breaks.pre_roll.max_duration=10s"],
        &[
            "--set #1",
            "breaks.pre_roll.max_duration",
            "shorter than its shortest slot",
        ],
    );
    rejected(
        VALID,
        &["--set", "content.catalogue_titles=0"],
        &["content", "no title is watchable"],
    );
    let late_launch = format!(
        "{VALID}\n[content]\ncatalogue_titles = 0\n[[content.titles]]\nname = \"Later\"\nshare = 0.5\nlaunch = 2026-11-02T01:00:00Z\n"
    );
    rejected(&late_launch, &[], &["no title is watchable"]);
}

#[test]
fn a_disabled_break_needs_no_pod_fields() {
    let (code, stderr, _) = run_text(VALID, &["--set", "breaks.mid_roll.enabled=false"]);
    assert_eq!(code, 0, "{stderr}");
    rejected(
        VALID,
        &[
            "--set",
            "breaks.mid_roll.enabled=false",
            "--set",
            "breaks.pre_roll.enabled=false",
        ],
        &["both break kinds are disabled"],
    );
}

#[test]
fn every_bad_field_of_one_table_is_reported() {
    let text = VALID
        .replace("cpm = 10.0", "cpm = \"ten\"\nshade = \"blue\"")
        .replace("goal = 500", "goal = \"lots\"");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fields.toml");
    std::fs::write(&file, text).unwrap();
    let output = adsim(&["validate", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needle in [
        "3 problems",
        "line 24",
        "line_items.0.cpm",
        "line 25",
        "line_items.0.shade",
        "line 26",
        "line_items.0.goal",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
}

const BIDDER: &str = r#"
[[bidders]]
name = "dsp"
value = { distribution = "uniform", low = 1.0, high = 3.0 }
strategy = { name = "shaded", alpha = 0.8 }
creative_duration = "15s"
"#;

#[test]
fn bidder_and_exchange_errors() {
    let with_bidder = format!("{VALID}{BIDDER}");
    let (code, stderr, _) = run_text(&with_bidder, &[]);
    assert_eq!(code, 0, "{stderr}");
    rejected(
        &with_bidder,
        &["--set", "bidders.0.strategy.alpha=1.5"],
        &["bidders.0.strategy.alpha", "(0, 1]"],
    );
    rejected(
        &with_bidder,
        &["--set", "bidders.0.strategy.name=clairvoyant"],
        &["bidders.0.strategy.name", "unknown strategy"],
    );
    rejected(
        &with_bidder,
        &["--set", "bidders.0.value.distribution=gamma"],
        &["bidders.0.value.distribution", "unknown distribution"],
    );
    rejected(
        &with_bidder,
        &["--set", "bidders.0.value.mean=2"],
        &["bidders.0.value.mean", "does not apply"],
    );
    rejected(
        &with_bidder,
        &["--set", "bidders.0.value.high=0.5"],
        &["bidders.0.value.high", "above low"],
    );
    rejected(
        &with_bidder,
        &["--set", "bidders.0.pacing=even"],
        &["bidders.0.pacing", "needs a budget"],
    );
    rejected(
        &with_bidder,
        &["--set", "exchange.auction=dutch"],
        &["exchange.auction", "unknown auction"],
    );
    rejected(
        &with_bidder,
        &["--set", "exchange.position_weights=[0.5, 0.9]"],
        &["exchange.position_weights", "non-increasing"],
    );
    rejected(
        &with_bidder,
        &["--set", "exchange.floor_cpm=-1"],
        &["exchange.floor_cpm"],
    );
    rejected(
        &with_bidder,
        &[
            "--set",
            "exchange.floors=[{ match = { country = [\"FR\"] }, cpm = 2.0 }]",
        ],
        &["exchange.floors.0.match.country.0", "unknown country"],
    );
    rejected(
        &with_bidder,
        &["--set", "bidders.0.latency={ median = \"fast\" }"],
        &["bidders.0.latency.median"],
    );
}

#[test]
fn empirical_values_come_from_a_csv_next_to_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("values.csv"), "value\n1.5\n2.5\n").unwrap();
    let text = format!("{VALID}{BIDDER}").replace(
        "value = { distribution = \"uniform\", low = 1.0, high = 3.0 }",
        "value = { distribution = \"empirical\", file = \"values.csv\" }",
    );
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, &text).unwrap();
    let out = dir.path().join("out");
    let output = adsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_ok(&output);
    let summary: serde_json::Value = read_json(out.join("summary.json"));
    // Shaded by 0.8, alone in first... second price with no competitor: it pays the floor (0);
    // what matters here is that it bid, i.e. the file's values were read.
    assert!(summary["bidders"][0]["bids"].as_u64().unwrap() > 0);
    std::fs::write(dir.path().join("values.csv"), "value\n1.5\nlots\n").unwrap();
    let output = adsim(&["validate", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("values.csv:3") && stderr.contains("bidders.0.value.file"),
        "{stderr}"
    );
    std::fs::remove_file(dir.path().join("values.csv")).unwrap();
    let output = adsim(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));
}

#[test]
fn pacing_response_and_allocation_errors() {
    let with_bidder = format!("{VALID}{BIDDER}");
    rejected(
        &with_bidder,
        &[
            "--set",
            "bidders.0.pacing={ name = \"pid\", kp = -1 }",
            "--set",
            "bidders.0.budget=10",
        ],
        &["bidders.0.pacing.kp", "a gain from 0 to 1000"],
    );
    rejected(
        &with_bidder,
        &[
            "--set",
            "bidders.0.pacing={ name = \"dual\", kp = 1 }",
            "--set",
            "bidders.0.budget=10",
        ],
        &["bidders.0.pacing.kp", "does not apply to dual pacing"],
    );
    rejected(
        &with_bidder,
        &[
            "--set",
            "bidders.0.pacing={ name = \"kpi_pid\", target = 2 }",
        ],
        &["bidders.0.pacing", "missing field `kpi`"],
    );
    rejected(
        &with_bidder,
        &[
            "--set",
            "bidders.0.pacing={ name = \"kpi_pid\", kpi = \"roas\", target = 2 }",
        ],
        &["bidders.0.pacing.kpi", "unknown kpi"],
    );
    rejected(
        &with_bidder,
        &["--set", "bidders.0.pacing=\"pid\""],
        &["bidders.0.pacing", "needs a budget"],
    );
    rejected(
        VALID,
        &["--set", "line_items.0.pacing=\"dual\""],
        &["line_items.0.pacing", "for bidders"],
    );
    rejected(
        VALID,
        &["--set", "line_items.0.pacing=\"warp\""],
        &["line_items.0.pacing", "unknown pacing"],
    );
    rejected(
        VALID,
        &["--set", "adserver.budget_sync=\"soon\""],
        &["adserver.budget_sync"],
    );
    rejected(
        VALID,
        &["--set", "response.ctr={ default = 1.5 }"],
        &["response.ctr.default"],
    );
    rejected(
        VALID,
        &[
            "--set",
            "response.ctr={ default = 0.01, rules = [{ match = { device = [\"toaster\"] }, ctr = 0.02 }] }",
        ],
        &["response.ctr.rules.0.match.device.0"],
    );
    rejected(
        VALID,
        &[
            "--set",
            "response.conversion={ rate = 0.1, delay = { distribution = \"gamma\", mean = \"1h\" }, window = \"1d\" }",
        ],
        &["response.conversion.delay"],
    );
    rejected(
        VALID,
        &["--set", "response.completion={ base = 0.9, speed = 2 }"],
        &["response.completion.speed"],
    );
    rejected(
        VALID,
        &["--set", "allocation.plan=\"fair\""],
        &["allocation.plan", "unknown plan"],
    );
    rejected(
        VALID,
        &[
            "--set",
            "allocation={ plan = \"hwm\", forecast = \"missing.csv\" }",
        ],
        &["allocation.forecast", "cannot read"],
    );
}

#[test]
fn forecast_file_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{VALID}\n[allocation]\nplan = \"hwm\"\nforecast = \"forecast.csv\"\n");
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, &text).unwrap();
    let validate = |csv: &str| {
        std::fs::write(dir.path().join("forecast.csv"), csv).unwrap();
        let output = adsim(&["validate", file.to_str().unwrap()]);
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let good = "hour,country,requests\n2026-11-02T00:00:00Z,US,100\n2026-11-02T00:00:00Z,GB,40\n";
    let (code, stderr) = validate(good);
    assert_eq!(code, Some(0), "{stderr}");
    for (csv, needles) in [
        (
            "hour,requests\n2026-11-02T00:00:00Z,100\n",
            vec!["forecast.csv:1", "no column \"country\""],
        ),
        (
            "hour,country,requests,colour\n2026-11-02T00:00:00Z,US,100,red\n",
            vec!["forecast.csv:1", "unknown column \"colour\""],
        ),
        (
            "hour,country,requests\n2026-11-02T00:00:00Z,US,100\n2026-11-02T00:30:00Z,US,100\n",
            vec!["forecast.csv:3", "column `hour`", "whole UTC hour"],
        ),
        (
            "hour,country,requests\n2026-11-02T00:00:00Z,FR,100\n",
            vec!["forecast.csv:2", "column `country`", "unknown value \"FR\""],
        ),
        (
            "hour,country,requests\n2026-11-02T00:00:00Z,US,-3\n",
            vec!["forecast.csv:2", "column `requests`", "non-negative"],
        ),
    ] {
        let (code, stderr) = validate(csv);
        assert_eq!(code, Some(2), "{csv}: {stderr}");
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{csv}: lacks {needle:?}:\n{stderr}"
            );
        }
        assert!(stderr.contains("allocation.forecast"), "{stderr}");
    }
    // A valid file drives the plan: the run reports it.
    std::fs::write(dir.path().join("forecast.csv"), good).unwrap();
    let out = dir.path().join("out");
    let output = adsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(output.status.success());
    let summary: serde_json::Value = read_json(out.join("summary.json"));
    assert_eq!(summary["allocation"]["forecast"], "forecast.csv");
    assert_eq!(summary["allocation"]["forecast_requests"], 140.0);
}

#[test]
fn inventory_errors() {
    rejected(
        VALID,
        &["--set", "inventory.keys=[\"country\", \"colour\"]"],
        &["inventory.keys.1", "unknown attribute"],
    );
    rejected(
        VALID,
        &["--set", "inventory.keys=[\"device\", \"device\"]"],
        &["inventory.keys.1", "listed twice"],
    );
    rejected(
        VALID,
        &["--set", "inventory.grain=\"minute\""],
        &["inventory.grain"],
    );
    // 2 hours × titles × local hours × weekdays × devices … beyond the cell limit.
    rejected(
        VALID,
        &[
            "--set",
            "duration=\"52w\"",
            "--set",
            "inventory.keys=[\"title\", \"local_hour\", \"device\", \"age_band\"]",
        ],
        &["inventory.keys", "inventory cells"],
    );
}
