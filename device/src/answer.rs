//! SDK callback maps → machine events, with every check the device layer promises: a null
//! map, a missing key, a value that is not a string, an oversize value and bad UTF-16 each
//! become [`SdkEvent::Unreadable`] with a typed [`AnswerError`], never a panic.
//!
//! Pure Rust over [`Entry`] slices, so the fuzz target `jni_map` can run it without a JVM.

use facepay_fsm::codes::{SdkErrCode, SdkReturnCode};
use facepay_fsm::{
    AnswerError, FaceCodeAnswer, Field, FieldError, Message, RequestId, SdkCallKind, SdkEvent, SdkStatus, Text,
    UserInfo,
};

/// A value read out of a `java.util.Map`, as far as the checks need to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JavaValue {
    /// A `java.lang.String`, as its exact UTF-16 code units (lone surrogates included).
    Str(Vec<u16>),
    /// A string too long to be copied out; only its length in UTF-16 units was read.
    LongStr(usize),
    /// A `java.lang.Number` (Integer, Long, Short, Byte).
    Int(i64),
    /// A `java.lang.Boolean`.
    Bool(bool),
    /// Any other object, by class name.
    Other(String),
}

/// One map entry: the key (non-string keys are dropped by the reader) and the value
/// (`None` for a null value).
pub type Entry = (String, Option<JavaValue>);

/// Longest string the JNI reader copies out, in UTF-16 units. Every capacity is at most
/// 2048 bytes and every UTF-16 unit is at least one UTF-8 byte, so a longer string cannot fit.
pub const MAX_READ_UNITS: usize = 4096;

/// The keys of one map, looked up by field with the checks applied.
pub struct Fields<'a>(pub &'a [Entry]);

impl Fields<'_> {
    /// The raw value under `key` (`None` when absent or null).
    pub fn raw_key(&self, key: &str) -> Option<&JavaValue> {
        // The last entry wins, as in a Java map there is only one.
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_ref())
    }

    fn raw(&self, field: Field) -> Option<&JavaValue> {
        self.raw_key(field.key())
    }

    /// The value as a string. `numbers` allows a Number or Boolean (some SDK builds send
    /// `underage_state` as an Integer). `Ok(None)` when absent or null.
    pub fn string(&self, field: Field, numbers: bool) -> Result<Option<String>, AnswerError> {
        match self.raw(field) {
            None => Ok(None),
            Some(JavaValue::Str(units)) => String::from_utf16(units)
                .map(Some)
                .map_err(|_| AnswerError::BadValue(FieldError::Malformed { field })),
            Some(JavaValue::LongStr(units)) => Err(AnswerError::BadValue(FieldError::TooLong {
                field,
                len: u32::try_from(*units).unwrap_or(u32::MAX),
                cap: u32::try_from(MAX_READ_UNITS).unwrap_or(u32::MAX),
            })),
            Some(JavaValue::Int(n)) if numbers => Ok(Some(n.to_string())),
            Some(JavaValue::Bool(b)) if numbers => Ok(Some(if *b { "1" } else { "0" }.to_owned())),
            Some(_) => Err(AnswerError::NotAString(field)),
        }
    }

    /// A bounded text; missing is empty unless `required`.
    pub fn text<const N: usize, L: heapless::LenType>(
        &self,
        field: Field,
        required: bool,
    ) -> Result<Text<N, L>, AnswerError> {
        match self.string(field, false)? {
            Some(s) => Text::new(field, &s).map_err(AnswerError::BadValue),
            None if required => Err(AnswerError::MissingKey(field)),
            None => Ok(Text::empty()),
        }
    }

    /// A small number given as a string or a Number; missing is 0.
    pub fn small(&self, field: Field) -> Result<u8, AnswerError> {
        match self.string(field, true)? {
            None => Ok(0),
            Some(s) if s.is_empty() => Ok(0),
            Some(s) => s
                .trim()
                .parse()
                .map_err(|_| AnswerError::BadValue(FieldError::Malformed { field })),
        }
    }

    /// `return_code` (required), `err_code` (string or number) and `return_msg`.
    pub fn status(&self) -> Result<SdkStatus, AnswerError> {
        let code = self
            .string(Field::ReturnCode, false)?
            .ok_or(AnswerError::MissingKey(Field::ReturnCode))?;
        let return_code = SdkReturnCode::parse(&code).map_err(AnswerError::BadValue)?;
        let err_code = match self.string(Field::ErrCode, true)? {
            Some(s) if !s.is_empty() => Some(SdkErrCode::parse(&s).map_err(AnswerError::BadValue)?),
            _ => None,
        };
        // return_msg only informs people; a long one is cut at a character boundary rather
        // than making a SUCCESS unreadable.
        let return_msg = self
            .string(Field::ReturnMsg, true)?
            .map(|m| cut(&m))
            .unwrap_or_default();
        Ok(SdkStatus {
            return_code,
            err_code,
            return_msg,
        })
    }
}

