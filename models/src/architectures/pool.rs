//! A listen queue feeding a pool of worker threads spread over processes: the mechanism of the
//! threaded, prefork and worker architectures, of the daemon pool behind a front-end, and (with a
//! fresh process per request) of CGI. A worker holds its request for all of its CPU and IO.
//!
//! The pool can be resized while it runs: new threads (and processes) start idle and take
//! waiting requests at once; surplus threads finish their current request and then retire, and a
//! process whose threads have all retired exits.

use crate::engine::{ProcessId, ThreadId};
use std::collections::VecDeque;

use super::Server;
use super::output::{SlowReader, beyond_buffer_s};
use crate::config::{Accept, Discipline, DynamicPool};
use crate::engine::{Core, Ctx, ReqId, Task, ThreadState};
use crate::metrics::ProcessEvent;
use crate::view::{MAX_DOTS, ProcessRole, ServerView};

/// How the pool's processes live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spawn {
    /// Processes start with the server and stay.
    Persistent,
    /// Each request gets a new process (CGI): it starts, spends `startup_s` of CPU, serves the
    /// request and exits.
    PerRequest {
        /// CPU seconds to start the interpreter and import the app.
        startup_s: f64,
    },
}

/// Worker threads taking requests first-come first-served from one listen queue.
#[derive(Debug)]
pub struct WorkerPool {
    queue: VecDeque<ReqId>,
    idle: VecDeque<ThreadId>,
    /// The pool's processes, in creation order, with their threads.
    processes: Vec<(ProcessId, Vec<ThreadId>)>,
    backlog: Option<u32>,
    queue_timeout_s: Option<f64>,
    spawn: Spawn,
    gil: bool,
    process_mb: f64,
    /// The listening socket belongs to a parent that survives worker crashes (Apache's and
    /// gunicorn's master, a daemon front-end); false for a single-process server, whose socket
    /// dies with it.
    master_socket: bool,
    /// Workers talk to clients themselves (reading the request, writing the response beyond the
    /// socket buffer); false behind a front-end that does it for them.
    direct_clients: bool,
    /// Kernel socket send buffer per connection, KB.
    socket_buffer_kb: f64,
    /// Recycle a process after this many requests.
    max_requests: Option<u32>,
    /// CPU seconds a recycled process spends starting again.
    spawn_s: f64,
    /// CPU seconds a process restarted after a crash spends before it serves (the import).
    respawn_cpu_s: f64,
    /// Per pool process (same order as `processes`): requests served since it (re)started.
    served: Vec<u32>,
    /// Per pool process: finishing its last requests before it is recycled.
    recycling: Vec<bool>,
    /// Which waiting request a free worker takes.
    discipline: Discipline,
    /// The connection of clients that never read, with the socket buffer as its buffer.
    slow_reader: SlowReader,
    /// Apache-style idle-worker maintenance, for a dynamic pool.
    dynamic: Option<Dynamic>,
    /// How a connection reaches a worker.
    accept: Accept,
    /// With a per-process policy: each pool process's own queue (same order as `processes`).
    /// `queue` then holds only connections no process could take (every one down, recycling or
    /// retired), which the next free worker takes.
    own: Vec<VecDeque<ReqId>>,
    /// Round robin: the pool process index to try next.
    turn: usize,
    /// Most recent: per pool process, when it last went back to waiting for a connection (a
    /// larger number is more recent), and the counter those numbers come from.
    went_to_wait: Vec<u64>,
    wait_clock: u64,
}

/// A dynamic pool's state (see `DynamicPool`).
#[derive(Debug)]
struct Dynamic {
    config: DynamicPool,
    /// Most processes running at once (MaxRequestWorkers / ThreadsPerChild).
    max_processes: u32,
    /// Threads of each process it forks.
    threads: u32,
    /// Processes to fork at the next pass if still short (1, doubling to 32).
    spawn_rate: u32,
}

/// The pool `WorkerPool::build` creates (the rest is set with the `with_*` builders).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolConfig {
    /// Processes at the start.
    pub processes: u32,
    /// Threads per process.
    pub threads: u32,
    /// Each process has a GIL.
    pub gil: bool,
    /// Resident memory of each process, MB.
    pub process_mb: f64,
    /// Requests that may wait for a worker (`None` = unlimited).
    pub backlog: Option<u32>,
    /// Whether processes persist or start per request.
    pub spawn: Spawn,
}

