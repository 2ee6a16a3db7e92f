//! Holding the terminals' conclusions against what WeChat settled: every order of the logs
//! matched by `out_trade_no` with the merchant's trade bill ([`crate::bill`]).
//!
//! The logs are read for what each terminal *told* its cashier (the recorded
//! `order_concluded` notices), not replayed: reconciliation is about the money and the
//! words that were said, whatever today's machine would decide.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use facepay_fsm::codes::TradeState;
use facepay_fsm::trace::{RecordKind, parse_trace, split_sessions};
use facepay_fsm::{BackendCall, Command, JournalPhase, JournalRecord, Notice, Outcome, Reason};
use serde::{Deserialize, Serialize};

use crate::bill::{Bill, fen_to_yuan};
use crate::fleet::terminal_of;

/// One order as the logs know it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedOrder {
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// The first conclusion the terminal announced: what the cashier was told (`None`:
    /// submitted, never concluded).
    pub outcome: Option<Outcome>,
    /// Every conclusion, in log order. A session resumed from a torn journal may conclude
    /// an order again (e.g. Reversed, then NotPaid once the query shows the refund).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
    /// `total_fee` of its submit (or journal record), fen.
    pub amount_fen: Option<u64>,
    /// The terminal its log names.
    pub terminal: Option<String>,
    /// The log file (and line of the session's header) of its last word.
    pub file: String,
    /// The terminal's first conclusion was NotPaid because a query showed the order
    /// REFUND or REVOKED: the money had come back, and the bill shows it revoked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unpaid_as_returned: bool,
    /// The session index (within its file) of each conclusion in `outcomes`.
    #[serde(skip)]
    concluded_in: Vec<usize>,
}

/// Every order of some logs, by `out_trade_no`.
pub type LoggedOrders = BTreeMap<String, LoggedOrder>;

/// Adds the orders of one log file (`bytes`, already decompressed) to `orders`.
pub fn read_orders(bytes: &[u8], file: &str, orders: &mut LoggedOrders) {
    for (n, slice) in split_sessions(bytes).into_iter().enumerate() {
        let parsed = parse_trace(slice.bytes);
        let Some(header) = parsed.header else { continue };
        // A boot resumed from a journal that does not hold an order's conclusion: the
        // conclusion the boot before logged never became durable, so the host never
        // showed it (it persists before it notifies). Forget it.
        if n > 0
            && let Some(journal) = header.resume.as_ref().and_then(|r| r.bytes())
        {
            let open = match JournalRecord::decode(&journal) {
                Ok(r) => (!matches!(r.phase, JournalPhase::Concluded(_))).then(|| r.out_trade_no.to_string()),
                Err(_) => JournalRecord::salvage(&journal).map(|(otn, _)| otn.to_string()),
            };
            if let Some(o) = open.and_then(|otn| orders.get_mut(&otn))
                && o.concluded_in.last() == Some(&(n - 1))
            {
                o.outcomes.pop();
                o.concluded_in.pop();
                o.outcome = o.outcomes.first().copied();
                o.unpaid_as_returned &= o.outcome == Some(Outcome::NotPaid);
            }
        }
        let terminal = terminal_of(&header);
        let here = format!("{file}:{}", slice.first_line);
        for (_, record) in &parsed.records {
            let touch = |orders: &'_ mut LoggedOrders, otn: &str| {
                let o = orders.entry(otn.to_string()).or_insert_with(|| LoggedOrder {
                    out_trade_no: otn.to_string(),
                    ..LoggedOrder::default()
                });
                o.terminal = terminal.clone().or(o.terminal.take());
                o.file.clone_from(&here);
            };
            let RecordKind::Output(command) = &record.kind else {
                continue;
            };
            match command {
                Command::Backend {
                    call:
                        BackendCall::Submit {
                            out_trade_no,
                            total_fee,
                            ..
                        },
                    ..
                } => {
                    touch(orders, out_trade_no.as_str());
                    if let Some(o) = orders.get_mut(out_trade_no.as_str()) {
                        o.amount_fen = Some(u64::from(*total_fee));
                    }
                }
                Command::Persist(j) => {
                    touch(orders, j.out_trade_no.as_str());
                    // A salvaged record (torn journal) has no amount (0): keep the submit's.
                    if let Some(o) = orders.get_mut(j.out_trade_no.as_str())
                        && j.total_fee > 0
                    {
                        o.amount_fen = Some(u64::from(j.total_fee));
                    }
                }
                Command::Notify(Notice::OrderConcluded(c)) => {
                    touch(orders, c.out_trade_no.as_str());
                    if let Some(o) = orders.get_mut(c.out_trade_no.as_str()) {
                        if o.outcome.is_none() {
                            o.outcome = Some(c.outcome);
                            o.unpaid_as_returned =
                                matches!(c.reason, Reason::TradeState(TradeState::Refund | TradeState::Revoked));
                        }
                        o.outcomes.push(c.outcome);
                        o.concluded_in.push(n);
                    }
                }
                _ => {}
            }
        }
    }
}

