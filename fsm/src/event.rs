//! Inputs: what the cashier app, the WxPayFace SDK and the merchant's backend tell the
//! machine. Every answer carries the [`RequestId`] of the command it answers, so late and
//! duplicate answers are recognised.

use core::fmt;

use crate::codes::{
    PayClass, PayErrCode, Recall, ResultCode, ReturnCode, ReverseClass, ReverseErrCode, SdkErrCode, SdkReturnCode,
    TradeClass, TradeState,
};
use crate::config::{InitParams, Merchant, OrderRequest, UserInfoRequest};
use crate::text::{
    AuthCode, AuthInfo, FaceCode, FaceSid, FieldError, Message, Nickname, OpenId, RawData, TransactionId,
};
use crate::wxtime::WxTime;

/// Names one command the machine issued; the host hands it back with the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct RequestId(pub u32);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Everything the machine reacts to, besides time.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Event {
    /// The cashier app asks for something.
    App(AppEvent),
    /// The WxPayFace SDK answered (or its service died).
    Sdk(SdkEvent),
    /// The merchant's backend answered a backend command (or failed to).
    Backend(BackendEvent),
}

/// Requests from the cashier app.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AppEvent {
    /// Bring the face service up (`initWxpayface`) for this merchant.
    Start {
        /// Proxy and performance settings.
        init: InitParams,
        /// The merchant identity the SDK calls carry.
        merchant: Merchant,
    },
    /// Take one payment.
    StartOrder(OrderRequest),
    /// Look a member up by face (no money).
    IdentifyUser(UserInfoRequest),
    /// The cashier abandons the current scan or lookup. Refused once money may move.
    Cancel,
    /// Shut the face service down (`releaseWxpayface`). Refused while an order settles.
    Release,
}

/// The common part of every SDK callback.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SdkStatus {
    /// `return_code`.
    pub return_code: SdkReturnCode,
    /// `err_code`, when present.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub err_code: Option<SdkErrCode>,
    /// `return_msg` (may be empty).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Message::is_empty"))]
    pub return_msg: Message,
}

impl SdkStatus {
    /// A plain `SUCCESS`.
    pub fn success() -> Self {
        SdkStatus {
            return_code: SdkReturnCode::Success,
            err_code: None,
            return_msg: Message::empty(),
        }
    }

    /// A `return_code` with no err_code.
    pub fn code(return_code: SdkReturnCode) -> Self {
        SdkStatus {
            return_code,
            err_code: None,
            return_msg: Message::empty(),
        }
    }

    /// A `return_code` with an err_code.
    pub fn with_err(return_code: SdkReturnCode, err_code: SdkErrCode) -> Self {
        SdkStatus {
            return_code,
            err_code: Some(err_code),
            return_msg: Message::empty(),
        }
    }

    /// The classification of this answer.
    pub fn class(&self) -> crate::codes::SdkClass {
        crate::codes::classify_sdk(&self.return_code, self.err_code.as_ref())
    }
}

/// The payload of a `getWxpayfaceCode` callback (docs/protocol.md §face-code-answer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct FaceCodeAnswer {
    /// `face_code`: the single-use payment credential.
    pub face_code: FaceCode,
    /// `openid`.
    pub openid: OpenId,
    /// `sub_openid` (service-provider mode).
    pub sub_openid: OpenId,
    /// `underage_state`: 0 unknown, 1 adult, 2 minor.
    pub underage_state: u8,
    /// `telephone_used`: whether the face_code used the request's telephone.
    pub telephone_used: bool,
    /// `face_sid` (FACE_AUTH only).
    pub face_sid: FaceSid,
}

/// The payload of a `getWxpayfaceUserInfo` callback.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct UserInfo {
    /// `openid`.
    pub openid: OpenId,
    /// `sub_openid`.
    pub sub_openid: OpenId,
    /// `nickname`.
    pub nickname: Nickname,
}

