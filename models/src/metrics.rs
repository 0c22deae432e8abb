//! Streaming measurement of one simulated server: request outcomes, latency and wait
//! percentiles, time-weighted levels (requests in system, waiting, busy workers, busy cores,
//! memory) and the windowed time series. Every result is derived here, in one place.

use sim::stats::{LatencyHistogram, TimeWeighted, WindowDurations, Windows};

/// Declares `Counts` once: its fields (every one a `u64` count), from which the struct and
/// summing counts (`+=`, over replications) both come.
macro_rules! counts {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Request outcomes, counted for requests that arrived after warm-up.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct Counts {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl std::ops::AddAssign for Counts {
            /// Add `other`'s counts, field by field (replications of one server).
            fn add_assign(&mut self, other: Counts) {
                $(self.$name += other.$name;)*
            }
        }
    };
}

counts! {
    /// Requests that arrived.
    arrived,
    /// Requests whose response reached the client in time.
    completed,
    /// Requests refused because the listen backlog was full.
    rejected,
    /// Requests the client gave up on (the server may still have worked on them).
    timed_out,
    /// Requests the server failed (e.g. daemon queue timeout).
    failed,
    /// Requests the server finished after the client had given up (wasted work).
    wasted,
    /// Process crashes (after warm-up).
    crashes,
    /// Requests failed because their process crashed or was killed (part of `failed`).
    lost_to_crashes,
    /// Processes killed by the watchdog (after warm-up).
    kills,
    /// Processes recycled after `max_requests` (after warm-up).
    recycles,
    /// Processes killed by the out-of-memory killer (after warm-up).
    oom_kills,
    /// Requests that failed because their query got no database connection (part of `failed`).
    db_refused,
    /// Processes a dynamic pool forked because too few workers were idle (after warm-up).
    spawns,
    /// Idle processes a dynamic pool stopped because too many workers were idle (after warm-up).
    reaps,
    /// Arrivals that were a client's retry of a request that timed out, was refused or failed
    /// (part of `arrived`).
    retries,
}

impl Counts {
    /// Requests lost: refused (backlog full), failed (crashes, kills and refused queries
    /// included) or timed out — the one rule for "lost" that every output reads.
    pub fn lost(&self) -> u64 {
        self.rejected + self.failed + self.timed_out
    }
}

/// What can happen to a process (counted by `Recorder::process_event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessEvent {
    /// It crashed.
    Crash = 0,
    /// The watchdog killed it.
    Kill = 1,
    /// The out-of-memory killer killed it.
    OomKill = 2,
    /// It was recycled after `max_requests`.
    Recycle = 3,
    /// A dynamic pool forked it.
    Spawn = 4,
    /// A dynamic pool stopped it, idle.
    Reap = 5,
}

const PROCESS_EVENTS: usize = 6;

/// Declares `Level` once: its variants in index order, from which `Level::ALL` and the number
/// of levels the recorder tracks (`LEVELS`) come.
macro_rules! levels {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// The levels tracked as time-weighted averages, in a fixed order (`Level::X as usize`
        /// indexes the recorder's arrays).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Level {
            $($(#[$doc])* $name,)*
        }

        /// How many levels the recorder tracks.
        const LEVELS: usize = [$(stringify!($name)),*].len();

        impl Level {
            /// Every level, in index order.
            pub const ALL: [Level; LEVELS] = [$(Level::$name),*];
        }
    };
}

