//! One test per state and meaningful input: what each transition emits and where it goes,
//! including refusals, late and duplicate answers, and timers.

mod common;

use common::*;
use facepay_fsm::codes::{
    PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseErrCode, SdkErrCode, SdkReturnCode, TradeState,
};
use facepay_fsm::*;

fn refused(why: Refusal) -> DiagnosticKind {
    DiagnosticKind::Refused(why)
}

// ── Offline ─────────────────────────────────────────────────────────────────────────────

#[test]
fn uninitialized_refuses_orders_and_cancel() {
    let mut h = H::new(Policy::default());
    assert_eq!(
        diags(&h.order("T1", 1, FaceCodeType::Micropay)),
        vec![refused(Refusal::NotStarted)]
    );
    assert_eq!(diags(&h.app(AppEvent::Cancel)), vec![refused(Refusal::NothingToCancel)]);
    assert_eq!(h.state(), StateId::Uninitialized);
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn start_with_invalid_merchant_is_an_invalid_request() {
    let mut h = H::new(Policy::default());
    let out = h.app(AppEvent::Start {
        init: InitParams::default(),
        merchant: Merchant::default(),
    });
    assert_eq!(
        diags(&out),
        vec![DiagnosticKind::InvalidRequest(FieldError::Empty {
            field: Field::Appid
        })]
    );
    assert_eq!(h.state(), StateId::Uninitialized);
}

#[test]
fn start_calls_init_with_a_deadline() {
    let mut h = H::new(Policy::default());
    let out = h.start();
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface));
    assert_eq!(h.state(), StateId::Initializing);
    assert_eq!(h.s.poll_timeout(), Some(Instant(12_000)));
    // A second Start while initialising is refused.
    assert_eq!(diags(&h.start()), vec![refused(Refusal::Busy)]);
}

#[test]
fn init_error_gives_up_and_reports_unavailable() {
    let mut h = H::new(Policy::default());
    h.start();
    let out = h.init_answer(SdkStatus::code(SdkReturnCode::Error));
    assert!(out.contains(&Command::Notify(Notice::SdkUnavailable)));
    assert_eq!(h.state(), StateId::Uninitialized);
}

#[test]
fn init_not_initialised_or_timeout_retries_after_the_delay() {
    let mut h = H::new(Policy::default());
    h.start();
    h.at(100);
    h.init_answer(SdkStatus::with_err(
        SdkReturnCode::Fail,
        SdkErrCode::ServiceNotInitialised,
    ));
    assert_eq!(h.state(), StateId::InitBackoff);
    let out = h.at(600);
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface));
    // No answer: the SDK deadline (12 s) counts as another failed attempt.
    h.at(12_600);
    assert_eq!(h.state(), StateId::InitBackoff);
    let out = h.at(13_100);
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface));
}

#[test]
fn init_gives_up_after_its_attempts() {
    let settings = PolicySettings {
        init_attempts: 2,
        ..PolicySettings::default()
    };
    let mut h = H::new(Policy::new(settings).unwrap());
    h.start();
    let starting = || SdkStatus::with_err(SdkReturnCode::Fail, SdkErrCode::ServiceInitialising);
    h.init_answer(starting());
    h.at(500);
    let out = h.init_answer(starting());
    assert!(out.contains(&Command::Notify(Notice::SdkUnavailable)));
    assert_eq!(h.state(), StateId::Uninitialized);
    assert_eq!(h.times(Call::Sdk(SdkCallKind::InitWxpayface)).len(), 2);
}

#[test]
fn duplicate_init_answer_is_stale() {
    let mut h = H::new(Policy::default());
    h.start();
    h.init_answer(SdkStatus::success());
    assert_eq!(h.state(), StateId::Idle);
    let id = h.id(Call::Sdk(SdkCallKind::InitWxpayface));
    let out = h.ev(Event::Sdk(SdkEvent::Initialised {
        id,
        status: SdkStatus::success(),
    }));
    assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(id)]);
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn release_while_offline_releases() {
    let mut h = H::new(Policy::default());
    h.start();
    let out = h.app(AppEvent::Release);
    assert!(has_sdk(&out, SdkCallKind::ReleaseWxpayface));
    assert_eq!(h.state(), StateId::Releasing);
    // The init answer that arrives afterwards is stale.
    let id = h.id(Call::Sdk(SdkCallKind::InitWxpayface));
    let out = h.ev(Event::Sdk(SdkEvent::Initialised {
        id,
        status: SdkStatus::success(),
    }));
    assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(id)]);
}

// ── Idle and the background authorisation ───────────────────────────────────────────────

