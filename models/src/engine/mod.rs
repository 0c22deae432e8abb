//! The simulation of one server: its events, the load generator that feeds it, and the `Model`
//! that ties the core mechanisms to the server's architecture.

pub mod backend;
pub mod core;
pub mod cpu;
pub mod load;
pub mod server;

use sim::{Model, Scheduler, Simulation};

use crate::config::{Scenario, ServerConfig};
use crate::metrics::{ProcessEvent, Recorder, RunResult};
pub use core::{Core, CoreSettings, Ctx, Process, Request, Task, Thread, ThreadState};
pub use load::LoadGen;
pub use server::Server;

/// Names a request in the server; the generation tells a recycled slot from the old request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReqId {
    /// Slot index.
    pub index: u32,
    /// Slot generation.
    pub generation: u32,
}

impl ReqId {
    /// Names no request.
    pub const NONE: ReqId = ReqId { index: u32::MAX, generation: 0 };

    /// A number naming this request for as long as the run lasts (for pictures).
    pub fn stable_id(self) -> u64 {
        u64::from(self.index) | (u64::from(self.generation) << 32)
    }
}

/// Names a thread of the simulated machine: its index in `Core::threads`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(pub u32);

/// Names a process of the simulated machine: its index in `Core::processes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessId(pub u32);

impl ThreadId {
    /// Its index in `Core::threads` (and in per-thread tables).
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl ProcessId {
    /// Its index in `Core::processes` (and in per-process tables).
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for ThreadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "thread {}", self.0)
    }
}

impl std::fmt::Display for ProcessId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {}", self.0)
    }
}

impl std::ops::Index<ThreadId> for Vec<Thread> {
    type Output = Thread;
    fn index(&self, id: ThreadId) -> &Thread {
        &self[id.index()]
    }
}

impl std::ops::IndexMut<ThreadId> for Vec<Thread> {
    fn index_mut(&mut self, id: ThreadId) -> &mut Thread {
        &mut self[id.index()]
    }
}

impl std::ops::Index<ProcessId> for Vec<Process> {
    type Output = Process;
    fn index(&self, id: ProcessId) -> &Process {
        &self[id.index()]
    }
}

impl std::ops::IndexMut<ProcessId> for Vec<Process> {
    fn index_mut(&mut self, id: ProcessId) -> &mut Process {
        &mut self[id.index()]
    }
}

/// Seconds between a dynamic pool's maintenance passes (Apache's parent loop sleeps one second).
pub const MAINTENANCE_INTERVAL_S: f64 = 1.0;

/// Everything that can happen in a server simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// The next open-load arrival (stale if the generation changed after a rate change).
    Arrival {
        /// Generation of the arrival process when scheduled.
        generation: u32,
    },
    /// A closed-load client finished thinking and sends a request.
    Think {
        /// The client.
        user: u32,
    },
    /// A client sends its failed request again, after its backoff.
    Retry {
        /// The client.
        user: u32,
    },
    /// The CPU's next completion (stale events are recognised by the CPU).
    CpuDone,
    /// A GIL waiter's switch interval elapsed.
    GilTimeout {
        /// The waiting thread.
        thread: ThreadId,
        /// Its wait number when the interval began (a later wait makes this one stale).
        wait: u32,
    },
    /// A thread's blocking IO finished.
    IoDone {
        /// The thread.
        thread: ThreadId,
        /// The thread's task epoch when the IO began.
        epoch: u32,
    },
    /// A parked request's non-blocking IO finished.
    ParkDone {
        /// The request.
        request: ReqId,
    },
    /// A client's patience ran out.
    ClientTimeout {
        /// The request.
        request: ReqId,
    },
    /// The open-load rate schedule moves to its next step.
    RateChange {
        /// Index into the schedule.
        index: u32,
    },
    /// Warm-up ends: statistics start.
    WarmupEnd,
    /// A request's time limit ran out (the watchdog).
    Watchdog {
        /// The thread serving it.
        thread: ThreadId,
        /// The thread's task epoch when the request started.
        epoch: u32,
    },
    /// A crashed process has been restarted.
    Respawn {
        /// The process.
        process: ProcessId,
    },
    /// A dynamic pool's parent checks its idle workers (every second).
    Maintenance,
    /// A database query returned.
    DbDone {
        /// Its slot among the queries in service.
        slot: u32,
    },
    /// An idle keep-alive connection's timer ran out (stale if it carried a request since).
    KeepAliveEnd {
        /// The connection.
        connection: u64,
        /// The connection's idle period when the timer was set.
        epoch: u32,
    },
}

