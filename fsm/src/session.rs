//! The sans-IO surface: events and time in, commands out (the shape of quinn-proto).

use core::fmt;

use statig::blocking::{IntoStateMachineExt, StateMachine};

use crate::command::{Command, Conclusion, DiagnosticKind};
use crate::event::{Event, RequestId, SdkCallKind};
use crate::journal::{JournalError, JournalPhase, JournalRecord};
use crate::machine::{Effects, Machine, Stimulus};
use crate::outbox::{BackendKind, Note, NoticeKind, Outbox, Queued};
use crate::policy::Policy;
use crate::state::StateId;
use crate::time::Instant;
use crate::timer::{Timer, Timers};

/// Why the session did not take an input. The input had no effect; the caller must fix
/// the cause and give it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleError {
    /// Commands from the previous step are still queued: drain them with
    /// [`Session::poll_command`] (and execute them) first.
    Undrained {
        /// How many are waiting.
        pending: u8,
    },
    /// A `Command::Persist` was handed out and the commands after it are held until the
    /// host reports the write: call [`Session::persisted`] first.
    AwaitingPersist,
    /// [`Session::persisted`] was called with no journal write outstanding; nothing
    /// changed. A host that sees this reported a write twice.
    NoPersistOutstanding,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::Undrained { pending } => {
                write!(
                    f,
                    "{pending} command(s) from the previous step are not drained; poll_command first"
                )
            }
            HandleError::AwaitingPersist => {
                f.write_str("a journal write is not yet acknowledged; call persisted first")
            }
            HandleError::NoPersistOutstanding => f.write_str("no journal write is awaiting acknowledgement"),
        }
    }
}

impl core::error::Error for HandleError {}

/// Why the host could not write a journal record ([`Session::persisted`]'s `Err`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PersistError {
    /// The write (or its flush to durable storage) failed; the stored record is the one
    /// before it, if any.
    WriteFailed,
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::WriteFailed => f.write_str("the journal write failed"),
        }
    }
}

impl core::error::Error for PersistError {}

/// Which backend API a request went to (the `Command::Backend` call's kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendCallKind {
    /// `get_wxpayface_authinfo`.
    GetAuthInfo,
    /// `micropay` or `facepay`: the pay submission.
    Submit,
    /// `orderquery` or `facepayquery`.
    Query,
    /// `reverse` or `facepayreverse`.
    Reverse,
}

impl BackendCallKind {
    /// The API's name, for logs (the micropay family's name for the pay calls).
    pub const fn name(self) -> &'static str {
        match self {
            BackendCallKind::GetAuthInfo => "get_wxpayface_authinfo",
            BackendCallKind::Submit => "micropay",
            BackendCallKind::Query => "orderquery",
            BackendCallKind::Reverse => "reverse",
        }
    }
}

impl From<BackendKind> for BackendCallKind {
    fn from(kind: BackendKind) -> Self {
        match kind {
            BackendKind::AuthInfo => BackendCallKind::GetAuthInfo,
            BackendKind::Submit => BackendCallKind::Submit,
            BackendKind::Query => BackendCallKind::Query,
            BackendKind::Reverse => BackendCallKind::Reverse,
        }
    }
}

/// The requests a session is waiting on: at most one SDK call and one backend call are
/// open at a time. An answer whose id is not here is late or unknown: the session reports
/// it as a diagnostic and ignores it, so a host needs no table of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitingOn {
    /// The open SDK call, if any: answer it with an `Event::Sdk` carrying this id.
    pub sdk: Option<(RequestId, SdkCallKind)>,
    /// The open backend call, if any: answer it with an `Event::Backend` carrying this id.
    pub backend: Option<(RequestId, BackendCallKind)>,
}

impl WaitingOn {
    /// True when `id` is one of the open requests.
    #[must_use]
    pub fn contains(&self, id: RequestId) -> bool {
        self.sdk.is_some_and(|(i, _)| i == id) || self.backend.is_some_and(|(i, _)| i == id)
    }

    /// True when no request is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sdk.is_none() && self.backend.is_none()
    }
}

