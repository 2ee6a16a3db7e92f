//! Power loss: every step of Settling is journalled before the command it guards, and a
//! session resumed from any of those records settles the order without submitting again.

mod common;

use common::*;
use facepay_fsm::codes::{ResultCode, ReturnCode, TradeState};
use facepay_fsm::*;

fn persisted(cmds: &[Command]) -> Vec<JournalRecord> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Persist(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn submits(h: &H) -> usize {
    h.count(|c| {
        matches!(
            c,
            Command::Backend {
                call: BackendCall::Submit { .. },
                ..
            }
        )
    })
}

/// A resumed session driven by the harness (time starts at `now`).
fn resumed(record: &JournalRecord, now: u64) -> H {
    let mut h = H::new(Policy::default());
    h.s = Session::resume(Policy::default(), record, Instant(now));
    h.now = now;
    while let Some(c) = h.s.poll_command() {
        h.all.push((now, c));
    }
    h
}

#[test]
fn the_journal_record_comes_before_the_command_it_guards() {
    let mut h = H::submitting();
    let first = h
        .all
        .iter()
        .position(|(_, c)| matches!(c, Command::Persist(_)))
        .unwrap();
    assert!(matches!(
        &h.all[first + 1].1,
        Command::Backend {
            call: BackendCall::Submit { .. },
            ..
        }
    ));
    assert!(matches!(&h.all[first].1, Command::Persist(r) if r.phase == JournalPhase::Submitting));
    h.submit_answer(Err(TransportError::Timeout));
    let t = h.now;
    let cmds = h.at(t + 60_000);
    // Every reverse call is preceded by its record, carrying the attempt it spends.
    for (i, c) in cmds.iter().enumerate() {
        if let Command::Backend {
            call: BackendCall::Reverse { attempt, .. },
            ..
        } = c
        {
            match &cmds[i - 1] {
                Command::Persist(r) => {
                    assert_eq!(r.phase, JournalPhase::Reversing);
                    assert_eq!(r.reverse_attempts, *attempt);
                }
                other => panic!("reverse not journalled first: {other:?}"),
            }
        }
    }
}

#[test]
fn a_concluded_submitted_order_clears_the_journal_and_an_unsubmitted_one_writes_none() {
    let mut h = H::submitting();
    let cmds = h.submit_answer(Ok(pay_success()));
    assert_eq!(
        persisted(&cmds).last().map(|r| r.phase),
        Some(JournalPhase::Concluded(Outcome::Paid))
    );
    let mut h = H::scanning(FaceCodeType::Micropay);
    let cmds = h.face(SdkStatus::code(codes::SdkReturnCode::UserCancel), "");
    assert!(persisted(&cmds).is_empty(), "nothing was submitted: nothing to journal");
}

/// Kill the terminal right after each journal record of an ambiguous order (the worst
/// moment: the command it guards may or may not have gone out), restart from the record,
/// and let the backend say the order was paid. The restarted machine must query, never
/// submit, and conclude Paid.
#[test]
fn a_kill_after_any_record_of_settling_resumes_without_a_second_submit() {
    let mut h = H::submitting();
    h.submit_answer(Ok(pay_error(codes::PayErrCode::UserPaying)));
    let t = h.now;
    h.at(t + 400_000);
    let records: Vec<JournalRecord> = h
        .all
        .iter()
        .filter_map(|(_, c)| match c {
            Command::Persist(r) if !r.is_concluded() => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert!(
        records.len() >= 3,
        "submitting, querying and reversing are journalled: {records:?}"
    );
    for record in &records {
        // The record survives its 64-byte binary form.
        let stored = JournalRecord::decode(&record.encode()).unwrap();
        let mut r = resumed(&stored, 1_000_000);
        if record.reverse_attempts >= Policy::default().settings().reverse_attempts {
            // The last attempt of the budget was journalled, and may have left.
            assert_eq!(
                r.outcome(),
                Some((Outcome::NeedsReconciliation, Reason::ReverseBudgetExhausted))
            );
            continue;
        }
        assert!(
            r.state().is_settling(),
            "{:?} resumes settling, got {:?}",
            record.phase,
            r.state()
        );
        let cmds = r.at(1_000_000 + 120_000);
        assert_eq!(submits(&r), 0, "a resumed order is never submitted again");
        if record.phase == JournalPhase::Reversing {
            // Mid-reverse: keep reversing with the budget that is left.
            let attempts: Vec<u8> = cmds
                .iter()
                .filter_map(|c| match c {
                    Command::Backend {
                        call: BackendCall::Reverse { attempt, .. },
                        ..
                    } => Some(*attempt),
                    _ => None,
                })
                .collect();
            assert_eq!(attempts.first(), Some(&(record.reverse_attempts + 1)), "{attempts:?}");
            continue;
        }
        // Submitting/Querying: the first thing is a query, not before the first-query delay.
        let q = r.times(Call::Query);
        assert_eq!(q.first(), Some(&(1_000_000 + 5_000)), "{:?}", record.phase);
    }
}

#[test]
fn a_resumed_query_that_finds_the_payment_concludes_paid_and_waits_for_start() {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(OutTradeNo::new(Field::OutTradeNo, "T-boot")),
        api: PayApi::Micropay,
        total_fee: 100,
        phase: JournalPhase::Submitting,
        elapsed_ms: 2_000,
        queries: 0,
        reverse_attempts: 0,
    };
    let mut r = resumed(&record, 50_000);
    r.at(55_000);
    let cmds = r.query_answer(Ok(query(TradeState::Success)));
    assert_eq!(concluded(&cmds).map(|c| c.0), Some(Outcome::Paid));
    assert_eq!(
        r.state(),
        StateId::Uninitialized,
        "no Start yet: the face service stays down"
    );
}

#[test]
fn start_during_a_resumed_order_is_taken_and_the_service_comes_up_after_it() {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(OutTradeNo::new(Field::OutTradeNo, "T-boot")),
        api: PayApi::Facepay,
        total_fee: 100,
        phase: JournalPhase::Querying,
        elapsed_ms: 20_000,
        queries: 3,
        reverse_attempts: 0,
    };
    let boot = 100_000;
    let mut r = resumed(&record, boot);
    let cmds = r.start();
    assert!(diags(&cmds).is_empty(), "Start is taken, not refused: {cmds:?}");
    assert_eq!(r.state(), StateId::Querying);
    // The query budget counts the 20 s already spent: one query (unanswered), then the
    // reverse once that query's deadline passes, at 15 s, where a fresh budget would
    // take 30 s.
    r.at(boot + 20_000);
    assert_eq!(r.times(Call::Query), vec![boot + 5_000]);
    assert_eq!(r.times(Call::Reverse), vec![boot + 15_000]);
    let cmds = r.reverse_answer(Ok(reverse(ResultCode::Success, Some(codes::Recall::N), None)));
    assert_eq!(concluded(&cmds).map(|c| c.0), Some(Outcome::Reversed));
    assert_eq!(r.state(), StateId::Initializing);
    assert!(has_sdk(&cmds, SdkCallKind::InitWxpayface));
}

#[test]
fn a_resumed_reverse_continues_the_budget() {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(OutTradeNo::new(Field::OutTradeNo, "T-rev")),
        api: PayApi::Micropay,
        total_fee: 1,
        phase: JournalPhase::Reversing,
        elapsed_ms: 200_000,
        queries: 5,
        reverse_attempts: 10,
    };
    let mut r = resumed(&record, 0);
    let mut cmds = r.at(60_000);
    cmds.extend(r.all.iter().map(|(_, c)| c.clone()));
    // The tenth attempt was journalled before it left, and may have left: an eleventh would
    // exceed the budget (and the liveness bound built on it). A person settles it.
    assert_eq!(
        r.count(|c| matches!(
            c,
            Command::Backend {
                call: BackendCall::Reverse { .. },
                ..
            }
        )),
        0
    );
    assert_eq!(concluded(&cmds).map(|c| c.0), Some(Outcome::NeedsReconciliation));
}

