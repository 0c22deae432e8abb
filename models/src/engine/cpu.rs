//! The machine's CPU: `cores` shared by every runnable thread (egalitarian processor sharing).
//! When n threads want CPU and n > cores, each progresses at cores/n of a core.
//!
//! Implementation: a virtual clock V advances at the per-thread rate r(n) = min(1, cores/n); a
//! thread that needs w seconds of CPU finishes when V reaches its tag V0 + w. A min-heap of tags
//! gives the next completion in O(log n); a thread taken off the CPU early (GIL hand-off) is
//! removed lazily by matching its tag.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Work below this many CPU-seconds counts as finished (absorbs floating-point rounding).
const EPS_WORK_S: f64 = 1e-10;

/// A thread's tag in the heap: (virtual finishing time as ordered bits, thread index).
type Tag = Reverse<(u64, u32)>;

/// Processor-sharing CPU.
#[derive(Debug)]
pub struct Cpu {
    cores: f64,
    vtime: f64,
    last_s: f64,
    heap: BinaryHeap<Tag>,
    /// Per thread: its current finishing tag (NaN when not on the CPU).
    tag_of: Vec<f64>,
    running: u32,
    armed_s: Option<f64>,
    /// Relative speed of every core (1 normally; below 1 while the machine swaps).
    speed: f64,
}

/// Order-preserving map of non-negative finite f64 to u64.
#[inline]
fn key(v: f64) -> u64 {
    v.to_bits()
}

impl Cpu {
    /// A CPU with `cores` cores and room for `threads` thread indices (grows on demand).
    pub fn new(cores: u32, threads: usize) -> Self {
        Self {
            cores: f64::from(cores.max(1)),
            vtime: 0.0,
            last_s: 0.0,
            heap: BinaryHeap::with_capacity(threads),
            tag_of: vec![f64::NAN; threads],
            running: 0,
            armed_s: None,
            speed: 1.0,
        }
    }

    /// Threads currently on the CPU.
    #[inline]
    pub fn running(&self) -> u32 {
        self.running
    }

    /// Cores in use (min(running, cores)).
    #[inline]
    pub fn busy_cores(&self) -> f64 {
        f64::from(self.running).min(self.cores)
    }

    /// Number of cores.
    pub fn cores(&self) -> f64 {
        self.cores
    }

    #[inline]
    fn rate(&self) -> f64 {
        let n = f64::from(self.running);
        self.speed * if n <= self.cores { 1.0 } else { self.cores / n }
    }

    /// Every core runs at `speed` (relative) from `now_s` on; call `rearm` afterwards.
    pub fn set_speed(&mut self, now_s: f64, speed: f64) {
        self.advance(now_s);
        self.speed = speed;
    }

    /// The cores' relative speed.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    #[inline]
    fn advance(&mut self, now_s: f64) {
        if self.running > 0 && now_s > self.last_s {
            self.vtime += (now_s - self.last_s) * self.rate();
        }
        self.last_s = now_s;
    }

    /// Put `thread` on the CPU needing `work_s` CPU-seconds.
    pub fn add(&mut self, now_s: f64, thread: u32, work_s: f64) {
        self.advance(now_s);
        let t = thread as usize;
        if t >= self.tag_of.len() {
            self.tag_of.resize(t + 1, f64::NAN);
        }
        debug_assert!(self.tag_of[t].is_nan(), "thread {thread} is already on the CPU");
        let tag = self.vtime + work_s.max(0.0);
        self.tag_of[t] = tag;
        self.heap.push(Reverse((key(tag), thread)));
        self.running += 1;
    }

    /// True if `thread` is on the CPU.
    pub fn contains(&self, thread: u32) -> bool {
        self.tag_of.get(thread as usize).is_some_and(|t| !t.is_nan())
    }

    /// Take `thread` off the CPU before it finishes; returns the CPU-seconds it still needs.
    pub fn remove(&mut self, now_s: f64, thread: u32) -> f64 {
        self.advance(now_s);
        let t = thread as usize;
        let tag = self.tag_of[t];
        debug_assert!(!tag.is_nan(), "thread {thread} is not on the CPU");
        self.tag_of[t] = f64::NAN;
        self.running -= 1;
        (tag - self.vtime).max(0.0)
    }

    /// Drop heap entries of threads that were removed early.
    #[inline]
    fn clean_top(&mut self) {
        while let Some(&Reverse((k, th))) = self.heap.peek() {
            let cur = self.tag_of[th as usize];
            if !cur.is_nan() && key(cur) == k {
                return;
            }
            self.heap.pop();
        }
    }

    /// When the next thread will finish, in seconds of simulated time (None if the CPU is idle).
    pub fn next_completion_s(&mut self, now_s: f64) -> Option<f64> {
        self.advance(now_s);
        self.clean_top();
        let &Reverse((k, _)) = self.heap.peek()?;
        let remaining = (f64::from_bits(k) - self.vtime).max(0.0);
        Some(now_s + remaining / self.rate())
    }

