//! The trace codec's own rules, driven directly (the `tests` crate's corpus drives them
//! through whole traces): who wrote a trace, how a line's error reads, and which header
//! versions and record errors are told apart.
#![cfg(feature = "std")]

use facepay_fsm::trace::{
    COMMIT, LIBRARY, LineError, LineErrorKind, Record, RecordingSession, Redaction, TraceHeader, TraceLines,
    TraceWriter, parse_header, parse_record, parse_trace, split_sessions,
};
use facepay_fsm::{AppEvent, Event, FaceCodeType, InitParams, Instant, Policy, Refusal, RequestError};
use serde::Deserialize;

fn header(library: &str, commit: Option<&str>) -> TraceHeader {
    let mut h = TraceHeader::new(Policy::default(), serde_json::Map::new());
    h.library = library.to_string();
    h.commit = commit.map(str::to_string);
    h
}

#[test]
fn a_trace_from_this_build_or_an_unknown_commit_is_not_flagged() {
    assert_eq!(header(LIBRARY, Some(COMMIT)).writer_differs(), None);
    assert_eq!(header(LIBRARY, None).writer_differs(), None);
    assert_eq!(header(LIBRARY, Some("")).writer_differs(), None);
}

#[test]
fn a_trace_from_another_commit_or_library_says_both_writers() {
    let other = header(LIBRARY, Some("0000000")).writer_differs();
    if COMMIT.is_empty() {
        // Built without git: this build's commit is unknown, so only the library counts.
        assert_eq!(other, None);
    } else {
        assert_eq!(
            other.as_deref(),
            Some(format!("written by {LIBRARY} (0000000), replayed by {LIBRARY} ({COMMIT})").as_str())
        );
    }
    let ours = if COMMIT.is_empty() {
        "commit unknown".to_string()
    } else {
        COMMIT.to_string()
    };
    assert_eq!(
        header("facepay-fsm 0.0.1", None).writer_differs(),
        Some(format!(
            "written by facepay-fsm 0.0.1 (commit unknown), replayed by {LIBRARY} ({ours})"
        ))
    );
}

#[test]
fn a_line_error_reads_line_column_and_what() {
    let e = LineError {
        line: 3,
        column: 5,
        kind: LineErrorKind::Truncated,
    };
    assert_eq!(
        e.to_string(),
        "line 3, column 5: truncated: the last line ends early (power loss?)"
    );
    assert!(e.kind.is_cut());
    assert!(LineErrorKind::EndsMidStep { pending: 1 }.is_cut());
    assert!(!LineErrorKind::Empty.is_cut());
    assert!(!LineErrorKind::TruncatedHeader.is_cut());
}

fn header_line(version: &str) -> String {
    let policy = serde_json::to_string(&Policy::default()).expect("a policy serialises");
    format!(
        r#"{{"format":"facepay-trace","version":{version},"library":"{LIBRARY}","policy":{policy},"terminal":{{}}}}"#
    )
}

#[test]
fn only_version_1_is_read_and_a_newer_one_says_so() {
    assert!(parse_header(header_line("1").as_bytes(), false).is_ok());
    for bad in ["0", "\"1\"", "1.5"] {
        let e = parse_header(header_line(bad).as_bytes(), false).expect_err(bad);
        assert_eq!(
            (e.line, e.kind),
            (1, LineErrorKind::Invalid("`version` must be the integer 1".to_string())),
            "{bad}"
        );
    }
    let e = parse_header(header_line("2").as_bytes(), false).expect_err("newer");
    assert_eq!(e.kind, LineErrorKind::FutureVersion { found: 2, supported: 1 });
}

