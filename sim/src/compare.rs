//! `facepay-sim compare`: every terminal strategy — facepay and the peer loops of
//! [`crate::peers`] — on the same seeds, the same faults, the same model SDK and backend,
//! held to the same checker; one row each.
//!
//! Each session is drawn once from `(seed, index)` and run once per strategy. Up to the
//! pay submission the strategies are the same machine, so they see the same world; after
//! it their requests differ, and so do the draws of the world's dice that answer them.
//!
//! Violation counts are distinct orders (a re-submitted order counts once), except
//! "charged twice", which counts sessions: the customer paid for two orders of one
//! purchase. "other" is every remaining property of docs/design.md §safety (re-submits, overlapping
//! orders, slow orders, not released in time, …); the JSON has them by kind.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use facepay_fsm::{AppEvent, Command, Event, Instant, Notice, OutTradeNo, Outcome, Timer};

use crate::checker::Violation;
use crate::simulation::{Scratch, SessionSpec, run_session_with};
use crate::terminal::{Observer, StrategyKind};

/// What to compare.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct CompareConfig {
    /// The campaign seed.
    pub seed: u64,
    /// Sessions per strategy.
    pub sessions: u64,
    /// Swarm mode (see `facepay-sim run --swarm`).
    pub swarm: bool,
    /// Worker threads. Results do not depend on it.
    pub jobs: usize,
    /// Run only this session index (to reproduce one listed violation); `sessions` is
    /// then ignored.
    pub only: Option<u64>,
}

impl CompareConfig {
    /// The session indices to run.
    pub fn indices(&self) -> std::ops::Range<u64> {
        match self.only {
            Some(i) => i..i.saturating_add(1),
            None => 0..self.sessions,
        }
    }
}

/// Orders by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcomes {
    /// Paid.
    pub paid: u64,
    /// NotPaid.
    pub not_paid: u64,
    /// Reversed.
    pub reversed: u64,
    /// NeedsReconciliation.
    pub needs_reconciliation: u64,
}

impl Outcomes {
    /// Every concluded order.
    pub fn total(&self) -> u64 {
        self.paid + self.not_paid + self.reversed + self.needs_reconciliation
    }
}

/// How many violating sessions each row lists (the first, by session index), so a
/// peer's violation can be run again from its seed and session.
pub const MAX_LISTED: usize = 20;

/// One session in which a strategy broke a property: enough to run it again.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ViolatingSession {
    /// The campaign seed.
    pub seed: u64,
    /// The session index: the session is drawn from `(seed, session)` (and `swarm`).
    pub session: u64,
    /// The kinds of violation in it, by name, each once.
    pub kinds: Vec<&'static str>,
    /// A command that runs this session again, alone, under every strategy.
    pub rerun: String,
}

/// Violations, by the kinds that cost customers money, and the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Violations {
    /// Orders concluded NotPaid or Reversed that the ledger has charged.
    pub charged_told_unpaid: u64,
    /// Sessions whose customer is charged for more than one order (or one order twice).
    pub charged_twice: u64,
    /// Orders concluded Paid that the ledger has not charged.
    pub told_paid_not_charged: u64,
    /// Orders started or submitted that never concluded.
    pub never_concluded: u64,
    /// Everything else, in distinct (kind, order).
    pub other: u64,
    /// Every kind, in distinct (kind, order), by name.
    pub by_kind: BTreeMap<String, u64>,
}

impl Violations {
    /// The four money kinds and the rest.
    pub fn total(&self) -> u64 {
        self.charged_told_unpaid + self.charged_twice + self.told_paid_not_charged + self.never_concluded + self.other
    }

