//! The model WxPayFace SDK (the face app behind `com.tencent.wxpayface`): a binder that
//! may be starting (271378621) or dead, a user in front of the camera who takes their
//! time, cancels, or switches to a payment code, and an authinfo the face app may reject
//! (271382020). It answers calls; the fault layer decides whether the answers arrive.

use facepay_fsm::codes::{SdkErrCode, SdkReturnCode};
use facepay_fsm::{
    AuthCode, Event, FaceCode, FaceCodeAnswer, FaceCodeType, Field, Message, OpenId, RawData, RequestId, SdkCall,
    SdkEvent, SdkStatus, UserInfo,
};

use crate::rng::SimRng;
use crate::stack_fmt::{StackText, dec_width, hex_width, put_dec, put_hex};

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
    /// The face app rejects an authinfo before its `expires_in` ran out (271382020): the
    /// WeChat side revoked it early. The FAQ names only expiry as the cause
    /// (<https://pay.weixin.qq.com/wiki/doc/wxfacepay/develop/faq/software.html>); that it
    /// also happens early is an assumption.
    pub authinfo_rejected: f64,
    /// The code scanner first reads a product barcode.
    pub barcode_first: f64,
    /// The code scanner never reads a payment code.
    pub never_scans: f64,
    /// getWxpayfaceRawdata fails.
    pub rawdata_error: f64,
    /// When the face service dies during a face scan, the AAR rebinds on its own and
    /// replays the pending getWxpayfaceCode ("the SDK caches the pending call and
    /// re-binds": `tryReconnectService` in the AAR classes published in
    /// hqwlkj/wechat_face_payment): a second face UI, whose callback reaches the
    /// terminal after it heard the service die — sometimes twice. Whether the replayed
    /// UI's callback is still delivered is an assumption (the harsh reading).
    pub rebind_replay: f64,
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
            rebind_replay: 0.3,
        }
    }
}

impl SdkProfile {
    /// A user who pays by face without fuss and a face app that works: every order reaches
    /// its submit (for tests that aim at settling).
    pub fn steady() -> Self {
        SdkProfile {
            starting_answers: 1,
            user_max_ms: 5_000,
            user_cancel: 0.0,
            scan_payment: 0.0,
            scan_error: 0.0,
            merchant_not_enabled: false,
            authinfo_rejected: 0.0,
            barcode_first: 0.0,
            never_scans: 0.0,
            rawdata_error: 0.0,
            rebind_replay: 0.0,
        }
    }

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
            rebind_replay: rng.swarm_probability(),
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
    /// The face scan in progress (its request, code type, and the terminal time its
    /// callback is due), which a rebind replays.
    pending_face: Option<(RequestId, FaceCodeType, u64)>,
}

/// A callback the face app will make `after` ms from now, unless its tag goes stale.
pub struct Callback {
    /// Delay from the call.
    pub after: u64,
    /// What it depends on.
    pub tag: ReplyTag,
    /// The callback, compact: [`FaceApp::event`] builds the fsm event on delivery.
    pub reply: SdkReply,
}

/// The status of a model callback (`return_msg` is always empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    return_code: SdkReturnCode,
    err_code: Option<SdkErrCode>,
}

impl Status {
    fn success() -> Self {
        Status::code(SdkReturnCode::Success)
    }

    fn code(return_code: SdkReturnCode) -> Self {
        Status {
            return_code,
            err_code: None,
        }
    }

    fn with_err(return_code: SdkReturnCode, err_code: SdkErrCode) -> Self {
        Status {
            return_code,
            err_code: Some(err_code),
        }
    }

    fn full(&self) -> SdkStatus {
        SdkStatus {
            return_code: self.return_code.clone(),
            err_code: self.err_code.clone(),
            return_msg: Message::empty(),
        }
    }
}

/// A scanned code as it travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scanned {
    /// Nothing (a fallback answer).
    Nothing,
    /// A product barcode.
    Barcode,
    /// The customer's payment code number `n`.
    PaymentCode(u32),
}

