//! The model WxPayFace SDK (the face app behind `com.tencent.wxpayface`): a binder that
//! may be starting (271378621) or dead, a user in front of the camera who takes their
//! time, cancels, or switches to a payment code, and an authinfo the face app may reject
//! (271382020). It answers calls; the fault layer decides whether the answers arrive.

use facepay_fsm::codes::{SdkErrCode, SdkReturnCode};
use facepay_fsm::{
    AuthCode, Event, FaceCode, FaceCodeAnswer, FaceCodeType, Field, OpenId, RawData, RequestId, SdkCall, SdkEvent,
    SdkStatus, UserInfo,
};

use crate::rng::SimRng;

/// How the face app and its user behave for one session.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SdkProfile {
    /// How many 271378621 ("initialising") answers init gives after a (re)bind, at most.
    pub starting_answers: u8,
    /// Longest time the user takes in front of the camera, ms.
    pub user_max_ms: u64,
    /// The user closes the face UI (USER_CANCEL).
    pub user_cancel: f64,
    /// The user switches to a payment code (SCAN_PAYMENT).
    pub scan_payment: f64,
    /// The scan fails (ERROR / SYSTEMERROR).
    pub scan_error: f64,
    /// The merchant is not enabled for instant face pay (FACEPAY_NOT_AUTH) this session.
    pub merchant_not_enabled: bool,
    /// The face app rejects a valid-looking authinfo (271382020).
    pub authinfo_rejected: f64,
    /// The code scanner first reads a product barcode.
    pub barcode_first: f64,
    /// The code scanner never reads a payment code.
    pub never_scans: f64,
    /// getWxpayfaceRawdata fails.
    pub rawdata_error: f64,
}

impl Default for SdkProfile {
    fn default() -> Self {
        SdkProfile {
            starting_answers: 1,
            user_max_ms: 20_000,
            user_cancel: 0.05,
            scan_payment: 0.05,
            scan_error: 0.02,
            merchant_not_enabled: false,
            authinfo_rejected: 0.02,
            barcode_first: 0.2,
            never_scans: 0.05,
            rawdata_error: 0.01,
        }
    }
}

impl SdkProfile {
    /// A profile drawn for swarm testing.
    pub fn swarm(rng: &mut SimRng) -> Self {
        SdkProfile {
            starting_answers: rng.range(0, 4) as u8,
            user_max_ms: *rng.pick(&[3_000, 20_000, 60_000, 120_000]),
            user_cancel: rng.swarm_probability(),
            scan_payment: rng.swarm_probability(),
            scan_error: rng.swarm_probability(),
            merchant_not_enabled: rng.chance(0.02),
            authinfo_rejected: rng.swarm_probability(),
            barcode_first: rng.swarm_probability(),
            never_scans: rng.swarm_probability(),
            rawdata_error: rng.swarm_probability(),
        }
    }
}

/// What a scheduled callback depends on: it is dropped if the binder died, or if a newer
/// call superseded it, before it was due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyTag {
    binder: u32,
    scan: Option<u32>,
    scanner: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binding {
    Up,
    Starting { answers_left: u8 },
    Dead,
}

/// The face app of one terminal.
#[derive(Debug)]
pub struct FaceApp {
    binding: Binding,
    binder: u32,
    scan: u32,
    scanner: u32,
    codes: u32,
    prefix: u32,
}

/// A callback the face app will make `after` ms from now, unless its tag goes stale.
pub struct Callback {
    /// Delay from the call.
    pub after: u64,
    /// What it depends on.
    pub tag: ReplyTag,
    /// The callback.
    pub event: Box<Event>,
}

/// The AAR answers a call on a dead binder after this long (DOMAIN §1.1).
pub const AAR_FALLBACK_MS: u64 = 10_000;

impl FaceApp {
    /// A face app not yet bound; `prefix` makes its face codes unique to the session.
    pub fn new(prefix: u32) -> Self {
        FaceApp {
            binding: Binding::Dead,
            binder: 0,
            scan: 0,
            scanner: 0,
            codes: 0,
            prefix,
        }
    }

