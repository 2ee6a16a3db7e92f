//! `facepay-sim replay FILE...`: replays field logs against today's machine and says, per
//! file, whether it decides exactly as the recorded one did.

use std::path::PathBuf;
use std::process::ExitCode;

use facepay_fsm::trace::{ReplayReport, Verdict, replay_bytes};

use crate::diagram;

/// Arguments of `facepay-sim replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Trace files (JSON Lines, trace format v1; see docs/trace-format.md).
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
}

/// Runs `replay`. Exit status: 0 when every file replays exactly (a log cut short by power
/// loss counts, its complete part having replayed exactly), 1 when one diverges, 2 when
/// one cannot be read (or a diagram cannot be written).
pub fn main(args: ReplayArgs) -> ExitCode {
    let diagrams = args.mermaid.is_some() || args.svg.is_some();
    if diagrams && args.files.len() != 1 {
        eprintln!("replay: --mermaid and --svg draw one trace; give exactly one FILE");
        return ExitCode::from(2);
    }
    let mut worst = 0u8;
    for path in &args.files {
        let name = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{name}: cannot read: {e}");
                worst = worst.max(2);
                continue;
            }
        };
        let report = replay_bytes(&bytes, args.explain || diagrams);
        if args.explain {
            for line in report.header.iter().flat_map(diagram::header_lines) {
                println!("{line}");
            }
            print!("{}", report.transcript_text());
        }
        print!("{}", report.verdict_text(&name));
        worst = worst.max(status(&report));
        let title = path
            .file_name()
            .map_or(name.clone(), |n| n.to_string_lossy().into_owned());
        for (out, text) in [
            (
                &args.mermaid,
                args.mermaid.as_ref().map(|_| diagram::mermaid(&report, &title)),
            ),
            (&args.svg, args.svg.as_ref().map(|_| diagram::svg(&report, &title))),
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
