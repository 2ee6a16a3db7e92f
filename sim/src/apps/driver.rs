//! The driver: a seed app runs a terminal through the facade, as a [`Strategy`].

use std::collections::VecDeque;

use facepay_facade::{Answer, Facade, Op, Operation, Params, Route, Token, answer_bound_ms, parse};
use facepay_fsm::{
    AppEvent, Command, Conclusion, DiagnosticKind, Event, HandleError, Instant, Merchant, Notice, OutTradeNo, Outcome,
    Policy, Reason, Refusal, RequestError, Session, Timer, TransactionId,
};

use super::{AppKind, Ctx, SeedApp, params, s};
use crate::checker::Violation;
use crate::terminal::Strategy;

/// A seed call in flight.
#[derive(Debug)]
struct Pending {
    token: Token,
    op: Operation,
    asked: Instant,
}

/// A terminal run by a seed app through the facade.
pub struct AppStrategy {
    kind: AppKind,
    app: Box<dyn SeedApp>,
    facade: Facade,
    bound_ms: u64,
    queue: VecDeque<Command>,
    calls: VecDeque<(Token, Operation, Params)>,
    answers: VecDeque<(Token, Answer)>,
    verdicts: Vec<(String, Outcome)>,
    pending: Vec<Pending>,
    next_token: Token,
    /// Orders the app took, and what it told the customer (once told).
    taken: Vec<(String, Option<Outcome>)>,
    refusal: Option<DiagnosticKind>,
    first_call: bool,
    violations: Vec<Violation>,
}

impl std::fmt::Debug for AppStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppStrategy")
            .field("kind", &self.kind)
            .field("pending", &self.pending)
            .finish()
    }
}

impl AppStrategy {
    /// A fresh app process on a terminal under `policy`.
    pub fn new(kind: AppKind, policy: &Policy) -> Self {
        AppStrategy {
            kind,
            app: kind.make(),
            facade: Facade::new(policy, Merchant::default()),
            bound_ms: answer_bound_ms(policy),
            queue: VecDeque::new(),
            calls: VecDeque::new(),
            answers: VecDeque::new(),
            verdicts: Vec::new(),
            pending: Vec::new(),
            next_token: 1,
            taken: Vec::new(),
            refusal: None,
            first_call: false,
            violations: Vec::new(),
        }
    }

    /// Which app.
    pub fn kind(&self) -> AppKind {
        self.kind
    }

    /// The terminal lost power: the app process and the facade's memory are gone (the
    /// journal's order comes back through the resumed session).
    pub fn power_lost(&mut self, policy: &Policy) {
        *self = AppStrategy {
            violations: std::mem::take(&mut self.violations),
            ..AppStrategy::new(self.kind, policy)
        };
    }

    /// The app's view broken so far; with `end` (the terminal's time when the world
    /// stopped), also every call still unanswered then past its bound (one still within
    /// it may yet be answered: the world stopped first).
    pub fn take_violations(&mut self, end: Option<Instant>) -> Vec<Violation> {
        if let Some(end) = end {
            for p in self.pending.drain(..) {
                if end.0.saturating_sub(p.asked.0) > self.bound_ms {
                    self.violations.push(Violation::AppCallUnanswered {
                        operation: p.op.name().to_owned(),
                        waited_ms: None,
                    });
                }
            }
        }
        std::mem::take(&mut self.violations)
    }

