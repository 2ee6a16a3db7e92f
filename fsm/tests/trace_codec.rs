//! The trace codec's own rules, driven directly (the `tests` crate's corpus drives them
//! through whole traces): who wrote a trace, how a line's error reads, and which header
//! versions and record errors are told apart.
#![cfg(feature = "std")]

use facepay_fsm::Policy;
use facepay_fsm::trace::{COMMIT, LIBRARY, LineError, LineErrorKind, TraceHeader, parse_header, parse_record};

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
