//! A machine and its facade driven together, sans-IO: the host makes seed calls, feeds
//! SDK and backend answers, fires timers, and executes the commands and delivers the
//! answers that come out. The simulator's seed apps run on it; `facepay-device` does
//! the same steps around its own recorded session.

use std::collections::VecDeque;

use facepay_fsm::{Command, Event, HandleError, Instant, Merchant, Policy, Polled, Session};

use crate::facade::{Facade, Op, Route, Token};
use crate::request::{Call, Operation, parse};
use crate::value::{Answer, Params};

/// One terminal seen through the seed surface.
#[derive(Debug)]
pub struct FacadeTerminal {
    session: Session,
    facade: Facade,
    commands: VecDeque<Command>,
    answers: VecDeque<(Token, Answer)>,
    scratch: Vec<Command>,
}

impl FacadeTerminal {
    /// A fresh terminal under `policy` with the configured `merchant`.
    pub fn new(policy: Policy, merchant: Merchant) -> Self {
        FacadeTerminal::with_session(Session::new(policy), merchant)
    }

    /// A terminal around `session` (e.g. resumed from the journal: its order, if any,
    /// becomes the facade's current one). The resumed session's first commands are
    /// ready to be taken.
    pub fn with_session(mut session: Session, merchant: Merchant) -> Self {
        let mut facade = Facade::new(session.policy(), merchant);
        let mut commands = VecDeque::new();
        while let Some(c) = session.poll_command() {
            if let Command::Persist(r) = &c {
                facade.resume(r.out_trade_no.as_str(), Some(r.total_fee));
            }
            commands.push_back(c);
        }
        FacadeTerminal {
            session,
            facade,
            commands,
            answers: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// The machine, to read its state.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The facade, to read its history.
    pub fn facade(&self) -> &Facade {
        &self.facade
    }

    /// Tells the facade the journalled order the session resumed (`out_trade_no`,
    /// submitted with `total_fee`).
    pub fn resumed(&mut self, out_trade_no: &str, total_fee: u32) {
        self.facade.resume(out_trade_no, Some(total_fee));
    }

    /// The seed call `op` with the app's `params`, at `now`, answered later through
    /// [`FacadeTerminal::poll_answer`] with `token` (a bad map is answered `PARAM_ERROR`
    /// at once, naming the key).
    pub fn call(&mut self, now: Instant, token: Token, op: Operation, params: &Params) -> Result<(), HandleError> {
        match parse(op, params) {
            Ok(call) => self.call_typed(now, token, call),
            Err(e) => {
                self.answers
                    .push_back((token, Answer::err("PARAM_ERROR", &e.to_string())));
                Ok(())
            }
        }
    }

    /// As [`FacadeTerminal::call`], already typed.
    pub fn call_typed(&mut self, now: Instant, token: Token, call: Call) -> Result<(), HandleError> {
        match self.facade.call(token, call, now, self.session.state()) {
            Route::Answer(a) => self.answers.push_back((token, a)),
            Route::Wait => {}
            Route::Send(app, op) => self.step(now, Some((token, op)), &Event::App(app))?,
        }
        self.drain_outbox(now)
    }

    /// An SDK or backend answer (or a service death) at `now`.
    pub fn handle(&mut self, now: Instant, event: &Event) -> Result<(), HandleError> {
        self.step(now, None, event)?;
        self.drain_outbox(now)
    }

    /// Fires every machine timer and facade deadline due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandleError> {
        if self.session.poll_timeout().is_some_and(|t| t <= now) {
            self.session.handle_timeout(now)?;
            self.after(now, None, None);
        }
        for a in self.facade.handle_timeout(now) {
            self.answers.push_back(a);
        }
        self.drain_outbox(now)
    }

    /// The earliest machine timer or facade deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.session.poll_timeout(), self.facade.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next command to execute, in order.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// The next answer to deliver to the app.
    pub fn poll_answer(&mut self) -> Option<(Token, Answer)> {
        self.answers.pop_front()
    }

    fn step(&mut self, now: Instant, origin: Option<(Token, Op)>, event: &Event) -> Result<(), HandleError> {
        self.session.handle(now, event)?;
        self.after(now, origin, Some(event));
        Ok(())
    }

    /// Takes the step's commands; the facade observes each step with the state after it
    /// (a `handle_timeout` that fires several timers is several steps: `poll` marks each).
    fn after(&mut self, now: Instant, mut origin: Option<(Token, Op)>, mut event: Option<&Event>) {
        let mut cmds = std::mem::take(&mut self.scratch);
        loop {
            let mut more = false;
            while let Some(p) = self.session.poll() {
                match p {
                    Polled::Command(c) => cmds.push(c),
                    Polled::Timer(_) => {
                        more = true;
                        break;
                    }
                }
            }
            let answers = self
                .facade
                .observe(origin.take(), event.take(), &cmds, self.session.state(), now);
            self.commands.extend(cmds.drain(..));
            self.answers.extend(answers);
            if !more {
                break;
            }
        }
        self.scratch = cmds;
    }

    fn drain_outbox(&mut self, now: Instant) -> Result<(), HandleError> {
        while let Some((app, origin)) = self.facade.poll_app_event() {
            self.step(now, origin, &Event::App(app))?;
        }
        Ok(())
    }
}