impl WorkerPool {
    /// Create `config.processes` processes of `config.threads` threads each in `core`. Idle
    /// threads take work in the order they became idle, which spreads requests over processes.
    pub fn build(core: &mut Core, config: PoolConfig) -> Self {
        let PoolConfig { processes, threads, gil, process_mb, backlog, spawn } = config;
        let mut pool = Self {
            queue: VecDeque::new(),
            idle: VecDeque::new(),
            processes: Vec::new(),
            backlog,
            queue_timeout_s: None,
            spawn,
            gil,
            process_mb,
            master_socket: true,
            direct_clients: true,
            socket_buffer_kb: 0.0,
            max_requests: None,
            spawn_s: 0.0,
            respawn_cpu_s: 0.0,
            served: Vec::new(),
            recycling: Vec::new(),
            discipline: Discipline::Fifo,
            slow_reader: SlowReader::new(Some(0.0)),
            dynamic: None,
            accept: Accept::Shared,
            own: Vec::new(),
            turn: 0,
            went_to_wait: Vec::new(),
            wait_clock: 0,
        };
        for _ in 0..processes {
            pool.add_process(core, threads);
        }
        pool
    }

    fn add_process(&mut self, core: &mut Core, threads: u32) {
        let p = core.add_process(self.gil, self.process_mb, self.spawn == Spawn::Persistent);
        let ts: Vec<ThreadId> = (0..threads).map(|_| core.add_thread(p, true)).collect();
        self.idle.extend(ts.iter().copied());
        self.processes.push((p, ts));
        self.served.push(0);
        self.recycling.push(false);
        self.own.push(VecDeque::new());
        self.went_to_wait.push(0);
    }

    /// How connections reach workers (`Accept::Shared` unless set).
    pub fn with_accept(mut self, accept: Accept) -> Self {
        self.accept = accept;
        self
    }

    /// An idle worker for the shared queue, by the accept policy's wake-up order.
    #[inline]
    fn take_idle(&mut self, core: &Core) -> Option<ThreadId> {
        if self.accept == Accept::MostRecent { self.take_most_recent(core) } else { self.idle.pop_front() }
    }

    /// Pool index of `thread`'s process.
    fn index_of(&self, core: &Core, thread: ThreadId) -> Option<usize> {
        let process = core.threads[thread.index()].process;
        self.processes.iter().position(|(p, _)| *p == process)
    }

    /// Most recent: a process waits for connections (in `epoll_wait`) while it has an idle
    /// worker; the kernel wakes the one that went back to waiting last. It accepts, and if it
    /// still has an idle worker it goes straight back to waiting — on top again — so it keeps
    /// taking connections until all its workers are busy. Its most recently idle worker serves.
    fn take_most_recent(&mut self, core: &Core) -> Option<ThreadId> {
        let mut best: Option<(u64, usize)> = None;
        for (k, &t) in self.idle.iter().enumerate() {
            let stamp = self.index_of(core, t).map_or(0, |i| self.went_to_wait[i]);
            if best.is_none_or(|(s, _)| stamp >= s) {
                best = Some((stamp, k));
            }
        }
        let (_, k) = best?;
        let thread = self.idle.remove(k)?;
        let process = core.threads[thread.index()].process;
        if let Some(i) = self.index_of(core, thread)
            && self.idle.iter().any(|&t| core.threads[t.index()].process == process)
        {
            self.wait_clock += 1;
            self.went_to_wait[i] = self.wait_clock;
        }
        Some(thread)
    }

    /// `thread` joins the idle workers. Most recent: a process that had none idle goes back to
    /// waiting for connections now, on top of the others.
    #[inline]
    fn push_idle(&mut self, core: &Core, thread: ThreadId) {
        if self.accept == Accept::MostRecent {
            let process = core.threads[thread.index()].process;
            if !self.idle.iter().any(|&t| core.threads[t.index()].process == process)
                && let Some(i) = self.index_of(core, thread)
            {
                self.wait_clock += 1;
                self.went_to_wait[i] = self.wait_clock;
            }
        }
        self.idle.push_back(thread);
    }

    /// True if pool process `i` takes connections into its own queue now.
    fn accepting(&self, core: &Core, i: usize) -> bool {
        let (p, ts) = &self.processes[i];
        let proc = &core.processes[(*p).index()];
        proc.alive && !proc.down && !self.recycling[i] && ts.iter().any(|&t| core.threads[t.index()].enabled)
    }

