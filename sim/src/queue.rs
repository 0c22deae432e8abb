//! The event queue: a min-heap ordered by (time, insertion sequence), so simultaneous events are
//! delivered first-in first-out and every run is deterministic.

/// One scheduled event: its ordering key and its payload.
#[derive(Clone, Copy)]
struct Entry<E> {
    /// (time, sequence) packed so that one integer comparison orders entries: the high 64 bits
    /// are the time's bits mapped to an unsigned order (`time_key`), the low 64 the sequence.
    key: u128,
    event: E,
}

/// Maps an `f64` to a `u64` whose unsigned order is `f64::total_cmp`'s order (flip every bit of
/// a negative number, only the sign bit of a positive one).
#[inline]
fn time_key(time_s: f64) -> u64 {
    let bits = time_s.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

/// The inverse of `time_key`.
#[inline]
fn key_time(key: u128) -> f64 {
    let k = (key >> 64) as u64;
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Children per heap node. A server has about ten events pending, so an 8-ary heap is a root and
/// one contiguous row of children: with the integer key it made the M/M/8 benchmark's event
/// handling measurably cheaper than `std::collections::BinaryHeap` with an `Ord` on (f64, u64).
/// Arity 2, 4 and 8 were measured; 8 used the fewest instructions (see docs/performance.md).
const ARITY: usize = 8;

/// A priority queue of events keyed by simulated time in seconds; ties are broken by insertion
/// order (FIFO).
///
/// Besides the heap it holds one *timer*: a single event that is re-armed rather than
/// accumulated (a model's next arrival, say). It is ordered by the same (time, sequence) key as
/// every other event, so using it never changes the order of delivery; it only saves one heap
/// push and pop per firing (about 11% of the M/M/8 benchmark's instructions, callgrind).
pub struct EventQueue<E> {
    /// An `ARITY`-ary min-heap on `Entry::key`.
    heap: Vec<Entry<E>>,
    /// The timer, if armed.
    timer: Option<Entry<E>>,
    next_seq: u64,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// Events are small `Copy` values, which lets the heap move entries through a "hole" (one
/// write per level instead of a three-move swap) without unsafe code.
impl<E: Copy> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self { heap: Vec::new(), timer: None, next_seq: 0 }
    }

    /// The (time, sequence) key of an event scheduled now at `time_s`.
    #[inline]
    fn next_key(&mut self, time_s: f64) -> u128 {
        debug_assert!(!time_s.is_nan(), "event time must not be NaN");
        let key = (u128::from(time_key(time_s)) << 64) | u128::from(self.next_seq);
        self.next_seq += 1;
        key
    }

    /// Schedule `event` at absolute time `time_s` (seconds).
    #[inline]
    pub fn push(&mut self, time_s: f64, event: E) {
        let key = self.next_key(time_s);
        self.heap.push(Entry { key, event });
        self.sift_up(self.heap.len() - 1);
    }

    /// Arm the timer: `event` at absolute time `time_s` (seconds), replacing the pending timer
    /// event if there is one. Ordered exactly as if it had been `push`ed now.
    #[inline]
    pub fn set_timer(&mut self, time_s: f64, event: E) {
        let key = self.next_key(time_s);
        self.timer = Some(Entry { key, event });
    }

    /// Disarm the timer (its pending event, if any, will not be delivered).
    pub fn cancel_timer(&mut self) {
        self.timer = None;
    }

    /// Remove and return the earliest event with its time in seconds.
    #[inline]
    pub fn pop(&mut self) -> Option<(f64, E)> {
        if let Some(timer) = self.timer
            && self.heap.first().is_none_or(|top| timer.key < top.key)
        {
            self.timer = None;
            return Some((key_time(timer.key), timer.event));
        }
        let last = self.heap.pop()?;
        let top = match self.heap.first() {
            None => last,
            Some(&top) => {
                self.sift_down_from_root(last);
                top
            }
        };
        Some((key_time(top.key), top.event))
    }

    /// The time in seconds of the earliest event, if any.
    #[inline]
    pub fn peek_time_s(&self) -> Option<f64> {
        let key = match (self.heap.first(), self.timer) {
            (Some(top), Some(timer)) => top.key.min(timer.key),
            (Some(top), None) => top.key,
            (None, Some(timer)) => timer.key,
            (None, None) => return None,
        };
        Some(key_time(key))
    }

    /// Number of pending events (the timer's included).
    pub fn len(&self) -> usize {
        self.heap.len() + usize::from(self.timer.is_some())
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.timer.is_none()
    }

    /// Drop every pending event, the timer's too (sequence numbering continues, so order stays
    /// deterministic).
    pub fn clear(&mut self) {
        self.heap.clear();
        self.timer = None;
    }

    /// Move the entry at `i` (the last one) up to its place.
    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let item = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if item.key >= self.heap[parent].key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = item;
    }

    /// The root has been taken: put `item` (the former last entry) in its place and move it down.
    #[inline]
    fn sift_down_from_root(&mut self, item: Entry<E>) {
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let children = &self.heap[first..(first + ARITY).min(n)];
            let (mut best, mut best_key) = (0, children[0].key);
            for (j, c) in children.iter().enumerate().skip(1) {
                if c.key < best_key {
                    (best, best_key) = (j, c.key);
                }
            }
            if best_key >= item.key {
                break;
            }
            self.heap[i] = children[best];
            i = first + best;
        }
        self.heap[i] = item;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_and_ties_fifo() {
        let mut q = EventQueue::new();
        q.push(2.0, "c");
        q.push(1.0, "a");
        q.push(2.0, "d");
        q.push(1.0, "b");
        q.push(0.5, "first");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!["first", "a", "b", "c", "d"]);
    }

    #[test]
    fn time_keys_order_like_total_cmp_and_round_trip() {
        let times = [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-300, 0.1, 1.0, 3.0e9, f64::INFINITY];
        for w in times.windows(2) {
            assert!(time_key(w[0]) < time_key(w[1]), "{} < {}", w[0], w[1]);
        }
        for t in times {
            let key = u128::from(time_key(t)) << 64;
            assert_eq!(key_time(key).to_bits(), t.to_bits());
        }
    }

    proptest::proptest! {
        #[test]
        fn any_insertion_pops_sorted_by_time_then_seq(times in proptest::collection::vec(0u8..20, 0..200)) {
            let mut q = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                q.push(f64::from(*t), i);
            }
            let mut expected: Vec<(u8, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let got: Vec<(u8, usize)> = std::iter::from_fn(|| q.pop()).map(|(t, i)| (t as u8, i)).collect();
            proptest::prop_assert_eq!(got, expected);
        }

        #[test]
        fn interleaved_pushes_and_pops_pop_the_minimum(ops in proptest::collection::vec(proptest::option::of(0u16..1000), 0..400)) {
            // `None` pops; the reference is a sorted list of (time, seq).
            let mut q = EventQueue::new();
            let mut reference: Vec<(u16, usize)> = Vec::new();
            for (seq, op) in ops.into_iter().enumerate() {
                match op {
                    Some(t) => {
                        q.push(f64::from(t), seq);
                        reference.push((t, seq));
                        reference.sort();
                    }
                    None => {
                        let want = (!reference.is_empty()).then(|| reference.remove(0));
                        let got = q.pop().map(|(t, s)| (t as u16, s));
                        proptest::prop_assert_eq!(got, want);
                    }
                }
            }
            proptest::prop_assert_eq!(q.len(), reference.len());
        }

        #[test]
        fn the_timer_is_delivered_as_if_pushed(ops in proptest::collection::vec((0u8..4, 0u16..300), 0..400)) {
            // Op 0 pushes, 1 re-arms the timer, 2 cancels it, 3 pops. The reference is a sorted
            // list of (time, seq) in which re-arming or cancelling removes the old timer entry.
            let mut q = EventQueue::new();
            let mut reference: Vec<(u16, usize)> = Vec::new();
            let mut timer: Option<(u16, usize)> = None;
            for (seq, (op, t)) in ops.into_iter().enumerate() {
                match op {
                    0 => {
                        q.push(f64::from(t), seq);
                        reference.push((t, seq));
                    }
                    1 | 2 => {
                        if let Some(old) = timer.take() {
                            reference.retain(|e| *e != old);
                        }
                        if op == 1 {
                            q.set_timer(f64::from(t), seq);
                            reference.push((t, seq));
                            timer = Some((t, seq));
                        } else {
                            q.cancel_timer();
                        }
                    }
                    _ => {
                        reference.sort();
                        let want = (!reference.is_empty()).then(|| reference.remove(0));
                        if want.is_some() && want == timer {
                            timer = None;
                        }
                        proptest::prop_assert_eq!(q.peek_time_s(), want.map(|(t, _)| f64::from(t)));
                        let got = q.pop().map(|(t, s)| (t as u16, s));
                        proptest::prop_assert_eq!(got, want);
                    }
                }
                proptest::prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
