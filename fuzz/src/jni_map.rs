//! `jni_map`: the map checks of `facepay-device`, without a JVM. An arbitrary callback
//! (request id, call kind number as Java sends it, a map or null) goes through
//! `answer::sdk_event`, and the same entries through the app-request and backend-answer
//! readers of `request`.
//!
//! Asserts: no panic; `sdk_event` is `None` exactly for the two calls that have no answer;
//! the event names the request it was given; a null map is `NullMap`; a map with no
//! usable `return_code` is `MissingKey(return_code)`; a readable answer keeps the exact
//! `return_code` string; backend answers exist for the four operations and nothing else.

use arbitrary::{Arbitrary, Unstructured};
use facepay_device::answer::{self, Entry, JavaValue};
use facepay_device::request;
use facepay_fsm::{AnswerError, BackendEvent, Field, FieldError, RequestId, SdkCallKind, SdkEvent};

/// Keys a real map carries, so the fuzzer hits them without guessing.
const KEYS: [Field; 24] = [
    Field::ReturnCode,
    Field::ErrCode,
    Field::ReturnMsg,
    Field::FaceCode,
    Field::Openid,
    Field::SubOpenid,
    Field::UnderageState,
    Field::TelephoneUsed,
    Field::FaceSid,
    Field::Nickname,
    Field::CodeMsg,
    Field::Rawdata,
    Field::ResultCode,
    Field::TradeState,
    Field::Recall,
    Field::TransactionId,
    Field::Authinfo,
    Field::ExpiresIn,
    Field::OutTradeNo,
    Field::TotalFee,
    Field::FaceCodeType,
    Field::FaceAuthtype,
    Field::ProxyType,
    Field::AuthMode,
];

/// One map entry.
#[derive(Arbitrary, Clone, Debug)]
pub struct EntryOp {
    /// The key.
    pub key: KeyOp,
    /// The value (`None` = Java null).
    pub value: Option<ValueOp>,
}

/// A map key.
#[derive(Arbitrary, Clone, Debug)]
pub enum KeyOp {
    /// `KEYS[i % len]`.
    Known(u8),
    /// Any string.
    Any(String),
}

/// A map value, as the JNI reader hands it over.
#[derive(Arbitrary, Clone, Debug)]
pub enum ValueOp {
    /// A well-formed string.
    Text(String),
    /// A documented code or a digit string for this key (cheap to find by chance otherwise).
    Wire(u8),
    /// Raw UTF-16 units, lone surrogates included.
    Units(Vec<u16>),
    /// A string too long to copy: its length only (the reader reports this only over
    /// `MAX_READ_UNITS`, so the value is added to that).
    LongStr(u32),
    /// A `java.lang.Number`.
    Int(i64),
    /// A `java.lang.Boolean`.
    Bool(bool),
    /// Another class.
    Other(String),
}

const WIRE: [&str; 12] = [
    "SUCCESS",
    "FAIL",
    "SYSTEMERROR",
    "USERPAYING",
    "N",
    "Y",
    "NOTPAY",
    "271382020",
    "271378621",
    "134567890123456789",
    "7200",
    "1",
];

/// The entries `ops` stand for.
pub fn entries(ops: &[EntryOp]) -> Vec<Entry> {
    ops.iter()
        .map(|e| {
            let key = match &e.key {
                KeyOp::Known(i) => KEYS[usize::from(*i) % KEYS.len()].key().to_owned(),
                KeyOp::Any(s) => s.clone(),
            };
            let value = e.value.as_ref().map(|v| match v {
                ValueOp::Text(s) => JavaValue::Str(s.encode_utf16().collect()),
                ValueOp::Wire(i) => JavaValue::Str(WIRE[usize::from(*i) % WIRE.len()].encode_utf16().collect()),
                ValueOp::Units(u) => JavaValue::Str(u.clone()),
                ValueOp::LongStr(n) => JavaValue::LongStr(answer::MAX_READ_UNITS + 1 + *n as usize),
                ValueOp::Int(n) => JavaValue::Int(*n),
                ValueOp::Bool(b) => JavaValue::Bool(*b),
                ValueOp::Other(s) => JavaValue::Other(s.clone()),
            });
            (key, value)
        })
        .collect()
}

/// One callback.
#[derive(Arbitrary, Clone, Debug)]
pub struct MapInput {
    /// The request id.
    pub id: u32,
    /// The call kind number from Java (`answer::kind_of`).
    pub kind: i8,
    /// The backend operation name index (or garbage).
    pub op: u8,
    /// The map, or null.
    pub map: Option<Vec<EntryOp>>,
}

const OPS: [&str; 5] = ["get_wxpayface_authinfo", "submit", "query", "reverse", "bogus"];

/// Decodes `data` and checks it.
pub fn run(data: &[u8]) {
    if let Ok(input) = MapInput::arbitrary_take_rest(Unstructured::new(data)) {
        check(&input);
    }
}

