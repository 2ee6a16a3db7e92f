//! Property suites: generated backend behaviours and fault schedules, aimed on purpose at
//! the ambiguous submit, recall=Y chains, reverse refused while paying, and duplicate and
//! late callbacks; every case must keep every safety property. Failures shrink and are
//! kept in `proptest-regressions/safety.txt`.
//!
//! `FACEPAY_PROPTEST_CASES=100000 cargo test -p facepay-sim --release --test safety` for a
//! long run.

mod common;

use facepay_fsm::FaceCodeType;
use facepay_sim::backend::BackendProfile;
use facepay_sim::faults::{FaultPlan, FaultSchedule, SubmitReplyFault};
use facepay_sim::sdk::SdkProfile;
use facepay_sim::simulation::{Scratch, SessionSpec, run_session};
use facepay_sim::world::TerminalClock;
use proptest::prelude::*;

fn check(spec: &SessionSpec) -> Result<(), TestCaseError> {
    let (report, ()) = run_session(spec, &mut Scratch::default(), ());
    prop_assert!(
        report.violations.is_empty(),
        "seed {} session {}: {:?}\nspec: {spec:?}",
        spec.campaign_seed,
        spec.index,
        report.violations
    );
    Ok(())
}

/// How the submit's answer hides the truth.
#[derive(Clone, Copy, Debug)]
enum Ambiguity {
    SystemError,
    UserPaying,
    LostReply,
    SubmitTimeout(u64),
}

fn ambiguity() -> impl Strategy<Value = Ambiguity> {
    prop_oneof![
        Just(Ambiguity::SystemError),
        Just(Ambiguity::UserPaying),
        Just(Ambiguity::LostReply),
        (1u64..40_000).prop_map(Ambiguity::SubmitTimeout),
    ]
}

/// When the user's payment settles, against the default 30 s query budget: before it,
/// around its end, or long after the terminal stopped polling.
fn settle_ms() -> impl Strategy<Value = u64> {
    prop_oneof![1_000u64..25_000, 25_000u64..45_000, 45_000u64..400_000]
}

fn base(seed: u64) -> SessionSpec {
    let mut spec = SessionSpec::draw(seed, 0, false);
    spec.sdk = SdkProfile::steady();
    spec.backend = BackendProfile::quiet();
    spec.faults = FaultPlan::NONE;
    spec
}

