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
    /// The transcript, one line each.
    lines: Vec<String>,
}

impl Host {
    /// Fires the timers due up to `t`, then feeds `e` (if any) at `t`.
    fn step(&mut self, t: u64, e: Option<Event>) {
        while let Some(at) = self.s.poll_timeout() {
            if at.0 > t {
                break;
            }
            self.now = at.0.max(self.now);
            // handle_timeout fires every timer due now and says which fired first (None:
            // nothing was due); `print` shows each firing as its own step.
            if let Some(timer) = self.s.handle_timeout(Instant(self.now)).expect("drained") {
                self.print(&format!("timer {}", timer_name(timer)));
            }
        }
        self.now = t;
        if let Some(e) = e {
            self.s.handle(Instant(t), &e).expect("drained");
            self.print(&input(&e));
        }
    }

    /// Prints the step's header and commands. A `handle_timeout` that fires several due
    /// timers is several steps: `poll` marks each (before it fires, so its header is
    /// printed with the state once it has run).
    fn print(&mut self, input: &str) {
        self.header(input);
        let mut fired = None;
        loop {
            let p = self.s.poll();
            if let Some(t) = fired.take() {
                self.header(&format!("timer {}", timer_name(t)));
            }
            match p {
                None => break,
                Some(Polled::Timer(t)) => fired = Some(t),
                Some(Polled::Command(c)) => {
                    if let Command::Sdk { id, .. } | Command::Backend { id, .. } = &c {
                        self.last_id = *id;
                    }
                    self.lines
                        .push(format!("{:>9}  -> {}", Instant(self.now).to_string(), output(&c)));
                }
            }
        }
    }

    fn header(&mut self, input: &str) {
        self.lines.push(format!(
            "{:>9}  <- {input}  => {}",
            Instant(self.now).to_string(),
            self.s.state()
        ));
    }
}

fn timer_name(t: Timer) -> &'static str {
    match t {
        Timer::SdkDeadline => "sdk_deadline",
        Timer::BackendDeadline => "backend_deadline",
        Timer::Wake => "wake",
        Timer::AuthRefresh => "auth_refresh",
    }
}

