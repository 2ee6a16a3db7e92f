//! Outputs: what the machine asks the host to do, and what it tells the host.

use core::fmt;

use crate::codes::{PayErrCode, ReverseErrCode, SdkReturnCode, TradeState};
use crate::config::{FaceAuthType, FaceCodeType, InitParams, Merchant};
use crate::event::{RequestId, SdkCallKind, UserInfo};
use crate::state::StateId;
use crate::text::{AuthCode, AuthInfo, FaceCode, OpenId, OutTradeNo, RawData, ScreenIndex, Telephone, TransactionId};

/// One thing the host must do or hear. Drain them with `Session::poll_command` after every
/// `handle` / `handle_timeout`, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Command {
    /// Call the WxPayFace SDK; feed its callback back as an [`crate::SdkEvent`] with `id`.
    Sdk {
        /// Hand this back with the answer.
        id: RequestId,
        /// The call.
        call: SdkCall,
    },
    /// Call the merchant's backend (which signs and sends the v2 request); feed the answer
    /// back as a [`crate::BackendEvent`] with `id`.
    Backend {
        /// Hand this back with the answer.
        id: RequestId,
        /// The call.
        call: BackendCall,
    },
    /// Tell the cashier app (UI, receipt printer, order system).
    Notify(Notice),
    /// Something did not make sense; log it. The machine has already done the safe thing.
    Diagnostic(Diagnostic),
    /// Write this record durably (replacing the previous one) **before** executing the next
    /// command; after a power loss, resume with it (`Session::resume`). A concluded record
    /// means the journal may be cleared. With the persist handshake on
    /// (`Session::await_persist_acks`), the commands after it are held until the host
    /// reports the write with `Session::persisted`.
    Persist(crate::journal::JournalRecord),
}

impl Command {
    /// The reason an app request was turned away, if this command says so (a `Refused`
    /// or `InvalidRequest` diagnostic): the request did nothing, and its caller must be told.
    #[must_use]
    pub fn refusal(&self) -> Option<DiagnosticKind> {
        match self {
            Command::Diagnostic(d) if d.kind.turns_away() => Some(d.kind),
            _ => None,
        }
    }
}

/// A WxPayFace SDK call with every request key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum SdkCall {
    /// `initWxpayface(context, map, cb)`.
    InitWxpayface(InitParams),
    /// `getWxpayfaceRawdata(cb)`.
    GetWxpayfaceRawdata,
    /// `getWxpayfaceCode(map, cb)`.
    GetWxpayfaceCode(FaceCodeRequest),
    /// `getWxpayfaceUserInfo(map, cb)`.
    GetWxpayfaceUserInfo(UserInfoCall),
    /// `startCodeScanner(cb)`: the callback may fire once per scan.
    StartCodeScanner,
    /// `stopCodeScanner()`: no answer expected.
    StopCodeScanner,
    /// `stopWxpayface(map, cb)`: stops a running `getWxpayfaceUserInfo`; no answer needed.
    StopWxpayface {
        /// `authinfo`.
        authinfo: AuthInfo,
    },
    /// `updateWxpayfacePayResult(map, cb)`.
    UpdateWxpayfacePayResult(PayResultCall),
    /// `releaseWxpayface(context)`.
    ReleaseWxpayface,
    /// `reportPaycode(map, cb)`: tells the face app that the payment code its scanner
    /// read paid the order (docs/protocol.md §sdk-calls); no answer needed.
    ReportPaycode {
        /// `auth_code`.
        auth_code: AuthCode,
    },
}

impl SdkCall {
    /// Which call this is.
    pub fn kind(&self) -> SdkCallKind {
        match self {
            SdkCall::InitWxpayface(_) => SdkCallKind::InitWxpayface,
            SdkCall::GetWxpayfaceRawdata => SdkCallKind::GetWxpayfaceRawdata,
            SdkCall::GetWxpayfaceCode(_) => SdkCallKind::GetWxpayfaceCode,
            SdkCall::GetWxpayfaceUserInfo(_) => SdkCallKind::GetWxpayfaceUserInfo,
            SdkCall::StartCodeScanner => SdkCallKind::StartCodeScanner,
            SdkCall::StopCodeScanner => SdkCallKind::StopCodeScanner,
            SdkCall::StopWxpayface { .. } => SdkCallKind::StopWxpayface,
            SdkCall::UpdateWxpayfacePayResult(_) => SdkCallKind::UpdateWxpayfacePayResult,
            SdkCall::ReleaseWxpayface => SdkCallKind::ReleaseWxpayface,
            SdkCall::ReportPaycode { .. } => SdkCallKind::ReportPaycode,
        }
    }
}