    fn add_session(&mut self, violations: &[Violation]) {
        let mut seen: Vec<(&'static str, String)> = Vec::new();
        for v in violations {
            let (kind, key) = kind_and_key(v);
            if seen.iter().any(|(k, o)| *k == kind && *o == key) {
                continue;
            }
            seen.push((kind, key));
            *self.by_kind.entry(kind.to_string()).or_default() += 1;
            match kind {
                "UnpaidButCharged" => self.charged_told_unpaid += 1,
                "ChargedTwice" | "CustomerChargedTwice" => {}
                "PaidButNotCharged" => self.told_paid_not_charged += 1,
                "NeverConcluded" => self.never_concluded += 1,
                _ => self.other += 1,
            }
        }
        if violations.iter().any(|v| {
            matches!(
                v,
                Violation::ChargedTwice { .. } | Violation::CustomerChargedTwice { .. }
            )
        }) {
            self.charged_twice += 1;
        }
    }

    fn merge(&mut self, o: &Violations) {
        self.charged_told_unpaid += o.charged_told_unpaid;
        self.charged_twice += o.charged_twice;
        self.told_paid_not_charged += o.told_paid_not_charged;
        self.never_concluded += o.never_concluded;
        self.other += o.other;
        for (k, n) in &o.by_kind {
            *self.by_kind.entry(k.clone()).or_default() += n;
        }
    }
}

/// A violation's kind, and what makes two of them the same (the order, or the session).
fn kind_and_key(v: &Violation) -> (&'static str, String) {
    match v {
        Violation::DoubleSubmit { out_trade_no } => ("DoubleSubmit", out_trade_no.clone()),
        Violation::CredentialReused { out_trade_no } => ("CredentialReused", out_trade_no.clone()),
        Violation::OverlappingOrders { new, .. } => ("OverlappingOrders", new.clone()),
        Violation::ChargedTwice { out_trade_no } => ("ChargedTwice", out_trade_no.clone()),
        Violation::CustomerChargedTwice { .. } => ("CustomerChargedTwice", String::new()),
        Violation::UnpaidButCharged { out_trade_no, .. } => ("UnpaidButCharged", out_trade_no.clone()),
        Violation::ConcludedTwice { out_trade_no } => ("ConcludedTwice", out_trade_no.clone()),
        Violation::NeverConcluded { out_trade_no } => ("NeverConcluded", out_trade_no.clone()),
        Violation::PaidButNotCharged { out_trade_no } => ("PaidButNotCharged", out_trade_no.clone()),
        Violation::PayResultWithoutPayment => ("PayResultWithoutPayment", String::new()),
        Violation::FaceUiLeftWaiting { out_trade_no } => ("FaceUiLeftWaiting", out_trade_no.clone()),
        Violation::OrderTooSlow { out_trade_no, .. } => ("OrderTooSlow", out_trade_no.clone()),
        Violation::ReverseBudgetExceeded { out_trade_no, .. } => ("ReverseBudgetExceeded", out_trade_no.clone()),
        Violation::LoopLeftOpen { out_trade_no, .. } => ("LoopLeftOpen", out_trade_no.clone()),
        Violation::Unjournaled { out_trade_no, .. } => ("Unjournaled", out_trade_no.clone()),
        Violation::NotLive { .. } => ("NotLive", String::new()),
        Violation::LostCommands { .. } => ("LostCommands", String::new()),
        Violation::Refused { .. } => ("Refused", String::new()),
        Violation::AppCallUnanswered { operation, .. } => ("AppCallUnanswered", operation.clone()),
        Violation::AppViewContradicted { out_trade_no, .. } => ("AppViewContradicted", out_trade_no.clone()),
        Violation::Panic { .. } => ("Panic", String::new()),
    }
}

/// One strategy's row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    /// The strategy.
    pub strategy: &'static str,
    /// Sessions run.
    pub sessions: u64,
    /// Orders by outcome.
    pub outcomes: Outcomes,
    /// Violations.
    pub violations: Violations,
    /// All violations of the row: `violations.total()`.
    pub violations_total: u64,
    /// Sessions with at least one violation.
    pub sessions_with_violations: u64,
    /// The first [`MAX_LISTED`] of those sessions, by index.
    pub violating_sessions: Vec<ViolatingSession>,
    /// Orders concluded (the wait is averaged over these).
    pub concluded_orders: u64,
    /// Mean customer wait, ms: from the cashier's order to its conclusion, over the
    /// concluded orders (terminal clock).
    pub mean_wait_ms: f64,
    #[serde(skip)]
    wait_sum_ms: u64,
}

impl Row {
    fn new(strategy: StrategyKind) -> Self {
        Row {
            strategy: strategy.name(),
            sessions: 0,
            outcomes: Outcomes::default(),
            violations: Violations::default(),
            violations_total: 0,
            sessions_with_violations: 0,
            violating_sessions: Vec::new(),
            concluded_orders: 0,
            mean_wait_ms: 0.0,
            wait_sum_ms: 0,
        }
    }

    /// Lists a violating session, while the worker has listed fewer than [`MAX_LISTED`]
    /// (its sessions come in index order, so the global first ones are among them).
    fn list(&mut self, cfg: &CompareConfig, session: u64, mut kinds: Vec<&'static str>) {
        if self.violating_sessions.len() < MAX_LISTED {
            kinds.sort_unstable();
            kinds.dedup();
            self.violating_sessions.push(ViolatingSession {
                seed: cfg.seed,
                session,
                kinds,
                rerun: rerun_command(cfg.seed, session, cfg.swarm),
            });
        }
    }