#[test]
fn idle_refuses_start_and_cancel() {
    let mut h = H::idle();
    assert_eq!(diags(&h.start()), vec![refused(Refusal::AlreadyStarted)]);
    assert_eq!(diags(&h.app(AppEvent::Cancel)), vec![refused(Refusal::NothingToCancel)]);
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn idle_rejects_an_order_of_zero_fen() {
    let mut h = H::idle();
    let out = h.order("T1", 0, FaceCodeType::Micropay);
    assert_eq!(
        diags(&out),
        vec![DiagnosticKind::InvalidRequest(FieldError::Malformed {
            field: Field::TotalFee
        })]
    );
    assert_eq!(h.state(), StateId::Idle);
    let out = h.order("", 100, FaceCodeType::Micropay);
    assert_eq!(
        diags(&out),
        vec![DiagnosticKind::InvalidRequest(FieldError::Empty {
            field: Field::OutTradeNo
        })]
    );
}

#[test]
fn idle_refreshes_the_authinfo_ahead_of_expiry() {
    let mut h = H::idle();
    // Fetched at 0.3 s, valid 3600 s, refreshed 300 s early.
    assert_eq!(h.s.next_timer(), Some((Timer::AuthRefresh, Instant(3_300_300))));
    let out = h.at(3_300_300);
    assert!(has_sdk(&out, SdkCallKind::GetWxpayfaceRawdata));
    assert_eq!(h.state(), StateId::GettingRawdata);
}

#[test]
fn a_short_lived_authinfo_is_refreshed_at_half_its_life_not_in_a_loop() {
    // A backend answering expires_in at or under the 300 s refresh margin: refreshing
    // "margin before expiry" would mean at once, again and again.
    let mut h = H::idle_authorised_for(Policy::default(), 120);
    // Fetched at 0.3 s, valid 120 s: refreshed after 60 s.
    assert_eq!(h.s.next_timer(), Some((Timer::AuthRefresh, Instant(60_300))));
    // Fresh until then: a member lookup is not refused as unauthorised.
    let req = member_lookup(FaceAuthType::FaceidOnce);
    let out = h.app(AppEvent::IdentifyUser(req));
    assert!(has_sdk(&out, SdkCallKind::GetWxpayfaceUserInfo));
    h.app(AppEvent::Cancel);
    assert_eq!(h.state(), StateId::Idle);
    assert_eq!(
        h.count(|c| matches!(call_of(c), Some((Call::Sdk(SdkCallKind::GetWxpayfaceRawdata), _)))),
        1
    );
    let out = h.at(60_300);
    assert!(has_sdk(&out, SdkCallKind::GetWxpayfaceRawdata));
    // A lifetime of zero is not an authinfo at all: the fetch failed, retried later.
    h.rawdata();
    h.authinfo(0);
    assert_eq!(h.state(), StateId::Idle);
    assert_eq!(h.s.next_timer(), Some((Timer::AuthRefresh, Instant(70_300))));
}

#[test]
fn failed_refresh_goes_idle_and_retries_later() {
    let mut h = H::new(Policy::default());
    h.start();
    h.init_answer(SdkStatus::success());
    h.at(0);
    let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceRawdata));
    h.at(100);
    h.ev(Event::Sdk(SdkEvent::Rawdata {
        id,
        status: SdkStatus::code(SdkReturnCode::Error),
        rawdata: RawData::empty(),
    }));
    assert_eq!(h.state(), StateId::Idle);
    assert_eq!(h.s.next_timer(), Some((Timer::AuthRefresh, Instant(10_100))));
    // An order now has no authinfo: it authorises for itself.
    h.order("T1", 100, FaceCodeType::Micropay);
    assert_eq!(h.state(), StateId::PreparingRawdata);
}

#[test]
fn identify_user_needs_an_authinfo() {
    let mut h = H::new(Policy::default());
    h.start();
    h.init_answer(SdkStatus::success());
    let req = member_lookup(FaceAuthType::FaceidOnce);
    assert_eq!(
        diags(&h.app(AppEvent::IdentifyUser(req.clone()))),
        vec![refused(Refusal::NotAuthorised)]
    );
    let mut h = H::idle();
    let out = h.app(AppEvent::IdentifyUser(req));
    assert!(has_sdk(&out, SdkCallKind::GetWxpayfaceUserInfo));
    assert_eq!(h.state(), StateId::Identifying);
    // Cancel stops the lookup (stopWxpayface) and reports no member.
    let out = h.app(AppEvent::Cancel);
    assert!(has_sdk(&out, SdkCallKind::StopWxpayface));
    assert!(out.contains(&Command::Notify(Notice::UserNotIdentified)));
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn an_order_during_the_background_refresh_starts_at_once() {
    let mut h = H::idle();
    h.at(3_300_300);
    assert_eq!(h.state(), StateId::GettingRawdata);
    // The authinfo is not fresh any more (inside the refresh margin): the order fetches its own.
    h.order("T1", 100, FaceCodeType::Micropay);
    assert_eq!(h.state(), StateId::PreparingRawdata);
    // The background call's answer is stale now.
    let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceRawdata));
    h.rawdata();
    assert_eq!(h.state(), StateId::PreparingAuthInfo);
    let out = h.ev(Event::Sdk(SdkEvent::Rawdata {
        id,
        status: SdkStatus::success(),
        rawdata: RawData::empty(),
    }));
    assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(id)]);
}

