//! One simulated session: a world (clock, agenda, chance) in which a cashier drives one
//! terminal against the model face app and the model backend, through the fault
//! middleware, with the checker watching every step. Everything follows from the seed.

use facepay_fsm::{
    Command, Event, JOURNAL_BYTES, JournalPhase, JournalRecord, Outcome, Policy, PolicySettings, SdkEvent, SdkVersion,
    Session,
};

use crate::backend::{Backend, BackendOp, BackendProfile, BackendReply};
use crate::cashier::{Cashier, CashierScript, Wake};
use crate::checker::{Checker, Violation};
use crate::faults::{FaultCounts, FaultPlan, Faults, MAX_DOWN_MS};
use crate::rng::{SimRng, derive_seed};
use crate::sdk::{Callback, FaceApp, ReplyTag, SdkProfile, SdkReply};
use crate::terminal::{Observer, StrategyKind, Terminal};
use crate::world::{Agenda, TerminalClock, WorldMs};

/// Everything that defines one session, drawn from `(campaign seed, index)`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SessionSpec {
    /// The campaign seed.
    pub campaign_seed: u64,
    /// The session's index in the campaign.
    pub index: u64,
    /// The session's own seed (derived).
    pub seed: u64,
    /// The terminal's policy.
    #[serde(skip)]
    pub policy: Policy,
    /// The backend's behaviour.
    pub backend: BackendProfile,
    /// The face app's and the user's behaviour.
    pub sdk: SdkProfile,
    /// The faults.
    pub faults: FaultPlan,
    /// The cashier.
    pub cashier: CashierScript,
    /// The installed face app's version (the policy's `sdk_version` may differ when the
    /// host reports this one: `cashier.reports_version`).
    pub face_app: SdkVersion,
}

impl SessionSpec {
    /// Session `index` of the campaign `seed`. In swarm mode every probability is drawn
    /// from the seed too (TigerBeetle's VOPR); otherwise the standard mix is used.
    pub fn draw(campaign_seed: u64, index: u64, swarm: bool) -> SessionSpec {
        SessionSpec::draw_with(campaign_seed, index, swarm, false)
    }

    /// As [`SessionSpec::draw`], with power losses of the terminal on or off. With them
    /// off the session is exactly `draw`'s; with them on only the power-loss figures are
    /// added (drawn last).
    pub fn draw_with(campaign_seed: u64, index: u64, swarm: bool, power_loss: bool) -> SessionSpec {
        let seed = derive_seed(campaign_seed, index);
        let mut rng = SimRng::new(seed ^ 0x5EED_5BEC);
        let mut settings = PolicySettings::default();
        if rng.chance(0.3) {
            // An old face app that still wants updateWxpayfacePayResult.
            settings.sdk_version = SdkVersion { major: 2, minor: 12 };
        }
        let (backend, sdk, faults) = if swarm {
            (
                BackendProfile::swarm(&mut rng),
                SdkProfile::swarm(&mut rng),
                FaultPlan::swarm(&mut rng),
            )
        } else {
            (BackendProfile::default(), SdkProfile::default(), FaultPlan::standard())
        };
        let cashier = CashierScript::draw(&mut rng);
        let faults = if power_loss {
            faults.with_power_loss(swarm, &mut rng)
        } else {
            faults
        };
        // Drawn last, so every figure above stays what it was (issue 16): how the customer
        // pays, and whether the host reads the face app's version (else the operator set
        // the policy to it).
        let mut cashier = cashier;
        cashier.draw_payment(&mut rng);
        let installed = settings.sdk_version;
        if rng.chance(0.8) {
            cashier.reports_version = Some(installed);
            settings.sdk_version = PolicySettings::default().sdk_version;
        }
        // Drawn last of all (issue 19), for the same reason: failing journal writes.
        let faults = if swarm {
            faults.with_journal_failures(&mut rng)
        } else {
            faults
        };
        SessionSpec {
            campaign_seed,
            index,
            seed,
            policy: Policy::new(settings).unwrap_or_default(),
            backend,
            sdk,
            faults,
            cashier,
            face_app: installed,
        }
    }

