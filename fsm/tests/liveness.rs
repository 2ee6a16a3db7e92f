//! The liveness bounds (`Policy::settle_bound_ms`, `Policy::order_bound_ms`) as a property
//! (issue 17): for several policies, an adversarial backend and SDK that answer each call
//! as late as they can (or never) drive the session, and the time it takes must stay
//! within the bound — and come close to it, so that a bound that is wrong by any of its
//! terms is caught, not only one that is too small.
//!
//! What the bounds over-approximate on purpose (docs/testing.md §liveness): after the
//! last query the bound charges one more poll interval (the machine goes on to reverse
//! at once), and after the last reverse (and its verifying query) one more backoff (it
//! concludes at once). A worst case is therefore within `poll + backoff` (plus the 1 ms
//! steps of the adversary) of `settle_bound_ms`.

mod common;

use common::*;
use facepay_fsm::codes::{PayErrCode, ResultCode, ReverseErrCode, SdkErrCode, SdkReturnCode, TradeState};
use facepay_fsm::*;

/// Policies whose terms differ enough that a term dropped, negated or multiplied moves
/// the bound by more than the over-approximation (see the module doc).
fn policies() -> Vec<Policy> {
    let base = PolicySettings {
        sdk_version: SdkVersion { major: 2, minor: 12 }, // the pay-result report is part of the bound
        poll_interval: Duration::secs(5),
        first_query_delay: Duration::secs(5),
        // A backoff no shorter than the poll interval: the bound charges the larger.
        reverse_backoff: Duration::secs(5),
        reverse_backoff_max: Duration::secs(5),
        reverse_attempts: 3,
        ..PolicySettings::default()
    };
    [
        base,
        PolicySettings {
            backend_deadline: Duration::secs(4),
            sdk_call_deadline: Duration::secs(20),
            query_budget: Duration::secs(60),
            reverse_attempts: 5,
            ..base
        },
        // A first query later than the poll interval: the settle bound's poll term is the
        // larger of the two.
        PolicySettings {
            first_query_delay: Duration::secs(8),
            poll_interval: Duration::secs(2),
            reverse_backoff: Duration::secs(2),
            reverse_backoff_max: Duration::secs(2),
            ..base
        },
        // Long backend and SDK deadlines, a short code scan: the order bound's terms
        // outweigh what it over-counts (the unused scanner, the submit's deadline).
        PolicySettings {
            backend_deadline: Duration::secs(20),
            sdk_call_deadline: Duration::secs(20),
            code_scan_deadline: Duration::secs(1),
            face_scan_deadline: Duration::secs(30),
            query_budget: Duration::secs(40),
            reverse_attempts: 2,
            ..base
        },
        PolicySettings {
            poll_interval: Duration::secs(8),
            first_query_delay: Duration::secs(3),
            reverse_backoff: Duration::secs(9),
            reverse_backoff_max: Duration::secs(9),
            reverse_attempts: 2,
            face_scan_deadline: Duration::secs(40),
            code_scan_deadline: Duration::secs(30),
            ..base
        },
    ]
    .into_iter()
    .map(|s| Policy::new(s).expect("a valid policy"))
    .collect()
}

/// The over-approximation of `settle_bound_ms` (module doc).
fn settle_slack(p: &Policy) -> u64 {
    let s = p.settings();
    u64::from(s.poll_interval.0.max(s.first_query_delay.0)) + u64::from(s.reverse_backoff_max.0.max(s.poll_interval.0))
}

fn ms(d: Duration) -> u64 {
    u64::from(d.0)
}

/// The time the open backend call of `kind` was sent.
fn sent(h: &H, call: Call) -> u64 {
    *h.times(call).last().expect("sent")
}

/// Fires the next timer (the session must have one).
fn next_timer(h: &mut H) {
    let at = h.s.poll_timeout().expect("a session that waits has a timer").0;
    h.at(at);
}

/// From a submit just sent, answers every call as late as the rules let the order last
/// longest: queries so that the last goes out just before the budget ends and is never
/// answered, every reverse SYSTEMERROR just before its deadline and the query that
/// verifies it a transport failure just before its own (the last one REVOKED), the
/// pay-result report never. Returns the time the session is back in Idle.
fn settle_adversarially(h: &mut H, p: &Policy) -> u64 {
    let s = *p.settings();
    let submitted = sent(h, Call::Submit);
    let budget_end = submitted + ms(s.query_budget);
    h.at(submitted + ms(s.backend_deadline) - 1);
    h.submit_answer(Ok(pay_error(PayErrCode::SystemError)));
    while h.state() != StateId::Idle {
        let open = h.s.waiting_on().backend.map(|(_, k)| k);
        match (h.state(), open) {
            (StateId::Querying, Some(BackendCallKind::Query)) => {
                let q = sent(h, Call::Query);
                let last_answer = budget_end - 1 - ms(s.poll_interval);
                if q >= budget_end {
                    // The query that verifies a reverse's SYSTEMERROR: nothing final, until
                    // the last reverse's, which finds it REVOKED (so the order is reported;
                    // one that needs reconciliation is not).
                    h.at(q + ms(s.backend_deadline) - 1);
                    if h.times(Call::Reverse).len() == usize::from(s.reverse_attempts) {
                        h.query_answer(Ok(query(TradeState::Revoked)));
                    } else {
                        h.query_answer(Err(TransportError::Connection));
                    }
                } else if q < last_answer || q + ms(s.poll_interval) < budget_end - 1 {
                    // Answer so that the next query goes out just before the budget ends.
                    let at = last_answer.clamp(q, q + ms(s.backend_deadline) - 1);
                    h.at(at);
                    h.query_answer(Err(TransportError::Connection));
                } else {
                    next_timer(h); // the last query: never answered
                }
            }
            (StateId::Reversing, Some(BackendCallKind::Reverse)) => {
                let r = sent(h, Call::Reverse);
                h.at(r + ms(s.backend_deadline) - 1);
                h.reverse_answer(Ok(reverse(ResultCode::Fail, None, Some(ReverseErrCode::SystemError))));
            }
            _ => next_timer(h),
        }
    }
    h.now
}

