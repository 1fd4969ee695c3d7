//! The event queue: a calendar queue keyed by `(time, sequence)`.
//!
//! Ordering guarantee: events come out in increasing time; events scheduled for the same time
//! come out in the order they were scheduled (the sequence number is a global insertion
//! counter). This makes a run a pure function of its inputs: no tie is ever broken by memory
//! layout or hashing.
//!
//! Layout: a ring of buckets, each covering 2^20 µs (about a second), spanning about 18
//! minutes ahead of the current bucket, plus a binary heap for events further out. The bucket
//! being drained is kept sorted (newest last); other buckets are plain vectors, sorted only
//! when their turn comes. A day of streaming traffic puts a few hundred events in each bucket,
//! so scheduling is an append and taking the next event is a pop, where a binary heap over all
//! pending events (hundreds of thousands of sessions in progress) would pay a cache-missing
//! sift for each.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::SimTime;

const BUCKET_BITS: u32 = 20;
const N_BUCKETS: u64 = 1024;

struct Entry<E> {
    at: SimTime,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn key(&self) -> (SimTime, u64) {
        (self.at, self.seq)
    }
}

/// Far-future entries, ordered by key for the overflow heap.
struct Far<E>(Entry<E>);

impl<E> PartialEq for Far<E> {
    fn eq(&self, other: &Self) -> bool {
        self.0.key() == other.0.key()
    }
}
impl<E> Eq for Far<E> {}
impl<E> PartialOrd for Far<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Far<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.key().cmp(&other.0.key())
    }
}

fn bucket_of(at: SimTime) -> u64 {
    (at.0 >> BUCKET_BITS) as u64
}

/// A priority queue of future events.
pub struct EventQueue<E> {
    /// Absolute number of the bucket being drained.
    current_bucket: u64,
    /// The current bucket's events, sorted by descending key so that the next is last.
    current: Vec<Entry<E>>,
    ring: Vec<Vec<Entry<E>>>,
    /// Events in `ring` (not counting `current`).
    in_ring: usize,
    far: BinaryHeap<Reverse<Far<E>>>,
    next_seq: u64,
    len: usize,
    last_popped: SimTime,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            current_bucket: 0,
            current: Vec::new(),
            ring: (0..N_BUCKETS).map(|_| Vec::new()).collect(),
            in_ring: 0,
            far: BinaryHeap::new(),
            next_seq: 0,
            len: 0,
            last_popped: SimTime(i64::MIN),
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `at`, after every event already scheduled for that same time.
    /// Events must not be scheduled before the last event taken.
    pub fn schedule(&mut self, at: SimTime, event: E) {
        let entry = Entry {
            at,
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        self.len += 1;
        assert!(
            at >= self.last_popped,
            "event scheduled in the past: {at:?} < {:?}",
            self.last_popped
        );
        let bucket = bucket_of(at);
        // `current` holds the earliest pending events in order; an event for an earlier bucket
        // (the queue may have advanced past empty buckets when peeked) belongs there too.
        if bucket <= self.current_bucket {
            let key = entry.key();
            let pos = self.current.partition_point(|other| other.key() > key);
            self.current.insert(pos, entry);
        } else if bucket < self.current_bucket + N_BUCKETS {
            self.ring[(bucket % N_BUCKETS) as usize].push(entry);
            self.in_ring += 1;
        } else {
            self.far.push(Reverse(Far(entry)));
        }
    }

    /// Makes `current` hold the earliest pending bucket, if any event is pending.
    fn refill(&mut self) {
        while self.current.is_empty() && self.len > 0 {
            if self.in_ring == 0 {
                // Nothing within the ring: jump straight to the earliest far event's bucket.
                let Some(Reverse(Far(first))) = self.far.peek() else {
                    return;
                };
                self.current_bucket = bucket_of(first.at);
            } else {
                self.current_bucket += 1;
            }
            while let Some(Reverse(Far(first))) = self.far.peek() {
                let bucket = bucket_of(first.at);
                if bucket >= self.current_bucket + N_BUCKETS {
                    break;
                }
                let Some(Reverse(Far(entry))) = self.far.pop() else {
                    break;
                };
                if bucket == self.current_bucket {
                    self.current.push(entry);
                } else {
                    self.ring[(bucket % N_BUCKETS) as usize].push(entry);
                    self.in_ring += 1;
                }
            }
            let slot = &mut self.ring[(self.current_bucket % N_BUCKETS) as usize];
            self.in_ring -= slot.len();
            self.current.append(slot);
            self.current
                .sort_unstable_by_key(|entry| Reverse(entry.key()));
        }
    }

    /// Time of the earliest pending event.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.refill();
        self.current.last().map(|entry| entry.at)
    }

    /// Removes and returns the earliest pending event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.refill();
        let entry = self.current.pop()?;
        self.len -= 1;
        self.last_popped = entry.at;
        Some((entry.at, entry.event))
    }

    /// The event `ahead` places after the next one in the current bucket (0 = the next),
    /// if it is already known without advancing the queue; for prefetching.
    pub fn peek_event(&self, ahead: usize) -> Option<&E> {
        self.current
            .len()
            .checked_sub(ahead + 1)
            .map(|idx| &self.current[idx].event)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stream;

    #[test]
    fn same_time_events_keep_insertion_order() {
        let mut queue = EventQueue::default();
        queue.schedule(SimTime(5), "b1");
        queue.schedule(SimTime(1), "a");
        queue.schedule(SimTime(5), "b2");
        queue.schedule(SimTime(3), "c");
        queue.schedule(SimTime(5), "b3");
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(
            order,
            vec![
                (SimTime(1), "a"),
                (SimTime(3), "c"),
                (SimTime(5), "b1"),
                (SimTime(5), "b2"),
                (SimTime(5), "b3")
            ]
        );
    }

    #[test]
    fn agrees_with_a_sorted_reference_under_interleaved_use() {
        // Random interleavings of schedule and pop, with delays from microseconds to days
        // (current bucket, ring and far heap), must pop exactly what a stable sort by time
        // of the same (time, insertion) pairs gives.
        let mut stream = Stream::new(9, "queue-test");
        let mut queue = EventQueue::default();
        let mut reference = std::collections::BTreeSet::new();
        let mut now = SimTime(1_000_000_000);
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        for id in 0..200_000u64 {
            let delay = match stream.below(4) {
                0 => stream.below(1_000) as i64,
                1 => stream.below(2_000_000) as i64,
                2 => stream.below(900_000_000) as i64,
                _ => stream.below(3_000_000_000) as i64 * 100,
            };
            queue.schedule(now + crate::time::SimDuration(delay), id);
            reference.insert((now + crate::time::SimDuration(delay), id));
            if stream.below(3) == 0 {
                for _ in 0..stream.below(4) {
                    if let Some((at, id)) = queue.pop() {
                        now = at;
                        popped.push((at, id));
                        expected.push(reference.pop_first().unwrap());
                    }
                }
            }
        }
        while let Some(item) = queue.pop() {
            popped.push(item);
        }
        expected.extend(reference);
        assert_eq!(popped.len(), 200_000);
        assert_eq!(popped, expected);
        assert!(queue.is_empty());
    }
}