    /// Decide whether a new completion event must be scheduled after a change at `now_s`.
    /// Returns the time to schedule it at, or None if an already-scheduled event fires early
    /// enough (it will re-evaluate) or the CPU is idle.
    pub fn rearm(&mut self, now_s: f64) -> Option<f64> {
        let next = self.next_completion_s(now_s)?;
        if !next.is_finite() {
            // Only infinite loops are running: nothing will ever finish.
            return None;
        }
        match self.armed_s {
            Some(a) if a <= next => None,
            _ => {
                self.armed_s = Some(next);
                Some(next)
            }
        }
    }

    /// Handle a completion event scheduled for `at_s`: if it is the armed one, push every thread
    /// whose work is done into `done` and return true; stale events return false.
    pub fn fire(&mut self, at_s: f64, done: &mut Vec<u32>) -> bool {
        if self.armed_s != Some(at_s) {
            return false;
        }
        self.armed_s = None;
        self.advance(at_s);
        loop {
            self.clean_top();
            match self.heap.peek() {
                Some(&Reverse((k, th))) if f64::from_bits(k) <= self.vtime + EPS_WORK_S => {
                    self.heap.pop();
                    self.tag_of[th as usize] = f64::NAN;
                    self.running -= 1;
                    done.push(th);
                }
                _ => break,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drive the CPU like the engine does and return each thread's finishing time.
    fn finish_times(cores: u32, jobs: &[(f64, f64)]) -> Vec<f64> {
        let mut cpu = Cpu::new(cores, jobs.len());
        let mut pending: Vec<(f64, u32)> = jobs.iter().enumerate().map(|(i, j)| (j.0, i as u32)).collect();
        pending.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out = vec![f64::NAN; jobs.len()];
        let mut armed: Vec<f64> = vec![];
        let mut done = vec![];
        let mut pi = 0;
        loop {
            let next_arrival = pending.get(pi).map(|p| p.0);
            armed.sort_by(|a, b| b.total_cmp(a));
            let next_cpu = armed.last().copied();
            match (next_arrival, next_cpu) {
                (Some(a), c) if c.is_none_or(|c| a < c) => {
                    let th = pending[pi].1;
                    cpu.add(a, th, jobs[th as usize].1);
                    pi += 1;
                    if let Some(t) = cpu.rearm(a) {
                        armed.push(t);
                    }
                }
                (_, Some(c)) => {
                    armed.pop();
                    if cpu.fire(c, &mut done) {
                        for th in done.drain(..) {
                            out[th as usize] = c;
                        }
                        if let Some(t) = cpu.rearm(c) {
                            armed.push(t);
                        }
                    }
                }
                _ => return out,
            }
        }
    }

    #[test]
    fn one_core_two_equal_jobs_share_it() {
        // Two 1-second jobs at t=0 on one core each progress at 1/2: both finish at t=2.
        let f = finish_times(1, &[(0.0, 1.0), (0.0, 1.0)]);
        assert!((f[0] - 2.0).abs() < 1e-9 && (f[1] - 2.0).abs() < 1e-9);
    }

    #[test]
    fn processor_sharing_hand_calculation() {
        // One core. A: 2 s of work at t=0; B: 1 s at t=1.
        // t in [0,1): A alone, does 1 s. From t=1 both at rate 1/2: B finishes its 1 s at t=3,
        // by which time A has done 1 more second and is done too: both at t=3.
        let f = finish_times(1, &[(0.0, 2.0), (1.0, 1.0)]);
        assert!((f[0] - 3.0).abs() < 1e-9, "{f:?}");
        assert!((f[1] - 3.0).abs() < 1e-9, "{f:?}");
        // Two cores, three 1 s jobs at t=0: rate 2/3 each, all finish at 1.5.
        let f = finish_times(2, &[(0.0, 1.0), (0.0, 1.0), (0.0, 1.0)]);
        assert!(f.iter().all(|t| (t - 1.5).abs() < 1e-9), "{f:?}");
        // Two cores, two jobs: no sharing, each finishes after its own work.
        let f = finish_times(2, &[(0.0, 1.0), (0.5, 3.0)]);
        assert!((f[0] - 1.0).abs() < 1e-9 && (f[1] - 3.5).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn removing_a_thread_returns_its_remaining_work() {
        let mut cpu = Cpu::new(1, 2);
        cpu.add(0.0, 0, 4.0);
        cpu.add(0.0, 1, 4.0);
        // After 2 s at rate 1/2 each has done 1 s.
        let left = cpu.remove(2.0, 1);
        assert!((left - 3.0).abs() < 1e-12);
        // Thread 0 is alone now: 3 s left at full speed.
        assert!((cpu.next_completion_s(2.0).unwrap() - 5.0).abs() < 1e-12);
    }
}
