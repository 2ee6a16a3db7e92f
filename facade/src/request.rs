//! The app's request maps → typed calls, per operation, with the seed module's keys.
//! Every key an operation does not know is refused by name (a typo such as `proxytype`
//! would otherwise be silently dropped, and the terminal would never authenticate).

use std::fmt;

use facepay_fsm::{
    FaceAuthType, FaceCodeType, Field, FieldError, InitParams, Merchant, OrderRequest, PerformMode, ProxyType, Text,
    UserInfoRequest,
};

use crate::value::{Params, Value};

/// The ten operations of the APICloud `wxFacePay` module (plus `getWxpayFaceAuthInfo`,
/// which the seed leaves to the app's backend and the facade answers from the machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `initWxpayface`.
    InitWxpayface,
    /// `getWxpayfaceRawdata`.
    GetWxpayfaceRawdata,
    /// `getWxpayFaceAuthInfo`.
    GetWxpayFaceAuthInfo,
    /// `getWxpayfaceUserInfo`.
    GetWxpayfaceUserInfo,
    /// `getWxpayfaceCode`.
    GetWxpayfaceCode,
    /// `micropay`.
    Micropay,
    /// `orderquery`.
    Orderquery,
    /// `reverse`.
    Reverse,
    /// `updateWxpayfacePayResult`.
    UpdateWxpayfacePayResult,
    /// `releaseWxpayface`.
    ReleaseWxpayface,
}

impl Operation {
    /// Every operation, in the module doc's order.
    pub const ALL: [Operation; 10] = [
        Operation::InitWxpayface,
        Operation::GetWxpayfaceRawdata,
        Operation::GetWxpayFaceAuthInfo,
        Operation::GetWxpayfaceUserInfo,
        Operation::GetWxpayfaceCode,
        Operation::Micropay,
        Operation::Orderquery,
        Operation::Reverse,
        Operation::UpdateWxpayfacePayResult,
        Operation::ReleaseWxpayface,
    ];

    /// The module's name for it.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::InitWxpayface => "initWxpayface",
            Operation::GetWxpayfaceRawdata => "getWxpayfaceRawdata",
            Operation::GetWxpayFaceAuthInfo => "getWxpayFaceAuthInfo",
            Operation::GetWxpayfaceUserInfo => "getWxpayfaceUserInfo",
            Operation::GetWxpayfaceCode => "getWxpayfaceCode",
            Operation::Micropay => "micropay",
            Operation::Orderquery => "orderquery",
            Operation::Reverse => "reverse",
            Operation::UpdateWxpayfacePayResult => "updateWxpayfacePayResult",
            Operation::ReleaseWxpayface => "releaseWxpayface",
        }
    }

    /// The operation of that name.
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The keys it accepts (besides the merchant keys, which every operation accepts).
    fn keys(self) -> &'static [&'static str] {
        match self {
            Operation::InitWxpayface => &[
                "proxy",
                "ip",
                "port",
                "user",
                "passwd",
                "proxy_type",
                "tcp_port",
                "perform_mode",
            ],
            Operation::GetWxpayfaceRawdata | Operation::ReleaseWxpayface => &[],
            Operation::GetWxpayFaceAuthInfo => &[
                "rawdata",
                "device_id",
                "attach",
                "now",
                "version",
                "sign_type",
                "sign",
                "nonce_str",
            ],
            Operation::GetWxpayfaceUserInfo => {
                &["face_authtype", "authinfo", "ask_unionid", "screen_index", "auth_mode"]
            }
            Operation::GetWxpayfaceCode => &[
                "telephone",
                "openid",
                "out_trade_no",
                "total_fee",
                "face_authtype",
                "authinfo",
                "ask_face_permit",
                "ask_ret_page",
                "face_code_type",
                "ignore_update_pay_result",
                "screen_index",
            ],
            // The keys of WeChat Pay's micropay / facepay request.
            Operation::Micropay => &[
                "out_trade_no",
                "total_fee",
                "auth_code",
                "face_code",
                "openid",
                "body",
                "detail",
                "attach",
                "fee_type",
                "spbill_create_ip",
                "goods_tag",
                "limit_pay",
                "time_start",
                "time_expire",
                "device_info",
                "nonce_str",
                "sign",
                "sign_type",
                "scene_info",
                "receipt",
                "profit_sharing",
            ],
            Operation::Orderquery | Operation::Reverse => {
                &["out_trade_no", "transaction_id", "nonce_str", "sign", "sign_type"]
            }
            Operation::UpdateWxpayfacePayResult => &["authinfo", "payresult"],
        }
    }
}

