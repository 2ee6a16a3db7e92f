//! The replay engine: a fresh machine under the header's policy takes the trace's inputs at
//! their times, and every command it emits must equal the recorded one, in order.

use core::fmt;
use std::boxed::Box;
use std::collections::VecDeque;
use std::vec::Vec;

use super::header::TraceHeader;
use super::record::{Record, RecordKind, RecordedTimer};
use crate::command::{Command, Conclusion, Notice};
use crate::event::Event;
use crate::journal::JournalRecord;
use crate::session::{HandleError, Session};
use crate::state::StateId;
use crate::text::OutTradeNo;
use crate::time::Instant;
use crate::timer::Timer;

/// Where replay first disagrees with the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The trace line (1-based) of the record that disagrees; for a command the machine
    /// emitted after the last record, the line after the last one.
    pub line: usize,
    /// The time of the step.
    pub t: Instant,
    /// The machine's state at that point.
    pub state: StateId,
    /// What differs.
    pub mismatch: Mismatch,
}

/// What differs at a [`Divergence`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The machine emitted another command than the recorded one.
    Command {
        /// Recorded.
        expected: Box<Command>,
        /// Emitted by the replayed machine.
        actual: Box<Command>,
    },
    /// The trace records a command the machine did not emit.
    Missing {
        /// Recorded.
        expected: Box<Command>,
    },
    /// The machine emitted a command the trace does not have (the trace moves on to its
    /// next input, or ends).
    Unexpected {
        /// Emitted by the replayed machine.
        actual: Box<Command>,
    },
    /// Another timer fired than the recorded one.
    Timer {
        /// Recorded.
        expected: Option<RecordedTimer>,
        /// Fired in replay.
        actual: Option<Timer>,
    },
    /// The machine refused the input (cannot happen when replay drains; reported, not
    /// panicked on).
    Refused(HandleError),
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} (t={}, state {}): ", self.line, self.t.0, self.state.path())?;
        let json = |c: &Command| serde_json::to_string(c).unwrap_or_default();
        match &self.mismatch {
            Mismatch::Command { expected, actual } => write!(
                f,
                "command differs\n  expected: {}\n  actual:   {}",
                json(expected),
                json(actual)
            ),
            Mismatch::Missing { expected } => {
                write!(f, "the machine emitted nothing\n  expected: {}", json(expected))
            }
            Mismatch::Unexpected { actual } => {
                write!(f, "the trace has no such command\n  actual:   {}", json(actual))
            }
            Mismatch::Timer { expected, actual } => {
                write!(
                    f,
                    "another timer fired\n  expected: {}\n  actual:   {}",
                    serde_json::to_string(expected).unwrap_or_default(),
                    serde_json::to_string(actual).unwrap_or_default()
                )
            }
            Mismatch::Refused(e) => write!(f, "the machine refused the input: {e}"),
        }
    }
}

/// What started a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepInput {
    /// An input event.
    Event(Event),
    /// `handle_timeout`; the timer that fired (`None`: nothing was due).
    Timeout(Option<Timer>),
}

/// One step of a replay, for transcripts and diagrams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayStep {
    /// The input's line.
    pub line: usize,
    /// Its time.
    pub t: Instant,
    /// The input.
    pub input: StepInput,
    /// The commands the machine emitted, in order.
    pub commands: Vec<Command>,
    /// The state after the step.
    pub state: StateId,
    /// The next timer armed after the step.
    pub next_timer: Option<(Timer, Instant)>,
}

/// Every step of a replay, in order.
pub type Transcript = Vec<ReplayStep>;

/// Replays records one at a time. Build it from the header, [`Replayer::feed`] each record
/// in order with its line number, then [`Replayer::finish`].
#[derive(Debug)]
pub struct Replayer {
    session: Session,
    pending: VecDeque<Command>,
    transcript: Option<Transcript>,
    conclusions: Vec<Conclusion>,
    amounts: Vec<(OutTradeNo, u32)>,
    last_line: usize,
    t: Instant,
}

impl Replayer {
    /// A fresh machine under `header.policy`; `transcript` keeps every step (for
    /// `--explain` and diagrams).
    pub fn new(header: &TraceHeader, transcript: bool) -> Self {
        Self::at_line(header, 1, transcript)
    }

    /// As [`Replayer::new`] for a session whose header is on file line `header_line`.
    pub fn at_line(header: &TraceHeader, header_line: usize, transcript: bool) -> Self {
        // A resumed session starts from the journal it was resumed from; the reader has
        // checked that the bytes are hex.
        let (mut session, t) = match &header.resume {
            Some(r) => (
                Session::resume_from_bytes(header.policy, &r.bytes().unwrap_or_default(), r.at).0,
                r.at,
            ),
            None => (Session::new(header.policy), Instant(0)),
        };
        // Replay runs the handshake so a recorded failed write is reproduced; a trace
        // without `persisted` records counts each write as done (`Replayer::feed`).
        session.await_persist_acks();
        let mut pending = VecDeque::new();
        while let Some(c) = session.poll_command() {
            pending.push_back(c);
        }
        Replayer {
            session,
            pending,
            transcript: transcript.then(Vec::new),
            conclusions: Vec::new(),
            // A resumed order's amount is in the journal it resumed from.
            amounts: header
                .resume
                .as_ref()
                .and_then(|r| JournalRecord::decode(&r.bytes()?).ok())
                .map(|j| (j.out_trade_no, j.total_fee))
                .into_iter()
                .collect(),
            last_line: header_line,
            t,
        }
    }

