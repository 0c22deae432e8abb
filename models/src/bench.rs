//! `serversim bench`: the standard benchmark of WSGI servers that the framework authors at
//! PyCon 2007 found missing — a fixed, documented matrix of test applications × concurrency
//! scenarios × servers, every cell an independent simulation — and the numbers its report,
//! JSON and CSV show, derived once (`rows`, `rankings`).

use crate::config::{MachineConfig, Scenario, ServerConfig};
use crate::runner::Report;
use crate::sweep::{SweepProgress, SweepRow};

/// One test application: its request mix and, where it is about the clients, their links and
/// connection habits. The numbers are documented in `docs/bench.md`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct App {
    /// Short name (`--apps`, file names, JSON).
    pub name: &'static str,
    /// One line saying what it is.
    pub summary: &'static str,
    /// `[[request]]` tables (and `[[load.clients]]` tables for the apps about the clients).
    tables: &'static str,
    /// `[load]` lines every load of this app gets.
    load: &'static str,
    /// `[load]` lines only open loads take (keep-alive habits a closed user does not have).
    open_load: &'static str,
}

/// The test applications, in report order.
pub const APPS: [App; 7] = [
    App {
        name: "hello",
        summary: "hello world: 0.5 ms of CPU (exponential), a 0.1 KB response",
        tables: "[[request]]\nname = \"hello\"\ncpu_ms = { dist = \"exp\", mean = 0.5 }\nresponse_kb = 0.1\n",
        load: "",
        open_load: "",
    },
    App {
        name: "cpu",
        summary: "CPU-bound (template rendering): 20 ms of CPU (log-normal, cv 1), a 20 KB page",
        tables: "[[request]]\nname = \"render\"\ncpu_ms = { dist = \"lognormal\", mean = 20.0, cv = 1.0 }\nresponse_kb = 20.0\n",
        load: "",
        open_load: "",
    },
    App {
        name: "io",
        summary: "IO-bound (waits on a database or an API): 2 ms of CPU and 50 ms of waiting (both exponential), 5 KB",
        tables: "[[request]]\nname = \"query\"\ncpu_ms = { dist = \"exp\", mean = 2.0 }\nio_ms = { dist = \"exp\", mean = 50.0 }\nresponse_kb = 5.0\n",
        load: "",
        open_load: "",
    },
    App {
        name: "mixed",
        summary: "mixed site: 70% pages (10 ms CPU log-normal cv 1, 20 ms waiting, 20 KB), 30% static files (0.3 ms, 30 KB)",
        tables: "[[request]]\nname = \"page\"\nweight = 0.7\ncpu_ms = { dist = \"lognormal\", mean = 10.0, cv = 1.0 }\nio_ms = { dist = \"exp\", mean = 20.0 }\nresponse_kb = 20.0\n\n\
                 [[request]]\nname = \"static\"\nweight = 0.3\ncpu_ms = { dist = \"exp\", mean = 0.3 }\nresponse_kb = 30.0\nstatic = true\n",
        load: "",
        open_load: "",
    },
    App {
        name: "large",
        summary: "large responses: 5 ms of CPU and a 1 MB download over 20 Mbit/s links (20 ms round trip)",
        tables: "[[load.clients]]\nname = \"broadband\"\nbandwidth_kbps = 20000.0\nrtt_ms = 20.0\n\n\
                 [[request]]\nname = \"download\"\ncpu_ms = { dist = \"exp\", mean = 5.0 }\nresponse_kb = 1024.0\n",
        load: "",
        open_load: "",
    },
    App {
        name: "slow-clients",
        summary: "slow clients: 30% on 56 kbit/s modems (150 ms round trip), 70% on 8 Mbit/s; 10 ms CPU, 10 ms waiting, 40 KB pages",
        tables: "[[load.clients]]\nname = \"broadband\"\nweight = 0.7\nbandwidth_kbps = 8000.0\nrtt_ms = 40.0\n\n\
                 [[load.clients]]\nname = \"modem\"\nweight = 0.3\nbandwidth_kbps = 56.0\nrtt_ms = 150.0\n\n\
                 [[request]]\nname = \"page\"\ncpu_ms = { dist = \"exp\", mean = 10.0 }\nio_ms = { dist = \"exp\", mean = 10.0 }\nresponse_kb = 40.0\n",
        load: "",
        open_load: "",
    },
    App {
        name: "keepalive",
        summary: "keep-alive browsers: 6 requests per connection (5 ms CPU, 10 ms waiting, 10 KB), 200 ms apart in open loads, connection left open after",
        tables: "[[load.clients]]\nname = \"browser\"\nbandwidth_kbps = 8000.0\nrtt_ms = 40.0\n\n\
                 [[request]]\nname = \"page\"\ncpu_ms = { dist = \"exp\", mean = 5.0 }\nio_ms = { dist = \"exp\", mean = 10.0 }\nresponse_kb = 10.0\n",
        load: "requests_per_connection = 6\n",
        open_load: "connection_gap_ms = { dist = \"exp\", mean = 200.0 }\nclient_keeps_open = true\n",
    },
];

