//! Every state of the chart that waits for an answer, reached through the public API
//! only (so tables over them survive changes to the chart's internals).

use facepay_fsm::codes::SdkReturnCode;
use facepay_fsm::*;

use super::*;

/// A policy for an SDK before 2.13, which needs the pay result reported.
pub fn old_sdk() -> Policy {
    Policy::new(PolicySettings {
        sdk_version: SdkVersion { major: 2, minor: 12 },
        ..PolicySettings::default()
    })
    .unwrap()
}

/// Fires the timers due now (a state's entry may arm one at the current time).
fn settle_now(h: &mut H) {
    let now = h.now;
    h.at(now);
}

/// Every state of the chart that waits for an answer, reached through the public API,
/// with the answer it waits for still open.
pub fn positions() -> Vec<(StateId, H)> {
    let mut v = Vec::new();

    let mut h = H::new(Policy::default());
    h.start();
    v.push((StateId::Initializing, h));

    // Initialised without an authinfo: Idle refreshes at once (the background refresh).
    let mut h = H::new(Policy::default());
    h.start();
    h.at(100);
    h.init_answer(SdkStatus::success());
    settle_now(&mut h);
    v.push((StateId::GettingRawdata, h));

    let mut h = H::new(Policy::default());
    h.start();
    h.at(100);
    h.init_answer(SdkStatus::success());
    settle_now(&mut h);
    h.at(200);
    h.rawdata();
    v.push((StateId::GettingAuthInfo, h));

    let mut h = H::idle();
    h.at(1_000);
    h.app(AppEvent::IdentifyUser(member_lookup(FaceAuthType::FaceidOnce)));
    v.push((StateId::Identifying, h));

    // An order during the background refresh starts its own authorisation.
    let mut h = H::new(Policy::default());
    h.start();
    h.at(100);
    h.init_answer(SdkStatus::success());
    settle_now(&mut h);
    h.at(150);
    h.order("T1", 100, FaceCodeType::Micropay);
    v.push((StateId::PreparingRawdata, h));

    let mut h = H::new(Policy::default());
    h.start();
    h.at(100);
    h.init_answer(SdkStatus::success());
    settle_now(&mut h);
    h.at(150);
    h.order("T1", 100, FaceCodeType::Micropay);
    h.at(200);
    h.rawdata();
    v.push((StateId::PreparingAuthInfo, h));

    v.push((StateId::ScanningFace, H::scanning(FaceCodeType::Facepay)));

    let mut h = H::scanning(FaceCodeType::Facepay);
    h.at(2_000);
    h.face(SdkStatus::code(SdkReturnCode::ScanPayment), "");
    v.push((StateId::ScanningCode, h));

    v.push((StateId::Submitting, H::submitting()));

    // The first query is out.
    let mut h = H::querying();
    h.at(10_100);
    v.push((StateId::Querying, h));

    v.push((StateId::Reversing, H::reversing()));

    let mut h = H::submitting_with(old_sdk());
    h.at(5_100);
    h.submit_answer(Ok(pay_success()));
    v.push((StateId::Reporting, h));

    let mut h = H::idle();
    h.at(1_000);
    h.app(AppEvent::Release);
    v.push((StateId::Releasing, h));

    for (want, h) in &v {
        assert_eq!(h.state(), *want, "position for {want:?}");
        assert!(!h.s.waiting_on().is_empty(), "{want:?} waits for nothing");
    }
    v
}

/// A fresh copy of the position for `state` (positions are not `Clone`).
pub fn positions_of(state: StateId) -> H {
    positions()
        .into_iter()
        .find(|(s, _)| *s == state)
        .map(|(_, h)| h)
        .expect("a position for every waiting state")
}