    /// The binder died (`onServiceDisconnected`): pending callbacks never come.
    pub fn die(&mut self) {
        self.binding = Binding::Dead;
        self.binder += 1;
    }

    /// True if a callback with `tag` is still delivered.
    pub fn delivers(&self, tag: &ReplyTag) -> bool {
        tag.binder == self.binder
            && tag.scan.is_none_or(|s| s == self.scan)
            && tag.scanner.is_none_or(|s| s == self.scanner)
    }

    fn tag(&self) -> ReplyTag {
        ReplyTag {
            binder: self.binder,
            scan: None,
            scanner: None,
        }
    }

    fn rebind(&mut self, p: &SdkProfile, rng: &mut SimRng) {
        if self.binding == Binding::Dead {
            self.binder += 1;
            self.binding = Binding::Starting {
                answers_left: rng.range(0, u64::from(p.starting_answers)) as u8,
            };
        }
    }

    /// Handles one SDK call at terminal Unix time `terminal_ms`; pushes its callbacks.
    pub fn call(
        &mut self,
        terminal_ms: u64,
        id: RequestId,
        call: &SdkCall,
        p: &SdkProfile,
        rng: &mut SimRng,
        out: &mut Vec<Callback>,
    ) {
        let mut push = |after: u64, tag: ReplyTag, e: SdkEvent| {
            out.push(Callback {
                after,
                tag,
                event: Box::new(Event::Sdk(e)),
            })
        };
        if let SdkCall::InitWxpayface(_) = call {
            self.rebind(p, rng);
            let status = match self.binding {
                Binding::Starting { answers_left } if answers_left > 0 => {
                    self.binding = Binding::Starting {
                        answers_left: answers_left - 1,
                    };
                    SdkStatus::with_err(SdkReturnCode::Fail, SdkErrCode::ServiceInitialising)
                }
                _ => {
                    self.binding = Binding::Up;
                    SdkStatus::success()
                }
            };
            push(rng.range(50, 800), self.tag(), SdkEvent::Initialised { id, status });
            return;
        }
        if matches!(call, SdkCall::StopCodeScanner) {
            self.scanner += 1;
            return;
        }
        if self.binding != Binding::Up {
            if let SdkCall::StopWxpayface { .. } = call {
                return;
            }
            // The AAR caches the call, tries to re-bind, and answers after 10 s.
            let err = if self.binding == Binding::Dead {
                SdkErrCode::ServiceNotInitialised
            } else {
                SdkErrCode::ServiceInitialising
            };
            self.rebind(p, rng);
            let status = SdkStatus::with_err(SdkReturnCode::Fail, err);
            if let Some(e) = fallback(id, call, status) {
                push(AAR_FALLBACK_MS, self.tag(), e);
            }
            return;
        }
        match call {
            SdkCall::InitWxpayface(_) | SdkCall::StopCodeScanner => {}
            SdkCall::GetWxpayfaceRawdata => {
                let (status, raw) = if rng.chance(p.rawdata_error) {
                    (SdkStatus::code(SdkReturnCode::Error), "")
                } else {
                    (SdkStatus::success(), "rawdata-model-face-app")
                };
                let rawdata = RawData::new(Field::Rawdata, raw).unwrap_or_default();
                push(
                    rng.range(30, 300),
                    self.tag(),
                    SdkEvent::Rawdata { id, status, rawdata },
                );
            }
            SdkCall::GetWxpayfaceCode(req) => {
                // Only the newest getWxpayfaceCode callback fires (DOMAIN §4).
                self.scan += 1;
                let tag = ReplyTag {
                    scan: Some(self.scan),
                    ..self.tag()
                };
                let after = rng.range(1_500, p.user_max_ms.max(1_500));
                let (status, answer) = if p.merchant_not_enabled {
                    (
                        SdkStatus::code(SdkReturnCode::FacepayNotAuth),
                        FaceCodeAnswer::default(),
                    )
                } else if authinfo_expired(&req.authinfo, terminal_ms) || rng.chance(p.authinfo_rejected) {
                    let s = SdkStatus::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid);
                    (s, FaceCodeAnswer::default())
                } else if rng.chance(p.user_cancel) {
                    (SdkStatus::code(SdkReturnCode::UserCancel), FaceCodeAnswer::default())
                } else if rng.chance(p.scan_payment) {
                    (SdkStatus::code(SdkReturnCode::ScanPayment), FaceCodeAnswer::default())
                } else if rng.chance(p.scan_error) {
                    let code = rng.pick(&[SdkReturnCode::Error, SdkReturnCode::SystemError]).clone();
                    (SdkStatus::code(code), FaceCodeAnswer::default())
                } else {
                    let code = self.next_code(req.face_code_type);
                    let answer = FaceCodeAnswer {
                        face_code: FaceCode::new(Field::FaceCode, &code).unwrap_or_default(),
                        openid: OpenId::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").unwrap_or_default(),
                        underage_state: 1,
                        ..FaceCodeAnswer::default()
                    };
                    (SdkStatus::success(), answer)
                };
                push(after, tag, SdkEvent::FaceCode { id, status, answer });
            }
            SdkCall::StartCodeScanner => {
                self.scanner += 1;
                let tag = ReplyTag {
                    scanner: Some(self.scanner),
                    ..self.tag()
                };
                let mut at = 0;
                if rng.chance(p.barcode_first) {
                    at += rng.range(500, 3_000);
                    let code = AuthCode::new(Field::AuthCode, "6901234567892").unwrap_or_default();
                    push(
                        at,
                        tag,
                        SdkEvent::CodeScanned {
                            id,
                            status: SdkStatus::success(),
                            code,
                        },
                    );
                }
                if !rng.chance(p.never_scans) {
                    at += rng.range(1_000, 15_000);
                    let text = self.next_code(FaceCodeType::Micropay);
                    let code = AuthCode::new(Field::AuthCode, &text).unwrap_or_default();
                    push(
                        at,
                        tag,
                        SdkEvent::CodeScanned {
                            id,
                            status: SdkStatus::success(),
                            code,
                        },
                    );
                }
            }
            SdkCall::GetWxpayfaceUserInfo(req) => {
                self.scan += 1;
                let tag = ReplyTag {
                    scan: Some(self.scan),
                    ..self.tag()
                };
                let after = rng.range(1_000, p.user_max_ms.max(1_000));
                let (status, user) = if authinfo_expired(&req.authinfo, terminal_ms) {
                    let s = SdkStatus::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid);
                    (s, UserInfo::default())
                } else if rng.chance(p.user_cancel + p.scan_error) {
                    (SdkStatus::code(SdkReturnCode::Error), UserInfo::default())
                } else {
                    let openid = OpenId::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").unwrap_or_default();
                    (
                        SdkStatus::success(),
                        UserInfo {
                            openid,
                            ..UserInfo::default()
                        },
                    )
                };
                push(after, tag, SdkEvent::UserInfo { id, status, user });
            }
            SdkCall::StopWxpayface { .. } => {
                // Ends a running getWxpayfaceUserInfo: its callback never comes.
                self.scan += 1;
            }
            SdkCall::UpdateWxpayfacePayResult(_) => {
                push(
                    rng.range(100, 600),
                    self.tag(),
                    SdkEvent::PayResultUpdated {
                        id,
                        status: SdkStatus::success(),
                    },
                );
            }
            SdkCall::ReleaseWxpayface => {
                push(
                    rng.range(50, 300),
                    self.tag(),
                    SdkEvent::Released {
                        id,
                        status: SdkStatus::success(),
                    },
                );
                // Unbound once released: the next Start binds again. Pending callbacks of
                // this binder still arrive (the release answer among them).
                self.binding = Binding::Dead;
            }
        }
    }

    fn next_code(&mut self, kind: FaceCodeType) -> String {
        self.codes += 1;
        match kind {
            // An 18-digit 刷卡付款码.
            FaceCodeType::Micropay => format!("13{:010}{:06}", self.prefix, self.codes),
            // A 人脸付款码 with a dash: not a valid auth_code.
            FaceCodeType::Facepay => format!("{:08x}-{:04x}-fc", self.prefix, self.codes),
        }
    }
}

