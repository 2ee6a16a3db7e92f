//! What a campaign leaves behind, as a fleet would: every terminal's field log (one file
//! per session, each boot under its own header) and the backend's ledger written as
//! WeChat's merchant trade bill, so `replay` and `reconcile` can be run on them and held
//! against the checker.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use facepay_fsm::trace::{Redaction, TraceWriter};
use facepay_fsm::{BackendCall, Command, Event, Instant, Timer};

use crate::bill::BillEntry;
use crate::campaign::{CampaignConfig, Failure, session_header};
use crate::ledger::{Ledger, Trade};
use crate::simulation::{Scratch, SessionReport, SessionSpec, run_session_with};
use crate::terminal::{Observer, StrategyKind};

/// A trace recorder that also notes each order's `total_fee` from its submit: the ledger
/// keeps no amounts, the bill needs them.
struct Recorder<W: Write> {
    writer: TraceWriter<W>,
    amounts: Vec<(String, u32)>,
}

impl<W: Write> Observer for Recorder<W> {
    fn input(&mut self, now: Instant, event: &Event) {
        Observer::input(&mut self.writer, now, event);
    }
    fn timer(&mut self, now: Instant, timer: Option<Timer>) {
        Observer::timer(&mut self.writer, now, timer);
    }
    fn output(&mut self, now: Instant, command: &Command) {
        if let Command::Backend {
            call:
                BackendCall::Submit {
                    out_trade_no,
                    total_fee,
                    ..
                },
            ..
        } = command
            && !self.amounts.iter().any(|(o, _)| o == out_trade_no.as_str())
        {
            self.amounts.push((out_trade_no.to_string(), *total_fee));
        }
        Observer::output(&mut self.writer, now, command);
    }
    fn restarted(&mut self, now: Instant, journal: Option<&[u8]>) {
        Observer::restarted(&mut self.writer, now, journal);
    }
    fn persisted(&mut self, now: Instant, result: Result<(), facepay_fsm::PersistError>) {
        Observer::persisted(&mut self.writer, now, result);
    }
}

/// The merchant (公众账号ID, 商户号) the simulated terminals are configured with.
const APPID: &str = "wx2421b1c4370ec43b";
const MCH_ID: &str = "10000100";

/// The bill rows of one session's ledger: an order charged and not given back is a
/// SUCCESS row per charge; one reversed after it was charged is a REVOKED row (WeChat:
/// "支付成功后撤销的交易会出现在对账单中"); money given back otherwise is a REFUND row.
/// Orders never charged are not on the bill (WeChat lists no unpaid orders).
pub fn bill_entries(ledger: &Ledger, amounts: &[(String, u32)], terminal: &str, day_ms: u64) -> Vec<BillEntry> {
    let mut rows = Vec::new();
    for e in ledger.entries() {
        if e.charges == 0 {
            continue;
        }
        let otn = e.out_trade_no.as_str();
        let amount = amounts
            .iter()
            .find(|(o, _)| o == otn)
            .map_or(0, |(_, fee)| u64::from(*fee));
        let secs = (day_ms + e.created_at) / 1000 % 86_400;
        let entry = |state: &str, refund_fen: u64| BillEntry {
            time: format!("2026-12-01 {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
            appid: APPID.into(),
            mch_id: MCH_ID.into(),
            device: terminal.into(),
            transaction_id: format!("42000{:015}", e.transaction),
            out_trade_no: otn.into(),
            trade_type: "MICROPAY".into(),
            state: state.into(),
            amount_fen: amount,
            refund_fen,
        };
        if matches!(e.trade, Trade::Refunded { .. }) && e.charges == e.refunds {
            rows.push(entry("REVOKED", 0));
            continue;
        }
        for _ in 0..e.charges {
            rows.push(entry("SUCCESS", 0));
        }
        for _ in 0..e.refunds {
            rows.push(entry("REFUND", amount));
        }
    }
    rows
}

/// Runs session `index` of campaign `seed` under `strategy`, writing its trace to `out`;
/// returns its report and its bill rows.
pub fn record_with_bill<W: Write>(
    cfg: &CampaignConfig,
    strategy: StrategyKind,
    index: u64,
    out: W,
) -> std::io::Result<(SessionReport, Vec<BillEntry>)> {
    let spec = SessionSpec::draw_with(cfg.seed, index, cfg.swarm, cfg.power_loss);
    let header = session_header(cfg.seed, index, cfg.swarm, cfg.power_loss, &spec)?;
    let writer = TraceWriter::new(out, &header, Redaction::Raw)?;
    let mut scratch = Scratch::default();
    let recorder = Recorder {
        writer,
        amounts: Vec::new(),
    };
    let (report, mut recorder) = run_session_with(&spec, strategy, &mut scratch, recorder);
    recorder.writer.flush()?;
    // Sessions start a second apart on the bill's day, so times are distinct and sorted.
    let rows = bill_entries(scratch.ledger(), &recorder.amounts, &format!("T{index}"), index * 1000);
    Ok((report, rows))
}

/// The workers' results: bill rows by session, failures, the first write error.
type Gathered = (Vec<(u64, Vec<BillEntry>)>, Vec<Failure>, Option<std::io::Error>);

/// What [`write_fleet`] wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// Trace files.
    pub files: u64,
    /// Bill rows.
    pub bill_rows: u64,
    /// The sessions that broke a property (as the checker saw them while recording).
    pub failures: Vec<Failure>,
}