/// Which SDK call an answer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[allow(missing_docs)] // the SDK method of the same name
pub enum SdkCallKind {
    InitWxpayface,
    GetWxpayfaceRawdata,
    GetWxpayfaceCode,
    GetWxpayfaceUserInfo,
    StartCodeScanner,
    StopCodeScanner,
    StopWxpayface,
    UpdateWxpayfacePayResult,
    ReleaseWxpayface,
}

impl SdkCallKind {
    /// The SDK method name.
    pub const fn method(self) -> &'static str {
        match self {
            SdkCallKind::InitWxpayface => "initWxpayface",
            SdkCallKind::GetWxpayfaceRawdata => "getWxpayfaceRawdata",
            SdkCallKind::GetWxpayfaceCode => "getWxpayfaceCode",
            SdkCallKind::GetWxpayfaceUserInfo => "getWxpayfaceUserInfo",
            SdkCallKind::StartCodeScanner => "startCodeScanner",
            SdkCallKind::StopCodeScanner => "stopCodeScanner",
            SdkCallKind::StopWxpayface => "stopWxpayface",
            SdkCallKind::UpdateWxpayfacePayResult => "updateWxpayfacePayResult",
            SdkCallKind::ReleaseWxpayface => "releaseWxpayface",
        }
    }
}

/// Why an SDK callback map could not be read (the device layer's checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum AnswerError {
    /// The callback's map was null.
    NullMap,
    /// A required key was missing.
    MissingKey(crate::text::Field),
    /// A value was not a string (or a number where one is allowed).
    NotAString(crate::text::Field),
    /// A value was invalid UTF-16 or did not fit or parse.
    BadValue(FieldError),
    /// Reading the map itself failed (it threw, e.g. modified while being read).
    ReadFailed,
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::NullMap => f.write_str("the callback map is null"),
            AnswerError::MissingKey(k) => write!(f, "the callback map has no `{k}`"),
            AnswerError::NotAString(k) => write!(f, "`{k}` is not a string"),
            AnswerError::BadValue(e) => write!(f, "{e}"),
            AnswerError::ReadFailed => f.write_str("reading the callback map failed"),
        }
    }
}

/// Answers of the WxPayFace SDK, each naming the request it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum SdkEvent {
    /// `initWxpayface` answered.
    Initialised {
        /// The request answered.
        id: RequestId,
        /// Its status.
        status: SdkStatus,
    },
    /// `getWxpayfaceRawdata` answered.
    Rawdata {
        /// The request answered.
        id: RequestId,
        /// Its status.
        status: SdkStatus,
        /// `rawdata`, for `get_wxpayface_authinfo`.
        rawdata: RawData,
    },
    /// `getWxpayfaceCode` answered.
    FaceCode {
        /// The request answered.
        id: RequestId,
        /// Its status.
        status: SdkStatus,
        /// The face code and user, on success.
        answer: FaceCodeAnswer,
    },
    /// `getWxpayfaceUserInfo` answered.
    UserInfo {
        /// The request answered.
        id: RequestId,
        /// Its status.
        status: SdkStatus,
        /// The member, on success.
        user: UserInfo,
    },
    /// The code scanner read something (`startCodeScanner`'s callback; it may fire often).
    CodeScanned {
        /// The `startCodeScanner` request.
        id: RequestId,
        /// Its status.
        status: SdkStatus,
        /// `code_msg`: what was read.
        code: AuthCode,
    },
    /// `updateWxpayfacePayResult` answered.
    PayResultUpdated {
        /// The request answered.
        id: RequestId,
        /// Its status.
        status: SdkStatus,
    },
    /// `releaseWxpayface` finished.
    Released {
        /// The request answered.
        id: RequestId,
        /// Its status.
        status: SdkStatus,
    },
    /// A callback arrived whose map could not be read; treated as a failed answer.
    Unreadable {
        /// The request answered.
        id: RequestId,
        /// Which call.
        call: SdkCallKind,
        /// What was wrong.
        error: AnswerError,
    },
    /// The face service's binder died (the host saw `onServiceDisconnected`).
    ServiceLost,
}

