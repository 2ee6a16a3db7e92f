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
    // Nothing due before the first query's next query at 10.1 s.
    assert_eq!(h.s.handle_timeout(Instant(9_000)), Ok(None));
    assert_eq!(h.s.next_timer(), Some((Timer::NextQuery, Instant(10_100))));
    assert_eq!(h.s.handle_timeout(Instant(10_100)), Ok(Some(Timer::NextQuery)));
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
    assert_eq!(h.s.handle_timeout(Instant(10_100)), Ok(Some(Timer::NextQuery)));
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
