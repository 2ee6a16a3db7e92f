//! The protocol holes a harsher WeChat opens (issue 14), one test per fix: each fails on
//! the machine before the fix.

mod common;

use common::*;
use facepay_fsm::codes::{PayErrCode, Recall, ResultCode, ReverseErrCode, TradeState};
use facepay_fsm::*;

fn paid(total_fee: Option<u32>, openid: &str, time_end: Option<&str>) -> QueryAnswer {
    QueryAnswer {
        total_fee,
        openid: ok(Text::new(Field::Openid, openid)),
        time_end: time_end.map(|t| ok(WxTime::parse(Field::TimeEnd, t))),
        ..query(TradeState::Success)
    }
}

/// Querying an order of 100 fen, face code type 0 (facepay: the face scan names the
/// payer), taken at `time_start`.
fn querying_facepay(time_start: Option<&str>) -> H {
    let mut h = H::idle();
    h.at(1_000);
    let mut req = order("T1", 100, FaceCodeType::Facepay);
    req.time_start = time_start.map(|t| ok(WxTime::parse(Field::TimeStart, t)));
    h.app(AppEvent::StartOrder(req));
    h.at(5_000);
    let answer = FaceCodeAnswer {
        face_code: ok(Text::new(Field::FaceCode, "b713b5d2-666c-48cd-9c5e-63b4ab8b9bde")),
        openid: ok(Text::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")),
        ..FaceCodeAnswer::default()
    };
    let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceCode));
    h.ev(Event::Sdk(SdkEvent::FaceCode {
        id,
        status: SdkStatus::success(),
        answer,
    }));
    h.at(5_100);
    h.submit_answer(Ok(pay_error(PayErrCode::OrderPaid)));
    assert_eq!(h.state(), StateId::Querying);
    h.at(10_100);
    h
}

#[test]
fn a_success_of_another_order_under_this_number_is_not_paid() {
    let payer = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
    let cases = [
        (paid(Some(999), payer, None), Some(PaymentMismatch::TotalFee)),
        (
            paid(Some(100), "oUpF8uN95-Ptaags6E_roPHg7AG0", None),
            Some(PaymentMismatch::Payer),
        ),
        (
            paid(Some(100), payer, Some("20261020120000")),
            Some(PaymentMismatch::TimeEnd),
        ),
        // Within the clock tolerance (24 h), and the matching payment itself.
        (paid(Some(100), payer, Some("20261130180000")), None),
        (paid(Some(100), payer, Some("20261201061503")), None),
    ];
    for (answer, mismatch) in cases {
        let mut h = querying_facepay(Some("20261201061500"));
        let out = h.query_answer(Ok(answer.clone()));
        let expected = match mismatch {
            Some(m) => (Outcome::NeedsReconciliation, Reason::PaymentMismatch(m)),
            None => (Outcome::Paid, Reason::TradeState(TradeState::Success)),
        };
        assert_eq!(concluded(&out), Some(expected), "{answer:?}");
    }
}

#[test]
fn an_answer_without_the_facts_is_not_checked_so_old_logs_replay() {
    let mut h = querying_facepay(None);
    let out = h.query_answer(Ok(query(TradeState::Success)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::Paid, Reason::TradeState(TradeState::Success)))
    );
}

#[test]
fn duplicate_declines_are_settled_by_query() {
    for code in [
        PayErrCode::OutTradeNoUsed,
        PayErrCode::AuthCodeError,
        PayErrCode::AuthCodeInvalid,
        PayErrCode::InvalidRequest,
        PayErrCode::BuyerMismatch,
        PayErrCode::OrderPaid,
    ] {
        let mut h = H::submitting();
        h.at(5_100);
        let out = h.submit_answer(Ok(pay_error(code.clone())));
        assert_eq!(concluded(&out), None, "{code}");
        assert_eq!(h.state(), StateId::Querying, "{code}");
        h.at(10_100);
        let out = h.query_answer(Ok(query(TradeState::Success)));
        assert_eq!(
            concluded(&out).map(|c| c.0),
            Some(Outcome::Paid),
            "{code}: the first copy charged"
        );
    }
}