/// A model callback as it waits in the agenda: a few bytes, where the fsm's `Event` holds
/// kilobytes of fixed-capacity text. [`FaceApp::event`] builds the event on delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdkReply {
    /// initWxpayface.
    Initialised {
        /// Request.
        id: RequestId,
        /// Status.
        status: Status,
    },
    /// getWxpayfaceRawdata; `ok` carries the model's rawdata, else it is empty.
    Rawdata {
        /// Request.
        id: RequestId,
        /// Status.
        status: Status,
        /// Rawdata present.
        ok: bool,
    },
    /// getWxpayfaceCode; `code` is the face code's kind and number on success.
    FaceCode {
        /// Request.
        id: RequestId,
        /// Status.
        status: Status,
        /// The face code issued.
        code: Option<(FaceCodeType, u32)>,
    },
    /// The code scanner read a code.
    CodeScanned {
        /// Request.
        id: RequestId,
        /// Status.
        status: Status,
        /// What it read.
        code: Scanned,
    },
    /// getWxpayfaceUserInfo; `identified` carries the model's openid.
    UserInfo {
        /// Request.
        id: RequestId,
        /// Status.
        status: Status,
        /// A user was found.
        identified: bool,
    },
    /// updateWxpayfacePayResult.
    PayResultUpdated {
        /// Request.
        id: RequestId,
        /// Status.
        status: Status,
    },
    /// releaseWxpayface.
    Released {
        /// Request.
        id: RequestId,
        /// Status.
        status: Status,
    },
}

