//! Validated configuration types: what a scenario file means once it has been parsed and checked.
//! Durations inside these types are in seconds (files use milliseconds where the field says `_ms`).

use sim::Dist;

/// A whole scenario: one machine, one load, one request mix, and the servers to compare.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Human-readable title.
    pub name: String,
    /// Run length, warm-up, seed and replications.
    pub run: RunConfig,
    /// The simulated machine every server runs on (each server gets its own identical copy).
    pub machine: MachineConfig,
    /// How requests arrive.
    pub load: LoadConfig,
    /// The request classes, mixed by weight.
    pub requests: Vec<RequestClass>,
    /// The servers to compare, all fed the same arrivals.
    pub servers: Vec<ServerConfig>,
    /// A shared database every request's IO goes to (each server gets its own identical copy).
    pub backend: Option<BackendConfig>,
    /// What the scenario's author claims its run shows (`[[claim]]`), checked by
    /// `serversim run --check` and the test suite.
    pub claims: Vec<ScenarioClaim>,
}

/// One `[[claim]]` of a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioClaim {
    /// The claim in words.
    pub says: String,
    /// The claim as checked (see `crate::claim`).
    pub claim: crate::claim::Claim,
    /// 1-based line of its `check` in the file (0 when built in code).
    pub line: usize,
}

/// The backend database (`[backend]`): with one, a request's IO (`io_ms`) is a query there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendConfig {
    /// Queries it runs at once (its CPU cores and disks); more wait in its queue.
    pub workers: u32,
    /// Connections it accepts in total (PostgreSQL's max_connections, MySQL's max_connections);
    /// a process that needs one more is refused and its request fails.
    pub connections: u32,
}

/// Run length and statistics settings.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Simulated seconds of arrivals counted in the statistics (after warm-up).
    pub duration_s: f64,
    /// Simulated seconds at the start that are excluded from the statistics.
    pub warmup_s: f64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Number of independent replications (1 = a single run).
    pub replications: u32,
    /// Width of one time-series window in simulated seconds.
    pub window_s: f64,
}

impl RunConfig {
    /// The simulated time at which the run ends, in seconds.
    pub fn end_s(&self) -> f64 {
        self.warmup_s + self.duration_s
    }
}

/// The simulated machine.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// CPU cores shared by every runnable thread of every process.
    pub cores: u32,
    /// Physical memory in MB, if limited: beyond it the machine swaps, and past
    /// `memory_mb + swap_mb` the OOM killer kills the largest process.
    pub memory_mb: Option<f64>,
    /// Swap space in MB (used once physical memory is full).
    pub swap_mb: f64,
    /// While swapping, every CPU-second of work takes this many seconds (≥ 1).
    pub swap_slowdown: f64,
    /// The OS scheduler's time slice in ms: while more threads are runnable than there are
    /// cores, each runs this long before the next waiting one gets its core (0 = ideal processor
    /// sharing, every runnable thread progressing at cores/n of a core).
    pub time_slice_ms: f64,
}

impl MachineConfig {
    /// The default time slice, ms: what a CPU-bound task gets on Linux with `CONFIG_HZ=250`
    /// (Debian's kernels). The fair scheduler's base slice (`sysctl_sched_base_slice`, 0.7 ms ×
    /// (1 + log2 min(cores, 8)) — 1.4 ms on 2 cores) is enforced at the scheduler tick, so a
    /// busy task runs one tick, 4 ms; measured on the project's 2-core machines (docs/model.md).
    pub const DEFAULT_TIME_SLICE_MS: f64 = 4.0;
}

/// How requests are generated.
#[derive(Debug, Clone)]
pub enum Arrival {
    /// Open load: exponential inter-arrival times at the current rate.
    Poisson,
    /// Open load: arrivals evenly spaced at 1/rate (a constant-rate load generator).
    Uniform,
    /// Closed load: `users` clients, each thinking for a random time between getting a response
    /// and sending the next request.
    Closed {
        /// Number of clients.
        users: u32,
        /// Think time in seconds.
        think_s: Dist,
    },
    /// Open load replayed from an access log: one arrival per usable line, at its time.
    Log(LogReplay),
}

