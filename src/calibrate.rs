//! `serversim calibrate`: a scenario's demands fitted to a real server's load test
//! (`models::calibrate`), the fit printed point by point and the calibrated scenario written.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use models::calibrate::{self, PointLoad};

use crate::BadInputError;

#[derive(Debug, clap::Args)]
pub(crate) struct CalibrateArgs {
    /// The scenario describing the real server: its configuration, machine and request mix (the
    /// mix's mean CPU and waiting are what is fitted).
    file: PathBuf,
    /// The measured points (CSV): concurrency or rate_rps, throughput_rps, p50_ms, p99_ms.
    #[arg(long, value_name = "POINTS.csv")]
    measured: PathBuf,
    /// The server of FILE that was measured (needed when FILE has several).
    #[arg(long, value_name = "NAME")]
    server: Option<String>,
    /// Write the calibrated scenario (every server, the fitted demands) to this file.
    #[arg(long, value_name = "FILE.toml")]
    out: Option<PathBuf>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// The most Nelder–Mead iterations (each one to four evaluations of every point).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    max_iters: u64,
}

/// `serversim calibrate`.
pub(crate) fn calibrate_command(args: &CalibrateArgs) -> anyhow::Result<()> {
    let sc = models::scenario::load(&args.file)?;
    let file = args.measured.display().to_string();
    let text =
        std::fs::read_to_string(&args.measured).map_err(|e| BadInputError(format!("cannot read {file}: {e}")))?;
    let points = calibrate::parse_measured(&text, &file).map_err(|e| BadInputError(e.to_string()))?;
    let names: Vec<&str> = sc.servers.iter().map(|s| s.name.as_str()).collect();
    let server = match (&args.server, sc.servers.len()) {
        (Some(name), _) => names.iter().position(|n| n == name).ok_or_else(|| {
            BadInputError(format!(
                "--server \"{name}\": {} has no such server; allowed: {}",
                args.file.display(),
                names.join(", ")
            ))
        })?,
        (None, 1) => 0,
        (None, _) => {
            return Err(BadInputError(format!(
                "{} has {} servers: say which one was measured with --server (allowed: {})",
                args.file.display(),
                names.len(),
                names.join(", ")
            ))
            .into());
        }
    };
    if let Some(out) = &args.out
        && out.extension().and_then(|e| e.to_str()) != Some("toml")
    {
        return Err(BadInputError(format!("--out {}: a scenario file must end in .toml", out.display())).into());
    }
    let started = std::time::Instant::now();
    let fit = calibrate::calibrate(&sc, server, &points, args.max_iters).map_err(|e| BadInputError(e.to_string()))?;
    let wall_s = started.elapsed().as_secs_f64();
    let calibrated = calibrate::with_demands(&sc, fit.fitted);
    if let Some(out) = &args.out {
        std::fs::write(out, models::scenario::write::to_toml(&calibrated))
            .map_err(|e| BadInputError(format!("cannot write {}: {e}", out.display())))?;
    }
    let mut o = std::io::stdout().lock();
    if args.json {
        writeln!(o, "{}", json(&fit, &points, names[server]).context("serialising results")?)?;
        return Ok(());
    }
    writeln!(
        o,
        "calibrating {} of {} to {} measured points ({file})\n\
         fitted: cpu_ms mean {:.3} (from {:.3}), io_ms mean {:.3} (from {:.3}); {} evaluations, {} simulations, {wall_s:.1} s\n",
        names[server],
        sc.name,
        points.len(),
        fit.fitted.cpu_ms,
        fit.start.cpu_ms,
        fit.fitted.io_ms,
        fit.start.io_ms,
        fit.evaluations,
        fit.simulations
    )?;
    let header = format!(
        "{:<16} {:>9} {:>9} {:>9}   {:>9} {:>9} {:>9}   {:>7} {:>7} {:>7}",
        "load", "tput/s", "p50 ms", "p99 ms", "sim tput", "sim p50", "sim p99", "tput", "p50", "p99"
    );
    writeln!(
        o,
        "{:<16} {:^29}   {:^29}   {:^23}\n{header}\n{}",
        "",
        "measured",
        "simulated",
        "error",
        "-".repeat(header.len())
    )?;
    for (p, s) in points.iter().zip(&fit.simulated) {
        let load = match p.load {
            PointLoad::Connections(c) => format!("{c} connections"),
            PointLoad::Rate(r) => format!("{r} req/s"),
        };
        let e = calibrate::ratios(p, s).map(|r| format!("{:+.1}%", 100.0 * (r - 1.0)));
        writeln!(
            o,
            "{load:<16} {:>9.1} {:>9.1} {:>9.1}   {:>9.1} {:>9.1} {:>9.1}   {:>7} {:>7} {:>7}",
            p.throughput_rps, p.p50_ms, p.p99_ms, s.throughput_rps, s.p50_ms, s.p99_ms, e[0], e[1], e[2]
        )?;
    }
    writeln!(
        o,
        "\nfit quality: root-mean-square error {:.1}% over the {} measured numbers (on a log scale)",
        100.0 * fit.rms_relative_error,
        3 * points.len()
    )?;
    if let Some(out) = &args.out {
        writeln!(o, "wrote the calibrated scenario to {}", out.display())?;
    }
    Ok(())
}

/// The calibration as JSON (`docs/output-format.md`, "serversim calibrate").
fn json(fit: &calibrate::Calibration, points: &[calibrate::MeasuredPoint], server: &str) -> serde_json::Result<String> {
    let rows: Vec<serde_json::Value> = points
        .iter()
        .zip(&fit.simulated)
        .map(|(p, s)| {
            let (connections, rate) = match p.load {
                PointLoad::Connections(c) => (Some(c), None),
                PointLoad::Rate(r) => (None, Some(r)),
            };
            let r = calibrate::ratios(p, s);
            serde_json::json!({
                "line": p.line,
                "concurrency": connections,
                "rate_rps": rate,
                "measured": { "throughput_rps": p.throughput_rps, "p50_ms": p.p50_ms, "p99_ms": p.p99_ms },
                "simulated": { "throughput_rps": s.throughput_rps, "p50_ms": s.p50_ms, "p99_ms": s.p99_ms },
                "relative_error": { "throughput": r[0] - 1.0, "p50": r[1] - 1.0, "p99": r[2] - 1.0 },
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "server": server,
        "start": { "cpu_ms": fit.start.cpu_ms, "io_ms": fit.start.io_ms },
        "fitted": { "cpu_ms": fit.fitted.cpu_ms, "io_ms": fit.fitted.io_ms },
        "rms_relative_error": fit.rms_relative_error,
        "evaluations": fit.evaluations,
        "simulations": fit.simulations,
        "points": rows,
    }))
}
