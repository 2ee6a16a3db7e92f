//! The typed app requests (`Session::start`, `start_order`, `identify`, `cancel`,
//! `release`) return the refusal their step queued, and are taken when nothing refuses
//! them: each is driven where it is refused and where it is taken.

use facepay_fsm::testing::{member_lookup, merchant, order};
use facepay_fsm::*;

fn session() -> Session {
    Session::new(Policy::new(PolicySettings::default()).expect("the default policy is valid"))
}

fn drain(s: &mut Session) -> Vec<Command> {
    std::iter::from_fn(|| s.poll_command()).collect()
}

#[test]
fn every_typed_request_returns_its_refusal_before_the_service_is_up() {
    let mut s = session();
    let t = Instant(0);
    let no = order("T-REQ-1", 100, FaceCodeType::Facepay);
    assert_eq!(s.start_order(t, no), Err(RequestError::Refused(Refusal::NotStarted)));
    drain(&mut s);
    assert_eq!(
        s.identify(t, member_lookup(FaceAuthType::FaceidOnce)),
        Err(RequestError::Refused(Refusal::NotStarted))
    );
    drain(&mut s);
    assert_eq!(s.cancel(t), Err(RequestError::Refused(Refusal::NothingToCancel)));
    drain(&mut s);

    // Taken: the init call goes out; a second Start while the service comes up is Busy.
    assert_eq!(s.start(t, InitParams::default(), merchant()), Ok(()));
    let cmds = drain(&mut s);
    assert!(cmds.iter().all(|c| c.refusal().is_none()), "{cmds:?}");
    assert!(
        cmds.iter().any(|c| matches!(
            c,
            Command::Sdk {
                call: SdkCall::InitWxpayface(_),
                ..
            }
        )),
        "{cmds:?}"
    );
    assert_eq!(
        s.start(t, InitParams::default(), merchant()),
        Err(RequestError::Refused(Refusal::Busy))
    );
    drain(&mut s);

    // Release is taken (the service goes down); after it, everything is refused as Released.
    assert_eq!(s.release(t), Ok(()));
    drain(&mut s);
    assert_eq!(
        s.start(t, InitParams::default(), merchant()),
        Err(RequestError::Refused(Refusal::Released))
    );
    drain(&mut s);
    assert_eq!(
        s.identify(t, member_lookup(FaceAuthType::FaceidOnce)),
        Err(RequestError::Refused(Refusal::Released))
    );
    drain(&mut s);
    assert_eq!(s.release(t), Err(RequestError::Refused(Refusal::Released)));
}

#[test]
fn a_request_before_the_last_step_is_drained_is_not_taken() {
    let mut s = session();
    assert_eq!(s.start(Instant(0), InitParams::default(), merchant()), Ok(()));
    let e = s
        .identify(Instant(0), member_lookup(FaceAuthType::FaceidOnce))
        .expect_err("the init call is still queued");
    assert!(matches!(e, RequestError::NotTaken(_)), "{e:?}");
    assert_eq!(e.diagnostic(), None);
    assert!(e.to_string().starts_with("not taken"), "{e}");
}

#[test]
fn a_malformed_start_is_invalid_naming_its_field() {
    let mut s = session();
    // No appid: the merchant must say whose terminal this is.
    let e = s
        .start(Instant(0), InitParams::default(), Merchant::default())
        .expect_err("a merchant without appid");
    let RequestError::Invalid(field) = e else {
        panic!("not an invalid request: {e:?}");
    };
    assert_eq!(e.diagnostic(), Some(DiagnosticKind::InvalidRequest(field)));
    assert!(e.to_string().starts_with("invalid request"), "{e}");
}