    /// The pool process a per-process policy hands the next connection to, if any accepts.
    fn choose(&mut self, cx: &mut Ctx<'_>) -> Option<usize> {
        let n = self.processes.len();
        match self.accept {
            Accept::Random => {
                let open: Vec<usize> = (0..n).filter(|&i| self.accepting(cx.core, i)).collect();
                (!open.is_empty()).then(|| open[cx.core.pick(open.len())])
            }
            Accept::RoundRobin => {
                let i = (0..n).map(|k| (self.turn + k) % n).find(|&i| self.accepting(cx.core, i))?;
                self.turn = (i + 1) % n;
                Some(i)
            }
            Accept::Shared | Accept::MostRecent => None,
        }
    }

    /// A per-process policy: `request` goes to the process it chooses — to an idle thread of it,
    /// or into its queue (refused if that queue holds `backlog` already). False if no process
    /// accepts now (the caller queues it in the shared queue).
    fn arrive_own(&mut self, cx: &mut Ctx<'_>, request: ReqId) -> bool {
        let Some(i) = self.choose(cx) else { return false };
        let p = self.processes[i].0;
        if let Some(k) = self.idle.iter().position(|&t| cx.core.threads[t.index()].process == p) {
            let thread = self.idle.remove(k).expect("position is in range");
            self.serve(cx, thread, request);
        } else if self.backlog.is_none_or(|b| self.own[i].len() < b as usize) {
            self.own[i].push_back(request);
            cx.core.waiting_changed(1);
        } else {
            cx.core.reject(request);
        }
        true
    }

    /// Pool process `i` stops taking connections (recycling, retired): what waits in its own
    /// queue goes back to the shared queue, where the next free worker takes it.
    fn hand_back(&mut self, cx: &mut Ctx<'_>, i: usize) {
        if self.own[i].is_empty() {
            return;
        }
        let mine = std::mem::take(&mut self.own[i]);
        self.queue.extend(mine);
        while !self.queue.is_empty() {
            let Some(thread) = self.take_idle(cx.core) else { break };
            self.next(cx, thread);
        }
    }

    /// Fail requests that waited longer than `timeout_s` for a worker (checked when a worker
    /// picks them up, as mod_wsgi's queue-timeout does).
    pub fn with_queue_timeout(mut self, timeout_s: Option<f64>) -> Self {
        self.queue_timeout_s = timeout_s;
        self
    }

    /// Workers write responses through a kernel socket buffer of `kb` KB: a worker is free once
    /// the rest of the response fits in it.
    pub fn with_socket_buffer(mut self, kb: f64) -> Self {
        self.socket_buffer_kb = kb;
        self.slow_reader = SlowReader::new(Some(kb));
        self
    }

    /// Recycle each process after `max_requests` requests (MaxRequestsPerChild, gunicorn
    /// max_requests); a recycled process spends `spawn_s` of CPU starting again.
    pub fn with_recycling(mut self, max_requests: Option<u32>, spawn_s: f64) -> Self {
        self.max_requests = max_requests;
        self.spawn_s = spawn_s;
        self
    }

    /// The pool of server `c` (persistent processes): `processes` × `threads` workers with the
    /// server's memory, backlog, socket buffer, queue discipline and time-out, recycling and
    /// respawn costs — what every pool architecture shares.
    pub fn of_server(core: &mut Core, c: &crate::config::ServerConfig, processes: u32, threads: u32) -> Self {
        Self::build(
            core,
            PoolConfig {
                processes,
                threads,
                gil: c.gil,
                process_mb: c.process_image_mb(),
                backlog: c.listen_backlog,
                spawn: Spawn::Persistent,
            },
        )
        .with_socket_buffer(c.socket_buffer_kb)
        .with_discipline(c.queue_discipline)
        .with_queue_timeout(c.queue_timeout_s)
        .with_recycling(c.max_requests, c.recycle_cpu_s())
        .with_respawn_cpu(c.respawn_cpu_s())
        .with_accept(c.accept)
    }

    /// A dynamic pool (`Some`): it was built with `start_processes` processes and grows to at
    /// most `max_processes` of `threads` threads, forking at the recycling cost (`with_recycling`'s
    /// `spawn_s`, so call that first).
    pub fn with_dynamic(mut self, dynamic: Option<DynamicPool>, max_processes: u32, threads: u32) -> Self {
        self.dynamic = dynamic.map(|config| Dynamic { config, max_processes, threads: threads.max(1), spawn_rate: 1 });
        self
    }

    /// Processes that are part of the pool: those with an enabled thread (running, starting,
    /// recycling or crashed and due to respawn).
    fn active_processes(&self, core: &Core) -> usize {
        self.processes.iter().filter(|(_, ts)| ts.iter().any(|&t| core.threads[t.index()].enabled)).count()
    }

