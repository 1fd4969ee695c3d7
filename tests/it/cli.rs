//! The command line: outputs written, summary printed, quiet mode, help, validate.

use crate::{adsim, assert_ok, scenario_path};

#[test]
fn run_writes_every_output_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_path("quickstart.toml");
    let output = adsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
        "--set",
        "duration=3h",
    ]);
    assert_ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "scenario quickstart",
        "seed 42",
        "fill",
        "eCPM",
        "Crunchy Co TV families",
    ] {
        assert!(
            stdout.contains(needle),
            "summary lacks {needle:?}:\n{stdout}"
        );
    }
    for file in ["summary.json", "delivery.csv", "inventory.csv", "run.json"] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["schema_version"], 3);
    assert_eq!(summary["seed"], 42);
    assert_eq!(summary["end"], "2026-11-02T03:00:00Z");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    assert!(run["requests_per_second"].as_f64().unwrap() > 0.0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn quiet_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_path("quickstart.toml");
    let output = adsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
        "--set",
        "duration=1h",
        "--quiet",
    ]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

#[test]
fn help_and_validate() {
    let output = adsim(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("run") && help.contains("validate") && help.contains("Exit codes"),
        "{help}"
    );
    let output = adsim(&["run", "--help"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("--set <PATH=VALUE>"));
    let scenario = scenario_path("quickstart.toml");
    let output = adsim(&["validate", scenario.to_str().unwrap()]);
    assert_ok(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("ok"));
}

#[test]
fn the_bid_landscape_is_written_on_request_and_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_path("floor_sweep.toml");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            scenario.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
            "--quiet",
        ];
        args.extend_from_slice(&["--set", "duration=3h", "--set", "members.count=30000"]);
        args.extend_from_slice(extra);
        let output = adsim(&args);
        assert_ok(&output);
    };
    run(&[]);
    assert!(!dir.path().join("bid_landscape.csv").exists());
    run(&["--set", "exchange.bid_landscape=true"]);
    let csv = std::fs::read_to_string(dir.path().join("bid_landscape.csv")).unwrap();
    let sales: u64 = csv
        .lines()
        .skip(1)
        .map(|line| line.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert!(sales > 0);
    assert_eq!(sales, summary["auction"]["slots_sold"].as_u64().unwrap());
    // No sale below the floor (4.00 CPM in this scenario).
    assert!(
        csv.lines()
            .skip(1)
            .all(|line| line.split(',').nth(1).unwrap().parse::<f64>().unwrap() >= 4.0)
    );
}
