//! The `adsim` command line: argument parsing, progress, output folders and exit codes.
//!
//! Exit codes: 0 success, 2 invalid input (scenario, flags, files), 1 internal failure, 3 a
//! KPI regressed (`adsim check`). This is the only place that reads the wall clock or uses
//! `anyhow`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use adsim::engine::Simulation;
use adsim::experiment;
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
    `adsim run` simulates it and writes summary.json, delivery.csv, inventory.csv and run.json; \
    `compare`, `sweep` and `check` run experiments over seeds (docs/experiments.md).\n\n\
    Exit codes: 0 success, 2 invalid input, 1 internal error, 3 a KPI regressed (check)."
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
        /// Inventory export grain (shorthand for `--set inventory.grain=…`).
        #[arg(long, value_name = "GRAIN", value_parser = ["hour", "day"])]
        inventory_grain: Option<String>,
        /// Run this many replications (seeds derived from the master seed) in parallel and
        /// report each KPI's mean, standard error and 95% confidence interval.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        replications: u32,
        /// Worker threads for replications [default: one per core].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        threads: Option<u32>,
    },
    /// Run two scenarios on the same seeds and compare their KPIs with paired 95% intervals.
    Compare {
        /// Scenario A (the reference).
        a: PathBuf,
        /// Scenario B (the candidate); differences are B − A.
        b: PathBuf,
        /// Output folder [default: runs/compare-<A>-vs-<B>/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Master seed for both [default: A's `seed`].
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Override a field in both scenarios (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Override a field in A only (repeatable, after `--set`).
        #[arg(long = "set-a", value_name = "PATH=VALUE")]
        overrides_a: Vec<String>,
        /// Override a field in B only (repeatable, after `--set`).
        #[arg(long = "set-b", value_name = "PATH=VALUE")]
        overrides_b: Vec<String>,
        /// Replications (seeds) per scenario.
        #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        replications: u32,
        /// Worker threads [default: one per core].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        threads: Option<u32>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a scenario over a grid of field values (every combination), in parallel.
    Sweep {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// A field and its values, e.g. `--grid exchange.floor_cpm=0,1,2.5` (repeatable; the
        /// grid is every combination, the first `--grid` varying slowest). Commas inside
        /// brackets, braces or quotes do not split values.
        #[arg(long = "grid", value_name = "PATH=V1,V2,…", required = true)]
        grid: Vec<String>,
        /// Output folder [default: runs/sweep-<scenario name>/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Master seed for every point [default: the scenario's `seed`].
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Override a field at every point (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Replications (seeds) per point; every point uses the same seeds.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        replications: u32,
        /// Worker threads [default: one per core].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        threads: Option<u32>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Fail (exit code 3) when a KPI is worse than a stored baseline beyond a tolerance.
    Check {
        /// Scenario file (TOML): the candidate.
        scenario: PathBuf,
        /// Baseline: a run's summary.json (one run, compared on its seed), or the
        /// replications.csv of `adsim run --replications N` (compared seed by seed, with
        /// paired 95% intervals).
        #[arg(long, value_name = "FILE")]
        baseline: PathBuf,
        /// Relative change of a KPI, against the baseline, that is tolerated in the worse
        /// direction (0.01 = 1%).
        #[arg(long, value_name = "FRACTION", default_value_t = 0.01)]
        tolerance: f64,
        /// Override a scenario field (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Also write check.csv into this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Worker threads [default: one per core].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        threads: Option<u32>,
        /// Print nothing but errors (the exit code still tells).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Forecast an inventory export per segment with baseline methods, and backtest them.
    Forecast {
        /// An inventory.csv written by `adsim run` (hourly or daily grain, any keys).
        inventory: PathBuf,
        /// Output folder [default: runs/forecast/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Method (repeatable) [default: all; launch_aware only with --scenario]. One of
        /// seasonal_naive_daily, seasonal_naive_weekly, holt_winters, launch_aware.
        #[arg(long = "method", value_name = "NAME")]
        methods: Vec<String>,
        /// Periods to forecast after the history [default: one week].
        #[arg(long, value_name = "N")]
        horizon: Option<usize>,
        /// Rolling origins of the backtest, each `horizon` apart, the last `horizon` before the
        /// history's end.
        #[arg(long, value_name = "N", default_value_t = 4)]
        origins: usize,
        /// Level of the prediction intervals (requests_low, requests_high).
        #[arg(long, value_name = "FRACTION", default_value_t = 0.8)]
        level: f64,
        /// The scenario that made the inventory: its slate's launch calendar is the regressor of
        /// launch_aware (only launches the scenario announces are known).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Override a field of --scenario (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// How many impressions can still be sold to a targeting in a window, given the booked
    /// guaranteed line items, on a forecast.
    Avails {
        /// Scenario file (TOML): its guaranteed line items are what is booked.
        scenario: PathBuf,
        /// Window start, a whole UTC hour [default: the scenario's start].
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Window end, a whole UTC hour [default: the scenario's end].
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Targeting of the new line item: `ATTRIBUTE=V1,V2` (repeatable; all must match).
        #[arg(long = "target", value_name = "ATTRIBUTE=V1,…")]
        target: Vec<String>,
        /// Excluded values: `ATTRIBUTE=V1,V2` (repeatable).
        #[arg(long = "exclude", value_name = "ATTRIBUTE=V1,…")]
        exclude: Vec<String>,
        /// Forecast: `oracle` (the scenario's expected traffic) or a forecast CSV
        /// (docs/forecast.md) [default: the scenario's `allocation.forecast`, else oracle].
        #[arg(long, value_name = "FILE")]
        forecast: Option<String>,
        /// Override a scenario field (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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
            inventory_grain,
            replications: 1,
            threads: _,
        } => match adsim::scenario::load_any(
            &scenario,
            &with_grain(overrides.clone(), inventory_grain.clone()),
        ) {
            Ok(adsim::scenario::Loaded::Replay(mut replay)) => {
                if let Some(seed) = seed {
                    replay.seed = seed;
                }
                run_replay(&replay, out, quiet)
            }
            Err(error) => Err(Failure::Input(error)),
            Ok(adsim::scenario::Loaded::Simulation(_)) => {
                load(&scenario, &with_grain(overrides, inventory_grain), seed)
                    .and_then(|loaded| run(&loaded, out, quiet).map_err(Failure::Internal))
            }
        },
        Command::Run {
            scenario,
            out,
            seed,
            overrides,
            quiet,
            inventory_grain,
            replications,
            threads,
        } => load(&scenario, &with_grain(overrides, inventory_grain), seed).and_then(|loaded| {
            with_threads(threads, || {
                replicate(&loaded, out, replications as usize, quiet).map_err(Failure::Internal)
            })
        }),
        Command::Compare {
            a,
            b,
            out,
            seed,
            overrides,
            overrides_a,
            overrides_b,
            replications,
            threads,
            quiet,
        } => {
            let both =
                |own: &[String]| -> Vec<String> { overrides.iter().chain(own).cloned().collect() };
            load(&a, &both(&overrides_a), seed).and_then(|loaded_a| {
                let seed = seed.unwrap_or(loaded_a.seed);
                let loaded_b = load(&b, &both(&overrides_b), Some(seed))?;
                with_threads(threads, || {
                    compare(&loaded_a, &loaded_b, out, replications as usize, quiet)
                        .map_err(Failure::Internal)
                })
            })
        }
        Command::Sweep {
            scenario,
            grid,
            out,
            seed,
            overrides,
            replications,
            threads,
            quiet,
        } => sweep_points(&scenario, &grid, &overrides, seed).and_then(|(paths, points)| {
            with_threads(threads, || {
                sweep(&paths, &points, out, replications as usize, quiet).map_err(Failure::Internal)
            })
        }),
        Command::Check {
            scenario,
            baseline,
            tolerance,
            overrides,
            out,
            threads,
            quiet,
        } => {
            if !(tolerance.is_finite() && tolerance >= 0.0) {
                Err(Failure::Usage(format!(
                    "--tolerance: expected a non-negative fraction, found {tolerance}"
                )))
            } else {
                read_baseline(&baseline).and_then(|(master, values)| {
                    let loaded = load(&scenario, &overrides, Some(master))?;
                    with_threads(threads, || check(&loaded, &values, tolerance, out, quiet))
                })
            }
        }
        Command::Forecast {
            inventory,
            out,
            methods,
            horizon,
            origins,
            level,
            scenario,
            overrides,
            quiet,
        } => forecast_command(
            &inventory, out, &methods, horizon, origins, level, scenario, &overrides, quiet,
        ),
        Command::Avails {
            scenario,
            from,
            to,
            target,
            exclude,
            forecast,
            overrides,
            json,
        } => avails_command(
            &scenario, from, to, &target, &exclude, forecast, overrides, json,
        ),
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
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Regressed) => ExitCode::from(3),
        Err(Failure::Internal(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Input(ScenarioError),
    /// Bad flags or input files other than the scenario.
    Usage(String),
    Internal(anyhow::Error),
    /// `adsim check` found a regression.
    Regressed,
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

    let (summary, files, binary) = report::render_all(scenario, &simulation);
    for (name, contents) in &files {
        report::write_atomic(&out_dir, name, contents)
            .with_context(|| format!("cannot write {}", out_dir.join(name).display()))?;
    }
    for (name, contents) in binary? {
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
    report::write_atomic(&out_dir, "run.json", report::run_json(&info))
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

/// Runs `work` on a pool of `threads` workers (rayon's default, one per core, if `None`).
fn with_threads<T>(
    threads: Option<u32>,
    work: impl FnOnce() -> Result<T, Failure> + Send,
) -> Result<T, Failure>
where
    T: Send,
{
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = threads {
        builder = builder.num_threads(threads as usize);
    }
    let pool = builder.build().map_err(|error| {
        Failure::Internal(anyhow::anyhow!("cannot start worker threads: {error}"))
    })?;
    pool.install(work)
}

/// A progress bar counting finished runs, drawn on a terminal only.
fn runs_bar(total: usize, quiet: bool) -> ProgressBar {
    let target = if !quiet && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total as u64), target);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs · {elapsed} · ETA {eta}")
            .expect("progress template is valid"),
    );
    bar
}

fn out_folder(out: Option<PathBuf>, default: String) -> anyhow::Result<PathBuf> {
    let dir = out.unwrap_or_else(|| Path::new("runs").join(default));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))?;
    Ok(dir)
}

fn write_all(dir: &Path, files: &[(&str, String)]) -> anyhow::Result<()> {
    for (name, contents) in files {
        report::write_atomic(dir, name, contents)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))?;
    }
    Ok(())
}

fn jobs(scenario: &Scenario, replications: usize, render_first: bool) -> Vec<experiment::Job<'_>> {
    (0..replications)
        .map(|replication| experiment::Job {
            scenario,
            master_seed: scenario.seed,
            replication,
            render: render_first && replication == 0,
        })
        .collect()
}

/// `adsim run --replications N`: replication 0's usual files, plus replications.csv and
/// kpis.csv.
fn replicate(
    scenario: &Scenario,
    out: Option<PathBuf>,
    replications: usize,
    quiet: bool,
) -> anyhow::Result<()> {
    let dir = out_folder(out, scenario.name.clone())?;
    let bar = runs_bar(replications, quiet);
    #[allow(clippy::disallowed_methods)] // wall-clock time for run.json only
    let started = Instant::now();
    let results = experiment::run_jobs(&jobs(scenario, replications, true), &|| bar.inc(1));
    let wall = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let estimates = experiment::estimates(&results);
    let mut files: Vec<(&str, String)> = results[0].files.clone().unwrap_or_default();
    files.push((
        "replications.csv",
        report::experiment::replications_csv(&results),
    ));
    files.push(("kpis.csv", report::experiment::kpis_csv(&estimates)));
    write_all(&dir, &files)?;
    if let Some(binary) = &results[0].binary {
        let binary = binary
            .as_ref()
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        for (name, contents) in binary {
            report::write_atomic(&dir, name, contents)
                .with_context(|| format!("cannot write {}", dir.join(name).display()))?;
        }
    }
    let requests: u64 = results
        .iter()
        .map(|result| result.summary.totals.requests)
        .sum();
    let info = report::BatchInfo {
        adsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        replications,
        threads: rayon::current_num_threads(),
        wall_time_s: wall,
        requests,
        requests_per_second: requests as f64 / wall.max(1e-9),
        peak_memory_bytes: report::peak_memory_bytes(),
    };
    write_all(&dir, &[("run.json", report::run_json(&info))])?;
    if !quiet {
        println!(
            "{} · {} replications (seeds from {}) · 95% intervals\n\n{}\noutputs in {}",
            scenario.name,
            replications,
            scenario.seed,
            report::experiment::kpis_table(&estimates),
            dir.display()
        );
    }
    Ok(())
}

fn compare(
    a: &Scenario,
    b: &Scenario,
    out: Option<PathBuf>,
    replications: usize,
    quiet: bool,
) -> anyhow::Result<()> {
    let dir = out_folder(out, format!("compare-{}-vs-{}", a.name, b.name))?;
    let mut all = jobs(a, replications, false);
    all.extend(jobs(b, replications, false));
    let bar = runs_bar(all.len(), quiet);
    let mut results = experiment::run_jobs(&all, &|| bar.inc(1));
    bar.finish_and_clear();
    let results_b = results.split_off(replications);
    let comparisons = experiment::compare(&results, &results_b);
    write_all(
        &dir,
        &[
            ("compare.csv", report::experiment::compare_csv(&comparisons)),
            (
                "compare_replications.csv",
                report::experiment::compare_replications_csv(&results, &results_b),
            ),
            (
                "report.html",
                report::html::compare_report(&a.name, &b.name, replications, &comparisons),
            ),
        ],
    )?;
    if !quiet {
        println!(
            "A = {} · B = {} · {} paired replications (seeds from {})\n\n{}\noutputs in {}",
            a.name,
            b.name,
            replications,
            a.seed,
            report::experiment::compare_table(&comparisons),
            dir.display()
        );
    }
    Ok(())
}

/// Splits a `--grid` value list on commas outside brackets, braces and quotes.
fn split_values(list: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut current = String::new();
    for c in list.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                values.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    values.push(current.trim().to_string());
    values
}

/// The grid's paths and its points: each point's values and its loaded scenario.
#[allow(clippy::type_complexity)]
fn sweep_points(
    path: &Path,
    grid: &[String],
    overrides: &[String],
    seed: Option<u64>,
) -> Result<(Vec<String>, Vec<(Vec<String>, Scenario)>), Failure> {
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    for spec in grid {
        let Some((key, list)) = spec.split_once('=') else {
            return Err(Failure::Usage(format!(
                "--grid {spec:?}: expected PATH=V1,V2,… such as exchange.floor_cpm=0,1,2"
            )));
        };
        let values = split_values(list);
        if key.trim().is_empty() || values.iter().any(String::is_empty) {
            return Err(Failure::Usage(format!(
                "--grid {spec:?}: expected a field path and non-empty values"
            )));
        }
        axes.push((key.trim().to_string(), values));
    }
    let mut combinations: Vec<Vec<String>> = vec![Vec::new()];
    for (_, values) in &axes {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |value| {
                    let mut next = prefix.clone();
                    next.push(value.clone());
                    next
                })
            })
            .collect();
    }
    let paths: Vec<String> = axes.iter().map(|(key, _)| key.clone()).collect();
    let mut points = Vec::new();
    let mut master = seed;
    for values in combinations {
        let mut all: Vec<String> = overrides.to_vec();
        all.extend(
            paths
                .iter()
                .zip(&values)
                .map(|(key, value)| format!("{key}={value}")),
        );
        let loaded = load(path, &all, master)?;
        master = Some(loaded.seed);
        points.push((values, loaded));
    }
    Ok((paths, points))
}

