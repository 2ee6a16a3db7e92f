//! The persist handshake (`Session::await_persist_acks`): the commands after a
//! `Command::Persist` are held until the host reports the write, and a failed write before
//! the submit means the submit is never sent.

mod common;

use common::*;
use facepay_fsm::codes::{PayErrCode, TradeState};
use facepay_fsm::*;

fn is_submit(c: &Command) -> bool {
    matches!(
        c,
        Command::Backend {
            call: BackendCall::Submit { .. },
            ..
        }
    )
}

/// Idle, with an order's face code about to arrive; the next `face` queues the submit.
fn before_submit() -> H {
    let mut h = H::idle();
    h.at(1_000);
    h.order("T1", 100, FaceCodeType::Micropay);
    h.at(5_000);
    h
}

/// Feeds the face code by hand and takes commands until the Persist; the session then
/// holds the rest.
fn face_code_up_to_persist(h: &mut H) -> Vec<Command> {
    let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceCode));
    let answer = FaceCodeAnswer {
        face_code: ok(Text::new(Field::FaceCode, PAY_CODE)),
        ..FaceCodeAnswer::default()
    };
    let ev = Event::Sdk(SdkEvent::FaceCode {
        id,
        status: SdkStatus::success(),
        answer,
    });
    h.s.handle(Instant(h.now), &ev).unwrap();
    let mut taken = Vec::new();
    while let Some(c) = h.s.poll_command() {
        taken.push(c);
    }
    assert!(
        matches!(taken.last(), Some(Command::Persist(r)) if r.phase == JournalPhase::Submitting),
        "{taken:?}"
    );
    taken
}

#[test]
fn the_submit_is_held_until_the_write_is_reported() {
    let mut h = before_submit();
    let taken = face_code_up_to_persist(&mut h);
    assert!(!taken.iter().any(is_submit));
    assert_eq!(h.s.awaiting_persist(), Some(JournalPhase::Submitting));
    assert_eq!(h.s.poll_command(), None);
    assert_eq!(h.s.poll(), None);
    assert_eq!(h.s.poll_command_with(|_| ()), None);
    h.s.persisted(Instant(h.now), Ok(())).unwrap();
    assert_eq!(h.s.awaiting_persist(), None);
    let next = h.s.poll_command().expect("the held submit");
    assert!(is_submit(&next), "{next:?}");
    assert_eq!(h.s.poll_command(), None);
    assert_eq!(h.state(), StateId::Submitting);
}

#[test]
fn inputs_while_a_write_is_unreported_are_refused_and_lose_nothing() {
    let mut h = before_submit();
    face_code_up_to_persist(&mut h);
    let ev = Event::App(AppEvent::Cancel);
    assert_eq!(h.s.handle(Instant(h.now), &ev), Err(HandleError::AwaitingPersist));
    assert_eq!(
        h.s.handle_timeout(Instant(h.now + 60_000)),
        Err(HandleError::AwaitingPersist)
    );
    assert_eq!(
        h.s.cancel(Instant(h.now)),
        Err(RequestError::NotTaken(HandleError::AwaitingPersist))
    );
    // Nothing moved: the clock, the state and the held submit are as they were.
    assert_eq!(h.s.now(), Instant(5_000));
    assert_eq!(h.state(), StateId::Submitting);
    h.s.persisted(Instant(h.now), Ok(())).unwrap();
    assert!(h.s.poll_command().is_some_and(|c| is_submit(&c)));
    assert_eq!(
        h.s.persisted(Instant(h.now), Ok(())),
        Err(HandleError::NoPersistOutstanding),
        "a second report changes nothing"
    );
}

