//! `Session::poll_command_with` (lent) and `Session::poll_command` (by value) build each
//! command on separate paths; two sessions fed the same inputs, one drained each way,
//! must see the same commands, and the data-carrying notices must carry the session's
//! data (issue 17: `lend_notice`'s guard, `materialize`). Public API only.

mod common;

use common::*;
use facepay_fsm::codes::{PayErrCode, ResultCode, ReverseErrCode, SdkReturnCode, TradeState};
use facepay_fsm::*;

/// Two sessions in lockstep: `lent` is drained with `poll_command_with`, `owned` with
/// `poll_command`; every step's commands must agree.
struct Twin {
    lent: Session,
    owned: Session,
    now: u64,
    all: Vec<Command>,
}

impl Twin {
    fn new(policy: Policy) -> Twin {
        Twin {
            lent: Session::new(policy),
            owned: Session::new(policy),
            now: 0,
            all: Vec::new(),
        }
    }

    fn drain(&mut self) -> Vec<Command> {
        let mut a = Vec::new();
        while let Some(c) = self.lent.poll_command_with(Command::clone) {
            a.push(c);
        }
        let mut b = Vec::new();
        while let Some(c) = self.owned.poll_command() {
            b.push(c);
        }
        assert_eq!(a, b, "lent and owned commands differ at {} ms", self.now);
        assert_eq!(self.lent.state(), self.owned.state());
        self.all.extend(a.iter().cloned());
        a
    }

    fn ev(&mut self, at: u64, e: Event) -> Vec<Command> {
        self.now = at;
        self.lent.handle(Instant(at), &e).unwrap();
        self.owned.handle(Instant(at), &e).unwrap();
        self.drain()
    }

    /// Fires every timer due up to `t`.
    fn at(&mut self, t: u64) -> Vec<Command> {
        let mut out = Vec::new();
        while let Some(at) = self.lent.poll_timeout().filter(|at| at.0 <= t) {
            assert_eq!(self.owned.poll_timeout(), Some(at));
            self.now = at.0;
            self.lent.handle_timeout(at).unwrap();
            self.owned.handle_timeout(at).unwrap();
            out.extend(self.drain());
        }
        self.now = self.now.max(t);
        out
    }

    /// Fires timers until a backend call is open; returns its id and the time.
    fn next_backend_call(&mut self) -> (RequestId, u64) {
        while self.lent.waiting_on().backend.is_none() {
            let at = self.lent.poll_timeout().expect("a timer").0;
            self.at(at);
        }
        (self.backend_id(), self.now)
    }

    fn sdk_id(&self) -> RequestId {
        self.lent.waiting_on().sdk.expect("an open SDK call").0
    }

    fn backend_id(&self) -> RequestId {
        self.lent.waiting_on().backend.expect("an open backend call").0
    }

    fn idle(policy: Policy) -> Twin {
        let mut t = Twin::new(policy);
        t.ev(
            0,
            Event::App(AppEvent::Start {
                init: InitParams::default(),
                merchant: merchant(),
            }),
        );
        let id = t.sdk_id();
        t.ev(
            100,
            Event::Sdk(SdkEvent::Initialised {
                id,
                status: SdkStatus::success(),
            }),
        );
        t.at(100);
        let id = t.sdk_id();
        t.ev(
            200,
            Event::Sdk(SdkEvent::Rawdata {
                id,
                status: SdkStatus::success(),
                rawdata: ok(Text::new(Field::Rawdata, "RAW")),
            }),
        );
        let id = t.backend_id();
        t.ev(
            300,
            Event::Backend(BackendEvent::AuthInfo {
                id,
                answer: Ok(AuthInfoAnswer {
                    return_code: codes::ReturnCode::Success,
                    return_msg: Message::empty(),
                    authinfo: ok(Text::new(Field::Authinfo, "AUTH")),
                    expires_in: 3600,
                }),
            }),
        );
        assert_eq!(t.lent.state(), StateId::Idle);
        t
    }
}