fn cut(s: &str) -> Message {
    let mut end = s.len().min(Message::CAPACITY);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Message::new(Field::ReturnMsg, s.get(..end).unwrap_or("")).unwrap_or_default()
}

/// Converts the map a `response(Map)` callback carried for request `id` of kind `call`.
/// `None` is a null map. Returns `None` only for calls whose answers the machine does not
/// take (`stopWxpayface`, `stopCodeScanner`, `reportPaycode`): log and drop those.
pub fn sdk_event(id: RequestId, call: SdkCallKind, map: Option<&[Entry]>) -> Option<SdkEvent> {
    if matches!(
        call,
        SdkCallKind::StopWxpayface | SdkCallKind::StopCodeScanner | SdkCallKind::ReportPaycode
    ) {
        return None;
    }
    let Some(entries) = map else {
        return Some(SdkEvent::Unreadable {
            id,
            call,
            error: AnswerError::NullMap,
        });
    };
    Some(read(id, call, &Fields(entries)).unwrap_or_else(|error| SdkEvent::Unreadable { id, call, error }))
}

fn read(id: RequestId, call: SdkCallKind, f: &Fields<'_>) -> Result<SdkEvent, AnswerError> {
    let status = f.status()?;
    let ok = status.return_code == SdkReturnCode::Success;
    Ok(match call {
        SdkCallKind::InitWxpayface => SdkEvent::Initialised { id, status },
        SdkCallKind::GetWxpayfaceRawdata => SdkEvent::Rawdata {
            id,
            rawdata: f.text(Field::Rawdata, ok)?,
            status,
        },
        SdkCallKind::GetWxpayfaceCode => SdkEvent::FaceCode {
            id,
            answer: FaceCodeAnswer {
                face_code: f.text(Field::FaceCode, ok)?,
                openid: f.text(Field::Openid, false)?,
                sub_openid: f.text(Field::SubOpenid, false)?,
                underage_state: f.small(Field::UnderageState)?,
                telephone_used: f.small(Field::TelephoneUsed)? != 0,
                face_sid: f.text(Field::FaceSid, false)?,
            },
            status,
        },
        SdkCallKind::GetWxpayfaceUserInfo => SdkEvent::UserInfo {
            id,
            user: UserInfo {
                openid: f.text(Field::Openid, false)?,
                sub_openid: f.text(Field::SubOpenid, false)?,
                nickname: f.text(Field::Nickname, false)?,
            },
            status,
        },
        SdkCallKind::StartCodeScanner => SdkEvent::CodeScanned {
            id,
            code: f.text(Field::CodeMsg, ok)?,
            status,
        },
        SdkCallKind::UpdateWxpayfacePayResult => SdkEvent::PayResultUpdated { id, status },
        SdkCallKind::ReleaseWxpayface => SdkEvent::Released { id, status },
        // Filtered out by `sdk_event`; kept total so a new kind cannot panic.
        SdkCallKind::StopWxpayface | SdkCallKind::StopCodeScanner | SdkCallKind::ReportPaycode => {
            SdkEvent::Unreadable {
                id,
                call,
                error: AnswerError::NullMap,
            }
        }
    })
}

/// The `SdkCallKind` with a stable small number, as the Java callback carries it.
pub const KINDS: [SdkCallKind; 10] = [
    SdkCallKind::InitWxpayface,
    SdkCallKind::GetWxpayfaceRawdata,
    SdkCallKind::GetWxpayfaceCode,
    SdkCallKind::GetWxpayfaceUserInfo,
    SdkCallKind::StartCodeScanner,
    SdkCallKind::StopCodeScanner,
    SdkCallKind::StopWxpayface,
    SdkCallKind::UpdateWxpayfacePayResult,
    SdkCallKind::ReleaseWxpayface,
    SdkCallKind::ReportPaycode,
];