/// Why a backend call has no usable answer. Every one of these is *ambiguous* for a submit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TransportError {
    /// No answer in the host's own time limit.
    Timeout,
    /// The connection failed (DNS, TLS, reset).
    Connection,
    /// An HTTP status other than 200.
    HttpStatus(u16),
    /// The body could not be parsed or its signature did not verify.
    Unparseable,
}

/// The `get_wxpayface_authinfo` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AuthInfoAnswer {
    /// `return_code`.
    pub return_code: ReturnCode,
    /// `return_msg`.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Message::is_empty"))]
    pub return_msg: Message,
    /// `authinfo`.
    pub authinfo: AuthInfo,
    /// `expires_in`, in seconds.
    pub expires_in: u32,
}

/// The micropay / facepay answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PayAnswer {
    /// `return_code`.
    pub return_code: ReturnCode,
    /// `result_code` (absent when return_code is FAIL).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub result_code: Option<ResultCode>,
    /// `err_code` (with result_code FAIL).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub err_code: Option<PayErrCode>,
    /// `transaction_id` (on success).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "TransactionId::is_empty"))]
    pub transaction_id: TransactionId,
}

impl PayAnswer {
    /// Paid only when return_code and result_code are both SUCCESS. A FAIL return_code, or
    /// a FAIL result_code without a final err_code, is ambiguous (docs/protocol.md §ambiguity, §closed-loop).
    pub fn class(&self) -> PayClass {
        match (&self.return_code, &self.result_code) {
            (ReturnCode::Success, Some(ResultCode::Success)) => PayClass::Paid,
            (ReturnCode::Success, Some(ResultCode::Fail)) => match &self.err_code {
                Some(code) => code.class(),
                None => PayClass::Ambiguous,
            },
            _ => PayClass::Ambiguous,
        }
    }
}

/// The orderquery / facepayquery answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QueryAnswer {
    /// `return_code`.
    pub return_code: ReturnCode,
    /// `result_code`.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub result_code: Option<ResultCode>,
    /// `err_code` (with result_code FAIL).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub err_code: Option<crate::codes::QueryErrCode>,
    /// `trade_state` (with result_code SUCCESS).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub trade_state: Option<TradeState>,
    /// `transaction_id`.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "TransactionId::is_empty"))]
    pub transaction_id: TransactionId,
    /// `total_fee` in fen, of the order the backend holds under this out_trade_no. The
    /// host must pass it: absent, the amount is not checked.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub total_fee: Option<u32>,
    /// `time_end`: when that order was paid. Absent, the time is not checked.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub time_end: Option<WxTime>,
    /// `openid` of the payer. Empty, the payer is not checked.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "OpenId::is_empty"))]
    pub openid: OpenId,
}

/// Why a query's SUCCESS is not this order's payment: the backend holds *an* order under
/// this out_trade_no, paid — but not the one this terminal submitted (an out_trade_no
/// reused after a reset, another terminal with the same numbering). A person must look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PaymentMismatch {
    /// `total_fee` differs from this order's amount.
    TotalFee,
    /// `openid` differs from the payer the face scan named.
    Payer,
    /// `time_end` is before this order was started (less the clock tolerance).
    TimeEnd,
}

impl PaymentMismatch {
    /// The wire name (the serde form): `total_fee`, `payer`, `time_end`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentMismatch::TotalFee => "total_fee",
            PaymentMismatch::Payer => "payer",
            PaymentMismatch::TimeEnd => "time_end",
        }
    }
}

impl fmt::Display for PaymentMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PaymentMismatch::TotalFee => "the paid total_fee is not this order's amount",
            PaymentMismatch::Payer => "the paid openid is not the payer of this order's face scan",
            PaymentMismatch::TimeEnd => "the payment's time_end is before this order was started",
        })
    }
}

