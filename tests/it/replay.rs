//! Replay of logged auctions: the win/pay rule, malformed rows, determinism, the iPinYou PID
//! controller, and memory that does not grow with the file.

use adsim::money::Micros;
use adsim::replay::{Columns, Format, Malformed, ReplayBidder, ReplayStrategy, RowReader, run};
use adsim::time::{SimDuration, SimTime};

use crate::{adsim, assert_ok, read_json};

fn columns() -> Columns {
    Columns {
        timestamp: "ts".into(),
        market_price: "price".into(),
        click: Some("click".into()),
        conversion: None,
        pctr: None,
    }
}

#[test]
fn a_bid_wins_above_the_market_price_pays_it_and_sees_only_won_clicks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    // Prices 1, 2.5, 2, 4 CPM; every row was clicked.
    std::fs::write(&path, "ts,price,click\n0,1,1\n60,2.5,1\n120,2,1\n180,4,1\n").unwrap();
    let replay = |budget: i64| {
        let mut reader = RowReader::open(&path, &Format::Csv(columns()), SimTime(0), 1.0).unwrap();
        let bidder = ReplayBidder {
            name: "c".into(),
            strategy: ReplayStrategy::Constant { cpm: 2.5 },
            budget: Micros(budget),
            pid: None,
        };
        let (results, skipped) = run(
            &mut reader,
            &[bidder],
            SimTime(0),
            SimDuration::HOUR,
            Malformed::Fail,
            || true,
        )
        .unwrap();
        assert_eq!(skipped.count, 0);
        results.into_iter().next().unwrap()
    };
    // Bid 2.5 beats 1 and 2 (strictly), not 2.5 (a tie loses) nor 4: pays 1 + 2 CPM, i.e.
    // 1,000 + 2,000 micros, and sees the two clicks of the rows it won.
    let r = replay(1_000_000);
    assert_eq!((r.bids, r.impressions, r.clicks), (4, 2, 2));
    assert_eq!(r.spend, Micros(3_000));
    // A budget of 1,500 micros affords the first win (1,000) but not the second (2,000 more).
    let r = replay(1_500);
    assert_eq!((r.impressions, r.spend), (1, Micros(1_000)));
}

fn write_scenario(dir: &std::path::Path, log: &str, malformed: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("log.csv"), log).unwrap();
    std::fs::write(
        dir.join("train.csv"),
        "ts,price,click,pctr\n0,1,0,0.001\n60,2,1,0.002\n120,3,0,0.001\n180,1.5,0,0.003\n",
    )
    .unwrap();
    let path = dir.join("replay.toml");
    std::fs::write(
        &path,
        format!(
            r#"schema_version = 1
name = "replay_test"
[replay]
format = "csv"
file = "log.csv"
train = "train.csv"
malformed = "{malformed}"
budget_fractions = [0.5]
[replay.columns]
timestamp = "ts"
market_price = "price"
click = "click"
pctr = "pctr"
[[replay.strategies]]
name = "linear"
kind = "linear"
"#
        ),
    )
    .unwrap();
    path
}

#[test]
fn malformed_rows_fail_or_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let log =
        "ts,price,click,pctr\n0,1,0,0.001\n60,cheap,1,0.002\n120,3,2,0.001\n180,1.5,0,0.003\n";
    let scenario = write_scenario(dir.path(), log, "fail");
    let out = dir.path().join("out");
    let output = adsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("log.csv:3: column `price`: expected a number, found \"cheap\""),
        "{stderr}"
    );
    assert!(!out.join("summary.json").exists());
    let scenario = write_scenario(dir.path(), log, "skip");
    let output = adsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_ok(&output);
    let summary: serde_json::Value = read_json(out.join("summary.json"));
    assert_eq!(summary["log"]["rows"], 2);
    assert_eq!(summary["log"]["rows_skipped"], 2);
    assert_eq!(
        summary["log"]["first_skipped_lines"],
        serde_json::json!([3, 4])
    );
}

