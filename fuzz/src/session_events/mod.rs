//! `session_events`: an arbitrary list of (time step, operation) driven into one
//! [`Session`] through `handle` / `handle_timeout`, the way a host (hostile or not) would.
//!
//! Operations cover every event kind with arbitrary codes, strings at and over their caps,
//! answers with the machine's real outstanding ids (most of the time: [`IdOp::Recent`]
//! picks among the ids the machine issued, so the run gets deep), stale, duplicate,
//! out-of-order and wrong-kind answers, random ids, SDK maps through the device layer's
//! checks, punctual, late and backwards clocks, and spurious `handle_timeout` calls.
//!
//! What one machine can check by itself, asserted after every step ([`Checker`]):
//! 1. No panic; `handle`/`handle_timeout` never refuse after a full drain.
//! 2. Nothing is lost from the command queue: `lost_commands() == 0`.
//! 3. Time: (a) a step never arms a deadline earlier than its own clock: after every
//!    step, `poll_timeout()` is `None` or `>= min(poll_timeout() before the step,
//!    now())`; (b) `handle_timeout(t)` fires nothing while `poll_timeout() > max(t, now())`
//!    (no command other than a time-went-backwards diagnostic, the deadline unchanged);
//!    (c) no zero-delay timer loop: at most [`MAX_FIRES_AT_ONE_INSTANT`] timers fire at
//!    one instant; (d) `TimeWentBackwards` is reported only when `now` really went back.
//! 4. One submit per order: at most one `BackendCall::Submit` per out_trade_no for each
//!    time the cashier started an order with that out_trade_no, for the order the cashier
//!    last started, and never while an earlier submitted order is unconcluded.
//! 5. Paid only when confirmed: `Notice::OrderConcluded` with `Outcome::Paid` only after an
//!    answer was fed, carrying the id of a Submit or Query of *that* submitted order, that
//!    said return_code and result_code SUCCESS (and, for a query, trade_state SUCCESS).
//!    `updateWxpayfacePayResult` says SUCCESS only after such a Paid conclusion.
//! 6. An order concludes at most once, and one that was never submitted concludes NotPaid.
//! 7. Liveness: at the end, with no more answers, timers fire until `order_bound_ms()`
//!    later; every submitted order must have concluded (in one of the four outcomes) and
//!    the terminal must be out of the order. With a punctual clock (no [`TimeOp::Late`])
//!    every order also concludes within `settle_bound_ms()` of its submit.

use arbitrary::{Arbitrary, Unstructured};
use facepay_fsm::{Duration, Outcome, Policy, PolicySettings, SdkVersion};

use crate::input::{CodeOp, IdOp, StrOp};
use crate::jni_map::EntryOp;

mod build;
mod driver;
#[cfg(test)]
mod tests;

use driver::Driver;

/// Steps beyond this are ignored, to keep one run fast.
pub const MAX_STEPS: usize = 256;
/// More timers than this firing at one instant is a zero-delay loop.
pub const MAX_FIRES_AT_ONE_INSTANT: u32 = 16;

/// A payment code, as the scanner and a micropay face_code carry it.
pub const PAY_CODE: &str = "134567890123456789";

/// The whole input: a policy and the steps.
#[derive(Arbitrary, Clone, Debug)]
pub struct Input {
    /// Which policy the session runs.
    pub policy: PolicyChoice,
    /// What happens, in order.
    pub steps: Vec<Step>,
}

/// One step: the clock moves, then the host does one thing.
#[derive(Arbitrary, Clone, Debug)]
pub struct Step {
    /// How time moves first.
    pub time: TimeOp,
    /// What the host does then.
    pub op: Op,
}

/// The policy of the run.
#[derive(Arbitrary, Clone, Debug)]
pub enum PolicyChoice {
    /// `Policy::default()` (face app 2.13: no pay-result report).
    Default,
    /// The defaults with face app 2.12, which needs `updateWxpayfacePayResult`.
    OldSdk,
    /// Short deadlines and budgets, two attempts each, face app 2.12: deep runs in few steps.
    Tight,
    /// Anything `Policy::new` accepts (milliseconds, at least 50; the default otherwise).
    Custom(CustomPolicy),
}

