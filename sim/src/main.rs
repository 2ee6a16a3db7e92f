//! `facepay-sim`: seeded simulation campaigns against the real facepay machine, and
//! replay of recorded traces.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use facepay_sim::campaign::{
    CampaignConfig, Shard, Summary, parse_jobs, parse_sessions, record_session_as, run_campaign_as,
};
use facepay_sim::terminal::StrategyKind;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Deterministic simulation of facepay terminals against a model WeChat Pay backend.
#[derive(Debug, Parser)]
#[command(name = "facepay-sim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a campaign of simulated sessions and check every safety property.
    #[command(after_help = RUN_EXIT)]
    Run(RunArgs),
    /// Replay recorded traces against today's machine.
    #[command(after_help = REPLAY_EXIT)]
    Replay(facepay_sim::replay::ReplayArgs),
    /// Run facepay and the published peer loops on the same seeds and faults; one table.
    /// The exit status is facepay's row only: the peers are expected to break properties.
    #[command(after_help = COMPARE_EXIT)]
    Compare(CompareArgs),
    /// Combine the --json reports of `replay` shards, or of `run --shard` shards.
    Merge(facepay_sim::merge::MergeArgs),
    /// Match the orders of field logs with WeChat Pay's merchant trade bill.
    Reconcile(facepay_sim::reconcile::ReconcileArgs),
}

const RUN_EXIT: &str = "Exit status:
  0  every session kept every safety property
  1  a violation: each is printed with its seed, session and the command that runs it
     again; the first --max-traces sessions' traces are written to --trace-dir
  2  bad arguments";

const REPLAY_EXIT: &str = "Exit status:
  0  every file replays exactly (a log cut short by a power loss counts, its complete
     part having replayed exactly)
  1  a file diverges: today's machine decides differently (the first divergence is shown)
  2  a file cannot be read or parsed, a diagram cannot be written, or bad arguments";

const COMPARE_EXIT: &str = "Exit status (facepay's row only; the peers' rows never change it):
  0  facepay broke no property in any session
  1  facepay's row has a violation
  2  bad arguments
--json lists, per strategy, the first violating sessions with their seed, session and a
command that runs that one session again (--session).";

/// Arguments of `facepay-sim compare`.
#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// Campaign seed: session i of every strategy is drawn from (seed, i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sessions per strategy.
    #[arg(long, default_value_t = 10_000, value_parser = parse_sessions)]
    sessions: u64,
    /// Run only session I (as listed in --json's violating sessions), under every strategy.
    #[arg(long, value_name = "I", conflicts_with = "sessions")]
    session: Option<u64>,
    /// Swarm mode: each session draws its own fault probabilities and behaviours.
    #[arg(long)]
    swarm: bool,
    /// Print the comparison as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Worker threads, 1 to 256 (default: the number of cores). Results do not depend on it.
    #[arg(long, value_parser = parse_jobs)]
    jobs: Option<usize>,
}

