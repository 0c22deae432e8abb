//! Grids (`serversim sweep --vary PATH=VALUES [--vary …]`): any numeric field of a scenario,
//! several at once. Every grid point is a scenario; every (point, server, replication) an
//! independent simulation run by `sweep::run_scenarios`, so a point's results are exactly those
//! of running that scenario on its own.

use crate::config::{Arrival, Scenario};
use crate::limits::{MAX_COUNT, MAX_RATE_RPS};
use crate::runner::Report;
use crate::sweep::{SweepProgress, SweepRow};

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

impl VaryPath {
    /// Whether a larger value is harder to meet a latency target at (a rate, a user count, a
    /// demand, a client link's share) rather than easier (a pool size, cores): the target search
    /// looks for the largest value that meets it, or else the smallest.
    pub fn larger_is_harder(&self) -> bool {
        !matches!(self.target, Target::Size { .. } | Target::Cores)
    }

    /// Whether changing this field can change `server`'s results: `false` for a pool size it
    /// does not have or another server's pool size.
    pub fn applies_to(&self, server: &crate::config::ServerConfig) -> bool {
        match &self.target {
            Target::Size { server: name, threads } => {
                let sizes = crate::architectures::info(server.architecture).sizes;
                name.as_ref().is_none_or(|n| *n == server.name)
                    && if *threads { sizes.threads.is_some() } else { sizes.processes.is_some() }
            }
            _ => true,
        }
    }

    /// Whether the field holds whole numbers (users, pool sizes, cores).
    pub fn is_count(&self) -> bool {
        matches!(self.target, Target::Users | Target::Size { .. } | Target::Cores)
    }
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

/// One server's line at one grid point: the varied values (in `--vary` order) and the numbers,
/// derived by `sweep::row` (`row.value` is the first varied value).
#[derive(Debug, Clone, PartialEq)]
pub struct GridRow {
    /// The varied values at this point, in `--vary` order.
    pub values: Vec<f64>,
    /// The server's numbers at this point.
    pub row: SweepRow,
}

/// Every (point, server) row, in point order; `warmup_s` and `duration_s` are the run's.
pub fn rows(points: &[(Vec<f64>, Scenario)], reports: &[Report], warmup_s: f64, duration_s: f64) -> Vec<GridRow> {
    points
        .iter()
        .zip(reports)
        .flat_map(|((values, _), report)| {
            report.servers.iter().enumerate().map(move |(i, s)| GridRow {
                values: values.clone(),
                row: crate::sweep::row(values[0], i, s, warmup_s, duration_s),
            })
        })
        .collect()
}

/// The grid as CSV: one line per point and server, the varied paths first, then the columns of
/// a sweep's CSV (`sweep::CSV_COLUMNS`).
pub fn csv(varies: &[(VaryPath, Vec<f64>)], rows: &[GridRow]) -> String {
    let mut out: String = varies.iter().map(|(p, _)| format!("{},", crate::runner::csv_field(&p.text))).collect();
    out.push_str(crate::sweep::CSV_COLUMNS);
    out.push('\n');
    for r in rows {
        for v in &r.values {
            out.push_str(&format!("{v},"));
        }
        out.push_str(&crate::sweep::csv_cells(&r.row));
        out.push('\n');
    }
    out
}

/// The best value of the first varied path for one server, with the other paths held at
/// `others` (`--target-p99-ms` over a grid).
#[derive(Debug, Clone, PartialEq)]
pub struct GridTarget {
    /// The server's index in the scenario.
    pub server: usize,
    /// The values of the second and later `--vary` paths.
    pub others: Vec<f64>,
    /// The largest (rate, users, demand, weight) or smallest (pool size, cores) value of the
    /// first path that meets the target, bisected between grid points (`sweep::bisect`); `None`
    /// if no grid point meets it.
    pub value: Option<f64>,
}

/// For every server and every combination of the other paths' values, the best value of the
/// first path whose p99 is at most `p99_ms` with at most 0.1% lost (`sweep::meets`), refined
/// between grid points by bisection: to ±1% of the value, or the next whole number for counts.
/// `reports` are the grid's, one per point.
pub fn targets(
    varies: &[(VaryPath, Vec<f64>)],
    points: &[(Vec<f64>, Scenario)],
    reports: &[Report],
    p99_ms: f64,
    progress: &SweepProgress,
) -> Vec<GridTarget> {
    let (path, along) = &varies[0];
    // The first --vary changes slowest: point a·groups + g is value a of it in group g.
    let groups = points.len() / along.len().max(1);
    let servers = reports.first().map_or(0, |r| r.servers.len());
    let harder = |a: f64, b: f64| if path.larger_is_harder() { a > b } else { a < b };
    let mut out = Vec::new();
    for g in 0..groups {
        for server in 0..servers {
            let at = |a: usize| {
                (points[a * groups + g].0[0], crate::sweep::meets(&reports[a * groups + g].servers[server], p99_ms))
            };
            let best = (0..along.len())
                .map(at)
                .filter(|(_, ok)| *ok)
                .map(|(v, _)| v)
                .reduce(|a, b| if harder(b, a) { b } else { a });
            let value = best.map(|best| {
                let failing = (0..along.len())
                    .map(at)
                    .filter(|(v, ok)| !ok && harder(*v, best))
                    .map(|(v, _)| v)
                    .min_by(|a, b| (a - best).abs().total_cmp(&(b - best).abs()));
                let Some(failing) = failing else { return best };
                let base = &points[g].1;
                crate::sweep::bisect(
                    best,
                    failing,
                    path.is_count(),
                    |v| apply(base, path, v).is_ok_and(|sc| crate::sweep::meets_at(&sc, server, p99_ms, progress)),
                    || progress.control.interrupt.load(std::sync::atomic::Ordering::Relaxed),
                )
            });
            out.push(GridTarget { server, others: points[g].0[1..].to_vec(), value });
        }
    }
    out
}

/// The K-th of N slices of a grid (`--shard K/N`): the points whose index leaves remainder
/// K − 1 when divided by N, so each slice gets a share of every region of the grid (the first
/// `--vary` changes slowest, and a high rate costs more than a low one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// Which slice, 1 … `n`.
    pub k: usize,
    /// How many slices.
    pub n: usize,
}

