//! Single-threaded event loops: the mechanism of the event_loop architecture and of the daemon
//! architecture's front-end. A loop runs one callback at a time to completion on its thread, in
//! reactor iterations as Twisted's does (`base.ReactorBase.mainLoop`: `runUntilCurrent`, then
//! `doIteration`): each iteration first runs the callbacks that are due — the completions of
//! requests in progress, whose IO finished — and then handles the new requests that were ready
//! when it began, first in first out; requests that become ready meanwhile wait for the next
//! iteration. An iteration takes at most `number_accepts` new requests, adapted as Twisted's
//! `tcp.Port.doRead` adapts its accept count: 100 at first, 20 more each time all were taken,
//! else as many as there were. So work in progress finishes before new work starts, and under
//! overload the loop keeps completing at its capacity while its queue of new requests grows.

use crate::engine::{ProcessId, ThreadId};
use std::collections::VecDeque;

use super::Server;
use super::output::{SlowReader, buffered_kb};
use crate::engine::{Core, Ctx, ReqId, Request, Task};
use crate::view::{MAX_DOTS, ProcessRole, ServerView};

/// New requests a loop's first iteration may take (Twisted's `Port.numberAccepts` starts at 100).
const FIRST_ACCEPTS: usize = 100;
/// How much the count grows after an iteration that took all it could (Twisted: +20).
const MORE_ACCEPTS: usize = 20;

/// What a loop does with a request's IO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoMode {
    /// Non-blocking: the request parks without holding the loop and rejoins the ready queue.
    NonBlocking,
    /// Blocking: the wait stalls the loop (nothing else on it runs).
    Blocking,
    /// Blocking calls are handed to the process's thread pool (deferToThread); the result
    /// rejoins the ready queue.
    Offload,
}

/// What a request parked by a loop is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Its request bytes, arriving over the client's link.
    Upload,
    /// Its IO (or nothing: it is being worked on).
    Work,
    /// Its response draining to the client.
    Download,
}

#[derive(Debug)]
struct Loop {
    process: ProcessId,
    thread: ThreadId,
    busy: bool,
    /// Takes new connections (false once retired by a live resize).
    accepting: bool,
    /// Requests this loop accepted that have not left yet.
    in_flight: u32,
    /// Of those, requests parked on IO or in the offload pool.
    parked: u32,
    /// Crashed and not yet respawned.
    down: bool,
    /// New requests waiting to run their CPU, in arrival order.
    ready: VecDeque<ReqId>,
    /// Of `ready`, how many the current iteration still handles (those ready when it began).
    batch: usize,
    /// Most new requests the next iteration takes (Twisted's `numberAccepts`).
    number_accepts: usize,
    /// Requests whose IO finished: their callbacks (which send the response, no CPU) run first
    /// in the next iteration.
    due: VecDeque<ReqId>,
    offload_idle: VecDeque<ThreadId>,
    offload_queue: VecDeque<ReqId>,
}

/// A set of event loops, one per process.
#[derive(Debug)]
pub struct Loops {
    loops: Vec<Loop>,
    /// For each thread index: (loop index, is an offload thread).
    role: Vec<(u32, bool)>,
    /// For each request slot: the loop that accepted it.
    owner: Vec<u32>,
    /// For each request slot: the generation of the request these loops accepted in it (`None`:
    /// none yet), so a request routed elsewhere (a daemon's dynamic one) in a reused slot is
    /// never taken for one of theirs.
    accepted: Vec<Option<u32>>,
    /// For each request slot: what a parked request is waiting for.
    stage: Vec<Stage>,
    /// For each request slot: its blocking calls still to make, the current one included
    /// (non-blocking and offloaded IO: each call's result is a callback that runs the CPU before
    /// the next call, on the loop).
    calls_left: Vec<u32>,
    io: IoMode,
    backlog: Option<u32>,
    new_waiting: u32,
    gil: bool,
    process_mb: f64,
    offload_threads: u32,
    /// Accepted requests that waited longer than this to start are dropped.
    queue_timeout_s: Option<f64>,
    workers: bool,
    role_kind: ProcessRole,
    /// A connection's write buffer, KB (`None` = unbounded).
    output_buffer_kb: Option<f64>,
    /// The connection of clients that never read.
    slow_reader: SlowReader,
}

/// What the loops of a `Loops` are to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopRole {
    /// The server's workers (an `event_loop` server): their threads count as workers.
    Workers,
    /// A front-end that hands dynamic requests on (the daemon architecture's).
    FrontEnd,
}

