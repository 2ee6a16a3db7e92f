//! The machine's shared storage and the small steps the chart is written in: issuing a
//! call, matching its answer, concluding an order. `chart.rs` holds the states themselves.

use crate::codes::SdkClass;
use crate::command::{
    BackendCall, Command, Conclusion, DiagnosticKind, FaceCodeRequest, Notice, Outcome, PayApi, PayCredential,
    PayResult, PayResultCall, Reason, Refusal, SdkCall, UserInfoCall,
};
use crate::config::{FaceAuthType, FaceCodeType, InitParams, Merchant, OrderRequest, UserInfoRequest};
use crate::event::{AppEvent, Event, RequestId, SdkCallKind, SdkEvent, UserInfo};
use crate::journal::{JOURNAL_VERSION, JournalPhase, JournalRecord};
use crate::outbox::{BackendKind, Note, NoticeKind, Outbox, PackedId, Queued};
use crate::policy::{Policy, SdkVersion};
use crate::state::StateId;
use crate::text::{AuthInfo, FaceCode, OpenId, OutTradeNo, RawData, TransactionId};
use crate::time::{Duration, Instant};
use crate::timer::{Timer, Timers};

/// The `SdkCall` for `kind` from the machine `$m`'s data, handed to the macro `$wrap`
/// as an expression in every arm: the caller builds its whole command around it in place.
/// A call built by a function and then wrapped is copied (hundreds of bytes) into the
/// command.
macro_rules! sdk_call {
    ($m:expr, $kind:expr, $wrap:ident) => {
        match $kind {
            SdkCallKind::InitWxpayface => $wrap!(SdkCall::InitWxpayface($m.init.clone())),
            SdkCallKind::GetWxpayfaceRawdata => $wrap!(SdkCall::GetWxpayfaceRawdata),
            SdkCallKind::GetWxpayfaceCode => $wrap!(SdkCall::GetWxpayfaceCode(FaceCodeRequest {
                merchant: $m.merchant.clone(),
                out_trade_no: $m.order.out_trade_no.clone(),
                total_fee: $m.order.total_fee,
                face_code_type: $m.order.face_code_type,
                face_authtype: $m.order.face_authtype,
                authinfo: $m.authinfo.clone(),
                telephone: $m.order.telephone.clone(),
                openid: $m.order.openid.clone(),
                ask_face_permit: $m.order.ask_face_permit,
                ask_ret_page: $m.order.ask_ret_page,
                ignore_update_pay_result: $m.order.ignore_update_pay_result,
                screen_index: $m.order.screen_index.clone(),
            })),
            SdkCallKind::GetWxpayfaceUserInfo => $wrap!(SdkCall::GetWxpayfaceUserInfo(UserInfoCall {
                merchant: $m.merchant.clone(),
                face_authtype: $m.user_request.face_authtype,
                authinfo: $m.authinfo.clone(),
                auth_mode_jump: $m.user_request.auth_mode_jump,
                ask_unionid: $m.user_request.ask_unionid,
                screen_index: $m.user_request.screen_index.clone(),
            })),
            SdkCallKind::StartCodeScanner => $wrap!(SdkCall::StartCodeScanner),
            SdkCallKind::StopCodeScanner => $wrap!(SdkCall::StopCodeScanner),
            SdkCallKind::StopWxpayface => $wrap!(SdkCall::StopWxpayface {
                authinfo: $m.authinfo.clone(),
            }),
            SdkCallKind::UpdateWxpayfacePayResult => $wrap!(SdkCall::UpdateWxpayfacePayResult(PayResultCall {
                merchant: $m.merchant.clone(),
                authinfo: $m.authinfo.clone(),
                payresult: if $m.conclusion.outcome == Outcome::Paid {
                    PayResult::Success
                } else {
                    PayResult::Error
                },
            })),
            SdkCallKind::ReleaseWxpayface => $wrap!(SdkCall::ReleaseWxpayface),
            SdkCallKind::ReportPaycode => $wrap!(SdkCall::ReportPaycode {
                auth_code: $m.credential.clone(),
            }),
        }
    };
}