    /// The parent's idle-worker maintenance (Apache's perform_idle_server_maintenance): fewer
    /// than `min_spare_workers` idle workers → fork `spawn_rate` processes (within the maximum)
    /// and double the rate for the next pass while the shortage lasts (up to 32); more than
    /// `max_spare_workers` → stop one idle process; otherwise the rate falls back to 1.
    pub fn maintain(&mut self, cx: &mut Ctx<'_>) {
        let Some(d) = &self.dynamic else { return };
        let (config, max, rate) = (d.config, d.max_processes as usize, d.spawn_rate);
        // A crashed process due to respawn counts as idle workers to come (the parent must not
        // replace it twice).
        let respawning: usize = self
            .processes
            .iter()
            .filter(|(p, _)| cx.core.processes[(*p).index()].down)
            .map(|(_, ts)| ts.iter().filter(|&&t| cx.core.threads[t.index()].enabled).count())
            .sum();
        let (idle, idle_to_come) = (self.idle.len() as u32, (self.idle.len() + respawning) as u32);
        let active = self.active_processes(cx.core);
        let mut next_rate = 1;
        if active > max || idle > config.max_spare_workers {
            self.stop_idle_process(cx);
        } else if idle_to_come < config.min_spare_workers && active < max {
            for _ in 0..(rate as usize).min(max - active) {
                self.fork(cx);
            }
            next_rate = (rate * 2).min(DynamicPool::MAX_SPAWN_RATE);
        }
        if let Some(d) = &mut self.dynamic {
            d.spawn_rate = next_rate;
        }
    }

    /// Fork a process into the pool (reusing the slot of a stopped one): it spends the spawn
    /// CPU, then its threads take work.
    fn fork(&mut self, cx: &mut Ctx<'_>) {
        let threads = self.dynamic.as_ref().map_or(1, |d| d.threads);
        cx.core.recorder.process_event(cx.now_s(), ProcessEvent::Spawn);
        let stopped = self.processes.iter().position(|(p, ts)| {
            !cx.core.processes[(*p).index()].alive
                && !cx.core.processes[(*p).index()].down
                && ts.iter().all(|&t| !cx.core.threads[t.index()].enabled)
        });
        let process = match stopped {
            Some(i) => {
                let (process, ts) = self.processes[i].clone();
                for &t in ts.iter().take(threads as usize) {
                    cx.core.set_thread_enabled(t, true);
                }
                for _ in ts.len()..threads as usize {
                    let t = cx.core.add_thread(process, true);
                    self.processes[i].1.push(t);
                }
                self.served[i] = 0;
                self.recycling[i] = false;
                cx.core.set_alive(process, true);
                process
            }
            None => {
                self.add_process(cx.core, threads);
                let (process, ts) = self.processes.last().expect("just added").clone();
                self.idle.retain(|t| !ts.contains(t));
                process
            }
        };
        let first = self.processes.iter().find(|(p, _)| *p == process).map(|(_, ts)| ts[0]).expect("a pool process");
        if self.spawn_s > 0.0 {
            cx.start_spawn(first, self.spawn_s);
        } else {
            self.started(cx, process);
        }
    }

    /// Stop the newest process whose workers are all idle (Apache signals one idle child a
    /// second to exit gracefully).
    fn stop_idle_process(&mut self, cx: &mut Ctx<'_>) {
        let Some(i) = (0..self.processes.len()).rev().find(|&i| {
            let (p, ts) = &self.processes[i];
            cx.core.processes[(*p).index()].alive
                && !self.recycling[i]
                && ts.iter().any(|&t| cx.core.threads[t.index()].enabled)
                && ts.iter().all(|&t| !cx.core.threads[t.index()].enabled || self.idle.contains(&t))
        }) else {
            return;
        };
        let (process, ts) = self.processes[i].clone();
        for &t in &ts {
            cx.core.set_thread_enabled(t, false);
        }
        self.idle.retain(|t| !ts.contains(t));
        cx.core.set_alive(process, false);
        cx.core.recorder.process_event(cx.now_s(), ProcessEvent::Reap);
    }

    /// A process restarted after a crash spends `cpu_s` of CPU (importing the application)
    /// before its threads take work.
    pub fn with_respawn_cpu(mut self, cpu_s: f64) -> Self {
        self.respawn_cpu_s = cpu_s;
        self
    }

