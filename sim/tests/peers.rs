//! The peer loops against scripted backend answers: one transcript each (insta snapshots,
//! read against docs/protocol.md §timings / §closed-loop and the sources quoted in `sim/src/peers/*.rs`), and
//! the comparison's claim: facepay's row has no violation on a fixed seed set, with the
//! peers' rows whatever their faithful loops produce.

use std::collections::VecDeque;

use facepay_fsm::codes::{PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseErrCode, TradeState};
use facepay_fsm::{
    AppEvent, AuthInfo, AuthInfoAnswer, BackendCall, BackendEvent, Command, Event, FaceCode, FaceCodeAnswer,
    FaceCodeType, Field, InitParams, MchId, Merchant, Message, Notice, OpenId, OrderRequest, OutTradeNo, PayAnswer,
    Policy, QueryAnswer, RawData, ReverseAnswer, SdkCall, SdkEvent, SdkStatus, TransactionId,
};
use facepay_sim::compare::{CompareConfig, run_compare};
use facepay_sim::peers::PeerKind;
use facepay_sim::terminal::{StrategyKind, Terminal};
use facepay_sim::world::{TerminalClock, UNIX_BASE};

/// One scripted backend answer to the next settling request: its latency, or lost.
#[allow(clippy::large_enum_variant)] // a handful per test; a query answer carries its payer
enum Reply {
    After(u64, Answer),
    Lost,
}

enum Answer {
    Pay(PayAnswer),
    Query(QueryAnswer),
    Reverse(ReverseAnswer),
}

fn pay_ok() -> Answer {
    Answer::Pay(PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        transaction_id: TransactionId::new(Field::TransactionId, "4200000000000000000001").unwrap(),
    })
}

fn pay_err(code: PayErrCode) -> Answer {
    Answer::Pay(PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(code),
        transaction_id: TransactionId::empty(),
    })
}

fn query_state(state: TradeState) -> Answer {
    Answer::Query(QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        trade_state: Some(state),
        transaction_id: TransactionId::empty(),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    })
}

fn query_err(code: QueryErrCode) -> Answer {
    Answer::Query(QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(code),
        trade_state: None,
        transaction_id: TransactionId::empty(),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    })
}

fn reverse_ok(recall: Recall) -> Answer {
    Answer::Reverse(ReverseAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        recall: Some(recall),
    })
}

fn reverse_err(code: ReverseErrCode) -> Answer {
    Answer::Reverse(ReverseAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(code),
        recall: Some(Recall::N),
    })
}

fn describe_call(call: &BackendCall) -> String {
    match call {
        BackendCall::Submit { out_trade_no, .. } => format!("micropay {out_trade_no}"),
        BackendCall::Query { .. } => "orderquery".to_string(),
        BackendCall::Reverse { attempt, .. } => format!("reverse (attempt {attempt})"),
        BackendCall::GetAuthInfo { .. } => "get_wxpayface_authinfo".to_string(),
    }
}

fn describe_answer(e: &BackendEvent) -> String {
    let code = |r: &ReturnCode, res: &Option<ResultCode>, err: Option<&str>| {
        let mut s = format!("return_code={}", r.as_str());
        if let Some(res) = res {
            s += &format!(" result_code={}", res.as_str());
        }
        if let Some(err) = err {
            s += &format!(" err_code={err}");
        }
        s
    };
    match e {
        BackendEvent::Submitted { answer: Ok(a), .. } => format!(
            "micropay: {}",
            code(&a.return_code, &a.result_code, a.err_code.as_ref().map(|c| c.as_str()))
        ),
        BackendEvent::Queried { answer: Ok(a), .. } => {
            let mut s = format!(
                "orderquery: {}",
                code(&a.return_code, &a.result_code, a.err_code.as_ref().map(|c| c.as_str()))
            );
            if let Some(t) = &a.trade_state {
                s += &format!(" trade_state={}", t.as_str());
            }
            s
        }
        BackendEvent::Reversed { answer: Ok(a), .. } => {
            let mut s = format!(
                "reverse: {}",
                code(&a.return_code, &a.result_code, a.err_code.as_ref().map(|c| c.as_str()))
            );
            if let Some(r) = &a.recall {
                s += &format!(" recall={}", r.as_str());
            }
            s
        }
        other => format!("{other:?}"),
    }
}

