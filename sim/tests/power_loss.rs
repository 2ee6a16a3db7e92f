//! Power loss in Settling: the terminal is killed after each command of the settling of an
//! order in turn — after the `Persist(Submitting)` before the submit left, after the submit
//! left, while querying, before and after each reverse, between the conclusion's record
//! and its notice — with the backend settling paid, unpaid, late or never, and restarts
//! from its last journal record (sometimes torn). Every safety property must hold across
//! the restart: one submission per out_trade_no in the backend's ledger, no order
//! concluded unpaid while charged, Paid only when charged, every journalled order
//! concluded. Failures shrink and are kept in `proptest-regressions/power_loss.txt`.
//!
//! `FACEPAY_PROPTEST_CASES=100000 cargo test -p facepay-sim --release --test power_loss`
//! for a long run.

mod common;

use facepay_fsm::FaceCodeType;
use facepay_sim::backend::BackendProfile;
use facepay_sim::faults::{FaultPlan, SubmitReplyFault};
use facepay_sim::sdk::SdkProfile;
use facepay_sim::simulation::{Scratch, SessionReport, SessionSpec, run_session};
use proptest::prelude::*;

/// How the backend settles the order.
#[derive(Clone, Copy, Debug)]
enum Settles {
    /// SUCCESS at once.
    PaidAtOnce,
    /// A password prompt the user pays after `ms`.
    PaidAfter(u64),
    /// A password prompt the user leaves after `ms`.
    UnpaidAfter(u64),
    /// A slow bank that pays after a few seconds (BANKERROR, then ACCEPT).
    Bank,
    /// Declined for good.
    Declined,
}

fn settles() -> impl Strategy<Value = Settles> {
    prop_oneof![
        Just(Settles::PaidAtOnce),
        // Before, around and long after the 30 s query budget.
        prop_oneof![1_000u64..25_000, 25_000u64..45_000, 45_000u64..400_000].prop_map(Settles::PaidAfter),
        prop_oneof![1_000u64..25_000, 25_000u64..45_000, 45_000u64..400_000].prop_map(Settles::UnpaidAfter),
        Just(Settles::Bank),
        Just(Settles::Declined),
    ]
}

/// What happens to the submit's first answer.
fn submit_reply() -> impl Strategy<Value = Option<SubmitReplyFault>> {
    prop_oneof![
        Just(None),
        Just(Some(SubmitReplyFault::Lost)),
        (1u64..20_000).prop_map(|d| Some(SubmitReplyFault::Late(d))),
    ]
}

fn spec(seed: u64, settles: Settles, reply: Option<SubmitReplyFault>, kill_at: u32, tear: bool) -> SessionSpec {
    let mut spec = SessionSpec::draw(seed, 0, false);
    spec.sdk = SdkProfile::steady();
    spec.cashier.meddle = 0.0;
    spec.cashier.identify_first = false;
    let quiet = BackendProfile::quiet();
    spec.backend = match settles {
        Settles::PaidAtOnce => quiet,
        Settles::PaidAfter(ms) | Settles::UnpaidAfter(ms) => BackendProfile {
            password: 1.0,
            user_pays: if matches!(settles, Settles::PaidAfter(_)) {
                1.0
            } else {
                0.0
            },
            password_max_ms: ms,
            refuse_while_paying: 0.5,
            recall: 0.2,
            ..quiet
        },
        Settles::Bank => BackendProfile {
            slow_bank: 1.0,
            ..quiet
        },
        Settles::Declined => BackendProfile { decline: 1.0, ..quiet },
    };
    spec.faults = FaultPlan {
        submit_reply: reply,
        kill_at: Some(kill_at),
        tear_journal: if tear { 1.0 } else { 0.0 },
        ..FaultPlan::NONE
    };
    spec
}

fn run(spec: &SessionSpec) -> SessionReport {
    run_session(spec, &mut Scratch::default(), ()).0
}