    /// Take waiting requests in this order.
    pub fn with_discipline(mut self, discipline: Discipline) -> Self {
        self.discipline = discipline;
        self
    }

    /// A front-end reads requests and buffers responses for these workers (daemon mode).
    pub fn behind_front_end(mut self) -> Self {
        self.direct_clients = false;
        self
    }

    /// Seconds a worker spends writing `request`'s response before the rest fits in the socket
    /// buffer (0 for a fast client or a small response).
    fn write_hold_s(&self, core: &Core, request: ReqId) -> f64 {
        let r = core.request(request);
        beyond_buffer_s(r.response_kb, self.socket_buffer_kb, r.bandwidth_kbps)
    }

    /// The listening socket lives in the worker process itself (a single-process server).
    pub fn without_master(mut self) -> Self {
        self.master_socket = false;
        self
    }

    fn listener_down(&self, core: &Core) -> bool {
        !self.master_socket && self.processes.iter().all(|(p, _)| core.processes[(*p).index()].down)
    }

    /// `process` crashed: its requests are lost; a single-process server also loses its listen
    /// queue and refuses connections until it respawns.
    pub fn crash(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        let per_request = matches!(self.spawn, Spawn::PerRequest { .. });
        for r in cx.crash_process(process, !per_request) {
            cx.lose_to_crash(r);
        }
        self.slow_reader.reset_if_held_by(cx, process);
        let threads = cx.core.processes[process.index()].threads.clone();
        if let Some(i) = self.processes.iter().position(|(p, _)| *p == process) {
            self.served[i] = 0;
            self.recycling[i] = false;
            // The connections it had accepted (or that the kernel queued on its socket) die with it.
            while let Some(r) = self.own[i].pop_front() {
                cx.core.waiting_changed(-1);
                cx.lose_to_crash(r);
            }
        }
        if per_request {
            // A CGI process dies with its request; the slot takes the next one (a new process).
            for t in threads {
                if cx.core.threads[t.index()].enabled {
                    self.next(cx, t);
                }
            }
            return;
        }
        self.idle.retain(|t| !threads.contains(t));
        if self.listener_down(cx.core) {
            while let Some(r) = self.queue.pop_front() {
                cx.core.waiting_changed(-1);
                cx.lose_to_crash(r);
            }
        }
    }

    /// A crashed `process` runs again: its threads take waiting requests.
    pub fn respawn(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        let threads = cx.core.processes[process.index()].threads.clone();
        let enabled: Vec<ThreadId> = threads.into_iter().filter(|&t| cx.core.threads[t.index()].enabled).collect();
        if enabled.is_empty() {
            // Retired by a resize while it was down: it stays down.
            cx.core.set_alive(process, false);
            return;
        }
        if self.respawn_cpu_s > 0.0 && self.spawn == Spawn::Persistent {
            // It imports the application first; `done` with no request then starts its threads.
            cx.start_spawn(enabled[0], self.respawn_cpu_s);
            return;
        }
        for t in enabled {
            self.next(cx, t);
        }
    }

    /// Requests waiting for a worker.
    pub fn waiting(&self) -> usize {
        self.queue.len() + self.own.iter().map(VecDeque::len).sum::<usize>()
    }

    /// A request arrives: an idle worker takes it, or it waits, or the backlog is full and it is
    /// refused.
    #[inline]
    pub fn arrive(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        if self.direct_clients && !cx.core.request(request).reads && self.slow_reader.hold_if_paused(request) {
            // A worker is stuck writing to this client, which never reads: nothing else is read
            // from its connection.
            return;
        }
        if self.listener_down(cx.core) {
            // Connection refused: the only process (and its socket) is gone.
            cx.core.reject(request);
        } else if self.accept.per_process() && self.arrive_own(cx, request) {
        } else if let Some(thread) = self.take_idle(cx.core) {
            self.serve(cx, thread, request);
        } else if self.backlog.is_none_or(|b| self.queue.len() < b as usize) {
            self.queue.push_back(request);
            cx.core.waiting_changed(1);
        } else {
            cx.core.reject(request);
        }
    }

