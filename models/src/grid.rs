//! Grids (`serversim sweep --vary PATH=VALUES [--vary …]`): any numeric field of a scenario,
//! several at once. Every grid point is a scenario; every (point, server, replication) an
//! independent simulation run by `sweep::run_scenarios`, so a point's results are exactly those
//! of running that scenario on its own.

use crate::config::{Arrival, Scenario};
use crate::limits::{MAX_COUNT, MAX_RATE_RPS};

/// What a `--vary` path names.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Rate,
    Users,
    Cores,
    /// A pool size of every server that has it (`None`) or of the server so named.
    Size {
        server: Option<String>,
        threads: bool,
    },
    /// The mean CPU (or IO) of every request class (`None`) or of the class so named, ms.
    Demand {
        request: Option<String>,
        io: bool,
    },
    /// The weight of the client link so named.
    ClientWeight {
        client: String,
    },
}

/// One varied field: its path as written and what it names.
#[derive(Debug, Clone, PartialEq)]
pub struct VaryPath {
    /// The path as written (`server[prefork].processes`).
    pub text: String,
    target: Target,
}

/// Why a grid cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("--vary {spec}: {why}")]
pub struct GridError {
    /// The argument.
    pub spec: String,
    /// What is wrong and what is allowed.
    pub why: String,
}

/// The paths `--vary` accepts, for messages.
pub const ALLOWED: &str = "load.rate_rps, load.users, machine.cores, server.threads, server.processes, \
server[NAME].threads, server[NAME].processes, request.cpu_ms.mean, request.io_ms.mean, \
request[NAME].cpu_ms.mean, request[NAME].io_ms.mean, load.clients[NAME].weight";

/// Most points in one grid.
pub const MAX_POINTS: usize = 10_000;

/// `name[INNER]` → (`name`, Some(INNER)); `name` → (`name`, None).
fn indexed(part: &str) -> (&str, Option<String>) {
    match part.split_once('[') {
        Some((name, rest)) => (name, rest.strip_suffix(']').map(str::to_owned)),
        None => (part, None),
    }
}

/// Parse `PATH=VALUES`, VALUES being `a,b,c` or `from..to/steps`.
pub fn parse(spec: &str) -> Result<(VaryPath, Vec<f64>), GridError> {
    let err = |why: String| GridError { spec: spec.to_owned(), why };
    let (path, values) = spec.split_once('=').ok_or_else(|| err("expected PATH=VALUES".into()))?;
    let parts: Vec<&str> = path.split('.').collect();
    let target = match parts.as_slice() {
        ["load", "rate_rps"] => Target::Rate,
        ["load", "users"] => Target::Users,
        ["machine", "cores"] => Target::Cores,
        [server, field] if indexed(server).0 == "server" && matches!(*field, "threads" | "processes") => {
            Target::Size { server: indexed(server).1, threads: *field == "threads" }
        }
        [request, demand, "mean"] if indexed(request).0 == "request" && matches!(*demand, "cpu_ms" | "io_ms") => {
            Target::Demand { request: indexed(request).1, io: *demand == "io_ms" }
        }
        ["load", clients, "weight"] if indexed(clients).0 == "clients" && indexed(clients).1.is_some() => {
            Target::ClientWeight { client: indexed(clients).1.unwrap_or_default() }
        }
        _ => return Err(err(format!("`{path}` is not a numeric field a grid can vary; allowed: {ALLOWED}"))),
    };
    let values = parse_values(values).map_err(err)?;
    Ok((VaryPath { text: path.to_owned(), target }, values))
}

/// `a,b,c` or `from..to/steps` (evenly spaced, both ends included).
fn parse_values(text: &str) -> Result<Vec<f64>, String> {
    let number = |s: &str| s.trim().parse::<f64>().map_err(|_| format!("`{s}` is not a number"));
    let values = if let Some((range, steps)) = text.split_once('/') {
        let (from, to) = range.split_once("..").ok_or("a range is FROM..TO/STEPS")?;
        let (from, to) = (number(from)?, number(to)?);
        let steps: usize = steps.trim().parse().map_err(|_| format!("`{steps}` steps: allowed a whole number ≥ 2"))?;
        if !(2..=MAX_POINTS).contains(&steps) {
            return Err(format!("{steps} steps: allowed 2 to {MAX_POINTS}"));
        }
        if to.partial_cmp(&from) != Some(std::cmp::Ordering::Greater) {
            return Err(format!("the range {from}..{to} is empty or reversed"));
        }
        (0..steps).map(|k| from + (to - from) * k as f64 / (steps - 1) as f64).collect()
    } else {
        text.split(',').map(number).collect::<Result<Vec<_>, _>>()?
    };
    if values.is_empty() {
        return Err("no values".into());
    }
    Ok(values)
}