/// The `BackendCall` for `kind` from the machine `$m`'s data, handed to `$wrap` as
/// [`sdk_call!`] does.
macro_rules! backend_call {
    ($m:expr, $kind:expr, $wrap:ident) => {
        match $kind {
            BackendKind::AuthInfo => $wrap!(BackendCall::GetAuthInfo {
                rawdata: $m.rawdata.clone(),
            }),
            BackendKind::Submit => $wrap!(BackendCall::Submit {
                api: $m.pay_api(),
                out_trade_no: $m.order.out_trade_no.clone(),
                total_fee: $m.order.total_fee,
                // micropay takes the 18-digit code (a scanned one, or a face_code of
                // face_code_type 1) as `auth_code`; facepay takes face_code and openid.
                credential: match $m.pay_api() {
                    PayApi::Micropay => PayCredential::AuthCode($m.credential.clone()),
                    PayApi::Facepay => PayCredential::FaceCode {
                        face_code: $m.credential.clone(),
                        openid: $m.payer_openid.clone(),
                    },
                },
            }),
            BackendKind::Query => $wrap!(BackendCall::Query {
                api: $m.pay_api(),
                out_trade_no: $m.order.out_trade_no.clone(),
            }),
            BackendKind::Reverse => $wrap!(BackendCall::Reverse {
                api: $m.pay_api(),
                out_trade_no: $m.order.out_trade_no.clone(),
                attempt: $m.reverse_attempts,
            }),
        }
    };
}

/// What drives one step: an input event, or a timer that came due.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stimulus<'a> {
    Event(&'a Event),
    Timer(Timer),
    /// Continue an order from the journal after a power loss.
    Resume(&'a JournalRecord),
}

/// Everything a step may touch besides the shared storage: the time, the outbox, the
/// timer table, and the state the step started in (for diagnostics).
pub(crate) struct Effects<'a> {
    pub(crate) now: Instant,
    pub(crate) state: StateId,
    pub(crate) out: &'a mut Outbox,
    pub(crate) timers: &'a mut Timers,
}

/// What pays for the current order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    None,
    FaceCode,
    /// A payment code the cashier app handed over (or the journal's micropay order).
    AuthCode,
    /// A payment code the face app's own scanner read: it expects `reportPaycode`.
    ScannedCode,
}

/// The outcome of one authorisation step (rawdata or authinfo).
pub(crate) enum AuthStep {
    Done,
    Failed,
    SdkDown,
}

/// What settling the current order has learnt that its budgets do not say. Reset with
/// every order; not journalled (after a power loss the order is settled from the budgets
/// alone, read conservatively: a recorded reverse attempt counts as unanswered).
#[derive(Clone, Debug, Default)]
pub(crate) struct Settlement {
    /// The order failed for good (a final decline, or a query's PAYERROR) and is being
    /// reversed to close it (`Policy::close_declined_orders`): once the reverse is
    /// confirmed, refused or out of budget, it concludes NotPaid with this reason.
    pub(crate) closing: Option<Reason>,
    /// The last reverse answered SYSTEMERROR: query the order before reversing again.
    pub(crate) verify_reverse: bool,
    /// A reverse went unanswered (timeout, transport error): it may still reach WeChat
    /// and undo a payment, so a later SUCCESS is no longer this terminal's to conclude.
    pub(crate) reverse_unanswered: bool,
}

/// The session's shared storage: configuration, the cached authinfo, the current (or
/// last) order and the outstanding calls.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) policy: Policy,
    /// The installed face app's version as the host reported it (`FaceAppVersion`).
    pub(crate) face_app: Option<SdkVersion>,
    pub(crate) init: InitParams,
    pub(crate) merchant: Merchant,
    pub(crate) authinfo: AuthInfo,
    /// From this time the authinfo is due for its background refresh (and no longer
    /// counts as fresh): its expiry less the refresh margin.
    pub(crate) auth_refresh_at: Instant,
    pub(crate) rawdata: RawData,
    pub(crate) order: OrderRequest,
    pub(crate) credential: FaceCode,
    pub(crate) credential_kind: CredentialKind,
    pub(crate) payer_openid: OpenId,
    pub(crate) submitted_at: Instant,
    pub(crate) queries: u8,
    pub(crate) reverse_attempts: u8,
    /// The last reverse answer was USERPAYING: wait at least a poll interval.
    pub(crate) reverse_user_paying: bool,
    /// A query saw the order not paid yet (NOTPAY, USERPAYING, ACCEPT, ORDERNOTEXIST): it
    /// cannot have concluded Paid before.
    pub(crate) seen_unpaid: bool,
    pub(crate) settlement: Settlement,
    pub(crate) auth_retried: bool,
    /// The face service must be started again once the order is done.
    pub(crate) sdk_lost: bool,
    /// `Start` was accepted (false in a session resumed from the journal until it is).
    pub(crate) started: bool,
    /// The current order was submitted: money may have moved, so it is journalled.
    pub(crate) submitted: bool,
    pub(crate) conclusion: Conclusion,
    pub(crate) user_request: UserInfoRequest,
    pub(crate) user: UserInfo,
    pub(crate) sdk_waiting: Option<(u32, SdkCallKind)>,
    pub(crate) backend_waiting: Option<(u32, BackendKind)>,
    pub(crate) next_id: u32,
    pub(crate) init_attempt: u8,
}

