//! The `serversim` binary: command-line glue around the `models` crate. `main` calls `run` and
//! reports an error once; bad input exits with code 2, anything else that fails with code 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Parser, Subcommand};
use models::architectures::REGISTRY;
use models::config::Scenario;
use models::runner::{self, JsonReport, Report};
use models::scenario::{self, ScenarioError, presets};

mod bench;
mod calibrate;
mod lesson;

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
    /// Run a scenario at several values of one parameter (capacity planning): rate, users,
    /// processes or threads; every point an independent simulation, in parallel.
    Sweep(SweepArgs),
    /// Capacity planning: for each server, the cheapest pool that meets a p99 and loss target at
    /// a rate (replicated: the upper end of p99's 95% interval must meet it).
    Plan(PlanArgs),
    /// The standard WSGI-server benchmark: test applications × concurrency scenarios × servers
    /// (every preset, or a file's), a Markdown report with a ranking per application and charts.
    Bench(bench::BenchArgs),
    /// Fit a scenario's mean CPU and waiting per request to a real server's load test
    /// (concurrency or rate, throughput, p50, p99 per point) and write the calibrated scenario.
    Calibrate(calibrate::CalibrateArgs),
    /// Join the JSON of a grid's shards (`sweep --vary … --shard K/N --json`) into exactly what
    /// the unsharded grid prints with --json.
    Merge {
        /// The shards' JSON files, in any order.
        #[arg(required = true, value_name = "SHARD.json")]
        files: Vec<PathBuf>,
    },
    /// Open the window on a scenario file (the GUI; what runs with no command at all).
    Gui {
        /// Scenario file (TOML); the last one used, or the built-in default, if omitted.
        file: Option<PathBuf>,
        /// Open this lesson of the course (number or name) in the Lessons view.
        #[arg(long, conflicts_with = "file")]
        lesson: Option<String>,
    },
    /// The course: list, show, take (`serversim lesson 1`), run or check lessons.
    Lesson(lesson::LessonArgs),
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
    /// Check the scenario's `[[claim]]`s on the run instead of printing results: one line per
    /// claim and `N passed, M failed`; exit code 1 if any fails.
    #[arg(long, conflicts_with = "json")]
    check: bool,
}

