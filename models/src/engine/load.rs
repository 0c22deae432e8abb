//! The load generator: open (Poisson or evenly spaced, with a piecewise-constant rate schedule)
//! or closed (users with think time), and the request mix. Each purpose has its own RNG stream,
//! so every server in a scenario sees identical arrival times and request demands.

use std::collections::HashMap;

use sim::dist::{exp1, unit};
use sim::{Dist, Scheduler, SimRng, stream};

use super::core::NO_CONNECTION;
use super::{Event, Outcome};
use crate::config::{Arrival, ClientClass, RateStep, Scenario};

/// RNG stream purposes.
const STREAM_ARRIVALS: u64 = 1;
const STREAM_DEMANDS: u64 = 2;
const STREAM_THINK: u64 = 3;
const STREAM_GAPS: u64 = 4;

/// A request class ready for sampling.
#[derive(Debug, Clone)]
struct ClassSampler {
    cumulative_weight: f64,
    cpu_s: Dist,
    io_s: Dist,
    is_static: bool,
    crash_fraction: f64,
    request_kb: f64,
    response_kb: f64,
    hang_fraction: f64,
    hang: crate::config::Hang,
    leak_kb: f64,
    hog_mb: f64,
    io_calls: u32,
}

/// One drawn request.
#[derive(Debug, Clone, Copy)]
pub struct Demand {
    /// Class index.
    pub class: u16,
    /// CPU seconds.
    pub cpu_s: f64,
    /// IO seconds.
    pub io_s: f64,
    /// Static file.
    pub is_static: bool,
    /// Its CPU work crashes its process.
    pub crashes: bool,
    /// Seconds for the request to reach the server (rtt/2 + trickled headers + request_kb over
    /// the link).
    pub upload_s: f64,
    /// Of `upload_s`, seconds the client spends trickling its headers (Slowloris).
    pub header_s: f64,
    /// Seconds for the response to reach the client (rtt/2 + response_kb over the link);
    /// infinite for a client that never reads.
    pub download_s: f64,
    /// The client reads its response (false: the slow-reader attack; `download_s` is infinite).
    pub reads: bool,
    /// Response size, KB.
    pub response_kb: f64,
    /// The client's bandwidth, kbit/s (infinite without a client mix).
    pub bandwidth_kbps: f64,
    /// Memory leaked into the serving process, KB.
    pub leak_kb: f64,
    /// Memory held while in progress beyond the server's per-request memory, MB.
    pub hog_mb: f64,
    /// Blocking calls its IO is made of (≥ 1), each with its share of the CPU before it.
    pub io_calls: u32,
}

/// The link used when a slow-client control is turned on for a scenario without a client mix:
/// a 56 kbit/s modem with a 150 ms round trip.
fn modem(bandwidth_kbps: f64) -> ClientClass {
    ClientClass { name: "modem".into(), weight: 0.0, bandwidth_kbps, rtt_s: 0.15, header_s: 0.0, reads: true }
}

/// Bandwidth of the `modem` link, kbit/s.
const MODEM_KBPS: f64 = 56.0;

/// Which of the links `(bandwidth kbit/s, reads)` the slow-client control moves: the slowest
/// link of clients that read, if it is slower than the fastest one (`None`: the mix has no slow
/// link, and the control adds a 56 kbit/s modem link).
pub fn slow_link(links: impl Iterator<Item = (f64, bool)> + Clone) -> Option<usize> {
    let fastest = links.clone().map(|(b, _)| b).fold(f64::NEG_INFINITY, f64::max);
    links
        .enumerate()
        .filter(|(_, (_, reads))| *reads)
        .min_by(|a, b| a.1.0.total_cmp(&b.1.0))
        .filter(|(_, (b, _))| *b < fastest)
        .map(|(i, _)| i)
}

/// Bandwidth, kbit/s, of the link the slow-client control adds to a mix with no slow link: a
/// 56 kbit/s modem, or half the slowest reader's speed if that is slower still — so that
/// `slow_link` finds it next time and the control never adds a second one.
pub fn added_slow_link_kbps(links: impl Iterator<Item = (f64, bool)>) -> f64 {
    links.filter(|(_, reads)| *reads).map(|(b, _)| b / 2.0).fold(MODEM_KBPS, f64::min)
}

