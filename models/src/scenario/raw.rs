//! The scenario file as written (serde types, every field optional so presets can be merged),
//! before validation turns it into `config` types. Serde stays at this boundary.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Declares one table of a scenario file once: the serde struct the parser reads and its
/// entry in the field reference (`TABLE`: each documented field's name, unit, default, allowed
/// values and meaning, in the reference's order), which `fields::TABLES` lists, the validator
/// quotes and `docs/scenario-format.md` shows. Fields after `and` are read here but documented
/// elsewhere (sub-tables; an architecture's own fields, in its `FIELDS`). With `overlay` the
/// struct also gets `overlay` (fill unset fields from a preset) and `specific_fields_set` (which
/// fields after `and` are set), so neither keeps its own list.
macro_rules! raw_table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident in ($table:literal, $heading:literal) overlay {
            $(
                $(#[$fmeta:meta])*
                $field:ident $(as $rename:literal)? : $ty:ty = {
                    unit: $unit:expr,
                    default: $default:expr,
                    allowed: $allowed:expr,
                    meaning: $meaning:expr $(,)?
                }
            ),* $(,)?
        } and {
            $( $(#[$ometa:meta])* $other:ident : $oty:ty ),* $(,)?
        }
    ) => {
        raw_table! {
            $(#[$meta])*
            pub struct $name in ($table, $heading) {
                $(
                    $(#[$fmeta])*
                    $field $(as $rename)? : $ty = {
                        unit: $unit, default: $default, allowed: $allowed, meaning: $meaning
                    }
                ),*
            } and {
                $( $(#[$ometa])* $other : $oty ),*
            }
        }

        impl $name {
            /// Fill every field this one leaves unset from `base` (a preset).
            pub fn overlay(&mut self, base: &$name) {
                $( if self.$field.is_none() { self.$field = base.$field.clone(); } )*
                $( if self.$other.is_none() { self.$other = base.$other.clone(); } )*
            }

            /// The fields after `and` (an architecture's own) that are set, by their names.
            pub fn specific_fields_set(&self) -> Vec<&'static str> {
                let mut set = Vec::new();
                $( if self.$other.is_some() { set.push(stringify!($other)); } )*
                set
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident in ($table:literal, $heading:literal) {
            $(
                $(#[$fmeta:meta])*
                $field:ident $(as $rename:literal)? : $ty:ty = {
                    unit: $unit:expr,
                    default: $default:expr,
                    allowed: $allowed:expr,
                    meaning: $meaning:expr $(,)?
                }
            ),* $(,)?
        } and {
            $( $(#[$ometa:meta])* $other:ident : $oty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* $(#[serde(rename = $rename)])? pub $field: $ty, )*
            $( $(#[$ometa])* pub $other: $oty, )*
        }

        impl $name {
            /// This table's documented fields, in the reference's order.
            pub const TABLE: super::fields::TableDoc = super::fields::TableDoc {
                table: $table,
                heading: $heading,
                fields: &[$(
                    super::fields::FieldDoc {
                        name: raw_table!(@name $field $(, $rename)?),
                        unit: $unit,
                        default: $default,
                        allowed: $allowed,
                        meaning: $meaning,
                    },
                )*],
            };
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident, $rename:literal) => { $rename };
}

raw_table! {
    /// The whole file.
    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawScenario in ("", "## Top level") {
        name: Option<String> = {
            unit: "—",
            default: "\"unnamed scenario\"",
            allowed: "string",
            meaning: "title in reports",
        },
    } and {
        run: Option<RawRun>,
        machine: Option<RawMachine>,
        load: Option<RawLoad>,
        request: Option<Vec<RawRequest>>,
        server: Option<Vec<RawServer>>,
        backend: Option<RawBackend>,
        claim: Option<Vec<RawClaim>>,
    }
}

raw_table! {
    /// One `[[claim]]`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RawClaim in ("claim", "## `[[claim]]`") {
        says: String = {
            unit: "—",
            default: "required",
            allowed: "string",
            meaning: "the claim in words, with its derivation",
        },
        check: String = {
            unit: "—",
            default: "required",
            allowed: "string",
            meaning: "a comparison of expressions over the metrics of `serversim run --json` (`server.field.field`, a server's name quoted when it is not one word), numbers, `+ - * /`, `min`, `max`, `abs`, `sqrt`, `erlang_c(c, a)`; compared with `< <= > >= ==` or `~ … within 5%` / `within 2`; joined with `and`",
        },
    } and {
    }
}

raw_table! {
    /// `[backend]`
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RawBackend in ("backend", "## `[backend]`") {
        workers: Option<u32> = {
            unit: "queries",
            default: "required",
            allowed: "1 … 1,000,000",
            meaning: "queries the database runs at once (its cores and disks)",
        },
        connections: Option<u32> = {
            unit: "connections",
            default: "required",
            allowed: "1 … 1,000,000",
            meaning: "the database's `max_connections` (PostgreSQL's default is 100)",
        },
    } and {
    }
}

raw_table! {
    /// `[run]`
    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawRun in ("run", "## `[run]`") {
        duration_s: Option<f64> = {
            unit: "s",
            default: "300",
            allowed: "> 0",
            meaning: "simulated seconds of arrivals counted after warm-up",
        },
        warmup_s: Option<f64> = {
            unit: "s",
            default: "min(30, duration_s/10)",
            allowed: "≥ 0 and < `duration_s`",
            meaning: "simulated seconds at the start excluded from statistics",
        },
        seed: Option<u64> = {
            unit: "—",
            default: "1",
            allowed: "0 … 2⁶⁴−1",
            meaning: "seed of every random stream",
        },
        replications: Option<u32> = {
            unit: "—",
            default: "1",
            allowed: "1 … 1,000,000",
            meaning: "independent runs; > 1 adds 95% confidence intervals",
        },
        window_s: Option<f64> = {
            unit: "s",
            default: "1",
            allowed: "> 0",
            meaning: "width of one time-series window",
        },
    } and {
    }
}

raw_table! {
    /// `[machine]`
    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawMachine in ("machine", "## `[machine]`") {
        cores: Option<u32> = {
            unit: "—",
            default: "1",
            allowed: "1 … 1,000,000",
            meaning: "CPU cores shared by every runnable thread of every process",
        },
        memory_mb: Option<f64> = {
            unit: "MB",
            default: "none",
            allowed: "> 0",
            meaning: "physical memory: beyond it the machine swaps; past `memory_mb + swap_mb` the OOM killer kills the largest process",
        },
        swap_mb: Option<f64> = {
            unit: "MB",
            default: "0",
            allowed: "≥ 0, needs `memory_mb`",
            meaning: "swap space",
        },
        swap_slowdown: Option<f64> = {
            unit: "×",
            default: "1",
            allowed: "≥ 1, needs `memory_mb`",
            meaning: "while swapping, each CPU-second of work takes this many seconds",
        },
        time_slice_ms: Option<f64> = {
            unit: "ms",
            default: "4",
            allowed: "0 … 1000",
            meaning: "the OS scheduler's time slice: while more threads are runnable than there are cores, each runs this long before the next waiting one gets a core (round robin); 0 = ideal processor sharing (every runnable thread at cores/n of a core). 4 ms is one scheduler tick at Linux's `CONFIG_HZ=250`, measured on the project's machines (see model.md)",
        },
    } and {
    }
}

raw_table! {
    /// `[load]`
    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawLoad in ("load", "## `[load]`") {
        arrival: Option<String> = {
            unit: "—",
            default: "required",
            allowed: "`\"poisson\"`, `\"uniform\"`, `\"closed\"`, `\"log\"`",
            meaning: "Poisson: exponential gaps; uniform: evenly spaced at 1/rate (a constant-rate load generator); closed: a fixed population of users; log: replay an access log",
        },
        rate_rps: Option<f64> = {
            unit: "req/s",
            default: "required for open loads",
            allowed: "> 0, ≤ 1,000,000",
            meaning: "arrival rate (open loads only)",
        },
        schedule: Option<Vec<RawStep>> = {
            unit: "—",
            default: "none",
            allowed: "array of `{ at_s, rate_rps }` in time order",
            meaning: "piecewise-constant rate changes (open loads only): `schedule = [{ at_s = 60.0, rate_rps = 200.0 }, { at_s = 90.0, rate_rps = 80.0 }]`",
        },
        users: Option<u32> = {
            unit: "—",
            default: "required for closed",
            allowed: "1 … 1,000,000",
            meaning: "clients in a closed load",
        },
        think_ms: Option<RawDist> = {
            unit: "ms",
            default: "required for closed",
            allowed: "distribution, mean ≥ 0",
            meaning: "a client's pause between a response and its next request; `0` is a benchmark load (`ab -c N`, `wrk -c N`, `oha -c N`: each connection sends its next request the moment the last is answered). Refused only when a cycle could take no time at all: zero think time with requests that have no `cpu_ms`, no `io_ms` and no client round trip",
        },
        timeout_s: Option<f64> = {
            unit: "s",
            default: "none",
            allowed: "> 0",
            meaning: "a client gives up after this long (the server may keep working: wasted work)",
        },
        log_file: Option<String> = {
            unit: "—",
            default: "required for log",
            allowed: "a readable text file of at most 512 MB",
            meaning: "the access log to replay, relative to the scenario file's folder",
        },
        time_scale: Option<f64> = {
            unit: "×",
            default: "1",
            allowed: "> 0 (at most 1e6); `log` only",
            meaning: "the same traffic, this many times as fast: 2 halves every gap between logged requests (and doubles the mean rate)",
        },
        log_time: Option<String> = {
            unit: "—",
            default: "none",
            allowed: "`\"%D\"` (µs), `\"%{ms}T\"` (ms), `\"%T\"` (s), `\"$request_time\"` (s); `log` only, with `log_demand`",
            meaning: "each line of the log ends in the server's response time, written by this directive (Apache's `%D`, `%{ms}T` or `%T`, nginx's `$request_time`, appended after the status and size or the Combined format's quoted fields); a line without it is skipped and counted",
        },
        log_demand: Option<String> = {
            unit: "—",
            default: "none",
            allowed: "`\"io\"`, `\"cpu\"`; with `log_time`",
            meaning: "each request class's `io_ms` (or `cpu_ms`) becomes the empirical distribution of the response times logged for its requests (by `url` pattern; without patterns, of every line); a class then leaves that field out. The logged time is what the server measured: its service time plus any wait inside it, so a quiet period of the log gives the demand best",
        },
        requests_per_connection: Option<u32> = {
            unit: "requests",
            default: "1",
            allowed: "1 … 1,000,000",
            meaning: "requests a client sends over one connection before closing it (HTTP/1.0 clients: 1; a browser fetching a page and its resources: several). For open loads each arrival is a new client sending this many, so the request rate is `rate_rps` × this. A closed-load user opens a new connection after this many requests (and after giving up on one)",
        },
        connection_gap_ms: Option<RawDist> = {
            unit: "ms",
            default: "0",
            allowed: "distribution; open loads",
            meaning: "a client's pause between a response and its next request on the same connection (a closed load's pause is `think_ms`)",
        },
        retries: Option<u32> = {
            unit: "—",
            default: "0",
            allowed: "0 … 100",
            meaning: "how many times a client sends a request again after it timed out (`timeout_s`), was refused (backlog full, server down) or failed (a server error: queue time-out, crash). Each retry is a new arrival with the same demands; after the last, the client gives up on it",
        },
        retry_backoff_ms: Option<f64> = {
            unit: "ms",
            default: "0",
            allowed: "≥ 0; needs `retries`",
            meaning: "pause before the first retry; it doubles before each further one (exponential backoff). 0 retries at once — a retry storm",
        },
        client_keeps_open: Option<bool> = {
            unit: "—",
            default: "false",
            allowed: "bool; open loads",
            meaning: "after its last request the client leaves the connection open, as browsers do, until the server closes it (keep-alive timeout)",
        },
    } and {
        clients: Option<Vec<RawClient>>,
    }
}

raw_table! {
    /// One `[[load.clients]]` link.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RawClient in ("load.clients", "## `[[load.clients]]`") {
        name: Option<String> = {
            unit: "—",
            default: "`clients<i>`",
            allowed: "string",
            meaning: "for reports",
        },
        weight: Option<f64> = {
            unit: "—",
            default: "1",
            allowed: "> 0",
            meaning: "relative frequency",
        },
        bandwidth_kbps: f64 = {
            unit: "kbit/s",
            default: "required",
            allowed: "> 0",
            meaning: "the link's speed, both directions",
        },
        rtt_ms: Option<f64> = {
            unit: "ms",
            default: "0",
            allowed: "≥ 0",
            meaning: "round-trip time",
        },
        header_s: Option<f64> = {
            unit: "s",
            default: "0",
            allowed: "≥ 0",
            meaning: "seconds the client takes to send its request headers, trickling them — a Slowloris attacker (a header line every few seconds). Part of the request's upload: a worker that reads requests itself is held for it; an event loop or front-end holds only the connection. See `header_timeout_s`",
        },
        reads: Option<bool> = {
            unit: "bool",
            default: "true",
            allowed: "true/false",
            meaning: "`false`: a client that keeps sending requests but never reads the responses (the slow-reader attack). All such clients' requests come pipelined over one connection. The server reads them and writes each response into that connection's buffer, which never drains: an unbounded buffer (event loop or front-end without `output_buffer_kb`) grows by the whole response every time; a bounded one (`output_buffer_kb`, or a blocking worker's `socket_buffer_kb`) fills once, the writer is then stuck (a worker thread blocks for ever; an event loop just stops producing) and the server stops reading the connection — later requests stay unread in the kernel. None of them ever completes; they count as in the server. See `models/scenarios/slow-reader-dos.toml`",
        },
    } and {
    }
}

/// One `[[load.schedule]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at_s: f64,
    pub rate_rps: f64,
}

raw_table! {
    /// One `[[request]]` class.
    #[derive(Debug, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawRequest in ("request", "## `[[request]]`") {
        name: Option<String> = {
            unit: "—",
            default: "`request<i>`",
            allowed: "string",
            meaning: "for reports",
        },
        weight: Option<f64> = {
            unit: "—",
            default: "1",
            allowed: "> 0",
            meaning: "relative frequency in the mix",
        },
        cpu_ms: Option<RawDist> = {
            unit: "ms",
            default: "0",
            allowed: "distribution",
            meaning: "time on a core",
        },
        io_ms: Option<RawDist> = {
            unit: "ms",
            default: "0",
            allowed: "distribution",
            meaning: "a wait that uses no CPU (database, remote call); runs **after** the CPU",
        },
        io_calls: Option<u32> = {
            unit: "calls",
            default: "1",
            allowed: "1 … 1,000,000",
            meaning: "how many blocking calls (queries, remote calls) the IO is made of: each waits `io_ms / io_calls` and is preceded by `cpu_ms / io_calls` of CPU, so under a GIL the thread takes the lock again every time a call returns (the convoy: see `model.md`, \"The GIL\"). An event loop runs the CPU before each later call as a callback, in the iteration after the call's result arrives",
        },
        request_kb: Option<f64> = {
            unit: "KB",
            default: "0",
            allowed: "≥ 0",
            meaning: "request size: uploading it takes rtt/2 + request_kb × 8 / bandwidth",
        },
        response_kb: Option<f64> = {
            unit: "KB",
            default: "0",
            allowed: "≥ 0",
            meaning: "response size: downloading it takes rtt/2 + response_kb × 8 / bandwidth",
        },
        is_static as "static": Option<bool> = {
            unit: "—",
            default: "false",
            allowed: "bool",
            meaning: "a static file: a `daemon` front-end serves it itself",
        },
        crash_fraction: Option<f64> = {
            unit: "—",
            default: "0",
            allowed: "0 … 1",
            meaning: "probability that the request's CPU work crashes its whole process (a segfault in a C extension): every request in that process fails",
        },
        hang_fraction: Option<f64> = {
            unit: "—",
            default: "0",
            allowed: "0 … 1",
            meaning: "probability that the request never finishes",
        },
        hang: Option<String> = {
            unit: "—",
            default: "`\"cpu\"`",
            allowed: "`\"cpu\"`, `\"io\"`",
            meaning: "how it hangs: an infinite loop burning its share of CPU, or a wait that never returns (holding its thread, no CPU)",
        },
        leak_kb: Option<f64> = {
            unit: "KB",
            default: "0",
            allowed: "≥ 0",
            meaning: "memory each request leaves behind in the process that served it, released only when that process exits",
        },
        memory_hog_mb: Option<f64> = {
            unit: "MB",
            default: "0",
            allowed: "≥ 0",
            meaning: "extra memory the request allocates while it runs",
        },
        url: Option<String> = {
            unit: "—",
            default: "none",
            allowed: "a regular expression; `arrival = \"log\"` only",
            meaning: "a replayed log's requests whose path matches are this class (the first class that matches; a class without `url` takes the rest), instead of drawing classes by weight",
        },
    } and {
    }
}

raw_table! {
    /// One `[[server]]` (or a preset's `[server]`).
    #[derive(Debug, Deserialize, Default, Clone)]
    #[serde(deny_unknown_fields)]
    pub struct RawServer in ("server", "## `[[server]]`") overlay {
        name: Option<String> = {
            unit: "—",
            default: "`<architecture>-<i>`",
            allowed: "unique string",
            meaning: "for reports",
        },
        architecture: Option<String> = {
            unit: "—",
            default: "required unless `preset`",
            allowed: "`threaded`, `event_loop`, `prefork`, `worker`, `daemon`, `cgi`",
            meaning: "see below",
        },
        preset: Option<String> = {
            unit: "—",
            default: "none",
            allowed: "a preset name (`serversim presets`)",
            meaning: "start from a real server's defaults; any field set here overrides the preset's",
        },
        listen_backlog: Option<u32> = {
            unit: "requests",
            default: "unlimited",
            allowed: "≥ 0",
            meaning: "how many requests may wait for a worker; an arrival that finds it full is refused (`rejected`)",
        },
        gil: Option<bool> = {
            unit: "—",
            default: "false",
            allowed: "bool",
            meaning: "a per-process interpreter lock (see `model.md` for the hand-off rules)",
        },
        gil_switch_ms: Option<f64> = {
            unit: "ms",
            default: "5",
            allowed: "> 0",
            meaning: "CPython's switch interval (`sys.getswitchinterval()`)",
        },
        gil_switch_cost_ms: Option<f64> = {
            unit: "ms",
            default: "0.06",
            allowed: "0 … 1",
            meaning: "CPU a hand-off of the GIL to a waiting thread costs the thread that takes it: it was asleep and the OS must wake it and switch to it. Default measured on the project's machines with `scripts/validate/gil-switch.py` (`model.md`, \"The GIL\")",
        },
        process_mb: Option<f64> = {
            unit: "MB",
            default: "0",
            allowed: "≥ 0",
            meaning: "resident memory of one process (interpreter + imported app)",
        },
        shared_mb: Option<f64> = {
            unit: "MB",
            default: "0",
            allowed: "≥ 0",
            meaning: "pages every process of the server maps and shares (the interpreter's and libraries' code, pages inherited copy-on-write from the parent): counted once in unique memory, and in every process's RSS as `ps` shows it",
        },
        thread_mb: Option<f64> = {
            unit: "MB",
            default: "0",
            allowed: "≥ 0",
            meaning: "memory per thread",
        },
        memory_kb: Option<f64> = {
            unit: "KB",
            default: "0",
            allowed: "≥ 0",
            meaning: "memory held by each request while it is in progress",
        },
        respawn_ms: Option<f64> = {
            unit: "ms",
            default: "0",
            allowed: "≥ 0",
            meaning: "time from a crash until the process runs again",
        },
        queue_timeout_s: Option<f64> = {
            unit: "s",
            default: "none",
            allowed: "> 0",
            meaning: "a request that waited longer than this for a worker is dropped (failed) when a worker would take it (mod_wsgi's queue-timeout)",
        },
        queue_discipline: Option<String> = {
            unit: "—",
            default: "`\"fifo\"`",
            allowed: "`\"fifo\"`, `\"lifo\"` (not for `event_loop`)",
            meaning: "which waiting request a free worker takes: the oldest, or the newest",
        },
        accept: Option<String> = {
            unit: "—",
            default: "`\"shared\"`",
            allowed: "`\"shared\"`, `\"most-recent\"`, `\"random\"`, `\"round-robin\"` (`prefork`, `worker`, `daemon`; a dynamic pool allows only the first two)",
            meaning: "how a connection reaches a worker: one shared queue that a free worker pulls from, the one idle longest first (`\"shared\"`: accept mutex, blocking `accept()`) or the process that went back to waiting last first (`\"most-recent\"`: `epoll_wait`'s wake-up order); or a queue per process, each connection to a random process busy or not (`\"random\"`: `SO_REUSEPORT`, gunicorn gthread) or to each process in turn (`\"round-robin\"`). With a queue per process `listen_backlog` limits each process's queue. See model.md, \"Who accepts the next connection\"",
        },
        socket_buffer_kb: Option<f64> = {
            unit: "KB",
            default: "0",
            allowed: "≥ 0",
            meaning: "kernel send buffer per connection: a blocking worker is free once the rest of the response fits in it",
        },
        /// A size in KB or the word "unbounded".
        output_buffer_kb: Option<toml::Value> = {
            unit: "KB, or `\"unbounded\"`",
            default: "`\"unbounded\"`",
            allowed: "> 0, or `\"unbounded\"`",
            meaning: "event loops and the daemon's front-end only: the write buffer of one client connection. Unbounded (Twisted's transports): the whole response is buffered and counted in the process's memory while the client downloads it, however slow. Bounded: the buffer holds at most this much and the rest is produced as the client drains it (backpressure). For an event loop that only caps memory; in a daemon front-end the daemon thread stays on the request, writing the part that does not fit at the client's pace — the price of small proxy buffers — while the front-end's buffer for that connection is full (counted in its memory until the client has drained it). See `reads` for the client that never drains it",
        },
        db_pool: Option<u32> = {
            unit: "connections",
            default: "one per query in progress, kept",
            allowed: "1 … 1,000,000; needs `[backend]`",
            meaning: "connections each process keeps to the `[backend]` database (SQLAlchemy `pool_size`, an adbapi `ConnectionPool`'s max): a query waits for one when all are in use. Unset: a process opens a connection whenever all of its are busy, and keeps it (Django's persistent connection per thread)",
        },
        request_timeout_s: Option<f64> = {
            unit: "s",
            default: "none",
            allowed: "> 0",
            meaning: "watchdog: a worker busy with one request longer than this is killed together with its process (mod_wsgi request-timeout, gunicorn timeout); the process respawns after `respawn_ms`",
        },
        max_requests: Option<u32> = {
            unit: "requests",
            default: "none",
            allowed: "1 … 1,000,000; pools only (threaded, prefork, worker, daemon)",
            meaning: "recycle a process after it has served this many (MaxRequestsPerChild): it finishes its requests, exits (releasing leaked memory) and starts again",
        },
        start_processes: Option<u32> = {
            unit: "processes",
            default: "all `processes`",
            allowed: "≥ 1 (above `processes` it is capped there, as Apache caps StartServers); prefork and worker only",
            meaning: "a dynamic pool (Apache's StartServers): processes running at the start; `processes` becomes the most the pool grows to (MaxClients / ThreadsPerChild). Setting any of these three fields makes the pool dynamic; unset ones take Apache 2.2's defaults (prefork 5, 5, 10; worker 3, 75, 250). The Apache presets are dynamic; to keep every process running from the start set `start_processes = processes` and `max_spare_workers` ≥ `processes` × threads",
        },
        min_spare_workers: Option<u32> = {
            unit: "idle workers",
            default: "see `start_processes`",
            allowed: "0 … 1,000,000",
            meaning: "MinSpareServers (prefork) / MinSpareThreads (worker): once a second the parent counts idle workers; fewer than this → it forks processes: 1, then 2, 4, … up to 32 a second while the shortage lasts (Apache's MAX_SPAWN_RATE), each costing `spawn_ms` (+ `import_ms` unless `preload`) of CPU before it serves",
        },
        max_spare_workers: Option<u32> = {
            unit: "idle workers",
            default: "see `start_processes`",
            allowed: "> `min_spare_workers`, ≤ 1,000,000",
            meaning: "MaxSpareServers / MaxSpareThreads: more idle workers than this → the parent stops one idle process a second. For the worker architecture it is raised to at least `min_spare_workers` + `threads`, as Apache does",
        },
        spawn_ms: Option<f64> = {
            unit: "ms",
            default: "0",
            allowed: "≥ 0",
            meaning: "CPU a recycled process spends starting again (the fork and start-up); `import_ms` is added unless `preload`",
        },
        app_mb: Option<f64> = {
            unit: "MB",
            default: "0",
            allowed: "≥ 0; threaded, prefork, worker, daemon",
            meaning: "memory of the imported application: in every process, or counted once with `preload`",
        },
        import_ms: Option<f64> = {
            unit: "ms",
            default: "0",
            allowed: "≥ 0; threaded, prefork, worker, daemon",
            meaning: "CPU a new process spends importing the application (after a crash, and on top of `spawn_ms` when recycled); none with `preload`",
        },
        preload: Option<bool> = {
            unit: "—",
            default: "false",
            allowed: "bool; prefork, worker, daemon",
            meaning: "the application is imported before forking (gunicorn `--preload`; not mod_python or mod_wsgi, which import the application in each process): `app_mb` shared, no import in new processes",
        },
        header_timeout_s: Option<f64> = {
            unit: "s",
            default: "none (wait as long as the client sends)",
            allowed: "> 0",
            meaning: "the server drops a connection whose request headers have not all arrived this long after it was accepted (Apache mod_reqtimeout `RequestReadTimeout header=`, nginx `client_header_timeout`): the request fails, and a worker reading it is free again",
        },
        keepalive_timeout_s: Option<f64> = {
            unit: "s",
            default: "none (keep-alive off)",
            allowed: "> 0",
            meaning: "HTTP keep-alive (Apache `KeepAliveTimeout`): how long an idle connection stays open waiting for the client's next request. In threaded, prefork and worker servers the worker that served it waits on it; in event loops and front-ends it holds only memory (see `model.md`, \"Connections and keep-alive\")",
        },
        keepalive_requests: Option<u32> = {
            unit: "requests",
            default: "unlimited",
            allowed: "1 … 1,000,000; needs `keepalive_timeout_s`",
            meaning: "most requests over one connection before the server closes it (Apache `MaxKeepAliveRequests`)",
        },
        keepalive_kb: Option<f64> = {
            unit: "KB",
            default: "0",
            allowed: "≥ 0; needs `keepalive_timeout_s`",
            meaning: "memory of one idle keep-alive connection",
        },
    } and {
        threads: Option<u32>,
        processes: Option<u32>,
        blocking_io: Option<bool>,
        offload_threads: Option<u32>,
        daemons: Option<u32>,
        frontend_processes: Option<u32>,
        frontend_mb: Option<f64>,
        max_processes: Option<u32>,
        startup_ms: Option<f64>,
    }
}

impl RawServer {
    /// The value of the pool-size field named `field` (an architecture's `SizeField::field`).
    pub fn size(&self, field: &str) -> Option<u32> {
        match field {
            "processes" => self.processes,
            "daemons" => self.daemons,
            "max_processes" => self.max_processes,
            "threads" => self.threads,
            _ => None,
        }
    }
}

/// A preset file: a description and a `[server]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPreset {
    pub description: String,
    pub server: RawServer,
}

/// A distribution as written: a bare number (a constant) or a table with `dist = "…"`.
#[derive(Debug, Clone)]
pub enum RawDist {
    /// A constant.
    Number(f64),
    /// A named distribution.
    Table(DistTable),
}

/// The named distributions and their parameters (in the field's unit).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DistTable {
    Const { value: f64 },
    Exp { mean: f64 },
    Uniform { min: f64, max: f64 },
    Lognormal { mean: f64, cv: f64 },
    Erlang { mean: f64, k: u32 },
    Pareto { mean: f64, alpha: f64 },
    Empirical { values: Vec<f64> },
}

impl<'de> Deserialize<'de> for RawDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDist;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a number (a constant) or a table such as { dist = \"exp\", mean = 5.0 } \
                     (dist is one of const, exp, uniform, lognormal, erlang, pareto, empirical)",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDist, E> {
                Ok(RawDist::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDist, E> {
                Ok(RawDist::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDist, E> {
                Ok(RawDist::Number(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDist, A::Error> {
                DistTable::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawDist::Table)
            }
        }
        d.deserialize_any(V)
    }
}