/// One terminal's face-pay session: the whole state chart, a fixed-size value, no heap.
///
/// A request the session cannot take now is refused and changes nothing (its call returns
/// [`crate::RequestError`]); refusals are never queued. In particular `AppEvent::Release`
/// while an order settles (money may be moving) is refused with `Refusal::Settling`: the
/// host keeps the wish and sends `Release` again once `Notice::OrderConcluded` arrives —
/// the conclusion is the signal that the terminal may shut down. Queuing it inside would
/// let a stale release fire minutes later, after the app changed its mind.
///
/// Drive it like this, from one thread at a time (run to completion):
///
/// ```
/// use facepay_fsm::{Session, Policy, Instant, InitParams, Merchant, Field, Text};
/// let mut s = Session::new(Policy::default());
/// let merchant = Merchant {
///     appid: Text::new(Field::Appid, "wx2421b1c4370ec43b").unwrap(),
///     mch_id: Text::new(Field::MchId, "10000100").unwrap(),
///     ..Merchant::default()
/// };
/// s.start(Instant(0), InitParams::default(), merchant).unwrap(); // Err(RequestError) if turned away
/// while let Some(cmd) = s.poll_command() {
///     // execute it: call the SDK or the backend, show a notice, log a diagnostic
///     # let _ = cmd;
/// }
/// if let Some(deadline) = s.poll_timeout() {
///     // arm a timer; when it fires: s.handle_timeout(now), then drain as above
///     # let _ = deadline;
/// }
/// ```
pub struct Session {
    machine: StateMachine<Machine>,
    outbox: Outbox,
    timers: Timers,
    now: Instant,
    /// How many more due timers the last `handle_timeout` call may fire as its commands
    /// drain (0: none). The bound keeps a timer re-armed at once from spinning.
    catching_up: u8,
    /// `poll` announced the next due timer; the next `poll` fires it.
    announced: bool,
    /// The persist handshake is on ([`Session::await_persist_acks`]).
    persist_acks: bool,
    /// The phase of the handed-out `Command::Persist` whose write the host has not yet
    /// reported; the commands after it are held until [`Session::persisted`].
    awaiting_persist: Option<JournalPhase>,
}

/// At most this many timers fire per [`Session::handle_timeout`] call; more than the
/// table holds, so only a timer that re-arms itself already due is cut short (it stays due).
const MAX_FIRINGS: u8 = 64;