/// The number of a kind in [`KINDS`].
pub fn kind_index(kind: SdkCallKind) -> i32 {
    KINDS
        .iter()
        .position(|k| *k == kind)
        .and_then(|i| i32::try_from(i).ok())
        .unwrap_or(-1)
}

/// The kind of a number from Java, if it names one.
pub fn kind_of(index: i32) -> Option<SdkCallKind> {
    usize::try_from(index).ok().and_then(|i| KINDS.get(i)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<JavaValue> {
        Some(JavaValue::Str(v.encode_utf16().collect()))
    }
    fn e(k: &str, v: Option<JavaValue>) -> Entry {
        (k.to_owned(), v)
    }
    const ID: RequestId = RequestId(7);

    fn err(call: SdkCallKind, map: Option<&[Entry]>) -> AnswerError {
        match sdk_event(ID, call, map) {
            Some(SdkEvent::Unreadable { error, .. }) => error,
            other => panic!("expected unreadable, got {other:?}"),
        }
    }

    #[test]
    fn a_good_face_code_answer_reads() {
        let m = [
            e("return_code", s("SUCCESS")),
            e("face_code", s("b713b5d2-666c-48")),
            e("openid", s("o1")),
            e("underage_state", Some(JavaValue::Int(1))),
            e("telephone_used", s("1")),
            e("extra", Some(JavaValue::Other("java.lang.Object".into()))),
        ];
        match sdk_event(ID, SdkCallKind::GetWxpayfaceCode, Some(&m)) {
            Some(SdkEvent::FaceCode { answer, status, .. }) => {
                assert_eq!(status, SdkStatus::success());
                assert_eq!(answer.face_code.as_str(), "b713b5d2-666c-48");
                assert_eq!(answer.underage_state, 1);
                assert!(answer.telephone_used);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_malformation_is_typed() {
        let k = SdkCallKind::GetWxpayfaceCode;
        assert_eq!(err(k, None), AnswerError::NullMap);
        assert_eq!(err(k, Some(&[])), AnswerError::MissingKey(Field::ReturnCode));
        assert_eq!(
            err(k, Some(&[e("return_code", Some(JavaValue::Int(0)))])),
            AnswerError::NotAString(Field::ReturnCode)
        );
        assert_eq!(
            err(k, Some(&[e("return_code", s("SUCCESS"))])),
            AnswerError::MissingKey(Field::FaceCode)
        );
        let long = "x".repeat(129);
        assert!(matches!(
            err(k, Some(&[e("return_code", s("SUCCESS")), e("face_code", s(&long))])),
            AnswerError::BadValue(FieldError::TooLong {
                field: Field::FaceCode,
                len: 129,
                cap: 128
            })
        ));
        let bad = vec![0xD800u16, 0x41];
        assert_eq!(
            err(
                k,
                Some(&[
                    e("return_code", s("SUCCESS")),
                    e("face_code", Some(JavaValue::Str(bad)))
                ])
            ),
            AnswerError::BadValue(FieldError::Malformed { field: Field::FaceCode })
        );
        assert!(matches!(
            err(k, Some(&[e("return_code", Some(JavaValue::LongStr(1 << 20)))])),
            AnswerError::BadValue(FieldError::TooLong {
                field: Field::ReturnCode,
                ..
            })
        ));
    }

    #[test]
    fn a_failure_needs_no_payload_and_a_long_message_is_cut() {
        let msg = "错".repeat(100);
        let m = [
            e("return_code", s("USER_CANCEL")),
            e("return_msg", s(&msg)),
            e("err_code", Some(JavaValue::Int(5))),
        ];
        match sdk_event(ID, SdkCallKind::GetWxpayfaceCode, Some(&m)) {
            Some(SdkEvent::FaceCode { status, .. }) => {
                assert_eq!(status.return_code, SdkReturnCode::UserCancel);
                assert!(status.return_msg.len() <= 128);
                assert_eq!(status.err_code.map(|c| c.as_str().to_owned()).as_deref(), Some("5"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stop_calls_have_no_event_and_kinds_round_trip() {
        assert_eq!(sdk_event(ID, SdkCallKind::StopWxpayface, None), None);
        for k in KINDS {
            assert_eq!(kind_of(kind_index(k)), Some(k));
        }
        assert_eq!(kind_of(99), None);
        assert_eq!(kind_of(-1), None);
    }
}
