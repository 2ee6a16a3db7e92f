//! Peer loops: what terminal vendors copy today for an ambiguous payment, run in the same
//! world as facepay so their effect on customers' money can be measured on the same seeds
//! and faults (docs/protocol.md §timings, §closed-loop).
//!
//! # How a peer is driven
//!
//! A peer terminal is the real [`Session`] up to the pay submission, and a peer loop from
//! there. Everything before the submit — init, rawdata, authinfo, `getWxpayfaceCode`, the
//! code scanner, the cashier's cancels — is the shared, undisputed part of the SDK flow,
//! and every published loop starts *after* it; running the real machine there keeps the
//! peers' scans identical to facepay's, so the comparison isolates the settling loop.
//!
//! When the machine emits its `Submit`, [`PeerStrategy`] lets that command go out
//! unchanged, hands the order to a fresh peer loop, and *parks* the machine: its timers
//! are held and the order's backend answers go to the peer instead. The peer issues its
//! own queries, reverses or re-submits in the same [`Command`] vocabulary (so the world,
//! the fault middleware and the checker see nothing new) until it reaches its verdict.
//! Then the machine is handed one synthetic answer to its submit that matches the verdict
//! (SUCCESS when the peer says paid, a final decline otherwise), so it runs its own
//! reporting (`updateWxpayfacePayResult`) and returns to Idle; its conclusion notice is
//! replaced by the peer's. A peer that never reaches a verdict leaves the machine parked,
//! the order never concludes, and the checker says so. The facepay path never goes
//! through here: it is the machine alone ([`crate::terminal::Facepay`]).
//!
//! Every peer maps its source's results to the four outcomes the checker reads: paid
//! (`Paid`), told not paid after a cancel/reverse the source believed (`Reversed`), told
//! not paid otherwise (`NotPaid`), and "unknown, a person must look" where the source
//! says so (`NeedsReconciliation`). An exception out of a sample's pay method is an error
//! at the till, so the cashier hears "not paid": the samples offer nothing else.

use std::collections::VecDeque;

use facepay_fsm::codes::{PayErrCode, ResultCode, ReturnCode};
use facepay_fsm::{
    BackendCall, BackendEvent, Command, Conclusion, DiagnosticKind, Event, HandleError, Instant, Notice, OutTradeNo,
    Outcome, PayAnswer, PayApi, PayCredential, Reason, RequestId, Session, Timer, TransactionId,
};

use crate::terminal::Strategy;

pub mod alipay_demo;
pub mod java_pos;
pub mod naive;
pub mod php_sample;

/// Request ids at and above this belong to peer loops; the machine's own ids are small.
pub const PEER_ID_BASE: u32 = 0x8000_0000;

/// The peer loops there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerKind {
    /// The official WeChat PHP sample, `WxPay.MicroPay.php` ([`php_sample`]).
    PhpSample,
    /// The official WeChat Java SDK, `WXPay.microPayWithPos` ([`java_pos`]).
    JavaPos,
    /// The Alipay face-to-face demo, `AlipayTradeServiceImpl.tradePay` ([`alipay_demo`]).
    AlipayDemo,
    /// One query after 5 s, then failed ([`naive`]).
    Naive,
}

impl PeerKind {
    /// Every peer, in table order.
    pub const ALL: [PeerKind; 4] = [
        PeerKind::PhpSample,
        PeerKind::JavaPos,
        PeerKind::AlipayDemo,
        PeerKind::Naive,
    ];

    /// Its short name.
    pub const fn name(self) -> &'static str {
        match self {
            PeerKind::PhpSample => "wechat-php-sample",
            PeerKind::JavaPos => "wechat-java-pos",
            PeerKind::AlipayDemo => "alipay-f2f-demo",
            PeerKind::Naive => "naive-one-query",
        }
    }

    /// A fresh loop for one order.
    pub fn make(self) -> Box<dyn PeerLoop> {
        match self {
            PeerKind::PhpSample => Box::new(php_sample::PhpSample::default()),
            PeerKind::JavaPos => Box::new(java_pos::JavaPos::default()),
            PeerKind::AlipayDemo => Box::new(alipay_demo::AlipayDemo::default()),
            PeerKind::Naive => Box::new(naive::Naive::default()),
        }
    }
}