/// The log file of session `index` under `dir`.
pub fn trace_path(dir: &Path, seed: u64, index: u64) -> PathBuf {
    dir.join(format!("facepay-sim-seed{seed}-session{index}.jsonl"))
}

/// Writes the trace of every session of `cfg`'s shard under `dir` (when given) and the
/// bill of all of them to `bill` (when given), on `cfg.jobs` threads; `progress` hears the
/// sessions done.
pub fn write_fleet(
    cfg: &CampaignConfig,
    strategy: StrategyKind,
    dir: Option<&Path>,
    bill: Option<&Path>,
    progress: impl Fn(u64) + Sync,
) -> std::io::Result<Written> {
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let indices: Vec<u64> = cfg.shard.indices(cfg.sessions).collect();
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let out: Mutex<Gathered> = Mutex::new((Vec::new(), Vec::new(), None));
    std::thread::scope(|scope| {
        for _ in 0..cfg.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&index) = indices.get(k as usize) else { break };
                    let result = match dir {
                        Some(dir) => std::fs::File::create(trace_path(dir, cfg.seed, index))
                            .map(std::io::BufWriter::new)
                            .and_then(|f| record_with_bill(cfg, strategy, index, f)),
                        None => record_with_bill(cfg, strategy, index, std::io::sink()),
                    };
                    let mut guard = out.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok((report, rows)) => {
                            guard.0.push((index, rows));
                            if !report.violations.is_empty() {
                                guard.1.push(Failure {
                                    seed: cfg.seed,
                                    session: index,
                                    violations: report.violations,
                                });
                            }
                        }
                        Err(e) => {
                            guard.2.get_or_insert(e);
                        }
                    }
                    drop(guard);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
            });
        }
    });
    let (mut rows, mut failures, error) = out.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = error {
        return Err(e);
    }
    rows.sort_by_key(|(i, _)| *i);
    failures.sort_by_key(|f| f.session);
    let entries: Vec<BillEntry> = rows.into_iter().flat_map(|(_, r)| r).collect();
    if let Some(path) = bill {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        crate::bill::write_bill(file, &entries).map_err(std::io::Error::other)?;
    }
    Ok(Written {
        files: if dir.is_some() { indices.len() as u64 } else { 0 },
        bill_rows: entries.len() as u64,
        failures,
    })
}