impl QueryAnswer {
    /// Whether a paid answer is *this* order's payment: the amount must be `total_fee`;
    /// the payer `payer` when the face scan named one; `time_end` not before `time_start`
    /// less `tolerance_secs` (the terminal's and WeChat's clocks differ) when both are
    /// known. A field the answer or the order lacks is not checked.
    pub fn mismatch(
        &self,
        total_fee: u32,
        payer: &OpenId,
        time_start: Option<WxTime>,
        tolerance_secs: u64,
    ) -> Option<PaymentMismatch> {
        if self.total_fee.is_some_and(|fee| fee != total_fee) {
            return Some(PaymentMismatch::TotalFee);
        }
        if !payer.is_empty() && !self.openid.is_empty() && self.openid != *payer {
            return Some(PaymentMismatch::Payer);
        }
        if let (Some(end), Some(start)) = (self.time_end, time_start)
            && end.secs().saturating_add(tolerance_secs) < start.secs()
        {
            return Some(PaymentMismatch::TimeEnd);
        }
        None
    }

    /// Only return_code, result_code *and* trade_state all saying SUCCESS is paid
    /// (docs/protocol.md §signing); anything short of a final trade_state is pending.
    pub fn class(&self) -> TradeClass {
        match (&self.return_code, &self.result_code, &self.trade_state) {
            (ReturnCode::Success, Some(ResultCode::Success), Some(state)) => state.class(),
            (ReturnCode::Success, Some(ResultCode::Fail), _) => {
                self.err_code.as_ref().map_or(TradeClass::Pending, |e| e.class())
            }
            _ => TradeClass::Pending,
        }
    }

    /// True when the answer shows the order not paid yet: trade_state NOTPAY, USERPAYING
    /// or ACCEPT, or ORDERNOTEXIST. A paid order never answers so: an order that did had
    /// not been paid, nor concluded Paid, before.
    pub fn shows_unpaid(&self) -> bool {
        match (&self.return_code, &self.result_code) {
            (ReturnCode::Success, Some(ResultCode::Success)) => matches!(
                self.trade_state,
                Some(TradeState::NotPay | TradeState::UserPaying | TradeState::Accept)
            ),
            (ReturnCode::Success, Some(ResultCode::Fail)) => {
                matches!(self.err_code, Some(crate::codes::QueryErrCode::OrderNotExist))
            }
            _ => false,
        }
    }
}

/// The reverse / facepayreverse answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ReverseAnswer {
    /// `return_code`.
    pub return_code: ReturnCode,
    /// `result_code`.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub result_code: Option<ResultCode>,
    /// `err_code`.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub err_code: Option<ReverseErrCode>,
    /// `recall`.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub recall: Option<Recall>,
}

impl ReverseAnswer {
    /// Confirmed only on result_code SUCCESS with recall N; recall Y (or missing) means call
    /// again; a FAIL is classified by its err_code.
    pub fn class(&self) -> ReverseClass {
        match (&self.return_code, &self.result_code) {
            (ReturnCode::Success, Some(ResultCode::Success)) => match self.recall {
                Some(Recall::N) => ReverseClass::Confirmed,
                _ => ReverseClass::Retry,
            },
            (ReturnCode::Success, Some(ResultCode::Fail)) => match (&self.err_code, &self.recall) {
                (_, Some(Recall::Y)) => ReverseClass::Retry,
                (Some(code), _) => code.class(),
                (None, _) => ReverseClass::Retry,
            },
            _ => ReverseClass::Retry,
        }
    }
}

/// Answers of the merchant's backend, each naming the request it answers. `Err` means no
/// usable answer arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum BackendEvent {
    /// `get_wxpayface_authinfo` answered.
    AuthInfo {
        /// The request answered.
        id: RequestId,
        /// The answer.
        answer: Result<AuthInfoAnswer, TransportError>,
    },
    /// micropay / facepay answered.
    Submitted {
        /// The request answered.
        id: RequestId,
        /// The answer.
        answer: Result<PayAnswer, TransportError>,
    },
    /// orderquery / facepayquery answered.
    Queried {
        /// The request answered.
        id: RequestId,
        /// The answer.
        answer: Result<QueryAnswer, TransportError>,
    },
    /// reverse / facepayreverse answered.
    Reversed {
        /// The request answered.
        id: RequestId,
        /// The answer.
        answer: Result<ReverseAnswer, TransportError>,
    },
}
