//! What the app (or the facade) hands in as maps → the machine's typed requests and the
//! session's policy, and the backend's answer maps → backend events. Field errors come
//! back typed; nothing here panics.

use facepay_fsm::codes::{PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseErrCode, TradeState};
use facepay_fsm::{
    AnswerError, AuthInfoAnswer, BackendEvent, Duration, FaceAuthType, FaceCodeType, Field, FieldError, InitParams,
    Merchant, OrderRequest, PayAnswer, PerformMode, Policy, PolicySettings, ProxyType, QueryAnswer, RequestId,
    ReverseAnswer, SdkVersion, TransportError, UserInfoRequest, WxTime,
};

use crate::answer::{Entry, Fields};

fn opt<T>(f: &Fields<'_>, field: Field, parse: fn(&str) -> Result<T, FieldError>) -> Result<Option<T>, AnswerError> {
    match f.string(field, true)? {
        Some(s) if !s.is_empty() => parse(&s).map(Some).map_err(AnswerError::BadValue),
        _ => Ok(None),
    }
}

fn flag(f: &Fields<'_>, field: Field, default: bool) -> Result<bool, AnswerError> {
    match f.string(field, true)?.as_deref() {
        None | Some("") => Ok(default),
        Some("1" | "true") => Ok(true),
        Some("0" | "false") => Ok(false),
        Some(_) => Err(AnswerError::BadValue(FieldError::Malformed { field })),
    }
}

/// `initWxpayface` settings from `ip, port, user, passwd, proxy_type, tcp_port, perform_mode`.
pub fn init_params(map: &[Entry]) -> Result<InitParams, AnswerError> {
    let f = Fields(map);
    Ok(InitParams {
        ip: f.text(Field::Ip, false)?,
        port: f.text(Field::Port, false)?,
        user: f.text(Field::User, false)?,
        passwd: f.text(Field::Passwd, false)?,
        proxy_type: opt(&f, Field::ProxyType, ProxyType::parse)?,
        tcp_port: f.text(Field::TcpPort, false)?,
        perform_mode: opt(&f, Field::PerformMode, PerformMode::parse)?,
    })
}

/// The merchant identity from `appid, mch_id, sub_appid, sub_mch_id, store_id`.
pub fn merchant(map: &[Entry]) -> Result<Merchant, AnswerError> {
    let f = Fields(map);
    Ok(Merchant {
        appid: f.text(Field::Appid, false)?,
        mch_id: f.text(Field::MchId, false)?,
        sub_appid: f.text(Field::SubAppid, false)?,
        sub_mch_id: f.text(Field::SubMchId, false)?,
        store_id: f.text(Field::StoreId, false)?,
    })
}

/// An order from the `getWxpayfaceCode` keys (merchant keys and `authinfo` are the
/// session's own and are ignored here).
pub fn order(map: &[Entry]) -> Result<OrderRequest, AnswerError> {
    let f = Fields(map);
    let total_fee = match f.string(Field::TotalFee, true)? {
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| AnswerError::BadValue(FieldError::Malformed { field: Field::TotalFee }))?,
        None => return Err(AnswerError::MissingKey(Field::TotalFee)),
    };
    let face_code_type = opt(&f, Field::FaceCodeType, FaceCodeType::parse)?.unwrap_or(FaceCodeType::Facepay);
    let mut o = OrderRequest::new(f.text(Field::OutTradeNo, true)?, total_fee, face_code_type);
    o.face_authtype = opt(&f, Field::FaceAuthtype, FaceAuthType::parse)?.unwrap_or(FaceAuthType::Facepay);
    o.telephone = f.text(Field::Telephone, false)?;
    o.openid = f.text(Field::Openid, false)?;
    o.ask_face_permit = loose_flag(&f, "ask_face_permit", false);
    o.ask_ret_page = loose_flag(&f, "ask_ret_page", true);
    o.ignore_update_pay_result = loose_flag(&f, "ignore_update_pay_result", false);
    o.screen_index = f.text(Field::ScreenIndex, false)?;
    // The wall-clock time the app took the order (the micropay `time_start`): lets the
    // machine tell this order's payment from an older one under the same out_trade_no.
    o.time_start = opt(&f, Field::TimeStart, |s| WxTime::parse(Field::TimeStart, s.trim()))?;
    Ok(o)
}

/// A "0"/"1" key that `Field` does not name (so it cannot be reported typed): "1", "true"
/// or `true` is set, anything else present is unset, absent is `default`.
fn loose_flag(f: &Fields<'_>, key: &str, default: bool) -> bool {
    use crate::answer::JavaValue;
    match f.raw_key(key) {
        None => default,
        Some(JavaValue::Bool(b)) => *b,
        Some(JavaValue::Int(n)) => *n == 1,
        Some(JavaValue::Str(u)) => u.as_slice() == [u16::from(b'1')] || String::from_utf16_lossy(u) == "true",
        Some(_) => false,
    }
}