/// The order a peer settles: the submit the machine sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitOrder {
    /// The machine's id of the submit.
    pub id: RequestId,
    /// Which API family.
    pub api: PayApi,
    /// `out_trade_no`.
    pub out_trade_no: OutTradeNo,
    /// `total_fee`.
    pub total_fee: u32,
    /// What pays.
    pub credential: PayCredential,
}

impl SubmitOrder {
    /// The same pay request again (same out_trade_no, same credential).
    pub fn submit(&self) -> BackendCall {
        BackendCall::Submit {
            api: self.api,
            out_trade_no: self.out_trade_no.clone(),
            total_fee: self.total_fee,
            credential: self.credential.clone(),
        }
    }

    /// orderquery / facepayquery of this order.
    pub fn query(&self) -> BackendCall {
        BackendCall::Query {
            api: self.api,
            out_trade_no: self.out_trade_no.clone(),
        }
    }

    /// reverse / facepayreverse of this order.
    pub fn reverse(&self, attempt: u8) -> BackendCall {
        BackendCall::Reverse {
            api: self.api,
            out_trade_no: self.out_trade_no.clone(),
            attempt,
        }
    }
}

/// A peer's verdict on its order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome the cashier hears.
    pub outcome: Outcome,
    /// Why, in the machine's vocabulary.
    pub reason: Reason,
    /// The transaction id, when paid.
    pub transaction_id: TransactionId,
}

/// What a peer loop did in one step: requests to send, maybe its verdict, and notes for
/// transcripts.
#[derive(Debug)]
pub struct PeerOut {
    next_id: u32,
    sends: Vec<(RequestId, BackendCall)>,
    verdict: Option<Verdict>,
    record: bool,
    notes: Vec<String>,
}

impl PeerOut {
    fn new(next_id: u32, record: bool) -> Self {
        PeerOut {
            next_id,
            sends: Vec::new(),
            verdict: None,
            record,
            notes: Vec::new(),
        }
    }

    /// Sends `call` to the backend; its answer will carry the returned id.
    pub fn send(&mut self, call: BackendCall) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1).max(PEER_ID_BASE);
        self.sends.push((id, call));
        id
    }

    /// The loop's verdict on its order (once).
    pub fn conclude(&mut self, outcome: Outcome, reason: Reason, transaction_id: TransactionId) {
        if self.verdict.is_none() {
            self.verdict = Some(Verdict {
                outcome,
                reason,
                transaction_id,
            });
        }
    }

    /// Told not paid for a reason that has no wire code of its own (an exception, giving up).
    pub fn conclude_unpaid(&mut self, why: &str) {
        let code = PayErrCode::parse(why).unwrap_or(PayErrCode::SystemError);
        self.conclude(Outcome::NotPaid, Reason::Declined(code), TransactionId::empty());
    }

    /// A line for a transcript: what the source's code makes of what just happened.
    pub fn note(&mut self, line: impl FnOnce() -> String) {
        if self.record {
            self.notes.push(line());
        }
    }
}

/// One settling loop for one order: started with the submit already sent, fed the
/// answers to its own requests and its own timers.
pub trait PeerLoop: Send {
    /// The machine's submit of `order` left at `now`.
    fn start(&mut self, now: Instant, order: &SubmitOrder, out: &mut PeerOut);
    /// True if the loop waits for the answer `id`.
    fn awaits(&self, id: RequestId) -> bool;
    /// The answer to one of the loop's requests.
    fn answer(&mut self, now: Instant, event: &BackendEvent, out: &mut PeerOut);
    /// The loop's timer (an HTTP timeout or a sleep) is due.
    fn timer(&mut self, now: Instant, out: &mut PeerOut);
    /// When the loop's timer is due; `None` once the loop has nothing left to do.
    fn next_timer(&self) -> Option<Instant>;
}

/// What a loop is doing: waiting for one HTTP answer, sleeping, or nothing. Every loop
/// here is sequential code, so one slot is enough.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Slot {
    /// Nothing left to do.
    #[default]
    Idle,
    /// Waiting for the answer `id` until `deadline` (the client's read timeout).
    Http {
        /// The request.
        id: RequestId,
        /// When the client gives up on it.
        deadline: Instant,
    },
    /// `sleep()` until this time.
    Sleep(Instant),
}

impl Slot {
    /// The slot's time.
    pub fn at(&self) -> Option<Instant> {
        match *self {
            Slot::Idle => None,
            Slot::Http { deadline, .. } => Some(deadline),
            Slot::Sleep(at) => Some(at),
        }
    }

