//! The recorder: writes a trace to any `std::io::Write` as the machine runs.

use std::io::{self, Write};
use std::string::String;
use std::vec::Vec;

use super::header::TraceHeader;
use super::record::{KindRef, RecordRef, RecordedTimer};
use super::redaction::{Redaction, Redactor};
use crate::command::Command;
use crate::event::{AppEvent, Event};
use crate::policy::Policy;
use crate::request::RequestError;
use crate::session::{HandleError, PersistError, Polled, Session};
use crate::state::StateId;
use crate::time::Instant;
use crate::timer::Timer;

/// Writes a trace: the header on creation, then one line per call. Each line goes to the
/// writer in a single `write_all`, so a power cut leaves at most one partial last line
/// (which the reader reports as truncated). Buffer or flush as the host sees fit.
#[derive(Debug)]
pub struct TraceWriter<W: Write> {
    out: W,
    header: TraceHeader,
    policy: Policy,
    redactor: Option<Redactor>,
    line: Vec<u8>,
}

impl<W: Write> TraceWriter<W> {
    /// Writes `header` (with `redaction` noted in it) to `out` and returns the writer.
    pub fn new(out: W, header: &TraceHeader, redaction: Redaction) -> io::Result<Self> {
        let mut header = header.clone();
        header.redaction = redaction;
        let mut w = TraceWriter {
            out,
            header: TraceHeader::new(header.policy, serde_json::Map::new()),
            policy: header.policy,
            redactor: match redaction {
                Redaction::Placeholders => Some(Redactor::new()),
                Redaction::Raw => None,
            },
            line: Vec::with_capacity(512),
        };
        serde_json::to_writer(&mut w.line, &header).map_err(io::Error::other)?;
        w.flush_line()?;
        w.header = header;
        Ok(w)
    }

    /// The header of the session being recorded (with its redaction).
    pub fn header(&self) -> &TraceHeader {
        &self.header
    }

    /// Starts the next session in the same output: writes `header` (with this writer's
    /// redaction) as a new header line. Use it when a session resumed after a power loss
    /// goes on in the same file; the reader splits the file at each header. Secrets keep
    /// their placeholders across sessions, so an order can be followed from one to the next.
    pub fn begin_session(&mut self, header: &TraceHeader) -> io::Result<()> {
        let mut header = header.clone();
        header.redaction = self.header.redaction;
        serde_json::to_writer(&mut self.line, &header).map_err(io::Error::other)?;
        self.flush_line()?;
        self.policy = header.policy;
        self.header = header;
        Ok(())
    }

    /// Starts the session resumed at `at` from `journal` (or a fresh one with `None`) that
    /// continues the current one, named `session`: the header is the current one with
    /// [`TraceHeader::resume`] and [`TraceHeader::continues`] set.
    pub fn begin_resumed(&mut self, at: Instant, journal: Option<&[u8]>, session: Option<String>) -> io::Result<()> {
        let mut header = self.header.clone();
        header.resume = journal.map(|j| super::TraceResume::new(at, j));
        header.continues = header.session.take();
        header.session = session;
        self.begin_session(&header)
    }

    /// The policy of the header: the session being recorded must run under it.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Records `Session::handle(now, event)`. Call it for every event the session took
    /// (not for one it refused with [`HandleError`]), before the commands it produced.
    pub fn input(&mut self, now: Instant, event: &Event) -> io::Result<()> {
        match &mut self.redactor {
            Some(r) => {
                let mut event = event.clone();
                r.event(&mut event);
                self.write(now, KindRef::Input(&event))
            }
            None => self.write(now, KindRef::Input(event)),
        }
    }

    /// Records `Session::handle_timeout(now)` when the host does not know which timer
    /// fired (prefer [`TraceWriter::timer`]).
    pub fn timeout(&mut self, now: Instant) -> io::Result<()> {
        self.write(now, KindRef::Timeout(None))
    }

    /// Records `Session::handle_timeout(now)` that fired `timer` (`None`: nothing was due).
    /// Replay checks that the same timer fires.
    pub fn timer(&mut self, now: Instant, timer: Option<Timer>) -> io::Result<()> {
        self.write(now, KindRef::Timeout(timer.map(RecordedTimer::Fired)))
    }

    /// Records a command the session emitted in the step at `now`, in `poll_command` order.
    pub fn output(&mut self, now: Instant, command: &Command) -> io::Result<()> {
        match &mut self.redactor {
            Some(r) => {
                let mut command = command.clone();
                r.command(&mut command);
                self.write(now, KindRef::Output(&command))
            }
            None => self.write(now, KindRef::Output(command)),
        }
    }

    /// Records `Session::persisted(now, result)`: replay reports the same result, so a
    /// failed journal write is reproduced.
    pub fn persisted(&mut self, now: Instant, result: Result<(), PersistError>) -> io::Result<()> {
        self.write(now, KindRef::Persisted(result))
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The underlying writer, to read it (e.g. how many bytes an in-memory trace holds)
    /// while recording goes on.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer, e.g. to flush or sync it.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn write(&mut self, t: Instant, kind: KindRef<'_>) -> io::Result<()> {
        serde_json::to_writer(&mut self.line, &RecordRef { t, kind }).map_err(io::Error::other)?;
        self.flush_line()
    }

