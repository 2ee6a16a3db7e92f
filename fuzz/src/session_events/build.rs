//! Events from operations: typed, through the device layer's maps, or unreadable.

use facepay_device::answer;
use facepay_device::request;
use facepay_fsm::codes::{
    PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseErrCode, SdkErrCode, SdkReturnCode, TradeState,
};
use facepay_fsm::{
    AnswerError, AppEvent, AuthInfoAnswer, BackendEvent, Event, FaceAuthType, FaceCodeAnswer, Field, FieldError,
    InitParams, Merchant, PayAnswer, PerformMode, ProxyType, QueryAnswer, RequestId, ReverseAnswer, SdkCallKind,
    SdkEvent, SdkStatus, TransportError, UserInfo, UserInfoRequest,
};

use super::{AnswerErrorOp, Call, FormOp, IdentifyOp, InitOp, MerchantOp, PAY_CODE, Reply, StatusOp, TransportOp};
use crate::input::{CodeOp, text};
use crate::jni_map::entries;

pub(super) fn start(init: &InitOp, m: &MerchantOp) -> Option<Event> {
    let init = InitParams {
        ip: text(Field::Ip, &init.ip, "").ok()?,
        port: text(Field::Port, &init.port, "").ok()?,
        proxy_type: init
            .proxy_type
            .map(|i| ProxyType::ALL[usize::from(i) % ProxyType::ALL.len()]),
        perform_mode: init
            .perform_mode
            .map(|low| if low { PerformMode::Low } else { PerformMode::Normal }),
        ..InitParams::default()
    };
    let merchant = Merchant {
        appid: text(Field::Appid, &m.appid, "wx2421b1c4370ec43b").ok()?,
        mch_id: text(Field::MchId, &m.mch_id, "10000100").ok()?,
        sub_mch_id: text(Field::SubMchId, &m.sub_mch_id, "").ok()?,
        store_id: text(Field::StoreId, &m.store_id, "S01").ok()?,
        ..Merchant::default()
    };
    Some(Event::App(AppEvent::Start { init, merchant }))
}

pub(super) fn identify(i: &IdentifyOp) -> Option<Event> {
    Some(Event::App(AppEvent::IdentifyUser(UserInfoRequest {
        face_authtype: FaceAuthType::ALL[usize::from(i.face_authtype) % FaceAuthType::ALL.len()],
        auth_mode_jump: i.auth_mode_jump,
        ask_unionid: i.ask_unionid,
        screen_index: text(Field::ScreenIndex, &i.screen_index, "").ok()?,
    })))
}

fn status(op: &StatusOp) -> Result<SdkStatus, FieldError> {
    Ok(SdkStatus {
        return_code: op.return_code.get(SdkReturnCode::DOCUMENTED, SdkReturnCode::parse)?,
        err_code: match &op.err_code {
            Some(c) => Some(c.get(SdkErrCode::DOCUMENTED, SdkErrCode::parse)?),
            None => None,
        },
        return_msg: text(Field::ReturnMsg, &op.return_msg, "")?,
    })
}

pub(super) fn sdk_answer(id: RequestId, call: SdkCallKind, r: &Reply) -> Option<Event> {
    let typed = || -> Result<SdkEvent, FieldError> {
        let status = status(&r.status)?;
        Ok(match call {
            SdkCallKind::InitWxpayface => SdkEvent::Initialised { id, status },
            SdkCallKind::GetWxpayfaceRawdata => SdkEvent::Rawdata {
                id,
                status,
                rawdata: text(Field::Rawdata, &r.a, "RAW")?,
            },
            SdkCallKind::GetWxpayfaceCode => SdkEvent::FaceCode {
                id,
                status,
                answer: FaceCodeAnswer {
                    face_code: text(Field::FaceCode, &r.a, PAY_CODE)?,
                    openid: text(Field::Openid, &r.b, "o1")?,
                    ..FaceCodeAnswer::default()
                },
            },
            SdkCallKind::GetWxpayfaceUserInfo => SdkEvent::UserInfo {
                id,
                status,
                user: UserInfo {
                    openid: text(Field::Openid, &r.a, "o1")?,
                    nickname: text(Field::Nickname, &r.b, "n")?,
                    ..UserInfo::default()
                },
            },
            SdkCallKind::StartCodeScanner => SdkEvent::CodeScanned {
                id,
                status,
                code: text(Field::CodeMsg, &r.a, PAY_CODE)?,
            },
            SdkCallKind::UpdateWxpayfacePayResult => SdkEvent::PayResultUpdated { id, status },
            SdkCallKind::ReleaseWxpayface => SdkEvent::Released { id, status },
            // No answer exists for these: a confused host reports a null map.
            SdkCallKind::StopCodeScanner | SdkCallKind::StopWxpayface => SdkEvent::Unreadable {
                id,
                call,
                error: AnswerError::NullMap,
            },
        })
    };
    let ev = match &r.form {
        FormOp::Typed => typed().unwrap_or_else(|e| SdkEvent::Unreadable {
            id,
            call,
            error: AnswerError::BadValue(e),
        }),
        FormOp::Map(m) => answer::sdk_event(id, call, Some(&entries(m)))?,
        FormOp::Unreadable(e) => SdkEvent::Unreadable {
            id,
            call,
            error: match e {
                AnswerErrorOp::NullMap => AnswerError::NullMap,
                AnswerErrorOp::MissingKey => AnswerError::MissingKey(Field::ReturnCode),
                AnswerErrorOp::NotAString => AnswerError::NotAString(Field::FaceCode),
                AnswerErrorOp::TooLong(len) => AnswerError::BadValue(FieldError::TooLong {
                    field: Field::FaceCode,
                    len: *len,
                    cap: 128,
                }),
            },
        },
    };
    Some(Event::Sdk(ev))
}

