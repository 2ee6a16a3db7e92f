//! Every code the SDK and the v2 backend APIs answer with, parsed from its wire string,
//! each with its classification (docs/protocol.md §sdk-return-codes, §sdk-err-codes, §micropay to §ambiguity).
//!
//! Unknown strings are kept verbatim (`Unknown`) and always classified conservatively:
//! never as success and never as a final failure, so an unfamiliar answer makes the machine
//! query or retry rather than conclude.

use crate::text::{CodeText, Field, FieldError};

macro_rules! wire_code {
    (
        $(#[$meta:meta])*
        $name:ident ($field:expr) {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A string this version does not know, kept verbatim.
            Unknown(CodeText),
        }

        impl $name {
            /// Every documented value (not `Unknown`), for exhaustive tables.
            pub const DOCUMENTED: &'static [$name] = &[$($name::$variant),*];

            /// Parses the wire string. Unknown strings are kept; only a string over the
            /// code capacity (32 bytes) is an error.
            pub fn parse(wire: &str) -> Result<Self, FieldError> {
                match wire {
                    $( $wire => Ok($name::$variant), )*
                    other => Ok($name::Unknown(CodeText::new($field, other)?)),
                }
            }

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Unknown(text) => text.as_str(),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " wire string"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse(v).map_err(|_| E::invalid_length(v.len(), &"at most 32 bytes"))
                    }
                }
                d.deserialize_str(Visitor)
            }
        }
    };
}

wire_code! {
    /// `return_code` of an SDK callback (docs/protocol.md §sdk-return-codes).
    SdkReturnCode(Field::ReturnCode) {
        /// 接口成功.
        Success = "SUCCESS",
        /// 接口失败.
        Error = "ERROR",
        /// 参数错误.
        ParamError = "PARAM_ERROR",
        /// 接口返回错误.
        SystemError = "SYSTEMERROR",
        /// The user closed the face UI.
        UserCancel = "USER_CANCEL",
        /// The user chose to pay with a payment code instead (用户使用扫码支付).
        ScanPayment = "SCAN_PAYMENT",
        /// The merchant is not enabled for instant face pay (无即时支付无权限).
        FacepayNotAuth = "FACEPAY_NOT_AUTH",
        /// A constant in the AAR with no documented meaning.
        ActionOnUserQueryCancel = "ACTION_ON_USER_QUERY_CANCEL",
        /// A local error of the AAR (init timeout with err_code 271378620/1, old version).
        Fail = "FAIL",
        /// A constant seen in one wrapper, meaning undocumented.
        FaceUnknown = "FACE_UNKNOWN",
    }
}

wire_code! {
    /// `err_code` of an SDK callback (docs/protocol.md §sdk-err-codes).
    SdkErrCode(Field::ErrCode) {
        /// 刷脸服务未初始化: call init again.
        ServiceNotInitialised = "271378620",
        /// 刷脸服务初始化中: wait ~500 ms and call init again.
        ServiceInitialising = "271378621",
        /// 未能识别出你的身份: the authinfo expired or is invalid; fetch a new one.
        AuthInfoInvalid = "271382020",
    }
}

/// What an SDK answer means for the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum SdkClass {
    /// The call succeeded.
    Success,
    /// The user cancelled the face UI.
    UserCancelled,
    /// The user switched to paying with a payment code.
    SwitchToCodeScanner,
    /// The merchant may not use instant face pay: end the order unpaid.
    NotAuthorised,
    /// The authinfo was rejected: fetch a new one, then retry once.
    AuthInfoRejected,
    /// The face service is still starting: retry init after a short wait.
    ServiceStarting,
    /// The face service is not bound: initialise it again.
    ServiceDown,
    /// The call failed (or answered with a code we do not know). No money moves through
    /// the SDK, so failing the step is the conservative reading.
    Failed,
}