fn sweep(
    paths: &[String],
    points: &[(Vec<String>, Scenario)],
    out: Option<PathBuf>,
    replications: usize,
    quiet: bool,
) -> anyhow::Result<()> {
    let name = points[0].1.name.clone();
    let dir = out_folder(out, format!("sweep-{name}"))?;
    let all: Vec<experiment::Job<'_>> = points
        .iter()
        .flat_map(|(_, scenario)| jobs(scenario, replications, false))
        .collect();
    let bar = runs_bar(all.len(), quiet);
    let results = experiment::run_jobs(&all, &|| bar.inc(1));
    bar.finish_and_clear();
    let grouped: Vec<report::experiment::Point<'_>> = points
        .iter()
        .zip(results.chunks(replications))
        .map(|((values, _), results)| report::experiment::Point {
            values: values.iter().map(String::as_str).collect(),
            results,
        })
        .collect();
    let (tidy, summary) = report::experiment::sweep_csvs(paths, &grouped);
    let labelled: Vec<(String, Vec<experiment::stats::Estimate>)> = grouped
        .iter()
        .map(|point| {
            let label = point
                .values
                .iter()
                .map(|v| v.trim_matches('"'))
                .collect::<Vec<_>>()
                .join(" · ");
            (label, experiment::estimates(point.results))
        })
        .collect();
    let html = report::html::sweep_report(&name, paths, &labelled);
    write_all(
        &dir,
        &[
            ("sweep.csv", tidy),
            ("sweep_summary.csv", summary),
            ("report.html", html),
        ],
    )?;
    if !quiet {
        println!(
            "{name} · {} points × {} replications · outputs in {}",
            points.len(),
            replications,
            dir.display()
        );
    }
    Ok(())
}