/// The kill points worth walking: the settling of one order takes a handful of commands
/// (record, submit, record, queries, records and reverses, record, notice, pay result).
const KILL_POINTS: u32 = 40;

#[test]
fn a_kill_after_every_command_of_settling_keeps_every_property() {
    let cases = [
        (Settles::PaidAtOnce, None),
        (Settles::PaidAtOnce, Some(SubmitReplyFault::Lost)),
        (Settles::PaidAfter(20_000), None),
        (Settles::PaidAfter(60_000), Some(SubmitReplyFault::Lost)),
        (Settles::UnpaidAfter(20_000), None),
        (Settles::UnpaidAfter(90_000), Some(SubmitReplyFault::Late(5_000))),
        (Settles::Bank, None),
        (Settles::Declined, None),
    ];
    let mut killed_in_settling = 0;
    for (settles, reply) in cases {
        for kill_at in 1..=KILL_POINTS {
            for tear in [false, true] {
                let s = spec(11, settles, reply, kill_at, tear);
                let r = run(&s);
                assert!(
                    r.violations.is_empty(),
                    "{settles:?} {reply:?} kill at {kill_at} tear {tear}: {:?}",
                    r.violations
                );
                killed_in_settling += r.faults.power_losses;
            }
        }
    }
    // The walk reaches into Settling: most kill points fall inside it.
    assert!(killed_in_settling > 8 * 2 * 5, "{killed_in_settling}");
}

#[test]
fn the_order_journalled_before_the_submit_left_is_concluded_after_the_restart() {
    // Killed between Persist(Submitting) and the submit: nothing reached the backend,
    // the resumed session queries and reverses, and the order concludes unpaid.
    let r = run(&spec(3, Settles::PaidAtOnce, None, 1, false));
    assert_eq!(r.faults.power_losses, 1);
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert!(!r.outcomes.is_empty(), "the journalled order concluded");
    // Killed after the submit left: the money moved, the answer is lost with the power.
    let r = run(&spec(3, Settles::PaidAtOnce, None, 2, false));
    assert_eq!(r.faults.power_losses, 1);
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert!(!r.outcomes.is_empty());
}

/// Sessions campaigns found breaking a property (`run --swarm --power-loss --sessions
/// 1000000 --seed S`), each through a torn journal record:
/// - seed 2026, sessions 935898 and 955597: an order concluded Paid, the power tore its
///   Concluded record, the resumed session met only SYSTEMERROR and reversed, refunding
///   goods handed over;
/// - seed 11, session 344617: a reverse was on its way when the power tore the Reversing
///   record; the resumed session's query found the order paid and concluded Paid, and the
///   late reverse refunded it.
///
/// All now conclude NeedsReconciliation. If the simulator's draws change, these sessions
/// no longer tear a journal: pick the new finds of the same campaigns. The harsher
/// backend of issue 14 draws more per session, so the sessions below are the first of
/// each campaign's range (2026: from 900000; 11: from 300000) whose torn record leaves
/// the order to a person.
#[test]
fn campaign_finds_torn_records_are_left_to_a_person() {
    for (seed, index) in [(2026, 900_494), (2026, 901_410), (11, 302_938)] {
        // Found before orders without a face were drawn: the session as it was then.
        let s = SessionSpec::draw_with(seed, index, true, true).without_issue_16_draws();
        let r = run(&s);
        assert!(
            r.faults.torn_journals > 0,
            "seed {seed} session {index} no longer tears a journal"
        );
        assert!(
            r.violations.is_empty(),
            "seed {seed} session {index}: {:?}",
            r.violations
        );
        assert!(
            r.outcomes.contains(&facepay_fsm::Outcome::NeedsReconciliation),
            "seed {seed} session {index}: {:?}",
            r.outcomes
        );
    }
}

