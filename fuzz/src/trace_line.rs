//! `trace_line`: arbitrary bytes into the trace reader, as one line and as a whole trace.
//!
//! Asserts: nothing panics (`parse_record`, `parse_header`, `parse_trace`, `replay_bytes`);
//! an error names a line within the buffer and a column of at least 1; a record that parses
//! writes back to JSON that parses to the same record; `parse_trace` keeps records in time
//! order.

use facepay_fsm::trace::{self, Record};

/// Checks `data` as a line and as a trace.
pub fn run(data: &[u8]) {
    let lines = data.split(|&b| b == b'\n').count();
    for last in [false, true] {
        match trace::parse_record(data, 1, last) {
            Ok(r) => round_trip(&r),
            Err(e) => assert!(e.line == 1 && e.column >= 1, "{e:?}"),
        }
        if let Err(e) = trace::parse_header(data, last) {
            assert!(e.line == 1 && e.column >= 1, "{e:?}");
        }
    }

    let parsed = trace::parse_trace(data);
    assert!(parsed.lines <= lines);
    let mut t = 0;
    for (line, r) in &parsed.records {
        assert!(*line >= 2 && *line <= lines, "record on line {line} of {lines}");
        assert!(r.t.0 >= t, "parse_trace let time go backwards");
        t = r.t.0;
        round_trip(r);
    }
    if let Some(e) = &parsed.error {
        assert!(
            e.line >= 1 && e.line <= lines.max(1) && e.column >= 1,
            "{e:?} in {lines} lines"
        );
    }

    // Replay feeds the records to a fresh session; whatever they say, no panic.
    let report = trace::replay_bytes(data, false);
    let _ = report.to_string();
}

fn round_trip(r: &Record) {
    let json = serde_json::to_string(r).expect("a record serialises");
    let back = trace::parse_record(json.as_bytes(), 1, false)
        .unwrap_or_else(|e| panic!("a record's own JSON does not parse: {e}\n{json}"));
    assert_eq!(&back, r, "a record changed through its JSON: {json}");
}