// ── Scanning ────────────────────────────────────────────────────────────────────────────

#[test]
fn scanning_refuses_a_second_order() {
    let mut h = H::scanning(FaceCodeType::Micropay);
    assert_eq!(
        diags(&h.order("T2", 1, FaceCodeType::Micropay)),
        vec![refused(Refusal::Busy)]
    );
    assert_eq!(diags(&h.start()), vec![refused(Refusal::AlreadyStarted)]);
    assert_eq!(h.state(), StateId::ScanningFace);
}

#[test]
fn cashier_cancel_while_scanning_ends_unpaid_and_the_late_face_code_is_stale() {
    let mut h = H::scanning(FaceCodeType::Micropay);
    let out = h.app(AppEvent::Cancel);
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::CashierCancelled)));
    assert_eq!(h.state(), StateId::Idle);
    let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceCode));
    let out = h.face_with_id(id, SdkStatus::success(), PAY_CODE);
    assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(id)]);
    assert_eq!(
        h.count(|c| matches!(
            c,
            Command::Backend {
                call: BackendCall::Submit { .. },
                ..
            }
        )),
        0
    );
}

/// A face app that never answers `releaseWxpayface`: its deadline ends the release all
/// the same (the app hears Released), so the terminal is not stuck in Releasing.
#[test]
fn an_unanswered_release_is_released_at_its_deadline() {
    let mut h = H::idle();
    let out = h.app(AppEvent::Release);
    assert!(has_sdk(&out, SdkCallKind::ReleaseWxpayface));
    assert_eq!(h.state(), StateId::Releasing);
    let (timer, out) = h.fire_next_by(u64::MAX).expect("the release's deadline");
    assert_eq!(timer, Timer::SdkDeadline);
    assert!(out.contains(&Command::Notify(Notice::Released)), "{out:?}");
    assert_eq!(h.state(), StateId::Released);
}

#[test]
fn release_while_scanning_concludes_then_releases() {
    let mut h = H::scanning(FaceCodeType::Micropay);
    let out = h.app(AppEvent::Release);
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::Released)));
    assert!(has_sdk(&out, SdkCallKind::ReleaseWxpayface));
    assert_eq!(h.state(), StateId::Releasing);
    let id = h.id(Call::Sdk(SdkCallKind::ReleaseWxpayface));
    let out = h.ev(Event::Sdk(SdkEvent::Released {
        id,
        status: SdkStatus::success(),
    }));
    assert!(out.contains(&Command::Notify(Notice::Released)));
    assert_eq!(h.state(), StateId::Released);
    assert_eq!(
        diags(&h.order("T2", 1, FaceCodeType::Micropay)),
        vec![refused(Refusal::Released)]
    );
    // Released can start again.
    h.start();
    assert_eq!(h.state(), StateId::Initializing);
}

#[test]
fn face_scan_outcomes_that_end_the_order() {
    let cases = [
        (SdkStatus::code(SdkReturnCode::UserCancel), "", Reason::UserCancelled),
        (
            SdkStatus::code(SdkReturnCode::FacepayNotAuth),
            "",
            Reason::FacepayNotAuthorised,
        ),
        (
            SdkStatus::code(SdkReturnCode::SystemError),
            "",
            Reason::ScanFailed(SdkReturnCode::SystemError),
        ),
        // SUCCESS without a face_code: nothing to pay with.
        (SdkStatus::success(), "", Reason::ScanFailed(SdkReturnCode::Success)),
        (
            SdkStatus::code(SdkReturnCode::parse("BRAND_NEW").unwrap()),
            "",
            Reason::ScanFailed(SdkReturnCode::parse("BRAND_NEW").unwrap()),
        ),
    ];
    for (status, code, reason) in cases {
        let mut h = H::scanning(FaceCodeType::Micropay);
        let out = h.face(status.clone(), code);
        assert_eq!(concluded(&out), Some((Outcome::NotPaid, reason)), "{status:?}");
        assert_eq!(h.state(), StateId::Idle);
    }
}

#[test]
fn face_scan_deadline_ends_the_order() {
    let mut h = H::scanning(FaceCodeType::Micropay);
    let out = h.at(91_000);
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::ScanTimedOut)));
}

