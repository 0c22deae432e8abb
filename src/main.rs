//! The `serversim` binary: command-line glue around the `models` crate. `main` calls `run` and
//! reports an error once; bad input exits with code 2, anything else that fails with code 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use models::architectures::REGISTRY;
use models::config::Scenario;
use models::runner::{self, JsonReport, Report};
use models::scenario::{self, ScenarioError, presets};

/// Discrete-event simulator of web-server architectures: thread pools, event loops, prefork,
/// worker MPM, daemon pools and CGI, fed the same traffic on the same machine.
#[derive(Debug, Parser)]
#[command(name = "serversim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a scenario file (or the built-in default) and report per-server results.
    Run(RunArgs),
    /// Open the window on a scenario file (the GUI; what runs with no command at all).
    Gui {
        /// Scenario file (TOML); the last one used, or the built-in default, if omitted.
        file: Option<PathBuf>,
    },
    /// List the architectures and their fields.
    Architectures,
    /// List the built-in presets.
    Presets,
    /// Print the built-in default scenario (a starting point for your own).
    DefaultScenario,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario file (TOML); the built-in default scenario if omitted.
    file: Option<PathBuf>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the number of independent replications.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: Option<u32>,
    /// Write the windowed time series (first replication) as CSV to this file.
    #[arg(long, value_name = "FILE.csv")]
    series: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("serversim: error: {e:#}");
            if e.downcast_ref::<ScenarioError>().is_some() || e.downcast_ref::<BadInputError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// A user error that is not a scenario error, e.g. an unwritable output path (exit code 2).
#[derive(Debug)]
struct BadInputError(String);

impl std::fmt::Display for BadInputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInputError {}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => {
            let terminal = RunArgs { file: None, json: false, seed: None, replications: None, series: None };
            if !gui::display_available() {
                eprintln!(
                    "serversim: no display found (DISPLAY/WAYLAND_DISPLAY unset), so the window cannot open; \
                     running the built-in default scenario in the terminal instead."
                );
                return run_command(&terminal);
            }
            if let Err(e) = gui::run_native() {
                eprintln!(
                    "serversim: the window could not open ({e}); running the default scenario in the terminal instead."
                );
                return run_command(&terminal);
            }
            Ok(())
        }
        Some(Command::Run(args)) => run_command(&args),
        Some(Command::Gui { file }) => {
            let scenario = match file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| BadInputError(format!("cannot read scenario file {}: {e}", path.display())))?;
                    Some((text, path.display().to_string()))
                }
                None => None,
            };
            if !gui::display_available() {
                return Err(BadInputError(
                    "no display found (DISPLAY/WAYLAND_DISPLAY unset): use `serversim run` in a terminal".into(),
                )
                .into());
            }
            gui::run_native_with(scenario).map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
        }
        Some(Command::Architectures) => {
            for a in &REGISTRY {
                println!("{:<11} {}\n            own fields: {}", a.id, a.summary, a.fields.join(", "));
            }
            Ok(())
        }
        Some(Command::Presets) => {
            for name in presets::preset_names() {
                let (description, architecture) = scenario::preset_summary(name).map_err(|p| anyhow::anyhow!("{p}"))?;
                println!("{name:<26} {architecture:<11} {description}");
            }
            Ok(())
        }
        Some(Command::DefaultScenario) => {
            print!("{}", scenario::DEFAULT_SCENARIO);
            Ok(())
        }
    }
}

fn run_command(args: &RunArgs) -> anyhow::Result<()> {
    let mut sc: Scenario = match &args.file {
        Some(path) => scenario::load(path)?,
        None => scenario::default_scenario(),
    };
    if let Some(seed) = args.seed {
        sc.run.seed = seed;
    }
    if let Some(r) = args.replications {
        sc.run.replications = r;
    }
    let report = runner::run(&sc, args.series.is_some());
    for s in &report.servers {
        for w in &s.warnings {
            eprintln!("serversim: warning: {}: {w}", s.name);
        }
    }
    if let Some(path) = &args.series {
        std::fs::write(path, runner::series_csv(&report))
            .map_err(|e| BadInputError(format!("cannot write series to {}: {e}", path.display())))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = serde_json::to_string_pretty(&JsonReport::from_report(&report)).context("serialising results")?;
        writeln!(out, "{json}")?;
    } else {
        write_table(&mut out, &sc, &report)?;
    }
    Ok(())
}

fn write_table(out: &mut impl Write, sc: &Scenario, report: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "{}\n{} s measured after {} s warm-up, {} core(s), seed {}, {} replication(s)\n",
        sc.name, sc.run.duration_s, sc.run.warmup_s, sc.machine.cores, report.seed, report.replications
    )?;
    let header = format!(
        "{:<30} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>6} {:>7} {:>9} {:>9}",
        "server",
        "tput/s",
        "mean ms",
        "p50 ms",
        "p99 ms",
        "rejected",
        "timeout",
        "failed",
        "cpu%",
        "busy%",
        "mem MB",
        "peak MB"
    );
    writeln!(out, "{header}")?;
    writeln!(out, "{}", "-".repeat(header.len()))?;
    for s in &report.servers {
        let e = |f: &dyn Fn(&models::metrics::RunResult) -> f64| s.estimate(f).mean;
        let (c, _) = s.total_counts();
        let mut name = s.name.clone();
        if name.chars().count() > 30 {
            name = name.chars().take(29).collect::<String>() + "…";
        }
        writeln!(
            out,
            "{:<30} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>8} {:>8} {:>8} {:>6.1} {:>7.1} {:>9.1} {:>9.1}",
            name,
            e(&|r| r.throughput_rps),
            e(&|r| r.latency.mean_ms()),
            e(&|r| r.latency.quantile_ms(0.5)),
            e(&|r| r.latency.quantile_ms(0.99)),
            c.rejected,
            c.timed_out,
            c.failed,
            100.0 * e(&|r| r.cpu_utilization),
            100.0 * e(&|r| r.worker_utilization),
            e(&|r| r.memory_mean_mb),
            s.runs.iter().map(|r| r.memory_peak_mb).fold(0.0, f64::max),
        )?;
    }
    writeln!(out)?;
    for s in &report.servers {
        if let Some((name, cap)) = &s.capacity {
            writeln!(out, "{:<30} capacity ≈ {cap:.1} req/s, bottleneck: {name}", s.name)?;
        }
    }
    Ok(())
}