/// What the bill says of one `out_trade_no`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled {
    /// Charged (SUCCESS rows), fen.
    pub charged_fen: u64,
    /// Given back (REFUND rows), fen.
    pub refunded_fen: u64,
    /// A REVOKED row: reversed (撤销) after it was paid.
    pub revoked: bool,
    /// Rows for it.
    pub rows: u32,
}

impl Settled {
    /// What the customer is out of pocket.
    pub fn net_fen(&self) -> u64 {
        if self.revoked {
            0
        } else {
            self.charged_fen.saturating_sub(self.refunded_fen)
        }
    }

    /// The outcome the bill settles an open order as.
    pub fn settles_as(&self) -> Outcome {
        if self.net_fen() > 0 {
            Outcome::Paid
        } else if self.rows > 0 {
            Outcome::Reversed
        } else {
            Outcome::NotPaid
        }
    }
}

/// The bill, by `out_trade_no`.
pub fn settled(bill: &Bill) -> BTreeMap<String, Settled> {
    let mut m: BTreeMap<String, Settled> = BTreeMap::new();
    for row in &bill.rows {
        let s = m.entry(row.out_trade_no.clone()).or_default();
        s.rows += 1;
        match row.state.as_str() {
            "SUCCESS" => s.charged_fen += row.amount_fen,
            "REFUND" => s.refunded_fen += row.refund_fen,
            "REVOKED" => {
                // A revoked order was paid, then reversed: its amount came back.
                s.revoked = true;
            }
            _ => {}
        }
    }
    m
}

/// What reconciliation found for one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The bill charged it; the terminal concluded NotPaid or Reversed. Money.
    ChargedButConcludedUnpaid,
    /// The terminal concluded NotPaid (a final "not charged"), but the bill shows the
    /// order charged and then revoked: the customer was out of pocket while told unpaid
    /// (and may have paid again). Money.
    NotPaidButRevoked,
    /// The terminal concluded Paid; the bill has no such order. Money.
    PaidButAbsent,
    /// The terminal concluded Paid; the bill shows it revoked. Money.
    PaidButRevoked,
    /// The terminal concluded Paid; the bill shows it refunded. Money.
    PaidButRefunded,
    /// Concluded Paid, charged, but another amount. Money.
    AmountDiffers,
    /// Submitted, never concluded, and charged. Money.
    ChargedButNeverConcluded,
    /// Charged on the bill; no log knows the order. Money.
    UnknownToLogs,
    /// The terminal asked for a person: the bill settles it (see `settles_as`).
    NeedsReconciliation,
}

impl FindingKind {
    /// Whether money is wrong (exit status 1), not merely an order to settle by hand.
    pub fn is_money(self) -> bool {
        self != FindingKind::NeedsReconciliation
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FindingKind::ChargedButConcludedUnpaid => "charged, concluded unpaid",
            FindingKind::NotPaidButRevoked => "not paid, charged and revoked",
            FindingKind::PaidButAbsent => "paid, not on the bill",
            FindingKind::PaidButRevoked => "paid, revoked on the bill",
            FindingKind::PaidButRefunded => "paid, refunded on the bill",
            FindingKind::AmountDiffers => "amount differs",
            FindingKind::ChargedButNeverConcluded => "charged, never concluded",
            FindingKind::UnknownToLogs => "charged, no log knows it",
            FindingKind::NeedsReconciliation => "needs reconciliation",
        })
    }
}