/// Drives one peer terminal through a face payment, answering the SDK and the authinfo
/// at once and the settling requests from `script`; returns the transcript from the
/// submit on (times in seconds after it).
fn transcript(kind: PeerKind, script: Vec<Reply>, until_s: u64) -> String {
    let mut term = Terminal::with_strategy(StrategyKind::Peer(kind), Policy::default(), TerminalClock::EXACT, ());
    term.record_peer_notes();
    let mut script: VecDeque<Reply> = script.into();
    let mut agenda: Vec<(u64, u64, Event)> = Vec::new();
    let mut seq = 0u64;
    let mut lines: Vec<String> = Vec::new();
    let mut submit_at: Option<u64> = None;
    let merchant = Merchant {
        appid: facepay_fsm::AppId::new(Field::Appid, "wx2421b1c4370ec43b").unwrap(),
        mch_id: MchId::new(Field::MchId, "10000100").unwrap(),
        ..Merchant::default()
    };
    agenda.push((
        0,
        0,
        Event::App(AppEvent::Start {
            init: InitParams::default(),
            merchant,
        }),
    ));
    let mut t = 0u64;
    let stamp = |t: u64, submit_at: Option<u64>| format!("{:>7.3} s", (t - submit_at.unwrap_or(t)) as f64 / 1000.0);
    loop {
        let timer = term.next_deadline();
        let event = agenda.iter().map(|(at, s, _)| (*at, *s)).min();
        let next = match (timer, event) {
            (None, None) => break,
            (Some(a), None) => a,
            (None, Some((e, _))) => e,
            (Some(a), Some((e, _))) => a.min(e),
        };
        if submit_at.is_some_and(|s| next > s + until_s * 1000) {
            lines.push(format!("  … (stopped at {until_s} s)"));
            break;
        }
        t = t.max(next);
        let mut out = Vec::new();
        if timer.is_some_and(|a| a <= next) {
            let now = term.fire_due(t, &mut out).unwrap();
            term.take_commands(now, &mut out);
        } else {
            let i = agenda
                .iter()
                .enumerate()
                .min_by_key(|(_, (at, s, _))| (*at, *s))
                .map(|(i, _)| i)
                .unwrap();
            let (_, _, ev) = agenda.remove(i);
            if let Event::Backend(b) = &ev
                && submit_at.is_some()
                && !matches!(b, BackendEvent::AuthInfo { .. })
            {
                lines.push(format!("{}  ← {}", stamp(t, submit_at), describe_answer(b)));
            }
            let now = term.input(t, &ev).unwrap();
            term.take_commands(now, &mut out);
        }
        for n in term.take_peer_notes() {
            lines.push(format!("{}      · {}", stamp(n.at.0 - UNIX_BASE, submit_at), n.text));
        }
        for c in out {
            let mut after = |ms: u64, e: Event| {
                seq += 1;
                agenda.push((t + ms, seq, e));
            };
            match c {
                Command::Sdk { id, call } => match call {
                    SdkCall::InitWxpayface(_) => after(
                        100,
                        Event::Sdk(SdkEvent::Initialised {
                            id,
                            status: SdkStatus::success(),
                        }),
                    ),
                    SdkCall::GetWxpayfaceRawdata => after(
                        100,
                        Event::Sdk(SdkEvent::Rawdata {
                            id,
                            status: SdkStatus::success(),
                            rawdata: RawData::new(Field::Rawdata, "rawdata").unwrap(),
                        }),
                    ),
                    SdkCall::GetWxpayfaceCode(_) => after(
                        3_000,
                        Event::Sdk(SdkEvent::FaceCode {
                            id,
                            status: SdkStatus::success(),
                            answer: FaceCodeAnswer {
                                face_code: FaceCode::new(Field::FaceCode, "134567890123456789").unwrap(),
                                openid: OpenId::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").unwrap(),
                                ..FaceCodeAnswer::default()
                            },
                        }),
                    ),
                    SdkCall::UpdateWxpayfacePayResult(r) => {
                        lines.push(format!(
                            "{}  → updateWxpayfacePayResult({})",
                            stamp(t, submit_at),
                            r.payresult.as_str()
                        ));
                        after(
                            200,
                            Event::Sdk(SdkEvent::PayResultUpdated {
                                id,
                                status: SdkStatus::success(),
                            }),
                        )
                    }
                    _ => {}
                },
                Command::Backend {
                    id,
                    call: BackendCall::GetAuthInfo { .. },
                } => after(
                    200,
                    Event::Backend(BackendEvent::AuthInfo {
                        id,
                        answer: Ok(AuthInfoAnswer {
                            return_code: ReturnCode::Success,
                            return_msg: Message::empty(),
                            authinfo: AuthInfo::new(Field::Authinfo, "authinfo-1").unwrap(),
                            expires_in: 3600,
                        }),
                    }),
                ),
                Command::Backend { id, call } => {
                    if submit_at.is_none() {
                        submit_at = Some(t);
                    }
                    lines.push(format!("{}  → {}", stamp(t, submit_at), describe_call(&call)));
                    match script.pop_front() {
                        Some(Reply::After(ms, answer)) => {
                            let e = match answer {
                                Answer::Pay(a) => BackendEvent::Submitted { id, answer: Ok(a) },
                                Answer::Query(a) => BackendEvent::Queried { id, answer: Ok(a) },
                                Answer::Reverse(a) => BackendEvent::Reversed { id, answer: Ok(a) },
                            };
                            after(ms, Event::Backend(e));
                        }
                        Some(Reply::Lost) => lines.push(format!("{}      (the answer is lost)", stamp(t, submit_at))),
                        None => lines.push(format!("{}      (no scripted answer)", stamp(t, submit_at))),
                    }
                }
                Command::Notify(Notice::Ready) => after(
                    500,
                    Event::App(AppEvent::StartOrder(OrderRequest::new(
                        OutTradeNo::new(Field::OutTradeNo, "FP0000000101").unwrap(),
                        1_000,
                        FaceCodeType::Micropay,
                    ))),
                ),
                Command::Notify(Notice::OrderConcluded(c)) => lines.push(format!(
                    "{}  = concluded {} ({:?})",
                    stamp(t, submit_at),
                    c.outcome,
                    c.reason
                )),
                _ => {}
            }
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn php_sample_polls_every_two_seconds_and_its_counter_never_falls() {
    // USERPAYING; the user is asked for a password and walks away: NOTPAY, for good.
    let mut script = vec![
        Reply::After(400, pay_err(PayErrCode::UserPaying)),
        Reply::After(200, query_state(TradeState::UserPaying)),
        Reply::After(200, query_err(QueryErrCode::SystemError)),
        Reply::After(200, query_state(TradeState::UserPaying)),
    ];
    script.extend((0..30).map(|_| Reply::After(200, query_state(TradeState::NotPay))));
    insta::assert_snapshot!(transcript(PeerKind::PhpSample, script, 40));
}

#[test]
fn php_sample_counts_a_refused_reverse_as_success() {
    // The submit answer is SYSTEMERROR; the query says ORDERNOTEXIST; cancel() meets
    // recall=Y, then a reverse refused while the user pays (USERPAYING, recall=N).
    let script = vec![
        Reply::After(400, pay_err(PayErrCode::SystemError)),
        Reply::After(200, query_err(QueryErrCode::OrderNotExist)),
        Reply::After(300, reverse_ok(Recall::Y)),
        Reply::After(300, reverse_err(ReverseErrCode::UserPaying)),
    ];
    insta::assert_snapshot!(transcript(PeerKind::PhpSample, script, 60));
}

#[test]
fn java_pos_resubmits_the_same_request_and_reads_orderpaid_as_unpaid() {
    // USERPAYING twice, a lost answer (read timeout 54 s, then straight round again with
    // the budget unchanged), then ORDERPAID: the user had paid meanwhile.
    let script = vec![
        Reply::After(400, pay_err(PayErrCode::UserPaying)),
        Reply::After(400, pay_err(PayErrCode::UserPaying)),
        Reply::Lost,
        Reply::After(400, pay_err(PayErrCode::OrderPaid)),
    ];
    insta::assert_snapshot!(transcript(PeerKind::JavaPos, script, 120));
}

#[test]
fn alipay_demo_polls_five_times_then_cancels_and_retries_in_the_background() {
    // PAYING; five WAIT_BUYER_PAY queries 5 s apart; the cancel asks to be called again
    // (recall=Y ~ retry_flag=Y): FAILED at once, then the async retries.
    let mut script = vec![Reply::After(400, pay_err(PayErrCode::UserPaying))];
    script.extend((0..5).map(|_| Reply::After(300, query_state(TradeState::UserPaying))));
    script.push(Reply::After(300, reverse_ok(Recall::Y)));
    script.push(Reply::Lost);
    script.push(Reply::After(300, reverse_ok(Recall::N)));
    insta::assert_snapshot!(transcript(PeerKind::AlipayDemo, script, 120));
}

#[test]
fn naive_loop_queries_once_and_gives_up() {
    let script = vec![
        Reply::After(400, pay_err(PayErrCode::UserPaying)),
        Reply::After(300, query_state(TradeState::UserPaying)),
    ];
    insta::assert_snapshot!(transcript(PeerKind::Naive, script, 60));
}

#[test]
fn a_paid_submit_is_paid_under_every_peer() {
    for kind in PeerKind::ALL {
        let script = vec![
            Reply::After(400, pay_ok()),
            Reply::After(200, query_state(TradeState::Success)),
        ];
        let t = transcript(kind, script, 60);
        assert!(t.contains("= concluded Paid"), "{kind:?}:\n{t}");
    }
}

#[test]
fn facepay_row_is_clean_and_the_peers_are_reported_as_they_are() {
    let cfg = CompareConfig {
        seed: 7,
        sessions: 300,
        swarm: false,
        jobs: 2,
        only: None,
    };
    let c = run_compare(&cfg, |_| {});
    let names: Vec<&str> = c.rows.iter().map(|r| r.strategy).collect();
    assert_eq!(
        names,
        [
            "facepay",
            "wechat-php-sample",
            "wechat-java-pos",
            "alipay-f2f-demo",
            "naive-one-query",
            "app-documented",
            "app-impatient-reverse",
            "app-retry-on-false",
            "app-discount-at-micropay",
            "app-release-mid-order",
            "app-old-order-lookups"
        ]
    );
    let facepay = &c.rows[0];
    assert_eq!(facepay.violations.total(), 0, "{:#?}", facepay.violations);
    for r in &c.rows {
        assert_eq!(r.sessions, 300);
        // The categories add up to what the kinds say, whatever a loop did.
        let by_kind: u64 = r.violations.by_kind.values().sum();
        let charged_twice_kinds = r.violations.by_kind.get("ChargedTwice").copied().unwrap_or(0)
            + r.violations.by_kind.get("CustomerChargedTwice").copied().unwrap_or(0);
        assert_eq!(
            by_kind - charged_twice_kinds,
            r.violations.total() - r.violations.charged_twice,
            "{}",
            r.strategy
        );
    }
    // Worker threads change nothing.
    let again = run_compare(&CompareConfig { jobs: 1, ..cfg }, |_| {});
    assert_eq!(
        serde_json::to_string(&c.rows).unwrap(),
        serde_json::to_string(&again.rows).unwrap()
    );
    // And facepay holds on the swarm mix too.
    let swarm = run_compare(&CompareConfig { swarm: true, ..cfg }, |_| {});
    assert_eq!(swarm.rows[0].violations.total(), 0, "{:#?}", swarm.rows[0].violations);
}
