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
