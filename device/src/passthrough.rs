//! The WxPayFace calls a till makes that move neither state nor money (device/README.md,
//! "Every WxPayFace call"): `FacePaySession` hands them to the SDK as they are, after this
//! check of their maps, so a misspelt or missing key is a typed error naming it instead of
//! an SDK answer nobody reads. The machine never sees them.

use std::fmt;

use facepay_fsm::SdkVersion;

use crate::answer::{Entry, JavaValue};

/// A pass-through call of the WxPayFace SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassThrough {
    /// `updateWxpayfaceBannerState(map, cb)`: whether the face app may show its ads.
    UpdateWxpayfaceBannerState,
    /// `reportOrder(map, cb)` (交易上报).
    ReportOrder,
    /// `reportInfo(map, cb)` (统计上报).
    ReportInfo,
    /// `enableFirewall(map, cb)`: face app 2.20 and later.
    EnableFirewall,
    /// `disableFirewall(cb)`: face app 2.20 and later.
    DisableFirewall,
    /// `getWxpayAuth(map, cb)` (实名授权, after a FACE_AUTH scan gave `face_sid`).
    GetWxpayAuth,
    /// `ttsSpeak(text)`: the face app reads a text aloud (e.g. the amount).
    TtsSpeak,
}

/// Whether a key must be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
}

/// The first face app version with the firewall calls (the AAR answers FAIL "SDK版本过低"
/// before it: docs/protocol.md §sdk-calls).
pub const FIREWALL_SINCE: SdkVersion = SdkVersion { major: 2, minor: 20 };

/// Longest value accepted, in UTF-16 units (an authinfo is the longest value: at most 1024).
const MAX_VALUE: usize = 1024;

impl PassThrough {
    /// Every pass-through call.
    pub const ALL: [PassThrough; 7] = [
        PassThrough::UpdateWxpayfaceBannerState,
        PassThrough::ReportOrder,
        PassThrough::ReportInfo,
        PassThrough::EnableFirewall,
        PassThrough::DisableFirewall,
        PassThrough::GetWxpayAuth,
        PassThrough::TtsSpeak,
    ];

    /// The SDK method name.
    pub const fn method(self) -> &'static str {
        match self {
            PassThrough::UpdateWxpayfaceBannerState => "updateWxpayfaceBannerState",
            PassThrough::ReportOrder => "reportOrder",
            PassThrough::ReportInfo => "reportInfo",
            PassThrough::EnableFirewall => "enableFirewall",
            PassThrough::DisableFirewall => "disableFirewall",
            PassThrough::GetWxpayAuth => "getWxpayAuth",
            PassThrough::TtsSpeak => "ttsSpeak",
        }
    }

    /// The call named `method`, if it is a pass-through one.
    pub fn named(method: &str) -> Option<PassThrough> {
        PassThrough::ALL.into_iter().find(|p| p.method() == method)
    }

    /// The request keys (`ttsSpeak`'s one argument is checked as `text`).
    fn keys(self) -> &'static [(&'static str, Need)] {
        use Need::{Optional, Required};
        match self {
            PassThrough::UpdateWxpayfaceBannerState => &[("banner_state", Required)],
            PassThrough::ReportOrder => &[
                ("mch_id", Required),
                ("sub_mch_id", Optional),
                ("out_trade_no", Required),
            ],
            PassThrough::ReportInfo => &[("item", Required), ("item_value", Required)],
            PassThrough::EnableFirewall => &[("mch_id", Required), ("sub_mch_id", Optional)],
            PassThrough::DisableFirewall => &[],
            PassThrough::GetWxpayAuth => &[("authinfo", Required), ("face_sid", Required)],
            PassThrough::TtsSpeak => &[("text", Required)],
        }
    }

    /// The oldest face app that has the call, when it is not every one.
    pub const fn since(self) -> Option<SdkVersion> {
        match self {
            PassThrough::EnableFirewall | PassThrough::DisableFirewall => Some(FIREWALL_SINCE),
            _ => None,
        }
    }
}

/// Why a pass-through call was refused before it reached the SDK. The host must fix the
/// call; nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassThroughError {
    /// Not a pass-through call of this device layer.
    UnknownCall(String),
    /// A key the call does not take (a misspelling the SDK would ignore).
    UnknownKey {
        /// The call.
        call: PassThrough,
        /// The key.
        key: String,
    },
    /// A required key is absent or empty.
    MissingKey {
        /// The call.
        call: PassThrough,
        /// The key.
        key: &'static str,
    },
    /// A value is not a string (or a number), is too long, or is not one the call takes.
    BadValue {
        /// The call.
        call: PassThrough,
        /// The key.
        key: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The installed face app is older than the call.
    FaceAppTooOld {
        /// The call.
        call: PassThrough,
        /// The version it needs.
        needs: SdkVersion,
        /// The installed one.
        installed: SdkVersion,
    },
}

impl fmt::Display for PassThroughError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassThroughError::UnknownCall(m) => write!(f, "`{m}` is not a pass-through WxPayFace call"),
            PassThroughError::UnknownKey { call, key } => write!(f, "{}: unknown key `{key}`", call.method()),
            PassThroughError::MissingKey { call, key } => write!(f, "{}: `{key}` is required", call.method()),
            PassThroughError::BadValue { call, key, why } => write!(f, "{}: `{key}` {why}", call.method()),
            PassThroughError::FaceAppTooOld { call, needs, installed } => write!(
                f,
                "{}: needs face app {needs} or later; {installed} is installed",
                call.method()
            ),
        }
    }
}

