//! A campaign: many sessions from one seed, spread over worker threads and, with a shard,
//! over machines; summed up as outcomes, violations and figures. Each session depends
//! only on `(seed, index)`, so a violation is reproduced by running that one session.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant as WallClock;

use facepay_fsm::Outcome;
use facepay_fsm::trace::{Redaction, TraceHeader, TraceWriter};

use crate::checker::Violation;
use crate::faults::FaultCounts;
use crate::simulation::{Scratch, SessionReport, SessionSpec, run_session};

/// Which part of the session index space this process runs: indices `i` with
/// `i % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// The whole campaign.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` with `I < N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not I/N"))?;
        let index: u64 = i.trim().parse().map_err(|_| format!("`{i}` is not a number"))?;
        let count: u64 = n.trim().parse().map_err(|_| format!("`{n}` is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }

    /// The session indices of this shard among `0..sessions`.
    pub fn indices(&self, sessions: u64) -> impl Iterator<Item = u64> + use<> {
        (self.index..sessions).step_by(self.count as usize)
    }

    /// How many sessions of `0..sessions` are this shard's.
    pub fn len(&self, sessions: u64) -> u64 {
        sessions.saturating_sub(self.index).div_ceil(self.count)
    }
}

/// What to run.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct CampaignConfig {
    /// The campaign seed.
    pub seed: u64,
    /// Sessions in the whole campaign (all shards).
    pub sessions: u64,
    /// Draw fault and behaviour probabilities per session.
    pub swarm: bool,
    /// The terminal may lose power (and resume from its journal).
    pub power_loss: bool,
    /// This process's shard.
    pub shard: Shard,
    /// Worker threads.
    pub jobs: usize,
}

/// Orders by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutcomeCounts {
    /// Paid.
    pub paid: u64,
    /// NotPaid.
    pub not_paid: u64,
    /// Reversed.
    pub reversed: u64,
    /// NeedsReconciliation.
    pub needs_reconciliation: u64,
}

impl OutcomeCounts {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Paid => self.paid += 1,
            Outcome::NotPaid => self.not_paid += 1,
            Outcome::Reversed => self.reversed += 1,
            Outcome::NeedsReconciliation => self.needs_reconciliation += 1,
        }
    }

    /// All orders.
    pub fn total(&self) -> u64 {
        self.paid + self.not_paid + self.reversed + self.needs_reconciliation
    }
}

/// One session that broke a property.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Failure {
    /// The campaign seed.
    pub seed: u64,
    /// The session index.
    pub session: u64,
    /// What broke.
    pub violations: Vec<Violation>,
}

/// The campaign's result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// What ran.
    pub config: CampaignConfig,
    /// Sessions run.
    pub sessions: u64,
    /// Orders by outcome.
    pub outcomes: OutcomeCounts,
    /// Sessions with a violation.
    pub failures: Vec<Failure>,
    /// Violations in all.
    pub violations: u64,
    /// Median virtual session time, ms.
    pub p50_virtual_ms: u64,
    /// 99th percentile virtual session time, ms.
    pub p99_virtual_ms: u64,
    /// Session inputs and timers handled.
    pub steps: u64,
    /// Faults injected.
    pub faults: FaultCounts,
    /// Wall-clock seconds.
    pub wall_secs: f64,
    /// Simulated sessions per wall second.
    pub sessions_per_sec: f64,
    /// Virtual time simulated per unit of wall time (all sessions).
    pub virtual_to_wall: f64,
}

/// Runs one session with no observer, catching a panic as a violation.
pub fn run_checked(spec: &SessionSpec, scratch: &mut Scratch) -> SessionReport {
    match catch_unwind(AssertUnwindSafe(|| run_session(spec, scratch, ()).0)) {
        Ok(r) => r,
        Err(panic) => {
            *scratch = Scratch::default();
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".to_string());
            SessionReport {
                index: spec.index,
                violations: vec![Violation::Panic { message }],
                ..SessionReport::default()
            }
        }
    }
}

struct Totals {
    outcomes: OutcomeCounts,
    failures: Vec<Failure>,
    times: Vec<u64>,
    steps: u64,
    faults: FaultCounts,
}