/// A membership lookup from `face_authtype, auth_mode, ask_unionid, screen_index`.
pub fn user_info(map: &[Entry]) -> Result<UserInfoRequest, AnswerError> {
    let f = Fields(map);
    Ok(UserInfoRequest {
        face_authtype: opt(&f, Field::FaceAuthtype, FaceAuthType::parse)?
            .ok_or(AnswerError::MissingKey(Field::FaceAuthtype))?,
        auth_mode_jump: flag(&f, Field::AuthMode, false)?,
        ask_unionid: flag(&f, Field::AskUnionid, false)?,
        screen_index: f.text(Field::ScreenIndex, false)?,
    })
}

/// Why a policy option was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionError(pub String);

impl std::fmt::Display for OptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Session options: every [`PolicySettings`] field by name (milliseconds for durations,
/// counts for `*_attempts`, `sdk_version` as `"2.13"`), plus `clock` (`"monotonic"` or
/// `"manual"`), `trace_path`, `trace_dir` (one file per session), `trace_keep_files`,
/// `trace_keep_bytes` and `trace_redact` (`"0"` keeps secrets). Unknown keys are an error
/// so a misspelt setting is not silently ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    /// The checked policy.
    pub policy: Policy,
    /// Time comes from the host through `advanceClock` instead of a monotonic clock.
    pub manual_clock: bool,
    /// Where to append the trace (JSON Lines); none when empty.
    pub trace_path: String,
    /// Redact secrets in the trace (default on).
    pub trace_redact: bool,
    /// A directory to write one trace file per session into (see `trace_files`); none
    /// when empty. Takes precedence over `trace_path`.
    pub trace_dir: String,
    /// What `trace_dir` keeps (`trace_keep_files`, `trace_keep_bytes`).
    pub trace_keep: crate::trace_files::Retention,
}

/// Reads [`SessionOptions`] from string pairs.
pub fn session_options(pairs: &[(String, String)]) -> Result<SessionOptions, OptionError> {
    let mut s = PolicySettings::default();
    let mut out = SessionOptions {
        policy: Policy::default(),
        manual_clock: false,
        trace_path: String::new(),
        trace_redact: true,
        trace_dir: String::new(),
        trace_keep: crate::trace_files::Retention::default(),
    };
    for (k, v) in pairs {
        let ms = || {
            v.trim()
                .parse::<u32>()
                .map(Duration::ms)
                .map_err(|_| OptionError(format!("`{k}`: `{v}` is not milliseconds")))
        };
        let count = || {
            v.trim()
                .parse::<u8>()
                .map_err(|_| OptionError(format!("`{k}`: `{v}` is not a count")))
        };
        match k.as_str() {
            "sdk_call_deadline" => s.sdk_call_deadline = ms()?,
            "init_retry_delay" => s.init_retry_delay = ms()?,
            "init_attempts" => s.init_attempts = count()?,
            "face_scan_deadline" => s.face_scan_deadline = ms()?,
            "code_scan_deadline" => s.code_scan_deadline = ms()?,
            "backend_deadline" => s.backend_deadline = ms()?,
            "auth_refresh_margin" => s.auth_refresh_margin = ms()?,
            "auth_retry_delay" => s.auth_retry_delay = ms()?,
            "first_query_delay" => s.first_query_delay = ms()?,
            "poll_interval" => s.poll_interval = ms()?,
            "query_budget" => s.query_budget = ms()?,
            "reverse_not_before" => s.reverse_not_before = ms()?,
            "reverse_attempts" => s.reverse_attempts = count()?,
            "reverse_backoff" => s.reverse_backoff = ms()?,
            "reverse_backoff_max" => s.reverse_backoff_max = ms()?,
            "clock_tolerance" => s.clock_tolerance = ms()?,
            "close_declined_orders" => {
                s.close_declined_orders = match v.trim() {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    _ => return Err(OptionError(format!("`{k}`: `{v}` is not true or false"))),
                }
            }
            "sdk_version" => {
                let (a, b) = v.split_once('.').unwrap_or((v, "0"));
                match (a.trim().parse(), b.trim().parse()) {
                    (Ok(major), Ok(minor)) => s.sdk_version = SdkVersion { major, minor },
                    _ => return Err(OptionError(format!("`sdk_version`: `{v}` is not major.minor"))),
                }
            }
            "clock" => match v.as_str() {
                "manual" => out.manual_clock = true,
                "monotonic" => out.manual_clock = false,
                _ => return Err(OptionError(format!("`clock`: `{v}` is not manual or monotonic"))),
            },
            "trace_path" => out.trace_path = v.clone(),
            "trace_redact" => out.trace_redact = v != "0" && v != "false",
            "trace_dir" => out.trace_dir = v.clone(),
            "trace_keep_files" => {
                out.trace_keep.files = v
                    .trim()
                    .parse()
                    .map_err(|_| OptionError(format!("`{k}`: `{v}` is not a count")))?;
            }
            "trace_keep_bytes" => {
                out.trace_keep.bytes = v
                    .trim()
                    .parse()
                    .map_err(|_| OptionError(format!("`{k}`: `{v}` is not a byte count")))?;
            }
            _ => return Err(OptionError(format!("unknown option `{k}`"))),
        }
    }
    out.policy = Policy::new(s).map_err(|e| OptionError(e.to_string()))?;
    Ok(out)
}