/// Seed 7, session 91181 of `run --swarm --power-loss --sessions 300000`: an order whose
/// closing reverses met USERPAYING lost power between the journal record of reverse
/// attempt 5 and its call. The resumed machine counts attempt 5 spent (it cannot know the
/// call never left), so it stopped after attempt 10 with nine calls made; the last met
/// SYSTEMERROR, its query PAYERROR, and the order concluded NotPaid, left PAYERROR. The
/// checker took the nine calls for budget to spare (`LoopLeftOpen`); an attempt the power
/// cut off now counts against the budget. If the simulator's draws change, find a new
/// session by reverting the checker's `unsent_reverses` and running that campaign.
#[test]
fn a_reverse_cut_off_by_a_power_loss_counts_against_the_budget() {
    let mut s = SessionSpec::draw_with(7, 91_181, true, true);
    // Found before issue 19 drew failing journal writes (drawn last): the same session
    // without them.
    s.faults.journal_write_failure = 0.0;
    let r = run(&s);
    assert!(r.faults.power_losses > 0, "session 91181 no longer loses power");
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert!(r.outcomes.contains(&facepay_fsm::Outcome::NotPaid), "{:?}", r.outcomes);
}

/// A reverse left slow (55 s, within the campaigns' minute) and the power went just after
/// it; the resumed session's next reverse met SYSTEMERROR (nothing done) once the user had
/// paid, and its query showed SUCCESS. The resumed machine took that for Paid, and the slow
/// reverse then refunded the order: told paid, not charged. A recorded reverse now counts
/// as unanswered after a resume, so the payment is left to a person (PaidWhileReversing).
/// (seed, when the user pays, the slow request's ordinal, the kill point), found by a
/// search over them with the fix reverted.
#[test]
fn a_payment_found_after_a_resume_mid_reverse_is_left_to_a_person() {
    use facepay_sim::faults::{FaultSchedule, RequestFault, ScheduledFault};
    for (seed, pays_after, slow, kill_at) in [(3, 90_000, 7, 18), (22, 60_000, 15, 21)] {
        let mut s = spec(seed, Settles::PaidAfter(pays_after), None, kill_at, false);
        s.backend.refuse_while_paying = 1.0;
        s.backend.recall = 0.0;
        s.backend.reverse_error = 1.0;
        let mut schedule = FaultSchedule::EMPTY;
        let slow = ScheduledFault::Request {
            request: slow,
            fault: RequestFault::Slow(55_000),
        };
        schedule.push(slow).unwrap();
        s.faults.schedule = schedule;
        let r = run(&s);
        assert_eq!(r.faults.power_losses, 1, "seed {seed}");
        assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
        assert_eq!(r.outcomes, [facepay_fsm::Outcome::NeedsReconciliation], "seed {seed}");
    }
}

proptest! {
    #![proptest_config(common::config("proptest-regressions/power_loss.txt", 300))]

    /// A kill at any command of Settling, any backend settling, any fate of the submit's
    /// answer, the record torn or not, Micropay or Facepay.
    #[test]
    fn a_kill_anywhere_in_settling_keeps_every_property(
        seed in any::<u64>(),
        settles in settles(),
        reply in submit_reply(),
        kill_at in 1u32..=KILL_POINTS,
        tear in any::<bool>(),
        facepay in any::<bool>(),
        patience in 1u8..=3,
    ) {
        let mut s = spec(seed, settles, reply, kill_at, tear);
        s.cashier.patience = patience;
        s.cashier.face_code_type = if facepay { FaceCodeType::Facepay } else { FaceCodeType::Micropay };
        let r = run(&s);
        prop_assert!(r.violations.is_empty(), "seed {seed}: {:?}\nspec: {s:?}", r.violations);
    }

    /// Whole swarm sessions with random power losses on top of every other fault.
    #[test]
    fn swarm_sessions_with_power_loss_keep_every_property(seed in any::<u64>(), index in 0u64..1_000_000) {
        let s = SessionSpec::draw_with(seed, index, true, true);
        let r = run(&s);
        prop_assert!(r.violations.is_empty(), "seed {seed} index {index}: {:?}", r.violations);
    }
}
