//! The five money-safety defects of the seed facade (issue 13), each driven through a
//! real machine with a scripted face app and backend. The facade of `device/src/facade.rs`
//! before this crate fails every one of them (noted per test).

mod common;

use common::{Reply, Rig, json, order, p, policy, s};
use facepay_facade::{Operation, Value, answer_bound_ms};
use facepay_fsm::codes::{SdkErrCode, SdkReturnCode};
use facepay_fsm::{BackendCall, Command, PayCredential, PayResult, SdkCall, SdkStatus};
use serde_json::json as j;

fn submits(r: &Rig) -> usize {
    r.count(|c| {
        matches!(
            c,
            Command::Backend {
                call: BackendCall::Submit { .. },
                ..
            }
        )
    })
}

/// Defect 1. The old facade answered `{status: false, errorCode: "271382020"}` on the first
/// rejected authinfo, while the machine fetched a new one, scanned again and charged.
#[test]
fn a_rejected_authinfo_retried_by_the_machine_is_never_answered_false() {
    let mut r = Rig::started();
    r.face
        .push_back(SdkStatus::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid));
    let code = r.call(Operation::GetWxpayfaceCode, order("T1", 1000));
    r.run_until(60_000);
    let a = r.answer(code).expect("answered");
    assert!(a.status(), "{a}");
    // Exactly the credential the machine submitted.
    let sent = r.log.iter().find_map(|c| match c {
        Command::Backend {
            call:
                BackendCall::Submit {
                    credential: PayCredential::FaceCode { face_code, .. },
                    ..
                },
            ..
        } => Some(face_code.to_string()),
        _ => None,
    });
    assert_eq!(a.get("face_code"), sent.as_deref());
    assert_eq!(a.num("telephone_used"), Some(1), "a number, as the seed says");
    assert_eq!(a.num("underage_state"), Some(1));
    let m = r.call(
        Operation::Micropay,
        p(&[("out_trade_no", s("T1")), ("total_fee", Value::Num(1000))]),
    );
    r.run_until(120_000);
    assert!(r.answer(m).unwrap().status());
    assert_eq!(submits(&r), 1);
}

/// Defect 1, SCAN_PAYMENT. The old facade answered `{status: false, errorCode:
/// "SCAN_PAYMENT"}` and the machine then charged the scanned payment code.
#[test]
fn scan_payment_is_answered_with_the_scanned_code_the_machine_submits() {
    let mut r = Rig::started();
    r.face.push_back(SdkStatus::code(SdkReturnCode::ScanPayment));
    let code = r.call(Operation::GetWxpayfaceCode, order("T1", 1000));
    r.run_until(60_000);
    let a = r.answer(code).expect("answered");
    assert!(a.status(), "{a}");
    assert_eq!(
        a.get("face_code"),
        Some(""),
        "no face credential: none will be submitted"
    );
    assert_eq!(a.get("auth_code"), Some("134567890123456789"));
    assert!(r.log.iter().any(|c| matches!(
        c,
        Command::Backend {
            call: BackendCall::Submit {
                credential: PayCredential::AuthCode(_),
                ..
            },
            ..
        }
    )));
}

/// A face scan that ends without a submit is the only `status: false` getWxpayfaceCode
/// gives: nothing went to the backend, nothing can be charged.
#[test]
fn an_order_that_ends_before_any_submit_answers_not_submitted() {
    let mut r = Rig::started();
    r.face.push_back(SdkStatus::code(SdkReturnCode::UserCancel));
    let code = r.call(Operation::GetWxpayfaceCode, order("T1", 1000));
    r.run_until(60_000);
    let a = r.answer(code).expect("answered");
    assert_eq!(a.error_code(), Some("NOT_SUBMITTED"), "{a}");
    assert_eq!(submits(&r), 0);
    let q = r.call(Operation::Orderquery, p(&[("out_trade_no", s("T1"))]));
    let q = r.answer(q).unwrap();
    assert_eq!(q.get("facepay_state"), Some("NOT_SUBMITTED"));
    assert_eq!(q.get("trade_state"), None, "never an invented NOTPAY");
}

