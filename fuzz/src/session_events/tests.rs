//! Canonical scenarios through the checker: it sees what it should, and passes them.

use super::*;

fn reply() -> Reply {
    Reply::healthy()
}
fn at(time: TimeOp, op: Op) -> Step {
    Step { time, op }
}
fn answer(r: Reply) -> Op {
    Op::Answer {
        id: IdOp::Recent(0),
        kind: KindOp::AsIssued,
        reply: r,
    }
}
fn ok() -> Op {
    answer(reply())
}
fn order() -> Op {
    Op::StartOrder(OrderOp {
        out_trade_no: NoOp::Fresh,
        total_fee: 100,
        micropay: true,
        face_authtype: 0,
        telephone: StrOp::Empty,
        openid: StrOp::Empty,
        ask_face_permit: false,
        ask_ret_page: true,
        ignore_update_pay_result: false,
        screen_index: StrOp::Empty,
        credential: CredentialOp::Face,
    })
}
/// Start, init, rawdata, authinfo, order, face: submitted.
fn submitted() -> Vec<Step> {
    let start = Op::Start {
        init: InitOp {
            ip: StrOp::Empty,
            port: StrOp::Empty,
            proxy_type: None,
            perform_mode: None,
        },
        merchant: MerchantOp {
            appid: StrOp::Canonical,
            mch_id: StrOp::Canonical,
            sub_mch_id: StrOp::Empty,
            store_id: StrOp::Canonical,
        },
    };
    vec![
        at(TimeOp::Now, start),
        at(TimeOp::Wait(100), ok()),
        at(TimeOp::Wait(100), ok()),
        at(TimeOp::Wait(100), ok()),
        at(TimeOp::WaitSecs(1), order()),
        at(TimeOp::WaitSecs(4), ok()),
    ]
}
fn run(policy: PolicyChoice, steps: Vec<Step>) -> Summary {
    run_input(&Input { policy, steps })
}

#[test]
fn paid_at_once() {
    let mut steps = submitted();
    steps.push(at(TimeOp::Wait(100), ok()));
    let s = run(PolicyChoice::Default, steps);
    assert_eq!((s.submits, s.outcomes), (1, vec![Outcome::Paid]));
}

#[test]
fn systemerror_then_query_paid_with_report() {
    let mut steps = submitted();
    let mut sys = reply();
    sys.backend.result_code = Some(CodeOp::Doc(1));
    sys.backend.err_code = Some(CodeOp::Doc(0));
    steps.push(at(TimeOp::Wait(100), answer(sys)));
    steps.push(at(TimeOp::WaitSecs(6), ok()));
    // The pay-result report, then a duplicate of it and a stale SUCCESS with a random id.
    steps.push(at(TimeOp::Wait(10), ok()));
    steps.push(at(TimeOp::Wait(10), Op::Again(0)));
    steps.push(at(
        TimeOp::Wait(10),
        Op::Answer {
            id: IdOp::Raw(99),
            kind: KindOp::Backend(1),
            reply: reply(),
        },
    ));
    let s = run(PolicyChoice::OldSdk, steps);
    assert_eq!((s.submits, s.outcomes), (1, vec![Outcome::Paid]));
}

#[test]
fn silence_after_submit_needs_reconciliation_within_the_bound() {
    let fast = submitted()
        .into_iter()
        .map(|s| Step {
            time: TimeOp::Wait(100),
            ..s
        })
        .collect();
    let s = run(PolicyChoice::Tight, fast);
    assert_eq!((s.submits, s.outcomes), (1, vec![Outcome::NeedsReconciliation]));
    let s = run(PolicyChoice::Default, submitted());
    assert_eq!((s.submits, s.outcomes), (1, vec![Outcome::NeedsReconciliation]));
}

#[test]
fn a_stale_success_does_not_pay() {
    let mut steps = submitted();
    // A SUCCESS for a query that was never sent, then silence.
    steps.push(at(
        TimeOp::Wait(100),
        Op::Answer {
            id: IdOp::Raw(1_000),
            kind: KindOp::Backend(2),
            reply: reply(),
        },
    ));
    let s = run(PolicyChoice::Default, steps);
    assert_eq!(s.outcomes, vec![Outcome::NeedsReconciliation]);
}

#[test]
fn policies_are_valid() {
    assert!(Policy::new(tight()).is_ok());
    assert!(
        PolicyChoice::OldSdk
            .policy()
            .settings()
            .sdk_version
            .needs_pay_result_update()
    );
}

/// How deep the committed corpus goes: `cargo test --lib corpus_depth -- --ignored --nocapture`.
#[test]
#[ignore = "a report, not a check"]
fn corpus_depth() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/session_events");
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let (mut inputs, mut submits) = (0, 0);
    let mut states = std::collections::BTreeMap::<String, usize>::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(data) = std::fs::read(e.path()) else {
            continue; // removed meanwhile by a running fuzzer
        };
        if let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(&data)) {
            let s = run_input(&input);
            inputs += 1;
            submits += s.submits;
            for st in s.states {
                *states.entry(st).or_default() += 1;
            }
            for o in s.outcomes {
                *outcomes.entry(o.to_string()).or_default() += 1;
            }
        }
    }
    println!("{inputs} inputs, {submits} submits, conclusions: {outcomes:?}, states: {states:?}");
}
