//! A terminal driven through the facade against a scripted face app and backend: each
//! command is answered at once, in WeChat's own formats (serde forms of the fsm's types),
//! or never, as the test says. Time moves only to the next deadline.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};

use facepay_facade::{Answer, FacadeTerminal, Operation, Params, Token, Value};
use facepay_fsm::codes::SdkReturnCode;
use facepay_fsm::{
    AuthInfoAnswer, BackendCall, BackendEvent, Command, Event, FaceCodeAnswer, Field, Instant, Merchant, PayAnswer,
    PayCredential, Policy, PolicySettings, QueryAnswer, ReverseAnswer, SdkCall, SdkEvent, SdkStatus, SdkVersion, Text,
    TransportError,
};

/// How the scripted backend answers one call: an answer map in WeChat's fields, or none.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This JSON (the fsm's serde form of the answer).
    Json(serde_json::Value),
    /// The connection failed.
    Lost,
}

pub fn json(v: serde_json::Value) -> Reply {
    Reply::Json(v)
}

pub struct Rig {
    pub t: FacadeTerminal,
    pub now: u64,
    next_token: Token,
    pub answers: HashMap<Token, Answer>,
    pub log: Vec<Command>,
    events: VecDeque<Event>,
    /// getWxpayfaceCode callbacks, in order (then SUCCESS with FACE<n>).
    pub face: VecDeque<SdkStatus>,
    pub submits: VecDeque<Reply>,
    pub queries: VecDeque<Reply>,
    pub reverses: VecDeque<Reply>,
    pub authinfo_expires_in: u32,
    faces: u32,
}

pub fn policy(sdk_2_12: bool) -> Policy {
    let mut s = PolicySettings::default();
    if sdk_2_12 {
        s.sdk_version = SdkVersion { major: 2, minor: 12 };
    }
    Policy::new(s).unwrap()
}

pub fn merchant() -> Merchant {
    Merchant {
        appid: Text::new(Field::Appid, "wx2421b1c4370ec43b").unwrap(),
        mch_id: Text::new(Field::MchId, "10000100").unwrap(),
        ..Merchant::default()
    }
}

