//! The machine's CPU: `cores` shared by every runnable thread, either by ideal processor sharing
//! or in time slices as an OS scheduler hands them out.
//!
//! **Processor sharing** (`slice_s = 0`): when n threads want CPU and n > cores, each progresses
//! at cores/n of a core. Implementation: a virtual clock V advances at the per-thread rate
//! r(n) = min(1, cores/n); a thread that needs w seconds of CPU finishes when V reaches its tag
//! V0 + w. A min-heap of tags gives the next completion in O(log n); a thread taken off the CPU
//! early (GIL hand-off) is removed lazily by matching its tag.
//!
//! **Time slices** (`slice_s > 0`): at most `cores` threads run, each at full speed; the others
//! wait in one FIFO run queue. A running thread keeps its core until its work is done or, while
//! another thread waits, its slice of `slice_s` ends; then it goes to the back of the queue and
//! the head of the queue gets the core. A thread that becomes runnable takes a free core or
//! joins the back of the queue. This is round-robin scheduling, the discipline Linux's fair
//! scheduler reduces to for equal-weight tasks; processor sharing is its limit as the slice goes
//! to zero. Unlike processor sharing it breaks symmetry: of 16 identical threads on 2 cores, two
//! finish their slices first, so identical processes do not stay in phase.

use crate::engine::ThreadId;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Work below this many CPU-seconds counts as finished (absorbs floating-point rounding).
const EPS_WORK_S: f64 = 1e-10;

/// A thread's tag in the heap: (virtual finishing time as ordered bits, thread index).
type Tag = Reverse<(u64, ThreadId)>;

/// The machine's CPU (see the module documentation for its two disciplines).
#[derive(Debug)]
pub struct Cpu {
    cores: f64,
    armed_s: Option<f64>,
    /// Relative speed of every core (1 normally; below 1 while the machine swaps).
    speed: f64,
    discipline: Discipline,
}

#[derive(Debug)]
enum Discipline {
    Sharing(Sharing),
    Sliced(Sliced),
}

/// Processor-sharing state.
#[derive(Debug)]
struct Sharing {
    vtime: f64,
    last_s: f64,
    heap: BinaryHeap<Tag>,
    /// Per thread: its current finishing tag (NaN when not on the CPU).
    tag_of: Vec<f64>,
    running: u32,
}

/// Time-slice state.
#[derive(Debug)]
struct Sliced {
    slice_s: f64,
    /// Threads on a core (at most `cores`).
    on_core: Vec<OnCore>,
    /// Runnable threads waiting for a core, with the CPU-seconds each still needs.
    queue: VecDeque<(ThreadId, f64)>,
    /// Per thread: true while it is runnable (on a core or queued).
    runnable: Vec<bool>,
}

/// A thread running on a core.
#[derive(Debug, Clone, Copy)]
struct OnCore {
    thread: ThreadId,
    /// CPU-seconds it still needed at `since_s`.
    left_s: f64,
    /// When `left_s` was last brought up to date.
    since_s: f64,
    /// When its slice ends (it is preempted then only if a thread is waiting).
    slice_end_s: f64,
}

/// Order-preserving map of non-negative finite f64 to u64.
#[inline]
fn key(v: f64) -> u64 {
    v.to_bits()
}

impl Cpu {
    /// A processor-sharing CPU with `cores` cores and room for `threads` thread indices (grows
    /// on demand).
    pub fn new(cores: u32, threads: usize) -> Self {
        Self::with_slice(cores, threads, 0.0)
    }

    /// A CPU with `cores` cores that hands out time slices of `slice_s` seconds (0 = ideal
    /// processor sharing).
    pub fn with_slice(cores: u32, threads: usize, slice_s: f64) -> Self {
        let discipline = if slice_s > 0.0 {
            Discipline::Sliced(Sliced {
                slice_s,
                on_core: Vec::with_capacity(cores as usize),
                queue: VecDeque::new(),
                runnable: vec![false; threads],
            })
        } else {
            Discipline::Sharing(Sharing {
                vtime: 0.0,
                last_s: 0.0,
                heap: BinaryHeap::with_capacity(threads),
                tag_of: vec![f64::NAN; threads],
                running: 0,
            })
        };
        Self { cores: f64::from(cores.max(1)), armed_s: None, speed: 1.0, discipline }
    }

    /// Runnable threads: on a core, sharing one, or waiting for one.
    #[inline]
    pub fn running(&self) -> u32 {
        match &self.discipline {
            Discipline::Sharing(s) => s.running,
            Discipline::Sliced(s) => (s.on_core.len() + s.queue.len()) as u32,
        }
    }