/// Give `fraction` (0..=1) of `clients` the slowest link of clients that read, the other links
/// keeping their relative weights — the one rule behind the slow-client control, used by the
/// running load and by the window when it writes the scenario. A mix with no slower link gets a
/// modem link (`added_slow_link_kbps`); a scenario without a client mix gets a local link of
/// unlimited bandwidth plus a modem. Links whose weight becomes 0 are kept (so the control can
/// find the slow link again); a scenario file, which needs weights > 0, drops them.
pub fn set_slow_share(clients: &mut Vec<ClientClass>, fraction: f64) {
    let f = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
    if clients.is_empty() {
        if f == 0.0 {
            return;
        }
        let local = ClientClass {
            name: "fast".into(),
            weight: 1.0,
            bandwidth_kbps: f64::INFINITY,
            rtt_s: 0.0,
            header_s: 0.0,
            reads: true,
        };
        *clients = vec![local, modem(MODEM_KBPS)];
    }
    let links = || clients.iter().map(|c| (c.bandwidth_kbps, c.reads));
    let slow = match slow_link(links()) {
        Some(i) => i,
        // No slow link and none wanted: nothing changes.
        None if f == 0.0 => return,
        None => {
            let kbps = added_slow_link_kbps(links());
            clients.push(modem(kbps));
            clients.len() - 1
        }
    };
    let others: f64 = clients.iter().enumerate().filter(|(i, _)| *i != slow).map(|(_, c)| c.weight).sum();
    let n_others = (clients.len() - 1).max(1) as f64;
    for (i, c) in clients.iter_mut().enumerate() {
        c.weight = if i == slow {
            f
        } else if others > 0.0 {
            c.weight / others * (1.0 - f)
        } else {
            (1.0 - f) / n_others
        };
    }
}

/// Generates the arrivals and demands of one replication.
#[derive(Debug)]
pub struct LoadGen {
    arrival: Arrival,
    rate_rps: f64,
    schedule: Vec<RateStep>,
    generation: u32,
    classes: Vec<ClassSampler>,
    total_weight: f64,
    clients: Vec<ClientClass>,
    arrivals_rng: SimRng,
    demands_rng: SimRng,
    think_rng: SimRng,
    /// Index of the next arrival of a replayed log.
    log_next: usize,
    /// A replayed log's class per arrival (`[[request]] url`), and how many have been drawn.
    log_classes: Option<std::sync::Arc<[u16]>>,
    log_drawn: usize,
    /// Requests a client sends over one connection before closing it.
    per_connection: u32,
    /// Open loads: pause between a response and the client's next request, seconds.
    gap_s: Dist,
    gaps_rng: SimRng,
    /// Open loads: a client leaves its connection open after its last request.
    keeps_open: bool,
    /// Open loads: each arrival is a client with an identity (see `open_client`).
    open_clients: bool,
    /// Open-load clients still sending: id → requests left, the one in progress included.
    visits: HashMap<u32, u32>,
    next_visit: u32,
    /// Closed loads, per user: (its connection's serial number, requests sent on it).
    user_connections: Vec<(u32, u32)>,
    /// Retries a client makes after a failed request.
    retries: u32,
    /// Pause before the first retry, seconds (doubling after each).
    backoff_s: f64,
    /// With retries on: each client's request in progress, kept so that it can be sent again.
    attempts: HashMap<u32, Attempt>,
}

/// A client's request in progress, remembered for retries.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    demand: Demand,
    /// Retries made so far.
    retries: u32,
    /// A retry is scheduled and has not been sent yet.
    due: bool,
}