/// Raw settings for [`PolicyChoice::Custom`].
#[derive(Arbitrary, Clone, Debug)]
#[allow(missing_docs)]
pub struct CustomPolicy {
    pub sdk_call: u16,
    pub init_retry: u16,
    pub init_attempts: u8,
    pub face_scan: u16,
    pub code_scan: u16,
    pub backend: u16,
    pub auth_margin: u32,
    pub auth_retry: u16,
    pub first_query: u16,
    pub poll: u16,
    pub query_budget: u32,
    pub reverse_not_before: u16,
    pub reverse_attempts: u8,
    pub backoff: u16,
    pub backoff_max: u32,
    pub sdk_minor: u8,
}

/// The tight policy of [`PolicyChoice::Tight`].
pub fn tight() -> PolicySettings {
    PolicySettings {
        sdk_call_deadline: Duration::ms(1_000),
        init_retry_delay: Duration::ms(100),
        init_attempts: 2,
        face_scan_deadline: Duration::ms(2_000),
        code_scan_deadline: Duration::ms(2_000),
        backend_deadline: Duration::ms(500),
        auth_refresh_margin: Duration::ms(1_000),
        auth_retry_delay: Duration::ms(500),
        first_query_delay: Duration::ms(200),
        poll_interval: Duration::ms(300),
        query_budget: Duration::ms(2_000),
        reverse_not_before: Policy::MIN_REVERSE_DELAY,
        reverse_attempts: 2,
        reverse_backoff: Duration::ms(100),
        reverse_backoff_max: Duration::ms(400),
        sdk_version: SdkVersion { major: 2, minor: 12 },
        close_declined_orders: true,
        clock_tolerance: Duration::ms(60_000),
    }
}

impl PolicyChoice {
    /// The policy.
    pub fn policy(&self) -> Policy {
        let ms = |v: u16| Duration::ms(u32::from(v).max(50));
        let settings = match self {
            PolicyChoice::Default => return Policy::default(),
            PolicyChoice::OldSdk => PolicySettings {
                sdk_version: SdkVersion { major: 2, minor: 12 },
                ..PolicySettings::default()
            },
            PolicyChoice::Tight => tight(),
            PolicyChoice::Custom(c) => PolicySettings {
                sdk_call_deadline: ms(c.sdk_call),
                init_retry_delay: ms(c.init_retry),
                init_attempts: c.init_attempts,
                face_scan_deadline: ms(c.face_scan),
                code_scan_deadline: ms(c.code_scan),
                backend_deadline: ms(c.backend),
                auth_refresh_margin: Duration::ms(c.auth_margin),
                auth_retry_delay: ms(c.auth_retry),
                first_query_delay: ms(c.first_query),
                poll_interval: ms(c.poll),
                query_budget: Duration::ms(c.query_budget),
                reverse_not_before: Duration::ms(15_000 + u32::from(c.reverse_not_before)),
                reverse_attempts: c.reverse_attempts,
                reverse_backoff: ms(c.backoff),
                reverse_backoff_max: Duration::ms(c.backoff_max),
                sdk_version: SdkVersion {
                    major: 2,
                    minor: c.sdk_minor % 16,
                },
                // A bit the version leaves unused: both readings of a decline get fuzzed.
                close_declined_orders: c.sdk_minor & 0x10 == 0,
                clock_tolerance: PolicySettings::default().clock_tolerance,
            },
        };
        Policy::new(settings).unwrap_or_default()
    }
}

/// How the host's clock moves before the step's operation.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TimeOp {
    /// `ms` pass; every timer due meanwhile fires at its own deadline (a punctual host).
    Wait(u16),
    /// No time passes.
    Now,
    /// Up to the next deadline, which fires.
    NextDeadline,
    /// `secs` seconds pass, timers firing punctually.
    WaitSecs(u8),
    /// `ms` pass without firing anything (a host that was stalled): timers come late.
    Late(u16),
    /// This step's operation is given a time `ms` earlier than the clock (a clock that
    /// jumped back); the host's clock itself stays.
    Backwards(u16),
}