#[test]
fn authinfo_rejected_twice_ends_the_order() {
    let mut h = H::scanning(FaceCodeType::Micropay);
    let rejected = || SdkStatus::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid);
    h.face(rejected(), "");
    assert_eq!(h.state(), StateId::PreparingRawdata);
    h.rawdata();
    h.authinfo(3600);
    assert_eq!(h.state(), StateId::ScanningFace);
    let out = h.face(rejected(), "");
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::AuthInfoUnavailable)));
}

#[test]
fn service_lost_while_scanning_ends_unpaid_and_reinitialises() {
    let mut h = H::scanning(FaceCodeType::Micropay);
    let out = h.ev(Event::Sdk(SdkEvent::ServiceLost));
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::SdkLost)));
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface));
    assert_eq!(h.state(), StateId::Initializing);
}

/// The scanner's answer says the face service is down (or still starting): the order
/// ends unpaid as a lost service, not as a failed scan, and the service is brought up
/// again (a failed scan would stop the scanner and leave the service as it was).
#[test]
fn code_scanner_reporting_the_service_down_ends_unpaid_and_reinitialises() {
    for err in [SdkErrCode::ServiceNotInitialised, SdkErrCode::ServiceInitialising] {
        let mut h = H::scanning(FaceCodeType::Facepay);
        h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
        assert_eq!(h.state(), StateId::ScanningCode);
        let id = h.id(Call::Sdk(SdkCallKind::StartCodeScanner));
        let out = h.ev(Event::Sdk(SdkEvent::CodeScanned {
            id,
            status: SdkStatus::with_err(SdkReturnCode::Fail, err.clone()),
            code: AuthCode::empty(),
        }));
        assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::SdkLost)), "{err:?}");
        assert!(has_sdk(&out, SdkCallKind::InitWxpayface), "{err:?}: {out:?}");
        assert!(!has_sdk(&out, SdkCallKind::StopCodeScanner), "{err:?}: {out:?}");
        assert_eq!(h.state(), StateId::Initializing);
    }
}

#[test]
fn code_scanner_keeps_scanning_past_other_codes_and_stops_on_cancel_or_deadline() {
    let mut h = H::scanning(FaceCodeType::Facepay);
    let out = h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
    assert!(has_sdk(&out, SdkCallKind::StartCodeScanner));
    assert_eq!(h.state(), StateId::ScanningCode);
    assert_eq!(
        diags(&h.scanned("https://example.com/qr")),
        vec![DiagnosticKind::NotAPaymentCode]
    );
    assert_eq!(h.state(), StateId::ScanningCode);
    let out = h.app(AppEvent::Cancel);
    assert!(has_sdk(&out, SdkCallKind::StopCodeScanner));
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::CashierCancelled)));

    let mut h = H::scanning(FaceCodeType::Facepay);
    h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
    let out = h.at(1_000 + 60_000);
    assert!(has_sdk(&out, SdkCallKind::StopCodeScanner));
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::ScanTimedOut)));
}

#[test]
fn a_scanned_payment_code_is_submitted_once_through_micropay() {
    let mut h = H::scanning(FaceCodeType::Facepay);
    h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
    let out = h.scanned(PAY_CODE);
    assert!(has_sdk(&out, SdkCallKind::StopCodeScanner));
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Backend {
            call: BackendCall::Submit { api: PayApi::Micropay, credential: PayCredential::AuthCode(code), .. },
            ..
        } if code.as_str() == PAY_CODE
    )));
    assert_eq!(h.state(), StateId::Submitting);
}

// ── Settling: Submitting ────────────────────────────────────────────────────────────────

#[test]
fn settling_refuses_cancel_release_and_new_orders() {
    for mut h in [H::submitting(), H::querying(), H::reversing()] {
        let state = h.state();
        for a in [
            AppEvent::Cancel,
            AppEvent::Release,
            AppEvent::StartOrder(order("T2", 1, FaceCodeType::Micropay)),
        ] {
            assert_eq!(diags(&h.app(a)), vec![refused(Refusal::Settling)], "in {state:?}");
            assert_eq!(h.state(), state);
        }
    }
}