pub fn p(pairs: &[(&str, Value)]) -> Params {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

pub fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

pub fn order(otn: &str, fee: i64) -> Params {
    p(&[
        ("out_trade_no", s(otn)),
        ("total_fee", Value::Num(fee)),
        ("face_authtype", s("FACEPAY")),
    ])
}

impl Rig {
    pub fn new(policy: Policy) -> Self {
        Rig {
            t: FacadeTerminal::new(policy, merchant()),
            now: 0,
            next_token: 1,
            answers: HashMap::new(),
            log: Vec::new(),
            events: VecDeque::new(),
            face: VecDeque::new(),
            submits: VecDeque::new(),
            queries: VecDeque::new(),
            reverses: VecDeque::new(),
            authinfo_expires_in: 7200,
            faces: 0,
        }
    }

    /// Makes a seed call; returns its token.
    pub fn call(&mut self, op: Operation, params: Params) -> Token {
        let token = self.next_token;
        self.next_token += 1;
        self.t.call(Instant(self.now), token, op, &params).unwrap();
        self.pump();
        token
    }

    /// The answer to `token`, if it came.
    pub fn answer(&self, token: Token) -> Option<&Answer> {
        self.answers.get(&token)
    }

    /// Runs until nothing is due before `until` ms.
    pub fn run_until(&mut self, until: u64) {
        loop {
            self.pump();
            match self.t.poll_timeout() {
                Some(at) if at.0 <= until => {
                    self.now = self.now.max(at.0);
                    self.t.handle_timeout(Instant(self.now)).unwrap();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    /// init, then idle with an authinfo.
    pub fn started() -> Self {
        let mut r = Rig::new(policy(false));
        let t = r.call(Operation::InitWxpayface, Vec::new());
        r.run_until(1_000);
        assert!(r.answer(t).unwrap().status(), "{:?}", r.answer(t));
        r
    }

    pub fn count(&self, f: impl Fn(&Command) -> bool) -> usize {
        self.log.iter().filter(|c| f(c)).count()
    }

    fn pump(&mut self) {
        loop {
            while let Some((tok, a)) = self.t.poll_answer() {
                assert!(self.answers.insert(tok, a).is_none(), "call {tok} answered twice");
            }
            while let Some(c) = self.t.poll_command() {
                self.execute(&c);
                self.log.push(c);
            }
            match self.events.pop_front() {
                Some(e) => self.t.handle(Instant(self.now), &e).unwrap(),
                None => {
                    if let Some((tok, a)) = self.t.poll_answer() {
                        self.answers.insert(tok, a);
                        continue;
                    }
                    return;
                }
            }
        }
    }

    fn execute(&mut self, c: &Command) {
        let ev = match c {
            Command::Sdk { id, call } => {
                let id = *id;
                match call {
                    SdkCall::InitWxpayface(_) => Some(SdkEvent::Initialised {
                        id,
                        status: SdkStatus::success(),
                    }),
                    SdkCall::GetWxpayfaceRawdata => Some(SdkEvent::Rawdata {
                        id,
                        status: SdkStatus::success(),
                        rawdata: Text::new(Field::Rawdata, "RAWDATA").unwrap(),
                    }),
                    SdkCall::GetWxpayfaceCode(_) => {
                        let status = self.face.pop_front().unwrap_or_else(SdkStatus::success);
                        self.faces += 1;
                        let answer = if status.return_code == SdkReturnCode::Success {
                            FaceCodeAnswer {
                                face_code: Text::new(Field::FaceCode, &format!("FACE{}", self.faces)).unwrap(),
                                openid: Text::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").unwrap(),
                                underage_state: 1,
                                telephone_used: true,
                                ..FaceCodeAnswer::default()
                            }
                        } else {
                            FaceCodeAnswer::default()
                        };
                        Some(SdkEvent::FaceCode { id, status, answer })
                    }
                    SdkCall::StartCodeScanner => Some(SdkEvent::CodeScanned {
                        id,
                        status: SdkStatus::success(),
                        code: Text::new(Field::AuthCode, "134567890123456789").unwrap(),
                    }),
                    SdkCall::UpdateWxpayfacePayResult(_) => Some(SdkEvent::PayResultUpdated {
                        id,
                        status: SdkStatus::success(),
                    }),
                    SdkCall::ReleaseWxpayface => Some(SdkEvent::Released {
                        id,
                        status: SdkStatus::success(),
                    }),
                    _ => None,
                }
                .map(Event::Sdk)
            }
            Command::Backend { id, call } => {
                let id = *id;
                Some(Event::Backend(match call {
                    BackendCall::GetAuthInfo { .. } => BackendEvent::AuthInfo {
                        id,
                        answer: Ok(AuthInfoAnswer {
                            return_code: facepay_fsm::codes::ReturnCode::Success,
                            return_msg: Text::empty(),
                            authinfo: Text::new(Field::Authinfo, &format!("AUTH@{}", self.now)).unwrap(),
                            expires_in: self.authinfo_expires_in,
                        }),
                    },
                    BackendCall::Submit { credential, .. } => {
                        let _ = matches!(credential, PayCredential::AuthCode(_));
                        let r = self.submits.pop_front().unwrap_or(json(serde_json::json!({
                            "return_code": "SUCCESS", "result_code": "SUCCESS", "transaction_id": "4200000001"
                        })));
                        BackendEvent::Submitted {
                            id,
                            answer: decode::<PayAnswer>(r),
                        }
                    }
                    BackendCall::Query { .. } => {
                        let r = self.queries.pop_front().unwrap_or(Reply::Lost);
                        BackendEvent::Queried {
                            id,
                            answer: decode::<QueryAnswer>(r),
                        }
                    }
                    BackendCall::Reverse { .. } => {
                        let r = self.reverses.pop_front().unwrap_or(Reply::Lost);
                        BackendEvent::Reversed {
                            id,
                            answer: decode::<ReverseAnswer>(r),
                        }
                    }
                }))
            }
            _ => None,
        };
        if let Some(e) = ev {
            self.events.push_back(e);
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(r: Reply) -> Result<T, TransportError> {
    match r {
        Reply::Json(v) => Ok(serde_json::from_value(v).unwrap()),
        Reply::Lost => Err(TransportError::Connection),
    }
}
