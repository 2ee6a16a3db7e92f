//! `facepay-sim replay DIR|FILE...`: replays field logs against today's machine and says,
//! per session, whether it decides exactly as the recorded one did; with many files, in
//! parallel, with one summary (and `--json`, one entry per file).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use facepay_fsm::trace::{ReplayReport, Verdict, replay_sessions};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::campaign::Shard;
use crate::diagram;
use crate::fleet::{FleetReport, VerdictName, collect_logs, read_log, replay_files, shard_of};

/// Arguments of `facepay-sim replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Trace files (JSON Lines, trace format v1; see docs/trace-format.md), directories
    /// (walked for `*.jsonl`, `*.jsonl.gz`, `*.log`), or `-` for stdin. gzip is recognised
    /// by its magic bytes.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the transcript: every input, the commands it produced, the state after it.
    #[arg(long)]
    pub explain: bool,
    /// Write a mermaid sequence diagram to this Markdown file (one trace only).
    #[arg(long, value_name = "OUT.md")]
    pub mermaid: Option<PathBuf>,
    /// Write an SVG sequence diagram to this file (one trace only).
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print a JSON report (one entry per file, and the summary) on stdout instead.
    #[arg(long)]
    pub json: bool,
    /// Replay only shard I of N of the files (the i-th file, in walk order, is shard
    /// i % N's), so a batch scheduler can spread a fleet; `merge` combines the reports.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, default_value = "0/1")]
    pub shard: Shard,
}

/// Up to this many files, every session's verdict is printed; above, only the ones that
/// are not exact (and the summary).
const LIST_ALL_UP_TO: usize = 20;

/// Runs `replay`. Exit status: 0 when every session replays exactly (a log cut short
/// counts, its complete part having replayed exactly), 1 when one diverges, 2 when one
/// cannot be read (or a diagram cannot be written).
pub fn main(args: ReplayArgs) -> ExitCode {
    let diagrams = args.mermaid.is_some() || args.svg.is_some();
    let paths = shard_of(collect_logs(&args.files), args.shard);
    if args.explain || diagrams {
        if paths.len() != 1 {
            eprintln!("replay: --explain, --mermaid and --svg follow one trace; give exactly one FILE");
            return ExitCode::from(2);
        }
        return explain(&args, &paths[0]);
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = ProgressBar::new(paths.len() as u64);
    if std::io::stderr().is_terminal() && paths.len() > 1 {
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} logs ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let files = replay_files(&paths, jobs, |done| bar.set_position(done));
    bar.finish_and_clear();
    let report = FleetReport::new(files, args.shard);
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("replay: cannot write the report as JSON: {e}"),
        }
        return ExitCode::from(report.summary.status());
    }
    let list_all = report.files.len() <= LIST_ALL_UP_TO;
    for f in &report.files {
        if let Some(e) = &f.error {
            println!("{e}");
        }
        for s in &f.sessions {
            if !list_all && s.verdict == VerdictName::Exact {
                continue;
            }
            print!("{}", s.text);
            if let Some(w) = &s.writer {
                let name = s.text.split(": ").next().unwrap_or(&f.path);
                println!("{name}: {w}");
            }
        }
    }
    if report.files.len() > 1 {
        print!("{}", report.summary.render());
    }
    ExitCode::from(report.summary.status())
}

/// One file, step by step (`--explain`) and as diagrams: every session of it.
fn explain(args: &ReplayArgs, path: &Path) -> ExitCode {
    let name = path.display().to_string();
    let bytes = match read_log(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let reports = replay_sessions(&bytes, true);
    let mut worst = 0u8;
    for report in &reports {
        let label = if reports.len() > 1 {
            format!("{name}@{}", report.first_line)
        } else {
            name.clone()
        };
        if args.explain {
            for line in report.header.iter().flat_map(diagram::header_lines) {
                println!("{line}");
            }
            print!("{}", report.transcript_text());
        }
        print!("{}", report.verdict_text(&label));
        if let Some(w) = report.header.as_ref().and_then(|h| h.writer_differs()) {
            println!("{label}: {w}");
        }
        worst = worst.max(status(report));
    }
    // A diagram draws one session: the first that is not exact, else the first.
    let drawn = reports
        .iter()
        .find(|r| r.verdict() != Verdict::Exact)
        .or(reports.first());
    let title = path
        .file_name()
        .map_or(name.clone(), |n| n.to_string_lossy().into_owned());
    if let Some(report) = drawn {
        for (out, text) in [
            (
                &args.mermaid,
                args.mermaid.as_ref().map(|_| diagram::mermaid(report, &title)),
            ),
            (&args.svg, args.svg.as_ref().map(|_| diagram::svg(report, &title))),
        ] {
            if let (Some(out), Some(text)) = (out, text)
                && let Err(e) = std::fs::write(out, text)
            {
                eprintln!("{}: cannot write: {e}", out.display());
                worst = worst.max(2);
            }
        }
    }
    ExitCode::from(worst)
}

fn status(report: &ReplayReport) -> u8 {
    match report.verdict() {
        Verdict::Exact | Verdict::Truncated => 0,
        Verdict::Diverged => 1,
        Verdict::Unreadable => 2,
    }
}