levels! {
    /// Requests inside the server (queued or in progress).
    InSystem,
    /// Requests waiting for a worker.
    Waiting,
    /// Worker threads busy with a request.
    BusyWorkers,
    /// CPU cores in use.
    BusyCores,
    /// Resident memory in MB.
    MemoryMb,
    /// 1 while the machine swaps, else 0.
    Swapping,
    /// Open client connections (tracked only with keep-alive on; otherwise every connection
    /// carries exactly one request and this is `InSystem`).
    Connections,
    /// Idle keep-alive connections waiting for their client's next request.
    IdleConnections,
    /// Resident memory of the largest running process, MB (its image, threads and leaks).
    LargestProcessMb,
    /// Processes running.
    ProcessesAlive,
    /// Worker threads in the pool (a dynamic pool's or a live resize's changes included): the
    /// denominator of worker utilisation.
    WorkerThreads,
    /// Queries the database is running.
    DbBusy,
    /// Queries waiting: for a connection from their process's pool, or for the database.
    DbWaiting,
    /// Database connections open.
    DbConnections,
    /// Requests inside from clients that never read their responses (`reads = false`): they
    /// never leave, by design, so they are not a sign of a growing queue.
    NeverRead,
    /// Resident memory as `ps` sums it over the server's processes, MB: `MemoryMb` plus the
    /// shared pages (`shared_mb`) counted again in every running process but the first. Every
    /// change to `MemoryMb` changes it too; the engine adds the shared copies.
    RssSumMb,
    /// Resident memory of the largest running process as `ps` shows it, MB:
    /// `LargestProcessMb` plus the shared pages it maps.
    LargestProcessRssMb,
}

/// One plotted quantity of the time series: the window's live plots, exported charts and the
/// lessons' `watch` read this one list.
#[derive(Debug, Clone, Copy)]
pub struct SeriesPlot {
    /// Stable id (`watch = ["latency"]` in a lesson).
    pub id: &'static str,
    /// Title shown above the plot.
    pub title: &'static str,
    /// Y-axis label with its unit.
    pub y_label: &'static str,
    /// The value of one window.
    pub value: fn(&SeriesRow) -> f64,
}

/// The plots, in the order the window shows them.
pub const PLOTS: [SeriesPlot; 6] = [
    SeriesPlot { id: "throughput", title: "Throughput", y_label: "completed / s", value: |r| r.completed_rps },
    SeriesPlot { id: "latency", title: "Latency p99", y_label: "ms", value: |r| r.latency_p99_ms },
    SeriesPlot { id: "waiting", title: "Requests waiting", y_label: "requests", value: |r| r.waiting },
    SeriesPlot { id: "busy", title: "Busy workers", y_label: "workers", value: |r| r.busy_workers },
    SeriesPlot { id: "memory", title: "Memory", y_label: "MB", value: |r| r.memory_mb },
    SeriesPlot {
        id: "lost",
        title: "Rejected + failed + timed out",
        y_label: "requests / s",
        value: SeriesRow::lost_rps,
    },
];