/// Reads a baseline: `(master seed, KPI values per replication in KPIS order)`.
fn read_baseline(path: &Path) -> Result<(u64, Vec<Vec<f64>>), Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::Usage(format!("cannot read baseline {shown}: {error}")))?;
    if path.extension().is_some_and(|ext| ext == "json") {
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|error| Failure::Usage(format!("{shown}: not JSON: {error}")))?;
        let seed = json["seed"].as_u64().ok_or_else(|| {
            Failure::Usage(format!(
                "{shown}: no `seed`: expected an adsim summary.json"
            ))
        })?;
        let values = experiment::KPIS
            .iter()
            .map(|kpi| {
                json["kpis"][kpi.name].as_f64().ok_or_else(|| {
                    Failure::Usage(format!(
                        "{shown}: no `kpis.{}`: expected the summary.json of adsim 0.1 (output schema 3) or later",
                        kpi.name
                    ))
                })
            })
            .collect::<Result<Vec<f64>, Failure>>()?;
        return Ok((seed, vec![values]));
    }
    // replications.csv: replication,seed,kpi,value
    let mut rows: Vec<(u64, Vec<Option<f64>>)> = Vec::new();
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, "replication,seed,kpi,value")) => {}
        _ => {
            return Err(Failure::Usage(format!(
                "{shown}:1: expected the header `replication,seed,kpi,value` of a replications.csv (or a summary.json)"
            )));
        }
    }
    for (idx, line) in lines {
        let line_no = idx + 1;
        let fields: Vec<&str> = line.split(',').collect();
        let bad = |what: &str| Failure::Usage(format!("{shown}:{line_no}: {what}"));
        let [replication, seed, kpi, value] = fields[..] else {
            return Err(bad("expected 4 fields: replication,seed,kpi,value"));
        };
        let replication: usize = replication
            .parse()
            .map_err(|_| bad("column `replication`: expected a whole number"))?;
        let seed: u64 = seed
            .parse()
            .map_err(|_| bad("column `seed`: expected a whole number"))?;
        let value: f64 = value
            .parse()
            .map_err(|_| bad("column `value`: expected a number"))?;
        let Some(k) = experiment::KPIS.iter().position(|known| known.name == kpi) else {
            return Err(bad(&format!("column `kpi`: unknown KPI \"{kpi}\"")));
        };
        if replication == rows.len() {
            rows.push((seed, vec![None; experiment::KPIS.len()]));
        }
        match rows.get_mut(replication) {
            Some((row_seed, values)) if *row_seed == seed => values[k] = Some(value),
            _ => return Err(bad("replications must be in order, each with one seed")),
        }
    }
    let Some(&(master, _)) = rows.first() else {
        return Err(Failure::Usage(format!("{shown}: no replications")));
    };
    let mut values = Vec::new();
    for (r, (seed, row)) in rows.into_iter().enumerate() {
        if seed != experiment::replication_seed(master, r) {
            return Err(Failure::Usage(format!(
                "{shown}: replication {r} has seed {seed}, not the seed adsim derives from {master}"
            )));
        }
        let complete: Option<Vec<f64>> = row.into_iter().collect();
        values.push(
            complete.ok_or_else(|| {
                Failure::Usage(format!("{shown}: replication {r} lacks some KPIs"))
            })?,
        );
    }
    Ok((master, values))
}