const MERCHANT_KEYS: [&str; 5] = ["appid", "mch_id", "sub_appid", "sub_mch_id", "store_id"];
const PROXY_KEYS: [&str; 6] = ["ip", "port", "user", "passwd", "proxy_type", "tcp_port"];

/// Why a request map was refused. The facade answers it `{status: false, errorCode:
/// "PARAM_ERROR", msg}` at once; nothing reaches the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// A key the operation does not take.
    UnknownKey {
        /// The operation.
        op: Operation,
        /// The key, as given.
        key: String,
    },
    /// A required key is absent.
    Missing {
        /// The operation.
        op: Operation,
        /// The key.
        key: &'static str,
    },
    /// A value of the wrong type or form.
    Malformed {
        /// The operation.
        op: Operation,
        /// The key (`proxy.port` inside the nested object).
        key: String,
        /// What was given.
        value: String,
    },
    /// A value the machine's field rules refuse (too long, empty, not the documented form).
    Field {
        /// The operation.
        op: Operation,
        /// The rule broken.
        error: FieldError,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::UnknownKey { op, key } => write!(f, "{}: unknown key `{key}`", op.name()),
            ParamError::Missing { op, key } => write!(f, "{}: `{key}` is required", op.name()),
            ParamError::Malformed { op, key, value } => {
                write!(f, "{}: `{key}` = {value} does not have the documented form", op.name())
            }
            ParamError::Field { op, error } => write!(f, "{}: {error}", op.name()),
        }
    }
}

impl std::error::Error for ParamError {}

/// What micropay asked for: the facade compares it with what the machine submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MicropayRequest {
    /// `out_trade_no` (empty: the current order).
    pub out_trade_no: String,
    /// `total_fee` in fen, if given.
    pub total_fee: Option<u32>,
    /// `auth_code` or `face_code`, if given.
    pub credential: Option<String>,
}

/// One typed facade call.
#[derive(Clone, Debug, PartialEq, Eq)]
// Requests are the fsm's inline types (no heap); a call lives for one step.
#[allow(clippy::large_enum_variant)]
pub enum Call {
    /// `initWxpayface`: proxy settings (nested `proxy` object or flat keys) and the
    /// merchant keys given with the call (empty ones: the facade's configured merchant).
    Init {
        /// Proxy and performance settings.
        init: InitParams,
        /// Merchant keys given with the call.
        merchant: Merchant,
    },
    /// `getWxpayfaceRawdata`.
    Rawdata,
    /// `getWxpayFaceAuthInfo`.
    AuthInfo,
    /// `getWxpayfaceUserInfo`.
    UserInfo(UserInfoRequest),
    /// `getWxpayfaceCode`.
    Code(OrderRequest),
    /// `micropay`.
    Micropay(MicropayRequest),
    /// `orderquery`.
    OrderQuery {
        /// The order (empty: the current one).
        out_trade_no: String,
    },
    /// `reverse`.
    Reverse {
        /// The order (empty: the current one).
        out_trade_no: String,
    },
    /// `updateWxpayfacePayResult`.
    UpdatePayResult {
        /// `payresult` as given.
        payresult: String,
    },
    /// `releaseWxpayface`.
    Release,
}

struct Reader<'p> {
    op: Operation,
    params: &'p Params,
}

