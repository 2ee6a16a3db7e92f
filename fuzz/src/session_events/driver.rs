//! The host that drives one session, and the checker of the properties in the module doc.

use std::collections::{HashMap, HashSet};

use facepay_fsm::codes::{ResultCode, ReturnCode, TradeState};
use facepay_fsm::{
    AppEvent, BackendCall, BackendEvent, Command, DiagnosticKind, Event, FaceAuthType, FaceCodeType, Field, Instant,
    Notice, OrderCredential, OrderRequest, OutTradeNo, Outcome, PayResult, Policy, Polled, RequestError, RequestId,
    SdkCall, SdkCallKind, SdkEvent, SdkVersion, Session,
};

use super::build::{backend_answer, identify, sdk_answer, start};
use super::{
    BACKEND, Call, CredentialOp, IdOp, KindOp, MAX_FIRES_AT_ONE_INSTANT, NoOp, Op, OrderOp, PAY_CODE, Reply, Step,
    Summary, TimeOp,
};
use crate::input::{StrOp, text};
use facepay_device::answer;

/// One submitted order, as the checker follows it.
#[derive(Debug)]
struct Settlement {
    out_trade_no: String,
    submitted_at: u64,
    /// A SUCCESS answer carrying one of this settlement's request ids was fed.
    confirmed: bool,
    concluded: bool,
}

/// The host: drives the session and checks it.
pub(super) struct Driver {
    s: Session,
    policy: Policy,
    /// Timers the last `handle_timeout` fired after its first (`Polled::Timer` marks).
    fired_later: u32,
    /// The host's clock.
    clock: u64,
    /// True until the clock was ever stalled ([`TimeOp::Late`]).
    punctual: bool,
    /// Answerable commands issued, oldest first (the last 64).
    issued: Vec<(RequestId, Call)>,
    /// Every id the machine issued.
    ids: HashSet<u32>,
    /// Events fed (the last 32), for duplicates.
    past: Vec<Event>,
    /// out_trade_nos the cashier gave, in order (the last 16).
    given: Vec<OutTradeNo>,
    fresh: u32,
    // ── checker state ──
    /// How often the cashier started an order with each out_trade_no.
    started: HashMap<String, u32>,
    /// How many submits each out_trade_no had.
    submits: HashMap<String, u32>,
    /// The order the cashier last started (that the machine took).
    current: Option<(String, u32)>,
    /// Whether the current order has concluded.
    current_concluded: bool,
    settlements: Vec<Settlement>,
    /// The settlement still open, if any.
    open: Option<usize>,
    /// Backend request id → (what, settlement).
    backend_ids: HashMap<u32, (Call, usize)>,
    /// The last conclusion was a confirmed Paid.
    last_paid: bool,
    pub(super) summary: Summary,
}

impl Driver {
    pub(super) fn new(policy: Policy) -> Self {
        let mut d = Driver {
            s: Session::new(policy),
            policy,
            fired_later: 0,
            clock: 0,
            punctual: true,
            issued: Vec::new(),
            ids: HashSet::new(),
            past: Vec::new(),
            given: Vec::new(),
            fresh: 0,
            started: HashMap::new(),
            submits: HashMap::new(),
            current: None,
            current_concluded: true,
            settlements: Vec::new(),
            open: None,
            backend_ids: HashMap::new(),
            last_paid: false,
            summary: Summary::default(),
        };
        // A new session has nothing queued and no timer.
        d.drain_and_check(None, 0);
        d
    }

    pub(super) fn step(&mut self, step: &Step) {
        let mut at = self.clock;
        match step.time {
            TimeOp::Wait(ms) => self.wait_until(self.clock + u64::from(ms)),
            TimeOp::WaitSecs(s) => self.wait_until(self.clock + 1000 * u64::from(s)),
            TimeOp::Now => {}
            TimeOp::NextDeadline => {
                if let Some(d) = self.s.poll_timeout() {
                    self.wait_until(d.0.max(self.clock));
                }
            }
            TimeOp::Late(ms) => {
                self.punctual = false;
                self.clock += u64::from(ms);
            }
            TimeOp::Backwards(ms) => at = self.clock.saturating_sub(u64::from(ms)),
        }
        if matches!(
            step.time,
            TimeOp::Wait(_) | TimeOp::WaitSecs(_) | TimeOp::NextDeadline | TimeOp::Late(_)
        ) {
            at = self.clock;
        }
        self.op(at, &step.op);
    }

