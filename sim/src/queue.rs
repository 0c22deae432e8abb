//! The event queue: a min-heap ordered by (time, insertion sequence), so simultaneous events are
//! delivered first-in first-out and every run is deterministic.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One scheduled event: when it fires, its tie-breaking sequence number, and its payload.
struct Entry<E> {
    time_s: f64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.time_s.total_cmp(&self.time_s).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A priority queue of events keyed by simulated time in seconds; ties are broken by insertion
/// order (FIFO).
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self { heap: BinaryHeap::new(), next_seq: 0 }
    }

    /// Schedule `event` at absolute time `time_s` (seconds).
    pub fn push(&mut self, time_s: f64, event: E) {
        debug_assert!(!time_s.is_nan(), "event time must not be NaN");
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time_s, seq, event });
    }

    /// Remove and return the earliest event with its time in seconds.
    pub fn pop(&mut self) -> Option<(f64, E)> {
        self.heap.pop().map(|e| (e.time_s, e.event))
    }

    /// The time in seconds of the earliest event, if any.
    pub fn peek_time_s(&self) -> Option<f64> {
        self.heap.peek().map(|e| e.time_s)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drop every pending event (sequence numbering continues, so order stays deterministic).
    pub fn clear(&mut self) {
        self.heap.clear();
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
    }
}