proptest! {
    #![proptest_config(common::config("proptest-regressions/safety.txt", 1_000))]

    /// Reversal after an ambiguous micropay/facepay, with the user's payment settling
    /// before, during or after the query budget, paid or not.
    #[test]
    fn ambiguous_submit_is_never_read_as_unpaid(
        seed in any::<u64>(),
        how in ambiguity(),
        settle in settle_ms(),
        user_pays in any::<bool>(),
        bank in any::<bool>(),
        recall in prop_oneof![Just(0.0), 0.0f64..0.9],
        refuse_while_paying in prop_oneof![Just(0.0), Just(1.0), 0.0f64..1.0],
        query_error in prop_oneof![Just(0.0), 0.0f64..0.5],
        reverse_error in prop_oneof![Just(0.0), 0.0f64..0.5],
        facepay in any::<bool>(),
    ) {
        let mut spec = base(seed);
        spec.cashier.patience = 2;
        spec.cashier.meddle = 0.0;
        spec.cashier.face_code_type = if facepay { FaceCodeType::Facepay } else { FaceCodeType::Micropay };
        spec.backend = BackendProfile {
            password: if bank { 0.0 } else { 1.0 },
            slow_bank: if bank { 1.0 } else { 0.0 },
            user_pays: if user_pays { 1.0 } else { 0.0 },
            password_max_ms: settle,
            submit_error: if matches!(how, Ambiguity::SystemError) { 1.0 } else { 0.0 },
            recall,
            refuse_while_paying,
            query_error,
            reverse_error,
            ..spec.backend
        };
        spec.faults.submit_reply = match how {
            Ambiguity::LostReply => Some(SubmitReplyFault::Lost),
            Ambiguity::SubmitTimeout(after) => Some(SubmitReplyFault::Late(after)),
            Ambiguity::SystemError | Ambiguity::UserPaying => None,
        };
        check(&spec)?;
    }

    /// recall=Y again and again, with errors in between: only SUCCESS with recall=N ends it.
    #[test]
    fn recall_chains_end_only_on_a_confirmed_reverse(
        seed in any::<u64>(),
        recall in 0.5f64..0.98,
        reverse_error in 0.0f64..0.5,
        settle in settle_ms(),
        lost in any::<bool>(),
    ) {
        let mut spec = base(seed);
        spec.cashier.meddle = 0.0;
        spec.backend = BackendProfile {
            password: 1.0,
            user_pays: 0.5,
            password_max_ms: settle,
            recall,
            reverse_error,
            ..spec.backend
        };
        spec.faults.submit_reply = Some(if lost { SubmitReplyFault::Lost } else { SubmitReplyFault::Late(5_000) });
        check(&spec)?;
    }

    /// The backend refuses the reverse while the user is still at the password prompt,
    /// which may outlast every reverse attempt.
    #[test]
    fn reverse_refused_while_paying(
        seed in any::<u64>(),
        settle in 20_000u64..2_000_000,
        user_pays in any::<bool>(),
    ) {
        let mut spec = base(seed);
        spec.cashier.meddle = 0.0;
        spec.backend = BackendProfile {
            password: 1.0,
            user_pays: if user_pays { 1.0 } else { 0.0 },
            password_max_ms: settle,
            refuse_while_paying: 1.0,
            ..spec.backend
        };
        check(&spec)?;
    }

    /// Every reply and callback may come late, twice, or not at all; the face service may
    /// die; the terminal's clock may be off.
    #[test]
    fn duplicate_and_late_callbacks(
        seed in any::<u64>(),
        duplicate in 0.0f64..0.9,
        late in 0.0f64..0.6,
        lost in 0.0f64..0.3,
        sdk_death in 0.0f64..0.1,
        skew_ms in -600_000i64..600_000,
        drift_ppm in -1_000i32..1_000,
        until in prop_oneof![Just(60_000u64), Just(600_000u64)],
    ) {
        let mut spec = SessionSpec::draw(seed, 0, false);
        spec.faults = FaultPlan {
            lose_request: lost,
            slow_request: late,
            lose_reply: lost,
            late_reply: late,
            duplicate_reply: duplicate,
            sdk_death,
            submit_reply: None,
            power_loss: 0.0,
            kill_at: None,
            tear_journal: 0.0,
            journal_write_failure: 0.0,
            clock: TerminalClock { skew_ms, drift_ppm },
            until,
            schedule: FaultSchedule::EMPTY,
        };
        check(&spec)?;
    }

    /// Whole swarm sessions: every behaviour and fault probability drawn from the seed.
    #[test]
    fn swarm_sessions_keep_every_property(seed in any::<u64>(), index in 0u64..1_000_000) {
        check(&SessionSpec::draw(seed, index, true))?;
    }
}

/// Failing journal writes (the persist handshake): a submit whose record could not be
/// written never leaves, and its order concludes NotPaid (the checker's `Unjournaled`);
/// later failed writes let the order settle. Many sessions with half the writes failing,
/// with and without power losses: no violation, and the fault is really injected.
#[test]
fn failing_journal_writes_never_let_an_unjournaled_submit_out() {
    let mut failed = 0;
    let mut unpaid = 0;
    for index in 0..300 {
        let mut spec = SessionSpec::draw_with(19, index, index % 2 == 0, index % 3 == 0);
        spec.faults.journal_write_failure = 0.5;
        let (report, ()) = run_session(&spec, &mut Scratch::default(), ());
        assert!(
            report.violations.is_empty(),
            "session {index}: {:?}\nspec: {spec:?}",
            report.violations
        );
        failed += report.faults.failed_journal_writes;
        unpaid += report
            .outcomes
            .iter()
            .filter(|o| **o == facepay_fsm::Outcome::NotPaid)
            .count();
    }
    assert!(failed > 50, "only {failed} writes failed");
    assert!(unpaid > 0);
}
