//! Property 6 for the simulator itself: the same seed on the same commit gives the same
//! run, byte for byte; and a campaign's result does not depend on its threads or shards.

use facepay_sim::campaign::{CampaignConfig, Shard, record_session, run_campaign};

fn trace(seed: u64, index: u64, swarm: bool) -> Vec<u8> {
    let mut out = Vec::new();
    record_session(seed, index, swarm, &mut out).expect("writes to memory");
    out
}

#[test]
fn same_seed_same_trace_byte_for_byte() {
    for (seed, index, swarm) in [(1, 0, false), (1, 7, true), (42, 12_345, true), (u64::MAX, 3, false)] {
        let a = trace(seed, index, swarm);
        let b = trace(seed, index, swarm);
        assert!(a.len() > 500, "a real session was recorded");
        assert_eq!(a, b, "seed {seed} session {index} swarm {swarm}");
    }
    assert_ne!(trace(1, 0, true), trace(1, 1, true));
    assert_ne!(trace(1, 0, true), trace(2, 0, true));
}

#[test]
fn recorded_traces_replay_exactly() {
    for index in 0..20 {
        let bytes = trace(9, index, true);
        let report = facepay_fsm::trace::replay_bytes(&bytes, false);
        assert!(report.is_exact(), "session {index}: {}", report.verdict_text("trace"));
    }
}

#[test]
fn campaign_results_do_not_depend_on_threads_or_shards() {
    let cfg = |jobs, shard| CampaignConfig {
        seed: 5,
        sessions: 3_000,
        swarm: true,
        power_loss: true,
        shard,
        jobs,
    };
    let one = run_campaign(&cfg(1, Shard::ALL), |_| {});
    let two = run_campaign(&cfg(2, Shard::ALL), |_| {});
    assert_eq!(one.outcomes, two.outcomes);
    assert_eq!(one.p50_virtual_ms, two.p50_virtual_ms);
    assert_eq!(one.p99_virtual_ms, two.p99_virtual_ms);
    assert_eq!(one.steps, two.steps);
    let halves: Vec<_> = (0..2)
        .map(|i| run_campaign(&cfg(1, Shard { index: i, count: 2 }), |_| {}))
        .collect();
    assert_eq!(halves[0].sessions + halves[1].sessions, one.sessions);
    assert_eq!(halves[0].steps + halves[1].steps, one.steps);
    assert_eq!(
        halves[0].outcomes.total() + halves[1].outcomes.total(),
        one.outcomes.total()
    );
}
