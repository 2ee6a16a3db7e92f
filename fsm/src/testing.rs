//! The machine-level test harness shared by the fsm's own tests, the `tests` crate and the
//! fuzz targets (feature `testing`; it needs std): [`Harness`] drives one session, answers
//! the calls it made by kind ([`Call`]), fires timers at their deadlines, and checks after
//! every step that the input was taken, nothing was lost from the queue, and an app
//! request's result names exactly the refusal its step queued. The fixtures (a merchant,
//! an order, canned backend answers) and the canned positions (`Harness::idle`,
//! `querying`, ...) are the ones every suite starts from.
//!
//! Not for production hosts: it panics on anything unexpected, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::vec;
use std::vec::Vec;

use crate::codes::{self, PayErrCode, Recall, ResultCode, ReturnCode, TradeState};
use crate::*;

/// A payment code (18 digits, micropay's auth_code form).
pub const PAY_CODE: &str = "134567890123456789";
/// A face_code as the SDK hands one back.
pub const FACE_CODE: &str = "b713b5d2-666c-48";

/// The value of a fixture that must fit its field.
pub fn ok<T>(r: Result<T, FieldError>) -> T {
    r.expect("test value fits")
}

/// What a command asked for, by kind: the key an answer is routed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// An SDK call.
    Sdk(SdkCallKind),
    /// `get_wxpayface_authinfo`.
    AuthInfo,
    /// micropay / facepay.
    Submit,
    /// orderquery / facepayquery.
    Query,
    /// reverse / facepayreverse.
    Reverse,
}

impl Call {
    /// The call `c` made and its request id (`None` for notices, diagnostics, journal
    /// records).
    #[must_use]
    pub fn of(c: &Command) -> Option<(Call, RequestId)> {
        call_of(c)
    }
}

/// The call a command made and its request id (`None` for notices, diagnostics, journal records).
pub fn call_of(c: &Command) -> Option<(Call, RequestId)> {
    match c {
        Command::Sdk { id, call } => Some((Call::Sdk(call.kind()), *id)),
        Command::Backend { id, call } => Some((
            match call {
                BackendCall::GetAuthInfo { .. } => Call::AuthInfo,
                BackendCall::Submit { .. } => Call::Submit,
                BackendCall::Query { .. } => Call::Query,
                BackendCall::Reverse { .. } => Call::Reverse,
            },
            *id,
        )),
        _ => None,
    }
}

/// Drives one [`Session`] for a test; see the module doc.
pub struct Harness {
    /// The session under test.
    pub s: Session,
    /// The test's clock, in ms.
    pub now: u64,
    /// The last request id issued per kind (kept after the answer, to send duplicates).
    pub ids: HashMap<Call, RequestId>,
    /// Every command so far, with its time.
    pub all: Vec<(u64, Command)>,
    /// While true, every journal write the harness reports fails
    /// ([`Session::persisted`] with `Err`); otherwise each is reported written.
    pub failing_journal: bool,
}

impl Harness {
    /// A fresh session under `policy`, at 0 ms.
    pub fn new(policy: Policy) -> Harness {
        let mut s = Session::new(policy);
        // Every machine-level test runs the persist handshake; a write is reported at
        // once, written unless `failing_journal` says otherwise.
        s.await_persist_acks();
        Harness {
            s,
            now: 0,
            ids: HashMap::new(),
            all: Vec::new(),
            failing_journal: false,
        }
    }

    /// A session resumed from `record` at `now` ([`Session::resume`]), with its first
    /// commands taken (into [`Harness::all`]).
    pub fn resumed(policy: Policy, record: &JournalRecord, now: u64) -> Harness {
        let mut h = Harness::new(policy);
        h.s = Session::resume(policy, record, Instant(now));
        h.s.await_persist_acks();
        h.now = now;
        h.drain();
        h
    }

