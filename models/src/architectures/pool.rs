//! A listen queue feeding a pool of worker threads spread over processes: the mechanism of the
//! threaded, prefork and worker architectures, of the daemon pool behind a front-end, and (with a
//! fresh process per request) of CGI. A worker holds its request for all of its CPU and IO.

use std::collections::VecDeque;

use super::Server;
use crate::engine::{Core, Ctx, ReqId};

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
    idle: VecDeque<u32>,
    backlog: Option<u32>,
    queue_timeout_s: Option<f64>,
    spawn: Spawn,
}

impl WorkerPool {
    /// Create `processes` processes of `threads` threads each in `core`. Idle threads take work
    /// in the order they became idle, which spreads requests over processes.
    pub fn build(
        core: &mut Core,
        processes: u32,
        threads: u32,
        gil: bool,
        process_mb: f64,
        backlog: Option<u32>,
        spawn: Spawn,
    ) -> Self {
        let mut idle = VecDeque::new();
        let alive = spawn == Spawn::Persistent;
        for _ in 0..processes {
            let p = core.add_process(gil, process_mb, alive);
            for _ in 0..threads {
                idle.push_back(core.add_thread(p, true));
            }
        }
        Self { queue: VecDeque::new(), idle, backlog, queue_timeout_s: None, spawn }
    }

    /// Fail requests that waited longer than `timeout_s` for a worker (checked when a worker
    /// picks them up, as mod_wsgi's queue-timeout does).
    pub fn with_queue_timeout(mut self, timeout_s: Option<f64>) -> Self {
        self.queue_timeout_s = timeout_s;
        self
    }

    /// Requests waiting for a worker.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// A request arrives: an idle worker takes it, or it waits, or the backlog is full and it is
    /// refused.
    pub fn arrive(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        if let Some(thread) = self.idle.pop_front() {
            self.serve(cx, thread, request);
        } else if self.backlog.is_none_or(|b| self.queue.len() < b as usize) {
            self.queue.push_back(request);
            cx.core.waiting_changed(1);
        } else {
            cx.core.reject(request);
        }
    }

    /// `thread` finished `request`: the response is sent and the thread takes the next request.
    pub fn done(&mut self, cx: &mut Ctx<'_>, thread: u32, request: ReqId) {
        cx.core.complete(request);
        if let Spawn::PerRequest { .. } = self.spawn {
            let process = cx.core.threads[thread as usize].process;
            cx.core.set_alive(process, false);
        }
        self.next(cx, thread);
    }

    fn next(&mut self, cx: &mut Ctx<'_>, thread: u32) {
        while let Some(request) = self.queue.pop_front() {
            cx.core.waiting_changed(-1);
            let waited = cx.now_s() - cx.core.request(request).arrival_s;
            if self.queue_timeout_s.is_some_and(|t| waited > t) {
                cx.core.fail(request);
                continue;
            }
            self.serve(cx, thread, request);
            return;
        }
        self.idle.push_back(thread);
    }

    fn serve(&mut self, cx: &mut Ctx<'_>, thread: u32, request: ReqId) {
        let r = cx.core.request(request);
        let (mut cpu, io) = (r.cpu_s, r.io_s);
        if let Spawn::PerRequest { startup_s } = self.spawn {
            let process = cx.core.threads[thread as usize].process;
            cx.core.set_alive(process, true);
            cpu += startup_s;
        }
        cx.start(thread, request, cpu, io);
    }
}

impl Server for WorkerPool {
    fn on_arrival(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        self.arrive(cx, request);
    }
    fn on_task_done(&mut self, cx: &mut Ctx<'_>, thread: u32, request: ReqId) {
        self.done(cx, thread, request);
    }
}
