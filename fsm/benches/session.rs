//! `cargo bench -p facepay-fsm --bench session`
//!
//! The cost of the chart: a whole happy-path session (init → authorise → order → paid),
//! with its commands taken by value (`poll_command`) or lent (`poll_command_with`), and a
//! single poll cycle, next to a hand-written enum + `match` machine that does the same happy
//! path and builds the same `Command` values (the fair floor for "what does the statig chart
//! cost"). Before the benchmarks it prints `size_of::<Session>()`, the string capacity it
//! holds, and the overhead between them.

use std::hint::black_box;
use std::time::Instant as Clock;

use criterion::{Criterion, criterion_group, criterion_main};
use facepay_fsm::codes::{PayClass, ResultCode, ReturnCode, SdkClass};
use facepay_fsm::*;

// ── inputs ──────────────────────────────────────────────────────────────────────────────

fn text<T>(r: Result<T, FieldError>) -> T {
    r.expect("fits")
}

/// The happy path's inputs, built once. `None` is "fire the due timer".
fn happy_inputs() -> Vec<(u64, Option<Event>)> {
    let merchant = Merchant {
        appid: text(Text::new(Field::Appid, "wx2421b1c4370ec43b")),
        mch_id: text(Text::new(Field::MchId, "10000100")),
        store_id: text(Text::new(Field::StoreId, "S01")),
        ..Merchant::default()
    };
    let ok = SdkStatus::success;
    vec![
        (
            0,
            Some(Event::App(AppEvent::Start {
                init: InitParams::default(),
                merchant,
            })),
        ),
        (
            100,
            Some(Event::Sdk(SdkEvent::Initialised {
                id: RequestId(1),
                status: ok(),
            })),
        ),
        (100, None), // the authinfo refresh, due at once
        (
            200,
            Some(Event::Sdk(SdkEvent::Rawdata {
                id: RequestId(2),
                status: ok(),
                rawdata: text(Text::new(Field::Rawdata, &"R".repeat(1500))),
            })),
        ),
        (
            300,
            Some(Event::Backend(BackendEvent::AuthInfo {
                id: RequestId(3),
                answer: Ok(AuthInfoAnswer {
                    return_code: ReturnCode::Success,
                    return_msg: Message::empty(),
                    authinfo: text(Text::new(Field::Authinfo, &"A".repeat(400))),
                    expires_in: 3600,
                }),
            })),
        ),
        (
            1_000,
            Some(Event::App(AppEvent::StartOrder(OrderRequest::new(
                text(Text::new(Field::OutTradeNo, "T20260101000001")),
                100,
                FaceCodeType::Micropay,
            )))),
        ),
        (
            5_000,
            Some(Event::Sdk(SdkEvent::FaceCode {
                id: RequestId(4),
                status: ok(),
                answer: FaceCodeAnswer {
                    face_code: text(Text::new(Field::FaceCode, "134567890123456789")),
                    openid: text(Text::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")),
                    ..FaceCodeAnswer::default()
                },
            })),
        ),
        (
            5_400,
            Some(Event::Backend(BackendEvent::Submitted {
                id: RequestId(5),
                answer: Ok(PayAnswer {
                    return_code: ReturnCode::Success,
                    result_code: Some(ResultCode::Success),
                    err_code: None,
                    transaction_id: text(Text::new(Field::TransactionId, "4200000000000000001")),
                }),
            })),
        ),
    ]
}

/// A sink for commands that the optimiser cannot see through; returns how many.
fn consume(c: Command, n: &mut u32) {
    black_box(&c);
    *n += 1;
}

/// One whole session through the statig chart, each step's commands taken by `drain`
/// (which returns how many); returns the number of commands.
fn drive(inputs: &[(u64, Option<Event>)], drain: impl Fn(&mut Session) -> u32) -> u32 {
    let mut s = Session::new(Policy::default());
    let mut n = 0;
    for (t, e) in inputs {
        match e {
            Some(e) => s.handle(facepay_fsm::Instant(*t), e).expect("drained"),
            None => s.handle_timeout(facepay_fsm::Instant(*t)).map(drop).expect("drained"),
        }
        n += drain(&mut s);
    }
    debug_assert_eq!(s.last_conclusion().map(|c| c.outcome), Some(Outcome::Paid));
    n
}

/// The happy path, commands taken by value.
fn fsm_session(inputs: &[(u64, Option<Event>)]) -> u32 {
    drive(inputs, |s| {
        let mut n = 0;
        while let Some(c) = s.poll_command() {
            consume(c, &mut n);
        }
        n
    })
}

/// As [`fsm_session`], reading each command where the session builds it.
fn fsm_session_lent(inputs: &[(u64, Option<Event>)]) -> u32 {
    drive(inputs, |s| {
        let mut n = 0;
        while s
            .poll_command_with(|c| {
                black_box(c);
            })
            .is_some()
        {
            n += 1;
        }
        n
    })
}

// ── the hand-written baseline ───────────────────────────────────────────────────────────

/// The same happy path as a flat enum and one `match`: no hierarchy, no entry actions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Uninitialized,
    Initializing,
    Idle,
    GettingRawdata,
    GettingAuthInfo,
    ScanningFace,
    Submitting,
}

