//! Fault injection as a middleware between the terminal and the models (smoltcp's
//! FaultInjector): requests lost or slow, replies lost, late (after the deadline) or
//! doubled, the SDK service dying, the terminal's clock skewed. The models never know.
//!
//! Faults come two ways: drawn message by message from the plan's probabilities (swarm
//! campaigns), or named one by one in a [`FaultSchedule`] by the ordinal of the message
//! they hit (property suites, so that a failing case shrinks to the few faults it needs).
//!
//! A world has two phases (TigerBeetle's VOPR): faults are drawn until the world calls
//! [`Faults::heal`] (at the plan's `until`), and never after, so that liveness can be
//! checked; aimed faults (the schedule, `submit_reply`, `kill_at`) still hit after it.
//! The fault methods never read the clock.

use facepay_fsm::{JournalDamage, JournalField};

use crate::rng::SimRng;
use crate::world::{TerminalClock, WorldMs};

mod schedule;

pub use schedule::{FaultSchedule, ReplyFault, RequestFault, ScheduleFull, ScheduledFault};

/// The faults of one session: the probabilities they are drawn with, when drawn faults stop
/// (for the liveness phase), and the faults aimed at single messages.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct FaultPlan {
    /// A backend request never reaches the backend.
    pub lose_request: f64,
    /// A request reaches the backend only after a long delay (up to a minute).
    pub slow_request: f64,
    /// A reply (backend or SDK callback) never arrives.
    pub lose_reply: f64,
    /// A reply arrives after the caller's deadline.
    pub late_reply: f64,
    /// A reply arrives twice.
    pub duplicate_reply: f64,
    /// After an SDK call, the face service dies within the next 10 s.
    pub sdk_death: f64,
    /// What happens to the first pay submission's reply, whatever the probabilities say:
    /// the property suites aim at the ambiguous submit with it.
    pub submit_reply: Option<SubmitReplyFault>,
    /// The terminal loses power at a command boundary (before a command is carried out,
    /// or after a step's last one): its session, timers and in-flight replies are gone,
    /// only the last journal record it wrote is kept; it boots again after a while.
    pub power_loss: f64,
    /// A power loss aimed at one moment, whatever `power_loss` says: after this many
    /// commands have been carried out counting from the first `Persist` (1: the record is
    /// written, the submit not sent; 2: the submit left; ...). The property suites walk it
    /// across every step of Settling.
    pub kill_at: Option<u32>,
    /// At a power loss, the last journal record is torn: one byte damaged, of a field whose
    /// damage the journal salvages (`JournalDamage::Salvaged`); the resumed session must.
    pub tear_journal: f64,
    /// A journal write fails (the host reports `Err` to `Session::persisted`). Left out
    /// of the serde form while zero, so recorded traces do not change.
    #[serde(skip_serializing_if = "no_chance")]
    pub journal_write_failure: f64,
    /// The terminal's clock against the backend's.
    pub clock: TerminalClock,
    /// When the world heals ([`Faults::heal`]): no drawn fault is injected at or after
    /// this world time (aimed faults still are), and liveness is checked from it.
    pub until: WorldMs,
    /// Faults aimed at single messages by ordinal, whatever the probabilities and `until`
    /// say. Left out of the serde form while empty, so recorded traces do not change.
    #[serde(skip_serializing_if = "FaultSchedule::is_empty")]
    pub schedule: FaultSchedule,
}

/// For serde: a probability that is never drawn.
fn no_chance(p: &f64) -> bool {
    *p <= 0.0
}

impl FaultPlan {
    /// No faults at all.
    pub const NONE: FaultPlan = FaultPlan {
        lose_request: 0.0,
        slow_request: 0.0,
        lose_reply: 0.0,
        late_reply: 0.0,
        duplicate_reply: 0.0,
        sdk_death: 0.0,
        submit_reply: None,
        power_loss: 0.0,
        kill_at: None,
        tear_journal: 0.0,
        journal_write_failure: 0.0,
        clock: TerminalClock::EXACT,
        until: 0,
        schedule: FaultSchedule::EMPTY,
    };

