//! The seam between the world and the machine: one terminal running a real
//! [`facepay_fsm::Session`] on its own (possibly skewed) clock, with an observer that sees
//! every input, timer and command — a trace recorder, or nothing.
//!
//! A terminal runs a [`Strategy`]: [`Facepay`] is the machine alone (the default, and the
//! only thing campaigns run); a [`PeerStrategy`] settles orders with a published peer
//! loop instead (see [`crate::peers`]). Both speak the machine's sans-IO surface and its
//! `Command` vocabulary, so the world, the faults and the checker are the same for all.

use std::cell::Cell;
use std::io::Write;

use facepay_fsm::trace::TraceWriter;
use facepay_fsm::{Command, DiagnosticKind, Event, HandleError, Instant, PersistError, Policy, Session, Timer};

use crate::apps::{AppKind, AppStrategy};
use crate::peers::{Note, PeerKind, PeerStrategy};

use crate::world::{TerminalClock, WorldMs};

/// Sees what the terminal's session takes and emits. One call per input, timer and command.
pub trait Observer {
    /// The session took `event` at `now`.
    fn input(&mut self, now: Instant, event: &Event);
    /// The session fired `timer` at `now`.
    fn timer(&mut self, now: Instant, timer: Option<Timer>);
    /// The session emitted `command` in the step at `now`.
    fn output(&mut self, now: Instant, command: &Command);
    /// The terminal booted again at `now` after a power loss: a session resumed from
    /// `journal` (the stored bytes), or a fresh one (`None`), replaces the old one.
    fn restarted(&mut self, now: Instant, journal: Option<&[u8]>) {
        let _ = (now, journal);
    }
    /// The host reported the last journal write at `now` (`Session::persisted`). No
    /// default: a recorder that forgot it would write traces that do not replay.
    fn persisted(&mut self, now: Instant, result: Result<(), PersistError>);
}

/// Observes nothing: the campaign's fast path.
impl Observer for () {
    fn input(&mut self, _: Instant, _: &Event) {}
    fn timer(&mut self, _: Instant, _: Option<Timer>) {}
    fn output(&mut self, _: Instant, _: &Command) {}
    fn persisted(&mut self, _: Instant, _: Result<(), PersistError>) {}
}

/// Records a trace (format v1) that `facepay-sim replay` can replay. Write errors are
/// ignored here: a simulation's trace goes to memory or a scratch file.
impl<W: Write> Observer for TraceWriter<W> {
    fn input(&mut self, now: Instant, event: &Event) {
        let _ = TraceWriter::input(self, now, event);
    }
    fn timer(&mut self, now: Instant, timer: Option<Timer>) {
        let _ = TraceWriter::timer(self, now, timer);
    }
    fn output(&mut self, now: Instant, command: &Command) {
        let _ = TraceWriter::output(self, now, command);
    }
    fn persisted(&mut self, now: Instant, result: Result<(), PersistError>) {
        let _ = TraceWriter::persisted(self, now, result);
    }
    /// Each boot is a session of its own in the trace (a header with the journal it
    /// resumed from, linked to the boot before), as on a device: replay checks each.
    fn restarted(&mut self, now: Instant, journal: Option<&[u8]>) {
        let boot = |name: &str| match name.rsplit_once("-boot") {
            Some((base, n)) => n
                .parse::<u32>()
                .map_or(format!("{name}-boot1"), |n| format!("{base}-boot{}", n + 1)),
            None => format!("{name}-boot1"),
        };
        let next = self.header().session.as_deref().map(boot);
        let _ = self.begin_resumed(now, journal, next);
    }
}

/// How a terminal decides, over its [`Session`]: the sans-IO surface of the machine, with
/// the session passed in so that every strategy keeps the real machine for what it does
/// not replace.
pub trait Strategy {
    /// Feeds `event` at `now` (as `Session::handle`).
    fn handle(&mut self, session: &mut Session, now: Instant, event: &Event) -> Result<(), HandleError>;
    /// Fires the earliest timer due at `now` (as `Session::fire_next_timer`: one firing per
    /// call, so the observer records each and the world acts between them as before).
    fn handle_timeout(&mut self, session: &mut Session, now: Instant) -> Result<(), HandleError>;
    /// The next command, in order (as `Session::poll_command`).
    fn poll_command(&mut self, session: &mut Session) -> Option<Command>;
    /// The next timer and when it is due; `None` for a timer that is not the machine's.
    fn next_timer(&self, session: &Session) -> Option<(Option<Timer>, Instant)>;
    /// Why the last input was turned away, if it was, read before its commands are
    /// taken (as `Session::refusal`).
    fn refusal(&self, session: &Session) -> Option<DiagnosticKind>;
}