/// Arguments of `facepay-sim run`.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Campaign seed. The same seed on the same commit gives the same sessions, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sessions in the whole campaign (across all shards), at least 1. Session i is seeded
    /// from (seed, i).
    #[arg(long, default_value_t = 10_000, value_parser = parse_sessions)]
    sessions: u64,
    /// Swarm mode: each session also draws its fault probabilities, clock skew, backend and
    /// user behaviour from its seed (as TigerBeetle's VOPR). Without it, a fixed standard mix.
    #[arg(long)]
    swarm: bool,
    /// Power-loss faults: the terminal is killed at random command boundaries (between a
    /// journal record and the call it guards, after a call left, ...) and boots again after
    /// up to two minutes from its last journal record, sometimes torn; its memory, timers
    /// and in-flight answers are lost. In swarm mode each session draws its own rates.
    #[arg(long)]
    power_loss: bool,
    /// Run only shard I of N (sessions i with i % N == I), so a batch scheduler can spread
    /// one campaign over machines; the shards together run exactly the whole campaign.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, default_value = "0/1")]
    shard: Shard,
    /// Print the summary as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Worker threads, 1 to 256 (default: the number of cores). Results do not depend on it.
    #[arg(long, value_parser = parse_jobs)]
    jobs: Option<usize>,
    /// Directory for the traces of violating sessions.
    #[arg(long, value_name = "DIR", default_value = ".")]
    trace_dir: PathBuf,
    /// Write traces for at most this many violating sessions.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_traces: usize,
    /// Write every session's trace to --trace-dir (one file per session, each boot after
    /// a power loss under its own header), as a fleet's terminals would.
    #[arg(long)]
    all_traces: bool,
    /// Write the backend's ledger as WeChat's merchant trade bill (downloadbill,
    /// bill_type=ALL) to this file, and every session's trace to --trace-dir, for
    /// `reconcile --bill BILL DIR`.
    #[arg(long, value_name = "BILL")]
    bill: Option<PathBuf>,
    /// Drive each terminal by a simulated seed app through the `wxFacePay` facade instead
    /// of the machine directly: documented, impatient-reverse, retry-on-false,
    /// discount-at-micropay, release-mid-order, old-order-lookups.
    #[arg(long, value_name = "NAME", value_parser = parse_app)]
    app: Option<facepay_sim::apps::AppKind>,
}

fn parse_app(s: &str) -> Result<facepay_sim::apps::AppKind, String> {
    facepay_sim::apps::AppKind::from_name(s).ok_or_else(|| {
        let names: Vec<_> = facepay_sim::apps::AppKind::ALL.iter().map(|a| a.name()).collect();
        format!("unknown app `{s}`; one of: {}", names.join(", "))
    })
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => run(args),
        Command::Replay(args) => facepay_sim::replay::main(args),
        Command::Compare(args) => compare(args),
        Command::Merge(args) => facepay_sim::merge::main(args),
        Command::Reconcile(args) => facepay_sim::reconcile::main(args),
    }
}

fn compare(args: CompareArgs) -> ExitCode {
    use facepay_sim::compare::{CompareConfig, render_table, run_compare};
    let cfg = CompareConfig {
        seed: args.seed,
        sessions: args.sessions,
        swarm: args.swarm,
        jobs: jobs_or_cores(args.jobs),
        only: args.session,
    };
    let bar = progress(
        cfg.indices().end - cfg.indices().start,
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} sessions × 11 strategies",
    );
    let comparison = run_compare(&cfg, |done| bar.set_position(done));
    bar.finish_and_clear();
    if args.json {
        match serde_json::to_string_pretty(&comparison) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("cannot write the comparison as JSON: {e}"),
        }
    } else {
        print!("{}", render_table(&comparison, std::io::stdout().is_terminal()));
    }
    // The claim is facepay's row: exit non-zero if it broke anything.
    if comparison.facepay_is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `--jobs`, or one worker per core.
fn jobs_or_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(facepay_sim::campaign::MAX_JOBS))
    })
}

