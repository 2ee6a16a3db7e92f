//! What each answer says: the seed's shapes, field names and types, built from what the
//! machine really did (the credential it submitted, the conclusion it reached, the
//! trade_state the backend reported).

use facepay_fsm::{Conclusion, Outcome, Reason, Refusal};

use crate::facade::Op;
use crate::history::{OrderEntry, Submitted};
use crate::request::MicropayRequest;
use crate::value::Answer;

/// The `errorCode` of a refusal.
pub fn refusal_code(r: Refusal) -> &'static str {
    match r {
        Refusal::NotStarted => "NOT_STARTED",
        Refusal::AlreadyStarted => "ALREADY_STARTED",
        Refusal::Busy => "BUSY",
        Refusal::Settling => "SETTLING",
        Refusal::NothingToCancel => "NOTHING_TO_CANCEL",
        Refusal::NotAuthorised => "NOT_AUTHORISED",
        Refusal::Released => "RELEASED",
        Refusal::OrderAlreadySubmitted => "DUPLICATE_OUT_TRADE_NO",
    }
}

/// The facade-specific state of an order (`facepay_state`), next to the backend's own
/// `trade_state` when it reported one.
pub fn facepay_state(c: Option<&Conclusion>, submitted: bool) -> &'static str {
    match c.map(|c| c.outcome) {
        None => "SETTLING",
        Some(_) if !submitted => "NOT_SUBMITTED",
        Some(Outcome::Paid) => "PAID",
        Some(Outcome::NotPaid) => "NOT_PAID",
        Some(Outcome::Reversed) => "REVERSED",
        Some(Outcome::NeedsReconciliation) => "NEEDS_RECONCILIATION",
    }
}

/// `getWxpayfaceCode`'s answer once the machine submitted `credential`: the seed's fields
/// and types (`telephone_used`, `underage_state` numbers). A code-scanner credential
/// comes as `auth_code` (the customer paid with a payment code), never as a face_code.
pub(crate) fn code_answer(e: &OrderEntry, credential: &str, scanned: bool) -> Answer {
    let mut a = Answer::ok();
    if scanned {
        a = a.with("face_code", "").with("auth_code", credential);
    } else {
        a = a.with("face_code", credential);
    }
    let face = e
        .face
        .clone()
        .filter(|f| !scanned && f.face_code.as_str() == credential);
    let (openid, sub_openid, tel, underage) = match &face {
        Some(f) => (
            f.openid.to_string(),
            f.sub_openid.to_string(),
            i64::from(f.telephone_used),
            i64::from(f.underage_state),
        ),
        None => (String::new(), String::new(), 0, 0),
    };
    a.with("openid", &openid)
        .with("sub_openid", &sub_openid)
        .with_num("telephone_used", tel)
        .with_num("underage_state", underage)
        .with("out_trade_no", &e.out_trade_no)
}

/// micropay's parameters against what the machine submitted: a difference is
/// `ORDER_MISMATCH` (nothing more is sent), naming the key and the submitted value.
pub(crate) fn mismatch(m: &MicropayRequest, s: &Submitted, otn: &str) -> Option<Answer> {
    let fee = m.total_fee.zip(s.total_fee).filter(|(asked, sent)| asked != sent);
    if let Some((asked, sent)) = fee {
        return Some(
            Answer::err(
                "ORDER_MISMATCH",
                &format!(
                    "total_fee {asked} differs from the {sent} the terminal submitted for {otn}; nothing more was sent: \
                     orderquery gives that order's outcome"
                ),
            )
            .with("key", "total_fee")
            .with("out_trade_no", otn)
            .with_num("total_fee", i64::from(sent)),
        );
    }
    let cred = m
        .credential
        .as_ref()
        .zip(s.credential.as_ref())
        .filter(|(asked, sent)| asked != sent);
    if cred.is_some() {
        return Some(
            Answer::err(
                "ORDER_MISMATCH",
                &format!(
                    "the credential differs from the one the terminal submitted for {otn}; nothing more was sent: \
                     orderquery gives that order's outcome"
                ),
            )
            .with("key", "auth_code")
            .with("out_trade_no", otn),
        );
    }
    None
}