/// Every request key of `getWxpayfaceCode` (docs/protocol.md §face-code-request). Empty strings are left out of
/// the map.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FaceCodeRequest {
    /// appid, mch_id, sub_appid, sub_mch_id, store_id.
    pub merchant: Merchant,
    /// `out_trade_no`.
    pub out_trade_no: OutTradeNo,
    /// `total_fee` in fen.
    pub total_fee: u32,
    /// `face_code_type`.
    pub face_code_type: FaceCodeType,
    /// `face_authtype`.
    pub face_authtype: FaceAuthType,
    /// `authinfo`.
    pub authinfo: AuthInfo,
    /// `telephone`.
    pub telephone: Telephone,
    /// `openid`.
    pub openid: OpenId,
    /// `ask_face_permit`: "1" / "0".
    pub ask_face_permit: bool,
    /// `ask_ret_page`: "1" / "0".
    pub ask_ret_page: bool,
    /// `ignore_update_pay_result`: "1" / "0".
    pub ignore_update_pay_result: bool,
    /// `screen_index`.
    pub screen_index: ScreenIndex,
}

/// Every request key of `getWxpayfaceUserInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UserInfoCall {
    /// appid, mch_id, sub_appid, sub_mch_id, store_id.
    pub merchant: Merchant,
    /// `face_authtype`: FACEID-ONCE or FACEID-LOOP.
    pub face_authtype: FaceAuthType,
    /// `authinfo`.
    pub authinfo: AuthInfo,
    /// `auth_mode`: "1" jump to the authorisation page, "0" not.
    pub auth_mode_jump: bool,
    /// `ask_unionid`.
    pub ask_unionid: bool,
    /// `screen_index`.
    pub screen_index: ScreenIndex,
}

/// `payresult` of `updateWxpayfacePayResult`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PayResult {
    /// `SUCCESS`: only after the backend confirmed the payment.
    #[cfg_attr(feature = "serde", serde(rename = "SUCCESS"))]
    Success,
    /// `ERROR`: anything else.
    #[cfg_attr(feature = "serde", serde(rename = "ERROR"))]
    Error,
}

impl PayResult {
    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            PayResult::Success => "SUCCESS",
            PayResult::Error => "ERROR",
        }
    }
}

/// Every request key of `updateWxpayfacePayResult`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PayResultCall {
    /// appid, mch_id, sub_appid, sub_mch_id, store_id.
    pub merchant: Merchant,
    /// `authinfo`.
    pub authinfo: AuthInfo,
    /// `payresult`.
    pub payresult: PayResult,
}

/// Which family of v2 APIs settles an order, from the credential and `face_code_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PayApi {
    /// micropay, orderquery, reverse (face_code_type 1, or a scanned payment code).
    Micropay,
    /// facepay, facepayquery, facepayreverse (face_code_type 0).
    Facepay,
}

impl PayApi {
    /// The submit path.
    pub const fn submit_path(self) -> &'static str {
        match self {
            PayApi::Micropay => "/pay/micropay",
            PayApi::Facepay => "/pay/facepay",
        }
    }
    /// The query path.
    pub const fn query_path(self) -> &'static str {
        match self {
            PayApi::Micropay => "/pay/orderquery",
            PayApi::Facepay => "/pay/facepayquery",
        }
    }
    /// The reverse path (needs the API client certificate).
    pub const fn reverse_path(self) -> &'static str {
        match self {
            PayApi::Micropay => "/secapi/pay/reverse",
            PayApi::Facepay => "/secapi/pay/facepayreverse",
        }
    }
}

/// What pays: the face app's face_code, or a payment code read by the scanner.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PayCredential {
    /// `face_code` (with the `openid` facepay wants).
    FaceCode {
        /// `face_code`.
        face_code: FaceCode,
        /// `openid` from the same callback.
        openid: OpenId,
    },
    /// `auth_code`: an 18-digit payment code.
    AuthCode(AuthCode),
}

