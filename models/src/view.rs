//! A read-only snapshot of a running server for the architecture picture: its queues, processes,
//! threads, the GIL holder and memory. Built on demand; nothing here affects the simulation.

use crate::engine::ThreadState;

/// The whole server at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerView {
    /// Classes of the first requests waiting for a worker, in queue order (at most `MAX_DOTS`).
    pub waiting: Vec<u16>,
    /// Stable ids of the requests in `waiting` (for animating them).
    pub waiting_ids: Vec<u64>,
    /// How many requests wait for a worker in total.
    pub waiting_total: usize,
    /// One box per process (or event loop, front-end, daemon, CGI slot).
    pub processes: Vec<ProcessView>,
}

/// How many queued requests a view lists one by one; beyond this pictures show a count.
pub const MAX_DOTS: usize = 64;

/// What kind of box a process is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRole {
    /// A worker process of a pool (threaded, prefork, worker, daemon backend).
    Worker,
    /// A single-threaded event loop.
    EventLoop,
    /// A front-end that accepts connections and serves static files.
    FrontEnd,
    /// A CGI process slot (alive only while it serves a request).
    Cgi,
}

/// One process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessView {
    /// Its role in the architecture.
    pub role: ProcessRole,
    /// Running (false for a CGI slot between requests or a retired process).
    pub alive: bool,
    /// Being retired after a live resize (finishes its work, takes no more).
    pub retiring: bool,
    /// Its own resident memory while alive, MB (unique: what it adds to the machine's use).
    pub memory_mb: f64,
    /// Its RSS as `ps` shows it while alive, MB: its own memory plus the shared pages it maps.
    pub rss_mb: f64,
    /// Has an interpreter lock.
    pub gil: bool,
    /// Index into `threads` of the GIL holder.
    pub gil_holder: Option<usize>,
    /// Its threads.
    pub threads: Vec<ThreadView>,
    /// Event loops: callbacks and new requests waiting on the loop.
    pub ready: usize,
    /// Event loops: requests parked on non-blocking IO or in the offload pool.
    pub parked: usize,
    /// Crashed and not yet respawned.
    pub down: bool,
    /// Simulated time of its last crash, seconds.
    pub crashed_at_s: Option<f64>,
}

/// One thread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreadView {
    /// What it is doing.
    pub state: ThreadState,
    /// The class of the request it works on (if busy).
    pub class: Option<u16>,
    /// Stable id of that request (for animating it).
    pub request_id: Option<u64>,
    /// Retired or retiring after a live resize.
    pub retired: bool,
    /// An offload (deferToThread) pool thread rather than a loop or worker thread.
    pub offload: bool,
}