    fn flush_line(&mut self) -> io::Result<()> {
        self.line.push(b'\n');
        let r = self.out.write_all(&self.line);
        self.line.clear();
        r
    }
}

/// A [`Session`] that records every input, timer and command to a [`TraceWriter`] as the
/// host drives it. Drive it exactly like a `Session`.
///
/// A failed write never stops the session (a payment matters more than its log): the
/// first I/O error is kept, nothing more is written, and [`RecordingSession::log_error`]
/// returns it. Check it after each step if the log must be complete.
#[derive(Debug)]
pub struct RecordingSession<W: Write> {
    session: Session,
    writer: TraceWriter<W>,
    step_at: Instant,
    error: Option<io::Error>,
}

impl<W: Write> RecordingSession<W> {
    /// A fresh session under the writer's header policy, recording to `writer`.
    pub fn new(writer: TraceWriter<W>) -> Self {
        RecordingSession {
            session: Session::new(writer.policy()),
            writer,
            step_at: Instant(0),
            error: None,
        }
    }

    /// Writes `header` (which must carry [`super::TraceResume`], see
    /// [`TraceHeader::resumed`]) and returns the session resumed from that journal,
    /// recording to `out`, with the journal's error if it was damaged.
    pub fn create_resumed(
        out: W,
        header: &TraceHeader,
        redaction: Redaction,
    ) -> io::Result<(Self, Option<crate::journal::JournalError>)> {
        let resume = header
            .resume
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the header carries no resume"))?;
        let journal = resume
            .bytes()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "resume.journal is not hex"))?;
        let writer = TraceWriter::new(out, header, redaction)?;
        let (session, error) = Session::resume_from_bytes(writer.policy(), &journal, resume.at);
        Ok((
            RecordingSession {
                session,
                writer,
                step_at: resume.at,
                error: None,
            },
            error,
        ))
    }

    /// Writes the header to `out` and returns a fresh session recording to it.
    pub fn create(out: W, header: &TraceHeader, redaction: Redaction) -> io::Result<Self> {
        TraceWriter::new(out, header, redaction).map(RecordingSession::new)
    }

    /// [`Session::handle`], recorded.
    pub fn handle(&mut self, now: Instant, event: &Event) -> Result<(), HandleError> {
        self.session.handle(now, event)?;
        self.step_at = now;
        self.log(|w| w.input(now, event));
        Ok(())
    }

    /// [`Session::request`], recorded as the `Event::App` input it is.
    pub fn request(&mut self, now: Instant, app: AppEvent) -> Result<(), RequestError> {
        self.handle(now, &Event::App(app))?;
        RequestError::check(self.session.refusal())
    }

    /// [`Session::handle_timeout`], recorded with the first timer that fired (the others
    /// are recorded as [`RecordingSession::poll_command`] drains them).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandleError> {
        let fired = self.session.handle_timeout(now)?;
        self.step_at = now;
        self.log(|w| w.timer(now, fired));
        Ok(())
    }

    /// [`Session::poll_command`], recorded.
    /// Each further timer that the last `handle_timeout` fires as its commands drain is
    /// recorded as its own timeout, before its commands (as a host that fired one timer
    /// per call would have recorded it).
    pub fn poll_command(&mut self) -> Option<Command> {
        let at = self.step_at;
        loop {
            match self.session.poll()? {
                Polled::Timer(timer) => self.log(|w| w.timer(at, Some(timer))),
                Polled::Command(cmd) => {
                    self.log(|w| w.output(at, &cmd));
                    return Some(cmd);
                }
            }
        }
    }

    /// [`Session::await_persist_acks`].
    pub fn await_persist_acks(&mut self) {
        self.session.await_persist_acks();
    }

    /// [`Session::persisted`], recorded; the commands it releases are recorded as
    /// [`RecordingSession::poll_command`] drains them.
    pub fn persisted(&mut self, now: Instant, result: Result<(), PersistError>) -> Result<(), HandleError> {
        self.session.persisted(now, result)?;
        self.step_at = self.step_at.max(now);
        self.log(|w| w.persisted(now, result));
        Ok(())
    }

    /// [`Session::poll_timeout`].
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// [`Session::state`].
    #[must_use]
    pub fn state(&self) -> StateId {
        self.session.state()
    }

    /// The session, for its other read-only accessors.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The first write error, if any; after it nothing more was recorded.
    #[must_use]
    pub fn log_error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Flushes the trace.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// The session and the writer (not flushed), and the first write error if any.
    pub fn into_parts(self) -> (Session, TraceWriter<W>, Option<io::Error>) {
        (self.session, self.writer, self.error)
    }

    fn log(&mut self, f: impl FnOnce(&mut TraceWriter<W>) -> io::Result<()>) {
        if self.error.is_none()
            && let Err(e) = f(&mut self.writer)
        {
            self.error = Some(e);
        }
    }
}