/// Declares `SeriesRow` once: its fields (every one an `f64`) in the order of the series CSV's
/// columns, from which the struct, `SeriesRow::COLUMNS` and `SeriesRow::write_csv` all come —
/// so a new quantity is a new line here and nothing else to keep in step.
macro_rules! series_row {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// One window of the time series (all rates per second of simulated time).
        #[derive(Debug, Clone, Copy, Default, PartialEq)]
        pub struct SeriesRow {
            $($(#[$doc])* pub $name: f64,)*
        }

        impl SeriesRow {
            /// The series CSV's columns after `server,architecture`, in order: the fields' names.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($name)),*];

            /// Append this row's values to a CSV line, each after a comma, in `COLUMNS` order.
            pub fn write_csv(&self, out: &mut String) {
                use std::fmt::Write;
                $(let _ = write!(out, ",{}", self.$name);)*
            }
        }
    };
}

series_row! {
    /// Window start in simulated seconds.
    start_s,
    /// Window length in seconds (the last window may be shorter).
    width_s,
    /// Arrivals per second.
    arrived_rps,
    /// Completions per second (throughput).
    completed_rps,
    /// Rejections per second.
    rejected_rps,
    /// Client time-outs per second.
    timed_out_rps,
    /// Server failures per second.
    failed_rps,
    /// Mean latency of requests completed in this window, ms (0 if none).
    latency_mean_ms,
    /// Median latency of requests completed in this window, ms (0 if none).
    latency_p50_ms,
    /// 99th-percentile latency of requests completed in this window, ms (0 if none).
    latency_p99_ms,
    /// Time-averaged requests in the server.
    in_system,
    /// Time-averaged requests waiting for a worker.
    waiting,
    /// Time-averaged busy workers.
    busy_workers,
    /// Time-averaged CPU utilisation (fraction of all cores).
    cpu_utilization,
    /// Time-averaged resident memory, MB: what the machine spends, shared pages counted once.
    memory_mb,
    /// Fraction of the window the machine spent swapping.
    swapping,
    /// Time-averaged open client connections (busy and idle).
    connections,
    /// Time-averaged idle keep-alive connections.
    idle_connections,
    /// Responses the server finished per second, in time or not (completed + wasted).
    served_rps,
    /// Retries arriving per second.
    retried_rps,
    /// Time-averaged resident memory of the largest running process, MB.
    largest_process_mb,
    /// Time-averaged number of running processes.
    processes_alive,
    /// Time-averaged queries the database runs (0 without a backend).
    db_busy,
    /// Time-averaged queries waiting for a pool connection or for the database.
    db_waiting,
    /// Time-averaged database connections open.
    db_connections,
    /// Process crashes in the window.
    crashes,
    /// Processes killed by the watchdog in the window.
    kills,
    /// Processes killed by the out-of-memory killer in the window.
    oom_kills,
    /// Processes recycled (`max_requests`) in the window.
    recycles,
    /// Processes a dynamic pool forked in the window.
    spawns,
    /// Idle processes a dynamic pool stopped in the window.
    reaps,
    /// Requests lost with a crashed or killed process, per second (part of `failed_rps`).
    lost_to_crashes_rps,
    /// CPU demand, seconds, of the requests finished in the window after their client had given
    /// up (wasted work).
    wasted_cpu_s,
    /// Time-averaged resident memory as `ps` sums it over the server's processes, MB (shared
    /// pages counted in every process).
    rss_sum_mb,
    /// Time-averaged RSS of the largest running process as `ps` shows it, MB (its own memory
    /// plus the shared pages).
    largest_process_rss_mb,
}

impl SeriesRow {
    /// Requests lost per second in this window: the rate of `Counts::lost` (refused, failed or
    /// timed out).
    pub fn lost_rps(&self) -> f64 {
        self.rejected_rps + self.failed_rps + self.timed_out_rps
    }
}

#[derive(Debug, Clone, Default)]
struct WindowCounts {
    arrived: u64,
    completed: u64,
    rejected: u64,
    timed_out: u64,
    failed: u64,
    wasted: u64,
    retried: u64,
    /// Per `ProcessEvent`.
    processes: [u64; PROCESS_EVENTS],
    lost: u64,
    wasted_cpu_s: f64,
}

/// Builds the time series window by window, closing windows lazily as simulated time passes.
#[derive(Debug, Clone)]
struct SeriesRecorder {
    windows: Windows,
    counts: WindowCounts,
    latency: WindowDurations,
    area_at_start: [f64; LEVELS],
    rows: Vec<SeriesRow>,
    /// Latencies of the most recent closed windows, oldest first.
    recent: std::collections::VecDeque<WindowDurations>,
}

/// How many closed windows `Recorder::recent_latency` covers.
pub const RECENT_WINDOWS: usize = 10;

/// Everything measured about one server in one run.
#[derive(Debug, Clone)]
pub struct Recorder {
    warmup_s: f64,
    cores: f64,
    counts: Counts,
    latency: LatencyHistogram,
    wait: LatencyHistogram,
    levels: [TimeWeighted; LEVELS],
    area_at_warmup: [f64; LEVELS],
    peak_memory_mb: f64,
    peak_rss_sum_mb: f64,
    series: Option<SeriesRecorder>,
    /// `Level::Connections` is tracked (keep-alive on).
    tracks_connections: bool,
    /// CPU seconds of requests finished after their client gave up (after warm-up).
    wasted_cpu_s: f64,
}

/// The results of one run of one server, derived from a `Recorder`.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Outcome counts (after warm-up).
    pub counts: Counts,
    /// Counted requests still in the server at the end.
    pub in_flight_at_end: u64,
    /// Requests inside the server at the end (counted or not).
    pub in_system_at_end: u64,
    /// Of those, requests from clients that never read (they stay by design).
    pub never_read_at_end: u64,
    /// Requests waiting for a worker at the end.
    pub waiting_at_end: u64,
    /// Completions per second over the measured duration.
    pub throughput_rps: f64,
    /// Latency (arrival to completion) of completed requests.
    pub latency: LatencyHistogram,
    /// Wait (arrival to a worker taking the request).
    pub wait: LatencyHistogram,
    /// CPU utilisation: time-averaged fraction of all cores in use.
    pub cpu_utilization: f64,
    /// Time-averaged fraction of worker threads busy.
    pub worker_utilization: f64,
    /// Time-averaged requests in the server.
    pub mean_in_system: f64,
    /// Time-averaged requests waiting for a worker.
    pub mean_waiting: f64,
    /// Time-averaged resident memory, MB: unique memory, what the machine really spends (shared
    /// pages counted once). Size RAM with this.
    pub memory_mean_mb: f64,
    /// Largest resident memory after warm-up, MB (unique, as `memory_mean_mb`).
    pub memory_peak_mb: f64,
    /// Time-averaged resident memory as `ps`/`top` sum it over the server's processes, MB: each
    /// process's RSS includes the shared pages it maps, so the sum counts them once per process.
    pub rss_sum_mean_mb: f64,
    /// Largest `ps` sum after warm-up, MB.
    pub rss_sum_peak_mb: f64,
    /// Time-averaged RSS of the largest running process as `ps` shows it, MB (its own memory
    /// plus the shared pages).
    pub largest_process_rss_mean_mb: f64,
    /// Fraction of the time the machine was swapping.
    pub swapped_fraction: f64,
    /// Time-averaged open client connections (busy and idle).
    pub mean_connections: f64,
    /// Time-averaged idle keep-alive connections.
    pub mean_idle_connections: f64,
    /// Responses finished per second of measured time, in time or not (completed + wasted);
    /// `throughput_rps` counts only those in time (goodput).
    pub served_rps: f64,
    /// CPU seconds spent on requests whose clients had given up before they were answered.
    pub wasted_cpu_s: f64,
    /// Time-averaged resident memory of the largest running process, MB.
    pub largest_process_mean_mb: f64,
    /// Time-averaged number of running processes.
    pub mean_processes_alive: f64,
    /// Time-averaged queries the database runs (0 without a backend).
    pub mean_db_busy: f64,
    /// Time-averaged queries waiting for a pool connection or for the database.
    pub mean_db_waiting: f64,
    /// Time-averaged database connections open.
    pub mean_db_connections: f64,
    /// The windowed time series (empty unless requested).
    pub series: Vec<SeriesRow>,
    /// Set if the run stopped before its end: when, and why.
    pub stopped: Option<EarlyStop>,
}

