//! The `adsim` command line: argument parsing, progress, output folders and exit codes.
//!
//! Exit codes: 0 success, 2 invalid input (scenario, flags), 1 internal failure. This is the
//! only place that reads the wall clock or uses `anyhow`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use adsim::engine::Simulation;
use adsim::report;
use adsim::scenario::{self, Scenario, ScenarioError};
use adsim::time::SimDuration;

#[derive(Parser)]
#[command(
    name = "adsim",
    version,
    about = "Ad-server and bidder simulator for streaming-video advertising"
)]
#[command(
    long_about = "Ad-server and bidder simulator for streaming-video advertising.\n\n\
    A scenario file (TOML) describes members, viewing, the content slate, ad breaks and line items; \
    `adsim run` simulates it and writes summary.json, delivery.csv, inventory.csv and run.json.\n\n\
    Exit codes: 0 success, 2 invalid input, 1 internal error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and write its reports.
    Run {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Output folder [default: runs/<scenario name>/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Master seed, overriding the scenario's `seed`.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Override a scenario field by dotted path, e.g. `--set line_items.0.cpm=12.5`
        /// (repeatable, applied in order).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check a scenario file and report every problem found.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Override a scenario field by dotted path (as for `run`).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            overrides,
            quiet,
        } => load(&scenario, &overrides, seed)
            .and_then(|loaded| run(&loaded, out, quiet).map_err(Failure::Internal)),
        Command::Validate {
            scenario,
            overrides,
        } => load(&scenario, &overrides, None).map(|loaded| {
            println!(
                "{}: ok ({} members, {} line items, {} bidders, {} → {})",
                scenario.display(),
                loaded.traffic.members,
                loaded.adserver.line_items.len(),
                loaded.adserver.bidders.len(),
                loaded.start,
                loaded.end
            );
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(Failure::Internal(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Input(ScenarioError),
    Internal(anyhow::Error),
}

fn load(path: &Path, overrides: &[String], seed: Option<u64>) -> Result<Scenario, Failure> {
    let mut loaded = scenario::load(path, overrides).map_err(Failure::Input)?;
    if let Some(seed) = seed {
        loaded.seed = seed;
    }
    Ok(loaded)
}

fn run(scenario: &Scenario, out: Option<PathBuf>, quiet: bool) -> anyhow::Result<()> {
    let out_dir = out.unwrap_or_else(|| Path::new("runs").join(&scenario.name));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create output folder {}", out_dir.display()))?;

    #[allow(clippy::disallowed_methods)] // the one wall-clock read: timing the run for run.json
    let started = Instant::now();
    let mut simulation = Simulation::new(scenario);
    let setup = started.elapsed().as_secs_f64();
    let total_s = scenario.duration().as_secs_f64();
    let bar = ProgressBar::with_draw_target(Some(total_s as u64), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {percent:>3}% simulated · {msg} · ETA {eta}")
            .expect("progress template is valid"),
    );
    let show_progress = !quiet && std::io::stderr().is_terminal();
    let chunk = SimDuration((scenario.duration().0 / 500).max(SimDuration::MINUTE.0));
    let mut until = scenario.start;
    while until < scenario.end {
        until = (until + chunk).min(scenario.end);
        simulation.run_until(until);
        if show_progress && started.elapsed() > Duration::from_secs(1) {
            if bar.is_hidden() {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            let rate = simulation.metrics().requests as f64 / started.elapsed().as_secs_f64();
            bar.set_message(format!("{:.0}k requests/s", rate / 1e3));
            bar.set_position((until - scenario.start).as_secs_f64() as u64);
        }
    }
    simulation.run();
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();

    let (summary, files) = report::render(scenario, &simulation);
    for (name, contents) in &files {
        report::write_atomic(&out_dir, name, contents)
            .with_context(|| format!("cannot write {}", out_dir.join(name).display()))?;
    }
    let requests = simulation.metrics().requests;
    let peak = report::peak_memory_bytes();
    let info = report::RunInfo {
        adsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        wall_time_s: wall,
        setup_s: setup,
        simulation_requests_per_second: requests as f64 / (wall - setup).max(1e-9),
        requests,
        requests_per_second: requests as f64 / wall.max(1e-9),
        events: simulation.n_events(),
        peak_memory_bytes: peak,
        members: scenario.traffic.members,
        peak_memory_bytes_per_member: peak
            .map(|bytes| bytes as f64 / f64::from(scenario.traffic.members)),
        counter_entries: simulation.server().counter_entries(),
    };
    report::write_atomic(&out_dir, "run.json", &report::run_json(&info))
        .with_context(|| format!("cannot write {}", out_dir.join("run.json").display()))?;
    if !quiet {
        println!("{}", report::text_summary(&summary, &out_dir));
        eprintln!(
            "{:.2}s wall · {:.0} requests/s · peak memory {}",
            wall,
            info.requests_per_second,
            peak.map_or("n/a".to_string(), |bytes| format!(
                "{:.1} MiB",
                bytes as f64 / 1048576.0
            ))
        );
    }
    Ok(())
}
