//! The simulated world's time: a virtual clock in milliseconds and an agenda of things
//! that will happen, ordered by time and then by insertion, so one seed gives one run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Virtual world time in milliseconds since the start of a session's world.
pub type WorldMs = u64;

/// Something due at a time; ties go to what was scheduled first.
struct Entry<T> {
    at: WorldMs,
    seq: u64,
    what: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    // BinaryHeap is a max-heap: the earliest (time, insertion) must compare greatest.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The event queue of the world: `schedule` things, `pop_due` them in (time, insertion)
/// order. Reuse one agenda across sessions with [`Agenda::clear`] to keep its allocation.
pub struct Agenda<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
}

impl<T> Default for Agenda<T> {
    fn default() -> Self {
        Agenda {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<T> Agenda<T> {
    /// Schedules `what` at `at`. Things scheduled for the same time happen in the order
    /// they were scheduled.
    pub fn schedule(&mut self, at: WorldMs, what: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { at, seq, what });
    }

    /// When the earliest thing is due, if anything is scheduled.
    pub fn next_at(&self) -> Option<WorldMs> {
        self.heap.peek().map(|e| e.at)
    }

    /// Takes the earliest thing if it is due at or before `now`.
    pub fn pop_due(&mut self, now: WorldMs) -> Option<(WorldMs, T)> {
        if self.heap.peek().is_some_and(|e| e.at <= now) {
            self.heap.pop().map(|e| (e.at, e.what))
        } else {
            None
        }
    }

    /// How many things are scheduled.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Forgets everything, keeping the allocation.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.next_seq = 0;
    }
}

/// How the terminal's clock reads world time: an offset from the Unix epoch plus a skew
/// and a drift against the backend's clock (which reads `UNIX_BASE + world`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TerminalClock {
    /// Terminal time minus backend time at world 0, in ms (may be negative).
    pub skew_ms: i64,
    /// Parts per million the terminal's clock runs fast (positive) or slow.
    pub drift_ppm: i32,
}

/// The backend's clock at world 0: 2024-01-01T00:00:00Z in ms. Gives realistic instants.
pub const UNIX_BASE: u64 = 1_704_067_200_000;

impl TerminalClock {
    /// A clock that agrees with the backend.
    pub const EXACT: TerminalClock = TerminalClock {
        skew_ms: 0,
        drift_ppm: 0,
    };

    /// The backend's reading of world time `t`.
    pub fn backend(t: WorldMs) -> u64 {
        UNIX_BASE + t
    }

    /// The terminal's reading of world time `t`.
    pub fn terminal(&self, t: WorldMs) -> u64 {
        let drift = i128::from(t) * i128::from(self.drift_ppm) / 1_000_000;
        let v = i128::from(UNIX_BASE) + i128::from(t) + i128::from(self.skew_ms) + drift;
        u64::try_from(v.max(0)).unwrap_or(0)
    }

    /// The earliest world time at which the terminal reads `reading` or later.
    pub fn world_at(&self, reading: u64) -> WorldMs {
        let base = i128::from(UNIX_BASE) + i128::from(self.skew_ms);
        let delta = i128::from(reading) - base;
        if delta <= 0 {
            return 0;
        }
        // Invert the linear map, then step to the exact earliest millisecond.
        let rate = 1_000_000 + i128::from(self.drift_ppm);
        let mut t = u64::try_from((delta * 1_000_000 / rate).max(0)).unwrap_or(u64::MAX / 2);
        while t > 0 && self.terminal(t - 1) >= reading {
            t -= 1;
        }
        while self.terminal(t) < reading {
            t += 1;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_keep_insertion_order() {
        let mut a = Agenda::default();
        a.schedule(10, "b");
        a.schedule(5, "a");
        a.schedule(10, "c");
        a.schedule(10, "d");
        let order: Vec<_> = std::iter::from_fn(|| a.pop_due(100).map(|(_, w)| w)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    #[test]
    fn nothing_before_its_time() {
        let mut a = Agenda::default();
        a.schedule(10, 1);
        assert_eq!(a.pop_due(9), None);
        assert_eq!(a.next_at(), Some(10));
        assert_eq!(a.pop_due(10), Some((10, 1)));
    }

    #[test]
    fn terminal_clock_inverts_exactly() {
        for clock in [
            TerminalClock::EXACT,
            TerminalClock {
                skew_ms: -90_000,
                drift_ppm: 250,
            },
            TerminalClock {
                skew_ms: 7_200_000,
                drift_ppm: -1_000,
            },
        ] {
            for t in [0u64, 1, 999, 15_000, 123_457, 3_600_000] {
                let reading = clock.terminal(t);
                let w = clock.world_at(reading);
                assert!(clock.terminal(w) >= reading);
                assert!(w == 0 || clock.terminal(w - 1) < reading, "{clock:?} {t}");
            }
        }
    }
}
