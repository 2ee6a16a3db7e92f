//! The fault schedule: faults named one by one by the ordinal of the message they hit.
//! The [`super::Faults`] middleware applies an entry in place of the draws it would have
//! made for that message; with no entry for a message it draws exactly as before.

/// One fault aimed at one message of a session, named by the message's ordinal: the
/// how-manieth message of its kind, counting from 0 over the whole session (across power
/// losses), so that a schedule means the same thing whatever the times turn out to be.
/// An entry whose message never happens does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ScheduledFault {
    /// Backend request `request`, in the order the terminal sent them.
    Request {
        /// The request's ordinal.
        request: u32,
        /// What happens to it.
        fault: RequestFault,
    },
    /// The backend's reply to request `request` (addressed by its request, so that losing
    /// an earlier request does not move it).
    Reply {
        /// The ordinal of the request it answers.
        request: u32,
        /// What happens to it.
        fault: ReplyFault,
    },
    /// SDK callback `callback`, in the order the face app produced them.
    Callback {
        /// The callback's ordinal.
        callback: u32,
        /// What happens to it.
        fault: ReplyFault,
    },
    /// The face service dies `after_ms` after SDK call `call` was made.
    ServiceDeath {
        /// The ordinal of the SDK call, in the order the terminal made them.
        call: u32,
        /// How long after the call, ms.
        after_ms: u32,
    },
}

/// What a [`ScheduledFault`] does to a backend request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum RequestFault {
    /// It never reaches the backend, so no reply comes.
    Lost,
    /// It reaches the backend this many ms later than it would have.
    Slow(u32),
}

/// What a [`ScheduledFault`] does to a reply (a backend answer or an SDK callback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ReplyFault {
    /// It never arrives.
    Lost,
    /// It arrives this many ms after the caller's deadline (at least 1).
    Late(u32),
    /// It arrives on time, and a copy of it this many ms later.
    Doubled(u32),
}

/// An ordered list of at most [`FaultSchedule::CAPACITY`] scheduled faults, in a fixed
/// array so that [`FaultPlan`](crate::faults::FaultPlan) stays `Copy`. Where two entries name the same message the
/// first decides its fate. Its `Debug` and serde forms list only the entries present.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSchedule {
    /// The entries present come first; `None` after them.
    entries: [Option<ScheduledFault>; FaultSchedule::CAPACITY],
}

impl FaultSchedule {
    /// The most entries a schedule holds: more than a minimal failing case should need.
    pub const CAPACITY: usize = 8;

    /// No scheduled faults.
    pub const EMPTY: FaultSchedule = FaultSchedule {
        entries: [None; FaultSchedule::CAPACITY],
    };

    /// Appends `fault`; the caller must handle a full schedule (nothing is added).
    pub fn push(&mut self, fault: ScheduledFault) -> Result<(), ScheduleFull> {
        let slot = self.entries.iter_mut().find(|e| e.is_none()).ok_or(ScheduleFull)?;
        *slot = Some(fault);
        Ok(())
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = &ScheduledFault> {
        self.entries.iter().map_while(Option::as_ref)
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries[0].is_none()
    }

    pub(super) fn request(&self, ordinal: u32) -> Option<RequestFault> {
        self.iter().find_map(|f| match *f {
            ScheduledFault::Request { request, fault } if request == ordinal => Some(fault),
            _ => None,
        })
    }

    pub(super) fn reply(&self, ordinal: u32) -> Option<ReplyFault> {
        self.iter().find_map(|f| match *f {
            ScheduledFault::Reply { request, fault } if request == ordinal => Some(fault),
            _ => None,
        })
    }

    pub(super) fn callback(&self, ordinal: u32) -> Option<ReplyFault> {
        self.iter().find_map(|f| match *f {
            ScheduledFault::Callback { callback, fault } if callback == ordinal => Some(fault),
            _ => None,
        })
    }

    pub(super) fn service_death(&self, ordinal: u32) -> Option<u32> {
        self.iter().find_map(|f| match *f {
            ScheduledFault::ServiceDeath { call, after_ms } if call == ordinal => Some(after_ms),
            _ => None,
        })
    }
}

impl TryFrom<&[ScheduledFault]> for FaultSchedule {
    type Error = ScheduleFull;

    fn try_from(faults: &[ScheduledFault]) -> Result<Self, ScheduleFull> {
        let mut schedule = FaultSchedule::EMPTY;
        for f in faults {
            schedule.push(*f)?;
        }
        Ok(schedule)
    }
}

impl std::fmt::Debug for FaultSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl serde::Serialize for FaultSchedule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// A [`FaultSchedule`] already holds [`FaultSchedule::CAPACITY`] entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleFull;

impl std::fmt::Display for ScheduleFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a fault schedule holds at most {} entries", FaultSchedule::CAPACITY)
    }
}

impl std::error::Error for ScheduleFull {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_holds_its_capacity_and_shows_only_its_entries() {
        let death = ScheduledFault::ServiceDeath { call: 0, after_ms: 9 };
        let mut s = FaultSchedule::EMPTY;
        assert!(s.is_empty());
        assert_eq!(format!("{s:?}"), "[]");
        for _ in 0..FaultSchedule::CAPACITY {
            s.push(death).expect("room");
        }
        assert_eq!(s.push(death), Err(ScheduleFull));
        assert_eq!(s.len(), FaultSchedule::CAPACITY);
        let one = FaultSchedule::try_from(&[death][..]).expect("fits");
        assert_eq!(format!("{one:?}"), "[ServiceDeath { call: 0, after_ms: 9 }]");
        assert_eq!(one.service_death(0), Some(9));
        assert_eq!(one.service_death(1), None);
        assert_eq!(one.request(0), None);
    }
}
