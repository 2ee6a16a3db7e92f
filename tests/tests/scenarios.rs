//! The canonical scenarios as transcripts, snapshotted with insta. Each snapshot was read
//! against docs/protocol.md before it was committed; the asserts beside them pin the facts that
//! matter most, so a careless `INSTA_UPDATE=always` cannot accept a wrong conclusion.

use facepay_fsm::codes::{PayErrCode, Recall, ResultCode, SdkErrCode, SdkReturnCode, TradeState};
use facepay_fsm::{
    AppEvent, BackendCall, Command, DiagnosticKind, FaceCodeType, OrderCredential, Outcome, PayResult, Policy,
    PolicySettings, Reason, Refusal, SdkCall, SdkCallKind, SdkStatus, SdkVersion, StateId, TransportError,
};
use facepay_tests::{Call, Driver, build};

const FACE_CODE: &str = "b713b5d2-666c-48";
const PAY_CODE: &str = "134567890123456789";

/// Brought up, authorised, and scanning a face for order "T1" at 1 s.
fn scanning(face_code_type: FaceCodeType) -> Driver {
    let mut d = Driver::new(Policy::default());
    d.bring_up(3600);
    d.advance_to(1_000);
    d.start_order("T1", 100, face_code_type);
    assert_eq!(d.state(), StateId::ScanningFace);
    d
}

/// [`scanning`], then a face_code at 5 s: the submit goes out at 5 s.
fn submitted(face_code_type: FaceCodeType) -> Driver {
    let mut d = scanning(face_code_type);
    d.advance_to(5_000);
    let code = if face_code_type == FaceCodeType::Facepay {
        FACE_CODE
    } else {
        PAY_CODE
    };
    d.answer_face_code_ok(code);
    assert_eq!(d.state(), StateId::Submitting);
    d
}

fn submits(d: &Driver) -> usize {
    d.outputs()
        .iter()
        .filter(|(_, c)| {
            matches!(
                c,
                Command::Backend {
                    call: BackendCall::Submit { .. },
                    ..
                }
            )
        })
        .count()
}

/// The times (ms) at which a backend call of this kind went out.
fn times_of(d: &Driver, pick: fn(&BackendCall) -> bool) -> Vec<u64> {
    d.outputs()
        .iter()
        .filter_map(|(t, c)| match c {
            Command::Backend { call, .. } if pick(call) => Some(t.0),
            _ => None,
        })
        .collect()
}

fn is_query(c: &BackendCall) -> bool {
    matches!(c, BackendCall::Query { .. })
}

fn is_reverse(c: &BackendCall) -> bool {
    matches!(c, BackendCall::Reverse { .. })
}

