//! `daemon`: a front-end (event-loop processes, like nginx or Apache with mod_wsgi daemon mode)
//! accepts every connection and serves `static` requests itself; dynamic requests are forwarded
//! over a queue to `daemons` × `threads` backend workers. `listen_backlog` bounds that queue and
//! `queue_timeout_s` fails requests that waited too long for a daemon.

use super::loops::{IoMode, Loops};
use super::pool::{Spawn, WorkerPool};
use super::{Architecture, Resource, Server, Workload, cpu_resource};
use crate::config::{ArchitectureKind, ServerConfig};
use crate::engine::{Core, Ctx, ReqId};
use crate::view::{ProcessRole, ServerView};

/// A front-end queueing into a pool of daemons.
pub struct Daemon {
    frontend: Loops,
    daemons: WorkerPool,
    /// Per request slot: true while a dynamic request's response drains from the front-end's
    /// buffer to the client (otherwise a parked dynamic request is uploading).
    downloading: Vec<bool>,
    /// Dynamic responses buffered in the front-end for slow clients, MB.
    buffered_mb: f64,
    /// Dynamic requests the front-end is reading from or writing to clients.
    in_transfer: usize,
}

impl Architecture for Daemon {
    const KIND: ArchitectureKind = ArchitectureKind::Daemon;
    const ID: &'static str = "daemon";
    const SUMMARY: &'static str = "a front-end queueing into a pool of backend daemons (mod_wsgi daemon mode, FastCGI)";
    const FIELDS: &'static [&'static str] = &["daemons", "threads", "frontend_processes", "frontend_mb"];
    const REQUIRED: &'static [&'static str] = &["daemons"];

    fn build(c: &ServerConfig, core: &mut Core) -> Box<dyn Server> {
        let frontend =
            Loops::build(core, c.frontend_processes, false, c.frontend_mb, IoMode::NonBlocking, 0, None, false);
        let daemons = WorkerPool::build(
            core,
            c.processes,
            c.threads,
            c.gil,
            c.process_image_mb(),
            c.listen_backlog,
            Spawn::Persistent,
        )
        .with_queue_timeout(c.queue_timeout_s)
        .with_discipline(c.queue_discipline)
        .behind_front_end()
        .with_recycling(c.max_requests, c.recycle_cpu_s())
        .with_respawn_cpu(c.respawn_cpu_s());
        Box::new(Daemon { frontend, daemons, downloading: Vec::new(), buffered_mb: 0.0, in_transfer: 0 })
    }

    fn resources(c: &ServerConfig, w: &Workload, cores: u32) -> Vec<Resource> {
        let dynamic = 1.0 - w.static_fraction;
        let workers = f64::from(c.processes * c.threads);
        let usable_daemon_cores = if c.gil { f64::from(c.processes) } else { workers };
        let mut r = vec![
            Resource {
                name: format!("{}x{} daemon threads", c.processes, c.threads),
                busy_per_rps: dynamic * (w.dynamic_cpu_s + w.dynamic_io_s),
                units: workers,
            },
            cpu_resource(w.cpu_s(), cores, usable_daemon_cores + f64::from(c.frontend_processes)),
        ];
        if c.gil {
            r.push(Resource {
                name: format!("one GIL per daemon, {} daemon(s)", c.processes),
                busy_per_rps: dynamic * w.dynamic_cpu_s,
                units: f64::from(c.processes),
            });
        }
        if w.static_fraction > 0.0 {
            r.push(Resource {
                name: format!("{} front-end process(es)", c.frontend_processes),
                busy_per_rps: w.static_fraction * w.static_cpu_s,
                units: f64::from(c.frontend_processes),
            });
        }
        r
    }
}

impl Server for Daemon {
    fn on_arrival(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        let r = cx.core.request(request);
        if r.is_static {
            self.frontend.arrive(cx, request);
        } else if r.upload_s > 0.0 {
            // The front-end reads the whole request before it bothers a daemon.
            let slot = request.index as usize;
            if self.downloading.len() <= slot {
                self.downloading.resize(slot + 1, false);
            }
            self.downloading[slot] = false;
            // A client trickling its headers past the header time-out is read only until then.
            let upload = cx.core.read_cut_s(request).unwrap_or(r.upload_s);
            self.in_transfer += 1;
            cx.park(request, upload);
        } else {
            self.daemons.arrive(cx, request);
        }
    }
    fn on_task_done(&mut self, cx: &mut Ctx<'_>, thread: u32, request: ReqId) {
        if self.frontend.owns_thread(thread) {
            self.frontend.task_done(cx, thread, request);
            return;
        }
        if request == ReqId::NONE {
            // A recycled daemon finished starting.
            self.daemons.done(cx, thread, request);
            return;
        }
        // The daemon hands its response to the front-end, which buffers it and sends it to the
        // client; the daemon thread is free at once. Once it is sent, the front-end may keep the
        // connection open (keep-alive), holding only memory.
        let r = cx.core.request(request);
        let (download, mb) = (r.download_s, r.response_kb / 1024.0);
        if download > 0.0 {
            let slot = request.index as usize;
            if self.downloading.len() <= slot {
                self.downloading.resize(slot + 1, false);
            }
            self.downloading[slot] = true;
            self.in_transfer += 1;
            self.buffered_mb += mb;
            cx.core.buffer_memory_changed(mb);
            cx.park(request, download);
        } else {
            cx.keep_alive(request, None);
            cx.core.complete(request);
        }
        self.daemons.release(cx, thread);
    }
    fn on_park_done(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        if !cx.core.is_live(request) {
            return;
        }
        if cx.core.request(request).is_static {
            self.frontend.park_done(cx, request);
        } else if self.downloading[request.index as usize] {
            self.in_transfer -= 1;
            self.downloading[request.index as usize] = false;
            let mb = cx.core.request(request).response_kb / 1024.0;
            self.buffered_mb -= mb;
            cx.core.buffer_memory_changed(-mb);
            cx.keep_alive(request, None);
            cx.core.complete(request);
        } else if cx.core.read_cut_s(request).is_some() {
            // The headers did not arrive in time: the front-end drops the connection.
            self.in_transfer -= 1;
            cx.core.fail(request);
        } else {
            self.in_transfer -= 1;
            self.daemons.arrive(cx, request);
        }
    }
    fn set_backlog(&mut self, backlog: Option<u32>) {
        self.daemons.set_backlog(backlog);
    }
    fn on_crash(&mut self, cx: &mut Ctx<'_>, process: u32) {
        if self.frontend.owns_process(process) {
            self.frontend.crash(cx, process);
        } else {
            self.daemons.crash(cx, process);
        }
    }
    fn on_respawn(&mut self, cx: &mut Ctx<'_>, process: u32) {
        if self.frontend.owns_process(process) {
            self.frontend.respawn(cx, process);
        } else {
            self.daemons.respawn(cx, process);
        }
    }
    fn resize(&mut self, cx: &mut Ctx<'_>, processes: u32, threads: u32) {
        self.daemons.resize(cx, processes, threads);
    }
    fn view(&self, core: &Core) -> ServerView {
        let mut v = self.daemons.view(core, ProcessRole::Worker);
        let mut processes = self.frontend.process_views(core);
        // The front-end also holds the dynamic requests' client connections.
        if let Some(first) = processes.first_mut() {
            first.parked += self.in_transfer;
        }
        processes.append(&mut v.processes);
        ServerView { processes, ..v }
    }
    fn processes(&self) -> Vec<u32> {
        Server::processes(&self.daemons)
    }
}