    /// This session as it was drawn before issue 16 added its draws (drawn last, so nothing
    /// else differs): a face order, and the policy set to the installed face app with no
    /// version report. Sessions found by earlier campaigns stay the same sessions.
    #[must_use]
    pub fn without_issue_16_draws(mut self) -> SessionSpec {
        self.cashier.payment = crate::cashier::Payment::Face;
        self.cashier.reports_version = None;
        let mut settings = *self.policy.settings();
        settings.sdk_version = self.face_app;
        self.policy = Policy::new(settings).unwrap_or(self.policy);
        self
    }

    /// The bound, in world ms after faults stop, within which the session must be
    /// released: a Start that needs every init attempt, every order the customer will try
    /// (each within the policy's order bound, plus the cashier's pauses and refusals), a
    /// member lookup behind a background authinfo refresh, and the release.
    pub fn liveness_bound_ms(&self) -> u64 {
        let s = self.policy.settings();
        let init = u64::from(s.init_attempts) * u64::from(s.sdk_call_deadline.0 + s.init_retry_delay.0) + 2_000;
        let refresh = u64::from(s.sdk_call_deadline.0) + u64::from(s.backend_deadline.0);
        let identify = 4 * 1_000 + refresh + u64::from(s.face_scan_deadline.0) + 3_000;
        let per_order = self.policy.order_bound_ms() + 3_000 + 1_000;
        // One order may be in flight when faults stop, and may end with a lost service.
        let orders = u64::from(self.cashier.patience) + 1;
        // The terminal may be down when faults stop, then resume a journalled order.
        let power = if self.faults.power_loss > 0.0 || self.faults.kill_at.is_some() {
            MAX_DOWN_MS + per_order + init
        } else {
            0
        };
        2 * init + identify + orders * (per_order + init) + u64::from(s.sdk_call_deadline.0) + 3_000 + power
    }

    /// The policy's order bound in world ms, allowing for the terminal clock's drift.
    pub fn order_bound_world_ms(&self) -> u64 {
        let b = self.policy.order_bound_ms();
        b + b * u64::from(self.faults.clock.drift_ppm.unsigned_abs()) / 1_000_000 + 1
    }
}

/// What a session did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SessionReport {
    /// The session's index.
    pub index: u64,
    /// Outcomes of its orders, in order.
    pub outcomes: Vec<Outcome>,
    /// Broken properties.
    pub violations: Vec<Violation>,
    /// World time from start to release (or to the liveness deadline).
    pub virtual_ms: u64,
    /// Inputs and timers the session handled.
    pub steps: u64,
    /// Faults injected.
    pub faults: FaultCounts,
}

/// Things that happen in the world.
enum Occurrence {
    /// An SDK callback reaches the terminal (unless its binder died or it was superseded).
    Sdk {
        tag: ReplyTag,
        /// Where the callback waits in [`Scratch`]'s `sdk_replies`.
        reply: u32,
    },
    /// A backend request reaches the backend. Its answer goes back only to the terminal
    /// that sent it: not across a power loss (`boot`).
    BackendArrives {
        id: facepay_fsm::RequestId,
        /// Where its operation waits in [`Scratch`]'s `requests`.
        op: u32,
        boot: u32,
        /// Its ordinal, by which the fault schedule names its reply.
        request: u32,
    },
    /// A backend answer reaches the terminal.
    Backend {
        /// Where the answer waits in [`Scratch`]'s `replies` (a duplicate shares it).
        reply: u32,
    },
    /// The face service dies.
    ServiceDeath,
    /// The cashier acts.
    Cashier(Wake),
    /// The terminal boots again after a power loss.
    PowerOn,
}

/// Buffers reused from session to session.
#[derive(Default)]
pub struct Scratch {
    agenda: Agenda<Occurrence>,
    commands: Vec<Command>,
    callbacks: Vec<Callback>,
    backend: Backend,
    checker: Checker,
    /// The operations of the session's backend requests, in the order they were sent.
    /// Requests, answers and callbacks wait here, not in their occurrences: those are
    /// moved in and out of the agenda, and stay a few words each.
    requests: Vec<BackendOp>,
    /// The backend's answers, in the order they were served.
    replies: Vec<BackendReply>,
    /// The face app's callbacks, in the order they were made.
    sdk_replies: Vec<SdkReply>,
}

impl Scratch {
    /// The backend's ledger after the last session run with this scratch (for bills).
    pub fn ledger(&self) -> &crate::ledger::Ledger {
        &self.backend.ledger
    }