/// A run that ended before `warmup_s + duration_s`; its results cover the time before `at_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStop {
    /// Simulated time at which it stopped, seconds.
    pub at_s: f64,
    /// Why.
    pub reason: StopReason,
}

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Its clock stopped moving (a modelling bug looping at one instant).
    Stalled,
    /// Its queue grew past `limits::MAX_IN_SYSTEM` requests (overload with no backlog limit).
    Diverged,
    /// The user interrupted it (Ctrl-C).
    Interrupted,
}

impl Recorder {
    /// A recorder that counts requests arriving at or after `warmup_s`; `window_s` (if given)
    /// turns on the time series with windows of that many seconds.
    pub fn new(warmup_s: f64, cores: u32, window_s: Option<f64>) -> Self {
        Self {
            warmup_s,
            cores: f64::from(cores.max(1)),
            counts: Counts::default(),
            latency: LatencyHistogram::new(3),
            wait: LatencyHistogram::new(3),
            levels: std::array::from_fn(|_| TimeWeighted::new(0.0, 0.0)),
            area_at_warmup: [0.0; LEVELS],
            peak_memory_mb: 0.0,
            peak_rss_sum_mb: 0.0,
            series: window_s.map(|w| SeriesRecorder {
                windows: Windows::new(w),
                counts: WindowCounts::default(),
                latency: WindowDurations::new(),
                area_at_start: [0.0; LEVELS],
                rows: Vec::new(),
                recent: std::collections::VecDeque::new(),
            }),
            tracks_connections: false,
            wasted_cpu_s: 0.0,
        }
    }