/// Any map against every pass-through call: an answer, never a panic; an accepted map
/// has only the call's keys, and the firewall is refused below face app 2.20.
fn pass_through(map: &[Entry], minor: u8) {
    use facepay_device::passthrough::{self, FIREWALL_SINCE, PassThrough, PassThroughError};
    let installed = facepay_fsm::SdkVersion { major: 2, minor };
    for call in PassThrough::ALL {
        match passthrough::check(call.method(), map, Some(installed)) {
            Ok(c) => {
                assert_eq!(c, call);
                assert!(call.since().is_none() || installed >= FIREWALL_SINCE);
            }
            Err(PassThroughError::FaceAppTooOld { needs, .. }) => assert!(installed < needs),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// The last non-null value under `key`, as `Fields::raw_key` reads it.
fn last<'a>(m: &'a [Entry], key: &str) -> Option<&'a JavaValue> {
    m.iter().rev().find(|(k, _)| k == key).and_then(|(_, v)| v.as_ref())
}

fn event_id(ev: &SdkEvent) -> Option<RequestId> {
    match ev {
        SdkEvent::Initialised { id, .. }
        | SdkEvent::Rawdata { id, .. }
        | SdkEvent::FaceCode { id, .. }
        | SdkEvent::UserInfo { id, .. }
        | SdkEvent::CodeScanned { id, .. }
        | SdkEvent::PayResultUpdated { id, .. }
        | SdkEvent::Released { id, .. }
        | SdkEvent::Unreadable { id, .. } => Some(*id),
        SdkEvent::ServiceLost => None,
    }
}

fn status_code(ev: &SdkEvent) -> Option<&str> {
    match ev {
        SdkEvent::Initialised { status, .. }
        | SdkEvent::Rawdata { status, .. }
        | SdkEvent::FaceCode { status, .. }
        | SdkEvent::UserInfo { status, .. }
        | SdkEvent::CodeScanned { status, .. }
        | SdkEvent::PayResultUpdated { status, .. }
        | SdkEvent::Released { status, .. } => Some(status.return_code.as_str()),
        SdkEvent::Unreadable { .. } | SdkEvent::ServiceLost => None,
    }
}

/// Checks one callback.
pub fn check(input: &MapInput) {
    let id = RequestId(input.id);
    let map = input.map.as_deref().map(entries);
    pass_through(map.as_deref().unwrap_or_default(), input.op);
    let kind = i32::from(input.kind);
    if let Some(call) = answer::kind_of(kind) {
        assert_eq!(answer::kind_index(call), kind);
        let ev = answer::sdk_event(id, call, map.as_deref());
        let silent = matches!(
            call,
            SdkCallKind::StopWxpayface | SdkCallKind::StopCodeScanner | SdkCallKind::ReportPaycode
        );
        assert_eq!(ev.is_none(), silent, "{call:?} gave {ev:?}");
        if let Some(ev) = ev {
            assert_eq!(event_id(&ev), Some(id));
            match &map {
                None => assert!(matches!(
                    ev,
                    SdkEvent::Unreadable {
                        error: AnswerError::NullMap,
                        ..
                    }
                )),
                Some(m) => match last(m, Field::ReturnCode.key()) {
                    None => assert!(
                        matches!(
                            ev,
                            SdkEvent::Unreadable {
                                error: AnswerError::MissingKey(Field::ReturnCode),
                                ..
                            }
                        ),
                        "no return_code, yet {ev:?}"
                    ),
                    Some(JavaValue::Str(units)) => {
                        if let Some(code) = status_code(&ev) {
                            assert_eq!(Some(code.to_owned()), String::from_utf16(units).ok());
                        }
                    }
                    Some(_) => assert!(matches!(ev, SdkEvent::Unreadable { .. }), "{ev:?}"),
                },
            }
            if let SdkEvent::Unreadable {
                error: AnswerError::BadValue(FieldError::TooLong { len, cap, .. }),
                ..
            } = ev
            {
                assert!(len > cap);
            }
        }
    } else {
        assert!(!(0..9).contains(&kind));
    }

    let op = OPS[usize::from(input.op) % OPS.len()];
    let b = request::backend_event(id, op, map.as_deref());
    assert_eq!(b.is_none(), op == "bogus");
    if let Some(b) = b {
        let bid = match b {
            BackendEvent::AuthInfo { id, .. }
            | BackendEvent::Submitted { id, .. }
            | BackendEvent::Queried { id, .. }
            | BackendEvent::Reversed { id, .. } => id,
        };
        assert_eq!(bid, id);
    }

    if let Some(m) = &map {
        if let Ok(i) = request::init_params(m) {
            let _ = i.validate();
        }
        if let Ok(o) = request::order(m) {
            let _ = o.validate();
        }
        if let Ok(u) = request::user_info(m) {
            let _ = u.validate();
        }
        if let Ok(mm) = request::merchant(m) {
            let _ = mm.validate();
        }
        let pairs: Vec<(String, String)> = m
            .iter()
            .filter_map(|(k, v)| match v {
                Some(JavaValue::Str(u)) => Some((k.clone(), String::from_utf16_lossy(u))),
                _ => None,
            })
            .collect();
        let _ = request::session_options(&pairs);
    }
}
