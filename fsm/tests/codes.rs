//! Every documented code with the class docs/protocol.md gives it, written out by hand
//! (§sdk-return-codes, §sdk-err-codes, §micropay, §orderquery, §reverse, §ambiguity), not derived from `codes.rs`. Each table must cover its `DOCUMENTED` list
//! exactly, so a new code cannot be added without a row here.

use std::collections::HashSet;

use facepay_fsm::codes::*;

/// Checks `table` against `documented`: same set of wire strings, each parsing to itself,
/// and each classified as written.
fn check<C: std::fmt::Debug + PartialEq, K: std::fmt::Debug + PartialEq>(
    what: &str,
    documented: &[C],
    table: &[(&str, K)],
    parse: impl Fn(&str) -> C,
    as_str: impl Fn(&C) -> String,
    class: impl Fn(&C) -> K,
) {
    let wires: HashSet<String> = documented.iter().map(&as_str).collect();
    let rows: HashSet<String> = table.iter().map(|(w, _)| (*w).to_owned()).collect();
    assert_eq!(rows.len(), table.len(), "{what}: duplicate rows");
    assert_eq!(wires, rows, "{what}: the table and DOCUMENTED differ");
    for (wire, expected) in table {
        let code = parse(wire);
        assert_eq!(as_str(&code), *wire, "{what} {wire} does not round-trip");
        assert!(
            documented.contains(&code),
            "{what} {wire} parses to an undocumented value"
        );
        assert_eq!(class(&code), *expected, "{what} {wire}");
    }
}

#[test]
fn sdk_return_codes() {
    use SdkClass::*;
    // §sdk-return-codes. Codes whose meaning is undocumented (ACTION_ON_USER_QUERY_CANCEL, FACE_UNKNOWN)
    // fail the step: no money moves through the SDK.
    let table = [
        ("SUCCESS", Success),
        ("ERROR", Failed),
        ("PARAM_ERROR", Failed),
        ("SYSTEMERROR", Failed),
        ("USER_CANCEL", UserCancelled),
        ("SCAN_PAYMENT", SwitchToCodeScanner),
        ("FACEPAY_NOT_AUTH", NotAuthorised),
        ("ACTION_ON_USER_QUERY_CANCEL", Failed),
        ("FAIL", Failed),
        ("FACE_UNKNOWN", Failed),
    ];
    check(
        "SdkReturnCode",
        SdkReturnCode::DOCUMENTED,
        &table,
        |w| SdkReturnCode::parse(w).unwrap(),
        |c| c.as_str().to_owned(),
        |c| classify_sdk(c, None),
    );
}

#[test]
fn sdk_err_codes_win_over_any_return_code() {
    use SdkClass::*;
    // §sdk-err-codes: 271378620 not initialised → init; 271378621 initialising → wait, init again;
    // 271382020 authinfo expired → fetch a new one.
    let table = [
        ("271378620", ServiceDown),
        ("271378621", ServiceStarting),
        ("271382020", AuthInfoRejected),
    ];
    for rc in SdkReturnCode::DOCUMENTED {
        check(
            "SdkErrCode",
            SdkErrCode::DOCUMENTED,
            &table,
            |w| SdkErrCode::parse(w).unwrap(),
            |c| c.as_str().to_owned(),
            |c| classify_sdk(rc, Some(c)),
        );
    }
    // An unknown err_code leaves the return_code in charge.
    let unknown = SdkErrCode::parse("999").unwrap();
    assert_eq!(classify_sdk(&SdkReturnCode::Success, Some(&unknown)), Success);
    assert_eq!(classify_sdk(&SdkReturnCode::UserCancel, Some(&unknown)), UserCancelled);
}