fn check(
    scenario: &Scenario,
    baseline: &[Vec<f64>],
    tolerance: f64,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<(), Failure> {
    let bar = runs_bar(baseline.len(), quiet);
    let results = experiment::run_jobs(&jobs(scenario, baseline.len(), false), &|| bar.inc(1));
    bar.finish_and_clear();
    let rows = experiment::check(baseline, &results, tolerance);
    if let Some(out) = out {
        let dir = out_folder(Some(out), String::new()).map_err(Failure::Internal)?;
        write_all(&dir, &[("check.csv", report::experiment::check_csv(&rows))])
            .map_err(Failure::Internal)?;
    }
    let regressed: Vec<&str> = rows
        .iter()
        .filter(|row| row.verdict == experiment::Verdict::Regressed)
        .map(|row| row.kpi.name)
        .collect();
    if !quiet {
        println!(
            "{} · {} run(s) on the baseline's seeds · tolerance {}%\n\n{}",
            scenario.name,
            baseline.len(),
            tolerance * 100.0,
            report::experiment::check_table(&rows)
        );
        if regressed.is_empty() {
            println!("check passed: no KPI is worse beyond the tolerance");
        } else {
            println!("check FAILED: {} regressed", regressed.join(", "));
        }
    }
    if regressed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Regressed)
    }
}