/// A call to the merchant's backend.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum BackendCall {
    /// `get_wxpayface_authinfo(rawdata)`.
    GetAuthInfo {
        /// `rawdata` from the SDK.
        rawdata: RawData,
    },
    /// micropay or facepay. Sent once per out_trade_no: the host must never retry it.
    Submit {
        /// Which API.
        api: PayApi,
        /// `out_trade_no`.
        out_trade_no: OutTradeNo,
        /// `total_fee` in fen.
        total_fee: u32,
        /// `face_code` or `auth_code`.
        credential: PayCredential,
    },
    /// orderquery or facepayquery.
    Query {
        /// Which API.
        api: PayApi,
        /// `out_trade_no`.
        out_trade_no: OutTradeNo,
    },
    /// reverse or facepayreverse.
    Reverse {
        /// Which API.
        api: PayApi,
        /// `out_trade_no`.
        out_trade_no: OutTradeNo,
        /// 1 for the first reverse call of this order. Bookkeeping for the host's logs,
        /// **not a v2 parameter**: a host must not put it in the request (WeChat answers
        /// an unknown key with return_code FAIL, "不识别的参数").
        attempt: u8,
    },
}

/// How an order ended. Every submitted order ends in exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Outcome {
    /// The backend confirmed the payment.
    Paid,
    /// A final answer proves the customer was not charged (or nothing was submitted).
    NotPaid,
    /// A confirmed reverse: any charge was undone.
    Reversed,
    /// Neither paid nor reversed could be proven: the host must persist the out_trade_no
    /// and a person must reconcile it with the merchant platform.
    NeedsReconciliation,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Paid => "Paid",
            Outcome::NotPaid => "NotPaid",
            Outcome::Reversed => "Reversed",
            Outcome::NeedsReconciliation => "NeedsReconciliation",
        })
    }
}

/// Why an order ended as it did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Reason {
    /// The submit answered SUCCESS.
    SubmitSucceeded,
    /// The submit answered a final failure.
    Declined(PayErrCode),
    /// A query answered a final trade_state.
    TradeState(TradeState),
    /// A query answered SUCCESS for an order that is not this one (another amount, payer
    /// or time): a person must look.
    PaymentMismatch(crate::event::PaymentMismatch),
    /// The reverse was confirmed.
    ReverseConfirmed,
    /// A query found the order paid after a reverse that went unanswered: that reverse
    /// may still reach WeChat and refund it. A person must look.
    PaidWhileReversing,
    /// Every reverse attempt failed or went unanswered.
    ReverseBudgetExhausted,
    /// The backend refused the reverse for good (REVERSE_EXPIRE and the like).
    ReverseRefused(ReverseErrCode),
    /// Resumed from a damaged journal record, and the queries found the order paid, or
    /// could not tell. The damaged record may have been its Paid conclusion, with the
    /// goods handed over (a reverse would refund them), or a reverse may still be on its
    /// way (and undo a Paid). A person must look it up: the transaction_id is kept if a
    /// query gave one.
    JournalDamaged,
    /// The user closed the face UI.
    UserCancelled,
    /// The cashier cancelled before anything was submitted.
    CashierCancelled,
    /// FACEPAY_NOT_AUTH: the merchant is not enabled for instant face pay.
    FacepayNotAuthorised,
    /// The authinfo was rejected twice (271382020), or could not be fetched.
    AuthInfoUnavailable,
    /// The face scan failed with this return_code.
    ScanFailed(SdkReturnCode),
    /// The face scan or the code scanner gave no usable answer in time.
    ScanTimedOut,
    /// The face scan's callback could not be read.
    UnreadableAnswer,
    /// The SDK or the scanner gave the credential the previous order was submitted with;
    /// it is never submitted twice.
    CredentialReused,
    /// The face service went away before anything was submitted.
    SdkLost,
    /// The cashier released the face service before anything was submitted.
    Released,
    /// The journal write before the submit failed (`Session::persisted` said so): the
    /// submit was never sent, so nothing was charged. The host must get its journal
    /// working before the next order; a submit it could not journal would be lost in a
    /// power loss.
    JournalUnavailable,
}