/// The loops `Loops::build` creates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopsConfig {
    /// Single-threaded loop processes.
    pub processes: u32,
    /// Each process has a GIL (it matters with offload threads).
    pub gil: bool,
    /// Resident memory of each process, MB.
    pub process_mb: f64,
    /// How the loops wait for IO.
    pub io: IoMode,
    /// Threads per process that run blocking calls (`IoMode::Offload`).
    pub offload_threads: u32,
    /// Requests that may wait to be accepted (`None` = unlimited).
    pub backlog: Option<u32>,
    /// What the loops are to the server.
    pub role: LoopRole,
}

impl Loops {
    /// Create `config.processes` single-threaded loop processes (plus `offload_threads` pool
    /// threads each).
    pub fn build(core: &mut Core, config: LoopsConfig) -> Self {
        let LoopsConfig { processes, gil, process_mb, io, offload_threads, backlog, role } = config;
        let workers = role == LoopRole::Workers;
        let role_kind = if workers { ProcessRole::EventLoop } else { ProcessRole::FrontEnd };
        let mut loops = Self {
            loops: Vec::new(),
            role: Vec::new(),
            owner: Vec::new(),
            accepted: Vec::new(),
            stage: Vec::new(),
            calls_left: Vec::new(),
            io,
            backlog,
            new_waiting: 0,
            gil,
            process_mb,
            offload_threads,
            workers,
            role_kind,
            queue_timeout_s: None,
            output_buffer_kb: None,
            slow_reader: SlowReader::new(None),
        };
        for _ in 0..processes {
            loops.add_loop(core);
        }
        loops
    }

    fn add_loop(&mut self, core: &mut Core) {
        let l = self.loops.len() as u32;
        let process = core.add_process(self.gil, self.process_mb, true);
        let thread = core.add_thread(process, self.workers);
        let mut offload_idle = VecDeque::new();
        if self.io == IoMode::Offload {
            for _ in 0..self.offload_threads {
                offload_idle.push_back(core.add_thread(process, self.workers));
            }
        }
        for t in std::iter::once(thread).chain(offload_idle.iter().copied()) {
            if self.role.len() <= t.index() {
                self.role.resize(t.index() + 1, (u32::MAX, false));
            }
            self.role[t.index()] = (l, t != thread);
        }
        self.loops.push(Loop {
            process,
            thread,
            busy: false,
            accepting: true,
            in_flight: 0,
            parked: 0,
            down: false,
            ready: VecDeque::new(),
            batch: 0,
            number_accepts: FIRST_ACCEPTS,
            due: VecDeque::new(),
            offload_idle,
            offload_queue: VecDeque::new(),
        });
    }

    /// Drop accepted requests that waited longer than `timeout_s` to start.
    pub fn with_queue_timeout(mut self, timeout_s: Option<f64>) -> Self {
        self.queue_timeout_s = timeout_s;
        self
    }

    /// Each connection's write buffer holds `kb` KB (`None` = unbounded): a response larger
    /// than that is produced as the client drains it (backpressure).
    pub fn with_output_buffer(mut self, kb: Option<f64>) -> Self {
        self.output_buffer_kb = kb;
        self.slow_reader = SlowReader::new(kb);
        self
    }

    /// True if `thread` belongs to these loops.
    pub fn owns_thread(&self, thread: ThreadId) -> bool {
        self.role.get(thread.index()).is_some_and(|r| r.0 != u32::MAX)
    }

    /// A new connection: an idle loop accepts it if there is one, otherwise the loop with the
    /// shortest ready queue (the least busy loop returns to `accept` first). Refused if
    /// `listen_backlog` requests are already waiting to start.
    pub fn arrive(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        if self.backlog.is_some_and(|b| self.new_waiting >= b) {
            cx.core.reject(request);
            return;
        }
        // Retired loops (live resize) take no new connections.
        let accepting = || (0..self.loops.len()).filter(|&i| self.loops[i].accepting && !self.loops[i].down);
        let reads = cx.core.request(request).reads;
        // The pipelined requests of a client that never reads come over the connection one loop
        // already holds.
        let held_by = if reads { None } else { self.slow_reader.process };
        let Some(l) = held_by
            .and_then(|p| accepting().find(|&i| self.loops[i].process == p))
            .or_else(|| accepting().find(|&i| !self.loops[i].busy))
            .or_else(|| accepting().min_by_key(|&i| self.loops[i].ready.len()))
        else {
            cx.core.reject(request);
            return;
        };
        let slot = request.index as usize;
        if self.owner.len() <= slot {
            self.owner.resize(slot + 1, 0);
            self.accepted.resize(slot + 1, None);
            self.stage.resize(slot + 1, Stage::Work);
            self.calls_left.resize(slot + 1, 1);
        }
        self.accepted[slot] = Some(request.generation);
        if !reads && held_by.is_some() {
            self.owner[slot] = l as u32;
            if self.slow_reader.hold_if_paused(request) {
                // Backpressure: the loop has stopped reading this connection.
                return;
            }
        }
        self.owner[slot] = l as u32;
        self.stage[slot] = Stage::Work;
        self.loops[l].in_flight += 1;
        // A client trickling its headers past the header time-out is read only until then.
        let upload = cx.core.read_cut_s(request).unwrap_or(cx.core.request(request).upload_s);
        if upload > 0.0 {
            // The connection is accepted; the request arrives over the client's link without
            // holding the loop.
            self.stage[slot] = Stage::Upload;
            cx.park(request, upload);
            return;
        }
        self.new_waiting += 1;
        cx.core.waiting_changed(1);
        self.loops[l].ready.push_back(request);
        self.run(cx, l);
    }