/// One line of the reconciliation report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What.
    pub kind: FindingKind,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// The terminal's conclusion (none: never concluded, or no log).
    pub concluded: Option<Outcome>,
    /// The amount in the log, fen.
    pub log_fen: Option<u64>,
    /// What the customer is out of pocket per the bill, fen.
    pub bill_net_fen: u64,
    /// For an open order: how the bill settles it.
    pub settles_as: Option<Outcome>,
    /// The terminal.
    pub terminal: Option<String>,
    /// Where in the logs (file:line of the session), if any.
    pub file: Option<String>,
}

/// The whole report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Orders in the logs.
    pub logged_orders: u64,
    /// Distinct orders on the bill.
    pub billed_orders: u64,
    /// Orders that agree.
    pub agreeing: u64,
    /// Every finding, by kind then out_trade_no.
    pub findings: Vec<Finding>,
}

impl Reconciliation {
    /// Findings that are money discrepancies.
    pub fn money_discrepancies(&self) -> usize {
        self.findings.iter().filter(|f| f.kind.is_money()).count()
    }
}

/// Matches every logged order with the bill.
pub fn reconcile(orders: &LoggedOrders, bill: &Bill) -> Reconciliation {
    let settled = settled(bill);
    let mut r = Reconciliation {
        logged_orders: orders.len() as u64,
        billed_orders: settled.len() as u64,
        ..Reconciliation::default()
    };
    let none = Settled::default();
    for (otn, o) in orders {
        let s = settled.get(otn).unwrap_or(&none);
        let net = s.net_fen();
        let kind = match o.outcome {
            Some(Outcome::NotPaid | Outcome::Reversed) if net > 0 => Some(FindingKind::ChargedButConcludedUnpaid),
            Some(Outcome::NotPaid) if (s.revoked || s.charged_fen > 0) && !o.unpaid_as_returned => {
                Some(FindingKind::NotPaidButRevoked)
            }
            Some(Outcome::Paid) if s.rows == 0 => Some(FindingKind::PaidButAbsent),
            Some(Outcome::Paid) if s.revoked => Some(FindingKind::PaidButRevoked),
            Some(Outcome::Paid) if net == 0 => Some(FindingKind::PaidButRefunded),
            Some(Outcome::Paid) if o.amount_fen.is_some_and(|a| a != net) => Some(FindingKind::AmountDiffers),
            Some(Outcome::NeedsReconciliation) => Some(FindingKind::NeedsReconciliation),
            None if net > 0 => Some(FindingKind::ChargedButNeverConcluded),
            // A later conclusion (after a torn journal) asked for a person.
            _ if o.outcomes.contains(&Outcome::NeedsReconciliation) => Some(FindingKind::NeedsReconciliation),
            _ => None,
        };
        match kind {
            None => r.agreeing += 1,
            Some(kind) => r.findings.push(Finding {
                kind,
                out_trade_no: otn.clone(),
                concluded: o.outcome,
                log_fen: o.amount_fen,
                bill_net_fen: net,
                settles_as: (kind == FindingKind::NeedsReconciliation).then(|| s.settles_as()),
                terminal: o.terminal.clone(),
                file: Some(o.file.clone()),
            }),
        }
    }
    // The terminal of an order no log knows: its bill row's 设备号 (one pass, not a search
    // per order: a day's bill has tens of thousands of rows).
    let mut devices: BTreeMap<&str, &str> = BTreeMap::new();
    for row in &bill.rows {
        devices.entry(row.out_trade_no.as_str()).or_insert(row.device.as_str());
    }
    for (otn, s) in &settled {
        if !orders.contains_key(otn) && s.net_fen() > 0 {
            let device = devices
                .get(otn.as_str())
                .filter(|d| !d.is_empty())
                .map(|d| d.to_string());
            r.findings.push(Finding {
                kind: FindingKind::UnknownToLogs,
                out_trade_no: otn.clone(),
                concluded: None,
                log_fen: None,
                bill_net_fen: s.net_fen(),
                settles_as: None,
                terminal: device,
                file: None,
            });
        }
    }
    r.findings
        .sort_by(|a, b| (a.kind, &a.out_trade_no).cmp(&(b.kind, &b.out_trade_no)));
    r
}