/// The face app checks the authinfo's expiry against the terminal's own clock, so a
/// terminal clock far ahead of WeChat's sees 271382020 (DOMAIN §1.7, §4).
fn authinfo_expired(authinfo: &str, terminal_ms: u64) -> bool {
    match authinfo.rsplit('-').next().and_then(|s| s.parse::<u64>().ok()) {
        Some(expires_at) => terminal_ms >= expires_at,
        None => true,
    }
}

/// The AAR's fallback answer for a call on an unbound service.
fn fallback(id: RequestId, call: &SdkCall, status: SdkStatus) -> Option<SdkEvent> {
    Some(match call {
        SdkCall::InitWxpayface(_) => SdkEvent::Initialised { id, status },
        SdkCall::GetWxpayfaceRawdata => SdkEvent::Rawdata {
            id,
            status,
            rawdata: RawData::empty(),
        },
        SdkCall::GetWxpayfaceCode(_) => SdkEvent::FaceCode {
            id,
            status,
            answer: FaceCodeAnswer::default(),
        },
        SdkCall::GetWxpayfaceUserInfo(_) => SdkEvent::UserInfo {
            id,
            status,
            user: UserInfo::default(),
        },
        SdkCall::StartCodeScanner => SdkEvent::CodeScanned {
            id,
            status,
            code: AuthCode::empty(),
        },
        SdkCall::UpdateWxpayfacePayResult(_) => SdkEvent::PayResultUpdated { id, status },
        SdkCall::ReleaseWxpayface => SdkEvent::Released { id, status },
        SdkCall::StopCodeScanner | SdkCall::StopWxpayface { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use facepay_fsm::InitParams;

    fn init(app: &mut FaceApp, p: &SdkProfile, rng: &mut SimRng) -> SdkStatus {
        let mut out = Vec::new();
        app.call(
            0,
            RequestId(1),
            &SdkCall::InitWxpayface(InitParams::default()),
            p,
            rng,
            &mut out,
        );
        match *out.remove(0).event {
            Event::Sdk(SdkEvent::Initialised { status, .. }) => status,
            _ => unreachable!(),
        }
    }

    #[test]
    fn init_answers_initialising_then_success() {
        let p = SdkProfile {
            starting_answers: 3,
            ..SdkProfile::default()
        };
        let mut rng = SimRng::new(5);
        let mut app = FaceApp::new(1);
        let mut starting = 0;
        loop {
            let s = init(&mut app, &p, &mut rng);
            if s.err_code == Some(SdkErrCode::ServiceInitialising) {
                starting += 1;
            } else {
                assert_eq!(s.return_code, SdkReturnCode::Success);
                break;
            }
        }
        assert!(starting <= 3);
    }

    #[test]
    fn callbacks_of_a_dead_binder_are_dropped() {
        let p = SdkProfile::default();
        let mut rng = SimRng::new(5);
        let mut app = FaceApp::new(1);
        let mut out = Vec::new();
        app.call(
            0,
            RequestId(1),
            &SdkCall::InitWxpayface(InitParams::default()),
            &p,
            &mut rng,
            &mut out,
        );
        let tag = out[0].tag;
        assert!(app.delivers(&tag));
        app.die();
        assert!(!app.delivers(&tag));
    }

    #[test]
    fn an_expired_authinfo_is_detected_by_the_terminal_clock() {
        assert!(authinfo_expired("authinfo-1-1000", 1000));
        assert!(!authinfo_expired("authinfo-1-1000", 999));
        assert!(authinfo_expired("garbage", 0));
    }
}
