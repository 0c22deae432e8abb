//! Runtime state (not saved): the live simulation, the values of the live controls, and the
//! stepping of simulated time under a per-frame wall-clock budget.

use std::time::Duration;

use web_time::Instant;

use models::config::{Scenario, ServerConfig};
use models::live::{Change, LiveRun};

/// Wall-clock time the simulation may use per frame, so the window stays responsive.
pub const FRAME_BUDGET: Duration = Duration::from_millis(4);

/// Events per server handled between two checks of the budget.
const SLICE_EVENTS: u64 = 2_000;

/// Simulation speeds offered (× real time); `f64::INFINITY` means as fast as possible.
pub const SPEEDS: [f64; 11] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, f64::INFINITY];

/// The live value of one server's controls.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerControls {
    /// Processes (loops, daemons, CGI slots).
    pub processes: u32,
    /// Threads per process.
    pub threads: u32,
    /// Backlog limit; `None` = unlimited.
    pub backlog: Option<u32>,
    /// GIL on.
    pub gil: bool,
}

impl ServerControls {
    fn of(c: &ServerConfig) -> Self {
        Self { processes: c.processes, threads: c.threads, backlog: c.listen_backlog, gil: c.gil }
    }
}

/// The live value of one request class's controls.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassControls {
    /// Mean CPU per request, ms.
    pub cpu_ms: f64,
    /// Mean IO per request, ms.
    pub io_ms: f64,
    /// Probability that a request crashes its process.
    pub crash_fraction: f64,
}

/// Everything that exists only while the app runs.
pub struct Runtime {
    /// The scenario the run started from.
    pub scenario: Scenario,
    /// The live simulation.
    pub run: LiveRun,
    /// Simulated time advances while true.
    pub playing: bool,
    /// Index into `SPEEDS`.
    pub speed: usize,
    /// Current arrival rate, req/s.
    pub rate_rps: f64,
    /// Fraction of clients on the slowest link.
    pub slow_clients: f64,
    /// Per request class.
    pub classes: Vec<ClassControls>,
    /// Per server.
    pub servers: Vec<ServerControls>,
    /// The simulated time the clock is heading for, seconds.
    target_s: f64,
    last_frame: Option<Instant>,
    /// A single step (while paused) has not reached its target yet.
    stepping: bool,
    /// Wall-clock time the simulation used in the last frame.
    pub last_sim_time: Duration,
}

impl Runtime {
    /// Start `scenario` paused at time zero… or playing, if `playing`.
    pub fn new(scenario: Scenario, playing: bool, speed: usize) -> Self {
        let run = LiveRun::new(scenario.clone());
        let classes = scenario
            .requests
            .iter()
            .map(|c| ClassControls {
                cpu_ms: c.cpu_s.mean() * 1e3,
                io_ms: c.io_s.mean() * 1e3,
                crash_fraction: c.crash_fraction,
            })
            .collect();
        let servers = scenario.servers.iter().map(ServerControls::of).collect();
        Self {
            rate_rps: scenario.load.rate_rps,
            slow_clients: {
                let clients = &scenario.load.clients;
                let total: f64 = clients.iter().map(|c| c.weight).sum();
                models::engine::load::slow_link(clients.iter().map(|c| (c.bandwidth_kbps, c.reads)))
                    .map_or(0.0, |i| clients[i].weight / total)
            },
            scenario,
            run,
            playing,
            speed: speed.min(SPEEDS.len() - 1),
            classes,
            servers,
            target_s: 0.0,
            last_frame: None,
            stepping: false,
            last_sim_time: Duration::ZERO,
        }
    }

    /// Start again from time zero with the scenario as loaded.
    pub fn reset(&mut self) {
        let (playing, speed) = (self.playing, self.speed);
        *self = Runtime::new(self.scenario.clone(), playing, speed);
    }

    /// The simulated time every server has reached, seconds.
    pub fn now_s(&self) -> f64 {
        self.run.now_s()
    }

    /// Speed in × real time (infinite = as fast as possible).
    pub fn speed_factor(&self) -> f64 {
        SPEEDS[self.speed]
    }

    /// Advance simulated time for this frame within `FRAME_BUDGET`. A server added late catches
    /// up in the first half of every frame's budget while the others keep running in the rest.
    pub fn tick(&mut self, now: Instant) {
        let dt = self.last_frame.map_or(0.0, |t| now.duration_since(t).as_secs_f64()).min(0.25);
        self.last_frame = Some(now);
        let start = Instant::now();
        while start.elapsed() < FRAME_BUDGET / 2 && !self.run.catch_up(SLICE_EVENTS) {}
        if !self.playing {
            if self.stepping {
                self.advance_within_budget(start);
            }
            self.last_sim_time = start.elapsed();
            return;
        }
        let speed = self.speed_factor();
        // The clock may have been moved past the target (a test fast-forwarding the run).
        self.target_s = self.target_s.max(self.run.now_s());
        if speed.is_finite() {
            // Never run more than a quarter of a second of simulated time ahead of the slowest
            // server: if the budget cannot keep up, the clock slows down instead of freezing.
            self.target_s = (self.target_s + dt * speed).min(self.run.now_s() + speed.max(1.0) * 0.25);
            self.advance_within_budget(start);
        } else {
            while start.elapsed() < FRAME_BUDGET {
                let t = self.run.now_s() + 0.5;
                while !self.run.advance(t, SLICE_EVENTS) && start.elapsed() < FRAME_BUDGET {}
            }
            self.target_s = self.run.now_s();
        }
        self.last_sim_time = start.elapsed();
    }