#[test]
fn a_final_decline_is_reversed_to_close_the_loop_then_ends_unpaid() {
    let mut h = H::submitting();
    h.at(5_100);
    let out = h.submit_answer(Ok(pay_error(PayErrCode::NotEnough)));
    assert_eq!(concluded(&out), None);
    assert_eq!(h.state(), StateId::Reversing);
    // Reverse no earlier than 15 s after the submit (5 s).
    h.at(19_999);
    assert!(h.times(Call::Reverse).is_empty());
    h.at(20_000);
    assert_eq!(h.times(Call::Reverse), vec![20_000]);
    let out = h.reverse_answer(Ok(reverse(ResultCode::Success, Some(Recall::N), None)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::NotPaid, Reason::Declined(PayErrCode::NotEnough)))
    );
}

#[test]
fn refund_is_never_read_as_not_charged() {
    let mut h = H::querying();
    h.at(10_100);
    let out = h.query_answer(Ok(query(TradeState::Refund)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::NeedsReconciliation, Reason::TradeState(TradeState::Refund)))
    );
}

#[test]
fn notpay_is_pending_the_user_may_still_pay() {
    let mut h = H::querying();
    h.at(10_100);
    let out = h.query_answer(Ok(query(TradeState::NotPay)));
    assert_eq!(concluded(&out), None);
    assert_eq!(h.state(), StateId::Querying);
}

#[test]
fn a_reverse_systemerror_is_followed_by_a_query_and_a_confirmed_payment_is_paid() {
    let mut h = H::reversing();
    let out = h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::SystemError))));
    assert_eq!(concluded(&out), None);
    // The query goes at once, before any second reverse.
    assert_eq!(h.state(), StateId::Querying);
    h.at(35_000);
    assert_eq!(h.times(Call::Query).last(), Some(&35_000));
    let out = h.query_answer(Ok(query(TradeState::Success)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::Paid, Reason::TradeState(TradeState::Success)))
    );
    assert_eq!(h.times(Call::Reverse), vec![35_000]);
}

#[test]
fn a_reverse_systemerror_whose_query_is_not_final_reverses_again_after_the_backoff() {
    let mut h = H::reversing();
    h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::SystemError))));
    h.at(35_000);
    h.query_answer(Ok(query(TradeState::NotPay)));
    assert_eq!(h.state(), StateId::Reversing);
    h.at(37_000);
    assert_eq!(h.times(Call::Reverse), vec![35_000, 37_000]);
    // A query that shows our reverse did its work concludes Reversed.
    let mut h = H::reversing();
    h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::SystemError))));
    h.at(35_000);
    let out = h.query_answer(Ok(query(TradeState::Revoked)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::Reversed, Reason::TradeState(TradeState::Revoked)))
    );
}

/// The query that verifies a reverse's SYSTEMERROR never answers: its deadline sends the
/// next reverse (after the backoff), not another ordinary query.
#[test]
fn a_verifying_query_that_goes_unanswered_reverses_again() {
    let mut h = H::reversing();
    h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::SystemError))));
    h.at(35_000);
    assert_eq!(h.times(Call::Query).last(), Some(&35_000));
    let queries = h.times(Call::Query).len();
    let (timer, _) = h.fire_next_by(u64::MAX).expect("the verifying query's deadline");
    assert_eq!(timer, Timer::BackendDeadline);
    assert_eq!(h.state(), StateId::Reversing);
    let (timer, _) = h.fire_next_by(u64::MAX).expect("the next reverse");
    assert_eq!(timer, Timer::NextReverse);
    assert_eq!(h.times(Call::Reverse).len(), 2);
    assert_eq!(h.times(Call::Query).len(), queries, "no ordinary query in between");

    // The same when the verifying query's transport fails.
    let mut h = H::reversing();
    h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::SystemError))));
    h.at(35_000);
    let queries = h.times(Call::Query).len();
    h.query_answer(Err(TransportError::Connection));
    assert_eq!(h.state(), StateId::Reversing);
    let (timer, _) = h.fire_next_by(u64::MAX).expect("the next reverse");
    assert_eq!(timer, Timer::NextReverse);
    assert_eq!(h.times(Call::Reverse).len(), 2);
    assert_eq!(h.times(Call::Query).len(), queries, "no ordinary query in between");
}

#[test]
fn a_reverse_answering_ordernotexist_is_not_a_conclusion() {
    let mut h = H::reversing();
    let out = h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::OrderNotExist))));
    assert_eq!(concluded(&out), None);
    assert_eq!(h.state(), StateId::Reversing);
    h.at(37_000);
    assert_eq!(h.times(Call::Reverse), vec![35_000, 37_000]);
}