impl Machine {
    #[inline(always)]
    pub(crate) fn new(policy: Policy) -> Self {
        Machine {
            policy,
            face_app: None,
            init: InitParams::default(),
            merchant: Merchant::default(),
            authinfo: AuthInfo::empty(),
            auth_refresh_at: Instant(0),
            rawdata: RawData::empty(),
            order: OrderRequest::new(OutTradeNo::empty(), 0, FaceCodeType::Micropay),
            credential: FaceCode::empty(),
            credential_kind: CredentialKind::None,
            payer_openid: OpenId::empty(),
            submitted_at: Instant(0),
            queries: 0,
            reverse_attempts: 0,
            reverse_user_paying: false,
            seen_unpaid: false,
            settlement: Settlement::default(),
            auth_retried: false,
            sdk_lost: false,
            started: false,
            submitted: false,
            conclusion: Conclusion {
                out_trade_no: OutTradeNo::empty(),
                outcome: Outcome::NotPaid,
                reason: Reason::CashierCancelled,
                transaction_id: TransactionId::empty(),
            },
            user_request: UserInfoRequest {
                face_authtype: FaceAuthType::FaceidOnce,
                auth_mode_jump: false,
                ask_unionid: false,
                screen_index: crate::text::ScreenIndex::empty(),
            },
            user: UserInfo::default(),
            sdk_waiting: None,
            backend_waiting: None,
            next_id: 1,
            init_attempt: 0,
        }
    }

    fn take_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// Issues an SDK call and waits for its answer until `deadline`.
    pub(crate) fn call_sdk(&mut self, fx: &mut Effects<'_>, kind: SdkCallKind, deadline: Duration) {
        let id = self.take_id();
        fx.out.push(Queued::Sdk(PackedId::new(id), kind));
        self.sdk_waiting = Some((id, kind));
        fx.timers.arm(Timer::SdkDeadline, fx.now + deadline);
    }

    /// Issues an SDK call whose answer nobody waits for (stopCodeScanner, stopWxpayface).
    pub(crate) fn fire_sdk(&mut self, fx: &mut Effects<'_>, kind: SdkCallKind) {
        let id = self.take_id();
        fx.out.push(Queued::Sdk(PackedId::new(id), kind));
    }

    /// Issues a backend call and waits for its answer until the backend deadline.
    pub(crate) fn call_backend(&mut self, fx: &mut Effects<'_>, kind: BackendKind) {
        let id = self.take_id();
        fx.out.push(Queued::Backend(PackedId::new(id), kind));
        self.backend_waiting = Some((id, kind));
        fx.timers
            .arm(Timer::BackendDeadline, fx.now + self.policy.settings().backend_deadline);
    }

    /// True when `id` answers the outstanding SDK call of this kind.
    pub(crate) fn awaits_sdk(&self, id: RequestId, kind: SdkCallKind) -> bool {
        self.sdk_waiting == Some((id.0, kind))
    }

    /// True when `id` answers the outstanding backend call of this kind.
    pub(crate) fn awaits_backend(&self, id: RequestId, kind: BackendKind) -> bool {
        self.backend_waiting == Some((id.0, kind))
    }

    /// The outstanding SDK call is answered (or abandoned).
    pub(crate) fn sdk_done(&mut self, fx: &mut Effects<'_>) {
        self.sdk_waiting = None;
        fx.timers.disarm(Timer::SdkDeadline);
    }

    /// The outstanding backend call is answered (or abandoned).
    pub(crate) fn backend_done(&mut self, fx: &mut Effects<'_>) {
        self.backend_waiting = None;
        fx.timers.disarm(Timer::BackendDeadline);
    }

