//! adsim's integration tests: one binary, one module per behaviour.

mod allocation;
mod auction_theory;
mod avails;
mod bad_input;
mod budget_pacing;
mod cli;
mod determinism;
mod experiments;
mod forecasting;
mod html;
mod invariants;
mod pacing;
mod replay;
mod response;
mod scenarios;
mod traffic;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use adsim::engine::Simulation;
use adsim::scenario::{self, Scenario};

/// Path of a file in the repository's `scenarios/` folder.
pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// Loads a checked-in scenario with `--set`-style overrides.
pub fn load(name: &str, overrides: &[&str]) -> Scenario {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    scenario::load(&scenario_path(name), &overrides).unwrap_or_else(|error| panic!("{error}"))
}

/// Runs a scenario to its end, optionally recording every pod.
pub fn simulate(scenario: &Scenario, trace: bool) -> Simulation {
    let mut simulation = Simulation::new(scenario);
    if trace {
        simulation.enable_trace();
    }
    simulation.run();
    simulation
}

/// Runs the `adsim` binary.
pub fn adsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adsim"))
        .args(args)
        .output()
        .expect("adsim runs")
}

/// Fails the test, with adsim's stderr, unless the run succeeded.
pub fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "adsim failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Parses a JSON output file.
pub fn read_json(path: impl AsRef<std::path::Path>) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