/// Defect 1, the same out_trade_no again: the machine refuses a second submit, and the
/// answer is the first one, not a `status: false` for an order that may be charged.
#[test]
fn get_wxpayface_code_again_for_a_submitted_order_answers_as_the_first_did() {
    let mut r = Rig::started();
    let first = r.call(Operation::GetWxpayfaceCode, order("T1", 1000));
    r.run_until(60_000);
    let first = r.answer(first).unwrap().clone();
    assert!(first.status());
    let again = r.call(Operation::GetWxpayfaceCode, order("T1", 1000));
    r.run_until(120_000);
    assert_eq!(r.answer(again), Some(&first));
    assert_eq!(submits(&r), 1);
}

/// Defect 2. The old facade read only `out_trade_no` from micropay: a changed amount was
/// silently charged at the old one.
#[test]
fn micropay_with_a_changed_amount_is_a_typed_error_and_sends_nothing() {
    let mut r = Rig::started();
    let code = r.call(Operation::GetWxpayfaceCode, order("T1", 1000));
    r.run_until(30_000);
    let face_code = r.answer(code).unwrap().get("face_code").unwrap().to_owned();
    let before = r.log.len();
    let m = r.call(
        Operation::Micropay,
        p(&[
            ("out_trade_no", s("T1")),
            ("total_fee", Value::Num(900)),
            ("auth_code", s(&face_code)),
        ]),
    );
    let a = r.answer(m).expect("answered at once");
    assert_eq!(a.error_code(), Some("ORDER_MISMATCH"), "{a}");
    assert_eq!(a.get("key"), Some("total_fee"));
    assert_eq!(a.num("total_fee"), Some(1000), "the amount really submitted");
    assert_eq!(r.log.len(), before, "nothing more was sent");
    let wrong = r.call(
        Operation::Micropay,
        p(&[("out_trade_no", s("T1")), ("auth_code", s("OTHER"))]),
    );
    assert_eq!(r.answer(wrong).unwrap().get("key"), Some("auth_code"));
    // The same parameters: the submitted order's outcome, its amount a number.
    let ok = r.call(
        Operation::Micropay,
        p(&[("out_trade_no", s("T1")), ("total_fee", s("1000"))]),
    );
    r.run_until(120_000);
    let a = r.answer(ok).unwrap();
    assert!(a.status(), "{a}");
    assert_eq!(a.num("total_fee"), Some(1000));
    assert_eq!(submits(&r), 1);
}

/// Defect 3. With an SDK before 2.13 the machine told the face UI `payresult=ERROR` for a
/// NeedsReconciliation order (reverse budget exhausted: the money may have moved).
#[test]
fn needs_reconciliation_never_reaches_the_face_ui_as_error() {
    let mut r = Rig::new(policy(true));
    let init = r.call(Operation::InitWxpayface, Vec::new());
    r.run_until(1_000);
    assert!(r.answer(init).unwrap().status());
    r.submits.push_back(Reply::Lost);
    let code = r.call(Operation::GetWxpayfaceCode, order("T1", 1000));
    let m = r.call(Operation::Micropay, p(&[("out_trade_no", s("T1"))]));
    r.run_until(1_000_000);
    assert!(r.answer(code).unwrap().status());
    let a = r.answer(m).expect("answered");
    assert_eq!(a.error_code(), Some("NEEDS_RECONCILIATION"), "{a}");
    assert_eq!(
        r.count(|c| matches!(c, Command::Sdk { call: SdkCall::UpdateWxpayfacePayResult(u), .. } if u.payresult == PayResult::Error)),
        0,
        "the face UI is never told ERROR for an order that may be charged"
    );
    let u = r.call(Operation::UpdateWxpayfacePayResult, p(&[("payresult", s("ERROR"))]));
    assert_eq!(r.answer(u).unwrap().error_code(), Some("PAYRESULT_MISMATCH"));
}

