//! Scenario files (TOML): parsing, presets, and validation into `config` types. Every problem
//! is reported with the file, line, column and field path, and what is allowed — never a panic
//! and never a silent default for a bad value.

pub mod access_log;
pub mod fields;
pub mod fuzz;
pub mod locate;
pub mod presets;
pub(crate) mod raw;
pub mod write;

pub use write::to_toml;

use std::path::Path;

use sim::Dist;

use crate::architectures::{self, ArchitectureInfo, REGISTRY};
use crate::config::*;
use crate::limits;
use locate::{FieldPath, Locator, line_col, nearest};
use raw::*;

/// The file at `path` as text, refusing one larger than `max_bytes` without reading it all (a
/// device such as /dev/zero is cut off at the limit, too).
fn read_limited(path: &Path, max_bytes: u64) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        // A FIFO would block and a device such as /dev/zero never ends.
        return Err("not a regular file".into());
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("larger than the {} MB limit", max_bytes >> 20));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text ({e})"))
}

/// The built-in default scenario (shown when serversim starts without a file).
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/default.toml");

/// The example scenarios of `models/scenarios/`, compiled in (for the web page, which has no
/// files, and the window's Examples menu): (name, text). Every example but
/// `replay-access-log`, which reads an access log beside it (`tests/scenario_files.rs` checks
/// the list against the folder).
pub const EXAMPLES: &[(&str, &str)] = &[
    ("blocking-call-in-event-loop", include_str!("../../scenarios/blocking-call-in-event-loop.toml")),
    ("cgi-startup-cost", include_str!("../../scenarios/cgi-startup-cost.toml")),
    ("closed-users", include_str!("../../scenarios/closed-users.toml")),
    ("crashing-c-extension", include_str!("../../scenarios/crashing-c-extension.toml")),
    ("database-bottleneck", include_str!("../../scenarios/database-bottleneck.toml")),
    ("default", include_str!("../../scenarios/default.toml")),
    ("dynamic-pool", include_str!("../../scenarios/dynamic-pool.toml")),
    ("gil-vs-processes", include_str!("../../scenarios/gil-vs-processes.toml")),
    ("infinite-loop", include_str!("../../scenarios/infinite-loop.toml")),
    ("io-bound-four-architectures", include_str!("../../scenarios/io-bound-four-architectures.toml")),
    ("keepalive-exhaustion", include_str!("../../scenarios/keepalive-exhaustion.toml")),
    ("memory-leak", include_str!("../../scenarios/memory-leak.toml")),
    ("presets-compared", include_str!("../../scenarios/presets-compared.toml")),
    ("retry-storm", include_str!("../../scenarios/retry-storm.toml")),
    ("slow-clients", include_str!("../../scenarios/slow-clients.toml")),
    ("slow-reader-dos", include_str!("../../scenarios/slow-reader-dos.toml")),
    ("slowloris", include_str!("../../scenarios/slowloris.toml")),
    ("traffic-spike", include_str!("../../scenarios/traffic-spike.toml")),
];

/// One thing wrong with a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file (or preset) it is in.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The field, e.g. `server[2].threads`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.field, self.message)
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {file}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid scenario; one line per problem.
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl ScenarioError {
    /// The problems found (empty for I/O errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Invalid(p) => p,
            ScenarioError::Io { .. } => &[],
        }
    }
}

/// Read and validate the scenario in `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io { file: file.clone(), source })?;
    parse(&src, &file)
}

/// The built-in default scenario.
pub fn default_scenario() -> Scenario {
    parse(DEFAULT_SCENARIO, "<built-in default scenario>").expect("the built-in default scenario is valid")
}

/// Turn a TOML/serde error into a problem located in `src`, with a did-you-mean for unknown
/// fields (lesson files use it too).
pub fn serde_problem(src: &str, file: &str, err: &toml::de::Error) -> Problem {
    let loc = Locator::new(src);
    let (offset, (line, column)) = match err.span() {
        Some(s) => (s.start, line_col(src, s.start)),
        None => (0, (1, 1)),
    };
    let mut message = err.message().trim().to_string();
    let field = loc.path_at(offset);
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((word, expected)) = rest.split_once('`')
    {
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        if let Some(best) = nearest(word, candidates.iter().copied()) {
            message = format!("unknown field `{word}` (did you mean `{best}`?); allowed: {}", candidates.join(", "));
        }
    }
    Problem { file: file.to_string(), line, column, field: field.to_string(), message }
}

/// Parse and validate scenario text; `file` names it in messages.
pub fn parse(src: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario =
        toml::from_str(src).map_err(|e| ScenarioError::Invalid(vec![serde_problem(src, file, &e)]))?;
    let mut v = Validator {
        loc: Locator::new(src),
        file,
        problems: Vec::new(),
        log_paths: Vec::new(),
        log_response_s: Vec::new(),
    };
    let scenario = v.scenario(raw);
    if v.problems.is_empty() {
        Ok(scenario.expect("a scenario is built whenever no problem was found"))
    } else {
        Err(ScenarioError::Invalid(v.problems))
    }
}

/// Parse one server table (the body of a `[[server]]`, e.g. `preset = "twisted"`); `file` names
/// it in messages. Used to add servers to a running comparison.
pub fn parse_server(src: &str, file: &str) -> Result<ServerConfig, ScenarioError> {
    let raw: RawServer = toml::from_str(src).map_err(|e| ScenarioError::Invalid(vec![serde_problem(src, file, &e)]))?;
    let mut v = Validator {
        loc: Locator::new(src),
        file,
        problems: Vec::new(),
        log_paths: Vec::new(),
        log_response_s: Vec::new(),
    };
    let server = v.server(&FieldPath::default(), raw, 0);
    match server {
        Some(s) if v.problems.is_empty() => Ok(s),
        _ => Err(ScenarioError::Invalid(v.problems)),
    }
}

/// A preset's description and architecture id, for listings.
pub fn preset_summary(name: &str) -> Result<(String, String), Problem> {
    let (description, server) = parse_preset(name)?;
    Ok((description, server.architecture.unwrap_or_default()))
}

/// Parse a preset's `[server]` table.
pub(crate) fn parse_preset(name: &str) -> Result<(String, RawServer), Problem> {
    let file = format!("<preset {name}>");
    let Some(text) = presets::preset_text(name) else {
        let known: Vec<&str> = presets::preset_names().collect();
        let hint = nearest(name, known.iter().copied()).map(|b| format!(" (did you mean `{b}`?)")).unwrap_or_default();
        return Err(Problem {
            file,
            line: 1,
            column: 1,
            field: "preset".into(),
            message: format!("unknown preset `{name}`{hint}; known presets: {}", known.join(", ")),
        });
    };
    let p: RawPreset = toml::from_str(text).map_err(|e| serde_problem(text, &file, &e))?;
    Ok((p.description, p.server))
}

struct Validator<'a> {
    loc: Locator<'a>,
    file: &'a str,
    problems: Vec<Problem>,
    /// The requested paths of the replayed log read so far, in arrival order.
    log_paths: Vec<String>,
    /// With `log_time`: each arrival's logged response time, seconds, in arrival order.
    log_response_s: Vec<f64>,
}