    /// Cores in use (min(running, cores)).
    #[inline]
    pub fn busy_cores(&self) -> f64 {
        f64::from(self.running()).min(self.cores)
    }

    /// Number of cores.
    pub fn cores(&self) -> f64 {
        self.cores
    }

    /// Every core runs at `speed` (relative) from `now_s` on; call `rearm` afterwards.
    pub fn set_speed(&mut self, now_s: f64, speed: f64) {
        match &mut self.discipline {
            Discipline::Sharing(s) => s.advance(now_s, self.cores, self.speed),
            Discipline::Sliced(s) => s.bring_up_to_date(now_s, self.speed),
        }
        self.speed = speed;
    }

    /// The cores' relative speed.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Put `thread` on the CPU needing `work_s` CPU-seconds.
    pub fn add(&mut self, now_s: f64, thread: ThreadId, work_s: f64) {
        let work_s = work_s.max(0.0);
        let cores = self.cores;
        match &mut self.discipline {
            Discipline::Sharing(s) => {
                s.advance(now_s, cores, self.speed);
                let t = thread.index();
                if t >= s.tag_of.len() {
                    s.tag_of.resize(t + 1, f64::NAN);
                }
                debug_assert!(s.tag_of[t].is_nan(), "thread {thread} is already on the CPU");
                let tag = s.vtime + work_s;
                s.tag_of[t] = tag;
                s.heap.push(Reverse((key(tag), thread)));
                s.running += 1;
            }
            Discipline::Sliced(s) => {
                let t = thread.index();
                if t >= s.runnable.len() {
                    s.runnable.resize(t + 1, false);
                }
                debug_assert!(!s.runnable[t], "thread {thread} is already on the CPU");
                s.runnable[t] = true;
                if s.on_core.len() < cores as usize {
                    s.start(now_s, thread, work_s);
                } else {
                    if s.queue.is_empty() {
                        s.renew_lapsed_slices(now_s);
                    }
                    s.queue.push_back((thread, work_s));
                }
            }
        }
    }

    /// True if `thread` is running now: on a core with time slices; whenever it is on the CPU
    /// under processor sharing (every runnable thread progresses).
    pub fn on_core(&self, thread: ThreadId) -> bool {
        match &self.discipline {
            Discipline::Sharing(_) => self.contains(thread),
            Discipline::Sliced(s) => s.on_core.iter().any(|c| c.thread == thread),
        }
    }

    /// True if `thread` is on the CPU.
    pub fn contains(&self, thread: ThreadId) -> bool {
        match &self.discipline {
            Discipline::Sharing(s) => s.tag_of.get(thread.index()).is_some_and(|t| !t.is_nan()),
            Discipline::Sliced(s) => s.runnable.get(thread.index()).copied().unwrap_or(false),
        }
    }

    /// Take `thread` off the CPU before it finishes; returns the CPU-seconds it still needs.
    pub fn remove(&mut self, now_s: f64, thread: ThreadId) -> f64 {
        let cores = self.cores;
        match &mut self.discipline {
            Discipline::Sharing(s) => {
                s.advance(now_s, cores, self.speed);
                let t = thread.index();
                let tag = s.tag_of[t];
                debug_assert!(!tag.is_nan(), "thread {thread} is not on the CPU");
                s.tag_of[t] = f64::NAN;
                s.running -= 1;
                (tag - s.vtime).max(0.0)
            }
            Discipline::Sliced(s) => {
                debug_assert!(s.runnable[thread.index()], "thread {thread} is not on the CPU");
                s.runnable[thread.index()] = false;
                if let Some(i) = s.on_core.iter().position(|c| c.thread == thread) {
                    let c = s.on_core.swap_remove(i);
                    let left = (c.left_s - (now_s - c.since_s) * self.speed).max(0.0);
                    s.fill_cores(now_s, cores);
                    left
                } else {
                    let i =
                        s.queue.iter().position(|q| q.0 == thread).expect("a runnable thread is on a core or queued");
                    s.queue.remove(i).map_or(0.0, |q| q.1)
                }
            }
        }
    }

