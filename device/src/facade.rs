//! The seed-compatible facade: the ten operations of the APICloud `wxFacePay` module,
//! answered with the module's shapes (`{status: true, ...}` / `{status: false, errorCode,
//! msg}`), while the machine keeps deciding. This module is the JNI-free bookkeeping: which
//! facade calls wait for what, and what each answer says. It sees every step of the session
//! (input, commands, resulting state) and returns the answers that became due.

use facepay_fsm::codes::SdkReturnCode;
use facepay_fsm::{
    BackendEvent, Command, Conclusion, DiagnosticKind, Event, Notice, Outcome, Reason, Refusal, SdkCallKind, SdkEvent,
    StateId,
};

/// A value in an answer map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string.
    Str(String),
    /// A boolean (`status`).
    Bool(bool),
}

/// One answer: keys in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer(pub Vec<(&'static str, Value)>);

impl Answer {
    /// `{status: true}`.
    pub fn ok() -> Self {
        Answer(vec![("status", Value::Bool(true))])
    }

    /// `{status: false, errorCode, msg}`.
    pub fn err(code: &str, msg: &str) -> Self {
        Answer(vec![
            ("status", Value::Bool(false)),
            ("errorCode", Value::Str(code.to_owned())),
            ("msg", Value::Str(msg.to_owned())),
        ])
    }

    fn with(mut self, key: &'static str, v: &str) -> Self {
        self.0.push((key, Value::Str(v.to_owned())));
        self
    }

    /// `status`.
    pub fn status(&self) -> bool {
        self.0.iter().any(|(k, v)| *k == "status" && *v == Value::Bool(true))
    }

    /// A string value by key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| *k == key).and_then(|(_, v)| match v {
            Value::Str(s) => Some(s.as_str()),
            Value::Bool(_) => None,
        })
    }
}

/// The facade's operations, by their module names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `initWxpayface` (sends `Start`).
    Init,
    /// `getWxpayfaceRawdata`: the rawdata the machine fetched.
    Rawdata,
    /// `getWxpayFaceAuthInfo`: the authinfo the machine fetched through the host backend.
    AuthInfo,
    /// `getWxpayfaceUserInfo` (sends `IdentifyUser`).
    UserInfo,
    /// `getWxpayfaceCode` (sends `StartOrder`); the machine then submits by itself.
    Code {
        /// The order.
        out_trade_no: String,
    },
    /// `micropay`: the concluded outcome of the current order.
    Micropay {
        /// The order named by the caller (empty: the current one).
        out_trade_no: String,
    },
    /// `orderquery`: the order's state through the machine's rules.
    OrderQuery {
        /// The order named by the caller (empty: the current one).
        out_trade_no: String,
    },
    /// `reverse`: what the machine's reverse rules made of the order.
    Reverse {
        /// The order named by the caller (empty: the current one).
        out_trade_no: String,
    },
    /// `updateWxpayfacePayResult`: the machine reports by itself; this checks agreement.
    UpdatePayResult {
        /// `payresult` as the caller gave it.
        payresult: String,
    },
    /// `releaseWxpayface` (sends `Release`).
    Release,
}

impl Op {
    /// True for the operations that send an app event to the machine.
    pub fn sends_app_event(&self) -> bool {
        matches!(self, Op::Init | Op::UserInfo | Op::Code { .. } | Op::Release)
    }
}

/// The `errorCode` of a refusal.
pub fn refusal_code(r: Refusal) -> &'static str {
    match r {
        Refusal::NotStarted => "NOT_STARTED",
        Refusal::AlreadyStarted => "ALREADY_STARTED",
        Refusal::Busy => "BUSY",
        Refusal::Settling => "SETTLING",
        Refusal::NothingToCancel => "NOTHING_TO_CANCEL",
        Refusal::NotAuthorised => "NOT_AUTHORISED",
        Refusal::Released => "RELEASED",
        Refusal::OrderAlreadySubmitted => "DUPLICATE_OUT_TRADE_NO",
    }
}

fn outcome_code(o: Outcome) -> &'static str {
    match o {
        Outcome::Paid => "PAID",
        Outcome::NotPaid => "NOT_PAID",
        Outcome::Reversed => "REVERSED",
        Outcome::NeedsReconciliation => "NEEDS_RECONCILIATION",
    }
}

/// Token of a waiting facade call (the Java side's callback number).
pub type Token = u64;

/// The facade's memory of the session.
#[derive(Debug, Default)]
pub struct Facade {
    waiting: Vec<(Token, Op)>,
    rawdata: Option<String>,
    authinfo: Option<(String, u32)>,
    order: Option<String>,
    concluded: Option<Conclusion>,
}