    /// Every transition abandons what the old state waited for, so a late answer is
    /// recognised as stale and a stale timer never reaches the new state.
    pub(crate) fn abandon_waits(&mut self, fx: &mut Effects<'_>) {
        self.sdk_done(fx);
        self.backend_done(fx);
        fx.timers.disarm(Timer::Wake);
    }

    pub(crate) fn notify(&self, fx: &mut Effects<'_>, kind: NoticeKind) {
        fx.out.push(Queued::Notice(kind));
    }

    pub(crate) fn diagnose(&self, fx: &mut Effects<'_>, kind: DiagnosticKind) {
        fx.out.push(Queued::Diagnostic(fx.state, Note::pack(kind)));
    }

    pub(crate) fn refuse(&self, fx: &mut Effects<'_>, why: Refusal) {
        self.diagnose(fx, DiagnosticKind::Refused(why));
    }

    /// The face app's version: as the host reported it, else the `Policy` fallback.
    pub(crate) fn sdk_version(&self) -> SdkVersion {
        self.face_app.unwrap_or(self.policy.settings().sdk_version)
    }

    /// The authinfo can be used now and will not expire within the refresh margin.
    pub(crate) fn authinfo_fresh(&self, now: Instant) -> bool {
        !self.authinfo.is_empty() && now < self.auth_refresh_at
    }

    /// The current order was resumed from a damaged journal record (its amount, 0, is
    /// unknown: see `JournalRecord::is_salvaged`): it may have concluded Paid, and the
    /// goods been handed over, before the power went.
    pub(crate) fn salvaged(&self) -> bool {
        self.order.total_fee == 0
    }

    /// Why a query's SUCCESS is not this order's payment, if it is not (see
    /// [`crate::event::QueryAnswer::mismatch`]). An order salvaged from a torn record has no amount
    /// to check against; it never concludes Paid anyway.
    pub(crate) fn payment_mismatch(&self, a: &crate::event::QueryAnswer) -> Option<crate::event::PaymentMismatch> {
        if self.salvaged() {
            return None;
        }
        let tolerance = u64::from(self.policy.settings().clock_tolerance.0) / 1000;
        a.mismatch(
            self.order.total_fee,
            &self.payer_openid,
            self.order.time_start,
            tolerance,
        )
    }

    /// True when `credential` is the one the previous order was submitted with.
    pub(crate) fn is_reused(&self, credential: &str) -> bool {
        !self.credential.is_empty() && self.credential.as_str() == credential
    }

    /// Arms the background refresh: ahead of expiry for a fresh authinfo; otherwise now,
    /// unless a retry after a failed fetch is already armed.
    pub(crate) fn arm_auth_refresh(&self, fx: &mut Effects<'_>) {
        if self.authinfo_fresh(fx.now) {
            fx.timers.arm(Timer::AuthRefresh, self.auth_refresh_at);
        } else if fx.timers.get(Timer::AuthRefresh).is_none() {
            fx.timers.arm(Timer::AuthRefresh, fx.now);
        }
    }

    /// A fetch failed: try again after the retry delay (the timer survives transitions).
    pub(crate) fn auth_failed(&mut self, fx: &mut Effects<'_>) {
        fx.timers
            .arm(Timer::AuthRefresh, fx.now + self.policy.settings().auth_retry_delay);
    }

    /// The face app rejected the authinfo (271382020): never use it again; refresh at once.
    pub(crate) fn invalidate_authinfo(&mut self, fx: &mut Effects<'_>) {
        self.auth_refresh_at = Instant(0);
        fx.timers.arm(Timer::AuthRefresh, fx.now);
    }

    /// Accepts the SDK and merchant settings of `Start`, or refuses them.
    pub(crate) fn accept_start(&mut self, fx: &mut Effects<'_>, init: &InitParams, merchant: &Merchant) -> bool {
        if let Err(e) = init.validate().and_then(|()| merchant.validate()) {
            self.diagnose(fx, DiagnosticKind::InvalidRequest(e));
            return false;
        }
        self.init = init.clone();
        self.merchant = merchant.clone();
        self.init_attempt = 1;
        self.started = true;
        true
    }

