//! `facepay-sim merge REPORT.json...`: combines the `--json` reports of shards, so a batch
//! scheduler (a Kubernetes indexed Job, a Slurm array, GNU parallel) can spread a fleet
//! replay or a campaign over machines and one summary comes back.
//!
//! `replay` reports are combined file by file (the summary is recomputed). `run` summaries
//! (`run --shard I/N --json`) are summed: counts add up, failures are concatenated; the
//! shards must be of one campaign (seed, sessions, mode) and none may repeat. Percentiles
//! cannot be combined exactly from percentiles: the merged p50/p99 are the largest of the
//! shards' (an upper bound, said so in the output).

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Map, Value};

use crate::fleet::{FleetReport, FleetSummary};

/// Why reports could not be merged.
#[derive(Debug)]
pub enum MergeError {
    /// A report could not be read.
    Read {
        /// Its path.
        path: String,
        /// Why.
        error: String,
    },
    /// A report is neither a `replay --json` nor a `run --json` report.
    Unknown {
        /// Its path.
        path: String,
    },
    /// Reports of both kinds were given.
    Mixed,
    /// `run` shards of different campaigns, or of one shard twice.
    Inconsistent {
        /// Its path.
        path: String,
        /// What differs.
        what: String,
    },
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Read { path, error } => write!(f, "{path}: {error}"),
            MergeError::Unknown { path } => write!(
                f,
                "{path}: not a `replay --json` report (kind \"replay\") nor a `run --json` summary (config, outcomes)"
            ),
            MergeError::Mixed => f.write_str("replay reports and run summaries cannot be merged together"),
            MergeError::Inconsistent { path, what } => write!(f, "{path}: {what}"),
        }
    }
}

impl std::error::Error for MergeError {}

/// Merges `replay --json` reports: files concatenated in the order given, summary summed.
pub fn merge_replays(reports: Vec<FleetReport>) -> FleetReport {
    let mut summary = FleetSummary::default();
    let mut files = Vec::new();
    let mut shards = Vec::new();
    for r in reports {
        summary.absorb(&r.summary);
        shards.push(r.shard);
        files.extend(r.files);
    }
    FleetReport {
        kind: "replay".into(),
        shard: shards.join(","),
        files,
        summary,
    }
}