    /// A punctual host: every timer due up to `t` fires at its own deadline.
    fn wait_until(&mut self, t: u64) {
        self.wait_until_or(t, |_| false);
    }

    /// [`Driver::wait_until`], stopping early once `done` holds.
    fn wait_until_or(&mut self, t: u64, done: impl Fn(&Driver) -> bool) {
        let mut fired_at = (u64::MAX, 0u32);
        while let Some(d) = self.s.poll_timeout() {
            if d.0 > t || done(self) {
                break;
            }
            let at = d.0.max(self.clock);
            self.clock = at;
            if fired_at.0 == at {
                fired_at.1 += 1;
                assert!(
                    fired_at.1 <= MAX_FIRES_AT_ONE_INSTANT,
                    "zero-delay timer loop: over {MAX_FIRES_AT_ONE_INSTANT} timers fired at {at} ms in {:?}",
                    self.s.state()
                );
            } else {
                fired_at = (at, 1);
            }
            self.timeout(at);
            // One call fires every timer due at `at`: count the later ones too.
            fired_at.1 += std::mem::take(&mut self.fired_later);
            assert!(
                fired_at.1 <= MAX_FIRES_AT_ONE_INSTANT,
                "zero-delay timer loop: over {MAX_FIRES_AT_ONE_INSTANT} timers fired at {at} ms in {:?}",
                self.s.state()
            );
        }
        self.clock = self.clock.max(t);
    }

    fn timeout(&mut self, at: u64) {
        let before = self.s.poll_timeout();
        let now_before = self.s.now();
        let due = before.is_some_and(|d| d.0 <= at.max(now_before.0));
        self.fired_later = 0;
        self.s
            .handle_timeout(Instant(at))
            .expect("handle_timeout refused after a full drain");
        let n = self.drain_and_check(before, at);
        if !due {
            // 3b: nothing fired.
            assert_eq!(
                self.s.poll_timeout(),
                before,
                "handle_timeout({at}) changed a deadline not yet due"
            );
            assert!(
                n.iter()
                    .all(|c| matches!(c, Command::Diagnostic(d) if d.kind == DiagnosticKind::TimeWentBackwards)),
                "handle_timeout({at}) fired a timer not yet due ({before:?}): {n:?}"
            );
        }
    }

    fn feed(&mut self, at: u64, ev: Event) {
        self.note_input(&ev);
        let before = self.s.poll_timeout();
        let order = match &ev {
            Event::App(AppEvent::StartOrder(req)) => Some((req.out_trade_no.as_str().to_owned(), req.total_fee)),
            _ => None,
        };
        // App requests go through the typed call, whose result must agree with the step.
        let result = match &ev {
            Event::App(app) => Some(self.s.request(Instant(at), app.clone())),
            _ => {
                self.s
                    .handle(Instant(at), &ev)
                    .expect("handle refused after a full drain");
                None
            }
        };
        if let Some(Err(RequestError::NotTaken(e))) = &result {
            panic!("a request not taken after a full drain: {e}");
        }
        let cmds = self.drain_and_check_order(before, at, order);
        if let Some(result) = result {
            assert_eq!(
                result.err().and_then(|e| e.diagnostic()),
                cmds.iter().find_map(Command::refusal),
                "a request's result disagrees with its step: {cmds:?}"
            );
        }
        if self.past.len() == 32 {
            self.past.remove(0);
        }
        self.past.push(ev);
    }

