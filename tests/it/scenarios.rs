//! Every file in `scenarios/` loads, runs on a short horizon and matches its checked-in
//! summary snapshot (`UPDATE_EXPECT=1 cargo test` refreshes the snapshots).

use std::path::Path;

use adsim::report;

/// Shortened runs keep `cargo test` quick; the snapshot still covers traffic, targeting,
/// caps, pacing and reporting end to end.
const HORIZON: &str = "duration=6h";
const MAX_MEMBERS: u32 = 200_000;

#[test]
fn every_scenario_matches_its_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Scenario files in `scenarios/` and in its subfolders (e.g. `forecast_loop/`), by path
    // relative to `scenarios/`.
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir.join("scenarios")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            for inner in std::fs::read_dir(entry.path()).unwrap() {
                let inner = inner.unwrap().file_name().to_string_lossy().into_owned();
                if inner.ends_with(".toml") {
                    names.push(format!("{name}/{inner}"));
                }
            }
        } else if name.ends_with(".toml") {
            names.push(name);
        }
    }
    names.sort();
    assert!(
        names.len() >= 2,
        "expected the checked-in scenarios, found {names:?}"
    );
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut mismatched = Vec::new();
    for name in &names {
        // Replay scenarios: snapshot the replay's summary, if their log is present (the
        // iPinYou sample lives outside the repository).
        let loaded = match adsim::scenario::load_any(&crate::scenario_path(name), &[]) {
            Ok(loaded) => loaded,
            // The iPinYou sample lives outside the repository: without it (and unless CI says
            // it must be there) its scenario cannot load, which is not this test's concern.
            Err(error)
                if error.to_string().contains("replay.file: cannot read")
                    && std::env::var_os("ADSIM_REQUIRE_DATA").is_none() =>
            {
                eprintln!("{name}: skipped, its log is not here: {error}");
                continue;
            }
            Err(error) => panic!("{error}"),
        };
        if let adsim::scenario::Loaded::Replay(replay) = loaded {
            let evaluation = adsim::replay::evaluate::evaluate(&replay).unwrap();
            let mut summary =
                serde_json::to_string_pretty(&report::replay::summary(&replay, &evaluation))
                    .unwrap();
            summary.push('\n');
            // The log's absolute path differs between checkouts.
            let summary = summary.replace(&replay.file.display().to_string(), "LOG");
            let snapshot = dir
                .join("tests/it/snapshots")
                .join(name.replace('/', "__").replace(".toml", ".summary.json"));
            if update {
                std::fs::write(&snapshot, &summary).unwrap();
            } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(summary.as_str()) {
                mismatched.push(format!(
                    "{name}: replay summary differs from {}",
                    snapshot.display()
                ));
            }
            continue;
        }
        let full = crate::load(name, &[]);
        let members = format!("members.count={}", full.traffic.members.min(MAX_MEMBERS));
        let scenario = crate::load(name, &[HORIZON, &members]);
        let simulation = crate::simulate(&scenario, false);
        let (_, files) = report::render(&scenario, &simulation);
        let summary = &files
            .iter()
            .find(|(file, _)| *file == "summary.json")
            .unwrap()
            .1;
        let snapshot = dir
            .join("tests/it/snapshots")
            .join(name.replace('/', "__").replace(".toml", ".summary.json"));
        if update {
            std::fs::write(&snapshot, summary).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_else(|_| {
            panic!(
                "no snapshot {}; run with UPDATE_EXPECT=1",
                snapshot.display()
            )
        });
        if &expected != summary {
            mismatched.push(format!(
                "{name}: summary differs from {}",
                snapshot.display()
            ));
        }
    }
    assert!(
        mismatched.is_empty(),
        "{}\n(UPDATE_EXPECT=1 refreshes snapshots after an intended change)",
        mismatched.join("\n")
    );
}
