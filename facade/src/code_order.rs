//! micropay without a face step (issue 16): the cashier scanned the customer's payment
//! code (付款码) with the hand scanner and calls micropay with `auth_code` for an order the
//! terminal has not started. The facade turns it into an order paid with that code; the
//! machine submits it once, queries and reverses as for any order.

use facepay_fsm::{
    AppEvent, AuthCode, FaceCodeType, Field, OrderCredential, OrderRequest, OutTradeNo, is_payment_code,
};

use crate::facade::{Op, Route};
use crate::request::MicropayRequest;
use crate::value::Answer;

/// micropay for an order this terminal does not know, with a payment code (付款码, 18
/// digits starting 10–15): the cashier scanned the customer's code, with no face step.
pub(crate) fn code_only(m: &MicropayRequest) -> bool {
    !m.out_trade_no.is_empty() && m.credential.as_deref().is_some_and(is_payment_code)
}

/// The order micropay starts for a payment code: the machine submits it through micropay
/// at once and settles it by the same rules as a face order; micropay answers with its
/// conclusion. Malformed keys are refused by name, before anything is sent.
pub(crate) fn code_order(m: MicropayRequest) -> Route {
    let Some(total_fee) = m.total_fee else {
        return Route::Answer(Answer::err(
            "PARAM_ERROR",
            "micropay: a new order paid with auth_code needs `total_fee`",
        ));
    };
    let parsed = OutTradeNo::new(Field::OutTradeNo, &m.out_trade_no).and_then(|otn| {
        let code = AuthCode::new(Field::AuthCode, m.credential.as_deref().unwrap_or_default())?;
        Ok((otn, code))
    });
    let (otn, code) = match parsed {
        Ok(p) => p,
        Err(e) => return Route::Answer(Answer::err("PARAM_ERROR", &format!("micropay: {e}"))),
    };
    let order = OrderRequest::new(otn, total_fee, FaceCodeType::Micropay).paid_with(OrderCredential::AuthCode(code));
    Route::Send(AppEvent::StartOrder(order), Op::Micropay(m))
}
