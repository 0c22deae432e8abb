//! The mechanisms every architecture is built from: processes (with memory and an optional GIL),
//! threads that run a request's CPU then IO, the shared time-sliced CPU, and the in-flight
//! requests. Architectures decide *where* requests go; this module makes time pass for them.

use crate::engine::{ProcessId, ThreadId};
use std::collections::{HashMap, VecDeque};

use sim::Scheduler;

use super::cpu::Cpu;
use super::load::Demand;
use super::{Death, Event, Notice, Outcome, ReqId};
use crate::metrics::{Level, Recorder};

/// The random stream of balancing choices (see `sim::stream`; the load uses 1–4).
pub const STREAM_BALANCE: u64 = 5;

/// A request inside the simulated server: what it demands (drawn when it arrived, never changed;
/// readable directly through `Deref`, e.g. `request.cpu_s`) and where it is in its life.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its class and demands.
    pub demand: Demand,
    /// Simulated arrival time, seconds.
    pub arrival_s: f64,
    /// The closed-load client that sent it (`u32::MAX` for open loads).
    pub user: u32,
    /// The client has given up on it.
    pub abandoned: bool,
    /// A worker has taken it (its wait is over and it holds its memory).
    pub started: bool,
    /// The client connection it came on (`NO_CONNECTION`: a connection of its own that closes
    /// with it).
    pub connection: u64,
    /// The client closes the connection after this response.
    pub closes: bool,
    /// The server keeps its connection open after it (keep-alive), so leaving does not close it.
    kept_open: bool,
    /// Its query could not get a database connection: the application answers with an error,
    /// and finishing it counts as a failure.
    db_refused: bool,
    generation: u32,
    live: bool,
}

/// Names no client connection: the request's connection is its own and closes with it.
pub const NO_CONNECTION: u64 = u64::MAX;

/// A client connection the server knows (only tracked with keep-alive on).
#[derive(Debug, Clone, Copy)]
struct Connection {
    /// Requests answered over it so far.
    served: u32,
    /// Open and waiting for the client's next request.
    idle: bool,
    /// The worker thread waiting on it while idle (blocking architectures).
    held_by: Option<ThreadId>,
    /// The request it carries or last carried. A client that gave up and retries reuses its
    /// connection id while the abandoned request may still be inside; only the entry's own
    /// request may close or count on it.
    request: ReqId,
    /// Which idle period this is (from `Core::idle_periods`, unique over the whole run, so a
    /// stale keep-alive timer is recognised even when a connection id is reused).
    epoch: u32,
}

impl std::ops::Deref for Request {
    type Target = Demand;
    fn deref(&self) -> &Demand {
        &self.demand
    }
}

/// What a thread is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadState {
    /// No request.
    Idle,
    /// Waiting for its process's GIL before it can use the CPU.
    GilWait,
    /// Running on the CPU (possibly sharing a core).
    Cpu,
    /// Waiting on blocking IO (uses no CPU).
    Io,
    /// Reading a request from or writing a response to a (slow) client (uses no CPU).
    Net,
    /// Waiting on an idle keep-alive connection for the client's next request: held, no CPU
    /// (an Apache worker in the "K" state of its scoreboard).
    KeepAlive,
}

/// A thread of some process.
#[derive(Debug, Clone)]
pub struct Thread {
    /// Owning process.
    pub process: ProcessId,
    /// Current state.
    pub state: ThreadState,
    /// The request it works on (meaningful unless idle).
    pub request: ReqId,
    /// Counts towards the server's worker pool (front-end threads do not).
    pub is_worker: bool,
    /// Part of the pool (false once retired by a live resize).
    pub enabled: bool,
    cpu_left_s: f64,
    io_s: f64,
    /// Network wait before the CPU (reading the request), seconds; 0 once done.
    pre_s: f64,
    /// Network wait after the IO (writing the response), seconds.
    post_s: f64,
    /// The idle connection it waits on in `KeepAlive`.
    connection: u64,
    pub(crate) epoch: u32,
    /// When its current request's first task started (the watchdog's deadline counts from it).
    started_s: f64,
    /// Its task continues a request it already worked on (its leak was counted then).
    continuation: bool,
    /// Blocking calls of its task still to make, the current one included (1: the last).
    calls_left: u32,
    /// CPU seconds before each call after the first.
    call_cpu_s: f64,
    /// Counts its waits for the GIL, so that a stale switch-interval timer is recognised.
    gil_wait: u32,
    /// The GIL's switch count when its current switch interval began.
    gil_seen: u32,
}

/// Per-process interpreter lock (CPython's GIL).
#[derive(Debug, Clone, Default)]
pub struct Gil {
    /// The thread holding it.
    pub holder: Option<ThreadId>,
    /// Threads waiting for it, first come first served.
    pub waiters: VecDeque<ThreadId>,
    /// Times it changed hands (CPython's `switch_number`): a waiter whose interval ends with
    /// this unchanged forces a switch.
    switches: u32,
    /// A waiter asked the holder to drop it while the holder was off its core (preempted by the
    /// OS): the holder drops it as soon as it runs again (CPython's `gil_drop_request`).
    drop_request: bool,
    /// The holder has been given the GIL but has not run since: it takes it (CPython's
    /// `take_gil` returns) only once it gets a core.
    pending_take: bool,
    /// The old holder of a forced switch: it waits until the new holder has taken the GIL before
    /// its own wait begins (CPython's `FORCE_SWITCHING`).
    after_take: Option<ThreadId>,
}

/// An operating-system process.
#[derive(Debug, Clone)]
pub struct Process {
    /// Running (a dead process holds no memory and no threads run in it).
    pub alive: bool,
    /// The interpreter lock, for processes that have one.
    pub gil: Option<Gil>,
    /// Resident memory while alive, MB (process image + its threads).
    pub memory_mb: f64,
    /// Its threads' indices.
    pub threads: Vec<ThreadId>,
    /// Crashed and waiting to be respawned.
    pub down: bool,
    /// Simulated time of its last crash, seconds.
    pub crashed_at_s: Option<f64>,
    /// Memory it grew by while running — leaked by the requests it served, or held in its
    /// connections' write buffers (part of `memory_mb`; released when it exits).
    pub grown_mb: f64,
    /// Due to respawn, but there is no memory for it yet.
    pub awaiting_memory: bool,
}

