//! `Server`: what the engine asks of an architecture's running dispatch logic. The engine defines
//! it and calls it; each architecture (`crate::architectures`) implements it — the dependency
//! points from the architectures to the engine, never back.

use super::{Core, Ctx, ReqId};
use crate::engine::{ProcessId, ThreadId};
use crate::view::ServerView;

/// The dispatch logic of one running server: where requests go when they arrive and when a
/// thread finishes a task.
pub trait Server: Send {
    /// A request arrived (it is already in the server's books).
    fn on_arrival(&mut self, cx: &mut Ctx<'_>, request: ReqId);
    /// `thread` finished the task it was given for `request` and is idle.
    fn on_task_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId, request: ReqId);
    /// `thread` finished starting its process again (the CPU given to `Ctx::start_spawn`: a
    /// recycled or respawned process importing the application) and is idle: the process can
    /// take work. Architectures that never call `Ctx::start_spawn` leave this alone.
    fn on_spawn_done(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        let _ = (cx, thread);
    }
    /// A request parked with `Ctx::park` is ready again (non-blocking IO finished).
    fn on_park_done(&mut self, cx: &mut Ctx<'_>, request: ReqId) {
        // Architectures that never park leave this alone; completing keeps the books balanced.
        cx.core.complete(request);
    }
    /// A request's CPU work crashed `process`: fail every request it held (`Ctx::crash_process`
    /// stops its threads and schedules the respawn).
    fn on_crash(&mut self, cx: &mut Ctx<'_>, process: ProcessId);
    /// A crashed `process` runs again: its threads take work.
    fn on_respawn(&mut self, cx: &mut Ctx<'_>, process: ProcessId);
    /// A request arrived on an idle keep-alive connection on which `thread` was waiting; the
    /// thread is idle again and takes it. Only architectures that pass a thread to
    /// `Ctx::keep_alive` get this; the default treats the request as any arrival.
    fn on_kept_alive_arrival(&mut self, cx: &mut Ctx<'_>, request: ReqId, thread: ThreadId) {
        let _ = thread;
        self.on_arrival(cx, request);
    }
    /// The idle keep-alive connection `thread` waited on closed (timer): the thread is idle.
    /// Only architectures that pass a thread to `Ctx::keep_alive` get this.
    fn on_keepalive_end(&mut self, cx: &mut Ctx<'_>, thread: ThreadId) {
        let _ = (cx, thread);
    }
    /// Once a second, for a server with a dynamic pool: the parent's idle-worker maintenance.
    fn on_maintenance(&mut self, cx: &mut Ctx<'_>) {
        let _ = cx;
    }
    /// Change how many requests may wait for a worker (`None` = unlimited), live.
    fn set_backlog(&mut self, backlog: Option<u32>);
    /// Resize the worker pool to `processes` × `threads` while running (each architecture
    /// interprets the numbers as its own pool sizes; see `docs/model.md`).
    fn resize(&mut self, cx: &mut Ctx<'_>, processes: u32, threads: u32);
    /// A snapshot for the architecture picture.
    fn view(&self, core: &Core) -> ServerView;
    /// The processes whose GIL a live control toggles (worker processes, not front-ends).
    fn processes(&self) -> Vec<ProcessId>;
}
