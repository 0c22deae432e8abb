//! `daemon`: a front-end (event-loop processes, like nginx or Apache with mod_wsgi daemon mode)
//! accepts every connection and serves `static` requests itself; dynamic requests are forwarded
//! over a queue to `daemons` × `threads` backend workers. `listen_backlog` bounds that queue and
//! `queue_timeout_s` fails requests that waited too long for a daemon.

use super::loops::{IoMode, LoopRole, Loops, LoopsConfig};
use super::output::{beyond_buffer_s, buffered_kb};
use super::pool::WorkerPool;
use super::{
    Architecture, Capabilities, FieldValue, OwnField, Resource, Server, SizeField, Sizes, Workload, cpu_resource,
};
use crate::config::{ArchitectureKind, ServerConfig};
use crate::engine::{Core, Ctx, ReqId};
use crate::engine::{ProcessId, ThreadId};
use crate::view::{ProcessRole, ServerView};

/// A front-end queueing into a pool of daemons.
pub struct Daemon {
    frontend: Loops,
    daemons: WorkerPool,
    /// Per request slot: where a dynamic request's transfer to or from its client stands.
    transfer: Vec<Transfer>,
    /// Dynamic requests the front-end is reading from or writing to clients.
    in_transfer: usize,
    /// The front-end's write buffer per connection, KB (`None` = unbounded).
    output_buffer_kb: Option<f64>,
    /// Crashes of the front-end (its first process) so far: a dynamic request whose client
    /// connection was accepted before the latest one has lost its client.
    front_life: u32,
    /// Per request slot: `front_life` when the request arrived.
    life: Vec<u32>,
    /// Per request slot: MB of the front-end's buffer held full for a reading client while a
    /// daemon thread writes the rest of its response under backpressure (0 otherwise).
    held_mb: Vec<f64>,
}

/// Where a dynamic request's transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transfer {
    /// Not moving: waiting for or inside a daemon.
    None,
    /// The front-end reads the request from the client.
    Upload,
    /// Backpressure: the front-end's buffer is full; the daemon thread writes the rest of the
    /// response as the client drains it.
    Backpressure,
    /// The response drains from the front-end's buffer to the client.
    Download,
}