/// Memory and GIL settings of the server being simulated.
#[derive(Debug, Clone, Copy)]
pub struct CoreSettings {
    /// GIL switch interval, seconds.
    pub gil_switch_s: f64,
    /// CPU a GIL hand-off to a waiting thread costs it, seconds.
    pub gil_switch_cost_s: f64,
    /// Memory per thread, MB.
    pub thread_mb: f64,
    /// Shared copy-on-write memory, counted once while any process is alive, MB.
    pub shared_mb: f64,
    /// Memory held by a request in progress, MB.
    pub request_mb: f64,
    /// Seconds after which a client gives up, if any.
    pub timeout_s: Option<f64>,
    /// Seconds from a crash until the process is running again.
    pub respawn_s: f64,
    /// Watchdog: seconds a thread may spend on one request before its process is killed.
    pub request_timeout_s: Option<f64>,
    /// Physical memory, MB (None = unlimited).
    pub memory_mb: Option<f64>,
    /// Swap space, MB.
    pub swap_mb: f64,
    /// CPU slowdown factor while swapping.
    pub swap_slowdown: f64,
    /// The OS scheduler's time slice, seconds (0 = ideal processor sharing).
    pub time_slice_s: f64,
    /// Keep-alive: seconds an idle connection stays open (`None` = connections close after
    /// every response).
    pub keepalive_timeout_s: Option<f64>,
    /// Keep-alive: most requests per connection.
    pub keepalive_requests: u32,
    /// Keep-alive: memory of one idle connection, MB.
    pub keepalive_mb: f64,
    /// Seconds a connection may take to send its request headers before it is dropped.
    pub header_timeout_s: Option<f64>,
}

/// The simulated machine and server state shared by all architectures.
#[derive(Debug)]
pub struct Core {
    now_s: f64,
    cpu: Cpu,
    /// Every process of the server.
    pub processes: Vec<Process>,
    /// Every thread of the server.
    pub threads: Vec<Thread>,
    requests: Vec<Request>,
    free_requests: Vec<u32>,
    /// Measurements.
    pub recorder: Recorder,
    pub(crate) notices: VecDeque<Notice>,
    settings: CoreSettings,
    alive_processes: u32,
    worker_threads: u32,
    done_buf: Vec<ThreadId>,
    /// Open client connections by id (only with keep-alive on).
    connections: HashMap<u64, Connection>,
    /// Idle periods begun so far (numbers each one for its keep-alive timer).
    idle_periods: u32,
    /// The shared database, if the scenario has one.
    pub(crate) backend: Option<super::backend::Backend>,
    /// The stream for balancing choices (which process a connection goes to), its own so that
    /// the choices never shift the arrivals or demands.
    balance_rng: sim::SimRng,
    /// Processes whose GIL holder must take the GIL, or drop it, as soon as it gets a core.
    gil_watch: Vec<ProcessId>,
}

/// A thread's work for one request, in order: read the request, CPU, IO, write the response.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Task {
    /// Network wait reading the request, seconds.
    pub pre_s: f64,
    /// CPU seconds.
    pub cpu_s: f64,
    /// Blocking IO seconds.
    pub io_s: f64,
    /// Network wait writing the response, seconds.
    pub post_s: f64,
    /// Blocking calls the IO is made of (0 or 1: one). Each call waits `io_s`; before each call
    /// after the first the thread runs `call_cpu_s` more of CPU, so under a GIL it must take the
    /// lock again every time a call returns.
    pub calls: u32,
    /// CPU seconds before each call after the first.
    pub call_cpu_s: f64,
}

/// What an architecture gets while it handles something: the core and the scheduler.
pub struct Ctx<'a> {
    /// The server's state.
    pub core: &'a mut Core,
    /// The event scheduler.
    pub sched: &'a mut Scheduler<Event>,
}

impl Core {
    /// A machine with `cores` cores and the given settings, recording into `recorder`.
    pub fn new(cores: u32, settings: CoreSettings, recorder: Recorder) -> Self {
        Self {
            now_s: 0.0,
            cpu: Cpu::with_slice(cores, 16, settings.time_slice_s),
            processes: Vec::new(),
            threads: Vec::new(),
            requests: Vec::new(),
            free_requests: Vec::new(),
            recorder,
            notices: VecDeque::new(),
            settings,
            alive_processes: 0,
            worker_threads: 0,
            done_buf: Vec::new(),
            connections: HashMap::new(),
            idle_periods: 0,
            backend: None,
            balance_rng: sim::stream(0, 0, STREAM_BALANCE),
            gil_watch: Vec::new(),
        }
    }

    /// Draw balancing choices from `rng` (the run's own stream for them).
    pub fn set_balance_stream(&mut self, rng: sim::SimRng) {
        self.balance_rng = rng;
    }

    /// A uniformly random index in 0..n (n > 0), for a balancing policy.
    pub fn pick(&mut self, n: usize) -> usize {
        sim::dist::index_below(&mut self.balance_rng, n)
    }

    /// Give the server a shared database: every request's IO becomes a query there.
    pub fn set_backend(&mut self, backend: super::backend::Backend) {
        self.backend = Some(backend);
    }

    /// The query of `id` could not get a database connection: it fails when it finishes.
    pub(crate) fn refuse_query(&mut self, id: ReqId) {
        if self.is_live(id) {
            self.requests[id.index as usize].db_refused = true;
        }
    }

    /// Current simulated time, seconds.
    #[inline]
    pub fn now_s(&self) -> f64 {
        self.now_s
    }

    #[inline]
    pub(crate) fn set_now(&mut self, now_s: f64) {
        self.now_s = now_s;
        self.recorder.tick(now_s);
    }

    /// Bring the clock to `now_s` for a live control applied between events.
    pub(crate) fn set_now_for_control(&mut self, now_s: f64) {
        self.set_now(now_s);
    }

    /// True if starting `process` would keep resident memory within physical memory plus swap
    /// (always true without a memory limit).
    pub fn fits(&self, process: ProcessId) -> bool {
        let Some(ram) = self.settings.memory_mb else { return true };
        let p = &self.processes[process.index()];
        let shared = if self.alive_processes == 0 { self.settings.shared_mb } else { 0.0 };
        self.recorder.level(Level::MemoryMb) + p.memory_mb - p.grown_mb + shared <= ram + self.settings.swap_mb
    }

    /// The server's settings.
    pub fn settings(&self) -> &CoreSettings {
        &self.settings
    }

    /// Number of worker threads in the pool.
    pub fn worker_threads(&self) -> u32 {
        self.worker_threads
    }

    /// Threads currently on the CPU.
    pub fn cpu_running(&self) -> u32 {
        self.cpu.running()
    }

    /// Add a process with `image_mb` of its own memory (threads add `thread_mb` each); `alive`
    /// processes count towards memory at once. Returns its index.
    pub fn add_process(&mut self, gil: bool, image_mb: f64, alive: bool) -> ProcessId {
        let id = ProcessId(self.processes.len() as u32);
        self.processes.push(Process {
            alive: false,
            gil: gil.then(Gil::default),
            memory_mb: image_mb,
            threads: Vec::new(),
            down: false,
            crashed_at_s: None,
            grown_mb: 0.0,
            awaiting_memory: false,
        });
        if alive {
            self.set_alive(id, true);
        }
        id
    }

