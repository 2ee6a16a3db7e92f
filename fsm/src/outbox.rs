//! The bounded command queue. It holds small tags; `Session::poll_command` turns each into
//! a full [`crate::Command`] from the machine's data, so the queue costs bytes, not KiB.

use crate::command::{Diagnostic, DiagnosticKind, Notice, Refusal};
use crate::event::{RequestId, SdkCallKind};
use crate::journal::JournalPhase;
use crate::state::StateId;
use crate::text::{Field, FieldError};

/// The most commands one step (one event, one timer, or a resume) queues. The chart's
/// worst steps queue three: an order's conclusion (its journal record and the notice)
/// and one call after it (`reportPaycode`, `updateWxpayfacePayResult`, `initWxpayface`
/// after a service loss, `releaseWxpayface`, or a stop call before it); a clock that went
/// backwards adds its diagnostic ahead of them. `fsm/tests/step_bound.rs` drives every
/// waiting state with every kind of answer, request and timer, on time and with the clock
/// going backwards, and checks that no step queues more and that the worst one queues
/// exactly this many; every test harness checks it on every step.
pub const MAX_STEP_COMMANDS: usize = 4;

/// The capacity of the command queue: a step's worst case and a margin, so that a chart
/// change that breaks [`MAX_STEP_COMMANDS`] is caught by the tests (which check the bound
/// on every step) before it could lose a command (`Session::lost_commands`).
pub const OUTBOX_CAPACITY: usize = MAX_STEP_COMMANDS + 2;

// The queue is drained before every step, so one step's worst case must fit it whole.
const _: () = assert!(MAX_STEP_COMMANDS < OUTBOX_CAPACITY);

/// A backend call, without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackendKind {
    AuthInfo,
    Submit,
    Query,
    Reverse,
}

/// A notice, without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    Ready,
    SdkUnavailable,
    OrderConcluded,
    UserIdentified,
    UserNotIdentified,
    Released,
    JournalUnreadable,
}

impl NoticeKind {
    pub(crate) fn data_free(self) -> Option<Notice> {
        match self {
            NoticeKind::Ready => Some(Notice::Ready),
            NoticeKind::SdkUnavailable => Some(Notice::SdkUnavailable),
            NoticeKind::UserNotIdentified => Some(Notice::UserNotIdentified),
            NoticeKind::Released => Some(Notice::Released),
            NoticeKind::JournalUnreadable => Some(Notice::JournalUnreadable),
            NoticeKind::OrderConcluded | NoticeKind::UserIdentified => None,
        }
    }
}

/// A request id as bytes: with no 4-byte alignment in a slot, a [`Queued`] packs into 7
/// bytes instead of 16, which is most of what the queue costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PackedId([u8; 4]);

impl PackedId {
    pub(crate) fn new(id: u32) -> Self {
        PackedId(id.to_le_bytes())
    }

    pub(crate) fn get(self) -> u32 {
        u32::from_le_bytes(self.0)
    }
}

/// A diagnostic without its state, packed like [`Queued`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    Stale(PackedId),
    Refused(Refusal),
    /// The machine only ever sees bounded text, so an invalid field is empty or malformed.
    Invalid {
        field: Field,
        empty: bool,
    },
    Unreadable(SdkCallKind),
    NotAPaymentCode,
    TimeWentBackwards,
    JournalStale,
}

impl Note {
    pub(crate) fn pack(kind: DiagnosticKind) -> Self {
        match kind {
            DiagnosticKind::StaleAnswer(id) => Note::Stale(PackedId::new(id.0)),
            DiagnosticKind::Refused(r) => Note::Refused(r),
            DiagnosticKind::InvalidRequest(FieldError::Empty { field }) => Note::Invalid { field, empty: true },
            DiagnosticKind::InvalidRequest(FieldError::Malformed { field } | FieldError::TooLong { field, .. }) => {
                Note::Invalid { field, empty: false }
            }
            DiagnosticKind::UnreadableAnswer(call) => Note::Unreadable(call),
            DiagnosticKind::NotAPaymentCode => Note::NotAPaymentCode,
            DiagnosticKind::TimeWentBackwards => Note::TimeWentBackwards,
            DiagnosticKind::JournalStale => Note::JournalStale,
        }
    }

    pub(crate) fn unpack(self, state: StateId) -> Diagnostic {
        let kind = match self {
            Note::Stale(id) => DiagnosticKind::StaleAnswer(RequestId(id.get())),
            Note::Refused(r) => DiagnosticKind::Refused(r),
            Note::Invalid { field, empty: true } => DiagnosticKind::InvalidRequest(FieldError::Empty { field }),
            Note::Invalid { field, empty: false } => DiagnosticKind::InvalidRequest(FieldError::Malformed { field }),
            Note::Unreadable(call) => DiagnosticKind::UnreadableAnswer(call),
            Note::NotAPaymentCode => DiagnosticKind::NotAPaymentCode,
            Note::TimeWentBackwards => DiagnosticKind::TimeWentBackwards,
            Note::JournalStale => DiagnosticKind::JournalStale,
        };
        Diagnostic { kind, state }
    }
}

/// A queued command. Calls carry their request id so the answer can be matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queued {
    Sdk(PackedId, SdkCallKind),
    Backend(PackedId, BackendKind),
    Notice(NoticeKind),
    Diagnostic(StateId, Note),
    Persist(JournalPhase),
}

/// FIFO of [`Queued`] tags.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox {
    queue: heapless::Vec<Queued, OUTBOX_CAPACITY, u8>,
    /// Commands that did not fit. Always zero unless the chart has a bug; reported by
    /// `Session::lost_commands` so that it is never silent.
    lost: u16,
}

impl Outbox {
    pub(crate) fn push(&mut self, q: Queued) {
        if self.queue.push(q).is_err() {
            self.lost = self.lost.saturating_add(1);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Queued> {
        if self.queue.is_empty() {
            None
        } else {
            Some(self.queue.remove(0))
        }
    }

    /// Takes the queued submit back out (its journal write failed, so it must never be
    /// sent); true if there was one.
    pub(crate) fn withdraw_submit(&mut self) -> bool {
        match self
            .queue
            .iter()
            .position(|q| matches!(q, Queued::Backend(_, BackendKind::Submit)))
        {
            Some(i) => {
                self.queue.remove(i);
                true
            }
            None => false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The queued tags, first out first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.queue.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn lost(&self) -> u16 {
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No session step fills the queue (`fsm/tests/step_bound.rs`), so only a direct push
    /// can show the overflow is counted, not dropped silently, and the queue kept in order.
    #[test]
    fn an_overflowing_push_is_counted_and_the_queue_keeps_its_first_commands() {
        let mut outbox = Outbox::default();
        for _ in 0..OUTBOX_CAPACITY {
            outbox.push(Queued::Notice(NoticeKind::Ready));
        }
        assert_eq!(outbox.lost(), 0);
        outbox.push(Queued::Notice(NoticeKind::Released));
        outbox.push(Queued::Notice(NoticeKind::Released));
        assert_eq!(outbox.lost(), 2);
        assert_eq!(outbox.len(), OUTBOX_CAPACITY);
        assert!(outbox.iter().all(|q| matches!(q, Queued::Notice(NoticeKind::Ready))));
    }
}
