//! Secrets out of field logs. Each secret value is replaced by a placeholder that is the
//! same every time the same value appears in one trace, and keeps the value's form where
//! the machine looks at it (an all-digit value stays all digits of the same length, so an
//! 18-digit payment code is still one). The machine only copies and compares secrets, so
//! a redacted trace replays exactly.

use std::collections::HashMap;
use std::string::String;

use serde::{Deserialize, Serialize};

use crate::command::{BackendCall, Command, PayCredential, SdkCall};
use crate::config::{InitParams, OrderCredential};
use crate::event::{AppEvent, BackendEvent, Event, SdkEvent};
use crate::text::{Field, Text};

/// Whether a trace writer redacts secrets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Redaction {
    /// Replace `authinfo`, `face_code`, `rawdata`, `telephone`, `auth_code` (and the proxy
    /// `passwd`) with stable placeholders. The default.
    #[default]
    Placeholders,
    /// Write every value as it is. Only for a host that has decided the log is as safe as
    /// the secrets (a lab terminal, a test).
    Raw,
}

/// The placeholders of one trace: value → number, in order of first appearance.
#[derive(Debug, Default)]
pub struct Redactor {
    seen: HashMap<String, u32>,
}

impl Redactor {
    /// A redactor with no values seen yet; use one per trace.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Replaces every secret in `event`.
    pub fn event(&mut self, event: &mut Event) {
        match event {
            Event::App(AppEvent::Start { init, .. }) => self.init(init),
            Event::App(AppEvent::StartOrder(order)) => {
                self.text(&mut order.telephone, Field::Telephone);
                if let OrderCredential::AuthCode(code) = &mut order.credential {
                    self.text(code, Field::AuthCode);
                }
            }
            Event::App(
                AppEvent::IdentifyUser(_) | AppEvent::Cancel | AppEvent::Release | AppEvent::FaceAppVersion(_),
            ) => {}
            Event::Sdk(sdk) => match sdk {
                SdkEvent::Rawdata { rawdata, .. } => self.text(rawdata, Field::Rawdata),
                SdkEvent::FaceCode { answer, .. } => self.text(&mut answer.face_code, Field::FaceCode),
                SdkEvent::CodeScanned { code, .. } => self.text(code, Field::AuthCode),
                SdkEvent::Initialised { .. }
                | SdkEvent::UserInfo { .. }
                | SdkEvent::PayResultUpdated { .. }
                | SdkEvent::Released { .. }
                | SdkEvent::Unreadable { .. }
                | SdkEvent::ServiceLost => {}
            },
            Event::Backend(BackendEvent::AuthInfo { answer: Ok(a), .. }) => self.text(&mut a.authinfo, Field::Authinfo),
            Event::Backend(_) => {}
        }
    }

    /// Replaces every secret in `command`.
    pub fn command(&mut self, command: &mut Command) {
        match command {
            Command::Sdk { call, .. } => match call {
                SdkCall::InitWxpayface(init) => self.init(init),
                SdkCall::GetWxpayfaceCode(req) => {
                    self.text(&mut req.authinfo, Field::Authinfo);
                    self.text(&mut req.telephone, Field::Telephone);
                }
                SdkCall::GetWxpayfaceUserInfo(req) => self.text(&mut req.authinfo, Field::Authinfo),
                SdkCall::StopWxpayface { authinfo } => self.text(authinfo, Field::Authinfo),
                SdkCall::UpdateWxpayfacePayResult(req) => self.text(&mut req.authinfo, Field::Authinfo),
                SdkCall::ReportPaycode { auth_code } => self.text(auth_code, Field::AuthCode),
                SdkCall::GetWxpayfaceRawdata
                | SdkCall::StartCodeScanner
                | SdkCall::StopCodeScanner
                | SdkCall::ReleaseWxpayface => {}
            },
            Command::Backend { call, .. } => match call {
                BackendCall::GetAuthInfo { rawdata } => self.text(rawdata, Field::Rawdata),
                BackendCall::Submit { credential, .. } => match credential {
                    PayCredential::FaceCode { face_code, .. } => self.text(face_code, Field::FaceCode),
                    PayCredential::AuthCode(code) => self.text(code, Field::AuthCode),
                },
                BackendCall::Query { .. } | BackendCall::Reverse { .. } => {}
            },
            Command::Notify(_) | Command::Diagnostic(_) | Command::Persist(_) => {}
        }
    }

    fn init(&mut self, init: &mut InitParams) {
        self.text(&mut init.passwd, Field::Passwd);
    }

    /// Replaces one value by its placeholder. Values are numbered across fields, since the
    /// machine moves a face_code into an auth_code credential.
    fn text<const N: usize, L: heapless::LenType>(&mut self, value: &mut Text<N, L>, field: Field) {
        if value.is_empty() {
            return;
        }
        let next = u32::try_from(self.seen.len()).unwrap_or(u32::MAX).saturating_add(1);
        let n = *self.seen.entry(String::from(value.as_str())).or_insert(next);
        let placeholder = placeholder(value.as_str(), n);
        // A placeholder is never longer than the value's capacity: cut it if it would be.
        let cut = placeholder.get(..N.min(placeholder.len())).unwrap_or("");
        *value = Text::new(field, cut).unwrap_or_else(|_| Text::empty());
    }
}

/// `n` as digits of the value's length when the value is all digits, else `[secret n]`.
/// A payment code keeps its two-digit prefix (10–15: which kind of code, no secret), so
/// its placeholder is still a payment code.
fn placeholder(value: &str, n: u32) -> String {
    if crate::text::is_payment_code(value) {
        let prefix = value.get(..2).unwrap_or("10");
        let rest = placeholder(value.get(2..).unwrap_or(""), n);
        std::format!("{prefix}{rest}")
    } else if value.bytes().all(|b| b.is_ascii_digit()) {
        let digits = std::format!("{n:0>width$}", width = value.len());
        // Keep the last `len` digits if `n` is longer than the value.
        let start = digits.len().saturating_sub(value.len());
        String::from(digits.get(start..).unwrap_or(""))
    } else {
        std::format!("[secret {n}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_stay_digits_of_the_same_length() {
        assert_eq!(placeholder("134567890123456789", 3), "130000000000000003");
        assert_eq!(placeholder("234567890123456789", 3), "000000000000000003");
        assert_eq!(placeholder("12", 345), "45");
        assert_eq!(placeholder("AUTH-xyz", 2), "[secret 2]");
    }

    #[test]
    fn the_same_value_gets_the_same_placeholder() {
        let mut r = Redactor::new();
        let mut a: Text<32> = Text::new(Field::Authinfo, "abc").unwrap();
        let mut b: Text<32> = Text::new(Field::Authinfo, "abc").unwrap();
        let mut c: Text<32> = Text::new(Field::Authinfo, "xyz").unwrap();
        r.text(&mut a, Field::Authinfo);
        r.text(&mut b, Field::Authinfo);
        r.text(&mut c, Field::Authinfo);
        assert_eq!(a.as_str(), "[secret 1]");
        assert_eq!(b.as_str(), "[secret 1]");
        assert_eq!(c.as_str(), "[secret 2]");
    }
}