    /// Accepts a new order, or refuses it; resets everything per-order.
    pub(crate) fn accept_order(&mut self, fx: &mut Effects<'_>, req: &OrderRequest) -> bool {
        if let Err(e) = req.validate() {
            self.diagnose(fx, DiagnosticKind::InvalidRequest(e));
            return false;
        }
        // A second submit under the last order's number would be a second charge attempt
        // for the same order; the backend's OUT_TRADE_NO_USED is a safety net, not a plan.
        if self.submitted && req.out_trade_no == self.order.out_trade_no {
            self.refuse(fx, Refusal::OrderAlreadySubmitted);
            return false;
        }
        self.order = req.clone();
        // `credential` keeps the last order's until a new one is taken, so that a
        // credential handed back twice is recognised (see `is_reused`).
        self.credential_kind = CredentialKind::None;
        self.payer_openid = OpenId::empty();
        self.queries = 0;
        self.reverse_attempts = 0;
        self.auth_retried = false;
        self.reverse_user_paying = false;
        self.seen_unpaid = false;
        self.settlement = Settlement::default();
        self.sdk_lost = false;
        self.submitted = false;
        self.conclusion.transaction_id = TransactionId::empty();
        true
    }

    /// Takes over an order from the journal: it was submitted, so it is settled by the
    /// same rules and budgets, counting the time the record says was spent. The face
    /// service is down after a restart; it is started once the app sends `Start`.
    pub(crate) fn accept_resume(&mut self, fx: &mut Effects<'_>, r: &JournalRecord) {
        self.order = OrderRequest::new(
            r.out_trade_no.clone(),
            r.total_fee,
            match r.api {
                PayApi::Facepay => FaceCodeType::Facepay,
                PayApi::Micropay => FaceCodeType::Micropay,
            },
        );
        self.credential = FaceCode::empty();
        self.credential_kind = match r.api {
            PayApi::Facepay => CredentialKind::FaceCode,
            PayApi::Micropay => CredentialKind::AuthCode,
        };
        self.submitted = true;
        self.submitted_at = Instant(fx.now.0.saturating_sub(u64::from(r.elapsed_ms)));
        self.queries = r.queries;
        self.reverse_attempts = r.reverse_attempts;
        self.reverse_user_paying = false;
        self.seen_unpaid = false;
        self.settlement = Settlement {
            // A recorded reverse may have left, and its answer died with the power: it
            // may still reach WeChat and undo a payment a later query shows.
            reverse_unanswered: r.reverse_attempts > 0,
            ..Settlement::default()
        };
        self.sdk_lost = true;
        self.conclusion.transaction_id = TransactionId::empty();
    }

    /// Queues a journal record for the current order.
    pub(crate) fn persist(&self, fx: &mut Effects<'_>, phase: JournalPhase) {
        fx.out.push(Queued::Persist(phase));
    }

    /// Records how the order ended and tells the app. The caller picks the next state
    /// (normally [`Machine::after_order`]).
    pub(crate) fn record_conclusion(&mut self, fx: &mut Effects<'_>, outcome: Outcome, reason: Reason) {
        self.conclusion.out_trade_no.clone_from(&self.order.out_trade_no);
        self.conclusion.outcome = outcome;
        self.conclusion.reason = reason;
        if self.submitted {
            self.persist(fx, JournalPhase::Concluded(outcome));
        }
        self.notify(fx, NoticeKind::OrderConcluded);
    }

    /// The API family for the current order's credential.
    pub(crate) fn pay_api(&self) -> PayApi {
        match (self.credential_kind, self.order.face_code_type) {
            (CredentialKind::FaceCode, FaceCodeType::Facepay) => PayApi::Facepay,
            _ => PayApi::Micropay,
        }
    }

    /// Reads an SDK answer for the rawdata step of authorisation.
    pub(crate) fn rawdata_step(&mut self, fx: &mut Effects<'_>, stimulus: &Stimulus<'_>) -> Option<AuthStep> {
        const KIND: SdkCallKind = SdkCallKind::GetWxpayfaceRawdata;
        match stimulus {
            Stimulus::Event(Event::Sdk(SdkEvent::Rawdata { id, status, rawdata })) if self.awaits_sdk(*id, KIND) => {
                self.sdk_done(fx);
                Some(match status.class() {
                    SdkClass::Success if !rawdata.is_empty() => {
                        self.rawdata.clone_from(rawdata);
                        AuthStep::Done
                    }
                    SdkClass::ServiceDown | SdkClass::ServiceStarting => AuthStep::SdkDown,
                    _ => AuthStep::Failed,
                })
            }
            Stimulus::Event(Event::Sdk(SdkEvent::Unreadable { id, call, .. })) if self.awaits_sdk(*id, KIND) => {
                self.sdk_done(fx);
                self.diagnose(fx, DiagnosticKind::UnreadableAnswer(*call));
                Some(AuthStep::Failed)
            }
            Stimulus::Timer(Timer::SdkDeadline) => Some(AuthStep::Failed),
            _ => None,
        }
    }