#[derive(Clone, Copy)]
enum Tag {
    Sdk(u32, SdkCallKind),
    AuthInfo(u32),
    Submit(u32),
    Ready,
    Concluded,
    Stale(u32),
    Persist(JournalPhase),
}

struct Baseline {
    state: St,
    init: InitParams,
    merchant: Merchant,
    authinfo: AuthInfo,
    auth_expires_at: u64,
    rawdata: RawData,
    order: OrderRequest,
    credential: FaceCode,
    payer_openid: OpenId,
    conclusion: Conclusion,
    waiting: u32,
    next_id: u32,
    deadline: u64,
    refresh_at: u64,
    queue: [Option<Tag>; 4],
    submitted_at: u64,
    now: u64,
    head: usize,
    len: usize,
}

impl Baseline {
    fn new() -> Self {
        Baseline {
            state: St::Uninitialized,
            init: InitParams::default(),
            merchant: Merchant::default(),
            authinfo: AuthInfo::empty(),
            auth_expires_at: 0,
            rawdata: RawData::empty(),
            order: OrderRequest::new(OutTradeNo::empty(), 0, FaceCodeType::Micropay),
            credential: FaceCode::empty(),
            payer_openid: OpenId::empty(),
            conclusion: Conclusion {
                out_trade_no: OutTradeNo::empty(),
                outcome: Outcome::NotPaid,
                reason: Reason::CashierCancelled,
                transaction_id: TransactionId::empty(),
            },
            waiting: 0,
            next_id: 1,
            deadline: u64::MAX,
            refresh_at: u64::MAX,
            queue: [None; 4],
            submitted_at: 0,
            now: 0,
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, t: Tag) {
        let i = (self.head + self.len) % 4;
        self.queue[i] = Some(t);
        self.len += 1;
    }

    fn call(&mut self, now: u64, make: impl FnOnce(u32) -> Tag) {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting = id;
        self.deadline = now + 10_000;
        self.push(make(id));
    }

    fn handle(&mut self, now: u64, e: &Event) {
        self.now = now;
        match (self.state, e) {
            (St::Uninitialized, Event::App(AppEvent::Start { init, merchant })) => {
                if init.validate().and_then(|()| merchant.validate()).is_ok() {
                    self.init = init.clone();
                    self.merchant = merchant.clone();
                    self.call(now, |id| Tag::Sdk(id, SdkCallKind::InitWxpayface));
                    self.state = St::Initializing;
                }
            }
            (St::Initializing, Event::Sdk(SdkEvent::Initialised { id, status }))
                if id.0 == self.waiting && status.class() == SdkClass::Success =>
            {
                self.push(Tag::Ready);
                self.state = St::Idle;
                self.refresh_at = now;
            }
            (St::GettingRawdata, Event::Sdk(SdkEvent::Rawdata { id, status, rawdata }))
                if id.0 == self.waiting && status.class() == SdkClass::Success =>
            {
                self.rawdata = rawdata.clone();
                self.call(now, Tag::AuthInfo);
                self.state = St::GettingAuthInfo;
            }
            (St::GettingAuthInfo, Event::Backend(BackendEvent::AuthInfo { id, answer: Ok(a) }))
                if id.0 == self.waiting && a.return_code == ReturnCode::Success =>
            {
                self.authinfo = a.authinfo.clone();
                self.auth_expires_at = now + u64::from(a.expires_in) * 1000;
                self.refresh_at = self.auth_expires_at - 300_000;
                self.state = St::Idle;
            }
            (St::Idle, Event::App(AppEvent::StartOrder(req))) if req.validate().is_ok() => {
                self.order = req.clone();
                self.call(now, |id| Tag::Sdk(id, SdkCallKind::GetWxpayfaceCode));
                self.state = St::ScanningFace;
            }
            (St::ScanningFace, Event::Sdk(SdkEvent::FaceCode { id, status, answer }))
                if id.0 == self.waiting && status.class() == SdkClass::Success =>
            {
                self.credential = answer.face_code.clone();
                self.payer_openid = answer.openid.clone();
                self.submitted_at = now;
                self.push(Tag::Persist(JournalPhase::Submitting));
                self.call(now, Tag::Submit);
                self.state = St::Submitting;
            }
            (St::Submitting, Event::Backend(BackendEvent::Submitted { id, answer: Ok(a) }))
                if id.0 == self.waiting && a.class() == PayClass::Paid =>
            {
                self.conclusion.out_trade_no = self.order.out_trade_no.clone();
                self.conclusion.outcome = Outcome::Paid;
                self.conclusion.reason = Reason::SubmitSucceeded;
                self.conclusion.transaction_id = a.transaction_id.clone();
                self.push(Tag::Persist(JournalPhase::Concluded(Outcome::Paid)));
                self.push(Tag::Concluded);
                self.deadline = u64::MAX;
                self.state = St::Idle;
            }
            _ => self.push(Tag::Stale(0)),
        }
    }

    fn handle_timeout(&mut self, now: u64) {
        if self.state == St::Idle && self.refresh_at <= now {
            self.refresh_at = u64::MAX;
            self.call(now, |id| Tag::Sdk(id, SdkCallKind::GetWxpayfaceRawdata));
            self.state = St::GettingRawdata;
        }
    }

    /// Builds the same `Command` values the session's `poll_command` builds.
    fn poll(&mut self) -> Option<Command> {
        if self.len == 0 {
            return None;
        }
        let t = self.queue[self.head].take()?;
        self.head = (self.head + 1) % 4;
        self.len -= 1;
        Some(match t {
            Tag::Sdk(id, kind) => Command::Sdk {
                id: RequestId(id),
                call: match kind {
                    SdkCallKind::InitWxpayface => SdkCall::InitWxpayface(self.init.clone()),
                    SdkCallKind::GetWxpayfaceRawdata => SdkCall::GetWxpayfaceRawdata,
                    _ => SdkCall::GetWxpayfaceCode(FaceCodeRequest {
                        merchant: self.merchant.clone(),
                        out_trade_no: self.order.out_trade_no.clone(),
                        total_fee: self.order.total_fee,
                        face_code_type: self.order.face_code_type,
                        face_authtype: self.order.face_authtype,
                        authinfo: self.authinfo.clone(),
                        telephone: self.order.telephone.clone(),
                        openid: self.order.openid.clone(),
                        ask_face_permit: self.order.ask_face_permit,
                        ask_ret_page: self.order.ask_ret_page,
                        ignore_update_pay_result: self.order.ignore_update_pay_result,
                        screen_index: self.order.screen_index.clone(),
                    }),
                },
            },
            Tag::AuthInfo(id) => Command::Backend {
                id: RequestId(id),
                call: BackendCall::GetAuthInfo {
                    rawdata: self.rawdata.clone(),
                },
            },
            Tag::Submit(id) => Command::Backend {
                id: RequestId(id),
                call: BackendCall::Submit {
                    api: PayApi::Micropay,
                    out_trade_no: self.order.out_trade_no.clone(),
                    total_fee: self.order.total_fee,
                    credential: PayCredential::AuthCode(self.credential.clone()),
                },
            },
            Tag::Ready => Command::Notify(Notice::Ready),
            Tag::Concluded => Command::Notify(Notice::OrderConcluded(self.conclusion.clone())),
            Tag::Persist(phase) => Command::Persist(JournalRecord {
                version: JOURNAL_VERSION,
                out_trade_no: self.order.out_trade_no.clone(),
                api: PayApi::Micropay,
                total_fee: self.order.total_fee,
                phase,
                elapsed_ms: u32::try_from(self.now.saturating_sub(self.submitted_at)).unwrap_or(u32::MAX),
                queries: 0,
                reverse_attempts: 0,
            }),
            Tag::Stale(id) => Command::Diagnostic(Diagnostic {
                kind: DiagnosticKind::StaleAnswer(RequestId(id)),
                state: StateId::Idle,
            }),
        })
    }
}

fn baseline_session(inputs: &[(u64, Option<Event>)]) -> u32 {
    let mut m = Baseline::new();
    let mut n = 0;
    for (t, e) in inputs {
        match e {
            Some(e) => m.handle(*t, e),
            None => m.handle_timeout(*t),
        }
        while let Some(c) = m.poll() {
            consume(c, &mut n);
        }
    }
    debug_assert_eq!(m.conclusion.outcome, Outcome::Paid);
    n
}

// ── size ────────────────────────────────────────────────────────────────────────────────

/// The string capacity a `Session` holds, from the `Text` capacities of what the machine
/// stores: init params, merchant, authinfo, rawdata, the order, the credential and payer,
/// the conclusion (with a reason that can carry a code), the lookup request and its member.
fn string_capacity() -> usize {
    let init = Host::CAPACITY + 2 * PortText::CAPACITY + 2 * Credential::CAPACITY;
    let merchant = 2 * AppId::CAPACITY + 2 * MchId::CAPACITY + StoreId::CAPACITY;
    let order = OutTradeNo::CAPACITY + Telephone::CAPACITY + OpenId::CAPACITY + ScreenIndex::CAPACITY;
    let conclusion = OutTradeNo::CAPACITY + TransactionId::CAPACITY + CodeText::CAPACITY;
    let user = 2 * OpenId::CAPACITY + Nickname::CAPACITY;
    init + merchant
        + AuthInfo::CAPACITY
        + RawData::CAPACITY
        + order
        + FaceCode::CAPACITY
        + OpenId::CAPACITY
        + conclusion
        + ScreenIndex::CAPACITY
        + user
}

fn report() {
    use std::mem::size_of;
    let size = size_of::<Session>();
    let caps = string_capacity();
    println!(
        "size_of::<Session>() = {size} bytes; string capacity {caps} bytes; overhead {} bytes",
        size - caps
    );
    println!(
        "  parts: InitParams {}, Merchant {}, AuthInfo {}, RawData {}, OrderRequest {}, FaceCode {}, OpenId {}, \
         Conclusion {}, UserInfoRequest {}, UserInfo {}, Policy {}, Command {}",
        size_of::<InitParams>(),
        size_of::<Merchant>(),
        size_of::<AuthInfo>(),
        size_of::<RawData>(),
        size_of::<OrderRequest>(),
        size_of::<FaceCode>(),
        size_of::<OpenId>(),
        size_of::<Conclusion>(),
        size_of::<UserInfoRequest>(),
        size_of::<UserInfo>(),
        size_of::<Policy>(),
        size_of::<Command>(),
    );
    // A quick side-by-side outside criterion, so the ratio is printed in one place.
    let inputs = happy_inputs();
    assert_eq!(
        fsm_session(&inputs),
        baseline_session(&inputs),
        "the two machines emit as many commands"
    );
    let rounds = 20_000;
    let time = |f: &dyn Fn() -> u32| {
        let t = Clock::now();
        for _ in 0..rounds {
            black_box(f());
        }
        t.elapsed().as_nanos() as f64 / f64::from(rounds)
    };
    let (fsm, base) = (time(&|| fsm_session(&inputs)), time(&|| baseline_session(&inputs)));
    let events = inputs.len() as f64;
    let (new_fsm, new_base) = (
        time(&|| black_box(Session::new(Policy::default())).state() as u32),
        time(&|| black_box(Baseline::new()).next_id),
    );
    println!("construction alone: Session::new {new_fsm:.0} ns, Baseline::new {new_base:.0} ns");
    println!(
        "happy session: fsm {fsm:.0} ns ({:.0} ns/input), baseline {base:.0} ns ({:.0} ns/input), ratio {:.2}",
        fsm / events,
        base / events,
        fsm / base
    );
}

// ── benchmarks ──────────────────────────────────────────────────────────────────────────

fn benches(c: &mut Criterion) {
    report();
    let inputs = happy_inputs();
    let mut g = c.benchmark_group("happy_session");
    g.bench_function("fsm", |b| b.iter(|| fsm_session(black_box(&inputs))));
    g.bench_function("fsm_lent", |b| b.iter(|| fsm_session_lent(black_box(&inputs))));
    g.bench_function("baseline_match", |b| b.iter(|| baseline_session(black_box(&inputs))));
    g.finish();

    // One input in a steady state: Cancel while Querying is refused (money may be
    // moving) with a diagnostic; the session stays where it is, so every iteration is alike.
    c.bench_function("querying/refused_cancel", |b| {
        let mut s = Session::new(Policy::default());
        let mut last = RequestId(0);
        let drain = |s: &mut Session, last: &mut RequestId| {
            while let Some(c) = s.poll_command() {
                if let Command::Sdk { id, .. } | Command::Backend { id, .. } = c {
                    *last = id;
                }
            }
        };
        for (t, e) in &inputs[..7] {
            match e {
                Some(e) => s.handle(facepay_fsm::Instant(*t), e).unwrap(),
                None => s.handle_timeout(facepay_fsm::Instant(*t)).map(drop).unwrap(),
            }
            drain(&mut s, &mut last);
        }
        let ambiguous = Event::Backend(BackendEvent::Submitted {
            id: last,
            answer: Err(TransportError::Timeout),
        });
        s.handle(facepay_fsm::Instant(5_000), &ambiguous).unwrap();
        drain(&mut s, &mut last);
        assert_eq!(s.state(), StateId::Querying);
        let cancel = Event::App(AppEvent::Cancel);
        b.iter(|| {
            s.handle(facepay_fsm::Instant(5_000), black_box(&cancel)).unwrap();
            let mut n = 0;
            while let Some(c) = s.poll_command() {
                consume(c, &mut n);
            }
            n
        });
        assert_eq!(s.state(), StateId::Querying);
    });
}

criterion_group!(session, benches);
criterion_main!(session);
