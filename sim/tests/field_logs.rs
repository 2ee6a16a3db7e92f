//! Field logs written by the simulator replay exactly on the build that wrote them, power
//! losses included: each boot is a session of its own in the file (a header carrying the
//! journal it resumed from), and replay checks every one.

use facepay_fsm::trace::{Verdict, replay_sessions};
use facepay_sim::campaign::record_session_with;

/// Sessions of a swarm power-loss campaign, each recorded and replayed.
#[test]
fn power_loss_traces_replay_exactly() {
    let mut boots = 0;
    let mut resumed = 0;
    for index in 0..1500 {
        let mut bytes = Vec::new();
        record_session_with(2026, index, true, true, &mut bytes).unwrap();
        let reports = replay_sessions(&bytes, false);
        boots += reports.len();
        for r in &reports {
            assert_eq!(
                r.verdict(),
                Verdict::Exact,
                "session {index}: {}",
                r.verdict_text(&format!("session{index}@{}", r.first_line))
            );
            if let Some(h) = &r.header
                && h.resume.is_some()
            {
                resumed += 1;
                // A resumed boot names the boot it continues.
                assert!(h.continues.is_some(), "session {index}: no link");
            }
        }
    }
    assert!(
        resumed > 20,
        "{resumed} resumed boots in {boots}: the test must see power losses"
    );
}

mod reconcile_end_to_end {
    use std::collections::BTreeSet;

    use facepay_sim::bill::{parse_bill, write_bill};
    use facepay_sim::campaign::{CampaignConfig, Shard};
    use facepay_sim::checker::Violation;
    use facepay_sim::fieldlog::record_with_bill;
    use facepay_sim::peers::PeerKind;
    use facepay_sim::reconcile::{LoggedOrders, read_orders, reconcile};
    use facepay_sim::terminal::StrategyKind;

    /// Runs `sessions` sessions under `strategy`, then reconciles their logs with the
    /// bill of their ledgers: (out_trade_nos reconcile flags for money, the out_trade_nos
    /// of the checker's money violations).
    fn campaign(strategy: StrategyKind, sessions: u64, power_loss: bool) -> (BTreeSet<String>, BTreeSet<String>) {
        let cfg = CampaignConfig {
            seed: 2026,
            sessions,
            swarm: true,
            power_loss,
            shard: Shard::ALL,
            jobs: 1,
        };
        let mut orders = LoggedOrders::new();
        let mut entries = Vec::new();
        let mut checker = BTreeSet::new();
        for index in 0..sessions {
            let mut log = Vec::new();
            let (report, rows) = record_with_bill(&cfg, strategy, index, &mut log).unwrap();
            read_orders(&log, &format!("T{index}.jsonl"), &mut orders);
            entries.extend(rows);
            for v in report.violations {
                match v {
                    Violation::UnpaidButCharged { out_trade_no, .. }
                    | Violation::PaidButNotCharged { out_trade_no }
                    | Violation::ChargedTwice { out_trade_no } => {
                        checker.insert(out_trade_no);
                    }
                    _ => {}
                }
            }
        }
        let mut bill = Vec::new();
        write_bill(&mut bill, &entries).unwrap();
        let bill = parse_bill(&bill).unwrap();
        let r = reconcile(&orders, &bill);
        let found = r
            .findings
            .iter()
            .filter(|f| f.kind.is_money())
            .map(|f| f.out_trade_no.clone())
            .collect();
        (found, checker)
    }

    #[test]
    fn facepay_logs_agree_with_the_bill() {
        let (found, checker) = campaign(StrategyKind::Facepay, 400, true);
        assert!(checker.is_empty(), "{checker:?}");
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn reconcile_finds_exactly_the_peers_money_violations() {
        for peer in PeerKind::ALL {
            let (found, checker) = campaign(StrategyKind::Peer(peer), 300, false);
            assert!(!checker.is_empty(), "{peer:?}: the peer must break something here");
            assert_eq!(found, checker, "{peer:?}");
        }
    }
}

mod fleet_and_merge {
    use facepay_sim::campaign::{CampaignConfig, Shard, run_campaign};
    use facepay_sim::fieldlog::write_fleet;
    use facepay_sim::fleet::{FleetReport, collect_logs, replay_files, shard_of};
    use facepay_sim::merge::{merge_replays, merge_runs};
    use facepay_sim::terminal::StrategyKind;

    fn cfg(shard: Shard) -> CampaignConfig {
        CampaignConfig {
            seed: 11,
            sessions: 120,
            swarm: true,
            power_loss: true,
            shard,
            jobs: 2,
        }
    }

    #[test]
    fn shards_of_a_fleet_replay_merge_into_the_whole() {
        let dir = std::env::temp_dir().join(format!("facepay-fleet-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let written = write_fleet(&cfg(Shard::ALL), StrategyKind::Facepay, Some(&dir), None, |_| {}).unwrap();
        assert_eq!(written.files, 120);
        let paths = collect_logs(std::slice::from_ref(&dir));
        assert_eq!(paths.len(), 120);
        let whole = FleetReport::new(replay_files(&paths, 2, |_| {}), Shard::ALL);
        assert_eq!(
            whole.summary.verdicts.exact,
            whole.summary.sessions,
            "{}",
            whole.summary.render()
        );
        assert!(
            whole.summary.sessions > 120,
            "power losses make more sessions than files"
        );
        let shards: Vec<FleetReport> = (0..3)
            .map(|i| {
                let shard = Shard { index: i, count: 3 };
                FleetReport::new(replay_files(&shard_of(paths.clone(), shard), 1, |_| {}), shard)
            })
            .collect();
        let merged = merge_replays(shards);
        assert_eq!(merged.summary, whole.summary);
        assert_eq!(merged.files.len(), whole.files.len());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn run_shards_merge_into_the_whole_campaign() {
        let whole = run_campaign(&cfg(Shard::ALL), |_| {});
        let parts: Vec<(String, serde_json::Value)> = (0..4)
            .map(|i| {
                let s = run_campaign(&cfg(Shard { index: i, count: 4 }), |_| {});
                (format!("shard{i}"), serde_json::to_value(&s).unwrap())
            })
            .collect();
        let merged = merge_runs(parts.clone()).unwrap();
        let whole = serde_json::to_value(&whole).unwrap();
        for key in ["sessions", "outcomes", "violations", "steps", "faults"] {
            assert_eq!(merged[key], whole[key], "{key}");
        }
        assert_eq!(merged["complete"], true);
        assert!(merge_runs(parts[..3].to_vec()).unwrap()["complete"] == false);
        let twice = vec![parts[0].clone(), parts[0].clone()];
        assert!(merge_runs(twice).is_err());
    }
}