/// What the host does.
#[derive(Arbitrary, Clone, Debug)]
pub enum Op {
    /// Answer a command the machine issued (or a random id) as a healthy peer would:
    /// SUCCESS with canonical values. Cheap to decode, so the fuzzer gets deep (a submit
    /// needs init, rawdata, authinfo, order and face answers in a row).
    Succeed(IdOp),
    /// Answer a command the machine issued (or a random id): by default with the event
    /// kind that command expects.
    Answer {
        /// Which id the answer carries.
        id: IdOp,
        /// Which event kind answers.
        kind: KindOp,
        /// Its content.
        reply: Reply,
    },
    /// `AppEvent::Start`.
    Start {
        /// Proxy settings.
        init: InitOp,
        /// Merchant identity.
        merchant: MerchantOp,
    },
    /// `AppEvent::StartOrder`.
    StartOrder(OrderOp),
    /// `AppEvent::IdentifyUser`.
    Identify(IdentifyOp),
    /// `AppEvent::Cancel`.
    Cancel,
    /// `AppEvent::Release`.
    Release,
    /// `SdkEvent::ServiceLost`.
    ServiceLost,
    /// `handle_timeout(now)`, whether or not anything is due.
    Timeout,
    /// Feed an earlier event again (0 = the last one): duplicates and late answers.
    Again(u8),
    /// `AppEvent::FaceAppVersion` (major, minor), in any state.
    FaceAppVersion(u8, u8),
}

/// Which kind of event an [`Op::Answer`] is.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum KindOp {
    /// The kind the picked command expects (a random id gets the last command's kind).
    AsIssued,
    /// This SDK kind (`answer::KINDS[i % KINDS.len()]`).
    Sdk(u8),
    /// This backend kind (authinfo, submit, query, reverse).
    Backend(u8),
}

/// The content of an answer; each kind takes the parts it needs.
#[derive(Arbitrary, Clone, Debug)]
pub struct Reply {
    /// How the answer reaches the machine.
    pub form: FormOp,
    /// SDK status.
    pub status: StatusOp,
    /// The main payload string (rawdata, face_code, code_msg, authinfo, openid).
    pub a: StrOp,
    /// A second string (openid, nickname, transaction_id).
    pub b: StrOp,
    /// Backend fields.
    pub backend: BackendOp,
}

impl Reply {
    /// The answer of a healthy peer: SUCCESS, canonical strings, an authinfo for an hour,
    /// a paid order, a confirmed reverse.
    pub fn healthy() -> Reply {
        Reply {
            form: FormOp::Typed,
            status: StatusOp {
                return_code: CodeOp::Doc(0),
                err_code: None,
                return_msg: StrOp::Empty,
            },
            a: StrOp::Canonical,
            b: StrOp::Canonical,
            backend: BackendOp {
                transport: None,
                return_code: CodeOp::Doc(0),
                result_code: None,
                err_code: None,
                trade_state: None,
                recall: None,
                expires_in: 3600,
            },
        }
    }
}

/// How an answer reaches the machine.
#[derive(Arbitrary, Clone, Debug)]
pub enum FormOp {
    /// Built as typed values (a field over its cap makes the SDK answer unreadable and the
    /// backend answer unparseable, as the device layer does).
    Typed,
    /// As an SDK map or a backend answer map, through `facepay-device`'s checks.
    Map(Vec<EntryOp>),
    /// `SdkEvent::Unreadable` (SDK kinds) with this error, or a null map (backend).
    Unreadable(AnswerErrorOp),
}

/// An [`AnswerError`].
#[derive(Arbitrary, Clone, Copy, Debug)]
#[allow(missing_docs)]
pub enum AnswerErrorOp {
    NullMap,
    MissingKey,
    NotAString,
    TooLong(u32),
}

/// An SDK status.
#[derive(Arbitrary, Clone, Debug)]
pub struct StatusOp {
    /// `return_code`.
    pub return_code: CodeOp,
    /// `err_code`.
    pub err_code: Option<CodeOp>,
    /// `return_msg`.
    pub return_msg: StrOp,
}