    /// True if waiting for `id`.
    pub fn awaits(&self, id: RequestId) -> bool {
        matches!(*self, Slot::Http { id: w, .. } if w == id)
    }
}

/// `now + ms`.
pub fn after(now: Instant, ms: u64) -> Instant {
    Instant(now.0.saturating_add(ms))
}

/// Seconds since `t0`, for notes.
pub fn secs(now: Instant, t0: Instant) -> f64 {
    now.0.saturating_sub(t0.0) as f64 / 1000.0
}

fn answer_id(event: &BackendEvent) -> RequestId {
    match event {
        BackendEvent::AuthInfo { id, .. }
        | BackendEvent::Submitted { id, .. }
        | BackendEvent::Queried { id, .. }
        | BackendEvent::Reversed { id, .. } => *id,
    }
}

/// A line of a peer's transcript: when, and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// Terminal time.
    pub at: Instant,
    /// What the peer's source makes of it.
    pub text: String,
}

/// A terminal strategy that settles every order with a peer loop of one kind, and runs
/// the real machine for everything else.
pub struct PeerStrategy {
    kind: PeerKind,
    loops: Vec<Box<dyn PeerLoop>>,
    parked: Option<SubmitOrder>,
    handed: Vec<RequestId>,
    replace: Option<Conclusion>,
    queue: VecDeque<Command>,
    next_id: u32,
    record: bool,
    notes: Vec<Note>,
}

impl std::fmt::Debug for PeerStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerStrategy")
            .field("kind", &self.kind)
            .field("loops", &self.loops.len())
            .field("parked", &self.parked)
            .finish()
    }
}

impl PeerStrategy {
    /// Settles with `kind`.
    pub fn new(kind: PeerKind) -> Self {
        PeerStrategy {
            kind,
            loops: Vec::new(),
            parked: None,
            handed: Vec::new(),
            replace: None,
            queue: VecDeque::new(),
            next_id: PEER_ID_BASE,
            record: false,
            notes: Vec::new(),
        }
    }

    /// Which peer.
    pub fn kind(&self) -> PeerKind {
        self.kind
    }

    /// Keep the loops' notes (for transcripts).
    pub fn record_notes(&mut self) {
        self.record = true;
    }