    /// Brings the ledger up to world time `now` (users finish paying, orders expire).
    fn ledger_at(&mut self, now: WorldMs) {
        self.backend.ledger.advance(TerminalClock::backend(now));
    }
}

/// Runs the session `spec` to its end, watched by `observer`.
pub fn run_session<O: Observer>(spec: &SessionSpec, scratch: &mut Scratch, observer: O) -> (SessionReport, O) {
    run_session_with(spec, StrategyKind::Facepay, scratch, observer)
}

/// Runs the session `spec` with its terminal run by `strategy` (facepay or a peer loop).
pub fn run_session_with<O: Observer>(
    spec: &SessionSpec,
    strategy: StrategyKind,
    scratch: &mut Scratch,
    observer: O,
) -> (SessionReport, O) {
    // The terminal is a local of its own, built where it stays: a world that held it
    // would be built aside and copied whole (a 5 KB session inside), and so would a
    // terminal moved out of it; only the observer leaves.
    let mut terminal = Terminal::with_strategy(strategy, spec.policy, spec.faults.clock, observer);
    let mut env = Env::new(spec, scratch);
    if matches!(strategy, StrategyKind::Facepay) {
        env.scratch
            .checker
            .limit_reverses(spec.policy.settings().reverse_attempts);
        env.scratch
            .checker
            .expect_closed_loop(spec.policy.settings().close_declined_orders);
    }
    World {
        terminal: &mut terminal,
        env: &mut env,
    }
    .run();
    // The seed app's view (property 8), when a seed app drove the terminal.
    let app = terminal.take_app_violations(env.now);
    env.scratch.checker.violations.extend(app);
    let report = env.finish();
    (report, terminal.into_observer())
}

/// One session's world: the terminal, and everything around it.
struct World<'w, 's, O: Observer> {
    terminal: &'w mut Terminal<O>,
    env: &'w mut Env<'s>,
}

/// Everything but the terminal: the models, the faults, the checker and the clock. Apart
/// from the terminal so that a command can be carried out while the session that built
/// it lends it (`Terminal::poll_with`), never copied out.
struct Env<'s> {
    spec: &'s SessionSpec,
    scratch: &'s mut Scratch,
    rng: SimRng,
    now: WorldMs,
    face_app: FaceApp,
    faults: Faults,
    cashier: Cashier,
    steps: u64,
    done: bool,
    /// What the terminal's durable storage holds: the last journal record it wrote.
    journal: Option<[u8; JOURNAL_BYTES]>,
    /// The last record written and not yet encoded into `journal`. Encoding (with its
    /// CRC) is deferred to the power loss, the only time the bytes are read: the stored
    /// bytes are the same, and a session without a power loss never pays for them.
    written: Option<JournalRecord>,
    /// Commands carried out since the first journal record (for aimed power losses).
    settling: Option<u32>,
    /// The last journal write carried out failed (a drawn fault); the session is told so.
    write_failed: bool,
    /// The journal is older than the order: the last write failed.
    journal_stale: bool,
    /// Journal writes may fail: false while carrying out commands taken ahead of their
    /// step, whose records the terminal already reported written.
    writes_may_fail: bool,
    /// Power losses so far; answers to requests of an earlier boot are lost.
    boot: u32,
    /// The terminal is off.
    down: bool,
    /// When it went off.
    down_at: WorldMs,
}

/// A session that has not released this long after the liveness deadline is abandoned
/// (and reported): the world must end.
const WORLD_END_MS: u64 = 30 * 24 * 3600 * 1000;

impl<O: Observer> World<'_, '_, O> {
    fn run(&mut self) {
        let first = self.env.cashier.first_wake();
        self.env.scratch.agenda.schedule(0, Occurrence::Cashier(first));
        // Safety under faults until the world heals, then liveness: every order must
        // conclude, and the session be released, within the bound.
        let heals_at = self.env.spec.faults.until;
        let deadline = heals_at
            .saturating_add(self.env.spec.liveness_bound_ms())
            .min(WORLD_END_MS);
        while !self.env.done {
            // A terminal without power has no timers.
            let timer = if self.env.down {
                None
            } else {
                self.terminal.next_deadline()
            };
            let event = self.env.scratch.agenda.next_at();
            let next = match (timer, event) {
                (None, None) => break,
                (Some(t), None) => t,
                (None, Some(e)) => e,
                (Some(t), Some(e)) => t.min(e),
            };
            if next > deadline {
                break;
            }
            self.env.now = self.env.now.max(next);
            if self.env.now >= heals_at && !self.env.faults.is_healed() {
                self.env.faults.heal();
            }
            // A timer due at the same time as an arrival fires first: an answer exactly at
            // its deadline is late.
            if timer.is_some_and(|t| t <= next) {
                self.env.steps += 1;
                let step = self.terminal.fire_due(self.env.now, &mut self.env.scratch.commands);
                self.after_step(step, false);
            } else if let Some(occ) = self.env.scratch.agenda.pop_due(self.env.now) {
                self.occur(&occ);
            }
        }
        if !self.env.done {
            self.env.scratch.checker.violations.push(Violation::NotLive {
                state: self.terminal.session().state().path().to_string(),
                at_ms: self.env.now.max(deadline.min(self.env.now.max(deadline))),
            });
        }
    }