/// How a load case offers its traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Concurrency {
    /// A closed loop of this many connections with no think time (`ab -c N`, `wrk -c N`).
    Connections(u32),
    /// An open Poisson load at this fraction of the app's reference capacity (the largest
    /// capacity estimate among the servers benchmarked).
    Fraction(f64),
}

/// One concurrency scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadCase {
    /// Short name (table columns, JSON).
    pub name: &'static str,
    /// The traffic.
    pub concurrency: Concurrency,
}

/// The concurrency scenarios, in report order: closed loops as `ab -c` runs them, then open loads
/// at half and 90% of capacity and an overload.
pub const LOADS: [LoadCase; 7] = [
    LoadCase { name: "c1", concurrency: Concurrency::Connections(1) },
    LoadCase { name: "c10", concurrency: Concurrency::Connections(10) },
    LoadCase { name: "c100", concurrency: Concurrency::Connections(100) },
    LoadCase { name: "c1000", concurrency: Concurrency::Connections(1000) },
    LoadCase { name: "open50", concurrency: Concurrency::Fraction(0.5) },
    LoadCase { name: "open90", concurrency: Concurrency::Fraction(0.9) },
    LoadCase { name: "overload150", concurrency: Concurrency::Fraction(1.5) },
];

/// A client gives up after this long, s: what `ab` does by default (`-s 30`).
pub const CLIENT_TIMEOUT_S: f64 = 30.0;

/// A refused connection is tried again this many times, after 1 s, 2 s, 4 s, …: a full listen
/// backlog drops the SYN and the client's TCP retransmits it (Linux: initial retransmission
/// timeout 1 s, `tcp_syn_retries` = 6). Without it a closed loop with no think time would be
/// refused again at the same instant, forever. (The model's retry also repeats a request that
/// timed out or failed.)
pub const CONNECT_RETRIES: u32 = 6;

/// The bench's settings.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The servers (every preset, or a file's servers).
    pub servers: Vec<ServerConfig>,
    /// The machine they run on.
    pub machine: MachineConfig,
    /// Which apps, as indices into `APPS`.
    pub apps: Vec<usize>,
    /// Simulated seconds measured per cell, after `warmup_s`.
    pub duration_s: f64,
    /// Simulated seconds of warm-up per cell.
    pub warmup_s: f64,
    /// Independent replications per cell.
    pub replications: u32,
    /// The seed every cell starts from (the same traffic for every server).
    pub seed: u64,
}

/// Why a bench cannot be set up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BenchError(pub String);

/// The default settings: every preset on a 4-core machine with no memory limit, 60 s measured
/// after 10 s, one replication, seed 1.
pub fn default_config() -> Result<BenchConfig, BenchError> {
    let servers: String = crate::scenario::presets::preset_names()
        .map(|p| format!("[[server]]\nname = \"{p}\"\npreset = \"{p}\"\n\n"))
        .collect();
    let base = scenario_text("hello", &APPS[0], &LOADS[0], None, 60.0, 10.0, 1, 1, 4, &servers);
    let sc = crate::scenario::parse(&base, "bench presets").map_err(|e| BenchError(e.to_string()))?;
    Ok(BenchConfig {
        servers: sc.servers,
        machine: sc.machine,
        apps: (0..APPS.len()).collect(),
        duration_s: 60.0,
        warmup_s: 10.0,
        replications: 1,
        seed: 1,
    })
}