#[test]
fn submit_declined_ends_unpaid_at_once_when_the_policy_leaves_the_loop_open() {
    let settings = PolicySettings {
        close_declined_orders: false,
        ..PolicySettings::default()
    };
    let mut h = H::submitting_with(Policy::new(settings).unwrap());
    let out = h.submit_answer(Ok(pay_error(PayErrCode::NotEnough)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::NotPaid, Reason::Declined(PayErrCode::NotEnough)))
    );
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn ambiguous_submit_answers_go_to_querying() {
    let fail_return = PayAnswer {
        return_code: ReturnCode::Fail,
        result_code: None,
        err_code: None,
        transaction_id: TransactionId::empty(),
    };
    let fail_no_code = PayAnswer {
        err_code: None,
        ..pay_error(PayErrCode::SystemError)
    };
    let answers = [
        Ok(pay_error(PayErrCode::SystemError)),
        Ok(pay_error(PayErrCode::BankError)),
        Ok(pay_error(PayErrCode::UserPaying)),
        Ok(pay_error(PayErrCode::OrderPaid)),
        Ok(pay_error(PayErrCode::parse("SOMETHING_NEW").unwrap())),
        Ok(fail_return),
        Ok(fail_no_code),
        Err(TransportError::Timeout),
        Err(TransportError::HttpStatus(502)),
        Err(TransportError::Unparseable),
    ];
    for a in answers {
        let mut h = H::submitting();
        let out = h.submit_answer(a.clone());
        assert_eq!(concluded(&out), None, "{a:?}");
        assert_eq!(h.state(), StateId::Querying, "{a:?}");
        // The first query 5 s after the ambiguous answer.
        assert_eq!(h.s.next_timer(), Some((Timer::NextQuery, Instant(10_000))), "{a:?}");
    }
}

#[test]
fn submit_deadline_goes_to_querying_and_a_late_answer_is_stale() {
    let mut h = H::submitting();
    h.at(15_000);
    assert_eq!(h.state(), StateId::Querying);
    let id = h.id(Call::Submit);
    let out = h.ev(Event::Backend(BackendEvent::Submitted {
        id,
        answer: Ok(pay_success()),
    }));
    // The late SUCCESS is not trusted as the order's proof; the query will tell.
    assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(id)]);
    assert_eq!(h.state(), StateId::Querying);
}

#[test]
fn duplicate_submit_answer_after_paid_is_stale() {
    let mut h = H::submitting();
    h.submit_answer(Ok(pay_success()));
    assert_eq!(h.outcome(), Some((Outcome::Paid, Reason::SubmitSucceeded)));
    let out = h.submit_answer(Ok(pay_success()));
    assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(h.id(Call::Submit))]);
    assert_eq!(h.count(|c| matches!(c, Command::Notify(Notice::OrderConcluded(_)))), 1);
}

// ── Settling: Querying ──────────────────────────────────────────────────────────────────

#[test]
fn query_final_states_end_unpaid() {
    // PAYERROR is closed by a reverse first (harsh.rs).
    for state in [TradeState::Closed, TradeState::Revoked] {
        let mut h = H::querying();
        h.at(10_100);
        let out = h.query_answer(Ok(query(state.clone())));
        assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::TradeState(state))));
    }
}

#[test]
fn query_pending_answers_keep_polling() {
    let answers = [
        Ok(query(TradeState::NotPay)),
        Ok(query(TradeState::UserPaying)),
        Ok(query(TradeState::Accept)),
        Ok(query(TradeState::parse("FROZEN").unwrap())),
        Ok(QueryAnswer {
            return_code: ReturnCode::Success,
            result_code: Some(ResultCode::Fail),
            err_code: Some(QueryErrCode::OrderNotExist),
            trade_state: None,
            transaction_id: TransactionId::empty(),
            total_fee: None,
            time_end: None,
            openid: Default::default(),
        }),
        Ok(QueryAnswer {
            return_code: ReturnCode::Success,
            result_code: Some(ResultCode::Fail),
            err_code: Some(QueryErrCode::SystemError),
            trade_state: None,
            transaction_id: TransactionId::empty(),
            total_fee: None,
            time_end: None,
            openid: Default::default(),
        }),
        Err(TransportError::Connection),
    ];
    for a in answers {
        let mut h = H::querying();
        h.at(10_100);
        h.at(10_300);
        let out = h.query_answer(a.clone());
        assert_eq!(concluded(&out), None, "{a:?}");
        assert_eq!(h.state(), StateId::Querying, "{a:?}");
        assert_eq!(h.s.next_timer(), Some((Timer::NextQuery, Instant(15_300))), "{a:?}");
    }
}

#[test]
fn query_deadline_polls_again() {
    let mut h = H::querying();
    h.at(10_100);
    // No answer in 10 s: the next query a poll interval later, within the budget.
    h.at(30_100);
    assert_eq!(h.times(Call::Query), vec![10_100, 25_100]);
}

#[test]
fn late_query_answer_is_stale() {
    let mut h = H::querying();
    h.at(10_100);
    let first = h.id(Call::Query);
    h.at(25_100);
    assert_ne!(h.id(Call::Query), first);
    let out = h.ev(Event::Backend(BackendEvent::Queried {
        id: first,
        answer: Ok(query(TradeState::Success)),
    }));
    assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(first)]);
    assert_eq!(h.state(), StateId::Querying);
}