/// Something the core tells the driver after handling an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Notice {
    /// A thread finished its task (CPU then IO) and is idle.
    TaskDone { thread: ThreadId, request: ReqId },
    /// A client has the outcome of its request and decides what to do next.
    UserFree { user: u32, outcome: Outcome },
    /// The idle keep-alive connection `thread` waited on closed: the thread is idle.
    KeepAliveEnd { thread: ThreadId },
    /// A process dies: a request crashed it, the watchdog or the OOM killer killed it.
    Crash { process: ProcessId, cause: Death },
}

/// What a client learns about its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The whole response arrived (in time).
    Answered,
    /// The client's patience ran out (`timeout_s`); it closes the connection.
    TimedOut,
    /// The connection was refused (backlog full, or the server is down).
    Refused,
    /// The server answered with an error (a queue time-out, or its process died).
    Failed,
}

impl Outcome {
    /// Anything but an answer: a client with retries left tries again.
    pub fn is_failure(self) -> bool {
        self != Outcome::Answered
    }
}

/// Why a process died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Death {
    /// A request's CPU work segfaulted.
    Crash,
    /// The request watchdog killed it.
    Watchdog,
    /// The out-of-memory killer chose it.
    OutOfMemory,
}

/// Creates an architecture's processes and threads in a `Core` and returns its dispatch logic.
pub type BuildServer = fn(&ServerConfig, &mut Core) -> Box<dyn Server>;

/// One server being simulated, with its own copy of the machine and its own load generator.
pub struct ServerSim {
    /// Machine, processes, threads, requests and measurements.
    pub core: Core,
    /// The architecture's dispatch logic.
    pub server: Box<dyn Server>,
    /// The arrival process.
    pub load: LoadGen,
    config: ServerConfig,
}

impl ServerSim {
    /// The simulation has diverged: more than `max_in_system` requests are inside the server
    /// (overload with no backlog limit), not counting the pipelined requests of clients that
    /// never read, which wait on their connection and cost nothing to hold. The one definition
    /// of "diverged" that `runner` and `live` stop on.
    pub fn has_diverged(&self, max_in_system: u64) -> bool {
        let r = &self.core.recorder;
        r.level(crate::metrics::Level::InSystem) - r.level(crate::metrics::Level::NeverRead) > max_in_system as f64
    }