fn outcome_name(o: Option<Outcome>) -> String {
    o.map_or_else(|| "-".to_string(), |o| o.to_string())
}

fn yuan(fen: Option<u64>) -> String {
    fen.map_or_else(|| "-".to_string(), fen_to_yuan)
}

/// The report as a table for people.
pub fn render_table(r: &Reconciliation) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} logged orders, {} on the bill: {} agree, {} money discrepancies, {} to settle by hand",
        r.logged_orders,
        r.billed_orders,
        r.agreeing,
        r.money_discrepancies(),
        r.findings.len() - r.money_discrepancies()
    );
    if r.findings.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "{:<28} {:<34} {:<20} {:>10} {:>10} {:<20} {:<16} log",
        "finding", "out_trade_no", "concluded", "log ¥", "bill ¥", "bill settles as", "terminal"
    );
    for f in &r.findings {
        let _ = writeln!(
            s,
            "{:<28} {:<34} {:<20} {:>10} {:>10} {:<20} {:<16} {}",
            f.kind.to_string(),
            f.out_trade_no,
            outcome_name(f.concluded),
            yuan(f.log_fen),
            fen_to_yuan(f.bill_net_fen),
            outcome_name(f.settles_as),
            f.terminal.as_deref().unwrap_or("-"),
            f.file.as_deref().unwrap_or("-")
        );
    }
    s
}