/// `key=value` for each field present, in wire names (what a log reader greps for).
fn fields(pairs: &[(&str, Option<&dyn std::fmt::Display>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn transport(e: &TransportError) -> String {
    match e {
        TransportError::Timeout => "timeout".into(),
        TransportError::Connection => "connection failed".into(),
        TransportError::HttpStatus(s) => format!("HTTP {s}"),
        TransportError::Unparseable => "unparseable".into(),
    }
}

fn input(e: &Event) -> String {
    match e {
        Event::App(AppEvent::Start { .. }) => "app Start".into(),
        Event::App(AppEvent::StartOrder(o)) => format!("app StartOrder {} ({} fen)", o.out_trade_no, o.total_fee),
        Event::App(_) => "app request".into(),
        Event::Sdk(SdkEvent::Initialised { id, status }) => format!("sdk {id} initWxpayface {}", status.return_code),
        Event::Sdk(SdkEvent::Rawdata { id, status, .. }) => format!("sdk {id} rawdata {}", status.return_code),
        Event::Sdk(SdkEvent::FaceCode { id, status, answer }) => {
            format!(
                "sdk {id} getWxpayfaceCode {} face_code={}",
                status.return_code, answer.face_code
            )
        }
        Event::Sdk(_) => "sdk callback".into(),
        Event::Backend(BackendEvent::AuthInfo { id, answer }) => match answer {
            Ok(a) => format!("backend {id} authinfo {} expires_in={}", a.return_code, a.expires_in),
            Err(e) => format!("backend {id} authinfo: no answer ({})", transport(e)),
        },
        Event::Backend(BackendEvent::Submitted { id, answer }) => match answer {
            Ok(a) => format!(
                "backend {id} submit {}",
                fields(&[
                    ("return_code", Some(&a.return_code)),
                    ("result_code", a.result_code.as_ref().map(|x| x as _)),
                    ("err_code", a.err_code.as_ref().map(|x| x as _)),
                ])
            ),
            Err(e) => format!("backend {id} submit: no answer ({})", transport(e)),
        },
        Event::Backend(BackendEvent::Queried { id, answer }) => match answer {
            Ok(a) => format!(
                "backend {id} query {}",
                fields(&[
                    ("return_code", Some(&a.return_code)),
                    ("trade_state", a.trade_state.as_ref().map(|x| x as _)),
                    ("err_code", a.err_code.as_ref().map(|x| x as _)),
                ])
            ),
            Err(e) => format!("backend {id} query: no answer ({})", transport(e)),
        },
        Event::Backend(_) => "backend answer".into(),
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
                "notify {} concluded: {} ({}) transaction_id={}",
                k.out_trade_no, k.outcome, k.reason, k.transaction_id
            )
        }
        Command::Notify(Notice::Ready) => "notify Ready".into(),
        Command::Notify(_) => "notify".into(),
        Command::Diagnostic(d) => match d.kind {
            DiagnosticKind::Refused(why) => format!("diagnostic: refused ({why}) in {}", d.state),
            _ => format!("diagnostic in {}", d.state),
        },
        Command::Persist(r) => {
            let phase = match r.phase {
                JournalPhase::Submitting => "submitting".to_string(),
                JournalPhase::Querying => "querying".to_string(),
                JournalPhase::Reversing => "reversing".to_string(),
                JournalPhase::Concluded(o) => format!("concluded {o}"),
            };
            format!("persist {} {phase} (write before the next command)", r.out_trade_no)
        }
    }
}

/// Every text type parses from a `&str` (`TryFrom` too); `Text::new(Field::X, ..)` names
/// the field in its error where that matters.
fn text<T: std::str::FromStr<Err = TextTooLong>>(s: &str) -> T {
    s.parse().expect("the example's values fit")
}

fn main() {
    for line in session() {
        println!("{line}");
    }
}

/// Runs the scripted session; returns its transcript.
fn session() -> Vec<String> {
    let mut h = Host {
        s: Session::new(Policy::default()),
        now: 0,
        last_id: RequestId(0),
        lines: Vec::new(),
    };
    let merchant = Merchant {
        appid: text("wx2421b1c4370ec43b"),
        mch_id: text("10000100"),
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
    let rawdata = text("RAW");
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
        authinfo: text("AUTH"),
        expires_in: 3600,
    });
    let id = h.last_id;
    h.step(300, Some(Event::Backend(BackendEvent::AuthInfo { id, answer })));
    let order = OrderRequest::new(text("T1"), 100, FaceCodeType::Micropay);
    h.step(1_000, Some(Event::App(AppEvent::StartOrder(order))));
    let answer = FaceCodeAnswer {
        face_code: text("134567890123456789"),
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
        transaction_id: text("4200000000000000001"),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    });
    let id = h.last_id;
    h.step(10_700, Some(Event::Backend(BackendEvent::Queried { id, answer })));
    h.lines
}

#[cfg(test)]
mod tests {
    /// The transcript reads as protocol text: wire names and values, no Rust `Debug` forms.
    #[test]
    fn the_transcript_has_no_debug_text() {
        let lines = super::session();
        for line in &lines {
            for debug in ["Some(", "None", "Ok(", "Err(", "TradeState(", "Concluded(", "::"] {
                assert!(!line.contains(debug), "`{debug}` in: {line}");
            }
        }
        let text = lines.join("\n");
        for expected in [
            "submit return_code=SUCCESS result_code=FAIL err_code=USERPAYING  => Online/Order/Settling/Querying",
            "query return_code=SUCCESS trade_state=SUCCESS",
            "persist T1 concluded Paid (write before the next command)",
            "notify T1 concluded: Paid (trade_state SUCCESS) transaction_id=4200000000000000001",
            "timer wake",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }
}