impl Architecture for Daemon {
    const KIND: ArchitectureKind = ArchitectureKind::Daemon;
    const ID: &'static str = "daemon";
    const SUMMARY: &'static str = "a front-end queueing into a pool of backend daemons (mod_wsgi daemon mode, FastCGI)";
    const FIELDS: &'static [OwnField] = &[
        OwnField { name: "daemons", default: None, allowed: "1 … 1,000,000", meaning: "backend daemon processes" },
        OwnField { name: "threads", default: Some("1"), allowed: "1 … 1,000,000", meaning: "threads per daemon" },
        OwnField {
            name: "frontend_processes",
            default: Some("1"),
            allowed: "1 … 1,000,000",
            meaning: "front-end event-loop processes (they serve `static` requests)",
        },
        OwnField { name: "frontend_mb", default: Some("0"), allowed: "≥ 0", meaning: "memory per front-end process" },
    ];
    const SIZES: Sizes = Sizes {
        processes: Some(SizeField { field: "daemons", label: "daemons", starter: 2 }),
        threads: Some(SizeField { field: "threads", label: "threads each", starter: 5 }),
    };
    // The front-end is an event loop with a write buffer; the daemons are a pool of workers.
    const CAPABILITIES: Capabilities = Capabilities {
        output_buffer: true,
        app_import: true,
        preload: true,
        recycling: true,
        lifo: true,
        accept: true,
        ..Capabilities::NONE
    };

    fn own_fields(c: &ServerConfig) -> Vec<(&'static str, FieldValue)> {
        vec![
            ("daemons", FieldValue::Whole(c.processes)),
            ("threads", FieldValue::Whole(c.threads)),
            ("frontend_processes", FieldValue::Whole(c.frontend_processes)),
            ("frontend_mb", FieldValue::Number(c.frontend_mb)),
        ]
    }

    fn build(c: &ServerConfig, core: &mut Core) -> Box<dyn Server> {
        let frontend = Loops::build(
            core,
            LoopsConfig {
                processes: c.frontend_processes,
                gil: false,
                process_mb: c.frontend_mb,
                io: IoMode::NonBlocking,
                offload_threads: 0,
                backlog: None,
                role: LoopRole::FrontEnd,
            },
        )
        .with_output_buffer(c.output_buffer_kb);
        // The front-end talks to the clients: the daemons' socket buffer plays no part.
        let daemons = WorkerPool::of_server(core, c, c.processes, c.threads).behind_front_end();
        Box::new(Daemon {
            frontend,
            daemons,
            transfer: Vec::new(),
            in_transfer: 0,
            output_buffer_kb: c.output_buffer_kb,
            front_life: 0,
            life: Vec::new(),
            held_mb: Vec::new(),
        })
    }

    fn resources(c: &ServerConfig, w: &Workload, cores: u32) -> Vec<Resource> {
        let dynamic = 1.0 - w.static_fraction;
        let workers = f64::from(c.processes * c.threads);
        let usable_daemon_cores = if c.gil { f64::from(c.processes) } else { workers };
        let mut r = vec![
            Resource {
                name: format!("{}x{} daemon threads", c.processes, c.threads),
                // Plus, behind a bounded front-end buffer, writing what does not fit in it.
                busy_per_rps: dynamic
                    * (w.dynamic_cpu_s + w.dynamic_io_s + c.output_buffer_kb.map_or(0.0, |b| w.beyond_buffer_s(b))),
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

impl Daemon {
    fn set_transfer(&mut self, request: ReqId, t: Transfer) {
        let slot = request.index as usize;
        if self.transfer.len() <= slot {
            self.transfer.resize(slot + 1, Transfer::None);
            self.life.resize(slot + 1, 0);
        }
        self.transfer[slot] = t;
    }

    /// True if `request`'s client connection died with a front-end crash since it arrived.
    fn lost_its_front_end(&self, request: ReqId) -> bool {
        self.life.get(request.index as usize).is_some_and(|&l| l != self.front_life)
    }

    /// Seconds a daemon thread spends writing the part of `request`'s response that does not
    /// fit in the front-end's buffer, as fast as the client drains it (0 if it fits).
    fn backpressure_s(&self, cx: &Ctx<'_>, request: ReqId) -> f64 {
        let r = cx.core.request(request);
        self.output_buffer_kb.map_or(0.0, |b| beyond_buffer_s(r.response_kb, b, r.bandwidth_kbps))
    }

    fn transfer_of(&self, request: ReqId) -> Transfer {
        self.transfer.get(request.index as usize).copied().unwrap_or(Transfer::None)
    }

    /// The front-end buffers what it has of `request`'s response (all of it, or its buffer's
    /// worth) and sends it to the client without holding the daemon. Once it is sent, the
    /// front-end may keep the connection open (keep-alive), holding only memory. `held_mb` of
    /// the buffer is already counted (it was full while the daemon wrote under backpressure).
    fn send_from_front_end(&mut self, cx: &mut Ctx<'_>, request: ReqId, written_s: f64, held_mb: f64) {
        let r = cx.core.request(request);
        let download = r.download_s - written_s;
        let front = self.frontend.first_process();
        if download > 1e-12 {
            let mb = buffered_kb(r.response_kb, self.output_buffer_kb) / 1024.0;
            self.set_transfer(request, Transfer::Download);
            self.in_transfer += 1;
            cx.core.process_buffer_changed(front, mb - held_mb);
            cx.park(request, download);
        } else {
            self.set_transfer(request, Transfer::None);
            cx.core.process_buffer_changed(front, -held_mb);
            cx.keep_alive(request, None);
            cx.core.complete(request);
        }
    }

    /// A daemon thread starts writing the rest of `request`'s response under backpressure: the
    /// front-end's buffer for the connection is full from now until the client has drained it.
    fn hold_buffer(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        let mb = buffered_kb(cx.core.request(request).response_kb, self.output_buffer_kb) / 1024.0;
        let slot = request.index as usize;
        if self.held_mb.len() <= slot {
            self.held_mb.resize(slot + 1, 0.0);
        }
        self.held_mb[slot] = mb;
        cx.core.process_buffer_changed(self.frontend.first_process(), mb);
    }

    /// The MB `hold_buffer` counted for `request`, no longer held by it (0 if none).
    fn take_held(&mut self, request: ReqId) -> f64 {
        self.held_mb.get_mut(request.index as usize).map_or(0.0, std::mem::take)
    }

    /// `request` stopped writing under backpressure without reaching the client: its buffer is
    /// freed — unless the front-end crashed since, which freed it with the rest of its memory.
    fn release_held(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        let mb = self.take_held(request);
        if mb > 0.0 && !self.lost_its_front_end(request) {
            cx.core.process_buffer_changed(self.frontend.first_process(), -mb);
        }
    }
}

impl Server for Daemon {
    fn on_arrival(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        // A reused request slot starts clean (a static request too: a front-end crash must not
        // mistake it for the dynamic request that had the slot before).
        self.set_transfer(request, Transfer::None);
        self.life[request.index as usize] = self.front_life;
        debug_assert_eq!(
            self.held_mb.get(request.index as usize).copied().unwrap_or(0.0),
            0.0,
            "a buffer outlived its request"
        );
        let r = cx.core.request(request);
        if r.is_static {
            self.frontend.arrive(cx, request);
            return;
        }
        if !cx.core.processes[self.frontend.first_process().index()].alive {
            // The front-end holding the listening socket is down: connection refused.
            cx.core.reject(request);
            return;
        }
        let r = cx.core.request(request);
        if !r.reads && self.frontend.slow_reader().hold_if_paused(request) {
            // Backpressure: the front-end has stopped reading this client's connection.
        } else if r.upload_s > 0.0 {
            // The front-end reads the whole request before it bothers a daemon.
            self.set_transfer(request, Transfer::Upload);
            // A client trickling its headers past the header time-out is read only until then.
            let upload = cx.core.read_cut_s(request).unwrap_or(r.upload_s);
            self.in_transfer += 1;
            cx.park(request, upload);
        } else {
            self.daemons.arrive(cx, request);
        }
    }
    fn on_spawn_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        // A recycled daemon finished starting.
        self.daemons.spawn_done(cx, thread);
    }
    fn on_task_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId, request: ReqId) {
        if self.frontend.owns_thread(thread) {
            self.frontend.task_done(cx, thread, request);
            return;
        }
        if !cx.core.is_live(request) || self.lost_its_front_end(request) {
            // Its client's connection died with the front-end: the work was for nothing.
            self.release_held(cx, request);
            cx.lose_to_crash(request);
            self.set_transfer(request, Transfer::None);
            self.daemons.release(cx, thread);
            return;
        }
        let r = cx.core.request(request);
        let front = self.frontend.first_process();
        if !r.reads {
            // Into the buffer of a connection that is never read. If it does not fit, the daemon
            // thread blocks writing the rest for ever (until a watchdog or a crash).
            let (kb, stuck) = self.frontend.slow_reader().write(front, r.response_kb);
            cx.core.process_buffer_changed(front, kb / 1024.0);
            if stuck {
                self.set_transfer(request, Transfer::Backpressure);
                cx.continue_task(thread, request, f64::INFINITY);
                return;
            }
            self.set_transfer(request, Transfer::Download);
            self.in_transfer += 1;
        } else if self.transfer_of(request) == Transfer::Backpressure {
            // The daemon has written all but the front-end's buffer's worth.
            let written_s = self.backpressure_s(cx, request);
            let held_mb = self.take_held(request);
            self.send_from_front_end(cx, request, written_s, held_mb);
        } else {
            let hold_s = self.backpressure_s(cx, request);
            if hold_s > 0.0 {
                // The front-end's buffer is smaller than the response: the daemon thread stays
                // on the request, writing the rest as fast as the client drains it.
                self.set_transfer(request, Transfer::Backpressure);
                self.hold_buffer(cx, request);
                cx.continue_task(thread, request, hold_s);
                return;
            }
            // The front-end takes the whole response; the daemon thread is free at once.
            self.send_from_front_end(cx, request, 0.0, 0.0);
        }
        self.daemons.release(cx, thread);
    }
    fn on_park_done(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        if !cx.core.is_live(request) {
            return;
        }
        if cx.core.request(request).is_static {
            self.frontend.park_done(cx, request);
        } else if self.transfer_of(request) == Transfer::Download {
            self.in_transfer -= 1;
            self.set_transfer(request, Transfer::None);
            let mb = buffered_kb(cx.core.request(request).response_kb, self.output_buffer_kb) / 1024.0;
            cx.core.process_buffer_changed(self.frontend.first_process(), -mb);
            cx.keep_alive(request, None);
            cx.core.complete(request);
        } else if cx.core.read_cut_s(request).is_some() {
            // The headers did not arrive in time: the front-end drops the connection.
            self.in_transfer -= 1;
            self.set_transfer(request, Transfer::None);
            cx.core.fail(request);
        } else {
            self.in_transfer -= 1;
            self.set_transfer(request, Transfer::None);
            if !cx.core.request(request).reads && self.frontend.slow_reader().hold_if_paused(request) {
                // Read, but the front-end has stopped reading this connection: it stays there.
                return;
            }
            self.daemons.arrive(cx, request);
        }
    }
    fn set_backlog(&mut self, backlog: Option<u32>) {
        self.daemons.set_backlog(backlog);
    }
    fn on_crash(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        if self.frontend.owns_process(process) {
            self.frontend.crash(cx, process);
            if process == self.frontend.first_process() {
                // Every dynamic request's client connection dies with it: those it was reading
                // or sending are lost now, with their buffers; a daemon thread writing to it
                // (backpressure) gets an error and is free; requests queued for or inside a
                // daemon are lost when the daemon hands them back.
                self.front_life = self.front_life.wrapping_add(1);
                for r in cx.core.live_ids() {
                    match self.transfer_of(r) {
                        Transfer::Upload | Transfer::Download => {
                            self.in_transfer -= 1;
                            self.set_transfer(r, Transfer::None);
                            cx.lose_to_crash(r);
                        }
                        Transfer::Backpressure => {
                            let writer = cx
                                .core
                                .threads
                                .iter()
                                .position(|t| t.request == r && t.state == crate::engine::ThreadState::Net);
                            // Its buffer went with the front-end's memory.
                            self.take_held(r);
                            cx.lose_to_crash(r);
                            if let Some(t) = writer {
                                cx.abort_task(ThreadId(t as u32));
                            }
                        }
                        Transfer::None => {}
                    }
                }
            }
        } else {
            // A daemon writing under backpressure dies: the front-end's full buffer for that
            // client is freed with the request.
            let writing: Vec<ReqId> = cx.core.processes[process.index()]
                .threads
                .iter()
                .map(|&t| cx.core.threads[t.index()].request)
                .filter(|&r| cx.core.is_live(r) && self.held_mb.get(r.index as usize).is_some_and(|&mb| mb > 0.0))
                .collect();
            for r in writing {
                self.release_held(cx, r);
            }
            self.daemons.crash(cx, process);
        }
    }
    fn on_respawn(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
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
    fn processes(&self) -> Vec<ProcessId> {
        Server::processes(&self.daemons)
    }
}