    /// Evidence for property 5: a SUCCESS answer with the id of a submit or query.
    fn note_input(&mut self, ev: &Event) {
        match ev {
            Event::App(AppEvent::StartOrder(req)) => {
                *self.started.entry(req.out_trade_no.as_str().to_owned()).or_default() += 1;
            }
            Event::Backend(BackendEvent::Submitted { id, answer: Ok(a) })
                if a.return_code == ReturnCode::Success && a.result_code == Some(ResultCode::Success) =>
            {
                self.confirm(*id, Call::Submit);
            }
            Event::Backend(BackendEvent::Queried { id, answer: Ok(a) })
                if a.return_code == ReturnCode::Success
                    && a.result_code == Some(ResultCode::Success)
                    && a.trade_state == Some(TradeState::Success) =>
            {
                self.confirm(*id, Call::Query);
            }
            _ => {}
        }
    }

    fn confirm(&mut self, id: RequestId, call: Call) {
        if let Some(&(c, k)) = self.backend_ids.get(&id.0)
            && c == call
        {
            self.settlements[k].confirmed = true;
        }
    }

    fn drain_and_check(&mut self, before: Option<Instant>, at: u64) -> Vec<Command> {
        self.drain_and_check_order(before, at, None)
    }

    /// Drains the queue and checks properties 2, 3a, 3d and every command. `order` is the
    /// order a `StartOrder` in this step asked for: taken unless the step refused it.
    fn drain_and_check_order(
        &mut self,
        before: Option<Instant>,
        at: u64,
        order: Option<(String, u32)>,
    ) -> Vec<Command> {
        let mut cmds = Vec::new();
        while let Some(p) = self.s.poll() {
            match p {
                Polled::Command(c) => cmds.push(c),
                Polled::Timer(_) => self.fired_later += 1,
            }
        }
        if let Some(order) = order {
            let refused = cmds.iter().any(|c| {
                matches!(c, Command::Diagnostic(d)
                    if matches!(d.kind, DiagnosticKind::Refused(_) | DiagnosticKind::InvalidRequest(_)))
            });
            if !refused {
                assert!(
                    self.current_concluded,
                    "order {:?} taken while {:?} had not concluded",
                    order.0, self.current
                );
                self.current = Some(order);
                self.current_concluded = false;
            }
        }
        assert_eq!(self.s.lost_commands(), 0, "the command queue overflowed: {cmds:?}");
        let now = self.s.now();
        if let Some(d) = self.s.poll_timeout() {
            let floor = before.map_or(now, |b| b.min(now));
            assert!(
                d >= floor,
                "a deadline in the past: {d:?} after a step at {now:?} (before: {before:?})"
            );
        }
        for c in &cmds {
            self.command(c, at, now);
        }
        self.summary.commands += cmds.len();
        self.summary.states.insert(format!("{:?}", self.s.state()));
        cmds
    }

    fn command(&mut self, c: &Command, at: u64, now: Instant) {
        let Some((call, id)) = Call::of(c) else {
            match c {
                Command::Notify(Notice::OrderConcluded(c)) => {
                    self.conclusion(c.out_trade_no.as_str(), c.outcome, now.0);
                }
                Command::Diagnostic(d) if d.kind == DiagnosticKind::TimeWentBackwards => {
                    assert!(at < now.0, "TimeWentBackwards for {at} ms with the session at {now:?}");
                }
                // Notices, other diagnostics, and commands this target does not know yet.
                _ => {}
            }
            return;
        };
        assert!(self.ids.insert(id.0), "request id {id} issued twice ({c:?})");
        match c {
            Command::Backend { call, .. } => self.backend_call(id, call, now.0),
            Command::Sdk {
                call: SdkCall::UpdateWxpayfacePayResult(r),
                ..
            } if r.payresult == PayResult::Success => {
                assert!(
                    self.last_paid,
                    "updateWxpayfacePayResult SUCCESS without a confirmed Paid"
                );
            }
            _ => {}
        }
        if !matches!(
            call,
            Call::Sdk(SdkCallKind::StopCodeScanner | SdkCallKind::StopWxpayface | SdkCallKind::ReportPaycode)
        ) {
            if self.issued.len() == 64 {
                self.issued.remove(0);
            }
            self.issued.push((id, call));
        }
    }

