//! The scenario file's fields, declared once: every table's fields with their unit, default,
//! allowed values and meaning. The field reference in `docs/scenario-format.md` is this list
//! (`models/tests/docs.rs` renders it with `markdown` and compares), and the same test checks
//! that the parser accepts exactly these names in each table. An architecture's own fields are
//! declared by the architecture (`Architecture::FIELDS`) and rendered by `own_fields_markdown`.

use crate::architectures::REGISTRY;

/// One field of a scenario file's table, as the reference documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDoc {
    /// Its name in the file.
    pub name: &'static str,
    /// Its unit ("—" for none).
    pub unit: &'static str,
    /// Its default ("required" if a file must set it).
    pub default: &'static str,
    /// The values allowed.
    pub allowed: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// One table of a scenario file and its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDoc {
    /// Its TOML path ("" for the top level, "load.clients", "server", …).
    pub table: &'static str,
    /// The start of its heading in `docs/scenario-format.md`.
    pub heading: &'static str,
    /// Its fields, in the reference's order (for `[[server]]`: the fields every architecture has).
    pub fields: &'static [FieldDoc],
}

/// Every table of a scenario file with its fields.
pub const TABLES: &[TableDoc] = &[
    TableDoc {
        table: "",
        heading: "## Top level",
        fields: &[FieldDoc {
            name: "name",
            unit: "—",
            default: "\"unnamed scenario\"",
            allowed: "string",
            meaning: "title in reports",
        }],
    },
    TableDoc {
        table: "run",
        heading: "## `[run]`",
        fields: &[
            FieldDoc {
                name: "duration_s",
                unit: "s",
                default: "300",
                allowed: "> 0",
                meaning: "simulated seconds of arrivals counted after warm-up",
            },
            FieldDoc {
                name: "warmup_s",
                unit: "s",
                default: "min(30, duration_s/10)",
                allowed: "≥ 0 and < `duration_s`",
                meaning: "simulated seconds at the start excluded from statistics",
            },
            FieldDoc {
                name: "seed",
                unit: "—",
                default: "1",
                allowed: "0 … 2⁶⁴−1",
                meaning: "seed of every random stream",
            },
            FieldDoc {
                name: "replications",
                unit: "—",
                default: "1",
                allowed: "1 … 1,000,000",
                meaning: "independent runs; > 1 adds 95% confidence intervals",
            },
            FieldDoc {
                name: "window_s",
                unit: "s",
                default: "1",
                allowed: "> 0",
                meaning: "width of one time-series window",
            },
        ],
    },
    TableDoc {
        table: "machine",
        heading: "## `[machine]`",
        fields: &[
            FieldDoc {
                name: "cores",
                unit: "—",
                default: "1",
                allowed: "1 … 1,000,000",
                meaning: "CPU cores shared by every runnable thread of every process",
            },
            FieldDoc {
                name: "memory_mb",
                unit: "MB",
                default: "none",
                allowed: "> 0",
                meaning: "physical memory: beyond it the machine swaps; past `memory_mb + swap_mb` the OOM killer kills the largest process",
            },
            FieldDoc {
                name: "swap_mb",
                unit: "MB",
                default: "0",
                allowed: "≥ 0, needs `memory_mb`",
                meaning: "swap space",
            },
            FieldDoc {
                name: "swap_slowdown",
                unit: "×",
                default: "1",
                allowed: "≥ 1, needs `memory_mb`",
                meaning: "while swapping, each CPU-second of work takes this many seconds",
            },
            FieldDoc {
                name: "time_slice_ms",
                unit: "ms",
                default: "4",
                allowed: "0 … 1000",
                meaning: "the OS scheduler's time slice: while more threads are runnable than there are cores, each runs this long before the next waiting one gets a core (round robin); 0 = ideal processor sharing (every runnable thread at cores/n of a core). 4 ms is one scheduler tick at Linux's `CONFIG_HZ=250`, measured on the project's machines (see model.md)",
            },
        ],
    },
    TableDoc {
        table: "backend",
        heading: "## `[backend]`",
        fields: &[
            FieldDoc {
                name: "workers",
                unit: "queries",
                default: "required",
                allowed: "1 … 1,000,000",
                meaning: "queries the database runs at once (its cores and disks)",
            },
            FieldDoc {
                name: "connections",
                unit: "connections",
                default: "required",
                allowed: "1 … 1,000,000",
                meaning: "the database's `max_connections` (PostgreSQL's default is 100)",
            },
        ],
    },
    TableDoc {
        table: "load",
        heading: "## `[load]`",
        fields: &[
            FieldDoc {
                name: "arrival",
                unit: "—",
                default: "required",
                allowed: "`\"poisson\"`, `\"uniform\"`, `\"closed\"`, `\"log\"`",
                meaning: "Poisson: exponential gaps; uniform: evenly spaced at 1/rate (a constant-rate load generator); closed: a fixed population of users; log: replay an access log",
            },
            FieldDoc {
                name: "rate_rps",
                unit: "req/s",
                default: "required for open loads",
                allowed: "> 0, ≤ 1,000,000",
                meaning: "arrival rate (open loads only)",
            },
            FieldDoc {
                name: "schedule",
                unit: "—",
                default: "none",
                allowed: "array of `{ at_s, rate_rps }` in time order",
                meaning: "piecewise-constant rate changes (open loads only): `schedule = [{ at_s = 60.0, rate_rps = 200.0 }, { at_s = 90.0, rate_rps = 80.0 }]`",
            },
            FieldDoc {
                name: "users",
                unit: "—",
                default: "required for closed",
                allowed: "1 … 1,000,000",
                meaning: "clients in a closed load",
            },
            FieldDoc {
                name: "think_ms",
                unit: "ms",
                default: "required for closed",
                allowed: "distribution, mean ≥ 0",
                meaning: "a client's pause between a response and its next request; `0` is a benchmark load (`ab -c N`, `wrk -c N`, `oha -c N`: each connection sends its next request the moment the last is answered). Refused only when a cycle could take no time at all: zero think time with requests that have no `cpu_ms`, no `io_ms` and no client round trip",
            },
            FieldDoc {
                name: "timeout_s",
                unit: "s",
                default: "none",
                allowed: "> 0",
                meaning: "a client gives up after this long (the server may keep working: wasted work)",
            },
            FieldDoc {
                name: "log_file",
                unit: "—",
                default: "required for log",
                allowed: "a readable text file of at most 512 MB",
                meaning: "the access log to replay, relative to the scenario file's folder",
            },
            FieldDoc {
                name: "time_scale",
                unit: "×",
                default: "1",
                allowed: "> 0 (at most 1e6); `log` only",
                meaning: "the same traffic, this many times as fast: 2 halves every gap between logged requests (and doubles the mean rate)",
            },
            FieldDoc {
                name: "requests_per_connection",
                unit: "requests",
                default: "1",
                allowed: "1 … 1,000,000",
                meaning: "requests a client sends over one connection before closing it (HTTP/1.0 clients: 1; a browser fetching a page and its resources: several). For open loads each arrival is a new client sending this many, so the request rate is `rate_rps` × this. A closed-load user opens a new connection after this many requests (and after giving up on one)",
            },
            FieldDoc {
                name: "connection_gap_ms",
                unit: "ms",
                default: "0",
                allowed: "distribution; open loads",
                meaning: "a client's pause between a response and its next request on the same connection (a closed load's pause is `think_ms`)",
            },
            FieldDoc {
                name: "retries",
                unit: "—",
                default: "0",
                allowed: "0 … 100",
                meaning: "how many times a client sends a request again after it timed out (`timeout_s`), was refused (backlog full, server down) or failed (a server error: queue time-out, crash). Each retry is a new arrival with the same demands; after the last, the client gives up on it",
            },
            FieldDoc {
                name: "retry_backoff_ms",
                unit: "ms",
                default: "0",
                allowed: "≥ 0; needs `retries`",
                meaning: "pause before the first retry; it doubles before each further one (exponential backoff). 0 retries at once — a retry storm",
            },
            FieldDoc {
                name: "client_keeps_open",
                unit: "—",
                default: "false",
                allowed: "bool; open loads",
                meaning: "after its last request the client leaves the connection open, as browsers do, until the server closes it (keep-alive timeout)",
            },
        ],
    },
    TableDoc {
        table: "load.clients",
        heading: "## `[[load.clients]]`",
        fields: &[
            FieldDoc { name: "name", unit: "—", default: "`clients<i>`", allowed: "string", meaning: "for reports" },
            FieldDoc { name: "weight", unit: "—", default: "1", allowed: "> 0", meaning: "relative frequency" },
            FieldDoc {
                name: "bandwidth_kbps",
                unit: "kbit/s",
                default: "required",
                allowed: "> 0",
                meaning: "the link's speed, both directions",
            },
            FieldDoc { name: "rtt_ms", unit: "ms", default: "0", allowed: "≥ 0", meaning: "round-trip time" },
            FieldDoc {
                name: "header_s",
                unit: "s",
                default: "0",
                allowed: "≥ 0",
                meaning: "seconds the client takes to send its request headers, trickling them — a Slowloris attacker (a header line every few seconds). Part of the request's upload: a worker that reads requests itself is held for it; an event loop or front-end holds only the connection. See `header_timeout_s`",
            },
            FieldDoc {
                name: "reads",
                unit: "bool",
                default: "true",
                allowed: "true/false",
                meaning: "`false`: a client that keeps sending requests but never reads the responses (the slow-reader attack). All such clients' requests come pipelined over one connection. The server reads them and writes each response into that connection's buffer, which never drains: an unbounded buffer (event loop or front-end without `output_buffer_kb`) grows by the whole response every time; a bounded one (`output_buffer_kb`, or a blocking worker's `socket_buffer_kb`) fills once, the writer is then stuck (a worker thread blocks for ever; an event loop just stops producing) and the server stops reading the connection — later requests stay unread in the kernel. None of them ever completes; they count as in the server. See `models/scenarios/slow-reader-dos.toml`",
            },
        ],
    },
    TableDoc {
        table: "request",
        heading: "## `[[request]]`",
        fields: &[
            FieldDoc { name: "name", unit: "—", default: "`request<i>`", allowed: "string", meaning: "for reports" },
            FieldDoc {
                name: "weight",
                unit: "—",
                default: "1",
                allowed: "> 0",
                meaning: "relative frequency in the mix",
            },
            FieldDoc { name: "cpu_ms", unit: "ms", default: "0", allowed: "distribution", meaning: "time on a core" },
            FieldDoc {
                name: "io_ms",
                unit: "ms",
                default: "0",
                allowed: "distribution",
                meaning: "a wait that uses no CPU (database, remote call); runs **after** the CPU",
            },
            FieldDoc {
                name: "io_calls",
                unit: "calls",
                default: "1",
                allowed: "1 … 1,000,000",
                meaning: "how many blocking calls (queries, remote calls) the IO is made of: each waits `io_ms / io_calls` and is preceded by `cpu_ms / io_calls` of CPU, so under a GIL the thread takes the lock again every time a call returns (the convoy: see `model.md`, \"The GIL\"). An event loop runs the CPU before each later call as a callback, in the iteration after the call's result arrives",
            },
            FieldDoc {
                name: "request_kb",
                unit: "KB",
                default: "0",
                allowed: "≥ 0",
                meaning: "request size: uploading it takes rtt/2 + request_kb × 8 / bandwidth",
            },
            FieldDoc {
                name: "response_kb",
                unit: "KB",
                default: "0",
                allowed: "≥ 0",
                meaning: "response size: downloading it takes rtt/2 + response_kb × 8 / bandwidth",
            },
            FieldDoc {
                name: "static",
                unit: "—",
                default: "false",
                allowed: "bool",
                meaning: "a static file: a `daemon` front-end serves it itself",
            },
            FieldDoc {
                name: "crash_fraction",
                unit: "—",
                default: "0",
                allowed: "0 … 1",
                meaning: "probability that the request's CPU work crashes its whole process (a segfault in a C extension): every request in that process fails",
            },
            FieldDoc {
                name: "hang_fraction",
                unit: "—",
                default: "0",
                allowed: "0 … 1",
                meaning: "probability that the request never finishes",
            },
            FieldDoc {
                name: "hang",
                unit: "—",
                default: "`\"cpu\"`",
                allowed: "`\"cpu\"`, `\"io\"`",
                meaning: "how it hangs: an infinite loop burning its share of CPU, or a wait that never returns (holding its thread, no CPU)",
            },
            FieldDoc {
                name: "leak_kb",
                unit: "KB",
                default: "0",
                allowed: "≥ 0",
                meaning: "memory each request leaves behind in the process that served it, released only when that process exits",
            },
            FieldDoc {
                name: "memory_hog_mb",
                unit: "MB",
                default: "0",
                allowed: "≥ 0",
                meaning: "extra memory the request allocates while it runs",
            },
            FieldDoc {
                name: "url",
                unit: "—",
                default: "none",
                allowed: "a regular expression; `arrival = \"log\"` only",
                meaning: "a replayed log's requests whose path matches are this class (the first class that matches; a class without `url` takes the rest), instead of drawing classes by weight",
            },
        ],
    },
    TableDoc {
        table: "server",
        heading: "## `[[server]]`",
        fields: &[
            FieldDoc {
                name: "name",
                unit: "—",
                default: "`<architecture>-<i>`",
                allowed: "unique string",
                meaning: "for reports",
            },
            FieldDoc {
                name: "architecture",
                unit: "—",
                default: "required unless `preset`",
                allowed: "`threaded`, `event_loop`, `prefork`, `worker`, `daemon`, `cgi`",
                meaning: "see below",
            },
            FieldDoc {
                name: "preset",
                unit: "—",
                default: "none",
                allowed: "a preset name (`serversim presets`)",
                meaning: "start from a real server's defaults; any field set here overrides the preset's",
            },
            FieldDoc {
                name: "listen_backlog",
                unit: "requests",
                default: "unlimited",
                allowed: "≥ 0",
                meaning: "how many requests may wait for a worker; an arrival that finds it full is refused (`rejected`)",
            },
            FieldDoc {
                name: "gil",
                unit: "—",
                default: "false",
                allowed: "bool",
                meaning: "a per-process interpreter lock (see `model.md` for the hand-off rules)",
            },
            FieldDoc {
                name: "gil_switch_ms",
                unit: "ms",
                default: "5",
                allowed: "> 0",
                meaning: "CPython's switch interval (`sys.getswitchinterval()`)",
            },
            FieldDoc {
                name: "gil_switch_cost_ms",
                unit: "ms",
                default: "0.06",
                allowed: "0 … 1",
                meaning: "CPU a hand-off of the GIL to a waiting thread costs the thread that takes it: it was asleep and the OS must wake it and switch to it. Default measured on the project's machines with `scripts/validate/gil-switch.py` (`model.md`, \"The GIL\")",
            },
            FieldDoc {
                name: "process_mb",
                unit: "MB",
                default: "0",
                allowed: "≥ 0",
                meaning: "resident memory of one process (interpreter + imported app)",
            },
            FieldDoc {
                name: "shared_mb",
                unit: "MB",
                default: "0",
                allowed: "≥ 0",
                meaning: "pages every process of the server maps and shares (the interpreter's and libraries' code, pages inherited copy-on-write from the parent): counted once in unique memory, and in every process's RSS as `ps` shows it",
            },
            FieldDoc { name: "thread_mb", unit: "MB", default: "0", allowed: "≥ 0", meaning: "memory per thread" },
            FieldDoc {
                name: "memory_kb",
                unit: "KB",
                default: "0",
                allowed: "≥ 0",
                meaning: "memory held by each request while it is in progress",
            },
            FieldDoc {
                name: "respawn_ms",
                unit: "ms",
                default: "0",
                allowed: "≥ 0",
                meaning: "time from a crash until the process runs again",
            },
            FieldDoc {
                name: "queue_timeout_s",
                unit: "s",
                default: "none",
                allowed: "> 0",
                meaning: "a request that waited longer than this for a worker is dropped (failed) when a worker would take it (mod_wsgi's queue-timeout)",
            },
            FieldDoc {
                name: "queue_discipline",
                unit: "—",
                default: "`\"fifo\"`",
                allowed: "`\"fifo\"`, `\"lifo\"` (not for `event_loop`)",
                meaning: "which waiting request a free worker takes: the oldest, or the newest",
            },
            FieldDoc {
                name: "accept",
                unit: "—",
                default: "`\"shared\"`",
                allowed: "`\"shared\"`, `\"most-recent\"`, `\"random\"`, `\"round-robin\"` (`prefork`, `worker`, `daemon`; a dynamic pool allows only the first two)",
                meaning: "how a connection reaches a worker: one shared queue that a free worker pulls from, the one idle longest first (`\"shared\"`: accept mutex, blocking `accept()`) or the process that went back to waiting last first (`\"most-recent\"`: `epoll_wait`'s wake-up order); or a queue per process, each connection to a random process busy or not (`\"random\"`: `SO_REUSEPORT`, gunicorn gthread) or to each process in turn (`\"round-robin\"`). With a queue per process `listen_backlog` limits each process's queue. See model.md, \"Who accepts the next connection\"",
            },
            FieldDoc {
                name: "socket_buffer_kb",
                unit: "KB",
                default: "0",
                allowed: "≥ 0",
                meaning: "kernel send buffer per connection: a blocking worker is free once the rest of the response fits in it",
            },
            FieldDoc {
                name: "output_buffer_kb",
                unit: "KB, or `\"unbounded\"`",
                default: "`\"unbounded\"`",
                allowed: "> 0, or `\"unbounded\"`",
                meaning: "event loops and the daemon's front-end only: the write buffer of one client connection. Unbounded (Twisted's transports): the whole response is buffered and counted in the process's memory while the client downloads it, however slow. Bounded: the buffer holds at most this much and the rest is produced as the client drains it (backpressure). For an event loop that only caps memory; in a daemon front-end the daemon thread stays on the request, writing the part that does not fit at the client's pace — the price of small proxy buffers — while the front-end's buffer for that connection is full (counted in its memory until the client has drained it). See `reads` for the client that never drains it",
            },
            FieldDoc {
                name: "db_pool",
                unit: "connections",
                default: "one per query in progress, kept",
                allowed: "1 … 1,000,000; needs `[backend]`",
                meaning: "connections each process keeps to the `[backend]` database (SQLAlchemy `pool_size`, an adbapi `ConnectionPool`'s max): a query waits for one when all are in use. Unset: a process opens a connection whenever all of its are busy, and keeps it (Django's persistent connection per thread)",
            },
            FieldDoc {
                name: "request_timeout_s",
                unit: "s",
                default: "none",
                allowed: "> 0",
                meaning: "watchdog: a worker busy with one request longer than this is killed together with its process (mod_wsgi request-timeout, gunicorn timeout); the process respawns after `respawn_ms`",
            },
            FieldDoc {
                name: "max_requests",
                unit: "requests",
                default: "none",
                allowed: "1 … 1,000,000; pools only (threaded, prefork, worker, daemon)",
                meaning: "recycle a process after it has served this many (MaxRequestsPerChild): it finishes its requests, exits (releasing leaked memory) and starts again",
            },
            FieldDoc {
                name: "start_processes",
                unit: "processes",
                default: "all `processes`",
                allowed: "≥ 1 (above `processes` it is capped there, as Apache caps StartServers); prefork and worker only",
                meaning: "a dynamic pool (Apache's StartServers): processes running at the start; `processes` becomes the most the pool grows to (MaxClients / ThreadsPerChild). Setting any of these three fields makes the pool dynamic; unset ones take Apache 2.2's defaults (prefork 5, 5, 10; worker 3, 75, 250). The Apache presets are dynamic; to keep every process running from the start set `start_processes = processes` and `max_spare_workers` ≥ `processes` × threads",
            },
            FieldDoc {
                name: "min_spare_workers",
                unit: "idle workers",
                default: "see `start_processes`",
                allowed: "0 … 1,000,000",
                meaning: "MinSpareServers (prefork) / MinSpareThreads (worker): once a second the parent counts idle workers; fewer than this → it forks processes: 1, then 2, 4, … up to 32 a second while the shortage lasts (Apache's MAX_SPAWN_RATE), each costing `spawn_ms` (+ `import_ms` unless `preload`) of CPU before it serves",
            },
            FieldDoc {
                name: "max_spare_workers",
                unit: "idle workers",
                default: "see `start_processes`",
                allowed: "> `min_spare_workers`, ≤ 1,000,000",
                meaning: "MaxSpareServers / MaxSpareThreads: more idle workers than this → the parent stops one idle process a second. For the worker architecture it is raised to at least `min_spare_workers` + `threads`, as Apache does",
            },
            FieldDoc {
                name: "spawn_ms",
                unit: "ms",
                default: "0",
                allowed: "≥ 0",
                meaning: "CPU a recycled process spends starting again (the fork and start-up); `import_ms` is added unless `preload`",
            },
            FieldDoc {
                name: "app_mb",
                unit: "MB",
                default: "0",
                allowed: "≥ 0; threaded, prefork, worker, daemon",
                meaning: "memory of the imported application: in every process, or counted once with `preload`",
            },
            FieldDoc {
                name: "import_ms",
                unit: "ms",
                default: "0",
                allowed: "≥ 0; threaded, prefork, worker, daemon",
                meaning: "CPU a new process spends importing the application (after a crash, and on top of `spawn_ms` when recycled); none with `preload`",
            },
            FieldDoc {
                name: "preload",
                unit: "—",
                default: "false",
                allowed: "bool; prefork, worker, daemon",
                meaning: "the application is imported before forking (gunicorn `--preload`; not mod_python or mod_wsgi, which import the application in each process): `app_mb` shared, no import in new processes",
            },
            FieldDoc {
                name: "header_timeout_s",
                unit: "s",
                default: "none (wait as long as the client sends)",
                allowed: "> 0",
                meaning: "the server drops a connection whose request headers have not all arrived this long after it was accepted (Apache mod_reqtimeout `RequestReadTimeout header=`, nginx `client_header_timeout`): the request fails, and a worker reading it is free again",
            },
            FieldDoc {
                name: "keepalive_timeout_s",
                unit: "s",
                default: "none (keep-alive off)",
                allowed: "> 0",
                meaning: "HTTP keep-alive (Apache `KeepAliveTimeout`): how long an idle connection stays open waiting for the client's next request. In threaded, prefork and worker servers the worker that served it waits on it; in event loops and front-ends it holds only memory (see `model.md`, \"Connections and keep-alive\")",
            },
            FieldDoc {
                name: "keepalive_requests",
                unit: "requests",
                default: "unlimited",
                allowed: "1 … 1,000,000; needs `keepalive_timeout_s`",
                meaning: "most requests over one connection before the server closes it (Apache `MaxKeepAliveRequests`)",
            },
            FieldDoc {
                name: "keepalive_kb",
                unit: "KB",
                default: "0",
                allowed: "≥ 0; needs `keepalive_timeout_s`",
                meaning: "memory of one idle keep-alive connection",
            },
        ],
    },
    TableDoc {
        table: "claim",
        heading: "## `[[claim]]`",
        fields: &[
            FieldDoc {
                name: "says",
                unit: "—",
                default: "required",
                allowed: "string",
                meaning: "the claim in words, with its derivation",
            },
            FieldDoc {
                name: "check",
                unit: "—",
                default: "required",
                allowed: "string",
                meaning: "a comparison of expressions over the metrics of `serversim run --json` (`server.field.field`, a server's name quoted when it is not one word), numbers, `+ - * /`, `min`, `max`, `abs`, `sqrt`, `erlang_c(c, a)`; compared with `< <= > >= ==` or `~ … within 5%` / `within 2`; joined with `and`",
            },
        ],
    },
];

