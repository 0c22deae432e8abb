//! The simulation driver: a `Scheduler` that owns the clock and the event queue, a `Model` that
//! reacts to events, and a `Simulation` that can `step`, `run_until` a time, pause and resume.

use crate::queue::EventQueue;

/// Owns simulated time (seconds) and the pending events; handed to a model while it handles an
/// event so that it can schedule more.
pub struct Scheduler<E> {
    now_s: f64,
    queue: EventQueue<E>,
}

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Scheduler<E> {
    /// A scheduler at time zero with no pending events.
    pub fn new() -> Self {
        Self { now_s: 0.0, queue: EventQueue::new() }
    }

    /// The current simulated time in seconds.
    #[inline]
    pub fn now_s(&self) -> f64 {
        self.now_s
    }

    /// Schedule `event` at absolute time `at_s`; a time in the past is clamped to now.
    #[inline]
    pub fn schedule_at(&mut self, at_s: f64, event: E) {
        self.queue.push(at_s.max(self.now_s), event);
    }

    /// Schedule `event` after a delay of `delay_s` seconds (negative delays are clamped to zero).
    #[inline]
    pub fn schedule_in(&mut self, delay_s: f64, event: E) {
        self.queue.push(self.now_s + delay_s.max(0.0), event);
    }

    /// Arm the scheduler's one timer: `event` at absolute time `at_s` (clamped to now), replacing
    /// the pending timer event if any. For an event of which at most one is ever pending and that
    /// fires often, such as the next arrival: it is delivered in exactly the order `schedule_at`
    /// would give, but skips the heap.
    #[inline]
    pub fn set_timer_at(&mut self, at_s: f64, event: E) {
        self.queue.set_timer(at_s.max(self.now_s), event);
    }

    /// Disarm the timer: its pending event, if any, is not delivered.
    pub fn cancel_timer(&mut self) {
        self.queue.cancel_timer();
    }

    /// The time in seconds of the next pending event, if any.
    pub fn next_time_s(&self) -> Option<f64> {
        self.queue.peek_time_s()
    }

    /// Number of pending events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// Something that evolves by reacting to its own events.
pub trait Model {
    /// The event type this model schedules and handles.
    type Event: Copy;

    /// React to `event`, which fires at `scheduler.now_s()`.
    fn handle(&mut self, event: Self::Event, scheduler: &mut Scheduler<Self::Event>);
}

/// A model together with its scheduler. Drive it with `step` or `run_until`; it can be stopped at
/// any time and resumed later (the GUI advances it frame by frame).
pub struct Simulation<M: Model> {
    /// The model being simulated.
    pub model: M,
    /// The clock and pending events.
    pub scheduler: Scheduler<M::Event>,
}

impl<M: Model> Simulation<M> {
    /// Wrap a model with a fresh scheduler at time zero.
    pub fn new(model: M) -> Self {
        Self { model, scheduler: Scheduler::new() }
    }

    /// The current simulated time in seconds.
    pub fn now_s(&self) -> f64 {
        self.scheduler.now_s
    }

    /// Handle the next event. Returns false when no event is pending.
    pub fn step(&mut self) -> bool {
        match self.scheduler.queue.pop() {
            Some((t, event)) => {
                self.scheduler.now_s = t;
                self.model.handle(event, &mut self.scheduler);
                true
            }
            None => false,
        }
    }

    /// Handle every event with time <= `until_s`, then set the clock to `until_s` (if it is later
    /// than now). Returns the number of events handled.
    pub fn run_until(&mut self, until_s: f64) -> u64 {
        self.run_until_limited(until_s, u64::MAX)
    }

    /// Like `run_until`, but stop after at most `max_events` events; the clock then stays at the
    /// last handled event so that a later call resumes exactly where this one stopped.
    /// Returns the number of events handled.
    pub fn run_until_limited(&mut self, until_s: f64, max_events: u64) -> u64 {
        let mut handled = 0;
        while handled < max_events {
            match self.scheduler.queue.peek_time_s() {
                Some(t) if t <= until_s => {
                    self.step();
                    handled += 1;
                }
                _ => {
                    if until_s > self.scheduler.now_s {
                        self.scheduler.now_s = until_s;
                    }
                    break;
                }
            }
        }
        handled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model that records when each event fires and re-schedules a follow-up.
    struct Ping {
        log: Vec<(f64, u32)>,
    }
    impl Model for Ping {
        type Event = u32;
        fn handle(&mut self, n: u32, s: &mut Scheduler<u32>) {
            self.log.push((s.now_s(), n));
            if n < 5 {
                s.schedule_in(1.0, n + 1);
            }
        }
    }

    #[test]
    fn run_until_stops_at_the_boundary_and_resumes() {
        let mut sim = Simulation::new(Ping { log: vec![] });
        sim.scheduler.schedule_at(0.0, 0);
        assert_eq!(sim.run_until(2.5), 3); // events at 0, 1, 2
        assert_eq!(sim.now_s(), 2.5);
        assert_eq!(sim.run_until(10.0), 3); // 3, 4, 5
        assert_eq!(sim.model.log.iter().map(|e| e.0).collect::<Vec<_>>(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(!sim.step());
    }

    #[test]
    fn limited_run_resumes_without_skipping() {
        let mut sim = Simulation::new(Ping { log: vec![] });
        sim.scheduler.schedule_at(0.0, 0);
        assert_eq!(sim.run_until_limited(100.0, 2), 2);
        assert_eq!(sim.now_s(), 1.0);
        sim.run_until(100.0);
        assert_eq!(sim.model.log.len(), 6);
    }
}