    /// The fixed mix of a plain campaign: every fault at a few percent, for ten minutes.
    pub fn standard() -> FaultPlan {
        FaultPlan {
            lose_request: 0.02,
            slow_request: 0.02,
            lose_reply: 0.03,
            late_reply: 0.03,
            duplicate_reply: 0.03,
            sdk_death: 0.01,
            submit_reply: None,
            power_loss: 0.0,
            kill_at: None,
            tear_journal: 0.0,
            journal_write_failure: 0.0,
            clock: TerminalClock {
                skew_ms: 1_500,
                drift_ppm: 50,
            },
            until: 600_000,
            schedule: FaultSchedule::EMPTY,
        }
    }

    /// A plan drawn for swarm testing: each fault on or off, with its own probability, a
    /// clock skew, and a time when faults stop.
    pub fn swarm(rng: &mut SimRng) -> FaultPlan {
        let skew_ms = match rng.below(4) {
            0 => 0,
            1 => rng.range(0, 10_000) as i64 - 5_000,
            2 => rng.range(0, 600_000) as i64 - 300_000,
            _ => rng.range(0, 14_400_000) as i64 - 7_200_000,
        };
        FaultPlan {
            lose_request: rng.swarm_probability(),
            slow_request: rng.swarm_probability(),
            lose_reply: rng.swarm_probability(),
            late_reply: rng.swarm_probability(),
            duplicate_reply: rng.swarm_probability(),
            sdk_death: rng.swarm_probability() / 4.0,
            submit_reply: None,
            power_loss: 0.0,
            kill_at: None,
            tear_journal: 0.0,
            // Drawn by `with_journal_failures`, after everything else.
            journal_write_failure: 0.0,
            clock: TerminalClock {
                skew_ms,
                drift_ppm: rng.range(0, 2_000) as i32 - 1_000,
            },
            until: *rng.pick(&[0, 30_000, 120_000, 600_000, 3_600_000]),
            schedule: FaultSchedule::EMPTY,
        }
    }

    /// Turns failing journal writes on, with a probability drawn from `rng` (swarm). Drawn
    /// after everything else, so the rest of a session's plan does not change.
    pub fn with_journal_failures(mut self, rng: &mut SimRng) -> FaultPlan {
        self.journal_write_failure = rng.swarm_probability() / 4.0;
        self
    }

    /// Turns power losses on: the standard mix, or (swarm) a probability drawn from `rng`.
    /// Drawn after everything else, so the rest of a session's plan does not change.
    pub fn with_power_loss(mut self, swarm: bool, rng: &mut SimRng) -> FaultPlan {
        if swarm {
            self.power_loss = rng.swarm_probability() / 10.0;
            self.tear_journal = rng.swarm_probability();
        } else {
            self.power_loss = 0.003;
            self.tear_journal = 0.1;
        }
        self
    }
}

/// The longest a terminal stays down after a power loss, ms.
pub const MAX_DOWN_MS: u64 = 120_000;

/// A fault aimed at the reply of a pay submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SubmitReplyFault {
    /// The reply never arrives.
    Lost,
    /// The reply arrives this long after the terminal's deadline.
    Late(u64),
}

/// How many faults of each kind were injected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FaultCounts {
    /// Requests lost.
    pub lost_requests: u64,
    /// Requests delayed.
    pub slow_requests: u64,
    /// Replies lost.
    pub lost_replies: u64,
    /// Replies after the deadline.
    pub late_replies: u64,
    /// Replies doubled.
    pub duplicate_replies: u64,
    /// SDK service deaths.
    pub sdk_deaths: u64,
    /// Power losses of the terminal.
    pub power_losses: u64,
    /// Journal records torn by a power loss.
    pub torn_journals: u64,
    /// Journal writes that failed.
    pub failed_journal_writes: u64,
}

impl FaultCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &FaultCounts) {
        self.lost_requests += other.lost_requests;
        self.slow_requests += other.slow_requests;
        self.lost_replies += other.lost_replies;
        self.late_replies += other.late_replies;
        self.duplicate_replies += other.duplicate_replies;
        self.sdk_deaths += other.sdk_deaths;
        self.power_losses += other.power_losses;
        self.torn_journals += other.torn_journals;
        self.failed_journal_writes += other.failed_journal_writes;
    }
}

/// The delays after which copies of one reply arrive: none (lost), one, or two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copies {
    delays: [u64; 2],
    n: u8,
}

impl Copies {
    /// The delays, in order of scheduling.
    pub fn delays(&self) -> &[u64] {
        &self.delays[..usize::from(self.n)]
    }
}