/// An access log to replay (`arrival = "log"`).
#[derive(Debug, Clone)]
pub struct LogReplay {
    /// The log file, resolved against the scenario file's folder.
    pub path: String,
    /// Arrival times in seconds from the start of the run, ascending (shared, not copied, when
    /// a scenario is cloned for each sweep point or server).
    pub times_s: std::sync::Arc<[f64]>,
    /// Non-blank lines in the log.
    pub lines: u64,
    /// Lines that could not be used (skipped).
    pub malformed: u64,
    /// The first few skipped lines: (line number, why).
    pub examples: Vec<(u64, String)>,
    /// How many times faster than logged the requests arrive (`time_scale`; 2 halves every gap).
    pub time_scale: f64,
    /// With `[[request]] url` patterns: each arrival's request class, chosen by its path (`None`:
    /// classes are drawn by weight).
    pub classes: Option<std::sync::Arc<[u16]>>,
    /// With `log_time` and `log_demand`: every request class's `io_ms` (or `cpu_ms`) is the
    /// empirical distribution of the response times logged for its requests.
    pub demand: Option<LogDemand>,
}

/// Which demand a replayed log's response times become, and how the log writes them
/// (`load.log_time`, `load.log_demand`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogDemand {
    /// The log format's response-time directive.
    pub time: LogTime,
    /// The times become each class's `io_ms` (`true`) or its `cpu_ms`.
    pub io: bool,
}

/// A log format's response-time field, ending each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTime {
    /// Apache `%D`: microseconds.
    ApacheMicros,
    /// Apache `%{ms}T`: milliseconds.
    ApacheMillis,
    /// Apache `%T`: whole seconds.
    ApacheSeconds,
    /// nginx `$request_time`: seconds with millisecond resolution.
    NginxRequestTime,
}

impl LogTime {
    /// Every format, by the name a scenario file gives it (`log_time`).
    pub const ALL: [(&'static str, LogTime); 4] = [
        ("%D", LogTime::ApacheMicros),
        ("%{ms}T", LogTime::ApacheMillis),
        ("%T", LogTime::ApacheSeconds),
        ("$request_time", LogTime::NginxRequestTime),
    ];

    /// The name a scenario file gives it.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map_or("", |(n, _)| n)
    }

    /// A logged value in seconds.
    pub fn seconds(self, logged: f64) -> f64 {
        match self {
            LogTime::ApacheMicros => logged / 1e6,
            LogTime::ApacheMillis => logged / 1e3,
            LogTime::ApacheSeconds | LogTime::NginxRequestTime => logged,
        }
    }
}

/// One step of a piecewise-constant rate schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStep {
    /// Simulated time in seconds at which the rate changes.
    pub at_s: f64,
    /// The new arrival rate in requests per second.
    pub rate_rps: f64,
}

/// The load offered to every server.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Arrival process.
    pub arrival: Arrival,
    /// Initial arrival rate in requests per second (open loads).
    pub rate_rps: f64,
    /// Rate changes, sorted by time (open loads).
    pub schedule: Vec<RateStep>,
    /// Seconds after which a client gives up on a request, if any.
    pub timeout_s: Option<f64>,
    /// The clients' network links, mixed by weight (empty = an infinitely fast local network).
    pub clients: Vec<ClientClass>,
    /// Requests a client sends over one connection before closing it (HTTP/1.0 clients: 1;
    /// browsers: many). An open-load arrival is a new client sending this many requests.
    pub requests_per_connection: u32,
    /// A client's pause between getting a response and sending its next request on the same
    /// connection (open loads with `requests_per_connection` > 1), seconds.
    pub connection_gap_s: Dist,
    /// After its last request a client leaves the connection open (as browsers do) until the
    /// server closes it, instead of closing it at once (open loads).
    pub client_keeps_open: bool,
    /// How many times a client sends a request again after it timed out, was refused or failed.
    pub retries: u32,
    /// Pause before the first retry, seconds; it doubles before each further one (exponential
    /// backoff).
    pub retry_backoff_s: f64,
}