#[test]
fn pay_err_codes() {
    use PayClass::*;
    // §micropay and §ambiguity: SYSTEMERROR, BANKERROR, USERPAYING are unknown; the rest
    // are final. Deliberate exceptions: the answers a *second copy* of a submit gets while
    // the first charged (re-send, backup-domain failover, an out_trade_no collision) —
    // ORDERPAID, OUT_TRADE_NO_USED, AUTH_CODE_ERROR, AUTH_CODE_INVALID, INVALID_REQUEST,
    // BUYER_MISMATCH — say nothing of this order's money: ambiguous (query).
    let table = [
        ("SYSTEMERROR", Ambiguous),
        ("BANKERROR", Ambiguous),
        ("USERPAYING", Ambiguous),
        ("ORDERPAID", Ambiguous),
        ("PARAM_ERROR", Declined),
        ("NOAUTH", Declined),
        ("AUTHCODEEXPIRE", Declined),
        ("NOTENOUGH", Declined),
        ("NOTSUPORTCARD", Declined),
        ("ORDERCLOSED", Declined),
        ("ORDERREVERSED", Declined),
        ("AUTH_CODE_ERROR", Ambiguous),
        ("AUTH_CODE_INVALID", Ambiguous),
        ("XML_FORMAT_ERROR", Declined),
        ("REQUIRE_POST_METHOD", Declined),
        ("SIGNERROR", Declined),
        ("LACK_PARAMS", Declined),
        ("NOT_UTF8", Declined),
        ("BUYER_MISMATCH", Ambiguous),
        ("APPID_NOT_EXIST", Declined),
        ("MCHID_NOT_EXIST", Declined),
        ("OUT_TRADE_NO_USED", Ambiguous),
        ("APPID_MCHID_NOT_MATCH", Declined),
        ("INVALID_REQUEST", Ambiguous),
        ("TRADE_ERROR", Declined),
    ];
    check(
        "PayErrCode",
        PayErrCode::DOCUMENTED,
        &table,
        |w| PayErrCode::parse(w).unwrap(),
        |c| c.as_str().to_owned(),
        PayErrCode::class,
    );
    assert_eq!(PayErrCode::parse("NEW_2030").unwrap().class(), Ambiguous);
}

#[test]
fn trade_states() {
    use TradeClass::*;
    // §orderquery: NOTPAY, USERPAYING, ACCEPT intermediate; SUCCESS paid; CLOSED, REVOKED,
    // PAYERROR final. REFUND is final but not "unpaid": paid, then refunded (maybe in
    // part) — a person settles it.
    let table = [
        ("SUCCESS", Paid),
        ("REFUND", Refunded),
        ("NOTPAY", Pending),
        ("CLOSED", Unpaid),
        ("REVOKED", Unpaid),
        ("USERPAYING", Pending),
        ("PAYERROR", Unpaid),
        ("ACCEPT", Pending),
    ];
    check(
        "TradeState",
        TradeState::DOCUMENTED,
        &table,
        |w| TradeState::parse(w).unwrap(),
        |c| c.as_str().to_owned(),
        TradeState::class,
    );
    assert_eq!(TradeState::parse("FROZEN").unwrap().class(), Pending);
}

#[test]
fn query_err_codes() {
    use TradeClass::*;
    // §orderquery: SYSTEMERROR → query again. ORDERNOTEXIST is final in the PHP sample, but a submit
    // still in flight can create the order after the query: keep polling, then reverse.
    let table = [("ORDERNOTEXIST", Pending), ("SYSTEMERROR", Pending)];
    check(
        "QueryErrCode",
        QueryErrCode::DOCUMENTED,
        &table,
        |w| QueryErrCode::parse(w).unwrap(),
        |c| c.as_str().to_owned(),
        QueryErrCode::class,
    );
}

#[test]
fn reverse_err_codes() {
    use ReverseClass::*;
    // §reverse, §ambiguity: SYSTEMERROR → query the order first, then call again;
    // USERPAYING → later; ORDERNOTEXIST → again (the submit may still land); REVERSE_EXPIRE → past the
    // window (refund: a person). INVALID_REQUEST may be a rate limit → again. The others
    // (bad id, params, method, signature, trade error) will not succeed by repeating.
    let table = [
        ("SYSTEMERROR", QueryFirst),
        ("ORDERNOTEXIST", Retry),
        ("INVALID_TRANSACTIONID", Impossible),
        ("PARAM_ERROR", Impossible),
        ("REQUIRE_POST_METHOD", Impossible),
        ("SIGNERROR", Impossible),
        ("REVERSE_EXPIRE", Impossible),
        ("INVALID_REQUEST", Retry),
        ("TRADE_ERROR", Impossible),
        ("USERPAYING", RetryLater),
    ];
    check(
        "ReverseErrCode",
        ReverseErrCode::DOCUMENTED,
        &table,
        |w| ReverseErrCode::parse(w).unwrap(),
        |c| c.as_str().to_owned(),
        ReverseErrCode::class,
    );
    assert_eq!(ReverseErrCode::parse("NEW").unwrap().class(), Retry);
}