#[test]
fn a_resume_after_the_last_reverse_left_never_sends_another() {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(Text::new(Field::OutTradeNo, "T1")),
        api: PayApi::Micropay,
        total_fee: 100,
        phase: JournalPhase::Reversing,
        elapsed_ms: 200_000,
        queries: 5,
        reverse_attempts: 10,
    };
    let mut s = Session::resume(Policy::default(), &record, Instant(1_000_000));
    let mut reverses = 0;
    let mut conclusion = None;
    for t in [1_000_000, 1_100_000, 1_500_000] {
        s.handle_timeout(Instant(t)).ok();
        while let Some(c) = s.poll_command() {
            match c {
                Command::Backend {
                    call: BackendCall::Reverse { .. },
                    ..
                } => reverses += 1,
                Command::Notify(Notice::OrderConcluded(k)) => conclusion = Some((k.outcome, k.reason)),
                _ => {}
            }
        }
    }
    assert_eq!(reverses, 0, "the budget of 10 is spent");
    assert_eq!(
        conclusion,
        Some((Outcome::NeedsReconciliation, Reason::ReverseBudgetExhausted))
    );
}

#[test]
fn a_payment_found_after_a_resume_mid_reverse_is_not_for_the_terminal_to_conclude() {
    // The power went after reverse attempt 3 was recorded: it may have left, and its
    // answer died with the power, so it may still reach WeChat and refund the order.
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(Text::new(Field::OutTradeNo, "T1")),
        api: PayApi::Micropay,
        total_fee: 100,
        phase: JournalPhase::Reversing,
        elapsed_ms: 60_000,
        queries: 5,
        reverse_attempts: 3,
    };
    let mut h = H::resumed(Policy::default(), &record, 100_000);
    while h.times(Call::Reverse).is_empty() && h.now < 200_000 {
        h.at(h.now + 1_000);
    }
    assert_eq!(h.times(Call::Reverse).len(), 1, "attempt 4 after the backoff");
    h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::SystemError))));
    h.at(h.now);
    let out = h.query_answer(Ok(query(TradeState::Success)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::NeedsReconciliation, Reason::PaidWhileReversing))
    );
}

#[test]
fn a_payment_found_after_an_unanswered_reverse_is_not_for_the_terminal_to_conclude() {
    let mut h = H::reversing();
    // The first reverse times out: it may still reach WeChat and refund the order.
    h.at(45_000);
    h.at(47_000);
    assert_eq!(h.times(Call::Reverse), vec![35_000, 47_000]);
    h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::SystemError))));
    h.at(47_000);
    let out = h.query_answer(Ok(query(TradeState::Success)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::NeedsReconciliation, Reason::PaidWhileReversing))
    );
}

#[test]
fn a_payerror_is_reversed_to_close_the_loop_then_ends_unpaid() {
    let mut h = H::querying();
    h.at(10_100);
    let out = h.query_answer(Ok(query(TradeState::PayError)));
    assert_eq!(concluded(&out), None);
    assert_eq!(h.state(), StateId::Reversing);
    h.at(20_000);
    assert_eq!(h.times(Call::Reverse), vec![20_000]);
    let out = h.reverse_answer(Ok(reverse(ResultCode::Success, Some(Recall::N), None)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::NotPaid, Reason::TradeState(TradeState::PayError)))
    );
}

/// The policy that leaves declines open: a PAYERROR query ends the order unpaid at once,
/// with no reverse.
#[test]
fn a_payerror_ends_unpaid_at_once_when_the_policy_leaves_declines_open() {
    let settings = PolicySettings {
        close_declined_orders: false,
        ..PolicySettings::default()
    };
    let mut h = H::submitting_with(Policy::new(settings).unwrap());
    h.at(5_100);
    h.submit_answer(Ok(pay_error(PayErrCode::SystemError)));
    h.at(10_100);
    let out = h.query_answer(Ok(query(TradeState::PayError)));
    assert_eq!(
        concluded(&out),
        Some((Outcome::NotPaid, Reason::TradeState(TradeState::PayError)))
    );
    assert_eq!(h.state(), StateId::Idle);
    assert!(h.times(Call::Reverse).is_empty());
}
