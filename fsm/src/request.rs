//! The app's requests as calls that return their refusal (the shape of smoltcp's
//! `send() -> Result<_, SendError>`): the host answers its app from the result, not by
//! reading the step's diagnostics.

use core::fmt;

use crate::command::{DiagnosticKind, Refusal};
use crate::config::{InitParams, Merchant, OrderRequest, UserInfoRequest};
use crate::event::{AppEvent, Event};
use crate::session::{HandleError, Session};
use crate::text::FieldError;
use crate::time::Instant;

/// Why an app request was not taken. It changed nothing in the session; the host tells
/// its app (and may ask again later, e.g. `Release` once `Notice::OrderConcluded` came).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The session turned the request away in its current state.
    Refused(Refusal),
    /// The request itself is malformed: fix the named field.
    Invalid(FieldError),
    /// The session took no input at all: drain the previous step's commands first.
    NotTaken(HandleError),
}

impl RequestError {
    /// The diagnostic the session queued for this error (`None` for
    /// [`RequestError::NotTaken`], which queued nothing).
    #[must_use]
    pub const fn diagnostic(&self) -> Option<DiagnosticKind> {
        match *self {
            RequestError::Refused(r) => Some(DiagnosticKind::Refused(r)),
            RequestError::Invalid(e) => Some(DiagnosticKind::InvalidRequest(e)),
            RequestError::NotTaken(_) => None,
        }
    }
}

impl RequestError {
    /// The result of a request that was handled, from the refusal its step queued.
    pub(crate) fn check(refusal: Option<DiagnosticKind>) -> Result<(), RequestError> {
        match refusal {
            Some(DiagnosticKind::Refused(r)) => Err(RequestError::Refused(r)),
            Some(DiagnosticKind::InvalidRequest(e)) => Err(RequestError::Invalid(e)),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Refused(r) => write!(f, "refused: {r}"),
            RequestError::Invalid(e) => write!(f, "invalid request: {e}"),
            RequestError::NotTaken(e) => write!(f, "not taken: {e}"),
        }
    }
}

impl core::error::Error for RequestError {}

impl From<HandleError> for RequestError {
    fn from(e: HandleError) -> Self {
        RequestError::NotTaken(e)
    }
}

impl Session {
    /// Feeds the app request `app` at `now` (exactly as `handle(now, &Event::App(app))`,
    /// so a trace records it as the same `Event::App` input) and says whether it was taken.
    ///
    /// Either way, drain [`Session::poll_command`] afterwards: a refusal is also queued
    /// as its `Command::Diagnostic` (for the host's log), and nothing else.
    pub fn request(&mut self, now: Instant, app: AppEvent) -> Result<(), RequestError> {
        self.handle(now, &Event::App(app))?;
        RequestError::check(self.refusal())
    }

    /// Brings the face service up (`initWxpayface`) for `merchant`: `AppEvent::Start`.
    /// `Notice::Ready` follows once it is up. See [`Session::request`].
    pub fn start(&mut self, now: Instant, init: InitParams, merchant: Merchant) -> Result<(), RequestError> {
        self.request(now, AppEvent::Start { init, merchant })
    }

    /// Takes one payment: `AppEvent::StartOrder`. `Notice::OrderConcluded` ends it.
    /// See [`Session::request`].
    pub fn start_order(&mut self, now: Instant, order: OrderRequest) -> Result<(), RequestError> {
        self.request(now, AppEvent::StartOrder(order))
    }

    /// Looks a member up by face, no money: `AppEvent::IdentifyUser`. See
    /// [`Session::request`].
    pub fn identify(&mut self, now: Instant, req: UserInfoRequest) -> Result<(), RequestError> {
        self.request(now, AppEvent::IdentifyUser(req))
    }

    /// Abandons the current scan or lookup: `AppEvent::Cancel`. Refused with
    /// `Refusal::Settling` once money may move. See [`Session::request`].
    pub fn cancel(&mut self, now: Instant) -> Result<(), RequestError> {
        self.request(now, AppEvent::Cancel)
    }

    /// Shuts the face service down: `AppEvent::Release`. Refused with `Refusal::Settling`
    /// while an order settles: keep the wish and ask again after `Notice::OrderConcluded`.
    /// See [`Session::request`].
    pub fn release(&mut self, now: Instant) -> Result<(), RequestError> {
        self.request(now, AppEvent::Release)
    }
}