#[test]
fn damaged_records_are_never_dropped() {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(OutTradeNo::new(Field::OutTradeNo, "T-torn")),
        api: PayApi::Micropay,
        total_fee: 1,
        phase: JournalPhase::Reversing,
        elapsed_ms: 1,
        queries: 0,
        reverse_attempts: 3,
    };
    // A torn write: the checksum fails but the out_trade_no reads. Resumed as ambiguous
    // from the start of both budgets.
    let mut bytes = record.encode();
    bytes[13] ^= 0xFF;
    let (mut s, err) = Session::resume_from_bytes(Policy::default(), &bytes, Instant(0));
    assert_eq!(err, Some(JournalError::Corrupt));
    assert_eq!(s.state(), StateId::Querying);
    assert!(
        s.poll_command()
            .is_some_and(|c| matches!(c, Command::Persist(r) if r.out_trade_no.as_str() == "T-torn"))
    );
    // A future version with a readable out_trade_no: the same.
    let mut bytes = record.encode();
    bytes[4] = 7;
    let (s, err) = Session::resume_from_bytes(Policy::default(), &bytes, Instant(0));
    assert_eq!(err, Some(JournalError::FutureVersion(7)));
    assert_eq!(s.state(), StateId::Querying);
    // Garbage: the host hears that a person must reconcile.
    let (mut s, err) = Session::resume_from_bytes(Policy::default(), b"\x01\x02garbage-of-some-length", Instant(0));
    assert!(err.is_some());
    assert_eq!(s.poll_command(), Some(Command::Notify(Notice::JournalUnreadable)));
    assert_eq!(s.state(), StateId::Uninitialized);
    // Erased storage is no journal at all.
    for erased in [&[][..], &[0u8; 64][..], &[0xFFu8; 64][..]] {
        let (mut s, err) = Session::resume_from_bytes(Policy::default(), erased, Instant(0));
        assert_eq!(err, None);
        assert_eq!(s.poll_command(), None);
    }
}

