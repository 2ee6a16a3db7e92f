//! The command queue's per-step bound (`MAX_STEP_COMMANDS`) as a checked fact: every
//! waiting state (and the states between calls), fed every kind of input it can get —
//! each answer class to its open calls, each app request, a service loss, its next timer —
//! on time and with the clock going backwards (which adds a diagnostic to the step).
//! No step may queue more than the bound, and the worst one must queue exactly it, so the
//! bound is neither broken nor loose.

mod common;

use common::positions::{old_sdk, positions, positions_of};
use common::*;
use facepay_fsm::codes::{
    PayErrCode, QueryErrCode, Recall, ResultCode, ReverseErrCode, SdkErrCode, SdkReturnCode, TradeState,
};
use facepay_fsm::*;

/// A position to start from, rebuilt for every input (sessions are not `Clone`).
type Build = Box<dyn Fn() -> H>;

/// Querying with the first query out, for an order taken as `take` leaves it.
fn querying_after(policy: Policy, take: impl Fn(&mut H)) -> H {
    let mut h = H::idle_with(policy);
    h.at(1_000);
    take(&mut h);
    assert_eq!(h.state(), StateId::Submitting);
    h.at(h.now + 100);
    h.submit_answer(Ok(pay_error(PayErrCode::SystemError)));
    h.at(h.now + 10_000);
    assert_eq!(h.state(), StateId::Querying);
    assert!(h.s.waiting_on().backend.is_some());
    h
}

fn builds() -> Vec<(String, Build)> {
    let mut v: Vec<(String, Build)> = Vec::new();
    for (state, _) in positions() {
        v.push((format!("{state:?}"), Box::new(move || positions_of(state))));
    }
    v.push(("uninitialized".to_string(), Box::new(|| H::new(Policy::default()))));
    v.push(("idle".to_string(), Box::new(H::idle)));
    v.push((
        "init backoff".to_string(),
        Box::new(|| {
            let mut h = H::new(Policy::default());
            h.start();
            h.at(100);
            h.init_answer(SdkStatus::with_err(
                SdkReturnCode::Fail,
                SdkErrCode::ServiceInitialising,
            ));
            assert_eq!(h.state(), StateId::InitBackoff);
            h
        }),
    ));
    v.push((
        "released".to_string(),
        Box::new(|| {
            let mut h = H::idle();
            h.at(1_000);
            h.app(AppEvent::Release);
            h.at(1_100);
            let id = h.id(Call::Sdk(SdkCallKind::ReleaseWxpayface));
            h.ev(Event::Sdk(SdkEvent::Released {
                id,
                status: SdkStatus::success(),
            }));
            assert_eq!(h.state(), StateId::Released);
            h
        }),
    ));
    // The worst conclusions: one call follows the record and the notice.
    v.push((
        "querying a code the face app scanned (reportPaycode follows)".to_string(),
        Box::new(|| {
            querying_after(Policy::default(), |h| {
                let req = order("T1", 100, FaceCodeType::Micropay).paid_with(OrderCredential::CodeScanner);
                h.app(AppEvent::StartOrder(req));
                h.at(2_000);
                h.scanned(PAY_CODE);
            })
        }),
    ));
    v.push((
        "querying a face on an SDK before 2.13 (the pay result report follows)".to_string(),
        Box::new(|| {
            querying_after(old_sdk(), |h| {
                h.order("T1", 100, FaceCodeType::Facepay);
                h.at(2_000);
                h.face(SdkStatus::success(), FACE_CODE);
            })
        }),
    ));
    v.push((
        "querying after the face service went away (initWxpayface follows)".to_string(),
        Box::new(|| {
            let mut h = H::querying();
            h.ev(Event::Sdk(SdkEvent::ServiceLost));
            h.at(10_100);
            assert_eq!(h.state(), StateId::Querying);
            h
        }),
    ));
    v.push((
        "idle, identifying with FACEID-LOOP (stopWxpayface follows the answer)".to_string(),
        Box::new(|| {
            let mut h = H::idle();
            h.at(1_000);
            h.app(AppEvent::IdentifyUser(member_lookup(FaceAuthType::FaceidLoop)));
            assert_eq!(h.state(), StateId::Identifying);
            h
        }),
    ));
    v
}