/// The overrides with `--inventory-grain` appended as the last one.
fn with_grain(mut overrides: Vec<String>, grain: Option<String>) -> Vec<String> {
    if let Some(grain) = grain {
        overrides.push(format!("inventory.grain=\"{grain}\""));
    }
    overrides
}

/// `adsim avails`.
#[allow(clippy::too_many_arguments)]
fn avails_command(
    path: &Path,
    from: Option<String>,
    to: Option<String>,
    target: &[String],
    exclude: &[String],
    forecast: Option<String>,
    mut overrides: Vec<String>,
    json: bool,
) -> Result<(), Failure> {
    // A forecast file named on the command line is relative to the current folder: pass it
    // to the scenario loader (which reads and checks it) as an absolute path.
    if let Some(forecast) = &forecast {
        let value = if forecast == "oracle" {
            "oracle".to_string()
        } else {
            let absolute = std::path::absolute(forecast)
                .map_err(|error| Failure::Usage(format!("--forecast {forecast}: {error}")))?;
            absolute.display().to_string()
        };
        // Without an [allocation] table in the scenario, the override makes one, which needs
        // a plan (avails do not depend on it).
        if load(path, &overrides, None)?.adserver.allocation.is_none() {
            overrides.push("allocation.plan=\"optimal\"".to_string());
        }
        overrides.push(format!("allocation.forecast={}", toml_string(&value)));
    }
    let mut loaded = load(path, &overrides, None)?;
    if loaded.adserver.allocation.is_none() {
        // No [allocation] table: the oracle (or --forecast, which made one above).
        loaded.adserver.allocation = Some(adsim::adserver::AllocationConfig {
            plan: adsim::planning::PlanKind::Optimal,
            forecast: adsim::adserver::ForecastSource::Oracle,
        });
    }
    let source = loaded
        .adserver
        .allocation
        .as_ref()
        .map(|a| a.forecast.clone())
        .expect("set above");
    let hour = |flag: &str, text: Option<String>, default: adsim::time::SimTime| match text {
        None => Ok(default),
        Some(text) => match adsim::scenario::parse_utc(&text) {
            Some(at) if at.0 % SimDuration::HOUR.0 == 0 => Ok(at),
            _ => Err(Failure::Usage(format!(
                "--{flag} {text:?}: expected a whole UTC hour such as 2026-11-09T00:00:00Z"
            ))),
        },
    };
    let window = (
        hour("from", from, loaded.start)?,
        hour("to", to, loaded.end)?,
    );
    if window.0 < loaded.start || window.1 <= window.0 {
        return Err(Failure::Usage(format!(
            "the window {} → {} must start at or after the scenario's start ({}) and end after it starts",
            window.0, window.1, loaded.start
        )));
    }
    let mut query = Vec::new();
    for (flags, include) in [(target, true), (exclude, false)] {
        for flag in flags {
            query.push(query_rule(&loaded.dims, flag, include)?);
        }
    }
    if let adsim::adserver::ForecastSource::File { rows, path } = &source {
        for rule in &query {
            let derived = rule.dim == loaded.dims.local_hour() || rule.dim == loaded.dims.weekday();
            if !derived && rows.iter().any(|row| row.known >> rule.dim & 1 == 0) {
                return Err(Failure::Usage(format!(
                    "the forecast {path} has no column \"{}\", which the targeting needs",
                    loaded.dims.list[rule.dim].name
                )));
            }
        }
    }
    let [point, low, high] = adsim::engine::avails(&loaded, &query, window, &source);
    let describe: Vec<String> = target
        .iter()
        .map(|t| t.to_string())
        .chain(exclude.iter().map(|e| format!("not {e}")))
        .collect();
    let describe = if describe.is_empty() {
        "every request".to_string()
    } else {
        describe.join(" · ")
    };
    if json {
        let value = serde_json::json!({
            "scenario": loaded.name,
            "targeting": describe,
            "from": window.0.to_string(),
            "to": window.1.to_string(),
            "forecast": source.name(),
            "eligible_requests": point.eligible_requests,
            "booked": point.booked,
            "booked_deliverable": point.booked_deliverable,
            "available": point.available,
            "available_low": low.available.min(point.available),
            "available_high": high.available.max(point.available),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("JSON serializes")
        );
    } else {
        println!(
            "avails for {describe}, {} → {}, forecast {}\n",
            window.0,
            window.1,
            source.name()
        );
        println!(
            "eligible forecast requests   {:>14.0}",
            point.eligible_requests
        );
        println!("booked goals in the window   {:>14.0}", point.booked);
        println!(
            "  of which deliverable       {:>14.0}",
            point.booked_deliverable
        );
        println!(
            "available impressions        {:>14.0}   interval [{:.0}, {:.0}]",
            point.available,
            low.available.min(point.available),
            high.available.max(point.available)
        );
    }
    Ok(())
}

/// A TOML string literal.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `ATTRIBUTE=V1,V2` as a targeting rule.
fn query_rule(
    dims: &adsim::traffic::Dimensions,
    flag: &str,
    include: bool,
) -> Result<adsim::adserver::Rule, Failure> {
    let which = if include { "--target" } else { "--exclude" };
    let Some((name, values)) = flag.split_once('=') else {
        return Err(Failure::Usage(format!(
            "{which} {flag:?}: expected ATTRIBUTE=V1,V2 such as country=US,GB"
        )));
    };
    let Some(dim) = dims.index(name.trim()) else {
        let known: Vec<&str> = dims.list.iter().map(|d| d.name.as_str()).collect();
        return Err(Failure::Usage(format!(
            "{which} {flag:?}: unknown attribute \"{name}\", expected one of {}",
            known.join(", ")
        )));
    };
    let mut indices = Vec::new();
    for value in values.split(',').map(str::trim) {
        match dims.list[dim].values.iter().position(|v| v == value) {
            Some(idx) => indices.push(idx as u16),
            None => {
                return Err(Failure::Usage(format!(
                    "{which} {flag:?}: unknown {name} \"{value}\""
                )));
            }
        }
    }
    Ok(adsim::adserver::Rule {
        dim,
        include,
        values: indices,
    })
}

/// An inventory export read back: period name and step, first period, key names, and per
/// segment (in first-seen order) the requests and opportunities series.
struct InventoryFile {
    period_name: String,
    step: SimDuration,
    first: adsim::time::SimTime,
    keys: Vec<String>,
    segments: Vec<(Vec<String>, Vec<f64>, Vec<f64>)>,
    has_opportunities: bool,
}

fn read_inventory(path: &Path) -> Result<InventoryFile, Failure> {
    let shown = path.display();
    let bad = |line: usize, what: String| Failure::Usage(format!("{shown}:{line}: {what}"));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|error| Failure::Usage(format!("cannot read inventory {shown}: {error}")))?;
    let header = reader
        .headers()
        .map_err(|error| Failure::Usage(format!("{shown}: {error}")))?
        .clone();
    let period_name = header.get(0).unwrap_or("").to_string();
    let step = match period_name.as_str() {
        "hour" => SimDuration::HOUR,
        "day" => SimDuration::DAY,
        other => {
            return Err(bad(
                1,
                format!(
                    "the first column is \"{other}\", expected `hour` or `day` (an adsim inventory.csv)"
                ),
            ));
        }
    };
    let Some(requests_col) = header.iter().position(|h| h == "requests") else {
        return Err(bad(1, "no `requests` column".to_string()));
    };
    let opportunities_col = header.iter().position(|h| h == "opportunities");
    let keys: Vec<String> = header
        .iter()
        .skip(1)
        .take(requests_col - 1)
        .map(str::to_string)
        .collect();
    let mut index: std::collections::BTreeMap<Vec<String>, usize> = Default::default();
    let mut segments: Vec<(Vec<String>, Vec<f64>, Vec<f64>)> = Vec::new();
    let mut first = None;
    for (idx, record) in reader.records().enumerate() {
        let line = idx + 2;
        let record = record.map_err(|error| bad(line, error.to_string()))?;
        let text = record.get(0).unwrap_or("");
        let at = adsim::scenario::parse_utc(text).ok_or_else(|| {
            bad(
                line,
                format!("column `{period_name}`: expected a UTC date-time, found \"{text}\""),
            )
        })?;
        let first = *first.get_or_insert(adsim::time::SimTime(at.0 - at.0.rem_euclid(step.0)));
        let period = (at.0 - first.0).div_euclid(step.0);
        if period < 0 {
            return Err(bad(
                line,
                format!("{text} is before the first row's period: rows must be in time order"),
            ));
        }
        let number = |col: usize, name: &str| -> Result<f64, Failure> {
            let field = record.get(col).unwrap_or("");
            field
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    bad(
                        line,
                        format!(
                            "column `{name}`: expected a non-negative number, found \"{field}\""
                        ),
                    )
                })
        };
        let requests = number(requests_col, "requests")?;
        let opportunities = match opportunities_col {
            Some(col) => number(col, "opportunities")?,
            None => 0.0,
        };
        let key: Vec<String> = (1..requests_col)
            .map(|c| record.get(c).unwrap_or("").to_string())
            .collect();
        let slot = *index.entry(key.clone()).or_insert_with(|| {
            segments.push((key, Vec::new(), Vec::new()));
            segments.len() - 1
        });
        let (_, series, opps) = &mut segments[slot];
        let period = period as usize;
        if series.len() <= period {
            series.resize(period + 1, 0.0);
            opps.resize(period + 1, 0.0);
        }
        series[period] += requests;
        opps[period] += opportunities;
    }
    let Some(first) = first else {
        return Err(Failure::Usage(format!("{shown}: no rows")));
    };
    let n = segments.iter().map(|(_, s, _)| s.len()).max().unwrap_or(0);
    for (_, series, opps) in &mut segments {
        series.resize(n, 0.0);
        opps.resize(n, 0.0);
    }
    Ok(InventoryFile {
        period_name,
        step,
        first,
        keys,
        segments,
        has_opportunities: opportunities_col.is_some(),
    })
}