/// The app named `name` (`--apps`), or what is allowed.
pub fn app_index(name: &str) -> Result<usize, BenchError> {
    APPS.iter().position(|a| a.name == name).ok_or_else(|| {
        let names: Vec<&str> = APPS.iter().map(|a| a.name).collect();
        BenchError(format!("--apps: unknown application \"{name}\"; allowed: {}", names.join(", ")))
    })
}

/// A scenario file's text for one cell, with `servers` as its `[[server]]` tables.
#[allow(clippy::too_many_arguments)]
fn scenario_text(
    title: &str,
    app: &App,
    load: &LoadCase,
    rate_rps: Option<f64>,
    duration_s: f64,
    warmup_s: f64,
    replications: u32,
    seed: u64,
    cores: u32,
    servers: &str,
) -> String {
    let traffic = match (load.concurrency, rate_rps) {
        (Concurrency::Connections(n), _) => format!("arrival = \"closed\"\nusers = {n}\nthink_ms = 0.0\n"),
        (Concurrency::Fraction(_), rate) => {
            format!("arrival = \"poisson\"\nrate_rps = {:?}\n{}", rate.unwrap_or(1.0), app.open_load)
        }
    };
    format!(
        "name = \"{title}\"\n\n[run]\nduration_s = {duration_s:?}\nwarmup_s = {warmup_s:?}\nreplications = {replications}\nseed = {seed}\n\n\
         [machine]\ncores = {cores}\n\n[load]\n{traffic}timeout_s = {CLIENT_TIMEOUT_S:?}\nretries = {CONNECT_RETRIES}\nretry_backoff_ms = 1000.0\n{}\n{}\n{servers}",
        app.load, app.tables
    )
}

/// One cell of the matrix: an app under one load, every server.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Index into `APPS`.
    pub app: usize,
    /// Index into `LOADS`.
    pub load: usize,
    /// The open load's request rate, req/s (`None` for a closed loop): its clients arrive at
    /// this rate divided by the app's requests per connection.
    pub rate_rps: Option<f64>,
    /// The scenario this cell runs.
    pub scenario: Scenario,
}

/// Every cell of the matrix, app by app, load by load. An open load's rate is its fraction of
/// the app's reference capacity: the largest of the servers' capacity estimates
/// (`runner::capacity`) under that app.
pub fn cells(config: &BenchConfig) -> Result<Vec<Cell>, BenchError> {
    let mut out = Vec::new();
    for &a in &config.apps {
        let app = &APPS[a];
        let make = |load: &LoadCase, rate: Option<f64>| -> Result<Scenario, BenchError> {
            let title = format!("bench: {} × {}", app.name, load.name);
            // One placeholder server for the parser; the bench's own servers replace it.
            let text = scenario_text(
                &title,
                app,
                load,
                rate,
                config.duration_s,
                config.warmup_s,
                config.replications,
                config.seed,
                config.machine.cores,
                "[[server]]\narchitecture = \"threaded\"\nthreads = 1\n",
            );
            let mut sc = crate::scenario::parse(&text, &title).map_err(|e| BenchError(format!("{title}: {e}")))?;
            sc.servers = config.servers.clone();
            sc.machine = config.machine.clone();
            Ok(sc)
        };
        let probe = make(&LOADS[4], Some(1.0))?;
        let capacity = (0..probe.servers.len())
            .filter_map(|i| crate::runner::capacity(&probe, i).map(|(_, c)| c))
            .filter(|c| c.is_finite() && *c > 0.0)
            .fold(0.0f64, f64::max);
        if capacity <= 0.0 {
            return Err(BenchError(format!(
                "{}: no server has a capacity estimate to set the open loads' rates",
                app.name
            )));
        }
        // An open load's arrivals are clients, each sending `requests_per_connection` requests.
        let per_client = f64::from(probe.load.requests_per_connection.max(1));
        for (l, load) in LOADS.iter().enumerate() {
            let rate = match load.concurrency {
                Concurrency::Connections(_) => None,
                // Rounded to 0.1 req/s so the report's rates are the ones run.
                Concurrency::Fraction(f) => Some(((f * capacity) * 10.0).round().max(1.0) / 10.0),
            };
            let clients_per_s = rate.map(|r| r / per_client);
            out.push(Cell { app: a, load: l, rate_rps: rate, scenario: make(load, clients_per_s)? });
        }
    }
    Ok(out)
}

