//! [`Driver`]: runs one session from a script and records its transcript.

use std::collections::HashMap;
use std::fmt::Write;

use facepay_fsm::codes::{Recall, ResultCode, SdkReturnCode, TradeState};
use facepay_fsm::{
    AppEvent, BackendEvent, Command, Conclusion, Event, FaceCodeAnswer, FaceCodeType, Field, InitParams, Instant,
    Outcome, PayAnswer, Policy, QueryAnswer, RequestId, ReverseAnswer, SdkCall, SdkCallKind, SdkEvent, SdkStatus,
    Session, StateId, Text, TransportError,
};

use crate::{build, render};

/// A call the session made that still waits for its answer, by kind: the shared harness's
/// vocabulary (`facepay_fsm::testing`).
pub use facepay_fsm::testing::Call;
use facepay_fsm::testing::Harness;

/// Runs one [`Session`] from a script: feeds inputs at the script's time, fires timers in
/// order, answers the calls the session made, and records a transcript.
///
/// Every step checks what must hold after any step: the input was accepted, nothing was
/// lost from the command queue, and the queue was drained. The answer helpers panic when
/// the session made no such call, so a script also asserts the calls it answers.
///
/// Transcript lines: `  15.000s  <- input  => State` (the state after the step), then
/// `  15.000s  -> command` for each command the step emitted.
pub struct Driver {
    /// The shared harness: feeds, drains and checks every step.
    h: Harness,
    now: Instant,
    transcript: String,
    outputs: Vec<(Instant, Command)>,
    last: Vec<Command>,
    waiting: HashMap<Call, RequestId>,
}

impl Driver {
    /// A fresh session under `policy`; the transcript starts with the policy's SDK version.
    pub fn new(policy: Policy) -> Self {
        let v = policy.settings().sdk_version;
        let mut transcript = String::new();
        let _ = writeln!(transcript, "policy: sdk {}.{}", v.major, v.minor);
        Driver {
            h: Harness::new(policy),
            now: Instant(0),
            transcript,
            outputs: Vec::new(),
            last: Vec::new(),
            waiting: HashMap::new(),
        }
    }