    fn backend_call(&mut self, id: RequestId, call: &BackendCall, now: u64) {
        match call {
            BackendCall::Submit {
                out_trade_no,
                total_fee,
                ..
            } => {
                let no = out_trade_no.as_str();
                assert!(
                    self.open.is_none(),
                    "submit of {no:?} while {:?} is unconcluded",
                    self.open.map(|k| &self.settlements[k])
                );
                assert_eq!(
                    self.current.as_ref().map(|(n, f)| (n.as_str(), *f)),
                    Some((no, *total_fee)),
                    "a submit that is not the cashier's current order"
                );
                let n = self.submits.entry(no.to_owned()).or_default();
                *n += 1;
                let given = self.started.get(no).copied().unwrap_or(0);
                assert!(
                    *n <= given,
                    "submit #{n} of {no:?}, which the cashier started {given} time(s)"
                );
                assert!(!self.current_concluded, "a submit after the order concluded");
                self.settlements.push(Settlement {
                    out_trade_no: no.to_owned(),
                    submitted_at: now,
                    confirmed: false,
                    concluded: false,
                });
                let k = self.settlements.len() - 1;
                self.open = Some(k);
                self.backend_ids.insert(id.0, (Call::Submit, k));
                self.summary.submits += 1;
            }
            BackendCall::Query { out_trade_no, .. } | BackendCall::Reverse { out_trade_no, .. } => {
                let k = self.open.expect("a query or reverse with no order settling");
                assert_eq!(out_trade_no.as_str(), self.settlements[k].out_trade_no);
                let c = if matches!(call, BackendCall::Query { .. }) {
                    Call::Query
                } else {
                    Call::Reverse
                };
                self.backend_ids.insert(id.0, (c, k));
            }
            BackendCall::GetAuthInfo { .. } => {}
        }
    }

    fn conclusion(&mut self, no: &str, outcome: Outcome, now: u64) {
        self.summary.outcomes.push(outcome);
        assert!(!self.current_concluded, "{no:?} concluded twice ({outcome})");
        self.current_concluded = true;
        assert_eq!(
            self.current.as_ref().map(|(n, _)| n.as_str()),
            Some(no),
            "a conclusion for an order that is not current"
        );
        match self.open.take() {
            Some(k) => {
                let st = &mut self.settlements[k];
                assert_eq!(st.out_trade_no, no);
                if outcome == Outcome::Paid {
                    assert!(st.confirmed, "{no:?} concluded Paid with no SUCCESS answer for it");
                }
                st.concluded = true;
                if self.punctual {
                    let took = now - st.submitted_at;
                    let bound = self.policy.settle_bound_ms();
                    assert!(
                        took <= bound,
                        "{no:?} took {took} ms to settle, over the bound of {bound} ms"
                    );
                }
                self.last_paid = outcome == Outcome::Paid;
            }
            None => {
                assert_eq!(
                    outcome,
                    Outcome::NotPaid,
                    "{no:?} concluded {outcome} with nothing submitted"
                );
                self.last_paid = false;
            }
        }
    }

    /// Property 7: no more answers; timers fire until the order bound.
    pub(super) fn finish(&mut self) {
        let end = self.clock + self.policy.order_bound_ms();
        // Stop once the goal is reached: with huge custom policies, background timers
        // (authinfo refresh) could otherwise fire millions of times before the bound.
        self.wait_until_or(end, |d| d.open.is_none() && !d.s.state().in_order());
        if let Some(k) = self.open {
            panic!(
                "{:?} submitted at {} ms is still settling at {} ms in {:?}",
                self.settlements[k].out_trade_no,
                self.settlements[k].submitted_at,
                self.clock,
                self.s.state()
            );
        }
        assert!(
            !self.s.state().in_order(),
            "still in an order ({:?}) {} ms after the last input",
            self.s.state(),
            self.policy.order_bound_ms()
        );
        assert!(self.settlements.iter().all(|s| s.concluded));
    }