    /// `thread` finished `request` and wrote its response: the kernel delivers the rest (the
    /// request completes when the client has it all) and the thread moves on.
    #[inline]
    pub fn done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId, request: ReqId) {
        if self.direct_clients && cx.core.read_cut_s(request).is_some() {
            // Its headers never arrived in time: the connection is dropped.
            cx.core.fail(request);
            self.release(cx, thread);
            return;
        }
        let r = cx.core.request(request);
        if self.direct_clients && !r.reads {
            // Its response sits in the socket buffer for ever; the worker moves on.
            self.release(cx, thread);
            return;
        }
        let rest = if self.direct_clients { r.download_s - self.write_hold_s(cx.core, request) } else { 0.0 };
        let held = cx.core.settings().keepalive_timeout_s.is_some() && self.keep_alive(cx, thread, request);
        if rest > 1e-12 {
            cx.park(request, rest);
        } else {
            cx.core.complete(request);
        }
        if !held {
            self.release(cx, thread);
        }
    }

    /// Keep-alive after `thread` wrote `request`'s response: a worker that talks to its clients
    /// (not behind a front-end, not a CGI process that exits) waits on the idle connection —
    /// unless its process is about to be recycled or the thread retired, which close the
    /// connection instead. True if the thread now waits on the connection (its request is
    /// counted as served; it is not released). Kept out of line: with keep-alive off it is not
    /// called, and the hot path stays as short as before (callgrind).
    #[inline(never)]
    fn keep_alive(&mut self, cx: &mut Ctx<'_>, thread: ThreadId, request: ReqId) -> bool {
        if !self.direct_clients || self.spawn != Spawn::Persistent {
            // A front-end, or the web server running CGI processes, holds the idle connection.
            cx.keep_alive(request, None);
            return false;
        }
        let process = cx.core.threads[thread.index()].process;
        let i = self.processes.iter().position(|(p, _)| *p == process);
        let can_wait = cx.core.threads[thread.index()].enabled
            && i.is_none_or(|i| !self.recycling[i] && self.max_requests.is_none_or(|m| self.served[i] + 1 < m));
        if !can_wait {
            // The connection closes with this response (a graceful restart or a retired thread).
            return false;
        }
        let held = cx.keep_alive(request, Some(thread));
        if held && let Some(i) = i {
            self.served[i] += 1;
        }
        held
    }

    /// `thread` has handed its request on: it takes the next request (or retires, if a resize
    /// asked it to; a CGI process exits).
    #[inline]
    pub fn release(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        let process = cx.core.threads[thread.index()].process;
        if let Spawn::PerRequest { .. } = self.spawn {
            cx.core.set_alive(process, false);
        }
        if let Some(i) = self.processes.iter().position(|(p, _)| *p == process) {
            self.served[i] += 1;
            if self.max_requests.is_some_and(|m| self.served[i] >= m) && !self.recycling[i] {
                // Graceful restart: no new work for this process; it goes when its threads are idle.
                self.recycling[i] = true;
                let threads = &self.processes[i].1;
                self.idle.retain(|t| !threads.contains(t));
                self.hand_back(cx, i);
            }
        }
        self.free(cx, thread);
    }

    /// `thread` is free (after a request, or after waiting on an idle keep-alive connection): it
    /// takes the next request, or retires, or lets its recycling process go.
    #[inline(always)]
    fn free(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        let process = cx.core.threads[thread.index()].process;
        if let Some(i) = self.processes.iter().position(|(p, _)| *p == process)
            && self.recycling[i]
        {
            if self.processes[i].1.iter().all(|&t| cx.core.threads[t.index()].state == ThreadState::Idle) {
                self.recycle(cx, i);
            }
            return;
        }
        if cx.core.threads[thread.index()].enabled {
            self.next(cx, thread);
        } else if self.spawn == Spawn::Persistent && self.all_retired_and_idle(cx.core, process) {
            cx.core.set_alive(process, false);
        }
    }

    /// Process `i` exits (releasing what its requests leaked) and starts again.
    fn recycle(&mut self, cx: &mut Ctx<'_>, i: usize) {
        let (process, threads) = self.processes[i].clone();
        cx.core.recorder.process_event(cx.now_s(), ProcessEvent::Recycle);
        cx.core.set_alive(process, false);
        self.served[i] = 0;
        self.recycling[i] = false;
        if !threads.iter().any(|&t| cx.core.threads[t.index()].enabled) {
            return;
        }
        cx.core.set_alive(process, true);
        match threads.iter().copied().find(|&t| cx.core.threads[t.index()].enabled) {
            Some(first) if self.spawn_s > 0.0 => cx.start_spawn(first, self.spawn_s),
            _ => self.started(cx, process),
        }
    }

    /// `thread` finished starting its (recycled or respawned) process: all its threads take work.
    pub fn spawn_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        self.started(cx, cx.core.threads[thread.index()].process);
    }

    /// `process` is ready to serve: its enabled idle threads take waiting requests.
    fn started(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        let threads = cx.core.processes[process.index()].threads.clone();
        for t in threads {
            let th = &cx.core.threads[t.index()];
            if th.enabled && th.state == ThreadState::Idle && !self.idle.contains(&t) {
                self.next(cx, t);
            }
        }
        // A resize may have retired every thread while it was starting: it exits.
        if self.spawn == Spawn::Persistent && self.all_retired_and_idle(cx.core, process) {
            cx.core.set_alive(process, false);
        }
    }

    fn all_retired_and_idle(&self, core: &Core, process: ProcessId) -> bool {
        core.processes[process.index()].threads.iter().all(|&t| {
            let th = &core.threads[t.index()];
            !th.enabled && th.state == crate::engine::ThreadState::Idle
        })
    }

    #[inline]
    fn next(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        // With a per-process policy a worker serves its own process's queue first.
        let own = if self.accept.per_process() {
            let process = cx.core.threads[thread.index()].process;
            self.processes.iter().position(|(p, _)| *p == process)
        } else {
            None
        };
        loop {
            let queue = match own {
                Some(i) if !self.own[i].is_empty() => &mut self.own[i],
                _ => &mut self.queue,
            };
            let popped = match self.discipline {
                Discipline::Fifo => queue.pop_front(),
                Discipline::Lifo => queue.pop_back(),
            };
            let Some(request) = popped else { break };
            cx.core.waiting_changed(-1);
            let waited = cx.now_s() - cx.core.request(request).arrival_s;
            if self.queue_timeout_s.is_some_and(|t| waited > t) {
                cx.core.fail(request);
                continue;
            }
            if self.direct_clients && !cx.core.request(request).reads && self.slow_reader.hold_if_paused(request) {
                // A worker got stuck writing to this client while its request queued: nothing
                // more is read from its connection.
                continue;
            }
            self.serve(cx, thread, request);
            return;
        }
        self.push_idle(cx.core, thread);
    }

    #[inline]
    fn serve(&mut self, cx: &mut Ctx<'_>, thread: ThreadId, request: ReqId) {
        let r = cx.core.request(request);
        let calls = r.io_calls.max(1);
        let call_cpu_s = r.cpu_s / f64::from(calls);
        let (mut cpu, io, upload) = (call_cpu_s, r.io_s / f64::from(calls), r.upload_s);
        if let Spawn::PerRequest { startup_s } = self.spawn {
            let process = cx.core.threads[thread.index()].process;
            cx.core.set_alive(process, true);
            cpu += startup_s;
        }
        if self.direct_clients
            && let Some(cut_s) = cx.core.read_cut_s(request)
        {
            // A Slowloris client: the worker reads its trickled headers until the server's
            // header time-out, then drops the connection (`done` fails the request).
            cx.start_task(thread, request, Task { pre_s: cut_s, ..Task::default() });
            return;
        }
        let (pre_s, mut post_s) =
            if self.direct_clients { (upload, self.write_hold_s(cx.core, request)) } else { (0.0, 0.0) };
        if self.direct_clients && !cx.core.request(request).reads {
            // The response goes into the connection's socket buffer; if it does not fit, the
            // worker blocks writing for ever (until a watchdog or a crash).
            let process = cx.core.threads[thread.index()].process;
            let (_, stuck) = self.slow_reader.write(process, cx.core.request(request).response_kb);
            post_s = if stuck { f64::INFINITY } else { 0.0 };
        }
        cx.start_task(thread, request, Task { pre_s, cpu_s: cpu, io_s: io, post_s, calls, call_cpu_s });
    }

    /// Change the backlog limit (requests already waiting stay).
    pub fn set_backlog(&mut self, backlog: Option<u32>) {
        self.backlog = backlog;
    }

    /// Resize to `processes` × `threads` while running.
    pub fn resize(&mut self, cx: &mut Ctx<'_>, processes: u32, threads: u32) {
        let threads = threads.max(1);
        if let Some(d) = &mut self.dynamic {
            // A dynamic pool's size is its maximum: the maintenance passes grow to it or stop
            // idle processes above it; processes forked from now on get `threads` threads.
            d.max_processes = processes.max(1);
            d.threads = threads;
            return;
        }
        for i in 0..self.processes.len().max(processes as usize) {
            if i >= self.processes.len() {
                self.add_process(cx.core, threads);
                continue;
            }
            let want = if i < processes as usize { threads as usize } else { 0 };
            let (process, ts) = self.processes[i].clone();
            // A crashed process waiting to respawn gets its threads now but starts them (and
            // comes alive) only when it respawns: `respawn` hands every enabled thread work. (Found
            // by the window's extreme-slider test: reviving it here queued threads twice.)
            let down = cx.core.processes[process.index()].down;
            let mut enabled = ts.iter().filter(|&&t| cx.core.threads[t.index()].enabled).count();
            // Re-enable retired threads first, then create new ones.
            for &t in &ts {
                if enabled >= want {
                    break;
                }
                if !cx.core.threads[t.index()].enabled {
                    cx.core.set_thread_enabled(t, true);
                    enabled += 1;
                    if down {
                        continue;
                    }
                    if self.spawn == Spawn::Persistent {
                        cx.core.set_alive(process, true);
                    }
                    if cx.core.threads[t.index()].state == crate::engine::ThreadState::Idle && !self.idle.contains(&t) {
                        self.push_idle(cx.core, t);
                    }
                }
            }
            while enabled < want {
                let t = cx.core.add_thread(process, true);
                self.processes[i].1.push(t);
                if !down {
                    self.push_idle(cx.core, t);
                }
                enabled += 1;
            }
            // Retire surplus threads, newest first; idle ones leave at once.
            for &t in ts.iter().rev() {
                if enabled <= want {
                    break;
                }
                if cx.core.threads[t.index()].enabled {
                    cx.core.set_thread_enabled(t, false);
                    self.idle.retain(|&x| x != t);
                    enabled -= 1;
                }
            }
            if want == 0 && self.spawn == Spawn::Persistent && self.all_retired_and_idle(cx.core, process) {
                cx.core.set_alive(process, false);
            }
            if want == 0 {
                self.hand_back(cx, i);
            }
        }
        while !self.queue.is_empty() {
            let Some(thread) = self.take_idle(cx.core) else { break };
            self.next(cx, thread);
        }
    }

    /// Snapshot for pictures: the listen queue and one box per process.
    pub fn view(&self, core: &Core, role: ProcessRole) -> ServerView {
        let all = || self.queue.iter().chain(self.own.iter().flatten());
        ServerView {
            waiting: all().take(MAX_DOTS).map(|&r| core.request(r).class).collect(),
            waiting_ids: all().take(MAX_DOTS).map(|r| r.stable_id()).collect(),
            waiting_total: self.waiting(),
            processes: self.processes.iter().map(|(p, _)| core.process_view(*p, role, usize::MAX)).collect(),
        }
    }
}