impl std::error::Error for PassThroughError {}

/// Checks one pass-through call: its name, its keys and values, and the installed face
/// app's version when it is known (an unknown one lets the SDK answer for itself).
pub fn check(method: &str, map: &[Entry], face_app: Option<SdkVersion>) -> Result<PassThrough, PassThroughError> {
    let call = PassThrough::named(method).ok_or_else(|| PassThroughError::UnknownCall(method.to_owned()))?;
    let keys = call.keys();
    for (key, value) in map {
        if !keys.iter().any(|(k, _)| k == key) {
            return Err(PassThroughError::UnknownKey { call, key: key.clone() });
        }
        let bad = |why| PassThroughError::BadValue {
            call,
            key: key.clone(),
            why,
        };
        let text = match value {
            Some(JavaValue::Str(units)) if units.len() <= MAX_VALUE => {
                String::from_utf16(units).map_err(|_| bad("is not valid UTF-16"))?
            }
            Some(JavaValue::Str(_) | JavaValue::LongStr(_)) => return Err(bad("is too long")),
            Some(JavaValue::Int(n)) => n.to_string(),
            None => String::new(),
            Some(_) => return Err(bad("is not a string")),
        };
        if key == "banner_state" && !matches!(text.as_str(), "0" | "1") {
            return Err(bad("must be \"0\" (ads may show) or \"1\" (no ads)"));
        }
    }
    for (key, need) in keys {
        let present = map.iter().any(|(k, v)| {
            k == key
                && match v {
                    None => false,
                    Some(JavaValue::Str(u)) => !u.is_empty(),
                    Some(_) => true,
                }
        });
        if *need == Need::Required && !present {
            return Err(PassThroughError::MissingKey { call, key });
        }
    }
    if let (Some(needs), Some(installed)) = (call.since(), face_app)
        && installed < needs
    {
        return Err(PassThroughError::FaceAppTooOld { call, needs, installed });
    }
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(k: &str, v: &str) -> Entry {
        (k.to_owned(), Some(JavaValue::Str(v.encode_utf16().collect())))
    }

    #[test]
    fn every_call_takes_its_keys() {
        let ok = |m: &str, map: &[Entry]| check(m, map, None).map(PassThrough::method);
        assert_eq!(
            ok("updateWxpayfaceBannerState", &[s("banner_state", "1")]),
            Ok("updateWxpayfaceBannerState")
        );
        assert_eq!(
            ok("reportOrder", &[s("mch_id", "10000100"), s("out_trade_no", "T1")]),
            Ok("reportOrder")
        );
        assert_eq!(
            ok("reportInfo", &[s("item", "a"), s("item_value", "1")]),
            Ok("reportInfo")
        );
        assert_eq!(ok("enableFirewall", &[s("mch_id", "10000100")]), Ok("enableFirewall"));
        assert_eq!(ok("disableFirewall", &[]), Ok("disableFirewall"));
        assert_eq!(
            ok("getWxpayAuth", &[s("authinfo", "A"), s("face_sid", "F")]),
            Ok("getWxpayAuth")
        );
        assert_eq!(ok("ttsSpeak", &[s("text", "微信支付 1.00 元")]), Ok("ttsSpeak"));
    }

    #[test]
    fn a_bad_map_is_refused_by_name() {
        let err = |m: &str, map: &[Entry]| check(m, map, None).unwrap_err().to_string();
        assert_eq!(
            err("getWxpayfaceCode", &[]),
            "`getWxpayfaceCode` is not a pass-through WxPayFace call"
        );
        assert_eq!(
            err("reportOrder", &[s("mchid", "1"), s("out_trade_no", "T1")]),
            "reportOrder: unknown key `mchid`"
        );
        assert_eq!(
            err("reportOrder", &[s("mch_id", ""), s("out_trade_no", "T1")]),
            "reportOrder: `mch_id` is required"
        );
        assert_eq!(
            err("getWxpayAuth", &[s("authinfo", "A")]),
            "getWxpayAuth: `face_sid` is required"
        );
        assert!(err("updateWxpayfaceBannerState", &[s("banner_state", "2")]).contains("`banner_state` must be"));
        let long = "x".repeat(MAX_VALUE + 1);
        assert_eq!(err("ttsSpeak", &[s("text", &long)]), "ttsSpeak: `text` is too long");
        assert_eq!(
            err("ttsSpeak", &[("text".to_owned(), Some(JavaValue::Bool(true)))]),
            "ttsSpeak: `text` is not a string"
        );
    }

    #[test]
    fn the_firewall_needs_face_app_2_20() {
        let old = Some(SdkVersion { major: 2, minor: 19 });
        let new = Some(FIREWALL_SINCE);
        assert_eq!(
            check("disableFirewall", &[], old).unwrap_err().to_string(),
            "disableFirewall: needs face app 2.20 or later; 2.19 is installed"
        );
        assert!(check("enableFirewall", &[s("mch_id", "1")], new).is_ok());
        // Unknown: the SDK answers for itself.
        assert!(check("disableFirewall", &[], None).is_ok());
        // Other calls have no gate.
        assert!(check("ttsSpeak", &[s("text", "hi")], old).is_ok());
    }
}