/// A backend request on its way to the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// It reaches the backend after this long, ms.
    pub delay: u64,
    /// Its ordinal: the caller must hand it back with the reply ([`Faults::backend_reply`]).
    pub request: u32,
}

/// How many messages of each kind a session has seen: the ordinals of the next ones.
#[derive(Clone, Copy, Debug, Default)]
struct Ordinals {
    requests: u32,
    callbacks: u32,
    calls: u32,
}

/// Takes the next ordinal of one kind. Saturates: a session never sends 4 billion messages.
fn next(counter: &mut u32) -> u32 {
    let k = *counter;
    *counter = k.saturating_add(1);
    k
}

/// The middleware: decides, message by message, what the network and the binder do.
#[derive(Debug)]
pub struct Faults {
    /// The plan.
    pub plan: FaultPlan,
    /// What was injected.
    pub counts: FaultCounts,
    seen: Ordinals,
    /// The liveness phase: no drawn faults.
    healed: bool,
}

impl Faults {
    /// Faults following `plan`.
    pub fn new(plan: FaultPlan) -> Self {
        Faults {
            plan,
            counts: FaultCounts::default(),
            seen: Ordinals::default(),
            healed: false,
        }
    }

    /// Switches into the liveness phase: from now on no fault is drawn (and no draw is
    /// made for one); aimed faults still hit. The world calls it once, when its time
    /// reaches the plan's `until`, before anything else happens then.
    pub fn heal(&mut self) {
        self.healed = true;
    }

    /// True once [`Faults::heal`] was called.
    pub fn is_healed(&self) -> bool {
        self.healed
    }

    /// A backend request sent now: when it reaches the backend, or `None` if it is lost.
    /// Call it once per request, in the order they are sent.
    pub fn request(&mut self, rng: &mut SimRng) -> Option<Arrival> {
        let normal = rng.range(20, 400);
        let request = next(&mut self.seen.requests);
        let arrival = |delay| Some(Arrival { delay, request });
        // A scheduled fault replaces the draws: with an empty schedule nothing changes.
        match self.plan.schedule.request(request) {
            Some(RequestFault::Lost) => {
                self.counts.lost_requests += 1;
                return None;
            }
            Some(RequestFault::Slow(ms)) => {
                self.counts.slow_requests += 1;
                return arrival(normal + u64::from(ms));
            }
            None => {}
        }
        if self.healed {
            return arrival(normal);
        }
        if rng.chance(self.plan.lose_request) {
            self.counts.lost_requests += 1;
            return None;
        }
        if rng.chance(self.plan.slow_request) {
            self.counts.slow_requests += 1;
            return arrival(normal + rng.range(1_000, 60_000));
        }
        arrival(normal)
    }

    /// The delays after which the backend's reply to request `request` (the ordinal of its
    /// [`Arrival`]), produced now and normally taking `latency`, reaches the terminal
    /// whose deadline is `deadline_ms` after the call.
    pub fn backend_reply(&mut self, request: u32, latency: u64, deadline_ms: u64, rng: &mut SimRng) -> Copies {
        match self.plan.schedule.reply(request) {
            Some(fault) => self.aimed_reply(fault, latency, deadline_ms),
            None => self.drawn_reply(latency, deadline_ms, rng),
        }
    }

    /// The delays after which an SDK callback produced now, normally taking `latency`,
    /// reaches the terminal whose deadline is `deadline_ms` after the call. Call it once
    /// per callback, in the order the face app produced them.
    pub fn callback(&mut self, latency: u64, deadline_ms: u64, rng: &mut SimRng) -> Copies {
        let callback = next(&mut self.seen.callbacks);
        match self.plan.schedule.callback(callback) {
            Some(fault) => self.aimed_reply(fault, latency, deadline_ms),
            None => self.drawn_reply(latency, deadline_ms, rng),
        }
    }

    fn aimed_reply(&mut self, fault: ReplyFault, latency: u64, deadline_ms: u64) -> Copies {
        match fault {
            ReplyFault::Lost => {
                self.counts.lost_replies += 1;
                Copies { delays: [0, 0], n: 0 }
            }
            ReplyFault::Late(ms) => {
                self.counts.late_replies += 1;
                Copies {
                    delays: [latency.max(deadline_ms) + u64::from(ms.max(1)), 0],
                    n: 1,
                }
            }
            ReplyFault::Doubled(ms) => {
                self.counts.duplicate_replies += 1;
                Copies {
                    delays: [latency, latency + u64::from(ms)],
                    n: 2,
                }
            }
        }
    }