    /// Run loop `l` if it is idle: go on with the current iteration's new requests, or begin
    /// the next iteration — the due callbacks (each only sends a response, at once), then the
    /// new requests ready now. The first new request starts its CPU.
    fn run(&mut self, cx: &mut Ctx<'_>, l: usize) {
        if self.loops[l].busy {
            return;
        }
        loop {
            if self.loops[l].batch == 0 {
                // A new iteration: what is due runs first, then the requests ready now.
                while let Some(r) = self.loops[l].due.pop_front() {
                    let slot = r.index as usize;
                    if self.calls_left[slot] > 1 {
                        // The result of one of its calls: the callback runs the CPU before the
                        // next call, here in the due phase.
                        self.calls_left[slot] -= 1;
                        let (cpu, _) = call_share(cx.core.request(r));
                        let lp = &mut self.loops[l];
                        lp.busy = true;
                        let thread = lp.thread;
                        cx.start(thread, r, cpu, 0.0);
                        return;
                    }
                    self.respond(cx, l, r);
                }
                let lp = &mut self.loops[l];
                let ready = lp.ready.len();
                if ready == 0 {
                    break;
                }
                lp.batch = ready.min(lp.number_accepts);
                lp.number_accepts =
                    if lp.batch == lp.number_accepts { lp.number_accepts + MORE_ACCEPTS } else { lp.batch };
            }
            let lp = &mut self.loops[l];
            let Some(r) = lp.ready.pop_front() else {
                lp.batch = 0;
                continue;
            };
            lp.batch -= 1;
            self.new_waiting -= 1;
            cx.core.waiting_changed(-1);
            let waited = cx.now_s() - cx.core.request(r).arrival_s;
            if self.queue_timeout_s.is_some_and(|t| waited > t) {
                lp.in_flight -= 1;
                cx.core.fail(r);
                continue;
            }
            let req = cx.core.request(r);
            let calls = req.io_calls.max(1);
            let (cpu, io) = call_share(req);
            lp.busy = true;
            let thread = lp.thread;
            if self.io == IoMode::Blocking {
                // Every call blocks the loop's thread: the task makes them all.
                self.calls_left[r.index as usize] = 1;
                cx.start_task(thread, r, Task { cpu_s: cpu, io_s: io, calls, call_cpu_s: cpu, ..Task::default() });
            } else {
                self.calls_left[r.index as usize] = calls;
                cx.start(thread, r, cpu, 0.0);
            }
            return;
        }
        let lp = &mut self.loops[l];
        if !lp.accepting && lp.in_flight == 0 {
            let process = lp.process;
            cx.core.set_alive(process, false);
        }
    }