pub(crate) fn outcome_code(o: Outcome, submitted: bool) -> &'static str {
    match o {
        _ if !submitted => "NOT_SUBMITTED",
        Outcome::Paid => "PAID",
        Outcome::NotPaid => "NOT_PAID",
        Outcome::Reversed => "REVERSED",
        Outcome::NeedsReconciliation => "NEEDS_RECONCILIATION",
    }
}

pub(crate) fn reason_text(r: &Reason) -> String {
    format!("{r:?}")
}

/// The trade_state the backend itself reported for a concluded order, if any: the submit's
/// SUCCESS for a paid order, or the final trade_state a query gave.
fn reported_trade_state(c: &Conclusion, e: &OrderEntry) -> Option<String> {
    match (&c.outcome, &c.reason) {
        (Outcome::Paid, _) => Some("SUCCESS".to_owned()),
        (_, Reason::TradeState(s)) => Some(s.as_str().to_owned()),
        // The SUCCESS a query gave was another order's under this out_trade_no, or may be
        // undone by a reverse still on its way: an app must not read it as this payment.
        (_, Reason::PaymentMismatch(_) | Reason::PaidWhileReversing) => None,
        (Outcome::Reversed, _) => None,
        _ => e
            .trade_state
            .as_ref()
            .filter(|t| c.outcome != Outcome::NeedsReconciliation || t.as_str() == "SUCCESS")
            .map(|t| t.as_str().to_owned()),
    }
}

/// The answer to micropay / orderquery / reverse for a concluded order.
pub(crate) fn order_answer(op: &Op, c: &Conclusion, e: &OrderEntry) -> Answer {
    let submitted = e.submitted.is_some();
    let fee = e.submitted.as_ref().and_then(|s| s.total_fee).or(e.asked_fee);
    let base = |mut a: Answer| {
        a = a
            .with("out_trade_no", &c.out_trade_no)
            .with("outcome", &c.outcome.to_string())
            .with("facepay_state", facepay_state(Some(c), submitted))
            .with("transaction_id", &c.transaction_id);
        if let Some(f) = fee {
            a = a.with_num("total_fee", i64::from(f));
        }
        if let Some(ts) = reported_trade_state(c, e) {
            a = a.with("trade_state", &ts);
        }
        a
    };
    let msg = reason_text(&c.reason);
    match (op, c.outcome) {
        (Op::OrderQuery { .. }, _) => base(Answer::ok()),
        (_, Outcome::NeedsReconciliation) => base(Answer::err(
            "NEEDS_RECONCILIATION",
            &format!("{msg}: the customer may have been charged; do not ask them to pay again; a person must look"),
        )),
        (Op::Micropay(_), Outcome::Paid) => base(Answer::ok().with("result_code", "SUCCESS")),
        (Op::Micropay(_), o) => base(Answer::err(outcome_code(o, submitted), &msg)),
        (Op::Reverse { .. }, Outcome::Paid) => base(Answer::err(
            "ORDER_PAID",
            "the order is paid; a refund is outside the face-pay session",
        )),
        (_, _) => base(Answer::ok().with("recall", "N")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facepay_fsm::codes::TradeState;
    use facepay_fsm::{Field, OutTradeNo, PaymentMismatch, TransactionId};

    #[test]
    fn another_orders_success_is_never_reported_as_this_ones() {
        let mut e = OrderEntry::new("T1", Some(100));
        e.trade_state = Some(TradeState::Success);
        let c = |reason| Conclusion {
            out_trade_no: OutTradeNo::new(Field::OutTradeNo, "T1").unwrap_or_default(),
            outcome: Outcome::NeedsReconciliation,
            reason,
            transaction_id: TransactionId::empty(),
        };
        assert_eq!(
            reported_trade_state(&c(Reason::PaymentMismatch(PaymentMismatch::TotalFee)), &e),
            None
        );
        assert_eq!(reported_trade_state(&c(Reason::PaidWhileReversing), &e), None);
        // A damaged journal's order the query found paid: that SUCCESS is its own.
        assert_eq!(
            reported_trade_state(&c(Reason::JournalDamaged), &e).as_deref(),
            Some("SUCCESS")
        );
    }
}
