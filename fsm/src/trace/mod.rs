//! Field logs (trace format v1): a recorder that writes what a session saw and did as JSON
//! Lines, a reader that names the line and column of anything it cannot read, and a replay
//! engine that feeds a trace's inputs to a fresh [`Session`](crate::Session) and reports
//! the first command that differs. `docs/trace-format.md` describes the format.
//!
//! Only with the `std` feature: the machine itself stays `no_std`.

mod header;
mod reader;
mod record;
mod redaction;
mod replay;
mod report;
mod writer;

pub use header::{COMMIT, FORMAT_NAME, FORMAT_VERSION, LIBRARY, TraceHeader, TraceResume};
pub use reader::{
    LineError, LineErrorKind, ParsedTrace, SessionSlice, TraceLines, parse_header, parse_header_at, parse_record,
    parse_trace, split_sessions,
};
pub use record::{Record, RecordKind, RecordedTimer};
pub use redaction::{Redaction, Redactor};
pub use replay::{Divergence, Mismatch, ReplayStep, Replayer, StepInput, Transcript};
pub use report::{ReplayReport, Verdict, replay_bytes, replay_sessions};
pub use writer::{RecordingSession, TraceWriter};