/// The cell `APP/LOAD` names (`hello/c100`), or what is allowed.
pub fn find_cell<'a>(cells: &'a [Cell], which: &str) -> Result<&'a Cell, BenchError> {
    let (app, load) = which
        .split_once('/')
        .ok_or_else(|| BenchError(format!("--scenario {which}: allowed APP/LOAD, e.g. hello/c100")))?;
    let a = app_index(app).map_err(|e| BenchError(e.0.replace("--apps", "--scenario")))?;
    let l = LOADS.iter().position(|l| l.name == load).ok_or_else(|| {
        let names: Vec<&str> = LOADS.iter().map(|l| l.name).collect();
        BenchError(format!("--scenario {which}: unknown load \"{load}\"; allowed: {}", names.join(", ")))
    })?;
    cells
        .iter()
        .find(|c| c.app == a && c.load == l)
        .ok_or_else(|| BenchError(format!("--scenario {which}: {app} is not among --apps")))
}

/// Run every cell, every server, every replication, in parallel (`sweep::run_scenarios`); `None`
/// if cancelled.
pub fn run(cells: &[Cell], progress: &SweepProgress) -> Option<Vec<Report>> {
    let scenarios: Vec<Scenario> = cells.iter().map(|c| c.scenario.clone()).collect();
    let servers: Vec<usize> = (0..scenarios.first().map_or(0, |s| s.servers.len())).collect();
    crate::sweep::run_scenarios(&scenarios, &servers, progress, &|_, _, _| {})
}

/// Simulations `run` performs.
pub fn job_count(cells: &[Cell]) -> usize {
    cells.iter().map(|c| c.scenario.servers.len() * c.scenario.run.replications.max(1) as usize).sum()
}

/// One server in one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRow {
    /// Index into `APPS`.
    pub app: usize,
    /// Index into `LOADS`.
    pub load: usize,
    /// The open load's rate, req/s (`None` for a closed loop).
    pub rate_rps: Option<f64>,
    /// The server's numbers (`sweep::row`; `value` is the connections or the rate).
    pub row: SweepRow,
}

/// Every (cell, server) row, in cell order.
pub fn rows(cells: &[Cell], reports: &[Report]) -> Vec<BenchRow> {
    cells
        .iter()
        .zip(reports)
        .flat_map(|(c, r)| {
            let value = match LOADS[c.load].concurrency {
                Concurrency::Connections(n) => f64::from(n),
                Concurrency::Fraction(_) => c.rate_rps.unwrap_or(0.0),
            };
            r.servers.iter().enumerate().map(move |(i, s)| BenchRow {
                app: c.app,
                load: c.load,
                rate_rps: c.rate_rps,
                row: crate::sweep::row(value, i, s, c.scenario.run.warmup_s, c.scenario.run.duration_s),
            })
        })
        .collect()
}

/// A server's standing in one app: its best closed-loop throughput, with at most 1% of
/// requests lost, and the p99 at 90% of capacity that breaks ties.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// Index of the server.
    pub server: usize,
    /// The largest throughput over the closed loops losing at most 1%, req/s (0 if none).
    pub peak_rps: f64,
    /// The closed loop's connections where it was reached.
    pub at_connections: Option<u32>,
    /// p99 at 90% of capacity, ms.
    pub p99_open90_ms: f64,
}