#[test]
fn service_lost_while_settling_keeps_settling_then_reinitialises() {
    let mut h = H::querying();
    let out = h.ev(Event::Sdk(SdkEvent::ServiceLost));
    assert!(out.is_empty());
    assert_eq!(h.state(), StateId::Querying);
    h.at(10_100);
    let out = h.query_answer(Ok(query(TradeState::Success)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::Paid, Reason::TradeState(TradeState::Success)))
    );
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface));
    assert_eq!(h.state(), StateId::Initializing);
}

// ── Settling: Reversing ─────────────────────────────────────────────────────────────────

#[test]
fn reverse_waits_15_s_after_submit_even_when_the_budget_ends_earlier() {
    let settings = PolicySettings {
        query_budget: Duration::secs(16),
        reverse_not_before: Duration::secs(25),
        ..PolicySettings::default()
    };
    let mut h = H::submitting_with(Policy::new(settings).unwrap());
    h.submit_answer(Ok(pay_error(PayErrCode::UserPaying)));
    for t in [10_000, 15_100, 20_200] {
        h.at(t);
        h.query_answer(Ok(query(TradeState::UserPaying)));
    }
    // The budget ends 16 s after the submit (21 s); the reverse waits until 25 s after it.
    h.at(21_000);
    assert_eq!(h.state(), StateId::Reversing);
    assert!(h.times(Call::Reverse).is_empty());
    h.at(30_000);
    assert_eq!(h.times(Call::Reverse), vec![30_000]);
}

#[test]
fn reverse_expire_needs_reconciliation() {
    let mut h = H::reversing();
    let out = h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::ReverseExpire))));
    assert_eq!(
        concluded(&out),
        Some((
            Outcome::NeedsReconciliation,
            Reason::ReverseRefused(ReverseErrCode::ReverseExpire)
        ))
    );
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn reverse_userpaying_waits_at_least_a_poll_interval() {
    let mut h = H::reversing();
    h.at(35_100);
    h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::UserPaying))));
    assert_eq!(h.state(), StateId::Reversing);
    // The backoff would be 2 s; the user is paying, so 5 s.
    assert_eq!(h.s.next_timer(), Some((Timer::NextReverse, Instant(40_100))));
    h.at(40_100);
    assert_eq!(h.times(Call::Reverse), vec![35_000, 40_100]);
}

#[test]
fn reverse_retries_on_error_and_on_success_with_recall_y() {
    let mut h = H::reversing();
    // INVALID_REQUEST may be a rate limit: retried (SYSTEMERROR queries first: harsh.rs).
    h.reverse_answer(Ok(reverse(
        ResultCode::Fail,
        None,
        Some(ReverseErrCode::InvalidRequest),
    )));
    assert_eq!(h.s.next_timer(), Some((Timer::NextReverse, Instant(37_000))));
    h.at(37_000);
    h.reverse_answer(Ok(reverse(ResultCode::Success, Some(Recall::Y), None)));
    assert_eq!(h.s.next_timer(), Some((Timer::NextReverse, Instant(41_000))));
    h.at(41_000);
    // result_code SUCCESS without recall is not a confirmation.
    h.reverse_answer(Ok(reverse(ResultCode::Success, None, None)));
    assert_eq!(h.state(), StateId::Reversing);
    h.at(49_000);
    let out = h.reverse_answer(Ok(reverse(ResultCode::Success, Some(Recall::N), None)));
    assert_eq!(concluded(&out), Some((Outcome::Reversed, Reason::ReverseConfirmed)));
    assert_eq!(h.times(Call::Reverse), vec![35_000, 37_000, 41_000, 49_000]);
}

#[test]
fn late_reverse_answer_is_stale() {
    let mut h = H::reversing();
    let first = h.id(Call::Reverse);
    h.at(45_000); // deadline
    let out = h.ev(Event::Backend(BackendEvent::Reversed {
        id: first,
        answer: Ok(reverse(ResultCode::Success, Some(Recall::N), None)),
    }));
    assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(first)]);
    assert_eq!(h.state(), StateId::Reversing);
}

// ── Reporting (SDK < 2.13) ──────────────────────────────────────────────────────────────

fn old_sdk() -> Policy {
    Policy::new(PolicySettings {
        sdk_version: SdkVersion { major: 2, minor: 12 },
        ..PolicySettings::default()
    })
    .unwrap()
}

