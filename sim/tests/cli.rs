//! The `facepay-sim` command as a newcomer meets it: the binary itself is run, and its exit
//! status, messages and JSON are read as a person or a script would.

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facepay-sim"))
        .args(args)
        .output()
        .expect("the facepay-sim binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A usage error: exit status 2, the message on stderr, no panic.
fn assert_usage_error(args: &[&str], says: &str) {
    let o = sim(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?} should say {says:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn run_with_no_sessions_is_an_error_not_a_table_of_zeros() {
    assert_usage_error(&["run", "--sessions", "0"], "a campaign needs at least one session");
    assert_usage_error(&["compare", "--sessions", "0"], "a campaign needs at least one session");
}

#[test]
fn jobs_must_be_at_least_one_and_a_huge_number_is_refused_without_a_panic() {
    assert_usage_error(
        &["run", "--sessions", "1", "--jobs", "0"],
        "at least one worker thread is needed",
    );
    assert_usage_error(
        &["run", "--sessions", "1", "--jobs", "100000000"],
        "100000000 worker threads is more than the 256 allowed",
    );
    assert_usage_error(
        &["compare", "--sessions", "1", "--jobs", "0"],
        "at least one worker thread is needed",
    );
}

#[test]
fn a_shard_without_its_count_says_what_is_missing() {
    assert_usage_error(&["run", "--shard", "1/"], "`1/`: N is missing");
    assert_usage_error(&["run", "--shard", "8/8"], "I must be below N");
}

#[test]
fn help_states_the_exit_codes() {
    for cmd in ["run", "replay", "compare"] {
        let o = sim(&[cmd, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        let help = stdout(&o);
        assert!(help.contains("Exit status"), "{cmd} --help:\n{help}");
        for code in ["  0  ", "  1  ", "  2  "] {
            assert!(help.contains(code), "{cmd} --help lacks {code:?}:\n{help}");
        }
    }
    let compare = stdout(&sim(&["compare", "--help"]));
    assert!(compare.contains("facepay's row only"), "{compare}");
}

#[test]
fn a_clean_run_exits_zero_with_the_jobs_it_used() {
    let o = sim(&["run", "--sessions", "20", "--jobs", "2", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON summary");
    assert_eq!(summary["sessions"], 20);
    assert_eq!(summary["config"]["jobs"], 2);
}

#[test]
fn compare_json_has_totals_and_each_listed_violation_runs_again_alone() {
    let o = sim(&["compare", "--seed", "7", "--sessions", "120", "--jobs", "2", "--json"]);
    assert_eq!(o.status.code(), Some(0), "facepay's row is clean: {}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON comparison");
    let rows = c["rows"].as_array().expect("rows");
    let row_total = |r: &serde_json::Value| r["violations_total"].as_u64().expect("violations_total");
    assert_eq!(
        c["totals"]["violations"].as_u64(),
        Some(rows.iter().map(row_total).sum::<u64>())
    );
    assert_eq!(c["totals"]["sessions"].as_u64(), Some(120 * rows.len() as u64));
    assert_eq!(rows[0]["strategy"], "facepay");
    assert_eq!(rows[0]["violating_sessions"].as_array().map(Vec::len), Some(0));

    // A peer's first listed violation, run again alone with the command the JSON gives.
    let peer = rows
        .iter()
        .find(|r| r["violating_sessions"].as_array().is_some_and(|v| !v.is_empty()))
        .expect("some peer breaks a property in 120 sessions");
    let listed = &peer["violating_sessions"][0];
    assert_eq!(listed["seed"], 7);
    let session = listed["session"].as_u64().expect("session");
    let rerun = listed["rerun"].as_str().expect("rerun");
    assert_eq!(rerun, format!("facepay-sim compare --seed 7 --session {session}"));
    let args: Vec<&str> = rerun.split(' ').skip(1).chain(["--json"]).collect();
    let again = sim(&args);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON comparison");
    let same = again["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["strategy"] == peer["strategy"]))
        .expect("the same peer's row");
    assert_eq!(same["sessions"], 1);
    assert_eq!(same["violating_sessions"][0]["session"], session);
    assert_eq!(same["violating_sessions"][0]["kinds"], listed["kinds"]);
}

#[test]
fn replay_explain_shows_the_header_first() {
    let trace = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/traces/18-resumed-after-power-loss.jsonl"
    );
    let o = sim(&["replay", trace, "--explain"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let head: Vec<&str> = out.lines().take(3).collect();
    assert_eq!(
        head,
        [
            "terminal: firmware=corpus-1 model=scripted store=S01",
            // Recorded before `close_declined_orders` existed: its absence reads as false.
            "policy: defaults but close_declined_orders=false",
            "resumed at 100.000s: journal T18 100 fen, querying, 12000 ms after the submit",
        ]
    );
}