    /// Track open connections separately from requests (keep-alive on: a connection outlives
    /// its requests). Without it each connection is one request in the system.
    pub fn with_connections(mut self, tracked: bool) -> Self {
        self.tracks_connections = tracked;
        self
    }

    /// Simulated time at which counting starts, in seconds.
    pub fn warmup_s(&self) -> f64 {
        self.warmup_s
    }

    /// Outcome counts so far (after warm-up).
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Latency of every completed request counted so far (after warm-up).
    pub fn latency(&self) -> &LatencyHistogram {
        &self.latency
    }

    /// The time series rows closed so far.
    pub fn series(&self) -> &[SeriesRow] {
        self.series.as_ref().map_or(&[], |s| &s.rows)
    }

    /// Current value of a level.
    pub fn level(&self, level: Level) -> f64 {
        self.levels[level as usize].value()
    }

    /// Close every time-series window that ends at or before `now_s`. Call before recording
    /// anything at `now_s`.
    #[inline]
    pub fn tick(&mut self, now_s: f64) {
        if let Some(s) = &mut self.series
            && now_s >= s.windows.end_s()
        {
            while let Some(end) = s.windows.close_if_past(now_s) {
                let width = s.windows.width_s();
                Self::close_window(s, &self.levels, self.cores, self.tracks_connections, end - width, end);
            }
        }
    }

    fn close_window(
        s: &mut SeriesRecorder,
        levels: &[TimeWeighted; LEVELS],
        cores: f64,
        tracks_connections: bool,
        start: f64,
        end: f64,
    ) {
        let width = end - start;
        if width <= 0.0 {
            return;
        }
        let mut mean = [0.0; LEVELS];
        for (i, l) in levels.iter().enumerate() {
            let area = l.area_until(end);
            mean[i] = (area - s.area_at_start[i]) / width;
            s.area_at_start[i] = area;
        }
        let c = std::mem::take(&mut s.counts);
        s.rows.push(SeriesRow {
            start_s: start,
            width_s: width,
            arrived_rps: c.arrived as f64 / width,
            completed_rps: c.completed as f64 / width,
            rejected_rps: c.rejected as f64 / width,
            timed_out_rps: c.timed_out as f64 / width,
            failed_rps: c.failed as f64 / width,
            crashes: c.processes[ProcessEvent::Crash as usize] as f64,
            latency_mean_ms: s.latency.mean_ms(),
            latency_p50_ms: s.latency.quantile_ms(0.5),
            latency_p99_ms: s.latency.quantile_ms(0.99),
            in_system: mean[Level::InSystem as usize],
            waiting: mean[Level::Waiting as usize],
            busy_workers: mean[Level::BusyWorkers as usize],
            cpu_utilization: mean[Level::BusyCores as usize] / cores,
            memory_mb: mean[Level::MemoryMb as usize],
            rss_sum_mb: mean[Level::RssSumMb as usize],
            largest_process_rss_mb: mean[Level::LargestProcessRssMb as usize],
            swapping: mean[Level::Swapping as usize],
            connections: mean[if tracks_connections { Level::Connections } else { Level::InSystem } as usize],
            idle_connections: mean[Level::IdleConnections as usize],
            served_rps: (c.completed + c.wasted) as f64 / width,
            retried_rps: c.retried as f64 / width,
            largest_process_mb: mean[Level::LargestProcessMb as usize],
            processes_alive: mean[Level::ProcessesAlive as usize],
            db_busy: mean[Level::DbBusy as usize],
            db_waiting: mean[Level::DbWaiting as usize],
            db_connections: mean[Level::DbConnections as usize],
            kills: c.processes[ProcessEvent::Kill as usize] as f64,
            oom_kills: c.processes[ProcessEvent::OomKill as usize] as f64,
            recycles: c.processes[ProcessEvent::Recycle as usize] as f64,
            spawns: c.processes[ProcessEvent::Spawn as usize] as f64,
            reaps: c.processes[ProcessEvent::Reap as usize] as f64,
            lost_to_crashes_rps: c.lost as f64 / width,
            wasted_cpu_s: c.wasted_cpu_s,
        });
        if s.recent.len() == RECENT_WINDOWS {
            let mut oldest = s.recent.pop_front().expect("ring is full");
            std::mem::swap(&mut oldest, &mut s.latency);
            s.recent.push_back(oldest);
        } else {
            s.recent.push_back(std::mem::take(&mut s.latency));
        }
        s.latency.clear();
    }