/// The facepay machine itself, nothing added.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facepay;

impl Strategy for Facepay {
    #[inline]
    fn handle(&mut self, session: &mut Session, now: Instant, event: &Event) -> Result<(), HandleError> {
        session.handle(now, event)
    }
    #[inline]
    fn handle_timeout(&mut self, session: &mut Session, now: Instant) -> Result<(), HandleError> {
        session.fire_next_timer(now).map(drop)
    }
    #[inline(always)]
    fn poll_command(&mut self, session: &mut Session) -> Option<Command> {
        session.poll_command()
    }
    #[inline]
    fn next_timer(&self, session: &Session) -> Option<(Option<Timer>, Instant)> {
        session.next_timer().map(|(t, at)| (Some(t), at))
    }
    #[inline]
    fn refusal(&self, session: &Session) -> Option<DiagnosticKind> {
        session.refusal()
    }
}

/// Which strategy a terminal runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub enum StrategyKind {
    /// The facepay machine.
    #[default]
    Facepay,
    /// A peer loop settles each order.
    Peer(PeerKind),
    /// The machine through the seed facade, driven by a simulated seed app ([`crate::apps`]).
    App(AppKind),
}

impl StrategyKind {
    /// Every strategy, facepay first.
    pub const ALL: [StrategyKind; 5] = [
        StrategyKind::Facepay,
        StrategyKind::Peer(PeerKind::PhpSample),
        StrategyKind::Peer(PeerKind::JavaPos),
        StrategyKind::Peer(PeerKind::AlipayDemo),
        StrategyKind::Peer(PeerKind::Naive),
    ];

    /// Its short name.
    pub const fn name(self) -> &'static str {
        match self {
            StrategyKind::Facepay => "facepay",
            StrategyKind::Peer(p) => p.name(),
            StrategyKind::App(a) => a.name(),
        }
    }
}

/// The strategy a terminal runs (static dispatch; the facepay path stays allocation-free).
#[derive(Debug, Default)]
enum Engine {
    #[default]
    Facepay,
    Peer(Box<PeerStrategy>),
    App(Box<AppStrategy>),
}

impl Engine {
    fn new(kind: StrategyKind, policy: &Policy) -> Self {
        match kind {
            StrategyKind::Facepay => Engine::Facepay,
            StrategyKind::Peer(p) => Engine::Peer(Box::new(PeerStrategy::new(p))),
            StrategyKind::App(a) => Engine::App(Box::new(AppStrategy::new(a, policy))),
        }
    }
}

impl Strategy for Engine {
    #[inline]
    fn handle(&mut self, session: &mut Session, now: Instant, event: &Event) -> Result<(), HandleError> {
        match self {
            Engine::Facepay => Facepay.handle(session, now, event),
            Engine::Peer(p) => p.handle(session, now, event),
            Engine::App(a) => a.handle(session, now, event),
        }
    }
    #[inline]
    fn handle_timeout(&mut self, session: &mut Session, now: Instant) -> Result<(), HandleError> {
        match self {
            Engine::Facepay => Facepay.handle_timeout(session, now),
            Engine::Peer(p) => p.handle_timeout(session, now),
            Engine::App(a) => a.handle_timeout(session, now),
        }
    }
    #[inline(always)]
    fn poll_command(&mut self, session: &mut Session) -> Option<Command> {
        match self {
            Engine::Facepay => Facepay.poll_command(session),
            Engine::Peer(p) => p.poll_command(session),
            Engine::App(a) => a.poll_command(session),
        }
    }
    #[inline]
    fn next_timer(&self, session: &Session) -> Option<(Option<Timer>, Instant)> {
        match self {
            Engine::Facepay => Facepay.next_timer(session),
            Engine::Peer(p) => p.next_timer(session),
            Engine::App(a) => a.next_timer(session),
        }
    }
    #[inline]
    fn refusal(&self, session: &Session) -> Option<DiagnosticKind> {
        match self {
            Engine::Facepay => Facepay.refusal(session),
            Engine::Peer(p) => p.refusal(session),
            Engine::App(a) => a.refusal(session),
        }
    }
}

