//! Per-member impression counters, for frequency caps and reach.
//!
//! Member state must stay a few bytes per member (millions of members, most of whom see only a
//! few line items a day), so counters are sparse: each member has the head of a singly linked
//! list of `(counter, window, count)` entries in a chunked arena. A counter is one thing being
//! counted (a line item's lifetime deliveries, a line item's daily cap, an advertiser's hourly
//! cap); its window is the calendar period the count belongs to, in the member's local time.
//! An entry whose window has passed counts as zero and is reused in place, so entries grow
//! with the distinct (member, counter) pairs served, not with time.

use crate::time::{SimDuration, SimTime};

const NONE: u32 = u32::MAX;
const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Calendar period of a frequency cap, in the member's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Hour,
    Day,
    /// Monday 00:00 to Monday 00:00.
    Week,
    /// The whole flight (line items) or the whole run (advertisers).
    Flight,
}

impl Period {
    /// The window index of instant `at` for a member at `offset_minutes` from UTC.
    #[inline]
    pub fn window(self, at: SimTime, offset_minutes: i32) -> u32 {
        match self {
            Period::Hour => {
                ((at.0 + i64::from(offset_minutes) * SimDuration::MINUTE.0).div_euclid(SimDuration::HOUR.0)) as u32
            }
            Period::Day => at.local_day(offset_minutes) as u32,
            // Day 0 (1970-01-01) was a Thursday; shifting by 3 makes weeks start on Monday.
            Period::Week => ((at.local_day(offset_minutes) + 3).div_euclid(7)) as u32,
            Period::Flight => 0,
        }
    }
}

#[derive(Clone, Copy)]
struct Entry {
    counter: u32,
    window: u32,
    count: u32,
    next: u32,
}

/// A member's counter as seen at one instant: its count in the current window and where its
/// entry lives.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    pub counter: u32,
    pub count: u32,
    entry: u32,
}

/// The counters of all members.
pub struct Counters {
    periods: Vec<Period>,
    heads: Vec<u32>,
    chunks: Vec<Box<[Entry]>>,
    len: u32,
}

impl Counters {
    /// Counters for `n_members` members; `periods[c]` is the period of counter `c`.
    pub fn new(n_members: u32, periods: Vec<Period>) -> Counters {
        Counters { periods, heads: vec![NONE; n_members as usize], chunks: Vec::new(), len: 0 }
    }

    fn entry(&self, idx: u32) -> &Entry {
        &self.chunks[(idx >> CHUNK_BITS) as usize][idx as usize & (CHUNK - 1)]
    }

    fn entry_mut(&mut self, idx: u32) -> &mut Entry {
        &mut self.chunks[(idx >> CHUNK_BITS) as usize][idx as usize & (CHUNK - 1)]
    }

    /// Replaces `seen` with the member's counters and their counts in the windows current at
    /// `at`.
    pub fn load(&self, member: u32, at: SimTime, offset_minutes: i32, seen: &mut Vec<Seen>) {
        seen.clear();
        let mut idx = self.heads[member as usize];
        while idx != NONE {
            let entry = self.entry(idx);
            let current = self.periods[entry.counter as usize].window(at, offset_minutes);
            let count = if entry.window == current { entry.count } else { 0 };
            seen.push(Seen { counter: entry.counter, count, entry: idx });
            idx = entry.next;
        }
    }

    /// The count of `counter` in `seen` (0 if the member has never been counted).
    #[inline]
    pub fn count(seen: &[Seen], counter: u32) -> u32 {
        seen.iter().find(|s| s.counter == counter).map_or(0, |s| s.count)
    }

    /// Adds one to the member's `counter` in the window current at `at`, keeping `seen` in
    /// step. Returns true if this is the member's first ever entry for the counter.
    pub fn bump(&mut self, member: u32, counter: u32, at: SimTime, offset_minutes: i32, seen: &mut Vec<Seen>) -> bool {
        let window = self.periods[counter as usize].window(at, offset_minutes);
        if let Some(s) = seen.iter_mut().find(|s| s.counter == counter) {
            s.count += 1;
            let count = s.count;
            let entry = self.entry_mut(s.entry);
            entry.window = window;
            entry.count = count;
            return false;
        }
        let idx = self.len;
        assert!(idx != NONE, "counter arena is full");
        if idx as usize == self.chunks.len() * CHUNK {
            self.chunks.push(vec![Entry { counter: 0, window: 0, count: 0, next: NONE }; CHUNK].into_boxed_slice());
        }
        let head = &mut self.heads[member as usize];
        let next = *head;
        *head = idx;
        *self.entry_mut(idx) = Entry { counter, window, count: 1, next };
        self.len += 1;
        seen.push(Seen { counter, count: 1, entry: idx });
        true
    }

    /// Entries in use (distinct member × counter pairs).
    pub fn n_entries(&self) -> u32 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_roll_in_local_time() {
        let mut counters = Counters::new(2, vec![Period::Flight, Period::Day, Period::Hour]);
        let mut seen = Vec::new();
        // 23:30 UTC is 18:30 in New York (UTC−5) and 08:30 next day in Tokyo (UTC+9).
        let t = SimTime::from_utc(2026, 11, 2, 23, 30, 0);
        counters.load(0, t, -300, &mut seen);
        assert!(counters.bump(0, 0, t, -300, &mut seen));
        assert!(counters.bump(0, 1, t, -300, &mut seen));
        assert!(!counters.bump(0, 1, t, -300, &mut seen));
        assert_eq!(Counters::count(&seen, 1), 2);
        // Two hours later it is 01:30 UTC but still the same day in New York.
        let later = t + SimDuration::HOUR * 2;
        counters.load(0, later, -300, &mut seen);
        assert_eq!(Counters::count(&seen, 1), 2);
        assert_eq!(Counters::count(&seen, 0), 1);
        // Six hours later it is a new day in New York: the day count restarts, the flight not.
        let next_day = t + SimDuration::HOUR * 6;
        counters.load(0, next_day, -300, &mut seen);
        assert_eq!(Counters::count(&seen, 1), 0);
        assert_eq!(Counters::count(&seen, 0), 1);
        counters.bump(0, 1, next_day, -300, &mut seen);
        counters.load(0, next_day, -300, &mut seen);
        assert_eq!(Counters::count(&seen, 1), 1);
        // Member 1 is untouched.
        counters.load(1, t, 540, &mut seen);
        assert!(seen.is_empty());
        assert_eq!(counters.n_entries(), 2);
    }

    #[test]
    fn weeks_start_on_monday() {
        let sunday = SimTime::from_utc(2026, 11, 8, 23, 0, 0);
        let monday = SimTime::from_utc(2026, 11, 9, 1, 0, 0);
        let tuesday = SimTime::from_utc(2026, 11, 10, 1, 0, 0);
        assert_ne!(Period::Week.window(sunday, 0), Period::Week.window(monday, 0));
        assert_eq!(Period::Week.window(monday, 0), Period::Week.window(tuesday, 0));
    }
}