    /// Build the simulation of server `server_index` of `scenario` for replication `replication`,
    /// with its first events scheduled, its dispatch logic made by `build` (its architecture's
    /// `ArchitectureInfo::build`; `architectures::simulation` looks it up). `series` turns on the
    /// windowed time series.
    pub fn new(
        scenario: &Scenario,
        server_index: usize,
        replication: u32,
        series: bool,
        build: BuildServer,
    ) -> Simulation<ServerSim> {
        let config = scenario.servers[server_index].clone();
        let recorder =
            Recorder::new(scenario.run.warmup_s, scenario.machine.cores, series.then_some(scenario.run.window_s))
                .with_connections(config.keepalive_timeout_s.is_some());
        let settings = CoreSettings {
            gil_switch_s: config.gil_switch_s,
            gil_switch_cost_s: config.gil_switch_cost_s,
            thread_mb: config.thread_mb,
            shared_mb: config.shared_image_mb(),
            request_mb: config.memory_kb / 1024.0,
            timeout_s: scenario.load.timeout_s,
            respawn_s: config.respawn_s,
            request_timeout_s: config.request_timeout_s,
            keepalive_timeout_s: config.keepalive_timeout_s,
            keepalive_requests: config.keepalive_requests.unwrap_or(u32::MAX),
            keepalive_mb: config.keepalive_kb / 1024.0,
            header_timeout_s: config.header_timeout_s,
            memory_mb: scenario.machine.memory_mb,
            swap_mb: scenario.machine.swap_mb,
            swap_slowdown: scenario.machine.swap_slowdown,
            time_slice_s: scenario.machine.time_slice_ms / 1000.0,
        };
        let mut core = Core::new(scenario.machine.cores, settings, recorder);
        core.set_balance_stream(sim::stream(scenario.run.seed, u64::from(replication), core::STREAM_BALANCE));
        if let Some(b) = &scenario.backend {
            core.set_backend(backend::Backend::new(b.workers, b.connections, config.db_pool));
        }
        let server = build(&config, &mut core);
        let load = LoadGen::new(scenario, replication);
        let mut sim = Simulation::new(ServerSim { core, server, load, config });
        let ServerSim { load, .. } = &mut sim.model;
        load.start(&mut sim.scheduler);
        if sim.model.config.dynamic.is_some() {
            sim.scheduler.schedule_at(MAINTENANCE_INTERVAL_S, Event::Maintenance);
        }
        if scenario.run.warmup_s > 0.0 {
            sim.scheduler.schedule_at(scenario.run.warmup_s, Event::WarmupEnd);
        } else {
            sim.model.core.recorder.end_warmup(0.0);
        }
        sim
    }

    /// The server's configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Derive the results at the end of the run (`end_s`).
    pub fn finish(&mut self, end_s: f64) -> RunResult {
        let warmup = self.core.recorder.warmup_s();
        let in_flight =
            self.core.requests().filter(|r| r.arrival_s >= warmup && !r.abandoned && r.arrival_s <= end_s).count()
                as u64;
        let busy = self.core.recorder.mean_busy_workers(end_s);
        // Over the time-averaged pool: a dynamic pool's size changes.
        let workers = self.core.recorder.mean_level(crate::metrics::Level::WorkerThreads, end_s).max(1.0);
        let mut result = self.core.recorder.finish(end_s, in_flight);
        result.worker_utilization = busy / workers;
        result
    }

    fn admit(&mut self, sched: &mut Scheduler<Event>, user: u32) {
        let d = match self.load.retry_of(user) {
            Some(d) => {
                self.core.recorder.retried(sched.now_s());
                d
            }
            None => self.load.draw_request(),
        };
        self.load.sent(user, &d);
        let (connection, closes) = self.load.connection_for(user);
        let id = self.core.admit(sched, &d, user, connection, closes);
        let held = self.core.arrive_on_connection(id);
        let mut cx = Ctx { core: &mut self.core, sched };
        match held {
            Some(thread) => self.server.on_kept_alive_arrival(&mut cx, id, thread),
            None => self.server.on_arrival(&mut cx, id),
        }
    }
}

