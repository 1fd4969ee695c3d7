//! Same scenario and seed ⇒ byte-identical files; another seed ⇒ different results.

use crate::{adsim, assert_ok, scenario_path};

const DETERMINISTIC_FILES: [&str; 4] = [
    "summary.json",
    "delivery.csv",
    "inventory.csv",
    "report.html",
];

fn run_into(dir: &std::path::Path, extra: &[&str]) {
    run_scenario_into("quickstart.toml", dir, extra);
}

fn run_scenario_into(name: &str, dir: &std::path::Path, extra: &[&str]) {
    let scenario = scenario_path(name);
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let output = adsim(&args);
    assert_ok(&output);
}

#[test]
fn same_seed_gives_byte_identical_outputs() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let other_seed = tempfile::tempdir().unwrap();
    run_into(first.path(), &["--set", "duration=6h"]);
    run_into(second.path(), &["--set", "duration=6h"]);
    run_into(other_seed.path(), &["--set", "duration=6h", "--seed", "7"]);
    for name in DETERMINISTIC_FILES {
        let a = std::fs::read(first.path().join(name)).unwrap();
        let b = std::fs::read(second.path().join(name)).unwrap();
        assert!(a == b, "{name} differs between two runs with the same seed");
        let c = std::fs::read(other_seed.path().join(name)).unwrap();
        assert!(a != c, "{name} is identical for seeds 42 and 7");
    }
}

#[test]
fn changing_a_line_item_does_not_change_traffic() {
    // Traffic draws from its own streams: a different CPM and pacing mode must leave every
    // request count of inventory.csv unchanged (only fills may move).
    let base = tempfile::tempdir().unwrap();
    let changed = tempfile::tempdir().unwrap();
    run_into(base.path(), &["--set", "duration=6h"]);
    run_into(
        changed.path(),
        &[
            "--set",
            "duration=6h",
            "--set",
            "line_items.6.pacing=asap",
            "--set",
            "line_items.3.cpm=1",
        ],
    );
    let requests = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(dir.join("inventory.csv"))
            .unwrap()
            .lines()
            .map(|line| line.split(',').take(5).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(requests(base.path()), requests(changed.path()));
    let delivery =
        |dir: &std::path::Path| std::fs::read_to_string(dir.join("delivery.csv")).unwrap();
    assert_ne!(
        delivery(base.path()),
        delivery(changed.path()),
        "the change should alter delivery"
    );
}

#[test]
fn responses_lag_and_plans_are_deterministic() {
    // Responses (their own stream and events), a synchronisation lag, every pacer, and an
    // allocation plan with its draw: two runs give the same bytes.
    for (name, extra) in [
        (
            "pacing_comparison.toml",
            vec![
                "--set",
                "duration=12h",
                "--set",
                "adserver.budget_sync=\"2m\"",
            ],
        ),
        (
            "guaranteed_contention.toml",
            vec!["--set", "allocation.plan=\"optimal\""],
        ),
    ] {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        run_scenario_into(name, first.path(), &extra);
        run_scenario_into(name, second.path(), &extra);
        for file in DETERMINISTIC_FILES {
            let a = std::fs::read(first.path().join(file)).unwrap();
            let b = std::fs::read(second.path().join(file)).unwrap();
            assert!(a == b, "{name}: {file} differs between two runs");
        }
    }
}
