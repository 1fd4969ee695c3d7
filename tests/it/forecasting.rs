//! Inventory exports (CSV and Parquet, grains and keys), `adsim forecast` end to end, and the
//! forecast file read back by planning.

use adsim::report;

#[test]
fn inventory_parquet_holds_the_csv_values() {
    let scenario = crate::load(
        "quickstart.toml",
        &[
            "duration=6h",
            "inventory.keys=[\"country\", \"break\", \"genre\"]",
            "inventory.parquet=true",
        ],
    );
    let simulation = crate::simulate(&scenario, false);
    let csv = report::inventory_csv(&scenario, &simulation);
    let binary = report::render_binary(&scenario, &simulation).unwrap();
    assert_eq!(binary.len(), 1);
    assert_eq!(binary[0].0, "inventory.parquet");
    let table = adsim::table::read_parquet(&binary[0].1).unwrap();
    assert_eq!(
        table.to_csv(),
        csv,
        "the Parquet file holds exactly the CSV's rows"
    );
    assert!(csv.starts_with("hour,country,break,genre,requests,"));
    // 6 hours × 3 countries × 2 break kinds × 6 genres.
    assert_eq!(csv.lines().count(), 1 + 6 * 3 * 2 * 6);
    // Requests add up to the run's total.
    let total: u64 = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, simulation.metrics().requests);
}

#[test]
fn daily_grain_sums_the_hours() {
    let hourly = crate::load("quickstart.toml", &["duration=2d", "members.count=20000"]);
    let daily = crate::load(
        "quickstart.toml",
        &[
            "duration=2d",
            "members.count=20000",
            "inventory.grain=\"day\"",
        ],
    );
    let (h, d) = (
        crate::simulate(&hourly, false),
        crate::simulate(&daily, false),
    );
    let csv = report::inventory_csv(&daily, &d);
    assert!(csv.starts_with("day,country,device,genre,"));
    let day_rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(day_rows.len(), 2 * 3 * 4 * 6);
    let first_day: u64 = day_rows
        .iter()
        .filter(|line| line.starts_with("2026-11-02T00:00:00Z"))
        .map(|line| line.split(',').nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    let hourly_csv = report::inventory_csv(&hourly, &h);
    let first_day_hours: u64 = hourly_csv
        .lines()
        .skip(1)
        .filter(|line| line.starts_with("2026-11-02"))
        .map(|line| line.split(',').nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(first_day, first_day_hours);
}

#[test]
fn forecast_writes_plannable_files_and_backtests() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    // guaranteed_contention's deals target country and device: the inventory's keys.
    let quickstart = crate::scenario_path("guaranteed_contention.toml");
    let quickstart = quickstart.to_str().unwrap();
    let output = crate::adsim(&[
        "run",
        quickstart,
        "--set",
        "duration=3w",
        "--set",
        "members.count=5000",
        "--set",
        "inventory.keys=[\"country\", \"device\"]",
        "--out",
        history.to_str().unwrap(),
        "-q",
    ]);
    crate::assert_ok(&output);
    let out = dir.path().join("forecast");
    let output = crate::adsim(&[
        "forecast",
        history.join("inventory.csv").to_str().unwrap(),
        "--scenario",
        quickstart,
        "--set",
        "members.count=5000",
        "--horizon",
        "24",
        "--origins",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    crate::assert_ok(&output);
    for method in [
        "seasonal_naive_daily",
        "seasonal_naive_weekly",
        "holt_winters",
        "launch_aware",
    ] {
        assert!(stdout.contains(method), "{stdout}");
        let csv = std::fs::read_to_string(out.join(format!("forecast_{method}.csv"))).unwrap();
        // 24 hours × 2 countries × 4 devices, starting where the history ends.
        assert_eq!(csv.lines().count(), 1 + 24 * 2 * 4, "{method}");
        assert!(csv.starts_with(
            "hour,country,device,requests,requests_low,requests_high,opportunities\n"
        ));
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("2026-11-23T00:00:00Z,")
        );
        for line in csv.lines().skip(1) {
            let fields: Vec<f64> = line
                .split(',')
                .skip(3)
                .map(|f| f.parse().unwrap())
                .collect();
            assert!(
                fields[1] <= fields[0].max(fields[1]) && fields[1] >= 0.0,
                "{line}"
            );
            assert!(fields[2] >= fields[1], "{line}");
        }
    }
    let backtest = std::fs::read_to_string(out.join("backtest.csv")).unwrap();
    assert!(backtest.contains("\nholt_winters,all,all,"), "{backtest}");
    // The forecast file is a planning forecast: a scenario starting where it starts reads it.
    let file = out.join("forecast_seasonal_naive_weekly.csv");
    let scenario = adsim::scenario::load(
        &crate::scenario_path("guaranteed_contention.toml"),
        &[
            "start=2026-11-23T00:00:00Z".to_string(),
            "duration=\"1d\"".to_string(),
            "members.count=5000".to_string(),
            format!("allocation.forecast=\"{}\"", file.display()),
        ],
    )
    .unwrap();
    let simulation = crate::simulate(&scenario, false);
    let summary = report::summary(&scenario, &simulation);
    let forecast_total: f64 = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(3).unwrap().parse::<f64>().unwrap())
        .sum();
    let read = summary.allocation.unwrap().forecast_requests;
    assert!(
        (read - forecast_total).abs() < 1e-6 * forecast_total,
        "{read} vs {forecast_total}"
    );
}

#[test]
fn forecast_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    for (contents, needle) in [
        ("when,country,requests\n", "expected `hour` or `day`"),
        (
            "hour,country,requests\n2026-11-02T00:00:00Z,US,lots\n",
            "bad.csv:2",
        ),
        ("hour,country\n", "no `requests` column"),
    ] {
        std::fs::write(&bad, contents).unwrap();
        let output = crate::adsim(&[
            "forecast",
            bad.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    std::fs::write(&bad, "hour,country,requests\n2026-11-02T00:00:00Z,US,1\n").unwrap();
    let output = crate::adsim(&[
        "forecast",
        bad.to_str().unwrap(),
        "--method",
        "launch_aware",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs --scenario"));
}
