//! A scenario running live (the GUI): one simulation per server, advanced together in bounded
//! slices, with controls that change the *running* simulations. Every change is stamped with one
//! simulated instant and applied to each server when it reaches that instant, so servers that lag
//! behind (a slice ran out of budget) still see identical traffic (common random numbers).

use std::collections::VecDeque;

use sim::Simulation;

use crate::config::{Scenario, ServerConfig};
use crate::engine::{Ctx, ServerSim};
use crate::limits;
use crate::view::ServerView;

/// A change to apply at a simulated instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The open-load arrival rate, requests per second.
    Rate(f64),
    /// A request class's mean CPU and IO demands, seconds.
    ClassMeans {
        /// Class index.
        class: usize,
        /// New mean CPU seconds (None = unchanged).
        cpu_s: Option<f64>,
        /// New mean IO seconds (None = unchanged).
        io_s: Option<f64>,
    },
    /// A request class's crash probability (0..=1).
    CrashFraction {
        /// Class index.
        class: usize,
        /// Probability that a request crashes its process.
        fraction: f64,
    },
    /// The fraction of clients on the slowest link (a 56 kbit/s modem if the scenario has no
    /// client mix).
    SlowClients(f64),
    /// Resize the server's pool (processes × threads, in its own terms).
    Resize {
        /// Processes (loops, daemons, CGI slots).
        processes: u32,
        /// Threads per process.
        threads: u32,
    },
    /// The listen backlog (None = unlimited).
    Backlog(Option<u32>),
    /// The GIL of every worker process on or off.
    Gil(bool),
}

impl Change {
    fn is_global(&self) -> bool {
        matches!(
            self,
            Change::Rate(_) | Change::ClassMeans { .. } | Change::CrashFraction { .. } | Change::SlowClients(_)
        )
    }
}

/// One server running live.
pub struct LiveServer {
    /// Its simulation.
    pub sim: Simulation<ServerSim>,
    pending: VecDeque<(f64, Change)>,
    diverged_at_s: Option<f64>,
    /// Added after the others had started: it replays the traffic from zero in its own budgeted
    /// slices while the others keep running, and joins them when it reaches their clock.
    catching_up: bool,
}

impl LiveServer {
    fn new(scenario: &Scenario, config: ServerConfig) -> Self {
        let mut sc = scenario.clone();
        sc.servers = vec![config];
        Self {
            sim: crate::architectures::simulation(&sc, 0, 0, true),
            pending: VecDeque::new(),
            diverged_at_s: None,
            catching_up: false,
        }
    }

    /// When the server stopped because more than `limits::MAX_IN_SYSTEM` requests were inside
    /// it (an unlimited queue under overload would otherwise grow until memory ran out). A
    /// stopped server no longer advances; resetting the run starts it again.
    pub fn diverged_at_s(&self) -> Option<f64> {
        self.diverged_at_s
    }

    /// True while a server added late is still replaying the traffic so far (its clock is behind
    /// the others'; see [`LiveRun::now_s`]).
    pub fn is_catching_up(&self) -> bool {
        self.catching_up
    }

    /// The server's configuration (as built; live changes are not reflected).
    pub fn config(&self) -> &ServerConfig {
        self.sim.model.config()
    }

    /// Its measurements so far (time series, latencies, counts, levels).
    pub fn recorder(&self) -> &crate::metrics::Recorder {
        &self.sim.model.core.recorder
    }

    /// Its machine and server state (for what the window shows of processes and threads).
    pub fn core(&self) -> &crate::engine::Core {
        &self.sim.model.core
    }

    /// Snapshot for the architecture picture.
    pub fn view(&self) -> ServerView {
        self.sim.model.server.view(&self.sim.model.core)
    }

    fn apply(&mut self, change: &Change) {
        let ServerSim { core, server, load, .. } = &mut self.sim.model;
        let sched = &mut self.sim.scheduler;
        core.set_now_for_control(sched.now_s());
        match change {
            Change::Rate(r) => load.set_rate_rps(*r, sched),
            Change::ClassMeans { class, cpu_s, io_s } => load.set_class_means(*class, *cpu_s, *io_s),
            Change::CrashFraction { class, fraction } => load.set_crash_fraction(*class, *fraction),
            Change::SlowClients(f) => load.set_slow_client_fraction(*f),
            Change::Resize { processes, threads } => {
                server.resize(&mut Ctx { core, sched }, *processes, *threads);
            }
            Change::Backlog(b) => server.set_backlog(*b),
            Change::Gil(on) => {
                for p in server.processes() {
                    Ctx { core, sched }.set_gil(p, *on);
                }
            }
        }
        self.sim.model.drain_notices(&mut self.sim.scheduler);
    }

    /// Advance to `target_s`, applying due changes on the way, handling at most `budget` events.
    /// Returns the events handled.
    fn advance(&mut self, target_s: f64, budget: u64, max_in_system: u64) -> u64 {
        if self.diverged_at_s.is_some() {
            return 0;
        }
        let used = self.advance_events(target_s, budget);
        if self.sim.model.has_diverged(max_in_system) {
            self.diverged_at_s = Some(self.sim.now_s());
        }
        // Close every time-series window up to the clock, even if no event fell on its end.
        let now = self.sim.now_s();
        self.sim.model.core.set_now_for_control(now);
        used
    }