    /// The script's clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.h.s
    }

    /// The session's current leaf state.
    pub fn state(&self) -> StateId {
        self.h.s.state()
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// Every command the session emitted, with its time.
    pub fn outputs(&self) -> &[(Instant, Command)] {
        &self.outputs
    }

    /// The commands of the last step.
    pub fn last(&self) -> &[Command] {
        &self.last
    }

    /// The conclusion of the last order.
    pub fn conclusion(&self) -> Option<&Conclusion> {
        self.h.s.last_conclusion()
    }

    /// The request id of the outstanding call of this kind, if the session made one.
    pub fn waiting(&self, call: Call) -> Option<RequestId> {
        self.waiting.get(&call).copied()
    }

    /// Adds a free-form comment line to the transcript (for a reader of the snapshot).
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.transcript, "           # {text}");
    }

    /// Fires, in order, every timer due up to `t_ms`, each at its own deadline and as its
    /// own transcript step; then moves the clock to `t_ms`. Panics if `t_ms` is before the
    /// script's clock.
    pub fn advance_to(&mut self, t_ms: u64) {
        let t = Instant(t_ms);
        assert!(t >= self.now, "script goes back in time: {} -> {}", self.now, t);
        self.h.now = self.now.0;
        while let Some((timer, cmds)) = self.h.fire_next_by(t_ms) {
            self.now = Instant(self.h.now);
            self.after_step(render::timer(timer), cmds);
        }
        self.now = t;
    }

    /// [`Driver::advance_to`] `ms` after the script's clock.
    pub fn advance_by(&mut self, ms: u64) {
        self.advance_to(self.now.0 + ms);
    }

    /// Feeds `event` at the script's clock and returns the commands it caused.
    pub fn input(&mut self, event: Event) -> Vec<Command> {
        let input = render::event(&event);
        if let Event::Sdk(s) = &event {
            self.forget_sdk(s);
        }
        if let Event::Backend(b) = &event {
            self.forget_backend(b);
        }
        self.h.now = self.now.0;
        let cmds = self.h.ev(event);
        self.after_step(input, cmds);
        self.last.clone()
    }

    /// Feeds `event` at `t_ms`, after firing the timers due before it.
    pub fn input_at(&mut self, t_ms: u64, event: Event) -> Vec<Command> {
        self.advance_to(t_ms);
        self.input(event)
    }

    fn forget_sdk(&mut self, s: &SdkEvent) {
        let id = match s {
            SdkEvent::Initialised { id, .. }
            | SdkEvent::Rawdata { id, .. }
            | SdkEvent::FaceCode { id, .. }
            | SdkEvent::UserInfo { id, .. }
            | SdkEvent::PayResultUpdated { id, .. }
            | SdkEvent::Released { id, .. }
            | SdkEvent::Unreadable { id, .. } => *id,
            // The scanner fires once per scan until it is stopped.
            SdkEvent::CodeScanned { .. } | SdkEvent::ServiceLost => return,
        };
        self.waiting.retain(|_, v| *v != id);
    }

    fn forget_backend(&mut self, b: &BackendEvent) {
        let id = match b {
            BackendEvent::AuthInfo { id, .. }
            | BackendEvent::Submitted { id, .. }
            | BackendEvent::Queried { id, .. }
            | BackendEvent::Reversed { id, .. } => *id,
        };
        self.waiting.retain(|_, v| *v != id);
    }

    /// Writes the step (already fed, drained and checked by the harness) to the transcript.
    fn after_step(&mut self, input: String, cmds: Vec<Command>) {
        let state = self.h.s.state();
        let _ = writeln!(self.transcript, "{:>9}  <- {input}  => {state:?}", self.now.to_string());
        self.last.clear();
        for c in cmds {
            let _ = writeln!(
                self.transcript,
                "{:>9}  -> {}",
                self.now.to_string(),
                render::command(&c)
            );
            if let Some((call, id)) = Call::of(&c) {
                self.waiting.insert(call, id);
            }
            if matches!(
                c,
                Command::Sdk {
                    call: SdkCall::StopCodeScanner,
                    ..
                }
            ) {
                self.waiting.remove(&Call::Sdk(SdkCallKind::StartCodeScanner));
            }
            self.outputs.push((self.now, c.clone()));
            self.last.push(c);
        }
    }

    fn id(&self, call: Call) -> RequestId {
        match self.waiting(call) {
            Some(id) => id,
            None => panic!(
                "at {} the script answers {call:?}, but the session made no such call (state {:?})",
                self.now,
                self.h.s.state()
            ),
        }
    }

    // ── the cashier app ───────────────────────────────────────────────────────────────

    /// `Start` with the standard merchant.
    pub fn start(&mut self) -> Vec<Command> {
        self.request(AppEvent::Start {
            init: InitParams::default(),
            merchant: build::merchant(),
        })
    }

    /// `StartOrder` of `total_fee` fen.
    pub fn start_order(&mut self, out_trade_no: &str, total_fee: u32, face_code_type: FaceCodeType) -> Vec<Command> {
        self.request(AppEvent::StartOrder(build::order(
            out_trade_no,
            total_fee,
            face_code_type,
        )))
    }

    /// `Cancel`.
    pub fn cancel(&mut self) -> Vec<Command> {
        self.request(AppEvent::Cancel)
    }

    /// `Release`.
    pub fn release(&mut self) -> Vec<Command> {
        self.request(AppEvent::Release)
    }

    /// Feeds an app request through the typed call (`Session::request`, recorded like
    /// [`Driver::input`]); the harness holds its result to the step's own diagnostic.
    pub fn request(&mut self, app: AppEvent) -> Vec<Command> {
        let input = render::event(&Event::App(app.clone()));
        self.h.now = self.now.0;
        let cmds = self.h.app(app);
        self.after_step(input, cmds);
        self.last.clone()
    }

    // ── the SDK ───────────────────────────────────────────────────────────────────────

    /// Answers the outstanding `initWxpayface` with `status`.
    pub fn answer_init(&mut self, status: SdkStatus) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::InitWxpayface));
        self.input(Event::Sdk(SdkEvent::Initialised { id, status }))
    }

    /// Answers the outstanding `initWxpayface` with SUCCESS.
    pub fn answer_init_ok(&mut self) -> Vec<Command> {
        self.answer_init(SdkStatus::success())
    }

    /// Answers the outstanding `getWxpayfaceRawdata` with SUCCESS and a rawdata.
    pub fn answer_rawdata(&mut self) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::GetWxpayfaceRawdata));
        self.input(Event::Sdk(SdkEvent::Rawdata {
            id,
            status: SdkStatus::success(),
            rawdata: build::ok(Text::new(Field::Rawdata, "RAW")),
        }))
    }

    /// Answers the outstanding `getWxpayfaceCode` with `status` and, if non-empty, a face_code.
    pub fn answer_face_code(&mut self, status: SdkStatus, face_code: &str) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::GetWxpayfaceCode));
        let answer = FaceCodeAnswer {
            face_code: build::ok(Text::new(Field::FaceCode, face_code)),
            openid: if face_code.is_empty() {
                facepay_fsm::OpenId::empty()
            } else {
                build::ok(Text::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"))
            },
            ..FaceCodeAnswer::default()
        };
        self.input(Event::Sdk(SdkEvent::FaceCode { id, status, answer }))
    }

    /// Answers the outstanding `getWxpayfaceCode` with SUCCESS and `face_code`.
    pub fn answer_face_code_ok(&mut self, face_code: &str) -> Vec<Command> {
        self.answer_face_code(SdkStatus::success(), face_code)
    }

    /// Answers the outstanding `getWxpayfaceCode` with a bare return_code.
    pub fn answer_face_code_with(&mut self, return_code: SdkReturnCode) -> Vec<Command> {
        self.answer_face_code(SdkStatus::code(return_code), "")
    }

    /// The code scanner reads `code`.
    pub fn answer_code_scanned(&mut self, code: &str) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::StartCodeScanner));
        self.input(Event::Sdk(SdkEvent::CodeScanned {
            id,
            status: SdkStatus::success(),
            code: build::ok(Text::new(Field::CodeMsg, code)),
        }))
    }

    /// Answers the outstanding `updateWxpayfacePayResult` with SUCCESS.
    pub fn answer_pay_result_updated(&mut self) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::UpdateWxpayfacePayResult));
        self.input(Event::Sdk(SdkEvent::PayResultUpdated {
            id,
            status: SdkStatus::success(),
        }))
    }

    /// Answers the outstanding `releaseWxpayface` with SUCCESS.
    pub fn answer_released(&mut self) -> Vec<Command> {
        let id = self.id(Call::Sdk(SdkCallKind::ReleaseWxpayface));
        self.input(Event::Sdk(SdkEvent::Released {
            id,
            status: SdkStatus::success(),
        }))
    }

    // ── the backend ───────────────────────────────────────────────────────────────────

    /// Answers the outstanding `get_wxpayface_authinfo` with `authinfo` valid `expires_in` s.
    pub fn answer_authinfo_value(&mut self, authinfo: &str, expires_in: u32) -> Vec<Command> {
        let id = self.id(Call::AuthInfo);
        self.input(Event::Backend(BackendEvent::AuthInfo {
            id,
            answer: Ok(build::authinfo(authinfo, expires_in)),
        }))
    }

    /// Answers the outstanding `get_wxpayface_authinfo` with "AUTH" valid `expires_in` s.
    pub fn answer_authinfo(&mut self, expires_in: u32) -> Vec<Command> {
        self.answer_authinfo_value("AUTH", expires_in)
    }

    /// Answers the outstanding submit.
    pub fn answer_submit_with(&mut self, answer: Result<PayAnswer, TransportError>) -> Vec<Command> {
        let id = self.id(Call::Submit);
        self.input(Event::Backend(BackendEvent::Submitted { id, answer }))
    }

    /// Answers the outstanding submit with `answer`.
    pub fn answer_submit(&mut self, answer: PayAnswer) -> Vec<Command> {
        self.answer_submit_with(Ok(answer))
    }

    /// Answers the outstanding query.
    pub fn answer_query_with(&mut self, answer: Result<QueryAnswer, TransportError>) -> Vec<Command> {
        let id = self.id(Call::Query);
        self.input(Event::Backend(BackendEvent::Queried { id, answer }))
    }

    /// Answers the outstanding query SUCCESS/SUCCESS with `trade_state`.
    pub fn answer_query(&mut self, trade_state: TradeState) -> Vec<Command> {
        self.answer_query_with(Ok(build::query(trade_state)))
    }

    /// Answers the outstanding reverse.
    pub fn answer_reverse_with(&mut self, answer: Result<ReverseAnswer, TransportError>) -> Vec<Command> {
        let id = self.id(Call::Reverse);
        self.input(Event::Backend(BackendEvent::Reversed { id, answer }))
    }

    /// Answers the outstanding reverse with `result_code` and `recall`.
    pub fn answer_reverse(&mut self, result_code: ResultCode, recall: Recall) -> Vec<Command> {
        self.answer_reverse_with(Ok(build::reverse(result_code, recall)))
    }

    // ── composite steps ───────────────────────────────────────────────────────────────

    /// Start, init SUCCESS at +100 ms, then the first authorisation (rawdata at +200 ms,
    /// authinfo valid `expires_in` s at +300 ms): the session is Idle and authorised.
    pub fn bring_up(&mut self, expires_in: u32) {
        let t = self.now.0;
        self.start();
        self.advance_to(t + 100);
        self.answer_init_ok();
        // Idle with no authinfo refreshes at once.
        self.advance_to(t + 100);
        self.advance_to(t + 200);
        self.answer_rawdata();
        self.advance_to(t + 300);
        self.answer_authinfo(expires_in);
        assert_eq!(self.state(), StateId::Idle, "not Idle after bring-up");
    }

    /// Asserts that the last order concluded with `outcome`.
    pub fn assert_concluded(&self, outcome: Outcome) {
        match self.conclusion() {
            Some(c) => assert_eq!(c.outcome, outcome, "conclusion {c:?}"),
            None => panic!("no order concluded"),
        }
    }
}