/// One terminal: a session, its clock, its observer.
pub struct Terminal<O: Observer> {
    session: Session,
    strategy: Engine,
    clock: TerminalClock,
    observer: O,
    /// The last deadline converted to world time: (terminal reading, world time).
    deadline: Cell<Option<(u64, WorldMs)>>,
}

impl<O: Observer> Terminal<O> {
    /// A terminal with a fresh session under `policy`.
    pub fn new(policy: Policy, clock: TerminalClock, observer: O) -> Self {
        let mut session = Session::new(policy);
        session.await_persist_acks();
        Terminal {
            session,
            strategy: Engine::Facepay,
            clock,
            observer,
            deadline: Cell::new(None),
        }
    }

    /// A terminal with a fresh session under `policy`, run by `strategy`.
    pub fn with_strategy(strategy: StrategyKind, policy: Policy, clock: TerminalClock, observer: O) -> Self {
        let policy = match strategy {
            StrategyKind::Facepay => policy,
            // A peer concludes the machine it parked at the submit with a decline: the
            // machine must take it as the end, not reverse the order on its own.
            _ => {
                let settings = facepay_fsm::PolicySettings {
                    close_declined_orders: false,
                    ..*policy.settings()
                };
                Policy::new(settings).unwrap_or(policy)
            }
        };
        let mut session = Session::new(policy);
        // The machine's own host reports every journal write (the persist handshake);
        // a peer keeps no journal, and the facade terminal takes each write as done.
        if strategy == StrategyKind::Facepay {
            session.await_persist_acks();
        }
        Terminal {
            session,
            strategy: Engine::new(strategy, &policy),
            clock,
            observer,
            deadline: Cell::new(None),
        }
    }

    /// Keep a peer strategy's notes on how its source reads each answer (for transcripts).
    pub fn record_peer_notes(&mut self) {
        if let Engine::Peer(p) = &mut self.strategy {
            p.record_notes();
        }
    }

    /// The peer strategy's notes so far, taken (empty for facepay).
    pub fn take_peer_notes(&mut self) -> Vec<Note> {
        match &mut self.strategy {
            Engine::Peer(p) => p.take_notes(),
            Engine::Facepay | Engine::App(_) => Vec::new(),
        }
    }

    /// The seed app's view broken so far, and its calls still unanswered past their
    /// bound at world time `end`; nothing for the other strategies.
    pub fn take_app_violations(&mut self, end: WorldMs) -> Vec<crate::checker::Violation> {
        let now = self.now(end);
        match &mut self.strategy {
            Engine::App(a) => a.take_violations(Some(now)),
            _ => Vec::new(),
        }
    }

    /// The terminal's reading of world time `t`.
    pub fn now(&self, t: WorldMs) -> Instant {
        Instant(self.clock.terminal(t))
    }

    /// Feeds `event` at world time `t`. Its commands stay where the strategy built them:
    /// the caller takes them, in order, with [`Terminal::poll_with`] (or
    /// [`Terminal::take_commands`]) before the next input. Returns the terminal's reading
    /// of `t`.
    #[inline]
    pub fn input(&mut self, t: WorldMs, event: &Event) -> Result<Instant, HandleError> {
        let now = self.now(t);
        self.strategy.handle(&mut self.session, now, event)?;
        self.observer.input(now, event);
        Ok(now)
    }

    /// Why the last input was turned away, if it was (before its commands are taken).
    pub fn refusal(&self) -> Option<DiagnosticKind> {
        self.strategy.refusal(&self.session)
    }

    /// Lends the next command of the last step (at `now`, the terminal's time) to `f`,
    /// after the observer has seen it; `None` when there is none. The machine's commands
    /// are read where the session builds them: a command is 2 KB, and every move of one
    /// is a copy.
    #[inline]
    pub fn poll_with<R>(&mut self, now: Instant, f: impl FnOnce(&Command) -> R) -> Option<R> {
        let observer = &mut self.observer;
        match &mut self.strategy {
            Engine::Facepay => self.session.poll_command_with(|c| {
                observer.output(now, c);
                f(c)
            }),
            Engine::Peer(p) => {
                let c = p.poll_command(&mut self.session)?;
                observer.output(now, &c);
                Some(f(&c))
            }
            Engine::App(a) => {
                let c = a.poll_command(&mut self.session)?;
                observer.output(now, &c);
                Some(f(&c))
            }
        }
    }