/// Every app's servers, best first: by peak closed-loop throughput (at most 1% lost), then by the
/// p99 at 90% of capacity.
pub fn rankings(rows: &[BenchRow], servers: usize, apps: &[usize]) -> Vec<(usize, Vec<Standing>)> {
    apps.iter()
        .map(|&a| {
            let mut standings: Vec<Standing> = (0..servers)
                .map(|s| {
                    let mine = rows.iter().filter(|r| r.app == a && r.row.server_index == s);
                    let best = mine
                        .clone()
                        .filter(|r| matches!(LOADS[r.load].concurrency, Concurrency::Connections(_)))
                        .filter(|r| r.row.lost_fraction <= 0.01)
                        .max_by(|x, y| x.row.throughput_rps.total_cmp(&y.row.throughput_rps));
                    let p99_open90_ms =
                        mine.clone().find(|r| LOADS[r.load].name == "open90").map_or(f64::INFINITY, |r| r.row.p99_ms);
                    Standing {
                        server: s,
                        peak_rps: best.map_or(0.0, |r| r.row.throughput_rps),
                        at_connections: best.and_then(|r| match LOADS[r.load].concurrency {
                            Concurrency::Connections(n) => Some(n),
                            Concurrency::Fraction(_) => None,
                        }),
                        p99_open90_ms,
                    }
                })
                .collect();
            standings
                .sort_by(|x, y| y.peak_rps.total_cmp(&x.peak_rps).then(x.p99_open90_ms.total_cmp(&y.p99_open90_ms)));
            (a, standings)
        })
        .collect()
}