#[test]
fn happy_path_facepay_type_0() {
    let mut d = submitted(FaceCodeType::Facepay);
    d.advance_to(5_400);
    d.answer_submit(build::pay_success("4200000000000000001"));
    d.assert_concluded(Outcome::Paid);
    assert_eq!(d.state(), StateId::Idle);
    assert!(d.outputs().iter().any(|(_, c)| matches!(
        c,
        Command::Backend {
            call: BackendCall::Submit {
                api: facepay_fsm::PayApi::Facepay,
                ..
            },
            ..
        }
    )));
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn happy_path_micropay_type_1() {
    let mut d = submitted(FaceCodeType::Micropay);
    d.advance_to(5_400);
    d.answer_submit(build::pay_success("4200000000000000001"));
    d.assert_concluded(Outcome::Paid);
    assert_eq!(d.state(), StateId::Idle);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn userpaying_then_success_on_second_query() {
    let mut d = submitted(FaceCodeType::Micropay);
    d.advance_to(6_000);
    d.answer_submit(build::pay_error(PayErrCode::UserPaying));
    assert_eq!(d.state(), StateId::Querying);
    d.advance_to(11_000);
    d.advance_to(11_200);
    d.answer_query(TradeState::UserPaying);
    d.advance_to(16_200);
    d.advance_to(16_300);
    d.answer_query(TradeState::Success);
    d.assert_concluded(Outcome::Paid);
    // First query 5 s after the ambiguous answer, the next a poll interval after the reply.
    assert_eq!(times_of(&d, is_query), vec![11_000, 16_200]);
    assert_eq!(submits(&d), 1);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn systemerror_then_success() {
    let mut d = submitted(FaceCodeType::Micropay);
    d.advance_to(5_300);
    d.answer_submit(build::pay_error(PayErrCode::SystemError));
    d.advance_to(10_300);
    d.advance_to(10_500);
    d.answer_query(TradeState::Success);
    d.assert_concluded(Outcome::Paid);
    assert_eq!(times_of(&d, is_query), vec![10_300]);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn submit_timeout_notpay_until_budget_then_reverse() {
    let mut d = submitted(FaceCodeType::Micropay);
    // No answer: the backend deadline (10 s) fires at 15 s; the first query 5 s later.
    d.advance_to(20_000);
    assert_eq!(d.state(), StateId::Querying);
    for t in [20_100, 25_200, 30_300] {
        d.advance_to(t);
        d.answer_query(TradeState::NotPay);
    }
    // The budget ends 30 s after the submit (35 s): reverse then, not another query.
    d.advance_to(35_000);
    assert_eq!(d.state(), StateId::Reversing);
    d.advance_to(35_500);
    d.answer_reverse(ResultCode::Success, Recall::N);
    d.assert_concluded(Outcome::Reversed);
    assert_eq!(times_of(&d, is_query), vec![20_000, 25_100, 30_200]);
    assert_eq!(times_of(&d, is_reverse), vec![35_000]);
    assert_eq!(submits(&d), 1);
    insta::assert_snapshot!(d.transcript());
}

/// Submit SYSTEMERROR at 5.1 s, every query NOTPAY, the budget ends at 35 s: Reversing.
fn reversing() -> Driver {
    let mut d = submitted(FaceCodeType::Micropay);
    d.advance_to(5_100);
    d.answer_submit(build::pay_error(PayErrCode::SystemError));
    for t in [10_200, 15_300, 20_400, 25_500, 30_600] {
        d.advance_to(t);
        d.answer_query(TradeState::NotPay);
    }
    d.advance_to(35_000);
    assert_eq!(d.state(), StateId::Reversing);
    assert_eq!(times_of(&d, is_query), vec![10_100, 15_200, 20_300, 25_400, 30_500]);
    d
}

#[test]
fn reverse_recall_y_twice_then_n() {
    let mut d = reversing();
    d.advance_to(35_200);
    d.answer_reverse(ResultCode::Success, Recall::Y);
    d.advance_to(37_200);
    d.advance_to(37_300);
    d.answer_reverse(ResultCode::Success, Recall::Y);
    d.advance_to(41_300);
    d.advance_to(41_400);
    d.answer_reverse(ResultCode::Success, Recall::N);
    d.assert_concluded(Outcome::Reversed);
    // Backoff 2 s, then doubled.
    assert_eq!(times_of(&d, is_reverse), vec![35_000, 37_200, 41_300]);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn reverse_budget_exhausted_needs_reconciliation() {
    let mut d = reversing();
    // Every reverse times out (10 s); 10 attempts with backoff 2, 4, 8, 16, 30, 30, ... s.
    d.advance_to(400_000);
    d.assert_concluded(Outcome::NeedsReconciliation);
    assert_eq!(
        d.conclusion().map(|c| c.reason.clone()),
        Some(Reason::ReverseBudgetExhausted)
    );
    let reverses = times_of(&d, is_reverse);
    assert_eq!(
        reverses,
        vec![
            35_000, 47_000, 61_000, 79_000, 105_000, 145_000, 185_000, 225_000, 265_000, 305_000
        ]
    );
    assert_eq!(d.state(), StateId::Idle);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn user_cancel() {
    let mut d = scanning(FaceCodeType::Micropay);
    d.advance_to(8_000);
    d.answer_face_code_with(SdkReturnCode::UserCancel);
    d.assert_concluded(Outcome::NotPaid);
    assert_eq!(d.conclusion().map(|c| c.reason.clone()), Some(Reason::UserCancelled));
    assert_eq!(submits(&d), 0);
    assert_eq!(d.state(), StateId::Idle);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn scan_payment_code_scanner_paid() {
    let mut d = scanning(FaceCodeType::Facepay);
    d.advance_to(3_000);
    d.answer_face_code_with(SdkReturnCode::ScanPayment);
    assert_eq!(d.state(), StateId::ScanningCode);
    d.advance_to(6_000);
    d.note("a product barcode first: not a payment code, keep scanning");
    d.answer_code_scanned("6901234567892");
    assert_eq!(d.state(), StateId::ScanningCode);
    d.advance_to(9_000);
    d.answer_code_scanned(PAY_CODE);
    assert_eq!(d.state(), StateId::Submitting);
    // A scanned payment code is always paid through micropay.
    assert!(d.last().iter().any(|c| matches!(
        c,
        Command::Backend {
            call: BackendCall::Submit {
                api: facepay_fsm::PayApi::Micropay,
                ..
            },
            ..
        }
    )));
    d.advance_to(9_500);
    d.answer_submit(build::pay_success("4200000000000000002"));
    d.assert_concluded(Outcome::Paid);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn authinfo_expired_refresh_then_paid() {
    let mut d = scanning(FaceCodeType::Micropay);
    d.advance_to(4_000);
    d.answer_face_code(
        SdkStatus::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid),
        "",
    );
    assert_eq!(d.state(), StateId::PreparingRawdata);
    d.advance_to(4_200);
    d.answer_rawdata();
    d.advance_to(4_500);
    d.answer_authinfo_value("AUTH2", 3600);
    assert_eq!(d.state(), StateId::ScanningFace);
    // The second scan carries the new authinfo.
    assert!(d.last().iter().any(|c| matches!(
        c,
        Command::Sdk { call: SdkCall::GetWxpayfaceCode(r), .. } if r.authinfo.as_str() == "AUTH2"
    )));
    d.advance_to(8_000);
    d.answer_face_code_ok(PAY_CODE);
    d.advance_to(8_300);
    d.answer_submit(build::pay_success("4200000000000000003"));
    d.assert_concluded(Outcome::Paid);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn init_still_starting_twice_then_success() {
    let mut d = Driver::new(Policy::default());
    d.start();
    let starting = || SdkStatus::with_err(SdkReturnCode::Fail, SdkErrCode::ServiceInitialising);
    d.advance_to(100);
    d.answer_init(starting());
    assert_eq!(d.state(), StateId::InitBackoff);
    d.advance_to(600);
    d.advance_to(700);
    d.answer_init(starting());
    d.advance_to(1_200);
    d.advance_to(1_300);
    d.answer_init_ok();
    assert_eq!(d.state(), StateId::Idle);
    assert!(
        d.last()
            .iter()
            .any(|c| matches!(c, Command::Notify(facepay_fsm::Notice::Ready)))
    );
    let inits: Vec<u64> = d
        .outputs()
        .iter()
        .filter(|(_, c)| {
            matches!(
                c,
                Command::Sdk {
                    call: SdkCall::InitWxpayface(_),
                    ..
                }
            )
        })
        .map(|(t, _)| t.0)
        .collect();
    // ~500 ms after each "still starting".
    assert_eq!(inits, vec![0, 600, 1_200]);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn release_refused_while_settling_honoured_after() {
    let mut d = submitted(FaceCodeType::Micropay);
    d.advance_to(5_300);
    d.answer_submit(build::pay_error(PayErrCode::SystemError));
    d.advance_to(7_000);
    let out = d.release();
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Diagnostic(x) if x.kind == DiagnosticKind::Refused(Refusal::Settling)
    )));
    assert_eq!(d.state(), StateId::Querying);
    d.advance_to(10_300);
    d.advance_to(10_400);
    d.answer_query(TradeState::Success);
    d.assert_concluded(Outcome::Paid);
    d.advance_to(11_000);
    d.release();
    assert_eq!(d.state(), StateId::Releasing);
    d.advance_to(11_500);
    d.answer_released();
    assert_eq!(d.state(), StateId::Released);
    assert!(d.waiting(Call::Query).is_none());
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn sdk_before_2_13_reports_pay_result() {
    let settings = PolicySettings {
        sdk_version: SdkVersion { major: 2, minor: 12 },
        // The declined second order is reported at once (not reversed first): this
        // transcript is about the report; closing the loop is fsm/tests/harsh.rs's.
        close_declined_orders: false,
        ..PolicySettings::default()
    };
    let mut d = Driver::new(Policy::new(settings).expect("valid policy"));
    d.bring_up(3600);
    d.advance_to(1_000);
    d.start_order("T1", 100, FaceCodeType::Facepay);
    d.advance_to(5_000);
    d.answer_face_code_ok(FACE_CODE);
    d.advance_to(5_400);
    d.answer_submit(build::pay_success("4200000000000000004"));
    d.assert_concluded(Outcome::Paid);
    assert_eq!(d.state(), StateId::Reporting);
    d.advance_to(5_600);
    d.answer_pay_result_updated();
    assert_eq!(d.state(), StateId::Idle);

    d.advance_to(10_000);
    d.start_order("T2", 200, FaceCodeType::Facepay);
    d.advance_to(14_000);
    d.answer_face_code_ok("c824c6e3-777d-59");
    d.advance_to(14_400);
    d.answer_submit(build::pay_error(PayErrCode::NotEnough));
    d.assert_concluded(Outcome::NotPaid);
    assert_eq!(d.state(), StateId::Reporting);
    d.advance_to(14_600);
    d.answer_pay_result_updated();
    assert_eq!(d.state(), StateId::Idle);

    let reported: Vec<PayResult> = d
        .outputs()
        .iter()
        .filter_map(|(_, c)| match c {
            Command::Sdk {
                call: SdkCall::UpdateWxpayfacePayResult(r),
                ..
            } => Some(r.payresult),
            _ => None,
        })
        .collect();
    assert_eq!(reported, vec![PayResult::Success, PayResult::Error]);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn transport_error_on_submit_is_ambiguous() {
    let mut d = submitted(FaceCodeType::Micropay);
    d.advance_to(6_000);
    d.answer_submit_with(Err(TransportError::Connection));
    assert_eq!(d.state(), StateId::Querying);
    assert!(d.conclusion().is_none());
}

// ── issue 16: orders without a face, the installed face app's version ─────────────────

/// Brought up and authorised; at 1 s the cashier app starts order "C1" (100 fen) paid with
/// `credential` instead of a face.
fn code_order(credential: OrderCredential) -> Driver {
    let mut d = Driver::new(Policy::default());
    d.bring_up(3600);
    d.advance_to(1_000);
    let order = build::order("C1", 100, FaceCodeType::Facepay).paid_with(credential);
    d.request(AppEvent::StartOrder(order));
    d
}

fn auth_code(code: &str) -> OrderCredential {
    OrderCredential::AuthCode(build::ok(facepay_fsm::Text::new(facepay_fsm::Field::AuthCode, code)))
}

fn sdk_calls(d: &Driver) -> Vec<SdkCallKind> {
    d.outputs()
        .iter()
        .filter_map(|(_, c)| match c {
            Command::Sdk { call, .. } => Some(call.kind()),
            _ => None,
        })
        .collect()
}

#[test]
fn code_only_order_paid() {
    let mut d = code_order(auth_code(PAY_CODE));
    // The hand scanner's code goes straight to micropay: no face step, no scanner.
    assert_eq!(d.state(), StateId::Submitting);
    d.advance_to(1_400);
    d.answer_submit(build::pay_success("4200000000000000011"));
    d.assert_concluded(Outcome::Paid);
    assert_eq!(d.state(), StateId::Idle);
    assert_eq!(submits(&d), 1);
    // Only the bring-up calls: the face app took no part in this order.
    assert_eq!(
        sdk_calls(&d),
        vec![SdkCallKind::InitWxpayface, SdkCallKind::GetWxpayfaceRawdata]
    );
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn code_only_order_ambiguous_then_reversed() {
    let mut d = code_order(auth_code("104567890123456789"));
    d.advance_to(1_300);
    d.answer_submit(build::pay_error(PayErrCode::UserPaying));
    assert_eq!(d.state(), StateId::Querying);
    for t in [6_300, 11_400, 16_500, 21_600, 26_700] {
        d.advance_to(t);
        d.advance_by(100);
        d.answer_query(TradeState::UserPaying);
    }
    // The query budget ends 30 s after the submit; the reverse waits 15 s after it.
    d.advance_to(31_000);
    assert_eq!(d.state(), StateId::Reversing);
    d.advance_to(31_200);
    d.answer_reverse(ResultCode::Success, Recall::N);
    d.assert_concluded(Outcome::Reversed);
    assert_eq!(submits(&d), 1);
    assert_eq!(times_of(&d, is_reverse), vec![31_000]);
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn code_scanner_order_paid_and_reported() {
    let mut d = code_order(OrderCredential::CodeScanner);
    assert_eq!(d.state(), StateId::ScanningCode);
    d.advance_to(4_000);
    d.answer_code_scanned(PAY_CODE);
    assert_eq!(d.state(), StateId::Submitting);
    d.advance_to(4_300);
    d.answer_submit(build::pay_success("4200000000000000012"));
    d.assert_concluded(Outcome::Paid);
    // The face app's scanner read the code that paid: it hears it, after the payment.
    assert!(d.last().iter().any(|c| matches!(
        c,
        Command::Sdk { call: SdkCall::ReportPaycode { auth_code }, .. } if auth_code.as_str() == PAY_CODE
    )));
    insta::assert_snapshot!(d.transcript());
}

#[test]
fn old_face_app_reported_by_the_host_gets_the_pay_result() {
    // The Policy says 2.13 (no report); the host read 2.12.100 from the installed face app.
    let mut d = Driver::new(Policy::default());
    let version = SdkVersion::parse("2.12.100").expect("a versionName");
    d.request(AppEvent::FaceAppVersion(version));
    d.bring_up(3600);
    d.advance_to(1_000);
    d.start_order("T1", 100, FaceCodeType::Facepay);
    d.advance_to(5_000);
    d.answer_face_code_ok(FACE_CODE);
    d.advance_to(5_400);
    d.answer_submit(build::pay_success("4200000000000000013"));
    d.assert_concluded(Outcome::Paid);
    assert_eq!(d.state(), StateId::Reporting);
    assert!(d.last().iter().any(|c| matches!(
        c,
        Command::Sdk { call: SdkCall::UpdateWxpayfacePayResult(r), .. } if r.payresult == PayResult::Success
    )));
    d.advance_to(5_600);
    d.answer_pay_result_updated();
    assert_eq!(d.state(), StateId::Idle);
    insta::assert_snapshot!(d.transcript());
}