#[derive(Debug, clap::Args)]
struct SweepArgs {
    /// Scenario file (TOML); the built-in default scenario if omitted.
    file: Option<PathBuf>,
    /// What to vary: rate_rps, users (closed loads), processes (or daemons, max_processes) or
    /// threads; pool sizes change on every server that has the setting.
    #[arg(long, required_unless_present = "vary", conflicts_with = "vary")]
    param: Option<String>,
    /// A grid instead: PATH=VALUES, any numeric field (load.rate_rps, machine.cores,
    /// server.threads, server[NAME].processes, request[NAME].cpu_ms.mean,
    /// load.clients[NAME].weight, …); VALUES is a,b,c or FROM..TO/STEPS. Several make a grid.
    #[arg(long, value_name = "PATH=VALUES")]
    vary: Vec<String>,
    /// The values, comma-separated (e.g. 50,100,200); or use --from/--to/--steps.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["from", "to"])]
    values: Vec<f64>,
    /// First value of an evenly spaced range.
    #[arg(long, requires = "to")]
    from: Option<f64>,
    /// Last value of the range.
    #[arg(long, requires = "from")]
    to: Option<f64>,
    /// Number of values in the range.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    steps: u32,
    /// Latency target: report, per server, the best value whose p99 is at most this many ms
    /// while losing at most 0.1% of requests.
    #[arg(long, value_name = "MS")]
    target_p99_ms: Option<f64>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the points as CSV to this file.
    #[arg(long, value_name = "FILE.csv")]
    csv: Option<PathBuf>,
    /// Also draw throughput, p99, losses and peak memory against the parameter (.png or .svg).
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the number of independent replications per point.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: Option<u32>,
    /// Simulations to run at once (default: one per core). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    jobs: Option<u32>,
    /// Run only the K-th of N slices of a grid (--vary), for a batch system; print it with
    /// --json and join the slices with `serversim merge`.
    #[arg(long, value_name = "K/N", requires = "vary", requires = "json", conflicts_with_all = ["target_p99_ms", "csv", "chart"])]
    shard: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// Scenario file (TOML); the built-in default scenario if omitted. Each server is the
    /// template: its architecture and every field but its pool sizes.
    file: Option<PathBuf>,
    /// The arrival rate to plan for, requests per second.
    #[arg(long, value_name = "RPS")]
    rate: f64,
    /// The p99 latency target, ms: the upper end of its 95% confidence interval must meet it.
    #[arg(long, value_name = "MS")]
    p99_ms: f64,
    /// The largest fraction of requests that may be lost (refused, failed or timed out).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.001)]
    max_lost: f64,
    /// The memory a server may use at its peak, MB (default: the scenario's `machine.memory_mb`).
    #[arg(long, value_name = "MB")]
    memory_mb: Option<f64>,
    /// Cores of the machine (default: the scenario's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    cores: Option<u32>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Replications per configuration (at least 5 are used).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    replications: Option<u32>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<Interrupted>().is_some() => {
            eprintln!("serversim: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("serversim: error: {e:#}");
            if e.downcast_ref::<ScenarioError>().is_some()
                || e.downcast_ref::<BadInputError>().is_some()
                || e.downcast_ref::<lessons::LessonError>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// A user error that is not a scenario error, e.g. an unwritable output path (exit code 2).
#[derive(Debug)]
pub(crate) struct BadInputError(String);

impl std::fmt::Display for BadInputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInputError {}

/// The user pressed Ctrl-C (exit code 130, as for a shell's interrupted command).
#[derive(Debug)]
struct Interrupted(&'static str);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Interrupted {}

/// Set by the first Ctrl-C; a second one exits at once.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Catch Ctrl-C so a long run can stop cleanly and print what it has.
fn catch_interrupts() {
    // An error here means a handler is already installed, which is all we need.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nserversim: interrupted: stopping (Ctrl-C again to quit at once)");
    });
}

/// Run `work` on a helper thread while this one draws a progress bar on stderr (shown only on a
/// terminal, and only once the work has taken more than a second) and forwards Ctrl-C to
/// `interrupt`.
fn with_progress<T: Send>(
    total: u64,
    unit: &'static str,
    on_ctrl_c: &'static str,
    done: impl Fn() -> u64,
    interrupt: impl Fn(),
    work: impl FnOnce() -> T + Send,
) -> anyhow::Result<T> {
    catch_interrupts();
    let started = std::time::Instant::now();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let result = std::thread::scope(|scope| {
        let worker = scope.spawn(work);
        let mut forwarded = false;
        while !worker.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(50));
            if INTERRUPTED.load(Ordering::SeqCst) && !forwarded {
                interrupt();
                forwarded = true;
            }
            if bar.is_none() && started.elapsed().as_secs_f64() > 1.0 {
                let b = indicatif::ProgressBar::new(total);
                b.set_style(
                    indicatif::ProgressStyle::with_template(&format!(
                        "[{{bar:30}}] {{percent:>3}}% of the {unit}, {{elapsed}} (eta {{eta}}); Ctrl-C {on_ctrl_c}"
                    ))
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar = Some(b);
            }
            if let Some(b) = &bar {
                b.set_position(done().min(total));
            }
        }
        worker.join()
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result.map_err(|_| anyhow::anyhow!("a simulation thread panicked"))
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => {
            let terminal =
                RunArgs { file: None, json: false, seed: None, replications: None, series: None, check: false };
            match window::open(None, None) {
                Ok(()) => Ok(()),
                Err(why) => {
                    eprintln!("serversim: {why}; running the built-in default scenario in the terminal instead.");
                    run_command(&terminal)
                }
            }
        }
        Some(Command::Run(args)) => run_command(&args),
        Some(Command::Sweep(args)) => sweep_command(&args),
        Some(Command::Plan(args)) => plan_command(&args),
        Some(Command::Merge { files }) => merge_command(&files),
        Some(Command::Bench(args)) => bench::bench_command(&args),
        Some(Command::Calibrate(args)) => calibrate::calibrate_command(&args),
        Some(Command::Lesson(args)) => lesson::lesson_command(&args),
        Some(Command::Gui { file, lesson }) => {
            let lesson = match lesson {
                Some(id) => Some(lesson::course_index(&id)?),
                None => None,
            };
            let scenario = match file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| BadInputError(format!("cannot read scenario file {}: {e}", path.display())))?;
                    Some((text, path.display().to_string()))
                }
                None => None,
            };
            window::open(scenario, lesson).map_err(|why| match why {
                window::NoWindow::Failed(e) => anyhow::anyhow!("the window could not open: {e}"),
                why => BadInputError(format!("{why}: use `serversim run` in a terminal")).into(),
            })
        }
        Some(Command::Architectures) => {
            for a in &REGISTRY {
                println!("{:<11} {}\n            own fields: {}", a.id, a.summary, a.field_names().join(", "));
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

/// The scenario in `file` (the built-in default if none), with the command line's overrides.
fn load_scenario(file: Option<&PathBuf>, seed: Option<u64>, replications: Option<u32>) -> anyhow::Result<Scenario> {
    let mut sc: Scenario = match file {
        Some(path) => scenario::load(path)?,
        None => scenario::default_scenario(),
    };
    if let Some(seed) = seed {
        sc.run.seed = seed;
    }
    if let Some(r) = replications {
        sc.run.replications = r;
    }
    Ok(sc)
}

fn run_command(args: &RunArgs) -> anyhow::Result<()> {
    let sc = load_scenario(args.file.as_ref(), args.seed, args.replications)?;
    let control = runner::RunControl::default();
    let report = with_progress(
        runner::RunControl::total_ms(&sc),
        "simulated time",
        "stops and prints the results so far",
        || control.done_ms.load(Ordering::Relaxed),
        || control.interrupt.store(true, Ordering::Relaxed),
        || runner::run_with(&sc, args.series.is_some(), &control),
    )?;
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
    if args.check {
        let file = args.file.as_ref().map_or("<built-in default scenario>".into(), |p| p.display().to_string());
        let checks = runner::check_claims(&sc, &report);
        let failed = checks.iter().filter(|c| !c.holds).count();
        for c in &checks {
            let mark = if c.holds { "ok  " } else { "FAIL" };
            writeln!(out, "{mark} {file}:{}: {} [{}]", c.claim.line, c.claim.says, c.detail)?;
        }
        writeln!(out, "{} passed, {failed} failed", checks.len() - failed)?;
        if checks.is_empty() {
            eprintln!("serversim: note: {file} has no [[claim]] to check");
        }
        if failed > 0 {
            return Err(lesson::ClaimsFailed(failed).into());
        }
    } else if args.json {
        let json = serde_json::to_string_pretty(&JsonReport::from_report(&report)).context("serialising results")?;
        writeln!(out, "{json}")?;
    } else {
        write_table(&mut out, &sc, &report)?;
    }
    let cut_short = report
        .servers
        .iter()
        .flat_map(|s| &s.runs)
        .any(|r| r.stopped.is_some_and(|s| s.reason == models::metrics::StopReason::Interrupted));
    if cut_short {
        return Err(Interrupted("interrupted: the results above cover only the time simulated before Ctrl-C").into());
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(Interrupted("interrupted after the simulation had finished: the results above are complete").into());
    }
    Ok(())
}

fn sweep_command(args: &SweepArgs) -> anyhow::Result<()> {
    use models::sweep::{self, SweepParam, SweepProgress};
    let sc = load_scenario(args.file.as_ref(), args.seed, args.replications)?;
    let bad = |e: sweep::SweepError| BadInputError(e.to_string());
    if !args.vary.is_empty() {
        return grid_command(args, &sc);
    }
    if args.shard.is_some() {
        return Err(BadInputError("--shard slices a grid: give the grid with --vary PATH=VALUES".into()).into());
    }
    let param = SweepParam::parse(args.param.as_deref().unwrap_or_default()).map_err(bad)?;
    let values = sweep_values(args, param)?;
    let servers = sweep::check(&sc, param, &values).map_err(bad)?;
    check_sweep_outputs(args)?;
    for (i, s) in sc.servers.iter().enumerate() {
        if !servers.contains(&i) {
            eprintln!("serversim: note: {} has no {} setting and is left out of the sweep", s.name, param.name());
        }
    }
    let progress = SweepProgress::default();
    let total = sweep::job_count(&sc, param, &values);
    // The grid, then (with a target) the best value per server, bisected between grid points.
    let (points, targets) = run_sweep_jobs(
        args.jobs,
        total,
        ("cancels the sweep", "interrupted: the sweep was cancelled before it finished"),
        &progress,
        || {
            let points = sweep::run(&sc, param, &values, &progress)?;
            let targets: Vec<Option<f64>> = (0..points[0].report.servers.len())
                .map(|s| args.target_p99_ms.and_then(|t| sweep::refine_target(&sc, &points, s, param, t, &progress)))
                .collect();
            Some((points, targets))
        },
    )?;
    let names: Vec<&str> = points[0].report.servers.iter().map(|s| s.name.as_str()).collect();
    warn_sweep(&points, &names, param);
    let rows = sweep::rows(&points, sc.run.warmup_s, sc.run.duration_s);
    if let Some(path) = &args.csv {
        std::fs::write(path, sweep::csv(param, &rows))
            .map_err(|e| BadInputError(format!("cannot write CSV to {}: {e}", path.display())))?;
    }
    if let Some(path) = &args.chart {
        charts::export_charts(path, &sweep_charts(&names, &rows, false), &sc.name, param.axis_label())
            .map_err(|e| BadInputError(format!("cannot write chart: {e}")))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = sweep::json(&sc.name, param, args.target_p99_ms, &names, &targets, &points)
            .context("serialising results")?;
        writeln!(out, "{json}")?;
    } else {
        sweep_table(&mut out, &sc, param, values.len(), &rows, args.target_p99_ms, &names, &targets)?;
    }
    Ok(())
}

/// The values `--values` or `--from/--to/--steps` ask for.
fn sweep_values(args: &SweepArgs, param: models::sweep::SweepParam) -> anyhow::Result<Vec<f64>> {
    match (args.from, args.to) {
        (Some(from), Some(to)) => Ok(models::sweep::evenly_spaced(param, from, to, args.steps as usize)),
        _ if !args.values.is_empty() => Ok(args.values.clone()),
        _ => Err(BadInputError("give the values with --values A,B,C or --from A --to B [--steps N]".into()).into()),
    }
}

/// `--target-p99-ms` and `--chart` are usable, before anything runs.
fn check_sweep_outputs(args: &SweepArgs) -> anyhow::Result<()> {
    if let Some(t) = args.target_p99_ms
        && !(t.is_finite() && t > 0.0)
    {
        return Err(BadInputError(format!("--target-p99-ms must be a number of milliseconds > 0, not {t}")).into());
    }
    if let Some(path) = &args.chart
        && !matches!(path.extension().and_then(|e| e.to_str()), Some("png" | "svg"))
    {
        return Err(BadInputError(format!("{}: a chart file must end in .png or .svg", path.display())).into());
    }
    Ok(())
}

/// One warning line per server, not one per point: overload warnings are expected in a sweep.
fn warn_sweep(points: &[models::sweep::SweepPoint], names: &[&str], param: models::sweep::SweepParam) {
    for (i, name) in names.iter().enumerate() {
        let warned: Vec<&models::sweep::SweepPoint> =
            points.iter().filter(|p| !p.report.servers[i].warnings.is_empty()).collect();
        if let Some(first) = warned.first() {
            let at: Vec<String> = warned.iter().map(|p| p.value.to_string()).collect();
            eprintln!(
                "serversim: warning: {name}: at {} = {}: {} (`serversim run` at one value shows every warning)",
                param.name(),
                at.join(", "),
                first.report.servers[i].warnings[0]
            );
        }
    }
}

/// The sweep as the terminal table, with the target's answer per server.
#[allow(clippy::too_many_arguments)]
fn sweep_table(
    out: &mut impl Write,
    sc: &Scenario,
    param: models::sweep::SweepParam,
    value_count: usize,
    rows: &[models::sweep::SweepRow],
    target_p99_ms: Option<f64>,
    names: &[&str],
    targets: &[Option<f64>],
) -> anyhow::Result<()> {
    use models::sweep::SweepParam;
    writeln!(
        out,
        "{}\nsweeping {} over {} value(s); {} s measured after {} s warm-up per point, {} replication(s), seed {}\n",
        sc.name,
        param.name(),
        value_count,
        sc.run.duration_s,
        sc.run.warmup_s,
        sc.run.replications.max(1),
        sc.run.seed
    )?;
    let header = format!(
        "{:>12} {:<30} {:>9} {:>9} {:>9} {:>8} {:>6} {:>9}",
        param.name(),
        "server",
        "tput/s",
        "mean ms",
        "p99 ms",
        "lost %",
        "cpu%",
        "peak MB"
    );
    writeln!(out, "{header}\n{}", "-".repeat(header.len()))?;
    for r in rows {
        writeln!(
            out,
            "{:>12} {:<30} {:>9.1} {:>9.1} {:>9.1} {:>8.2} {:>6.1} {:>9.1}",
            r.value,
            truncate(&r.server, 30),
            r.throughput_rps,
            r.mean_ms,
            r.p99_ms,
            100.0 * r.lost_fraction,
            100.0 * r.cpu_utilization,
            r.peak_memory_mb
        )?;
    }
    if let Some(t) = target_p99_ms {
        writeln!(out)?;
        let what = match param {
            SweepParam::RateRps | SweepParam::Users => "largest",
            SweepParam::Processes | SweepParam::Threads => "smallest",
        };
        for (name, best) in names.iter().zip(targets) {
            match best {
                Some(v) => {
                    // A rate is bisected to ±1%: one decimal is all it carries.
                    let v = if param.is_count() { format!("{v}") } else { format!("{v:.1}") };
                    writeln!(out, "{name}: {what} {} with p99 <= {t} ms and <= 0.1% lost: {v}", param.name())?
                }
                None => writeln!(out, "{name}: no swept {} meets p99 <= {t} ms with <= 0.1% lost", param.name())?,
            }
        }
    }
    Ok(())
}

/// A chart of a sweep: title, y-axis label and the value it plots.
type SweepMetric =
    (&'static str, &'static str, fn(&models::sweep::SweepRow) -> f64, fn(&models::sweep::SweepRow) -> Option<f64>);

/// The four charts of a sweep (throughput, p99, losses, peak memory) against the value, one line
/// per `names` entry (`SweepRow::server_index`); `log_x` for connections 1 … 1000.
pub(crate) fn sweep_charts(names: &[&str], rows: &[models::sweep::SweepRow], log_x: bool) -> Vec<charts::ChartData> {
    use charts::{ChartData, ChartLine, server_rgb};
    // With replications, throughput and p99 carry their 95% intervals as error bars.
    let metrics: [SweepMetric; 4] = [
        ("Throughput", "completed req/s", |r| r.throughput_rps, |r| r.throughput_ci95_rps),
        ("p99 latency", "ms", |r| r.p99_ms, |r| r.p99_ci95_ms),
        ("Lost requests", "refused + failed + timed out per s", |r| r.lost_rps, |_| None),
        ("Peak memory", "MB", |r| r.peak_memory_mb, |_| None),
    ];
    metrics
        .iter()
        .map(|(title, y_label, f, ci)| ChartData {
            title: (*title).into(),
            y_label: (*y_label).into(),
            // p99 spans orders of magnitude past the knee: a log axis shows every server's knee.
            log_y: *title == "p99 latency",
            log_x,
            lines: names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    // A point where nothing completed has no latency to draw (its p99 reads 0).
                    let drawn = || {
                        rows.iter()
                            .filter(move |r| r.server_index == i)
                            .filter(|r| *title != "p99 latency" || r.throughput_rps > 0.0)
                    };
                    ChartLine {
                        name: (*name).into(),
                        rgb: server_rgb(i),
                        points: drawn().map(|r| (r.value, f(r))).collect(),
                        errors: drawn().map(|r| ci(r).unwrap_or(0.0)).collect(),
                    }
                })
                .collect(),
        })
        .collect()
}

fn truncate(name: &str, width: usize) -> String {
    if name.chars().count() > width {
        name.chars().take(width - 1).collect::<String>() + "…"
    } else {
        name.to_owned()
    }
}

fn write_table(out: &mut impl Write, sc: &Scenario, report: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "{}\n{} s measured after {} s warm-up, {} core(s), seed {}, {} replication(s)\n",
        sc.name, sc.run.duration_s, sc.run.warmup_s, sc.machine.cores, report.seed, report.replications
    )?;
    let header = format!(
        "{:<30} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>6} {:>7} {:>9} {:>9} {:>9}",
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
        "peak MB",
        "ps MB"
    );
    writeln!(out, "{header}")?;
    writeln!(out, "{}", "-".repeat(header.len()))?;
    for s in &report.servers {
        let e = |f: &dyn Fn(&models::metrics::RunResult) -> f64| s.estimate(f).mean;
        let (c, _) = s.total_counts();
        let name = truncate(&s.name, 30);
        writeln!(
            out,
            "{:<30} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>8} {:>8} {:>8} {:>6.1} {:>7.1} {:>9.1} {:>9.1} {:>9.1}",
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
            e(&|r| r.rss_sum_mean_mb),
        )?;
    }
    if report.servers.iter().any(|s| s.estimate(|r| r.rss_sum_mean_mb - r.memory_mean_mb).mean > 0.05) {
        writeln!(
            out,
            "mem MB counts shared pages once (what the machine spends: size RAM with it); ps MB sums RSS over the processes, as ps and top do"
        )?;
    }
    writeln!(out)?;
    for s in &report.servers {
        if let Some((name, cap)) = &s.capacity {
            writeln!(out, "{:<30} capacity ≈ {cap:.1} req/s, bottleneck: {name}", s.name)?;
        }
    }
    writeln!(out)?;
    for s in &report.servers {
        writeln!(out, "{:<30} {}", truncate(&s.name, 30), theory_line(s))?;
    }
    Ok(())
}