    /// Add a thread to `process`; worker threads count towards the pool's utilisation.
    pub fn add_thread(&mut self, process: ProcessId, is_worker: bool) -> ThreadId {
        let id = ThreadId(self.threads.len() as u32);
        self.threads.push(Thread {
            process,
            state: ThreadState::Idle,
            request: ReqId::NONE,
            is_worker,
            enabled: true,
            cpu_left_s: 0.0,
            io_s: 0.0,
            pre_s: 0.0,
            post_s: 0.0,
            connection: NO_CONNECTION,
            epoch: 0,
            started_s: 0.0,
            continuation: false,
            calls_left: 1,
            call_cpu_s: 0.0,
            gil_wait: 0,
            gil_seen: 0,
        });
        let p = &mut self.processes[process.index()];
        p.threads.push(id);
        p.memory_mb += self.settings.thread_mb;
        if p.alive {
            self.recorder.add_level(self.now_s, Level::MemoryMb, self.settings.thread_mb);
            self.process_grew(process);
        }
        if is_worker {
            self.worker_threads += 1;
            self.recorder.set_level(self.now_s, Level::WorkerThreads, f64::from(self.worker_threads));
        }
        id
    }

    /// Alive process `process` grew: the largest process's memory follows.
    fn process_grew(&mut self, process: ProcessId) {
        let mb = self.processes[process.index()].memory_mb;
        if mb > self.recorder.level(Level::LargestProcessMb) {
            self.set_largest(mb);
        }
    }

    /// The largest running process holds `mb` of its own memory (0: none runs); as `ps` shows
    /// it, it also holds the shared pages.
    fn set_largest(&mut self, mb: f64) {
        let rss = if self.alive_processes > 0 { mb + self.settings.shared_mb } else { 0.0 };
        self.recorder.set_level(self.now_s, Level::LargestProcessMb, mb);
        self.recorder.set_level(self.now_s, Level::LargestProcessRssMb, rss);
    }

    /// A process shrank or exited: find the largest alive process again (rare: exits, retired
    /// threads).
    fn process_shrank(&mut self) {
        let largest = self.processes.iter().filter(|p| p.alive).map(|p| p.memory_mb).fold(0.0, f64::max);
        self.set_largest(largest);
    }

    /// Add a retired thread back to the pool, or retire one (live resizing): its memory and its
    /// place in the worker count follow.
    pub fn set_thread_enabled(&mut self, thread: ThreadId, enabled: bool) {
        let th = &mut self.threads[thread.index()];
        if th.enabled == enabled {
            return;
        }
        th.enabled = enabled;
        let (process, is_worker) = (th.process, th.is_worker);
        let delta = if enabled { self.settings.thread_mb } else { -self.settings.thread_mb };
        let p = &mut self.processes[process.index()];
        p.memory_mb += delta;
        if p.alive {
            self.recorder.add_level(self.now_s, Level::MemoryMb, delta);
            if enabled {
                self.process_grew(process);
            } else {
                self.process_shrank();
            }
        }
        if is_worker {
            if enabled {
                self.worker_threads += 1;
            } else {
                self.worker_threads -= 1;
            }
            self.recorder.set_level(self.now_s, Level::WorkerThreads, f64::from(self.worker_threads));
        }
    }

    /// The class of the request `thread` works on, if it is busy.
    pub fn thread_class(&self, thread: ThreadId) -> Option<u16> {
        let th = &self.threads[thread.index()];
        (th.state != ThreadState::Idle && self.is_live(th.request)).then(|| self.request(th.request).class)
    }

