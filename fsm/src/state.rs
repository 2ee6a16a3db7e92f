//! The names of the chart's leaf states, for display, diagnostics and traces.

use core::fmt;

/// A leaf state of the session chart (docs/design.md §chart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[allow(missing_docs)] // each is the chart state of the same name; see `path`
pub enum StateId {
    Uninitialized,
    Initializing,
    InitBackoff,
    Idle,
    GettingRawdata,
    GettingAuthInfo,
    Identifying,
    PreparingRawdata,
    PreparingAuthInfo,
    ScanningFace,
    ScanningCode,
    Submitting,
    Querying,
    Reversing,
    Reporting,
    Releasing,
    Released,
}

impl StateId {
    /// The state's place in the chart, e.g. `Online/Order/Settling/Querying`.
    pub const fn path(self) -> &'static str {
        match self {
            StateId::Uninitialized => "Offline/Uninitialized",
            StateId::Initializing => "Offline/Initializing",
            StateId::InitBackoff => "Offline/InitBackoff",
            StateId::Idle => "Online/Idle",
            StateId::GettingRawdata => "Online/Authorizing/GettingRawdata",
            StateId::GettingAuthInfo => "Online/Authorizing/GettingAuthInfo",
            StateId::Identifying => "Online/Identifying",
            StateId::PreparingRawdata => "Online/Order/Preparing/GettingRawdata",
            StateId::PreparingAuthInfo => "Online/Order/Preparing/GettingAuthInfo",
            StateId::ScanningFace => "Online/Order/Scanning/Face",
            StateId::ScanningCode => "Online/Order/Scanning/Code",
            StateId::Submitting => "Online/Order/Settling/Submitting",
            StateId::Querying => "Online/Order/Settling/Querying",
            StateId::Reversing => "Online/Order/Settling/Reversing",
            StateId::Reporting => "Online/Order/Reporting",
            StateId::Releasing => "Releasing",
            StateId::Released => "Released",
        }
    }

    /// True while money may be moving: from the submit until the conclusion.
    pub const fn is_settling(self) -> bool {
        matches!(self, StateId::Submitting | StateId::Querying | StateId::Reversing)
    }

    /// True while an order (or its report) occupies the terminal.
    pub const fn in_order(self) -> bool {
        matches!(
            self,
            StateId::PreparingRawdata
                | StateId::PreparingAuthInfo
                | StateId::ScanningFace
                | StateId::ScanningCode
                | StateId::Submitting
                | StateId::Querying
                | StateId::Reversing
                | StateId::Reporting
        )
    }

    /// True before the face service is up (or after it gave up).
    pub const fn is_offline(self) -> bool {
        matches!(
            self,
            StateId::Uninitialized | StateId::Initializing | StateId::InitBackoff
        )
    }
}

impl fmt::Display for StateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// The predicates and `path()` above are a second copy of the hierarchy written in the
/// chart's statig attributes: these tests hold every leaf state to statig's own chain of
/// superstates, so the two cannot drift.
#[cfg(test)]
mod tests {
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    use statig::blocking::{State as _, Superstate as _};

    use super::StateId;
    use crate::chart::{State, Superstate};

    /// The chart state behind each id: exhaustive, so a new `StateId` must be listed here.
    fn state_of(id: StateId) -> State {
        match id {
            StateId::Uninitialized => State::Uninitialized {},
            StateId::Initializing => State::Initializing {},
            StateId::InitBackoff => State::InitBackoff {},
            StateId::Idle => State::Idle {},
            StateId::GettingRawdata => State::GettingRawdata {},
            StateId::GettingAuthInfo => State::GettingAuthInfo {},
            StateId::Identifying => State::Identifying {},
            StateId::PreparingRawdata => State::PreparingRawdata {},
            StateId::PreparingAuthInfo => State::PreparingAuthInfo {},
            StateId::ScanningFace => State::ScanningFace {},
            StateId::ScanningCode => State::ScanningCode {},
            StateId::Submitting => State::Submitting {},
            StateId::Querying => State::Querying {},
            StateId::Reversing => State::Reversing {},
            StateId::Reporting => State::Reporting {},
            StateId::Releasing => State::Releasing {},
            StateId::Released => State::Released {},
        }
    }

    /// Every leaf of the chart, each once: exhaustive over statig's `State`, so a state
    /// added to the chart fails to compile here until it is listed (and given an id).
    fn all_states() -> Vec<State> {
        let all = [
            State::Uninitialized {},
            State::Initializing {},
            State::InitBackoff {},
            State::Idle {},
            State::GettingRawdata {},
            State::GettingAuthInfo {},
            State::Identifying {},
            State::PreparingRawdata {},
            State::PreparingAuthInfo {},
            State::ScanningFace {},
            State::ScanningCode {},
            State::Submitting {},
            State::Querying {},
            State::Reversing {},
            State::Reporting {},
            State::Releasing {},
            State::Released {},
        ];
        for s in &all {
            // No arm may be missing: this match is the exhaustiveness check.
            match s {
                State::Uninitialized {}
                | State::Initializing {}
                | State::InitBackoff {}
                | State::Idle {}
                | State::GettingRawdata {}
                | State::GettingAuthInfo {}
                | State::Identifying {}
                | State::PreparingRawdata {}
                | State::PreparingAuthInfo {}
                | State::ScanningFace {}
                | State::ScanningCode {}
                | State::Submitting {}
                | State::Querying {}
                | State::Reversing {}
                | State::Reporting {}
                | State::Releasing {}
                | State::Released {} => {}
            }
        }
        all.to_vec()
    }

    fn name(s: &Superstate) -> String {
        // statig's superstates carry no data here: their Debug is the bare variant name.
        format!("{s:?}")
    }

    fn walk(s: &mut Superstate, chain: &mut Vec<String>) {
        chain.push(name(s));
        if let Some(mut parent) = s.superstate() {
            walk(&mut parent, chain);
        }
    }

    /// statig's superstates of `state`, outermost first, without the root `Top`.
    fn chain(state: &mut State) -> Vec<String> {
        let mut chain = Vec::new();
        if let Some(mut s) = state.superstate() {
            walk(&mut s, &mut chain);
        }
        assert_eq!(
            chain.pop().as_deref(),
            Some("Top"),
            "{state:?}: every chain ends at Top"
        );
        chain.reverse();
        chain
    }

    #[test]
    fn ids_and_states_are_one_to_one() {
        let states = all_states();
        let mut ids: Vec<StateId> = states.iter().map(State::id).collect();
        for (s, id) in states.iter().zip(&ids) {
            assert_eq!(&state_of(*id), s, "{id:?} names another state");
        }
        ids.dedup();
        assert_eq!(ids.len(), states.len(), "two states share an id");
    }

    #[test]
    fn path_and_predicates_follow_the_statig_superstates() {
        for mut state in all_states() {
            let id = state.id();
            let chain = chain(&mut state);
            let path: Vec<&str> = id.path().split('/').collect();
            let (_leaf, parents) = path.split_last().expect("a path names its leaf");
            assert_eq!(parents, chain.as_slice(), "{id:?}: path() is not the statig chain");
            let within = |s: &str| chain.iter().any(|c| c == s);
            assert_eq!(id.is_settling(), within("Settling"), "{id:?}: is_settling");
            assert_eq!(id.in_order(), within("Order"), "{id:?}: in_order");
            assert_eq!(id.is_offline(), within("Offline"), "{id:?}: is_offline");
        }
    }
}
