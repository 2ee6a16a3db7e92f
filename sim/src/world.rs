//! The simulated world's time: a virtual clock in milliseconds and an agenda of things
//! that will happen, ordered by time and then by insertion, so one seed gives one run.

/// Virtual world time in milliseconds since the start of a session's world.
pub type WorldMs = u64;

/// Something due at a time. The queue holds only these 16-byte keys: the things themselves
/// wait in slots, so reordering moves no payloads.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    at: WorldMs,
    slot: u32,
}

/// The event queue of the world: `schedule` things, `pop_due` them in (time, insertion)
/// order. Reuse one agenda across sessions with [`Agenda::clear`] to keep its allocation.
///
/// The keys are kept sorted, latest first, so the next thing is the last key: a session
/// has a handful of things pending, and for so few a sorted insert beats a binary heap's
/// sifting both ways.
pub struct Agenda<T> {
    queue: Vec<Entry>,
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Agenda<T> {
    fn default() -> Self {
        Agenda {
            queue: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Agenda<T> {
    /// Schedules `what` at `at`. Things scheduled for the same time happen in the order
    /// they were scheduled.
    pub fn schedule(&mut self, at: WorldMs, what: T) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(what);
                slot
            }
            None => {
                self.slots.push(Some(what));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 things scheduled at once")
            }
        };
        // Behind everything due later and in front of everything due at the same time,
        // which was scheduled earlier and so comes out first.
        let i = self.queue.partition_point(|e| e.at > at);
        self.queue.insert(i, Entry { at, slot });
    }

    /// When the earliest thing is due, if anything is scheduled.
    pub fn next_at(&self) -> Option<WorldMs> {
        self.queue.last().map(|e| e.at)
    }

    /// Takes the earliest thing if it is due at or before `now` ([`Agenda::next_at`] says
    /// when it was due). It is moved out of its slot once: things can be large, and each
    /// move of one is a copy.
    #[inline]
    pub fn pop_due(&mut self, now: WorldMs) -> Option<T> {
        let slot = self.queue.last().filter(|e| e.at <= now)?.slot;
        self.queue.pop();
        self.free.push(slot);
        self.slots.get_mut(slot as usize)?.take()
    }

    /// Drops every scheduled thing for which `keep` is false (a terminal that lost power
    /// loses what was addressed to it). The order of the rest is unchanged.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let slots = &mut self.slots;
        let free = &mut self.free;
        self.queue.retain(|e| {
            let k = slots[e.slot as usize].as_ref().is_some_and(&mut keep);
            if !k {
                slots[e.slot as usize] = None;
                free.push(e.slot);
            }
            k
        });
    }

    /// How many things are scheduled.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Forgets everything, keeping the allocation.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.slots.clear();
        self.free.clear();
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
        // The same arithmetic in i64 when it cannot overflow (always, in practice): the
        // i128 division is a library call, and this runs on every step.
        if let Ok(ti) = i64::try_from(t)
            && let Some(p) = ti.checked_mul(i64::from(self.drift_ppm))
            && let Some(v) = (UNIX_BASE as i64)
                .checked_add(ti)
                .and_then(|v| v.checked_add(self.skew_ms))
                .and_then(|v| v.checked_add(p / 1_000_000))
        {
            return v.max(0) as u64;
        }
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
        if self.drift_ppm == 0 {
            // terminal(t) = base + t exactly.
            return u64::try_from(delta).unwrap_or(u64::MAX / 2);
        }
        // Invert the linear map, then step to the exact earliest millisecond.
        let rate = 1_000_000 + i64::from(self.drift_ppm);
        let guess = match i64::try_from(delta).ok().and_then(|d| d.checked_mul(1_000_000)) {
            Some(scaled) if rate > 0 => (scaled / rate).max(0) as u64,
            _ => {
                let rate = i128::from(rate);
                u64::try_from((delta * 1_000_000 / rate).max(0)).unwrap_or(u64::MAX / 2)
            }
        };
        let mut t = guess;
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
        let order: Vec<_> = std::iter::from_fn(|| a.pop_due(100)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    #[test]
    fn nothing_before_its_time() {
        let mut a = Agenda::default();
        a.schedule(10, 1);
        assert_eq!(a.pop_due(9), None);
        assert_eq!(a.next_at(), Some(10));
        assert_eq!(a.pop_due(10), Some(1));
    }

    #[test]
    fn retain_drops_only_what_it_must_and_keeps_the_order() {
        let mut a = Agenda::default();
        for (at, w) in [(10, 1), (5, 2), (10, 3), (7, 4), (10, 5)] {
            a.schedule(at, w);
        }
        a.retain(|w| w % 2 == 1);
        a.schedule(10, 7);
        let order: Vec<_> = std::iter::from_fn(|| a.pop_due(100)).collect();
        assert_eq!(order, [1, 3, 5, 7]);
    }

    #[test]
    fn terminal_clock_fast_path_matches_the_wide_arithmetic() {
        for (skew_ms, drift_ppm) in [(0, 0), (-7_200_000, 999), (7_200_000, -1_000), (3, -1), (-300_000, 400)] {
            let c = TerminalClock { skew_ms, drift_ppm };
            for t in [0u64, 1, 17, 999_999, 2_592_000_000, 1 << 40] {
                let drift = i128::from(t) * i128::from(drift_ppm) / 1_000_000;
                let v = i128::from(UNIX_BASE) + i128::from(t) + i128::from(skew_ms) + drift;
                assert_eq!(c.terminal(t), u64::try_from(v.max(0)).unwrap_or(0), "{c:?} {t}");
            }
        }
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