    /// Takes the step's commands. Lent ones (`poll_command_with`), so that every chart
    /// test holds that path to its exact expectations; the tests crate's transcripts,
    /// the simulator and the device take them by value (`poll_command`).
    ///
    /// Also holds `Session::refusal` to what the step's commands say, read before they
    /// are taken, and a turned-away request to having queued nothing else.
    fn drain(&mut self) -> Vec<Command> {
        let refusal = self.s.refusal();
        let mut v = Vec::new();
        loop {
            while let Some(c) = self.s.poll_command_with(Command::clone) {
                if let Some((call, id)) = call_of(&c) {
                    self.ids.insert(call, id);
                }
                self.all.push((self.now, c.clone()));
                v.push(c);
            }
            if self.s.awaiting_persist().is_none() {
                break;
            }
            let written = if self.failing_journal {
                Err(crate::PersistError::WriteFailed)
            } else {
                Ok(())
            };
            self.s
                .persisted(Instant(self.now), written)
                .expect("a write was awaited");
        }
        assert_eq!(self.s.lost_commands(), 0);
        assert_eq!(
            refusal,
            v.iter().find_map(Command::refusal),
            "refusal() before draining {v:?}"
        );
        assert!(
            refusal.is_none() || v.len() == 1,
            "a turned-away request queued more: {v:?}"
        );
        assert_eq!(self.s.refusal(), None, "refusal() after draining");
        v
    }

    /// Fires every timer due up to `t` at its own deadline; returns their commands.
    pub fn at(&mut self, t: u64) -> Vec<Command> {
        let mut out = Vec::new();
        while let Some(at) = self.s.poll_timeout() {
            if at.0 > t {
                break;
            }
            self.now = self.now.max(at.0);
            self.s.handle_timeout(Instant(self.now)).expect("drained");
            out.extend(self.drain());
        }
        self.now = self.now.max(t);
        out
    }

    /// Fires the earliest timer if it is due by `t`, at its own deadline, as one step
    /// ([`Session::fire_next_timer`]); returns it with its commands. For drivers that
    /// account for each firing (a transcript line each).
    pub fn fire_next_by(&mut self, t: u64) -> Option<(Timer, Vec<Command>)> {
        let (timer, at) = self.s.next_timer().filter(|&(_, at)| at.0 <= t)?;
        self.now = self.now.max(at.0);
        let fired = self.s.fire_next_timer(Instant(self.now)).expect("drained");
        assert_eq!(fired, Some(timer), "fire_next_timer({}) fired another timer", self.now);
        Some((timer, self.drain_step()))
    }

    /// Drains one step's commands (an input, or one timer firing) and holds them to the
    /// per-step bound the outbox is sized for ([`crate::MAX_STEP_COMMANDS`]). `at` drains
    /// with [`Harness::drain`] instead: there one call may fire several timers.
    fn drain_step(&mut self) -> Vec<Command> {
        let v = self.drain();
        assert!(v.len() <= crate::MAX_STEP_COMMANDS, "a step over the bound: {v:?}");
        v
    }

    /// Feeds `e` now.
    pub fn ev(&mut self, e: Event) -> Vec<Command> {
        self.s.handle(Instant(self.now), &e).expect("drained");
        self.drain_step()
    }

    /// The last request id issued for `call`; panics if there was none.
    pub fn id(&self, call: Call) -> RequestId {
        *self.ids.get(&call).unwrap_or_else(|| panic!("no {call:?} was issued"))
    }

    /// The session's leaf state.
    pub fn state(&self) -> StateId {
        self.s.state()
    }

    /// The last order's outcome and reason, once one concluded.
    pub fn outcome(&self) -> Option<(Outcome, Reason)> {
        self.s.last_conclusion().map(|c| (c.outcome, c.reason.clone()))
    }

    /// How many commands so far `pick` holds for.
    pub fn count(&self, pick: impl Fn(&Command) -> bool) -> usize {
        self.all.iter().filter(|(_, c)| pick(c)).count()
    }

    /// When each call of this kind was made, in ms.
    pub fn times(&self, call: Call) -> Vec<u64> {
        self.all
            .iter()
            .filter(|(_, c)| call_of(c).map(|(k, _)| k) == Some(call))
            .map(|(t, _)| *t)
            .collect()
    }

    // ── inputs ──

