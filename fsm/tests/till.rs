//! The till's other orders and facts (issue 16): an order paid with a payment code the app
//! holds, a code-scanner order with no face step, `reportPaycode` after a scanner payment,
//! the face app's version as the host reports it, and `stopWxpayface` in FACEID-LOOP.
//! One test per new transition.

mod common;

use common::*;
use facepay_fsm::codes::{PayErrCode, ResultCode, SdkReturnCode, TradeState};
use facepay_fsm::*;

fn code(s: &str) -> AuthCode {
    ok(Text::new(Field::AuthCode, s))
}

fn code_order(no: &str, credential: OrderCredential) -> OrderRequest {
    order(no, 100, FaceCodeType::Facepay).paid_with(credential)
}

fn submits(cmds: &[Command]) -> Vec<(PayApi, PayCredential)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Backend {
                call: BackendCall::Submit { api, credential, .. },
                ..
            } => Some((*api, credential.clone())),
            _ => None,
        })
        .collect()
}

fn sdk_calls(cmds: &[Command]) -> Vec<SdkCall> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Sdk { call, .. } => Some(call.clone()),
            _ => None,
        })
        .collect()
}

fn version(major: u8, minor: u8) -> AppEvent {
    AppEvent::FaceAppVersion(SdkVersion { major, minor })
}

// ── an order with the app's auth_code ─────────────────────────────────────────────────

#[test]
fn an_auth_code_order_submits_through_micropay_at_once() {
    let mut h = H::idle();
    h.at(1_000);
    let out = h.app(AppEvent::StartOrder(code_order(
        "C1",
        OrderCredential::AuthCode(code(PAY_CODE)),
    )));
    assert_eq!(h.state(), StateId::Submitting);
    // No face step, no authinfo: the code is the credential, paid through micropay even
    // though the order's face_code_type says facepay.
    assert!(sdk_calls(&out).is_empty(), "{out:?}");
    assert_eq!(
        submits(&out),
        vec![(PayApi::Micropay, PayCredential::AuthCode(code(PAY_CODE)))]
    );
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::Persist(r) if r.api == PayApi::Micropay))
    );
    h.at(1_500);
    let out = h.submit_answer(Ok(pay_success()));
    assert_eq!(h.outcome(), Some((Outcome::Paid, Reason::SubmitSucceeded)));
    // The app read the code itself: the face app has nothing to hear.
    assert!(!has_sdk(&out, SdkCallKind::ReportPaycode));
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn an_ambiguous_auth_code_order_is_queried_then_reversed() {
    let mut h = H::idle();
    h.at(1_000);
    h.app(AppEvent::StartOrder(code_order(
        "C1",
        OrderCredential::AuthCode(code(PAY_CODE)),
    )));
    h.at(1_100);
    h.submit_answer(Ok(pay_error(PayErrCode::SystemError)));
    assert_eq!(h.state(), StateId::Querying);
    for t in [6_200, 11_300, 16_400, 21_500, 26_600] {
        h.at(t);
        h.query_answer(Ok(query(TradeState::UserPaying)));
    }
    h.at(31_000);
    assert_eq!(h.state(), StateId::Reversing);
    h.at(31_100);
    h.reverse_answer(Ok(reverse(ResultCode::Success, Some(codes::Recall::N), None)));
    assert_eq!(h.outcome(), Some((Outcome::Reversed, Reason::ReverseConfirmed)));
    assert_eq!(
        h.count(|c| matches!(
            c,
            Command::Backend {
                call: BackendCall::Submit { .. },
                ..
            }
        )),
        1
    );
}

#[test]
fn an_auth_code_that_is_not_a_payment_code_is_an_invalid_request() {
    let mut h = H::idle();
    for bad in ["164567890123456789", "13456789012345678", "https://example.com/q"] {
        let out = h.app(AppEvent::StartOrder(code_order(
            "C1",
            OrderCredential::AuthCode(code(bad)),
        )));
        assert_eq!(
            diags(&out),
            vec![DiagnosticKind::InvalidRequest(FieldError::Malformed {
                field: Field::AuthCode
            })],
            "{bad}"
        );
        assert_eq!(h.state(), StateId::Idle);
    }
}