/// Classifies an SDK answer from its `return_code` and optional `err_code`.
/// The err_code wins over the return_code: the AAR reports service state with `FAIL` +
/// 271378620/1, and the face app reports an expired authinfo with 271382020.
pub fn classify_sdk(return_code: &SdkReturnCode, err_code: Option<&SdkErrCode>) -> SdkClass {
    match err_code {
        Some(SdkErrCode::ServiceNotInitialised) => return SdkClass::ServiceDown,
        Some(SdkErrCode::ServiceInitialising) => return SdkClass::ServiceStarting,
        Some(SdkErrCode::AuthInfoInvalid) => return SdkClass::AuthInfoRejected,
        Some(SdkErrCode::Unknown(_)) | None => {}
    }
    match return_code {
        SdkReturnCode::Success => SdkClass::Success,
        SdkReturnCode::UserCancel => SdkClass::UserCancelled,
        SdkReturnCode::ScanPayment => SdkClass::SwitchToCodeScanner,
        SdkReturnCode::FacepayNotAuth => SdkClass::NotAuthorised,
        SdkReturnCode::Error
        | SdkReturnCode::ParamError
        | SdkReturnCode::SystemError
        | SdkReturnCode::ActionOnUserQueryCancel
        | SdkReturnCode::Fail
        | SdkReturnCode::FaceUnknown
        | SdkReturnCode::Unknown(_) => SdkClass::Failed,
    }
}

wire_code! {
    /// `return_code` of a v2 backend answer: the *communication* result only.
    ReturnCode(Field::ReturnCode) {
        /// The request was received and answered.
        Success = "SUCCESS",
        /// Communication or signature failure: the business result is unknown.
        Fail = "FAIL",
    }
}

wire_code! {
    /// `result_code` of a v2 backend answer: the business result.
    ResultCode(Field::ResultCode) {
        /// Business success.
        Success = "SUCCESS",
        /// Business failure; `err_code` says which, and only some are final.
        Fail = "FAIL",
    }
}

wire_code! {
    /// `recall` of a reverse answer: whether reverse must be called again.
    Recall(Field::Recall) {
        /// Call reverse again.
        Y = "Y",
        /// No need to call again.
        N = "N",
    }
}

wire_code! {
    /// `err_code` of micropay (and facepay, which public code treats the same) (docs/protocol.md §micropay).
    PayErrCode(Field::ErrCode) {
        /// 接口返回错误: result unknown.
        SystemError = "SYSTEMERROR",
        /// 银行系统异常: result unknown.
        BankError = "BANKERROR",
        /// 用户支付中，需要输入密码: result unknown until the user finishes.
        UserPaying = "USERPAYING",
        /// 参数错误.
        ParamError = "PARAM_ERROR",
        /// 订单已支付.
        OrderPaid = "ORDERPAID",
        /// 商户无权限.
        NoAuth = "NOAUTH",
        /// 二维码已过期.
        AuthCodeExpire = "AUTHCODEEXPIRE",
        /// 余额不足.
        NotEnough = "NOTENOUGH",
        /// 不支持卡类型 (spelled so on the wire).
        NotSuportCard = "NOTSUPORTCARD",
        /// 订单已关闭.
        OrderClosed = "ORDERCLOSED",
        /// 订单已撤销.
        OrderReversed = "ORDERREVERSED",
        /// 授权码参数错误.
        AuthCodeError = "AUTH_CODE_ERROR",
        /// 授权码检验错误.
        AuthCodeInvalid = "AUTH_CODE_INVALID",
        /// XML格式错误.
        XmlFormatError = "XML_FORMAT_ERROR",
        /// 请使用post方法.
        RequirePostMethod = "REQUIRE_POST_METHOD",
        /// 签名错误.
        SignError = "SIGNERROR",
        /// 缺少参数.
        LackParams = "LACK_PARAMS",
        /// 编码格式错误.
        NotUtf8 = "NOT_UTF8",
        /// 支付帐号错误.
        BuyerMismatch = "BUYER_MISMATCH",
        /// APPID不存在.
        AppidNotExist = "APPID_NOT_EXIST",
        /// MCHID不存在.
        MchidNotExist = "MCHID_NOT_EXIST",
        /// 商户订单号重复.
        OutTradeNoUsed = "OUT_TRADE_NO_USED",
        /// appid和mch_id不匹配.
        AppidMchidNotMatch = "APPID_MCHID_NOT_MATCH",
        /// 无效请求.
        InvalidRequest = "INVALID_REQUEST",
        /// 交易错误.
        TradeError = "TRADE_ERROR",
    }
}

