//! Sessions of `run --swarm --seed 1` (issue 14's harsher WeChat model) that broke a
//! property when one protocol fix was reverted in the machine. Each must stay clean; if
//! the simulator's draws change, find them again by reverting the fix and running the
//! campaign (the README's command), and replace the indices here.

use facepay_sim::simulation::{Scratch, SessionSpec, run_session};

/// (what reverting breaks, session index, with power losses).
const FINDS: &[(&str, u64, bool)] = &[
    // NOTPAY read as final: the user pays after the terminal saw NOTPAY.
    ("notpay-is-pending", 5_430, false),
    ("notpay-is-pending", 14_687, false),
    // OUT_TRADE_NO_USED & co. read as final while the first copy of the submit charged.
    ("duplicate-declines-are-ambiguous", 6_268, false),
    ("duplicate-declines-are-ambiguous", 2_925, true),
    // An older order's SUCCESS under the same out_trade_no taken for this one's.
    ("query-success-must-match", 73, false),
    // REFUND (here partial) read as "not charged".
    ("refund-needs-reconciliation", 3_537, false),
    ("refund-needs-reconciliation", 5_761, true),
    // A reverse's ORDERNOTEXIST taken as done while the submit was still on its way.
    ("reverse-ordernotexist-is-not-a-conclusion", 467, false),
    ("reverse-ordernotexist-is-not-a-conclusion", 962, true),
    // A payment found after an unanswered reverse concluded Paid; the late reverse refunded it.
    ("paid-after-unanswered-reverse", 119_978, false),
    // A power loss right after the tenth reverse left, and an eleventh after the restart.
    ("resume-keeps-the-reverse-budget", 7_123, true),
    // A final decline, or a query's PAYERROR, concluded without closing the order.
    ("close-the-loop-on-declines", 19, false),
    ("close-the-loop-on-payerror", 92, false),
];

#[test]
fn the_sessions_that_catch_each_fix_stay_clean() {
    let mut scratch = Scratch::default();
    for &(fix, index, power_loss) in FINDS {
        let spec = SessionSpec::draw_with(1, index, true, power_loss);
        let report = run_session(&spec, &mut scratch, ()).0;
        assert!(
            report.violations.is_empty(),
            "{fix}: seed 1 session {index} (power loss {power_loss}): {:?}",
            report.violations
        );
        assert!(!report.outcomes.is_empty(), "{fix}: session {index} concluded nothing");
    }
}
