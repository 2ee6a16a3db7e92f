//! One session object: the machine (recording its trace), its clock, the facade's memory,
//! and the run-to-completion queue. Events from any thread are queued; whichever thread
//! finds the queue idle runs it until empty, one step at a time, and executes each step's
//! commands through the [`Host`] *outside* the machine's lock, so a host that answers
//! synchronously (on the same thread) just queues its answer behind the current step.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant as WallInstant;

use facepay_fsm::trace::{RecordingSession, Redaction, TraceHeader};
use facepay_fsm::{
    AppEvent, BackendCall, Command, Diagnostic, Event, Instant, JournalRecord, Notice, Policy, RequestId, SdkCall,
    StateId,
};

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
    /// the next command runs only after this returns.
    fn persist(&self, record: &JournalRecord);
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

struct Core {
    session: RecordingSession<TraceOut>,
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
}

impl Device {
    /// A session under `policy` recording to `trace`. `manual_clock` makes time move only
    /// through [`Input::Advance`]; otherwise `schedule` is asked to wake it at each deadline.
    pub fn new(
        policy: Policy,
        manual_clock: bool,
        trace: TraceOut,
        redaction: Redaction,
        host: Box<dyn Host>,
        schedule: Option<Scheduler>,
    ) -> std::io::Result<Device> {
        let mut terminal = serde_json::Map::new();
        terminal.insert(
            "writer".into(),
            concat!("facepay-device ", env!("CARGO_PKG_VERSION")).into(),
        );
        let header = TraceHeader::new(policy, terminal);
        let session = RecordingSession::create(trace, &header, redaction)?;
        let state = session.state();
        Ok(Device {
            core: Mutex::new(Core {
                session,
                clock: if manual_clock {
                    Clock::Manual(0)
                } else {
                    Clock::Monotonic(WallInstant::now())
                },
                facade: Facade::default(),
                state,
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
        })
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
            let effects = self.step(next);
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
            Effect::Command(Command::Persist(r)) => self.host.persist(&r),
            Effect::State(s) => self.host.state_changed(s),
            Effect::Answer(t, a) => self.host.facade_answer(t, &a),
            Effect::Log(l) => self.host.log(&l),
        }
    }

    fn step(&self, input: Input) -> Vec<Effect> {
        let mut core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        let core = &mut *core;
        let mut fx = Vec::new();
        let mut commands = Vec::new();
        let mut origin = None;
        let mut seen: Option<Event> = None;
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
        let mut out: Vec<Effect> = commands.into_iter().map(Effect::Command).collect();
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