    /// Reads a backend answer for the authinfo step of authorisation.
    pub(crate) fn authinfo_step(&mut self, fx: &mut Effects<'_>, stimulus: &Stimulus<'_>) -> Option<AuthStep> {
        match stimulus {
            Stimulus::Event(Event::Backend(crate::event::BackendEvent::AuthInfo { id, answer }))
                if self.awaits_backend(*id, BackendKind::AuthInfo) =>
            {
                self.backend_done(fx);
                Some(match answer {
                    Ok(a)
                        if a.return_code == crate::codes::ReturnCode::Success
                            && !a.authinfo.is_empty()
                            && a.expires_in > 0 =>
                    {
                        self.authinfo.clone_from(&a.authinfo);
                        self.auth_refresh_at =
                            fx.now + refresh_after(a.expires_in, self.policy.settings().auth_refresh_margin);
                        AuthStep::Done
                    }
                    _ => AuthStep::Failed,
                })
            }
            Stimulus::Timer(Timer::BackendDeadline) => Some(AuthStep::Failed),
            _ => None,
        }
    }

    /// The root of the chart: whatever no state handled. App requests are refused with the
    /// reason that fits the state; answers nobody waits for are stale; stray timers and a
    /// service loss nobody cares about are dropped.
    pub(crate) fn unhandled(&self, fx: &mut Effects<'_>, stimulus: &Stimulus<'_>) {
        let state = fx.state;
        match stimulus {
            Stimulus::Event(Event::App(app)) => {
                let why = match app {
                    _ if matches!(state, StateId::Releasing | StateId::Released) => Refusal::Released,
                    AppEvent::Start { .. } if !state.is_offline() => Refusal::AlreadyStarted,
                    AppEvent::Start { .. } => Refusal::Busy,
                    _ if state.is_settling() => Refusal::Settling,
                    AppEvent::Cancel => Refusal::NothingToCancel,
                    _ if state.is_offline() => Refusal::NotStarted,
                    AppEvent::IdentifyUser(_) if state == StateId::Idle => Refusal::NotAuthorised,
                    _ => Refusal::Busy,
                };
                self.refuse(fx, why);
            }
            Stimulus::Event(Event::Sdk(sdk)) => {
                let id = match sdk {
                    SdkEvent::Initialised { id, .. }
                    | SdkEvent::Rawdata { id, .. }
                    | SdkEvent::FaceCode { id, .. }
                    | SdkEvent::UserInfo { id, .. }
                    | SdkEvent::CodeScanned { id, .. }
                    | SdkEvent::PayResultUpdated { id, .. }
                    | SdkEvent::Released { id, .. }
                    | SdkEvent::Unreadable { id, .. } => *id,
                    SdkEvent::ServiceLost => return,
                };
                self.diagnose(fx, DiagnosticKind::StaleAnswer(id));
            }
            Stimulus::Event(Event::Backend(b)) => {
                let id = match b {
                    crate::event::BackendEvent::AuthInfo { id, .. }
                    | crate::event::BackendEvent::Submitted { id, .. }
                    | crate::event::BackendEvent::Queried { id, .. }
                    | crate::event::BackendEvent::Reversed { id, .. } => *id,
                };
                self.diagnose(fx, DiagnosticKind::StaleAnswer(id));
            }
            Stimulus::Timer(_) | Stimulus::Resume(_) => {}
        }
    }