/// Defect 4. The old facade knew only the current order (`ORDER_NOT_FOUND` for a
/// NeedsReconciliation order once the next started) and answered PAYERROR / NOTPAY that
/// no backend had reported.
#[test]
fn older_orders_are_reached_and_trade_states_are_only_the_backends() {
    let mut r = Rig::started();
    // T1: declined at the submit (NOTENOUGH): no trade_state was reported.
    r.submits.push_back(json(
        j!({"return_code": "SUCCESS", "result_code": "FAIL", "err_code": "NOTENOUGH"}),
    ));
    let c1 = r.call(Operation::GetWxpayfaceCode, order("T1", 1000));
    r.run_until(200_000);
    assert!(r.answer(c1).unwrap().status());
    // T2: ambiguous, then a query reports CLOSED.
    r.submits.push_back(Reply::Lost);
    r.queries.push_back(json(
        j!({"return_code": "SUCCESS", "result_code": "SUCCESS", "trade_state": "CLOSED"}),
    ));
    let c2 = r.call(Operation::GetWxpayfaceCode, order("T2", 500));
    r.run_until(400_000);
    assert!(r.answer(c2).unwrap().status());
    // T3 starts; both older orders are still reachable.
    let c3 = r.call(Operation::GetWxpayfaceCode, order("T3", 700));
    let q1 = r.call(Operation::Orderquery, p(&[("out_trade_no", s("T1"))]));
    let q2 = r.call(Operation::Orderquery, p(&[("out_trade_no", s("T2"))]));
    let v1 = r.call(Operation::Reverse, p(&[("out_trade_no", s("T1"))]));
    let q1 = r.answer(q1).expect("answered at once").clone();
    assert_eq!(q1.get("facepay_state"), Some("NOT_PAID"), "{q1}");
    assert_eq!(q1.get("trade_state"), None, "no PAYERROR invented");
    let q2 = r.answer(q2).unwrap();
    assert_eq!(q2.get("trade_state"), Some("CLOSED"), "{q2}");
    assert!(r.answer(v1).unwrap().status(), "nothing to reverse: recall N");
    r.run_until(600_000);
    assert!(r.answer(c3).unwrap().status());
    let nf = r.call(Operation::Orderquery, p(&[("out_trade_no", s("T9"))]));
    assert_eq!(r.answer(nf).unwrap().error_code(), Some("ORDER_NOT_FOUND"));
}

/// Defect 5. The old facade refused a second init (ALREADY_STARTED), dropped the seed's
/// nested `proxy` object, and let unknown keys through unnoticed.
#[test]
fn a_second_init_answers_success_and_applies_new_proxy_settings() {
    let mut r = Rig::started();
    let same = r.call(Operation::InitWxpayface, Vec::new());
    assert!(r.answer(same).expect("answered at once").status());
    let proxy = Value::Obj(vec![
        ("ip".into(), s("10.1.2.3")),
        ("port".into(), s("3128")),
        ("proxy_type".into(), Value::Num(3)),
    ]);
    let again = r.call(Operation::InitWxpayface, p(&[("proxy", proxy)]));
    r.run_until(r.now + 5_000);
    assert!(r.answer(again).expect("answered").status());
    let inits: Vec<_> = r
        .log
        .iter()
        .filter_map(|c| match c {
            Command::Sdk {
                call: SdkCall::InitWxpayface(i),
                ..
            } => Some(i.ip.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(inits, ["", "10.1.2.3"], "the new proxy reached the SDK");
    let raw = r.call(Operation::GetWxpayfaceRawdata, Vec::new());
    r.run_until(r.now + 5_000);
    assert!(r.answer(raw).expect("rawdata after the re-init").status());
    let bad = r.call(Operation::InitWxpayface, p(&[("proxytype", s("3"))]));
    let a = r.answer(bad).unwrap();
    assert_eq!(a.error_code(), Some("PARAM_ERROR"));
    assert!(a.get("msg").unwrap().contains("`proxytype`"), "{a}");
}

/// Defect 5: an authinfo in its last minute is never handed out; a call that cannot be
/// served is answered within the policy's bound, never left waiting.
#[test]
fn no_expired_authinfo_and_every_call_is_answered_within_the_bound() {
    let mut r = Rig::new(policy(false));
    r.authinfo_expires_in = 30;
    let init = r.call(Operation::InitWxpayface, Vec::new());
    r.run_until(1_000);
    assert!(r.answer(init).unwrap().status());
    let a = r.call(Operation::GetWxpayFaceAuthInfo, Vec::new());
    assert!(r.answer(a).is_none(), "the cached authinfo expires within the minute");
    let bound = answer_bound_ms(&policy(false));
    r.run_until(r.now + bound + 1);
    let ans = r.answer(a).expect("answered within the bound");
    if ans.status() {
        assert!(ans.num("expires_in").unwrap() > 60);
    } else {
        assert_eq!(ans.error_code(), Some("TIMEOUT"));
    }
}