impl LoadConfig {
    /// A load with `arrival` at `rate_rps` (ignored by closed loads) and everything else at its
    /// default: no schedule, no client time-out, a fast local network, one request per
    /// connection.
    pub fn new(arrival: Arrival, rate_rps: f64) -> Self {
        Self {
            arrival,
            rate_rps,
            schedule: Vec::new(),
            timeout_s: None,
            clients: Vec::new(),
            requests_per_connection: 1,
            connection_gap_s: Dist::Const(0.0),
            client_keeps_open: false,
            retries: 0,
            retry_backoff_s: 0.0,
        }
    }

    /// Open-load arrivals are clients that send more than one request, keep their connection
    /// open or retry, so each needs an identity.
    pub fn open_clients_have_connections(&self) -> bool {
        !matches!(self.arrival, Arrival::Closed { .. })
            && (self.requests_per_connection > 1 || self.client_keeps_open || self.retries > 0)
    }
}

/// A kind of client link.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientClass {
    /// Name, for reports.
    pub name: String,
    /// Relative frequency (> 0).
    pub weight: f64,
    /// Bandwidth in kbit/s (both directions).
    pub bandwidth_kbps: f64,
    /// Round-trip time in seconds.
    pub rtt_s: f64,
    /// Seconds the client takes to send its request headers, trickling them (a Slowloris attack
    /// sends a header line every few seconds and never finishes); 0 for a normal client.
    pub header_s: f64,
    /// The client reads its responses. `false`: the slow-reader attack — it keeps sending
    /// requests (pipelined over one connection) and never reads what comes back.
    pub reads: bool,
}

impl LoadConfig {
    /// The highest rate the open load ever reaches, in requests per second (0 for closed loads).
    pub fn peak_rate_rps(&self) -> f64 {
        match self.arrival {
            Arrival::Closed { .. } => 0.0,
            _ => self.schedule.iter().map(|s| s.rate_rps).fold(self.rate_rps, f64::max),
        }
    }
}

/// One kind of request in the mix.
#[derive(Debug, Clone)]
pub struct RequestClass {
    /// Name, for reports.
    pub name: String,
    /// Relative frequency in the mix (> 0).
    pub weight: f64,
    /// CPU time on a core, in seconds.
    pub cpu_s: Dist,
    /// Blocking wait that uses no CPU (database, remote call), in seconds; runs after the CPU.
    pub io_s: Dist,
    /// Request body size in KB (carried for later network modelling).
    pub request_kb: f64,
    /// Response size in KB (carried for later network modelling).
    pub response_kb: f64,
    /// A static file: a front-end that can serve files serves it itself.
    pub is_static: bool,
    /// Probability that a request's CPU work crashes its whole process (0..=1).
    pub crash_fraction: f64,
    /// Probability that a request never finishes (0..=1).
    pub hang_fraction: f64,
    /// How a hanging request hangs.
    pub hang: Hang,
    /// Memory each request leaks into its process for good, KB.
    pub leak_kb: f64,
    /// Extra memory a request allocates while it runs, MB.
    pub memory_hog_mb: f64,
    /// Blocking calls (database queries, remote calls) its IO is made of, ≥ 1: each waits
    /// `io_s / io_calls` and is preceded by `cpu_s / io_calls` of CPU, so a thread under a GIL
    /// must take the lock again each time a call returns.
    pub io_calls: u32,
    /// For a replayed log: the requested paths this class is (a regular expression); a class
    /// without one takes the paths no pattern matches.
    pub url: Option<String>,
}

/// How a hanging request hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hang {
    /// An infinite loop: it burns CPU (its share of a core) forever.
    #[default]
    Cpu,
    /// A wait that never returns (a lost database connection): it holds its thread, no CPU.
    Io,
}