    /// Takes the record on `line`. Stop at the first `Err`.
    pub fn feed(&mut self, line: usize, record: &Record) -> Result<(), Divergence> {
        self.last_line = line;
        if let RecordKind::Persisted(result) = &record.kind {
            return match self.session.persisted(record.t, *result) {
                Ok(()) => {
                    self.release_held();
                    Ok(())
                }
                Err(e) => Err(self.diverge(line, Mismatch::Refused(e))),
            };
        }
        self.assume_written();
        match &record.kind {
            RecordKind::Output(expected) => match self.pending.pop_front() {
                Some(actual) if actual == *expected => {
                    match &actual {
                        Command::Notify(Notice::OrderConcluded(c)) => self.conclusions.push(c.clone()),
                        Command::Persist(j) if !self.amounts.iter().any(|(o, _)| *o == j.out_trade_no) => {
                            self.amounts.push((j.out_trade_no.clone(), j.total_fee));
                        }
                        _ => {}
                    }
                    Ok(())
                }
                Some(actual) => Err(self.diverge(
                    line,
                    Mismatch::Command {
                        expected: Box::new(expected.clone()),
                        actual: Box::new(actual),
                    },
                )),
                None => Err(self.diverge(
                    line,
                    Mismatch::Missing {
                        expected: Box::new(expected.clone()),
                    },
                )),
            },
            RecordKind::Input(event) => {
                self.check_drained(line)?;
                self.t = record.t;
                if let Err(e) = self.session.handle(record.t, event) {
                    return Err(self.diverge(line, Mismatch::Refused(e)));
                }
                self.step(line, record.t, || StepInput::Event(event.clone()));
                Ok(())
            }
            RecordKind::Timeout(expected) => {
                self.check_drained(line)?;
                self.t = record.t;
                let due = record.t.max(self.session.now());
                let actual = self.session.next_timer().filter(|&(_, at)| at <= due).map(|(t, _)| t);
                if expected.is_some_and(|e| !e.matches(actual)) {
                    return Err(self.diverge(
                        line,
                        Mismatch::Timer {
                            expected: *expected,
                            actual,
                        },
                    ));
                }
                // One record, one firing: a later due timer has its own record.
                if let Err(e) = self.session.fire_next_timer(record.t) {
                    return Err(self.diverge(line, Mismatch::Refused(e)));
                }
                self.step(line, record.t, || StepInput::Timeout(actual));
                Ok(())
            }
            RecordKind::Persisted(_) => Ok(()),
        }
    }

    /// Takes the commands a write report released, as the rest of the last step.
    fn release_held(&mut self) {
        let start = self.pending.len();
        while let Some(c) = self.session.poll_command() {
            self.pending.push_back(c);
        }
        if let Some(last) = self.transcript.as_mut().and_then(|steps| steps.last_mut()) {
            last.commands.extend(self.pending.iter().skip(start).cloned());
            last.state = self.session.state();
            last.next_timer = self.session.next_timer();
        }
    }

    /// Ends the replay: every command the machine emitted must have been recorded.
    pub fn finish(&mut self) -> Result<(), Divergence> {
        self.end_of_log();
        self.check_drained(self.last_line + 1)
    }

    /// The log ended: a journal write it never reported counts as done (a trace from
    /// before the handshake), and the commands it held join [`Replayer::pending`].
    pub fn end_of_log(&mut self) {
        self.assume_written();
    }

    /// Once the Persist is matched, a record other than its report means the write was
    /// not recorded (a trace from before the handshake): it counts as done.
    fn assume_written(&mut self) {
        if self.pending.is_empty() && self.session.awaiting_persist().is_some() {
            let at = self.session.now();
            // Cannot fail: a write is awaited.
            let _ = self.session.persisted(at, Ok(()));
            self.release_held();
        }
    }

    /// Commands the machine emitted that no record has matched yet. At the end of a log
    /// they mean the log was cut mid-step (no record contradicts them), not a divergence.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The first of the [`Replayer::pending`] commands, if any.
    pub fn next_pending(&self) -> Option<&Command> {
        self.pending.front()
    }

    /// The line of the last record fed.
    pub fn last_line(&self) -> usize {
        self.last_line
    }

    /// The orders concluded so far (from the matched `order_concluded` notices).
    pub fn conclusions(&self) -> &[Conclusion] {
        &self.conclusions
    }

    /// Each journalled order's `total_fee` (fen), from its first matched journal record
    /// (or the journal a resumed session started from), in order.
    pub fn amounts(&self) -> &[(OutTradeNo, u32)] {
        &self.amounts
    }

    /// The machine's current state.
    pub fn state(&self) -> StateId {
        self.session.state()
    }

    /// The steps so far, if kept.
    pub fn transcript(&self) -> Option<&Transcript> {
        self.transcript.as_ref()
    }

    /// Gives up the transcript.
    pub fn take_transcript(&mut self) -> Transcript {
        self.transcript.take().unwrap_or_default()
    }

    fn check_drained(&mut self, line: usize) -> Result<(), Divergence> {
        match self.pending.pop_front() {
            Some(actual) => Err(self.diverge(
                line,
                Mismatch::Unexpected {
                    actual: Box::new(actual),
                },
            )),
            None => Ok(()),
        }
    }

    fn step(&mut self, line: usize, t: Instant, input: impl FnOnce() -> StepInput) {
        let start = self.pending.len();
        while let Some(c) = self.session.poll_command() {
            self.pending.push_back(c);
        }
        if let Some(steps) = &mut self.transcript {
            steps.push(ReplayStep {
                line,
                t,
                input: input(),
                commands: self.pending.iter().skip(start).cloned().collect(),
                state: self.session.state(),
                next_timer: self.session.next_timer(),
            });
        }
    }

    fn diverge(&self, line: usize, mismatch: Mismatch) -> Divergence {
        Divergence {
            line,
            t: self.t,
            state: self.session.state(),
            mismatch,
        }
    }
}