/// One item of [`Session::poll`]: a command to execute, or the news that the next due timer
/// fires now (its commands follow).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Polled {
    /// The previous firing's commands are all taken, and this timer is due: the next
    /// [`Session::poll`] fires it (as part of the last [`Session::handle_timeout`] call),
    /// and its commands follow.
    Timer(Timer),
    /// The next command, as [`Session::poll_command`] returns it.
    Command(Command),
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state())
            .field("now", &self.now)
            .field("next_timer", &self.timers.next())
            .field("queued", &self.outbox.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session in `Offline/Uninitialized`; send `AppEvent::Start` to bring it up.
    #[inline]
    pub fn new(policy: Policy) -> Self {
        // statig initialises on the first event: Offline/Uninitialized has no entry action,
        // so nothing is lost, and the 4.7 KB machine is built in place rather than moved.
        Session {
            machine: Machine::new(policy).state_machine(),
            outbox: Outbox::default(),
            timers: Timers::default(),
            now: Instant(0),
            catching_up: 0,
            announced: false,
            persist_acks: false,
            awaiting_persist: None,
        }
    }

    /// Turns the persist handshake on: from now on, once [`Session::poll_command`] (or
    /// `poll`, `poll_command_with`) hands out a `Command::Persist`, the commands after it
    /// are held — the queue looks empty, and inputs are refused with
    /// [`HandleError::AwaitingPersist`] — until the host writes the record and reports
    /// the result with [`Session::persisted`]. This makes "journal before the next
    /// command" the session's rule rather than the host's: a submit whose record could
    /// not be written is never handed out. Without it, every Persist counts as written
    /// once handed out (the behaviour of hosts written before the handshake).
    pub fn await_persist_acks(&mut self) {
        self.persist_acks = true;
    }

    /// The journal phase whose write the session waits to hear about, if any: while it is
    /// `Some`, the queue looks empty and the host must call [`Session::persisted`].
    #[must_use]
    pub fn awaiting_persist(&self) -> Option<JournalPhase> {
        self.awaiting_persist
    }

    /// Reports the write of the last `Command::Persist` at `now`; then drain
    /// [`Session::poll_command`] as after any step.
    ///
    /// - `Ok(())`: the held commands follow, unchanged.
    /// - `Err` for the record written before the submit: the submit is never handed out;
    ///   the order concludes `NotPaid` with `Reason::JournalUnavailable` (no further record
    ///   is asked for: nothing was sent). The host must repair its journal before the next
    ///   order.
    /// - `Err` for a later record: money may already have moved, so the held commands
    ///   still follow, after a `DiagnosticKind::JournalStale` the host must report.
    ///
    /// Fails with [`HandleError::NoPersistOutstanding`], changing nothing, when no write
    /// is awaited.
    pub fn persisted(&mut self, now: Instant, result: Result<(), PersistError>) -> Result<(), HandleError> {
        let phase = self.awaiting_persist.take().ok_or(HandleError::NoPersistOutstanding)?;
        self.advance(now);
        if result.is_err() {
            self.dispatch(Stimulus::PersistFailed(phase));
        }
        Ok(())
    }

    /// A session that continues the journalled order after a power loss or a kill: it
    /// queries first, then reverses by the same rules and budgets, counting the time the
    /// record says was spent; it never submits again. A concluded record gives a fresh
    /// session.
    ///
    /// Its first steps, in order:
    /// 1. drain [`Session::poll_command`]: the resumed order's first commands (its
    ///    journal record) are already queued, and [`Session::handle`] refuses any input
    ///    with [`HandleError::Undrained`] until they are taken; then arm
    ///    [`Session::poll_timeout`], which brings the first query;
    /// 2. send `AppEvent::Start` as after any boot (the app does not know the order is
    ///    still settling): it is accepted, and the face service comes up once the order
    ///    has concluded — `Notice::Ready` follows `Notice::OrderConcluded`;
    /// 3. run the loop as usual; [`Session::waiting_on`] names the query to answer.
    ///
    /// ```
    /// use facepay_fsm::*;
    /// let no = OutTradeNo::new(Field::OutTradeNo, "1217752501201407033233368018").unwrap();
    /// let record = JournalRecord {
    ///     version: JOURNAL_VERSION, out_trade_no: no, api: PayApi::Micropay, total_fee: 100,
    ///     phase: JournalPhase::Submitting, elapsed_ms: 0, queries: 0, reverse_attempts: 0,
    /// };
    /// let mut s = Session::resume(Policy::default(), &record, Instant(60_000));
    /// let first: Vec<Command> = core::iter::from_fn(|| s.poll_command()).collect();
    /// assert!(first.iter().any(|c| matches!(c, Command::Persist(_))));
    /// assert!(!first.iter().any(|c| matches!(c, Command::Backend { call: BackendCall::Submit { .. }, .. })));
    /// assert!(s.poll_timeout().is_some());
    /// let merchant = Merchant { appid: "wx2421b1c4370ec43b".parse().unwrap(), mch_id: "10000100".parse().unwrap(), ..Merchant::default() };
    /// assert_eq!(s.start(Instant(60_001), InitParams::default(), merchant), Ok(()));
    /// ```
    pub fn resume(policy: Policy, record: &JournalRecord, now: Instant) -> Self {
        let mut s = Session::new(policy);
        s.now = now;
        let mut fx = Effects {
            now,
            state: s.state(),
            out: &mut s.outbox,
            timers: &mut s.timers,
        };
        s.machine.handle_with_context(&Stimulus::Resume(record), &mut fx);
        s
    }

    /// Like [`Session::resume`], from the stored binary record (or an empty slice when
    /// there is none; erased storage, all 0x00 or all 0xFF, also counts as none).
    ///
    /// A record that fails its checksum or is from a newer version is never dropped: if
    /// its out_trade_no still reads, the order is resumed as ambiguous (query, then
    /// reverse, from the start of both budgets); if not, the session's first command is
    /// `Notice::JournalUnreadable`. Either way the error is returned for the host's log.
    pub fn resume_from_bytes(policy: Policy, bytes: &[u8], now: Instant) -> (Self, Option<JournalError>) {
        if bytes.iter().all(|&b| b == 0) || bytes.iter().all(|&b| b == 0xFF) {
            let mut s = Session::new(policy);
            s.now = now;
            return (s, None);
        }
        match JournalRecord::decode(bytes) {
            Ok(record) => (Session::resume(policy, &record, now), None),
            Err(error) => match JournalRecord::salvage(bytes) {
                Some((out_trade_no, api)) => {
                    let record = JournalRecord::salvaged(out_trade_no, api);
                    (Session::resume(policy, &record, now), Some(error))
                }
                None => {
                    let mut s = Session::new(policy);
                    s.now = now;
                    s.outbox.push(Queued::Notice(NoticeKind::JournalUnreadable));
                    (s, Some(error))
                }
            },
        }
    }

    /// Feeds one event at time `now`. Afterwards, drain [`Session::poll_command`] and look
    /// at [`Session::poll_timeout`] again.
    ///
    /// Fails, doing nothing, if the previous step's commands were not drained.
    pub fn handle(&mut self, now: Instant, event: &Event) -> Result<(), HandleError> {
        self.check_drained()?;
        self.catching_up = 0;
        self.announced = false;
        self.step(now, Stimulus::Event(event))
    }

    /// Fires every timer due at `now`, one step each, in the timer table's tie order, and
    /// says which fired first (`None`: nothing was due, e.g. a host timer that woke early;
    /// the call only moves the clock). Afterwards drain [`Session::poll_command`] as after
    /// [`Session::handle`]: the first timer's commands come out, then each later due
    /// timer fires as the previous one's commands are taken, and `None` means every due
    /// timer has fired. An extra call is a no-op. A recorder that logs each firing drains
    /// with [`Session::poll`] instead, which marks where each firing begins.
    ///
    /// A later input ([`Session::handle`]) before `poll_command` says `None` leaves the
    /// remaining timers due: [`Session::poll_timeout`] still says so.
    ///
    /// Fails, doing nothing, if the previous step's commands were not drained.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<Option<Timer>, HandleError> {
        let fired = self.fire_next_timer(now)?;
        if fired.is_some() {
            self.catching_up = MAX_FIRINGS - 1;
        }
        Ok(fired)
    }

    /// Fires only the earliest timer due at `now`, if any, and says which one fired; the
    /// others stay due. For replay engines and simulators that account for each firing
    /// as its own step; a host calls [`Session::handle_timeout`].
    ///
    /// Fails, doing nothing, if the previous step's commands were not drained.
    pub fn fire_next_timer(&mut self, now: Instant) -> Result<Option<Timer>, HandleError> {
        self.check_drained()?;
        self.catching_up = 0;
        self.announced = false;
        let due = self.timers.next().filter(|&(_, at)| at <= now.max(self.now));
        match due {
            Some((timer, _)) => {
                self.timers.disarm(timer);
                self.step(now, Stimulus::Timer(timer))?;
                Ok(Some(timer))
            }
            None => {
                self.advance(now);
                Ok(None)
            }
        }
    }

    /// The next time [`Session::handle_timeout`] must be called, or `None` when no timer is
    /// armed. Check again after every step.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(_, at)| at)
    }

    /// Which timer comes due next, and when (for hosts and tools that show it).
    #[must_use]
    pub fn next_timer(&self) -> Option<(Timer, Instant)> {
        self.timers.next()
    }

    /// The next command to execute, in order, or `None` when the queue is empty.
    pub fn poll_command(&mut self) -> Option<Command> {
        let q = self.next_queued()?;
        Some(self.machine.inner().materialize(q, self.now))
    }

    /// Like [`Session::poll_command`], but says where one firing of
    /// [`Session::handle_timeout`] ends and the next begins: once a timer's commands are
    /// all taken and another timer is due, it returns `Polled::Timer` for that timer
    /// *before* firing it (the session is still in the state the previous firing left),
    /// and the next call fires it. A recorder logs one timeout per firing from it; a host
    /// that reads each step's commands with the state after it (a facade) reads the state
    /// there. `None` once the queue is empty and no due timer is left.
    pub fn poll(&mut self) -> Option<Polled> {
        if self.awaiting_persist.is_some() {
            return None;
        }
        if core::mem::take(&mut self.announced) {
            self.fire_catching_up();
        }
        if let Some(q) = self.pop_queued() {
            return Some(Polled::Command(self.machine.inner().materialize(q, self.now)));
        }
        let (timer, _) = self.due_catching_up()?;
        self.announced = true;
        Some(Polled::Timer(timer))
    }

    /// Like [`Session::poll_command`], but lends the next command to `f` instead of
    /// returning it: the command is built once, where `f` reads it, and never moved (a
    /// command holds up to 2 KB inline). Returns `None`, without calling `f`, when the
    /// queue is empty.
    #[inline]
    pub fn poll_command_with<R>(&mut self, f: impl FnOnce(&Command) -> R) -> Option<R> {
        let q = self.next_queued()?;
        Some(self.machine.inner().lend(q, self.now, f))
    }

    /// Why the last input was turned away, if it was: the `Refused` or `InvalidRequest`
    /// diagnostic among the commands not yet taken (as [`Command::refusal`] reads it).
    /// Such an input changed nothing else. `None` once the step is drained. A host feeding
    /// an app request gets this as the request's result ([`Session::request`]); this is
    /// for tools that feed recorded `Event::App` inputs through [`Session::handle`].
    #[must_use]
    pub fn refusal(&self) -> Option<DiagnosticKind> {
        self.outbox.iter().find_map(|q| match *q {
            Queued::Diagnostic(state, note) => Some(note.unpack(state).kind).filter(DiagnosticKind::turns_away),
            _ => None,
        })
    }

    /// The requests the session is waiting on (at most one SDK call and one backend call),
    /// with their ids and kinds. Lets a host route an answer, or drop one it no longer
    /// needs to deliver, without keeping its own table of request ids.
    #[must_use]
    pub fn waiting_on(&self) -> WaitingOn {
        let m = self.machine.inner();
        WaitingOn {
            sdk: m.sdk_waiting.map(|(id, kind)| (RequestId(id), kind)),
            backend: m.backend_waiting.map(|(id, kind)| (RequestId(id), kind.into())),
        }
    }

    /// The current leaf state, for display.
    #[must_use]
    pub fn state(&self) -> StateId {
        self.machine.state().id()
    }

    /// The latest time the session has seen.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.machine.inner().policy
    }

    /// The conclusion of the last order, if one has concluded.
    #[must_use]
    pub fn last_conclusion(&self) -> Option<&Conclusion> {
        let c = &self.machine.inner().conclusion;
        if c.out_trade_no.is_empty() { None } else { Some(c) }
    }

    /// Commands that did not fit the queue. Always zero unless there is a bug; a host or
    /// test that sees anything else must report it.
    #[must_use]
    pub fn lost_commands(&self) -> u16 {
        self.outbox.lost()
    }

    /// The next queued command; once the queue is empty, the next due timer of a
    /// [`Session::handle_timeout`] call fires and its commands follow.
    fn next_queued(&mut self) -> Option<Queued> {
        loop {
            if self.awaiting_persist.is_some() {
                return None;
            }
            if let Some(q) = self.pop_queued() {
                return Some(q);
            }
            self.fire_catching_up()?;
        }
    }

    /// Takes the next queued command; a Persist handed out under the handshake holds the
    /// rest until [`Session::persisted`].
    fn pop_queued(&mut self) -> Option<Queued> {
        let q = self.outbox.pop()?;
        if let Queued::Persist(phase) = q
            && self.persist_acks
        {
            self.awaiting_persist = Some(phase);
        }
        Some(q)
    }

    /// The next timer still due from the last [`Session::handle_timeout`] call, once the
    /// previous firing's commands are all taken.
    fn due_catching_up(&mut self) -> Option<(Timer, Instant)> {
        if self.catching_up == 0 || !self.outbox.is_empty() {
            return None;
        }
        let due = self.timers.next().filter(|&(_, at)| at <= self.now);
        if due.is_none() {
            self.catching_up = 0;
        }
        due
    }

    /// Fires [`Session::due_catching_up`]'s timer, if any, as its own step.
    fn fire_catching_up(&mut self) -> Option<Timer> {
        self.announced = false;
        let (timer, _) = self.due_catching_up()?;
        self.catching_up -= 1;
        self.timers.disarm(timer);
        self.dispatch(Stimulus::Timer(timer));
        Some(timer)
    }

    fn check_drained(&self) -> Result<(), HandleError> {
        if self.awaiting_persist.is_some() {
            Err(HandleError::AwaitingPersist)
        } else if self.outbox.is_empty() {
            Ok(())
        } else {
            Err(HandleError::Undrained {
                pending: u8::try_from(self.outbox.len()).unwrap_or(u8::MAX),
            })
        }
    }

    /// Moves the clock forward; a clock that went backwards is reported and ignored.
    fn advance(&mut self, now: Instant) {
        if now < self.now {
            let state = self.state();
            self.outbox
                .push(Queued::Diagnostic(state, Note::pack(DiagnosticKind::TimeWentBackwards)));
        } else {
            self.now = now;
        }
    }

    fn step(&mut self, now: Instant, stimulus: Stimulus<'_>) -> Result<(), HandleError> {
        self.check_drained()?;
        self.advance(now);
        self.dispatch(stimulus);
        Ok(())
    }

    /// Runs one step of the chart at the session's time.
    fn dispatch(&mut self, stimulus: Stimulus<'_>) {
        let mut fx = Effects {
            now: self.now,
            state: self.state(),
            out: &mut self.outbox,
            timers: &mut self.timers,
        };
        self.machine.handle_with_context(&stimulus, &mut fx);
    }
}
