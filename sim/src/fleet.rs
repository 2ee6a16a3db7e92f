//! A fleet's field logs, replayed: reading a log the way terminals and support tools leave
//! them (gzip, stdin, directories), replaying thousands of files in parallel, and one
//! summary with a JSON report that `facepay-sim merge` can combine across shards.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use facepay_fsm::trace::{ReplayReport, TraceHeader, Verdict, replay_sessions};
use facepay_fsm::{Outcome, Reason};
use serde::{Deserialize, Serialize};

use crate::campaign::{OutcomeCounts, Shard};

/// Why a log file could not be read at all.
#[derive(Debug)]
pub enum LogReadError {
    /// The file (or stdin) could not be read.
    Io {
        /// The path as given.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// The file starts with gzip's magic bytes but does not decompress.
    Gzip {
        /// The path as given.
        path: String,
        /// The decoder's error.
        error: std::io::Error,
    },
}

impl fmt::Display for LogReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogReadError::Io { path, error } => write!(f, "{path}: cannot read: {error}"),
            LogReadError::Gzip { path, error } => {
                write!(f, "{path}: starts as gzip (1f 8b) but does not decompress: {error}")
            }
        }
    }
}

impl std::error::Error for LogReadError {}

/// gzip's two magic bytes (RFC 1952 §2.3.1): a compressed log is recognised by its content,
/// whatever its name.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads a log: `-` is stdin; a file starting with gzip's magic bytes is decompressed
/// (several gzip members, as `cat a.gz b.gz` makes, are read one after the other).
pub fn read_log(path: &Path) -> Result<Vec<u8>, LogReadError> {
    let name = path.display().to_string();
    let raw = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|error| LogReadError::Io {
                path: name.clone(),
                error,
            })?;
        buf
    } else {
        std::fs::read(path).map_err(|error| LogReadError::Io {
            path: name.clone(),
            error,
        })?
    };
    gunzip_if_gzip(raw).map_err(|error| LogReadError::Gzip { path: name, error })
}

/// `bytes` decompressed if they start with gzip's magic bytes, else as they are.
pub fn gunzip_if_gzip(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 8);
    flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out)?;
    Ok(out)
}

/// Whether a file found while walking a directory is a log: `*.jsonl`, `*.jsonl.gz`,
/// `*.log`, `*.log.gz`.
fn is_log_name(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.ends_with(".jsonl") || name.ends_with(".log")
}

/// The files named by `inputs`: a file (or `-`) as given, a directory walked for its logs
/// (recursively, sorted, so every shard sees the same order). A path that does not exist
/// is kept, to be reported unreadable.
pub fn collect_logs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found);
            found.sort();
            out.extend(found);
        } else {
            out.push(input.clone());
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        // Unreadable: named as a file, so the report says why.
        out.push(dir.to_path_buf());
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if is_log_name(&path) {
            out.push(path);
        }
    }
}

/// One order as a log concluded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEntry {
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// The machine's outcome: `paid`, `not_paid`, `reversed`, `needs_reconciliation`.
    pub outcome: Outcome,
    /// Why (the machine's `Reason`, snake_case).
    pub reason: Reason,
    /// `transaction_id`, when the backend named one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub transaction_id: String,
    /// `total_fee` in fen, from the order's journal record (when the log holds one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_fee: Option<u32>,
}

/// How one session of a file replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEntry {
    /// The file line of its header.
    pub first_line: usize,
    /// `exact`, `truncated`, `diverged` or `unreadable`.
    pub verdict: VerdictName,
    /// Records replayed before the end, the cut, the divergence or the bad line.
    pub records: usize,
    /// What went wrong, with its line (and for a divergence, the two commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The terminal, from the header's `terminal` metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<String>,
    /// The header's session name and the one it continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The session this one resumes (after a power loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continues: Option<String>,
    /// Set when the writer's version or commit differs from this build's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    /// The orders it concluded.
    pub orders: Vec<OrderEntry>,
    /// The verdict as `replay` prints it for one file (not in the JSON report).
    #[serde(skip)]
    pub text: String,
}

/// A [`Verdict`] as it appears in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictName {
    /// Every command matched.
    Exact,
    /// Matched up to a cut (mid-line or mid-step).
    Truncated,
    /// A record contradicts the machine.
    Diverged,
    /// A line (or the file) could not be read.
    Unreadable,
}

impl From<Verdict> for VerdictName {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Exact => VerdictName::Exact,
            Verdict::Truncated => VerdictName::Truncated,
            Verdict::Diverged => VerdictName::Diverged,
            Verdict::Unreadable => VerdictName::Unreadable,
        }
    }
}

impl VerdictName {
    /// The `replay` exit status it calls for: 0 exact or truncated, 1 diverged, 2 unreadable.
    pub fn status(self) -> u8 {
        match self {
            VerdictName::Exact | VerdictName::Truncated => 0,
            VerdictName::Diverged => 1,
            VerdictName::Unreadable => 2,
        }
    }
}