/// A backend answer.
#[derive(Arbitrary, Clone, Debug)]
pub struct BackendOp {
    /// No usable answer: this transport error.
    pub transport: Option<TransportOp>,
    /// `return_code`.
    pub return_code: CodeOp,
    /// `result_code` (`None` = SUCCESS, to keep the common answer cheap to find).
    pub result_code: Option<CodeOp>,
    /// `err_code`.
    pub err_code: Option<CodeOp>,
    /// `trade_state` (`None` = SUCCESS).
    pub trade_state: Option<CodeOp>,
    /// `recall`.
    pub recall: Option<CodeOp>,
    /// `expires_in`.
    pub expires_in: u32,
}

/// A [`TransportError`].
#[derive(Arbitrary, Clone, Copy, Debug)]
#[allow(missing_docs)]
pub enum TransportOp {
    Timeout,
    Connection,
    HttpStatus(u16),
    Unparseable,
}

/// `initWxpayface` settings.
#[derive(Arbitrary, Clone, Debug)]
#[allow(missing_docs)]
pub struct InitOp {
    pub ip: StrOp,
    pub port: StrOp,
    pub proxy_type: Option<u8>,
    pub perform_mode: Option<bool>,
}

/// The merchant.
#[derive(Arbitrary, Clone, Debug)]
#[allow(missing_docs)]
pub struct MerchantOp {
    pub appid: StrOp,
    pub mch_id: StrOp,
    pub sub_mch_id: StrOp,
    pub store_id: StrOp,
}

/// An order.
#[derive(Arbitrary, Clone, Debug)]
#[allow(missing_docs)]
pub struct OrderOp {
    pub out_trade_no: NoOp,
    pub total_fee: u32,
    pub micropay: bool,
    pub face_authtype: u8,
    pub telephone: StrOp,
    pub openid: StrOp,
    pub ask_face_permit: bool,
    pub ask_ret_page: bool,
    pub ignore_update_pay_result: bool,
    pub screen_index: StrOp,
    /// What pays (issue 16).
    pub credential: CredentialOp,
}

/// What pays for an order.
#[derive(Arbitrary, Clone, Debug)]
pub enum CredentialOp {
    /// The face.
    Face,
    /// A payment code the app holds: a canonical one, the last one again, or anything.
    AuthCode(Option<StrOp>),
    /// The face app's code scanner.
    CodeScanner,
}

/// Which out_trade_no an order carries.
#[derive(Arbitrary, Clone, Debug)]
pub enum NoOp {
    /// A new one.
    Fresh,
    /// One given before (0 = the last one): the cashier app reusing an out_trade_no.
    Reuse(u8),
    /// Anything.
    Any(StrOp),
}

/// A membership lookup.
#[derive(Arbitrary, Clone, Debug)]
#[allow(missing_docs)]
pub struct IdentifyOp {
    pub face_authtype: u8,
    pub auth_mode_jump: bool,
    pub ask_unionid: bool,
    pub screen_index: StrOp,
}

/// What a command asked for, by kind: the shared harness's vocabulary.
pub use facepay_fsm::testing::Call;

const BACKEND: [Call; 4] = [Call::AuthInfo, Call::Submit, Call::Query, Call::Reverse];

/// What a run saw, for tests that check the checker is not vacuous.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Every conclusion, in order.
    pub outcomes: Vec<Outcome>,
    /// How many submits were sent.
    pub submits: usize,
    /// How many commands in all.
    pub commands: usize,
    /// Every leaf state the session was in after a step.
    pub states: std::collections::BTreeSet<String>,
}

/// Decodes `data` and runs it. Inputs that do not decode are skipped.
pub fn run(data: &[u8]) {
    if let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) {
        run_input(&input);
    }
}

/// Runs one decoded input, asserting every property in the module doc.
pub fn run_input(input: &Input) -> Summary {
    let mut d = Driver::new(input.policy.policy());
    for step in input.steps.iter().take(MAX_STEPS) {
        d.step(step);
    }
    d.finish();
    d.summary
}
