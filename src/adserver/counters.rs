//! Per-member impression counters, for frequency caps and reach.
//!
//! Member state must stay a few bytes per member (millions of members, most of whom see only a
//! few line items a day), so counters are sparse: each member owns one contiguous block of
//! 8-byte `(counter, window, count)` entries in a chunked arena, so that reading a member's
//! counters costs one or two cache lines. A counter is one thing being counted (a line item's
//! daily cap, an advertiser's hourly cap, a line item's lifetime count); its window is the
//! calendar period the count belongs to, in the member's local time. An entry whose window has
//! passed counts as zero and is reused in place, so entries grow with the distinct
//! (member, counter) pairs served, not with time.
//!
//! Blocks hold 2, 4, 8, … entries. A full block moves to one twice its size; the old block
//! goes on a free list of its size, to be reused by the next member who grows into it. The
//! arena grows in fixed chunks rather than by reallocation, so growth never doubles the peak
//! memory.

use crate::time::{SimDuration, SimTime};

const NONE: u32 = u32::MAX;
const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;
const MIN_BLOCK: u32 = 2;

/// Calendar period of a frequency cap, in the member's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Hour = 0,
    Day = 1,
    /// Monday 00:00 to Monday 00:00.
    Week = 2,
    /// The whole flight (line items) or the whole run (advertisers).
    Flight = 3,
}

/// The current window of every period at one instant, indexed by `Period as usize`: one
/// 64-bit division per request instead of one per counter.
#[inline]
fn windows(at: SimTime, offset_minutes: i32) -> [u32; 4] {
    let hour =
        (at.0 + i64::from(offset_minutes) * SimDuration::MINUTE.0).div_euclid(SimDuration::HOUR.0);
    let day = hour.div_euclid(24);
    [hour as u32, day as u32, (day + 3).div_euclid(7) as u32, 0]
}

impl Period {
    /// The window index of instant `at` for a member at `offset_minutes` from UTC.
    #[inline]
    pub fn window(self, at: SimTime, offset_minutes: i32) -> u32 {
        match self {
            Period::Hour => {
                ((at.0 + i64::from(offset_minutes) * SimDuration::MINUTE.0)
                    .div_euclid(SimDuration::HOUR.0)) as u32
            }
            Period::Day => at.local_day(offset_minutes) as u32,
            // Day 0 (1970-01-01) was a Thursday; shifting by 3 makes weeks start on Monday.
            Period::Week => ((at.local_day(offset_minutes) + 3).div_euclid(7)) as u32,
            Period::Flight => 0,
        }
    }
}

/// The most counters a run may define (ids are 16-bit).
pub const MAX_COUNTERS: usize = u16::MAX as usize;

#[derive(Clone, Copy, Default)]
struct Entry {
    counter: u16,
    /// Saturating: counts only ever need to reach a cap (at most 65,535).
    count: u16,
    window: u32,
}

#[derive(Clone, Copy)]
struct Slot {
    /// Arena index of the member's block, or `NONE`.
    offset: u32,
    len: u16,
}

/// The counters of all members.
pub struct Counters {
    /// `Period as u8` of each counter.
    periods: Vec<u8>,
    slots: Vec<Slot>,
    chunks: Vec<Box<[Entry]>>,
    /// Next free arena index in the last chunk.
    end: u32,
    /// Free blocks by size class (`MIN_BLOCK << class` entries), intrusively linked through
    /// the `window` field of their first entry.
    free: Vec<u32>,
    used: u64,
    /// The loaded member's counts in the current windows, by counter id (valid for the
    /// counters listed in `loaded`), and the block position of each loaded counter.
    counts: Vec<u16>,
    positions: Vec<u16>,
    loaded: Vec<u16>,
}

impl Counters {
    /// Counters for `n_members` members; `periods[c]` is the period of counter `c`.
    pub fn new(n_members: u32, periods: Vec<Period>) -> Counters {
        assert!(
            periods.len() <= MAX_COUNTERS,
            "too many counters: {}",
            periods.len()
        );
        let n_counters = periods.len();
        Counters {
            periods: periods.into_iter().map(|period| period as u8).collect(),
            slots: vec![
                Slot {
                    offset: NONE,
                    len: 0
                };
                n_members as usize
            ],
            chunks: Vec::new(),
            end: 0,
            free: Vec::new(),
            used: 0,
            counts: vec![0; n_counters],
            positions: vec![u16::MAX; n_counters],
            loaded: Vec::with_capacity(32),
        }
    }

    #[inline]
    fn entry_mut(&mut self, idx: u32) -> &mut Entry {
        &mut self.chunks[(idx >> CHUNK_BITS) as usize][idx as usize & (CHUNK - 1)]
    }