    /// Fires every timer due at world time `t`, one step each, and returns the terminal's
    /// reading of `t`. The commands of every timer but the last are appended to `out`;
    /// the last one's stay in the strategy for [`Terminal::poll_with`], so the caller
    /// carries out `out` first, then polls: one path for every step, whatever its source.
    pub fn fire_due(&mut self, t: WorldMs, out: &mut Vec<Command>) -> Result<Instant, HandleError> {
        let now = self.now(t);
        while let Some((timer, at)) = self.strategy.next_timer(&self.session) {
            if at > now {
                break;
            }
            self.strategy.handle_timeout(&mut self.session, now)?;
            self.observer.timer(now, timer);
            // The machine's timers do not depend on its outbox: whether another is due is
            // known before its commands are taken. A peer's or an app's may, so theirs are
            // taken at once.
            let last = self.strategy.next_timer(&self.session).is_none_or(|(_, at)| at > now);
            if last && matches!(self.strategy, Engine::Facepay) {
                break;
            }
            self.drain(now, out);
        }
        Ok(now)
    }

    /// The world time at which the next timer is due.
    pub fn next_deadline(&self) -> Option<WorldMs> {
        let (_, at) = self.strategy.next_timer(&self.session)?;
        // The same deadline is asked for at every step until it fires or moves, and
        // inverting a drifting clock costs divisions: keep the last answer.
        if let Some((reading, world)) = self.deadline.get()
            && reading == at.0
        {
            return Some(world);
        }
        let world = self.clock.world_at(at.0);
        self.deadline.set(Some((at.0, world)));
        Some(world)
    }

    /// The session, to read its state.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Power came back at world time `t`: `session` (resumed from the journal by the
    /// caller) replaces the one the power loss dropped. Its first commands are taken with
    /// [`Terminal::poll_with`], as after an input; returns the terminal's reading of `t`.
    ///
    /// A peer strategy keeps no journal (none of the published loops does): its loops die
    /// with the power and it starts from a fresh session, whatever the journal held.
    /// `journal` is the stored bytes the session was resumed from (for the observer).
    pub fn restart(&mut self, t: WorldMs, session: Session, journal: &[u8]) -> Instant {
        let now = self.now(t);
        self.session = match &mut self.strategy {
            Engine::Facepay => {
                self.observer.restarted(now, Some(journal));
                let mut session = session;
                session.await_persist_acks();
                session
            }
            Engine::Peer(p) => {
                p.power_lost();
                self.observer.restarted(now, None);
                Session::new(*session.policy())
            }
            // The app process restarts; the facade takes the journal's order from the
            // resumed session's first record.
            Engine::App(a) => {
                a.power_lost(session.policy());
                self.observer.restarted(now, Some(journal));
                session
            }
        };
        now
    }

    /// True when the host must report each journal write (the persist handshake): the
    /// machine's own strategy. The others take each write as done, so none may fail.
    pub fn reports_writes(&self) -> bool {
        matches!(self.strategy, Engine::Facepay)
    }

    /// The journal write the session waits to hear about, if any (after
    /// [`Terminal::poll_with`] lent a `Command::Persist`).
    pub fn awaiting_persist(&self) -> bool {
        self.session.awaiting_persist().is_some()
    }

    /// Reports the last journal write at `now` (the terminal's time); the commands it
    /// held follow through [`Terminal::poll_with`].
    pub fn persisted(&mut self, now: Instant, result: Result<(), PersistError>) {
        if self.session.persisted(now, result).is_ok() {
            self.observer.persisted(now, result);
        }
    }

    /// The observer, e.g. to take a recorded trace back.
    pub fn into_observer(self) -> O {
        self.observer
    }

    /// Takes every command of the last step (at `now`, the terminal's time) into `out`,
    /// after the observer has seen each: [`Terminal::poll_with`] for a caller that keeps
    /// them (a test's transcript).
    pub fn take_commands(&mut self, now: Instant, out: &mut Vec<Command>) {
        self.drain(now, out);
    }

    /// Takes the commands ahead of their execution; a journal record taken so is
    /// reported written (only a record carried out as it comes, [`Terminal::poll_with`],
    /// may fail).
    fn drain(&mut self, now: Instant, out: &mut Vec<Command>) {
        loop {
            while let Some(c) = self.strategy.poll_command(&mut self.session) {
                self.observer.output(now, &c);
                out.push(c);
            }
            if !self.awaiting_persist() {
                break;
            }
            self.persisted(now, Ok(()));
        }
    }
}
