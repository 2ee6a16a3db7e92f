//! Any request map, of any key and value, is read without a panic: a call or a typed
//! error that names the key (DESIGN: bad input gets a clear, typed error, never a panic).

use facepay_facade::{Operation, ParamError, Params, Value, parse};
use proptest::prelude::*;

const KEYS: &[&str] = &[
    "proxy",
    "ip",
    "port",
    "user",
    "passwd",
    "proxy_type",
    "tcp_port",
    "perform_mode",
    "appid",
    "mch_id",
    "store_id",
    "out_trade_no",
    "total_fee",
    "face_authtype",
    "face_code_type",
    "auth_code",
    "face_code",
    "payresult",
    "ask_face_permit",
    "screen_index",
    "telephone",
    "openid",
    "bogus",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{0,40}".prop_map(Value::Str),
        "[0-9]{0,7}".prop_map(Value::Str),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Num),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec((prop::sample::select(KEYS).prop_map(str::to_owned), inner), 0..4).prop_map(Value::Obj)
    })
}

fn params() -> impl Strategy<Value = Params> {
    prop::collection::vec(
        (
            prop_oneof![prop::sample::select(KEYS).prop_map(str::to_owned), ".{0,8}"],
            value(),
        ),
        0..8,
    )
}

proptest! {
    #[test]
    fn every_map_is_a_call_or_an_error_naming_its_key(op in prop::sample::select(Operation::ALL.to_vec()), p in params()) {
        match parse(op, &p) {
            Ok(_) => {}
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.starts_with(op.name()), "{text}");
                match &e {
                    ParamError::UnknownKey { key, .. } | ParamError::Malformed { key, .. } => {
                        prop_assert!(text.contains(key.as_str()), "{text}")
                    }
                    ParamError::Missing { key, .. } => prop_assert!(text.contains(key), "{text}"),
                    ParamError::Field { .. } => {}
                }
            }
        }
    }
}