/// What a pay submission's answer proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PayClass {
    /// The backend confirmed the payment.
    Paid,
    /// A final failure: the customer was not charged for this submission.
    Declined,
    /// The result is unknown: query, then reverse.
    Ambiguous,
}

impl PayErrCode {
    /// The classification of a `result_code=FAIL` answer carrying this err_code.
    ///
    /// Six codes that read as final are *duplicate* answers: they are what the backend
    /// says to a second copy of a submit whose first copy may have charged — a host or
    /// proxy re-send, a failover to the backup domain (api2.mch.weixin.qq.com), an
    /// out_trade_no that collides with an older order. ORDERPAID ("订单已支付"),
    /// OUT_TRADE_NO_USED ("商户订单号重复"), AUTH_CODE_ERROR / AUTH_CODE_INVALID (a
    /// single-use code already spent — by the first copy), INVALID_REQUEST (the public v2
    /// typings list "duplicate" among its causes) and BUYER_MISMATCH ("支付帐号错误": the
    /// order already has another payer) say nothing about whether *this* order was
    /// charged, so they are ambiguous: query, then reverse. Error codes:
    /// <https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_10&index=1>.
    pub fn class(&self) -> PayClass {
        match self {
            PayErrCode::SystemError
            | PayErrCode::BankError
            | PayErrCode::UserPaying
            | PayErrCode::OrderPaid
            | PayErrCode::OutTradeNoUsed
            | PayErrCode::AuthCodeError
            | PayErrCode::AuthCodeInvalid
            | PayErrCode::InvalidRequest
            | PayErrCode::BuyerMismatch
            | PayErrCode::Unknown(_) => PayClass::Ambiguous,
            PayErrCode::ParamError
            | PayErrCode::NoAuth
            | PayErrCode::AuthCodeExpire
            | PayErrCode::NotEnough
            | PayErrCode::NotSuportCard
            | PayErrCode::OrderClosed
            | PayErrCode::OrderReversed
            | PayErrCode::XmlFormatError
            | PayErrCode::RequirePostMethod
            | PayErrCode::SignError
            | PayErrCode::LackParams
            | PayErrCode::NotUtf8
            | PayErrCode::AppidNotExist
            | PayErrCode::MchidNotExist
            | PayErrCode::AppidMchidNotMatch
            | PayErrCode::TradeError => PayClass::Declined,
        }
    }
}

wire_code! {
    /// `trade_state` of an order query (docs/protocol.md §orderquery).
    TradeState(Field::TradeState) {
        /// 支付成功.
        Success = "SUCCESS",
        /// 转入退款.
        Refund = "REFUND",
        /// 未支付.
        NotPay = "NOTPAY",
        /// 已关闭.
        Closed = "CLOSED",
        /// 已撤销（付款码支付）.
        Revoked = "REVOKED",
        /// 用户支付中（付款码支付）.
        UserPaying = "USERPAYING",
        /// 支付失败(其他原因，如银行返回失败).
        PayError = "PAYERROR",
        /// 已接收，等待扣款.
        Accept = "ACCEPT",
    }
}