/// Which waiting request a free worker takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Discipline {
    /// The one that waited longest (first in, first out).
    #[default]
    Fifo,
    /// The newest (last in, first out): under overload, recent requests still get fast answers
    /// while old ones, whose clients may have given up, wait.
    Lifo,
}

/// How a connection reaches a worker of a pool with several processes: a balancing policy that
/// chooses among the workers' queues (see docs/model.md, "Who accepts the next connection").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accept {
    /// One listen queue; a worker takes the next connection only when it is free, the one idle
    /// longest first (blocking `accept()` wakes its waiters in order; Apache's accept mutex,
    /// gunicorn sync workers, mod_wsgi daemons).
    #[default]
    Shared,
    /// One listen queue; a free worker takes the next connection, the one that went idle most
    /// recently first (`epoll_wait` wakes the last sleeper first: "Why does one NGINX worker take
    /// all the load?", Cloudflare, 2017), so load concentrates on a few processes.
    MostRecent,
    /// A queue per process: each connection goes to a process chosen at random, busy or not
    /// (`SO_REUSEPORT` hashes connections to processes; gunicorn gthread's processes all accept
    /// whenever the socket is readable and queue in their own thread pool).
    Random,
    /// A queue per process, each connection to the next process in turn (a load balancer's
    /// default).
    RoundRobin,
}

impl Accept {
    /// Every policy, in the order the docs list them.
    pub const ALL: [Accept; 4] = [Accept::Shared, Accept::MostRecent, Accept::Random, Accept::RoundRobin];

    /// The name in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Accept::Shared => "shared",
            Accept::MostRecent => "most-recent",
            Accept::Random => "random",
            Accept::RoundRobin => "round-robin",
        }
    }

    /// The policy called `name` in scenario files.
    pub fn parse(name: &str) -> Option<Accept> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// True if every process has a queue of its own (the connection is assigned on arrival).
    pub fn per_process(self) -> bool {
        matches!(self, Accept::Random | Accept::RoundRobin)
    }
}

impl RequestClass {
    /// A dynamic request class of weight 1 with the given CPU and IO (seconds) and nothing else:
    /// no payload, no faults.
    pub fn new(name: impl Into<String>, cpu_s: Dist, io_s: Dist) -> Self {
        Self {
            name: name.into(),
            weight: 1.0,
            cpu_s,
            io_s,
            request_kb: 0.0,
            response_kb: 0.0,
            is_static: false,
            crash_fraction: 0.0,
            hang_fraction: 0.0,
            hang: Hang::Cpu,
            leak_kb: 0.0,
            memory_hog_mb: 0.0,
            io_calls: 1,
            url: None,
        }
    }
}

/// Which architecture a server uses; each has its own file in `architectures/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchitectureKind {
    /// One process, a pool of threads.
    Threaded,
    /// Single-threaded event loops.
    EventLoop,
    /// Single-threaded processes sharing one listen queue.
    Prefork,
    /// Processes × threads.
    Worker,
    /// A front-end queueing into a pool of backend daemons.
    Daemon,
    /// A new process per request.
    Cgi,
}