#[allow(clippy::too_many_arguments)]
fn forecast_command(
    inventory: &Path,
    out: Option<PathBuf>,
    methods: &[String],
    horizon: Option<usize>,
    origins: usize,
    level: f64,
    scenario: Option<PathBuf>,
    overrides: &[String],
    quiet: bool,
) -> Result<(), Failure> {
    use adsim::forecast::{Grain, Method, Regressor, job};
    if !(level > 0.0 && level < 1.0) {
        return Err(Failure::Usage(format!(
            "--level: expected a fraction in (0, 1), found {level}"
        )));
    }
    let loaded = match &scenario {
        Some(path) => Some(load(path, overrides, None)?),
        None => None,
    };
    let mut chosen = Vec::new();
    for name in methods {
        let method = Method::from_name(name).ok_or_else(|| {
            Failure::Usage(format!(
                "--method {name}: unknown, expected one of {}",
                Method::NAMES.join(", ")
            ))
        })?;
        if method == Method::LaunchAware && loaded.is_none() {
            return Err(Failure::Usage(
                "--method launch_aware needs --scenario (its launch calendar)".to_string(),
            ));
        }
        chosen.push(method);
    }
    if chosen.is_empty() {
        chosen = Method::ALL
            .into_iter()
            .filter(|m| *m != Method::LaunchAware || loaded.is_some())
            .collect();
    }
    let file = read_inventory(inventory)?;
    let grain = if file.step == SimDuration::DAY {
        Grain::DAILY
    } else {
        Grain::HOURLY
    };
    let horizon = horizon.unwrap_or(7 * grain.periods_per_day);
    if horizon == 0 || origins == 0 {
        return Err(Failure::Usage(
            "--horizon and --origins must be at least 1".to_string(),
        ));
    }
    let n = file.segments.first().map_or(0, |s| s.1.len());
    let forecast_start = file.first + file.step * n as i64;
    // The launch calendar over history and horizon, per segment (its genre or title if those
    // are keys, else all launched titles).
    let traffic = loaded
        .as_ref()
        .map(|scenario| adsim::traffic::Synthetic::new(scenario.traffic.clone(), scenario.seed));
    let segments: Vec<job::Segment> = file
        .segments
        .iter()
        .map(|(key, requests, opportunities)| {
            let regressor = traffic.as_ref().map(|traffic| {
                let dims = traffic.dimensions();
                let value_of = |name: &str| {
                    let k = file.keys.iter().position(|k| k == name)?;
                    let dim = dims.index(name)?;
                    dims.list[dim].values.iter().position(|v| *v == key[k])
                };
                let (genre, title) = (value_of("genre"), value_of("title"));
                let values = (0..n + horizon)
                    .map(|t| {
                        let at = file.first + file.step * t as i64 + SimDuration(file.step.0 / 2);
                        traffic.launch_share(at, |idx, g, _| {
                            genre.is_none_or(|genre| usize::from(g) == genre)
                                && title.is_none_or(|title| idx == title)
                        })
                    })
                    .collect();
                Regressor { values }
            });
            let total_requests: f64 = requests.iter().sum();
            job::Segment {
                key: key.clone(),
                requests: requests.clone(),
                opportunities_per_request: (file.has_opportunities && total_requests > 0.0)
                    .then(|| opportunities.iter().sum::<f64>() / total_requests),
                regressor,
            }
        })
        .collect();
    let results = job::run(
        &segments,
        &chosen,
        job::Settings {
            grain,
            horizon,
            origins,
            level,
        },
    );
    let dir = out_folder(out, "forecast".to_string()).map_err(Failure::Internal)?;
    let mut files: Vec<(String, String)> = results
        .iter()
        .map(|result| {
            (
                format!("forecast_{}.csv", result.method.name()),
                report::forecast::forecast_csv(
                    &file.period_name,
                    &file.keys,
                    &segments,
                    result,
                    forecast_start,
                    file.step,
                ),
            )
        })
        .collect();
    files.push((
        "backtest.csv".to_string(),
        report::forecast::backtest_csv(&file.keys, &segments, &results),
    ));
    for (name, contents) in &files {
        report::write_atomic(&dir, name, contents)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))
            .map_err(Failure::Internal)?;
    }
    if !quiet {
        println!(
            "{} segments × {n} {}s of history · horizon {horizon} · {origins} backtest origins · {:.0}% intervals\n\n{}\nforecasts from {forecast_start} in {}",
            segments.len(),
            file.period_name,
            level * 100.0,
            report::forecast::backtest_table(&results),
            dir.display()
        );
    }
    Ok(())
}

