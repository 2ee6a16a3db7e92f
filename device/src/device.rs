//! One session object: the machine (recording its trace), its clock, the facade's memory,
//! and the run-to-completion queue. Events from any thread are queued; whichever thread
//! finds the queue idle runs it until empty, one step at a time, and executes each step's
//! commands through the [`Host`] *outside* the machine's lock, so a host that answers
//! synchronously (on the same thread) just queues its answer behind the current step.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant as WallInstant;

use facepay_fsm::trace::{Redaction, TraceHeader, TraceWriter};
use facepay_fsm::{
    AppEvent, BackendCall, Command, Diagnostic, Event, HandleError, Instant, JournalError, JournalPhase, JournalRecord,
    Notice, PersistError, Policy, Polled, RequestId, SdkCall, Session, StateId,
};

use crate::call::Args;
use crate::facade::{Answer, Call, Facade, Op, Route, Token};
use crate::registry::Handle;

/// What executes the machine's commands: the JNI layer in production, a fake in tests.
/// Every method must return promptly; answers come back later through [`Device::submit`].
pub trait Host: Send + Sync {
    /// Call the WxPayFace SDK.
    fn sdk_call(&self, id: RequestId, call: &SdkCall);
    /// Ask the host's backend.
    fn backend_call(&self, id: RequestId, call: &BackendCall);
    /// Tell the listener (outcomes, readiness, release).
    fn notice(&self, notice: &Notice);
    /// Log a diagnostic.
    fn diagnostic(&self, d: &Diagnostic);
    /// Write the journal record durably (replacing the previous one) before returning:
    /// the commands after it are held until this returns, so it is called while the
    /// session runs its step and must not call back into the session. Return `Err` (why)
    /// unless the record is durable: the session is told (`Session::persisted`), treats
    /// the journal as failing, and if the record is the one written before the pay
    /// submission, that submission is never sent (see [`Device`]).
    fn persist(&self, record: &JournalRecord) -> Result<(), String>;
    /// Empty the journal durably (nothing is in flight).
    fn journal_clear(&self) -> Result<(), String>;
    /// Tell the listener about the journal: `JournalResumed`, `JournalDamaged`,
    /// `JournalFailed` (with `submit` = `withheld` when the pay submission was not sent),
    /// `JournalHealthy`, with string fields.
    fn journal_notice(&self, kind: &'static str, fields: &Args);
    /// The leaf state changed.
    fn state_changed(&self, state: StateId);
    /// Answer a facade call.
    fn facade_answer(&self, token: Token, answer: &Answer);
    /// A line for the log (unreadable maps, trace I/O errors, ...).
    fn log(&self, line: &str);
}

/// Something for the session to process.
#[derive(Debug)]
// Events are inline by design (the fsm has no heap); queues hold few at a time.
#[allow(clippy::large_enum_variant)]
pub enum Input {
    /// An SDK or backend answer.
    Event(Event),
    /// An app request, possibly on behalf of a facade call.
    App(AppEvent, Option<(Token, Op)>),
    /// A seed facade call (`facepay_facade` routes it: answered at once, sent to the
    /// machine as an app event, or parked until a later step answers it).
    Facade(Token, Call),
    /// The timer thread woke the session up.
    Timeout,
    /// The host's manual clock moved to this many ms.
    Advance(u64),
    /// The session was just created: run what the journal's resume queued, arm timers.
    Boot,
}

/// What the host found in its journal when the session was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalStart {
    /// The host keeps no journal: an order in flight at a power loss would be forgotten.
    Absent,
    /// The stored bytes (empty when nothing is stored).
    Stored(Vec<u8>),
    /// The journal could not be read (why).
    Unreadable(String),
}

/// The journal as the session sees it.
#[derive(Debug, Default)]
struct JournalHealth {
    /// The host keeps a journal.
    configured: bool,
    /// The last write, clear or read failed (why); cleared by the next success.
    failing: Option<String>,
    /// The latest record the machine asked for (the one the journal should hold).
    last: Option<JournalRecord>,
}

enum Clock {
    Monotonic(WallInstant),
    Manual(u64),
}

impl Clock {
    fn now(&self) -> Instant {
        match self {
            Clock::Monotonic(start) => Instant(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)),
            Clock::Manual(ms) => Instant(*ms),
        }
    }
}

/// The trace sink: a file or stream the host named, or nothing.
pub type TraceOut = Box<dyn Write + Send>;

/// A session recording its trace (like `facepay_fsm::trace::RecordingSession`, which can
/// only start a fresh session; this one may start resumed from the journal).
struct Recorder {
    session: Session,
    writer: TraceWriter<TraceOut>,
    step_at: Instant,
    error: Option<std::io::Error>,
}

impl Recorder {
    fn handle(&mut self, now: Instant, event: &Event) -> Result<(), HandleError> {
        self.session.handle(now, event)?;
        self.step_at = now;
        self.log(|w| w.input(now, event));
        Ok(())
    }

    /// Fires every due timer: the first now, each later one as `poll_command` drains.
    fn handle_timeout(&mut self, now: Instant) -> Result<(), HandleError> {
        let fired = self.session.handle_timeout(now)?;
        self.step_at = now;
        self.log(|w| w.timer(now, fired));
        Ok(())
    }