    fn occur(&mut self, occ: &Occurrence) {
        match occ {
            Occurrence::Sdk { tag, reply } => {
                if self.env.face_app.delivers(tag)
                    && let Some(reply) = self.env.scratch.sdk_replies.get(*reply as usize)
                {
                    let event = self.env.face_app.event(reply);
                    self.input(&event, false);
                }
            }
            Occurrence::Backend { reply } => {
                if let Some(reply) = self.env.scratch.replies.get(*reply as usize) {
                    let event = reply.event();
                    self.input(&event, false);
                }
            }
            &Occurrence::BackendArrives { id, op, boot, request } => self.env.serve(id, op, boot, request),
            Occurrence::ServiceDeath => {
                let mut replayed = std::mem::take(&mut self.env.scratch.callbacks);
                let terminal_ms = self.terminal.now(self.env.now).0;
                self.env
                    .face_app
                    .die_and_replay(terminal_ms, &self.env.spec.sdk, &mut self.env.rng, &mut replayed);
                for cb in replayed.drain(..) {
                    self.env.schedule_callback(cb);
                }
                self.env.scratch.callbacks = replayed;
                self.input(&Event::Sdk(SdkEvent::ServiceLost), false);
            }
            Occurrence::PowerOn => self.power_on(),
            &Occurrence::Cashier(wake) => {
                let in_order = self.terminal.session().state().in_order();
                if let Some(mut event) = self.env.cashier.wake(wake, in_order) {
                    if let Event::App(facepay_fsm::AppEvent::StartOrder(req)) = &mut event {
                        // The till stamps the order with its own wall clock, skew and all.
                        req.time_start = Some(crate::backend::wx_time(self.terminal.now(self.env.now).0));
                    }
                    self.input(&event, true);
                }
            }
        }
    }

    /// Feeds `event` (the cashier's `own`, or from the world), then carries out its
    /// commands.
    fn input(&mut self, event: &Event, own: bool) {
        self.env.steps += 1;
        let step = self.terminal.input(self.env.now, event);
        self.after_step(step, own);
    }

    /// The one path every step takes (an input, the timers due, a boot), so that every
    /// step makes its draws in the same order: the step is checked; after the cashier's
    /// `own` event the cashier first hears whether it was turned away; then the step's
    /// commands are carried out in order, those already taken (of earlier timers of the
    /// same step) first, then each straight from the session where it was built (a
    /// command holds up to 2 KB inline, and every move of one is a copy). The power may
    /// go at any command boundary; commands after it are taken and dropped.
    fn after_step(&mut self, step: Result<facepay_fsm::Instant, facepay_fsm::HandleError>, own: bool) {
        let env = &mut self.env;
        let now = match step {
            Ok(now) => now,
            Err(e) => {
                env.scratch
                    .checker
                    .violations
                    .push(Violation::Refused { error: e.to_string() });
                env.done = true;
                return;
            }
        };
        env.scratch.checker.after_step(self.terminal.session());
        env.scratch.ledger_at(env.now);
        if own {
            env.hear_back(self.terminal.refusal());
        }
        let mut lost_power = false;
        let mut taken = std::mem::take(&mut env.scratch.commands);
        env.writes_may_fail = false;
        for c in &taken {
            // The power may go before any command is carried out: between a journal
            // record and the call it guards, or after a call left.
            if env.power_goes() {
                lost_power = true;
                break;
            }
            env.carry_out(c, now.0);
        }
        taken.clear();
        env.scratch.commands = taken;
        env.writes_may_fail = self.terminal.reports_writes();
        loop {
            let polled = self.terminal.poll_with(now, |c| {
                if lost_power {
                    return;
                }
                if env.power_goes() {
                    lost_power = true;
                    return;
                }
                env.carry_out(c, now.0);
            });
            // The host reports each journal write before the commands it guards come
            // out (after a power loss nothing is carried out: the report does not matter).
            if self.terminal.awaiting_persist() {
                let written = if std::mem::take(&mut env.write_failed) {
                    Err(facepay_fsm::PersistError::WriteFailed)
                } else {
                    Ok(())
                };
                self.terminal.persisted(now, written);
                continue;
            }
            if polled.is_none() {
                break;
            }
        }
        if !lost_power && !env.done && env.power_goes() {
            lost_power = true;
        }
        if lost_power && !env.done {
            env.power_off();
        }
    }