    /// The app's `Start` with the standard merchant.
    pub fn start(&mut self) -> Vec<Command> {
        self.app(AppEvent::Start {
            init: InitParams::default(),
            merchant: merchant(),
        })
    }
    /// The app's `StartOrder` of `fee` fen.
    pub fn order(&mut self, no: &str, fee: u32, ty: FaceCodeType) -> Vec<Command> {
        self.app(AppEvent::StartOrder(order(no, fee, ty)))
    }
    /// An app request through the typed call (`Session::request`); its result must name
    /// exactly the refusal its step queued.
    pub fn app(&mut self, a: AppEvent) -> Vec<Command> {
        let result = self.s.request(Instant(self.now), a);
        assert!(!matches!(result, Err(RequestError::NotTaken(_))), "{result:?}");
        let v = self.drain_step();
        assert_eq!(
            result.err().and_then(|e| e.diagnostic()),
            v.iter().find_map(Command::refusal),
            "the request's result disagrees with its step: {v:?}"
        );
        v
    }
    /// Answers the open `initWxpayface` with `status`.
    pub fn init_answer(&mut self, status: SdkStatus) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::InitWxpayface));
        self.ev(Event::Sdk(SdkEvent::Initialised { id, status }))
    }
    /// Answers the open `getWxpayfaceRawdata` with SUCCESS.
    pub fn rawdata(&mut self) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::GetWxpayfaceRawdata));
        self.ev(Event::Sdk(SdkEvent::Rawdata {
            id,
            status: SdkStatus::success(),
            rawdata: ok(Text::new(Field::Rawdata, "RAW")),
        }))
    }
    /// Answers the open authinfo request with an authinfo living `expires_in` s.
    pub fn authinfo(&mut self, expires_in: u32) -> Vec<Command> {
        let id = self.id(Call::AuthInfo);
        self.ev(Event::Backend(BackendEvent::AuthInfo {
            id,
            answer: Ok(AuthInfoAnswer {
                return_code: ReturnCode::Success,
                return_msg: Message::empty(),
                authinfo: ok(Text::new(Field::Authinfo, "AUTH")),
                expires_in,
            }),
        }))
    }
    /// Answers the open `getWxpayfaceCode` with `status` and `code`.
    pub fn face(&mut self, status: SdkStatus, code: &str) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::GetWxpayfaceCode));
        self.face_with_id(id, status, code)
    }
    /// Answers `getWxpayfaceCode` request `id` (open or not) with `status` and `code`.
    pub fn face_with_id(&mut self, id: RequestId, status: SdkStatus, code: &str) -> Vec<Command> {
        let answer = FaceCodeAnswer {
            face_code: ok(Text::new(Field::FaceCode, code)),
            ..FaceCodeAnswer::default()
        };
        self.ev(Event::Sdk(SdkEvent::FaceCode { id, status, answer }))
    }
    /// The code scanner read `code`.
    pub fn scanned(&mut self, code: &str) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::StartCodeScanner));
        self.ev(Event::Sdk(SdkEvent::CodeScanned {
            id,
            status: SdkStatus::success(),
            code: ok(Text::new(Field::CodeMsg, code)),
        }))
    }
    /// Answers the last submit.
    pub fn submit_answer(&mut self, a: Result<PayAnswer, TransportError>) -> Vec<Command> {
        let id = self.id(Call::Submit);
        self.ev(Event::Backend(BackendEvent::Submitted { id, answer: a }))
    }
    /// Answers the last query.
    pub fn query_answer(&mut self, a: Result<QueryAnswer, TransportError>) -> Vec<Command> {
        let id = self.id(Call::Query);
        self.ev(Event::Backend(BackendEvent::Queried { id, answer: a }))
    }
    /// Answers the last reverse.
    pub fn reverse_answer(&mut self, a: Result<ReverseAnswer, TransportError>) -> Vec<Command> {
        let id = self.id(Call::Reverse);
        self.ev(Event::Backend(BackendEvent::Reversed { id, answer: a }))
    }

    // ── canned positions ──

    /// Started, initialised at 100 ms, authorised at 300 ms: Idle.
    pub fn idle_with(policy: Policy) -> Harness {
        Harness::idle_authorised_for(policy, 3600)
    }
    /// Idle, with an authinfo fetched at 0.3 s that lives `expires_in` seconds.
    pub fn idle_authorised_for(policy: Policy, expires_in: u32) -> Harness {
        let mut h = Harness::new(policy);
        h.start();
        h.at(100);
        h.init_answer(SdkStatus::success());
        h.at(200);
        h.rawdata();
        h.at(300);
        h.authinfo(expires_in);
        assert_eq!(h.state(), StateId::Idle);
        h
    }
    /// Idle under the default policy, authorised at 0.3 s for an hour.
    pub fn idle() -> Harness {
        Harness::idle_with(Policy::default())
    }
    /// Scanning a face for "T1" (100 fen) since 1 s.
    pub fn scanning(ty: FaceCodeType) -> Harness {
        let mut h = Harness::idle();
        h.at(1_000);
        h.order("T1", 100, ty);
        assert_eq!(h.state(), StateId::ScanningFace);
        h
    }
    /// Submitted at 5 s (micropay).
    pub fn submitting_with(policy: Policy) -> Harness {
        let mut h = Harness::idle_with(policy);
        h.at(1_000);
        h.order("T1", 100, FaceCodeType::Micropay);
        h.at(5_000);
        h.face(SdkStatus::success(), PAY_CODE);
        assert_eq!(h.state(), StateId::Submitting);
        h
    }
    /// Submitted at 5 s (micropay), default policy.
    pub fn submitting() -> Harness {
        Harness::submitting_with(Policy::default())
    }
    /// Submit answered SYSTEMERROR at 5.1 s: Querying, first query due at 10.1 s.
    pub fn querying() -> Harness {
        let mut h = Harness::submitting();
        h.at(5_100);
        h.submit_answer(Ok(pay_error(PayErrCode::SystemError)));
        assert_eq!(h.state(), StateId::Querying);
        h
    }
    /// Every query NOTPAY until the budget: Reversing, first reverse sent at 35 s.
    pub fn reversing() -> Harness {
        let mut h = Harness::querying();
        for t in [10_200, 15_300, 20_400, 25_500, 30_600] {
            h.at(t);
            h.query_answer(Ok(query(TradeState::NotPay)));
        }
        h.at(35_000);
        assert_eq!(h.state(), StateId::Reversing);
        assert_eq!(h.times(Call::Reverse), vec![35_000]);
        h
    }
}

