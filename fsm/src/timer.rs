//! The fixed timer table: one slot per kind, no heap, no closures (as quinn-proto).

use crate::time::Instant;

/// The kinds of time event the machine arms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Timer {
    /// The outstanding SDK call has had no answer in time.
    SdkDeadline,
    /// The outstanding backend call has had no answer in time.
    BackendDeadline,
    /// The current state's own wait: init retry, next query, next reverse.
    Wake,
    /// Fetch the authinfo again (ahead of expiry, or after a failed fetch).
    AuthRefresh,
}

impl Timer {
    /// Every kind, in the order ties are broken.
    pub const VALUES: [Timer; 4] = [
        Timer::SdkDeadline,
        Timer::BackendDeadline,
        Timer::Wake,
        Timer::AuthRefresh,
    ];

    const fn slot(self) -> usize {
        match self {
            Timer::SdkDeadline => 0,
            Timer::BackendDeadline => 1,
            Timer::Wake => 2,
            Timer::AuthRefresh => 3,
        }
    }
}

const UNARMED: u64 = u64::MAX;

/// One deadline per [`Timer`] kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Timers([u64; 4]);

impl Default for Timers {
    fn default() -> Self {
        Timers([UNARMED; 4])
    }
}

impl Timers {
    pub(crate) fn arm(&mut self, timer: Timer, at: Instant) {
        // The cap keeps a real deadline from colliding with the unarmed marker.
        if let Some(slot) = self.0.get_mut(timer.slot()) {
            *slot = at.0.min(UNARMED - 1);
        }
    }

    pub(crate) fn disarm(&mut self, timer: Timer) {
        if let Some(slot) = self.0.get_mut(timer.slot()) {
            *slot = UNARMED;
        }
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        match self.0.get(timer.slot()) {
            Some(&at) if at != UNARMED => Some(Instant(at)),
            _ => None,
        }
    }

    /// The earliest armed timer; ties go to the kind listed first in [`Timer::VALUES`].
    pub(crate) fn next(&self) -> Option<(Timer, Instant)> {
        let mut best: Option<(Timer, Instant)> = None;
        for t in Timer::VALUES {
            if let Some(at) = self.get(t)
                && best.is_none_or(|(_, b)| at < b)
            {
                best = Some((t, at));
            }
        }
        best
    }
}