impl Model for ServerSim {
    type Event = Event;

    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        self.core.set_now(sched.now_s());
        match event {
            Event::Arrival { generation } => {
                if self.load.arrival_due(generation, sched) {
                    let client = self.load.open_client();
                    self.admit(sched, client);
                }
            }
            Event::Think { user } => self.admit(sched, user),
            Event::Retry { user } => self.admit(sched, user),
            Event::CpuDone => Ctx { core: &mut self.core, sched }.cpu_event(),
            Event::GilTimeout { thread, wait } => {
                Ctx { core: &mut self.core, sched }.gil_timeout(thread, wait);
            }
            Event::IoDone { thread, epoch } => Ctx { core: &mut self.core, sched }.io_done(thread, epoch),
            Event::ParkDone { request } => {
                let mut cx = Ctx { core: &mut self.core, sched };
                self.server.on_park_done(&mut cx, request);
            }
            Event::ClientTimeout { request } => self.core.client_timeout(request),
            Event::RateChange { index } => self.load.rate_change(index, sched),
            Event::WarmupEnd => self.core.recorder.end_warmup(sched.now_s()),
            Event::Watchdog { thread, epoch } => Ctx { core: &mut self.core, sched }.watchdog(thread, epoch),
            Event::Respawn { process } => self.respawn(process, sched),
            Event::KeepAliveEnd { connection, epoch } => self.core.keepalive_end(connection, epoch),
            Event::DbDone { slot } => {
                let mut cx = Ctx { core: &mut self.core, sched };
                match cx.db_done(slot) {
                    Some(backend::Waiter::Thread { thread, epoch }) => cx.io_done(thread, epoch),
                    Some(backend::Waiter::Parked(request)) => self.server.on_park_done(&mut cx, request),
                    None => {}
                }
            }
            Event::Maintenance => {
                sched.schedule_in(MAINTENANCE_INTERVAL_S, Event::Maintenance);
                let mut cx = Ctx { core: &mut self.core, sched };
                self.server.on_maintenance(&mut cx);
            }
        }
        self.drain_notices(sched);
        if self.core.settings().memory_mb.is_some() {
            Ctx { core: &mut self.core, sched }.check_memory();
            self.drain_notices(sched);
            // Processes that could not be started for lack of memory start once there is room.
            if self.core.processes.iter().any(|p| p.awaiting_memory) {
                for process in (0..self.core.processes.len() as u32).map(ProcessId) {
                    if self.core.processes[process].awaiting_memory && self.core.fits(process) {
                        self.core.processes[process].awaiting_memory = false;
                        self.respawn(process, sched);
                    }
                }
            }
        }
    }
}

impl ServerSim {
    /// A crashed or killed process is due to start again: it does if it fits in memory (a fork
    /// fails for lack of memory otherwise, and it waits until memory frees up).
    fn respawn(&mut self, process: ProcessId, sched: &mut Scheduler<Event>) {
        if !self.core.fits(process) {
            self.core.processes[process.index()].awaiting_memory = true;
            return;
        }
        let mut cx = Ctx { core: &mut self.core, sched };
        cx.respawned(process);
        self.server.on_respawn(&mut cx, process);
        self.drain_notices(sched);
    }
}

impl ServerSim {
    /// Hand pending notices (finished tasks, freed clients) to the architecture and the load.
    pub(crate) fn drain_notices(&mut self, sched: &mut Scheduler<Event>) {
        while let Some(notice) = self.core.notices.pop_front() {
            match notice {
                Notice::TaskDone { thread, request } => {
                    let mut cx = Ctx { core: &mut self.core, sched };
                    // `Ctx::start_spawn` gives the thread no request.
                    if request == ReqId::NONE {
                        self.server.on_spawn_done(&mut cx, thread);
                    } else {
                        self.server.on_task_done(&mut cx, thread, request);
                    }
                }
                Notice::UserFree { user, outcome } => self.load.user_free(user, outcome, sched),
                Notice::KeepAliveEnd { thread } => {
                    let mut cx = Ctx { core: &mut self.core, sched };
                    self.server.on_keepalive_end(&mut cx, thread);
                }
                Notice::Crash { process, cause } => {
                    // Counted once, here, and only if the process was still running.
                    if self.core.processes[process.index()].alive {
                        let now = self.core.now_s();
                        match cause {
                            Death::Crash => self.core.recorder.process_event(now, ProcessEvent::Crash),
                            Death::Watchdog => self.core.recorder.process_event(now, ProcessEvent::Kill),
                            Death::OutOfMemory => self.core.recorder.process_event(now, ProcessEvent::OomKill),
                        }
                    }
                    let mut cx = Ctx { core: &mut self.core, sched };
                    self.server.on_crash(&mut cx, process);
                }
            }
        }
    }
}