/// The openid of the model's customer.
pub(crate) const MODEL_OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// The AAR answers a call on a dead binder after this long (docs/protocol.md §sdk-mechanics).
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
            pending_face: None,
        }
    }

    /// The binder died (`onServiceDisconnected`): pending callbacks never come.
    pub fn die(&mut self) {
        self.binding = Binding::Dead;
        self.binder += 1;
        self.pending_face = None;
    }

    /// The binder died during a face scan, and the AAR rebinds and replays it
    /// ([`SdkProfile::rebind_replay`]): pushes the replayed UI's callback (once or twice)
    /// for the old request, deliverable on the new binding. Call after [`FaceApp::die`]'s
    /// effects are decided, in place of it.
    pub fn die_and_replay(&mut self, terminal_ms: u64, p: &SdkProfile, rng: &mut SimRng, out: &mut Vec<Callback>) {
        let pending = self.pending_face.take();
        self.die();
        let Some((id, face_code_type, due)) = pending else {
            return;
        };
        if due <= terminal_ms {
            // Answered already: nothing pending to replay.
            return;
        }
        if !rng.chance(p.rebind_replay) {
            return;
        }
        self.binder += 1;
        self.binding = Binding::Up;
        let after = rng.range(1_500, p.user_max_ms.max(1_500));
        let reply = SdkReply::FaceCode {
            id,
            status: Status::success(),
            code: Some((face_code_type, self.next_code())),
        };
        let tag = self.tag();
        if rng.chance(0.5) {
            out.push(Callback {
                after: after + rng.range(0, 200),
                tag,
                reply: reply.clone(),
            });
        }
        out.push(Callback { after, tag, reply });
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
        let mut push = |after: u64, tag: ReplyTag, reply: SdkReply| out.push(Callback { after, tag, reply });
        if let SdkCall::InitWxpayface(_) = call {
            self.rebind(p, rng);
            let status = match self.binding {
                Binding::Starting { answers_left } if answers_left > 0 => {
                    self.binding = Binding::Starting {
                        answers_left: answers_left - 1,
                    };
                    Status::with_err(SdkReturnCode::Fail, SdkErrCode::ServiceInitialising)
                }
                _ => {
                    self.binding = Binding::Up;
                    Status::success()
                }
            };
            push(rng.range(50, 800), self.tag(), SdkReply::Initialised { id, status });
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
            let status = Status::with_err(SdkReturnCode::Fail, err);
            if let Some(e) = fallback(id, call, status) {
                push(AAR_FALLBACK_MS, self.tag(), e);
            }
            return;
        }
        match call {
            SdkCall::InitWxpayface(_) | SdkCall::StopCodeScanner => {}
            SdkCall::GetWxpayfaceRawdata => {
                let (status, ok) = if rng.chance(p.rawdata_error) {
                    (Status::code(SdkReturnCode::Error), false)
                } else {
                    (Status::success(), true)
                };
                push(rng.range(30, 300), self.tag(), SdkReply::Rawdata { id, status, ok });
            }
            SdkCall::GetWxpayfaceCode(req) => {
                // Only the newest getWxpayfaceCode callback fires (docs/protocol.md §pitfalls).
                self.scan += 1;
                let tag = ReplyTag {
                    scan: Some(self.scan),
                    ..self.tag()
                };
                let after = rng.range(1_500, p.user_max_ms.max(1_500));
                let (status, code) = if p.merchant_not_enabled {
                    (Status::code(SdkReturnCode::FacepayNotAuth), None)
                } else if authinfo_expired(&req.authinfo, terminal_ms) || rng.chance(p.authinfo_rejected) {
                    (
                        Status::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid),
                        None,
                    )
                } else if rng.chance(p.user_cancel) {
                    (Status::code(SdkReturnCode::UserCancel), None)
                } else if rng.chance(p.scan_payment) {
                    (Status::code(SdkReturnCode::ScanPayment), None)
                } else if rng.chance(p.scan_error) {
                    let code = rng.pick(&[SdkReturnCode::Error, SdkReturnCode::SystemError]).clone();
                    (Status::code(code), None)
                } else {
                    (Status::success(), Some((req.face_code_type, self.next_code())))
                };
                self.pending_face = Some((id, req.face_code_type, terminal_ms + after));
                push(after, tag, SdkReply::FaceCode { id, status, code });
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
                    push(
                        at,
                        tag,
                        SdkReply::CodeScanned {
                            id,
                            status: Status::success(),
                            code: Scanned::Barcode,
                        },
                    );
                }
                if !rng.chance(p.never_scans) {
                    at += rng.range(1_000, 15_000);
                    let code = Scanned::PaymentCode(self.next_code());
                    push(
                        at,
                        tag,
                        SdkReply::CodeScanned {
                            id,
                            status: Status::success(),
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
                let (status, identified) = if authinfo_expired(&req.authinfo, terminal_ms) {
                    (
                        Status::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid),
                        false,
                    )
                } else if rng.chance(p.user_cancel + p.scan_error) {
                    (Status::code(SdkReturnCode::Error), false)
                } else {
                    (Status::success(), true)
                };
                push(after, tag, SdkReply::UserInfo { id, status, identified });
            }
            SdkCall::StopWxpayface { .. } => {
                // Ends a running getWxpayfaceUserInfo: its callback never comes.
                self.scan += 1;
            }
            SdkCall::UpdateWxpayfacePayResult(_) => {
                push(
                    rng.range(100, 600),
                    self.tag(),
                    SdkReply::PayResultUpdated {
                        id,
                        status: Status::success(),
                    },
                );
            }
            SdkCall::ReleaseWxpayface => {
                push(
                    rng.range(50, 300),
                    self.tag(),
                    SdkReply::Released {
                        id,
                        status: Status::success(),
                    },
                );
                // Unbound once released: the next Start binds again. Pending callbacks of
                // this binder still arrive (the release answer among them).
                self.binding = Binding::Dead;
            }
        }
    }

    fn next_code(&mut self) -> u32 {
        self.codes += 1;
        self.codes
    }

    /// The code number `n` of this face app as text.
    fn code_text(&self, kind: FaceCodeType, n: u32) -> StackText<40> {
        match kind {
            // An 18-digit 刷卡付款码.
            // "13{prefix:010}{n:06}", without the formatting machinery (a u32 fits 10 digits).
            FaceCodeType::Micropay => {
                let mut b = [0u8; 2 + 10 + 10];
                b[..2].copy_from_slice(b"13");
                put_dec(&mut b[2..12], u64::from(self.prefix));
                let end = 12 + dec_width(u64::from(n), 6);
                put_dec(&mut b[12..end], u64::from(n));
                StackText::from_ascii(&b[..end])
            }
            // A 人脸付款码 with a dash: not a valid auth_code. "{prefix:08x}-{n:04x}-fc".
            FaceCodeType::Facepay => {
                let mut b = [0u8; 8 + 1 + 8 + 3];
                put_hex(&mut b[..8], u64::from(self.prefix));
                b[8] = b'-';
                let mid = 9 + hex_width(u64::from(n), 4);
                put_hex(&mut b[9..mid], u64::from(n));
                b[mid..mid + 3].copy_from_slice(b"-fc");
                StackText::from_ascii(&b[..mid + 3])
            }
        }
    }

    /// The fsm event of a callback, built on delivery.
    pub fn event(&self, reply: &SdkReply) -> Event {
        // Each arm builds the whole event: an SdkEvent built first and wrapped after is
        // copied (1.5 KB) into the Event.
        match reply {
            SdkReply::Initialised { id, status } => Event::Sdk(SdkEvent::Initialised {
                id: *id,
                status: status.full(),
            }),
            SdkReply::Rawdata { id, status, ok } => Event::Sdk(SdkEvent::Rawdata {
                id: *id,
                status: status.full(),
                rawdata: if *ok {
                    RawData::new(Field::Rawdata, "rawdata-model-face-app").unwrap_or_default()
                } else {
                    RawData::empty()
                },
            }),
            SdkReply::FaceCode { id, status, code } => Event::Sdk(SdkEvent::FaceCode {
                id: *id,
                status: status.full(),
                answer: match code {
                    Some((kind, n)) => FaceCodeAnswer {
                        face_code: FaceCode::new(Field::FaceCode, self.code_text(*kind, *n).as_str())
                            .unwrap_or_default(),
                        openid: OpenId::new(Field::Openid, MODEL_OPENID).unwrap_or_default(),
                        underage_state: 1,
                        ..FaceCodeAnswer::default()
                    },
                    None => FaceCodeAnswer::default(),
                },
            }),
            SdkReply::CodeScanned { id, status, code } => Event::Sdk(SdkEvent::CodeScanned {
                id: *id,
                status: status.full(),
                code: match code {
                    Scanned::Nothing => AuthCode::empty(),
                    Scanned::Barcode => AuthCode::new(Field::AuthCode, "6901234567892").unwrap_or_default(),
                    Scanned::PaymentCode(n) => {
                        AuthCode::new(Field::AuthCode, self.code_text(FaceCodeType::Micropay, *n).as_str())
                            .unwrap_or_default()
                    }
                },
            }),
            SdkReply::UserInfo { id, status, identified } => Event::Sdk(SdkEvent::UserInfo {
                id: *id,
                status: status.full(),
                user: if *identified {
                    UserInfo {
                        openid: OpenId::new(Field::Openid, MODEL_OPENID).unwrap_or_default(),
                        ..UserInfo::default()
                    }
                } else {
                    UserInfo::default()
                },
            }),
            SdkReply::PayResultUpdated { id, status } => Event::Sdk(SdkEvent::PayResultUpdated {
                id: *id,
                status: status.full(),
            }),
            SdkReply::Released { id, status } => Event::Sdk(SdkEvent::Released {
                id: *id,
                status: status.full(),
            }),
        }
    }
}