#[test]
fn reporting_refuses_cancel_allows_release_and_times_out_to_idle() {
    let mut h = H::submitting_with(old_sdk());
    let out = h.submit_answer(Ok(pay_success()));
    assert!(has_sdk(&out, SdkCallKind::UpdateWxpayfacePayResult));
    assert_eq!(h.state(), StateId::Reporting);
    assert_eq!(diags(&h.app(AppEvent::Cancel)), vec![refused(Refusal::NothingToCancel)]);
    assert_eq!(
        diags(&h.order("T2", 1, FaceCodeType::Micropay)),
        vec![refused(Refusal::Busy)]
    );
    h.at(5_000 + 12_000);
    assert_eq!(h.state(), StateId::Idle);

    let mut h = H::submitting_with(old_sdk());
    h.submit_answer(Ok(pay_success()));
    let out = h.app(AppEvent::Release);
    assert!(has_sdk(&out, SdkCallKind::ReleaseWxpayface));
    assert_eq!(h.state(), StateId::Releasing);
}

#[test]
fn no_report_for_a_scanned_payment_code() {
    let mut h = H::idle_with(old_sdk());
    h.order("T1", 100, FaceCodeType::Micropay);
    h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
    h.scanned(PAY_CODE);
    let out = h.submit_answer(Ok(pay_success()));
    assert!(!has_sdk(&out, SdkCallKind::UpdateWxpayfacePayResult));
    assert_eq!(h.state(), StateId::Idle);
}

// ── The session surface ─────────────────────────────────────────────────────────────────

#[test]
fn undrained_commands_refuse_the_next_input_without_effect() {
    let mut s = Session::new(Policy::default());
    s.handle(
        Instant(0),
        &Event::App(AppEvent::Start {
            init: InitParams::default(),
            merchant: merchant(),
        }),
    )
    .unwrap();
    let r = s.handle(Instant(1), &Event::App(AppEvent::Cancel));
    assert_eq!(r, Err(HandleError::Undrained { pending: 1 }));
    assert_eq!(s.handle_timeout(Instant(1)), Err(HandleError::Undrained { pending: 1 }));
    assert_eq!(s.state(), StateId::Initializing);
    assert_eq!(s.now(), Instant(0));
    assert!(matches!(s.poll_command(), Some(Command::Sdk { .. })));
    assert_eq!(s.poll_command(), None);
    assert_eq!(s.handle(Instant(1), &Event::App(AppEvent::Cancel)), Ok(()));
}

#[test]
fn time_going_backwards_is_reported_and_ignored() {
    let mut h = H::querying();
    h.at(8_000);
    h.s.handle_timeout(Instant(8_000)).unwrap(); // nothing due: only moves the clock
    h.s.handle(Instant(7_000), &Event::App(AppEvent::Cancel)).unwrap();
    let mut kinds = Vec::new();
    while let Some(c) = h.s.poll_command() {
        if let Command::Diagnostic(d) = c {
            kinds.push(d.kind);
        }
    }
    assert_eq!(
        kinds,
        vec![DiagnosticKind::TimeWentBackwards, refused(Refusal::Settling)]
    );
    assert_eq!(h.s.now(), Instant(8_000));
    // The query is still due at its time.
    assert_eq!(h.s.next_timer(), Some((Timer::NextQuery, Instant(10_100))));
}

#[test]
fn handle_timeout_before_any_deadline_does_nothing() {
    let mut h = H::querying();
    h.s.handle_timeout(Instant(9_000)).unwrap();
    assert_eq!(h.s.poll_command(), None);
    assert_eq!(h.state(), StateId::Querying);
    assert_eq!(h.s.now(), Instant(9_000));
}

#[test]
fn unknown_request_ids_are_stale_everywhere() {
    let bogus = RequestId(9_999);
    for mut h in [
        H::idle(),
        H::scanning(FaceCodeType::Micropay),
        H::querying(),
        H::reversing(),
    ] {
        let state = h.state();
        let out = h.ev(Event::Backend(BackendEvent::Queried {
            id: bogus,
            answer: Ok(query(TradeState::Success)),
        }));
        assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(bogus)], "{state:?}");
        let out = h.ev(Event::Sdk(SdkEvent::Released {
            id: bogus,
            status: SdkStatus::success(),
        }));
        assert_eq!(diags(&out), vec![DiagnosticKind::StaleAnswer(bogus)], "{state:?}");
        assert_eq!(h.state(), state);
    }
}

// ── No double charge across orders ─────────────────────────────────────────────────────

#[test]
fn the_last_submitted_out_trade_no_is_refused_for_a_new_order() {
    let mut h = H::submitting();
    h.at(5_300);
    h.submit_answer(Ok(pay_success()));
    assert_eq!(h.state(), StateId::Idle);
    h.at(8_000);
    let out = h.order("T1", 100, FaceCodeType::Micropay);
    assert_eq!(
        diags(&out),
        vec![DiagnosticKind::Refused(Refusal::OrderAlreadySubmitted)]
    );
    assert_eq!(h.state(), StateId::Idle);
    // A new number is fine.
    h.order("T2", 100, FaceCodeType::Micropay);
    assert_eq!(h.state(), StateId::ScanningFace);
}