/// `scenario` with `path` set to `value`, or why that value (or path) does not fit it.
pub fn apply(scenario: &Scenario, path: &VaryPath, value: f64) -> Result<Scenario, String> {
    let mut sc = scenario.clone();
    let whole = |v: f64| -> Result<u32, String> {
        if v.fract() == 0.0 && v >= 1.0 && v <= f64::from(MAX_COUNT) {
            Ok(v as u32)
        } else {
            Err(format!("{v}: allowed a whole number from 1 to {MAX_COUNT}"))
        }
    };
    match &path.target {
        Target::Rate => {
            if !matches!(sc.load.arrival, Arrival::Poisson | Arrival::Uniform) {
                return Err("load.rate_rps applies to open loads (poisson or uniform)".into());
            }
            if !(value > 0.0 && value <= MAX_RATE_RPS) {
                return Err(format!("{value}: allowed a rate > 0 and at most {MAX_RATE_RPS} req/s"));
            }
            sc.load.rate_rps = value;
            sc.load.schedule.clear();
        }
        Target::Users => match &mut sc.load.arrival {
            Arrival::Closed { users, .. } => *users = whole(value)?,
            _ => return Err("load.users applies to closed loads".into()),
        },
        Target::Cores => sc.machine.cores = whole(value)?,
        Target::Size { server, threads } => {
            let n = whole(value)?;
            let mut any = false;
            for c in sc.servers.iter_mut().filter(|c| server.as_ref().is_none_or(|s| *s == c.name)) {
                let sizes = crate::architectures::info(c.architecture).sizes;
                let has = if *threads { sizes.threads.is_some() } else { sizes.processes.is_some() };
                if has {
                    if *threads {
                        c.threads = n
                    } else {
                        c.processes = n
                    }
                    any = true;
                }
            }
            if !any {
                return Err(match server {
                    Some(s) => format!("no server named \"{s}\" has that pool size"),
                    None => "no server has that pool size".into(),
                });
            }
        }
        Target::Demand { request, io } => {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{value}: allowed milliseconds ≥ 0"));
            }
            let mut any = false;
            for r in sc.requests.iter_mut().filter(|r| request.as_ref().is_none_or(|n| *n == r.name)) {
                let d = if *io { &mut r.io_s } else { &mut r.cpu_s };
                *d = d.with_mean(value / 1e3).map_err(|e| e.to_string())?;
                any = true;
            }
            if !any {
                return Err(format!("no request class named \"{}\"", request.clone().unwrap_or_default()));
            }
        }
        Target::ClientWeight { client } => {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!("{value}: allowed a relative weight > 0"));
            }
            let c = sc
                .load
                .clients
                .iter_mut()
                .find(|c| c.name == *client)
                .ok_or_else(|| format!("no client link named \"{client}\""))?;
            c.weight = value;
        }
    }
    Ok(sc)
}

/// Every point of the grid of `varies` over `scenario`: the values (in `varies` order) and the
/// scenario with them set. The first `--vary` changes slowest.
pub fn points(scenario: &Scenario, varies: &[(VaryPath, Vec<f64>)]) -> Result<Vec<(Vec<f64>, Scenario)>, GridError> {
    let count = varies.iter().map(|(_, v)| v.len()).product::<usize>();
    if count > MAX_POINTS {
        return Err(GridError { spec: "…".into(), why: format!("{count} points; allowed at most {MAX_POINTS}") });
    }
    let mut out = vec![(Vec::new(), scenario.clone())];
    for (path, values) in varies {
        let mut next = Vec::with_capacity(out.len() * values.len());
        for (vals, sc) in &out {
            for &v in values {
                let applied = apply(sc, path, v).map_err(|why| GridError { spec: path.text.clone(), why })?;
                let mut vs = vals.clone();
                vs.push(v);
                next.push((vs, applied));
            }
        }
        out = next;
    }
    Ok(out)
}

/// The grid's JSON view (`serversim sweep --vary … --json`), pretty-printed: the varied paths
/// with their values, then every point's values (in the paths' order) and full report.
pub fn json(
    scenario: &str,
    varies: &[(VaryPath, Vec<f64>)],
    points: &[(Vec<f64>, Scenario)],
    reports: &[crate::runner::Report],
) -> Result<String, serde_json::Error> {
    #[derive(serde::Serialize)]
    struct JsonGrid<'a> {
        scenario: &'a str,
        vary: Vec<JsonVary<'a>>,
        points: Vec<JsonPoint<'a>>,
    }
    #[derive(serde::Serialize)]
    struct JsonVary<'a> {
        path: &'a str,
        values: &'a [f64],
    }
    #[derive(serde::Serialize)]
    struct JsonPoint<'a> {
        values: &'a [f64],
        report: crate::runner::JsonReport<'a>,
    }
    serde_json::to_string_pretty(&JsonGrid {
        scenario,
        vary: varies.iter().map(|(p, v)| JsonVary { path: &p.text, values: v }).collect(),
        points: points
            .iter()
            .zip(reports)
            .map(|((values, _), r)| JsonPoint { values, report: crate::runner::JsonReport::from_report(r) })
            .collect(),
    })
}

/// The grid as CSV: one line per point and server, the varied paths first.
pub fn csv(
    varies: &[(VaryPath, Vec<f64>)],
    points: &[(Vec<f64>, Scenario)],
    reports: &[crate::runner::Report],
) -> String {
    let mut out: String = varies.iter().map(|(p, _)| format!("{},", crate::runner::csv_field(&p.text))).collect();
    out.push_str("server,throughput_rps,latency_mean_ms,latency_p99_ms,lost_fraction,cpu_utilization,peak_memory_mb\n");
    for ((values, _), report) in points.iter().zip(reports) {
        for s in &report.servers {
            let (c, _) = s.total_counts();
            for v in values {
                out.push_str(&format!("{v},"));
            }
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                crate::runner::csv_field(&s.name),
                s.estimate(|r| r.throughput_rps).mean,
                s.estimate(|r| r.latency.mean_ms()).mean,
                s.estimate(|r| r.latency.quantile_ms(0.99)).mean,
                c.lost() as f64 / c.arrived.max(1) as f64,
                s.estimate(|r| r.cpu_utilization).mean,
                s.runs.iter().map(|r| r.memory_peak_mb).fold(0.0, f64::max)
            ));
        }
    }
    out
}
