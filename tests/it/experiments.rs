//! Replications, paired comparisons, sweeps and the regression gate, end to end from the CLI.

use crate::{adsim, scenario_path};

/// A small, fast variant of quickstart for CLI experiments.
const SMALL: [&str; 4] = ["--set", "duration=3h", "--set", "members.count=20000"];

fn run_ok(args: &[&str]) -> String {
    let output = adsim(args);
    assert!(
        output.status.success(),
        "adsim {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// `(kpi, column)` of a CSV with a `kpi` column, as numbers or text.
fn column(csv: &str, kpi: &str, name: &str) -> String {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == "kpi").unwrap();
    let c = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|fields| fields[k] == kpi)
        .map(|fields| fields[c].to_string())
        .unwrap_or_else(|| panic!("no row for {kpi}"))
}

#[test]
fn replications_do_not_depend_on_threads_and_start_with_the_plain_run() {
    let scenario = scenario_path("quickstart.toml");
    let scenario = scenario.to_str().unwrap();
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let plain = tempfile::tempdir().unwrap();
    for (dir, threads) in [(&one, "1"), (&two, "2")] {
        let mut args = vec!["run", scenario, "--out", dir.path().to_str().unwrap(), "-q"];
        args.extend(SMALL);
        args.extend(["--replications", "4", "--threads", threads]);
        run_ok(&args);
    }
    for name in [
        "replications.csv",
        "kpis.csv",
        "summary.json",
        "delivery.csv",
    ] {
        assert_eq!(read(one.path(), name), read(two.path(), name), "{name}");
    }
    let mut args = vec![
        "run",
        scenario,
        "--out",
        plain.path().to_str().unwrap(),
        "-q",
    ];
    args.extend(SMALL);
    run_ok(&args);
    assert_eq!(
        read(one.path(), "summary.json"),
        read(plain.path(), "summary.json")
    );
    // 4 replications × 16 KPIs, four distinct seeds, the first the scenario's.
    let replications = read(one.path(), "replications.csv");
    assert_eq!(replications.lines().count(), 1 + 4 * 16);
    let seeds: std::collections::BTreeSet<&str> = replications
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(seeds.len(), 4);
    assert!(replications.lines().nth(1).unwrap().starts_with("0,42,"));
    // The interval brackets the mean and has width > 0 for a noisy KPI.
    let kpis = read(one.path(), "kpis.csv");
    let low: f64 = column(&kpis, "revenue", "ci_low").parse().unwrap();
    let mean: f64 = column(&kpis, "revenue", "mean").parse().unwrap();
    let high: f64 = column(&kpis, "revenue", "ci_high").parse().unwrap();
    assert!(low < mean && mean < high, "{low} {mean} {high}");
    // run.json describes the batch: its replications, threads and all their requests.
    for (dir, threads) in [(&one, 1), (&two, 2)] {
        let info: serde_json::Value = serde_json::from_str(&read(dir.path(), "run.json")).unwrap();
        assert_eq!(info["replications"], 4);
        assert_eq!(info["threads"], threads);
        assert_eq!(info["seed"], 42);
        let requests: f64 = replications
            .lines()
            .filter(|line| line.split(',').nth(2) == Some("requests"))
            .map(|line| line.split(',').nth(3).unwrap().parse::<f64>().unwrap())
            .sum();
        assert_eq!(info["requests"].as_f64().unwrap(), requests);
        assert!(info["wall_time_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn compare_pairs_runs_on_common_random_numbers() {
    let scenario = scenario_path("quickstart.toml");
    let scenario = scenario.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    // B caps one line item at one impression a day: traffic must be identical seed by seed
    // (requests differ by exactly 0), delivery must differ.
    let mut args = vec![
        "compare",
        scenario,
        scenario,
        "--out",
        out.path().to_str().unwrap(),
        "--replications",
        "5",
        "--set-b",
        "line_items.3.frequency_caps=[{ max = 1, per = \"day\" }]",
    ];
    args.extend(SMALL);
    let stdout = run_ok(&args);
    assert!(stdout.contains("paired 95% CI"), "{stdout}");
    let compare = read(out.path(), "compare.csv");
    assert_eq!(column(&compare, "requests", "difference"), "0");
    assert_eq!(column(&compare, "requests", "ci_low"), "0");
    assert_eq!(column(&compare, "requests", "significant"), "false");
    let impressions: f64 = column(&compare, "impressions", "difference")
        .parse()
        .unwrap();
    assert!(
        impressions < 0.0,
        "the cap should cost impressions: {impressions}"
    );
    assert_eq!(column(&compare, "impressions", "significant"), "true");
    // Pairing narrows the interval: the paired interval of revenue is narrower than the
    // unpaired one on the same runs.
    let width = |low: &str, high: &str| -> f64 {
        column(&compare, "revenue", high).parse::<f64>().unwrap()
            - column(&compare, "revenue", low).parse::<f64>().unwrap()
    };
    assert!(width("ci_low", "ci_high") < width("unpaired_ci_low", "unpaired_ci_high"));
    let replications = read(out.path(), "compare_replications.csv");
    assert_eq!(replications.lines().count(), 1 + 5 * 16);
}

#[test]
fn sweep_writes_one_tidy_row_per_point_replication_and_kpi() {
    let scenario = scenario_path("floor_sweep.toml");
    let out = tempfile::tempdir().unwrap();
    run_ok(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--grid",
        "exchange.floor_cpm=0,3",
        "--grid",
        "exchange.auction=first_price,\"second_price\"",
        "--replications",
        "2",
        "--set",
        "duration=2h",
        "--set",
        "members.count=20000",
        "--out",
        out.path().to_str().unwrap(),
        "-q",
    ]);
    let tidy = read(out.path(), "sweep.csv");
    assert!(
        tidy.starts_with("point,exchange.floor_cpm,exchange.auction,replication,seed,kpi,value\n")
    );
    assert_eq!(tidy.lines().count(), 1 + 4 * 2 * 16);
    assert!(
        tidy.contains("\n3,3,second_price,1,"),
        "quotes are stripped"
    );
    let summary = read(out.path(), "sweep_summary.csv");
    assert_eq!(summary.lines().count(), 1 + 4 * 16);
    // Every point runs on the same seeds.
    let seeds: std::collections::BTreeSet<&str> = tidy
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(4).unwrap())
        .collect();
    assert_eq!(seeds.len(), 2);
    // Bad grids are usage errors.
    let output = adsim(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--grid",
        "exchange.floor_cpm",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let output = adsim(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--grid",
        "exchange.floor_cpm=0,-1",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("exchange.floor_cpm"));
}

#[test]
fn check_passes_an_equivalent_run_and_fails_a_worse_one() {
    let scenario = scenario_path("quickstart.toml");
    let scenario = scenario.to_str().unwrap();
    let base = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run",
        scenario,
        "--out",
        base.path().to_str().unwrap(),
        "-q",
    ];
    args.extend(SMALL);
    args.extend(["--replications", "3"]);
    run_ok(&args);
    let worse_cap = "line_items.3.frequency_caps=[{ max = 1, per = \"day\" }]";
    for baseline in ["summary.json", "replications.csv"] {
        let baseline = base.path().join(baseline);
        let baseline = baseline.to_str().unwrap();
        // The same scenario: every KPI unchanged, exit 0.
        let mut args = vec!["check", scenario, "--baseline", baseline];
        args.extend(SMALL);
        let output = adsim(&args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("check passed"), "{stdout}");
        // A tighter cap on a line item: fewer impressions, less revenue, more
        // under-delivery: exit 3, naming what moved.
        args.extend(["--set", worse_cap]);
        let output = adsim(&args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(3), "{stdout}");
        assert!(stdout.contains("REGRESSED"), "{stdout}");
        assert!(
            stdout.contains("check FAILED") && stdout.contains("revenue"),
            "{stdout}"
        );
    }
    // A tolerance wider than the change lets it pass.
    let mut args = vec![
        "check",
        scenario,
        "--baseline",
        base.path()
            .join("summary.json")
            .to_str()
            .unwrap()
            .to_string()
            .leak(),
        "--tolerance",
        "0.9",
        "--set",
        worse_cap,
    ];
    args.extend(SMALL);
    assert_eq!(adsim(&args).status.code(), Some(0));
    // Unreadable or malformed baselines are input errors.
    let bad = base.path().join("bad.csv");
    std::fs::write(&bad, "replication,seed,kpi,value\n0,42,revenue,lots\n").unwrap();
    let output = adsim(&["check", scenario, "--baseline", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("bad.csv:2"));
    let output = adsim(&["check", scenario, "--baseline", "/nonexistent/summary.json"]);
    assert_eq!(output.status.code(), Some(2));
}