/// A progress bar drawn on a terminal only (hidden when stderr is a file or pipe).
fn progress(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if std::io::stderr().is_terminal() {
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

fn run(args: RunArgs) -> ExitCode {
    let jobs = jobs_or_cores(args.jobs);
    let cfg = CampaignConfig {
        seed: args.seed,
        sessions: args.sessions,
        swarm: args.swarm,
        power_loss: args.power_loss,
        shard: args.shard,
        jobs,
    };
    let bar = progress(
        cfg.shard.len(cfg.sessions),
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} sessions ({per_sec}, eta {eta})",
    );
    let strategy = args.app.map_or(StrategyKind::Facepay, StrategyKind::App);
    let summary = run_campaign_as(&cfg, strategy, |done| bar.set_position(done));
    if args.app.is_some() && !args.json {
        println!("driver: {} (the seed facade)", strategy.name());
    }
    bar.finish_and_clear();

    if args.json {
        match serde_json::to_string_pretty(&summary) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("cannot write the summary as JSON: {e}"),
        }
    } else {
        print_table(&summary);
    }
    if args.all_traces || args.bill.is_some() {
        let bar = progress(
            cfg.shard.len(cfg.sessions),
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} logs written ({per_sec}, eta {eta})",
        );
        let written =
            facepay_sim::fieldlog::write_fleet(&cfg, strategy, Some(&args.trace_dir), args.bill.as_deref(), |done| {
                bar.set_position(done)
            });
        bar.finish_and_clear();
        match written {
            Ok(w) => eprintln!(
                "{} logs written to {}{}",
                w.files,
                args.trace_dir.display(),
                args.bill
                    .as_ref()
                    .map(|b| format!(", {} bill rows to {}", w.bill_rows, b.display()))
                    .unwrap_or_default()
            ),
            Err(e) => {
                eprintln!("cannot write the logs or the bill: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if summary.failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    for f in &summary.failures {
        let report = f.report(cfg.swarm, cfg.power_loss);
        // The same session again must be driven by the same seed app.
        match args.app {
            Some(app) => eprint!(
                "{}",
                report.replace("facepay-sim run ", &format!("facepay-sim run --app {} ", app.name()))
            ),
            None => eprint!("{report}"),
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.trace_dir) {
        eprintln!("cannot create {}: {e}", args.trace_dir.display());
    }
    for f in summary.failures.iter().take(args.max_traces) {
        let path = args
            .trace_dir
            .join(format!("facepay-sim-seed{}-session{}.jsonl", f.seed, f.session));
        let written = std::fs::File::create(&path)
            .map(std::io::BufWriter::new)
            .and_then(|w| record_session_as(strategy, f.seed, f.session, cfg.swarm, cfg.power_loss, w));
        match written {
            Ok(_) => eprintln!(
                "trace of seed {} session {} written to {} (replay: facepay-sim replay {})",
                f.seed,
                f.session,
                path.display(),
                path.display()
            ),
            Err(e) => eprintln!("cannot write {}: {e}", path.display()),
        }
    }
    ExitCode::FAILURE
}

fn print_table(s: &Summary) {
    let o = &s.outcomes;
    let rows: [(&str, String); 14] = [
        ("seed", s.config.seed.to_string()),
        (
            "mode",
            format!(
                "{}{}, shard {}/{}, {} job(s)",
                if s.config.swarm { "swarm" } else { "standard" },
                if s.config.power_loss { " + power loss" } else { "" },
                s.config.shard.index,
                s.config.shard.count,
                s.config.jobs
            ),
        ),
        ("sessions", s.sessions.to_string()),
        ("orders", o.total().to_string()),
        ("  Paid", o.paid.to_string()),
        ("  NotPaid", o.not_paid.to_string()),
        ("  Reversed", o.reversed.to_string()),
        ("  NeedsReconciliation", o.needs_reconciliation.to_string()),
        (
            "violations",
            format!("{} in {} session(s)", s.violations, s.failures.len()),
        ),
        (
            "virtual session p50",
            format!("{:.1} s", s.p50_virtual_ms as f64 / 1000.0),
        ),
        (
            "virtual session p99",
            format!("{:.1} s", s.p99_virtual_ms as f64 / 1000.0),
        ),
        (
            "faults injected",
            format!(
                "{} lost req, {} slow req, {} lost reply, {} late, {} dup, {} sdk deaths, {} power losses ({} torn journals), {} failed journal writes",
                s.faults.lost_requests,
                s.faults.slow_requests,
                s.faults.lost_replies,
                s.faults.late_replies,
                s.faults.duplicate_replies,
                s.faults.sdk_deaths,
                s.faults.power_losses,
                s.faults.torn_journals,
                s.faults.failed_journal_writes
            ),
        ),
        ("wall time", format!("{:.2} s", s.wall_secs)),
        (
            "simulated sessions/s",
            format!("{:.0} (virtual/wall {:.0}x)", s.sessions_per_sec, s.virtual_to_wall),
        ),
    ];
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    println!("{:-<1$}", "", w + 40);
    for (k, v) in rows {
        println!("{k:<w$}  {v}");
    }
    println!("{:-<1$}", "", w + 40);
}