#[test]
fn replay_is_deterministic_and_sampling_uses_the_seed() {
    let scenario = crate::scenario_path("replay_example/replay.toml");
    let scenario = scenario.to_str().unwrap();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (dir, seed) in dirs.iter().zip(["3", "3", "4"]) {
        let output = adsim(&[
            "run",
            scenario,
            "--set",
            "replay.sample=0.5",
            "--seed",
            seed,
            "--out",
            dir.path().to_str().unwrap(),
            "-q",
        ]);
        assert_ok(&output);
    }
    let read = |d: &tempfile::TempDir, f: &str| std::fs::read(d.path().join(f)).unwrap();
    for file in ["summary.json", "strategies.csv", "pid_rounds.csv"] {
        assert_eq!(read(&dirs[0], file), read(&dirs[1], file), "{file}");
    }
    assert_ne!(
        read(&dirs[0], "strategies.csv"),
        read(&dirs[2], "strategies.csv")
    );
}

#[test]
fn the_pid_controller_settles_on_the_ipinyou_test_file() {
    // scenarios/ipinyou_1458.toml on the real sample: the PID strategy at a quarter of the
    // logged cost, reference eCPC 40 fen. The test file has only 65 clicks (the strategy wins
    // ~30), so cumulative eCPC is noisy until late: with n clicks its relative error is about
    // 1/√n, under 10% only after ~100... In practice it enters ±10% of the reference and stays
    // there from round 40 of 48 (observed overshoot 9.2%). The test asserts that it settles
    // and stays settled to the end, and that it ends closer to its reference than the same
    // linear bid without control.
    // The sample lives beside the repository (`../shared/data/`), or where ADSIM_IPINYOU_DIR
    // says. Without it the test cannot run: it says so, and fails if ADSIM_REQUIRE_DATA is set
    // (as .ci/run sets it when it finds the data).
    let data = std::env::var_os("ADSIM_IPINYOU_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/data/ipinyou-1458-sample")
        });
    if !data.join("test.txt").is_file() {
        assert!(
            std::env::var_os("ADSIM_REQUIRE_DATA").is_none(),
            "the iPinYou sample is not at {}",
            data.display()
        );
        eprintln!("skipped: the iPinYou sample is not at {}", data.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = format!("replay.file=\"{}\"", data.join("test.txt").display());
    let train = format!("replay.train=\"{}\"", data.join("train.txt").display());
    let output = adsim(&[
        "run",
        crate::scenario_path("ipinyou_1458.toml").to_str().unwrap(),
        "--set",
        &file,
        "--set",
        &train,
        "--out",
        dir.path().to_str().unwrap(),
        "-q",
    ]);
    assert_ok(&output);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["log"]["rows"], 100_000);
    assert_eq!(summary["log"]["clicks"], 65);
    let strategies = summary["strategies"].as_array().unwrap();
    let find = |kind: &str| {
        strategies
            .iter()
            .find(|s| s["kind"] == kind && s["budget_fraction"] == 0.25)
            .unwrap()
    };
    let pid = find("pid");
    assert!(pid["settling_round"].is_u64(), "{pid}");
    let reference = pid["reference_ecpc"].as_f64().unwrap();
    let ecpc = pid["ecpc"].as_f64().unwrap();
    assert!(
        (ecpc / reference - 1.0).abs() <= 0.1,
        "{ecpc} vs {reference}"
    );
    let linear = find("linear")["ecpc"].as_f64().unwrap();
    assert!((ecpc - reference).abs() < (linear - reference).abs());
    // The per-round CSV has every round of every PID strategy.
    let rounds = std::fs::read_to_string(dir.path().join("pid_rounds.csv")).unwrap();
    assert_eq!(rounds.lines().count(), 1 + 3 * 48);
}