    fn ctx_run(&mut self, now: Instant, f: impl FnOnce(&mut dyn SeedApp, &mut Ctx<'_>)) {
        let mut ctx = Ctx {
            now,
            next_token: &mut self.next_token,
            calls: &mut self.calls,
            verdicts: &mut self.verdicts,
        };
        f(self.app.as_mut(), &mut ctx);
    }

    /// Runs the app's calls and answers until nothing more happens.
    fn settle(&mut self, session: &mut Session, now: Instant) -> Result<(), HandleError> {
        for _ in 0..10_000 {
            if let Some((token, op, p)) = self.calls.pop_front() {
                self.pending.push(Pending { token, op, asked: now });
                self.run_call(session, now, token, op, &p)?;
                continue;
            }
            if !self.answers.is_empty() {
                self.read_answers(now);
                continue;
            }
            return Ok(());
        }
        Ok(())
    }

    /// The app's verdicts become the conclusions the cashier and the checker hear.
    fn tell(&mut self, _now: Instant) {
        for (otn, outcome) in std::mem::take(&mut self.verdicts) {
            let Some(t) = self.taken.iter_mut().find(|(o, _)| *o == otn) else {
                continue;
            };
            if let Some(before) = t.1 {
                // Told already: what the app reads now must not contradict it.
                let paid = |o: Outcome| match o {
                    Outcome::Paid => Some(true),
                    Outcome::NotPaid | Outcome::Reversed => Some(false),
                    Outcome::NeedsReconciliation => None,
                };
                if let (Some(a), Some(b)) = (paid(before), paid(outcome))
                    && a != b
                {
                    self.violations.push(Violation::AppViewContradicted {
                        out_trade_no: otn,
                        told: before.to_string(),
                        now_reads: outcome.to_string(),
                    });
                }
                continue;
            }
            t.1 = Some(outcome);
            let Ok(out_trade_no) = OutTradeNo::new(facepay_fsm::Field::OutTradeNo, &otn) else {
                continue;
            };
            let reason = match outcome {
                Outcome::Paid => Reason::SubmitSucceeded,
                Outcome::Reversed => Reason::ReverseConfirmed,
                Outcome::NotPaid => Reason::UserCancelled,
                Outcome::NeedsReconciliation => Reason::ReverseBudgetExhausted,
            };
            self.queue.push_back(Command::Notify(Notice::OrderConcluded(Conclusion {
                out_trade_no,
                outcome,
                reason,
                transaction_id: TransactionId::empty(),
            })));
        }
    }

    fn run_call(
        &mut self,
        session: &mut Session,
        now: Instant,
        token: Token,
        op: Operation,
        p: &Params,
    ) -> Result<(), HandleError> {
        let first = std::mem::take(&mut self.first_call);
        let call = match parse(op, p) {
            Ok(c) => c,
            Err(e) => {
                self.answers
                    .push_back((token, Answer::err("PARAM_ERROR", &e.to_string())));
                if first {
                    self.refusal = Some(DiagnosticKind::Refused(Refusal::Busy));
                }
                return Ok(());
            }
        };
        match self.facade.call(token, call, now, session.state()) {
            Route::Answer(a) => {
                if first {
                    // Answered without the machine: the cashier hears what it waits for.
                    match (op, a.status()) {
                        (Operation::InitWxpayface, true) => self.queue.push_back(Command::Notify(Notice::Ready)),
                        (Operation::ReleaseWxpayface, true) => self.queue.push_back(Command::Notify(Notice::Released)),
                        (_, true) => {}
                        (_, false) => self.refusal = Some(DiagnosticKind::Refused(refusal_of(a.error_code()))),
                    }
                }
                self.answers.push_back((token, a));
            }
            Route::Wait => {}
            Route::Send(app, wait) => {
                let ev = Event::App(app.clone());
                let refusal = turned_away(session.request(now, app))?;
                if first {
                    self.refusal = refusal;
                }
                self.absorb(session, now, Some((token, wait)), Some(&ev));
            }
        }
        self.drain_outbox(session, now)
    }

    fn drain_outbox(&mut self, session: &mut Session, now: Instant) -> Result<(), HandleError> {
        while let Some((app, origin)) = self.facade.poll_app_event() {
            let ev = Event::App(app);
            session.handle(now, &ev)?;
            self.absorb(session, now, origin, Some(&ev));
        }
        Ok(())
    }

    /// Takes the machine's commands of the last step: the facade sees them all; the
    /// machine's conclusion of an order the app took is replaced by the app's verdict.
    fn absorb(&mut self, session: &mut Session, now: Instant, origin: Option<(Token, Op)>, input: Option<&Event>) {
        let mut cmds = Vec::new();
        while let Some(c) = session.poll_command() {
            cmds.push(c);
        }
        let answers = self.facade.observe(origin, input, &cmds, session.state(), now);
        self.answers.extend(answers);
        for c in cmds {
            match &c {
                Command::Notify(Notice::OrderConcluded(k))
                    if self.taken.iter().any(|(o, _)| o.as_str() == k.out_trade_no.as_str()) =>
                {
                    // The app's verdict takes the notice's place, before what follows it
                    // (the machine's updateWxpayfacePayResult): the answers of this step
                    // are read now; the calls they lead to run after the step.
                    self.read_answers(now);
                }
                _ => self.queue.push_back(c),
            }
        }
    }

    /// Delivers the answers that came, without running the calls they lead to.
    fn read_answers(&mut self, now: Instant) {
        while let Some((token, a)) = self.answers.pop_front() {
            let Some(i) = self.pending.iter().position(|p| p.token == token) else {
                continue;
            };
            let p = self.pending.swap_remove(i);
            let waited = now.0.saturating_sub(p.asked.0);
            if waited > self.bound_ms {
                self.violations.push(Violation::AppCallUnanswered {
                    operation: p.op.name().to_owned(),
                    waited_ms: Some(waited),
                });
            }
            self.ctx_run(now, |app, ctx| app.answer(ctx, token, p.op, &a));
            self.tell(now);
        }
    }

    fn app_timer(&self) -> Option<Instant> {
        match (self.app.next_timer(), self.facade.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What a request's result tells the cashier: the refusal, if it was turned away; an
/// input the session did not take at all is the host's error.
fn turned_away(result: Result<(), RequestError>) -> Result<Option<DiagnosticKind>, HandleError> {
    match result {
        Ok(()) => Ok(None),
        Err(RequestError::NotTaken(e)) => Err(e),
        Err(e) => Ok(e.diagnostic()),
    }
}

fn refusal_of(code: Option<&str>) -> Refusal {
    match code {
        Some("NOT_STARTED") => Refusal::NotStarted,
        Some("ALREADY_STARTED") => Refusal::AlreadyStarted,
        Some("SETTLING") => Refusal::Settling,
        Some("RELEASED") => Refusal::Released,
        Some("NOT_AUTHORISED") => Refusal::NotAuthorised,
        _ => Refusal::Busy,
    }
}

fn merchant_params(m: &Merchant) -> Params {
    params(&[
        ("appid", s(&m.appid)),
        ("mch_id", s(&m.mch_id)),
        ("store_id", s(&m.store_id)),
    ])
}

impl Strategy for AppStrategy {
    fn handle(&mut self, session: &mut Session, now: Instant, event: &Event) -> Result<(), HandleError> {
        self.refusal = None;
        match event {
            Event::App(app) => {
                self.first_call = true;
                match app {
                    AppEvent::Start { merchant, .. } => {
                        let t = self.next_token;
                        self.next_token += 1;
                        self.calls
                            .push_back((t, Operation::InitWxpayface, merchant_params(merchant)));
                    }
                    // The till's pay button is off while the app waits to tell the customer
                    // an outcome: the module's calls are asynchronous, and every seed app
                    // keeps one order in hand (assumption).
                    AppEvent::StartOrder(_) if self.taken.iter().any(|(_, told)| told.is_none()) => {
                        self.refusal = Some(DiagnosticKind::Refused(Refusal::Busy));
                        self.first_call = false;
                        return Ok(());
                    }
                    AppEvent::StartOrder(o) => {
                        let otn = o.out_trade_no.to_string();
                        self.taken.retain(|(t, _)| *t != otn);
                        self.taken.push((otn, None));
                        self.ctx_run(now, |a, ctx| a.order(ctx, o));
                        if let Some((token, op, p)) = self.calls.pop_front() {
                            self.pending.push(Pending { token, op, asked: now });
                            self.run_call(session, now, token, op, &p)?;
                        }
                        if self.refusal.is_some() {
                            // Turned away at once: the cashier tries again later; this
                            // order was never taken, whatever the app makes of the answer.
                            self.taken.retain(|(t, _)| *t != o.out_trade_no.as_str());
                        }
                    }
                    AppEvent::IdentifyUser(_) => {
                        let t = self.next_token;
                        self.next_token += 1;
                        self.calls.push_back((
                            t,
                            Operation::GetWxpayfaceUserInfo,
                            params(&[("face_authtype", s("FACEID-ONCE"))]),
                        ));
                    }
                    AppEvent::Release => {
                        let t = self.next_token;
                        self.next_token += 1;
                        self.calls.push_back((t, Operation::ReleaseWxpayface, Vec::new()));
                    }
                    // The seed module has no cancel: the host's own button goes to the machine.
                    // Nor does it report the face app's version: the device layer reads it.
                    AppEvent::Cancel | AppEvent::FaceAppVersion(_) => {
                        self.first_call = false;
                        self.refusal = turned_away(session.request(now, app.clone()))?;
                        self.absorb(session, now, None, Some(event));
                    }
                }
                // The first call (made at once) answers the cashier; later ones are the app's.
                if let Some((token, op, p)) = self.calls.pop_front() {
                    self.pending.push(Pending { token, op, asked: now });
                    self.run_call(session, now, token, op, &p)?;
                }
                self.first_call = false;
            }
            _ => {
                session.handle(now, event)?;
                self.absorb(session, now, None, Some(event));
            }
        }
        self.settle(session, now)
    }

    fn handle_timeout(&mut self, session: &mut Session, now: Instant) -> Result<(), HandleError> {
        self.refusal = None;
        let machine = session.next_timer().map(|(_, at)| at);
        let own = self.app_timer();
        match (machine, own) {
            (Some(m), o) if m <= now && o.is_none_or(|o| m <= o) => {
                session.fire_next_timer(now)?;
                self.absorb(session, now, None, None);
            }
            _ => {
                let due = self.facade.handle_timeout(now);
                self.answers.extend(due);
                if self.app.next_timer().is_some_and(|t| t <= now) {
                    self.ctx_run(now, |a, ctx| a.timer(ctx));
                    self.tell(now);
                }
            }
        }
        self.settle(session, now)
    }

    fn poll_command(&mut self, session: &mut Session) -> Option<Command> {
        if self.queue.is_empty() {
            // A session handed over by a restart (resumed from the journal) has its first
            // commands waiting: the facade sees them too.
            let now = session.now();
            self.absorb(session, now, None, None);
        }
        self.queue.pop_front()
    }

    fn next_timer(&self, session: &Session) -> Option<(Option<Timer>, Instant)> {
        let machine = session.next_timer().map(|(t, at)| (Some(t), at));
        let own = self.app_timer().map(|at| (None, at));
        match (machine, own) {
            (Some(m), Some(o)) => Some(if o.1 < m.1 { o } else { m }),
            (m, o) => m.or(o),
        }
    }

    fn refusal(&self, _session: &Session) -> Option<DiagnosticKind> {
        self.refusal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy() -> AppStrategy {
        AppStrategy::new(AppKind::Historian, &Policy::default())
    }

    #[test]
    fn a_later_reading_that_contradicts_the_customers_verdict_is_a_violation() {
        let mut a = strategy();
        a.taken.push(("T1".into(), None));
        a.verdicts.push(("T1".into(), Outcome::Paid));
        a.tell(Instant(0));
        assert!(matches!(
            a.queue.pop_front(),
            Some(Command::Notify(Notice::OrderConcluded(c))) if c.outcome == Outcome::Paid
        ));
        // The same again, or "a person must look": no contradiction, nothing told twice.
        a.verdicts.push(("T1".into(), Outcome::NeedsReconciliation));
        a.verdicts.push(("T1".into(), Outcome::Paid));
        a.tell(Instant(0));
        assert!(a.queue.is_empty());
        assert!(a.take_violations(None).is_empty());
        a.verdicts.push(("T1".into(), Outcome::Reversed));
        a.tell(Instant(0));
        assert_eq!(
            a.take_violations(None),
            vec![Violation::AppViewContradicted {
                out_trade_no: "T1".into(),
                told: "Paid".into(),
                now_reads: "Reversed".into(),
            }]
        );
    }

    #[test]
    fn a_call_unanswered_past_the_bound_at_the_end_is_a_violation() {
        let mut a = strategy();
        let bound = answer_bound_ms(&Policy::default());
        a.pending.push(Pending {
            token: 1,
            op: Operation::Micropay,
            asked: Instant(0),
        });
        assert!(
            a.take_violations(Some(Instant(bound))).is_empty(),
            "still within the bound"
        );
        a.pending.push(Pending {
            token: 2,
            op: Operation::Micropay,
            asked: Instant(0),
        });
        assert_eq!(
            a.take_violations(Some(Instant(bound + 1))),
            vec![Violation::AppCallUnanswered {
                operation: "micropay".into(),
                waited_ms: None,
            }]
        );
    }
}