    /// The `q`-quantile of latency in ms over the last `RECENT_WINDOWS` closed windows (for live
    /// displays); `None` without a time series, 0 if nothing completed.
    pub fn recent_latency_quantile_ms(&self, q: f64) -> Option<f64> {
        let s = self.series.as_ref()?;
        Some(WindowDurations::combined_quantile_ms(s.recent.iter(), q))
    }

    /// Warm-up is over at `now_s`: levels are averaged from here on.
    pub fn end_warmup(&mut self, now_s: f64) {
        for (i, l) in self.levels.iter().enumerate() {
            self.area_at_warmup[i] = l.area_until(now_s);
        }
        self.peak_memory_mb = self.levels[Level::MemoryMb as usize].value();
        self.peak_rss_sum_mb = self.levels[Level::RssSumMb as usize].value();
    }

    /// A level changes by `delta` at `now_s` (a change of `MemoryMb` is one of `RssSumMb` too).
    #[inline]
    pub fn add_level(&mut self, now_s: f64, level: Level, delta: f64) {
        let l = &mut self.levels[level as usize];
        l.add(now_s, delta);
        if level == Level::MemoryMb {
            let value = l.value();
            let rss = &mut self.levels[Level::RssSumMb as usize];
            rss.add(now_s, delta);
            if now_s >= self.warmup_s {
                self.peak_memory_mb = self.peak_memory_mb.max(value);
                self.peak_rss_sum_mb = self.peak_rss_sum_mb.max(rss.value());
            }
        } else if level == Level::RssSumMb && now_s >= self.warmup_s {
            self.peak_rss_sum_mb = self.peak_rss_sum_mb.max(l.value());
        }
    }

    /// A level becomes `value` at `now_s`.
    #[inline]
    pub fn set_level(&mut self, now_s: f64, level: Level, value: f64) {
        self.levels[level as usize].set(now_s, value);
    }

    #[inline]
    fn counted(&self, arrival_s: f64) -> bool {
        arrival_s >= self.warmup_s
    }

    /// A request arrived at `now_s`.
    #[inline]
    pub fn arrived(&mut self, now_s: f64) {
        if self.counted(now_s) {
            self.counts.arrived += 1;
        }
        if let Some(s) = &mut self.series {
            s.counts.arrived += 1;
        }
    }

    /// A worker took a request that arrived at `arrival_s`.
    #[inline]
    pub fn started(&mut self, now_s: f64, arrival_s: f64) {
        if self.counted(arrival_s) {
            self.wait.record_s(now_s - arrival_s);
        }
    }

    /// A request that arrived at `arrival_s` completed at `now_s`; `abandoned` if the client had
    /// already given up.
    #[inline]
    pub fn completed(&mut self, now_s: f64, arrival_s: f64, abandoned: bool) {
        let counted = self.counted(arrival_s);
        if abandoned {
            if counted {
                self.counts.wasted += 1;
            }
            if let Some(s) = &mut self.series {
                s.counts.wasted += 1;
            }
            return;
        }
        if counted {
            self.counts.completed += 1;
            self.latency.record_s(now_s - arrival_s);
        }
        if let Some(s) = &mut self.series {
            s.counts.completed += 1;
            s.latency.record_s(now_s - arrival_s);
        }
    }

    /// A request that arrived at `arrival_s` was refused.
    #[inline]
    pub fn rejected(&mut self, arrival_s: f64) {
        if self.counted(arrival_s) {
            self.counts.rejected += 1;
        }
        if let Some(s) = &mut self.series {
            s.counts.rejected += 1;
        }
    }