impl LoadGen {
    /// The load of `scenario` in replication `replication`.
    pub fn new(scenario: &Scenario, replication: u32) -> Self {
        let seed = scenario.run.seed;
        let rep = u64::from(replication);
        let mut total = 0.0;
        let classes = scenario
            .requests
            .iter()
            .map(|c| {
                total += c.weight;
                ClassSampler {
                    cumulative_weight: total,
                    cpu_s: c.cpu_s.clone(),
                    io_s: c.io_s.clone(),
                    is_static: c.is_static,
                    crash_fraction: c.crash_fraction,
                    request_kb: c.request_kb,
                    response_kb: c.response_kb,
                    hang_fraction: c.hang_fraction,
                    hang: c.hang,
                    leak_kb: c.leak_kb,
                    hog_mb: c.memory_hog_mb,
                    io_calls: c.io_calls,
                }
            })
            .collect();
        Self {
            arrival: scenario.load.arrival.clone(),
            rate_rps: scenario.load.rate_rps,
            schedule: scenario.load.schedule.clone(),
            generation: 0,
            classes,
            total_weight: total,
            clients: scenario.load.clients.clone(),
            arrivals_rng: stream(seed, rep, STREAM_ARRIVALS),
            demands_rng: stream(seed, rep, STREAM_DEMANDS),
            think_rng: stream(seed, rep, STREAM_THINK),
            log_next: 0,
            log_classes: match &scenario.load.arrival {
                Arrival::Log(log) => log.classes.clone(),
                _ => None,
            },
            log_drawn: 0,
            per_connection: scenario.load.requests_per_connection.max(1),
            gap_s: scenario.load.connection_gap_s.clone(),
            gaps_rng: stream(seed, rep, STREAM_GAPS),
            keeps_open: scenario.load.client_keeps_open,
            open_clients: scenario.load.open_clients_have_connections(),
            visits: HashMap::new(),
            next_visit: 0,
            user_connections: match scenario.load.arrival {
                Arrival::Closed { users, .. } => vec![(0, 0); users as usize],
                _ => Vec::new(),
            },
            retries: scenario.load.retries,
            backoff_s: scenario.load.retry_backoff_s,
            attempts: HashMap::new(),
        }
    }

    /// The request `user` sends again now, if a retry of theirs is due (the same demand).
    #[inline]
    pub fn retry_of(&mut self, user: u32) -> Option<Demand> {
        if self.retries == 0 {
            return None;
        }
        let a = self.attempts.get_mut(&user).filter(|a| a.due)?;
        a.due = false;
        Some(a.demand)
    }

    /// `user` sent `demand` (remembered for a retry, with retries on).
    #[inline]
    pub fn sent(&mut self, user: u32, demand: &Demand) {
        if self.retries == 0 || user == u32::MAX {
            return;
        }
        self.attempts.entry(user).or_insert(Attempt { demand: *demand, retries: 0, due: false }).demand = *demand;
    }

    /// A new open-load client arrives: `u32::MAX` if clients send one request each and close
    /// (no identity needed), else a fresh client id that sends `requests_per_connection`.
    #[inline]
    pub fn open_client(&mut self) -> u32 {
        if !self.open_clients {
            return u32::MAX;
        }
        let id = self.next_visit;
        self.next_visit = self.next_visit.wrapping_add(1) % u32::MAX;
        self.visits.insert(id, self.per_connection);
        id
    }

    /// The connection `user` sends its next request on, and whether the client closes it after
    /// the response. Closed-load users open a new connection every `requests_per_connection`
    /// requests (and after giving up on one).
    #[inline]
    pub fn connection_for(&mut self, user: u32) -> (u64, bool) {
        if user == u32::MAX {
            return (NO_CONNECTION, true);
        }
        let id = u64::from(user) << 32;
        if let Some((serial, sent)) = self.user_connections.get_mut(user as usize) {
            if *sent >= self.per_connection {
                *serial = serial.wrapping_add(1);
                *sent = 0;
            }
            *sent += 1;
            return (id | u64::from(*serial), *sent == self.per_connection);
        }
        let left = self.visits.get(&user).copied().unwrap_or(1);
        (id, left <= 1 && !self.keeps_open)
    }

    /// The current open-load arrival rate, requests per second.
    pub fn rate_rps(&self) -> f64 {
        self.rate_rps
    }