    /// The terminal boots: a session resumed from the journal's 64 bytes (the real
    /// decode and salvage path), the cashier app starting over.
    fn power_on(&mut self) {
        self.env.down = false;
        let now = self.terminal.now(self.env.now);
        let bytes: &[u8] = self.env.journal.as_ref().map_or(&[], |b| &b[..]);
        let (session, error) = Session::resume_from_bytes(self.env.spec.policy, bytes, now);
        let record = JournalRecord::decode(bytes).ok();
        // A record older than its order (a later write failed) is resumed like a torn
        // one: its counts are behind, and the order may have concluded since.
        if self.env.journal_stale
            && let Some(r) = record.as_ref().filter(|r| !r.is_concluded())
        {
            self.env.scratch.checker.resumed_from_torn(&r.out_trade_no);
        }
        if error.is_some()
            && let Some((otn, _)) = JournalRecord::salvage(bytes)
        {
            self.env.scratch.checker.resumed_from_torn(&otn);
        }
        let wake = self.env.cashier.power_on();
        self.env
            .scratch
            .agenda
            .schedule(self.env.now + 500, Occurrence::Cashier(wake));
        // The power went after the conclusion was written, before the app heard of it:
        // the host reads the outcome from the journal.
        if let Some(JournalRecord {
            out_trade_no,
            phase: JournalPhase::Concluded(outcome),
            ..
        }) = &record
            && !self.env.scratch.checker.has_concluded(out_trade_no)
        {
            self.env
                .scratch
                .backend
                .ledger
                .advance(TerminalClock::backend(self.env.now));
            self.env
                .scratch
                .checker
                .concluded(self.env.now, out_trade_no, *outcome, &self.env.scratch.backend.ledger);
            let reaction = self.env.cashier.journal_concluded(*outcome, &mut self.env.rng);
            self.env.react(reaction);
        }
        self.env.steps += 1;
        let bytes: &[u8] = self.env.journal.as_ref().map_or(&[], |b| &b[..]);
        let now = self.terminal.restart(self.env.now, session, bytes);
        self.after_step(Ok(now), false);
    }
}

impl<'s> Env<'s> {
    /// The world around a fresh terminal for session `spec`, in `scratch`'s buffers.
    fn new(spec: &'s SessionSpec, scratch: &'s mut Scratch) -> Self {
        scratch.agenda.clear();
        scratch.backend.clear();
        scratch.commands.clear();
        scratch.callbacks.clear();
        scratch.requests.clear();
        scratch.replies.clear();
        scratch.sdk_replies.clear();
        scratch.checker.renew(spec.order_bound_world_ms());
        scratch.checker.face_app(spec.face_app);
        let prefix = (spec.seed >> 32) as u32 ^ spec.seed as u32;
        Env {
            spec,
            scratch,
            rng: SimRng::new(spec.seed),
            now: 0,
            face_app: FaceApp::new(prefix),
            faults: Faults::new(spec.faults),
            cashier: Cashier::new(spec.cashier, prefix),
            steps: 0,
            done: false,
            journal: None,
            write_failed: false,
            journal_stale: false,
            writes_may_fail: true,
            written: None,
            settling: None,
            boot: 0,
            down: false,
            down_at: 0,
        }
    }