/// One file of a fleet replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path as walked.
    pub path: String,
    /// The worst verdict of its sessions (`unreadable` when the file could not be read).
    pub verdict: VerdictName,
    /// Why the file could not be read at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its sessions, in file order.
    pub sessions: Vec<SessionEntry>,
}

/// The terminal a header names: `terminal_id`, `device_id`, `serial` or `sn` of its
/// metadata, whichever comes first.
pub fn terminal_of(header: &TraceHeader) -> Option<String> {
    ["terminal_id", "device_id", "serial", "sn"]
        .iter()
        .find_map(|k| header.terminal.get(*k))
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
}

/// A session's report as an entry; `name` is how its verdict text names it.
pub fn session_entry(report: &ReplayReport, name: &str) -> SessionEntry {
    let problem = match (&report.divergence, &report.error) {
        (Some(d), _) => Some(d.to_string()),
        (None, Some(e)) => Some(e.to_string()),
        (None, None) => None,
    };
    let header = report.header.as_ref();
    SessionEntry {
        first_line: report.first_line,
        verdict: report.verdict().into(),
        records: report.records,
        problem,
        terminal: header.and_then(terminal_of),
        session: header.and_then(|h| h.session.clone()),
        continues: header.and_then(|h| h.continues.clone()),
        writer: header.and_then(TraceHeader::writer_differs),
        orders: report
            .conclusions
            .iter()
            .map(|c| OrderEntry {
                out_trade_no: c.out_trade_no.to_string(),
                outcome: c.outcome,
                reason: c.reason.clone(),
                transaction_id: c.transaction_id.to_string(),
                total_fee: report
                    .amounts
                    .iter()
                    .find(|(o, _)| *o == c.out_trade_no)
                    .map(|(_, fee)| *fee),
            })
            .collect(),
        text: report.verdict_text(name),
    }
}

/// Replays one file (every session in it).
pub fn replay_file(path: &Path) -> FileEntry {
    let name = path.display().to_string();
    match read_log(path) {
        Err(e) => FileEntry {
            path: name,
            verdict: VerdictName::Unreadable,
            error: Some(e.to_string()),
            sessions: Vec::new(),
        },
        Ok(bytes) => {
            let reports = replay_sessions(&bytes, false);
            let several = reports.len() > 1;
            let sessions: Vec<SessionEntry> = reports
                .iter()
                .map(|r| {
                    let label = if several {
                        format!("{name}@{}", r.first_line)
                    } else {
                        name.clone()
                    };
                    session_entry(r, &label)
                })
                .collect();
            FileEntry {
                path: name,
                verdict: sessions
                    .iter()
                    .map(|s| s.verdict)
                    .max()
                    .unwrap_or(VerdictName::Unreadable),
                error: None,
                sessions,
            }
        }
    }
}

/// Replays `paths` on `jobs` threads; `progress` hears the number of files done now and
/// then, from the calling thread. Entries come back in `paths` order.
pub fn replay_files(paths: &[PathBuf], jobs: usize, mut progress: impl FnMut(u64)) -> Vec<FileEntry> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, FileEntry)>> = Mutex::new(Vec::with_capacity(paths.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    local.push((i, replay_file(path)));
                    done.fetch_add(1, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|e| e.into_inner()).append(&mut local);
            });
        }
        loop {
            let d = done.load(Ordering::Relaxed);
            progress(d as u64);
            if d >= paths.len() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, e)| e).collect()
}

/// Sessions by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictTally {
    /// Exact.
    pub exact: u64,
    /// Truncated.
    pub truncated: u64,
    /// Diverged.
    pub diverged: u64,
    /// Unreadable.
    pub unreadable: u64,
}

impl VerdictTally {
    fn add(&mut self, v: VerdictName) {
        match v {
            VerdictName::Exact => self.exact += 1,
            VerdictName::Truncated => self.truncated += 1,
            VerdictName::Diverged => self.diverged += 1,
            VerdictName::Unreadable => self.unreadable += 1,
        }
    }
}

/// An order a person must look at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOrder {
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// The terminal its log names (or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<String>,
    /// The log file and the line of its session's header.
    pub file: String,
}

/// What a fleet replay found, summed over its files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSummary {
    /// Files replayed.
    pub files: u64,
    /// Sessions in them.
    pub sessions: u64,
    /// Sessions by verdict (a file that cannot be read counts as one unreadable session).
    pub verdicts: VerdictTally,
    /// Concluded orders by outcome.
    pub outcomes: OutcomeCounts,
    /// Sessions written by another version or commit than this build.
    pub other_writers: u64,
    /// Every order concluded NeedsReconciliation.
    pub needs_reconciliation: Vec<OpenOrder>,
}