    /// Snapshot of `process` for pictures (queues are added by the architecture).
    pub fn process_view(
        &self,
        process: ProcessId,
        role: crate::view::ProcessRole,
        offload_from: usize,
    ) -> crate::view::ProcessView {
        let p = &self.processes[process.index()];
        let threads: Vec<crate::view::ThreadView> = p
            .threads
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let th = &self.threads[t.index()];
                crate::view::ThreadView {
                    state: th.state,
                    class: self.thread_class(t),
                    request_id: self.thread_class(t).map(|_| th.request.stable_id()),
                    retired: !th.enabled,
                    offload: i >= offload_from,
                }
            })
            .collect();
        let gil_holder = p.gil.as_ref().and_then(|g| g.holder).and_then(|h| p.threads.iter().position(|&t| t == h));
        crate::view::ProcessView {
            role,
            alive: p.alive,
            retiring: p.alive && p.threads.iter().all(|&t| !self.threads[t.index()].enabled),
            memory_mb: p.memory_mb,
            rss_mb: p.memory_mb + self.settings.shared_mb,
            gil: p.gil.is_some(),
            gil_holder,
            threads,
            ready: 0,
            parked: 0,
            down: p.down,
            crashed_at_s: p.crashed_at_s,
        }
    }

    /// Start or stop a process (memory accounting; CGI spawns and exits). A process must have
    /// no busy thread when it stops.
    pub fn set_alive(&mut self, process: ProcessId, alive: bool) {
        debug_assert!(
            alive
                || self.processes[process.index()]
                    .threads
                    .iter()
                    .all(|&t| self.threads[t.index()].state == ThreadState::Idle),
            "process {process} stops while one of its threads is busy"
        );
        let p = &mut self.processes[process.index()];
        if p.alive == alive {
            return;
        }
        p.alive = alive;
        let mut delta = p.memory_mb;
        if alive {
            self.alive_processes += 1;
            if self.alive_processes == 1 {
                delta += self.settings.shared_mb;
            }
        } else {
            self.alive_processes -= 1;
            if self.alive_processes == 0 {
                delta += self.settings.shared_mb;
            }
            delta = -delta;
            // An exiting process takes the memory its requests leaked, and its buffers, with it.
            p.memory_mb -= p.grown_mb;
            p.grown_mb = 0.0;
            // And its database connections.
            if self.backend.is_some() {
                self.close_db_connections(process);
            }
        }
        self.recorder.add_level(self.now_s, Level::MemoryMb, delta);
        // `ps` counts the shared pages again in every running process but the first.
        let copies = if alive { self.alive_processes > 1 } else { self.alive_processes > 0 };
        if copies && self.settings.shared_mb != 0.0 {
            let sign = if alive { 1.0 } else { -1.0 };
            self.recorder.add_level(self.now_s, Level::RssSumMb, sign * self.settings.shared_mb);
        }
        self.recorder.set_level(self.now_s, Level::ProcessesAlive, f64::from(self.alive_processes));
        if alive && self.alive_processes == 1 {
            // The first process: the largest one now, with the shared pages it maps.
            let largest = self.recorder.level(Level::LargestProcessMb).max(self.processes[process.index()].memory_mb);
            self.set_largest(largest);
        } else if alive {
            self.process_grew(process);
        } else {
            self.process_shrank();
        }
    }

    /// The request behind `id`.
    #[inline]
    pub fn request(&self, id: ReqId) -> &Request {
        &self.requests[id.index as usize]
    }

    /// True if `id` still names a request in the server.
    #[inline]
    pub fn is_live(&self, id: ReqId) -> bool {
        self.requests.get(id.index as usize).is_some_and(|r| r.live && r.generation == id.generation)
    }

    /// The ids of the requests currently inside the server.
    pub fn live_ids(&self) -> Vec<ReqId> {
        self.requests
            .iter()
            .enumerate()
            .filter(|(_, r)| r.live)
            .map(|(i, r)| ReqId { index: i as u32, generation: r.generation })
            .collect()
    }

    /// Requests currently inside the server.
    pub fn requests(&self) -> impl Iterator<Item = &Request> {
        self.requests.iter().filter(|r| r.live)
    }

    /// Admit a new request arriving now on `connection` (its client closes that connection after
    /// the response if `closes`); schedules the client's time-out if there is one.
    pub(crate) fn admit(
        &mut self,
        sched: &mut Scheduler<Event>,
        d: &Demand,
        user: u32,
        connection: u64,
        closes: bool,
    ) -> ReqId {
        let req = Request {
            demand: *d,
            arrival_s: self.now_s,
            user,
            abandoned: false,
            started: false,
            connection,
            closes,
            kept_open: false,
            db_refused: false,
            generation: 0,
            live: true,
        };
        let id = match self.free_requests.pop() {
            Some(index) => {
                let slot = &mut self.requests[index as usize];
                let generation = slot.generation.wrapping_add(1);
                *slot = Request { generation, ..req };
                ReqId { index, generation }
            }
            None => {
                self.requests.push(req);
                ReqId { index: self.requests.len() as u32 - 1, generation: 0 }
            }
        };
        self.recorder.arrived(self.now_s);
        self.recorder.add_level(self.now_s, Level::InSystem, 1.0);
        if !d.reads {
            self.recorder.add_level(self.now_s, Level::NeverRead, 1.0);
        }
        if let Some(t) = self.settings.timeout_s {
            sched.schedule_in(t, Event::ClientTimeout { request: id });
        }
        id
    }

    /// The client gives up on `id` (if it is still in the server and not answered).
    pub(crate) fn client_timeout(&mut self, id: ReqId) {
        if !self.is_live(id) {
            return;
        }
        let r = &mut self.requests[id.index as usize];
        if r.abandoned {
            return;
        }
        r.abandoned = true;
        let (arrival, user, connection, kept_open) = (r.arrival_s, r.user, r.connection, r.kept_open);
        self.recorder.timed_out(arrival);
        if kept_open {
            // The response was written but the client gave up before it had it all: the client
            // closes the (now idle) connection.
            self.end_idle(connection);
        }
        if user != u32::MAX {
            self.notices.push_back(Notice::UserFree { user, outcome: Outcome::TimedOut });
        }
    }

    /// Keep-alive bookkeeping for the request `id` that just arrived: a new connection opens, or
    /// an idle one carries its next request. Returns the worker thread that was waiting on that
    /// connection (now idle; it must take the request). Nothing to do with keep-alive off.
    #[inline]
    pub(crate) fn arrive_on_connection(&mut self, id: ReqId) -> Option<ThreadId> {
        self.settings.keepalive_timeout_s?;
        let connection = self.request(id).connection;
        let reused =
            (connection != NO_CONNECTION).then(|| self.connections.get_mut(&connection)).flatten().filter(|c| c.idle);
        let Some(c) = reused else {
            self.recorder.add_level(self.now_s, Level::Connections, 1.0);
            if connection != NO_CONNECTION {
                self.connections
                    .insert(connection, Connection { served: 0, idle: false, held_by: None, epoch: 0, request: id });
            }
            return None;
        };
        c.idle = false;
        c.request = id;
        let held = c.held_by.take();
        self.recorder.add_level(self.now_s, Level::IdleConnections, -1.0);
        self.buffer_memory_changed(-self.settings.keepalive_mb);
        if let Some(t) = held {
            self.unhold(t);
        }
        held
    }

    /// If the server gives up reading request `id` (its client trickles headers for longer than
    /// `header_timeout_s`), the seconds after which it does; the request then fails.
    #[inline]
    pub fn read_cut_s(&self, id: ReqId) -> Option<f64> {
        let t = self.settings.header_timeout_s?;
        (self.request(id).header_s > t).then_some(t)
    }

    /// `thread` stops waiting on an idle connection: it is idle.
    fn unhold(&mut self, thread: ThreadId) {
        let th = &mut self.threads[thread.index()];
        debug_assert_eq!(th.state, ThreadState::KeepAlive);
        th.state = ThreadState::Idle;
        th.connection = NO_CONNECTION;
        if th.is_worker {
            self.recorder.add_level(self.now_s, Level::BusyWorkers, -1.0);
        }
    }

    /// An idle connection closes (its keep-alive timer ran out, or its process died).
    fn close_idle(&mut self, connection: u64) {
        if let Some(c) = self.connections.remove(&connection) {
            debug_assert!(c.idle);
            self.recorder.add_level(self.now_s, Level::Connections, -1.0);
            self.recorder.add_level(self.now_s, Level::IdleConnections, -1.0);
            self.buffer_memory_changed(-self.settings.keepalive_mb);
        }
    }

    /// The keep-alive timer of `connection` fired: if it is still idle in the same idle period
    /// it closes, and a worker waiting on it is told (`Notice::KeepAliveEnd`).
    pub(crate) fn keepalive_end(&mut self, connection: u64, epoch: u32) {
        if self.connections.get(&connection).is_some_and(|c| c.idle && c.epoch == epoch) {
            self.end_idle(connection);
        }
    }

    /// The idle `connection` closes now (if it is idle), and a worker waiting on it is told.
    fn end_idle(&mut self, connection: u64) {
        let Some(c) = self.connections.get(&connection) else { return };
        if !c.idle {
            return;
        }
        let held = c.held_by;
        self.close_idle(connection);
        if let Some(t) = held {
            self.unhold(t);
            self.notices.push_back(Notice::KeepAliveEnd { thread: t });
        }
    }

    /// The request leaves the server with `outcome` for its client; returns its arrival time and
    /// whether its client had given up (all the callers need — the record itself stays in its
    /// slot for reuse, uncopied).
    #[inline]
    fn release(&mut self, id: ReqId, outcome: Outcome) -> (f64, bool) {
        debug_assert!(self.is_live(id), "request {id:?} is not in the server");
        let r = &mut self.requests[id.index as usize];
        r.live = false;
        let (arrival, abandoned, started, user, hog) = (r.arrival_s, r.abandoned, r.started, r.user, r.hog_mb);
        let (connection, kept_open, reads) = (r.connection, r.kept_open, r.reads);
        self.free_requests.push(id.index);
        self.recorder.add_level(self.now_s, Level::InSystem, -1.0);
        if !reads {
            self.recorder.add_level(self.now_s, Level::NeverRead, -1.0);
        }
        if self.settings.keepalive_timeout_s.is_some() && !kept_open {
            // The connection closes with its last request.
            self.recorder.add_level(self.now_s, Level::Connections, -1.0);
            if connection != NO_CONNECTION {
                // Only if the entry is still this request's (a retry may have replaced it).
                if self.connections.get(&connection).is_some_and(|c| c.request == id) {
                    self.connections.remove(&connection);
                }
            }
        }
        let mb = self.settings.request_mb + hog;
        if started && mb > 0.0 {
            self.recorder.add_level(self.now_s, Level::MemoryMb, -mb);
        }
        if !abandoned && user != u32::MAX {
            self.notices.push_back(Notice::UserFree { user, outcome });
        }
        (arrival, abandoned)
    }

    /// The response to `id` is sent: the request is done.
    #[inline]
    pub fn complete(&mut self, id: ReqId) {
        if self.requests[id.index as usize].db_refused {
            // The application answered with an error page: "too many connections".
            let r = &self.requests[id.index as usize];
            if !r.abandoned {
                self.recorder.db_refused(self.now_s, r.arrival_s);
            }
            self.fail(id);
            return;
        }
        let cpu_s = self.requests[id.index as usize].cpu_s;
        let (arrival, abandoned) = self.release(id, Outcome::Answered);
        self.recorder.completed(self.now_s, arrival, abandoned);
        if abandoned {
            self.recorder.wasted_cpu(arrival, cpu_s);
        }
    }

    /// `id` is refused (backlog full).
    pub fn reject(&mut self, id: ReqId) {
        let (arrival, abandoned) = self.release(id, Outcome::Refused);
        if !abandoned {
            self.recorder.rejected(arrival);
        }
    }

    /// The server fails `id` (e.g. it waited too long for a daemon).
    pub fn fail(&mut self, id: ReqId) {
        let (arrival, abandoned) = self.release(id, Outcome::Failed);
        if !abandoned {
            self.recorder.failed(arrival);
        }
    }

    /// Memory outside processes (connection buffers) changed by `delta_mb`.
    pub fn buffer_memory_changed(&mut self, delta_mb: f64) {
        if delta_mb != 0.0 {
            self.recorder.add_level(self.now_s, Level::MemoryMb, delta_mb);
        }
    }

    /// The write buffers held by `process` (an event loop's connections) changed by `delta_mb`:
    /// part of its resident memory until they drain or it exits (so the OOM killer sees them).
    /// Ignored for a process that is not running (its buffers died with it).
    pub fn process_buffer_changed(&mut self, process: ProcessId, delta_mb: f64) {
        let p = &mut self.processes[process.index()];
        if delta_mb == 0.0 || !p.alive {
            return;
        }
        let was_largest = p.memory_mb >= self.recorder.level(Level::LargestProcessMb);
        p.grown_mb += delta_mb;
        p.memory_mb += delta_mb;
        self.recorder.add_level(self.now_s, Level::MemoryMb, delta_mb);
        if delta_mb > 0.0 {
            self.process_grew(process);
        } else if was_largest {
            self.process_shrank();
        }
    }

    /// Requests waiting for a worker changed by `delta`.
    #[inline]
    pub fn waiting_changed(&mut self, delta: i32) {
        self.recorder.add_level(self.now_s, Level::Waiting, f64::from(delta));
    }

    /// A worker takes `id`: its wait ends and it holds its per-request memory until it leaves.
    #[inline]
    fn begin_service(&mut self, id: ReqId) {
        let r = &mut self.requests[id.index as usize];
        if r.started {
            return;
        }
        r.started = true;
        let (arrival, hog) = (r.arrival_s, r.hog_mb);
        self.recorder.started(self.now_s, arrival);
        let mb = self.settings.request_mb + hog;
        if mb > 0.0 {
            self.recorder.add_level(self.now_s, Level::MemoryMb, mb);
        }
    }

    fn set_cpu_level(&mut self) {
        let busy = self.cpu.busy_cores();
        self.recorder.set_level(self.now_s, Level::BusyCores, busy);
    }

    /// Check `process`'s GIL after the CPU changes (see `Ctx::rearm_cpu`).
    fn watch_gil(&mut self, process: ProcessId) {
        if !self.gil_watch.contains(&process) {
            self.gil_watch.push(process);
        }
    }

    fn rearm_cpu(&mut self, sched: &mut Scheduler<Event>) {
        if let Some(t) = self.cpu.rearm(self.now_s) {
            sched.schedule_at(t, Event::CpuDone);
        }
        self.set_cpu_level();
    }
}