    /// Request `request` (ordinal) reaches the backend: it is served, and its answer goes
    /// back through the faults, unless the connection it came on died with the power.
    fn serve(&mut self, id: facepay_fsm::RequestId, op: u32, boot: u32, request: u32) {
        let at = TerminalClock::backend(self.now);
        let Scratch { backend, requests, .. } = &mut *self.scratch;
        let Some(op) = requests.get(op as usize) else {
            return;
        };
        let reply = backend.serve_reply(at, id, op, &self.spec.backend, &mut self.rng);
        let latency = self.rng.range(30, 1_500);
        let deadline = u64::from(self.spec.policy.settings().backend_deadline.0);
        let copies = if matches!(op, BackendOp::Submit { .. }) {
            self.faults.submit_reply(request, latency, deadline, &mut self.rng)
        } else {
            self.faults.backend_reply(request, latency, deadline, &mut self.rng)
        };
        if boot != self.boot {
            // Served, but the connection it came on died with the power.
            return;
        }
        let Ok(reply_at) = u32::try_from(self.scratch.replies.len()) else {
            return;
        };
        if copies.delays().is_empty() {
            return;
        }
        self.scratch.replies.push(reply);
        for &d in copies.delays() {
            self.scratch
                .agenda
                .schedule(self.now + d, Occurrence::Backend { reply: reply_at });
        }
    }

    /// Schedules a face-app callback as it is: no faults (a replay is one already).
    fn schedule_callback(&mut self, cb: crate::sdk::Callback) {
        let Ok(reply) = u32::try_from(self.scratch.sdk_replies.len()) else {
            return;
        };
        self.scratch.sdk_replies.push(cb.reply);
        self.scratch
            .agenda
            .schedule(self.now + cb.after, Occurrence::Sdk { tag: cb.tag, reply });
    }

    /// The cashier hears whether its own event was turned away, and reacts: an order
    /// that was taken has started (the checker hears it before any of its commands).
    fn hear_back(&mut self, refusal: Option<facepay_fsm::DiagnosticKind>) {
        let reaction = self.cashier.after_own_event(refusal, &mut self.rng);
        if reaction.order_started {
            let otn = self.cashier.out_trade_no(self.cashier.orders());
            self.scratch.checker.order_started(self.now, &otn);
        }
        self.react(reaction);
    }

    /// Whether the terminal loses power at this command boundary.
    fn power_goes(&mut self) -> bool {
        self.faults.power_loss(self.settling, &mut self.rng)
    }