fn sdk_statuses() -> Vec<SdkStatus> {
    let mut v: Vec<SdkStatus> = [
        SdkReturnCode::Success,
        SdkReturnCode::UserCancel,
        SdkReturnCode::ScanPayment,
        SdkReturnCode::FacepayNotAuth,
        SdkReturnCode::Fail,
    ]
    .into_iter()
    .map(SdkStatus::code)
    .collect();
    for e in [
        SdkErrCode::ServiceNotInitialised,
        SdkErrCode::ServiceInitialising,
        SdkErrCode::AuthInfoInvalid,
    ] {
        v.push(SdkStatus::with_err(SdkReturnCode::Fail, e));
    }
    v
}

/// Every answer class to the open SDK call.
fn sdk_answers(id: RequestId, kind: SdkCallKind) -> Vec<Event> {
    let mut v = vec![Event::Sdk(SdkEvent::Unreadable {
        id,
        call: kind,
        error: AnswerError::NullMap,
    })];
    for status in sdk_statuses() {
        let status = status.clone();
        match kind {
            SdkCallKind::InitWxpayface => v.push(Event::Sdk(SdkEvent::Initialised { id, status })),
            SdkCallKind::GetWxpayfaceRawdata => v.push(Event::Sdk(SdkEvent::Rawdata {
                id,
                status,
                rawdata: ok(Text::new(Field::Rawdata, "RAW")),
            })),
            SdkCallKind::GetWxpayfaceCode => {
                for code in [PAY_CODE, FACE_CODE, ""] {
                    v.push(Event::Sdk(SdkEvent::FaceCode {
                        id,
                        status: status.clone(),
                        answer: FaceCodeAnswer {
                            face_code: ok(Text::new(Field::FaceCode, code)),
                            ..FaceCodeAnswer::default()
                        },
                    }));
                }
            }
            SdkCallKind::GetWxpayfaceUserInfo => v.push(Event::Sdk(SdkEvent::UserInfo {
                id,
                status,
                user: UserInfo::default(),
            })),
            SdkCallKind::StartCodeScanner => {
                for code in [PAY_CODE, "6901234567892"] {
                    v.push(Event::Sdk(SdkEvent::CodeScanned {
                        id,
                        status: status.clone(),
                        code: ok(Text::new(Field::CodeMsg, code)),
                    }));
                }
            }
            SdkCallKind::UpdateWxpayfacePayResult => v.push(Event::Sdk(SdkEvent::PayResultUpdated { id, status })),
            SdkCallKind::ReleaseWxpayface => v.push(Event::Sdk(SdkEvent::Released { id, status })),
            SdkCallKind::StopCodeScanner | SdkCallKind::StopWxpayface | SdkCallKind::ReportPaycode => {}
        }
    }
    v
}

