//! A whole trace from memory, replayed: the verdict the `replay` tool prints and tests
//! snapshot, and the transcript behind `--explain`.

use core::fmt::{self, Write as _};
use std::string::String;
use std::vec::Vec;

use super::header::TraceHeader;
use super::reader::{LineError, LineErrorKind, TraceLines, split_sessions};
use super::replay::{Divergence, Replayer, StepInput, Transcript};
use crate::command::Conclusion;
use crate::state::StateId;
use crate::text::OutTradeNo;

/// The result of replaying one trace.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayReport {
    /// The file line of the session's header (1 unless the file holds several sessions).
    pub first_line: usize,
    /// The header, when its line was one.
    pub header: Option<TraceHeader>,
    /// Records replayed (matched) before the end, the first error or the divergence.
    pub records: usize,
    /// The first divergence, if any.
    pub divergence: Option<Divergence>,
    /// The first line that could not be read (a truncated last line included).
    pub error: Option<LineError>,
    /// Orders concluded during the replay.
    pub conclusions: Vec<Conclusion>,
    /// Each journalled order's `total_fee` in fen (see [`super::Replayer::amounts`]).
    pub amounts: Vec<(OutTradeNo, u32)>,
    /// The state at the end of the replay.
    pub final_state: Option<StateId>,
    /// Every step, when asked for.
    pub transcript: Transcript,
}

/// How a replay ended, from the worst finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every command matched.
    Exact,
    /// Everything the log holds matched, but it was cut short: mid-line, or at a line
    /// boundary in the middle of a step.
    Truncated,
    /// The machine decided differently.
    Diverged,
    /// A line could not be read (the part before it was replayed).
    Unreadable,
}

impl ReplayReport {
    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        match (&self.divergence, &self.error) {
            (Some(_), _) => Verdict::Diverged,
            (None, Some(e)) if e.kind.is_cut() => Verdict::Truncated,
            (None, Some(_)) => Verdict::Unreadable,
            (None, None) => Verdict::Exact,
        }
    }

    /// True for [`Verdict::Exact`] and [`Verdict::Truncated`]: today's machine decides
    /// exactly as the recorded one did.
    pub fn is_exact(&self) -> bool {
        matches!(self.verdict(), Verdict::Exact | Verdict::Truncated)
    }

    /// The verdict, one line (plus the divergence's detail lines), naming `file`.
    pub fn verdict_text(&self, file: &str) -> String {
        let mut s = String::new();
        if let Some(e) = &self.error {
            let _ = writeln!(s, "{file}:{}:{}: {}", e.line, e.column, e.kind);
        }
        let outcomes = self.outcomes_text();
        let _ = match (self.verdict(), &self.divergence) {
            (Verdict::Exact, _) => writeln!(s, "{file}: exact, {} records; {outcomes}", self.records),
            (Verdict::Truncated, _) => writeln!(
                s,
                "{file}: truncated at line {}, the {} records before it replay exactly; {outcomes}",
                self.error.as_ref().map_or(0, |e| e.line),
                self.records
            ),
            (Verdict::Unreadable, _) => writeln!(
                s,
                "{file}: unreadable; the {} records before the bad line replay exactly; {outcomes}",
                self.records
            ),
            (Verdict::Diverged, Some(d)) => writeln!(s, "{file}: DIVERGES at {d}"),
            (Verdict::Diverged, None) => Ok(()),
        };
        s
    }

    /// `outcomes: T1 Paid (submit_succeeded), ...; final state Online/Idle`.
    pub fn outcomes_text(&self) -> String {
        let mut s = String::from("outcomes: ");
        if self.conclusions.is_empty() {
            s.push_str("none");
        }
        for (i, c) in self.conclusions.iter().enumerate() {
            let _ = write!(
                s,
                "{}{} {} ({})",
                if i > 0 { ", " } else { "" },
                c.out_trade_no,
                c.outcome,
                c.reason
            );
        }
        if let Some(state) = self.final_state {
            let _ = write!(s, "; final state {}", state.path());
        }
        s
    }

    /// The transcript: each input with its line and time, the commands it produced, the
    /// state after it and the next timer.
    pub fn transcript_text(&self) -> String {
        let mut s = String::new();
        let json = |v: &dyn erased::Json| v.json();
        for step in &self.transcript {
            let input = match &step.input {
                StepInput::Event(e) => std::format!("input   {}", json(e)),
                StepInput::Timeout(Some(t)) => std::format!("timeout {}", json(t)),
                StepInput::Timeout(None) => String::from("timeout (nothing due)"),
            };
            let _ = writeln!(s, "L{:<4} t={:<8} {input}", step.line, step.t.0);
            for c in &step.commands {
                let _ = writeln!(s, "{:20} output  {}", "", json(c));
            }
            let timer = match step.next_timer {
                Some((t, at)) => std::format!("; next {} at {}", json(&t).trim_matches('"'), at.0),
                None => String::new(),
            };
            let _ = writeln!(s, "{:20} state   {}{timer}", "", step.state.path());
        }
        s
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.verdict_text("trace"))
    }
}