impl Validator<'_> {
    fn problem(&mut self, path: &FieldPath, message: impl Into<String>) {
        let (line, column) = self.loc.position(path);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            column,
            field: path.to_string(),
            message: message.into(),
        });
    }

    /// A finite number satisfying `ok`, or a problem saying `allowed` (for values that are not
    /// a field of the reference, such as a distribution's parameters or a schedule's steps).
    fn number(&mut self, path: &FieldPath, v: f64, ok: impl Fn(f64) -> bool, allowed: &str) -> f64 {
        if v.is_finite() && ok(v) {
            v
        } else {
            self.problem(path, format!("got {v}; allowed: {allowed}"));
            0.0
        }
    }

    /// What the field reference (`fields::TABLES`, an architecture's `FIELDS`) allows at `path`:
    /// the one text that the reference shows and every range message quotes.
    fn allowed(path: &FieldPath) -> &'static str {
        fields::allowed_at(&path.keys()).unwrap_or("see the field reference in docs/scenario-format.md")
    }

    /// The field at `path`, a finite number satisfying `ok`, or a problem quoting what the
    /// reference allows there.
    fn field(&mut self, path: &FieldPath, v: f64, ok: impl Fn(f64) -> bool) -> f64 {
        self.field_noted(path, v, ok, "")
    }

    /// `field`, with `note` after what the reference allows (the value a bound depends on).
    fn field_noted(&mut self, path: &FieldPath, v: f64, ok: impl Fn(f64) -> bool, note: &str) -> f64 {
        if v.is_finite() && ok(v) {
            v
        } else {
            self.problem(path, format!("got {v}; allowed: {}{note}", Self::allowed(path)));
            0.0
        }
    }

    /// A whole-number field of at most `max`, or a problem quoting what the reference allows.
    fn at_most(&mut self, path: &FieldPath, v: Option<u32>, max: u32) -> u32 {
        match v {
            Some(n) if n > max => {
                self.problem(path, format!("got {n}; allowed: {}", Self::allowed(path)));
                0
            }
            n => n.unwrap_or(0),
        }
    }

    fn non_negative(&mut self, path: &FieldPath, v: Option<f64>, default: f64) -> f64 {
        match v {
            Some(x) => self.field(path, x, |x| x >= 0.0),
            None => default,
        }
    }

    fn probability(&mut self, path: &FieldPath, v: Option<f64>) -> f64 {
        match v {
            Some(f) => self.field(path, f, |f| (0.0..=1.0).contains(&f)),
            None => 0.0,
        }
    }

    fn positive_opt(&mut self, path: &FieldPath, v: Option<f64>) -> Option<f64> {
        v.map(|x| self.field(path, x, |x| x > 0.0))
    }

    fn at_least_one(&mut self, path: &FieldPath, v: u32) -> u32 {
        if v == 0 || v > limits::MAX_COUNT {
            self.problem(path, format!("got {v}; allowed: {}", Self::allowed(path)));
            1
        } else {
            v
        }
    }

    /// Read and parse the access log `name` (relative to the scenario file's folder). `None`
    /// (with a problem) if it cannot be read, is too big, or has no usable line.
    fn access_log(&mut self, path: &FieldPath, name: &str, time: Option<LogTime>) -> Option<LogReplay> {
        let resolved = match Path::new(self.file).parent() {
            Some(dir) if Path::new(name).is_relative() => dir.join(name),
            _ => Path::new(name).to_path_buf(),
        };
        // Absolute, so a scenario saved elsewhere (which writes this path) still finds the log.
        let resolved = std::path::absolute(&resolved).unwrap_or(resolved);
        let shown = resolved.display().to_string();
        let text = match read_limited(&resolved, limits::MAX_LOG_BYTES) {
            Ok(t) => t,
            Err(e) => {
                self.problem(path, format!("cannot read access log {shown}: {e}"));
                return None;
            }
        };
        let mut parsed = access_log::parse_log(&text, time.is_some());
        self.log_paths = std::mem::take(&mut parsed.paths);
        if let Some(t) = time {
            self.log_response_s = parsed.response_times.iter().map(|&v| t.seconds(v)).collect();
        }
        if parsed.times_s.is_empty() {
            let example = parsed.examples.first().map(|(l, why)| format!(" (line {l}: {why})")).unwrap_or_default();
            let (what, ending) = match time {
                Some(t) => (format!(" with a response time (`log_time = \"{}\"`)", t.name()), " 1534"),
                None => (String::new(), ""),
            };
            self.problem(
                path,
                format!(
                    "no usable line{what} in access log {shown}: {} line(s){example}; allowed: Common or Combined Log Format \
                     lines such as 127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 2326{ending}",
                    parsed.lines
                ),
            );
            return None;
        }
        Some(LogReplay {
            path: shown,
            times_s: parsed.times_s.into(),
            lines: parsed.lines,
            malformed: parsed.malformed,
            examples: parsed.examples,
            time_scale: 1.0,
            classes: None,
            demand: None,
        })
    }

    /// Refuse a run that would simulate more than `limits::MAX_REQUESTS_PER_RUN` requests.
    /// A closed load whose users' cycle could take no time at all (zero think time and requests
    /// with no work and no round trip) would loop at one instant: refuse it, saying why.
    fn closed_cycle(&mut self, p: &FieldPath, load: &LoadConfig, requests: &[RequestClass]) {
        if matches!(load.arrival, Arrival::Closed { .. })
            && !requests.is_empty()
            && limits::least_cycle_s(load, requests) <= 0.0
        {
            self.problem(
                &p.key("think_ms"),
                "a closed load's cycle would take no time: think_ms is 0 and every request has zero cpu_ms and io_ms \
                 (and no client link has an rtt_ms), so users would send requests endlessly at one instant; \
                 give think_ms a mean > 0 or the requests some work",
            );
        }
    }

    fn run_length(&mut self, p: &FieldPath, load: &LoadConfig, requests: &[RequestClass], run: &RunConfig) {
        let (path, how) = match &load.arrival {
            Arrival::Closed { .. } => {
                (p.key("users"), "users × run length / (think time + the work and round trip of a request)")
            }
            Arrival::Log(_) => return, // bounded by the log's size (limits::MAX_LOG_BYTES)
            _ => (p.key("rate_rps"), "peak arrival rate × (warmup_s + duration_s)"),
        };
        let requests = limits::run_requests(load, requests, run.end_s());
        if requests > limits::MAX_REQUESTS_PER_RUN {
            self.problem(
                &path,
                format!(
                    "this run would simulate about {requests:.2e} requests per server ({how}); allowed: at most {:.0e} \
                     (a few minutes of simulation): shorten the run or lower the load",
                    limits::MAX_REQUESTS_PER_RUN
                ),
            );
        }
    }

    /// A distribution whose file values are in units of 1/`per_s` second (1000 for `_ms`
    /// fields). Values are divided — as every `_ms` field is — so that writing a scenario back
    /// (`write::file_number`) can find the exact file value.
    fn dist(&mut self, path: &FieldPath, raw: &RawDist, per_s: f64) -> Dist {
        let r = match raw {
            RawDist::Number(v) => Dist::constant(v / per_s),
            RawDist::Table(t) => match t {
                DistTable::Const { value } => Dist::constant(value / per_s),
                DistTable::Exp { mean } => Dist::exp(mean / per_s),
                DistTable::Uniform { min, max } => Dist::uniform(min / per_s, max / per_s),
                DistTable::Lognormal { mean, cv } => Dist::lognormal(mean / per_s, *cv),
                DistTable::Erlang { mean, k } => Dist::erlang(mean / per_s, *k),
                DistTable::Pareto { mean, alpha } => Dist::pareto(mean / per_s, *alpha),
                DistTable::Empirical { values } => {
                    Dist::empirical(&values.iter().map(|v| v / per_s).collect::<Vec<_>>())
                }
            },
        };
        r.unwrap_or_else(|e| {
            self.problem(path, format!("impossible distribution: {e}"));
            Dist::Const(0.0)
        })
    }

    /// `log_time` and `log_demand` of a log load: both or neither.
    fn log_demand(&mut self, p: &FieldPath, l: &RawLoad) -> Option<LogDemand> {
        let time = l.log_time.as_deref().map(|name| {
            let found = LogTime::ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
            if found.is_none() {
                let allowed: Vec<String> = LogTime::ALL.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                self.problem(
                    &p.key("log_time"),
                    format!("unknown response-time field \"{name}\"; allowed: {}", allowed.join(", ")),
                );
            }
            found
        });
        let io = l.log_demand.as_deref().map(|d| match d {
            "io" => Some(true),
            "cpu" => Some(false),
            other => {
                self.problem(&p.key("log_demand"), format!("unknown demand \"{other}\"; allowed: \"io\", \"cpu\""));
                None
            }
        });
        match (time, io) {
            (None, None) => None,
            (Some(_), None) => {
                self.problem(
                    &p.key("log_time"),
                    "`log_time` needs `log_demand` (\"io\" or \"cpu\"): which demand the logged times become",
                );
                None
            }
            (None, Some(_)) => {
                self.problem(&p.key("log_demand"), "`log_demand` needs `log_time`: the field ending each line that holds the response time (\"%D\", \"%{ms}T\", \"%T\", \"$request_time\")");
                None
            }
            (Some(time), Some(io)) => Some(LogDemand { time: time?, io: io? }),
        }
    }

    /// With `log_demand`, make each request class's `io_ms` (or `cpu_ms`) the empirical
    /// distribution of the response times logged for its arrivals (chosen by `url`; without
    /// patterns every class takes every line's). A class that sets the field itself is refused.
    fn logged_demands(
        &mut self,
        p: &FieldPath,
        load: &mut LoadConfig,
        requests: &mut [RequestClass],
        set: &[(bool, bool)],
    ) {
        let Arrival::Log(log) = &load.arrival else { return };
        let Some(demand) = log.demand else { return };
        let field = if demand.io { "io_ms" } else { "cpu_ms" };
        for (i, (cpu, io)) in set.iter().enumerate() {
            if if demand.io { *io } else { *cpu } {
                self.problem(
                    &p.index(i).key(field),
                    format!("`{field}` comes from the replayed log's response times (load.log_demand = \"{}\"); leave it out", if demand.io { "io" } else { "cpu" }),
                );
            }
        }
        let times = std::mem::take(&mut self.log_response_s);
        for (i, class) in requests.iter_mut().enumerate() {
            let values: Vec<f64> = match &log.classes {
                Some(classes) => {
                    times.iter().zip(classes.iter()).filter(|(_, c)| usize::from(**c) == i).map(|(t, _)| *t).collect()
                }
                None => times.clone(),
            };
            // A class no logged path chose receives no arrivals: its demand is never drawn.
            let d =
                if values.is_empty() { Dist::Const(0.0) } else { Dist::empirical(&values).unwrap_or(Dist::Const(0.0)) };
            if demand.io { class.io_s = d } else { class.cpu_s = d }
        }
    }

    /// With `url` patterns on request classes, give each arrival of a replayed log the first
    /// class whose pattern matches its path, or else the first class without a pattern.
    fn url_classes(&mut self, p: &FieldPath, load: &mut LoadConfig, requests: &[RequestClass]) {
        if requests.iter().all(|r| r.url.is_none()) {
            return;
        }
        let Arrival::Log(log) = &mut load.arrival else {
            for (i, _) in requests.iter().enumerate().filter(|(_, r)| r.url.is_some()) {
                self.problem(
                    &p.index(i).key("url"),
                    "`url` chooses a replayed log's requests (arrival = \"log\") by their path",
                );
            }
            return;
        };
        let patterns: Vec<(u16, regex::Regex)> = requests
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i as u16, regex::Regex::new(r.url.as_deref()?).ok()?)))
            .collect();
        let fallback = requests.iter().position(|r| r.url.is_none()).map(|i| i as u16);
        let mut classes = Vec::with_capacity(self.log_paths.len());
        for path in &self.log_paths {
            match patterns.iter().find(|(_, re)| re.is_match(path)).map(|(i, _)| *i).or(fallback) {
                Some(c) => classes.push(c),
                None => {
                    self.problem(
                        p,
                        format!("the logged path \"{path}\" matches no `url` pattern; add a [[request]] without `url` to take the rest"),
                    );
                    return;
                }
            }
        }
        log.classes = Some(classes.into());
    }

    fn scenario(&mut self, raw: RawScenario) -> Option<Scenario> {
        let top = FieldPath::default();
        let name = raw.name.unwrap_or_else(|| "unnamed scenario".into());
        let run = self.run(&top.key("run"), raw.run.unwrap_or_default());
        let machine = self.machine(&top.key("machine"), raw.machine.unwrap_or_default());
        let load = match raw.load {
            Some(l) => self.load(&top.key("load"), l, &run),
            None => {
                self.problem(&top, "missing [load] table (arrival = \"poisson\" | \"uniform\" | \"closed\")");
                None
            }
        };
        // Which classes set cpu_ms and io_ms themselves (a log's demand must not meet one).
        let demands_set: Vec<(bool, bool)> =
            raw.request.iter().flatten().map(|r| (r.cpu_ms.is_some(), r.io_ms.is_some())).collect();
        let mut requests = self.requests(&top.key("request"), raw.request.unwrap_or_default());
        let mut load = load;
        if let Some(l) = &mut load {
            self.url_classes(&top.key("request"), l, &requests);
            self.logged_demands(&top.key("request"), l, &mut requests, &demands_set);
        }
        if let Some(l) = &load {
            self.closed_cycle(&top.key("load"), l, &requests);
            self.run_length(&top.key("load"), l, &requests, &run);
        }
        let servers = self.servers(&top.key("server"), raw.server.unwrap_or_default());
        let backend = raw.backend.map(|b| {
            let p = top.key("backend");
            let workers = match b.workers {
                Some(n) => self.at_least_one(&p.key("workers"), n),
                None => {
                    self.problem(&p, "missing `workers`: how many queries the database runs at once (≥ 1)");
                    1
                }
            };
            let connections = match b.connections {
                Some(n) => self.at_least_one(&p.key("connections"), n),
                None => {
                    self.problem(&p, "missing `connections`: the database's max_connections (≥ 1)");
                    1
                }
            };
            BackendConfig { workers, connections }
        });
        if backend.is_none() {
            for (i, s) in servers.iter().enumerate() {
                if s.db_pool.is_some() {
                    self.problem(
                        &top.key("server").index(i).key("db_pool"),
                        "`db_pool` sizes the connection pool to a `[backend]` database: add a [backend] table (workers, connections)",
                    );
                }
            }
        }
        let claims = self.claims(&top.key("claim"), raw.claim.unwrap_or_default(), &servers);
        Some(Scenario { name, run, machine, load: load?, requests, servers, backend, claims })
    }

    /// `[[claim]]`: each parses, and names only servers of this scenario.
    fn claims(&mut self, p: &FieldPath, raw: Vec<RawClaim>, servers: &[ServerConfig]) -> Vec<ScenarioClaim> {
        let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
        let mut out = Vec::new();
        for (i, c) in raw.into_iter().enumerate() {
            let cp = p.index(i).key("check");
            if c.says.trim().is_empty() {
                self.problem(&p.index(i).key("says"), "say the claim in words");
            }
            match crate::claim::parse_claim(&c.check) {
                Ok(claim) => {
                    for m in claim.metrics() {
                        if m.run.is_some() {
                            self.problem(
                                &cp,
                                format!("`{m}`: a scenario's claims read its own run; `@run` is for lessons"),
                            );
                        } else if !names.contains(&m.server.as_str()) {
                            let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                            self.problem(
                                &cp,
                                format!("`{m}`: no server `{}`; the servers: {}", m.server, quoted.join(", ")),
                            );
                        }
                    }
                    let line = self.loc.position(&cp).0;
                    out.push(ScenarioClaim { says: c.says, claim, line });
                }
                Err(e) => self.problem(&cp, format!("claim, at character {}: {}", e.at, e.message)),
            }
        }
        out
    }

    fn run(&mut self, p: &FieldPath, r: RawRun) -> RunConfig {
        let duration_s = match r.duration_s {
            Some(d) => self.field(&p.key("duration_s"), d, |d| d > 0.0),
            None => 300.0,
        };
        let warmup_s = match r.warmup_s {
            // (If duration_s itself was refused, only the sign of warmup_s is checked.)
            Some(w) => self.field_noted(
                &p.key("warmup_s"),
                w,
                |w| w >= 0.0 && (w < duration_s || duration_s <= 0.0),
                &format!(
                    " (`duration_s` = {duration_s}); the measurement follows the warm-up, \
                 and a warm-up at least as long as it discards more than it measures"
                ),
            ),
            None => 30.0f64.min(duration_s / 10.0),
        };
        let window_s = match r.window_s {
            Some(w) => self.field(&p.key("window_s"), w, |w| w > 0.0),
            None => 1.0,
        };
        let windows = (warmup_s + duration_s) / window_s;
        if windows > limits::MAX_WINDOWS {
            let path = if r.window_s.is_some() { p.key("window_s") } else { p.key("duration_s") };
            self.problem(
                &path,
                format!(
                    "(warmup_s + duration_s) / window_s = {windows:.3e} time-series windows; allowed: at most {:.0e} \
                     (set a wider run.window_s, or a shorter run)",
                    limits::MAX_WINDOWS
                ),
            );
        }
        let replications = r.replications.map_or(1, |n| self.at_least_one(&p.key("replications"), n));
        RunConfig { duration_s, warmup_s, seed: r.seed.unwrap_or(1), replications, window_s }
    }

    fn machine(&mut self, p: &FieldPath, m: RawMachine) -> MachineConfig {
        let cores = m.cores.map_or(1, |c| self.at_least_one(&p.key("cores"), c));
        let memory_mb = self.positive_opt(&p.key("memory_mb"), m.memory_mb);
        let swap_mb = self.non_negative(&p.key("swap_mb"), m.swap_mb, 0.0);
        let swap_slowdown = match m.swap_slowdown {
            Some(f) => self.field(&p.key("swap_slowdown"), f, |f| f >= 1.0),
            None => 1.0,
        };
        if memory_mb.is_none() && (m.swap_mb.is_some() || m.swap_slowdown.is_some()) {
            self.problem(p, "`swap_mb` and `swap_slowdown` need `memory_mb` (the physical memory they extend)");
        }
        let time_slice_ms = match m.time_slice_ms {
            Some(t) => self.field(&p.key("time_slice_ms"), t, |t| (0.0..=1000.0).contains(&t)),
            None => MachineConfig::DEFAULT_TIME_SLICE_MS,
        };
        MachineConfig { cores, memory_mb, swap_mb, swap_slowdown, time_slice_ms }
    }

    fn load(&mut self, p: &FieldPath, mut l: RawLoad, run: &RunConfig) -> Option<LoadConfig> {
        let timeout_s = self.positive_opt(&p.key("timeout_s"), l.timeout_s);
        let arrival = self.arrival(p, &l)?;
        if l.time_scale.is_some() && !matches!(arrival, Arrival::Log(_)) {
            self.problem(&p.key("time_scale"), "`time_scale` applies to a replayed log only (arrival = \"log\")");
        }
        for (set, f) in [
            (l.log_file.is_some(), "log_file"),
            (l.log_time.is_some(), "log_time"),
            (l.log_demand.is_some(), "log_demand"),
        ] {
            if set && !matches!(arrival, Arrival::Log(_)) {
                self.problem(&p.key(f), format!("`{f}` applies to a replayed log only (arrival = \"log\")"));
            }
        }
        let rate_rps = self.open_rate(p, &l, &arrival);
        let schedule = self.schedule(p, l.schedule.take().unwrap_or_default(), run);
        let clients = self.clients(p, l.clients.take().unwrap_or_default());
        let closed = matches!(arrival, Arrival::Closed { .. });
        let (requests_per_connection, connection_gap_s, client_keeps_open) = self.connections(p, &l, closed);
        let (retries, retry_backoff_s) = self.retries(p, &l);
        Some(LoadConfig {
            arrival,
            rate_rps,
            schedule,
            timeout_s,
            clients,
            requests_per_connection,
            connection_gap_s,
            client_keeps_open,
            retries,
            retry_backoff_s,
        })
    }

    /// `arrival` and the fields that belong to its kind of load.
    fn arrival(&mut self, p: &FieldPath, l: &RawLoad) -> Option<Arrival> {
        let arrival_name = match &l.arrival {
            Some(a) => a.clone(),
            None => {
                self.problem(p, "missing `arrival`; allowed: \"poisson\", \"uniform\", \"closed\"");
                return None;
            }
        };
        Some(match arrival_name.as_str() {
            "poisson" | "uniform" => {
                if l.users.is_some() {
                    self.problem(&p.key("users"), "`users` applies to closed loads only (arrival = \"closed\")");
                }
                if l.think_ms.is_some() {
                    self.problem(&p.key("think_ms"), "`think_ms` applies to closed loads only (arrival = \"closed\")");
                }
                if arrival_name == "poisson" { Arrival::Poisson } else { Arrival::Uniform }
            }
            "log" => {
                for (set, f) in [
                    (l.rate_rps.is_some(), "rate_rps"),
                    (l.schedule.is_some(), "schedule"),
                    (l.users.is_some(), "users"),
                    (l.think_ms.is_some(), "think_ms"),
                ] {
                    if set {
                        self.problem(&p.key(f), format!("`{f}` does not apply to a replayed log (arrival = \"log\")"));
                    }
                }
                let demand = self.log_demand(p, l);
                match &l.log_file {
                    Some(name) => {
                        let mut log = self.access_log(&p.key("log_file"), name, demand.map(|d| d.time))?;
                        log.demand = demand;
                        if let Some(k) = l.time_scale {
                            let k = self.field(&p.key("time_scale"), k, |k| k > 0.0 && k <= 1e6);
                            if k > 0.0 {
                                // The same traffic, `k` times as fast: every arrival time (and gap) divided by k.
                                log.times_s = log.times_s.iter().map(|t| t / k).collect();
                                log.time_scale = k;
                            }
                        }
                        Arrival::Log(log)
                    }
                    None => {
                        self.problem(p, "a log load needs `log_file` (an access log in Common or Combined Log Format)");
                        return None;
                    }
                }
            }
            "closed" => self.closed_arrival(p, l),
            other => {
                let hint = nearest(other, ["poisson", "uniform", "closed", "log"])
                    .map(|b| format!(" (did you mean \"{b}\"?)"))
                    .unwrap_or_default();
                self.problem(
                    &p.key("arrival"),
                    format!(
                        "unknown arrival \"{other}\"{hint}; allowed: \"poisson\", \"uniform\", \"closed\", \"log\""
                    ),
                );
                return None;
            }
        })
    }

    /// A closed load's users and think time (and no open-load fields).
    fn closed_arrival(&mut self, p: &FieldPath, l: &RawLoad) -> Arrival {
        let open_only = |v: &mut Self, set: bool, f: &str| {
            if set {
                v.problem(
                    &p.key(f),
                    format!("`{f}` applies to open loads only (arrival = \"poisson\" or \"uniform\")"),
                );
            }
        };
        open_only(self, l.rate_rps.is_some(), "rate_rps");
        open_only(self, l.schedule.is_some(), "schedule");
        let users = match l.users {
            Some(u) => self.at_least_one(&p.key("users"), u),
            None => {
                self.problem(p, "a closed load needs `users` (a whole number >= 1)");
                1
            }
        };
        let think_s = match &l.think_ms {
            Some(d) => {
                // Zero think time is a benchmark-style load (ab -c N, wrk, oha): each user
                // sends its next request the moment the last is answered. Whether its
                // cycle can take no time at all depends on the requests (`cycle_takes_time`).
                self.dist(&p.key("think_ms"), d, 1e3)
            }
            None => {
                self.problem(p, "a closed load needs `think_ms` (a number or a distribution, in ms)");
                Dist::Const(0.0)
            }
        };
        Arrival::Closed { users, think_s }
    }

    /// An open load's rate (a replayed log's mean rate; 0 for a closed load).
    fn open_rate(&mut self, p: &FieldPath, l: &RawLoad, arrival: &Arrival) -> f64 {
        match (arrival, l.rate_rps) {
            (Arrival::Closed { .. }, _) => 0.0,
            // The log's mean rate (what capacity warnings compare with).
            (Arrival::Log(log), _) => {
                let span = log.times_s.last().map_or(1.0, |t| t.ceil().max(1.0));
                log.times_s.len() as f64 / span
            }
            (_, Some(r)) => self.field(&p.key("rate_rps"), r, |r| r > 0.0 && r <= limits::MAX_RATE_RPS),
            (_, None) => {
                self.problem(p, "an open load needs `rate_rps` (requests per second > 0)");
                0.0
            }
        }
    }

    /// The rate schedule: steps in time order, within the run.
    fn schedule(&mut self, p: &FieldPath, raw: Vec<RawStep>, run: &RunConfig) -> Vec<RateStep> {
        let mut schedule = Vec::new();
        for (i, s) in raw.into_iter().enumerate() {
            let sp = p.key("schedule").index(i);
            let at_s = self.number(&sp.key("at_s"), s.at_s, |t| t >= 0.0, "seconds >= 0");
            let rate = self.number(
                &sp.key("rate_rps"),
                s.rate_rps,
                |r| (0.0..=limits::MAX_RATE_RPS).contains(&r),
                "requests per second >= 0 and at most 1e6",
            );
            if at_s > run.end_s() {
                self.problem(&sp.key("at_s"), format!("{at_s} s is after the run ends ({} s)", run.end_s()));
            }
            if schedule.last().is_some_and(|prev: &RateStep| prev.at_s > at_s) {
                self.problem(&sp.key("at_s"), "schedule steps must be in increasing time order");
            }
            schedule.push(RateStep { at_s, rate_rps: rate });
        }
        schedule
    }

    /// The clients' links.
    fn clients(&mut self, p: &FieldPath, raw: Vec<RawClient>) -> Vec<ClientClass> {
        let mut clients = Vec::new();
        for (i, c) in raw.into_iter().enumerate() {
            let cp = p.key("clients").index(i);
            clients.push(ClientClass {
                name: c.name.unwrap_or_else(|| format!("clients{i}")),
                weight: match c.weight {
                    Some(w) => self.field(&cp.key("weight"), w, |w| w > 0.0),
                    None => 1.0,
                },
                bandwidth_kbps: self.field(&cp.key("bandwidth_kbps"), c.bandwidth_kbps, |b| b > 0.0),
                rtt_s: self.non_negative(&cp.key("rtt_ms"), c.rtt_ms, 0.0) / 1e3,
                header_s: self.non_negative(&cp.key("header_s"), c.header_s, 0.0),
                reads: c.reads.unwrap_or(true),
            });
        }
        clients
    }

    /// Requests per connection, the pause between them, and whether clients keep it open.
    fn connections(&mut self, p: &FieldPath, l: &RawLoad, closed: bool) -> (u32, Dist, bool) {
        let requests_per_connection = match l.requests_per_connection {
            Some(n) => self.at_least_one(&p.key("requests_per_connection"), n),
            None => 1,
        };
        let connection_gap_s = match &l.connection_gap_ms {
            Some(_) if closed => {
                self.problem(
                    &p.key("connection_gap_ms"),
                    "a closed load's pause between requests is `think_ms`; `connection_gap_ms` applies to open loads",
                );
                Dist::Const(0.0)
            }
            Some(d) => self.dist(&p.key("connection_gap_ms"), d, 1e3),
            None => Dist::Const(0.0),
        };
        if closed && l.client_keeps_open.is_some() {
            self.problem(
                &p.key("client_keeps_open"),
                "applies to open loads (a closed load's users go on sending requests); allowed: remove it",
            );
        }
        let client_keeps_open = l.client_keeps_open.unwrap_or(false);
        (requests_per_connection, connection_gap_s, client_keeps_open)
    }

    /// Client retries and their back-off.
    fn retries(&mut self, p: &FieldPath, l: &RawLoad) -> (u32, f64) {
        let retries = self.at_most(&p.key("retries"), l.retries, limits::MAX_RETRIES);
        let retry_backoff_s = self.non_negative(&p.key("retry_backoff_ms"), l.retry_backoff_ms, 0.0) / 1e3;
        if retries == 0 && l.retry_backoff_ms.is_some() {
            self.problem(&p.key("retry_backoff_ms"), "applies only with `retries` (a whole number from 1 to 100)");
        }
        (retries, retry_backoff_s)
    }

    fn requests(&mut self, p: &FieldPath, raw: Vec<RawRequest>) -> Vec<RequestClass> {
        if raw.is_empty() {
            self.problem(p, "the request mix is empty; add at least one [[request]] with cpu_ms and/or io_ms");
        }
        raw.into_iter()
            .enumerate()
            .map(|(i, r)| {
                let rp = p.index(i);
                let weight = match r.weight {
                    Some(w) => self.field(&rp.key("weight"), w, |w| w > 0.0),
                    None => 1.0,
                };
                let cpu_s = r.cpu_ms.as_ref().map_or(Dist::Const(0.0), |d| self.dist(&rp.key("cpu_ms"), d, 1e3));
                let io_s = r.io_ms.as_ref().map_or(Dist::Const(0.0), |d| self.dist(&rp.key("io_ms"), d, 1e3));
                RequestClass {
                    name: r.name.unwrap_or_else(|| format!("request{i}")),
                    weight,
                    cpu_s,
                    io_s,
                    request_kb: self.non_negative(&rp.key("request_kb"), r.request_kb, 0.0),
                    response_kb: self.non_negative(&rp.key("response_kb"), r.response_kb, 0.0),
                    is_static: r.is_static.unwrap_or(false),
                    crash_fraction: self.probability(&rp.key("crash_fraction"), r.crash_fraction),
                    hang_fraction: self.probability(&rp.key("hang_fraction"), r.hang_fraction),
                    hang: match r.hang.as_deref() {
                        None | Some("cpu") => Hang::Cpu,
                        Some("io") => Hang::Io,
                        Some(other) => {
                            self.problem(
                                &rp.key("hang"),
                                format!("unknown hang \"{other}\"; allowed: \"cpu\" (an infinite loop), \"io\" (a wait that never returns)"),
                            );
                            Hang::Cpu
                        }
                    },
                    leak_kb: self.non_negative(&rp.key("leak_kb"), r.leak_kb, 0.0),
                    memory_hog_mb: self.non_negative(&rp.key("memory_hog_mb"), r.memory_hog_mb, 0.0),
                    io_calls: r.io_calls.map_or(1, |n| self.at_least_one(&rp.key("io_calls"), n)),
                    url: r.url.clone().filter(|u| match regex::Regex::new(u) {
                        Ok(_) => true,
                        Err(e) => {
                            self.problem(&rp.key("url"), format!("not a regular expression: {e}"));
                            false
                        }
                    }),
                }
            })
            .collect()
    }

    fn servers(&mut self, p: &FieldPath, raw: Vec<RawServer>) -> Vec<ServerConfig> {
        if raw.is_empty() {
            self.problem(p, "no servers; add at least one [[server]] with an `architecture`");
        }
        let mut out: Vec<ServerConfig> = Vec::new();
        for (i, s) in raw.into_iter().enumerate() {
            if let Some(c) = self.server(&p.index(i), s, i) {
                if out.iter().any(|o| o.name == c.name) {
                    self.problem(&p.index(i).key("name"), format!("another server is already named \"{}\"", c.name));
                }
                out.push(c);
            }
        }
        out
    }

    fn server(&mut self, p: &FieldPath, mut s: RawServer, index: usize) -> Option<ServerConfig> {
        if let Some(preset) = s.preset.clone() {
            match parse_preset(&preset) {
                Ok((_, base)) => s.overlay(&base),
                Err(mut problem) => {
                    let (line, column) = self.loc.position(&p.key("preset"));
                    problem.file = self.file.to_string();
                    problem.field = p.key("preset").to_string();
                    (problem.line, problem.column) = (line, column);
                    self.problems.push(problem);
                    return None;
                }
            }
        }
        let ids: Vec<&str> = REGISTRY.iter().map(|a| a.id).collect();
        let Some(arch_name) = s.architecture.clone() else {
            self.problem(p, format!("missing `architecture` (or a `preset`); allowed: {}", ids.join(", ")));
            return None;
        };
        let Some(info) = architectures::by_id(&arch_name) else {
            let hint = nearest(&arch_name, ids.iter().copied())
                .map(|b| format!(" (did you mean \"{b}\"?)"))
                .unwrap_or_default();
            self.problem(
                &p.key("architecture"),
                format!("unknown architecture \"{arch_name}\"{hint}; allowed: {}", ids.join(", ")),
            );
            return None;
        };
        for f in s.specific_fields_set() {
            if !info.has_field(f) {
                self.problem(
                    &p.key(f),
                    format!(
                        "`{f}` does not apply to architecture \"{}\"; its own fields are: {}",
                        info.id,
                        info.field_names().join(", ")
                    ),
                );
            }
        }
        for f in info.required() {
            if !s.specific_fields_set().contains(&f) {
                self.problem(p, format!("architecture \"{}\" needs `{f}` (a whole number >= 1)", info.id));
            }
        }
        let mut c = ServerConfig::new(s.name.clone().unwrap_or_else(|| format!("{}-{index}", info.id)), info.kind);
        c.preset = s.preset.clone();
        self.server_sizes(p, &s, info, &mut c);
        self.server_process(p, &s, info, &mut c);
        self.server_timeouts(p, &s, info, &mut c);
        self.server_buffers(p, &s, info, &mut c);
        self.server_dynamic_pool(p, &s, info, &mut c);
        self.server_application(p, &s, info, &mut c);
        self.server_queue(p, &s, info, &mut c);
        self.server_accept_and_recycling(p, &s, info, &mut c);
        Some(c)
    }

    /// Pool sizes (the architecture's `SizeField`s) and the listen backlog.
    fn server_sizes(&mut self, p: &FieldPath, s: &RawServer, info: &ArchitectureInfo, c: &mut ServerConfig) {
        let size = |v: &mut Self, f: Option<architectures::SizeField>| {
            f.map_or(1, |f| v.count(p, f.field, s.size(f.field), 1))
        };
        c.threads = size(self, info.sizes.threads);
        c.processes = size(self, info.sizes.processes);
        if u64::from(c.processes) * u64::from(c.threads) > limits::MAX_WORKERS {
            self.problem(
                &p.key("threads"),
                format!(
                    "{} processes × {} threads = {} worker threads; allowed: at most {} in one server",
                    c.processes,
                    c.threads,
                    u64::from(c.processes) * u64::from(c.threads),
                    limits::MAX_WORKERS
                ),
            );
        }
        c.listen_backlog = s.listen_backlog;
    }

    /// The GIL, memory, blocking IO and its offload threads.
    fn server_process(&mut self, p: &FieldPath, s: &RawServer, _info: &ArchitectureInfo, c: &mut ServerConfig) {
        c.gil = s.gil.unwrap_or(false);
        c.gil_switch_s = match s.gil_switch_ms {
            Some(ms) => self.field(&p.key("gil_switch_ms"), ms, |x| x > 0.0) / 1e3,
            None => 0.005,
        };
        c.gil_switch_cost_s = match s.gil_switch_cost_ms {
            Some(ms) => self.field(&p.key("gil_switch_cost_ms"), ms, |x| (0.0..=1.0).contains(&x)) / 1e3,
            None => ServerConfig::DEFAULT_GIL_SWITCH_COST_MS / 1e3,
        };
        c.process_mb = self.non_negative(&p.key("process_mb"), s.process_mb, 0.0);
        c.shared_mb = self.non_negative(&p.key("shared_mb"), s.shared_mb, 0.0);
        c.thread_mb = self.non_negative(&p.key("thread_mb"), s.thread_mb, 0.0);
        c.memory_kb = self.non_negative(&p.key("memory_kb"), s.memory_kb, 0.0);
        c.blocking_io = s.blocking_io.unwrap_or(false);
        c.offload_threads = self.at_most(&p.key("offload_threads"), s.offload_threads, limits::MAX_COUNT);
        if c.offload_threads > 0 && !c.blocking_io {
            self.problem(&p.key("offload_threads"), "offload threads run blocking calls: set `blocking_io = true` too");
        }
    }

    /// The front-end, timeouts, start-up and recycling times, keep-alive and header time-outs.
    fn server_timeouts(&mut self, p: &FieldPath, s: &RawServer, _info: &ArchitectureInfo, c: &mut ServerConfig) {
        c.frontend_processes = self.count(p, "frontend_processes", s.frontend_processes, 1);
        c.frontend_mb = self.non_negative(&p.key("frontend_mb"), s.frontend_mb, 0.0);
        c.queue_timeout_s = self.positive_opt(&p.key("queue_timeout_s"), s.queue_timeout_s);
        c.startup_s = self.non_negative(&p.key("startup_ms"), s.startup_ms, 0.0) / 1e3;
        c.respawn_s = self.non_negative(&p.key("respawn_ms"), s.respawn_ms, 0.0) / 1e3;
        c.socket_buffer_kb = self.non_negative(&p.key("socket_buffer_kb"), s.socket_buffer_kb, 0.0);
        c.request_timeout_s = self.positive_opt(&p.key("request_timeout_s"), s.request_timeout_s);
        c.max_requests = s.max_requests.map(|n| self.at_least_one(&p.key("max_requests"), n));
        c.spawn_s = self.non_negative(&p.key("spawn_ms"), s.spawn_ms, 0.0) / 1e3;
        c.keepalive_timeout_s = self.positive_opt(&p.key("keepalive_timeout_s"), s.keepalive_timeout_s);
        c.keepalive_requests = s.keepalive_requests.map(|n| self.at_least_one(&p.key("keepalive_requests"), n));
        c.keepalive_kb = self.non_negative(&p.key("keepalive_kb"), s.keepalive_kb, 0.0);
        c.header_timeout_s = self.positive_opt(&p.key("header_timeout_s"), s.header_timeout_s);
    }

    /// The event loop's output buffer and the database pool.
    fn server_buffers(&mut self, p: &FieldPath, s: &RawServer, _info: &ArchitectureInfo, c: &mut ServerConfig) {
        c.output_buffer_kb = match &s.output_buffer_kb {
            None => None,
            Some(v) => {
                let path = p.key("output_buffer_kb");
                let kb = match v {
                    toml::Value::Integer(n) => Some(*n as f64),
                    toml::Value::Float(x) => Some(*x),
                    toml::Value::String(w) if w == "unbounded" => None,
                    _ => Some(f64::NAN),
                };
                match kb {
                    Some(kb) if !(kb.is_finite() && kb > 0.0) => {
                        self.problem(&path, format!("got {v}; allowed: {}", Self::allowed(&path)));
                        None
                    }
                    kb => kb,
                }
            }
        };
        c.db_pool = s.db_pool.map(|n| self.at_least_one(&p.key("db_pool"), n));
    }

    /// An Apache-style dynamic pool, for architectures that have one.
    fn server_dynamic_pool(&mut self, p: &FieldPath, s: &RawServer, info: &ArchitectureInfo, c: &mut ServerConfig) {
        let dynamic_fields = [
            ("start_processes", s.start_processes),
            ("min_spare_workers", s.min_spare_workers),
            ("max_spare_workers", s.max_spare_workers),
        ];
        if dynamic_fields.iter().any(|(_, v)| v.is_some()) {
            if let Some(d) = info.capabilities.dynamic_pool {
                // The architecture's (Apache's) defaults for whatever is left unset.
                let defaults = [d.start_processes, d.min_spare_workers, d.max_spare_workers];
                let [start, min, max] = [0, 1, 2].map(|i| {
                    let (f, v) = dynamic_fields[i];
                    match v {
                        Some(n) if n > limits::MAX_COUNT => {
                            self.at_most(&p.key(f), Some(n), limits::MAX_COUNT);
                            defaults[i]
                        }
                        Some(n) => n,
                        None => defaults[i],
                    }
                });
                // More than `processes` is capped at it, as Apache caps StartServers at MaxClients
                // (so a preset's StartServers still works with a smaller `processes`).
                if start == 0 {
                    let path = p.key("start_processes");
                    self.problem(&path, format!("got 0; allowed: {}", Self::allowed(&path)));
                }
                if max <= min {
                    self.problem(
                        &p.key("max_spare_workers"),
                        format!("got {max}; allowed: more than `min_spare_workers` ({min})"),
                    );
                }
                // Apache's worker MPM raises MaxSpareThreads to MinSpareThreads + ThreadsPerChild:
                // below that, stopping one process would leave too few idle and fork it again.
                let max = max.max(min.saturating_add(c.threads));
                c.dynamic = Some(DynamicPool {
                    start_processes: start.clamp(1, c.processes.max(1)),
                    min_spare_workers: min,
                    max_spare_workers: max,
                });
            } else {
                for (f, v) in dynamic_fields {
                    if v.is_some() {
                        self.problem(
                            &p.key(f),
                            format!(
                                "`{f}` makes an Apache-style dynamic pool; allowed for: {}",
                                architectures::ids_where(|a| a.capabilities.dynamic_pool.is_some())
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Output-buffer applicability and the application's import and preload.
    fn server_application(&mut self, p: &FieldPath, s: &RawServer, info: &ArchitectureInfo, c: &mut ServerConfig) {
        if s.output_buffer_kb.is_some() && !info.capabilities.output_buffer {
            self.problem(
                &p.key("output_buffer_kb"),
                format!(
                    "`output_buffer_kb` is the write buffer of an event loop (allowed for: {}); a blocking worker writes into the kernel's `socket_buffer_kb` instead",
                    architectures::ids_where(|a| a.capabilities.output_buffer)
                ),
            );
        }
        c.app_mb = self.non_negative(&p.key("app_mb"), s.app_mb, 0.0);
        c.import_s = self.non_negative(&p.key("import_ms"), s.import_ms, 0.0) / 1e3;
        c.preload = s.preload.unwrap_or(false);
        if !info.capabilities.app_import {
            for (set, f) in
                [(s.app_mb.is_some(), "app_mb"), (s.import_ms.is_some(), "import_ms"), (s.preload.is_some(), "preload")]
            {
                if set {
                    self.problem(
                        &p.key(f),
                        format!(
                            "`{f}` applies to pools of long-lived workers (allowed for: {}); for this architecture put the application's memory in `process_mb`{}",
                            architectures::ids_where(|a| a.capabilities.app_import),
                            if info.has_field("startup_ms") { " and its import in `startup_ms`" } else { "" }
                        ),
                    );
                }
            }
        } else if s.preload == Some(true) && !info.capabilities.preload {
            self.problem(
                &p.key("preload"),
                format!(
                    "preloading shares the application between forked processes; \"{}\" has one process (allowed for: {})",
                    info.id,
                    architectures::ids_where(|a| a.capabilities.preload)
                ),
            );
        }
    }

    /// Keep-alive's dependent fields and the queue discipline.
    fn server_queue(&mut self, p: &FieldPath, s: &RawServer, info: &ArchitectureInfo, c: &mut ServerConfig) {
        if c.keepalive_timeout_s.is_none() {
            for (set, f) in
                [(s.keepalive_requests.is_some(), "keepalive_requests"), (s.keepalive_kb.is_some(), "keepalive_kb")]
            {
                if set {
                    self.problem(
                        &p.key(f),
                        format!("`{f}` needs keep-alive on: set `keepalive_timeout_s` (seconds > 0) too"),
                    );
                }
            }
        }
        c.queue_discipline = match s.queue_discipline.as_deref() {
            None | Some("fifo") => Discipline::Fifo,
            Some("lifo") if info.capabilities.lifo => Discipline::Lifo,
            Some("lifo") => {
                self.problem(
                    &p.key("queue_discipline"),
                    format!(
                        "\"{}\" runs its queue in order; \"lifo\" applies to pools of workers (allowed for: {})",
                        info.id,
                        architectures::ids_where(|a| a.capabilities.lifo)
                    ),
                );
                Discipline::Fifo
            }
            Some(other) => {
                self.problem(
                    &p.key("queue_discipline"),
                    format!("unknown discipline \"{other}\"; allowed: \"fifo\", \"lifo\""),
                );
                Discipline::Fifo
            }
        };
    }

    /// The accept policy and recycling, for architectures that have them.
    fn server_accept_and_recycling(
        &mut self,
        p: &FieldPath,
        s: &RawServer,
        info: &ArchitectureInfo,
        c: &mut ServerConfig,
    ) {
        if s.accept.is_some() && !info.capabilities.accept {
            self.problem(
                &p.key("accept"),
                format!(
                    "`accept` does not apply to architecture \"{}\": it chooses which process takes a connection (allowed for: {})",
                    info.id,
                    architectures::ids_where(|a| a.capabilities.accept)
                ),
            );
        } else if let Some(a) = s.accept.as_deref() {
            match Accept::parse(a) {
                Some(a) if a.per_process() && c.dynamic.is_some() => self.problem(
                    &p.key("accept"),
                    format!("\"{}\" gives every process its own queue; a dynamic pool forks and stops processes by the shared queue's idle workers (allowed with a dynamic pool: \"shared\", \"most-recent\")", a.as_str()),
                ),
                Some(a) => c.accept = a,
                None => self.problem(
                    &p.key("accept"),
                    format!(
                        "unknown accept policy \"{a}\"; allowed: {}",
                        Accept::ALL.map(|a| format!("\"{}\"", a.as_str())).join(", ")
                    ),
                ),
            }
        }
        if s.max_requests.is_some() && !info.capabilities.recycling {
            self.problem(
                &p.key("max_requests"),
                format!(
                    "recycling applies to pools of long-lived workers (allowed for: {})",
                    architectures::ids_where(|a| a.capabilities.recycling)
                ),
            );
        }
    }

    /// A count field `f` at `p`: at least one (and at most the limit), or `default` if unset.
    fn count(&mut self, p: &FieldPath, f: &str, x: Option<u32>, default: u32) -> u32 {
        x.map_or(default, |n| self.at_least_one(&p.key(f), n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "IO-bound app, four architectures"
[run]
duration_s = 300.0
warmup_s = 30.0
seed = 1
replications = 1
[machine]
cores = 2
[load]
arrival = "poisson"
rate_rps = 80.0
[[request]]
name = "page"
weight = 1.0
cpu_ms = { dist = "exp", mean = 5.0 }
io_ms = 50.0
[[server]]
name = "threads"
architecture = "threaded"
threads = 10
gil = true
listen_backlog = 100
"#;

    #[test]
    fn the_contract_example_parses() {
        let s = parse(GOOD, "good.toml").unwrap();
        assert_eq!(s.machine.cores, 2);
        assert!((s.requests[0].cpu_s.mean() - 0.005).abs() < 1e-15);
        assert!((s.requests[0].io_s.mean() - 0.05).abs() < 1e-15);
        assert_eq!(s.servers[0].threads, 10);
        assert_eq!(s.servers[0].listen_backlog, Some(100));
    }

    fn problems(src: &str) -> Vec<Problem> {
        match parse(src, "bad.toml") {
            Err(ScenarioError::Invalid(p)) => p,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn a_typo_names_line_field_and_suggestion() {
        let src = GOOD.replace("threads = 10", "thread = 10");
        let p = &problems(&src)[0];
        // Line 21 of GOOD (it starts with an empty line) is `threads = 10`.
        assert_eq!((p.line, p.column), (21, 1), "{p}");
        assert_eq!(p.field, "server[0].thread");
        assert!(p.message.contains("did you mean `threads`"), "{p}");
    }

    #[test]
    fn zero_threads_and_bad_distribution_are_located() {
        let src = GOOD.replace("threads = 10", "threads = 0").replace("mean = 5.0 }", "mean = -5.0 }");
        let p = problems(&src);
        let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"request[0].cpu_ms"), "{p:?}");
        assert!(fields.contains(&"server[0].threads"), "{p:?}");
        let t = p.iter().find(|p| p.field == "server[0].threads").unwrap();
        assert_eq!((t.line, t.column), (21, 11), "{t}");
    }

    #[test]
    fn fields_of_another_architecture_are_refused() {
        let src = GOOD.replace("threads = 10", "threads = 10\ndaemons = 2");
        let p = problems(&src);
        assert_eq!(p[0].field, "server[0].daemons");
        assert!(p[0].message.contains("does not apply"), "{}", p[0]);
    }

    #[test]
    fn every_preset_parses_and_builds() {
        for name in presets::preset_names() {
            let src = format!("{}\n[[server]]\npreset = \"{name}\"\n", GOOD.split("[[server]]").next().unwrap());
            let s = parse(&src, "preset-test.toml").unwrap_or_else(|e| panic!("preset {name}: {e}"));
            assert_eq!(s.servers[0].preset.as_deref(), Some(name));
        }
    }

    #[test]
    fn a_single_server_table_parses() {
        let s = parse_server("preset = \"twisted\"\nname = \"tw\"", "add").unwrap();
        assert_eq!((s.name.as_str(), s.architecture), ("tw", ArchitectureKind::EventLoop));
        let e = parse_server("architecture = \"prefork\"", "add").unwrap_err();
        assert!(e.to_string().contains("needs `processes`"), "{e}");
    }

    #[test]
    fn a_scenario_overrides_preset_fields() {
        let head = GOOD.split("[[server]]").next().unwrap();
        let src = format!("{head}[[server]]\npreset = \"gunicorn-sync\"\nprocesses = 20\n");
        let s = parse(&src, "override.toml").unwrap();
        let (_, preset) = parse_preset("gunicorn-sync").unwrap();
        assert_eq!(s.servers[0].processes, 20, "the scenario's value wins");
        assert_ne!(preset.processes, Some(20), "the test must override something");
        assert_eq!(s.servers[0].listen_backlog, preset.listen_backlog, "unset fields come from the preset");
        assert_eq!(s.servers[0].architecture, ArchitectureKind::Prefork);
    }

    #[test]
    fn the_default_scenario_is_valid() {
        let s = default_scenario();
        assert!(s.servers.len() >= 4);
    }
}

/// Every kind of bad input the robustness issue lists gets one problem naming the field, with
/// what is allowed; extreme sizes are refused up front with the limit named.
#[cfg(test)]
mod bad_input_tests {
    use super::*;

    const BASE: &str = r#"name = "t"
[run]
duration_s = 100.0
warmup_s = 10.0
[machine]
cores = 2
[load]
arrival = "poisson"
rate_rps = 10.0
[[request]]
name = "page"
cpu_ms = { dist = "exp", mean = 5.0 }
io_ms = 50.0
[[server]]
name = "s"
architecture = "threaded"
threads = 4
"#;

    /// Parse `BASE` with `from` replaced by `to`; the one problem expected on `field`, whose
    /// message must contain `says`.
    fn refused(from: &str, to: &str, field: &str, says: &str) {
        assert_eq!(BASE.matches(from).count(), 1, "pattern {from:?}");
        let src = BASE.replace(from, to);
        let problems = match parse(&src, "bad.toml") {
            Err(ScenarioError::Invalid(p)) => p,
            other => panic!("{from:?} -> {to:?}: expected a problem on {field}, got {other:?}"),
        };
        let p = problems.iter().find(|p| p.field == field).unwrap_or_else(|| panic!("{to:?}: {problems:?}"));
        assert!(p.message.contains(says), "{to:?}: {p}");
        assert!(p.line >= 1 && p.column >= 1, "{p}");
        assert_eq!(problems.len(), 1, "{to:?}: one message, got {problems:?}");
    }

    #[test]
    fn zero_think_time_is_a_benchmark_load_unless_a_cycle_takes_no_time() {
        // `ab -c 16`: zero think time is fine when the requests take time.
        let bench =
            BASE.replace("arrival = \"poisson\"\nrate_rps = 10.0", "arrival = \"closed\"\nusers = 16\nthink_ms = 0.0");
        parse(&bench, "bench.toml").expect("a benchmark-style closed load is accepted");
        // With no work at all a cycle takes no time: refused, saying why.
        let nothing = bench.replace("cpu_ms = { dist = \"exp\", mean = 5.0 }\nio_ms = 50.0", "cpu_ms = 0.0");
        let e = parse(&nothing, "bad.toml").unwrap_err();
        let p = &e.problems()[0];
        assert_eq!(p.field, "load.think_ms");
        assert!(p.message.contains("no time"), "{p}");
        // The run size counts the requests' work: 1,000 users × 110 s / 55 ms = 2.0e6 requests
        // (fine); with 10^6 s of run, 2e10 (refused), where users / think time would say 0.
        let long = bench.replace("duration_s = 100.0", "duration_s = 1000000.0").replace("users = 16", "users = 1000");
        let e = parse(&long, "bad.toml").unwrap_err();
        assert!(e.problems()[0].message.contains("requests per server"), "{e}");
    }

    #[test]
    fn each_bad_input_names_its_field_and_what_is_allowed() {
        refused("threads = 4", "thread = 4", "server[0].thread", "did you mean `threads`");
        refused("threads = 4", "threads = 4\nkeepalive_kb = 4.0", "server[0].keepalive_kb", "keepalive_timeout_s");
        refused("threads = 4", "threads = 4\npreload = true", "server[0].preload", "one process");
        refused("threads = 4", "threads = 4\nimport_ms = -1.0", "server[0].import_ms", "allowed: ≥ 0");
        refused("threads = 4", "threads = 4\nkeepalive_timeout_s = 0.0", "server[0].keepalive_timeout_s", "> 0");
        refused(
            "rate_rps = 10.0",
            "rate_rps = 10.0\nrequests_per_connection = 0",
            "load.requests_per_connection",
            "allowed: 1 … 1,000,000",
        );
        refused("rate_rps = 10.0", "rate_rps = 10.0\nretries = 1000", "load.retries", "allowed: 0 … 100");
        refused("rate_rps = 10.0", "rate_rps = 10.0\nretry_backoff_ms = 50.0", "load.retry_backoff_ms", "`retries`");
        refused(
            "arrival = \"poisson\"\nrate_rps = 10.0",
            "arrival = \"closed\"\nusers = 3\nthink_ms = 5.0\nconnection_gap_ms = 5.0",
            "load.connection_gap_ms",
            "think_ms",
        );
        refused("rate_rps = 10.0", "rate_rps = \"fast\"", "load.rate_rps", "expected f64");
        refused("rate_rps = 10.0", "rate_rps = -1.0", "load.rate_rps", "> 0");
        refused("rate_rps = 10.0", "rate_rps = 0.0", "load.rate_rps", "> 0");
        refused("threads = 4", "threads = 0", "server[0].threads", "allowed: 1 … 1,000,000");
        refused("duration_s = 100.0", "duration_s = 0.0", "run.duration_s", "> 0");
        refused("warmup_s = 10.0", "warmup_s = 100.0", "run.warmup_s", "< `duration_s` (`duration_s` = 100)");
        refused("warmup_s = 10.0", "warmup_s = 150.0", "run.warmup_s", "< `duration_s` (`duration_s` = 100)");
        refused("io_ms = 50.0", "io_ms = 50.0\ncrash_fraction = 1.5", "request[0].crash_fraction", "allowed: 0 … 1");
        refused("io_ms = 50.0", "io_ms = 50.0\nhang_fraction = -0.1", "request[0].hang_fraction", "allowed: 0 … 1");
        refused(
            "cpu_ms = { dist = \"exp\", mean = 5.0 }",
            "cpu_ms = { dist = \"lognormal\", mean = 5.0, cv = -1.0 }",
            "request[0].cpu_ms",
            "cv",
        );
        refused("io_ms = 50.0", "io_ms = { dist = \"uniform\", min = 10.0, max = 5.0 }", "request[0].io_ms", "min");
        refused("io_ms = 50.0", "io_ms = { dist = \"empirical\", values = [] }", "request[0].io_ms", "at least one");
        refused("cores = 2", "cores = 0", "machine.cores", "allowed: 1 … 1,000,000");
    }

    #[test]
    fn an_empty_mix_or_no_server_is_refused() {
        let no_requests =
            BASE.replace("[[request]]\nname = \"page\"\ncpu_ms = { dist = \"exp\", mean = 5.0 }\nio_ms = 50.0\n", "");
        let p = match parse(&no_requests, "bad.toml") {
            Err(ScenarioError::Invalid(p)) => p,
            other => panic!("{other:?}"),
        };
        assert!(p.iter().any(|p| p.field == "request" && p.message.contains("empty")), "{p:?}");
        let no_servers = BASE[..BASE.find("[[server]]").unwrap()].to_string();
        let p = match parse(&no_servers, "bad.toml") {
            Err(ScenarioError::Invalid(p)) => p,
            other => panic!("{other:?}"),
        };
        assert!(p.iter().any(|p| p.field == "server" && p.message.contains("no servers")), "{p:?}");
    }

    #[test]
    fn extreme_sizes_are_refused_with_the_limit() {
        // 1e9 req/s: above the rate limit of 1e6.
        refused("rate_rps = 10.0", "rate_rps = 1e9", "load.rate_rps", "≤ 1,000,000");
        // 2 million threads: above the per-setting limit.
        refused("threads = 4", "threads = 2000000", "server[0].threads", "allowed: 1 … 1,000,000");
        // A 10-year run at 10 req/s with 1 s windows: 3.2e8 windows (limit 1e7) and 3.2e9
        // requests (limit 1e9) — both named.
        let src = BASE.replace("duration_s = 100.0", "duration_s = 315360000.0");
        let Err(ScenarioError::Invalid(p)) = parse(&src, "bad.toml") else { panic!("10 years must be refused") };
        assert!(p.iter().any(|p| p.field == "run.duration_s" && p.message.contains("windows")), "{p:?}");
        assert!(p.iter().any(|p| p.field == "load.rate_rps" && p.message.contains("3.15e9 requests")), "{p:?}");
        // With hour-long windows the same run still exceeds the request limit.
        let src = src.replace("warmup_s = 10.0", "warmup_s = 10.0\nwindow_s = 3600.0");
        let Err(ScenarioError::Invalid(p)) = parse(&src, "bad.toml") else { panic!("3e9 requests must be refused") };
        assert_eq!(p.len(), 1, "{p:?}");
        // 1e6 req/s for 110 s (10 s warm-up + 100 s) is 1.1e8 requests: allowed.
        assert!(parse(&BASE.replace("rate_rps = 10.0", "rate_rps = 1e6"), "ok.toml").is_ok());
        // A 1e-9 ms service time is valid (it runs: requests are bounded by arrivals).
        assert!(parse(&BASE.replace("io_ms = 50.0", "io_ms = 1e-9"), "ok.toml").is_ok());
    }
}
