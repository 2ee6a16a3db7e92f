//! Replay throughput against plain `serde_json` parsing of the same lines.
//!
//! `cargo bench -p facepay-fsm --features std --bench trace`: a generated trace of many
//! orders (paid, declined, ambiguous then queried) is replayed (parse + machine + compare)
//! and, in the same run, parsed line by line into `serde_json::Value`. Both report MB/s;
//! the closing line prints their ratio (target >= 0.7).

use std::hint::black_box;
use std::time::Instant as Clock;

use criterion::{Criterion, Throughput, criterion_group};
use facepay_fsm::trace::{RecordingSession, Redaction, TraceHeader, Verdict, replay_bytes};
use facepay_fsm::*;

fn text<const N: usize, L: heapless::LenType>(field: Field, s: &str) -> Text<N, L> {
    Text::new(field, s).unwrap()
}

/// A trace of `orders` orders on one terminal.
fn generate(orders: u32) -> Vec<u8> {
    let header = TraceHeader::new(Policy::default(), serde_json::Map::new());
    let mut s = RecordingSession::create(Vec::new(), &header, Redaction::Placeholders).unwrap();
    let mut t = 0u64;
    let mut last = 0u32;
    let step = |s: &mut RecordingSession<Vec<u8>>, t: u64, e: Option<Event>, last: &mut u32| {
        match e {
            Some(e) => s.handle(Instant(t), &e).unwrap(),
            None => s.handle_timeout(Instant(t)).unwrap(),
        }
        while let Some(c) = s.poll_command() {
            if let Command::Sdk { id, .. } | Command::Backend { id, .. } = c {
                *last = id.0;
            }
        }
    };
    let merchant = Merchant {
        appid: text(Field::Appid, "wx2421b1c4370ec43b"),
        mch_id: text(Field::MchId, "10000100"),
        ..Merchant::default()
    };
    step(
        &mut s,
        t,
        Some(Event::App(AppEvent::Start {
            init: InitParams::default(),
            merchant,
        })),
        &mut last,
    );
    t += 100;
    let ok = SdkStatus::success;
    step(
        &mut s,
        t,
        Some(Event::Sdk(SdkEvent::Initialised {
            id: RequestId(last),
            status: ok(),
        })),
        &mut last,
    );
    let fire_due = |s: &mut RecordingSession<Vec<u8>>, t: u64, last: &mut u32| {
        while s.poll_timeout().is_some_and(|at| at.0 <= t) {
            step(s, t, None, last);
        }
    };
    for n in 0..orders {
        t += 1000;
        fire_due(&mut s, t, &mut last);
        // Keep the authinfo fresh: answer whatever authorisation is outstanding.
        if s.state() == StateId::GettingRawdata {
            let rawdata = text(Field::Rawdata, &format!("RAW{n:08}"));
            step(
                &mut s,
                t,
                Some(Event::Sdk(SdkEvent::Rawdata {
                    id: RequestId(last),
                    status: ok(),
                    rawdata,
                })),
                &mut last,
            );
            let answer = Ok(AuthInfoAnswer {
                return_code: codes::ReturnCode::Success,
                return_msg: Message::empty(),
                authinfo: text(Field::Authinfo, &format!("AUTH{n:08}")),
                expires_in: 3600,
            });
            step(
                &mut s,
                t,
                Some(Event::Backend(BackendEvent::AuthInfo {
                    id: RequestId(last),
                    answer,
                })),
                &mut last,
            );
        }
        let no = text(Field::OutTradeNo, &format!("T{n:010}"));
        step(
            &mut s,
            t,
            Some(Event::App(AppEvent::StartOrder(OrderRequest::new(
                no,
                100 + n,
                FaceCodeType::Micropay,
            )))),
            &mut last,
        );
        t += 3000;
        let answer = FaceCodeAnswer {
            face_code: text(Field::FaceCode, &format!("13{n:016}")),
            ..Default::default()
        };
        step(
            &mut s,
            t,
            Some(Event::Sdk(SdkEvent::FaceCode {
                id: RequestId(last),
                status: ok(),
                answer,
            })),
            &mut last,
        );
        t += 500;
        let pay = |result, err: Option<&str>| PayAnswer {
            return_code: codes::ReturnCode::Success,
            result_code: Some(result),
            err_code: err.map(|e| codes::PayErrCode::parse(e).unwrap()),
            transaction_id: TransactionId::empty(),
        };
        let answer = match n % 4 {
            0 | 1 => pay(codes::ResultCode::Success, None),
            2 => pay(codes::ResultCode::Fail, Some("NOTENOUGH")),
            _ => pay(codes::ResultCode::Fail, Some("SYSTEMERROR")),
        };
        step(
            &mut s,
            t,
            Some(Event::Backend(BackendEvent::Submitted {
                id: RequestId(last),
                answer: Ok(answer),
            })),
            &mut last,
        );
        if n % 4 == 3 {
            t += 5000;
            fire_due(&mut s, t, &mut last);
            t += 200;
            let answer = Ok(QueryAnswer {
                return_code: codes::ReturnCode::Success,
                result_code: Some(codes::ResultCode::Success),
                err_code: None,
                trade_state: Some(codes::TradeState::Success),
                transaction_id: text(Field::TransactionId, &format!("42{n:018}")),
                total_fee: None,
                time_end: None,
                openid: Default::default(),
            });
            step(
                &mut s,
                t,
                Some(Event::Backend(BackendEvent::Queried {
                    id: RequestId(last),
                    answer,
                })),
                &mut last,
            );
        }
    }
    let (_, w, err) = s.into_parts();
    assert!(err.is_none());
    w.into_inner()
}

fn parse_values(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).map_or(0, |v| v.as_object().map_or(0, |o| o.len())))
        .sum()
}

fn bench(c: &mut Criterion) {
    let bytes = generate(20_000);
    let report = replay_bytes(&bytes, false);
    assert_eq!(report.verdict(), Verdict::Exact, "{report}");
    let mut g = c.benchmark_group("trace");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    g.bench_function("replay", |b| {
        b.iter(|| black_box(replay_bytes(black_box(&bytes), false).records))
    });
    g.bench_function("serde_json_value_parse", |b| {
        b.iter(|| black_box(parse_values(black_box(&bytes))))
    });
    g.finish();

    // The ratio, measured in this run (best of 5 each, interleaved).
    let mb = bytes.len() as f64 / 1e6;
    let best = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let start = Clock::now();
                f();
                start.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let replay = mb
        / best(&|| {
            black_box(replay_bytes(&bytes, false));
        });
    let parse = mb
        / best(&|| {
            black_box(parse_values(&bytes));
        });
    println!(
        "trace: {:.1} MB, {} records: replay {replay:.1} MB/s, serde_json Value parse {parse:.1} MB/s, ratio {:.2}",
        mb,
        report.records,
        replay / parse
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