    /// Loads `member`'s counts in the windows current at `at`, for `count` and `bump`.
    /// Call `unload` before loading another member.
    #[inline]
    pub fn load(&mut self, member: u32, at: SimTime, offset_minutes: i32) {
        debug_assert!(self.loaded.is_empty(), "load without unload");
        let slot = self.slots[member as usize];
        if slot.len == 0 {
            return;
        }
        let windows = windows(at, offset_minutes);
        let start = slot.offset as usize & (CHUNK - 1);
        let block = &self.chunks[(slot.offset >> CHUNK_BITS) as usize]
            [start..start + usize::from(slot.len)];
        for (pos, entry) in block.iter().enumerate() {
            let counter = usize::from(entry.counter);
            let current = windows[usize::from(self.periods[counter])];
            self.counts[counter] = if entry.window == current {
                entry.count
            } else {
                0
            };
            self.positions[counter] = pos as u16;
            self.loaded.push(entry.counter);
        }
    }

    /// Prefetch hint for `member`'s slot.
    #[inline]
    pub fn prefetch_slot(&self, member: u32) {
        if let Some(slot) = self.slots.get(member as usize) {
            crate::engine::prefetch(slot);
        }
    }

    /// Prefetch hint for `member`'s block of entries.
    #[inline]
    pub fn prefetch_block(&self, member: u32) {
        if let Some(slot) = self.slots.get(member as usize)
            && slot.len > 0
        {
            let chunk = &self.chunks[(slot.offset >> CHUNK_BITS) as usize];
            crate::engine::prefetch(&chunk[slot.offset as usize & (CHUNK - 1)]);
        }
    }

    /// Forgets the loaded member.
    #[inline]
    pub fn unload(&mut self) {
        for &counter in &self.loaded {
            self.counts[usize::from(counter)] = 0;
            self.positions[usize::from(counter)] = u16::MAX;
        }
        self.loaded.clear();
    }

    /// The loaded member's count of `counter` in its current window.
    #[inline]
    pub fn count(&self, counter: u16) -> u16 {
        self.counts[usize::from(counter)]
    }

    /// Adds one to the loaded `member`'s `counter` in the window current at `at`. Returns
    /// true if this is the member's first ever entry for the counter.
    pub fn bump(&mut self, member: u32, counter: u16, at: SimTime, offset_minutes: i32) -> bool {
        let counter_idx = usize::from(counter);
        let window = windows(at, offset_minutes)[usize::from(self.periods[counter_idx])];
        let slot = self.slots[member as usize];
        let count = self.counts[counter_idx].saturating_add(1);
        self.counts[counter_idx] = count;
        let pos = self.positions[counter_idx];
        if pos != u16::MAX {
            let entry = self.entry_mut(slot.offset + u32::from(pos));
            entry.window = window;
            entry.count = count;
            return false;
        }
        let capacity = if slot.len == 0 {
            0
        } else {
            (u32::from(slot.len)).next_power_of_two().max(MIN_BLOCK)
        };
        let offset = if u32::from(slot.len) < capacity {
            slot.offset
        } else {
            let grown = self.allocate((capacity * 2).max(MIN_BLOCK));
            for pos in 0..u32::from(slot.len) {
                let moved = self.chunks[((slot.offset + pos) >> CHUNK_BITS) as usize]
                    [(slot.offset + pos) as usize & (CHUNK - 1)];
                *self.entry_mut(grown + pos) = moved;
            }
            if slot.len > 0 {
                self.release(slot.offset, capacity);
            }
            grown
        };
        *self.entry_mut(offset + u32::from(slot.len)) = Entry {
            counter,
            count,
            window,
        };
        self.positions[counter_idx] = slot.len;
        self.loaded.push(counter);
        self.slots[member as usize] = Slot {
            offset,
            len: slot.len + 1,
        };
        self.used += 1;
        true
    }

    fn class(size: u32) -> usize {
        (size / MIN_BLOCK).trailing_zeros() as usize
    }

    fn allocate(&mut self, size: u32) -> u32 {
        let class = Counters::class(size);
        if let Some(&head) = self.free.get(class)
            && head != NONE
        {
            self.free[class] = self.entry_mut(head).window;
            return head;
        }
        let size_usize = size as usize;
        assert!(
            size_usize <= CHUNK,
            "a member has more counters than a chunk holds"
        );
        let in_chunk = self.end as usize & (CHUNK - 1);
        if self.chunks.is_empty()
            || (in_chunk != 0 && in_chunk + size_usize > CHUNK)
            || self.end as usize == self.chunks.len() * CHUNK
        {
            assert!(
                self.chunks.len() < (NONE as usize >> CHUNK_BITS),
                "counter arena is full"
            );
            self.end = (self.chunks.len() * CHUNK) as u32;
            self.chunks
                .push(vec![Entry::default(); CHUNK].into_boxed_slice());
        }
        let offset = self.end;
        self.end += size;
        offset
    }