    fn merge(&mut self, o: &Row) {
        self.sessions += o.sessions;
        self.outcomes.paid += o.outcomes.paid;
        self.outcomes.not_paid += o.outcomes.not_paid;
        self.outcomes.reversed += o.outcomes.reversed;
        self.outcomes.needs_reconciliation += o.outcomes.needs_reconciliation;
        self.violations.merge(&o.violations);
        self.sessions_with_violations += o.sessions_with_violations;
        self.violating_sessions.extend(o.violating_sessions.iter().cloned());
        self.concluded_orders += o.concluded_orders;
        self.wait_sum_ms += o.wait_sum_ms;
    }
}

/// The comparison.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Comparison {
    /// What ran.
    pub config: CompareConfig,
    /// One row per strategy, facepay first.
    pub rows: Vec<Row>,
    /// Sums over every row.
    pub totals: Totals,
}

/// Sums over every strategy's row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Sessions run, all strategies.
    pub sessions: u64,
    /// Orders concluded, all strategies.
    pub orders: u64,
    /// Violations, all strategies.
    pub violations: u64,
    /// Sessions with at least one violation, all strategies.
    pub sessions_with_violations: u64,
}

impl Comparison {
    /// The exit status `facepay-sim compare` reports: success when facepay's row (the
    /// first) has no violation. The peers' rows do not count: they are expected to fail.
    pub fn facepay_is_clean(&self) -> bool {
        self.rows.first().is_some_and(|r| r.violations.total() == 0)
    }
}

/// The command that runs session `session` of a comparison again, alone.
pub fn rerun_command(seed: u64, session: u64, swarm: bool) -> String {
    format!(
        "facepay-sim compare --seed {seed} --session {session}{}",
        if swarm { " --swarm" } else { "" }
    )
}

/// Measures the customer's wait for each order: first `StartOrder` to its conclusion.
#[derive(Debug, Default)]
pub struct WaitObserver {
    started: Vec<(OutTradeNo, Instant)>,
    /// Orders concluded.
    pub concluded: u64,
    /// Their waits, summed, ms.
    pub wait_sum_ms: u64,
}

impl Observer for WaitObserver {
    fn input(&mut self, now: Instant, event: &Event) {
        if let Event::App(AppEvent::StartOrder(o)) = event
            && !self.started.iter().any(|(otn, _)| *otn == o.out_trade_no)
        {
            self.started.push((o.out_trade_no.clone(), now));
        }
    }
    fn timer(&mut self, _: Instant, _: Option<Timer>) {}
    fn persisted(&mut self, _: Instant, _: Result<(), facepay_fsm::PersistError>) {}
    fn output(&mut self, now: Instant, command: &Command) {
        if let Command::Notify(Notice::OrderConcluded(c)) = command
            && let Some(i) = self.started.iter().position(|(otn, _)| *otn == c.out_trade_no)
        {
            let (_, at) = self.started.swap_remove(i);
            self.concluded += 1;
            self.wait_sum_ms += now.0.saturating_sub(at.0);
        }
    }
}

/// The rows of the table: facepay, the peer loops, then facepay through the seed facade
/// driven by each simulated seed app ([`crate::apps`]).
pub fn compared() -> impl Iterator<Item = StrategyKind> {
    StrategyKind::ALL
        .into_iter()
        .chain(crate::apps::AppKind::ALL.into_iter().map(StrategyKind::App))
}

/// Runs session `index` under every strategy, adding to `rows` (one per strategy).
fn run_one(cfg: &CompareConfig, index: u64, scratch: &mut Scratch, rows: &mut [Row]) {
    let spec = SessionSpec::draw(cfg.seed, index, cfg.swarm);
    for (row, kind) in rows.iter_mut().zip(compared()) {
        let run = catch_unwind(AssertUnwindSafe(|| {
            run_session_with(&spec, kind, scratch, WaitObserver::default())
        }));
        row.sessions += 1;
        let (report, waits) = match run {
            Ok(r) => r,
            Err(panic) => {
                *scratch = Scratch::default();
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic".to_string());
                row.violations.add_session(&[Violation::Panic { message }]);
                row.sessions_with_violations += 1;
                row.list(cfg, index, vec!["Panic"]);
                continue;
            }
        };
        for o in &report.outcomes {
            match o {
                Outcome::Paid => row.outcomes.paid += 1,
                Outcome::NotPaid => row.outcomes.not_paid += 1,
                Outcome::Reversed => row.outcomes.reversed += 1,
                Outcome::NeedsReconciliation => row.outcomes.needs_reconciliation += 1,
            }
        }
        if !report.violations.is_empty() {
            row.sessions_with_violations += 1;
            row.violations.add_session(&report.violations);
            let mut kinds: Vec<&'static str> = report.violations.iter().map(|v| kind_and_key(v).0).collect();
            kinds.dedup();
            row.list(cfg, index, kinds);
        }
        row.concluded_orders += waits.concluded;
        row.wait_sum_ms += waits.wait_sum_ms;
    }
}