    // ── building events ──

    fn op(&mut self, at: u64, op: &Op) {
        let ev = match op {
            Op::Succeed(id) => self.answer(*id, KindOp::AsIssued, &Reply::healthy()),
            Op::Answer { id, kind, reply } => self.answer(*id, *kind, reply),
            Op::Start { init, merchant } => start(init, merchant),
            Op::StartOrder(o) => self.order(o),
            Op::Identify(i) => identify(i),
            Op::Cancel => Some(Event::App(AppEvent::Cancel)),
            Op::Release => Some(Event::App(AppEvent::Release)),
            Op::ServiceLost => Some(Event::Sdk(SdkEvent::ServiceLost)),
            Op::Timeout => {
                self.timeout(at);
                None
            }
            Op::Again(n) => {
                let len = self.past.len();
                (len > 0).then(|| self.past[len - 1 - usize::from(*n) % len].clone())
            }
            Op::FaceAppVersion(major, minor) => Some(Event::App(AppEvent::FaceAppVersion(SdkVersion {
                major: *major,
                minor: *minor,
            }))),
        };
        if let Some(ev) = ev {
            self.feed(at, ev);
        }
    }

    fn order(&mut self, o: &OrderOp) -> Option<Event> {
        let no = match &o.out_trade_no {
            NoOp::Fresh => {
                self.fresh += 1;
                OutTradeNo::new(Field::OutTradeNo, &format!("FZ{:04}", self.fresh)).ok()?
            }
            NoOp::Reuse(n) => {
                let len = self.given.len();
                if len == 0 {
                    return None;
                }
                self.given[len - 1 - usize::from(*n) % len].clone()
            }
            // Over its cap, the host cannot even build the request.
            NoOp::Any(s) => text(Field::OutTradeNo, s, "T1").ok()?,
        };
        if self.given.len() == 16 {
            self.given.remove(0);
        }
        self.given.push(no.clone());
        let ty = if o.micropay {
            FaceCodeType::Micropay
        } else {
            FaceCodeType::Facepay
        };
        let mut req = OrderRequest::new(no, o.total_fee, ty);
        req.face_authtype = FaceAuthType::ALL[usize::from(o.face_authtype) % FaceAuthType::ALL.len()];
        req.telephone = text(Field::Telephone, &o.telephone, "").ok()?;
        req.openid = text(Field::Openid, &o.openid, "").ok()?;
        req.ask_face_permit = o.ask_face_permit;
        req.ask_ret_page = o.ask_ret_page;
        req.ignore_update_pay_result = o.ignore_update_pay_result;
        req.screen_index = text(Field::ScreenIndex, &o.screen_index, "").ok()?;
        req.credential = match &o.credential {
            CredentialOp::Face => OrderCredential::Face,
            CredentialOp::CodeScanner => OrderCredential::CodeScanner,
            // An invalid one is refused as an invalid request, naming auth_code.
            CredentialOp::AuthCode(Some(s)) => OrderCredential::AuthCode(text(Field::AuthCode, s, PAY_CODE).ok()?),
            CredentialOp::AuthCode(None) => {
                OrderCredential::AuthCode(text(Field::AuthCode, &StrOp::Canonical, PAY_CODE).ok()?)
            }
        };
        Some(Event::App(AppEvent::StartOrder(req)))
    }

    fn answer(&mut self, id: IdOp, kind: KindOp, reply: &Reply) -> Option<Event> {
        let (id, issued) = id.pick(&self.issued)?;
        let call = match kind {
            KindOp::AsIssued => issued.or_else(|| self.issued.last().map(|(_, k)| *k))?,
            KindOp::Sdk(i) => Call::Sdk(answer::KINDS[usize::from(i) % answer::KINDS.len()]),
            KindOp::Backend(i) => BACKEND[usize::from(i) % BACKEND.len()],
        };
        match call {
            Call::Sdk(k) => sdk_answer(id, k, reply),
            _ => Some(Event::Backend(backend_answer(id, call, reply))),
        }
    }
}