/// Runs the campaign; `progress` is told the number of sessions finished so far, now and
/// then, from the calling thread.
pub fn run_campaign(cfg: &CampaignConfig, mut progress: impl FnMut(u64)) -> Summary {
    let started = WallClock::now();
    let total = cfg.shard.len(cfg.sessions);
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let totals = Mutex::new(Totals {
        outcomes: OutcomeCounts::default(),
        failures: Vec::new(),
        times: Vec::with_capacity(total as usize),
        steps: 0,
        faults: FaultCounts::default(),
    });
    const CHUNK: u64 = 256;
    std::thread::scope(|scope| {
        for _ in 0..cfg.jobs.max(1) {
            scope.spawn(|| {
                let mut scratch = Scratch::default();
                let mut local = Totals {
                    outcomes: OutcomeCounts::default(),
                    failures: Vec::new(),
                    times: Vec::new(),
                    steps: 0,
                    faults: FaultCounts::default(),
                };
                loop {
                    let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                    if start >= total {
                        break;
                    }
                    for k in start..(start + CHUNK).min(total) {
                        let index = cfg.shard.index + k * cfg.shard.count;
                        let spec = SessionSpec::draw_with(cfg.seed, index, cfg.swarm, cfg.power_loss);
                        let r = run_checked(&spec, &mut scratch);
                        for o in &r.outcomes {
                            local.outcomes.add(*o);
                        }
                        local.times.push(r.virtual_ms);
                        local.steps += r.steps;
                        local.faults.add(&r.faults);
                        if !r.violations.is_empty() {
                            local.failures.push(Failure {
                                seed: cfg.seed,
                                session: index,
                                violations: r.violations,
                            });
                        }
                    }
                    done.fetch_add((start + CHUNK).min(total) - start, Ordering::Relaxed);
                }
                let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
                t.outcomes.paid += local.outcomes.paid;
                t.outcomes.not_paid += local.outcomes.not_paid;
                t.outcomes.reversed += local.outcomes.reversed;
                t.outcomes.needs_reconciliation += local.outcomes.needs_reconciliation;
                t.failures.append(&mut local.failures);
                t.times.append(&mut local.times);
                t.steps += local.steps;
                t.faults.add(&local.faults);
            });
        }
        loop {
            let d = done.load(Ordering::Relaxed);
            progress(d);
            if d >= total {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    let wall_secs = started.elapsed().as_secs_f64().max(1e-9);
    let mut t = totals.into_inner().unwrap_or_else(|e| e.into_inner());
    t.failures.sort_by_key(|f| f.session);
    t.times.sort_unstable();
    let pct = |p: f64| -> u64 {
        if t.times.is_empty() {
            0
        } else {
            t.times[((t.times.len() - 1) as f64 * p).round() as usize]
        }
    };
    let virtual_total: u64 = t.times.iter().sum();
    Summary {
        config: *cfg,
        sessions: total,
        outcomes: t.outcomes,
        violations: t.failures.iter().map(|f| f.violations.len() as u64).sum(),
        failures: t.failures,
        p50_virtual_ms: pct(0.5),
        p99_virtual_ms: pct(0.99),
        steps: t.steps,
        faults: t.faults,
        wall_secs,
        sessions_per_sec: total as f64 / wall_secs,
        virtual_to_wall: virtual_total as f64 / 1000.0 / wall_secs,
    }
}

/// Runs session `index` of campaign `seed` again, recording its trace (format v1, secrets
/// written as they are: they are simulated) to `out`. Returns the session's report.
pub fn record_session<W: Write>(seed: u64, index: u64, swarm: bool, out: W) -> std::io::Result<SessionReport> {
    record_session_with(seed, index, swarm, false, out)
}

/// As [`record_session`], with power losses on or off. A trace that crosses a power loss
/// holds one session per boot, each under its own header (the resumed ones carry the
/// journal they resumed from and name the boot they continue); `replay` checks each.
pub fn record_session_with<W: Write>(
    seed: u64,
    index: u64,
    swarm: bool,
    power_loss: bool,
    out: W,
) -> std::io::Result<SessionReport> {
    let spec = SessionSpec::draw_with(seed, index, swarm, power_loss);
    let header = session_header(seed, index, swarm, power_loss, &spec)?;
    let writer = TraceWriter::new(out, &header, Redaction::Raw)?;
    let mut scratch = Scratch::default();
    let (report, mut writer) = run_session(&spec, &mut scratch, writer);
    writer.flush()?;
    Ok(report)
}

/// The trace header of session `index` of campaign `seed`: its policy, the campaign
/// coordinates and spec as terminal metadata, `terminal_id` `T{index}`, and the session
/// name `seed{seed}-session{index}` (a resumed boot continues it).
pub fn session_header(
    seed: u64,
    index: u64,
    swarm: bool,
    power_loss: bool,
    spec: &SessionSpec,
) -> std::io::Result<TraceHeader> {
    let mut meta = serde_json::Map::new();
    meta.insert("source".into(), "facepay-sim".into());
    meta.insert("terminal_id".into(), format!("T{index}").into());
    meta.insert("seed".into(), seed.into());
    meta.insert("session".into(), index.into());
    meta.insert("swarm".into(), swarm.into());
    if power_loss {
        meta.insert("power_loss".into(), true.into());
    }
    meta.insert(
        "spec".into(),
        serde_json::to_value(spec).map_err(std::io::Error::other)?,
    );
    Ok(TraceHeader::new(spec.policy, meta).named(format!("seed{seed}-session{index}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_sessions() {
        let a: Vec<u64> = Shard::parse("0/3").unwrap().indices(10).collect();
        let b: Vec<u64> = Shard::parse("1/3").unwrap().indices(10).collect();
        let c: Vec<u64> = Shard::parse("2/3").unwrap().indices(10).collect();
        assert_eq!(a, [0, 3, 6, 9]);
        assert_eq!(b, [1, 4, 7]);
        assert_eq!(c, [2, 5, 8]);
        assert_eq!(Shard::parse("2/3").unwrap().len(10), 3);
        assert_eq!(Shard::parse("0/3").unwrap().len(10), 4);
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("x").is_err());
    }
}