#[test]
fn a_record_of_the_wrong_shape_is_invalid_not_an_unknown_kind() {
    let e = parse_record(br#"{"t":"soon","timeout":null}"#, 4, false).expect_err("t is not a number");
    assert_eq!(e.line, 4);
    assert!(matches!(e.kind, LineErrorKind::Invalid(_)), "{:?}", e.kind);
    let e = parse_record(br#"{"t":5,"teleport":{}}"#, 4, false).expect_err("no such record");
    assert!(matches!(e.kind, LineErrorKind::UnknownKind(_)), "{:?}", e.kind);
}

/// Blank lines before a session's header are skipped, and every line number counts them.
#[test]
fn blank_lines_before_the_header_are_skipped_and_counted() {
    let file = format!("\n  \n{}\n{{\"t\":0,\"timeout\":null}}\n", header_line("1"));
    let slices = split_sessions(file.as_bytes());
    assert_eq!(slices.len(), 1);
    assert_eq!(slices[0].first_line, 3, "the header's line, not the first blank one");
    assert!(slices[0].bytes.starts_with(b"{\"format\""));

    let (_, mut lines) = TraceLines::new(file.as_bytes()).expect("the header after the blanks reads");
    assert_eq!(lines.line(), 3, "the header's line");
    let (line, _) = lines.next().expect("a record").expect("it reads");
    assert_eq!((line, lines.line()), (4, 4));
    assert!(lines.next().is_none());
}

#[test]
fn a_file_of_blank_lines_is_empty_at_its_last_line() {
    let e = TraceLines::new(b"\n\n\n").expect_err("no header");
    assert_eq!((e.line, e.kind), (3, LineErrorKind::Empty));
    let e = TraceLines::at_line(b"", 7).expect_err("nothing at all");
    assert_eq!((e.line, e.kind), (7, LineErrorKind::Empty));
}

#[test]
fn a_record_that_is_not_a_map_says_what_a_record_is() {
    let e = parse_record(b"5", 2, false).expect_err("not a record");
    assert!(e.to_string().contains("expected a trace record"), "{e}");
    // A key that is not a string (possible in formats other than JSON).
    let keys = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new([(1u32, 5u32)].into_iter());
    let e = Record::deserialize(keys).expect_err("a number is not a record key");
    assert!(e.to_string().contains("expected a record key"), "{e}");
}

#[test]
fn parse_trace_counts_the_lines_with_or_without_a_last_newline() {
    let file = format!("{}\n{{\"t\":0,\"timeout\":null}}\n", header_line("1"));
    assert_eq!(parse_trace(file.as_bytes()).lines, 2);
    assert_eq!(parse_trace(file.trim_end().as_bytes()).lines, 2);
}

fn new_header() -> TraceHeader {
    TraceHeader::new(Policy::default(), serde_json::Map::new())
}

#[test]
fn the_writer_records_timeouts_and_later_sessions_and_flushes_its_output() {
    let out = std::io::BufWriter::new(Vec::new());
    let mut w = TraceWriter::new(out, &new_header().named("s1"), Redaction::Raw).expect("header");
    w.timeout(Instant(5)).expect("a record");
    w.begin_session(&new_header().named("s2")).expect("a second header");
    w.begin_resumed(Instant(9), Some(&[0xab, 0x01]), Some("s3".to_string()))
        .expect("a third");
    assert!(w.get_ref().get_ref().is_empty(), "still buffered");
    w.flush().expect("flushed");
    let text = String::from_utf8(w.get_ref().get_ref().clone()).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[1], r#"{"t":5,"timeout":null}"#);
    let s2 = parse_header(lines[2].as_bytes(), false).expect("a header");
    assert_eq!(s2.session.as_deref(), Some("s2"));
    let s3 = parse_header(lines[3].as_bytes(), false).expect("a header");
    assert_eq!(
        (s3.session.as_deref(), s3.continues.as_deref()),
        (Some("s3"), Some("s2"))
    );
    let resume = s3.resume.expect("resumed");
    assert_eq!((resume.at, resume.bytes()), (Instant(9), Some(vec![0xab, 0x01])));
}

#[test]
fn a_recorded_request_is_refused_as_the_session_refuses_it() {
    let mut s = RecordingSession::create(Vec::new(), &new_header(), Redaction::Placeholders).expect("header");
    let order = AppEvent::StartOrder(facepay_fsm::testing::order("T1", 100, FaceCodeType::Micropay));
    assert_eq!(
        s.request(Instant(0), order),
        Err(RequestError::Refused(Refusal::NotStarted))
    );
}

#[test]
fn the_proxy_password_is_never_written_under_placeholders() {
    let mut w = TraceWriter::new(Vec::new(), &new_header(), Redaction::Placeholders).expect("header");
    let init = InitParams {
        passwd: "hunter2".parse().expect("fits"),
        ..InitParams::default()
    };
    let start = Event::App(AppEvent::Start {
        init,
        merchant: facepay_fsm::testing::merchant(),
    });
    w.input(Instant(0), &start).expect("a record");
    let text = String::from_utf8(w.into_inner()).expect("UTF-8");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("[secret 1]"), "{text}");
}

/// A log that takes the header, then fails every write (a full or unmounted card).
struct FailsAfterHeader {
    header_written: bool,
}

impl std::io::Write for FailsAfterHeader {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.header_written {
            return Err(std::io::Error::other("the card is full"));
        }
        self.header_written = true;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_log_never_stops_the_session_and_is_reported() {
    let out = FailsAfterHeader { header_written: false };
    let mut s = RecordingSession::create(out, &new_header(), Redaction::Placeholders).expect("the header fits");
    assert!(s.log_error().is_none());
    let start = AppEvent::Start {
        init: InitParams::default(),
        merchant: facepay_fsm::testing::merchant(),
    };
    assert_eq!(s.request(Instant(0), start), Ok(()), "the session goes on");
    while s.poll_command().is_some() {}
    let e = s.log_error().expect("the first failed write is kept");
    assert_eq!(e.to_string(), "the card is full");
}

#[test]
fn a_recording_session_flushes_its_log() {
    let out = std::io::BufWriter::new(Vec::new());
    let mut s = RecordingSession::create(out, &new_header(), Redaction::Placeholders).expect("header");
    s.flush().expect("flushed");
    let (_, writer, error) = s.into_parts();
    assert!(error.is_none());
    let text = String::from_utf8(writer.get_ref().get_ref().clone()).expect("UTF-8");
    assert!(text.starts_with("{\"format\":\"facepay-trace\""), "{text}");
}