    /// The server failed a request that arrived at `arrival_s` (not already timed out).
    #[inline]
    pub fn failed(&mut self, arrival_s: f64) {
        if self.counted(arrival_s) {
            self.counts.failed += 1;
        }
        if let Some(s) = &mut self.series {
            s.counts.failed += 1;
        }
    }

    /// A request that arrived at `arrival_s` failed at `now_s` for want of a database connection
    /// (the failure itself is recorded by `failed`).
    pub fn db_refused(&mut self, _now_s: f64, arrival_s: f64) {
        if self.counted(arrival_s) {
            self.counts.db_refused += 1;
        }
    }

    /// Something happened to a process at `now_s`: counted in the totals (after warm-up) and in
    /// the time series' window.
    pub fn process_event(&mut self, now_s: f64, event: ProcessEvent) {
        if now_s >= self.warmup_s {
            let c = &mut self.counts;
            *match event {
                ProcessEvent::Crash => &mut c.crashes,
                ProcessEvent::Kill => &mut c.kills,
                ProcessEvent::OomKill => &mut c.oom_kills,
                ProcessEvent::Recycle => &mut c.recycles,
                ProcessEvent::Spawn => &mut c.spawns,
                ProcessEvent::Reap => &mut c.reaps,
            } += 1;
        }
        if let Some(w) = &mut self.series {
            w.counts.processes[event as usize] += 1;
        }
    }

    /// A request that arrived at `arrival_s` is lost in a crash (before `failed` is recorded);
    /// `abandoned` if its client had already given up.
    pub fn lost_to_crash(&mut self, arrival_s: f64, abandoned: bool) {
        if self.counted(arrival_s) && !abandoned {
            self.counts.lost_to_crashes += 1;
        }
        if let Some(w) = &mut self.series
            && !abandoned
        {
            w.counts.lost += 1;
        }
    }

    /// A request that arrived at `arrival_s` was finished after its client gave up; its CPU
    /// demand of `cpu_s` seconds was wasted.
    pub fn wasted_cpu(&mut self, arrival_s: f64, cpu_s: f64) {
        if self.counted(arrival_s) && cpu_s.is_finite() {
            self.wasted_cpu_s += cpu_s;
        }
        if let Some(w) = &mut self.series
            && cpu_s.is_finite()
        {
            w.counts.wasted_cpu_s += cpu_s;
        }
    }

    /// A client's retry arrived at `now_s` (counted by `arrived` too).
    pub fn retried(&mut self, now_s: f64) {
        if self.counted(now_s) {
            self.counts.retries += 1;
        }
        if let Some(s) = &mut self.series {
            s.counts.retried += 1;
        }
    }

    /// The client gave up on a request that arrived at `arrival_s`.
    #[inline]
    pub fn timed_out(&mut self, arrival_s: f64) {
        if self.counted(arrival_s) {
            self.counts.timed_out += 1;
        }
        if let Some(s) = &mut self.series {
            s.counts.timed_out += 1;
        }
    }