#[test]
fn a_face_code_handed_back_twice_is_never_submitted_again() {
    let mut h = H::submitting();
    h.at(5_300);
    h.submit_answer(Ok(pay_success()));
    h.at(8_000);
    h.order("T2", 100, FaceCodeType::Micropay);
    h.at(9_000);
    let out = h.face(SdkStatus::success(), PAY_CODE);
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::CredentialReused)));
    let submits = h.count(|c| {
        matches!(
            c,
            Command::Backend {
                call: BackendCall::Submit { .. },
                ..
            }
        )
    });
    assert_eq!(submits, 1, "only the first order was submitted");
    // The next order with a fresh code goes through.
    h.order("T3", 100, FaceCodeType::Micropay);
    h.at(10_000);
    h.face(SdkStatus::success(), "134567890123456780");
    assert_eq!(h.state(), StateId::Submitting);
}

// ── Found by the whole-crate mutation run (docs/testing.md §results) ───────────────────

#[test]
fn service_lost_while_idle_reinitialises() {
    let mut h = H::idle();
    let out = h.ev(Event::Sdk(SdkEvent::ServiceLost));
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface), "{out:?}");
    assert_eq!(h.state(), StateId::Initializing);
}

/// The member lookup's answer says the face service is down (or still starting): no
/// member, and the terminal re-initialises (no stopWxpayface: there is no service to stop).
#[test]
fn member_lookup_reporting_the_service_down_reinitialises() {
    for err in [SdkErrCode::ServiceNotInitialised, SdkErrCode::ServiceInitialising] {
        let mut h = H::idle();
        h.app(AppEvent::IdentifyUser(member_lookup(FaceAuthType::FaceidOnce)));
        assert_eq!(h.state(), StateId::Identifying);
        let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceUserInfo));
        let out = h.ev(Event::Sdk(SdkEvent::UserInfo {
            id,
            status: SdkStatus::with_err(SdkReturnCode::Fail, err.clone()),
            user: UserInfo::default(),
        }));
        assert!(
            out.contains(&Command::Notify(Notice::UserNotIdentified)),
            "{err:?}: {out:?}"
        );
        assert!(has_sdk(&out, SdkCallKind::InitWxpayface), "{err:?}: {out:?}");
        assert!(!has_sdk(&out, SdkCallKind::StopWxpayface), "{err:?}: {out:?}");
        assert_eq!(h.state(), StateId::Initializing, "{err:?}");
    }
}

#[test]
fn a_scanned_payment_code_is_never_submitted_twice() {
    let mut h = H::scanning(FaceCodeType::Facepay);
    h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
    h.scanned(PAY_CODE);
    assert_eq!(h.state(), StateId::Submitting);
    h.submit_answer(Ok(pay_success()));
    assert_eq!(h.outcome(), Some((Outcome::Paid, Reason::SubmitSucceeded)));
    h.at(10_000);
    h.order("T2", 100, FaceCodeType::Facepay);
    h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
    assert_eq!(h.state(), StateId::ScanningCode);
    let out = h.scanned(PAY_CODE);
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::CredentialReused)));
    assert!(has_sdk(&out, SdkCallKind::StopCodeScanner), "{out:?}");
    let submits = h.count(|c| {
        matches!(
            c,
            Command::Backend {
                call: BackendCall::Submit { .. },
                ..
            }
        )
    });
    assert_eq!(submits, 1, "the code went to the backend once");
}

/// Reporting follows a concluded order: a release or a lost service there must not
/// conclude it again (the order superstate's answers would say NotPaid for a paid order).
#[test]
fn release_or_service_lost_while_reporting_keeps_the_conclusion() {
    let mut h = H::submitting_with(old_sdk());
    h.submit_answer(Ok(pay_success()));
    assert_eq!(h.state(), StateId::Reporting);
    let out = h.app(AppEvent::Release);
    assert_eq!(concluded(&out), None, "{out:?}");
    assert!(!out.iter().any(|c| matches!(c, Command::Persist(_))), "{out:?}");
    assert!(has_sdk(&out, SdkCallKind::ReleaseWxpayface));
    assert_eq!(h.outcome(), Some((Outcome::Paid, Reason::SubmitSucceeded)));

    let mut h = H::submitting_with(old_sdk());
    h.submit_answer(Ok(pay_success()));
    let out = h.ev(Event::Sdk(SdkEvent::ServiceLost));
    assert_eq!(concluded(&out), None, "{out:?}");
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface), "{out:?}");
    assert_eq!(h.state(), StateId::Initializing);
    assert_eq!(h.outcome(), Some((Outcome::Paid, Reason::SubmitSucceeded)));
}