/// The face app checks the authinfo's expiry against the terminal's own clock, so a
/// terminal clock far ahead of WeChat's sees 271382020 (docs/protocol.md §sdk-err-codes, §pitfalls).
fn authinfo_expired(authinfo: &str, terminal_ms: u64) -> bool {
    // The number after the last '-'. Found by a plain byte scan: this runs on every scan
    // and lookup, and `rsplit`'s searcher cost more than the rest of the call.
    let start = authinfo.bytes().rposition(|c| c == b'-').map_or(0, |i| i + 1);
    match authinfo.get(start..).and_then(|s| s.parse::<u64>().ok()) {
        Some(expires_at) => terminal_ms >= expires_at,
        None => true,
    }
}

/// The AAR's fallback answer for a call on an unbound service.
fn fallback(id: RequestId, call: &SdkCall, status: Status) -> Option<SdkReply> {
    Some(match call {
        SdkCall::InitWxpayface(_) => SdkReply::Initialised { id, status },
        SdkCall::GetWxpayfaceRawdata => SdkReply::Rawdata { id, status, ok: false },
        SdkCall::GetWxpayfaceCode(_) => SdkReply::FaceCode { id, status, code: None },
        SdkCall::GetWxpayfaceUserInfo(_) => SdkReply::UserInfo {
            id,
            status,
            identified: false,
        },
        SdkCall::StartCodeScanner => SdkReply::CodeScanned {
            id,
            status,
            code: Scanned::Nothing,
        },
        SdkCall::UpdateWxpayfacePayResult(_) => SdkReply::PayResultUpdated { id, status },
        SdkCall::ReleaseWxpayface => SdkReply::Released { id, status },
        SdkCall::StopCodeScanner | SdkCall::StopWxpayface { .. } => return None,
    })
}

#[cfg(test)]
mod tests;