    /// A thread of these loops finished its task.
    pub fn task_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId, request: ReqId) {
        let (l, offload) = self.role[thread.index()];
        let l = l as usize;
        if offload {
            // The blocking call is done: its result rejoins the loop; the thread takes the next.
            self.loops[l].parked -= 1;
            self.loops[l].due.push_back(request);
            if let Some(next) = self.loops[l].offload_queue.pop_front() {
                cx.core.waiting_changed(-1);
                let (_, io) = call_share(cx.core.request(next));
                cx.start(thread, next, 0.0, io);
            } else {
                self.loops[l].offload_idle.push_back(thread);
            }
            self.run(cx, l);
            return;
        }
        self.loops[l].busy = false;
        let (_, io) = call_share(cx.core.request(request));
        match self.io {
            _ if io <= 0.0 && self.calls_left[request.index as usize] > 1 => {
                // A call that takes no time: its result is due at once.
                self.loops[l].due.push_back(request);
            }
            _ if io <= 0.0 => self.respond(cx, l, request),
            IoMode::Blocking => self.respond(cx, l, request),
            IoMode::NonBlocking => {
                self.loops[l].parked += 1;
                let process = self.loops[l].process;
                cx.park_io(process, request, io);
            }
            IoMode::Offload => {
                let lp = &mut self.loops[l];
                lp.parked += 1;
                if let Some(t) = lp.offload_idle.pop_front() {
                    cx.start(t, request, 0.0, io);
                } else {
                    lp.offload_queue.push_back(request);
                    cx.core.waiting_changed(1);
                }
            }
        }
        self.run(cx, l);
    }

    /// A parked request's IO finished: its callback joins its loop's ready queue.
    pub fn park_done(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        if !cx.core.is_live(request) {
            // Its loop crashed while the IO was in flight: the request is already lost.
            return;
        }
        let slot = request.index as usize;
        let l = self.owner[slot] as usize;
        match self.stage[slot] {
            Stage::Upload if cx.core.read_cut_s(request).is_some() => {
                // The headers did not arrive in time: the connection is dropped.
                self.loops[l].in_flight -= 1;
                cx.core.fail(request);
            }
            Stage::Upload => {
                // The whole request has arrived: it joins the loop's ready queue.
                self.stage[slot] = Stage::Work;
                self.new_waiting += 1;
                cx.core.waiting_changed(1);
                self.loops[l].ready.push_back(request);
            }
            Stage::Download => {
                let mb = buffered_kb(cx.core.request(request).response_kb, self.output_buffer_kb) / 1024.0;
                cx.core.process_buffer_changed(self.loops[l].process, -mb);
                self.loops[l].in_flight -= 1;
                // The response has been sent: the connection may wait for the next request.
                cx.keep_alive(request, None);
                cx.core.complete(request);
            }
            Stage::Work => {
                self.loops[l].parked -= 1;
                self.loops[l].due.push_back(request);
            }
        }
        self.run(cx, l);
    }

    /// The loop has the response of `request` (in loop `l`): it goes into the connection's write
    /// buffer and drains to the client without holding the loop; the request completes when the
    /// client has all of it.
    fn respond(&mut self, cx: &mut Ctx<'_>, l: usize, request: ReqId) {
        let r = cx.core.request(request);
        let process = self.loops[l].process;
        if !r.reads {
            // Into the buffer of a connection that is never read: it stays there (and the loop
            // stops reading the connection once a bounded buffer is full).
            let (kb, _) = self.slow_reader.write(process, r.response_kb);
            self.stage[request.index as usize] = Stage::Download;
            cx.core.process_buffer_changed(process, kb / 1024.0);
            return;
        }
        let (download, mb) = (r.download_s, buffered_kb(r.response_kb, self.output_buffer_kb) / 1024.0);
        if download > 0.0 {
            self.stage[request.index as usize] = Stage::Download;
            cx.core.process_buffer_changed(process, mb);
            cx.park(request, download);
        } else {
            self.loops[l].in_flight -= 1;
            // Keep-alive: an idle connection holds only its memory here, never the loop.
            cx.keep_alive(request, None);
            cx.core.complete(request);
        }
    }

    /// Change how many accepted requests may wait to start (`None` = unlimited).
    pub fn set_backlog(&mut self, backlog: Option<u32>) {
        self.backlog = backlog;
    }

    /// Run `processes` loops: new loops start at once; surplus loops stop accepting, finish
    /// what they hold, and exit.
    pub fn resize(&mut self, cx: &mut Ctx<'_>, processes: u32) {
        let want = processes.max(1) as usize;
        let mut accepting = self.loops.iter().filter(|l| l.accepting).count();
        for i in 0..self.loops.len() {
            if accepting >= want {
                break;
            }
            if !self.loops[i].accepting {
                self.loops[i].accepting = true;
                // A crashed loop waiting to respawn comes alive when it respawns, not now.
                if !cx.core.processes[self.loops[i].process.index()].down {
                    cx.core.set_alive(self.loops[i].process, true);
                }
                accepting += 1;
            }
        }
        while accepting < want {
            self.add_loop(cx.core);
            accepting += 1;
        }
        for i in (0..self.loops.len()).rev() {
            if accepting <= want {
                break;
            }
            if self.loops[i].accepting {
                self.loops[i].accepting = false;
                accepting -= 1;
                self.run(cx, i);
            }
        }
    }

    /// One box per loop, with its ready queue and parked requests.
    pub fn process_views(&self, core: &Core) -> Vec<crate::view::ProcessView> {
        self.loops
            .iter()
            .map(|l| {
                let mut v = core.process_view(l.process, self.role_kind, 1);
                v.ready = l.ready.len() + l.due.len() + l.offload_queue.len();
                v.parked = l.parked as usize;
                v.retiring = v.alive && !l.accepting;
                v
            })
            .collect()
    }

    /// True if `process` is one of these loops.
    pub fn owns_process(&self, process: ProcessId) -> bool {
        self.loops.iter().any(|l| l.process == process)
    }

    /// The loop of `process` crashed: every request it held (running, ready, parked on IO or in
    /// its offload pool) is lost, and it refuses connections until it respawns.
    pub fn crash(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        let Some(l) = self.loops.iter().position(|l| l.process == process) else { return };
        for r in cx.crash_process(process, true) {
            cx.lose_to_crash(r);
        }
        let lp = &mut self.loops[l];
        for r in lp.ready.drain(..) {
            self.new_waiting -= 1;
            cx.core.waiting_changed(-1);
            cx.lose_to_crash(r);
        }
        lp.batch = 0;
        for r in lp.due.drain(..) {
            cx.lose_to_crash(r);
        }
        for r in lp.offload_queue.drain(..) {
            cx.core.waiting_changed(-1);
            cx.lose_to_crash(r);
        }
        // Requests parked on IO (or held by its offload threads) belonged to the dead process too.
        for r in cx.core.live_ids() {
            if self.owner.get(r.index as usize) == Some(&(l as u32)) && self.accepted_here(r) {
                cx.lose_to_crash(r);
            }
        }
        // Its buffers went with its memory; a slow reader's connection it held is reset.
        self.slow_reader.reset_if_held_by(cx, process);
        let lp = &mut self.loops[l];
        lp.busy = false;
        lp.in_flight = 0;
        lp.parked = 0;
        lp.down = true;
        lp.offload_idle =
            cx.core.processes[process.index()].threads.iter().copied().filter(|&t| t != lp.thread).collect();
    }

    /// True if `request` arrived at these loops (`arrive`), whichever architecture routed it.
    fn accepted_here(&self, request: ReqId) -> bool {
        self.accepted.get(request.index as usize) == Some(&Some(request.generation))
    }

    /// The loop of `process` runs again.
    pub fn respawn(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        if let Some(l) = self.loops.iter().position(|l| l.process == process) {
            self.loops[l].down = false;
            self.run(cx, l);
        }
    }

    /// The connection of clients that never read (one, over all loops).
    pub fn slow_reader(&mut self) -> &mut SlowReader {
        &mut self.slow_reader
    }

    /// The first loop's process (where a front-end buffers dynamic responses).
    pub fn first_process(&self) -> ProcessId {
        self.loops[0].process
    }

    /// The loops' processes.
    pub fn process_ids(&self) -> Vec<ProcessId> {
        self.loops.iter().map(|l| l.process).collect()
    }

    /// Requests accepted that have not started (waiting on a loop).
    pub fn new_waiting(&self) -> usize {
        self.new_waiting as usize
    }
}

