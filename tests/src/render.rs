//! One-line renderings of inputs and outputs for transcripts: the fields a person checks
//! (ids, codes, out_trade_no, amounts, credentials), not every key of every map.

use std::fmt::Write;

use facepay_fsm::{
    AppEvent, BackendCall, BackendEvent, Command, Conclusion, DiagnosticKind, Event, Notice, OrderCredential,
    PayCredential, SdkCall, SdkEvent, SdkStatus, Timer, TransportError,
};

/// `SUCCESS`, or `FAIL/271378621` when an err_code is present.
pub fn status(s: &SdkStatus) -> String {
    match &s.err_code {
        Some(e) => format!("{}/{}", s.return_code, e),
        None => s.return_code.to_string(),
    }
}

fn transport<T>(r: &Result<T, TransportError>, ok: impl FnOnce(&T) -> String) -> String {
    match r {
        Ok(a) => ok(a),
        Err(e) => format!("no answer ({e:?})"),
    }
}

fn opt<T: std::fmt::Display>(o: &Option<T>) -> String {
    o.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// An input event.
pub fn event(e: &Event) -> String {
    match e {
        Event::App(a) => format!("app {}", app(a)),
        Event::Sdk(s) => format!("sdk {}", sdk_event(s)),
        Event::Backend(b) => format!("backend {}", backend_event(b)),
    }
}

fn app(a: &AppEvent) -> String {
    match a {
        AppEvent::Start { merchant, .. } => {
            format!("Start{{appid: {:?}, mch_id: {:?}}}", merchant.appid, merchant.mch_id)
        }
        AppEvent::StartOrder(o) => {
            let credential = match &o.credential {
                OrderCredential::Face => String::new(),
                OrderCredential::AuthCode(code) => format!(", auth_code: {code:?}"),
                OrderCredential::CodeScanner => ", code_scanner".to_owned(),
            };
            format!(
                "StartOrder{{out_trade_no: {:?}, total_fee: {}, face_code_type: {}{credential}}}",
                o.out_trade_no,
                o.total_fee,
                o.face_code_type.as_str()
            )
        }
        AppEvent::FaceAppVersion(v) => format!("FaceAppVersion{{{v}}}"),
        AppEvent::IdentifyUser(u) => format!("IdentifyUser{{{}}}", u.face_authtype.as_str()),
        AppEvent::Cancel => "Cancel".to_owned(),
        AppEvent::Release => "Release".to_owned(),
    }
}

fn sdk_event(s: &SdkEvent) -> String {
    match s {
        SdkEvent::Initialised { id, status: st } => format!("{id} initWxpayface: {}", status(st)),
        SdkEvent::Rawdata {
            id,
            status: st,
            rawdata,
        } => {
            format!("{id} getWxpayfaceRawdata: {} rawdata={rawdata:?}", status(st))
        }
        SdkEvent::FaceCode { id, status: st, answer } => {
            let mut line = format!("{id} getWxpayfaceCode: {}", status(st));
            if !answer.face_code.is_empty() {
                let _ = write!(line, " face_code={:?}", answer.face_code);
            }
            if !answer.openid.is_empty() {
                let _ = write!(line, " openid={:?}", answer.openid);
            }
            line
        }
        SdkEvent::UserInfo { id, status: st, user } => {
            format!("{id} getWxpayfaceUserInfo: {} openid={:?}", status(st), user.openid)
        }
        SdkEvent::CodeScanned { id, status: st, code } => {
            format!("{id} startCodeScanner: {} code_msg={code:?}", status(st))
        }
        SdkEvent::PayResultUpdated { id, status: st } => format!("{id} updateWxpayfacePayResult: {}", status(st)),
        SdkEvent::Released { id, status: st } => format!("{id} releaseWxpayface: {}", status(st)),
        SdkEvent::Unreadable { id, call, error } => format!("{id} {}: unreadable ({error})", call.method()),
        SdkEvent::ServiceLost => "ServiceLost".to_owned(),
    }
}

fn backend_event(b: &BackendEvent) -> String {
    match b {
        BackendEvent::AuthInfo { id, answer } => format!(
            "{id} AuthInfo: {}",
            transport(answer, |a| format!(
                "{} authinfo={:?} expires_in={}",
                a.return_code, a.authinfo, a.expires_in
            ))
        ),
        BackendEvent::Submitted { id, answer } => format!(
            "{id} Submitted: {}",
            transport(answer, |a| {
                let mut s = format!("{}/{}", a.return_code, opt(&a.result_code));
                if let Some(e) = &a.err_code {
                    let _ = write!(s, " err_code={e}");
                }
                if !a.transaction_id.is_empty() {
                    let _ = write!(s, " transaction_id={:?}", a.transaction_id);
                }
                s
            })
        ),
        BackendEvent::Queried { id, answer } => format!(
            "{id} Queried: {}",
            transport(answer, |a| {
                let mut s = format!("{}/{}", a.return_code, opt(&a.result_code));
                if let Some(t) = &a.trade_state {
                    let _ = write!(s, " trade_state={t}");
                }
                if let Some(e) = &a.err_code {
                    let _ = write!(s, " err_code={e}");
                }
                s
            })
        ),
        BackendEvent::Reversed { id, answer } => format!(
            "{id} Reversed: {}",
            transport(answer, |a| {
                let mut s = format!("{}/{}", a.return_code, opt(&a.result_code));
                if let Some(e) = &a.err_code {
                    let _ = write!(s, " err_code={e}");
                }
                let _ = write!(s, " recall={}", opt(&a.recall));
                s
            })
        ),
    }
}

/// A timer that fired.
pub fn timer(t: Timer) -> String {
    format!("timer {t:?}")
}

/// An output command.
pub fn command(c: &Command) -> String {
    match c {
        Command::Sdk { id, call } => format!("sdk {id} {}", sdk_call(call)),
        Command::Backend { id, call } => format!("backend {id} {}", backend_call(call)),
        Command::Notify(n) => format!("notify {}", notice(n)),
        Command::Diagnostic(d) => format!("diagnostic {} (in {:?})", diagnostic(&d.kind), d.state),
        Command::Persist(r) => format!(
            "persist {:?} {:?} elapsed={}ms queries={} reverses={}",
            r.out_trade_no, r.phase, r.elapsed_ms, r.queries, r.reverse_attempts
        ),
    }
}

fn sdk_call(c: &SdkCall) -> String {
    let name = c.kind().method();
    match c {
        SdkCall::GetWxpayfaceCode(r) => format!(
            "{name}{{out_trade_no: {:?}, total_fee: {}, face_code_type: {}, authinfo: {:?}}}",
            r.out_trade_no,
            r.total_fee,
            r.face_code_type.as_str(),
            r.authinfo
        ),
        SdkCall::GetWxpayfaceUserInfo(r) => {
            format!("{name}{{{}, authinfo: {:?}}}", r.face_authtype.as_str(), r.authinfo)
        }
        SdkCall::UpdateWxpayfacePayResult(r) => format!("{name}{{payresult: {}}}", r.payresult.as_str()),
        SdkCall::ReportPaycode { auth_code } => format!("{name}{{auth_code: {auth_code:?}}}"),
        SdkCall::InitWxpayface(_)
        | SdkCall::GetWxpayfaceRawdata
        | SdkCall::StartCodeScanner
        | SdkCall::StopCodeScanner
        | SdkCall::StopWxpayface { .. }
        | SdkCall::ReleaseWxpayface => name.to_owned(),
    }
}

fn backend_call(c: &BackendCall) -> String {
    match c {
        BackendCall::GetAuthInfo { rawdata } => format!("GetAuthInfo{{rawdata: {rawdata:?}}}"),
        BackendCall::Submit {
            api,
            out_trade_no,
            total_fee,
            credential,
        } => {
            let cred = match credential {
                PayCredential::FaceCode { face_code, openid } => {
                    format!("face_code: {face_code:?}, openid: {openid:?}")
                }
                PayCredential::AuthCode(code) => format!("auth_code: {code:?}"),
            };
            format!("Submit{{api: {api:?}, out_trade_no: {out_trade_no:?}, total_fee: {total_fee}, {cred}}}")
        }
        BackendCall::Query { api, out_trade_no } => format!("Query{{api: {api:?}, out_trade_no: {out_trade_no:?}}}"),
        BackendCall::Reverse {
            api,
            out_trade_no,
            attempt,
        } => format!("Reverse{{api: {api:?}, out_trade_no: {out_trade_no:?}, attempt: {attempt}}}"),
    }
}

/// A conclusion: `"T1" Paid (SubmitSucceeded) transaction_id="42"`.
pub fn conclusion(c: &Conclusion) -> String {
    let mut s = format!("{:?} {} ({:?})", c.out_trade_no, c.outcome, c.reason);
    if !c.transaction_id.is_empty() {
        let _ = write!(s, " transaction_id={:?}", c.transaction_id);
    }
    s
}

fn notice(n: &Notice) -> String {
    match n {
        Notice::OrderConcluded(c) => format!("OrderConcluded {}", conclusion(c)),
        Notice::UserIdentified(u) => format!("UserIdentified openid={:?}", u.openid),
        Notice::Ready
        | Notice::SdkUnavailable
        | Notice::UserNotIdentified
        | Notice::Released
        | Notice::JournalUnreadable => format!("{n:?}"),
    }
}

fn diagnostic(k: &DiagnosticKind) -> String {
    match k {
        DiagnosticKind::StaleAnswer(id) => format!("StaleAnswer({id})"),
        DiagnosticKind::Refused(r) => format!("Refused({r:?})"),
        DiagnosticKind::InvalidRequest(e) => format!("InvalidRequest({e})"),
        DiagnosticKind::UnreadableAnswer(c) => format!("UnreadableAnswer({})", c.method()),
        DiagnosticKind::NotAPaymentCode | DiagnosticKind::TimeWentBackwards | DiagnosticKind::JournalStale => {
            format!("{k:?}")
        }
    }
}