mod erased {
    /// Compact JSON of anything serializable, for transcripts.
    pub(super) trait Json {
        fn json(&self) -> std::string::String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> std::string::String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// Replays the first session in `bytes` against a fresh machine built from its header's
/// policy (see [`replay_sessions`] for a file holding several). Never panics.
/// `transcript` keeps every step (slower; for `--explain` and diagrams).
pub fn replay_bytes(bytes: &[u8], transcript: bool) -> ReplayReport {
    let first = split_sessions(bytes).into_iter().next();
    let (first_line, bytes) = first.map_or((1, &[][..]), |s| (s.first_line, s.bytes));
    replay_session(bytes, first_line, transcript)
}

/// Replays every session of a trace file, split at each header ([`split_sessions`]):
/// one report per session, in file order. Never panics.
pub fn replay_sessions(bytes: &[u8], transcript: bool) -> Vec<ReplayReport> {
    split_sessions(bytes)
        .into_iter()
        .map(|s| replay_session(s.bytes, s.first_line, transcript))
        .collect()
}

/// Replays one session whose header is on file line `first_line`.
fn replay_session(bytes: &[u8], first_line: usize, transcript: bool) -> ReplayReport {
    let mut report = ReplayReport {
        first_line,
        header: None,
        records: 0,
        divergence: None,
        error: None,
        conclusions: Vec::new(),
        amounts: Vec::new(),
        final_state: None,
        transcript: Vec::new(),
    };
    let (header, lines) = match TraceLines::at_line(bytes, first_line) {
        Ok(x) => x,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    let mut replayer = Replayer::at_line(&header, first_line, transcript);
    report.header = Some(header);
    for item in lines {
        match item {
            Ok((line, record)) => match replayer.feed(line, &record) {
                Ok(()) => report.records += 1,
                Err(d) => {
                    report.divergence = Some(d);
                    break;
                }
            },
            Err(e) => {
                report.error = Some(e);
                break;
            }
        }
    }
    // Commands the machine still owes at the end of the log: no record contradicts them,
    // so the log was cut mid-step (each line is one write; a power cut stops between two).
    if report.divergence.is_none() && report.error.is_none() {
        replayer.end_of_log();
    }
    if report.divergence.is_none() && report.error.is_none() && replayer.pending() > 0 {
        report.error = Some(LineError {
            line: replayer.last_line() + 1,
            column: 1,
            kind: LineErrorKind::EndsMidStep {
                pending: replayer.pending(),
            },
        });
    }
    report.conclusions = replayer.conclusions().to_vec();
    report.amounts = replayer.amounts().to_vec();
    report.final_state = Some(replayer.state());
    report.transcript = replayer.take_transcript();
    report
}