/// The findings as CSV (one row each, a header first).
pub fn write_csv<W: std::io::Write>(out: W, r: &Reconciliation) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "finding",
        "out_trade_no",
        "concluded",
        "log_yuan",
        "bill_net_yuan",
        "settles_as",
        "terminal",
        "log",
    ])?;
    for f in &r.findings {
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        w.write_record([
            kind,
            f.out_trade_no.clone(),
            outcome_name(f.concluded),
            yuan(f.log_fen),
            fen_to_yuan(f.bill_net_fen),
            outcome_name(f.settles_as),
            f.terminal.clone().unwrap_or_default(),
            f.file.clone().unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Arguments of `facepay-sim reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The merchant's trade bill: v2 `downloadbill`, bill_type=ALL, plain or gzip.
    #[arg(long, value_name = "BILL")]
    pub bill: PathBuf,
    /// Field logs: files, directories (walked as `replay` does) or `-`.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the findings as CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
}

/// Runs `reconcile`. Exit status 0: no money discrepancy; 1: at least one; 2: a bill or a
/// log could not be read.
pub fn main(args: ReconcileArgs) -> std::process::ExitCode {
    use std::process::ExitCode;
    let bill = match crate::fleet::read_log(&args.bill) {
        Err(e) => {
            eprintln!("reconcile: {e}");
            return ExitCode::from(2);
        }
        Ok(bytes) => match crate::bill::parse_bill(&bytes) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("reconcile: {}: {e}", args.bill.display());
                return ExitCode::from(2);
            }
        },
    };
    let mut orders = LoggedOrders::new();
    let mut unreadable = false;
    for path in crate::fleet::collect_logs(&args.logs) {
        match crate::fleet::read_log(&path) {
            Ok(bytes) => read_orders(&bytes, &path.display().to_string(), &mut orders),
            Err(e) => {
                eprintln!("reconcile: {e}");
                unreadable = true;
            }
        }
    }
    let r = reconcile(&orders, &bill);
    if args.json {
        match serde_json::to_string_pretty(&r) {
            Ok(s) => {
                use std::io::Write as _;
                let _ = writeln!(std::io::stdout().lock(), "{s}");
            }
            Err(e) => eprintln!("reconcile: cannot write JSON: {e}"),
        }
    } else if args.csv {
        if let Err(e) = write_csv(std::io::stdout().lock(), &r) {
            eprintln!("reconcile: cannot write CSV: {e}");
        }
    } else {
        use std::io::Write as _;
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = std::io::stdout().lock().write_all(render_table(&r).as_bytes());
    }
    if unreadable {
        ExitCode::from(2)
    } else if r.money_discrepancies() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bill::{BillRow, parse_bill};

    fn order(otn: &str, outcomes: &[Outcome], fen: u64) -> (String, LoggedOrder) {
        (
            otn.to_string(),
            LoggedOrder {
                out_trade_no: otn.to_string(),
                outcome: outcomes.first().copied(),
                outcomes: outcomes.to_vec(),
                amount_fen: Some(fen),
                terminal: Some("T1".into()),
                file: "T1.jsonl:1".into(),
                ..LoggedOrder::default()
            },
        )
    }

    fn row(otn: &str, state: &str, fen: u64) -> BillRow {
        BillRow {
            line: 2,
            time: String::new(),
            device: "T1".into(),
            transaction_id: "4200".into(),
            out_trade_no: otn.into(),
            state: state.into(),
            amount_fen: fen,
            refund_fen: if state == "REFUND" { fen } else { 0 },
        }
    }

    #[test]
    fn each_discrepancy_is_named() {
        use Outcome::*;
        let orders: LoggedOrders = [
            order("ok-paid", &[Paid], 100),
            order("ok-notpaid", &[NotPaid], 100),
            order("ok-reversed", &[Reversed], 100),
            // Reversed, then after a torn journal NotPaid (the query saw the refund): the
            // cashier heard the truth each time.
            order("ok-torn", &[Reversed, NotPaid], 100),
            order("charged-unpaid", &[NotPaid], 100),
            order("charged-reversed", &[Reversed], 100),
            order("unpaid-revoked", &[NotPaid], 100),
            order("paid-absent", &[Paid], 100),
            order("paid-revoked", &[Paid], 100),
            order("paid-refunded", &[Paid], 100),
            order("amount", &[Paid], 100),
            order("open-charged", &[NeedsReconciliation], 100),
            order("open-absent", &[NeedsReconciliation], 100),
        ]
        .into_iter()
        .collect();
        let bill = Bill {
            rows: vec![
                row("ok-paid", "SUCCESS", 100),
                row("ok-reversed", "REVOKED", 100),
                row("ok-torn", "REVOKED", 100),
                row("charged-unpaid", "SUCCESS", 100),
                row("charged-reversed", "SUCCESS", 100),
                row("unpaid-revoked", "REVOKED", 100),
                row("paid-revoked", "REVOKED", 100),
                row("paid-refunded", "SUCCESS", 100),
                row("paid-refunded", "REFUND", 100),
                row("amount", "SUCCESS", 200),
                row("open-charged", "SUCCESS", 100),
                row("stranger", "SUCCESS", 100),
            ],
            summary: BTreeMap::new(),
        };
        let r = reconcile(&orders, &bill);
        let got: Vec<(FindingKind, &str)> = r.findings.iter().map(|f| (f.kind, f.out_trade_no.as_str())).collect();
        use FindingKind as K;
        assert_eq!(
            got,
            [
                (K::ChargedButConcludedUnpaid, "charged-reversed"),
                (K::ChargedButConcludedUnpaid, "charged-unpaid"),
                (K::NotPaidButRevoked, "unpaid-revoked"),
                (K::PaidButAbsent, "paid-absent"),
                (K::PaidButRevoked, "paid-revoked"),
                (K::PaidButRefunded, "paid-refunded"),
                (K::AmountDiffers, "amount"),
                (K::UnknownToLogs, "stranger"),
                (K::NeedsReconciliation, "open-absent"),
                (K::NeedsReconciliation, "open-charged"),
            ]
        );
        assert_eq!(r.agreeing, 4);
        assert_eq!(r.money_discrepancies(), 8);
        let settles: Vec<_> = r.findings.iter().filter_map(|f| f.settles_as).collect();
        assert_eq!(settles, [Outcome::NotPaid, Outcome::Paid]);
        // And through CSV.
        let mut csv = Vec::new();
        write_csv(&mut csv, &r).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with("charged_but_concluded_unpaid,charged-reversed,Reversed,1.00,1.00"),
            "{text}"
        );
        let _ = parse_bill;
    }
}