    /// A reply's fate drawn from the plan's probabilities.
    fn drawn_reply(&mut self, latency: u64, deadline_ms: u64, rng: &mut SimRng) -> Copies {
        let mut c = Copies {
            delays: [latency, 0],
            n: 1,
        };
        if self.healed {
            return c;
        }
        if rng.chance(self.plan.lose_reply) {
            self.counts.lost_replies += 1;
            c.n = 0;
            return c;
        }
        if rng.chance(self.plan.late_reply) {
            self.counts.late_replies += 1;
            c.delays[0] = latency.max(deadline_ms) + rng.range(1, 30_000);
        }
        if rng.chance(self.plan.duplicate_reply) {
            self.counts.duplicate_replies += 1;
            c.delays[1] = c.delays[0] + rng.range(0, 5_000);
            c.n = 2;
        }
        c
    }

    /// The delays of a submit's reply: as [`Faults::backend_reply`], unless the plan aims a
    /// fault at the first submission (`submit_reply`, which goes before the schedule).
    pub fn submit_reply(&mut self, request: u32, latency: u64, deadline_ms: u64, rng: &mut SimRng) -> Copies {
        match self.plan.submit_reply.take() {
            Some(SubmitReplyFault::Lost) => {
                self.counts.lost_replies += 1;
                Copies { delays: [0, 0], n: 0 }
            }
            Some(SubmitReplyFault::Late(after)) => {
                self.counts.late_replies += 1;
                Copies {
                    delays: [deadline_ms.max(latency) + after.max(1), 0],
                    n: 1,
                }
            }
            None => self.backend_reply(request, latency, deadline_ms, rng),
        }
    }

    /// At a command boundary, `settling` commands after the first journal record (`None`
    /// before it): whether the terminal loses power here.
    pub fn power_loss(&mut self, settling: Option<u32>, rng: &mut SimRng) -> bool {
        let aimed = self.plan.kill_at.is_some() && self.plan.kill_at == settling;
        let kill = if aimed {
            self.plan.kill_at = None;
            true
        } else {
            !self.healed && rng.chance(self.plan.power_loss)
        };
        if kill {
            self.counts.power_losses += 1;
        }
        kill
    }

    /// After a power loss: how long the terminal stays down, and which byte of the last
    /// journal record is damaged, if it is torn. The tear is the damage of the power loss,
    /// not a fault of its own: after [`Faults::heal`] only an aimed power loss happens,
    /// and it tears as the plan says (the property suites aim torn power losses).
    pub fn power_down(&mut self, journal: bool, rng: &mut SimRng) -> (u64, Option<usize>) {
        let down = rng.range(1_000, MAX_DOWN_MS);
        // Only a byte the journal says it salvages from: damage elsewhere may read as
        // another order (no host can be asked to recover from that), or as none.
        let torn = (journal && rng.chance(self.plan.tear_journal)).then(|| {
            self.counts.torn_journals += 1;
            let salvageable = || JournalField::bytes_with(JournalDamage::Salvaged);
            let k = rng.below(salvageable().count() as u64) as usize;
            salvageable().nth(k)
        });
        (down, torn.flatten())
    }

    /// A journal write: whether it fails (drawn, before the heal only).
    pub fn journal_write_fails(&mut self, rng: &mut SimRng) -> bool {
        let fails = !self.healed && rng.chance(self.plan.journal_write_failure);
        if fails {
            self.counts.failed_journal_writes += 1;
        }
        fails
    }