    /// Derive the run's results at `end_s`. `in_flight_at_end` counts the counted requests still
    /// in the server whose clients are still waiting.
    pub fn finish(&mut self, end_s: f64, in_flight_at_end: u64) -> RunResult {
        self.tick(end_s);
        if let Some(s) = &mut self.series {
            let start = s.windows.index() as f64 * s.windows.width_s();
            if end_s > start + 1e-9 {
                Self::close_window(s, &self.levels, self.cores, self.tracks_connections, start, end_s);
            }
        }
        let (span, area_before) = self.measured(end_s);
        let mean = |l: Level| (self.levels[l as usize].area_until(end_s) - area_before[l as usize]) / span;
        RunResult {
            counts: self.counts,
            in_flight_at_end,
            in_system_at_end: self.level(Level::InSystem).round() as u64,
            never_read_at_end: self.level(Level::NeverRead).round() as u64,
            waiting_at_end: self.level(Level::Waiting).round() as u64,
            throughput_rps: self.counts.completed as f64 / span,
            latency: self.latency.clone(),
            wait: self.wait.clone(),
            cpu_utilization: mean(Level::BusyCores) / self.cores,
            worker_utilization: f64::NAN, // filled in by the engine, which knows the pool size
            mean_in_system: mean(Level::InSystem),
            mean_waiting: mean(Level::Waiting),
            memory_mean_mb: mean(Level::MemoryMb),
            memory_peak_mb: self.peak_memory_mb,
            rss_sum_mean_mb: mean(Level::RssSumMb),
            rss_sum_peak_mb: self.peak_rss_sum_mb,
            largest_process_rss_mean_mb: mean(Level::LargestProcessRssMb),
            swapped_fraction: mean(Level::Swapping),
            mean_connections: mean(if self.tracks_connections { Level::Connections } else { Level::InSystem }),
            mean_idle_connections: mean(Level::IdleConnections),
            served_rps: (self.counts.completed + self.counts.wasted) as f64 / span,
            wasted_cpu_s: self.wasted_cpu_s,
            largest_process_mean_mb: mean(Level::LargestProcessMb),
            mean_processes_alive: mean(Level::ProcessesAlive),
            mean_db_busy: mean(Level::DbBusy),
            mean_db_waiting: mean(Level::DbWaiting),
            mean_db_connections: mean(Level::DbConnections),
            series: self.series.as_ref().map(|s| s.rows.clone()).unwrap_or_default(),
            stopped: None,
        }
    }

    /// Time-averaged busy workers since warm-up, up to `end_s`.
    pub fn mean_busy_workers(&self, end_s: f64) -> f64 {
        self.mean_level(Level::BusyWorkers, end_s)
    }

    /// Time-averaged `level` over the measured part of a run ending at `end_s`.
    pub fn mean_level(&self, level: Level, end_s: f64) -> f64 {
        let (span, area_before) = self.measured(end_s);
        let l = level as usize;
        (self.levels[l].area_until(end_s) - area_before[l]) / span
    }

    /// The span levels are averaged over when a run ends at `end_s`, and the areas before it:
    /// from the end of warm-up normally; from time zero for a run stopped (interrupted or
    /// diverged) before warm-up ended, whose counts are then all zero — otherwise its averages
    /// would divide by a zero span.
    fn measured(&self, end_s: f64) -> (f64, [f64; LEVELS]) {
        if end_s > self.warmup_s {
            ((end_s - self.warmup_s).max(f64::MIN_POSITIVE), self.area_at_warmup)
        } else {
            (end_s.max(f64::MIN_POSITIVE), [0.0; LEVELS])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_indexes_its_own_slot() {
        for (i, level) in Level::ALL.iter().enumerate() {
            assert_eq!(*level as usize, i, "{level:?}");
        }
        assert_eq!(Level::ALL.len(), LEVELS);
    }

    #[test]
    fn series_windows_average_levels_and_count_rates() {
        let mut r = Recorder::new(0.0, 2, Some(1.0));
        // One request waits from 0.5 s to 1.5 s; one core busy from 0.5 s to 2.0 s.
        r.tick(0.5);
        r.arrived(0.5);
        r.add_level(0.5, Level::Waiting, 1.0);
        r.set_level(0.5, Level::BusyCores, 1.0);
        r.tick(1.5);
        r.add_level(1.5, Level::Waiting, -1.0);
        r.tick(2.0);
        r.completed(2.0, 0.5, false);
        r.set_level(2.0, Level::BusyCores, 0.0);
        let res = r.finish(3.0, 0);
        let s = &res.series;
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].arrived_rps, 1.0);
        assert!((s[0].waiting - 0.5).abs() < 1e-12 && (s[1].waiting - 0.5).abs() < 1e-12);
        // 1 of 2 cores busy for half of window 0 and all of window 1.
        assert!((s[0].cpu_utilization - 0.25).abs() < 1e-12 && (s[1].cpu_utilization - 0.5).abs() < 1e-12);
        assert_eq!(s[2].completed_rps, 1.0);
        assert!((s[2].latency_p50_ms - 1500.0).abs() < 15.0);
        assert_eq!(res.counts.completed, 1);
        assert!((res.throughput_rps - 1.0 / 3.0).abs() < 1e-12);
    }
}
