//! The load generator: open (Poisson or evenly spaced, with a piecewise-constant rate schedule)
//! or closed (users with think time), and the request mix. Each purpose has its own RNG stream,
//! so every server in a scenario sees identical arrival times and request demands.

use sim::dist::unit;
use sim::{Dist, Scheduler, SimRng, stream};

use super::Event;
use crate::config::{Arrival, RateStep, Scenario};

/// RNG stream purposes.
const STREAM_ARRIVALS: u64 = 1;
const STREAM_DEMANDS: u64 = 2;
const STREAM_THINK: u64 = 3;

/// A request class ready for sampling.
#[derive(Debug, Clone)]
struct ClassSampler {
    cumulative_weight: f64,
    cpu_s: Dist,
    io_s: Dist,
    is_static: bool,
    crash_fraction: f64,
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
    arrivals_rng: SimRng,
    demands_rng: SimRng,
    think_rng: SimRng,
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
            arrivals_rng: stream(seed, rep, STREAM_ARRIVALS),
            demands_rng: stream(seed, rep, STREAM_DEMANDS),
            think_rng: stream(seed, rep, STREAM_THINK),
        }
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
            Arrival::Poisson | Arrival::Uniform => {
                self.schedule_next_arrival(sched);
                for (index, step) in self.schedule.iter().enumerate() {
                    sched.schedule_at(step.at_s, Event::RateChange { index: index as u32 });
                }
            }
        }
    }

    fn schedule_next_arrival(&mut self, sched: &mut Scheduler<Event>) {
        if self.rate_rps <= 0.0 {
            return;
        }
        let gap = match self.arrival {
            Arrival::Poisson => -(1.0 - unit(&mut self.arrivals_rng)).ln() / self.rate_rps,
            _ => 1.0 / self.rate_rps,
        };
        sched.schedule_in(gap, Event::Arrival { generation: self.generation });
    }

    /// An arrival event fired: true if it is current (then the next one is scheduled).
    pub fn arrival_due(&mut self, generation: u32, sched: &mut Scheduler<Event>) -> bool {
        if generation != self.generation {
            return false;
        }
        self.schedule_next_arrival(sched);
        true
    }

    /// Change the open-load rate now (from the schedule or a live control). The pending arrival
    /// is re-drawn at the new rate (exact for Poisson arrivals, which are memoryless).
    pub fn set_rate_rps(&mut self, rate_rps: f64, sched: &mut Scheduler<Event>) {
        if matches!(self.arrival, Arrival::Closed { .. }) {
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

    /// Change class `class`'s crash probability (clamped to 0..=1).
    pub fn set_crash_fraction(&mut self, class: usize, fraction: f64) {
        if let Some(c) = self.classes.get_mut(class) {
            c.crash_fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        }
    }

    /// A closed-load client got its answer: it thinks, then sends its next request.
    pub fn user_free(&mut self, user: u32, sched: &mut Scheduler<Event>) {
        if let Arrival::Closed { think_s, .. } = &self.arrival {
            let t = think_s.sample(&mut self.think_rng);
            sched.schedule_in(t, Event::Think { user });
        }
    }

    /// Draw the next request's class and demands (always in the same order, from the demand
    /// stream alone).
    pub fn draw_request(&mut self) -> Demand {
        let x = unit(&mut self.demands_rng) * self.total_weight;
        let class = self.classes.iter().position(|c| x < c.cumulative_weight).unwrap_or(self.classes.len() - 1);
        let c = &self.classes[class];
        let cpu_s = c.cpu_s.sample(&mut self.demands_rng);
        let io_s = c.io_s.sample(&mut self.demands_rng);
        // Drawn only for classes that can crash, so scenarios without crashes keep their streams.
        let crashes = c.crash_fraction > 0.0 && unit(&mut self.demands_rng) < c.crash_fraction;
        Demand { class: class as u16, cpu_s, io_s, is_static: c.is_static, crashes }
    }
}