    /// When the CPU next needs attention — the next thread finishes, or a slice ends while a
    /// thread waits — in seconds of simulated time (None if the CPU is idle).
    pub fn next_completion_s(&mut self, now_s: f64) -> Option<f64> {
        match &mut self.discipline {
            Discipline::Sharing(s) => {
                s.advance(now_s, self.cores, self.speed);
                s.clean_top();
                let &Reverse((k, _)) = s.heap.peek()?;
                let remaining = (f64::from_bits(k) - s.vtime).max(0.0);
                Some(now_s + remaining / s.rate(self.cores, self.speed))
            }
            Discipline::Sliced(s) => {
                let waiting = !s.queue.is_empty();
                s.on_core
                    .iter()
                    .map(|c| {
                        let done = c.since_s + c.left_s / self.speed;
                        if waiting { done.min(c.slice_end_s) } else { done }
                    })
                    .min_by(f64::total_cmp)
            }
        }
    }

    /// Decide whether a new CPU event must be scheduled after a change at `now_s`.
    /// Returns the time to schedule it at, or None if an already-scheduled event fires early
    /// enough (it will re-evaluate) or the CPU is idle.
    pub fn rearm(&mut self, now_s: f64) -> Option<f64> {
        let next = self.next_completion_s(now_s)?;
        if !next.is_finite() {
            // Only infinite loops are running, with no one waiting: nothing will ever finish.
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

    /// Handle a CPU event scheduled for `at_s`: if it is the armed one, push every thread whose
    /// work is done into `done` (and, with time slices, move every thread whose slice ended to
    /// the back of the run queue) and return true; stale events return false.
    pub fn fire(&mut self, at_s: f64, done: &mut Vec<ThreadId>) -> bool {
        if self.armed_s != Some(at_s) {
            return false;
        }
        self.armed_s = None;
        let cores = self.cores;
        match &mut self.discipline {
            Discipline::Sharing(s) => s.fire(at_s, cores, self.speed, done),
            Discipline::Sliced(s) => s.fire(at_s, cores, self.speed, done),
        }
        true
    }
}

impl Sharing {
    #[inline]
    fn rate(&self, cores: f64, speed: f64) -> f64 {
        let n = f64::from(self.running);
        speed * if n <= cores { 1.0 } else { cores / n }
    }

    #[inline]
    fn advance(&mut self, now_s: f64, cores: f64, speed: f64) {
        if self.running > 0 && now_s > self.last_s {
            self.vtime += (now_s - self.last_s) * self.rate(cores, speed);
        }
        self.last_s = now_s;
    }

    /// Drop heap entries of threads that were removed early.
    #[inline]
    fn clean_top(&mut self) {
        while let Some(&Reverse((k, th))) = self.heap.peek() {
            let cur = self.tag_of[th.index()];
            if !cur.is_nan() && key(cur) == k {
                return;
            }
            self.heap.pop();
        }
    }

    fn fire(&mut self, at_s: f64, cores: f64, speed: f64, done: &mut Vec<ThreadId>) {
        self.advance(at_s, cores, speed);
        loop {
            self.clean_top();
            match self.heap.peek() {
                Some(&Reverse((k, th))) if f64::from_bits(k) <= self.vtime + EPS_WORK_S => {
                    self.heap.pop();
                    self.tag_of[th.index()] = f64::NAN;
                    self.running -= 1;
                    done.push(th);
                }
                _ => break,
            }
        }
    }
}

impl Sliced {
    /// Give `thread` a core and a fresh slice from `now_s`.
    fn start(&mut self, now_s: f64, thread: ThreadId, left_s: f64) {
        self.on_core.push(OnCore { thread, left_s, since_s: now_s, slice_end_s: now_s + self.slice_s });
    }

    /// Hand free cores to the head of the run queue.
    fn fill_cores(&mut self, now_s: f64, cores: f64) {
        while self.on_core.len() < cores as usize {
            let Some((thread, left)) = self.queue.pop_front() else { break };
            self.start(now_s, thread, left);
        }
    }

    /// A thread running alone past its slice was not preempted (no one waited); its current
    /// slice is the one `now_s` falls in, counted from its first.
    fn renew_lapsed_slices(&mut self, now_s: f64) {
        let slice = self.slice_s;
        for c in &mut self.on_core {
            if c.slice_end_s <= now_s {
                let lapsed = ((now_s - c.slice_end_s) / slice).floor() + 1.0;
                c.slice_end_s += lapsed * slice;
            }
        }
    }

    /// Bring every running thread's remaining work up to `now_s` at the old `speed`.
    fn bring_up_to_date(&mut self, now_s: f64, speed: f64) {
        for c in &mut self.on_core {
            c.left_s = (c.left_s - (now_s - c.since_s) * speed).max(0.0);
            c.since_s = now_s;
        }
    }

    fn fire(&mut self, at_s: f64, cores: f64, speed: f64, done: &mut Vec<ThreadId>) {
        let mut i = 0;
        // Finished threads leave their cores, in core order (deterministic).
        while i < self.on_core.len() {
            let c = self.on_core[i];
            if c.left_s - (at_s - c.since_s) * speed <= EPS_WORK_S {
                self.on_core.remove(i);
                self.runnable[c.thread.index()] = false;
                done.push(c.thread);
            } else {
                i += 1;
            }
        }
        // Threads whose slice ended go to the back of the queue while others wait.
        if !self.queue.is_empty() {
            let mut i = 0;
            while i < self.on_core.len() {
                let c = self.on_core[i];
                if c.slice_end_s <= at_s {
                    self.on_core.remove(i);
                    let left = (c.left_s - (at_s - c.since_s) * speed).max(0.0);
                    self.queue.push_back((c.thread, left));
                } else {
                    i += 1;
                }
            }
        }
        self.fill_cores(at_s, cores);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drive the CPU like the engine does and return each thread's finishing time.
    fn finish_times(cores: u32, jobs: &[(f64, f64)]) -> Vec<f64> {
        sliced_finish_times(cores, 0.0, jobs)
    }

    /// As `finish_times`, with time slices of `slice_s`.
    fn sliced_finish_times(cores: u32, slice_s: f64, jobs: &[(f64, f64)]) -> Vec<f64> {
        let mut cpu = Cpu::with_slice(cores, jobs.len(), slice_s);
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
                    cpu.add(a, ThreadId(th), jobs[th as usize].1);
                    pi += 1;
                    if let Some(t) = cpu.rearm(a) {
                        armed.push(t);
                    }
                }
                (_, Some(c)) => {
                    armed.pop();
                    if cpu.fire(c, &mut done) {
                        for th in done.drain(..) {
                            out[th.index()] = c;
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
        cpu.add(0.0, ThreadId(0), 4.0);
        cpu.add(0.0, ThreadId(1), 4.0);
        // After 2 s at rate 1/2 each has done 1 s.
        let left = cpu.remove(2.0, ThreadId(1));
        assert!((left - 3.0).abs() < 1e-12);
        // Thread 0 is alone now: 3 s left at full speed.
        assert!((cpu.next_completion_s(2.0).unwrap() - 5.0).abs() < 1e-12);
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn time_slices_hand_calculation() {
        // One core, 1 s slices, A and B need 1.5 s each from t=0: A runs [0,1), B [1,2),
        // A [2,2.5) and is done, B [2.5,3).
        let f = sliced_finish_times(1, 1.0, &[(0.0, 1.5), (0.0, 1.5)]);
        assert!(close(&f, &[2.5, 3.0]), "{f:?}");
        // Two cores, three 1 s jobs, 1 s slices: A and B finish at 1 as their slice ends, then C
        // runs alone [1,2). (Processor sharing would finish all three at 1.5.)
        let f = sliced_finish_times(2, 1.0, &[(0.0, 1.0), (0.0, 1.0), (0.0, 1.0)]);
        assert!(close(&f, &[1.0, 1.0, 2.0]), "{f:?}");
        // A lone thread is not preempted, and its slices keep their phase: A (5 s from 0) is in
        // its slice [2,3) when B (1 s) arrives at 2.5; A yields at 3, B runs [3,4), A [4,6).
        let f = sliced_finish_times(1, 1.0, &[(0.0, 5.0), (2.5, 1.0)]);
        assert!(close(&f, &[6.0, 4.0]), "{f:?}");
        // With no more threads than cores, slices change nothing.
        let f = sliced_finish_times(2, 0.001, &[(0.0, 1.0), (0.5, 3.0)]);
        assert!(close(&f, &[1.0, 3.5]), "{f:?}");
    }

    #[test]
    fn sliced_remove_returns_remaining_work_and_frees_the_core() {
        let mut cpu = Cpu::with_slice(1, 3, 1.0);
        cpu.add(0.0, ThreadId(0), 4.0);
        cpu.add(0.0, ThreadId(1), 4.0);
        cpu.add(0.0, ThreadId(2), 4.0);
        // Thread 2 is queued: it has done nothing.
        assert!((cpu.remove(0.5, ThreadId(2)) - 4.0).abs() < 1e-12);
        // Thread 0 has run 0.5 s; removing it gives the core to thread 1 at once.
        assert!((cpu.remove(0.5, ThreadId(0)) - 3.5).abs() < 1e-12);
        assert_eq!(cpu.running(), 1);
        assert!((cpu.next_completion_s(0.5).unwrap() - 4.5).abs() < 1e-12);
    }
}