    /// After an SDK call: the delay after which the face service dies, if it does. Call it
    /// once per SDK call, in the order they are made.
    pub fn sdk_death(&mut self, rng: &mut SimRng) -> Option<u64> {
        let call = next(&mut self.seen.calls);
        if let Some(after_ms) = self.plan.schedule.service_death(call) {
            self.counts.sdk_deaths += 1;
            Some(u64::from(after_ms))
        } else if !self.healed && rng.chance(self.plan.sdk_death) {
            self.counts.sdk_deaths += 1;
            Some(rng.range(0, 10_000))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_drawn_fault_and_no_draw_after_heal() {
        let plan = FaultPlan {
            lose_request: 1.0,
            lose_reply: 1.0,
            sdk_death: 1.0,
            power_loss: 1.0,
            ..FaultPlan::NONE
        };
        let mut f = Faults::new(plan);
        let mut rng = SimRng::new(1);
        assert_eq!(f.request(&mut rng), None);
        assert!(f.callback(5, 10, &mut rng).delays().is_empty());
        assert!(f.power_loss(None, &mut rng));
        assert!(!f.is_healed());
        f.heal();
        assert!(f.is_healed());
        let mut untouched = rng.clone();
        let arrival = f.request(&mut rng);
        assert!(arrival.is_some());
        assert_eq!(f.callback(5, 10, &mut rng).delays(), &[5]);
        assert_eq!(f.backend_reply(0, 7, 10, &mut rng).delays(), &[7]);
        assert!(f.sdk_death(&mut rng).is_none());
        assert!(!f.power_loss(Some(3), &mut rng));
        // Only the request's normal latency was drawn.
        assert_eq!(arrival.map(|a| a.delay), Some(untouched.range(20, 400)));
        assert_eq!(rng.next_u64(), untouched.next_u64());
        assert_eq!(f.counts.lost_requests, 1);
        assert_eq!(f.counts.lost_replies, 1);
        assert_eq!(f.counts.power_losses, 1);
    }

    #[test]
    fn aimed_faults_still_hit_after_heal() {
        let plan = FaultPlan {
            submit_reply: Some(SubmitReplyFault::Lost),
            kill_at: Some(2),
            schedule: schedule(&[
                ScheduledFault::Request {
                    request: 0,
                    fault: RequestFault::Lost,
                },
                ScheduledFault::ServiceDeath { call: 0, after_ms: 9 },
            ]),
            ..FaultPlan::NONE
        };
        let mut f = Faults::new(plan);
        f.heal();
        let mut rng = SimRng::new(4);
        assert_eq!(f.request(&mut rng), None);
        assert!(f.submit_reply(1, 100, 10_000, &mut rng).delays().is_empty());
        assert_eq!(f.sdk_death(&mut rng), Some(9));
        assert!(!f.power_loss(Some(1), &mut rng));
        assert!(f.power_loss(Some(2), &mut rng));
    }

    #[test]
    fn a_late_reply_misses_the_deadline_and_a_duplicate_follows_it() {
        let plan = FaultPlan {
            late_reply: 1.0,
            duplicate_reply: 1.0,
            ..FaultPlan::NONE
        };
        let mut f = Faults::new(plan);
        let c = f.callback(100, 10_000, &mut SimRng::new(2));
        let d = c.delays();
        assert_eq!(d.len(), 2);
        assert!(d[0] > 10_000 && d[1] >= d[0]);
    }

    fn schedule(faults: &[ScheduledFault]) -> FaultSchedule {
        FaultSchedule::try_from(faults).expect("fits")
    }

    #[test]
    fn a_scheduled_fault_hits_exactly_its_ordinal() {
        let plan = FaultPlan {
            schedule: schedule(&[
                ScheduledFault::Request {
                    request: 2,
                    fault: RequestFault::Lost,
                },
                ScheduledFault::Request {
                    request: 3,
                    fault: RequestFault::Slow(5_000),
                },
                ScheduledFault::Reply {
                    request: 1,
                    fault: ReplyFault::Doubled(700),
                },
                ScheduledFault::Callback {
                    callback: 1,
                    fault: ReplyFault::Late(500),
                },
                ScheduledFault::ServiceDeath {
                    call: 1,
                    after_ms: 1_234,
                },
            ]),
            ..FaultPlan::NONE
        };
        let mut f = Faults::new(plan);
        let mut rng = SimRng::new(3);
        let sent: Vec<_> = (0..5).map(|_| f.request(&mut rng)).collect();
        assert_eq!(
            sent.iter().map(|a| a.map(|a| a.request)).collect::<Vec<_>>(),
            [Some(0), Some(1), None, Some(3), Some(4)]
        );
        let slow = sent[3].expect("arrives").delay;
        assert!((5_020..=5_400).contains(&slow), "slowed by 5 s: {slow}");
        assert!(sent.iter().flatten().filter(|a| a.request != 3).all(|a| a.delay <= 400));
        for request in [0, 2, 3] {
            assert_eq!(f.backend_reply(request, 100, 10_000, &mut rng).delays(), &[100]);
        }
        assert_eq!(f.backend_reply(1, 100, 10_000, &mut rng).delays(), &[100, 800]);
        let callbacks: Vec<_> = (0..3)
            .map(|_| f.callback(100, 10_000, &mut rng).delays().to_vec())
            .collect();
        assert_eq!(callbacks, [vec![100], vec![10_500], vec![100]]);
        let deaths: Vec<_> = (0..3).map(|_| f.sdk_death(&mut rng)).collect();
        assert_eq!(deaths, [None, Some(1_234), None]);
        assert_eq!(
            f.counts,
            FaultCounts {
                lost_requests: 1,
                slow_requests: 1,
                late_replies: 1,
                duplicate_replies: 1,
                sdk_deaths: 1,
                ..FaultCounts::default()
            }
        );
    }

    #[test]
    fn the_first_entry_for_a_message_decides_it() {
        let plan = FaultPlan {
            schedule: schedule(&[
                ScheduledFault::Reply {
                    request: 0,
                    fault: ReplyFault::Lost,
                },
                ScheduledFault::Reply {
                    request: 0,
                    fault: ReplyFault::Doubled(1),
                },
            ]),
            ..FaultPlan::NONE
        };
        let mut f = Faults::new(plan);
        assert!(f.backend_reply(0, 100, 10_000, &mut SimRng::new(1)).delays().is_empty());
        assert_eq!(f.counts.duplicate_replies, 0);
    }

    /// Drives one of every message through `f` with the plan's probabilities, and returns
    /// what happened and the rng's next draw (so a changed number of draws shows).
    fn drive(plan: FaultPlan) -> (Vec<Vec<u64>>, FaultCounts, u64) {
        let mut f = Faults::new(plan);
        let mut rng = SimRng::new(11);
        let mut seen = Vec::new();
        for _ in 0..200 {
            let arrival = f.request(&mut rng);
            seen.push(arrival.map(|a| vec![a.delay, u64::from(a.request)]).unwrap_or_default());
            if let Some(a) = arrival {
                seen.push(f.submit_reply(a.request, 100, 10_000, &mut rng).delays().to_vec());
                seen.push(f.backend_reply(a.request, 100, 10_000, &mut rng).delays().to_vec());
            }
            seen.push(f.callback(50, 1_000, &mut rng).delays().to_vec());
            seen.push(f.sdk_death(&mut rng).into_iter().collect());
        }
        (seen, f.counts, rng.next_u64())
    }

    #[test]
    fn entries_that_match_nothing_change_no_draw_and_no_fate() {
        let drawn = FaultPlan {
            sdk_death: 0.1,
            submit_reply: Some(SubmitReplyFault::Late(3)),
            ..FaultPlan::standard()
        };
        let unmatched = FaultPlan {
            schedule: schedule(&[
                ScheduledFault::Request {
                    request: 10_000,
                    fault: RequestFault::Lost,
                },
                ScheduledFault::Reply {
                    request: 10_000,
                    fault: ReplyFault::Lost,
                },
                ScheduledFault::Callback {
                    callback: 10_000,
                    fault: ReplyFault::Lost,
                },
                ScheduledFault::ServiceDeath {
                    call: 10_000,
                    after_ms: 0,
                },
            ]),
            ..drawn
        };
        let (a, counts, next) = drive(drawn);
        assert!(counts.lost_requests > 0 && counts.duplicate_replies > 0 && counts.sdk_deaths > 0);
        assert_eq!(drive(unmatched), (a, counts, next));
    }
    #[test]
    fn an_empty_schedule_is_left_out_of_the_serde_form() {
        let json = |plan: &FaultPlan| serde_json::to_value(plan).expect("serialises");
        assert!(json(&FaultPlan::NONE).get("schedule").is_none());
        let plan = FaultPlan {
            schedule: schedule(&[ScheduledFault::ServiceDeath { call: 0, after_ms: 9 }]),
            ..FaultPlan::NONE
        };
        assert_eq!(json(&plan)["schedule"][0]["ServiceDeath"]["after_ms"], 9);
    }
}