    /// The next command; a timer that fires meanwhile is recorded as its own timeout.
    fn poll_command(&mut self) -> Option<Command> {
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

    /// [`Session::persisted`], recorded.
    fn persisted(&mut self, now: Instant, result: Result<(), PersistError>) -> Result<(), HandleError> {
        self.session.persisted(now, result)?;
        // As `RecordingSession::persisted`: the commands the report releases are logged at
        // its time or later, so the log's times never go backwards.
        self.step_at = self.step_at.max(now);
        self.log(|w| w.persisted(now, result));
        Ok(())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    fn state(&self) -> StateId {
        self.session.state()
    }

    fn log_error(&self) -> Option<&std::io::Error> {
        self.error.as_ref()
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }

    fn log(&mut self, f: impl FnOnce(&mut TraceWriter<TraceOut>) -> std::io::Result<()>) {
        if self.error.is_none()
            && let Err(e) = f(&mut self.writer)
        {
            self.error = Some(e);
        }
    }
}

struct Core {
    session: Recorder,
    clock: Clock,
    facade: Facade,
    state: StateId,
    armed: Option<Instant>,
    trace_error_logged: bool,
}

struct Queue {
    items: VecDeque<Input>,
    running: bool,
}

#[allow(clippy::large_enum_variant)] // a step's effects live briefly in one Vec
enum Effect {
    Command(Command),
    State(StateId),
    Answer(Token, Answer),
    Log(String),
    Journal(&'static str, Args),
}

/// Where a session asks to be woken: `(wall time, handle)`.
pub type Scheduler = fn(WallInstant, Handle);

/// One face-pay session.
///
/// The journal: every `Command::Persist` is written through [`Host::persist`] as the
/// session hands it out, and its result reported with `Session::persisted` (the persist
/// handshake: the commands after it are held until then, and the report is a trace
/// record). While the journal fails, new orders are refused before the machine sees them
/// (`JOURNAL_FAILED`) until a probe write works. If the record written just before the
/// pay submission (phase `Submitting`) cannot be written, the machine never hands the
/// submission out and concludes the order NotPaid (`journal_unavailable`): nothing was
/// sent, so nothing moved. The failure is logged and reported (`JournalFailed`, `submit`
/// = `withheld`). Failed writes of later records (querying, reversing, concluded) are
/// reported and the order goes on settling: queries and reverses cannot charge the
/// customer, and stopping them would leave an order unsettled.
pub struct Device {
    core: Mutex<Core>,
    queue: Mutex<Queue>,
    host: Box<dyn Host>,
    handle: OnceLock<Handle>,
    schedule: Option<Scheduler>,
    journal: Mutex<JournalHealth>,
    boot: Mutex<Vec<Effect>>,
}

/// The `errorCode` of an order refused because the journal cannot be written.
pub const JOURNAL_FAILED: &str = "JOURNAL_FAILED";

fn phase_name(p: JournalPhase) -> String {
    match p {
        JournalPhase::Submitting => "Submitting".to_owned(),
        JournalPhase::Querying => "Querying".to_owned(),
        JournalPhase::Reversing => "Reversing".to_owned(),
        JournalPhase::Concluded(o) => format!("Concluded({o})"),
    }
}

/// Reports a record that could not be written. Before the submit, the machine never
/// sends it (the order concludes unpaid); later, the order goes on settling (a query or
/// reverse cannot charge the customer), though a power loss would lose it.
fn write_failure(r: &JournalRecord, e: &str, fx: &mut Vec<Effect>) {
    let phase = phase_name(r.phase);
    let otn = r.out_trade_no.to_string();
    let mut fields = vec![
        ("operation", "write".to_owned()),
        ("error", e.to_owned()),
        ("out_trade_no", otn.clone()),
        ("phase", phase.clone()),
    ];
    let what = if r.phase == JournalPhase::Submitting {
        fields.push(("submit", "withheld".to_owned()));
        "the submit was WITHHELD (never sent, the customer cannot have been charged); the order concludes unpaid"
    } else {
        "the order goes on settling (queries and reverses cannot charge the customer), but a power loss now would lose it"
    };
    fx.push(Effect::Log(format!(
        "JOURNAL FAILED: write of {phase} for order {otn}: {e}; {what}; new orders are refused until the journal works"
    )));
    fx.push(Effect::Journal("JournalFailed", fields));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session the journal asks for, the record the journal holds (for the failure
/// probe), the order it continues, and what to tell the host at boot.
struct Resumed {
    session: Session,
    last: Option<JournalRecord>,
    order: Option<String>,
    boot: Vec<Effect>,
    failing: Option<String>,
}

fn resume(policy: Policy, journal: &JournalStart, now: Instant) -> Resumed {
    let mut r = Resumed {
        session: Session::new(policy),
        last: None,
        order: None,
        boot: Vec::new(),
        failing: None,
    };
    match journal {
        JournalStart::Absent => r.boot.push(Effect::Log(
            "journal: none configured; an order in flight at a power loss or kill would be forgotten".into(),
        )),
        JournalStart::Unreadable(e) => {
            r.failing = Some(e.clone());
            r.boot.push(Effect::Log(format!(
                "JOURNAL FAILED: read: {e}; an order from before the restart may be unsettled: reconcile the day's orders; new orders are refused until the journal works"
            )));
            r.boot.push(Effect::Journal(
                "JournalFailed",
                vec![("operation", "read".into()), ("error", e.clone())],
            ));
            r.boot.push(Effect::Command(Command::Notify(Notice::JournalUnreadable)));
        }
        JournalStart::Stored(bytes) => {
            let (session, error) = Session::resume_from_bytes(policy, bytes, now);
            r.session = session;
            match (JournalRecord::decode(bytes), error) {
                (_, Some(e)) => damaged(&mut r, bytes, e),
                (Ok(rec), None) if rec.is_concluded() => r.boot.push(Effect::Log(format!(
                    "journal: the last order {} concluded {}; nothing to resume",
                    rec.out_trade_no,
                    phase_name(rec.phase)
                ))),
                (Ok(rec), None) => {
                    r.boot.push(Effect::Log(format!(
                        "journal: resuming order {} ({}, {} ms after its submit, {} queries, {} reverse calls); it is queried or reversed, never submitted again",
                        rec.out_trade_no,
                        phase_name(rec.phase),
                        rec.elapsed_ms,
                        rec.queries,
                        rec.reverse_attempts
                    )));
                    r.boot.push(Effect::Journal(
                        "JournalResumed",
                        vec![
                            ("out_trade_no", rec.out_trade_no.to_string()),
                            ("phase", phase_name(rec.phase)),
                        ],
                    ));
                    r.order = Some(rec.out_trade_no.to_string());
                    r.last = Some(rec);
                }
                // Empty or erased storage.
                (Err(_), None) => {}
            }
        }
    }
    r
}

/// A stored record that failed its checks: resumed as ambiguous when its out_trade_no
/// reads, else reported for reconciliation (the machine queues `JournalUnreadable`).
fn damaged(r: &mut Resumed, bytes: &[u8], e: JournalError) {
    let salvaged = JournalRecord::salvage(bytes);
    let otn = salvaged.as_ref().map(|(o, _)| o.to_string()).unwrap_or_default();
    r.boot.push(Effect::Log(match &salvaged {
        Some(_) => format!(
            "JOURNAL DAMAGED: {e}; order {otn} is resumed as ambiguous (queried, then reversed) [{}]",
            hex(bytes)
        ),
        None => format!(
            "JOURNAL DAMAGED: {e}; no order can be read from it: reconcile the day's orders [{}]",
            hex(bytes)
        ),
    }));
    r.boot.push(Effect::Journal(
        "JournalDamaged",
        vec![("error", e.to_string()), ("out_trade_no", otn.clone())],
    ));
    if let Some((out_trade_no, api)) = salvaged {
        // What `resume_from_bytes` resumed: the journal must keep holding it.
        r.last = Some(JournalRecord::salvaged(out_trade_no, api));
        r.order = Some(otn);
    }
}

impl Device {
    /// A session under `policy` recording to `trace`. `manual_clock` makes time move only
    /// through [`Input::Advance`]; otherwise `schedule` is asked to wake it at each deadline.
    /// `journal` is what the host's journal held: an order in flight is resumed (queried
    /// or reversed, never submitted again) once [`Device::boot`] runs.
    pub fn new(
        policy: Policy,
        manual_clock: bool,
        trace: TraceOut,
        redaction: Redaction,
        host: Box<dyn Host>,
        schedule: Option<Scheduler>,
        journal: JournalStart,
    ) -> std::io::Result<Device> {
        Self::named(policy, manual_clock, trace, redaction, host, schedule, journal, None)
    }

    /// As [`Device::new`], naming the session in its trace header: `(session, continues)`,
    /// the header's `session` and `continues` (see `trace_files`).
    #[allow(clippy::too_many_arguments)]
    pub fn named(
        policy: Policy,
        manual_clock: bool,
        trace: TraceOut,
        redaction: Redaction,
        host: Box<dyn Host>,
        schedule: Option<Scheduler>,
        journal: JournalStart,
        names: Option<(String, Option<String>)>,
    ) -> std::io::Result<Device> {
        let mut terminal = serde_json::Map::new();
        terminal.insert(
            "writer".into(),
            concat!("facepay-device ", env!("CARGO_PKG_VERSION")).into(),
        );
        let clock = if manual_clock {
            Clock::Manual(0)
        } else {
            Clock::Monotonic(WallInstant::now())
        };
        let boot_at = clock.now();
        let mut header = TraceHeader::new(policy, terminal);
        if let JournalStart::Stored(bytes) = &journal {
            // Replay resumes its machine from the same bytes at the same time.
            header = header.resumed(boot_at, bytes);
        }
        if let Some((session, continues)) = names {
            header = header.named(session);
            if let Some(previous) = continues {
                header = header.continuing(previous);
            }
        }
        let writer = TraceWriter::new(trace, &header, redaction)?;
        let r = resume(policy, &journal, boot_at);
        let mut facade = Facade::new(&policy, facepay_fsm::Merchant::default());
        if let Some(rec) = &r.last {
            facade.resume(rec.out_trade_no.as_str(), Some(rec.total_fee));
        } else if let Some(o) = &r.order {
            facade.resume(o, None);
        }
        Ok(Device {
            core: Mutex::new(Core {
                session: Recorder {
                    session: {
                        let mut session = r.session;
                        session.await_persist_acks();
                        session
                    },
                    writer,
                    step_at: boot_at,
                    error: None,
                },
                clock,
                facade,
                // The boot step reports the resumed state (e.g. Querying) as a change.
                state: StateId::Uninitialized,
                armed: None,
                trace_error_logged: false,
            }),
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                running: false,
            }),
            host,
            handle: OnceLock::new(),
            schedule,
            journal: Mutex::new(JournalHealth {
                configured: journal != JournalStart::Absent,
                failing: r.failing,
                last: r.last,
            }),
            boot: Mutex::new(r.boot),
        })
    }

    /// Runs what the journal's resume queued (reports, the first query or reverse) and
    /// arms the timers. Call once, after [`Device::set_handle`].
    pub fn boot(&self) {
        self.submit(Input::Boot);
    }

    /// Why the journal is failing, if it is (new orders are refused meanwhile).
    pub fn journal_failing(&self) -> Option<String> {
        self.journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failing
            .clone()
    }

    /// Tells the session its registry handle (for timer wake-ups). Call once.
    pub fn set_handle(&self, h: Handle) {
        let _ = self.handle.set(h);
    }

    /// The current leaf state.
    pub fn state(&self) -> StateId {
        self.core.lock().unwrap_or_else(PoisonError::into_inner).state
    }

    /// The session's time now.
    pub fn now(&self) -> Instant {
        self.core.lock().unwrap_or_else(PoisonError::into_inner).clock.now()
    }

    /// Queues `input` and, unless another thread is already running the queue, runs it to
    /// completion on this thread.
    pub fn submit(&self, input: Input) {
        {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            q.items.push_back(input);
            if q.running {
                return;
            }
            q.running = true;
        }
        loop {
            let next = {
                let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                match q.items.pop_front() {
                    Some(i) => i,
                    None => {
                        q.running = false;
                        return;
                    }
                }
            };
            let effects = match self.journal_gate(&next) {
                Some(refused) => refused,
                None => self.step(next),
            };
            self.perform_all(effects);
        }
    }

    /// Performs one step's effects in order (its journal records were written during the
    /// step, [`Device::write_journal`]).
    fn perform_all(&self, effects: Vec<Effect>) {
        for e in effects {
            self.perform(e);
        }
    }

    /// Logs `line` through the host, in order with the session's other effects.
    pub fn submit_log(&self, line: &str) {
        self.host.log(line);
    }

    /// Flushes the trace.
    pub fn flush(&self) {
        let mut core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = core.session.flush() {
            self.host.log(&format!("trace flush failed: {e}"));
        }
    }

    fn perform(&self, e: Effect) {
        match e {
            Effect::Command(Command::Sdk { id, call }) => self.host.sdk_call(id, &call),
            Effect::Command(Command::Backend { id, call }) => self.host.backend_call(id, &call),
            Effect::Command(Command::Notify(n)) => self.host.notice(&n),
            Effect::Command(Command::Diagnostic(d)) => self.host.diagnostic(&d),
            // Written (and any failure reported) as the step handed it out.
            Effect::Command(Command::Persist(_)) => {}
            Effect::State(s) => self.host.state_changed(s),
            Effect::Answer(t, a) => self.host.facade_answer(t, &a),
            Effect::Log(l) => self.host.log(&l),
            Effect::Journal(kind, fields) => self.host.journal_notice(kind, &fields),
        }
    }

    /// Writes `r` (then clears the journal if it is a conclusion). A failed clear after
    /// a written conclusion is harmless (a concluded record resumes as a fresh session).
    fn write_record(&self, r: &JournalRecord) -> Result<(), String> {
        self.host.persist(r)?;
        if r.is_concluded()
            && let Err(e) = self.host.journal_clear()
        {
            self.host.log(&format!(
                "journal: clear after the conclusion of {} failed ({e}); harmless, the concluded record starts a fresh session",
                r.out_trade_no
            ));
        }
        Ok(())
    }

    /// Executes `Command::Persist` as the session hands it out (the commands after it wait
    /// for the result it returns). A failure marks the journal failing (new orders are
    /// refused) and is reported through `fx`, performed after the step: the host is not
    /// called back while the session's step runs, except to write.
    fn write_journal(&self, r: &JournalRecord, fx: &mut Vec<Effect>) -> Result<(), PersistError> {
        let was_failing = {
            let mut j = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
            if !j.configured {
                return Ok(());
            }
            j.last = Some(r.clone());
            j.failing.is_some()
        };
        match self.write_record(r) {
            Ok(()) => {
                if was_failing {
                    self.journal.lock().unwrap_or_else(PoisonError::into_inner).failing = None;
                    fx.push(Effect::Log("journal: working again; new orders are accepted".into()));
                    fx.push(Effect::Journal("JournalHealthy", Args::new()));
                }
                Ok(())
            }
            Err(e) => {
                self.journal.lock().unwrap_or_else(PoisonError::into_inner).failing = Some(e.clone());
                write_failure(r, &e, fx);
                Err(PersistError::WriteFailed)
            }
        }
    }

    /// While the journal is failing, a new order is refused before the machine sees it
    /// (no face scan, no money moves), unless a probe (writing the latest record again,
    /// or clearing an idle journal) shows the journal works again.
    fn journal_gate(&self, input: &Input) -> Option<Vec<Effect>> {
        let (order, token) = match input {
            Input::App(AppEvent::StartOrder(order), origin) => (order, origin.as_ref().map(|(t, _)| *t)),
            Input::Facade(token, Call::Code(order)) => (order, Some(*token)),
            _ => return None,
        };
        let (failing, last) = {
            let j = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
            (j.failing.clone()?, j.last.clone())
        };
        let settling = self.state().is_settling();
        let probe = match &last {
            Some(r) => self.write_record(r),
            // Nothing known in flight: an empty journal is the right content.
            None if !settling => self.host.journal_clear(),
            None => Err(failing),
        };
        match probe {
            Ok(()) => {
                self.journal.lock().unwrap_or_else(PoisonError::into_inner).failing = None;
                self.host.log("journal: working again; new orders are accepted");
                self.host.journal_notice("JournalHealthy", &Args::new());
                None
            }
            Err(e) => {
                self.journal.lock().unwrap_or_else(PoisonError::into_inner).failing = Some(e.clone());
                let otn = order.out_trade_no.to_string();
                let msg = format!("order {otn} refused: the journal cannot be written ({e})");
                let mut fx = vec![
                    Effect::Log(format!("JOURNAL FAILED: {msg}")),
                    Effect::Journal(
                        "JournalFailed",
                        vec![
                            ("operation", "start_order".to_owned()),
                            ("error", e),
                            ("out_trade_no", otn),
                        ],
                    ),
                ];
                if let Some(token) = token {
                    fx.push(Effect::Answer(token, Answer::err(JOURNAL_FAILED, &msg)));
                }
                Some(fx)
            }
        }
    }

    fn step(&self, input: Input) -> Vec<Effect> {
        let mut core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        let core = &mut *core;
        let mut fx = Vec::new();
        // The journal's reports, performed after the step's commands like `fx`.
        let mut jfx = Vec::new();
        let journal = &mut |r: &JournalRecord| self.write_journal(r, &mut jfx);
        let mut commands = Vec::new();
        let mut origin = None;
        let mut seen: Option<Event> = None;
        // Reports that come before the step's commands (the journal's, at boot).
        let mut pre = Vec::new();
        match input {
            Input::Event(ev) => {
                let now = core.clock.now();
                feed(core, now, &ev, &mut commands, &mut fx, journal);
                seen = Some(ev);
            }
            Input::App(app, o) => {
                let now = core.clock.now();
                let ev = Event::App(app);
                feed(core, now, &ev, &mut commands, &mut fx, journal);
                origin = o;
            }
            Input::Facade(token, call) => {
                let now = core.clock.now();
                match core.facade.call(token, call, now, core.state) {
                    Route::Answer(a) => fx.push(Effect::Answer(token, a)),
                    Route::Wait => {}
                    Route::Send(app, op) => {
                        let ev = Event::App(app);
                        feed(core, now, &ev, &mut commands, &mut fx, journal);
                        origin = Some((token, op));
                        seen = Some(ev);
                    }
                }
            }
            Input::Timeout => {
                let now = core.clock.now();
                fire_due(core, now, &mut commands, &mut fx, journal);
            }
            Input::Boot => {
                pre.append(&mut self.boot.lock().unwrap_or_else(PoisonError::into_inner));
                drain(core, &mut commands, journal);
                let now = core.clock.now();
                fire_due(core, now, &mut commands, &mut fx, journal);
            }
            Input::Advance(ms) => {
                if let Clock::Manual(t) = &mut core.clock {
                    *t = (*t).max(ms);
                }
                let now = core.clock.now();
                fire_due(core, now, &mut commands, &mut fx, journal);
            }
        }
        let now = core.clock.now();
        let mut state = core.session.state();
        for (t, a) in core.facade.observe(origin, seen.as_ref(), &commands, state, now) {
            fx.push(Effect::Answer(t, a));
        }
        for (t, a) in core.facade.handle_timeout(now) {
            fx.push(Effect::Answer(t, a));
        }
        // App events the facade sends by itself (a re-init's start after its release).
        while let Some((app, origin)) = core.facade.poll_app_event() {
            let ev = Event::App(app);
            let mut more = Vec::new();
            feed(core, now, &ev, &mut more, &mut fx, journal);
            state = core.session.state();
            for (t, a) in core.facade.observe(origin, Some(&ev), &more, state, now) {
                fx.push(Effect::Answer(t, a));
            }
            commands.append(&mut more);
        }
        fx.splice(0..0, jfx);
        // Commands first, in order, then the state change, then the journal's reports and
        // facade answers.
        let mut out = pre;
        out.extend(commands.into_iter().map(Effect::Command));
        if state != core.state {
            core.state = state;
            out.push(Effect::State(state));
        }
        out.append(&mut fx);
        if let (Some(e), false) = (core.session.log_error(), core.trace_error_logged) {
            core.trace_error_logged = true;
            out.push(Effect::Log(format!("trace write failed, recording stopped: {e}")));
        }
        self.arm(core);
        out
    }

    fn arm(&self, core: &mut Core) {
        // The machine's next timer, or the bound of a waiting facade call.
        let next = match (core.session.poll_timeout(), core.facade.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if next == core.armed {
            return;
        }
        core.armed = next;
        if let (Some(at), Clock::Monotonic(start), Some(schedule), Some(h)) =
            (next, &core.clock, self.schedule, self.handle.get())
        {
            schedule(*start + std::time::Duration::from_millis(at.0), *h);
        }
    }
}

/// Writes a journal record and says whether it is durable.
type JournalWrite<'a> = &'a mut dyn FnMut(&JournalRecord) -> Result<(), PersistError>;

/// Takes the step's commands; each journal record is written as it comes out, and the
/// session told the result before it lets the commands after it out.
fn drain(core: &mut Core, commands: &mut Vec<Command>, journal: JournalWrite<'_>) {
    while let Some(c) = core.session.poll_command() {
        let written = match &c {
            Command::Persist(r) => Some(journal(r)),
            _ => None,
        };
        commands.push(c);
        if let Some(result) = written {
            let now = core.session.session.now();
            // Cannot fail: the session handed out the Persist and awaits its report.
            let _ = core.session.persisted(now, result);
        }
    }
}

fn feed(
    core: &mut Core,
    now: Instant,
    ev: &Event,
    commands: &mut Vec<Command>,
    fx: &mut Vec<Effect>,
    journal: JournalWrite<'_>,
) {
    if let Err(e) = core.session.handle(now, ev) {
        fx.push(Effect::Log(format!("event not taken: {e}")));
    }
    drain(core, commands, journal);
    // An event may leave a timer due at once (e.g. the authinfo refresh on entering Idle).
    fire_due(core, now, commands, fx, journal);
}

fn fire_due(
    core: &mut Core,
    now: Instant,
    commands: &mut Vec<Command>,
    fx: &mut Vec<Effect>,
    journal: JournalWrite<'_>,
) {
    if core.session.poll_timeout().is_none_or(|at| at > now) {
        return;
    }
    core.armed = None;
    // One call fires every due timer; draining takes each one's commands in turn.
    if let Err(e) = core.session.handle_timeout(now) {
        fx.push(Effect::Log(format!("timeout not taken: {e}")));
        return;
    }
    drain(core, commands, journal);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{Entry, JavaValue};
    use facepay_fsm::{Field, JOURNAL_VERSION, OrderRequest, OutTradeNo, PayApi, SdkCallKind};
    use std::sync::Arc;

    /// Records what the session asks of its host; the journal breaks on demand.
    #[derive(Default)]
    struct Fake {
        seen: Mutex<Vec<String>>,
        broken: Mutex<bool>,
        /// Phases (as `phase_name` spells them) whose writes fail.
        failing_phases: Mutex<Vec<&'static str>>,
        /// Every journal notice with its fields.
        journal: Mutex<Vec<(&'static str, Args)>>,
        /// Calls not answered yet, oldest first.
        sdk: Mutex<VecDeque<(RequestId, SdkCallKind)>>,
        backend: Mutex<VecDeque<(RequestId, &'static str)>>,
        logs: Mutex<Vec<String>>,
    }

    struct Host_(Arc<Fake>);

    impl Host_ {
        fn push(&self, s: String) {
            self.0.seen.lock().unwrap().push(s);
        }
        fn io(&self, what: String, phase: Option<&str>) -> Result<(), String> {
            self.push(what);
            let phase_fails = phase.is_some_and(|p| self.0.failing_phases.lock().unwrap().contains(&p));
            if *self.0.broken.lock().unwrap() || phase_fails {
                Err("No space left on device".into())
            } else {
                Ok(())
            }
        }
    }

    impl Host for Host_ {
        fn sdk_call(&self, id: RequestId, call: &SdkCall) {
            self.push(format!("sdk {}", call.kind().method()));
            self.0.sdk.lock().unwrap().push_back((id, call.kind()));
        }
        fn backend_call(&self, id: RequestId, call: &BackendCall) {
            let op = crate::call::backend_args(call).op;
            self.push(format!("backend {op}"));
            self.0.backend.lock().unwrap().push_back((id, op));
        }
        fn notice(&self, n: &Notice) {
            match n {
                Notice::OrderConcluded(c) => self.push(format!("notice OrderConcluded {}", c.outcome)),
                _ => self.push(format!("notice {}", crate::bridge::notice_args(n).0)),
            }
        }
        fn diagnostic(&self, _: &Diagnostic) {}
        fn persist(&self, r: &JournalRecord) -> Result<(), String> {
            let phase = phase_name(r.phase);
            self.io(format!("persist {phase}"), Some(&phase))
        }
        fn journal_clear(&self) -> Result<(), String> {
            self.io("clear".into(), None)
        }
        fn journal_notice(&self, kind: &'static str, fields: &Args) {
            self.push(kind.to_owned());
            self.0.journal.lock().unwrap().push((kind, fields.clone()));
        }
        fn state_changed(&self, s: StateId) {
            self.push(format!("state {s:?}"));
        }
        fn facade_answer(&self, _: Token, a: &Answer) {
            self.push(format!("answer {}", a.get("errorCode").unwrap_or("ok")));
        }
        fn log(&self, line: &str) {
            self.0.logs.lock().unwrap().push(line.to_owned());
        }
    }

    /// A trace sink the test can read back.
    #[derive(Clone, Default)]
    struct SharedTrace(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedTrace {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn device_tracing(journal: JournalStart, trace: TraceOut) -> (Device, Arc<Fake>) {
        let fake = Arc::new(Fake::default());
        let d = Device::new(
            Policy::default(),
            true,
            trace,
            Redaction::Placeholders,
            Box::new(Host_(fake.clone())),
            None,
            journal,
        )
        .unwrap();
        d.boot();
        (d, fake)
    }

    fn device(journal: JournalStart) -> (Device, Arc<Fake>) {
        device_tracing(journal, Box::new(std::io::sink()))
    }

    fn entries(pairs: &[(&str, &str)]) -> Vec<Entry> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some(JavaValue::Str(v.encode_utf16().collect()))))
            .collect()
    }

    /// Answers every waiting SDK call with success, and every waiting backend call with
    /// `backend(op)`, until nothing waits.
    fn answer_all(d: &Device, fake: &Fake, backend: &dyn Fn(&str) -> Vec<(&'static str, &'static str)>) {
        loop {
            let sdk = fake.sdk.lock().unwrap().pop_front();
            if let Some((id, kind)) = sdk {
                let payload = match kind {
                    SdkCallKind::GetWxpayfaceRawdata => vec![("rawdata", "RAWDATA-1")],
                    SdkCallKind::GetWxpayfaceCode => vec![
                        ("face_code", "134567890123456789"),
                        ("openid", "o-user-1"),
                        ("underage_state", "0"),
                        ("telephone_used", "0"),
                    ],
                    _ => vec![],
                };
                let mut map = entries(&[("return_code", "SUCCESS"), ("return_msg", "")]);
                map.extend(entries(&payload));
                if let Some(ev) = crate::answer::sdk_event(id, kind, Some(&map)) {
                    d.submit(Input::Event(Event::Sdk(ev)));
                }
                continue;
            }
            let call = fake.backend.lock().unwrap().pop_front();
            let Some((id, op)) = call else { return };
            let ev = crate::request::backend_event(id, op, Some(&entries(&backend(op)))).unwrap();
            d.submit(Input::Event(Event::Backend(ev)));
        }
    }

    /// A backend that never saw the order: queries say ORDERNOTEXIST, a reverse closes it.
    fn order_unknown(op: &str) -> Vec<(&'static str, &'static str)> {
        match op {
            "get_wxpayface_authinfo" => vec![
                ("return_code", "SUCCESS"),
                ("authinfo", "AUTHINFO-1"),
                ("expires_in", "7200"),
            ],
            "submit" => vec![
                ("return_code", "SUCCESS"),
                ("result_code", "FAIL"),
                ("err_code", "SYSTEMERROR"),
            ],
            "query" => vec![
                ("return_code", "SUCCESS"),
                ("result_code", "FAIL"),
                ("err_code", "ORDERNOTEXIST"),
            ],
            _ => vec![("return_code", "SUCCESS"), ("result_code", "SUCCESS"), ("recall", "N")],
        }
    }

    /// A started session, idle with its authinfo, and an order T1 taken through the facade
    /// (`getWxpayfaceCode`, token 1); the journal is left as `prepare` makes it just
    /// before the face scan answers.
    fn scan_an_order(d: &Device, fake: &Fake, prepare: impl FnOnce(&Fake)) {
        let init = crate::request::init_params(&[]).unwrap();
        let merchant =
            crate::request::merchant(&entries(&[("appid", "wx2421b1c4370ec43b"), ("mch_id", "10000100")])).unwrap();
        d.submit(Input::App(AppEvent::Start { init, merchant }, None));
        answer_all(d, fake, &order_unknown);
        d.submit(Input::Advance(10));
        answer_all(d, fake, &order_unknown);
        assert_eq!(d.state(), StateId::Idle, "{:?}", taken(fake));
        let order = crate::request::order(&entries(&[
            ("out_trade_no", "T1"),
            ("total_fee", "100"),
            ("face_code_type", "1"),
        ]))
        .unwrap();
        let code = Op::Code {
            out_trade_no: "T1".into(),
        };
        d.submit(Input::App(AppEvent::StartOrder(order), Some((1, code))));
        prepare(fake);
        taken(fake);
        // The face scan answers: the machine persists, then submits.
        answer_all(d, fake, &order_unknown);
    }

    /// Moves the manual clock a second at a time, answering as `order_unknown`, until the
    /// session is idle again; returns everything the host saw.
    fn settle(d: &Device, fake: &Fake) -> Vec<String> {
        let mut seen = taken(fake);
        let mut t = d.now().0;
        while d.state() != StateId::Idle && t < 600_000 {
            t += 1000;
            d.submit(Input::Advance(t));
            answer_all(d, fake, &order_unknown);
            seen.extend(taken(fake));
        }
        seen
    }

    fn taken(f: &Fake) -> Vec<String> {
        std::mem::take(&mut *f.seen.lock().unwrap())
    }

    #[test]
    fn a_journalled_submit_resumes_querying_and_never_submits() {
        let r = JournalRecord {
            version: JOURNAL_VERSION,
            out_trade_no: OutTradeNo::new(Field::OutTradeNo, "T1").unwrap(),
            api: PayApi::Micropay,
            total_fee: 1,
            phase: JournalPhase::Submitting,
            elapsed_ms: 0,
            queries: 0,
            reverse_attempts: 0,
        };
        let (d, fake) = device(JournalStart::Stored(r.encode().to_vec()));
        // The record is written as the session hands it out (the handshake), before the
        // step's reports are performed.
        assert_eq!(taken(&fake), ["persist Querying", "JournalResumed", "state Querying"]);
        d.submit(Input::Advance(5_000));
        assert_eq!(taken(&fake), ["backend query"]);
    }

    #[test]
    fn a_failing_journal_refuses_new_orders_until_a_probe_works() {
        let (d, fake) = device(JournalStart::Unreadable("gone".into()));
        assert_eq!(taken(&fake), ["JournalFailed", "notice JournalUnreadable"]);
        assert!(d.journal_failing().is_some());
        *fake.broken.lock().unwrap() = true;
        let order = || {
            OrderRequest::new(
                OutTradeNo::new(Field::OutTradeNo, "T2").unwrap(),
                1,
                facepay_fsm::FaceCodeType::Micropay,
            )
        };
        let code = Op::Code {
            out_trade_no: "T2".into(),
        };
        d.submit(Input::App(AppEvent::StartOrder(order()), Some((7, code.clone()))));
        assert_eq!(taken(&fake), ["clear", "JournalFailed", "answer JOURNAL_FAILED"]);
        *fake.broken.lock().unwrap() = false;
        d.submit(Input::App(AppEvent::StartOrder(order()), Some((8, code))));
        let seen = taken(&fake);
        assert_eq!(
            seen.get(..2),
            Some(&["clear".to_owned(), "JournalHealthy".to_owned()][..])
        );
        // Past the gate: the machine itself answers (not started yet: NOT_STARTED).
        assert!(seen.contains(&"answer NOT_STARTED".to_owned()), "{seen:?}");
        assert!(d.journal_failing().is_none());
    }

    #[test]
    fn without_a_journal_nothing_is_written() {
        let (d, fake) = device(JournalStart::Absent);
        assert!(taken(&fake).is_empty());
        let mut reports = Vec::new();
        let written = d.write_journal(
            &JournalRecord {
                version: JOURNAL_VERSION,
                out_trade_no: OutTradeNo::new(Field::OutTradeNo, "T3").unwrap(),
                api: PayApi::Micropay,
                total_fee: 1,
                phase: JournalPhase::Querying,
                elapsed_ms: 0,
                queries: 0,
                reverse_attempts: 0,
            },
            &mut reports,
        );
        assert_eq!(written, Ok(()));
        assert!(reports.is_empty());
        assert!(taken(&fake).is_empty());
    }

    fn fields(fake: &Fake, kind: &str) -> Vec<Args> {
        let j = fake.journal.lock().unwrap();
        j.iter().filter(|(k, _)| *k == kind).map(|(_, f)| f.clone()).collect()
    }

    fn field<'a>(f: &'a Args, key: &str) -> Option<&'a str> {
        f.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_submit_whose_journal_record_fails_is_withheld_and_the_order_closes_unpaid() {
        let trace = SharedTrace::default();
        let (d, fake) = device_tracing(JournalStart::Stored(Vec::new()), Box::new(trace.clone()));
        // The journal breaks between the order's start (no write yet, so no probe) and its submit.
        scan_an_order(&d, &fake, |f| *f.broken.lock().unwrap() = true);
        let step = taken(&fake);
        let at = |s: &str| step.iter().position(|x| x == s);
        // The record failed, the submit never reached the host, the order concluded
        // unpaid in the same step with no further record asked for.
        assert_eq!(at("persist Submitting"), Some(0), "{step:?}");
        assert_eq!(at("backend submit"), None, "{step:?}");
        assert!(at("JournalFailed") > at("persist Submitting"), "{step:?}");
        assert!(at("notice OrderConcluded NotPaid").is_some(), "{step:?}");
        assert_eq!(step.iter().filter(|s| s.starts_with("persist")).count(), 1, "{step:?}");
        assert_eq!(d.state(), StateId::Idle);
        let withheld = fields(&fake, "JournalFailed");
        assert_eq!(withheld.len(), 1, "the submit's record only: {withheld:?}");
        assert_eq!(field(&withheld[0], "submit"), Some("withheld"));
        assert_eq!(field(&withheld[0], "out_trade_no"), Some("T1"));
        assert_eq!(field(&withheld[0], "phase"), Some("Submitting"));
        assert_eq!(field(&withheld[0], "error"), Some("No space left on device"));
        assert!(
            fake.logs
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("JOURNAL FAILED") && l.contains("WITHHELD") && l.contains("T1")),
            "{:?}",
            fake.logs.lock().unwrap()
        );
        assert!(d.journal_failing().is_some());

        // The app asks micropay for the order: it is not paid, and nothing more is sent.
        d.submit(Input::Facade(
            2,
            Call::Micropay(facepay_facade::MicropayRequest {
                out_trade_no: "T1".into(),
                ..Default::default()
            }),
        ));
        let seen = settle(&d, &fake);
        assert!(!seen.iter().any(|s| s.starts_with("backend ")), "{seen:?}");
        assert!(seen.iter().any(|s| s == "answer NOT_PAID"), "{seen:?}");

        // The failed write is a trace record, and the trace replays exactly.
        let bytes = trace.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.lines().any(|l| l.contains(r#""persisted":"write_failed""#)),
            "{text}"
        );
        let report = facepay_fsm::trace::replay_bytes(&bytes, false);
        assert!(report.is_exact(), "{}", report.verdict_text("withheld"));
        assert_eq!(report.conclusions.len(), 1);
        assert_eq!(report.conclusions[0].reason, facepay_fsm::Reason::JournalUnavailable);
    }

    #[test]
    fn a_failed_write_after_the_submit_still_lets_queries_and_reverses_out() {
        let (d, fake) = device(JournalStart::Stored(Vec::new()));
        scan_an_order(&d, &fake, |f| {
            f.failing_phases.lock().unwrap().extend(["Querying", "Reversing"]);
        });
        // The submit's record was written: the submit goes out, answers SYSTEMERROR.
        let seen = settle(&d, &fake);
        assert_eq!(seen.iter().filter(|s| *s == "backend submit").count(), 1, "{seen:?}");
        assert!(seen.iter().any(|s| s == "backend query"), "{seen:?}");
        assert!(seen.iter().any(|s| s == "backend reverse"), "{seen:?}");
        assert!(seen.iter().any(|s| s == "notice OrderConcluded Reversed"), "{seen:?}");
        let failed = fields(&fake, "JournalFailed");
        assert!(!failed.is_empty());
        assert!(failed.iter().all(|f| field(f, "submit").is_none()), "{failed:?}");
        assert!(
            failed.iter().any(|f| field(f, "phase") == Some("Querying")),
            "{failed:?}"
        );
    }
}