impl FleetSummary {
    /// Sums up `files`.
    pub fn of(files: &[FileEntry]) -> FleetSummary {
        let mut s = FleetSummary {
            files: files.len() as u64,
            ..FleetSummary::default()
        };
        for f in files {
            if f.sessions.is_empty() {
                s.verdicts.add(VerdictName::Unreadable);
            }
            for session in &f.sessions {
                s.sessions += 1;
                s.verdicts.add(session.verdict);
                s.other_writers += u64::from(session.writer.is_some());
                for o in &session.orders {
                    s.outcomes.add(o.outcome);
                    if o.outcome == Outcome::NeedsReconciliation {
                        s.needs_reconciliation.push(OpenOrder {
                            out_trade_no: o.out_trade_no.clone(),
                            terminal: session.terminal.clone(),
                            file: format!("{}:{}", f.path, session.first_line),
                        });
                    }
                }
            }
        }
        s.sort_open_orders();
        s
    }

    /// Orders needing reconciliation by file, then order: a summary is the same however
    /// the files were split into shards.
    fn sort_open_orders(&mut self) {
        self.needs_reconciliation
            .sort_by(|a, b| (&a.file, &a.out_trade_no).cmp(&(&b.file, &b.out_trade_no)));
    }

    /// The worst verdict's exit status.
    pub fn status(&self) -> u8 {
        let v = &self.verdicts;
        if v.unreadable > 0 {
            2
        } else if v.diverged > 0 {
            1
        } else {
            0
        }
    }

    /// Adds `other` (another shard's summary) to this one.
    pub fn absorb(&mut self, other: &FleetSummary) {
        self.files += other.files;
        self.sessions += other.sessions;
        self.verdicts.exact += other.verdicts.exact;
        self.verdicts.truncated += other.verdicts.truncated;
        self.verdicts.diverged += other.verdicts.diverged;
        self.verdicts.unreadable += other.verdicts.unreadable;
        self.outcomes.absorb(&other.outcomes);
        self.other_writers += other.other_writers;
        self.needs_reconciliation
            .extend(other.needs_reconciliation.iter().cloned());
        self.sort_open_orders();
    }

    /// The summary as a short table.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let (v, o) = (&self.verdicts, &self.outcomes);
        let _ = writeln!(s, "files                 {}", self.files);
        let _ = writeln!(s, "sessions              {}", self.sessions);
        let _ = writeln!(s, "  exact               {}", v.exact);
        let _ = writeln!(s, "  truncated           {}", v.truncated);
        let _ = writeln!(s, "  diverged            {}", v.diverged);
        let _ = writeln!(s, "  unreadable          {}", v.unreadable);
        let _ = writeln!(
            s,
            "orders                {}",
            o.paid + o.not_paid + o.reversed + o.needs_reconciliation
        );
        let _ = writeln!(s, "  Paid                {}", o.paid);
        let _ = writeln!(s, "  NotPaid             {}", o.not_paid);
        let _ = writeln!(s, "  Reversed            {}", o.reversed);
        let _ = writeln!(s, "  NeedsReconciliation {}", o.needs_reconciliation);
        if self.other_writers > 0 {
            let _ = writeln!(s, "other writers         {} session(s)", self.other_writers);
        }
        for open in &self.needs_reconciliation {
            let _ = writeln!(
                s,
                "NEEDS RECONCILIATION  {}  terminal {}  ({})",
                open.out_trade_no,
                open.terminal.as_deref().unwrap_or("?"),
                open.file
            );
        }
        s
    }
}

/// The `--json` report of `replay`: every file, and the summary. `merge` combines shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetReport {
    /// Always `"replay"` (what `merge` keys on).
    pub kind: String,
    /// The shard this report covers, `I/N` (`0/1`: everything).
    pub shard: String,
    /// One entry per file.
    pub files: Vec<FileEntry>,
    /// Their sum.
    pub summary: FleetSummary,
}

impl FleetReport {
    /// The report of `files`, covering `shard`.
    pub fn new(files: Vec<FileEntry>, shard: Shard) -> FleetReport {
        FleetReport {
            kind: "replay".into(),
            shard: format!("{}/{}", shard.index, shard.count),
            summary: FleetSummary::of(&files),
            files,
        }
    }
}

/// The files of shard `shard`: the `i`-th path (in walk order) goes to shard `i % N`.
pub fn shard_of(paths: Vec<PathBuf>, shard: Shard) -> Vec<PathBuf> {
    paths
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i as u64 % shard.count == shard.index)
        .map(|(_, p)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_found_by_its_magic_bytes() {
        use std::io::Write;
        let text = b"{\"format\":\"facepay-trace\"}\n".to_vec();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&text).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(gunzip_if_gzip(gz).unwrap(), text);
        assert_eq!(gunzip_if_gzip(text.clone()).unwrap(), text);
        assert!(gunzip_if_gzip(vec![0x1f, 0x8b, 0, 0]).is_err());
    }
}