/// `adsim run` on a replay scenario.
fn run_replay(
    scenario: &adsim::scenario::ReplayScenario,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<(), Failure> {
    #[allow(clippy::disallowed_methods)] // wall-clock time for run.json only
    let started = Instant::now();
    let evaluation = adsim::replay::evaluate::evaluate(scenario).map_err(Failure::Usage)?;
    let wall = started.elapsed().as_secs_f64();
    let summary = report::replay::summary(scenario, &evaluation);
    let dir = out_folder(out, scenario.name.clone()).map_err(Failure::Internal)?;
    let mut json = serde_json::to_string_pretty(&summary).expect("summary serializes");
    json.push('\n');
    write_all(
        &dir,
        &[
            ("summary.json", json),
            ("strategies.csv", report::replay::strategies_csv(&summary)),
            (
                "pid_rounds.csv",
                report::replay::pid_rounds_csv(&evaluation),
            ),
        ],
    )
    .map_err(Failure::Internal)?;
    let info = serde_json::json!({
        "adsim_version": env!("CARGO_PKG_VERSION"),
        "scenario": scenario.name,
        "seed": scenario.seed,
        "wall_time_s": wall,
        "rows": evaluation.rows,
        "rows_per_second": evaluation.rows as f64 / wall.max(1e-9),
        "peak_memory_bytes": report::peak_memory_bytes(),
    });
    let mut info = serde_json::to_string_pretty(&info).expect("run info serializes");
    info.push('\n');
    write_all(&dir, &[("run.json", info)]).map_err(Failure::Internal)?;
    if !quiet {
        println!(
            "{}\noutputs in {}",
            report::replay::table(&summary),
            dir.display()
        );
    }
    Ok(())
}
