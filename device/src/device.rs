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
    Notice, Policy, RequestId, SdkCall, Session, StateId,
};

use crate::call::Args;
use crate::facade::{Answer, Facade, Op, Token};
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
    /// the next command runs only after this returns. `Err` says why it could not be
    /// written; the session then treats the journal as failing (see [`Device`]).
    fn persist(&self, record: &JournalRecord) -> Result<(), String>;
    /// Empty the journal durably (nothing is in flight).
    fn journal_clear(&self) -> Result<(), String>;
    /// Tell the listener about the journal: `JournalResumed`, `JournalDamaged`,
    /// `JournalFailed`, `JournalHealthy`, with string fields.
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
    /// A facade call that reads the session without an app event.
    Facade(Token, Op),
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

    fn handle_timeout(&mut self, now: Instant) -> Result<(), HandleError> {
        let due = now.max(self.session.now());
        let fired = self.session.next_timer().filter(|&(_, at)| at <= due).map(|(t, _)| t);
        self.session.handle_timeout(now)?;
        self.step_at = now;
        self.log(|w| w.timer(now, fired));
        Ok(())
    }

    fn poll_command(&mut self) -> Option<Command> {
        let cmd = self.session.poll_command()?;
        let at = self.step_at;
        self.log(|w| w.output(at, &cmd));
        Some(cmd)
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
        let writer = TraceWriter::new(trace, &header, redaction)?;
        let r = resume(policy, &journal, boot_at);
        let mut facade = Facade::default();
        if let Some(o) = r.order {
            facade.resume(o);
        }
        Ok(Device {
            core: Mutex::new(Core {
                session: Recorder {
                    session: r.session,
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
            for e in effects {
                self.perform(e);
            }
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
            Effect::Command(Command::Persist(r)) => self.persist(r),
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

    /// Executes `Command::Persist`: the next command runs only after this returns.
    fn persist(&self, r: JournalRecord) {
        let was_failing = {
            let mut j = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
            if !j.configured {
                return;
            }
            j.last = Some(r.clone());
            j.failing.is_some()
        };
        let result = self.write_record(&r);
        self.journal_result(was_failing, result, "write", &r);
    }

    fn journal_result(
        &self,
        was_failing: bool,
        result: Result<(), String>,
        operation: &'static str,
        r: &JournalRecord,
    ) {
        match result {
            Ok(()) => {
                if was_failing {
                    self.journal.lock().unwrap_or_else(PoisonError::into_inner).failing = None;
                    self.host.log("journal: working again; new orders are accepted");
                    self.host.journal_notice("JournalHealthy", &Args::new());
                }
            }
            Err(e) => {
                self.journal.lock().unwrap_or_else(PoisonError::into_inner).failing = Some(e.clone());
                let phase = phase_name(r.phase);
                self.host.log(&format!(
                    "JOURNAL FAILED: {operation} of {phase} for order {}: {e}; the order goes on settling, but a power loss now would lose it; new orders are refused until the journal works",
                    r.out_trade_no
                ));
                self.host.journal_notice(
                    "JournalFailed",
                    &vec![
                        ("operation", operation.to_owned()),
                        ("error", e),
                        ("out_trade_no", r.out_trade_no.to_string()),
                        ("phase", phase),
                    ],
                );
            }
        }
    }

    /// While the journal is failing, a new order is refused before the machine sees it
    /// (no face scan, no money moves), unless a probe (writing the latest record again,
    /// or clearing an idle journal) shows the journal works again.
    fn journal_gate(&self, input: &Input) -> Option<Vec<Effect>> {
        let Input::App(AppEvent::StartOrder(order), origin) = input else {
            return None;
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
                if let Some((token, _)) = origin {
                    fx.push(Effect::Answer(*token, Answer::err(JOURNAL_FAILED, &msg)));
                }
                Some(fx)
            }
        }
    }

    fn step(&self, input: Input) -> Vec<Effect> {
        let mut core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        let core = &mut *core;
        let mut fx = Vec::new();
        let mut commands = Vec::new();
        let mut origin = None;
        let mut seen: Option<Event> = None;
        // Reports that come before the step's commands (the journal's, at boot).
        let mut pre = Vec::new();
        match input {
            Input::Event(ev) => {
                let now = core.clock.now();
                feed(core, now, &ev, &mut commands, &mut fx);
                seen = Some(ev);
            }
            Input::App(app, o) => {
                let now = core.clock.now();
                let ev = Event::App(app);
                feed(core, now, &ev, &mut commands, &mut fx);
                origin = o;
            }
            Input::Facade(token, op) => {
                if let Some(a) = core.facade.ask(token, op, core.state) {
                    fx.push(Effect::Answer(token, a));
                }
            }
            Input::Timeout => {
                let now = core.clock.now();
                fire_due(core, now, &mut commands, &mut fx);
            }
            Input::Boot => {
                pre.append(&mut self.boot.lock().unwrap_or_else(PoisonError::into_inner));
                drain(core, &mut commands);
                let now = core.clock.now();
                fire_due(core, now, &mut commands, &mut fx);
            }
            Input::Advance(ms) => {
                if let Clock::Manual(t) = &mut core.clock {
                    *t = (*t).max(ms);
                }
                let now = core.clock.now();
                fire_due(core, now, &mut commands, &mut fx);
            }
        }
        let state = core.session.state();
        for (t, a) in core.facade.observe(origin, seen.as_ref(), &commands, state) {
            fx.push(Effect::Answer(t, a));
        }
        // Commands first, in order, then the state change, then facade answers.
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
        let next = core.session.poll_timeout();
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

fn drain(core: &mut Core, commands: &mut Vec<Command>) {
    while let Some(c) = core.session.poll_command() {
        commands.push(c);
    }
}

fn feed(core: &mut Core, now: Instant, ev: &Event, commands: &mut Vec<Command>, fx: &mut Vec<Effect>) {
    if let Err(e) = core.session.handle(now, ev) {
        fx.push(Effect::Log(format!("event not taken: {e}")));
    }
    drain(core, commands);
    // An event may leave a timer due at once (e.g. the authinfo refresh on entering Idle).
    fire_due(core, now, commands, fx);
}

fn fire_due(core: &mut Core, now: Instant, commands: &mut Vec<Command>, fx: &mut Vec<Effect>) {
    // Each call fires one timer; the bound keeps a misbehaving timer table from spinning.
    for _ in 0..64 {
        match core.session.poll_timeout() {
            Some(at) if at <= now => {
                core.armed = None;
                if let Err(e) = core.session.handle_timeout(now) {
                    fx.push(Effect::Log(format!("timeout not taken: {e}")));
                    return;
                }
                drain(core, commands);
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facepay_fsm::{Field, JOURNAL_VERSION, OrderRequest, OutTradeNo, PayApi};
    use std::sync::Arc;

    /// Records what the session asks of its host; the journal breaks on demand.
    #[derive(Default)]
    struct Fake {
        seen: Mutex<Vec<String>>,
        broken: Mutex<bool>,
    }

    struct Host_(Arc<Fake>);

    impl Host_ {
        fn push(&self, s: String) {
            self.0.seen.lock().unwrap().push(s);
        }
        fn io(&self, what: String) -> Result<(), String> {
            self.push(what);
            if *self.0.broken.lock().unwrap() {
                Err("No space left on device".into())
            } else {
                Ok(())
            }
        }
    }

    impl Host for Host_ {
        fn sdk_call(&self, _: RequestId, call: &SdkCall) {
            self.push(format!("sdk {}", call.kind().method()));
        }
        fn backend_call(&self, _: RequestId, call: &BackendCall) {
            self.push(format!("backend {}", crate::call::backend_args(call).op));
        }
        fn notice(&self, n: &Notice) {
            self.push(format!("notice {}", crate::bridge::notice_args(n).0));
        }
        fn diagnostic(&self, _: &Diagnostic) {}
        fn persist(&self, r: &JournalRecord) -> Result<(), String> {
            self.io(format!("persist {}", phase_name(r.phase)))
        }
        fn journal_clear(&self) -> Result<(), String> {
            self.io("clear".into())
        }
        fn journal_notice(&self, kind: &'static str, _: &Args) {
            self.push(kind.to_owned());
        }
        fn state_changed(&self, s: StateId) {
            self.push(format!("state {s:?}"));
        }
        fn facade_answer(&self, _: Token, a: &Answer) {
            self.push(format!("answer {}", a.get("errorCode").unwrap_or("ok")));
        }
        fn log(&self, _: &str) {}
    }

    fn device(journal: JournalStart) -> (Device, Arc<Fake>) {
        let fake = Arc::new(Fake::default());
        let d = Device::new(
            Policy::default(),
            true,
            Box::new(std::io::sink()),
            Redaction::Placeholders,
            Box::new(Host_(fake.clone())),
            None,
            journal,
        )
        .unwrap();
        d.boot();
        (d, fake)
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
        assert_eq!(taken(&fake), ["JournalResumed", "persist Querying", "state Querying"]);
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
        d.persist(JournalRecord {
            version: JOURNAL_VERSION,
            out_trade_no: OutTradeNo::new(Field::OutTradeNo, "T3").unwrap(),
            api: PayApi::Micropay,
            total_fee: 1,
            phase: JournalPhase::Querying,
            elapsed_ms: 0,
            queries: 0,
            reverse_attempts: 0,
        });
        assert!(taken(&fake).is_empty());
    }
}