    /// Advance by one second of simulated time (single step while paused). The work is done by
    /// the frames that follow, in the same budgeted slices as playing.
    pub fn step(&mut self) {
        self.target_s = self.run.now_s().floor() + 1.0;
        self.stepping = true;
    }

    /// Advance towards `target_s` until every server is there or the frame's budget is spent;
    /// budget left over goes to a server catching up.
    fn advance_within_budget(&mut self, start: Instant) {
        while !self.run.advance(self.target_s, SLICE_EVENTS) {
            if start.elapsed() >= FRAME_BUDGET {
                return;
            }
        }
        self.stepping = false;
        while start.elapsed() < FRAME_BUDGET && !self.run.catch_up(SLICE_EVENTS) {}
    }

    /// Set the arrival rate of the running simulation.
    pub fn set_rate(&mut self, rate_rps: f64) {
        self.rate_rps = rate_rps.max(0.0);
        self.run.change(None, Change::Rate(self.rate_rps));
    }

    /// Apply class `i`'s controls to the running simulation.
    pub fn apply_class(&mut self, i: usize) {
        let c = &self.classes[i];
        self.run.change(None, Change::ClassMeans { class: i, cpu_s: Some(c.cpu_ms / 1e3), io_s: Some(c.io_ms / 1e3) });
    }

    /// Set the fraction of slow clients in the running simulation.
    pub fn set_slow_clients(&mut self, fraction: f64) {
        self.slow_clients = fraction.clamp(0.0, 1.0);
        self.run.change(None, Change::SlowClients(self.slow_clients));
    }

    /// Apply class `i`'s crash probability to the running simulation.
    pub fn apply_crash(&mut self, i: usize) {
        let fraction = self.classes[i].crash_fraction;
        self.run.change(None, Change::CrashFraction { class: i, fraction });
    }

    /// Apply server `i`'s pool size to the running simulation.
    pub fn apply_resize(&mut self, i: usize) {
        let c = &self.servers[i];
        self.run.change(Some(i), Change::Resize { processes: c.processes, threads: c.threads });
    }

    /// Apply server `i`'s backlog to the running simulation.
    pub fn apply_backlog(&mut self, i: usize) {
        let b = self.servers[i].backlog;
        self.run.change(Some(i), Change::Backlog(b));
    }

    /// Apply server `i`'s GIL switch to the running simulation.
    pub fn apply_gil(&mut self, i: usize) {
        let on = self.servers[i].gil;
        self.run.change(Some(i), Change::Gil(on));
    }

    /// The scenario as it is now: the loaded one with every live control applied (for "Save"
    /// and for background sweeps).
    pub fn current_scenario(&self) -> Scenario {
        let mut sc = self.scenario.clone();
        sc.load.rate_rps = self.rate_rps;
        models::engine::load::set_slow_share(&mut sc.load.clients, self.slow_clients);
        // A scenario file needs weights > 0: drop the links nobody uses.
        sc.load.clients.retain(|c| c.weight > 0.0);
        for (class, c) in sc.requests.iter_mut().zip(&self.classes) {
            if let Ok(d) = class.cpu_s.with_mean(c.cpu_ms / 1e3) {
                class.cpu_s = d;
            }
            if let Ok(d) = class.io_s.with_mean(c.io_ms / 1e3) {
                class.io_s = d;
            }
            class.crash_fraction = c.crash_fraction;
        }
        for (server, c) in sc.servers.iter_mut().zip(&self.servers) {
            (server.processes, server.threads, server.listen_backlog, server.gil) =
                (c.processes, c.threads, c.backlog, c.gil);
        }
        sc
    }

    /// Add a server to the running comparison (it replays the traffic so far and catches up).
    pub fn add_server(&mut self, mut config: ServerConfig) {
        let mut n = 2;
        let base = config.name.clone();
        while self.scenario.servers.iter().any(|s| s.name == config.name) {
            config.name = format!("{base} ({n})");
            n += 1;
        }
        self.servers.push(ServerControls::of(&config));
        self.scenario.servers.push(config.clone());
        self.run.add_server(config);
    }

    /// Remove server `i`.
    pub fn remove_server(&mut self, i: usize) {
        if i < self.servers.len() && self.servers.len() > 1 {
            self.servers.remove(i);
            self.scenario.servers.remove(i);
            self.run.remove_server(i);
        }
    }
}
