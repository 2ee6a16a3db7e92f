//! micropay with an `auth_code` and no face step (issue 16): the cashier scanned the
//! customer's payment code with the hand scanner. The order goes through the machine's
//! own settle loop (submit once, query, reverse) and micropay answers its conclusion.

mod common;

use common::{Reply, Rig, json, p, s};
use facepay_facade::{Operation, Value};
use facepay_fsm::{BackendCall, Command, PayApi, PayCredential, SdkCall};
use serde_json::json as j;

const CODE: &str = "134567890123456789";

fn micropay(otn: &str, fee: i64, code: &str) -> facepay_facade::Params {
    p(&[
        ("out_trade_no", s(otn)),
        ("total_fee", Value::Num(fee)),
        ("auth_code", s(code)),
    ])
}

fn submits(r: &Rig) -> Vec<(PayApi, PayCredential)> {
    r.log
        .iter()
        .filter_map(|c| match c {
            Command::Backend {
                call: BackendCall::Submit { api, credential, .. },
                ..
            } => Some((*api, credential.clone())),
            _ => None,
        })
        .collect()
}

fn face_calls(r: &Rig) -> usize {
    r.log
        .iter()
        .filter(|c| {
            matches!(
                c,
                Command::Sdk {
                    call: SdkCall::GetWxpayfaceCode(_) | SdkCall::StartCodeScanner,
                    ..
                }
            )
        })
        .count()
}

#[test]
fn micropay_with_a_payment_code_pays_a_new_order_without_a_face() {
    let mut r = Rig::started();
    let m = r.call(Operation::Micropay, micropay("C1", 1000, CODE));
    r.run_until(60_000);
    let a = r.answer(m).expect("answered");
    assert!(a.status(), "{a}");
    assert_eq!(a.get("result_code"), Some("SUCCESS"));
    assert_eq!(a.get("out_trade_no"), Some("C1"));
    assert_eq!(a.num("total_fee"), Some(1000));
    let code = facepay_fsm::Text::new(facepay_fsm::Field::AuthCode, CODE).unwrap();
    assert_eq!(submits(&r), vec![(PayApi::Micropay, PayCredential::AuthCode(code))]);
    assert_eq!(face_calls(&r), 0, "no face step");
    // The order is this terminal's now: orderquery finds it.
    let q = r.call(Operation::Orderquery, p(&[("out_trade_no", s("C1"))]));
    assert_eq!(r.answer(q).unwrap().get("facepay_state"), Some("PAID"));
}

#[test]
fn an_ambiguous_code_order_is_queried_then_reversed_and_micropay_says_so() {
    let mut r = Rig::started();
    r.submits.push_back(json(j!({
        "return_code": "SUCCESS", "result_code": "FAIL", "err_code": "SYSTEMERROR"
    })));
    for _ in 0..8 {
        r.queries.push_back(json(j!({
            "return_code": "SUCCESS", "result_code": "SUCCESS", "trade_state": "USERPAYING"
        })));
    }
    r.reverses.push_back(json(j!({
        "return_code": "SUCCESS", "result_code": "SUCCESS", "recall": "N"
    })));
    let m = r.call(Operation::Micropay, micropay("C2", 500, "104567890123456789"));
    r.run_until(120_000);
    let a = r.answer(m).expect("answered");
    assert!(!a.status());
    assert_eq!(a.error_code(), Some("REVERSED"), "{a}");
    assert_eq!(submits(&r).len(), 1, "submitted once");
    // The same micropay again: the concluded order's answer, nothing sent.
    let before = r.log.len();
    let again = r.call(Operation::Micropay, micropay("C2", 500, "104567890123456789"));
    assert_eq!(r.answer(again).unwrap().error_code(), Some("REVERSED"));
    assert_eq!(r.log.len(), before);
}

#[test]
fn micropay_of_a_new_order_is_refused_by_name_before_anything_is_sent() {
    let mut r = Rig::started();
    let before = r.log.len();
    // No total_fee: the amount cannot be guessed.
    let no_fee = r.call(
        Operation::Micropay,
        p(&[("out_trade_no", s("C3")), ("auth_code", s(CODE))]),
    );
    let a = r.answer(no_fee).unwrap();
    assert_eq!(a.error_code(), Some("PARAM_ERROR"));
    assert!(a.to_string().contains("total_fee"), "{a}");
    // Not a WeChat payment code (an Alipay-style 28…): not an order of this terminal.
    let alipay = r.call(Operation::Micropay, micropay("C4", 100, "284567890123456789"));
    assert_eq!(r.answer(alipay).unwrap().error_code(), Some("ORDER_NOT_FOUND"));
    assert_eq!(r.log.len(), before, "nothing was sent");
}

#[test]
fn a_code_order_while_another_settles_is_refused_and_the_code_never_submitted() {
    let mut r = Rig::started();
    r.submits.push_back(Reply::Lost);
    let first = r.call(Operation::Micropay, micropay("C5", 100, CODE));
    assert!(r.answer(first).is_none(), "settling");
    let second = r.call(Operation::Micropay, micropay("C6", 100, "114567890123456789"));
    assert_eq!(r.answer(second).unwrap().error_code(), Some("SETTLING"));
    r.run_until(120_000);
    assert_eq!(submits(&r).len(), 1);
}
