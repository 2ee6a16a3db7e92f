//! The model of an old face app's UI (issue 16): before 2.13 (with
//! `ignore_update_pay_result=0`) it waits for updateWxpayfacePayResult after it gave a face
//! code, and shows "交易已提交…请与商户联系" without it (docs/protocol.md
//! §pay-result-update). The checker's `FaceUiLeftWaiting` must catch a machine that does
//! not know the installed version, and stay quiet when the host reported it.

use facepay_fsm::{Command, Field, OutTradeNo, Session, TransactionId};
use facepay_sim::checker::{Checker, Violation};
use facepay_sim::ledger::Ledger;

/// A paid face order on a session under the default policy (2.13), checked against a
/// face app of `installed`; the host reports `reported` first.
fn face_order(installed: facepay_fsm::SdkVersion, reported: Option<facepay_fsm::SdkVersion>) -> Vec<Violation> {
    use facepay_fsm::codes::{ResultCode, ReturnCode};
    use facepay_fsm::{
        AppEvent, AuthInfoAnswer, BackendEvent, Event, FaceCodeAnswer, FaceCodeType, Instant, Merchant, OrderRequest,
        PayAnswer, Policy, SdkEvent, SdkStatus, Text,
    };
    let mut session = Session::new(Policy::default());
    let mut c = Checker::new(1_000_000);
    c.face_app(installed);
    let ledger = Ledger::default();
    let mut t = 0;
    let mut step = |session: &mut Session, c: &mut Checker, e: Option<Event>| {
        t += 100;
        match e {
            Some(e) => session.handle(Instant(t), &e).unwrap(),
            None => {
                session.handle_timeout(Instant(t)).unwrap();
            }
        }
        c.after_step(session);
        let mut last = None;
        while let Some(cmd) = session.poll_command() {
            c.command(t, &cmd, &ledger);
            if let Command::Sdk { id, .. } | Command::Backend { id, .. } = &cmd {
                last = Some(*id);
            }
        }
        last
    };
    if let Some(v) = reported {
        step(&mut session, &mut c, Some(Event::App(AppEvent::FaceAppVersion(v))));
    }
    let merchant = Merchant {
        appid: Text::new(Field::Appid, "wx2421b1c4370ec43b").unwrap(),
        mch_id: Text::new(Field::MchId, "10000100").unwrap(),
        ..Merchant::default()
    };
    let start = AppEvent::Start {
        init: facepay_fsm::InitParams::default(),
        merchant,
    };
    let id = step(&mut session, &mut c, Some(Event::App(start))).unwrap();
    let status = SdkStatus::success();
    step(
        &mut session,
        &mut c,
        Some(Event::Sdk(SdkEvent::Initialised { id, status })),
    );
    let id = step(&mut session, &mut c, None).unwrap();
    let rawdata = Text::new(Field::Rawdata, "RAW").unwrap();
    let status = SdkStatus::success();
    let id = step(
        &mut session,
        &mut c,
        Some(Event::Sdk(SdkEvent::Rawdata { id, status, rawdata })),
    )
    .unwrap();
    let answer = Ok(AuthInfoAnswer {
        return_code: ReturnCode::Success,
        return_msg: Text::empty(),
        authinfo: Text::new(Field::Authinfo, "AUTH").unwrap(),
        expires_in: 3600,
    });
    step(
        &mut session,
        &mut c,
        Some(Event::Backend(BackendEvent::AuthInfo { id, answer })),
    );
    let otn = OutTradeNo::new(Field::OutTradeNo, "T9").unwrap();
    let order = OrderRequest::new(otn, 100, FaceCodeType::Facepay);
    let id = step(&mut session, &mut c, Some(Event::App(AppEvent::StartOrder(order)))).unwrap();
    let answer = FaceCodeAnswer {
        face_code: Text::new(Field::FaceCode, "b713b5d2-666c-48").unwrap(),
        ..FaceCodeAnswer::default()
    };
    let status = SdkStatus::success();
    let id = step(
        &mut session,
        &mut c,
        Some(Event::Sdk(SdkEvent::FaceCode { id, status, answer })),
    )
    .unwrap();
    let answer = Ok(PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        transaction_id: TransactionId::empty(),
    });
    step(
        &mut session,
        &mut c,
        Some(Event::Backend(BackendEvent::Submitted { id, answer })),
    );
    step(&mut session, &mut c, None);
    c.violations
}

#[test]
fn an_old_face_app_the_machine_does_not_know_of_is_left_waiting() {
    let old = facepay_fsm::SdkVersion { major: 2, minor: 12 };
    let waiting = |v: &Vec<Violation>| v.iter().any(|v| matches!(v, Violation::FaceUiLeftWaiting { .. }));
    // The policy says 2.13 and nobody told the machine otherwise: the face UI waits.
    assert!(waiting(&face_order(old, None)));
    // The host reported the installed version: the machine reports the result.
    assert!(!waiting(&face_order(old, Some(old))));
    // A new face app needs nothing.
    assert!(!waiting(&face_order(
        facepay_fsm::SdkVersion::NO_PAY_RESULT_UPDATE,
        None
    )));
}
