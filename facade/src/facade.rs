//! The facade's bookkeeping: which seed call waits for what, and what each answer says.
//! Sans-IO like the machine: the host routes each call ([`Facade::call`]), feeds the
//! machine, shows the facade every step ([`Facade::observe`]), sends the app events the
//! facade queues ([`Facade::poll_app_event`]) and fires its deadlines
//! ([`Facade::handle_timeout`]). `facade/README.md` is the contract.

use std::collections::VecDeque;

use facepay_fsm::codes::ReturnCode;
use facepay_fsm::{
    AppEvent, BackendCall, BackendEvent, Command, DiagnosticKind, Duration, Event, InitParams, Instant, Merchant,
    Notice, Outcome, PayCredential, Policy, RequestId, SdkEvent, StateId,
};

use crate::answers::{code_answer, mismatch, order_answer, outcome_code, reason_text};
pub use crate::answers::{facepay_state, refusal_code};
use crate::history::{History, OrderEntry, Submitted};
use crate::request::{Call, MicropayRequest};
use crate::value::Answer;

/// Token of a waiting facade call (the Java side's callback number, the app's own id).
pub type Token = u64;

/// A waiting call, by what it waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `initWxpayface`: the face service up with the settings asked.
    Init,
    /// `initWxpayface` with new settings: the release before the new start.
    Reinit,
    /// `getWxpayfaceRawdata`.
    Rawdata,
    /// `getWxpayFaceAuthInfo`.
    AuthInfo,
    /// `getWxpayfaceUserInfo`.
    UserInfo,
    /// `getWxpayfaceCode`: the submit of this order, or its end without one.
    Code {
        /// The order.
        out_trade_no: String,
    },
    /// `micropay`: the order's conclusion.
    Micropay(MicropayRequest),
    /// `orderquery`: the order's conclusion.
    OrderQuery {
        /// The order.
        out_trade_no: String,
    },
    /// `reverse`: the order's conclusion.
    Reverse {
        /// The order.
        out_trade_no: String,
    },
    /// `updateWxpayfacePayResult`: the machine's own report done.
    UpdatePayResult {
        /// `payresult` as given.
        payresult: String,
    },
    /// `releaseWxpayface`.
    Release,
}

/// What the host does with a call.
#[derive(Clone, Debug, PartialEq, Eq)]
// App events are inline by design (the fsm has no heap); a route lives for one call.
#[allow(clippy::large_enum_variant)]
pub enum Route {
    /// Answer it now; the machine is not involved.
    Answer(Answer),
    /// Feed this app event to the machine, then call [`Facade::observe`] with
    /// `origin = Some((token, op))`: the answer comes from that step or a later one.
    Send(AppEvent, Op),
    /// Nothing to do: a later step answers it (within [`answer_bound_ms`]).
    Wait,
}

/// The bound, in ms of the terminal's clock, within which every facade call is answered
/// (docs/design.md §safety, property 8): starting the face service with every attempt, a release,
/// and a whole order ([`Policy::order_bound_ms`]), which covers a call made while an
/// earlier order settles. A call still waiting then is answered `TIMEOUT`.
pub fn answer_bound_ms(policy: &Policy) -> u64 {
    let s = policy.settings();
    let init = u64::from(s.init_attempts) * (u64::from(s.sdk_call_deadline.0) + u64::from(s.init_retry_delay.0));
    init + 2 * u64::from(s.sdk_call_deadline.0) + policy.order_bound_ms()
}

/// An authinfo is not handed out in its last minute: the app passes it on to SDK calls
/// that may take that long.
const AUTHINFO_MARGIN_MS: u64 = 60_000;

#[derive(Debug)]
struct Waiting {
    token: Token,
    op: Op,
    deadline: Instant,
}

/// The facade's memory of one terminal.
#[derive(Debug)]
pub struct Facade {
    bound: Duration,
    merchant: Merchant,
    waiting: Vec<Waiting>,
    rawdata: Option<String>,
    authinfo: Option<(String, u32, Instant)>,
    current: Option<String>,
    history: History,
    /// The settings the face service runs with, once started through the facade.
    running: Option<(InitParams, Merchant)>,
    /// New settings to apply once the terminal is idle: a release, then a start.
    reinit: Option<(InitParams, Merchant)>,
    /// App events the facade sends by itself (the start after a re-init's release).
    outbox: VecDeque<(AppEvent, Option<(Token, Op)>)>,
    /// Backend requests in flight for an order: their answers' trade_state is its own.
    requests: Vec<(RequestId, String)>,
}

