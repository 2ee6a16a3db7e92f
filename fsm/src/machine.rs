//! The machine's shared storage and the small steps the chart is written in: issuing a
//! call, matching its answer, concluding an order. `chart.rs` holds the states themselves.

use crate::codes::SdkClass;
use crate::command::{
    BackendCall, Command, Conclusion, DiagnosticKind, FaceCodeRequest, Notice, Outcome, PayApi, PayCredential,
    PayResult, PayResultCall, Reason, Refusal, SdkCall, UserInfoCall,
};
use crate::config::{FaceAuthType, InitParams, Merchant, OrderRequest, UserInfoRequest};
use crate::event::{AppEvent, Event, RequestId, SdkCallKind, SdkEvent, UserInfo};
use crate::journal::{JOURNAL_VERSION, JournalPhase, JournalRecord};
use crate::order::Order;
use crate::outbox::{BackendKind, Note, NoticeKind, Outbox, PackedId, Queued};
use crate::policy::{Policy, SdkVersion};
use crate::state::StateId;
use crate::text::{AuthInfo, FaceCode, OutTradeNo, RawData, TransactionId};
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
                out_trade_no: $m.order.request.out_trade_no.clone(),
                total_fee: $m.order.request.total_fee,
                face_code_type: $m.order.request.face_code_type,
                face_authtype: $m.order.request.face_authtype,
                authinfo: $m.authinfo.clone(),
                telephone: $m.order.request.telephone.clone(),
                openid: $m.order.request.openid.clone(),
                ask_face_permit: $m.order.request.ask_face_permit,
                ask_ret_page: $m.order.request.ask_ret_page,
                ignore_update_pay_result: $m.order.request.ignore_update_pay_result,
                screen_index: $m.order.request.screen_index.clone(),
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
                api: $m.order.pay_api(),
                out_trade_no: $m.order.request.out_trade_no.clone(),
                total_fee: $m.order.request.total_fee,
                // micropay takes the 18-digit code (a scanned one, or a face_code of
                // face_code_type 1) as `auth_code`; facepay takes face_code and openid.
                credential: match $m.order.pay_api() {
                    PayApi::Micropay => PayCredential::AuthCode($m.credential.clone()),
                    PayApi::Facepay => PayCredential::FaceCode {
                        face_code: $m.credential.clone(),
                        openid: $m.order.payer_openid.clone(),
                    },
                },
            }),
            BackendKind::Query => $wrap!(BackendCall::Query {
                api: $m.order.pay_api(),
                out_trade_no: $m.order.request.out_trade_no.clone(),
            }),
            BackendKind::Reverse => $wrap!(BackendCall::Reverse {
                api: $m.order.pay_api(),
                out_trade_no: $m.order.request.out_trade_no.clone(),
                attempt: $m.order.settlement.as_ref().map_or(0, |s| s.reverse_attempts),
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
    /// The host could not write the journal record of this phase (`Session::persisted`).
    /// The commands queued after it are still held in the outbox.
    PersistFailed(JournalPhase),
}

/// Everything a step may touch besides the shared storage: the time, the outbox, the
/// timer table, and the state the step started in (for diagnostics).
pub(crate) struct Effects<'a> {
    pub(crate) now: Instant,
    pub(crate) state: StateId,
    pub(crate) out: &'a mut Outbox,
    pub(crate) timers: &'a mut Timers,
}