/// Queueing theory beside the simulated mean (and p99) of `s`, or why no formula applies.
fn theory_line(s: &runner::ServerReport) -> String {
    let t = match &s.analytic {
        Ok(t) => t,
        Err(why) => return format!("no closed form: {}", why.join("; ")),
    };
    let mean = s.estimate(|r| r.latency.mean_ms());
    let p99 = s.estimate(|r| r.latency.quantile_ms(0.99));
    let theory = match t.p99_ms {
        Some(p) => format!("mean {:.1} ms, p99 {p:.1} ms", t.mean_ms),
        None => format!("mean {:.1} ms", t.mean_ms),
    };
    let simulated = if s.runs.len() > 1 {
        let within = |e: sim::stats::Estimate, v: f64| (e.mean - v).abs() <= e.half_width;
        let ok = within(mean, t.mean_ms) && t.p99_ms.is_none_or(|p| within(p99, p));
        format!(
            "simulated mean {:.1} ± {:.1}{}: {}",
            mean.mean,
            mean.half_width,
            t.p99_ms.map(|_| format!(", p99 {:.1} ± {:.1}", p99.mean, p99.half_width)).unwrap_or_default(),
            if ok { "agrees" } else { "disagrees by more than the 95% interval" }
        )
    } else {
        format!("simulated mean {:.1} (one replication: no interval)", mean.mean)
    };
    format!("theory, {} with c = {}: {theory}; {simulated}", t.model, t.servers)
}