    fn advance_events(&mut self, target_s: f64, budget: u64) -> u64 {
        let mut used = 0;
        loop {
            let next_change = self.pending.front().map(|c| c.0).filter(|&t| t <= target_s);
            let until = next_change.unwrap_or(target_s);
            used += self.sim.run_until_limited(until, budget - used);
            if self.sim.now_s() < until || used >= budget && self.sim.now_s() < target_s {
                return used;
            }
            match next_change {
                Some(_) => {
                    let (_, change) = self.pending.pop_front().expect("peeked");
                    self.apply(&change);
                }
                None => return used,
            }
        }
    }
}

/// Events a server at the frontier may handle while applying a change (those at the change's own
/// instant); if more are due there, the change applies in the server's next slice.
const CHANGE_EVENTS: u64 = 1_000;

/// All servers of a scenario running live.
pub struct LiveRun {
    scenario: Scenario,
    /// The servers, in display order.
    pub servers: Vec<LiveServer>,
    /// Global changes made so far (replayed to servers added later).
    history: Vec<(f64, Change)>,
    /// A server stops once more requests than this are inside it (`limits::MAX_IN_SYSTEM`
    /// unless a test lowers it).
    pub max_in_system: u64,
}

impl LiveRun {
    /// Start every server of `scenario` at time zero.
    pub fn new(scenario: Scenario) -> Self {
        let servers = scenario.servers.iter().map(|c| LiveServer::new(&scenario, c.clone())).collect();
        Self { scenario, servers, history: Vec::new(), max_in_system: limits::MAX_IN_SYSTEM }
    }

    /// The scenario it started from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The simulated time every server in step has reached, seconds: the slowest of the servers
    /// still running, leaving out one that is catching up (it would hold the others back for as
    /// long as its replay takes).
    pub fn now_s(&self) -> f64 {
        self.in_step().map(|s| s.sim.now_s()).fold(f64::INFINITY, f64::min).min(self.frontier_s())
    }

    /// The servers still advancing (not stopped by a diverging queue).
    fn running(&self) -> impl Iterator<Item = &LiveServer> {
        self.servers.iter().filter(|s| s.diverged_at_s.is_none())
    }

    /// The running servers that are not catching up.
    fn in_step(&self) -> impl Iterator<Item = &LiveServer> {
        self.running().filter(|s| !s.catching_up)
    }

    /// How far the servers catching up have got: the least fraction of [`Self::now_s`] any of
    /// them has reached (`None` when none is catching up).
    pub fn catch_up_fraction(&self) -> Option<f64> {
        let now = self.now_s();
        self.running()
            .filter(|s| s.catching_up)
            .map(|s| if now > 0.0 { (s.sim.now_s() / now).min(1.0) } else { 1.0 })
            .reduce(f64::min)
    }

    /// The furthest simulated time any server has reached, seconds (changes are stamped here).
    pub fn frontier_s(&self) -> f64 {
        self.servers.iter().map(|s| s.sim.now_s()).fold(0.0, f64::max)
    }

    /// Advance every server in step towards `target_s`, at most `budget_per_server` events each,
    /// and give each server catching up a slice of the same size towards them. Returns true when
    /// every server in step reached the target.
    pub fn advance(&mut self, target_s: f64, budget_per_server: u64) -> bool {
        for s in self.servers.iter_mut().filter(|s| !s.catching_up) {
            s.advance(target_s, budget_per_server, self.max_in_system);
        }
        self.catch_up(budget_per_server);
        self.in_step().all(|s| s.sim.now_s() >= target_s)
    }

    /// Advance every server catching up by at most `budget_per_server` events towards the
    /// servers in step; one that reaches them joins them. Returns true when none is catching up.
    pub fn catch_up(&mut self, budget_per_server: u64) -> bool {
        let now = self.now_s();
        let max_in_system = self.max_in_system;
        for s in self.servers.iter_mut().filter(|s| s.catching_up) {
            s.advance(now, budget_per_server, max_in_system);
            if s.sim.now_s() >= now || s.diverged_at_s.is_some() {
                s.catching_up = false;
            }
        }
        self.servers.iter().all(|s| !s.catching_up)
    }

    /// Apply `change` to every server (global changes) or to server `index`, at the current
    /// frontier time.
    pub fn change(&mut self, index: Option<usize>, change: Change) {
        let t = self.frontier_s();
        if change.is_global() {
            self.history.push((t, change.clone()));
            for s in &mut self.servers {
                s.pending.push_back((t, change.clone()));
            }
        } else if let Some(s) = index.and_then(|i| self.servers.get_mut(i)) {
            s.pending.push_back((t, change));
        }
        // Servers already at the frontier apply it now; a server behind it (one added late,
        // catching up) applies it when its own budgeted slices reach `t` — never replayed here in
        // one go, which could freeze the window for seconds.
        for s in &mut self.servers {
            if s.sim.now_s() >= t {
                s.advance(t, CHANGE_EVENTS, self.max_in_system);
            }
        }
    }

    /// Add a server; it starts at time zero, replays the global changes so far, and catches up
    /// over the next slices ([`Self::catch_up`]) while the others keep running.
    pub fn add_server(&mut self, config: ServerConfig) {
        let mut s = LiveServer::new(&self.scenario, config);
        s.pending.extend(self.history.iter().cloned());
        s.catching_up = self.frontier_s() > 0.0;
        self.servers.push(s);
    }

    /// Remove server `index`.
    pub fn remove_server(&mut self, index: usize) {
        if index < self.servers.len() {
            self.servers.remove(index);
        }
    }
}
