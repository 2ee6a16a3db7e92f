//! What a cashier request gets in each busy state (issue 17: the root's refusal table,
//! `Machine::unhandled`): a membership lookup outside Idle is refused with the state's
//! reason (`NotAuthorised` is Idle's own answer, tested in chart.rs).

mod common;

use common::positions::positions;
use common::*;
use facepay_fsm::*;

fn lookup() -> AppEvent {
    AppEvent::IdentifyUser(member_lookup(FaceAuthType::FaceidOnce))
}

#[test]
fn a_lookup_in_a_busy_state_is_refused_with_that_states_reason() {
    let mut checked = 0;
    for (state, mut h) in positions() {
        let want = if matches!(state, StateId::Releasing | StateId::Released) {
            Refusal::Released
        } else if state.is_settling() {
            Refusal::Settling
        } else if state.is_offline() {
            Refusal::NotStarted
        } else {
            Refusal::Busy
        };
        let out = h.app(lookup());
        assert_eq!(diags(&out), vec![DiagnosticKind::Refused(want)], "{state:?}");
        assert_eq!(h.state(), state, "a refusal changes nothing");
        checked += 1;
    }
    assert_eq!(checked, 13);
}

#[test]
fn a_second_start_while_settling_is_refused_as_settling() {
    for mut h in [H::submitting(), H::querying(), H::reversing()] {
        let state = h.state();
        let out = h.start();
        assert_eq!(
            diags(&out),
            vec![DiagnosticKind::Refused(Refusal::Settling)],
            "{state:?}"
        );
        assert_eq!(h.state(), state);
    }
}