/// The window, when the binary is built with it (the default `gui` feature).
mod window {
    /// Why the window did not open.
    #[derive(Debug)]
    pub enum NoWindow {
        /// This build has no window (`--no-default-features`).
        #[cfg_attr(feature = "gui", allow(dead_code))]
        NotBuilt,
        /// No display to open it on.
        #[cfg_attr(not(feature = "gui"), allow(dead_code))]
        NoDisplay,
        /// It tried and failed.
        #[cfg_attr(not(feature = "gui"), allow(dead_code))]
        Failed(String),
    }

    impl std::fmt::Display for NoWindow {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                NoWindow::NotBuilt => write!(f, "this serversim was built without the window (no `gui` feature)"),
                NoWindow::NoDisplay => {
                    write!(f, "no display found (DISPLAY/WAYLAND_DISPLAY unset), so the window cannot open")
                }
                NoWindow::Failed(e) => write!(f, "the window could not open ({e})"),
            }
        }
    }

    /// Open the window on a scenario file's (text, name) and a lesson index, and block until it
    /// closes.
    #[cfg(feature = "gui")]
    pub fn open(scenario: Option<(String, String)>, lesson: Option<usize>) -> Result<(), NoWindow> {
        if !gui::display_available() {
            return Err(NoWindow::NoDisplay);
        }
        gui::run_native_at(scenario, lesson).map_err(|e| NoWindow::Failed(e.to_string()))
    }

    /// Without the `gui` feature there is no window to open.
    #[cfg(not(feature = "gui"))]
    pub fn open(scenario: Option<(String, String)>, lesson: Option<usize>) -> Result<(), NoWindow> {
        let _ = (scenario, lesson);
        Err(NoWindow::NotBuilt)
    }
}