    /// The notes kept so far, taken.
    pub fn take_notes(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.notes)
    }

    /// The terminal lost power: every loop, request and queued command is gone.
    pub fn power_lost(&mut self) {
        self.loops.clear();
        self.parked = None;
        self.replace = None;
        self.queue.clear();
    }

    /// True while a peer owns the machine's current order.
    pub fn is_settling(&self) -> bool {
        self.parked.is_some()
    }

    fn loop_timer(&self) -> Option<(usize, Instant)> {
        self.loops
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.next_timer().map(|at| (i, at)))
            .min_by_key(|&(i, at)| (at, i))
    }

    /// Runs `f` on loop `i` and carries out what it did.
    fn step_loop(
        &mut self,
        session: &mut Session,
        now: Instant,
        i: usize,
        f: impl FnOnce(&mut dyn PeerLoop, &mut PeerOut),
    ) {
        let mut out = PeerOut::new(self.next_id, self.record);
        f(self.loops[i].as_mut(), &mut out);
        self.next_id = out.next_id;
        self.apply(session, now, out);
        self.loops.retain(|l| l.next_timer().is_some());
    }

    fn apply(&mut self, session: &mut Session, now: Instant, out: PeerOut) {
        for text in out.notes {
            self.notes.push(Note { at: now, text });
        }
        for (id, call) in out.sends {
            self.queue.push_back(Command::Backend { id, call });
        }
        if let Some(v) = out.verdict {
            self.conclude(session, now, v);
        }
    }

    /// Hands the parked machine the answer that matches the verdict and swaps its
    /// conclusion notice for the peer's.
    fn conclude(&mut self, session: &mut Session, now: Instant, v: Verdict) {
        let Some(order) = self.parked.take() else { return };
        let answer = if v.outcome == Outcome::Paid {
            PayAnswer {
                return_code: ReturnCode::Success,
                result_code: Some(ResultCode::Success),
                err_code: None,
                transaction_id: v.transaction_id.clone(),
            }
        } else {
            PayAnswer {
                return_code: ReturnCode::Success,
                result_code: Some(ResultCode::Fail),
                err_code: Some(PayErrCode::TradeError),
                transaction_id: TransactionId::empty(),
            }
        };
        self.replace = Some(Conclusion {
            out_trade_no: order.out_trade_no.clone(),
            outcome: v.outcome,
            reason: v.reason,
            transaction_id: v.transaction_id,
        });
        let event = Event::Backend(BackendEvent::Submitted {
            id: order.id,
            answer: Ok(answer),
        });
        // The machine's queue is empty: every step drains it into ours.
        if session.handle(now, &event).is_ok() {
            self.absorb(session, now);
        }
        if let Some(c) = self.replace.take() {
            self.queue.push_back(Command::Notify(Notice::OrderConcluded(c)));
        }
    }

    /// Moves the machine's commands to our queue, taking over its submit.
    fn absorb(&mut self, session: &mut Session, now: Instant) {
        while let Some(c) = session.poll_command() {
            match c {
                Command::Backend {
                    id,
                    call:
                        BackendCall::Submit {
                            api,
                            out_trade_no,
                            total_fee,
                            credential,
                        },
                } if self.parked.is_none() => {
                    let order = SubmitOrder {
                        id,
                        api,
                        out_trade_no,
                        total_fee,
                        credential,
                    };
                    self.queue.push_back(Command::Backend {
                        id,
                        call: order.submit(),
                    });
                    self.handed.push(id);
                    self.parked = Some(order.clone());
                    self.loops.push(self.kind.make());
                    let i = self.loops.len() - 1;
                    self.step_loop(session, now, i, |l, out| l.start(now, &order, out));
                }
                Command::Notify(Notice::OrderConcluded(_)) if self.replace.is_some() => {
                    if let Some(c) = self.replace.take() {
                        self.queue.push_back(Command::Notify(Notice::OrderConcluded(c)));
                    }
                }
                other => self.queue.push_back(other),
            }
        }
    }

    fn check_drained(&self) -> Result<(), HandleError> {
        if self.queue.is_empty() {
            Ok(())
        } else {
            Err(HandleError::Undrained {
                pending: u8::try_from(self.queue.len()).unwrap_or(u8::MAX),
            })
        }
    }
}

impl Strategy for PeerStrategy {
    fn handle(&mut self, session: &mut Session, now: Instant, event: &Event) -> Result<(), HandleError> {
        self.check_drained()?;
        if let Event::Backend(b) = event {
            let id = answer_id(b);
            if let Some(i) = self.loops.iter().position(|l| l.awaits(id)) {
                self.step_loop(session, now, i, |l, out| l.answer(now, b, out));
                return Ok(());
            }
            // A late answer to a request a peer gave up on: its connection is long closed.
            if id.0 >= PEER_ID_BASE || self.handed.contains(&id) {
                return Ok(());
            }
        }
        session.handle(now, event)?;
        self.absorb(session, now);
        Ok(())
    }

    fn handle_timeout(&mut self, session: &mut Session, now: Instant) -> Result<(), HandleError> {
        self.check_drained()?;
        let machine = if self.parked.is_some() {
            None
        } else {
            session.next_timer()
        };
        match self.loop_timer() {
            Some((i, at)) if at <= now && machine.is_none_or(|(_, m)| at <= m) => {
                self.step_loop(session, now, i, |l, out| l.timer(now, out));
                Ok(())
            }
            _ => {
                session.fire_next_timer(now)?;
                self.absorb(session, now);
                Ok(())
            }
        }
    }

    fn poll_command(&mut self, _session: &mut Session) -> Option<Command> {
        self.queue.pop_front()
    }

    fn refusal(&self, _session: &Session) -> Option<DiagnosticKind> {
        // The session's commands are already in the queue.
        self.queue.iter().find_map(Command::refusal)
    }

    fn next_timer(&self, session: &Session) -> Option<(Option<Timer>, Instant)> {
        let machine = if self.parked.is_some() {
            None
        } else {
            session.next_timer().map(|(t, at)| (Some(t), at))
        };
        let peer = self.loop_timer().map(|(_, at)| (None, at));
        match (machine, peer) {
            (Some(m), Some(p)) => Some(if p.1 <= m.1 { p } else { m }),
            (m, p) => m.or(p),
        }
    }
}