    /// Builds the full command for a queued tag from the current data. Sound because the
    /// session refuses new input until the queue is drained, so the data cannot change
    /// between queueing and polling.
    // Kept out of line: inlined into `poll_command` it makes one huge frame there, and
    // the commands it returns come out measurably slower.
    #[inline(never)]
    pub(crate) fn materialize(&self, q: Queued, now: Instant) -> Command {
        match q {
            Queued::Sdk(id, kind) => {
                let id = RequestId(id.get());
                macro_rules! build {
                    ($call:expr) => {
                        Command::Sdk { id, call: $call }
                    };
                }
                sdk_call!(self, kind, build)
            }
            Queued::Backend(id, kind) => {
                let id = RequestId(id.get());
                macro_rules! build {
                    ($call:expr) => {
                        Command::Backend { id, call: $call }
                    };
                }
                backend_call!(self, kind, build)
            }
            Queued::Notice(kind) => Command::Notify(match kind.data_free() {
                Some(n) => n,
                None if kind == NoticeKind::UserIdentified => Notice::UserIdentified(self.user.clone()),
                None => Notice::OrderConcluded(self.conclusion.clone()),
            }),
            Queued::Diagnostic(state, note) => Command::Diagnostic(note.unpack(state)),
            Queued::Persist(phase) => Command::Persist(self.record(phase, now)),
        }
    }

    /// Builds the command for a queued tag where it stays, and lends it to `f`. Each kind
    /// of call is built whole in an arm of its own ([`sdk_call!`], [`backend_call!`]),
    /// so that the command is assembled in place instead of in temporaries that are
    /// copied (hundreds of bytes) into the result.
    #[inline(always)]
    pub(crate) fn lend<R>(&self, q: Queued, now: Instant, f: impl FnOnce(&Command) -> R) -> R {
        match q {
            Queued::Sdk(id, kind) => self.lend_sdk(RequestId(id.get()), kind, f),
            Queued::Backend(id, kind) => self.lend_backend(RequestId(id.get()), kind, f),
            Queued::Notice(kind) => self.lend_notice(kind, f),
            Queued::Diagnostic(state, note) => f(&Command::Diagnostic(note.unpack(state))),
            Queued::Persist(phase) => self.lend_record(phase, now, f),
        }
    }

    #[inline(never)]
    fn lend_notice<R>(&self, kind: NoticeKind, f: impl FnOnce(&Command) -> R) -> R {
        let c = Command::Notify(match kind.data_free() {
            Some(n) => n,
            None if kind == NoticeKind::UserIdentified => Notice::UserIdentified(self.user.clone()),
            None => Notice::OrderConcluded(self.conclusion.clone()),
        });
        f(&c)
    }

    #[inline(never)]
    fn lend_record<R>(&self, phase: JournalPhase, now: Instant, f: impl FnOnce(&Command) -> R) -> R {
        f(&Command::Persist(self.record(phase, now)))
    }

    /// The journal record of the current order, in `phase`, at `now`.
    #[inline]
    pub(crate) fn record(&self, phase: JournalPhase, now: Instant) -> JournalRecord {
        JournalRecord {
            version: JOURNAL_VERSION,
            out_trade_no: self.order.out_trade_no.clone(),
            api: self.pay_api(),
            total_fee: self.order.total_fee,
            phase,
            elapsed_ms: u32::try_from(now.since(self.submitted_at)).unwrap_or(u32::MAX),
            queries: self.queries,
            reverse_attempts: self.reverse_attempts,
        }
    }

    #[inline(never)]
    fn lend_sdk<R>(&self, id: RequestId, kind: SdkCallKind, f: impl FnOnce(&Command) -> R) -> R {
        macro_rules! lend {
            ($call:expr) => {
                f(&Command::Sdk { id, call: $call })
            };
        }
        sdk_call!(self, kind, lend)
    }

    #[inline(never)]
    fn lend_backend<R>(&self, id: RequestId, kind: BackendKind, f: impl FnOnce(&Command) -> R) -> R {
        macro_rules! lend {
            ($call:expr) => {
                f(&Command::Backend { id, call: $call })
            };
        }
        backend_call!(self, kind, lend)
    }
}

/// How long after a fetch an authinfo living `expires_in` seconds is refreshed: the margin
/// before its expiry, but never more than half its life. A backend that hands out short
/// lifetimes (at or under the margin) would otherwise have the terminal refetch at once,
/// in a loop, and refuse every member lookup as unauthorised.
pub(crate) fn refresh_after(expires_in: u32, margin: Duration) -> Duration {
    let life = u64::from(expires_in) * 1000;
    let margin = u64::from(margin.0).min(life / 2);
    Duration(u32::try_from(life - margin).unwrap_or(u32::MAX))
}
