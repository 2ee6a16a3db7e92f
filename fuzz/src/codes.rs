//! `codes`: arbitrary strings into every code parser.
//!
//! Asserts, for each wire code (`SdkReturnCode`, `SdkErrCode`, `ReturnCode`, `ResultCode`,
//! `Recall`, `PayErrCode`, `TradeState`, `QueryErrCode`, `ReverseErrCode`):
//! - `parse` fails only over 32 bytes, with `TooLong` and the true length;
//! - `parse` → `as_str` gives the input back, and so does the serde (JSON) form;
//! - a string that is not a documented value is `Unknown` and never success or final:
//!   a pay answer carrying it anywhere is Ambiguous, a query answer Pending, a reverse
//!   answer Retry, an SDK return_code Failed, and an unknown SDK err_code changes nothing.
//!
//! For the config enums (`FaceCodeType`, `FaceAuthType`, `ProxyType`, `PerformMode`):
//! `parse` accepts exactly the documented strings and round-trips them; anything else is
//! `Malformed`. And `is_payment_code` is exactly "18 ASCII digits".

use facepay_fsm::codes::{
    self, PayClass, PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseClass, ReverseErrCode, SdkClass,
    SdkErrCode, SdkReturnCode, TradeClass, TradeState,
};
use facepay_fsm::{
    FaceAuthType, FaceCodeType, FieldError, PayAnswer, PerformMode, ProxyType, QueryAnswer, ReverseAnswer,
    TransactionId, is_payment_code,
};

/// Checks `s` against every parser.
pub fn run(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    check(&s);
    // The same bytes, cut to a code's capacity: the interesting lengths are all <= 32.
    if s.len() > 32 {
        let mut end = 32;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        check(&s[..end]);
    }
}

macro_rules! round_trip {
    ($ty:ident, $s:expr) => {{
        let s: &str = $s;
        match $ty::parse(s) {
            Ok(c) => {
                assert_eq!(c.as_str(), s, concat!(stringify!($ty), " does not round-trip"));
                let json = serde_json::to_string(&c).expect("serialises");
                let back: $ty = serde_json::from_str(&json).expect("its own JSON parses");
                assert_eq!(back, c);
                let documented = $ty::DOCUMENTED.iter().any(|d| d.as_str() == s);
                assert_eq!(
                    documented,
                    !matches!(c, $ty::Unknown(_)),
                    concat!(stringify!($ty), " classified {:?} wrongly"),
                    s
                );
                Some((c, documented))
            }
            Err(FieldError::TooLong { len, cap, .. }) => {
                assert!(s.len() > 32 && len as usize == s.len() && cap == 32, "{s:?}");
                None
            }
            Err(e) => panic!(concat!(stringify!($ty), " failed with {:?} on {:?}"), e, s),
        }
    }};
}

macro_rules! config_enum {
    ($ty:ident, $s:expr) => {{
        let s: &str = $s;
        let known = $ty::ALL.iter().any(|v| v.as_str() == s);
        match $ty::parse(s) {
            Ok(v) => assert!(known && v.as_str() == s, "{s:?}"),
            Err(FieldError::Malformed { .. }) => assert!(!known, "{s:?}"),
            Err(e) => panic!("{e:?}"),
        }
    }};
}

fn pay(rc: ReturnCode, result: ResultCode, err: Option<PayErrCode>) -> PayClass {
    PayAnswer {
        return_code: rc,
        result_code: Some(result),
        err_code: err,
        transaction_id: TransactionId::empty(),
    }
    .class()
}

fn query(rc: ReturnCode, result: ResultCode, err: Option<QueryErrCode>, state: TradeState) -> TradeClass {
    QueryAnswer {
        return_code: rc,
        result_code: Some(result),
        err_code: err,
        trade_state: Some(state),
        transaction_id: TransactionId::empty(),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    }
    .class()
}

fn reverse(rc: ReturnCode, result: ResultCode, err: Option<ReverseErrCode>, recall: Recall) -> ReverseClass {
    ReverseAnswer {
        return_code: rc,
        result_code: Some(result),
        err_code: err,
        recall: Some(recall),
    }
    .class()
}

/// Every parser on `s`.
pub fn check(s: &str) {
    use ResultCode as R;
    use ReturnCode as Rc;

    if let Some((c, false)) = round_trip!(SdkReturnCode, s) {
        assert_eq!(codes::classify_sdk(&c, None), SdkClass::Failed);
    }
    if let Some((e, false)) = round_trip!(SdkErrCode, s) {
        for rc in SdkReturnCode::DOCUMENTED {
            assert_eq!(codes::classify_sdk(rc, Some(&e)), codes::classify_sdk(rc, None));
        }
    }
    if let Some((rc, false)) = round_trip!(ReturnCode, s) {
        assert_eq!(pay(rc.clone(), R::Success, None), PayClass::Ambiguous);
        assert_eq!(
            query(rc.clone(), R::Success, None, TradeState::Success),
            TradeClass::Pending
        );
        assert_eq!(reverse(rc, R::Success, None, Recall::N), ReverseClass::Retry);
    }
    if let Some((r, false)) = round_trip!(ResultCode, s) {
        assert_eq!(pay(Rc::Success, r.clone(), None), PayClass::Ambiguous);
        assert_eq!(
            pay(Rc::Success, r.clone(), Some(PayErrCode::NotEnough)),
            PayClass::Ambiguous
        );
        assert_eq!(
            query(Rc::Success, r.clone(), None, TradeState::Success),
            TradeClass::Pending
        );
        assert_eq!(
            reverse(Rc::Success, r, Some(ReverseErrCode::ReverseExpire), Recall::N),
            ReverseClass::Retry
        );
    }
    if let Some((recall, false)) = round_trip!(Recall, s) {
        assert_eq!(
            reverse(Rc::Success, R::Success, None, recall.clone()),
            ReverseClass::Retry
        );
        // A FAIL with an err_code still classifies by it: only recall=Y forces a retry.
        assert_eq!(
            reverse(Rc::Success, R::Fail, Some(ReverseErrCode::SystemError), recall),
            ReverseClass::QueryFirst
        );
    }
    if let Some((e, false)) = round_trip!(PayErrCode, s) {
        assert_eq!(e.class(), PayClass::Ambiguous);
        assert_eq!(pay(Rc::Success, R::Fail, Some(e)), PayClass::Ambiguous);
    }
    if let Some((t, false)) = round_trip!(TradeState, s) {
        assert_eq!(t.class(), TradeClass::Pending);
        assert_eq!(query(Rc::Success, R::Success, None, t), TradeClass::Pending);
    }
    if let Some((e, false)) = round_trip!(QueryErrCode, s) {
        assert_eq!(e.class(), TradeClass::Pending);
        assert_eq!(
            query(Rc::Success, R::Fail, Some(e), TradeState::Success),
            TradeClass::Pending
        );
    }
    if let Some((e, false)) = round_trip!(ReverseErrCode, s) {
        assert_eq!(e.class(), ReverseClass::Retry);
        assert_eq!(reverse(Rc::Success, R::Fail, Some(e), Recall::N), ReverseClass::Retry);
    }

    config_enum!(FaceCodeType, s);
    config_enum!(FaceAuthType, s);
    config_enum!(ProxyType, s);
    config_enum!(PerformMode, s);

    assert_eq!(
        is_payment_code(s),
        s.len() == 18 && s.bytes().all(|b| b.is_ascii_digit()),
        "{s:?}"
    );
}
