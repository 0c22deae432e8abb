//! The shared backend database: a request's IO is a query there. A process checks a connection
//! out of its own pool (opening one if the pool may grow and the database accepts more
//! connections), the database runs at most `workers` queries at once (the rest wait in its
//! queue), and the connection goes back to the pool when the query returns.

use crate::engine::{ProcessId, ThreadId};
use std::collections::VecDeque;

use super::core::{Ctx, ThreadState};
use super::{Event, ReqId};
use crate::metrics::Level;

/// Who is waiting for a query's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Waiter {
    /// A thread blocked in its IO (at `epoch`: stale once the thread moved on or was killed).
    Thread {
        /// The thread.
        thread: ThreadId,
        /// Its task epoch when the query was sent.
        epoch: u32,
    },
    /// A request parked by an event loop (non-blocking driver).
    Parked(ReqId),
}

/// One query.
#[derive(Debug, Clone, Copy)]
struct Query {
    waiter: Waiter,
    process: ProcessId,
    /// The process's incarnation when it checked the connection out (a connection of a process
    /// that has died since is not returned to the new one's pool).
    incarnation: u32,
    service_s: f64,
}

/// A process's connection pool.
#[derive(Debug, Clone, Default)]
struct Pool {
    open: u32,
    in_use: u32,
    waiting: VecDeque<Query>,
    incarnation: u32,
}

/// The database and the processes' connection pools.
#[derive(Debug)]
pub struct Backend {
    workers: u32,
    max_connections: u32,
    /// Connections one process may open (`u32::MAX` = as many as it needs).
    pool_size: u32,
    running: u32,
    queue: VecDeque<Query>,
    open: u32,
    pools: Vec<Pool>,
    /// Queries in service, by slot (the `DbDone` event carries the slot).
    in_service: Vec<Option<Query>>,
    free_slots: Vec<u32>,
}

impl Backend {
    /// A database running `workers` queries at once and accepting `max_connections`, with pools
    /// of at most `pool_size` connections per process.
    pub fn new(workers: u32, max_connections: u32, pool_size: Option<u32>) -> Self {
        Self {
            workers: workers.max(1),
            max_connections,
            pool_size: pool_size.unwrap_or(u32::MAX),
            running: 0,
            queue: VecDeque::new(),
            open: 0,
            pools: Vec::new(),
            in_service: Vec::new(),
            free_slots: Vec::new(),
        }
    }

    fn pool(&mut self, process: ProcessId) -> &mut Pool {
        let p = process.index();
        if self.pools.len() <= p {
            self.pools.resize(p + 1, Pool::default());
        }
        &mut self.pools[p]
    }
}

impl Ctx<'_> {
    /// Send a query of `service_s` seconds for `waiter` from `process`. False if it cannot get
    /// a connection: the pool may not grow and the database refuses more connections ("too many
    /// connections"); the caller fails the request.
    pub(crate) fn query(&mut self, process: ProcessId, waiter: Waiter, service_s: f64) -> bool {
        let now = self.core.now_s();
        let Some(db) = self.core.backend.as_mut() else { return true };
        let (max, pool_size, open) = (db.max_connections, db.pool_size, db.open);
        let pool = db.pool(process);
        let query = Query { waiter, process, incarnation: pool.incarnation, service_s };
        if pool.in_use < pool.open {
            pool.in_use += 1;
        } else if pool.open < pool_size {
            if open >= max {
                return false;
            }
            pool.open += 1;
            pool.in_use += 1;
            db.open += 1;
            self.core.recorder.add_level(now, Level::DbConnections, 1.0);
        } else {
            pool.waiting.push_back(query);
            self.core.recorder.add_level(now, Level::DbWaiting, 1.0);
            return true;
        }
        self.submit(query);
        true
    }

    /// A query with a connection goes to the database: it runs if a database worker is free,
    /// otherwise it waits in the database's queue.
    fn submit(&mut self, query: Query) {
        let now = self.core.now_s();
        let db = self.core.backend.as_mut().expect("a backend");
        if db.running < db.workers {
            db.running += 1;
            self.core.recorder.add_level(now, Level::DbBusy, 1.0);
            self.run(query);
        } else {
            db.queue.push_back(query);
            self.core.recorder.add_level(now, Level::DbWaiting, 1.0);
        }
    }

    fn run(&mut self, query: Query) {
        let db = self.core.backend.as_mut().expect("a backend");
        let slot = match db.free_slots.pop() {
            Some(s) => {
                db.in_service[s as usize] = Some(query);
                s
            }
            None => {
                db.in_service.push(Some(query));
                (db.in_service.len() - 1) as u32
            }
        };
        // A query that never returns (a lock wait) holds its database worker for ever.
        if query.service_s.is_finite() {
            self.sched.schedule_in(query.service_s, Event::DbDone { slot });
        }
    }

    /// The query in `slot` returned: the database takes the next query, the connection goes
    /// back to its pool (to the next waiter there), and the waiter, if still waiting, goes on.
    pub(crate) fn db_done(&mut self, slot: u32) -> Option<Waiter> {
        let now = self.core.now_s();
        let db = self.core.backend.as_mut()?;
        let query = db.in_service[slot as usize].take()?;
        db.free_slots.push(slot);
        if let Some(next) = db.queue.pop_front() {
            self.core.recorder.add_level(now, Level::DbWaiting, -1.0);
            self.run(next);
        } else {
            db.running -= 1;
            self.core.recorder.add_level(now, Level::DbBusy, -1.0);
        }
        let db = self.core.backend.as_mut().expect("a backend");
        let pool = db.pool(query.process);
        if pool.incarnation == query.incarnation {
            if let Some(next) = pool.waiting.pop_front() {
                self.core.recorder.add_level(now, Level::DbWaiting, -1.0);
                self.submit(next);
            } else {
                pool.in_use -= 1;
            }
        }
        self.still_waiting(query.waiter).then_some(query.waiter)
    }

    /// True if `waiter` still waits for its query (its thread was not killed or moved on, its
    /// request was not lost).
    fn still_waiting(&self, waiter: Waiter) -> bool {
        match waiter {
            Waiter::Thread { thread, epoch } => {
                let th = &self.core.threads[thread.index()];
                th.epoch == epoch && th.state == ThreadState::Io
            }
            Waiter::Parked(request) => self.core.is_live(request),
        }
    }
}

impl super::core::Core {
    /// `process` exited: its connections close (queries it has in the database still run to
    /// the end, as a database does not notice a dead client at once) and its waiters are gone.
    pub(crate) fn close_db_connections(&mut self, process: ProcessId) {
        let now = self.now_s();
        let Some(db) = self.backend.as_mut() else { return };
        let pool = db.pool(process);
        let (open, waiting) = (pool.open, pool.waiting.len());
        pool.open = 0;
        pool.in_use = 0;
        pool.waiting.clear();
        pool.incarnation = pool.incarnation.wrapping_add(1);
        db.open -= open;
        self.recorder.add_level(now, Level::DbConnections, -f64::from(open));
        self.recorder.add_level(now, Level::DbWaiting, -(waiting as f64));
    }
}