/// What an order's trade_state proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TradeClass {
    /// Paid.
    Paid,
    /// Final and not charged (closed, revoked, failed).
    Unpaid,
    /// Paid, then refunded in whole *or in part* (REFUND, "转入退款"): the customer may
    /// still be out of pocket, and the goods may not have been handed over. Only a person
    /// can settle it.
    Refunded,
    /// Not final yet: keep polling, then reverse.
    Pending,
}

impl TradeState {
    /// The classification: SUCCESS is paid; CLOSED, REVOKED and PAYERROR are final and
    /// unpaid; REFUND is paid-then-refunded (never "not charged": a partial refund leaves
    /// money taken); NOTPAY, USERPAYING, ACCEPT and anything unknown are pending — NOTPAY
    /// above all: the user may still finish paying after the query ("a user may complete
    /// the payment between the last order query and the call to the Revoke API",
    /// <https://pay.weixin.qq.com/doc/global/v2/en/4013665567>).
    pub fn class(&self) -> TradeClass {
        match self {
            TradeState::Success => TradeClass::Paid,
            TradeState::Refund => TradeClass::Refunded,
            TradeState::Closed | TradeState::Revoked | TradeState::PayError => TradeClass::Unpaid,
            TradeState::NotPay | TradeState::UserPaying | TradeState::Accept | TradeState::Unknown(_) => {
                TradeClass::Pending
            }
        }
    }
}

wire_code! {
    /// `err_code` of orderquery / facepayquery (docs/protocol.md §orderquery).
    QueryErrCode(Field::ErrCode) {
        /// 此交易订单号不存在.
        OrderNotExist = "ORDERNOTEXIST",
        /// 系统错误: query again.
        SystemError = "SYSTEMERROR",
    }
}

impl QueryErrCode {
    /// Every query error is pending. The PHP sample treats ORDERNOTEXIST as failure, but a
    /// submit still in flight can create the order after the query: only a reverse closes
    /// that door, so we keep polling and then reverse.
    pub fn class(&self) -> TradeClass {
        TradeClass::Pending
    }
}

wire_code! {
    /// `err_code` of reverse / facepayreverse (docs/protocol.md §reverse).
    ReverseErrCode(Field::ErrCode) {
        /// 接口返回错误: call again.
        SystemError = "SYSTEMERROR",
        /// 无效transaction_id.
        InvalidTransactionId = "INVALID_TRANSACTIONID",
        /// 参数错误.
        ParamError = "PARAM_ERROR",
        /// 请使用post方法.
        RequirePostMethod = "REQUIRE_POST_METHOD",
        /// 签名错误.
        SignError = "SIGNERROR",
        /// 订单无法撤销: past the 7-day window.
        ReverseExpire = "REVERSE_EXPIRE",
        /// 无效请求: permissions, duplicate, certificate or rate limit.
        InvalidRequest = "INVALID_REQUEST",
        /// 订单错误.
        TradeError = "TRADE_ERROR",
        /// 用户正在支付中的订单不允许撤销，请稍后再试.
        UserPaying = "USERPAYING",
        /// 订单不存在: the backend has not seen the order (yet).
        OrderNotExist = "ORDERNOTEXIST",
    }
}

/// What a reverse answer means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ReverseClass {
    /// Reverse confirmed (`result_code=SUCCESS`, `recall=N`): the customer is not charged.
    Confirmed,
    /// Call reverse again after the backoff (recall=Y, SYSTEMERROR, no answer, unknown).
    Retry,
    /// The user is still paying: call again later (at least one poll interval).
    RetryLater,
    /// The reverse's own fate is unknown (SYSTEMERROR: "请调用查询接口"): query the order
    /// before the next reverse; a payment the query confirms concludes Paid.
    QueryFirst,
    /// The order can no longer be reversed, or the backend refuses to: a person must
    /// reconcile it.
    Impossible,
}