impl Facade {
    /// The session continues `out_trade_no` from the journal (after a restart): micropay,
    /// orderquery and reverse act on it and answer once it concludes.
    pub fn resume(&mut self, out_trade_no: String) {
        self.order = Some(out_trade_no);
        self.concluded = None;
    }

    /// A facade call that does not go to the machine: answered now from what the facade
    /// has seen, or parked until the session gets there.
    pub fn ask(&mut self, token: Token, op: Op, state: StateId) -> Option<Answer> {
        match &op {
            Op::Rawdata => {
                if let Some(r) = &self.rawdata {
                    return Some(Answer::ok().with("rawdata", r));
                }
                if state.is_offline() || matches!(state, StateId::Released | StateId::Releasing) {
                    return Some(Answer::err("NOT_STARTED", "call initWxpayface first"));
                }
            }
            Op::AuthInfo => {
                if let Some((a, exp)) = &self.authinfo {
                    return Some(Answer::ok().with("authinfo", a).with("expires_in", &exp.to_string()));
                }
                if state.is_offline() || matches!(state, StateId::Released | StateId::Releasing) {
                    return Some(Answer::err("NOT_STARTED", "call initWxpayface first"));
                }
            }
            Op::Micropay { out_trade_no } | Op::OrderQuery { out_trade_no } | Op::Reverse { out_trade_no } => {
                let Some(order) = self.order.clone() else {
                    return Some(Answer::err(
                        "ORDER_NOT_FOUND",
                        "no order was started with getWxpayfaceCode",
                    ));
                };
                if !out_trade_no.is_empty() && *out_trade_no != order {
                    return Some(Answer::err("ORDER_NOT_FOUND", "out_trade_no is not the current order"));
                }
                if matches!(op, Op::Micropay { .. })
                    && self.waiting.iter().any(|(_, w)| matches!(w, Op::Micropay { .. }))
                {
                    return Some(Answer::err(
                        "DUPLICATE_SUBMIT",
                        "micropay for this order is already waiting",
                    ));
                }
                if let Some(c) = self.concluded.as_ref().filter(|c| c.out_trade_no.as_str() == order) {
                    return Some(order_answer(&op, c));
                }
            }
            Op::UpdatePayResult { payresult } => {
                if let Some(c) = &self.concluded {
                    let paid = c.outcome == Outcome::Paid;
                    if (payresult == "SUCCESS") != paid {
                        return Some(Answer::err(
                            "PAYRESULT_MISMATCH",
                            &format!("the order concluded {}; payresult {payresult} disagrees", c.outcome),
                        ));
                    }
                }
                if !state.in_order() {
                    return Some(Answer::ok());
                }
            }
            Op::Init | Op::UserInfo | Op::Code { .. } | Op::Release => {}
        }
        self.waiting.push((token, op));
        None
    }

    /// One step of the session: `origin` is the facade call whose app event this step
    /// handled, `input` the event, `commands` what the machine emitted, `state` where it is
    /// now. Returns the answers that became due, in order.
    pub fn observe(
        &mut self,
        origin: Option<(Token, Op)>,
        input: Option<&Event>,
        commands: &[Command],
        state: StateId,
    ) -> Vec<(Token, Answer)> {
        let mut out = Vec::new();
        if let Some((token, op)) = origin {
            let refused = commands.iter().find_map(|c| match c {
                Command::Diagnostic(d) => match d.kind {
                    DiagnosticKind::Refused(r) => Some(Answer::err(refusal_code(r), &r.to_string())),
                    DiagnosticKind::InvalidRequest(e) => Some(Answer::err("PARAM_ERROR", &e.to_string())),
                    _ => None,
                },
                _ => None,
            });
            match refused {
                Some(a) => out.push((token, a)),
                None => {
                    if let Op::Code { out_trade_no } = &op {
                        self.order = Some(out_trade_no.clone());
                        self.concluded = None;
                    }
                    self.waiting.push((token, op));
                }
            }
        }
        let stale = commands
            .iter()
            .any(|c| matches!(c, Command::Diagnostic(d) if matches!(d.kind, DiagnosticKind::StaleAnswer(_))));
        if let Some(ev) = input.filter(|_| !stale) {
            self.input(ev, &mut out);
        }
        for c in commands {
            if let Command::Notify(n) = c {
                self.notice(n, &mut out);
            }
        }
        if !state.in_order() {
            self.answer_all(&mut out, |op| matches!(op, Op::UpdatePayResult { .. }).then(Answer::ok));
        }
        out
    }

