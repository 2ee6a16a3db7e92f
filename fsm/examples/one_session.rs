//! Drives one face-pay session through an ambiguous submit and prints its transcript:
//! `cargo run -p facepay-fsm --example one_session`
//!
//! The "host" here is a script: it answers each call the session makes, and fires timers
//! at their deadlines. `<-` lines are inputs (with the state after them), `->` lines are
//! the commands the session asked for.

use facepay_fsm::codes::{PayErrCode, ResultCode, ReturnCode, TradeState};
use facepay_fsm::*;

struct Host {
    s: Session,
    now: u64,
    last_id: RequestId,
}

impl Host {
    /// Fires the timers due up to `t`, then feeds `e` (if any) at `t`.
    fn step(&mut self, t: u64, e: Option<Event>) {
        while let Some((timer, at)) = self.s.next_timer() {
            if at.0 > t {
                break;
            }
            self.now = at.0.max(self.now);
            self.s.handle_timeout(Instant(self.now)).expect("drained");
            self.print(&format!("timer {timer:?}"));
        }
        self.now = t;
        if let Some(e) = e {
            self.s.handle(Instant(t), &e).expect("drained");
            self.print(&input(&e));
        }
    }

    fn print(&mut self, input: &str) {
        println!(
            "{:>9}  <- {input}  => {:?}",
            Instant(self.now).to_string(),
            self.s.state()
        );
        while let Some(c) = self.s.poll_command() {
            if let Command::Sdk { id, .. } | Command::Backend { id, .. } = &c {
                self.last_id = *id;
            }
            println!("{:>9}  -> {}", Instant(self.now).to_string(), output(&c));
        }
    }
}

fn input(e: &Event) -> String {
    match e {
        Event::App(AppEvent::Start { .. }) => "app Start".into(),
        Event::App(AppEvent::StartOrder(o)) => format!("app StartOrder {} ({} fen)", o.out_trade_no, o.total_fee),
        Event::App(a) => format!("app {a:?}"),
        Event::Sdk(SdkEvent::Initialised { id, status }) => format!("sdk {id} initWxpayface {}", status.return_code),
        Event::Sdk(SdkEvent::Rawdata { id, status, .. }) => format!("sdk {id} rawdata {}", status.return_code),
        Event::Sdk(SdkEvent::FaceCode { id, status, answer }) => {
            format!(
                "sdk {id} getWxpayfaceCode {} face_code={}",
                status.return_code, answer.face_code
            )
        }
        Event::Sdk(other) => format!("sdk {other:?}"),
        Event::Backend(BackendEvent::AuthInfo { id, answer }) => {
            format!("backend {id} authinfo {:?}", answer.as_ref().map(|a| a.expires_in))
        }
        Event::Backend(BackendEvent::Submitted { id, answer }) => match answer {
            Ok(a) => format!(
                "backend {id} submit {}/{:?} {:?}",
                a.return_code, a.result_code, a.err_code
            ),
            Err(e) => format!("backend {id} submit: no answer ({e:?})"),
        },
        Event::Backend(BackendEvent::Queried { id, answer }) => match answer {
            Ok(a) => format!("backend {id} query trade_state={:?}", a.trade_state),
            Err(e) => format!("backend {id} query: no answer ({e:?})"),
        },
        Event::Backend(other) => format!("backend {other:?}"),
    }
}

fn output(c: &Command) -> String {
    match c {
        Command::Sdk { id, call } => format!("sdk {id} {}", call.kind().method()),
        Command::Backend { id, call } => match call {
            BackendCall::GetAuthInfo { .. } => format!("backend {id} get_wxpayface_authinfo"),
            BackendCall::Submit {
                api,
                out_trade_no,
                total_fee,
                ..
            } => {
                format!("backend {id} {} {out_trade_no} {total_fee} fen", api.submit_path())
            }
            BackendCall::Query { api, out_trade_no } => format!("backend {id} {} {out_trade_no}", api.query_path()),
            BackendCall::Reverse {
                api,
                out_trade_no,
                attempt,
            } => {
                format!("backend {id} {} {out_trade_no} attempt {attempt}", api.reverse_path())
            }
        },
        Command::Notify(Notice::OrderConcluded(k)) => {
            format!(
                "notify {}: {} ({:?}) {}",
                k.out_trade_no, k.outcome, k.reason, k.transaction_id
            )
        }
        Command::Notify(n) => format!("notify {n:?}"),
        Command::Diagnostic(d) => format!("diagnostic {:?} in {:?}", d.kind, d.state),
        Command::Persist(r) => format!(
            "persist {} {:?} (write before the next command)",
            r.out_trade_no, r.phase
        ),
    }
}

fn text<T>(r: Result<T, FieldError>) -> T {
    r.expect("the example's values fit")
}

fn main() {
    let mut h = Host {
        s: Session::new(Policy::default()),
        now: 0,
        last_id: RequestId(0),
    };
    let merchant = Merchant {
        appid: text(Text::new(Field::Appid, "wx2421b1c4370ec43b")),
        mch_id: text(Text::new(Field::MchId, "10000100")),
        ..Merchant::default()
    };
    h.step(
        0,
        Some(Event::App(AppEvent::Start {
            init: InitParams::default(),
            merchant,
        })),
    );
    let id = h.last_id;
    h.step(
        100,
        Some(Event::Sdk(SdkEvent::Initialised {
            id,
            status: SdkStatus::success(),
        })),
    );
    h.step(100, None); // the first authinfo fetch is due at once
    let id = h.last_id;
    let rawdata = text(Text::new(Field::Rawdata, "RAW"));
    h.step(
        200,
        Some(Event::Sdk(SdkEvent::Rawdata {
            id,
            status: SdkStatus::success(),
            rawdata,
        })),
    );
    let answer = Ok(AuthInfoAnswer {
        return_code: ReturnCode::Success,
        return_msg: Message::empty(),
        authinfo: text(Text::new(Field::Authinfo, "AUTH")),
        expires_in: 3600,
    });
    let id = h.last_id;
    h.step(300, Some(Event::Backend(BackendEvent::AuthInfo { id, answer })));
    let order = OrderRequest::new(text(Text::new(Field::OutTradeNo, "T1")), 100, FaceCodeType::Micropay);
    h.step(1_000, Some(Event::App(AppEvent::StartOrder(order))));
    let answer = FaceCodeAnswer {
        face_code: text(Text::new(Field::FaceCode, "134567890123456789")),
        ..FaceCodeAnswer::default()
    };
    let id = h.last_id;
    h.step(
        5_000,
        Some(Event::Sdk(SdkEvent::FaceCode {
            id,
            status: SdkStatus::success(),
            answer,
        })),
    );
    // The customer must enter a password: USERPAYING is ambiguous, so the session queries.
    let answer = Ok(PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(PayErrCode::UserPaying),
        transaction_id: TransactionId::empty(),
    });
    let id = h.last_id;
    h.step(5_500, Some(Event::Backend(BackendEvent::Submitted { id, answer })));
    h.step(10_500, None); // the first query, 5 s later
    let answer = Ok(QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        trade_state: Some(TradeState::Success),
        transaction_id: text(Text::new(Field::TransactionId, "4200000000000000001")),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    });
    let id = h.last_id;
    h.step(10_700, Some(Event::Backend(BackendEvent::Queried { id, answer })));
}
