//! How the machine reads what the backend and the cashier hand it: the public classifiers
//! a host or a simulator may also call (a paid answer that is not this order's payment,
//! an answer that shows the order unpaid, a face order).

mod common;

use common::*;
use facepay_fsm::codes::{QueryErrCode, ResultCode, TradeClass, TradeState};
use facepay_fsm::*;

fn failed(err: QueryErrCode) -> QueryAnswer {
    QueryAnswer {
        result_code: Some(ResultCode::Fail),
        err_code: Some(err),
        trade_state: None,
        ..query(TradeState::NotPay)
    }
}

#[test]
fn a_payment_ending_exactly_at_the_tolerance_before_the_start_is_this_orders() {
    let start = WxTime::from_secs(1_000_000);
    let paid = |end: u64| QueryAnswer {
        time_end: Some(WxTime::from_secs(end)),
        ..query(TradeState::Success)
    };
    let payer = OpenId::empty();
    assert_eq!(paid(1_000_000 - 300).mismatch(100, &payer, Some(start), 300), None);
    assert_eq!(
        paid(1_000_000 - 301).mismatch(100, &payer, Some(start), 300),
        Some(PaymentMismatch::TimeEnd)
    );
    assert_eq!(
        paid(1_000_000 - 301).mismatch(100, &payer, None, 300),
        None,
        "no start known"
    );
}

#[test]
fn an_order_wechat_does_not_know_shows_unpaid_and_stays_pending() {
    let unknown = failed(QueryErrCode::OrderNotExist);
    assert!(unknown.shows_unpaid());
    // Pending, not unpaid: a submit still in flight may create it (docs/protocol.md).
    assert_eq!(unknown.class(), TradeClass::Pending);
    let busy = failed(QueryErrCode::SystemError);
    assert!(!busy.shows_unpaid());
    assert_eq!(busy.class(), TradeClass::Pending);
    for state in [TradeState::NotPay, TradeState::UserPaying, TradeState::Accept] {
        assert!(query(state.clone()).shows_unpaid(), "{state:?}");
    }
    for state in [
        TradeState::Success,
        TradeState::Closed,
        TradeState::Revoked,
        TradeState::PayError,
    ] {
        assert!(!query(state.clone()).shows_unpaid(), "{state:?}");
    }
}

#[test]
fn only_the_default_credential_is_a_face_order() {
    assert!(OrderCredential::Face.is_face());
    assert!(!OrderCredential::CodeScanner.is_face());
    assert!(!OrderCredential::AuthCode(ok(Text::new(Field::AuthCode, PAY_CODE))).is_face());
}