/// `serversim plan`: the cheapest configuration per server, and the best server.
fn plan_command(args: &PlanArgs) -> anyhow::Result<()> {
    use models::plan::{self, Objective};
    let mut sc = load_scenario(args.file.as_ref(), args.seed, args.replications)?;
    if let Some(c) = args.cores {
        sc.machine.cores = c;
    }
    let objective = Objective {
        rate_rps: args.rate,
        p99_ms: args.p99_ms,
        max_lost: args.max_lost,
        memory_mb: args.memory_mb.or(sc.machine.memory_mb),
    };
    let plan = plan::plan(&sc, objective).map_err(|e| BadInputError(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", plan::json(&plan).context("serialising the plan")?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}\nplan for {} req/s with p99 <= {} ms (upper end of the 95% interval) and <= {}% lost{}; \
         {} replications of {} s per configuration, {} core(s)\n",
        sc.name,
        objective.rate_rps,
        objective.p99_ms,
        100.0 * objective.max_lost,
        objective.memory_mb.map(|m| format!(", within {m} MB")).unwrap_or_default(),
        plan.replications,
        plan.duration_s,
        sc.machine.cores
    )?;
    let header = format!(
        "{:<30} {:<26} {:>14} {:>9} {:>9} {:>6} {:>13} {:>5}",
        "server", "sizes", "p99 ms (±95%)", "mem MB", "ps MB", "cpu%", "headroom r/s", "sims"
    );
    writeln!(out, "{header}\n{}", "-".repeat(header.len()))?;
    for s in &plan.servers {
        let sizes = s
            .sizes
            .as_ref()
            .map_or("-".to_string(), |z| z.iter().map(|(f, v)| format!("{f} {v}")).collect::<Vec<_>>().join(", "));
        match &s.chosen {
            Some(e) => writeln!(
                out,
                "{:<30} {:<26} {:>14} {:>9.0} {:>9.0} {:>6.1} {:>13.0} {:>5}",
                truncate(&s.name, 30),
                truncate(&sizes, 26),
                format!("{:.0} ± {:.0}", e.p99_ms.mean, e.p99_ms.half_width),
                e.memory_mb,
                e.rss_sum_mb,
                100.0 * e.cpu_utilization,
                s.headroom_rps.unwrap_or(f64::NAN),
                s.simulations
            )?,
            None => writeln!(
                out,
                "{:<30} {:<26} {:>14} {:>9} {:>9} {:>6} {:>13} {:>5}",
                truncate(&s.name, 30),
                "infeasible",
                "-",
                "-",
                "-",
                "-",
                "-",
                s.simulations
            )?,
        }
    }
    writeln!(out)?;
    for s in &plan.servers {
        writeln!(out, "{}: {}", s.name, s.reason)?;
        match (&s.analytic, &s.chosen) {
            (Some(Ok(t)), Some(e)) => match (t.p99_ms, plan::agrees(e, t)) {
                (Some(p99), Some(ok)) => writeln!(
                    out,
                    "    theory, {} with c = {}: p99 {p99:.0} ms (simulated {:.0} ± {:.0}: {})",
                    t.model,
                    t.servers,
                    e.p99_ms.mean,
                    e.p99_ms.half_width,
                    if ok { "agrees" } else { "disagrees by more than the interval" }
                )?,
                _ => writeln!(
                    out,
                    "    theory, {} with c = {}: mean {:.0} ms (no p99 in closed form)",
                    t.model, t.servers, t.mean_ms
                )?,
            },
            (Some(Err(why)), _) => writeln!(out, "    no closed form: {}", why.join("; "))?,
            _ => {}
        }
    }
    match plan.best {
        Some(b) => writeln!(
            out,
            "\nbest: {} (least memory, then fewest workers, among those that meet it)",
            plan.servers[b].name
        )?,
        None => writeln!(out, "\nno server meets the objective")?,
    }
    Ok(())
}

/// Run `work` (a sweep or a grid, `total` simulations) on `jobs` threads (default: one per core)
/// with a progress bar that Ctrl-C cancels through `progress` (saying `on_ctrl_c`); a cancelled
/// run is the `interrupted` error.
pub(crate) fn run_sweep_jobs<T: Send>(
    jobs: Option<u32>,
    total: usize,
    (on_ctrl_c, interrupted): (&'static str, &'static str),
    progress: &models::sweep::SweepProgress,
    work: impl FnOnce() -> Option<T> + Send,
) -> anyhow::Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0) as usize)
        .build()
        .context("starting the worker threads")?;
    let done = with_progress(
        total as u64,
        "simulations",
        on_ctrl_c,
        || progress.done.load(Ordering::Relaxed) as u64,
        || progress.cancel(),
        || pool.install(work),
    )?;
    Ok(done.ok_or(Interrupted(interrupted))?)
}