/// How the host's backend reported that a call has no usable answer.
pub fn transport_error(kind: &str, http_status: i32) -> TransportError {
    match kind {
        "timeout" => TransportError::Timeout,
        "http" => TransportError::HttpStatus(u16::try_from(http_status).unwrap_or(0)),
        "unparseable" => TransportError::Unparseable,
        _ => TransportError::Connection,
    }
}

/// A backend answer map (the v2 response fields) for request `id` of operation `op`.
/// A map that cannot be read is `TransportError::Unparseable`: ambiguous, never a verdict.
/// `None` when `op` is unknown.
pub fn backend_event(id: RequestId, op: &str, map: Option<&[Entry]>) -> Option<BackendEvent> {
    let f = map.map(Fields);
    let unparseable = |_| TransportError::Unparseable;
    Some(match op {
        "get_wxpayface_authinfo" => BackendEvent::AuthInfo {
            id,
            answer: f
                .ok_or(TransportError::Unparseable)
                .and_then(|f| auth_info(&f).map_err(unparseable)),
        },
        "submit" => BackendEvent::Submitted {
            id,
            answer: f
                .ok_or(TransportError::Unparseable)
                .and_then(|f| pay(&f).map_err(unparseable)),
        },
        "query" => BackendEvent::Queried {
            id,
            answer: f
                .ok_or(TransportError::Unparseable)
                .and_then(|f| query(&f).map_err(unparseable)),
        },
        "reverse" => BackendEvent::Reversed {
            id,
            answer: f
                .ok_or(TransportError::Unparseable)
                .and_then(|f| reverse(&f).map_err(unparseable)),
        },
        _ => return None,
    })
}

/// The same event with a transport error as the answer.
pub fn backend_failure(id: RequestId, op: &str, err: TransportError) -> Option<BackendEvent> {
    Some(match op {
        "get_wxpayface_authinfo" => BackendEvent::AuthInfo { id, answer: Err(err) },
        "submit" => BackendEvent::Submitted { id, answer: Err(err) },
        "query" => BackendEvent::Queried { id, answer: Err(err) },
        "reverse" => BackendEvent::Reversed { id, answer: Err(err) },
        _ => return None,
    })
}

fn return_code(f: &Fields<'_>) -> Result<ReturnCode, AnswerError> {
    opt(f, Field::ReturnCode, ReturnCode::parse)?.ok_or(AnswerError::MissingKey(Field::ReturnCode))
}

fn auth_info(f: &Fields<'_>) -> Result<AuthInfoAnswer, AnswerError> {
    let return_code = return_code(f)?;
    let ok = return_code == ReturnCode::Success;
    let expires_in = match f.string(Field::ExpiresIn, true)? {
        Some(s) if !s.is_empty() => s.trim().parse().map_err(|_| {
            AnswerError::BadValue(FieldError::Malformed {
                field: Field::ExpiresIn,
            })
        })?,
        _ if ok => return Err(AnswerError::MissingKey(Field::ExpiresIn)),
        _ => 0,
    };
    Ok(AuthInfoAnswer {
        return_code,
        return_msg: f.text(Field::ReturnMsg, false).unwrap_or_default(),
        authinfo: f.text(Field::Authinfo, ok)?,
        expires_in,
    })
}

fn pay(f: &Fields<'_>) -> Result<PayAnswer, AnswerError> {
    Ok(PayAnswer {
        return_code: return_code(f)?,
        result_code: opt(f, Field::ResultCode, ResultCode::parse)?,
        err_code: opt(f, Field::ErrCode, PayErrCode::parse)?,
        transaction_id: f.text(Field::TransactionId, false)?,
    })
}

