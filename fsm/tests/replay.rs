//! The replayer's end-of-log rules, driven directly (the corpus in `tests/traces` drives
//! them through the CLI): a log that stops after a journal write owes the commands the
//! write held, and a log that breaks mid-write does not get them.
#![cfg(feature = "std")]

use facepay_fsm::trace::{LineErrorKind, Mismatch, Replayer, TraceLines, replay_bytes};
use facepay_fsm::{BackendCall, Command};

/// A paid micropay session: line 14 is the pre-submit journal write, line 15 the submit
/// it held, line 18 the conclusion.
const PAID: &str = include_str!("../../tests/traces/01-paid-micropay.jsonl");

/// The first `n` lines of [`PAID`], each with its newline.
fn first_lines(n: usize) -> String {
    PAID.lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn is_submit(c: &Command) -> bool {
    matches!(
        c,
        Command::Backend {
            call: BackendCall::Submit { .. },
            ..
        }
    )
}

/// Feeds lines 2..=`last` of [`PAID`] to a fresh replayer.
fn fed_through(last: usize) -> Replayer {
    fed_through_keeping(last, false)
}

/// As [`fed_through`], keeping the transcript if asked.
fn fed_through_keeping(last: usize, transcript: bool) -> Replayer {
    let (header, lines) = TraceLines::new(PAID.as_bytes()).expect("the corpus header reads");
    let mut replayer = Replayer::new(&header, transcript);
    for item in lines.take_while(|r| r.as_ref().map_or(true, |(line, _)| *line <= last)) {
        let (line, record) = item.expect("the corpus reads");
        replayer.feed(line, &record).expect("the corpus replays");
    }
    replayer
}

#[test]
fn finish_reports_the_submit_a_log_cut_after_the_journal_write_never_recorded() {
    let mut cut = fed_through(14);
    let d = cut.finish().expect_err("the held submit was never recorded");
    assert_eq!(d.line, 15, "the line after the last one read");
    match d.mismatch {
        Mismatch::Unexpected { actual } => assert!(is_submit(&actual), "{actual:?}"),
        other => panic!("expected the unrecorded submit, got {other:?}"),
    }

    let mut whole = fed_through(18);
    assert_eq!(whole.finish(), Ok(()), "every command of the whole log is recorded");
}

#[test]
fn a_log_cut_after_the_journal_write_ends_mid_step_with_the_held_submit_released() {
    let report = replay_bytes(first_lines(14).as_bytes(), true);
    assert_eq!(report.divergence, None);
    let error = report.error.expect("a cut log is reported");
    assert_eq!(
        (error.line, error.kind),
        (15, LineErrorKind::EndsMidStep { pending: 1 })
    );
    let transcript = report.transcript;
    let last = transcript.last().expect("steps");
    assert_eq!(last.line, 13, "the face code's step");
    assert_eq!(last.commands.len(), 2, "{:?}", last.commands);
    assert!(is_submit(&last.commands[1]), "the write's held submit joins its step");
}

#[test]
fn a_broken_line_after_the_journal_write_leaves_the_held_submit_unreleased() {
    // The log is not trusted past a line it cannot read: the write is not assumed done,
    // so the submit it held is neither owed nor shown as sent.
    let bytes = first_lines(14) + "{\"t\":5000,\"output\":\n";
    let report = replay_bytes(bytes.as_bytes(), true);
    assert_eq!(report.divergence, None);
    let error = report.error.expect("the broken line is reported");
    assert_eq!(error.line, 15);
    assert!(
        !matches!(error.kind, LineErrorKind::EndsMidStep { .. }),
        "{:?}",
        error.kind
    );
    let transcript = report.transcript;
    let last = transcript.last().expect("steps");
    assert_eq!(last.line, 13);
    assert_eq!(last.commands.len(), 1, "only the journal write: {:?}", last.commands);
    assert!(matches!(last.commands[0], Command::Persist(_)));
}

#[test]
fn the_replayer_keeps_each_orders_amount_once_and_every_step() {
    let whole = fed_through_keeping(18, true);
    // Two journal writes of T01 (submitting, concluded): one amount.
    assert_eq!(whole.amounts().len(), 1);
    assert_eq!((whole.amounts()[0].0.as_str(), whole.amounts()[0].1), ("T01", 100));
    assert_eq!(whole.conclusions().len(), 1);
    // One step per input or timeout record: lines 2, 4, 6, 8, 10, 11, 13, 16.
    let steps: Vec<usize> = whole.transcript().expect("kept").iter().map(|s| s.line).collect();
    assert_eq!(steps, [2, 4, 6, 8, 10, 11, 13, 16]);
    assert!(fed_through(18).transcript().is_none(), "not kept unless asked");

    let mut cut = fed_through(14);
    assert_eq!(cut.next_pending(), None, "the write is awaited: its submit is held");
    cut.end_of_log();
    assert_eq!(cut.pending(), 1);
    assert!(cut.next_pending().is_some_and(is_submit));
}

#[test]
fn a_replay_report_says_whether_the_machine_decided_as_recorded() {
    let exact = replay_bytes(PAID.as_bytes(), false);
    assert!(exact.is_exact(), "{exact}");
    assert!(exact.to_string().contains("trace"), "{exact}");
    // Without the concluding journal write the machine's next command is not the log's.
    let diverging: String = PAID
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 16)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let report = replay_bytes(diverging.as_bytes(), false);
    assert!(report.divergence.is_some());
    assert!(!report.is_exact(), "{report}");
    assert_ne!(report.to_string(), exact.to_string());
}