#[test]
fn memory_does_not_grow_with_the_log() {
    // Two generated logs, 250,000 and 2,000,000 rows (4 MB and 33 MB): peak memory of the
    // replay (run.json, VmHWM) must not grow with the file. Tolerance: 10 MB, far below the
    // 29 MB the bigger file would add if it were held in memory.
    let dir = tempfile::tempdir().unwrap();
    // The same small training log for both.
    std::fs::write(
        dir.path().join("train.txt"),
        "0\t20\t0.001\t1\n1\t50\t0.002\t1\n0\t80\t0.001\t1\n",
    )
    .unwrap();
    let peak = |rows: usize| -> u64 {
        let log = dir.path().join(format!("log{rows}.txt"));
        let mut text = String::with_capacity(rows * 18);
        for i in 0..rows {
            text.push_str(&format!(
                "{}\t{}\t0.00{}\t1\n",
                u8::from(i % 997 == 0),
                10 + i % 200,
                1 + i % 9
            ));
        }
        std::fs::write(&log, text).unwrap();
        let scenario = dir.path().join("s.toml");
        std::fs::write(
            &scenario,
            format!(
                "schema_version = 1\nname = \"big\"\n[replay]\nformat = \"ipinyou\"\nfile = \"log{rows}.txt\"\ntrain = \"train.txt\"\nbudget_fractions = [0.25]\n[[replay.strategies]]\nname = \"linear\"\nkind = \"linear\"\n"
            ),
        )
        .unwrap();
        let out = dir.path().join(format!("out{rows}"));
        let output = adsim(&[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert_ok(&output);
        let run: serde_json::Value = read_json(out.join("run.json"));
        assert_eq!(run["rows"], rows as u64);
        run["peak_memory_bytes"].as_u64().unwrap()
    };
    let small = peak(250_000);
    let big = peak(2_000_000);
    assert!(
        big < small + 10_000_000,
        "peak memory {small} B for 250k rows, {big} B for 2M rows"
    );
}

#[test]
fn the_event_log_samples_auctions_with_every_bid_and_its_propensity() {
    // Budgets of 150 at 40,000 members make the pacers throttle (see budget_pacing.rs).
    let mut base = vec!["members.count=40000".to_string()];
    base.extend((0..6).map(|b| format!("bidders.{b}.budget=150")));
    let mut logged = base.clone();
    logged.push("event_log={ rate = 0.05, parquet = true }".to_string());
    let plain_overrides: Vec<&str> = base.iter().map(String::as_str).collect();
    let overrides: Vec<&str> = logged.iter().map(String::as_str).collect();
    let scenario = crate::load("pacing_comparison.toml", &overrides);
    let simulation = crate::simulate(&scenario, false);
    let table = adsim::report::events_table(&scenario, &simulation).unwrap();
    let csv = table.to_csv();
    // Parquet holds the same rows.
    let binary = adsim::report::render_binary(&scenario, &simulation).unwrap();
    let parquet = binary
        .iter()
        .find(|(name, _)| *name == "events.parquet")
        .unwrap();
    assert_eq!(
        adsim::table::read_parquet(&parquet.1).unwrap().to_csv(),
        csv
    );
    // Auctions are logged with probability 5%: the count is Binomial(n, 0.05), ±4 SE.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let logged: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[col("auction")]).collect();
    let n = simulation.metrics().auction.auctions as f64;
    let se = (n * 0.05 * 0.95).sqrt();
    assert!(
        (logged.len() as f64 - 0.05 * n).abs() <= 4.0 * se,
        "{} auctions logged of {n}",
        logged.len()
    );
    // Every bid has a propensity in (0, 1]; throttled campaigns log some below 1; the winners of
    // a logged auction paid at most their bid (second price) and at least their floor.
    let mut below_one = 0;
    for r in &rows {
        let propensity: f64 = r[col("propensity")].parse().unwrap();
        assert!(propensity > 0.0 && propensity <= 1.0, "{propensity}");
        below_one += usize::from(propensity < 1.0);
        if r[col("won")] == "true" {
            let (bid, floor, price): (f64, f64, f64) = (
                r[col("bid")].parse().unwrap(),
                r[col("floor")].parse().unwrap(),
                r[col("price")].parse().unwrap(),
            );
            assert!(price <= bid + 1e-9 && price >= floor - 1e-9, "{r:?}");
        }
    }
    assert!(below_one > 0, "no throttled bid was logged");
    // The log draws from its own stream: without it, delivery is byte-identical.
    let plain = crate::load("pacing_comparison.toml", &plain_overrides);
    let without = crate::simulate(&plain, false);
    assert_eq!(
        adsim::report::delivery_csv(&plain, &without),
        adsim::report::delivery_csv(&scenario, &simulation)
    );
}

#[test]
fn logged_requests_replay_through_the_ad_server() {
    // scenarios/replay_example/requests.toml: 5,000 logged breaks within the day.
    let scenario = crate::load("replay_example/requests.toml", &[]);
    let simulation = crate::simulate(&scenario, true);
    assert_eq!(simulation.metrics().requests, 5_000);
    // Attributes come from the log: requests per country in inventory.csv equal the file's.
    let log = std::fs::read_to_string(crate::scenario_path("replay_example/requests.csv")).unwrap();
    let count = |country: &str| {
        log.lines()
            .skip(1)
            .filter(|l| l.split(',').nth(2) == Some(country))
            .count() as u64
    };
    let inventory = adsim::report::inventory_csv(&scenario, &simulation);
    for country in ["US", "GB", "JP"] {
        let replayed: u64 = inventory
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(1) == Some(country))
            .map(|l| l.split(',').nth(4).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(replayed, count(country), "{country}");
    }
    // One bidder in a second-price auction pays the request's floor: the logged floors.
    let logged_floors = [1_500_000, 2_000_000, 3_000_000];
    let mut sales = 0;
    for pod in simulation.server().trace() {
        for sale in &pod.sales {
            assert!(logged_floors.contains(&sale.price.0), "{:?}", sale.price);
            sales += 1;
        }
    }
    assert!(sales > 1_000);
    // The same member id is the same member: the sponsorship's cap of 2 per (local) day holds.
    let mut seen = std::collections::BTreeMap::new();
    for pod in simulation.server().trace() {
        if pod.items.contains(&0) {
            let day = pod.request.at.local_day(pod.request.utc_offset_minutes);
            *seen.entry((pod.request.member, day)).or_insert(0) += 1;
        }
    }
    assert!(
        !seen.is_empty() && seen.values().all(|&n| n <= 2),
        "{seen:?}"
    );
    assert!(
        seen.values().any(|&n| n == 2),
        "some member should reach the cap"
    );
}

#[test]
fn logged_requests_bad_rows_gzip_and_sampling() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(crate::scenario_path("replay_example/requests.toml")).unwrap();
    let scenario = dir.path().join("s.toml");
    let write = |log: &str, settings: &str| {
        std::fs::write(
            &scenario,
            text.replace(
                "file = \"requests.csv\"",
                &format!("file = \"{log}\"{settings}"),
            )
            .replace("malformed = \"fail\"\n", ""),
        )
        .unwrap();
    };
    let rows = "timestamp,user,country,device,genre,break,floor\n1793577615,m1,US,tv,drama,mid_roll,2\n1793577620,m2,FR,tv,drama,mid_roll,2\n1793577625,m3,GB,web,comedy,pre_roll,cheap\n1793577630,m4,GB,web,comedy,pre_roll,1\n";
    std::fs::write(dir.path().join("bad.csv"), rows).unwrap();
    write("bad.csv", "");
    let output = adsim(&["validate", scenario.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.csv:3: column `country`: unknown country \"FR\""),
        "{stderr}"
    );
    write("bad.csv", "\nmalformed = \"skip\"");
    let loaded = adsim::scenario::load(&scenario, &[]).unwrap();
    let simulation = crate::simulate(&loaded, false);
    assert_eq!(simulation.metrics().requests, 2);
    let summary = adsim::report::summary(&loaded, &simulation);
    let logged = summary.logged_traffic.unwrap();
    assert_eq!(
        (logged.rows_skipped, logged.first_skipped_lines),
        (2, vec![3, 4])
    );
    // Gzip, and sampling by the seed.
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.path().join("log.csv.gz")).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&std::fs::read(crate::scenario_path("replay_example/requests.csv")).unwrap())
        .unwrap();
    gz.finish().unwrap();
    write("log.csv.gz", "\nsample = 0.5");
    let loaded = adsim::scenario::load(&scenario, &[]).unwrap();
    let (a, b) = (
        crate::simulate(&loaded, false),
        crate::simulate(&loaded, false),
    );
    let n = a.metrics().requests as f64;
    assert_eq!(a.metrics().requests, b.metrics().requests);
    // Binomial(5000, 0.5): ±4 SE = ±141.
    assert!(
        (n - 2_500.0).abs() <= 4.0 * (5_000.0f64 * 0.25).sqrt(),
        "{n}"
    );
}