/// Every answer class to the open backend call.
fn backend_answers(id: RequestId, kind: BackendCallKind) -> Vec<Event> {
    let lost = TransportError::Timeout;
    let answers: Vec<BackendEvent> = match kind {
        BackendCallKind::GetAuthInfo => vec![
            BackendEvent::AuthInfo { id, answer: Err(lost) },
            BackendEvent::AuthInfo {
                id,
                answer: Ok(AuthInfoAnswer {
                    return_code: codes::ReturnCode::Success,
                    return_msg: Message::empty(),
                    authinfo: ok(Text::new(Field::Authinfo, "AUTH")),
                    expires_in: 3600,
                }),
            },
        ],
        BackendCallKind::Submit => {
            let mut v = vec![
                BackendEvent::Submitted { id, answer: Err(lost) },
                BackendEvent::Submitted {
                    id,
                    answer: Ok(pay_success()),
                },
            ];
            for e in [
                PayErrCode::SystemError,
                PayErrCode::UserPaying,
                PayErrCode::NotEnough,
                PayErrCode::OrderClosed,
                PayErrCode::OrderPaid,
            ] {
                v.push(BackendEvent::Submitted {
                    id,
                    answer: Ok(pay_error(e)),
                });
            }
            v
        }
        BackendCallKind::Query => {
            let mut v = vec![BackendEvent::Queried { id, answer: Err(lost) }];
            for state in [
                TradeState::Success,
                TradeState::Refund,
                TradeState::NotPay,
                TradeState::Closed,
                TradeState::Revoked,
                TradeState::UserPaying,
                TradeState::PayError,
                TradeState::Accept,
            ] {
                v.push(BackendEvent::Queried {
                    id,
                    answer: Ok(query(state)),
                });
            }
            let mut missing = query(TradeState::NotPay);
            missing.trade_state = None;
            missing.result_code = Some(ResultCode::Fail);
            missing.err_code = Some(QueryErrCode::OrderNotExist);
            v.push(BackendEvent::Queried {
                id,
                answer: Ok(missing),
            });
            v
        }
        BackendCallKind::Reverse => {
            let mut v = vec![
                BackendEvent::Reversed { id, answer: Err(lost) },
                BackendEvent::Reversed {
                    id,
                    answer: Ok(reverse(ResultCode::Success, Some(Recall::N), None)),
                },
                BackendEvent::Reversed {
                    id,
                    answer: Ok(reverse(ResultCode::Success, Some(Recall::Y), None)),
                },
            ];
            for e in [
                ReverseErrCode::SystemError,
                ReverseErrCode::UserPaying,
                ReverseErrCode::InvalidRequest,
                ReverseErrCode::TradeError,
                ReverseErrCode::ReverseExpire,
            ] {
                v.push(BackendEvent::Reversed {
                    id,
                    answer: Ok(reverse(ResultCode::Fail, None, Some(e))),
                });
            }
            v
        }
    };
    answers.into_iter().map(Event::Backend).collect()
}

fn app_requests() -> Vec<Event> {
    let identify = member_lookup(FaceAuthType::FaceidOnce);
    let code = ok(Text::new(Field::AuthCode, PAY_CODE));
    [
        AppEvent::Start {
            init: InitParams::default(),
            merchant: merchant(),
        },
        AppEvent::StartOrder(order("T2", 100, FaceCodeType::Facepay)),
        AppEvent::StartOrder(order("T2", 100, FaceCodeType::Micropay).paid_with(OrderCredential::AuthCode(code))),
        AppEvent::StartOrder(order("T2", 100, FaceCodeType::Micropay).paid_with(OrderCredential::CodeScanner)),
        AppEvent::IdentifyUser(identify),
        AppEvent::Cancel,
        AppEvent::Release,
        AppEvent::FaceAppVersion(SdkVersion { major: 2, minor: 12 }),
    ]
    .into_iter()
    .map(Event::App)
    .collect()
}

/// What one step is fed.
#[derive(Clone, Debug)]
enum Input {
    Event(Box<Event>),
    /// The next armed timer, at its deadline.
    NextTimer,
}

/// Every input the session in `h` can be given now.
fn inputs(h: &H) -> Vec<Input> {
    let mut v: Vec<Input> = app_requests().into_iter().map(|e| Input::Event(Box::new(e))).collect();
    v.push(Input::Event(Box::new(Event::Sdk(SdkEvent::ServiceLost))));
    let waiting = h.s.waiting_on();
    if let Some((id, kind)) = waiting.sdk {
        v.extend(sdk_answers(id, kind).into_iter().map(|e| Input::Event(Box::new(e))));
    }
    if let Some((id, kind)) = waiting.backend {
        v.extend(backend_answers(id, kind).into_iter().map(|e| Input::Event(Box::new(e))));
    }
    if h.s.next_timer().is_some() {
        v.push(Input::NextTimer);
    }
    v
}

/// Feeds `input` to `h`, with the clock going backwards by 1 ms if `backwards`; returns
/// the commands the step queued.
fn step(h: &mut H, input: &Input, backwards: bool) -> Vec<Command> {
    step_acking(h, input, backwards, Ok(()))
}