/// Runs the comparison; `progress` hears the sessions finished so far, now and then.
pub fn run_compare(cfg: &CompareConfig, mut progress: impl FnMut(u64)) -> Comparison {
    let fresh = || compared().map(Row::new).collect::<Vec<_>>();
    let totals = Mutex::new(fresh());
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    const CHUNK: u64 = 64;
    let (first, total) = (cfg.indices().start, cfg.indices().end - cfg.indices().start);
    let work = || {
        let mut scratch = Scratch::default();
        let mut rows = fresh();
        loop {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= total {
                break;
            }
            let end = (start + CHUNK).min(total);
            for index in (start..end).map(|k| first + k) {
                run_one(cfg, index, &mut scratch, &mut rows);
            }
            done.fetch_add(end - start, Ordering::Relaxed);
        }
        let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
        for (t, r) in t.iter_mut().zip(&rows) {
            t.merge(r);
        }
    };
    let jobs = std::thread::scope(|scope| {
        let started = crate::campaign::spawn_workers(scope, cfg.jobs, &work);
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
    let mut rows = totals.into_inner().unwrap_or_else(|e| e.into_inner());
    for r in &mut rows {
        r.mean_wait_ms = if r.concluded_orders == 0 {
            0.0
        } else {
            r.wait_sum_ms as f64 / r.concluded_orders as f64
        };
        r.violations_total = r.violations.total();
        r.violating_sessions.sort_by_key(|v| v.session);
        r.violating_sessions.truncate(MAX_LISTED);
    }
    let totals = Totals {
        sessions: rows.iter().map(|r| r.sessions).sum(),
        orders: rows.iter().map(|r| r.outcomes.total()).sum(),
        violations: rows.iter().map(|r| r.violations_total).sum(),
        sessions_with_violations: rows.iter().map(|r| r.sessions_with_violations).sum(),
    };
    Comparison {
        config: CompareConfig { jobs, ..*cfg },
        rows,
        totals,
    }
}

const RED: &str = "\x1b[31m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The table a person reads: one row per strategy, facepay first; with `color`,
/// violations above zero in red.
pub fn render_table(c: &Comparison, color: bool) -> String {
    let header = [
        "strategy",
        "sessions",
        "paid",
        "not paid",
        "reversed",
        "needs recon.",
        "charged, told unpaid",
        "charged twice",
        "told paid, not charged",
        "never concluded",
        "other violations",
        "mean wait",
    ];
    let rows: Vec<[String; 12]> = c
        .rows
        .iter()
        .map(|r| {
            let v = &r.violations;
            [
                r.strategy.to_string(),
                r.sessions.to_string(),
                r.outcomes.paid.to_string(),
                r.outcomes.not_paid.to_string(),
                r.outcomes.reversed.to_string(),
                r.outcomes.needs_reconciliation.to_string(),
                v.charged_told_unpaid.to_string(),
                v.charged_twice.to_string(),
                v.told_paid_not_charged.to_string(),
                v.never_concluded.to_string(),
                v.other.to_string(),
                format!("{:.1} s", r.mean_wait_ms / 1000.0),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut s = String::new();
    let sessions = match c.config.only {
        Some(i) => format!("session {i} only"),
        None => format!("{} sessions per strategy", c.config.sessions),
    };
    let _ = writeln!(
        s,
        "seed {}, {sessions}, {} mix",
        c.config.seed,
        if c.config.swarm { "swarm" } else { "standard" }
    );
    let line = |s: &mut String, cells: &[String], colored: &dyn Fn(usize, &str) -> bool| {
        for (i, cell) in cells.iter().enumerate() {
            let w = width[i];
            let padded = if i == 0 {
                format!("{cell:<w$}")
            } else {
                format!("{cell:>w$}")
            };
            let sep = if i == 0 { "" } else { "  " };
            if color && colored(i, cell) {
                let _ = write!(s, "{sep}{RED}{padded}{RESET}");
            } else {
                let _ = write!(s, "{sep}{padded}");
            }
        }
        s.push('\n');
    };
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    if color {
        s.push_str(BOLD);
    }
    line(&mut s, &head, &|_, _| false);
    if color {
        s.push_str(RESET);
    }
    let total: usize = width.iter().sum::<usize>() + 2 * (width.len() - 1);
    let _ = writeln!(s, "{:-<total$}", "");
    for r in &rows {
        line(&mut s, r, &|i, cell| (6..=10).contains(&i) && cell != "0");
    }
    let _ = writeln!(s, "{:-<total$}", "");
    s.push_str(
        "violations: distinct orders (charged twice: sessions); mean wait: order to conclusion, concluded orders\n",
    );
    s
}