/// `serversim sweep --vary PATH=VALUES …`: every point of the grid (or of its `--shard`), every
/// server; with `--target-p99-ms`, the best value of the first path for each server and each
/// combination of the other paths' values.
fn grid_command(args: &SweepArgs, sc: &Scenario) -> anyhow::Result<()> {
    use models::grid::{self, JsonExtras, Shard};
    use models::sweep::{self, SweepProgress};
    let varies = args
        .vary
        .iter()
        .map(|v| grid::parse(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BadInputError(e.to_string()))?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose().map_err(BadInputError)?;
    check_sweep_outputs(args)?;
    let points = grid::points(sc, &varies).map_err(|e| BadInputError(e.to_string()))?;
    let chosen: Vec<usize> = (0..points.len()).filter(|&i| shard.is_none_or(|s| s.holds(i))).collect();
    let scenarios: Vec<Scenario> = chosen.iter().map(|&i| points[i].1.clone()).collect();
    let servers: Vec<usize> = (0..sc.servers.len()).collect();
    let progress = SweepProgress::default();
    let total = scenarios.iter().map(|s| s.servers.len() * s.run.replications.max(1) as usize).sum::<usize>();
    let (reports, targets) = run_sweep_jobs(
        args.jobs,
        total,
        ("cancels the grid", "interrupted: the grid was cancelled before it finished"),
        &progress,
        || {
            let reports = sweep::run_scenarios(&scenarios, &servers, &progress, &|_, _, _| {})?;
            // A target needs the whole grid: --shard refuses --target-p99-ms.
            let targets = args.target_p99_ms.map(|t| grid::targets(&varies, &points, &reports, t, &progress));
            Some((reports, targets))
        },
    )?;
    let rows =
        if shard.is_none() { grid::rows(&points, &reports, sc.run.warmup_s, sc.run.duration_s) } else { Vec::new() };
    if let Some(path) = &args.csv {
        std::fs::write(path, grid::csv(&varies, &rows))
            .map_err(|e| BadInputError(format!("cannot write CSV to {}: {e}", path.display())))?;
    }
    if let Some(path) = &args.chart {
        let (labels, lines) = grid_lines(&sc.servers, &varies, &rows);
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        charts::export_charts(path, &sweep_charts(&labels, &lines, false), &sc.name, &varies[0].0.text)
            .map_err(|e| BadInputError(format!("cannot write chart: {e}")))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let indexed: Vec<(usize, Report)> = chosen.iter().copied().zip(reports).collect();
        let extras = JsonExtras { shard, target: args.target_p99_ms.zip(targets.as_deref()) };
        writeln!(out, "{}", grid::json(sc, &varies, &points, &indexed, extras).context("serialising results")?)?;
        return Ok(());
    }
    let names: Vec<&str> = varies.iter().map(|(p, _)| p.text.as_str()).collect();
    writeln!(
        out,
        "{}\ngrid over {} ({} points); {} s measured after {} s warm-up per point, {} replication(s), seed {}\n",
        sc.name,
        names.join(" × "),
        points.len(),
        sc.run.duration_s,
        sc.run.warmup_s,
        sc.run.replications.max(1),
        sc.run.seed
    )?;
    let at = |values: &[f64], from: usize| -> String {
        names.iter().zip(values).skip(from).map(|(n, v)| format!("{n} = {v}")).collect::<Vec<_>>().join(", ")
    };
    for (k, r) in rows.iter().enumerate() {
        if k == 0 || rows[k - 1].values != r.values {
            writeln!(out, "{}", at(&r.values, 0))?;
        }
        let r99 = match r.row.p99_ci95_ms {
            Some(h) => format!("{:>8.1} ± {h:<6.1}", r.row.p99_ms),
            None => format!("{:>8.1}", r.row.p99_ms),
        };
        writeln!(
            out,
            "  {:<30} {:>9.1} req/s  mean {:>8.1} ms  p99 {r99} ms  lost {:>6.2}%",
            truncate(&r.row.server, 30),
            r.row.throughput_rps,
            r.row.mean_ms,
            100.0 * r.row.lost_fraction
        )?;
    }
    if let (Some(t), Some(found)) = (args.target_p99_ms, &targets) {
        let (first, _) = &varies[0];
        let what = if first.larger_is_harder() { "largest" } else { "smallest" };
        writeln!(out)?;
        for g in found {
            let who = &sc.servers[g.server].name;
            let with = if g.others.is_empty() {
                String::new()
            } else {
                format!(" at {}", at(&[&[f64::NAN][..], &g.others].concat(), 1))
            };
            match g.value {
                // A non-count is bisected to ±1%: one decimal more than that is noise.
                Some(v) => {
                    let v = if first.is_count() { format!("{v}") } else { format!("{v:.1}") };
                    writeln!(out, "{who}{with}: {what} {} with p99 <= {t} ms and <= 0.1% lost: {v}", first.text)?
                }
                None => {
                    writeln!(out, "{who}{with}: no {} of the grid meets p99 <= {t} ms with <= 0.1% lost", first.text)?
                }
            }
        }
    }
    Ok(())
}

/// A grid's chart lines: one per server and combination of the second and later paths' values
/// that apply to it (a pool size a server does not have would only repeat its line), against
/// the first path. Returns the lines' labels and the rows, `server_index` renumbered to index
/// the labels.
fn grid_lines(
    servers: &[models::config::ServerConfig],
    varies: &[(models::grid::VaryPath, Vec<f64>)],
    rows: &[models::grid::GridRow],
) -> (Vec<String>, Vec<models::sweep::SweepRow>) {
    let mut keys: Vec<(usize, Vec<u64>)> = Vec::new();
    let mut labels = Vec::new();
    let mut drawn: Vec<(usize, u64)> = Vec::new();
    let mut lines = Vec::new();
    for r in rows {
        let server = &servers[r.row.server_index];
        let applies: Vec<(&models::grid::VaryPath, f64)> = varies
            .iter()
            .zip(&r.values)
            .skip(1)
            .filter(|((p, _), _)| p.applies_to(server))
            .map(|((p, _), v)| (p, *v))
            .collect();
        let key = (r.row.server_index, applies.iter().map(|(_, v)| v.to_bits()).collect::<Vec<_>>());
        let line = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            let with: Vec<String> = applies.iter().map(|(p, v)| format!("{} = {v}", p.text)).collect();
            labels.push(if with.is_empty() {
                r.row.server.clone()
            } else {
                format!("{}, {}", r.row.server, with.join(", "))
            });
            keys.push(key);
            keys.len() - 1
        });
        if !drawn.contains(&(line, r.row.value.to_bits())) {
            drawn.push((line, r.row.value.to_bits()));
            lines.push(models::sweep::SweepRow { server_index: line, ..r.row.clone() });
        }
    }
    (labels, lines)
}

/// `serversim merge SHARD.json …`: the shards of one grid joined into the unsharded grid's JSON.
fn merge_command(files: &[PathBuf]) -> anyhow::Result<()> {
    let texts = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .map(|t| (f.display().to_string(), t))
                .map_err(|e| BadInputError(format!("cannot read {}: {e}", f.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let merged = models::grid::merge(&texts).map_err(|e| BadInputError(e.to_string()))?;
    writeln!(std::io::stdout().lock(), "{merged}")?;
    Ok(())
}