fn member() -> UserInfo {
    UserInfo {
        openid: ok(Text::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")),
        nickname: ok(Text::new(Field::Nickname, "张三")),
        ..UserInfo::default()
    }
}

fn identify() -> Event {
    Event::App(AppEvent::IdentifyUser(member_lookup(FaceAuthType::FaceidOnce)))
}

#[test]
fn an_identified_member_is_notified_with_the_member_either_way() {
    let mut t = Twin::idle(Policy::default());
    t.ev(1_000, identify());
    let id = t.sdk_id();
    let out = t.ev(
        2_000,
        Event::Sdk(SdkEvent::UserInfo {
            id,
            status: SdkStatus::success(),
            user: member(),
        }),
    );
    assert_eq!(out, vec![Command::Notify(Notice::UserIdentified(member()))]);
    // Not identified: a notice without data.
    t.ev(3_000, identify());
    let id = t.sdk_id();
    let out = t.ev(
        4_000,
        Event::Sdk(SdkEvent::UserInfo {
            id,
            status: SdkStatus::code(SdkReturnCode::Error),
            user: UserInfo::default(),
        }),
    );
    assert_eq!(out, vec![Command::Notify(Notice::UserNotIdentified)]);
}

#[test]
fn a_paid_order_and_its_report_are_the_same_either_way() {
    let old_sdk = Policy::new(PolicySettings {
        sdk_version: SdkVersion { major: 2, minor: 12 },
        ..PolicySettings::default()
    })
    .unwrap();
    let mut t = Twin::idle(old_sdk);
    t.ev(
        1_000,
        Event::App(AppEvent::StartOrder(order("T1", 100, FaceCodeType::Facepay))),
    );
    let id = t.sdk_id();
    t.ev(
        2_000,
        Event::Sdk(SdkEvent::FaceCode {
            id,
            status: SdkStatus::success(),
            answer: FaceCodeAnswer {
                face_code: ok(Text::new(Field::FaceCode, FACE_CODE)),
                openid: member().openid,
                ..FaceCodeAnswer::default()
            },
        }),
    );
    let id = t.backend_id();
    let out = t.ev(
        2_500,
        Event::Backend(BackendEvent::Submitted {
            id,
            answer: Ok(pay_success()),
        }),
    );
    let concluded = out.iter().find_map(|c| match c {
        Command::Notify(Notice::OrderConcluded(k)) => Some(k.clone()),
        _ => None,
    });
    let k = concluded.expect("concluded");
    assert_eq!(k.outcome, Outcome::Paid);
    assert_eq!(k.out_trade_no.as_str(), "T1");
    assert_eq!(k.transaction_id, pay_success().transaction_id);
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Sdk {
            call: SdkCall::UpdateWxpayfacePayResult(PayResultCall {
                payresult: PayResult::Success,
                ..
            }),
            ..
        }
    )));
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Persist(r) if r.phase == JournalPhase::Concluded(Outcome::Paid) && r.api == PayApi::Facepay
    )));
}

#[test]
fn settling_to_a_reverse_is_the_same_either_way() {
    let mut t = Twin::idle(Policy::default());
    t.ev(
        1_000,
        Event::App(AppEvent::StartOrder(order("T1", 100, FaceCodeType::Micropay))),
    );
    let id = t.sdk_id();
    t.ev(
        2_000,
        Event::Sdk(SdkEvent::FaceCode {
            id,
            status: SdkStatus::success(),
            answer: FaceCodeAnswer {
                face_code: ok(Text::new(Field::FaceCode, PAY_CODE)),
                ..FaceCodeAnswer::default()
            },
        }),
    );
    let id = t.backend_id();
    t.ev(
        2_100,
        Event::Backend(BackendEvent::Submitted {
            id,
            answer: Ok(pay_error(PayErrCode::SystemError)),
        }),
    );
    let mut at = 2_100;
    while t.lent.state() == StateId::Querying {
        at += 1_000;
        t.at(at);
        if let Some((id, BackendCallKind::Query)) = t.lent.waiting_on().backend {
            t.ev(
                at,
                Event::Backend(BackendEvent::Queried {
                    id,
                    answer: Ok(query(TradeState::NotPay)),
                }),
            );
        }
    }
    let (id, at) = t.next_backend_call();
    let out = t.ev(
        at + 1,
        Event::Backend(BackendEvent::Reversed {
            id,
            answer: Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::UserPaying))),
        }),
    );
    assert!(out.is_empty(), "{out:?}");
    let (id, at) = t.next_backend_call();
    let out = t.ev(
        at + 1,
        Event::Backend(BackendEvent::Reversed {
            id,
            answer: Ok(reverse(ResultCode::Success, Some(codes::Recall::N), None)),
        }),
    );
    assert!(out.contains(&Command::Notify(Notice::OrderConcluded(Conclusion {
        out_trade_no: ok(Text::new(Field::OutTradeNo, "T1")),
        outcome: Outcome::Reversed,
        reason: Reason::ReverseConfirmed,
        transaction_id: TransactionId::empty(),
    }))));
    // Every kind of command went through both paths.
    let kinds = |pick: fn(&Command) -> bool| t.all.iter().filter(|c| pick(c)).count();
    assert!(
        kinds(|c| matches!(
            c,
            Command::Backend {
                call: BackendCall::Query { .. },
                ..
            }
        )) >= 2
    );
    assert_eq!(
        kinds(|c| matches!(
            c,
            Command::Backend {
                call: BackendCall::Reverse { .. },
                ..
            }
        )),
        2
    );
    assert!(kinds(|c| matches!(c, Command::Persist(_))) >= 4);
    // Release and a refusal (a diagnostic) last.
    t.ev(at + 2_000, Event::App(AppEvent::Cancel));
    let out = t.ev(at + 2_000, Event::App(AppEvent::Release));
    assert!(matches!(
        out.as_slice(),
        [Command::Sdk {
            call: SdkCall::ReleaseWxpayface,
            ..
        }]
    ));
}
