//! The bounded command queue. It holds small tags; `Session::poll_command` turns each into
//! a full [`crate::Command`] from the machine's data, so the queue costs bytes, not KiB.

use crate::command::{Diagnostic, Notice};
use crate::event::SdkCallKind;

/// The most commands one step (one event or one timer) can queue. The chart never queues
/// more than four in a step; the margin keeps a mistake visible (`lost`) instead of silent.
pub const OUTBOX_CAPACITY: usize = 8;

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
}

impl NoticeKind {
    pub(crate) fn data_free(self) -> Option<Notice> {
        match self {
            NoticeKind::Ready => Some(Notice::Ready),
            NoticeKind::SdkUnavailable => Some(Notice::SdkUnavailable),
            NoticeKind::UserNotIdentified => Some(Notice::UserNotIdentified),
            NoticeKind::Released => Some(Notice::Released),
            NoticeKind::OrderConcluded | NoticeKind::UserIdentified => None,
        }
    }
}

/// A queued command. Calls carry their request id so the answer can be matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queued {
    Sdk(u32, SdkCallKind),
    Backend(u32, BackendKind),
    Notice(NoticeKind),
    Diagnostic(Diagnostic),
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

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn lost(&self) -> u16 {
        self.lost
    }
}