    /// Schedule the first events: the first arrival (open) or every user's first think (closed),
    /// and the rate schedule.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        match &self.arrival {
            Arrival::Closed { users, think_s } => {
                for user in 0..*users {
                    let t = think_s.sample(&mut self.think_rng);
                    sched.schedule_in(t, Event::Think { user });
                }
            }
            Arrival::Log(_) => self.schedule_next_logged(sched),
            Arrival::Poisson | Arrival::Uniform => {
                self.schedule_next_arrival(sched);
                for (index, step) in self.schedule.iter().enumerate() {
                    sched.schedule_at(step.at_s, Event::RateChange { index: index as u32 });
                }
            }
        }
    }

    /// The next arrival goes in the scheduler's timer (one is pending at a time; re-drawing it
    /// after a rate change replaces the old one), which skips a heap push and pop per request.
    fn schedule_next_arrival(&mut self, sched: &mut Scheduler<Event>) {
        if self.rate_rps <= 0.0 {
            sched.cancel_timer();
            return;
        }
        let gap = match self.arrival {
            // Ziggurat sampling (rand_distr's Exp1) rather than -ln(1 - u): no libm call in the
            // common case, about 100 instructions fewer per arrival (callgrind).
            Arrival::Poisson => exp1(&mut self.arrivals_rng) / self.rate_rps,
            _ => 1.0 / self.rate_rps,
        };
        sched.set_timer_at(sched.now_s() + gap, Event::Arrival { generation: self.generation });
    }

    /// An arrival event fired: true if it is current (then the next one is scheduled).
    pub fn arrival_due(&mut self, generation: u32, sched: &mut Scheduler<Event>) -> bool {
        if generation != self.generation {
            return false;
        }
        if matches!(self.arrival, Arrival::Log(_)) {
            self.schedule_next_logged(sched);
        } else {
            self.schedule_next_arrival(sched);
        }
        true
    }

    /// Schedule the next line of a replayed log (none after the last).
    fn schedule_next_logged(&mut self, sched: &mut Scheduler<Event>) {
        if let Arrival::Log(log) = &self.arrival
            && let Some(&t) = log.times_s.get(self.log_next)
        {
            self.log_next += 1;
            sched.set_timer_at(t, Event::Arrival { generation: self.generation });
        }
    }

    /// Change the open-load rate now (from the schedule or a live control). The pending arrival
    /// is re-drawn at the new rate (exact for Poisson arrivals, which are memoryless).
    pub fn set_rate_rps(&mut self, rate_rps: f64, sched: &mut Scheduler<Event>) {
        if matches!(self.arrival, Arrival::Closed { .. } | Arrival::Log(_)) {
            return;
        }
        self.rate_rps = rate_rps.max(0.0);
        self.generation = self.generation.wrapping_add(1);
        self.schedule_next_arrival(sched);
    }

    /// The rate schedule reached step `index`.
    pub fn rate_change(&mut self, index: u32, sched: &mut Scheduler<Event>) {
        if let Some(step) = self.schedule.get(index as usize) {
            let rate = step.rate_rps;
            self.set_rate_rps(rate, sched);
        }
    }

    /// Change class `class`'s mean CPU and/or IO demand (seconds), keeping each distribution's
    /// shape. Requests already drawn keep their demands. An impossible mean is ignored.
    pub fn set_class_means(&mut self, class: usize, cpu_mean_s: Option<f64>, io_mean_s: Option<f64>) {
        let Some(c) = self.classes.get_mut(class) else { return };
        if let Some(m) = cpu_mean_s
            && let Ok(d) = c.cpu_s.with_mean(m)
        {
            c.cpu_s = d;
        }
        if let Some(m) = io_mean_s
            && let Ok(d) = c.io_s.with_mean(m)
        {
            c.io_s = d;
        }
    }

    /// Make `fraction` (0..=1) of clients use the slowest link of the mix (a 56 kbit/s modem if
    /// the scenario has no client mix), the other links keeping their relative weights.
    pub fn set_slow_client_fraction(&mut self, fraction: f64) {
        set_slow_share(&mut self.clients, fraction);
    }

    /// The fraction of clients on the slowest link (0 without a client mix, or if no link is
    /// slower than the others).
    pub fn slow_client_fraction(&self) -> f64 {
        let total: f64 = self.clients.iter().map(|c| c.weight).sum();
        slow_link(self.clients.iter().map(|c| (c.bandwidth_kbps, c.reads)))
            .map_or(0.0, |i| if total > 0.0 { self.clients[i].weight / total } else { 0.0 })
    }

    /// Change class `class`'s crash probability (clamped to 0..=1).
    pub fn set_crash_fraction(&mut self, class: usize, fraction: f64) {
        if let Some(c) = self.classes.get_mut(class) {
            c.crash_fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        }
    }

    /// Client `user` got its answer, or gave up (closing its connection): a closed-load user
    /// thinks, then sends its next request; an open-load client sends its next request after a
    /// gap, or leaves after its last (or after giving up).
    pub fn user_free(&mut self, user: u32, outcome: Outcome, sched: &mut Scheduler<Event>) {
        let gave_up = outcome == Outcome::TimedOut;
        if self.retries > 0 {
            if let Some(a) = self.attempts.get_mut(&user)
                && outcome.is_failure()
                && a.retries < self.retries
            {
                // Try again after the backoff: base × 2^(retries made so far).
                let delay = self.backoff_s * 2f64.powi(a.retries.min(60) as i32);
                a.retries += 1;
                a.due = true;
                if gave_up && let Some((serial, sent)) = self.user_connections.get_mut(user as usize) {
                    *serial = serial.wrapping_add(1);
                    *sent = 0;
                }
                sched.schedule_in(delay, Event::Retry { user });
                return;
            }
            self.attempts.remove(&user);
        }
        if let Arrival::Closed { think_s, .. } = &self.arrival {
            if gave_up && let Some((serial, sent)) = self.user_connections.get_mut(user as usize) {
                *serial = serial.wrapping_add(1);
                *sent = 0;
            }
            let t = think_s.sample(&mut self.think_rng);
            sched.schedule_in(t, Event::Think { user });
            return;
        }
        let Some(left) = self.visits.get_mut(&user) else { return };
        *left = left.saturating_sub(1);
        if gave_up || *left == 0 {
            self.visits.remove(&user);
        } else {
            let t = self.gap_s.sample(&mut self.gaps_rng);
            sched.schedule_in(t, Event::Think { user });
        }
    }

    /// Draw the next request's class and demands (always in the same order, from the demand
    /// stream alone).
    pub fn draw_request(&mut self) -> Demand {
        let class = match &self.log_classes {
            // The logged request's own class, by its path.
            Some(classes) if !classes.is_empty() => {
                let c = usize::from(classes[self.log_drawn.min(classes.len() - 1)]);
                self.log_drawn += 1;
                c
            }
            _ => {
                let x = unit(&mut self.demands_rng) * self.total_weight;
                self.classes.iter().position(|c| x < c.cumulative_weight).unwrap_or(self.classes.len() - 1)
            }
        };
        let c = &self.classes[class];
        let cpu_s = c.cpu_s.sample(&mut self.demands_rng);
        let io_s = c.io_s.sample(&mut self.demands_rng);
        // Drawn only for classes that can crash, so scenarios without crashes keep their streams.
        let crashes = c.crash_fraction > 0.0 && unit(&mut self.demands_rng) < c.crash_fraction;
        let (request_kb, response_kb, is_static) = (c.request_kb, c.response_kb, c.is_static);
        let (leak_kb, hog_mb, io_calls) = (c.leak_kb, c.hog_mb, c.io_calls);
        // Drawn only for classes that can hang (streams of other scenarios are unchanged).
        let (mut cpu_s, mut io_s) = (cpu_s, io_s);
        if c.hang_fraction > 0.0 && unit(&mut self.demands_rng) < c.hang_fraction {
            match c.hang {
                crate::config::Hang::Cpu => cpu_s = f64::INFINITY,
                crate::config::Hang::Io => io_s = f64::INFINITY,
            }
        }
        // Likewise the client link, only when there is a client mix.
        let (bandwidth_kbps, rtt_s, header_s, reads) = if self.clients.is_empty() {
            (f64::INFINITY, 0.0, 0.0, true)
        } else {
            let total: f64 = self.clients.iter().map(|c| c.weight).sum();
            let mut x = unit(&mut self.demands_rng) * total;
            let last = self.clients.len() - 1;
            let link = self
                .clients
                .iter()
                .position(|c| {
                    x -= c.weight;
                    x < 0.0
                })
                .unwrap_or(last);
            let c = &self.clients[link];
            (c.bandwidth_kbps, c.rtt_s, c.header_s, c.reads)
        };
        let transfer = |kb: f64| if kb > 0.0 { kb * 8.0 / bandwidth_kbps } else { 0.0 };
        Demand {
            class: class as u16,
            cpu_s,
            io_s,
            is_static,
            crashes,
            upload_s: rtt_s / 2.0 + header_s + transfer(request_kb),
            header_s,
            download_s: if reads { rtt_s / 2.0 + transfer(response_kb) } else { f64::INFINITY },
            reads,
            response_kb,
            bandwidth_kbps,
            leak_kb,
            hog_mb,
            io_calls,
        }
    }
}