/// What the reference allows for the field at `keys`, a scenario file's keys with indices
/// dropped (`["load", "clients", "weight"]`); for `[[server]]` the architectures' own fields
/// too. The validator quotes this text in every range message, so message and reference agree.
pub fn allowed_at(keys: &[&str]) -> Option<&'static str> {
    let (name, table_keys) = keys.split_last()?;
    let at = table_keys.join(".");
    if let Some(f) = table(&at).and_then(|t| t.fields.iter().find(|f| f.name == *name)) {
        return Some(f.allowed);
    }
    (at == "server").then(|| REGISTRY.iter().flat_map(|a| a.fields).find(|f| f.name == *name).map(|f| f.allowed))?
}

/// The fields of `table` (its TOML path), if it is one.
pub fn table(table: &str) -> Option<&'static TableDoc> {
    TABLES.iter().find(|t| t.table == table)
}

/// `fields` as the reference's Markdown table.
pub fn markdown(fields: &[FieldDoc]) -> String {
    let mut out = String::from("| field | unit | default | allowed | meaning |\n|---|---|---|---|---|\n");
    for f in fields {
        out.push_str(&format!("| `{}` | {} | {} | {} | {} |\n", f.name, f.unit, f.default, f.allowed, f.meaning));
    }
    out
}

/// Every architecture's own fields as the reference's Markdown table (one row per field, the
/// architecture named on its first).
pub fn own_fields_markdown() -> String {
    let mut out = String::from("| architecture | field | default | allowed | meaning |\n|---|---|---|---|---|\n");
    for a in &REGISTRY {
        for (i, f) in a.fields.iter().enumerate() {
            let arch = if i == 0 { format!(" `{}` ", a.id) } else { " ".to_string() };
            let default = f.default.unwrap_or("required");
            out.push_str(&format!("|{arch}| `{}` | {default} | {} | {} |\n", f.name, f.allowed, f.meaning));
        }
    }
    out
}
