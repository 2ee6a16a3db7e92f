//! The host-facing accessors of `Session`, as an independent host uses them: which
//! requests it waits on, which timer fired, a release asked for while an order settles,
//! and the first steps of a resumed session.

mod common;

use common::*;
use facepay_fsm::codes::TradeState;
use facepay_fsm::*;

#[test]
fn waiting_on_names_the_open_sdk_and_backend_requests() {
    let mut s = Session::new(Policy::default());
    assert!(s.waiting_on().is_empty());
    s.handle(
        Instant(0),
        &Event::App(AppEvent::Start {
            init: InitParams::default(),
            merchant: merchant(),
        }),
    )
    .unwrap();
    let Some(Command::Sdk { id, call }) = s.poll_command() else {
        panic!("Start calls the SDK first")
    };
    assert_eq!(call.kind(), SdkCallKind::InitWxpayface);
    let waiting = s.waiting_on();
    assert_eq!(waiting.sdk, Some((id, SdkCallKind::InitWxpayface)));
    assert_eq!(waiting.backend, None);
    assert!(waiting.contains(id));
    assert!(!waiting.contains(RequestId(id.0 + 1)));
}

#[test]
fn waiting_on_follows_the_settling_order_and_empties_at_its_conclusion() {
    let mut h = H::querying();
    h.at(10_100); // the first query goes out
    let query = h.id(Call::Query);
    assert_eq!(h.s.waiting_on().backend, Some((query, BackendCallKind::Query)));
    assert_eq!(BackendCallKind::Query.name(), "orderquery");
    h.query_answer(Ok(common::query(TradeState::Success)));
    assert_eq!(h.s.waiting_on().backend, None);
    assert!(!h.s.waiting_on().contains(query));
}

#[test]
fn handle_timeout_says_which_timer_fired() {
    let mut h = H::querying();
    // Nothing due before the first query's wake-up at 10.1 s.
    assert_eq!(h.s.handle_timeout(Instant(9_000)), Ok(None));
    assert_eq!(h.s.next_timer(), Some((Timer::Wake, Instant(10_100))));
    assert_eq!(h.s.handle_timeout(Instant(10_100)), Ok(Some(Timer::Wake)));
    while h.s.poll_command().is_some() {}
    // The query is now out; its deadline is the next timer, and it is the one that fires.
    let (timer, at) = h.s.next_timer().unwrap();
    assert_eq!(timer, Timer::BackendDeadline);
    assert_eq!(h.s.handle_timeout(at), Ok(Some(Timer::BackendDeadline)));
    while h.s.poll_command().is_some() {}
}

#[test]
fn handle_timeout_undrained_fires_nothing() {
    let mut h = H::querying();
    h.s.handle(Instant(9_000), &Event::App(AppEvent::Cancel)).unwrap(); // refused: queues a diagnostic
    assert_eq!(
        h.s.handle_timeout(Instant(10_100)),
        Err(HandleError::Undrained { pending: 1 })
    );
    while h.s.poll_command().is_some() {}
    assert_eq!(h.s.handle_timeout(Instant(10_100)), Ok(Some(Timer::Wake)));
}

#[test]
fn release_while_settling_is_refused_and_accepted_after_the_conclusion() {
    let mut h = H::querying();
    let out = h.app(AppEvent::Release);
    assert_eq!(diags(&out), vec![DiagnosticKind::Refused(Refusal::Settling)]);
    assert_eq!(h.state(), StateId::Querying, "a refused release changes nothing");
    // It is not queued: the order settles as if it had never been asked for.
    h.at(10_100);
    let out = h.query_answer(Ok(common::query(TradeState::Success)));
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::Notify(Notice::OrderConcluded(c)) if c.outcome == Outcome::Paid)),
        "{out:?}"
    );
    assert_ne!(h.state(), StateId::Releasing);
    // The conclusion is the host's signal: asked again now, the release goes ahead.
    let out = h.app(AppEvent::Release);
    assert_eq!(diags(&out), vec![]);
    assert_eq!(h.state(), StateId::Releasing);
}

