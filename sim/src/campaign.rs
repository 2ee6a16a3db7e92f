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
use crate::simulation::{Scratch, SessionReport, SessionSpec, run_session_with};
use crate::terminal::StrategyKind;

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

    /// Parses `I/N` with `I < N`. The error names the part that is wrong, for `--shard`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        const FORM: &str = "expected I/N, shard I of N shards numbered from 0, e.g. 3/8";
        let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}` has no `/` ({FORM})"))?;
        let part = |name: &str, text: &str| -> Result<u64, String> {
            let text = text.trim();
            if text.is_empty() {
                return Err(format!("`{s}`: {name} is missing ({FORM})"));
            }
            text.parse()
                .map_err(|_| format!("`{s}`: {name} `{text}` is not a whole number ({FORM})"))
        };
        let index = part("I", i)?;
        let count = part("N", n)?;
        if count == 0 {
            return Err(format!("`{s}`: N must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "`{s}`: I must be below N (the shards of {count} are 0/{count} to {}/{count})",
                count - 1
            ));
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

/// The most worker threads `--jobs` may ask for: far more than the cores of any machine
/// this runs on, few enough that an OS starts them all.
pub const MAX_JOBS: usize = 256;

/// Parses `--jobs`: 1 to [`MAX_JOBS`].
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    let jobs: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of worker threads"))?;
    match jobs {
        0 => Err("at least one worker thread is needed".to_string()),
        n if n > MAX_JOBS => Err(format!(
            "{n} worker threads is more than the {MAX_JOBS} allowed (results do not depend on --jobs; use the number of cores)"
        )),
        n => Ok(n),
    }
}

/// Parses `--sessions`: at least one (a campaign of none proves nothing, and would pass).
pub fn parse_sessions(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("a campaign needs at least one session".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number of sessions")),
    }
}

/// Starts up to `jobs` threads running `work` in `scope`; returns how many started. A
/// thread the OS refuses to start is not fatal: the others share its work (and with none,
/// the caller runs `work` itself). `std::thread::scope`'s own `spawn` panics instead.
pub(crate) fn spawn_workers<'scope, 'env, F>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    jobs: usize,
    work: &'scope F,
) -> usize
where
    F: Fn() + Sync,
{
    let mut started = 0;
    for i in 0..jobs.max(1) {
        let spawned = std::thread::Builder::new()
            .name(format!("facepay-sim-{i}"))
            .spawn_scoped(scope, work);
        match spawned {
            Ok(_) => started += 1,
            Err(_) => break,
        }
    }
    started
}

/// The command that runs session `session` of campaign `seed` again, alone, in the same
/// mode: the shard `session/(session + 1)` of `session + 1` sessions holds only it.
pub fn rerun_command(seed: u64, session: u64, swarm: bool, power_loss: bool) -> String {
    format!(
        "facepay-sim run --seed {seed} --sessions {n} --shard {session}/{n}{}{}",
        if swarm { " --swarm" } else { "" },
        if power_loss { " --power-loss" } else { "" },
        n = session + 1,
    )
}

impl Failure {
    /// What `run` prints for this session: one `VIOLATION` line per violation, then the
    /// command that runs the session again alone, in the campaign's mode.
    pub fn report(&self, swarm: bool, power_loss: bool) -> String {
        let mut s = String::new();
        for v in &self.violations {
            s.push_str(&format!("VIOLATION seed {} session {}: {v}\n", self.seed, self.session));
        }
        s.push_str(&format!(
            "  run it again: {}\n",
            rerun_command(self.seed, self.session, swarm, power_loss)
        ));
        s
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

/// Orders by outcome (a campaign's, or a fleet replay's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    pub(crate) fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Paid => self.paid += 1,
            Outcome::NotPaid => self.not_paid += 1,
            Outcome::Reversed => self.reversed += 1,
            Outcome::NeedsReconciliation => self.needs_reconciliation += 1,
        }
    }

    /// Adds another tally (shards merged).
    pub(crate) fn absorb(&mut self, other: &OutcomeCounts) {
        self.paid += other.paid;
        self.not_paid += other.not_paid;
        self.reversed += other.reversed;
        self.needs_reconciliation += other.needs_reconciliation;
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
    run_checked_as(spec, StrategyKind::Facepay, scratch)
}

/// As [`run_checked`], with the terminal run by `strategy` (e.g. a seed app through the
/// facade: `run --app NAME`).
pub fn run_checked_as(spec: &SessionSpec, strategy: StrategyKind, scratch: &mut Scratch) -> SessionReport {
    match catch_unwind(AssertUnwindSafe(|| run_session_with(spec, strategy, scratch, ()).0)) {
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
pub fn run_campaign(cfg: &CampaignConfig, progress: impl FnMut(u64)) -> Summary {
    run_campaign_as(cfg, StrategyKind::Facepay, progress)
}

/// As [`run_campaign`], every terminal run by `strategy`.
pub fn run_campaign_as(cfg: &CampaignConfig, strategy: StrategyKind, mut progress: impl FnMut(u64)) -> Summary {
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
    let work = || {
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
                let r = run_checked_as(&spec, strategy, &mut scratch);
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
    };
    let jobs = std::thread::scope(|scope| {
        let started = spawn_workers(scope, cfg.jobs, &work);
        if started == 0 {
            work();
        }
        loop {
            let d = done.load(Ordering::Relaxed);
            progress(d);
            if d >= total {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        started.max(1)
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
        config: CampaignConfig { jobs, ..*cfg },
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
    record_session_as(StrategyKind::Facepay, seed, index, swarm, power_loss, out)
}

/// As [`record_session_with`], with the terminal run by `strategy`.
pub fn record_session_as<W: Write>(
    strategy: StrategyKind,
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
    let (report, mut writer) = run_session_with(&spec, strategy, &mut scratch, writer);
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

    #[test]
    fn a_bad_shard_says_which_part_is_wrong() {
        let err = |s: &str| Shard::parse(s).unwrap_err();
        assert_eq!(
            err("1/"),
            "`1/`: N is missing (expected I/N, shard I of N shards numbered from 0, e.g. 3/8)"
        );
        assert!(err("/8").starts_with("`/8`: I is missing"), "{}", err("/8"));
        assert!(
            err("a/8").starts_with("`a/8`: I `a` is not a whole number"),
            "{}",
            err("a/8")
        );
        assert!(err("3").starts_with("`3` has no `/`"), "{}", err("3"));
        assert_eq!(err("0/0"), "`0/0`: N must be at least 1");
        assert_eq!(err("8/8"), "`8/8`: I must be below N (the shards of 8 are 0/8 to 7/8)");
        assert_eq!(Shard::parse(" 3 / 8 "), Ok(Shard { index: 3, count: 8 }));
    }

    #[test]
    fn jobs_and_sessions_must_be_at_least_one_and_jobs_bounded() {
        assert_eq!(parse_jobs("0"), Err("at least one worker thread is needed".to_string()));
        assert_eq!(parse_jobs("4"), Ok(4));
        assert_eq!(parse_jobs(&MAX_JOBS.to_string()), Ok(MAX_JOBS));
        let huge = parse_jobs("1000000000").unwrap_err();
        assert!(
            huge.starts_with("1000000000 worker threads is more than the 256 allowed"),
            "{huge}"
        );
        assert!(parse_jobs("99999999999999999999999").is_err());
        assert!(parse_jobs("-1").is_err());
        assert_eq!(
            parse_sessions("0"),
            Err("a campaign needs at least one session".to_string())
        );
        assert_eq!(parse_sessions("10"), Ok(10));
        assert!(parse_sessions("ten").is_err());
    }

    #[test]
    fn the_rerun_command_runs_exactly_the_one_session() {
        assert_eq!(
            rerun_command(7, 1234, true, true),
            "facepay-sim run --seed 7 --sessions 1235 --shard 1234/1235 --swarm --power-loss"
        );
        assert_eq!(
            rerun_command(1, 0, false, false),
            "facepay-sim run --seed 1 --sessions 1 --shard 0/1"
        );
        for session in [0, 1, 17, 99_999] {
            let shard = Shard::parse(&format!("{session}/{}", session + 1)).unwrap();
            assert_eq!(shard.indices(session + 1).collect::<Vec<_>>(), [session]);
        }
    }

    #[test]
    fn a_violation_is_printed_with_the_command_that_runs_it_again() {
        let f = Failure {
            seed: 7,
            session: 41,
            violations: vec![Violation::DoubleSubmit {
                out_trade_no: "T7".into(),
            }],
        };
        assert_eq!(
            f.report(true, true),
            "VIOLATION seed 7 session 41: T7: submitted twice\n  \
             run it again: facepay-sim run --seed 7 --sessions 42 --shard 41/42 --swarm --power-loss\n"
        );
    }

    #[test]
    fn a_campaign_runs_and_reports_the_workers_it_had() {
        let cfg = CampaignConfig {
            seed: 3,
            sessions: 40,
            swarm: true,
            power_loss: false,
            shard: Shard::ALL,
            jobs: 3,
        };
        let s = run_campaign(&cfg, |_| {});
        assert_eq!(s.sessions, 40);
        assert_eq!(s.config.jobs, 3);
    }
}