#[test]
fn settling_lasts_at_most_the_settle_bound_and_the_worst_case_comes_close() {
    for p in policies() {
        let mut h = H::submitting_with(p);
        let submitted = sent(&h, Call::Submit);
        let end = settle_adversarially(&mut h, &p);
        let took = end - submitted;
        let bound = p.settle_bound_ms();
        let (outcome, _) = h.outcome().expect("concluded");
        assert_eq!(outcome, Outcome::Reversed, "the last verifying query finds it revoked");
        assert_eq!(
            h.times(Call::Reverse).len(),
            usize::from(p.settings().reverse_attempts),
            "the worst case spends every reverse"
        );
        assert!(
            took <= bound,
            "settling took {took} ms, over the bound {bound} ms ({p:?})"
        );
        assert!(
            bound - took <= settle_slack(&p) + 50,
            "bound {bound} ms is {} ms over the worst case {took} ms ({p:?})",
            bound - took
        );
    }
}

#[test]
fn settling_with_nothing_answered_stays_within_the_settle_bound() {
    for p in policies() {
        let mut h = H::submitting_with(p);
        let submitted = sent(&h, Call::Submit);
        h.at(submitted + p.settle_bound_ms());
        assert_eq!(h.state(), StateId::Idle, "{p:?}");
        assert_eq!(h.outcome().map(|(o, _)| o), Some(Outcome::NeedsReconciliation));
    }
}

/// A whole order, worst case: no authinfo yet, so it authorises (each answer just before
/// its deadline); the face app rejects the authinfo just before the scan deadline, so it
/// authorises and scans again; then either the cashier's code scanner (`via_code`) or the
/// face code pays; the submit and settling are adversarial as above. Returns the order's
/// time from `StartOrder` to Idle.
fn order_adversarially(p: &Policy, via_code: bool) -> u64 {
    let s = *p.settings();
    let mut h = H::new(*p);
    h.start();
    h.at(100);
    h.init_answer(SdkStatus::success());
    let start = h.now;
    h.order("T1", 100, FaceCodeType::Facepay);
    assert_eq!(h.state(), StateId::PreparingRawdata);
    for round in 0..2 {
        h.at(sent_sdk(&h, SdkCallKind::GetWxpayfaceRawdata) + ms(s.sdk_call_deadline) - 1);
        h.rawdata();
        h.at(sent(&h, Call::AuthInfo) + ms(s.backend_deadline) - 1);
        h.authinfo(3600);
        assert_eq!(h.state(), StateId::ScanningFace);
        h.at(sent_sdk(&h, SdkCallKind::GetWxpayfaceCode) + ms(s.face_scan_deadline) - 1);
        if round == 0 {
            let rejected = SdkStatus::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid);
            h.face(rejected, "");
            assert_eq!(
                h.state(),
                StateId::PreparingRawdata,
                "a rejected authinfo is fetched again"
            );
        }
    }
    if via_code {
        h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
        h.at(sent_sdk(&h, SdkCallKind::StartCodeScanner) + ms(s.code_scan_deadline) - 1);
        h.scanned(PAY_CODE);
    } else {
        h.face(SdkStatus::success(), FACE_CODE);
    }
    assert_eq!(h.state(), StateId::Submitting);
    settle_adversarially(&mut h, p) - start
}

fn sent_sdk(h: &H, kind: SdkCallKind) -> u64 {
    sent(h, Call::Sdk(kind))
}

#[test]
fn an_order_lasts_at_most_the_order_bound_and_the_worst_case_comes_close() {
    for p in policies() {
        let s = *p.settings();
        let bound = p.order_bound_ms();
        for via_code in [false, true] {
            let took = order_adversarially(&p, via_code);
            assert!(took <= bound, "order took {took} ms, over the bound {bound} ms ({p:?})");
            // The bound charges both the code scanner and the pay-result report, which no
            // single order uses together (a scanned code is not reported), and the submit's
            // deadline, which the worst settling case already counts.
            let unused = if via_code {
                ms(s.sdk_call_deadline)
            } else {
                ms(s.code_scan_deadline)
            };
            let slack = settle_slack(&p) + unused + ms(s.backend_deadline) + 50;
            assert!(
                bound - took <= slack,
                "order bound {bound} ms is {} ms over the worst case {took} ms (via_code {via_code}, {p:?})",
                bound - took
            );
        }
    }
}