    /// Checks and carries out one command.
    #[inline]
    fn carry_out(&mut self, c: &Command, terminal_ms: u64) {
        self.scratch.checker.command(self.now, c, &self.scratch.backend.ledger);
        self.execute(c, terminal_ms);
        if let Some(n) = &mut self.settling {
            *n += 1;
        }
    }
    fn react(&mut self, reaction: crate::cashier::Reaction) {
        if let Some((after, wake)) = reaction.wake {
            self.scratch
                .agenda
                .schedule(self.now + after, Occurrence::Cashier(wake));
        }
        if reaction.done {
            self.done = true;
        }
    }
    /// Carries out `command`, which the terminal issued at its reading `terminal_ms`.
    fn execute(&mut self, command: &Command, terminal_ms: u64) {
        match command {
            Command::Sdk { id, call } => {
                let mut callbacks = std::mem::take(&mut self.scratch.callbacks);
                self.face_app
                    .call(terminal_ms, *id, call, &self.spec.sdk, &mut self.rng, &mut callbacks);
                let s = self.spec.policy.settings();
                let deadline = u64::from(match call {
                    facepay_fsm::SdkCall::GetWxpayfaceCode(_) | facepay_fsm::SdkCall::GetWxpayfaceUserInfo(_) => {
                        s.face_scan_deadline.0
                    }
                    facepay_fsm::SdkCall::StartCodeScanner => s.code_scan_deadline.0,
                    _ => s.sdk_call_deadline.0,
                });
                for cb in callbacks.drain(..) {
                    let copies = self.faults.callback(cb.after, deadline, &mut self.rng);
                    let Ok(reply) = u32::try_from(self.scratch.sdk_replies.len()) else {
                        continue;
                    };
                    if copies.delays().is_empty() {
                        continue;
                    }
                    self.scratch.sdk_replies.push(cb.reply);
                    for &d in copies.delays() {
                        self.scratch
                            .agenda
                            .schedule(self.now + d, Occurrence::Sdk { tag: cb.tag, reply });
                    }
                }
                self.scratch.callbacks = callbacks;
                if let Some(after) = self.faults.sdk_death(&mut self.rng) {
                    self.scratch.agenda.schedule(self.now + after, Occurrence::ServiceDeath);
                }
            }
            Command::Backend { id, call } => {
                if let Some(arrival) = self.faults.request(&mut self.rng) {
                    // Kept aside, not in the occurrence: an operation is 225 bytes, and
                    // every occurrence is moved in and out of the agenda.
                    let op = u32::try_from(self.scratch.requests.len()).unwrap_or(u32::MAX);
                    self.scratch.requests.push(BackendOp::from_call(call));
                    self.scratch.agenda.schedule(
                        self.now + arrival.delay,
                        Occurrence::BackendArrives {
                            id: *id,
                            op,
                            boot: self.boot,
                            request: arrival.request,
                        },
                    );
                }
            }
            Command::Notify(notice) => {
                let reaction = self.cashier.notice(notice, &mut self.rng);
                self.react(reaction);
            }
            // Written durably before the next command, as a real host must, unless the
            // write fails: the journal keeps the record before it, and the session hears.
            Command::Persist(record) => {
                self.journal_stale = self.writes_may_fail && self.faults.journal_write_fails(&mut self.rng);
                if self.journal_stale {
                    self.write_failed = true;
                    self.scratch.checker.persist_failed(record);
                } else {
                    self.written = Some(record.clone());
                    self.scratch.checker.persisted(&record.out_trade_no);
                }
                if self.settling.is_none() {
                    self.settling = Some(0);
                }
            }
            Command::Diagnostic(_) => {}
        }
    }
    /// The power goes: the session, its timers and the answers on their way to it are
    /// gone, and so is the face app (same device) and what the cashier app was doing.
    /// Requests already sent still reach the backend. The journal stays, maybe torn.
    fn power_off(&mut self) {
        self.down = true;
        self.down_at = self.now;
        self.boot += 1;
        self.face_app.die();
        self.scratch
            .agenda
            .retain(|o| matches!(o, Occurrence::BackendArrives { .. }));
        if let Some(record) = self.written.take() {
            self.journal = Some(record.encode());
        }
        let (down_ms, torn) = self.faults.power_down(self.journal.is_some(), &mut self.rng);
        if let (Some(bytes), Some(i)) = (&mut self.journal, torn) {
            bytes[i] ^= 0x5A;
        }
        self.scratch.checker.power_lost(down_ms);
        self.scratch.agenda.schedule(self.now + down_ms, Occurrence::PowerOn);
    }
    fn finish(&mut self) -> SessionReport {
        self.scratch.checker.finish(&mut self.scratch.backend.ledger);
        SessionReport {
            index: self.spec.index,
            outcomes: self.scratch.checker.outcomes().collect(),
            violations: std::mem::take(&mut self.scratch.checker.violations),
            virtual_ms: self.now,
            steps: self.steps,
            faults: self.faults.counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session whose every message is lost until the world heals at `until`.
    fn blackout(until: WorldMs) -> SessionSpec {
        let mut spec = SessionSpec::draw(1, 0, false);
        spec.faults = FaultPlan {
            lose_request: 1.0,
            lose_reply: 1.0,
            until,
            ..FaultPlan::NONE
        };
        spec
    }

    fn run(spec: &SessionSpec) -> SessionReport {
        run_session(spec, &mut Scratch::default(), ()).0
    }

    #[test]
    fn after_heal_no_fault_is_drawn_and_the_session_ends() {
        let r = run(&blackout(120_000));
        assert!(r.faults.lost_replies + r.faults.lost_requests > 0, "{:?}", r.faults);
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert!(r.virtual_ms > 120_000, "it ended after the heal: {}", r.virtual_ms);
    }

    #[test]
    fn liveness_is_checked_from_the_heal() {
        // Ten days of blackout: the session is judged by the bound after the heal, not
        // from its start.
        let late = 10 * 24 * 3600 * 1000;
        let r = run(&blackout(late));
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert!(r.virtual_ms > late);
        // A world that never heals before it ends: the session is not live, and the
        // checker says so.
        let r = run(&blackout(WORLD_END_MS));
        assert!(
            matches!(r.violations[..], [Violation::NotLive { at_ms, .. }] if at_ms == WORLD_END_MS),
            "{:?}",
            r.violations
        );
    }
}
