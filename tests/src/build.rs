//! Builders for the inputs a script feeds: merchant, orders, SDK and backend answers.
//! Every string goes through the fsm's own bounded `Text`, so a builder that does not fit
//! fails loudly in the test, never silently.

use facepay_fsm::codes::{PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseErrCode, TradeState};
use facepay_fsm::{
    AuthInfoAnswer, FaceCodeType, Field, FieldError, Merchant, Message, OrderRequest, PayAnswer, QueryAnswer,
    ReverseAnswer, Text, TransactionId,
};

/// Unwraps a `Text::new` of a test value, panicking with the field on overflow.
pub fn ok<T>(text: Result<T, FieldError>) -> T {
    match text {
        Ok(t) => t,
        Err(e) => panic!("test value does not fit: {e}"),
    }
}

/// The merchant every script uses (the appid and mch_id of WeChat's own examples).
pub fn merchant() -> Merchant {
    Merchant {
        appid: ok(Text::new(Field::Appid, "wx2421b1c4370ec43b")),
        mch_id: ok(Text::new(Field::MchId, "10000100")),
        store_id: ok(Text::new(Field::StoreId, "S01")),
        ..Merchant::default()
    }
}

/// An order with the defaults of [`OrderRequest::new`].
pub fn order(out_trade_no: &str, total_fee: u32, face_code_type: FaceCodeType) -> OrderRequest {
    OrderRequest::new(
        ok(Text::new(Field::OutTradeNo, out_trade_no)),
        total_fee,
        face_code_type,
    )
}

/// `get_wxpayface_authinfo` SUCCESS with this authinfo and lifetime.
pub fn authinfo(value: &str, expires_in: u32) -> AuthInfoAnswer {
    AuthInfoAnswer {
        return_code: ReturnCode::Success,
        return_msg: Message::empty(),
        authinfo: ok(Text::new(Field::Authinfo, value)),
        expires_in,
    }
}

/// A pay (micropay / facepay) answer SUCCESS/SUCCESS with a transaction id.
pub fn pay_success(transaction_id: &str) -> PayAnswer {
    PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        transaction_id: ok(Text::new(Field::TransactionId, transaction_id)),
    }
}

/// A pay answer SUCCESS/FAIL with this err_code.
pub fn pay_error(err_code: PayErrCode) -> PayAnswer {
    PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(err_code),
        transaction_id: TransactionId::empty(),
    }
}

/// A pay answer with `return_code=FAIL` (communication failure: the result is unknown).
pub fn pay_return_fail() -> PayAnswer {
    PayAnswer {
        return_code: ReturnCode::Fail,
        result_code: None,
        err_code: None,
        transaction_id: TransactionId::empty(),
    }
}

/// An order query SUCCESS/SUCCESS with this trade_state (and a transaction id if paid).
pub fn query(trade_state: TradeState) -> QueryAnswer {
    let transaction_id = if trade_state == TradeState::Success {
        ok(Text::new(Field::TransactionId, "4200000000000000001"))
    } else {
        TransactionId::empty()
    };
    QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        trade_state: Some(trade_state),
        transaction_id,
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    }
}

/// An order query SUCCESS/FAIL with this err_code.
pub fn query_error(err_code: QueryErrCode) -> QueryAnswer {
    QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(err_code),
        trade_state: None,
        transaction_id: TransactionId::empty(),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    }
}

/// A reverse answer with this result_code and recall.
pub fn reverse(result_code: ResultCode, recall: Recall) -> ReverseAnswer {
    ReverseAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(result_code),
        err_code: None,
        recall: Some(recall),
    }
}

/// A reverse answer SUCCESS/FAIL with this err_code and no recall.
pub fn reverse_error(err_code: ReverseErrCode) -> ReverseAnswer {
    ReverseAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(err_code),
        recall: None,
    }
}