/// One server to simulate. Fields that an architecture does not use keep their defaults and are
/// rejected by validation if set in a file.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Name shown in reports.
    pub name: String,
    /// The architecture.
    pub architecture: ArchitectureKind,
    /// The preset this server started from, if any.
    pub preset: Option<String>,
    /// Worker processes (prefork, worker), event-loop processes (event_loop), or daemon
    /// processes (daemon); 1 for threaded.
    pub processes: u32,
    /// Threads per process (threaded, worker, daemon); 1 otherwise.
    pub threads: u32,
    /// How many requests may wait for a worker; `None` = unlimited.
    pub listen_backlog: Option<u32>,
    /// A per-process interpreter lock: at most one thread of a process runs CPU at a time.
    pub gil: bool,
    /// GIL switch interval in seconds (CPython: 0.005).
    pub gil_switch_s: f64,
    /// CPU seconds a hand-off of the GIL to a waiting thread costs the thread that takes it
    /// (it was asleep: the OS must wake it and switch to it).
    pub gil_switch_cost_s: f64,
    /// Resident memory of one process (interpreter + imported app) in MB.
    pub process_mb: f64,
    /// Memory shared copy-on-write between the server's processes, counted once, in MB.
    pub shared_mb: f64,
    /// Memory per thread (stack and thread state) in MB.
    pub thread_mb: f64,
    /// Memory held by each request while it is in progress, in KB.
    pub memory_kb: f64,
    /// Event loop: the IO wait blocks the whole loop.
    pub blocking_io: bool,
    /// Event loop: threads per process for blocking calls (deferToThread); 0 = none.
    pub offload_threads: u32,
    /// Daemon: front-end event-loop processes that accept connections and serve static files.
    pub frontend_processes: u32,
    /// Daemon: memory of one front-end process in MB.
    pub frontend_mb: f64,
    /// A request that waited longer than this for a worker is dropped (failed) when a worker
    /// would take it, in seconds.
    pub queue_timeout_s: Option<f64>,
    /// CGI: CPU time to start the interpreter and import the app, per request, in seconds.
    pub startup_s: f64,
    /// Seconds from a crash until the process runs again.
    pub respawn_s: f64,
    /// Kernel socket send buffer per connection, KB: a blocking worker can finish writing once
    /// the rest of the response fits in it.
    pub socket_buffer_kb: f64,
    /// Watchdog: a worker busy with one request for longer than this is killed, with its whole
    /// process (mod_wsgi request-timeout, gunicorn timeout), seconds.
    pub request_timeout_s: Option<f64>,
    /// Recycle a process after it has served this many requests (MaxRequestsPerChild).
    pub max_requests: Option<u32>,
    /// Which waiting request a free worker takes.
    pub queue_discipline: Discipline,
    /// How a connection reaches a worker (processes with a listen queue each, or one shared).
    pub accept: Accept,
    /// CPU seconds a recycled process spends starting again (fork, and imports if not preloaded).
    pub spawn_s: f64,
    /// HTTP keep-alive: how long the server keeps an idle connection open waiting for the
    /// client's next request, seconds (Apache KeepAliveTimeout); `None` = keep-alive off.
    pub keepalive_timeout_s: Option<f64>,
    /// Most requests served over one connection before the server closes it (Apache
    /// MaxKeepAliveRequests); `None` = unlimited.
    pub keepalive_requests: Option<u32>,
    /// Memory of one idle keep-alive connection (socket buffers, parser state), KB.
    pub keepalive_kb: f64,
    /// Memory of the imported application in MB: private to every process, or (with `preload`)
    /// shared copy-on-write and counted once.
    pub app_mb: f64,
    /// CPU to import the application in a new process, seconds (not needed with `preload`).
    pub import_s: f64,
    /// The application is imported in the parent before forking (gunicorn --preload): its pages
    /// are shared, and new processes need not import it.
    pub preload: bool,
    /// The server drops a connection whose request headers have not all arrived this long after
    /// it was accepted (Apache mod_reqtimeout, nginx client_header_timeout), seconds; `None` =
    /// waits as long as the client keeps sending.
    pub header_timeout_s: Option<f64>,
    /// Event loop, daemon front-end: the write buffer of one connection, KB. When it is full the
    /// producer of the response is paused until the client drains it (backpressure) and the
    /// server stops reading further requests from that connection. `None` = unbounded: the
    /// whole response is buffered however slowly the client reads (Twisted's transports).
    pub output_buffer_kb: Option<f64>,
    /// Prefork, worker: a dynamic pool (Apache's StartServers / MinSpare / MaxSpare); `None` =
    /// every process runs from the start. `processes` is then the most the pool may grow to.
    pub dynamic: Option<DynamicPool>,
    /// With a `[backend]`: connections each process keeps in its pool (SQLAlchemy pool_size, an
    /// adbapi ConnectionPool's max); a query waits for one when all are in use. `None` = one per
    /// query in progress, opened as needed and kept (Django's persistent connection per thread).
    pub db_pool: Option<u32>,
}

