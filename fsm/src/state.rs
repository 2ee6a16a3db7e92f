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