/// [`step`], reporting every journal write of the step as `written`.
fn step_acking(h: &mut H, input: &Input, backwards: bool, written: Result<(), PersistError>) -> Vec<Command> {
    let mut t = h.now;
    if let Input::NextTimer = input
        && let Some((_, at)) = h.s.next_timer()
    {
        t = t.max(at.0);
    }
    if backwards {
        // Bring the session's clock to `t` with an input that queues nothing and changes
        // nothing (the face app version already in force), then step at `t - 1`.
        let noop = Event::App(AppEvent::FaceAppVersion(h.s.policy().settings().sdk_version));
        h.s.handle(Instant(t), &noop).expect("drained");
        assert_eq!(h.s.poll_command(), None, "the clock-setting input queues nothing");
        t = t.saturating_sub(1);
    }
    match input {
        Input::Event(e) => h.s.handle(Instant(t), e).expect("drained"),
        Input::NextTimer => {
            h.s.handle_timeout(Instant(t)).expect("drained");
        }
    }
    let mut out: Vec<Command> = core::iter::from_fn(|| h.s.poll_command()).collect();
    while h.s.awaiting_persist().is_some() {
        let at = h.s.now();
        h.s.persisted(at, written).expect("a write was awaited");
        out.extend(core::iter::from_fn(|| h.s.poll_command()));
    }
    assert_eq!(h.s.lost_commands(), 0);
    out
}

/// A failed journal write adds at most its `JournalStale` diagnostic to the step it
/// holds (a failure before the submit takes the submit back and concludes instead), so
/// the held commands and the report's fit the queue together.
#[test]
fn a_failed_journal_write_adds_at_most_one_command_and_loses_none() {
    let mut failed = 0;
    for (name, build) in builds() {
        let count = inputs(&build()).len();
        for i in 0..count {
            for backwards in [false, true] {
                let mut h = build();
                let input = inputs(&h)[i].clone();
                let out = step_acking(&mut h, &input, backwards, Err(PersistError::WriteFailed));
                let what = format!("{name}, {input:?}, backwards: {backwards} -> {out:#?}");
                assert!(out.len() <= MAX_STEP_COMMANDS + 1, "over the bound: {what}");
                assert!(out.len() < facepay_fsm::OUTBOX_CAPACITY, "{what}");
                if out
                    .iter()
                    .any(|c| matches!(c, Command::Diagnostic(d) if d.kind == DiagnosticKind::JournalStale))
                {
                    failed += 1;
                }
            }
        }
    }
    assert!(failed > 0, "no step wrote the journal");
}

#[test]
fn no_step_queues_more_than_the_bound_and_the_worst_reaches_it() {
    let mut worst: Option<(usize, String)> = None;
    let mut steps = 0;
    for (name, build) in builds() {
        let count = inputs(&build()).len();
        let mut most = 0;
        for i in 0..count {
            for backwards in [false, true] {
                let mut h = build();
                let input = inputs(&h)[i].clone();
                let out = step(&mut h, &input, backwards);
                steps += 1;
                let what = format!("{name}, {input:?}, backwards: {backwards} -> {out:#?}");
                assert!(out.len() <= MAX_STEP_COMMANDS, "over the bound: {what}");
                most = most.max(out.len());
                if worst.as_ref().is_none_or(|(n, _)| out.len() > *n) {
                    worst = Some((out.len(), what));
                }
            }
        }
        // The positions built for a worst case must reach it, or they test nothing.
        if name.contains("follows") {
            assert_eq!(most, MAX_STEP_COMMANDS, "{name}");
        }
    }
    let (n, what) = worst.expect("steps were taken");
    assert!(steps > 500, "the table shrank: {steps} steps");
    assert_eq!(n, MAX_STEP_COMMANDS, "the bound is loose; the worst step: {what}");
}

/// A resumed order's first step (its Resume) is a step too.
#[test]
fn a_resume_queues_within_the_bound() {
    let no = ok(Text::new(Field::OutTradeNo, "T1"));
    for phase in [
        JournalPhase::Submitting,
        JournalPhase::Querying,
        JournalPhase::Reversing,
    ] {
        for reverse_attempts in [0, 1, Policy::default().settings().reverse_attempts] {
            let record = JournalRecord {
                version: JOURNAL_VERSION,
                out_trade_no: no.clone(),
                api: PayApi::Micropay,
                total_fee: 100,
                phase,
                elapsed_ms: 60_000,
                queries: 3,
                reverse_attempts,
            };
            let mut s = Session::resume(Policy::default(), &record, Instant(100_000));
            let out: Vec<Command> = core::iter::from_fn(|| s.poll_command()).collect();
            assert!(out.len() <= MAX_STEP_COMMANDS, "{record:?}: {out:?}");
            assert_eq!(s.lost_commands(), 0);
        }
    }
}