/// One form for every reason, as logs, verdicts and diagrams print it: the wire name of
/// the variant (as its serde form), followed by the code it carries, if any —
/// `reverse_confirmed`, `trade_state SUCCESS`, `declined NOTENOUGH`.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::SubmitSucceeded => f.write_str("submit_succeeded"),
            Reason::Declined(code) => write!(f, "declined {code}"),
            Reason::TradeState(state) => write!(f, "trade_state {state}"),
            Reason::PaymentMismatch(m) => write!(f, "payment_mismatch {}", m.as_str()),
            Reason::ReverseConfirmed => f.write_str("reverse_confirmed"),
            Reason::PaidWhileReversing => f.write_str("paid_while_reversing"),
            Reason::ReverseBudgetExhausted => f.write_str("reverse_budget_exhausted"),
            Reason::ReverseRefused(code) => write!(f, "reverse_refused {code}"),
            Reason::JournalDamaged => f.write_str("journal_damaged"),
            Reason::UserCancelled => f.write_str("user_cancelled"),
            Reason::CashierCancelled => f.write_str("cashier_cancelled"),
            Reason::FacepayNotAuthorised => f.write_str("facepay_not_authorised"),
            Reason::AuthInfoUnavailable => f.write_str("auth_info_unavailable"),
            Reason::ScanFailed(code) => write!(f, "scan_failed {code}"),
            Reason::ScanTimedOut => f.write_str("scan_timed_out"),
            Reason::UnreadableAnswer => f.write_str("unreadable_answer"),
            Reason::CredentialReused => f.write_str("credential_reused"),
            Reason::SdkLost => f.write_str("sdk_lost"),
            Reason::Released => f.write_str("released"),
            Reason::JournalUnavailable => f.write_str("journal_unavailable"),
        }
    }
}

/// The end of one order, as the cashier app hears it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Conclusion {
    /// The order.
    pub out_trade_no: OutTradeNo,
    /// The outcome.
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
    /// `transaction_id`, when the backend named one.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "TransactionId::is_empty"))]
    pub transaction_id: TransactionId,
}

/// What the cashier app hears.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Notice {
    /// The face service is up; orders may start.
    Ready,
    /// The face service could not be started; `Start` again later.
    SdkUnavailable,
    /// An order ended. Persist it before showing it; `NeedsReconciliation` must reach a person.
    OrderConcluded(Conclusion),
    /// A membership lookup found this member.
    UserIdentified(UserInfo),
    /// A membership lookup ended without a member.
    UserNotIdentified,
    /// The face service is released.
    Released,
    /// A journal record was found at start-up but could not be read, not even its
    /// out_trade_no: an order may have been charged. A person must reconcile the day's
    /// orders with the merchant platform.
    JournalUnreadable,
}

/// Something the machine refused or ignored, with the state it was in. Hosts log these;
/// a refusal of an app request also means the request did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Diagnostic {
    /// What happened.
    pub kind: DiagnosticKind,
    /// Where the machine was.
    pub state: StateId,
}

/// The kinds of [`Diagnostic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum DiagnosticKind {
    /// An answer for a request that is no longer outstanding (late, duplicate, or unknown
    /// id). Ignored: the machine already moved on safely.
    StaleAnswer(RequestId),
    /// An app request that this state refuses.
    Refused(Refusal),
    /// An app request with an invalid field.
    InvalidRequest(crate::text::FieldError),
    /// An SDK callback map that could not be read.
    UnreadableAnswer(SdkCallKind),
    /// The code scanner read something that is not an 18-digit payment code.
    NotAPaymentCode,
    /// `now` went backwards; the machine kept its later time.
    TimeWentBackwards,
    /// A journal write after the submit failed (`Session::persisted` said so): the
    /// order went on (money may have moved, so stopping would be worse), and the record
    /// on storage is older than the order. A power loss now resumes from the older record;
    /// the host must report it and repair its journal.
    JournalStale,
}

impl DiagnosticKind {
    /// True for the kinds that turn an app request away (`Refused`, `InvalidRequest`):
    /// the request changed nothing.
    #[must_use]
    pub const fn turns_away(&self) -> bool {
        matches!(self, DiagnosticKind::Refused(_) | DiagnosticKind::InvalidRequest(_))
    }
}

/// Why an app request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Refusal {
    /// The face service is not initialised (send `Start`).
    NotStarted,
    /// The face service is already started.
    AlreadyStarted,
    /// Another order or lookup is in progress.
    Busy,
    /// An order is settling: money may be moving, so nothing may interrupt it.
    Settling,
    /// There is nothing to cancel.
    NothingToCancel,
    /// No valid authinfo yet; the machine is fetching one, try again shortly.
    NotAuthorised,
    /// This out_trade_no was already submitted (the previous order): use a new one.
    OrderAlreadySubmitted,
    /// The face service is released or being released.
    Released,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::NotStarted => "the face service is not started",
            Refusal::AlreadyStarted => "the face service is already started",
            Refusal::Busy => "another order or lookup is in progress",
            Refusal::Settling => "an order is settling; money may be moving",
            Refusal::NothingToCancel => "there is nothing to cancel",
            Refusal::NotAuthorised => "no valid authinfo yet; try again shortly",
            Refusal::OrderAlreadySubmitted => "this out_trade_no was already submitted; use a new one",
            Refusal::Released => "the face service is released",
        })
    }
}