impl Facade {
    /// A facade for a terminal under `policy`; `merchant` is the configured identity
    /// (keys given to `initWxpayface` override it).
    pub fn new(policy: &Policy, merchant: Merchant) -> Self {
        Facade {
            bound: Duration(u32::try_from(answer_bound_ms(policy)).unwrap_or(u32::MAX)),
            merchant,
            waiting: Vec::new(),
            rawdata: None,
            authinfo: None,
            current: None,
            history: History::default(),
            running: None,
            reinit: None,
            outbox: VecDeque::new(),
            requests: Vec::new(),
        }
    }

    /// The session continues `out_trade_no` from the journal (after a restart; it was
    /// submitted with `total_fee`): micropay, orderquery and reverse act on it and answer
    /// once it concludes.
    pub fn resume(&mut self, out_trade_no: &str, total_fee: Option<u32>) {
        let mut e = OrderEntry::new(out_trade_no, total_fee);
        e.submitted = Some(Submitted {
            total_fee,
            credential: None,
            scanned_code: false,
        });
        self.history.insert(e);
        self.current = Some(out_trade_no.to_owned());
    }

    /// The orders remembered.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The earliest deadline of a waiting call.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.waiting.iter().map(|w| w.deadline).min()
    }

    /// Answers every call whose bound passed at `now` with `TIMEOUT` (never a verdict on
    /// money: the order may still conclude; query it again).
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<(Token, Answer)> {
        let mut out = Vec::new();
        let (due, keep): (Vec<_>, Vec<_>) = self.waiting.drain(..).partition(|w| w.deadline <= now);
        self.waiting = keep;
        for w in due {
            let msg = match w.op {
                Op::AuthInfo => "no unexpired authinfo could be fetched in time",
                Op::Code { .. } | Op::Micropay(_) | Op::OrderQuery { .. } | Op::Reverse { .. } => {
                    "the order has not concluded yet; it may still be charged: call orderquery again"
                }
                _ => "no answer in time",
            };
            out.push((w.token, Answer::err("TIMEOUT", msg)));
        }
        out
    }

    /// The next app event the facade sends by itself, with the call it answers (feed it,
    /// then [`Facade::observe`] the step with that origin).
    pub fn poll_app_event(&mut self) -> Option<(AppEvent, Option<(Token, Op)>)> {
        self.outbox.pop_front()
    }

    fn park(&mut self, token: Token, op: Op, now: Instant) {
        let deadline = now + self.bound;
        self.waiting.push(Waiting { token, op, deadline });
    }

    fn lookup(&self, out_trade_no: &str) -> Result<String, Answer> {
        let otn = if out_trade_no.is_empty() {
            self.current
                .clone()
                .ok_or_else(|| Answer::err("ORDER_NOT_FOUND", "no order was started with getWxpayfaceCode"))?
        } else {
            out_trade_no.to_owned()
        };
        match self.history.get(&otn) {
            Some(_) => Ok(otn),
            None => Err(Answer::err(
                "ORDER_NOT_FOUND",
                &format!("{otn} is not among this terminal's recent orders"),
            )),
        }
    }

    fn merged(&self, m: Merchant) -> Merchant {
        let c = &self.merchant;
        Merchant {
            appid: if m.appid.is_empty() { c.appid.clone() } else { m.appid },
            mch_id: if m.mch_id.is_empty() {
                c.mch_id.clone()
            } else {
                m.mch_id
            },
            sub_appid: if m.sub_appid.is_empty() {
                c.sub_appid.clone()
            } else {
                m.sub_appid
            },
            sub_mch_id: if m.sub_mch_id.is_empty() {
                c.sub_mch_id.clone()
            } else {
                m.sub_mch_id
            },
            store_id: if m.store_id.is_empty() {
                c.store_id.clone()
            } else {
                m.store_id
            },
        }
    }

    /// Routes one call made at `now` while the machine is in `state`.
    pub fn call(&mut self, token: Token, call: Call, now: Instant, state: StateId) -> Route {
        let down = state.is_offline() || matches!(state, StateId::Released | StateId::Releasing);
        match call {
            Call::Init { init, merchant } => {
                let merchant = self.merged(merchant);
                let wanted = (init, merchant);
                let up = !down && self.running.is_some();
                if !up && !matches!(state, StateId::Initializing | StateId::InitBackoff | StateId::Releasing) {
                    self.running = Some(wanted.clone());
                    return Route::Send(
                        AppEvent::Start {
                            init: wanted.0,
                            merchant: wanted.1,
                        },
                        Op::Init,
                    );
                }
                if up && self.running.as_ref() == Some(&wanted) && self.reinit.is_none() {
                    // The SDK answers a second init SUCCESS: the service is up as asked.
                    return Route::Answer(Answer::ok());
                }
                // New settings (or the service still starting): applied once idle by a
                // release and a start; answered when the new start is up.
                if self.running.as_ref() != Some(&wanted) {
                    self.reinit = Some(wanted);
                }
                self.park(token, Op::Init, now);
                self.apply_reinit(state);
                Route::Wait
            }
            Call::Rawdata => {
                if let Some(r) = &self.rawdata {
                    return Route::Answer(Answer::ok().with("rawdata", r));
                }
                if down {
                    return Route::Answer(Answer::err("NOT_STARTED", "call initWxpayface first"));
                }
                self.park(token, Op::Rawdata, now);
                Route::Wait
            }
            Call::AuthInfo => {
                if let Some(a) = self.fresh_authinfo(now) {
                    return Route::Answer(a);
                }
                if down {
                    return Route::Answer(Answer::err("NOT_STARTED", "call initWxpayface first"));
                }
                self.park(token, Op::AuthInfo, now);
                Route::Wait
            }
            Call::UserInfo(u) => Route::Send(AppEvent::IdentifyUser(u), Op::UserInfo),
            Call::Code(o) => {
                let out_trade_no = o.out_trade_no.to_string();
                Route::Send(AppEvent::StartOrder(o), Op::Code { out_trade_no })
            }
            Call::Micropay(m) => self.micropay(token, m, now),
            Call::OrderQuery { out_trade_no } => match self.lookup(&out_trade_no) {
                Err(a) => Route::Answer(a),
                Ok(otn) => self.when_concluded(token, Op::OrderQuery { out_trade_no: otn }, now),
            },
            Call::Reverse { out_trade_no } => match self.lookup(&out_trade_no) {
                Err(a) => Route::Answer(a),
                Ok(otn) => self.when_concluded(token, Op::Reverse { out_trade_no: otn }, now),
            },
            Call::UpdatePayResult { payresult } => {
                let last = self.current.as_deref().and_then(|o| self.history.get(o));
                if let Some(c) = last.and_then(|e| e.conclusion.as_ref()) {
                    let agrees = match c.outcome {
                        Outcome::Paid => payresult == "SUCCESS",
                        Outcome::NotPaid | Outcome::Reversed => payresult == "ERROR",
                        // Neither verdict is known to be true: the face UI hears neither.
                        Outcome::NeedsReconciliation => false,
                    };
                    if !agrees {
                        return Route::Answer(Answer::err(
                            "PAYRESULT_MISMATCH",
                            &format!("the order concluded {}; payresult {payresult} disagrees", c.outcome),
                        ));
                    }
                }
                if !state.in_order() {
                    return Route::Answer(Answer::ok());
                }
                self.park(token, Op::UpdatePayResult { payresult }, now);
                Route::Wait
            }
            Call::Release => {
                if matches!(state, StateId::Released | StateId::Uninitialized) {
                    // Nothing runs: releasing again is done at once, as the SDK does.
                    self.running = None;
                    return Route::Answer(Answer::ok());
                }
                Route::Send(AppEvent::Release, Op::Release)
            }
        }
    }

    fn fresh_authinfo(&self, now: Instant) -> Option<Answer> {
        let (a, expires_in, at) = self.authinfo.as_ref()?;
        let expires = at.0 + u64::from(*expires_in) * 1_000;
        let left = expires.checked_sub(now.0)?;
        if left <= AUTHINFO_MARGIN_MS {
            return None;
        }
        let secs = i64::try_from(left / 1_000).unwrap_or(i64::MAX);
        Some(Answer::ok().with("authinfo", a).with_num("expires_in", secs))
    }

    fn micropay(&mut self, token: Token, m: MicropayRequest, now: Instant) -> Route {
        let otn = match self.lookup(&m.out_trade_no) {
            Ok(o) => o,
            Err(a) => return Route::Answer(a),
        };
        if self
            .waiting
            .iter()
            .any(|w| matches!(&w.op, Op::Micropay(p) if p.out_trade_no == otn))
        {
            return Route::Answer(Answer::err(
                "DUPLICATE_SUBMIT",
                "micropay for this order is already waiting",
            ));
        }
        let m = MicropayRequest {
            out_trade_no: otn.clone(),
            ..m
        };
        let Some(entry) = self.history.get(&otn) else {
            return Route::Answer(Answer::err("ORDER_NOT_FOUND", &otn));
        };
        if let Some(s) = &entry.submitted
            && let Some(a) = mismatch(&m, s, &otn)
        {
            return Route::Answer(a);
        }
        match &entry.conclusion {
            Some(c) => Route::Answer(order_answer(&Op::Micropay(m), c, entry)),
            None => {
                self.park(token, Op::Micropay(m), now);
                Route::Wait
            }
        }
    }

    fn when_concluded(&mut self, token: Token, op: Op, now: Instant) -> Route {
        let otn = match &op {
            Op::OrderQuery { out_trade_no } | Op::Reverse { out_trade_no } => out_trade_no.clone(),
            _ => return Route::Wait,
        };
        match self.history.get(&otn) {
            Some(e) if e.conclusion.is_some() => {
                let c = e.conclusion.as_ref().map(|c| order_answer(&op, c, e));
                Route::Answer(c.unwrap_or_default())
            }
            _ => {
                self.park(token, op, now);
                Route::Wait
            }
        }
    }

    /// A release then a start with the new settings, once the terminal is idle.
    fn apply_reinit(&mut self, state: StateId) {
        if state != StateId::Idle || self.outbox.iter().any(|(e, _)| matches!(e, AppEvent::Release)) {
            return;
        }
        if self.reinit.is_some() && !self.waiting.iter().any(|w| w.op == Op::Reinit) {
            self.outbox.push_back((AppEvent::Release, Some((0, Op::Reinit))));
        }
    }

    /// One step of the machine at `now`: `origin` is the call whose app event this step
    /// handled, `input` the event (none for a timer), `commands` what the machine emitted,
    /// `state` where it is now. Returns the answers that became due, in order.
    pub fn observe(
        &mut self,
        origin: Option<(Token, Op)>,
        input: Option<&Event>,
        commands: &[Command],
        state: StateId,
        now: Instant,
    ) -> Vec<(Token, Answer)> {
        let mut out = Vec::new();
        if let Some((token, op)) = origin {
            let refused = commands.iter().find_map(|c| match c {
                Command::Diagnostic(d) => match d.kind {
                    DiagnosticKind::Refused(r) => Some(Answer::err(refusal_code(r), &r.to_string())),
                    DiagnosticKind::InvalidRequest(e) => Some(Answer::err("PARAM_ERROR", &e.to_string())),
                    _ => None,
                },
                _ => None,
            });
            match (refused, &op) {
                (Some(_), Op::Reinit) => {
                    // The release was refused (an order started meanwhile): try again once idle.
                }
                (Some(a), Op::Init) => {
                    self.running = None;
                    out.push((token, a));
                }
                (Some(a), Op::Code { out_trade_no }) => {
                    // The same out_trade_no again (an app that retries, or restarted):
                    // that order went to the backend and may be charged, so the answer is
                    // the one the first call got, never a "failed".
                    let again = self.history.get(out_trade_no).and_then(|e| {
                        let s = e.submitted.as_ref()?;
                        Some(code_answer(
                            e,
                            s.credential.as_deref().unwrap_or_default(),
                            s.scanned_code,
                        ))
                    });
                    out.push((token, again.unwrap_or(a)));
                }
                (Some(a), _) => out.push((token, a)),
                (None, _) => {
                    if let Op::Code { out_trade_no } = &op {
                        let fee = match input {
                            Some(Event::App(AppEvent::StartOrder(o))) => Some(o.total_fee),
                            _ => None,
                        };
                        self.history.insert(OrderEntry::new(out_trade_no, fee));
                        self.current = Some(out_trade_no.clone());
                    }
                    self.park(token, op, now);
                }
            }
        }
        let stale = commands
            .iter()
            .any(|c| matches!(c, Command::Diagnostic(d) if matches!(d.kind, DiagnosticKind::StaleAnswer(_))));
        if let Some(ev) = input.filter(|_| !stale) {
            self.input(ev, now, &mut out);
        }
        for c in commands {
            match c {
                Command::Notify(n) => self.notice(n, &mut out),
                // A record of an order the facade never saw start: the session resumed it
                // from the journal (after a restart); it is the current order.
                Command::Persist(r) if self.history.get(r.out_trade_no.as_str()).is_none() => {
                    self.resume(r.out_trade_no.as_str(), Some(r.total_fee));
                }
                Command::Backend { id, call } => self.backend_call(*id, call, &mut out),
                _ => {}
            }
        }
        if !state.in_order() {
            self.answer_all(&mut out, |op| matches!(op, Op::UpdatePayResult { .. }).then(Answer::ok));
        }
        self.apply_reinit(state);
        out
    }

    fn answer_all(&mut self, out: &mut Vec<(Token, Answer)>, mut f: impl FnMut(&Op) -> Option<Answer>) {
        let mut keep = Vec::new();
        for w in self.waiting.drain(..) {
            match f(&w.op) {
                Some(a) => out.push((w.token, a)),
                None => keep.push(w),
            }
        }
        self.waiting = keep;
    }

    fn backend_call(&mut self, id: RequestId, call: &BackendCall, out: &mut Vec<(Token, Answer)>) {
        match call {
            BackendCall::Submit {
                out_trade_no,
                total_fee,
                credential,
                ..
            } => {
                let otn = out_trade_no.as_str();
                self.requests.push((id, otn.to_owned()));
                let (cred, scanned) = match credential {
                    PayCredential::FaceCode { face_code, .. } => (face_code.to_string(), false),
                    PayCredential::AuthCode(code) => (code.to_string(), true),
                };
                let sub = Submitted {
                    total_fee: Some(*total_fee),
                    credential: Some(cred.clone()),
                    scanned_code: scanned,
                };
                if self.history.get(otn).is_none() {
                    self.history.insert(OrderEntry::new(otn, Some(*total_fee)));
                }
                let Some(entry) = self.history.get_mut(otn) else { return };
                entry.submitted = Some(sub.clone());
                let entry = entry.clone();
                // getWxpayfaceCode answers with exactly the credential that went out.
                let code = code_answer(&entry, &cred, scanned);
                self.answer_all(out, |op| match op {
                    Op::Code { out_trade_no } if out_trade_no == otn => Some(code.clone()),
                    Op::Micropay(m) if m.out_trade_no == otn => mismatch(m, &sub, otn),
                    _ => None,
                });
            }
            BackendCall::Query { out_trade_no, .. } | BackendCall::Reverse { out_trade_no, .. } => {
                self.requests.push((id, out_trade_no.to_string()));
            }
            BackendCall::GetAuthInfo { .. } => {}
        }
        // Only the latest few requests can still be answered.
        if self.requests.len() > 16 {
            self.requests.remove(0);
        }
    }

    fn input(&mut self, ev: &Event, now: Instant, out: &mut Vec<(Token, Answer)>) {
        match ev {
            Event::Sdk(SdkEvent::Rawdata { status, rawdata, .. })
                if status.return_code == facepay_fsm::codes::SdkReturnCode::Success =>
            {
                self.rawdata = Some(rawdata.to_string());
                let a = Answer::ok().with("rawdata", rawdata);
                self.answer_all(out, |op| (*op == Op::Rawdata).then(|| a.clone()));
            }
            Event::Backend(BackendEvent::AuthInfo { answer: Ok(a), .. }) if a.return_code == ReturnCode::Success => {
                self.authinfo = Some((a.authinfo.to_string(), a.expires_in, now));
                if let Some(ans) = self.fresh_authinfo(now) {
                    self.answer_all(out, |op| (*op == Op::AuthInfo).then(|| ans.clone()));
                }
            }
            Event::Sdk(SdkEvent::FaceCode { answer, .. }) => {
                // Kept for getWxpayfaceCode's fields; the answer waits for the submit.
                if let Some(e) = self.current.clone().and_then(|o| self.history.get_mut(&o))
                    && e.submitted.is_none()
                    && !answer.face_code.is_empty()
                {
                    e.face = Some(answer.clone());
                }
            }
            Event::Backend(BackendEvent::Queried { id, answer: Ok(q) }) => {
                if let (Some(ts), Some(otn)) = (&q.trade_state, self.order_of(*id))
                    && let Some(e) = self.history.get_mut(&otn)
                {
                    e.trade_state = Some(ts.clone());
                }
            }
            _ => {}
        }
    }

    fn order_of(&self, id: RequestId) -> Option<String> {
        self.requests.iter().find(|(r, _)| *r == id).map(|(_, o)| o.clone())
    }

    fn notice(&mut self, n: &Notice, out: &mut Vec<(Token, Answer)>) {
        match n {
            Notice::Ready => self.answer_all(out, |op| (*op == Op::Init).then(Answer::ok)),
            Notice::SdkUnavailable => {
                self.running = None;
                self.answer_all(out, |op| {
                    (*op == Op::Init).then(|| Answer::err("SDK_UNAVAILABLE", "the face service could not be started"))
                });
            }
            Notice::UserIdentified(u) => {
                // getWxpayfaceUserInfo's seed fields; the union_id exchange is not done
                // by this terminal, which says so in unionid_code.
                let a = Answer::ok()
                    .with("openid", &u.openid)
                    .with("sub_openid", &u.sub_openid)
                    .with("nickname", &u.nickname)
                    .with("token", "")
                    .with("unionid_code", "NOT_REQUESTED")
                    .with("unionid_msg", "the terminal does not exchange union_id tokens");
                self.answer_all(out, |op| (*op == Op::UserInfo).then(|| a.clone()));
            }
            Notice::UserNotIdentified => self.answer_all(out, |op| {
                (*op == Op::UserInfo).then(|| Answer::err("USER_NOT_IDENTIFIED", "no member was recognised"))
            }),
            Notice::JournalUnreadable => {}
            Notice::Released => {
                self.answer_all(out, |op| (*op == Op::Release).then(Answer::ok));
                if let Some((init, merchant)) = self.reinit.take() {
                    // A re-init keeps the device's rawdata and the machine's authinfo
                    // (its expiry still counts): the machine does not fetch them again.
                    self.waiting.retain(|w| w.op != Op::Reinit);
                    self.running = Some((init.clone(), merchant.clone()));
                    self.outbox.push_back((AppEvent::Start { init, merchant }, None));
                    return;
                }
                self.rawdata = None;
                self.authinfo = None;
                self.running = None;
                // Anything still waiting will never be answered by this session. No order
                // is settling: a release is refused while one does.
                self.answer_all(out, |_| Some(Answer::err("RELEASED", "the face service was released")));
            }
            Notice::OrderConcluded(c) => {
                let otn = c.out_trade_no.to_string();
                if self.history.get(&otn).is_none() {
                    self.history.insert(OrderEntry::new(&otn, None));
                }
                let Some(e) = self.history.get_mut(&otn) else { return };
                e.conclusion = Some(c.clone());
                let e = e.clone();
                self.answer_all(out, |op| match op {
                    // Reached only when nothing was submitted: no money can have moved.
                    Op::Code { out_trade_no } if *out_trade_no == otn => Some(
                        Answer::err(outcome_code(c.outcome, false), &reason_text(&c.reason)).with("out_trade_no", &otn),
                    ),
                    Op::Micropay(m) if m.out_trade_no == otn => Some(order_answer(op, c, &e)),
                    Op::OrderQuery { out_trade_no } | Op::Reverse { out_trade_no } if *out_trade_no == otn => {
                        Some(order_answer(op, c, &e))
                    }
                    _ => None,
                });
            }
        }
    }
}