impl Reader<'_> {
    fn value(&self, key: &str) -> Option<&Value> {
        self.params.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn text_of(&self, key: &str, v: &Value) -> Result<String, ParamError> {
        v.as_text().ok_or_else(|| ParamError::Malformed {
            op: self.op,
            key: key.to_owned(),
            value: v.to_string(),
        })
    }

    fn text(&self, key: &str) -> Result<String, ParamError> {
        match self.value(key) {
            Some(v) => self.text_of(key, v),
            None => Ok(String::new()),
        }
    }

    fn field<const N: usize, L: heapless::LenType>(&self, key: &str, field: Field) -> Result<Text<N, L>, ParamError> {
        Text::new(field, &self.text(key)?).map_err(|error| ParamError::Field { op: self.op, error })
    }

    fn parsed<T>(&self, key: &str, parse: fn(&str) -> Result<T, FieldError>) -> Result<Option<T>, ParamError> {
        match self.text(key)? {
            s if s.is_empty() => Ok(None),
            s => parse(&s)
                .map(Some)
                .map_err(|error| ParamError::Field { op: self.op, error }),
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, ParamError> {
        match self.value(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Num(n)) if *n == 0 || *n == 1 => Ok(*n == 1),
            Some(Value::Str(s)) if s.is_empty() => Ok(default),
            Some(Value::Str(s)) if s == "1" || s == "true" => Ok(true),
            Some(Value::Str(s)) if s == "0" || s == "false" => Ok(false),
            Some(v) => Err(ParamError::Malformed {
                op: self.op,
                key: key.to_owned(),
                value: v.to_string(),
            }),
        }
    }

    fn fee(&self, key: &str) -> Result<Option<u32>, ParamError> {
        let bad = |v: &Value| ParamError::Malformed {
            op: self.op,
            key: key.to_owned(),
            value: v.to_string(),
        };
        match self.value(key) {
            None => Ok(None),
            Some(Value::Str(s)) if s.is_empty() => Ok(None),
            Some(v @ Value::Num(n)) => u32::try_from(*n)
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| bad(v)),
            Some(v @ Value::Str(s)) => s
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| bad(v)),
            Some(v) => Err(bad(v)),
        }
    }

    fn merchant(&self) -> Result<Merchant, ParamError> {
        Ok(Merchant {
            appid: self.field("appid", Field::Appid)?,
            mch_id: self.field("mch_id", Field::MchId)?,
            sub_appid: self.field("sub_appid", Field::SubAppid)?,
            sub_mch_id: self.field("sub_mch_id", Field::SubMchId)?,
            store_id: self.field("store_id", Field::StoreId)?,
        })
    }
}

/// Reads `params` as a call of `op`; an unknown key, a missing required key or a value
/// of the wrong form is a [`ParamError`] naming the key.
pub fn parse(op: Operation, params: &Params) -> Result<Call, ParamError> {
    for (k, _) in params {
        if !MERCHANT_KEYS.contains(&k.as_str()) && !op.keys().contains(&k.as_str()) {
            return Err(ParamError::UnknownKey { op, key: k.clone() });
        }
    }
    let r = Reader { op, params };
    match op {
        Operation::InitWxpayface => init(&r),
        Operation::GetWxpayfaceRawdata => Ok(Call::Rawdata),
        Operation::GetWxpayFaceAuthInfo => Ok(Call::AuthInfo),
        Operation::GetWxpayfaceUserInfo => {
            let u = UserInfoRequest {
                face_authtype: r
                    .parsed("face_authtype", FaceAuthType::parse)?
                    .ok_or(ParamError::Missing {
                        op,
                        key: "face_authtype",
                    })?,
                auth_mode_jump: r.flag("auth_mode", false)?,
                ask_unionid: r.flag("ask_unionid", false)?,
                screen_index: r.field("screen_index", Field::ScreenIndex)?,
            };
            Ok(Call::UserInfo(u))
        }
        Operation::GetWxpayfaceCode => {
            let otn = r.text("out_trade_no")?;
            if otn.is_empty() {
                return Err(ParamError::Missing {
                    op,
                    key: "out_trade_no",
                });
            }
            let total_fee = r
                .fee("total_fee")?
                .ok_or(ParamError::Missing { op, key: "total_fee" })?;
            let face_code_type = r
                .parsed("face_code_type", FaceCodeType::parse)?
                .unwrap_or(FaceCodeType::Facepay);
            let mut o = OrderRequest::new(r.field("out_trade_no", Field::OutTradeNo)?, total_fee, face_code_type);
            o.face_authtype = r
                .parsed("face_authtype", FaceAuthType::parse)?
                .unwrap_or(FaceAuthType::Facepay);
            o.telephone = r.field("telephone", Field::Telephone)?;
            o.openid = r.field("openid", Field::Openid)?;
            o.ask_face_permit = r.flag("ask_face_permit", false)?;
            o.ask_ret_page = r.flag("ask_ret_page", true)?;
            o.ignore_update_pay_result = r.flag("ignore_update_pay_result", false)?;
            o.screen_index = r.field("screen_index", Field::ScreenIndex)?;
            Ok(Call::Code(o))
        }
        Operation::Micropay => {
            let credential = [r.text("auth_code")?, r.text("face_code")?]
                .into_iter()
                .find(|c| !c.is_empty());
            Ok(Call::Micropay(MicropayRequest {
                out_trade_no: r.text("out_trade_no")?,
                total_fee: r.fee("total_fee")?,
                credential,
            }))
        }
        Operation::Orderquery => Ok(Call::OrderQuery {
            out_trade_no: r.text("out_trade_no")?,
        }),
        Operation::Reverse => Ok(Call::Reverse {
            out_trade_no: r.text("out_trade_no")?,
        }),
        Operation::UpdateWxpayfacePayResult => {
            let payresult = r.text("payresult")?;
            if payresult != "SUCCESS" && payresult != "ERROR" {
                return Err(ParamError::Malformed {
                    op,
                    key: "payresult".into(),
                    value: format!("{payresult:?}"),
                });
            }
            Ok(Call::UpdatePayResult { payresult })
        }
        Operation::ReleaseWxpayface => Ok(Call::Release),
    }
}

