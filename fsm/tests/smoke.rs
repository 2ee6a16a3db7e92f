use facepay_fsm::*;

fn drain(s: &mut Session) -> Vec<Command> {
    let mut v = Vec::new();
    while let Some(c) = s.poll_command() {
        v.push(c);
    }
    v
}

fn last_id(cmds: &[Command]) -> RequestId {
    cmds.iter()
        .rev()
        .find_map(|c| match c {
            Command::Sdk { id, .. } | Command::Backend { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap()
}

#[test]
fn happy_path_micropay() {
    let mut s = Session::new(Policy::default());
    let merchant = Merchant {
        appid: Text::new(Field::Appid, "wx2421b1c4370ec43b").unwrap(),
        mch_id: Text::new(Field::MchId, "10000100").unwrap(),
        ..Merchant::default()
    };
    s.handle(
        Instant(0),
        &Event::App(AppEvent::Start {
            init: InitParams::default(),
            merchant,
        }),
    )
    .unwrap();
    let c = drain(&mut s);
    let id = last_id(&c);
    s.handle(
        Instant(100),
        &Event::Sdk(SdkEvent::Initialised {
            id,
            status: SdkStatus::success(),
        }),
    )
    .unwrap();
    let c = drain(&mut s);
    assert!(matches!(c[0], Command::Notify(Notice::Ready)));
    assert_eq!(s.state(), StateId::Idle);
    assert_eq!(s.poll_timeout(), Some(Instant(100)));
    s.handle_timeout(Instant(100)).unwrap();
    let c = drain(&mut s);
    let id = last_id(&c);
    s.handle(
        Instant(200),
        &Event::Sdk(SdkEvent::Rawdata {
            id,
            status: SdkStatus::success(),
            rawdata: Text::new(Field::Rawdata, "RAW").unwrap(),
        }),
    )
    .unwrap();
    let c = drain(&mut s);
    let id = last_id(&c);
    s.handle(
        Instant(300),
        &Event::Backend(BackendEvent::AuthInfo {
            id,
            answer: Ok(AuthInfoAnswer {
                return_code: codes::ReturnCode::Success,
                return_msg: Message::empty(),
                authinfo: Text::new(Field::Authinfo, "AUTH").unwrap(),
                expires_in: 3600,
            }),
        }),
    )
    .unwrap();
    drain(&mut s);
    assert_eq!(s.state(), StateId::Idle);
    let order = OrderRequest::new(Text::new(Field::OutTradeNo, "T1").unwrap(), 100, FaceCodeType::Micropay);
    s.handle(Instant(1000), &Event::App(AppEvent::StartOrder(order)))
        .unwrap();
    let c = drain(&mut s);
    assert_eq!(s.state(), StateId::ScanningFace);
    let id = last_id(&c);
    let answer = FaceCodeAnswer {
        face_code: Text::new(Field::FaceCode, "134567890123456789").unwrap(),
        ..Default::default()
    };
    s.handle(
        Instant(5000),
        &Event::Sdk(SdkEvent::FaceCode {
            id,
            status: SdkStatus::success(),
            answer,
        }),
    )
    .unwrap();
    let c = drain(&mut s);
    assert_eq!(s.state(), StateId::Submitting);
    let id = last_id(&c);
    s.handle(
        Instant(6000),
        &Event::Backend(BackendEvent::Submitted {
            id,
            answer: Ok(PayAnswer {
                return_code: codes::ReturnCode::Success,
                result_code: Some(codes::ResultCode::Success),
                err_code: None,
                transaction_id: Text::new(Field::TransactionId, "4200000001").unwrap(),
            }),
        }),
    )
    .unwrap();
    let c = drain(&mut s);
    assert!(matches!(&c[0], Command::Notify(Notice::OrderConcluded(k)) if k.outcome == Outcome::Paid));
    assert_eq!(s.state(), StateId::Idle);
    println!("size_of Session = {}", core::mem::size_of::<Session>());
}