fn query(f: &Fields<'_>) -> Result<QueryAnswer, AnswerError> {
    Ok(QueryAnswer {
        return_code: return_code(f)?,
        result_code: opt(f, Field::ResultCode, ResultCode::parse)?,
        err_code: opt(f, Field::ErrCode, QueryErrCode::parse)?,
        trade_state: opt(f, Field::TradeState, TradeState::parse)?,
        transaction_id: f.text(Field::TransactionId, false)?,
        // The paid order's facts: the machine concludes Paid only when they are this
        // order's (amount, payer, time), so the host passes them when WeChat does.
        total_fee: opt(f, Field::TotalFee, |s| {
            s.trim()
                .parse()
                .map_err(|_| FieldError::Malformed { field: Field::TotalFee })
        })?,
        time_end: opt(f, Field::TimeEnd, |s| WxTime::parse(Field::TimeEnd, s.trim()))?,
        openid: f.text(Field::Openid, false)?,
    })
}

fn reverse(f: &Fields<'_>) -> Result<ReverseAnswer, AnswerError> {
    Ok(ReverseAnswer {
        return_code: return_code(f)?,
        result_code: opt(f, Field::ResultCode, ResultCode::parse)?,
        err_code: opt(f, Field::ErrCode, ReverseErrCode::parse)?,
        recall: opt(f, Field::Recall, Recall::parse)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::JavaValue;

    fn m(pairs: &[(&str, &str)]) -> Vec<Entry> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some(JavaValue::Str(v.encode_utf16().collect()))))
            .collect()
    }

    #[test]
    fn an_order_reads_with_defaults_and_checks() {
        let o = order(&m(&[
            ("out_trade_no", "T1"),
            ("total_fee", "100"),
            ("face_code_type", "1"),
        ]))
        .unwrap();
        assert_eq!(
            (o.total_fee, o.face_code_type, o.ask_ret_page),
            (100, FaceCodeType::Micropay, true)
        );
        assert_eq!(
            order(&m(&[("out_trade_no", "T1")])),
            Err(AnswerError::MissingKey(Field::TotalFee))
        );
        assert!(order(&m(&[("out_trade_no", "T1"), ("total_fee", "x")])).is_err());
    }

    #[test]
    fn options_are_checked_by_the_policy() {
        let o = session_options(&[
            ("poll_interval".into(), "200".into()),
            ("clock".into(), "manual".into()),
        ])
        .unwrap();
        assert!(o.manual_clock);
        assert_eq!(o.policy.settings().poll_interval, Duration::ms(200));
        assert!(session_options(&[("reverse_not_before".into(), "1000".into())]).is_err());
        assert!(session_options(&[("no_such".into(), "1".into())]).is_err());
    }

    #[test]
    fn an_unreadable_backend_answer_is_ambiguous() {
        let ev = backend_event(RequestId(1), "submit", Some(&m(&[("result_code", "SUCCESS")])));
        assert_eq!(
            ev,
            Some(BackendEvent::Submitted {
                id: RequestId(1),
                answer: Err(TransportError::Unparseable)
            })
        );
        let ev = backend_event(
            RequestId(1),
            "submit",
            Some(&m(&[("return_code", "SUCCESS"), ("result_code", "SUCCESS")])),
        );
        assert!(matches!(ev, Some(BackendEvent::Submitted { answer: Ok(_), .. })));
        assert_eq!(backend_event(RequestId(1), "nope", None), None);
    }

    #[test]
    fn a_query_answer_carries_the_paid_orders_facts() {
        let keys = [
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("trade_state", "SUCCESS"),
            ("transaction_id", "4200000001202612011234567890"),
            ("total_fee", "888"),
            ("time_end", "20261201061502"),
            ("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ];
        let Some(BackendEvent::Queried { answer: Ok(a), .. }) = backend_event(RequestId(1), "query", Some(&m(&keys)))
        else {
            panic!("a query answer")
        };
        assert_eq!(a.total_fee, Some(888));
        assert_eq!(a.time_end.map(|t| t.to_string()).as_deref(), Some("20261201061502"));
        assert_eq!(a.openid.as_str(), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
        // A malformed time_end makes the answer unusable (ambiguous), never a guess.
        let mut bad = keys;
        bad[5] = ("time_end", "2026-12-01 06:15");
        let ev = backend_event(RequestId(1), "query", Some(&m(&bad)));
        assert!(matches!(
            ev,
            Some(BackendEvent::Queried {
                answer: Err(TransportError::Unparseable),
                ..
            })
        ));
        let o = order(&m(&[
            ("out_trade_no", "T1"),
            ("total_fee", "1"),
            ("time_start", "20261201061500"),
        ]))
        .unwrap();
        assert_eq!(o.time_start.map(|t| t.secs() + 2), a.time_end.map(|t| t.secs()));
    }
}
