//! Field logs as a fleet produces them (issue 15): cut anywhere, several sessions in one
//! file, a BOM, CRLF, blank lines, and headers old and new. Each case is built from the
//! corpus, so it holds WeChat's real field names.

use std::path::{Path, PathBuf};

use facepay_fsm::trace::{
    COMMIT, LIBRARY, LineErrorKind, TraceHeader, Verdict, replay_bytes, replay_sessions, split_sessions,
};

fn corpus(name: &str) -> Vec<u8> {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
    std::fs::read(dir.join(name)).unwrap()
}

fn corpus_files() -> Vec<PathBuf> {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    v
}

/// Line boundaries (byte offsets just after each `\n`), the header's excepted.
fn line_ends(bytes: &[u8]) -> Vec<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .skip(1)
        .collect()
}

#[test]
fn a_log_cut_at_a_line_boundary_mid_step_is_truncated_not_diverged() {
    // The case: the first 13 lines of 05 end between a step's commands.
    let bytes = corpus("05-systemerror-then-query-paid.jsonl");
    let cut = line_ends(&bytes)[11];
    let report = replay_bytes(&bytes[..cut], false);
    assert_eq!(report.verdict(), Verdict::Truncated, "{report}");
    let e = report.error.as_ref().unwrap();
    assert_eq!(e.line, 14, "{report}");
    assert!(
        matches!(e.kind, LineErrorKind::EndsMidStep { pending } if pending > 0),
        "{report}"
    );
    assert_eq!(report.records, 12);
    assert!(report.verdict_text("05").contains("truncated at line 14"), "{report}");
    // And at every line boundary of every corpus trace: exact or truncated, never diverged.
    for path in corpus_files() {
        let bytes = std::fs::read(&path).unwrap();
        for cut in line_ends(&bytes) {
            let report = replay_bytes(&bytes[..cut], false);
            assert!(
                matches!(report.verdict(), Verdict::Exact | Verdict::Truncated),
                "{} cut at byte {cut}: {report}",
                path.display()
            );
        }
    }
}

#[test]
fn a_log_cut_mid_line_is_truncated_everywhere() {
    for path in corpus_files() {
        let bytes = std::fs::read(&path).unwrap();
        let header_end = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
        for cut in (header_end + 1..bytes.len()).step_by(37) {
            // At a line boundary, or a whole line short of only its newline (complete
            // JSON: read as written).
            if bytes[cut - 1] == b'\n' || bytes[cut] == b'\n' || bytes[cut] == b'\r' {
                continue;
            }
            let report = replay_bytes(&bytes[..cut], false);
            assert_eq!(
                report.verdict(),
                Verdict::Truncated,
                "{} at {cut}: {report}",
                path.display()
            );
        }
    }
}

#[test]
fn empty_and_headerless_logs_are_unreadable_never_exact() {
    for (bytes, kind) in [
        (&b""[..], LineErrorKind::Empty),
        (&b"\n  \n"[..], LineErrorKind::Empty),
        (&b"\xEF\xBB\xBF"[..], LineErrorKind::Empty),
        // `printf '{"foo' > x`: a cut first line is not a log with 0 records.
        (&b"{\"foo"[..], LineErrorKind::TruncatedHeader),
        (&b"{\"t\":1,\"timeout\":null}\n"[..], LineErrorKind::MissingHeader),
    ] {
        let report = replay_bytes(bytes, false);
        assert_eq!(report.verdict(), Verdict::Unreadable, "{bytes:?}: {report}");
        assert_eq!(report.error.as_ref().unwrap().kind, kind, "{bytes:?}");
    }
}

#[test]
fn blank_lines_bom_and_crlf_are_read() {
    let good = corpus("01-paid-micropay.jsonl");
    let exact = |bytes: &[u8], what: &str| {
        let report = replay_bytes(bytes, false);
        assert_eq!(report.verdict(), Verdict::Exact, "{what}: {report}");
        assert_eq!(report.records, 17, "{what}");
    };
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"\n");
    exact(&trailing, "a trailing blank line");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(&good);
    exact(&bom, "a BOM");
    let crlf: Vec<u8> = good
        .iter()
        .flat_map(|&b| if b == b'\n' { vec![b'\r', b'\n'] } else { vec![b] })
        .collect();
    exact(&crlf, "CRLF");
}

#[test]
fn a_file_holding_several_sessions_replays_each() {
    // `cat 01 02 > a.jsonl`: the device appended a second session to the same file.
    let a = corpus("01-paid-micropay.jsonl");
    let b = corpus("18-resumed-after-power-loss.jsonl");
    let mut both = a.clone();
    both.extend_from_slice(&b);
    let slices = split_sessions(&both);
    assert_eq!(slices.len(), 2);
    let second = a.iter().filter(|x| **x == b'\n').count() + 1;
    assert_eq!(slices[1].first_line, second);
    let reports = replay_sessions(&both, false);
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_eq!(r.verdict(), Verdict::Exact, "{}", r.verdict_text("both"));
    }
    assert_eq!(reports[1].first_line, second);
    assert!(reports[1].header.as_ref().unwrap().resume.is_some());
    // The first session alone, as before, does not run into the second header.
    assert_eq!(replay_bytes(&both, false).verdict(), Verdict::Exact);
    // An error in the second session names the file's line.
    let mut bad = a.clone();
    let mut tail = b.clone();
    let at = tail.iter().position(|x| *x == b'\n').unwrap() + 1;
    tail.splice(at..at + 5, b"{\"q\":".iter().copied());
    bad.extend_from_slice(&tail);
    let reports = replay_sessions(&bad, false);
    let e = reports[1].error.as_ref().expect("second session unreadable");
    assert_eq!(e.line, second + 1, "{e}");
}

#[test]
fn the_header_names_the_writers_version_and_commit() {
    let header = TraceHeader::new(facepay_fsm::Policy::default(), serde_json::Map::new());
    assert_eq!(header.library, LIBRARY);
    assert_eq!(header.commit.as_deref(), Some(COMMIT));
    assert!(header.writer_differs().is_none());
    let json = serde_json::to_string(&header).unwrap();
    assert!(json.contains("\"commit\":"), "{json}");
    // An old header (no commit) from the same version reads, and says nothing.
    let old = corpus("01-paid-micropay.jsonl");
    let report = replay_bytes(&old, false);
    let h = report.header.as_ref().unwrap();
    assert_eq!(h.commit, None);
    assert!(h.writer_differs().is_none() || h.library != LIBRARY);
    // Another writer: both sides are named.
    let mut other = header.clone();
    other.library = "facepay-fsm 0.0.9".into();
    other.commit = Some("0123456789ab".into());
    let note = other.writer_differs().unwrap();
    assert!(
        note.contains("facepay-fsm 0.0.9 (0123456789ab)") && note.contains(LIBRARY),
        "{note}"
    );
}