#[test]
fn resumed_session_takes_start_once_its_first_commands_are_drained() {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(OutTradeNo::new(Field::OutTradeNo, "T1")),
        api: PayApi::Micropay,
        total_fee: 100,
        phase: JournalPhase::Submitting,
        elapsed_ms: 2_000,
        queries: 0,
        reverse_attempts: 0,
    };
    let mut s = Session::resume(Policy::default(), &record, Instant(60_000));
    let start = Event::App(AppEvent::Start {
        init: InitParams::default(),
        merchant: merchant(),
    });
    // 1. Its first commands are queued already: any input before they are drained is refused.
    let pending = s.handle(Instant(60_000), &start);
    assert!(matches!(pending, Err(HandleError::Undrained { .. })), "{pending:?}");
    let first: Vec<Command> = std::iter::from_fn(|| s.poll_command()).collect();
    assert!(
        !first.iter().any(|c| matches!(
            c,
            Command::Backend {
                call: BackendCall::Submit { .. },
                ..
            }
        )),
        "a resumed order is never submitted again: {first:?}"
    );
    // 2. Start, as after any boot, is taken while the order settles.
    s.handle(Instant(60_001), &start).unwrap();
    assert_eq!(s.refusal(), None);
    while s.poll_command().is_some() {}
    // 3. The session drives the order to its conclusion; a query goes out by its own timer.
    let mut query = None;
    for _ in 0..10 {
        let Some(at) = s.poll_timeout() else { break };
        s.handle_timeout(at).unwrap();
        while let Some(c) = s.poll_command() {
            if let Command::Backend {
                id,
                call: BackendCall::Query { .. },
            } = c
            {
                query = Some(id);
            }
        }
        if query.is_some() {
            break;
        }
    }
    let id = query.expect("the resumed order is queried");
    assert_eq!(s.waiting_on().backend, Some((id, BackendCallKind::Query)));
    s.handle(
        s.now(),
        &Event::Backend(BackendEvent::Queried {
            id,
            answer: Ok(common::query(TradeState::Success)),
        }),
    )
    .unwrap();
    let out: Vec<Command> = std::iter::from_fn(|| s.poll_command()).collect();
    let concluded = out
        .iter()
        .position(|c| matches!(c, Command::Notify(Notice::OrderConcluded(_))))
        .expect("concluded");
    // The face service comes up after the order concluded (Start was remembered).
    let init = out
        .iter()
        .position(|c| matches!(c, Command::Sdk { call, .. } if call.kind() == SdkCallKind::InitWxpayface));
    assert!(
        init.is_none_or(|i| i > concluded),
        "init only after the conclusion: {out:?}"
    );
}

#[test]
fn typed_requests_return_their_refusal_and_still_queue_its_diagnostic() {
    let mut h = H::querying();
    let now = Instant(h.now);
    assert_eq!(h.s.release(now), Err(RequestError::Refused(Refusal::Settling)));
    assert_eq!(
        h.s.poll_command(),
        Some(Command::Diagnostic(Diagnostic {
            state: StateId::Querying,
            kind: DiagnosticKind::Refused(Refusal::Settling),
        }))
    );
    assert_eq!(h.s.poll_command(), None);
    assert_eq!(h.s.cancel(now), Err(RequestError::Refused(Refusal::Settling)));
    // Not drained: the next request is not taken at all, and says so.
    assert_eq!(
        h.s.start_order(now, order("T2", 100, FaceCodeType::Facepay)),
        Err(RequestError::NotTaken(HandleError::Undrained { pending: 1 }))
    );
    while h.s.poll_command().is_some() {}
    assert_eq!(h.state(), StateId::Querying, "refused requests change nothing");
    let e = RequestError::Refused(Refusal::Settling);
    assert_eq!(e.to_string(), "refused: an order is settling; money may be moving");
}