/// The standard merchant (WeChat's sample appid and mch_id).
pub fn merchant() -> Merchant {
    Merchant {
        appid: ok(Text::new(Field::Appid, "wx2421b1c4370ec43b")),
        mch_id: ok(Text::new(Field::MchId, "10000100")),
        ..Merchant::default()
    }
}

/// A member lookup (getWxpayfaceUserInfo) of `face_authtype`, with the SDK's defaults
/// for the rest.
pub fn member_lookup(face_authtype: FaceAuthType) -> UserInfoRequest {
    UserInfoRequest {
        face_authtype,
        auth_mode_jump: false,
        ask_unionid: false,
        screen_index: ScreenIndex::empty(),
    }
}

/// An order for `no` of `fee` fen, paid by face.
pub fn order(no: &str, fee: u32, ty: FaceCodeType) -> OrderRequest {
    OrderRequest::new(ok(Text::new(Field::OutTradeNo, no)), fee, ty)
}

/// A submit answered SUCCESS.
pub fn pay_success() -> PayAnswer {
    PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        transaction_id: ok(Text::new(Field::TransactionId, "4200000001")),
    }
}

/// A submit answered FAIL with `e`.
pub fn pay_error(e: PayErrCode) -> PayAnswer {
    PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(e),
        transaction_id: TransactionId::empty(),
    }
}

/// A query answered with `state`.
pub fn query(state: TradeState) -> QueryAnswer {
    QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        trade_state: Some(state),
        transaction_id: TransactionId::empty(),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    }
}

/// A reverse answered with `result`, `recall` and `err`.
pub fn reverse(result: ResultCode, recall: Option<Recall>, err: Option<codes::ReverseErrCode>) -> ReverseAnswer {
    ReverseAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(result),
        err_code: err,
        recall,
    }
}

/// The diagnostic kinds among `cmds`.
pub fn diags(cmds: &[Command]) -> Vec<DiagnosticKind> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Diagnostic(d) => Some(d.kind),
            _ => None,
        })
        .collect()
}

/// True when `cmds` call the SDK's `kind`.
pub fn has_sdk(cmds: &[Command], kind: SdkCallKind) -> bool {
    cmds.iter()
        .any(|c| matches!(c, Command::Sdk { call, .. } if call.kind() == kind))
}

/// The conclusion among `cmds`, if an order concluded.
pub fn concluded(cmds: &[Command]) -> Option<(Outcome, Reason)> {
    cmds.iter().find_map(|c| match c {
        Command::Notify(Notice::OrderConcluded(k)) => Some((k.outcome, k.reason.clone())),
        _ => None,
    })
}