#[test]
fn the_last_orders_auth_code_is_never_submitted_again() {
    let mut h = H::idle();
    h.at(1_000);
    h.app(AppEvent::StartOrder(code_order(
        "C1",
        OrderCredential::AuthCode(code(PAY_CODE)),
    )));
    h.submit_answer(Ok(pay_success()));
    h.at(2_000);
    let out = h.app(AppEvent::StartOrder(code_order(
        "C2",
        OrderCredential::AuthCode(code(PAY_CODE)),
    )));
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::CredentialReused)));
    assert!(submits(&out).is_empty());
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn an_auth_code_order_while_one_settles_is_refused() {
    let mut h = H::submitting();
    let out = h.app(AppEvent::StartOrder(code_order(
        "C2",
        OrderCredential::AuthCode(code("104567890123456789")),
    )));
    assert_eq!(diags(&out), vec![DiagnosticKind::Refused(Refusal::Settling)]);
}

// ── a code-scanner order ──────────────────────────────────────────────────────────────

#[test]
fn a_code_scanner_order_starts_the_scanner_without_a_face_step() {
    let mut h = H::idle();
    h.at(1_000);
    let out = h.app(AppEvent::StartOrder(code_order("S1", OrderCredential::CodeScanner)));
    assert_eq!(h.state(), StateId::ScanningCode);
    assert_eq!(sdk_calls(&out), vec![SdkCall::StartCodeScanner]);
    h.at(3_000);
    let out = h.scanned(PAY_CODE);
    assert_eq!(h.state(), StateId::Submitting);
    assert!(has_sdk(&out, SdkCallKind::StopCodeScanner));
    assert_eq!(
        submits(&out),
        vec![(PayApi::Micropay, PayCredential::AuthCode(code(PAY_CODE)))]
    );
}

#[test]
fn a_scanner_payment_is_reported_to_the_face_app_once_paid() {
    let mut h = H::idle();
    h.app(AppEvent::StartOrder(code_order("S1", OrderCredential::CodeScanner)));
    h.scanned(PAY_CODE);
    let out = h.submit_answer(Ok(pay_success()));
    assert_eq!(concluded(&out), Some((Outcome::Paid, Reason::SubmitSucceeded)));
    assert!(sdk_calls(&out).contains(&SdkCall::ReportPaycode {
        auth_code: code(PAY_CODE)
    }));
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn a_scanner_code_that_did_not_pay_is_not_reported() {
    let mut h = H::idle();
    h.app(AppEvent::StartOrder(code_order("S1", OrderCredential::CodeScanner)));
    h.scanned(PAY_CODE);
    h.submit_answer(Ok(pay_error(PayErrCode::AuthCodeExpire)));
    // A decline is closed at WeChat by a reverse (Policy::close_declined_orders).
    h.at(20_000);
    h.reverse_answer(Ok(reverse(ResultCode::Success, Some(codes::Recall::N), None)));
    assert!(
        matches!(h.outcome(), Some((Outcome::NotPaid | Outcome::Reversed, _))),
        "{:?}",
        h.outcome()
    );
    assert_eq!(
        h.count(|c| matches!(
            c,
            Command::Sdk {
                call: SdkCall::ReportPaycode { .. },
                ..
            }
        )),
        0
    );
}

#[test]
fn a_scanner_payment_after_scan_payment_is_reported_too() {
    let mut h = H::scanning(FaceCodeType::Facepay);
    h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
    h.scanned("114567890123456789");
    let out = h.submit_answer(Ok(pay_success()));
    assert!(has_sdk(&out, SdkCallKind::ReportPaycode));
}

#[test]
fn the_scanner_keeps_reading_past_a_code_of_another_wallet() {
    let mut h = H::idle();
    h.app(AppEvent::StartOrder(code_order("S1", OrderCredential::CodeScanner)));
    // 18 digits, but an Alipay-style prefix: not a WeChat payment code.
    let out = h.scanned("284567890123456789");
    assert_eq!(diags(&out), vec![DiagnosticKind::NotAPaymentCode]);
    assert_eq!(h.state(), StateId::ScanningCode);
}

#[test]
fn a_code_scanner_order_can_be_cancelled_before_a_code_is_read() {
    let mut h = H::idle();
    h.app(AppEvent::StartOrder(code_order("S1", OrderCredential::CodeScanner)));
    let out = h.app(AppEvent::Cancel);
    assert!(has_sdk(&out, SdkCallKind::StopCodeScanner));
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::CashierCancelled)));
}