#[test]
fn typed_requests_name_an_invalid_field_and_take_a_valid_one() {
    let mut h = H::idle();
    let now = Instant(h.now);
    let mut bad = order("T1", 100, FaceCodeType::Facepay);
    bad.out_trade_no = OutTradeNo::empty();
    let e = h.s.start_order(now, bad).unwrap_err();
    assert_eq!(
        e,
        RequestError::Invalid(FieldError::Empty {
            field: Field::OutTradeNo
        })
    );
    assert_eq!(e.diagnostic(), h.s.refusal());
    while h.s.poll_command().is_some() {}
    assert_eq!(h.state(), StateId::Idle);
    assert_eq!(h.s.start_order(now, order("T1", 100, FaceCodeType::Facepay)), Ok(()));
    assert_eq!(h.s.refusal(), None);
    assert_eq!(h.state(), StateId::ScanningFace);
}

/// Drives `s` from a late `t` the way hosts did before `handle_timeout` fired every due
/// timer: one timer per call, draining in between. Returns the commands and the firings.
fn one_timer_per_call(s: &mut Session, t: Instant) -> (Vec<Command>, Vec<Timer>) {
    let (mut out, mut fired) = (Vec::new(), Vec::new());
    while s.poll_timeout().is_some_and(|at| at <= t) {
        fired.extend(s.fire_next_timer(t).unwrap());
        out.extend(std::iter::from_fn(|| s.poll_command()));
    }
    (out, fired)
}

/// Scanning a face when the host's clock jumps an hour: the scan's deadline and the
/// authinfo refresh are both overdue.
fn overdue() -> (H, Instant) {
    let h = H::scanning(FaceCodeType::Facepay);
    (h, Instant(3_600_000))
}

#[test]
fn handle_timeout_fires_every_due_timer_as_one_timer_per_call_did() {
    let (mut a, t) = overdue();
    let (mut b, _) = overdue();
    let first = a.s.handle_timeout(t).unwrap();
    let all: Vec<Command> = std::iter::from_fn(|| a.s.poll_command()).collect();
    let (expected, fired) = one_timer_per_call(&mut b.s, t);
    assert!(fired.len() >= 2, "the scenario must have several due timers: {fired:?}");
    assert_eq!(first, fired.first().copied());
    assert_eq!(all, expected);
    assert_eq!(a.state(), b.state());
    assert_eq!(a.s.next_timer(), b.s.next_timer());
    assert!(a.s.poll_timeout().is_none_or(|at| at > t), "nothing due is left");
    // An extra call fires nothing more.
    assert_eq!(a.s.handle_timeout(t), Ok(None));
    assert_eq!(a.s.poll_command(), None);
}

#[test]
fn poll_marks_each_later_firing_before_its_commands() {
    let (mut a, t) = overdue();
    let (mut b, _) = overdue();
    let (expected, fired) = one_timer_per_call(&mut b.s, t);
    assert_eq!(a.s.handle_timeout(t).unwrap(), fired.first().copied());
    let (mut commands, mut marked) = (Vec::new(), Vec::new());
    let mut states = Vec::new();
    while let Some(p) = a.s.poll() {
        match p {
            Polled::Timer(timer) => {
                // Announced, not yet fired: the session is where the last firing left it.
                assert_eq!(a.s.next_timer().map(|(t, _)| t), Some(timer));
                states.push(a.s.state());
                marked.push(timer);
            }
            Polled::Command(c) => commands.push(c),
        }
    }
    assert_eq!(commands, expected);
    assert_eq!(marked.as_slice(), &fired[1..]);
    assert!(!states.is_empty());
}

#[test]
fn an_input_between_firings_leaves_the_rest_due() {
    let (mut a, t) = overdue();
    a.s.handle_timeout(t).unwrap();
    // The host takes the first firing's commands with `poll` and stops at the mark.
    while let Some(Polled::Command(_)) = a.s.poll() {}
    let due = a.s.next_timer();
    assert!(due.is_some_and(|(_, at)| at <= t), "{due:?}");
    a.s.handle(
        t,
        &Event::App(AppEvent::FaceAppVersion(SdkVersion { major: 2, minor: 13 })),
    )
    .unwrap();
    assert_eq!(a.s.poll_command(), None, "the input cancelled the catch-up");
    assert_eq!(a.s.next_timer(), due, "still due, for the next handle_timeout");
}