/// The outcome of one authorisation step (rawdata or authinfo).
pub(crate) enum AuthStep {
    Done,
    Failed,
    SdkDown,
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
    /// The current order, or the last one between orders.
    pub(crate) order: Order,
    /// The credential the current or last order took. It outlives its order, so
    /// that a credential handed back twice is recognised (`is_reused`); the order's
    /// `credential_kind` says whether the current order has taken one.
    pub(crate) credential: FaceCode,
    /// `Start` was accepted (false in a session resumed from the journal until it is).
    pub(crate) started: bool,
    /// How the last order ended, built whole from it at the conclusion (the
    /// `OrderConcluded` notice is built from it when polled). It outlives the order:
    /// `Session::last_conclusion` reads it while the next one runs.
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
            order: Order::none(),
            credential: FaceCode::empty(),
            started: false,
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
    /// recognised as stale and a stale timer never reaches the new state: the open calls,
    /// and every state-scoped timer (`TimerScope::State`, which includes the calls'
    /// deadlines).
    pub(crate) fn abandon_waits(&mut self, fx: &mut Effects<'_>) {
        self.sdk_waiting = None;
        self.backend_waiting = None;
        fx.timers.disarm_state_scoped();
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

    /// Why a query's SUCCESS is not this order's payment, if it is not (see
    /// [`crate::event::QueryAnswer::mismatch`]). An order salvaged from a torn record has no amount
    /// to check against; it never concludes Paid anyway.
    pub(crate) fn payment_mismatch(&self, a: &crate::event::QueryAnswer) -> Option<crate::event::PaymentMismatch> {
        if self.order.salvaged() {
            return None;
        }
        let tolerance = u64::from(self.policy.settings().clock_tolerance.0) / 1000;
        a.mismatch(
            self.order.request.total_fee,
            &self.order.payer_openid,
            self.order.request.time_start,
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

    /// Accepts a new order, or refuses it; the accepted order replaces the last one whole.
    pub(crate) fn accept_order(&mut self, fx: &mut Effects<'_>, req: &OrderRequest) -> bool {
        if let Err(e) = req.validate() {
            self.diagnose(fx, DiagnosticKind::InvalidRequest(e));
            return false;
        }
        // A second submit under the last order's number would be a second charge attempt
        // for the same order; the backend's OUT_TRADE_NO_USED is a safety net, not a plan.
        if self.order.submitted() && req.out_trade_no == self.order.request.out_trade_no {
            self.refuse(fx, Refusal::OrderAlreadySubmitted);
            return false;
        }
        self.order = Order::requested(req.clone());
        true
    }

    /// Takes over an order from the journal (see [`Order::resumed`]). Its credential was
    /// not journalled. The face service is started once the app sends `Start`.
    pub(crate) fn accept_resume(&mut self, fx: &mut Effects<'_>, r: &JournalRecord) {
        self.order = Order::resumed(r, fx.now);
        self.credential = FaceCode::empty();
    }

    /// Queues a journal record for the current order.
    pub(crate) fn persist(&self, fx: &mut Effects<'_>, phase: JournalPhase) {
        fx.out.push(Queued::Persist(phase));
    }

    /// Records how the order ended and tells the app. The caller picks the next state
    /// (normally [`Machine::after_order`]).
    pub(crate) fn record_conclusion(&mut self, fx: &mut Effects<'_>, outcome: Outcome, reason: Reason) {
        self.conclusion = Conclusion {
            out_trade_no: self.order.request.out_trade_no.clone(),
            outcome,
            reason,
            transaction_id: self.order.transaction_id.clone(),
        };
        if self.order.submitted() {
            self.persist(fx, JournalPhase::Concluded(outcome));
        }
        self.notify(fx, NoticeKind::OrderConcluded);
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
            // A record written after the submit (or by a resume): money may have moved,
            // so the held commands still go out; the host hears that its journal is behind.
            Stimulus::PersistFailed(_) => self.diagnose(fx, DiagnosticKind::JournalStale),
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
        // Persist is queued only for a submitted order, so the settlement is there; an
        // unsubmitted one would read as just submitted.
        let (submitted_at, queries, reverse_attempts) = self
            .order
            .settlement
            .as_ref()
            .map_or((now, 0, 0), |s| (s.submitted_at, s.queries, s.reverse_attempts));
        JournalRecord {
            version: JOURNAL_VERSION,
            out_trade_no: self.order.request.out_trade_no.clone(),
            api: self.order.pay_api(),
            total_fee: self.order.request.total_fee,
            phase,
            elapsed_ms: u32::try_from(now.since(submitted_at)).unwrap_or(u32::MAX),
            queries,
            reverse_attempts,
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
