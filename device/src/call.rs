//! Machine commands → the arguments of the Java calls that execute them: the SDK method
//! name and its request map, or the backend operation and its parameters. Empty optional
//! strings are left out, as on the wire.

use facepay_fsm::{BackendCall, FaceCodeRequest, Merchant, PayCredential, SdkCall};

/// A flat request map, in a stable order.
pub type Args = Vec<(&'static str, String)>;

fn put(args: &mut Args, key: &'static str, value: &str) {
    if !value.is_empty() {
        args.push((key, value.to_owned()));
    }
}

fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

fn merchant(args: &mut Args, m: &Merchant) {
    put(args, "appid", &m.appid);
    put(args, "mch_id", &m.mch_id);
    put(args, "sub_appid", &m.sub_appid);
    put(args, "sub_mch_id", &m.sub_mch_id);
    put(args, "store_id", &m.store_id);
}

/// The request map of an SDK call (docs/protocol.md §sdk-calls, §init-params, §face-code-request).
pub fn sdk_args(call: &SdkCall) -> Args {
    let mut a = Args::new();
    match call {
        SdkCall::InitWxpayface(p) => {
            put(&mut a, "ip", &p.ip);
            put(&mut a, "port", &p.port);
            put(&mut a, "user", &p.user);
            put(&mut a, "passwd", &p.passwd);
            if let Some(t) = p.proxy_type {
                a.push(("proxy_type", t.as_str().to_owned()));
            }
            put(&mut a, "tcp_port", &p.tcp_port);
            if let Some(m) = p.perform_mode {
                a.push(("perform_mode", m.as_str().to_owned()));
            }
        }
        SdkCall::GetWxpayfaceCode(r) => face_code(&mut a, r),
        SdkCall::GetWxpayfaceUserInfo(u) => {
            merchant(&mut a, &u.merchant);
            a.push(("face_authtype", u.face_authtype.as_str().to_owned()));
            put(&mut a, "authinfo", &u.authinfo);
            a.push(("auth_mode", flag(u.auth_mode_jump)));
            a.push(("ask_unionid", flag(u.ask_unionid)));
            put(&mut a, "screen_index", &u.screen_index);
        }
        SdkCall::StopWxpayface { authinfo } => put(&mut a, "authinfo", authinfo),
        SdkCall::UpdateWxpayfacePayResult(p) => {
            merchant(&mut a, &p.merchant);
            put(&mut a, "authinfo", &p.authinfo);
            a.push(("payresult", p.payresult.as_str().to_owned()));
        }
        SdkCall::GetWxpayfaceRawdata
        | SdkCall::StartCodeScanner
        | SdkCall::StopCodeScanner
        | SdkCall::ReleaseWxpayface => {}
    }
    a
}

fn face_code(a: &mut Args, r: &FaceCodeRequest) {
    merchant(a, &r.merchant);
    put(a, "out_trade_no", &r.out_trade_no);
    a.push(("total_fee", r.total_fee.to_string()));
    a.push(("face_code_type", r.face_code_type.as_str().to_owned()));
    a.push(("face_authtype", r.face_authtype.as_str().to_owned()));
    put(a, "authinfo", &r.authinfo);
    put(a, "telephone", &r.telephone);
    put(a, "openid", &r.openid);
    a.push(("ask_face_permit", flag(r.ask_face_permit)));
    a.push(("ask_ret_page", flag(r.ask_ret_page)));
    a.push(("ignore_update_pay_result", flag(r.ignore_update_pay_result)));
    put(a, "screen_index", &r.screen_index);
}

/// What the host's backend must do: `op` is one of `get_wxpayface_authinfo`, `submit`,
/// `query`, `reverse`; `path` the v2 API path (empty for authinfo); `args` its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendArgs {
    /// The operation.
    pub op: &'static str,
    /// The v2 API path, e.g. `/pay/micropay`.
    pub path: &'static str,
    /// The parameters the merchant server adds its identity and signature to.
    pub args: Args,
}

/// The backend operation of a backend command.
pub fn backend_args(call: &BackendCall) -> BackendArgs {
    let mut a = Args::new();
    let (op, path) = match call {
        BackendCall::GetAuthInfo { rawdata } => {
            put(&mut a, "rawdata", rawdata);
            ("get_wxpayface_authinfo", "/face/get_wxpayface_authinfo")
        }
        BackendCall::Submit {
            api,
            out_trade_no,
            total_fee,
            credential,
        } => {
            put(&mut a, "out_trade_no", out_trade_no);
            a.push(("total_fee", total_fee.to_string()));
            match credential {
                PayCredential::FaceCode { face_code, openid } => {
                    put(&mut a, "face_code", face_code);
                    put(&mut a, "openid", openid);
                }
                PayCredential::AuthCode(code) => put(&mut a, "auth_code", code),
            }
            ("submit", api.submit_path())
        }
        BackendCall::Query { api, out_trade_no } => {
            put(&mut a, "out_trade_no", out_trade_no);
            ("query", api.query_path())
        }
        BackendCall::Reverse {
            api,
            out_trade_no,
            attempt,
        } => {
            put(&mut a, "out_trade_no", out_trade_no);
            a.push(("attempt", attempt.to_string()));
            ("reverse", api.reverse_path())
        }
    };
    BackendArgs { op, path, args: a }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facepay_fsm::{Field, OutTradeNo, PayApi, Text};

    #[test]
    fn submit_carries_the_credential_and_never_an_empty_key() {
        let call = BackendCall::Submit {
            api: PayApi::Micropay,
            out_trade_no: OutTradeNo::new(Field::OutTradeNo, "T1").unwrap(),
            total_fee: 100,
            credential: PayCredential::AuthCode(Text::new(Field::AuthCode, "134567890123456789").unwrap()),
        };
        let b = backend_args(&call);
        assert_eq!((b.op, b.path), ("submit", "/pay/micropay"));
        assert_eq!(
            b.args,
            vec![
                ("out_trade_no", "T1".into()),
                ("total_fee", "100".into()),
                ("auth_code", "134567890123456789".into())
            ]
        );
        assert!(sdk_args(&SdkCall::GetWxpayfaceRawdata).is_empty());
    }
}