/// A torn record of `otn`: the checksum fails, the out_trade_no reads.
fn torn(otn: &str, phase: JournalPhase) -> Vec<u8> {
    let record = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: ok(OutTradeNo::new(Field::OutTradeNo, otn)),
        api: PayApi::Micropay,
        total_fee: 48_896,
        phase,
        elapsed_ms: 1_737,
        queries: 0,
        reverse_attempts: 0,
    };
    let mut bytes = record.encode().to_vec();
    bytes[13] ^= 0xFF;
    bytes
}

/// A session resumed from `bytes`, driven by the harness from time 0.
fn resumed_from_bytes(bytes: &[u8]) -> H {
    let mut h = H::new(Policy::default());
    let (s, err) = Session::resume_from_bytes(Policy::default(), bytes, Instant(0));
    assert_eq!(err, Some(JournalError::Corrupt));
    h.s = s;
    while let Some(c) = h.s.poll_command() {
        h.all.push((0, c));
    }
    h
}

fn query_system_error() -> QueryAnswer {
    QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(codes::QueryErrCode::SystemError),
        trade_state: None,
        transaction_id: TransactionId::empty(),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    }
}

fn reverses(h: &H) -> usize {
    h.count(|c| {
        matches!(
            c,
            Command::Backend {
                call: BackendCall::Reverse { .. },
                ..
            }
        )
    })
}

/// Found by the simulator (seed 2026, session 935898 of a power-loss swarm): an order
/// concluded Paid, the goods were handed over, and the power tore its Concluded record.
/// Resumed as ambiguous, every query answered SYSTEMERROR, and the reverse refunded the
/// paid order. A salvaged order whose state no query told is never reversed.
#[test]
fn a_salvaged_order_no_query_could_read_needs_reconciliation_not_a_reverse() {
    let mut r = resumed_from_bytes(&torn("FP19ed42f301", JournalPhase::Concluded(Outcome::Paid)));
    // Every record the resumed session writes keeps the mark: a second power loss cannot
    // turn the salvaged order into an ordinary one.
    let records = persisted(&r.all.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>());
    assert!(!records.is_empty() && records.iter().all(JournalRecord::is_salvaged));
    let mut t = 0;
    while r.outcome().is_none() && t < 120_000 {
        t += 1_000;
        r.at(t);
        if r.s.state() == StateId::Querying && r.ids.contains_key(&Call::Query) {
            r.query_answer(Ok(query_system_error()));
            r.ids.remove(&Call::Query);
        }
    }
    assert_eq!(
        r.outcome(),
        Some((Outcome::NeedsReconciliation, Reason::JournalDamaged))
    );
    assert_eq!(reverses(&r), 0, "a salvaged order that may be paid is not reversed");
}

/// The same salvaged order, once a query has shown it not paid yet (USERPAYING), is
/// reversed as any ambiguous order is: it cannot have concluded Paid before.
#[test]
fn a_salvaged_order_seen_unpaid_is_reversed() {
    let mut r = resumed_from_bytes(&torn("FP-torn-2", JournalPhase::Submitting));
    let mut answered_userpaying = false;
    let mut t = 0;
    while reverses(&r) == 0 && r.outcome().is_none() && t < 120_000 {
        t += 1_000;
        r.at(t);
        if r.s.state() == StateId::Querying && r.ids.contains_key(&Call::Query) {
            let answer = if answered_userpaying {
                query_system_error()
            } else {
                answered_userpaying = true;
                query(TradeState::UserPaying)
            };
            r.query_answer(Ok(answer));
            r.ids.remove(&Call::Query);
        }
    }
    assert_eq!(reverses(&r), 1, "{:?}", r.outcome());
    let cmds = r.reverse_answer(Ok(reverse(ResultCode::Success, Some(codes::Recall::N), None)));
    assert_eq!(concluded(&cmds), Some((Outcome::Reversed, Reason::ReverseConfirmed)));
}

/// Found by the simulator (seed 11, session 344617 of a power-loss swarm): a reverse was
/// on its way when the power tore the Reversing record. The salvaged order's query found
/// it paid, the terminal concluded Paid, and the late reverse refunded it. A salvaged
/// order that a query finds paid is left to a person, with the transaction_id.
#[test]
fn a_salvaged_order_found_paid_needs_reconciliation_not_paid() {
    let mut r = resumed_from_bytes(&torn("FPe91abd9b01", JournalPhase::Reversing));
    let mut t = 0;
    while !r.ids.contains_key(&Call::Query) && t < 60_000 {
        t += 1_000;
        r.at(t);
    }
    let mut paid = query(TradeState::Success);
    paid.transaction_id = ok(TransactionId::new(Field::TransactionId, "42000000000000000001"));
    let cmds = r.query_answer(Ok(paid));
    assert_eq!(
        concluded(&cmds),
        Some((Outcome::NeedsReconciliation, Reason::JournalDamaged))
    );
    let conclusion = cmds.iter().find_map(|c| match c {
        Command::Notify(Notice::OrderConcluded(c)) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(
        conclusion.map(|c| c.transaction_id.to_string()),
        Some("42000000000000000001".to_string())
    );
    assert_eq!(reverses(&r), 0);
}
