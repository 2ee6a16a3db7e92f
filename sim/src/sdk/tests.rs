//! The model face app's behaviours, one test each.

use super::*;
use facepay_fsm::InitParams;

fn init(app: &mut FaceApp, p: &SdkProfile, rng: &mut SimRng) -> SdkStatus {
    let mut out = Vec::new();
    app.call(
        0,
        RequestId(1),
        &SdkCall::InitWxpayface(InitParams::default()),
        p,
        rng,
        &mut out,
    );
    let cb = out.remove(0);
    match app.event(&cb.reply) {
        Event::Sdk(SdkEvent::Initialised { status, .. }) => status,
        _ => unreachable!(),
    }
}

#[test]
fn init_answers_initialising_then_success() {
    let p = SdkProfile {
        starting_answers: 3,
        ..SdkProfile::default()
    };
    let mut rng = SimRng::new(5);
    let mut app = FaceApp::new(1);
    let mut starting = 0;
    loop {
        let s = init(&mut app, &p, &mut rng);
        if s.err_code == Some(SdkErrCode::ServiceInitialising) {
            starting += 1;
        } else {
            assert_eq!(s.return_code, SdkReturnCode::Success);
            break;
        }
    }
    assert!(starting <= 3);
}

#[test]
fn callbacks_of_a_dead_binder_are_dropped() {
    let p = SdkProfile::default();
    let mut rng = SimRng::new(5);
    let mut app = FaceApp::new(1);
    let mut out = Vec::new();
    app.call(
        0,
        RequestId(1),
        &SdkCall::InitWxpayface(InitParams::default()),
        &p,
        &mut rng,
        &mut out,
    );
    let tag = out[0].tag;
    assert!(app.delivers(&tag));
    app.die();
    assert!(!app.delivers(&tag));
}

#[test]
fn a_rebind_replays_the_pending_face_scan_for_the_old_request() {
    let p = SdkProfile {
        rebind_replay: 1.0,
        ..SdkProfile::steady()
    };
    let mut rng = SimRng::new(5);
    let mut app = FaceApp::new(1);
    while init(&mut app, &p, &mut rng).return_code != SdkReturnCode::Success {}
    let req = facepay_fsm::FaceCodeRequest {
        merchant: facepay_fsm::Merchant::default(),
        out_trade_no: facepay_fsm::OutTradeNo::new(Field::OutTradeNo, "T1").unwrap(),
        total_fee: 100,
        face_code_type: FaceCodeType::Facepay,
        face_authtype: facepay_fsm::FaceAuthType::Facepay,
        authinfo: facepay_fsm::AuthInfo::new(Field::Authinfo, "authinfo-1-99999999").unwrap(),
        telephone: facepay_fsm::Telephone::empty(),
        openid: OpenId::empty(),
        ask_face_permit: false,
        ask_ret_page: false,
        ignore_update_pay_result: false,
        screen_index: facepay_fsm::ScreenIndex::empty(),
    };
    let mut out = Vec::new();
    app.call(
        10,
        RequestId(7),
        &SdkCall::GetWxpayfaceCode(req),
        &p,
        &mut rng,
        &mut out,
    );
    let first = out.remove(0);
    let mut replayed = Vec::new();
    app.die_and_replay(20, &p, &mut rng, &mut replayed);
    assert!(!app.delivers(&first.tag), "the first UI died with its binder");
    assert!(!replayed.is_empty());
    for cb in &replayed {
        assert!(app.delivers(&cb.tag));
        match app.event(&cb.reply) {
            Event::Sdk(SdkEvent::FaceCode { id, answer, .. }) => {
                assert_eq!(id, RequestId(7), "the replay answers the old request");
                assert!(!answer.face_code.is_empty(), "a second face UI, a new face_code");
            }
            other => panic!("{other:?}"),
        }
    }
    // A scan already answered is not replayed.
    let mut none = Vec::new();
    app.die_and_replay(u64::MAX, &p, &mut rng, &mut none);
    assert!(none.is_empty());
}

#[test]
fn an_expired_authinfo_is_detected_by_the_terminal_clock() {
    assert!(authinfo_expired("authinfo-1-1000", 1000));
    assert!(!authinfo_expired("authinfo-1-1000", 999));
    assert!(authinfo_expired("garbage", 0));
}