#[test]
fn a_failed_write_before_the_submit_concludes_not_paid_and_never_submits() {
    let mut h = before_submit();
    h.failing_journal = true;
    let cmds = h.face(SdkStatus::success(), PAY_CODE);
    h.failing_journal = false;
    assert!(!cmds.iter().any(is_submit), "{cmds:?}");
    assert_eq!(h.outcome(), Some((Outcome::NotPaid, Reason::JournalUnavailable)));
    // Nothing was sent, so the conclusion asks for no record that could fail again.
    let persists = cmds.iter().filter(|c| matches!(c, Command::Persist(_))).count();
    assert_eq!(persists, 1, "{cmds:?}");
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Command::Notify(Notice::OrderConcluded(_))))
    );
    assert_eq!(h.s.waiting_on().backend, None);
    assert_eq!(
        h.s.poll_timeout().map(|t| t.0 > 60_000),
        Some(true),
        "no submit deadline is armed"
    );
    // Nothing settles afterwards: no timer ever brings a query, reverse or submit.
    let later = h.at(600_000);
    assert!(
        !later.iter().any(|c| matches!(
            c,
            Command::Backend {
                call: BackendCall::Submit { .. } | BackendCall::Query { .. } | BackendCall::Reverse { .. },
                ..
            }
        )),
        "{later:?}"
    );
    assert_eq!(h.state(), StateId::Idle);
}

#[test]
fn a_failed_write_after_the_submit_still_lets_queries_and_reverses_out() {
    let mut h = H::submitting();
    h.at(5_100);
    h.failing_journal = true;
    let cmds = h.submit_answer(Ok(pay_error(PayErrCode::SystemError)));
    h.failing_journal = false;
    assert!(
        matches!(cmds.first(), Some(Command::Persist(r)) if r.phase == JournalPhase::Querying),
        "{cmds:?}"
    );
    assert!(diags(&cmds).contains(&DiagnosticKind::JournalStale), "{cmds:?}");
    assert_eq!(h.state(), StateId::Querying);
    h.at(10_100);
    assert_eq!(h.times(Call::Query), vec![10_100]);
    // The stale journal does not stop the order settling, nor does a failed conclusion.
    h.failing_journal = true;
    let cmds = h.query_answer(Ok(query(TradeState::Success)));
    h.failing_journal = false;
    assert!(diags(&cmds).contains(&DiagnosticKind::JournalStale), "{cmds:?}");
    assert_eq!(h.outcome().map(|o| o.0), Some(Outcome::Paid));
}

#[test]
fn a_failed_write_of_a_reverse_still_sends_the_reverse() {
    let mut h = H::querying();
    for t in [10_200, 15_300, 20_400, 25_500, 30_600] {
        h.at(t);
        h.query_answer(Ok(query(TradeState::NotPay)));
    }
    h.failing_journal = true;
    let cmds = h.at(35_000);
    h.failing_journal = false;
    assert!(diags(&cmds).contains(&DiagnosticKind::JournalStale), "{cmds:?}");
    assert_eq!(h.times(Call::Reverse), vec![35_000]);
}

#[test]
fn without_the_handshake_a_persist_counts_as_written() {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(OutTradeNo::new(Field::OutTradeNo, "T1")),
        api: PayApi::Micropay,
        total_fee: 100,
        phase: JournalPhase::Submitting,
        elapsed_ms: 0,
        queries: 0,
        reverse_attempts: 0,
    };
    let mut s = Session::resume(Policy::default(), &record, Instant(0));
    assert!(matches!(s.poll_command(), Some(Command::Persist(_))));
    assert_eq!(s.awaiting_persist(), None);
    assert_eq!(s.persisted(Instant(0), Ok(())), Err(HandleError::NoPersistOutstanding));
}

#[test]
fn a_resumed_session_holds_its_first_query_behind_its_record() {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(OutTradeNo::new(Field::OutTradeNo, "T1")),
        api: PayApi::Micropay,
        total_fee: 100,
        phase: JournalPhase::Submitting,
        elapsed_ms: 0,
        queries: 0,
        reverse_attempts: 0,
    };
    let mut s = Session::resume(Policy::default(), &record, Instant(0));
    s.await_persist_acks();
    assert!(matches!(s.poll_command(), Some(Command::Persist(_))));
    assert_eq!(s.awaiting_persist(), Some(JournalPhase::Querying));
    assert_eq!(s.handle_timeout(Instant(600_000)), Err(HandleError::AwaitingPersist));
    s.persisted(Instant(0), Err(PersistError::WriteFailed)).unwrap();
    let rest: Vec<Command> = core::iter::from_fn(|| s.poll_command()).collect();
    assert!(
        rest.iter()
            .any(|c| matches!(c, Command::Diagnostic(d) if d.kind == DiagnosticKind::JournalStale)),
        "{rest:?}"
    );
    assert_eq!(s.state(), StateId::Querying);
}