pub(super) fn backend_answer(id: RequestId, call: Call, r: &Reply) -> BackendEvent {
    let op = match call {
        Call::AuthInfo => "get_wxpayface_authinfo",
        Call::Submit => "submit",
        Call::Query => "query",
        _ => "reverse",
    };
    let fail = |e: TransportError| {
        request::backend_failure(id, op, e).unwrap_or(BackendEvent::Reversed { id, answer: Err(e) })
    };
    let b = &r.backend;
    match &r.form {
        FormOp::Map(m) => {
            return request::backend_event(id, op, Some(&entries(m)))
                .unwrap_or_else(|| fail(TransportError::Unparseable));
        }
        FormOp::Unreadable(_) => {
            return request::backend_event(id, op, None).unwrap_or_else(|| fail(TransportError::Unparseable));
        }
        FormOp::Typed => {}
    }
    if let Some(t) = b.transport {
        return fail(match t {
            TransportOp::Timeout => TransportError::Timeout,
            TransportOp::Connection => TransportError::Connection,
            TransportOp::HttpStatus(s) => TransportError::HttpStatus(s),
            TransportOp::Unparseable => TransportError::Unparseable,
        });
    }
    let success = CodeOp::Doc(0);
    let typed = || -> Result<BackendEvent, FieldError> {
        let return_code = b.return_code.get(ReturnCode::DOCUMENTED, ReturnCode::parse)?;
        let result_code = Some(
            b.result_code
                .as_ref()
                .unwrap_or(&success)
                .get(ResultCode::DOCUMENTED, ResultCode::parse)?,
        );
        Ok(match call {
            Call::AuthInfo => BackendEvent::AuthInfo {
                id,
                answer: Ok(AuthInfoAnswer {
                    return_code,
                    return_msg: text(Field::ReturnMsg, &r.b, "")?,
                    authinfo: text(Field::Authinfo, &r.a, "AUTH")?,
                    expires_in: b.expires_in,
                }),
            },
            Call::Submit => BackendEvent::Submitted {
                id,
                answer: Ok(PayAnswer {
                    return_code,
                    result_code,
                    err_code: match &b.err_code {
                        Some(c) => Some(c.get(PayErrCode::DOCUMENTED, PayErrCode::parse)?),
                        None => None,
                    },
                    transaction_id: text(Field::TransactionId, &r.b, "4200000001")?,
                }),
            },
            Call::Query => BackendEvent::Queried {
                id,
                answer: Ok(QueryAnswer {
                    return_code,
                    result_code,
                    err_code: match &b.err_code {
                        Some(c) => Some(c.get(QueryErrCode::DOCUMENTED, QueryErrCode::parse)?),
                        None => None,
                    },
                    trade_state: Some(
                        b.trade_state
                            .as_ref()
                            .unwrap_or(&success)
                            .get(TradeState::DOCUMENTED, TradeState::parse)?,
                    ),
                    transaction_id: text(Field::TransactionId, &r.b, "4200000001")?,
                    total_fee: None,
                    time_end: None,
                    openid: Default::default(),
                }),
            },
            _ => BackendEvent::Reversed {
                id,
                answer: Ok(ReverseAnswer {
                    return_code,
                    result_code,
                    err_code: match &b.err_code {
                        Some(c) => Some(c.get(ReverseErrCode::DOCUMENTED, ReverseErrCode::parse)?),
                        None => None,
                    },
                    recall: match &b.recall {
                        Some(c) => Some(c.get(Recall::DOCUMENTED, Recall::parse)?),
                        None => Some(Recall::N),
                    },
                }),
            },
        })
    };
    // A field the host cannot hold makes the answer unparseable, as the device layer does.
    typed().unwrap_or_else(|_| fail(TransportError::Unparseable))
}