    fn answer_all(&mut self, out: &mut Vec<(Token, Answer)>, mut f: impl FnMut(&Op) -> Option<Answer>) {
        let mut keep = Vec::new();
        for (t, op) in self.waiting.drain(..) {
            match f(&op) {
                Some(a) => out.push((t, a)),
                None => keep.push((t, op)),
            }
        }
        self.waiting = keep;
    }

    fn input(&mut self, ev: &Event, out: &mut Vec<(Token, Answer)>) {
        match ev {
            Event::Sdk(SdkEvent::Rawdata { status, rawdata, .. }) => {
                let a = if status.return_code == SdkReturnCode::Success {
                    self.rawdata = Some(rawdata.to_string());
                    Answer::ok().with("rawdata", rawdata)
                } else {
                    Answer::err(status.return_code.as_str(), &status.return_msg)
                };
                self.answer_all(out, |op| (*op == Op::Rawdata).then(|| a.clone()));
            }
            Event::Backend(BackendEvent::AuthInfo { answer: Ok(a), .. })
                if a.return_code == facepay_fsm::codes::ReturnCode::Success =>
            {
                self.authinfo = Some((a.authinfo.to_string(), a.expires_in));
                let ans = Answer::ok()
                    .with("authinfo", &a.authinfo)
                    .with("expires_in", &a.expires_in.to_string());
                self.answer_all(out, |op| (*op == Op::AuthInfo).then(|| ans.clone()));
            }
            Event::Sdk(SdkEvent::FaceCode { status, answer, .. }) => {
                let a = if status.return_code == SdkReturnCode::Success && !answer.face_code.is_empty() {
                    Answer::ok()
                        .with("face_code", &answer.face_code)
                        .with("openid", &answer.openid)
                        .with("sub_openid", &answer.sub_openid)
                        .with("telephone_used", if answer.telephone_used { "1" } else { "0" })
                        .with("underage_state", &answer.underage_state.to_string())
                } else if status.return_code == SdkReturnCode::ScanPayment {
                    // The machine moves on to the code scanner: the face step has no code.
                    Answer::err("SCAN_PAYMENT", "the user chose to pay with a payment code")
                } else {
                    Answer::err(status.return_code.as_str(), &status.return_msg)
                };
                self.answer_all(out, |op| matches!(op, Op::Code { .. }).then(|| a.clone()));
            }
            Event::Sdk(SdkEvent::Unreadable { call, error, .. }) => {
                let a = Answer::err("UNREADABLE_ANSWER", &error.to_string());
                let call = *call;
                self.answer_all(out, |op| {
                    let hit = match op {
                        Op::Rawdata => call == SdkCallKind::GetWxpayfaceRawdata,
                        Op::Code { .. } => call == SdkCallKind::GetWxpayfaceCode,
                        _ => false,
                    };
                    hit.then(|| a.clone())
                });
            }
            _ => {}
        }
    }

    fn notice(&mut self, n: &Notice, out: &mut Vec<(Token, Answer)>) {
        match n {
            Notice::Ready => self.answer_all(out, |op| (*op == Op::Init).then(Answer::ok)),
            Notice::SdkUnavailable => self.answer_all(out, |op| {
                (*op == Op::Init).then(|| Answer::err("SDK_UNAVAILABLE", "the face service could not be started"))
            }),
            Notice::UserIdentified(u) => {
                let a = Answer::ok()
                    .with("openid", &u.openid)
                    .with("sub_openid", &u.sub_openid)
                    .with("nickname", &u.nickname);
                self.answer_all(out, |op| (*op == Op::UserInfo).then(|| a.clone()));
            }
            Notice::JournalUnreadable => {}
            Notice::UserNotIdentified => self.answer_all(out, |op| {
                (*op == Op::UserInfo).then(|| Answer::err("USER_NOT_IDENTIFIED", "no member was recognised"))
            }),
            Notice::Released => {
                self.rawdata = None;
                self.authinfo = None;
                self.answer_all(out, |op| (*op == Op::Release).then(Answer::ok));
                // Anything still waiting will never be answered by this session.
                self.answer_all(out, |_| Some(Answer::err("RELEASED", "the face service was released")));
            }
            Notice::OrderConcluded(c) => {
                self.concluded = Some(c.clone());
                let c = c.clone();
                self.answer_all(out, |op| match op {
                    Op::Code { .. } => Some(Answer::err(outcome_code(c.outcome), &reason_text(&c.reason))),
                    Op::Micropay { .. } | Op::OrderQuery { .. } | Op::Reverse { .. } => Some(order_answer(op, &c)),
                    _ => None,
                });
            }
        }
    }
}

fn reason_text(r: &Reason) -> String {
    format!("{r:?}")
}