/// `initWxpayface`: the seed's nested `proxy: {ip, port, user, passwd, proxy_type,
/// tcp_port}` object, or the same keys flat (the facade's earlier form); both at once
/// must agree.
fn init(r: &Reader<'_>) -> Result<Call, ParamError> {
    let op = r.op;
    let mut flat: Params = r
        .params
        .iter()
        .filter(|(k, _)| PROXY_KEYS.contains(&k.as_str()) || k == "perform_mode")
        .cloned()
        .collect();
    match r.value("proxy") {
        None => {}
        Some(Value::Obj(entries)) => {
            for (k, v) in entries {
                if !PROXY_KEYS.contains(&k.as_str()) {
                    return Err(ParamError::UnknownKey {
                        op,
                        key: format!("proxy.{k}"),
                    });
                }
                if let Some((_, other)) = flat.iter().find(|(fk, _)| fk == k)
                    && other.as_text() != v.as_text()
                {
                    return Err(ParamError::Malformed {
                        op,
                        key: format!("proxy.{k}"),
                        value: format!("{v} (the flat key `{k}` says {other})"),
                    });
                }
                flat.push((k.clone(), v.clone()));
            }
        }
        Some(v) => {
            return Err(ParamError::Malformed {
                op,
                key: "proxy".into(),
                value: v.to_string(),
            });
        }
    }
    let p = Reader { op, params: &flat };
    let init = InitParams {
        ip: p.field("ip", Field::Ip)?,
        port: p.field("port", Field::Port)?,
        user: p.field("user", Field::User)?,
        passwd: p.field("passwd", Field::Passwd)?,
        proxy_type: p.parsed("proxy_type", ProxyType::parse)?,
        tcp_port: p.field("tcp_port", Field::TcpPort)?,
        perform_mode: p.parsed("perform_mode", PerformMode::parse)?,
    };
    init.validate().map_err(|error| ParamError::Field { op, error })?;
    Ok(Call::Init {
        init,
        merchant: r.merchant()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(k: &str, v: &str) -> (String, Value) {
        (k.to_owned(), Value::Str(v.to_owned()))
    }

    #[test]
    fn nested_proxy_and_flat_keys_give_the_same_settings() {
        let nested = vec![(
            "proxy".to_owned(),
            Value::Obj(vec![
                s("ip", "10.0.0.1"),
                s("port", "8080"),
                ("proxy_type".into(), Value::Num(3)),
            ]),
        )];
        let flat = vec![s("ip", "10.0.0.1"), s("port", "8080"), s("proxy_type", "3")];
        let a = parse(Operation::InitWxpayface, &nested).unwrap();
        let b = parse(Operation::InitWxpayface, &flat).unwrap();
        assert_eq!(a, b);
        let Call::Init { init, .. } = a else { panic!() };
        assert_eq!(init.ip.as_str(), "10.0.0.1");
        assert_eq!(init.proxy_type, Some(ProxyType::Http));
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let e = parse(Operation::InitWxpayface, &vec![s("proxytype", "3")]).unwrap_err();
        assert_eq!(e.to_string(), "initWxpayface: unknown key `proxytype`");
        let e = parse(
            Operation::InitWxpayface,
            &vec![("proxy".into(), Value::Obj(vec![s("host", "x")]))],
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "initWxpayface: unknown key `proxy.host`");
    }

    #[test]
    fn micropay_reads_amount_and_credential() {
        let p = vec![
            s("out_trade_no", "T1"),
            ("total_fee".into(), Value::Num(900)),
            s("auth_code", "F1"),
        ];
        assert_eq!(
            parse(Operation::Micropay, &p).unwrap(),
            Call::Micropay(MicropayRequest {
                out_trade_no: "T1".into(),
                total_fee: Some(900),
                credential: Some("F1".into()),
            })
        );
        let bad = vec![s("total_fee", "9.00")];
        assert!(matches!(
            parse(Operation::Micropay, &bad),
            Err(ParamError::Malformed { key, .. }) if key == "total_fee"
        ));
    }
}