/// The first queued new requests over all loops, for pictures.
fn waiting_classes(loops: &Loops, core: &Core) -> Vec<u16> {
    loops.loops.iter().flat_map(|l| l.ready.iter()).map(|r| core.request(*r).class).take(MAX_DOTS).collect()
}

impl Server for Loops {
    fn on_arrival(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        self.arrive(cx, request);
    }
    fn on_task_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId, request: ReqId) {
        self.task_done(cx, thread, request);
    }
    fn on_park_done(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        self.park_done(cx, request);
    }
    fn set_backlog(&mut self, backlog: Option<u32>) {
        Loops::set_backlog(self, backlog);
    }
    fn on_crash(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        self.crash(cx, process);
    }
    fn on_respawn(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        self.respawn(cx, process);
    }
    fn resize(&mut self, cx: &mut Ctx<'_>, processes: u32, _threads: u32) {
        Loops::resize(self, cx, processes);
    }
    fn view(&self, core: &Core) -> ServerView {
        ServerView {
            waiting: waiting_classes(self, core),
            waiting_ids: self.loops.iter().flat_map(|l| l.ready.iter()).map(|r| r.stable_id()).take(MAX_DOTS).collect(),
            waiting_total: self.new_waiting(),
            processes: self.process_views(core),
        }
    }
    fn processes(&self) -> Vec<ProcessId> {
        self.process_ids()
    }
}

/// One call's share of `request`'s demands: (CPU before the call, the call's IO), seconds.
fn call_share(request: &Request) -> (f64, f64) {
    let calls = f64::from(request.io_calls.max(1));
    (request.cpu_s / calls, request.io_s / calls)
}