impl Server for WorkerPool {
    fn on_arrival(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        self.arrive(cx, request);
    }
    fn on_task_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId, request: ReqId) {
        self.done(cx, thread, request);
    }
    fn on_spawn_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        self.spawn_done(cx, thread);
    }
    fn set_backlog(&mut self, backlog: Option<u32>) {
        WorkerPool::set_backlog(self, backlog);
    }
    fn on_crash(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        self.crash(cx, process);
    }
    fn on_respawn(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        self.respawn(cx, process);
    }
    fn on_kept_alive_arrival(&mut self, cx: &mut Ctx<'_>, request: ReqId, thread: ThreadId) {
        let process = cx.core.threads[thread.index()].process;
        let leaving = !cx.core.threads[thread.index()].enabled
            || self.processes.iter().position(|(p, _)| *p == process).is_some_and(|i| self.recycling[i]);
        if leaving {
            // Retired (resize) or recycling since it began to wait: it lets the connection go
            // and the request queues like a new one.
            self.free(cx, thread);
            self.arrive(cx, request);
        } else {
            // The worker waiting on this connection reads the request at once: no listen queue.
            self.serve(cx, thread, request);
        }
    }
    fn on_keepalive_end(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        self.free(cx, thread);
    }
    fn on_maintenance(&mut self, cx: &mut Ctx<'_>) {
        self.maintain(cx);
    }
    fn resize(&mut self, cx: &mut Ctx<'_>, processes: u32, threads: u32) {
        let threads = if matches!(self.spawn, Spawn::PerRequest { .. }) { 1 } else { threads };
        WorkerPool::resize(self, cx, processes, threads);
    }
    fn view(&self, core: &Core) -> ServerView {
        let role = if matches!(self.spawn, Spawn::PerRequest { .. }) { ProcessRole::Cgi } else { ProcessRole::Worker };
        WorkerPool::view(self, core, role)
    }
    fn processes(&self) -> Vec<ProcessId> {
        self.processes.iter().map(|(p, _)| *p).collect()
    }
}