#[test]
fn communication_codes_round_trip() {
    for (wire, rc) in [("SUCCESS", ReturnCode::Success), ("FAIL", ReturnCode::Fail)] {
        assert_eq!(ReturnCode::parse(wire).unwrap(), rc);
    }
    for (wire, rc) in [("SUCCESS", ResultCode::Success), ("FAIL", ResultCode::Fail)] {
        assert_eq!(ResultCode::parse(wire).unwrap(), rc);
    }
    for (wire, r) in [("Y", Recall::Y), ("N", Recall::N)] {
        assert_eq!(Recall::parse(wire).unwrap(), r);
    }
    assert_eq!(ReturnCode::DOCUMENTED.len(), 2);
    assert_eq!(ResultCode::DOCUMENTED.len(), 2);
    assert_eq!(Recall::DOCUMENTED.len(), 2);
}

#[test]
fn answers_need_every_level_to_say_success() {
    use facepay_fsm::{PayAnswer, QueryAnswer, ReverseAnswer, TransactionId};
    // §signing: return_code is only the communication result.
    let pay = |rc, res, err| PayAnswer {
        return_code: rc,
        result_code: res,
        err_code: err,
        transaction_id: TransactionId::empty(),
    };
    assert_eq!(
        pay(ReturnCode::Success, Some(ResultCode::Success), None).class(),
        PayClass::Paid
    );
    assert_eq!(
        pay(ReturnCode::Fail, Some(ResultCode::Success), None).class(),
        PayClass::Ambiguous
    );
    assert_eq!(pay(ReturnCode::Success, None, None).class(), PayClass::Ambiguous);
    assert_eq!(
        pay(ReturnCode::Success, Some(ResultCode::Fail), None).class(),
        PayClass::Ambiguous
    );
    assert_eq!(
        pay(ReturnCode::Fail, None, Some(PayErrCode::NotEnough)).class(),
        PayClass::Ambiguous
    );

    let query = |res, state| QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: res,
        err_code: None,
        trade_state: state,
        transaction_id: TransactionId::empty(),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    };
    assert_eq!(
        query(Some(ResultCode::Success), Some(TradeState::Success)).class(),
        TradeClass::Paid
    );
    assert_eq!(query(None, Some(TradeState::Success)).class(), TradeClass::Pending);
    assert_eq!(query(Some(ResultCode::Success), None).class(), TradeClass::Pending);

    let rev = |res, err, recall| ReverseAnswer {
        return_code: ReturnCode::Success,
        result_code: res,
        err_code: err,
        recall,
    };
    assert_eq!(
        rev(Some(ResultCode::Success), None, Some(Recall::N)).class(),
        ReverseClass::Confirmed
    );
    assert_eq!(
        rev(Some(ResultCode::Success), None, Some(Recall::Y)).class(),
        ReverseClass::Retry
    );
    assert_eq!(rev(Some(ResultCode::Success), None, None).class(), ReverseClass::Retry);
    // recall=Y outranks the err_code: the backend asks to call again.
    assert_eq!(
        rev(
            Some(ResultCode::Fail),
            Some(ReverseErrCode::ReverseExpire),
            Some(Recall::Y)
        )
        .class(),
        ReverseClass::Retry
    );
    let fail_return = ReverseAnswer {
        return_code: ReturnCode::Fail,
        ..rev(Some(ResultCode::Success), None, Some(Recall::N))
    };
    assert_eq!(fail_return.class(), ReverseClass::Retry);
}