impl Shard {
    /// `K/N` with 1 ≤ K ≤ N ≤ `MAX_POINTS`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text}: allowed K/N, whole numbers with 1 ≤ K ≤ N ≤ {MAX_POINTS} (e.g. 2/8)");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if !(1..=MAX_POINTS).contains(&n) || !(1..=n).contains(&k) {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    /// Whether point `index` is in this slice.
    pub fn holds(self, index: usize) -> bool {
        index % self.n == self.k - 1
    }
}

/// A fingerprint of a grid — the scenario as run (every field, the seed and replications
/// included) and the varied paths with their values — so `merge` can tell shards of different
/// grids apart: FNV-1a (64 bit) of `to_toml` and the `--vary` values, as 16 hex digits.
pub fn grid_id(scenario: &Scenario, varies: &[(VaryPath, Vec<f64>)]) -> String {
    let mut text = crate::scenario::write::to_toml(scenario);
    for (p, values) in varies {
        text.push_str(&format!("\n--vary {}={values:?}", p.text));
    }
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

/// The grid's JSON, declared once for a run (`json`) and for a merge of shards (`merge`), which
/// must print the same bytes: `V` is the varied paths, `P` a point's values, `R` its report.
#[derive(serde::Serialize)]
struct JsonGrid<'a, V, P, R> {
    scenario: &'a str,
    grid_id: &'a str,
    vary: V,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<Shard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<JsonTarget<'a>>,
    points: Vec<JsonPoint<P, R>>,
}

#[derive(serde::Serialize)]
struct JsonVary<'a> {
    path: &'a str,
    values: &'a [f64],
}

#[derive(serde::Serialize)]
struct JsonPoint<P, R> {
    index: usize,
    values: P,
    report: R,
}

#[derive(serde::Serialize)]
struct JsonTarget<'a> {
    p99_ms: f64,
    path: &'a str,
    best: Vec<JsonBest<'a>>,
}

#[derive(serde::Serialize)]
struct JsonBest<'a> {
    server: &'a str,
    others: &'a [f64],
    value: Option<f64>,
}

/// What a grid's JSON view shows besides its points.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExtras<'a> {
    /// The slice this run computed (`--shard`), if any.
    pub shard: Option<Shard>,
    /// The target, ms, and what `targets` found for it.
    pub target: Option<(f64, &'a [GridTarget])>,
}

/// The grid's JSON view (`serversim sweep --vary … --json`, `docs/output-format.md`),
/// pretty-printed: the grid's fingerprint, the varied paths with their values, the shard and
/// target if any, then every point (or the shard's points) with its index, values (in the paths'
/// order) and full report.
pub fn json(
    scenario: &Scenario,
    varies: &[(VaryPath, Vec<f64>)],
    points: &[(Vec<f64>, Scenario)],
    reports: &[(usize, Report)],
    extras: JsonExtras,
) -> Result<String, serde_json::Error> {
    let id = grid_id(scenario, varies);
    let names: Vec<&str> =
        reports.first().map(|(_, r)| r.servers.iter().map(|s| s.name.as_str()).collect()).unwrap_or_default();
    serde_json::to_string_pretty(&JsonGrid {
        scenario: &scenario.name,
        grid_id: &id,
        vary: varies.iter().map(|(p, v)| JsonVary { path: &p.text, values: v }).collect::<Vec<_>>(),
        shard: extras.shard,
        target: extras.target.map(|(p99_ms, found)| JsonTarget {
            p99_ms,
            path: &varies[0].0.text,
            best: found
                .iter()
                .map(|t| JsonBest {
                    server: names.get(t.server).copied().unwrap_or(""),
                    others: &t.others,
                    value: t.value,
                })
                .collect(),
        }),
        points: reports
            .iter()
            .map(|(index, r)| JsonPoint {
                index: *index,
                values: points[*index].0.as_slice(),
                report: crate::runner::JsonReport::from_report(r),
            })
            .collect(),
    })
}

