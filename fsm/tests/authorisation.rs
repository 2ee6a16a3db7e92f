//! Fetching an authinfo (getWxpayfaceRawdata, then get_wxpayface_authinfo) when an answer
//! is empty, never comes, or says the face service is down, in the background refresh and
//! for an order; and a rejected authinfo is never used again (issue 17: `rawdata_step`,
//! `authinfo_step`, `invalidate_authinfo`). Public API only.

mod common;

use common::positions::positions_of;
use common::*;
use facepay_fsm::codes::{SdkErrCode, SdkReturnCode};
use facepay_fsm::*;

fn rawdata(h: &mut H, status: SdkStatus, raw: &str) -> Vec<Command> {
    let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceRawdata));
    h.ev(Event::Sdk(SdkEvent::Rawdata {
        id,
        status,
        rawdata: ok(Text::new(Field::Rawdata, raw)),
    }))
}

fn service_down() -> SdkStatus {
    SdkStatus::with_err(SdkReturnCode::Fail, SdkErrCode::ServiceNotInitialised)
}

fn rejected() -> SdkStatus {
    SdkStatus::with_err(SdkReturnCode::Error, SdkErrCode::AuthInfoInvalid)
}

/// The background refresh failed at `now`: back in Idle, no authinfo, the retry armed.
fn assert_refresh_failed(h: &H) {
    assert_eq!(h.state(), StateId::Idle);
    let retry = Policy::default().settings().auth_retry_delay.0;
    assert_eq!(
        h.s.next_timer(),
        Some((Timer::AuthRefresh, Instant(h.now + u64::from(retry))))
    );
}

#[test]
fn an_empty_rawdata_is_a_failed_fetch() {
    let mut h = positions_of(StateId::GettingRawdata);
    let out = rawdata(&mut h, SdkStatus::success(), "");
    assert!(out.is_empty(), "no authinfo request with an empty rawdata: {out:?}");
    assert_refresh_failed(&h);

    let mut h = positions_of(StateId::PreparingRawdata);
    let out = rawdata(&mut h, SdkStatus::success(), "");
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::AuthInfoUnavailable)));
    assert_eq!(h.count(|c| matches!(c, Command::Backend { .. })), 0);
}

#[test]
fn rawdata_never_answered_fails_at_the_sdk_deadline() {
    let deadline = u64::from(Policy::default().settings().sdk_call_deadline.0);
    let mut h = positions_of(StateId::GettingRawdata);
    let asked = *h.times(Call::Sdk(SdkCallKind::GetWxpayfaceRawdata)).last().unwrap();
    h.at(asked + deadline - 1);
    assert_eq!(h.state(), StateId::GettingRawdata);
    h.at(asked + deadline);
    assert_refresh_failed(&h);

    let mut h = positions_of(StateId::PreparingRawdata);
    let asked = *h.times(Call::Sdk(SdkCallKind::GetWxpayfaceRawdata)).last().unwrap();
    let out = h.at(asked + deadline);
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::AuthInfoUnavailable)));
}

#[test]
fn authinfo_never_answered_fails_at_the_backend_deadline() {
    let deadline = u64::from(Policy::default().settings().backend_deadline.0);
    let mut h = positions_of(StateId::GettingAuthInfo);
    let asked = *h.times(Call::AuthInfo).last().unwrap();
    h.at(asked + deadline - 1);
    assert_eq!(h.state(), StateId::GettingAuthInfo);
    h.at(asked + deadline);
    assert_refresh_failed(&h);

    let mut h = positions_of(StateId::PreparingAuthInfo);
    let asked = *h.times(Call::AuthInfo).last().unwrap();
    let out = h.at(asked + deadline);
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::AuthInfoUnavailable)));
}

#[test]
fn a_face_service_down_during_rawdata_starts_it_again() {
    let mut h = positions_of(StateId::GettingRawdata);
    let out = rawdata(&mut h, service_down(), "");
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface), "{out:?}");
    assert_eq!(h.state(), StateId::Initializing);

    let mut h = positions_of(StateId::PreparingRawdata);
    let out = rawdata(&mut h, service_down(), "");
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::SdkLost)));
    assert!(has_sdk(&out, SdkCallKind::InitWxpayface), "{out:?}");
    assert_eq!(h.state(), StateId::Initializing);
}

#[test]
fn an_authinfo_the_member_lookup_rejected_is_fetched_again_at_once() {
    let mut h = positions_of(StateId::Identifying);
    h.at(2_000);
    let id = h.id(Call::Sdk(SdkCallKind::GetWxpayfaceUserInfo));
    h.ev(Event::Sdk(SdkEvent::UserInfo {
        id,
        status: rejected(),
        user: UserInfo::default(),
    }));
    assert_eq!(h.state(), StateId::Idle);
    assert_eq!(h.s.next_timer(), Some((Timer::AuthRefresh, Instant(2_000))));
    // An order now does not scan with the rejected authinfo: it fetches a new one first.
    h.order("T9", 100, FaceCodeType::Micropay);
    assert_eq!(h.state(), StateId::PreparingRawdata);
}

#[test]
fn an_authinfo_the_face_scan_rejected_twice_is_not_used_for_the_next_order() {
    let mut h = positions_of(StateId::ScanningFace);
    h.at(2_000);
    h.face(rejected(), "");
    assert_eq!(h.state(), StateId::PreparingRawdata);
    h.at(2_100);
    h.rawdata();
    h.at(2_200);
    h.authinfo(3600);
    assert_eq!(h.state(), StateId::ScanningFace);
    h.at(3_000);
    let out = h.face(rejected(), "");
    assert_eq!(concluded(&out), Some((Outcome::NotPaid, Reason::AuthInfoUnavailable)));
    assert_eq!(h.state(), StateId::Idle);
    assert_eq!(h.s.next_timer(), Some((Timer::AuthRefresh, Instant(3_000))));
    h.order("T2", 100, FaceCodeType::Micropay);
    assert_eq!(h.state(), StateId::PreparingRawdata);
}