/// A number for a table: whole above 100, one decimal above 1, else two.
fn short(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The report (`report.md`): the matrix, then per app a ranking table and its chart
/// (`<app>.svg`, drawn by the caller), and how long the run took.
pub fn markdown(config: &BenchConfig, cells: &[Cell], rows: &[BenchRow], command: &str, wall_s: f64) -> String {
    let names: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
    let mut o = String::new();
    o.push_str("# serversim bench\n\n");
    o.push_str(&format!(
        "`{command}` — {} application(s) × {} loads × {} servers = {} simulations ({} replication(s) each: {} s measured after {} s of warm-up), \
         on {} core(s), seed {}; {:.0} s of wall time. Every number below comes from this run; \
         `docs/bench.md` describes the matrix.\n\n",
        config.apps.len(),
        LOADS.len(),
        names.len(),
        job_count(cells),
        config.replications,
        config.duration_s,
        config.warmup_s,
        config.machine.cores,
        config.seed,
        wall_s
    ));
    o.push_str("Loads: `cN` is a closed loop of N connections with no think time (`ab -c N`); `open50`, `open90` and `overload150` are Poisson arrivals at 50%, 90% and 150% of the application's reference capacity (the largest capacity estimate among the servers). Clients give up after 30 s; a refused connection is tried again after 1 s, 2 s, 4 s, … (6 times), as TCP retransmits a SYN a full backlog dropped, and each refused attempt counts as lost. `—`: no request completed after the warm-up. Ranking: the best closed-loop throughput with at most 1% lost, then the p99 at `open90`.\n\n");
    for (a, standings) in rankings(rows, names.len(), &config.apps) {
        let app = &APPS[a];
        o.push_str(&format!("## {} — {}\n\n", app.name, app.summary));
        let rates: Vec<String> = cells
            .iter()
            .filter(|c| c.app == a)
            .filter_map(|c| c.rate_rps.map(|r| format!("{} = {} req/s", LOADS[c.load].name, short(r))))
            .collect();
        o.push_str(&format!("Open loads: {}.\n\n", rates.join(", ")));
        o.push_str("| rank | server | peak req/s (at connections) | p99 ms c1 | c10 | c100 | c1000 | p99 ms open50 | open90 | lost % overload150 | peak MB |\n");
        o.push_str("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (rank, st) in standings.iter().enumerate() {
            let cell = |load: &str| {
                rows.iter().find(|r| r.app == a && r.row.server_index == st.server && LOADS[r.load].name == load)
            };
            let p99 = |load: &str| {
                cell(load).filter(|r| r.row.throughput_rps > 0.0).map_or("—".into(), |r| short(r.row.p99_ms))
            };
            let lost = cell("overload150").map_or("—".into(), |r| short(100.0 * r.row.lost_fraction));
            let peak_mb = rows
                .iter()
                .filter(|r| r.app == a && r.row.server_index == st.server)
                .map(|r| r.row.peak_memory_mb)
                .fold(0.0, f64::max);
            let at = st.at_connections.map_or(String::new(), |n| format!(" (c{n})"));
            o.push_str(&format!(
                "| {} | {} | {}{at} | {} | {} | {} | {} | {} | {} | {lost} | {} |\n",
                rank + 1,
                names[st.server],
                short(st.peak_rps),
                p99("c1"),
                p99("c10"),
                p99("c100"),
                p99("c1000"),
                p99("open50"),
                p99("open90"),
                short(peak_mb)
            ));
        }
        o.push_str(&format!("\n![{}: throughput, p99 and memory against connections]({}.svg)\n\n", app.name, app.name));
    }
    o
}

/// The columns of the bench's CSV.
pub const CSV_COLUMNS: &str = "app,load,connections,rate_rps,";

/// The rows as CSV: app, load, connections (closed loops) or rate (open loads), then the columns
/// of a sweep's CSV (`sweep::CSV_COLUMNS`).
pub fn csv(rows: &[BenchRow]) -> String {
    let mut o = format!("{CSV_COLUMNS}{}\n", crate::sweep::CSV_COLUMNS);
    for r in rows {
        let load = &LOADS[r.load];
        let connections = match load.concurrency {
            Concurrency::Connections(n) => n.to_string(),
            Concurrency::Fraction(_) => String::new(),
        };
        let rate = r.rate_rps.map(|v| v.to_string()).unwrap_or_default();
        o.push_str(&format!(
            "{},{},{connections},{rate},{}\n",
            APPS[r.app].name,
            load.name,
            crate::sweep::csv_cells(&r.row)
        ));
    }
    o
}

/// The bench's JSON view, pretty-printed: the settings, the matrix, every row and the rankings.
pub fn json(config: &BenchConfig, rows: &[BenchRow]) -> Result<String, serde_json::Error> {
    #[derive(serde::Serialize)]
    struct JsonBench<'a> {
        cores: u32,
        duration_s: f64,
        warmup_s: f64,
        replications: u32,
        seed: u64,
        apps: Vec<JsonApp<'a>>,
        loads: Vec<JsonLoad<'a>>,
        rows: Vec<JsonRow<'a>>,
    }
    #[derive(serde::Serialize)]
    struct JsonApp<'a> {
        name: &'a str,
        summary: &'a str,
        ranking: Vec<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct JsonLoad<'a> {
        name: &'a str,
        connections: Option<u32>,
        fraction_of_capacity: Option<f64>,
    }
    #[derive(serde::Serialize)]
    struct JsonRow<'a> {
        app: &'a str,
        load: &'a str,
        rate_rps: Option<f64>,
        server: &'a str,
        throughput_rps: f64,
        throughput_ci95_rps: Option<f64>,
        latency_mean_ms: f64,
        latency_p99_ms: f64,
        latency_p99_ci95_ms: Option<f64>,
        lost_fraction: f64,
        cpu_utilization: f64,
        peak_memory_mb: f64,
    }
    let names: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
    let ranked = rankings(rows, names.len(), &config.apps);
    serde_json::to_string_pretty(&JsonBench {
        cores: config.machine.cores,
        duration_s: config.duration_s,
        warmup_s: config.warmup_s,
        replications: config.replications,
        seed: config.seed,
        apps: ranked
            .iter()
            .map(|(a, st)| JsonApp {
                name: APPS[*a].name,
                summary: APPS[*a].summary,
                ranking: st.iter().map(|s| names[s.server]).collect(),
            })
            .collect(),
        loads: LOADS
            .iter()
            .map(|l| JsonLoad {
                name: l.name,
                connections: match l.concurrency {
                    Concurrency::Connections(n) => Some(n),
                    Concurrency::Fraction(_) => None,
                },
                fraction_of_capacity: match l.concurrency {
                    Concurrency::Connections(_) => None,
                    Concurrency::Fraction(f) => Some(f),
                },
            })
            .collect(),
        rows: rows
            .iter()
            .map(|r| JsonRow {
                app: APPS[r.app].name,
                load: LOADS[r.load].name,
                rate_rps: r.rate_rps,
                server: &r.row.server,
                throughput_rps: r.row.throughput_rps,
                throughput_ci95_rps: r.row.throughput_ci95_rps,
                latency_mean_ms: r.row.mean_ms,
                latency_p99_ms: r.row.p99_ms,
                latency_p99_ci95_ms: r.row.p99_ci95_ms,
                lost_fraction: r.row.lost_fraction,
                cpu_utilization: r.row.cpu_utilization,
                peak_memory_mb: r.row.peak_memory_mb,
            })
            .collect(),
    })
}