/// Why shards cannot be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

/// Join the JSON of every shard of one grid (`(file name, text)`, any order) into exactly what
/// the unsharded `sweep --vary … --json` prints: the points sorted by index, the `shard` object
/// gone. Refuses files that are not shards, shards of different grids or of different splits,
/// a shard given twice or missing, and points that do not belong to their shard.
pub fn merge(files: &[(String, String)]) -> Result<String, MergeError> {
    use serde_json::value::RawValue;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ShardIn {
        scenario: String,
        grid_id: String,
        vary: Box<RawValue>,
        shard: Option<Shard>,
        points: Vec<PointIn>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PointIn {
        index: usize,
        values: Box<RawValue>,
        report: Box<RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct VaryIn {
        values: Vec<f64>,
    }
    let err = |m: String| MergeError(m);
    let (first_name, _) = files.first().ok_or_else(|| err("merge: give the JSON files of a grid's shards".into()))?;
    let mut shards = Vec::with_capacity(files.len());
    for (name, text) in files {
        let s: ShardIn = serde_json::from_str(text).map_err(|e| {
            err(format!("{name}: not the JSON of a grid's shard (`serversim sweep --vary … --shard K/N --json`): {e}"))
        })?;
        let Some(shard) = s.shard else {
            return Err(err(format!("{name}: not a shard (no \"shard\"; it came from a run without --shard K/N)")));
        };
        shards.push((name, shard, s));
    }
    let (_, first_shard, first) = &shards[0];
    let n = first_shard.n;
    let mut seen: Vec<Option<&str>> = vec![None; n];
    for (name, shard, s) in &shards {
        if s.grid_id != first.grid_id || s.scenario != first.scenario || s.vary.get() != first.vary.get() {
            return Err(err(format!(
                "{first_name} and {name} are shards of different grids (grid_id {} and {}): run every shard with the same scenario file, --vary, --seed and --replications",
                first.grid_id, s.grid_id
            )));
        }
        if shard.n != n {
            return Err(err(format!(
                "{first_name} is a shard of {n} and {name} of {}: every shard must use the same N",
                shard.n
            )));
        }
        if let Some(other) = seen[shard.k - 1].replace(name) {
            return Err(err(format!("shard {}/{n} given twice: {other} and {name}", shard.k)));
        }
    }
    if let Some(k) = seen.iter().position(Option::is_none) {
        return Err(err(format!("shard {}/{n} is missing: give all {n} shards", k + 1)));
    }
    let varies: Vec<VaryIn> =
        serde_json::from_str(first.vary.get()).map_err(|e| err(format!("{first_name}: \"vary\": {e}")))?;
    let count: usize = varies.iter().map(|v| v.values.len()).product();
    let mut points: Vec<(&str, &PointIn)> = Vec::with_capacity(count);
    for (name, shard, s) in &shards {
        for p in &s.points {
            if p.index >= count || !shard.holds(p.index) {
                return Err(err(format!(
                    "{name}: point {} does not belong to shard {}/{n} of a {count}-point grid",
                    p.index, shard.k
                )));
            }
            points.push((name, p));
        }
    }
    points.sort_by_key(|(_, p)| p.index);
    for (i, (name, p)) in points.iter().enumerate() {
        if p.index != i {
            let what = if p.index < i { "twice" } else { "missing" };
            let at = if p.index < i { p.index } else { i };
            return Err(err(format!("point {at} of the grid is {what} (seen in {name})")));
        }
    }
    if points.len() != count {
        return Err(err(format!("the shards hold {} of the grid's {count} points", points.len())));
    }
    serde_json::to_string_pretty(&JsonGrid {
        scenario: &first.scenario,
        grid_id: &first.grid_id,
        vary: &first.vary,
        shard: None,
        target: None,
        points: points
            .iter()
            .map(|(_, p)| JsonPoint { index: p.index, values: &p.values, report: &p.report })
            .collect(),
    })
    .map_err(|e| err(format!("serialising the merged grid: {e}")))
}
