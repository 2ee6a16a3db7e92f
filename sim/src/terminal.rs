//! The seam between the world and the machine: one terminal running a real
//! [`facepay_fsm::Session`] on its own (possibly skewed) clock, with an observer that sees
//! every input, timer and command — a trace recorder, or nothing.

use std::io::Write;

use facepay_fsm::trace::TraceWriter;
use facepay_fsm::{Command, Event, HandleError, Instant, Policy, Session, Timer};

use crate::world::{TerminalClock, WorldMs};

/// Sees what the terminal's session takes and emits. One call per input, timer and command.
pub trait Observer {
    /// The session took `event` at `now`.
    fn input(&mut self, now: Instant, event: &Event);
    /// The session fired `timer` at `now`.
    fn timer(&mut self, now: Instant, timer: Option<Timer>);
    /// The session emitted `command` in the step at `now`.
    fn output(&mut self, now: Instant, command: &Command);
}

/// Observes nothing: the campaign's fast path.
impl Observer for () {
    fn input(&mut self, _: Instant, _: &Event) {}
    fn timer(&mut self, _: Instant, _: Option<Timer>) {}
    fn output(&mut self, _: Instant, _: &Command) {}
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
}

/// One terminal: a session, its clock, its observer.
pub struct Terminal<O: Observer> {
    session: Session,
    clock: TerminalClock,
    observer: O,
}

impl<O: Observer> Terminal<O> {
    /// A terminal with a fresh session under `policy`.
    pub fn new(policy: Policy, clock: TerminalClock, observer: O) -> Self {
        Terminal {
            session: Session::new(policy),
            clock,
            observer,
        }
    }

    /// The terminal's reading of world time `t`.
    pub fn now(&self, t: WorldMs) -> Instant {
        Instant(self.clock.terminal(t))
    }

    /// Feeds `event` at world time `t`; appends the commands it produced to `out`.
    pub fn input(&mut self, t: WorldMs, event: &Event, out: &mut Vec<Command>) -> Result<(), HandleError> {
        let now = self.now(t);
        self.session.handle(now, event)?;
        self.observer.input(now, event);
        self.drain(now, out);
        Ok(())
    }

    /// Fires every timer due at world time `t`, one step each; appends the commands.
    pub fn fire_due(&mut self, t: WorldMs, out: &mut Vec<Command>) -> Result<(), HandleError> {
        let now = self.now(t);
        while let Some((timer, at)) = self.session.next_timer() {
            if at > now {
                break;
            }
            self.session.handle_timeout(now)?;
            self.observer.timer(now, Some(timer));
            self.drain(now, out);
        }
        Ok(())
    }

    /// The world time at which the next timer is due.
    pub fn next_deadline(&self) -> Option<WorldMs> {
        self.session.poll_timeout().map(|at| self.clock.world_at(at.0))
    }

    /// The session, to read its state.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The observer, e.g. to take a recorded trace back.
    pub fn into_observer(self) -> O {
        self.observer
    }

    fn drain(&mut self, now: Instant, out: &mut Vec<Command>) {
        while let Some(c) = self.session.poll_command() {
            self.observer.output(now, &c);
            out.push(c);
        }
    }
}