fn trade_state(c: &Conclusion) -> String {
    match (&c.outcome, &c.reason) {
        (Outcome::Paid, _) => "SUCCESS".to_owned(),
        (Outcome::Reversed, _) => "REVOKED".to_owned(),
        (_, Reason::TradeState(s)) => s.as_str().to_owned(),
        (_, Reason::Declined(_)) => "PAYERROR".to_owned(),
        _ => "NOTPAY".to_owned(),
    }
}

/// The answer to micropay / orderquery / reverse for a concluded order.
fn order_answer(op: &Op, c: &Conclusion) -> Answer {
    let base = |a: Answer| {
        a.with("out_trade_no", &c.out_trade_no)
            .with("outcome", &c.outcome.to_string())
            .with("transaction_id", &c.transaction_id)
    };
    let msg = reason_text(&c.reason);
    match (op, c.outcome) {
        (_, Outcome::NeedsReconciliation) => base(Answer::err("NEEDS_RECONCILIATION", &msg)),
        (Op::Micropay { .. }, Outcome::Paid) => base(Answer::ok().with("result_code", "SUCCESS")),
        (Op::Micropay { .. }, o) => base(Answer::err(outcome_code(o), &msg)),
        (Op::OrderQuery { .. }, _) => base(Answer::ok().with("trade_state", &trade_state(c))),
        (Op::Reverse { .. }, Outcome::Paid) => base(Answer::err(
            "ORDER_PAID",
            "the order is paid; a refund is outside the face-pay session",
        )),
        (_, _) => base(Answer::ok().with("recall", "N")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facepay_fsm::{Diagnostic, Field, Text};

    fn concluded(outcome: Outcome) -> Command {
        Command::Notify(Notice::OrderConcluded(Conclusion {
            out_trade_no: Text::new(Field::OutTradeNo, "T1").unwrap(),
            outcome,
            reason: Reason::ReverseConfirmed,
            transaction_id: Text::empty(),
        }))
    }

    #[test]
    fn a_refusal_right_after_the_call_answers_it() {
        let mut f = Facade::default();
        let refusal = Command::Diagnostic(Diagnostic {
            kind: DiagnosticKind::Refused(Refusal::Settling),
            state: StateId::Querying,
        });
        let out = f.observe(Some((1, Op::Release)), None, &[refusal], StateId::Querying);
        assert_eq!(out, vec![(1, Answer::err("SETTLING", &Refusal::Settling.to_string()))]);
    }

    #[test]
    fn micropay_waits_for_the_conclusion_and_reverse_reads_it() {
        let mut f = Facade::default();
        let code = Op::Code {
            out_trade_no: "T1".into(),
        };
        assert!(f.observe(Some((1, code)), None, &[], StateId::ScanningFace).is_empty());
        assert_eq!(
            f.ask(
                2,
                Op::Micropay {
                    out_trade_no: "T1".into()
                },
                StateId::Querying
            ),
            None
        );
        assert_eq!(
            f.ask(
                3,
                Op::Micropay {
                    out_trade_no: String::new()
                },
                StateId::Querying
            )
            .map(|a| a.get("errorCode").map(str::to_owned)),
            Some(Some("DUPLICATE_SUBMIT".into()))
        );
        let out = f.observe(None, None, &[concluded(Outcome::Reversed)], StateId::Idle);
        let codes: Vec<_> = out
            .iter()
            .map(|(t, a)| (*t, a.status(), a.get("errorCode").map(str::to_owned)))
            .collect();
        assert_eq!(
            codes,
            vec![(1, false, Some("REVERSED".into())), (2, false, Some("REVERSED".into()))]
        );
        let r = f
            .ask(
                4,
                Op::Reverse {
                    out_trade_no: "T1".into(),
                },
                StateId::Idle,
            )
            .unwrap();
        assert!(r.status());
        assert_eq!(r.get("recall"), Some("N"));
        let q = f
            .ask(
                5,
                Op::OrderQuery {
                    out_trade_no: "T1".into(),
                },
                StateId::Idle,
            )
            .unwrap();
        assert_eq!(q.get("trade_state"), Some("REVOKED"));
        let u = f
            .ask(
                6,
                Op::UpdatePayResult {
                    payresult: "SUCCESS".into(),
                },
                StateId::Idle,
            )
            .unwrap();
        assert_eq!(u.get("errorCode"), Some("PAYRESULT_MISMATCH"));
        assert_eq!(
            f.ask(
                7,
                Op::Micropay {
                    out_trade_no: "T9".into()
                },
                StateId::Idle
            )
            .unwrap()
            .get("errorCode"),
            Some("ORDER_NOT_FOUND")
        );
    }
}
