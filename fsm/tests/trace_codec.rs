//! The trace codec's own rules, driven directly (the `tests` crate's corpus drives them
//! through whole traces): who wrote a trace, how a line's error reads, and which header
//! versions and record errors are told apart.
#![cfg(feature = "std")]

use facepay_fsm::Policy;
use facepay_fsm::trace::{
    COMMIT, LIBRARY, LineError, LineErrorKind, TraceHeader, TraceLines, parse_header, parse_record, split_sessions,
};

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