// ── the face app's version ────────────────────────────────────────────────────────────

/// A face order paid at once, on a session whose Policy says `policy` and whose host
/// reported `reported`: whether the pay result was reported to the face app.
fn reports_pay_result(policy: SdkVersion, reported: Option<SdkVersion>) -> bool {
    let settings = PolicySettings {
        sdk_version: policy,
        ..PolicySettings::default()
    };
    let mut h = H::new(Policy::new(settings).expect("valid policy"));
    if let Some(v) = reported {
        assert!(diags(&h.app(AppEvent::FaceAppVersion(v))).is_empty());
    }
    h.start();
    h.at(100);
    h.init_answer(SdkStatus::success());
    h.at(200);
    h.rawdata();
    h.at(300);
    h.authinfo(3600);
    h.at(1_000);
    h.order("T1", 100, FaceCodeType::Micropay);
    h.face(SdkStatus::success(), PAY_CODE);
    let out = h.submit_answer(Ok(pay_success()));
    has_sdk(&out, SdkCallKind::UpdateWxpayfacePayResult)
}

#[test]
fn the_reported_face_app_version_decides_the_pay_result_report() {
    let old = SdkVersion { major: 2, minor: 12 };
    let new = SdkVersion::NO_PAY_RESULT_UPDATE;
    // The reported version wins over the Policy, either way.
    assert!(reports_pay_result(new, Some(old)));
    assert!(!reports_pay_result(old, Some(new)));
    // Without one, the Policy value is the fallback.
    assert!(reports_pay_result(old, None));
    assert!(!reports_pay_result(new, None));
}

#[test]
fn the_face_app_version_is_taken_in_every_state_and_changes_nothing_else() {
    let mut h = H::submitting();
    let out = h.app(version(2, 12));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.state(), StateId::Submitting);
    assert_eq!(h.s.refusal(), None);
    // ... and it counts for this order's report.
    let out = h.submit_answer(Ok(pay_success()));
    assert!(has_sdk(&out, SdkCallKind::UpdateWxpayfacePayResult));
    assert_eq!(h.state(), StateId::Reporting);
}

// ── FACEID-LOOP ───────────────────────────────────────────────────────────────────────

fn lookup(h: &mut H, authtype: FaceAuthType, status: SdkStatus) -> Vec<Command> {
    h.app(AppEvent::IdentifyUser(member_lookup(authtype)));
    let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceUserInfo));
    h.ev(Event::Sdk(SdkEvent::UserInfo {
        id,
        status,
        user: UserInfo::default(),
    }))
}

#[test]
fn faceid_loop_is_stopped_once_it_answers() {
    let mut h = H::idle();
    let out = lookup(&mut h, FaceAuthType::FaceidLoop, SdkStatus::success());
    assert!(has_sdk(&out, SdkCallKind::StopWxpayface));
    assert_eq!(h.state(), StateId::Idle);
    let out = lookup(&mut h, FaceAuthType::FaceidLoop, SdkStatus::code(SdkReturnCode::Error));
    assert!(has_sdk(&out, SdkCallKind::StopWxpayface));
}

#[test]
fn faceid_once_needs_no_stop() {
    let mut h = H::idle();
    let out = lookup(&mut h, FaceAuthType::FaceidOnce, SdkStatus::success());
    assert!(!has_sdk(&out, SdkCallKind::StopWxpayface));
}