impl Ctx<'_> {
    /// Current simulated time, seconds.
    #[inline]
    pub fn now_s(&self) -> f64 {
        self.core.now_s
    }

    /// `thread` (idle) starts a task for `request`: `cpu_s` seconds on the CPU (under the GIL if
    /// its process has one), then `io_s` seconds of blocking wait. When both are done the
    /// architecture's `on_task_done` is called with the thread, now idle again.
    pub fn start(&mut self, thread: ThreadId, request: ReqId, cpu_s: f64, io_s: f64) {
        self.start_task(thread, request, Task { cpu_s, io_s, ..Task::default() });
    }

    /// Like `start`, with network waits: `pre_s` reading the request before the CPU and `post_s`
    /// writing the response after the IO, both holding the thread without using CPU.
    #[inline]
    pub fn start_task(&mut self, thread: ThreadId, request: ReqId, task: Task) {
        self.core.begin_service(request);
        let now = self.core.now_s;
        let th = &mut self.core.threads[thread.index()];
        debug_assert_eq!(th.state, ThreadState::Idle, "thread {thread} is busy");
        th.request = request;
        th.started_s = now;
        th.continuation = false;
        th.cpu_left_s = task.cpu_s;
        th.io_s = task.io_s;
        th.pre_s = task.pre_s;
        th.post_s = task.post_s;
        th.calls_left = task.calls.max(1);
        th.call_cpu_s = task.call_cpu_s;
        if th.is_worker {
            self.core.recorder.add_level(self.core.now_s, Level::BusyWorkers, 1.0);
        }
        if let Some(limit) = self.core.settings.request_timeout_s
            && request != ReqId::NONE
        {
            let epoch = self.core.threads[thread.index()].epoch;
            self.sched.schedule_in(limit, Event::Watchdog { thread, epoch });
        }
        if task.pre_s > 0.0 {
            let th = &mut self.core.threads[thread.index()];
            th.state = ThreadState::Net;
            let epoch = th.epoch;
            self.sched.schedule_in(task.pre_s, Event::IoDone { thread, epoch });
        } else {
            self.begin_cpu(thread);
        }
    }

    /// `thread`, which has just finished a task for `request`, stays on it for `post_s` more
    /// seconds writing the rest of its response (infinite: to a client that never reads). One
    /// request, one task as far as the watchdog (its deadline counts from the first task) and
    /// leaks (counted once) are concerned; `on_task_done` follows again.
    pub fn continue_task(&mut self, thread: ThreadId, request: ReqId, post_s: f64) {
        let now = self.core.now_s;
        let th = &mut self.core.threads[thread.index()];
        debug_assert_eq!(th.state, ThreadState::Idle, "thread {thread} is busy");
        th.request = request;
        th.cpu_left_s = 0.0;
        th.io_s = 0.0;
        th.pre_s = 0.0;
        th.post_s = post_s;
        th.calls_left = 1;
        th.continuation = true;
        let (epoch, started_s, is_worker) = (th.epoch, th.started_s, th.is_worker);
        if is_worker {
            self.core.recorder.add_level(now, Level::BusyWorkers, 1.0);
        }
        if let Some(limit) = self.core.settings.request_timeout_s {
            self.sched.schedule_at((started_s + limit).max(now), Event::Watchdog { thread, epoch });
        }
        self.begin_io(thread);
    }

    /// `thread`, waiting on the network or IO (not on the CPU or its GIL), stops now: its
    /// client's connection is gone. Its architecture's `on_task_done` follows.
    pub fn abort_task(&mut self, thread: ThreadId) {
        let state = self.core.threads[thread.index()].state;
        if matches!(state, ThreadState::Net | ThreadState::Io) {
            self.task_done(thread);
        }
    }

    /// Turn the GIL of `process` on or off in the running simulation. Turning it on keeps one
    /// running thread on the CPU as the holder and queues the others; turning it off lets every
    /// waiter run at once.
    pub fn set_gil(&mut self, process: ProcessId, on: bool) {
        let now = self.core.now_s;
        let p = process.index();
        if self.core.processes[p].gil.is_some() == on {
            return;
        }
        if on {
            let mut gil = Gil::default();
            let threads = self.core.processes[p].threads.clone();
            for t in threads {
                if self.core.threads[t.index()].state != ThreadState::Cpu {
                    continue;
                }
                if gil.holder.is_none() {
                    gil.holder = Some(t);
                    gil.switches = 1;
                } else {
                    let left = self.core.cpu.remove(now, t);
                    self.core.threads[t.index()].cpu_left_s = left;
                    gil.waiters.push_back(t);
                }
            }
            let waiters: Vec<ThreadId> = gil.waiters.iter().copied().collect();
            self.core.processes[p].gil = Some(gil);
            for t in waiters {
                self.start_gil_interval(t);
            }
        } else {
            let gil = self.core.processes[p].gil.take().expect("checked above");
            for t in gil.waiters {
                let th = &mut self.core.threads[t.index()];
                th.state = ThreadState::Cpu;
                let work = th.cpu_left_s;
                self.core.cpu.add(now, t, work);
            }
        }
        self.rearm_cpu();
    }

    /// `process` crashes now: every thread stops (off the CPU, out of the GIL queue, its IO
    /// forgotten), the process's memory is released, and it is scheduled to respawn after
    /// `respawn_s` (unless `respawn` is false, as for a CGI process that would exit anyway).
    /// Returns the requests its threads were serving; the architecture fails them together with
    /// any others it holds for this process. Does nothing if the process is already down.
    pub fn crash_process(&mut self, process: ProcessId, respawn: bool) -> Vec<ReqId> {
        let now = self.core.now_s;
        let p = process.index();
        if !self.core.processes[p].alive {
            return Vec::new();
        }
        let mut lost = Vec::new();
        for t in self.core.processes[p].threads.clone() {
            match self.core.threads[t.index()].state {
                ThreadState::Idle => continue,
                ThreadState::KeepAlive => {
                    // Its idle connection dies with it; no request is lost.
                    let connection = self.core.threads[t.index()].connection;
                    self.core.unhold(t);
                    self.core.close_idle(connection);
                    continue;
                }
                _ => {}
            }
            if self.core.cpu.contains(t) {
                self.core.cpu.remove(now, t);
            }
            let th = &mut self.core.threads[t.index()];
            lost.push(th.request);
            th.state = ThreadState::Idle;
            th.epoch = th.epoch.wrapping_add(1);
            th.request = ReqId::NONE;
            if th.is_worker {
                self.core.recorder.add_level(now, Level::BusyWorkers, -1.0);
            }
        }
        // Tasks finishing at this instant must not be delivered for the dead threads.
        let threads = &self.core.processes[p].threads;
        self.core.notices.retain(|n| !matches!(n, Notice::TaskDone { thread, .. } if threads.contains(thread)));
        if let Some(g) = &mut self.core.processes[p].gil {
            *g = Gil { switches: g.switches.wrapping_add(1), ..Gil::default() };
        }
        self.core.set_alive(process, false);
        let pr = &mut self.core.processes[p];
        pr.crashed_at_s = Some(now);
        pr.down = respawn;
        if respawn {
            self.sched.schedule_in(self.core.settings.respawn_s, Event::Respawn { process });
        }
        self.rearm_cpu();
        lost
    }

    /// Fail `request` because its process crashed.
    pub fn lose_to_crash(&mut self, request: ReqId) {
        if self.core.is_live(request) {
            let r = self.core.request(request);
            let (arrival, abandoned) = (r.arrival_s, r.abandoned);
            self.core.recorder.lost_to_crash(arrival, abandoned);
            self.core.fail(request);
        }
    }

    /// A crashed process is running again.
    pub(crate) fn respawned(&mut self, process: ProcessId) {
        let p = &mut self.core.processes[process.index()];
        if p.down {
            p.down = false;
            self.core.set_alive(process, true);
        }
    }

    /// `thread` (idle) spends `cpu_s` of CPU starting its process again (a recycled or respawned
    /// process importing the app); the architecture's `Server::on_spawn_done` follows.
    pub fn start_spawn(&mut self, thread: ThreadId, cpu_s: f64) {
        let th = &mut self.core.threads[thread.index()];
        debug_assert_eq!(th.state, ThreadState::Idle, "thread {thread} is busy");
        th.request = ReqId::NONE;
        th.cpu_left_s = cpu_s;
        th.io_s = 0.0;
        th.pre_s = 0.0;
        th.post_s = 0.0;
        if th.is_worker {
            self.core.recorder.add_level(self.core.now_s, Level::BusyWorkers, 1.0);
        }
        self.begin_cpu(thread);
    }

    /// The watchdog of `thread`'s task fired: if it is still on that task, its process is killed.
    pub(crate) fn watchdog(&mut self, thread: ThreadId, epoch: u32) {
        let th = &self.core.threads[thread.index()];
        if th.epoch == epoch && th.state != ThreadState::Idle {
            let process = th.process;
            self.core.notices.push_back(Notice::Crash { process, cause: Death::Watchdog });
        }
    }

    /// Memory pressure, checked after every event: beyond physical memory the machine swaps and
    /// all CPU work slows down; past physical memory plus swap the OOM killer kills the largest
    /// process (handled like a crash).
    pub(crate) fn check_memory(&mut self) {
        let Some(ram) = self.core.settings.memory_mb else { return };
        let now = self.core.now_s;
        let used = self.core.recorder.level(Level::MemoryMb);
        if used > ram + self.core.settings.swap_mb {
            let largest = (0..self.core.processes.len())
                .filter(|&p| self.core.processes[p].alive)
                .max_by(|&a, &b| self.core.processes[a].memory_mb.total_cmp(&self.core.processes[b].memory_mb));
            if let Some(p) = largest {
                let process = ProcessId(p as u32);
                if !self.core.notices.iter().any(|n| matches!(n, Notice::Crash { process: q, .. } if *q == process)) {
                    self.core.notices.push_back(Notice::Crash { process, cause: Death::OutOfMemory });
                }
            }
        }
        let swapping = used > ram;
        let speed = if swapping { 1.0 / self.core.settings.swap_slowdown.max(1.0) } else { 1.0 };
        if speed != self.core.cpu.speed() {
            self.core.cpu.set_speed(now, speed);
            self.core.recorder.set_level(now, Level::Swapping, if swapping { 1.0 } else { 0.0 });
            self.rearm_cpu();
        }
    }

    /// The response to `request` has been written. With keep-alive on, its connection then stays
    /// open for the client's next request — unless the client closes it or gave up, or it has
    /// carried `keepalive_requests` — for at most `keepalive_timeout_s`. A `thread` given here
    /// waits on the idle connection (`ThreadState::KeepAlive`, still taken from the pool) until
    /// the next request comes (`Server::on_kept_alive_arrival`) or the timer closes it
    /// (`Server::on_keepalive_end`); without one the idle connection holds only memory (an
    /// event loop, a front-end). Call before completing the request. True if the connection
    /// stays open.
    pub fn keep_alive(&mut self, request: ReqId, thread: Option<ThreadId>) -> bool {
        let Some(timeout_s) = self.core.settings.keepalive_timeout_s else { return false };
        let r = self.core.request(request);
        let (connection, closes, abandoned) = (r.connection, r.closes, r.abandoned);
        let limit = self.core.settings.keepalive_requests;
        let Some(c) = self.core.connections.get_mut(&connection).filter(|c| c.request == request) else {
            return false;
        };
        c.served += 1;
        if closes || abandoned || c.served >= limit {
            return false;
        }
        c.idle = true;
        self.core.idle_periods = self.core.idle_periods.wrapping_add(1);
        c.epoch = self.core.idle_periods;
        c.held_by = thread;
        let epoch = c.epoch;
        let now = self.core.now_s;
        self.core.requests[request.index as usize].kept_open = true;
        self.core.recorder.add_level(now, Level::IdleConnections, 1.0);
        self.core.buffer_memory_changed(self.core.settings.keepalive_mb);
        if let Some(t) = thread {
            let th = &mut self.core.threads[t.index()];
            debug_assert_eq!(th.state, ThreadState::Idle, "thread {t} is busy");
            th.state = ThreadState::KeepAlive;
            th.connection = connection;
            th.request = ReqId::NONE;
            if th.is_worker {
                self.core.recorder.add_level(now, Level::BusyWorkers, 1.0);
            }
        }
        self.sched.schedule_in(timeout_s, Event::KeepAliveEnd { connection, epoch });
        true
    }

    /// `request`'s IO of `io_s` seconds from a loop in `process`, without holding a thread: a
    /// database query if there is a backend, otherwise a plain wait (`park`). Either way the
    /// architecture's `on_park_done` follows.
    pub fn park_io(&mut self, process: ProcessId, request: ReqId, io_s: f64) {
        if self.core.backend.is_none() {
            self.park(request, io_s);
        } else if !self.query(process, super::backend::Waiter::Parked(request), io_s) {
            self.core.refuse_query(request);
            self.park(request, 0.0);
        }
    }

    /// Park `request` for `delay_s` seconds without holding any thread (non-blocking IO); the
    /// architecture's `on_park_done` is called afterwards (never, for an infinite delay: a
    /// response its client never reads).
    pub fn park(&mut self, request: ReqId, delay_s: f64) {
        if delay_s.is_finite() {
            self.sched.schedule_in(delay_s, Event::ParkDone { request });
        }
    }

    #[inline]
    fn begin_cpu(&mut self, thread: ThreadId) {
        let now = self.core.now_s;
        let th = &mut self.core.threads[thread.index()];
        if th.cpu_left_s <= 0.0 {
            self.begin_io(thread);
            return;
        }
        let process = th.process.index();
        if let Some(gil) = &mut self.core.processes[process].gil {
            if gil.holder.is_some() {
                gil.waiters.push_back(thread);
                self.start_gil_interval(thread);
                return;
            }
            gil.holder = Some(thread);
            gil.switches = gil.switches.wrapping_add(1);
            gil.pending_take = true;
            self.core.watch_gil(ProcessId(process as u32));
        }
        let th = &mut self.core.threads[thread.index()];
        th.state = ThreadState::Cpu;
        let work = th.cpu_left_s;
        self.core.cpu.add(now, thread, work);
        self.rearm_cpu();
    }

    /// `thread` (already in its process's GIL queue) waits for the GIL: like CPython's
    /// `take_gil`, it waits on its own for one switch interval, remembering the switch count.
    fn start_gil_interval(&mut self, thread: ThreadId) {
        let process = self.core.threads[thread.index()].process.index();
        let Some(gil) = &self.core.processes[process].gil else { return };
        let switches = gil.switches;
        let th = &mut self.core.threads[thread.index()];
        th.state = ThreadState::GilWait;
        th.gil_wait = th.gil_wait.wrapping_add(1);
        th.gil_seen = switches;
        let wait = th.gil_wait;
        self.sched.schedule_in(self.core.settings.gil_switch_s, Event::GilTimeout { thread, wait });
    }

    /// Give the GIL of `process` to the first waiter, if any. The waiter was asleep: the OS
    /// wakes it, a context switch, and that costs it `gil_switch_cost_s` of CPU before its own
    /// work goes on.
    fn hand_gil_to_next(&mut self, process: ProcessId) {
        let now = self.core.now_s;
        let cost = self.core.settings.gil_switch_cost_s;
        let Some(gil) = &mut self.core.processes[process.index()].gil else { return };
        // The holder gives the GIL up: a request to drop it is answered.
        gil.drop_request = false;
        gil.holder = gil.waiters.pop_front();
        if let Some(next) = gil.holder {
            gil.switches = gil.switches.wrapping_add(1);
            gil.pending_take = true;
            self.core.watch_gil(process);
            let th = &mut self.core.threads[next.index()];
            th.state = ThreadState::Cpu;
            th.cpu_left_s += cost;
            let work = th.cpu_left_s;
            self.core.cpu.add(now, next, work);
        }
    }

    /// The switch interval of `thread`'s wait number `wait` for the GIL ended. If the GIL has
    /// not changed hands since the interval began, the waiter asks the holder to drop it: a
    /// holder on a core drops it at once (it checks at every few bytecodes), one preempted by
    /// the OS when it runs again. The holder joins the back of the queue with its remaining
    /// work, and the first waiter takes the GIL. If it has changed hands, or the new holder has
    /// not taken it yet, the waiter waits another full interval from now (CPython 3.2+).
    pub(crate) fn gil_timeout(&mut self, thread: ThreadId, wait: u32) {
        let th = &self.core.threads[thread.index()];
        if th.state != ThreadState::GilWait || th.gil_wait != wait {
            return;
        }
        let (process, seen) = (th.process, th.gil_seen);
        let Some(gil) = &mut self.core.processes[process.index()].gil else { return };
        let holder = match gil.holder {
            Some(h) if gil.switches == seen && !gil.pending_take => h,
            _ => {
                let switches = gil.switches;
                self.core.threads[thread.index()].gil_seen = switches;
                self.sched.schedule_in(self.core.settings.gil_switch_s, Event::GilTimeout { thread, wait });
                return;
            }
        };
        if !self.core.cpu.on_core(holder) {
            // Preempted, it cannot see the request until it runs again (see `rearm_cpu`).
            gil.drop_request = true;
            self.core.watch_gil(process);
            self.sched.schedule_in(self.core.settings.gil_switch_s, Event::GilTimeout { thread, wait });
            return;
        }
        self.force_switch(process, holder);
        self.rearm_cpu();
    }

    /// The holder of `process`'s GIL drops it on request: the first waiter is given it, and the
    /// old holder queues behind the others; its own wait begins when the new holder takes it.
    fn force_switch(&mut self, process: ProcessId, holder: ThreadId) {
        let now = self.core.now_s;
        let left = self.core.cpu.remove(now, holder);
        let th = &mut self.core.threads[holder.index()];
        th.cpu_left_s = left;
        th.state = ThreadState::GilWait;
        th.gil_wait = th.gil_wait.wrapping_add(1);
        self.hand_gil_to_next(process);
        if let Some(gil) = &mut self.core.processes[process.index()].gil {
            gil.waiters.push_back(holder);
            gil.after_take = Some(holder);
        }
    }

    /// After a change to the CPU: a GIL holder that has got its core takes the GIL (and the
    /// old holder of a forced switch starts waiting), or drops it if asked to while it was
    /// preempted; then the next CPU event is scheduled.
    fn rearm_cpu(&mut self) {
        let mut i = 0;
        while i < self.core.gil_watch.len() {
            let p = self.core.gil_watch[i].index();
            let cpu = &self.core.cpu;
            let Some(gil) = &mut self.core.processes[p].gil else {
                self.core.gil_watch.swap_remove(i);
                continue;
            };
            let running = gil.holder.is_some_and(|h| cpu.on_core(h));
            if gil.pending_take && running {
                gil.pending_take = false;
                if let Some(old) = gil.after_take.take() {
                    self.start_gil_interval(old);
                }
                continue;
            }
            if gil.drop_request && !gil.pending_take && running {
                let holder = gil.holder.expect("running");
                self.force_switch(ProcessId(p as u32), holder);
                continue;
            }
            if gil.pending_take || gil.drop_request {
                i += 1;
            } else {
                self.core.gil_watch.swap_remove(i);
            }
        }
        self.core.rearm_cpu(self.sched);
    }

    /// The CPU completion event fired.
    pub(crate) fn cpu_event(&mut self) {
        let now = self.core.now_s;
        let mut done = std::mem::take(&mut self.core.done_buf);
        if self.core.cpu.fire(now, &mut done) {
            for &thread in &done {
                let th = &mut self.core.threads[thread.index()];
                th.cpu_left_s = 0.0;
                let process = th.process;
                let holds_gil =
                    self.core.processes[process.index()].gil.as_ref().is_some_and(|g| g.holder == Some(thread));
                if holds_gil {
                    self.hand_gil_to_next(process);
                }
                let request = self.core.threads[thread.index()].request;
                if self.core.is_live(request) && self.core.request(request).crashes {
                    // The C extension segfaults: the whole process goes, see `crash_process`.
                    self.core.notices.push_back(Notice::Crash { process, cause: Death::Crash });
                    continue;
                }
                self.begin_io(thread);
            }
            self.rearm_cpu();
        }
        done.clear();
        self.core.done_buf = done;
    }

    /// `thread`'s blocking call returned and its task makes another: first the CPU before it
    /// (under the GIL, taken again).
    fn next_call(&mut self, thread: ThreadId) {
        let th = &mut self.core.threads[thread.index()];
        th.calls_left -= 1;
        th.cpu_left_s = th.call_cpu_s;
        self.begin_cpu(thread);
    }

    #[inline]
    fn begin_io(&mut self, thread: ThreadId) {
        let th = &mut self.core.threads[thread.index()];
        if th.io_s <= 0.0 && th.calls_left > 1 {
            // A call that takes no time still gives up the GIL and takes it again.
            self.next_call(thread);
            return;
        }
        if th.io_s > 0.0 && self.core.backend.is_some() {
            th.state = ThreadState::Io;
            let (io, epoch, process, request) = (th.io_s, th.epoch, th.process, th.request);
            if !self.query(process, super::backend::Waiter::Thread { thread, epoch }, io) {
                // No connection: the application gives up on its query at once.
                self.core.refuse_query(request);
                self.io_done(thread, epoch);
            }
        } else if th.io_s > 0.0 {
            th.state = ThreadState::Io;
            let (io, epoch) = (th.io_s, th.epoch);
            // A wait that never returns schedules nothing: only a watchdog or a crash ends it.
            if io.is_finite() {
                self.sched.schedule_in(io, Event::IoDone { thread, epoch });
            }
        } else if th.post_s > 0.0 {
            th.state = ThreadState::Net;
            let (post, epoch) = (th.post_s, th.epoch);
            // Writing to a client that never reads never ends.
            if post.is_finite() {
                self.sched.schedule_in(post, Event::IoDone { thread, epoch });
            }
        } else {
            self.task_done(thread);
        }
    }

    /// A thread's IO or network wait finished.
    pub(crate) fn io_done(&mut self, thread: ThreadId, epoch: u32) {
        let th = &mut self.core.threads[thread.index()];
        if th.epoch != epoch {
            return;
        }
        match th.state {
            ThreadState::Net if th.pre_s > 0.0 => {
                // The request has been read: now its CPU.
                th.pre_s = 0.0;
                self.begin_cpu(thread);
            }
            ThreadState::Io if th.calls_left > 1 => self.next_call(thread),
            ThreadState::Io if th.post_s > 0.0 => {
                // Writing the part of the response that does not fit in the socket buffer.
                th.state = ThreadState::Net;
                let delay = th.post_s;
                if delay.is_finite() {
                    self.sched.schedule_in(delay, Event::IoDone { thread, epoch });
                }
            }
            ThreadState::Io | ThreadState::Net => self.task_done(thread),
            ThreadState::Idle | ThreadState::Cpu | ThreadState::GilWait | ThreadState::KeepAlive => {}
        }
    }

    #[inline]
    fn task_done(&mut self, thread: ThreadId) {
        let th = &mut self.core.threads[thread.index()];
        th.state = ThreadState::Idle;
        th.epoch = th.epoch.wrapping_add(1);
        let (request, process, continuation) = (th.request, th.process, th.continuation);
        if self.core.is_live(request) && !continuation {
            let leak_mb = self.core.request(request).leak_kb / 1024.0;
            if leak_mb > 0.0 {
                let p = &mut self.core.processes[process.index()];
                p.grown_mb += leak_mb;
                p.memory_mb += leak_mb;
                if p.alive {
                    self.core.recorder.add_level(self.core.now_s, Level::MemoryMb, leak_mb);
                    self.core.process_grew(process);
                }
            }
        }
        let th = &self.core.threads[thread.index()];
        if th.is_worker {
            self.core.recorder.add_level(self.core.now_s, Level::BusyWorkers, -1.0);
        }
        self.core.notices.push_back(Notice::TaskDone { thread, request });
    }
}