impl ReverseErrCode {
    /// The classification of a reverse answer carrying this err_code.
    ///
    /// - SYSTEMERROR: WeChat's table says "query the order" — the order may have been
    ///   paid and the reverse not done, so a query comes before the next reverse.
    /// - INVALID_REQUEST can be a rate limit: retried within the budget.
    /// - ORDERNOTEXIST is not a conclusion: the submit may still be on its way and land
    ///   after this answer (a reverse that found nothing closed nothing), so the reverse
    ///   is retried within the budget, then the order is reconciled.
    /// - USERPAYING ("用户正在支付中的订单不允许撤销"): call again after a poll interval.
    ///
    /// Source: <https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_11&index=3>.
    pub fn class(&self) -> ReverseClass {
        match self {
            ReverseErrCode::SystemError => ReverseClass::QueryFirst,
            ReverseErrCode::InvalidRequest | ReverseErrCode::OrderNotExist | ReverseErrCode::Unknown(_) => {
                ReverseClass::Retry
            }
            ReverseErrCode::UserPaying => ReverseClass::RetryLater,
            ReverseErrCode::ReverseExpire
            | ReverseErrCode::InvalidTransactionId
            | ReverseErrCode::ParamError
            | ReverseErrCode::RequirePostMethod
            | ReverseErrCode::SignError
            | ReverseErrCode::TradeError => ReverseClass::Impossible,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_documented_code() {
        for c in PayErrCode::DOCUMENTED {
            assert_eq!(&PayErrCode::parse(c.as_str()).unwrap(), c);
        }
        for c in TradeState::DOCUMENTED {
            assert_eq!(&TradeState::parse(c.as_str()).unwrap(), c);
        }
        for c in ReverseErrCode::DOCUMENTED {
            assert_eq!(&ReverseErrCode::parse(c.as_str()).unwrap(), c);
        }
        for c in SdkReturnCode::DOCUMENTED {
            assert_eq!(&SdkReturnCode::parse(c.as_str()).unwrap(), c);
        }
    }

    #[test]
    fn unknown_codes_are_kept_and_never_final() {
        let c = PayErrCode::parse("NEW_CODE_2030").unwrap();
        assert_eq!(c.as_str(), "NEW_CODE_2030");
        assert_eq!(c.class(), PayClass::Ambiguous);
        assert_eq!(TradeState::parse("FROZEN").unwrap().class(), TradeClass::Pending);
        assert_eq!(ReverseErrCode::parse("X").unwrap().class(), ReverseClass::Retry);
        assert!(PayErrCode::parse(&"Z".repeat(33)).is_err());
    }

    #[test]
    fn duplicate_declines_refunds_and_reverse_errors_are_never_conclusions() {
        for dup in [
            PayErrCode::OrderPaid,
            PayErrCode::OutTradeNoUsed,
            PayErrCode::AuthCodeError,
            PayErrCode::AuthCodeInvalid,
            PayErrCode::InvalidRequest,
            PayErrCode::BuyerMismatch,
        ] {
            assert_eq!(dup.class(), PayClass::Ambiguous, "{dup}");
        }
        assert_eq!(PayErrCode::NotEnough.class(), PayClass::Declined);
        assert_eq!(TradeState::NotPay.class(), TradeClass::Pending);
        assert_eq!(TradeState::Refund.class(), TradeClass::Refunded);
        assert_eq!(ReverseErrCode::SystemError.class(), ReverseClass::QueryFirst);
        assert_eq!(ReverseErrCode::OrderNotExist.class(), ReverseClass::Retry);
    }

    #[test]
    fn sdk_err_code_wins_over_return_code() {
        assert_eq!(
            classify_sdk(&SdkReturnCode::Fail, Some(&SdkErrCode::ServiceInitialising)),
            SdkClass::ServiceStarting
        );
        assert_eq!(
            classify_sdk(&SdkReturnCode::Error, Some(&SdkErrCode::AuthInfoInvalid)),
            SdkClass::AuthInfoRejected
        );
        assert_eq!(
            classify_sdk(&SdkReturnCode::parse("NEW").unwrap(), None),
            SdkClass::Failed
        );
    }
}
