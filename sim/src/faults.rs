//! Fault injection as a middleware between the terminal and the models (smoltcp's
//! FaultInjector): requests lost or slow, replies lost, late (after the deadline) or
//! doubled, the SDK service dying, the terminal's clock skewed. The models never know.

use crate::rng::SimRng;
use crate::world::{TerminalClock, WorldMs};

/// The fault probabilities of one session, and when faults stop (for the liveness phase).
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
    /// At a power loss, the last journal record is torn (one byte damaged, the
    /// out_trade_no still readable): the resumed session must salvage it.
    pub tear_journal: f64,
    /// The terminal's clock against the backend's.
    pub clock: TerminalClock,
    /// No fault is injected at or after this world time.
    pub until: WorldMs,
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
        clock: TerminalClock::EXACT,
        until: 0,
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
            clock: TerminalClock {
                skew_ms: 1_500,
                drift_ppm: 50,
            },
            until: 600_000,
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
            clock: TerminalClock {
                skew_ms,
                drift_ppm: rng.range(0, 2_000) as i32 - 1_000,
            },
            until: *rng.pick(&[0, 30_000, 120_000, 600_000, 3_600_000]),
        }
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

    fn active(&self, now: WorldMs) -> bool {
        now < self.until
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

/// The middleware: decides, message by message, what the network and the binder do.
#[derive(Debug)]
pub struct Faults {
    /// The plan.
    pub plan: FaultPlan,
    /// What was injected.
    pub counts: FaultCounts,
}

impl Faults {
    /// Faults following `plan`.
    pub fn new(plan: FaultPlan) -> Self {
        Faults {
            plan,
            counts: FaultCounts::default(),
        }
    }

    /// The delay before a backend request sent at `now` reaches the backend, or `None`
    /// if it is lost.
    pub fn request(&mut self, now: WorldMs, rng: &mut SimRng) -> Option<u64> {
        let normal = rng.range(20, 400);
        if !self.plan.active(now) {
            return Some(normal);
        }
        if rng.chance(self.plan.lose_request) {
            self.counts.lost_requests += 1;
            return None;
        }
        if rng.chance(self.plan.slow_request) {
            self.counts.slow_requests += 1;
            return Some(normal + rng.range(1_000, 60_000));
        }
        Some(normal)
    }

    /// The delays after which a reply produced at `now`, normally taking `latency`, reaches
    /// the caller whose deadline is `deadline_ms` after the call.
    pub fn reply(&mut self, now: WorldMs, latency: u64, deadline_ms: u64, rng: &mut SimRng) -> Copies {
        let mut c = Copies {
            delays: [latency, 0],
            n: 1,
        };
        if !self.plan.active(now) {
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

    /// The delays of a submit's reply: as [`Faults::reply`], unless the plan aims a fault
    /// at the first submission.
    pub fn submit_reply(&mut self, now: WorldMs, latency: u64, deadline_ms: u64, rng: &mut SimRng) -> Copies {
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
            None => self.reply(now, latency, deadline_ms, rng),
        }
    }

    /// At a command boundary at `now`, `settling` commands after the first journal record
    /// (`None` before it): whether the terminal loses power here.
    pub fn power_loss(&mut self, now: WorldMs, settling: Option<u32>, rng: &mut SimRng) -> bool {
        let aimed = self.plan.kill_at.is_some() && self.plan.kill_at == settling;
        let kill = if aimed {
            self.plan.kill_at = None;
            true
        } else {
            self.plan.active(now) && rng.chance(self.plan.power_loss)
        };
        if kill {
            self.counts.power_losses += 1;
        }
        kill
    }

    /// After a power loss: how long the terminal stays down, and which byte of the last
    /// journal record is damaged, if it is torn.
    pub fn power_down(&mut self, journal: bool, rng: &mut SimRng) -> (u64, Option<usize>) {
        let down = rng.range(1_000, MAX_DOWN_MS);
        // Damage the counts, the reserved bytes or the CRC, never the magic or the
        // out_trade_no: the record fails its checksum and is salvaged.
        let torn = (journal && rng.chance(self.plan.tear_journal)).then(|| {
            self.counts.torn_journals += 1;
            let k = rng.below(23) as usize;
            if k < 10 { 8 + k } else { 51 + (k - 10) }
        });
        (down, torn)
    }

    /// After an SDK call at `now`: the delay after which the face service dies, if it does.
    pub fn sdk_death(&mut self, now: WorldMs, rng: &mut SimRng) -> Option<u64> {
        if self.plan.active(now) && rng.chance(self.plan.sdk_death) {
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
    fn no_faults_after_they_stop() {
        let plan = FaultPlan {
            lose_request: 1.0,
            lose_reply: 1.0,
            sdk_death: 1.0,
            until: 100,
            ..FaultPlan::NONE
        };
        let mut f = Faults::new(plan);
        let mut rng = SimRng::new(1);
        assert_eq!(f.request(99, &mut rng), None);
        assert!(f.request(100, &mut rng).is_some());
        assert!(f.reply(99, 5, 10, &mut rng).delays().is_empty());
        assert_eq!(f.reply(100, 5, 10, &mut rng).delays(), &[5]);
        assert!(f.sdk_death(100, &mut rng).is_none());
        assert_eq!(f.counts.lost_requests, 1);
        assert_eq!(f.counts.lost_replies, 1);
    }

    #[test]
    fn a_late_reply_misses_the_deadline_and_a_duplicate_follows_it() {
        let plan = FaultPlan {
            late_reply: 1.0,
            duplicate_reply: 1.0,
            until: u64::MAX,
            ..FaultPlan::NONE
        };
        let mut f = Faults::new(plan);
        let c = f.reply(0, 100, 10_000, &mut SimRng::new(2));
        let d = c.delays();
        assert_eq!(d.len(), 2);
        assert!(d[0] > 10_000 && d[1] >= d[0]);
    }
}