    fn release(&mut self, offset: u32, size: u32) {
        let class = Counters::class(size);
        if self.free.len() <= class {
            self.free.resize(class + 1, NONE);
        }
        let next = self.free[class];
        self.entry_mut(offset).window = next;
        self.free[class] = offset;
    }

    /// Entries in use (distinct member × counter pairs).
    pub fn n_entries(&self) -> u64 {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_roll_in_local_time() {
        let mut counters = Counters::new(2, vec![Period::Flight, Period::Day, Period::Hour]);
        // 23:30 UTC is 18:30 in New York (UTC−5) and 08:30 next day in Tokyo (UTC+9).
        let t = SimTime::from_utc(2026, 11, 2, 23, 30, 0);
        counters.load(0, t, -300);
        assert!(counters.bump(0, 0, t, -300));
        assert!(counters.bump(0, 1, t, -300));
        assert!(!counters.bump(0, 1, t, -300));
        assert_eq!(counters.count(1), 2);
        // Two hours later it is 01:30 UTC but still the same day in New York.
        let later = t + SimDuration::HOUR * 2;
        counters.unload();
        counters.load(0, later, -300);
        assert_eq!(counters.count(1), 2);
        assert_eq!(counters.count(0), 1);
        // Six hours later it is a new day in New York: the day count restarts, the flight not.
        let next_day = t + SimDuration::HOUR * 6;
        counters.unload();
        counters.load(0, next_day, -300);
        assert_eq!(counters.count(1), 0);
        assert_eq!(counters.count(0), 1);
        counters.bump(0, 1, next_day, -300);
        counters.unload();
        counters.load(0, next_day, -300);
        assert_eq!(counters.count(1), 1);
        // Member 1 is untouched.
        counters.unload();
        counters.load(1, t, 540);
        assert_eq!(
            (counters.count(0), counters.count(1), counters.count(2)),
            (0, 0, 0)
        );
        counters.unload();
        assert_eq!(counters.n_entries(), 2);
    }

    #[test]
    fn blocks_grow_move_and_are_reused() {
        // Many counters per member force blocks through several sizes; every count must
        // survive the moves, and freed blocks must be reused by other members.
        let n_counters = 40;
        let mut counters = Counters::new(3, vec![Period::Flight; n_counters]);
        let t = SimTime(0);
        for member in 0..3 {
            for round in 0..3 {
                counters.load(member, t, 0);
                for counter in 0..n_counters as u16 {
                    if (counter as u32 + member).is_multiple_of(round + 1) {
                        counters.bump(member, counter, t, 0);
                    }
                }
                counters.unload();
            }
        }
        for member in 0..3u32 {
            counters.load(member, t, 0);
            for counter in 0..n_counters as u16 {
                let expected = (0..3)
                    .filter(|round| (u32::from(counter) + member).is_multiple_of(round + 1))
                    .count();
                assert_eq!(
                    usize::from(counters.count(counter)),
                    expected,
                    "member {member} counter {counter}"
                );
            }
            counters.unload();
        }
        assert_eq!(counters.n_entries(), 3 * n_counters as u64);
        // Blocks of 2, 4, …, 32 were freed by member 0 and reused by members 1 and 2, so
        // the arena holds far fewer than 3 × (2 + 4 + … + 64) entries.
        assert!(
            u64::from(counters.end) < 3 * 126,
            "arena end {}",
            counters.end
        );
    }

    #[test]
    fn precomputed_windows_match_period_windows() {
        for offset in [-600, -300, 0, 330, 540, 840] {
            for step in 0..2_000i64 {
                let at =
                    SimTime::from_utc(2026, 11, 1, 0, 0, 0) + SimDuration::from_minutes(step * 37);
                let all = windows(at, offset);
                for period in [Period::Hour, Period::Day, Period::Week, Period::Flight] {
                    assert_eq!(
                        all[period as usize],
                        period.window(at, offset),
                        "{period:?} at {at} {offset}"
                    );
                }
            }
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        let sunday = SimTime::from_utc(2026, 11, 8, 23, 0, 0);
        let monday = SimTime::from_utc(2026, 11, 9, 1, 0, 0);
        let tuesday = SimTime::from_utc(2026, 11, 10, 1, 0, 0);
        assert_ne!(
            Period::Week.window(sunday, 0),
            Period::Week.window(monday, 0)
        );
        assert_eq!(
            Period::Week.window(monday, 0),
            Period::Week.window(tuesday, 0)
        );
    }
}
