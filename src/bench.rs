//! `serversim bench`: the benchmark matrix (`models::bench`) run in parallel, its report written
//! as Markdown with one chart per application, and its rows as JSON or CSV.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use models::bench::{self, APPS, BenchConfig, Concurrency, LOADS};

use crate::BadInputError;

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Benchmark the servers (and machine) of this scenario file instead of every preset on 4
    /// cores.
    #[arg(long, value_name = "FILE")]
    servers: Option<PathBuf>,
    /// Only these applications (comma-separated): hello, cpu, io, mixed, large, slow-clients,
    /// keepalive.
    #[arg(long, value_delimiter = ',')]
    apps: Vec<String>,
    /// Cores of the machine (default: 4, or the file's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    cores: Option<u32>,
    /// Simulated seconds measured per cell, after the warm-up.
    #[arg(long, default_value_t = 60.0)]
    duration_s: f64,
    /// Simulated seconds of warm-up per cell.
    #[arg(long, default_value_t = 10.0)]
    warmup_s: f64,
    /// Independent replications per cell (with 2 or more the CSV and JSON carry 95% intervals
    /// and the charts error bars).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    replications: u32,
    /// The seed every cell starts from.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The folder the report (report.md, one SVG and one PNG chart per application) is written to.
    #[arg(long, value_name = "DIR", default_value = "bench-report")]
    out: PathBuf,
    /// Print the rows and rankings as one JSON object on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also write the rows as CSV to this file.
    #[arg(long, value_name = "FILE.csv")]
    csv: Option<PathBuf>,
    /// Simulations to run at once (default: one per core). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// Print one cell's scenario file (APP/LOAD, e.g. hello/c100) instead of running the bench:
    /// `serversim run` on it gives that cell's numbers.
    #[arg(long, value_name = "APP/LOAD")]
    scenario: Option<String>,
}

/// The settings `args` ask for, checked before anything runs.
fn config(args: &BenchArgs) -> anyhow::Result<BenchConfig> {
    let bad = |m: String| anyhow::Error::from(BadInputError(m));
    let mut config = bench::default_config().map_err(|e| bad(e.to_string()))?;
    if let Some(path) = &args.servers {
        let sc = models::scenario::load(path)?;
        config.servers = sc.servers;
        config.machine = sc.machine;
    }
    if let Some(c) = args.cores {
        config.machine.cores = c;
    }
    if !args.apps.is_empty() {
        config.apps = args
            .apps
            .iter()
            .map(|a| bench::app_index(a.trim()))
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
    }
    if !(args.duration_s.is_finite() && args.duration_s > 0.0 && args.duration_s <= 86_400.0) {
        return Err(bad(format!("--duration-s {}: allowed seconds > 0, at most 86400", args.duration_s)));
    }
    if !(args.warmup_s.is_finite() && args.warmup_s >= 0.0 && args.warmup_s <= 86_400.0) {
        return Err(bad(format!("--warmup-s {}: allowed seconds ≥ 0, at most 86400", args.warmup_s)));
    }
    config.duration_s = args.duration_s;
    config.warmup_s = args.warmup_s;
    config.replications = args.replications;
    config.seed = args.seed;
    Ok(config)
}

/// `serversim bench`.
pub(crate) fn bench_command(args: &BenchArgs) -> anyhow::Result<()> {
    let config = config(args)?;
    let cells = bench::cells(&config).map_err(|e| BadInputError(e.to_string()))?;
    if let Some(which) = &args.scenario {
        let cell = bench::find_cell(&cells, which).map_err(|e| BadInputError(e.to_string()))?;
        write!(std::io::stdout().lock(), "{}", models::scenario::write::to_toml(&cell.scenario))?;
        return Ok(());
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| BadInputError(format!("cannot create the report folder {}: {e}", args.out.display())))?;
    let started = std::time::Instant::now();
    let progress = models::sweep::SweepProgress::default();
    let reports = crate::run_sweep_jobs(
        args.jobs,
        bench::job_count(&cells),
        ("cancels the bench", "interrupted: the bench was cancelled before it finished"),
        &progress,
        || bench::run(&cells, &progress),
    )?;
    let wall_s = started.elapsed().as_secs_f64();
    let rows = bench::rows(&cells, &reports);
    let command: Vec<String> = std::env::args().skip(1).collect();
    let command = format!("serversim {}", command.join(" "));
    let report = bench::markdown(&config, &cells, &rows, &command, wall_s);
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(|e| BadInputError(format!("cannot write {}: {e}", path.display())))
    };
    write(args.out.join("report.md"), &report)?;
    let names: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
    for &a in &config.apps {
        // Closed loops only: throughput, p99 and memory against connections.
        let closed: Vec<models::sweep::SweepRow> = rows
            .iter()
            .filter(|r| r.app == a && matches!(LOADS[r.load].concurrency, Concurrency::Connections(_)))
            .map(|r| r.row.clone())
            .collect();
        let charts = crate::sweep_charts(&names, &closed, true);
        let title = format!("{}: {}", APPS[a].name, APPS[a].summary);
        for ext in ["svg", "png"] {
            let path = args.out.join(format!("{}.{ext}", APPS[a].name));
            charts::export_charts(&path, &charts, &title, "connections (closed loop, no think time)")
                .map_err(|e| BadInputError(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    if let Some(path) = &args.csv {
        write(path.clone(), &bench::csv(&rows))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", bench::json(&config, &rows).context("serialising results")?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} simulations in {wall_s:.1} s; report: {}",
        bench::job_count(&cells),
        args.out.join("report.md").display()
    )?;
    for (a, standings) in bench::rankings(&rows, names.len(), &config.apps) {
        let podium: Vec<String> =
            standings.iter().take(3).map(|s| format!("{} ({:.0} req/s)", names[s.server], s.peak_rps)).collect();
        writeln!(out, "  {:<13} {}", APPS[a].name, podium.join(", "))?;
    }
    Ok(())
}