/// Adds every number of `b` into `a`, key by key (nested objects too).
fn add_numbers(a: &mut Map<String, Value>, b: &Map<String, Value>) {
    for (k, v) in b {
        match (a.get_mut(k), v) {
            (Some(Value::Number(x)), Value::Number(y)) => {
                if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                    a.insert(k.clone(), Value::from(x + y));
                } else if let (Some(x), Some(y)) = (x.as_f64(), y.as_f64()) {
                    a.insert(k.clone(), Value::from(x + y));
                }
            }
            (Some(Value::Object(x)), Value::Object(y)) => add_numbers(x, y),
            (None, _) => {
                a.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
}

/// Merges `run --json` summaries of shards of one campaign.
pub fn merge_runs(reports: Vec<(String, Value)>) -> Result<Value, MergeError> {
    let mut merged: Option<Map<String, Value>> = None;
    let mut seen: Vec<u64> = Vec::new();
    let mut count = None;
    let (mut p50, mut p99, mut wall) = (0u64, 0u64, 0f64);
    let mut failures: Vec<Value> = Vec::new();
    for (path, value) in reports {
        let Value::Object(mut obj) = value else {
            return Err(MergeError::Unknown { path });
        };
        let config = obj.get("config").cloned().unwrap_or(Value::Null);
        let shard = config.get("shard").cloned().unwrap_or(Value::Null);
        let index = shard.get("index").and_then(Value::as_u64).unwrap_or(0);
        let n = shard.get("count").and_then(Value::as_u64).unwrap_or(1);
        if *count.get_or_insert(n) != n {
            return Err(MergeError::Inconsistent {
                path,
                what: format!("shard count {n} differs from the first report's"),
            });
        }
        if seen.contains(&index) {
            return Err(MergeError::Inconsistent {
                path,
                what: format!("shard {index}/{n} given twice"),
            });
        }
        seen.push(index);
        p50 = p50.max(obj.get("p50_virtual_ms").and_then(Value::as_u64).unwrap_or(0));
        p99 = p99.max(obj.get("p99_virtual_ms").and_then(Value::as_u64).unwrap_or(0));
        wall = wall.max(obj.get("wall_secs").and_then(Value::as_f64).unwrap_or(0.0));
        if let Some(Value::Array(f)) = obj.remove("failures") {
            failures.extend(f);
        }
        match &mut merged {
            None => merged = Some(obj),
            Some(m) => {
                let same = |k: &str| m.get("config").and_then(|c| c.get(k)) == config.get(k);
                for key in ["seed", "sessions", "swarm", "power_loss"] {
                    if !same(key) {
                        return Err(MergeError::Inconsistent {
                            path,
                            what: format!("`config.{key}` differs: not a shard of the same campaign"),
                        });
                    }
                }
                obj.remove("config");
                add_numbers(m, &obj);
            }
        }
    }
    let mut m = merged.unwrap_or_default();
    failures.sort_by_key(|f| f.get("session").and_then(Value::as_u64).unwrap_or(0));
    let sessions = m.get("sessions").and_then(Value::as_u64).unwrap_or(0);
    m.insert("failures".into(), Value::Array(failures));
    m.insert("p50_virtual_ms".into(), Value::from(p50));
    m.insert("p99_virtual_ms".into(), Value::from(p99));
    m.insert("percentiles".into(), Value::from("upper bound: the largest shard's"));
    m.insert("wall_secs".into(), Value::from(wall));
    m.insert("sessions_per_sec".into(), Value::from(sessions as f64 / wall.max(1e-9)));
    seen.sort_unstable();
    let n = count.unwrap_or(1);
    m.insert("shards".into(), Value::from(seen.clone()));
    m.insert("complete".into(), Value::from(seen.len() as u64 == n));
    if let Some(Value::Object(c)) = m.get_mut("config") {
        c.insert("shard".into(), serde_json::json!({"index": 0, "count": 1}));
    }
    Ok(Value::Object(m))
}

/// Arguments of `facepay-sim merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// `replay --json` reports, or `run --json` summaries of shards of one campaign.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
}

/// Reads and merges; prints the merged report as JSON (and a replay summary on stderr).
/// Exit status: the merged replay's (0/1/2), for runs 1 if any shard had a violation or
/// a shard is missing; 2 if the reports cannot be merged.
pub fn main(args: MergeArgs) -> ExitCode {
    match run(&args.reports) {
        Ok((json, status)) => {
            println!("{json}");
            ExitCode::from(status)
        }
        Err(e) => {
            eprintln!("merge: {e}");
            ExitCode::from(2)
        }
    }
}

/// Merges the reports at `paths`: the merged JSON and the exit status it calls for.
pub fn run(paths: &[PathBuf]) -> Result<(String, u8), MergeError> {
    let mut replays = Vec::new();
    let mut runs = Vec::new();
    for p in paths {
        let path = p.display().to_string();
        let bytes = std::fs::read(p).map_err(|e| MergeError::Read {
            path: path.clone(),
            error: e.to_string(),
        })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| MergeError::Read {
            path: path.clone(),
            error: format!("not JSON: {e}"),
        })?;
        if value.get("kind").and_then(Value::as_str) == Some("replay") {
            let r: FleetReport = serde_json::from_value(value).map_err(|e| MergeError::Read {
                path: path.clone(),
                error: format!("not a replay report: {e}"),
            })?;
            replays.push(r);
        } else if value.get("config").is_some() && value.get("outcomes").is_some() {
            runs.push((path, value));
        } else {
            return Err(MergeError::Unknown { path });
        }
    }
    let to_json = |v: &dyn erased::Ser| v.json();
    match (replays.is_empty(), runs.is_empty()) {
        (false, false) => Err(MergeError::Mixed),
        (false, true) => {
            let merged = merge_replays(replays);
            eprint!("{}", merged.summary.render());
            let status = merged.summary.status();
            Ok((to_json(&merged), status))
        }
        _ => {
            let merged = merge_runs(runs)?;
            let violations = merged.get("violations").and_then(Value::as_u64).unwrap_or(0);
            let complete = merged.get("complete").and_then(Value::as_bool).unwrap_or(false);
            Ok((to_json(&merged), u8::from(violations > 0 || !complete)))
        }
    }
}

mod erased {
    pub(super) trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_default()
        }
    }
}