/// Apache's idle-server maintenance: once a second the parent counts idle workers and forks
/// processes when there are fewer than `min_spare_workers` (1, then 2, 4, … up to 32 a second
/// while the shortage lasts) or stops one idle process when there are more than
/// `max_spare_workers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamicPool {
    /// Processes running at the start (StartServers).
    pub start_processes: u32,
    /// Fewest idle workers (threads) before the parent forks more (MinSpareServers; the worker
    /// MPM's MinSpareThreads).
    pub min_spare_workers: u32,
    /// Most idle workers before the parent stops a process (MaxSpareServers / MaxSpareThreads).
    pub max_spare_workers: u32,
}

impl DynamicPool {
    /// Apache's most processes forked in one second of maintenance (MAX_SPAWN_RATE).
    pub const MAX_SPAWN_RATE: u32 = 32;
}

impl ServerConfig {
    /// The default cost of a GIL hand-off to a waiting thread, ms: the mean gap between two
    /// CPU-bound CPython 3.11 threads taking turns, measured on the project's 2-core machines
    /// with `scripts/validate/gil-switch.py` (eight 5–10 s runs: means 51–81 µs, median of
    /// them 61 µs; docs/model.md, "The GIL").
    pub const DEFAULT_GIL_SWITCH_COST_MS: f64 = 0.06;

    /// A server with every field at its default: one process, one thread, no GIL, no memory,
    /// unlimited backlog.
    pub fn new(name: impl Into<String>, architecture: ArchitectureKind) -> Self {
        Self {
            name: name.into(),
            architecture,
            preset: None,
            processes: 1,
            threads: 1,
            listen_backlog: None,
            gil: false,
            gil_switch_s: 0.005,
            gil_switch_cost_s: Self::DEFAULT_GIL_SWITCH_COST_MS / 1e3,
            process_mb: 0.0,
            shared_mb: 0.0,
            thread_mb: 0.0,
            memory_kb: 0.0,
            blocking_io: false,
            offload_threads: 0,
            frontend_processes: 1,
            frontend_mb: 0.0,
            queue_timeout_s: None,
            startup_s: 0.0,
            respawn_s: 0.0,
            socket_buffer_kb: 0.0,
            request_timeout_s: None,
            max_requests: None,
            spawn_s: 0.0,
            queue_discipline: Discipline::Fifo,
            accept: Accept::Shared,
            keepalive_timeout_s: None,
            keepalive_requests: None,
            keepalive_kb: 0.0,
            header_timeout_s: None,
            output_buffer_kb: None,
            dynamic: None,
            db_pool: None,
            app_mb: 0.0,
            import_s: 0.0,
            preload: false,
        }
    }

    /// Processes running at the start: all of them, or a dynamic pool's `start_processes`.
    pub fn initial_processes(&self) -> u32 {
        self.dynamic.map_or(self.processes, |d| d.start_processes.min(self.processes))
    }

    /// Memory of one process as it starts, MB: its own, plus the application unless preloaded.
    pub fn process_image_mb(&self) -> f64 {
        self.process_mb + if self.preload { 0.0 } else { self.app_mb }
    }

    /// Memory shared by all processes and counted once, MB: plus the application if preloaded.
    pub fn shared_image_mb(&self) -> f64 {
        self.shared_mb + if self.preload { self.app_mb } else { 0.0 }
    }

    /// CPU a process restarted after a crash spends before it serves, seconds: the import,
    /// unless the application is preloaded (the fork itself is in `respawn_s`).
    pub fn respawn_cpu_s(&self) -> f64 {
        if self.preload { 0.0 } else { self.import_s }
    }

    /// CPU a recycled process spends starting again, seconds: `spawn_s` (the fork and whatever
    /// it includes), plus the import unless the application is preloaded.
    pub fn recycle_cpu_s(&self) -> f64 {
        self.spawn_s + self.respawn_cpu_s()
    }
}
