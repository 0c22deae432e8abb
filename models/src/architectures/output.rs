//! Output buffering towards clients: how much of a response a connection's write buffer holds
//! (`output_buffer_kb`, or unbounded), and the connection of the clients that never read their
//! responses (`reads = false`, the slow-reader attack), whose buffer fills and never drains.

use crate::engine::ProcessId;
use crate::engine::{Ctx, ReqId};

/// KB of a `response_kb` response that a write buffer of `limit_kb` (`None` = unbounded) holds
/// while the client drains it: the whole response, or the buffer's worth with the rest produced
/// as the client reads (backpressure).
#[inline]
pub fn buffered_kb(response_kb: f64, limit_kb: Option<f64>) -> f64 {
    limit_kb.map_or(response_kb, |b| response_kb.min(b))
}

/// Seconds to write the part of a `response_kb` response that does not fit in a `buffer_kb`
/// buffer to a client on a `bandwidth_kbps` link: how long a writer (a blocking worker, or a
/// daemon behind a small front-end buffer) is held (0 if it fits or the link is unlimited).
#[inline]
pub fn beyond_buffer_s(response_kb: f64, buffer_kb: f64, bandwidth_kbps: f64) -> f64 {
    let beyond_kb = response_kb - buffer_kb;
    if beyond_kb > 0.0 && bandwidth_kbps.is_finite() { beyond_kb * 8.0 / bandwidth_kbps } else { 0.0 }
}

/// The connection of the clients that never read (`reads = false`): all their requests arrive
/// pipelined over it. The server reads them and writes each response into the connection's
/// buffer, which never drains. A bounded buffer fills; the writer then blocks (a worker thread)
/// or is paused (an event loop), and the server stops reading the connection: later requests
/// stay unread in the kernel. An unbounded buffer (Twisted's) keeps growing.
#[derive(Debug, Default)]
pub struct SlowReader {
    /// The buffer's size, KB (`None` = unbounded).
    limit_kb: Option<f64>,
    /// Response bytes in the buffer, KB.
    pub buffered_kb: f64,
    /// The process holding the connection, once the server has read from it.
    pub process: Option<ProcessId>,
    /// A response did not fit: its writer is stuck and the server reads no more.
    blocked: bool,
    /// Requests sent over it that the server has not read.
    unread: Vec<ReqId>,
}

impl SlowReader {
    /// A connection whose buffer holds `limit_kb` (`None` = unbounded).
    pub fn new(limit_kb: Option<f64>) -> Self {
        Self { limit_kb, ..Self::default() }
    }

    /// True once a response did not fit in its buffer: the server has stopped reading the
    /// connection.
    #[inline]
    pub fn paused(&self) -> bool {
        self.blocked
    }

    /// A request of the attacker arrives. True if the server does not read it now (the
    /// connection is paused): it stays unread, holding nothing in the server.
    pub fn hold_if_paused(&mut self, request: ReqId) -> bool {
        if self.paused() {
            self.unread.push(request);
            return true;
        }
        false
    }

    /// Write a `response_kb` response into the buffer from `process`: the KB it takes, and
    /// whether the writer is now stuck for ever (the rest does not fit and is never read).
    pub fn write(&mut self, process: ProcessId, response_kb: f64) -> (f64, bool) {
        self.process = Some(process);
        let room = self.limit_kb.map_or(f64::INFINITY, |b| (b - self.buffered_kb).max(0.0));
        let taken = response_kb.min(room);
        self.buffered_kb += taken;
        self.blocked |= response_kb > room;
        (taken, response_kb > room)
    }

    /// The process holding the connection died: the connection is reset, its buffer freed and
    /// the requests the server never read are lost with it.
    pub fn reset_if_held_by(&mut self, cx: &mut Ctx<'_>, process: ProcessId) {
        if self.process == Some(process) {
            self.process = None;
            self.buffered_kb = 0.0;
            self.blocked = false;
            for r in self.unread.drain(..) {
                cx.lose_to_crash(r);
            }
        }
    }
}
