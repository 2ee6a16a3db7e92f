//! The fixed timer table: one slot per kind, no heap, no closures (as quinn-proto).
//!
//! Each timer is named for what it waits for, and its [`TimerScope`] says how long it
//! lives: a state-scoped timer is disarmed on every transition (the chart calls
//! [`Timers::disarm_state_scoped`] before each one), so it never reaches a state that did
//! not arm it; a session-scoped one survives transitions and is only re-armed by name.

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
    /// `initWxpayface` asked to be called again (InitBackoff): try it now.
    InitRetry,
    /// Querying: send the next query (or, once the query budget is spent, reverse).
    NextQuery,
    /// Reversing: send the next reverse (the first waits 15 s after the submit; later
    /// ones back off).
    NextReverse,
    /// Fetch the authinfo again (ahead of expiry, or after a failed fetch).
    AuthRefresh,
}

/// How long an armed [`Timer`] lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerScope {
    /// Belongs to the state that armed it (its own wait, or the deadline of the call it
    /// made): disarmed on every transition, including a state's transition to itself.
    State,
    /// Belongs to the session: survives transitions.
    Session,
}

impl Timer {
    /// Every kind, in the order ties are broken. The three state waits take the place
    /// the one shared wait had (they are never armed together: each belongs to its own
    /// state), so the same inputs fire the same timers in the same order as before.
    pub const VALUES: [Timer; 6] = [
        Timer::SdkDeadline,
        Timer::BackendDeadline,
        Timer::InitRetry,
        Timer::NextQuery,
        Timer::NextReverse,
        Timer::AuthRefresh,
    ];

    /// How long this timer lives once armed.
    #[must_use]
    pub const fn scope(self) -> TimerScope {
        match self {
            Timer::SdkDeadline | Timer::BackendDeadline | Timer::InitRetry | Timer::NextQuery | Timer::NextReverse => {
                TimerScope::State
            }
            // Refreshed on the way back to Idle; an order must not lose it.
            Timer::AuthRefresh => TimerScope::Session,
        }
    }

    /// True for a state's own wait (not a call's deadline, not session-scoped): the
    /// timers that older traces all name `"wake"`.
    #[must_use]
    pub const fn is_state_wait(self) -> bool {
        matches!(self, Timer::InitRetry | Timer::NextQuery | Timer::NextReverse)
    }

    const fn slot(self) -> usize {
        match self {
            Timer::SdkDeadline => 0,
            Timer::BackendDeadline => 1,
            Timer::InitRetry => 2,
            Timer::NextQuery => 3,
            Timer::NextReverse => 4,
            Timer::AuthRefresh => 5,
        }
    }
}

const UNARMED: u64 = u64::MAX;

const SLOTS: usize = Timer::VALUES.len();

/// One deadline per [`Timer`] kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Timers([u64; SLOTS]);

impl Default for Timers {
    fn default() -> Self {
        Timers([UNARMED; SLOTS])
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

    /// Disarms every [`TimerScope::State`] timer: the state that armed it is being left.
    pub(crate) fn disarm_state_scoped(&mut self) {
        for t in Timer::VALUES {
            if t.scope() == TimerScope::State {
                self.disarm(t);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind has its own slot, in `VALUES` order, so tie order is `VALUES` order.
    #[test]
    fn every_kind_has_its_own_slot_in_values_order() {
        for (i, t) in Timer::VALUES.iter().enumerate() {
            assert_eq!(t.slot(), i, "{t:?}");
        }
    }

    #[test]
    fn a_transition_disarms_state_timers_and_keeps_session_ones() {
        let mut timers = Timers::default();
        for (i, t) in Timer::VALUES.iter().enumerate() {
            timers.arm(*t, Instant(i as u64));
        }
        timers.disarm_state_scoped();
        for t in Timer::VALUES {
            assert_eq!(timers.get(t).is_some(), t.scope() == TimerScope::Session, "{t:?}");
        }
        assert_eq!(timers.next().map(|(t, _)| t), Some(Timer::AuthRefresh));
    }

    #[test]
    fn ties_go_to_the_kind_listed_first() {
        let mut timers = Timers::default();
        timers.arm(Timer::AuthRefresh, Instant(5));
        timers.arm(Timer::NextQuery, Instant(5));
        timers.arm(Timer::BackendDeadline, Instant(5));
        assert_eq!(timers.next(), Some((Timer::BackendDeadline, Instant(5))));
        timers.disarm(Timer::BackendDeadline);
        assert_eq!(timers.next(), Some((Timer::NextQuery, Instant(5))));
    }
}
