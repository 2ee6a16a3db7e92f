//! The trace corpus: field logs that must replay exactly against today's machine, bad
//! logs that must be reported (never panicked on), the format's JSON Schema, and the
//! recorder's round trip.
//!
//! `tests/traces/*.jsonl` were recorded by `record_corpus` below (a scripted host driving
//! the real `Session` through `RecordingSession`) and read by a person. They are field
//! logs: do not re-record them to make a failing replay pass; a divergence means the
//! machine now decides differently, which must be a deliberate change.
//! Re-record (new scenarios only): `cargo test -p facepay-tests --test traces -- --ignored`.

use std::path::{Path, PathBuf};

use facepay_fsm::trace::{
    LineErrorKind, Mismatch, RecordingSession, Redaction, TraceHeader, Verdict, parse_trace, replay_bytes,
};
use facepay_fsm::{
    Command, Event, Field, Instant, JOURNAL_VERSION, JournalPhase, JournalRecord, PayApi, PersistError, Policy,
    PolicySettings, Text,
};
use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces")
}

// ---------------------------------------------------------------------------------------
// A scripted host: inputs at given times, timers fired when due, every command drained.

struct Rig {
    s: RecordingSession<Vec<u8>>,
    sdk: Vec<u32>,
    backend: Vec<u32>,
    /// With the persist handshake on: report every journal write as failed.
    failing_journal: bool,
}

impl Rig {
    fn new(settings: Value, redaction: Redaction) -> Rig {
        let mut base = serde_json::to_value(PolicySettings::default()).unwrap();
        if let (Some(b), Some(o)) = (base.as_object_mut(), settings.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        let policy: Policy = serde_json::from_value(base).unwrap();
        let terminal = json!({"model": "scripted", "firmware": "corpus-1", "store": "S01"});
        let header = TraceHeader::new(policy, terminal.as_object().unwrap().clone());
        let s = RecordingSession::create(Vec::new(), &header, redaction).unwrap();
        Rig {
            s,
            sdk: Vec::new(),
            backend: Vec::new(),
            failing_journal: false,
        }
    }

    /// A terminal restarting after a power loss, resuming from `journal` at `at`.
    fn resumed(journal: &[u8], at: u64) -> Rig {
        let terminal = json!({"model": "scripted", "firmware": "corpus-1", "store": "S01"});
        let header =
            TraceHeader::new(Policy::default(), terminal.as_object().unwrap().clone()).resumed(Instant(at), journal);
        let (s, error) = RecordingSession::create_resumed(Vec::new(), &header, Redaction::Placeholders).unwrap();
        assert_eq!(error, None);
        let mut r = Rig {
            s,
            sdk: Vec::new(),
            backend: Vec::new(),
            failing_journal: false,
        };
        r.drain();
        r
    }

    fn drain(&mut self) {
        loop {
            while let Some(c) = self.s.poll_command() {
                match c {
                    Command::Sdk { id, .. } => self.sdk.push(id.0),
                    Command::Backend { id, .. } => self.backend.push(id.0),
                    _ => {}
                }
            }
            if self.s.session().awaiting_persist().is_none() {
                break;
            }
            let written = if self.failing_journal {
                Err(PersistError::WriteFailed)
            } else {
                Ok(())
            };
            let now = self.s.session().now();
            self.s.persisted(now, written).unwrap();
        }
    }

    /// Fires every timer due up to `t`, as a host's timer loop would.
    fn advance(&mut self, t: u64) {
        while let Some(at) = self.s.poll_timeout() {
            if at.0 > t {
                break;
            }
            self.s.handle_timeout(at).unwrap();
            self.drain();
        }
    }

    /// `"$sdk"` / `"$backend"` name the latest SDK / backend request, `"$backend_prev"`
    /// the one before.
    fn at(&mut self, t: u64, mut event: Value) -> &mut Rig {
        self.advance(t);
        self.substitute(&mut event);
        let event: Event = serde_json::from_value(event).unwrap();
        self.s.handle(Instant(t), &event).unwrap();
        self.drain();
        self
    }

    fn substitute(&self, v: &mut Value) {
        let last = |ids: &[u32], back: usize| ids.len().checked_sub(1 + back).map(|i| ids[i]).unwrap_or(999);
        match v {
            Value::String(s) if s == "$sdk" => *v = json!(last(&self.sdk, 0)),
            Value::String(s) if s == "$backend" => *v = json!(last(&self.backend, 0)),
            Value::String(s) if s == "$backend_prev" => *v = json!(last(&self.backend, 1)),
            Value::Object(m) => m.values_mut().for_each(|x| self.substitute(x)),
            Value::Array(a) => a.iter_mut().for_each(|x| self.substitute(x)),
            _ => {}
        }
    }

    fn finish(mut self, t: u64) -> Vec<u8> {
        self.advance(t);
        let (_, w, err) = self.s.into_parts();
        assert!(err.is_none());
        w.into_inner()
    }
}

fn ok() -> Value {
    json!({"return_code": "SUCCESS"})
}
fn start() -> Value {
    json!({"app": {"start": {"init": {}, "merchant": {"appid": "wx2421b1c4370ec43b", "mch_id": "10000100", "store_id": "S01"}}}})
}
fn initialised(code: &str) -> Value {
    let status = if code == "SUCCESS" {
        ok()
    } else {
        json!({"return_code": "ERROR", "err_code": code})
    };
    json!({"sdk": {"initialised": {"id": "$sdk", "status": status}}})
}
fn rawdata(raw: &str) -> Value {
    json!({"sdk": {"rawdata": {"id": "$sdk", "status": ok(), "rawdata": raw}}})
}
fn authinfo(auth: &str) -> Value {
    json!({"backend": {"auth_info": {"id": "$backend", "answer": {"Ok": {"return_code": "SUCCESS", "authinfo": auth, "expires_in": 3600}}}}})
}
fn order(no: &str, fee: u32, face_code_type: &str, telephone: &str) -> Value {
    json!({"app": {"start_order": {
        "out_trade_no": no, "total_fee": fee, "face_code_type": face_code_type, "face_authtype": "FACEPAY",
        "telephone": telephone, "openid": "", "ask_face_permit": false, "ask_ret_page": true,
        "ignore_update_pay_result": false, "screen_index": ""}}})
}
fn face_code(code: &str) -> Value {
    json!({"sdk": {"face_code": {"id": "$sdk", "status": ok(), "answer": {"face_code": code, "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}}})
}
fn face_code_failed(return_code: &str) -> Value {
    json!({"sdk": {"face_code": {"id": "$sdk", "status": {"return_code": return_code}, "answer": {}}}})
}
fn submitted(answer: Value) -> Value {
    json!({"backend": {"submitted": {"id": "$backend", "answer": answer}}})
}
fn queried(answer: Value) -> Value {
    json!({"backend": {"queried": {"id": "$backend", "answer": answer}}})
}
fn reversed(answer: Value) -> Value {
    json!({"backend": {"reversed": {"id": "$backend", "answer": answer}}})
}
fn paid(txn: &str) -> Value {
    json!({"Ok": {"return_code": "SUCCESS", "result_code": "SUCCESS", "transaction_id": txn}})
}
fn pay_fail(err: &str) -> Value {
    json!({"Ok": {"return_code": "SUCCESS", "result_code": "FAIL", "err_code": err}})
}
fn trade(state: &str) -> Value {
    json!({"Ok": {"return_code": "SUCCESS", "result_code": "SUCCESS", "trade_state": state, "transaction_id": if state == "SUCCESS" { "4200000000202501010002" } else { "" }}})
}
fn reverse_ok(recall: &str) -> Value {
    json!({"Ok": {"return_code": "SUCCESS", "result_code": "SUCCESS", "recall": recall}})
}
fn err(e: &str) -> Value {
    json!({"Err": e})
}

/// Up to `Idle` with a valid authinfo, at t=300.
fn online(settings: Value, redaction: Redaction) -> Rig {
    let mut r = Rig::new(settings, redaction);
    r.at(0, start())
        .at(100, initialised("SUCCESS"))
        .at(150, rawdata("RAWDATA-0f3a9c"))
        .at(300, authinfo("AUTHINFO-7d1e55c0"));
    r
}

const FACE_CODE: &str = "134567890123456789";

fn scenarios() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    let p = Redaction::Placeholders;

    let mut r = online(json!({}), p);
    r.at(1000, order("T01", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(5600, submitted(paid("4200000000202501010001")));
    v.push(("01-paid-micropay", r.finish(10_000)));

    let mut r = online(json!({}), p);
    r.at(1000, order("T02", 2500, "0", "13800138000"))
        .at(4000, face_code("fc-9b2e7f11a0c4"))
        .at(4800, submitted(paid("4200000000202501010002")));
    v.push(("02-paid-facepay-telephone", r.finish(10_000)));

    let mut r = online(json!({"sdk_version": {"major": 2, "minor": 12}}), p);
    r.at(1000, order("T03", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(5600, submitted(paid("4200000000202501010003")))
        .at(
            5900,
            json!({"sdk": {"pay_result_updated": {"id": "$sdk", "status": ok()}}}),
        );
    v.push(("03-paid-with-pay-result-report", r.finish(10_000)));

    // Recorded before the machine closed the loop on declines (that is 21).
    let mut r = online(json!({"close_declined_orders": false}), p);
    r.at(1000, order("T04", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(5600, submitted(pay_fail("NOTENOUGH")));
    v.push(("04-declined-notenough", r.finish(10_000)));

    let mut r = online(json!({}), p);
    r.at(1000, order("T05", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(5600, submitted(pay_fail("SYSTEMERROR")))
        .at(10_800, queried(trade("SUCCESS")));
    v.push(("05-systemerror-then-query-paid", r.finish(20_000)));

    let mut r = online(json!({}), p);
    r.at(1000, order("T06", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(6000, submitted(pay_fail("USERPAYING")))
        .at(11_200, queried(trade("USERPAYING")))
        .at(16_300, queried(trade("USERPAYING")))
        .at(21_400, queried(trade("USERPAYING")))
        .at(26_500, queried(trade("NOTPAY")))
        .at(31_600, queried(trade("NOTPAY")))
        .at(35_400, reversed(reverse_ok("N")));
    v.push(("06-userpaying-polls-then-reversed", r.finish(70_000)));

    let mut r = online(json!({}), p);
    r.at(1000, order("T07", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(15_000, submitted(err("timeout")))
        .at(20_500, queried(trade("SUCCESS")));
    v.push(("07-submit-timeout-then-query-paid", r.finish(30_000)));

    // The backend never answers the submit: the machine's own backend deadline fires.
    let mut r = online(json!({}), p);
    r.at(1000, order("T08", 100, "1", "")).at(5000, face_code(FACE_CODE));
    r.advance(22_000);
    r.at(22_000, queried(trade("NOTPAY")));
    r.advance(40_000);
    r.at(40_000, reversed(reverse_ok("N")));
    v.push(("08-submit-lost-reply-reversed", r.finish(60_000)));

    // Every reverse times out: the order needs reconciliation.
    let mut r = online(json!({"reverse_attempts": 2}), p);
    r.at(1000, order("T09", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(6000, submitted(err("connection")));
    r.advance(100_000);
    v.push(("09-reverse-budget-exhausted", r.finish(150_000)));

    let mut r = online(json!({}), p);
    r.at(1000, order("T10", 100, "1", ""))
        .at(9000, face_code_failed("USER_CANCEL"));
    v.push(("10-user-cancelled", r.finish(10_000)));

    let mut r = online(json!({}), p);
    r.at(1000, order("T11", 100, "1", ""));
    r.advance(100_000);
    v.push(("11-face-scan-timed-out", r.finish(100_000)));

    let mut r = Rig::new(json!({}), p);
    r.at(0, start())
        .at(100, initialised("271378621"))
        .at(700, initialised("SUCCESS"))
        .at(800, rawdata("RAWDATA-11aa"))
        .at(900, authinfo("AUTHINFO-22bb"))
        .at(2000, order("T12", 100, "1", ""))
        .at(6000, face_code(FACE_CODE))
        .at(6500, submitted(paid("4200000000202501010012")));
    v.push(("12-init-retry-then-paid", r.finish(10_000)));

    // The payment-code fallback: the face app says SCAN_PAYMENT, the scanner reads a code.
    let mut r = online(json!({}), p);
    r.at(1000, order("T13", 100, "1", ""))
        .at(3000, face_code_failed("SCAN_PAYMENT"))
        .at(
            7000,
            json!({"sdk": {"code_scanned": {"id": "$sdk", "status": ok(), "code": "134611112222333344"}}}),
        )
        .at(7700, submitted(paid("4200000000202501010013")));
    v.push(("13-scan-payment-code", r.finish(10_000)));

    // A duplicate submit answer after the conclusion is a stale answer, only logged.
    let mut r = online(json!({}), p);
    r.at(1000, order("T14", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(5600, submitted(paid("4200000000202501010014")))
        .at(5700, submitted(paid("4200000000202501010014")));
    v.push(("14-duplicate-answer-is-stale", r.finish(10_000)));

    // The cashier tries to cancel while the order settles, then the face service dies.
    let mut r = online(json!({}), p);
    r.at(1000, order("T15", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(5200, json!({"app": "cancel"}))
        .at(5300, json!({"sdk": "service_lost"}))
        .at(7000, submitted(paid("4200000000202501010015")));
    v.push(("15-cancel-refused-while-settling", r.finish(10_000)));

    let mut r = online(json!({}), p);
    r.at(1000, json!({"app": {"identify_user": {"face_authtype": "FACEID-ONCE", "auth_mode_jump": false, "ask_unionid": false, "screen_index": ""}}}))
        .at(4000, json!({"sdk": {"user_info": {"id": "$sdk", "status": ok(), "user": {"openid": "oMember01", "nickname": "阿明"}}}}))
        .at(5000, json!({"app": "release"}))
        .at(5400, json!({"sdk": {"released": {"id": "$sdk", "status": ok()}}}));
    v.push(("16-member-lookup-then-release", r.finish(10_000)));

    // A lab terminal that logs raw values.
    let mut r = online(json!({}), Redaction::Raw);
    r.at(1000, order("T17", 100, "1", "13800138000"))
        .at(5000, face_code(FACE_CODE))
        .at(5600, submitted(paid("4200000000202501010017")));
    v.push(("17-raw-logging-lab", r.finish(10_000)));

    // Power came back 20 s after the submit went out with no answer; the journal says
    // Querying. The restarted terminal queries (never submits), finds the payment, and
    // brings the face service up once the order is settled.
    let journal = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: Text::new(Field::OutTradeNo, "T18").unwrap(),
        api: PayApi::Micropay,
        total_fee: 100,
        phase: JournalPhase::Querying,
        elapsed_ms: 12_000,
        queries: 1,
        reverse_attempts: 0,
    };
    let mut r = Rig::resumed(&journal.encode(), 100_000);
    r.at(100_200, start())
        .at(105_100, queried(trade("SUCCESS")))
        .at(105_300, initialised("SUCCESS"));
    v.push(("18-resumed-after-power-loss", r.finish(110_000)));

    // The submit reached WeChat twice (a re-send): the terminal hears the second copy's
    // OUT_TRADE_NO_USED, queries, and the payment the query shows is this order's.
    let this_order = |fee: u32, openid: &str, time_end: &str| {
        json!({"Ok": {"return_code": "SUCCESS", "result_code": "SUCCESS", "trade_state": "SUCCESS",
            "transaction_id": "4200000000202501010019", "total_fee": fee, "openid": openid, "time_end": time_end}})
    };
    let mut r = online(json!({}), p);
    r.at(1000, order("T19", 100, "0", ""))
        .at(5000, face_code("fc-19d2c0"))
        .at(5600, submitted(pay_fail("OUT_TRADE_NO_USED")))
        .at(
            10_700,
            queried(this_order(100, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "20250101120005")),
        );
    v.push(("19-duplicate-decline-then-query-paid", r.finish(20_000)));

    // The out_trade_no belongs to an older order: ORDERPAID, and the query shows that
    // order's SUCCESS with another amount and payer. A person must look.
    let mut r = online(json!({}), p);
    r.at(1000, order("T20", 100, "0", ""))
        .at(5000, face_code("fc-20a7e1"))
        .at(5600, submitted(pay_fail("ORDERPAID")))
        .at(
            10_700,
            queried(this_order(5800, "oUpF8uN95-Ptaags6E_roPHg7AG0", "20241203094512")),
        );
    v.push(("20-collision-with-an-older-order", r.finish(20_000)));

    // A final decline is reversed to close the loop (every order ends SUCCESS, CLOSED or
    // REVOKED), then concluded with the decline.
    let mut r = online(json!({}), p);
    r.at(1000, order("T21", 100, "1", ""))
        .at(5000, face_code(FACE_CODE))
        .at(5600, submitted(pay_fail("NOTENOUGH")));
    r.advance(20_000);
    r.at(20_400, reversed(reverse_ok("N")));
    v.push(("21-declined-then-reversed-to-close-the-loop", r.finish(30_000)));

    // Power came back after reverse attempt 2 was recorded: that reverse may have left,
    // and its answer died with the power. Attempt 3 meets SYSTEMERROR, its query finds
    // the order paid: attempt 2 may still reach WeChat and refund it, so a person must
    // look (PaidWhileReversing), not Paid.
    let journal = JournalRecord {
        version: JOURNAL_VERSION,
        out_trade_no: Text::new(Field::OutTradeNo, "T22").unwrap(),
        api: PayApi::Micropay,
        total_fee: 100,
        phase: JournalPhase::Reversing,
        elapsed_ms: 40_000,
        queries: 6,
        reverse_attempts: 2,
    };
    let reverse_systemerror =
        json!({"Ok": {"return_code": "SUCCESS", "result_code": "FAIL", "err_code": "SYSTEMERROR", "recall": "N"}});
    let mut r = Rig::resumed(&journal.encode(), 100_000);
    r.at(100_200, start())
        .at(104_400, reversed(reverse_systemerror))
        .at(104_600, queried(trade("SUCCESS")))
        .at(104_800, initialised("SUCCESS"));
    v.push(("22-resumed-mid-reverse-then-paid-left-to-a-person", r.finish(110_000)));
    v
}

/// Bad logs, derived from good ones: each must be reported with its line and column.
fn bad_traces(good: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let text = std::str::from_utf8(good).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes();
    let mut v = Vec::new();
    // Power cut mid-line: the last line is incomplete and has no newline.
    let mut cut = join(&lines[..lines.len() - 1]);
    let last = lines[lines.len() - 1];
    cut.extend_from_slice(&last.as_bytes()[..last.len() / 2]);
    v.push(("truncated-power-loss", cut));
    let mut l = lines.clone();
    l[5] = "{\"t\":1000,\"input\":{\"app\":\"cancel\"";
    v.push(("not-json", join(&l)));
    let mut l = lines.clone();
    let replaced = l[3].replacen("\"input\"", "\"inptu\"", 1);
    l[3] = &replaced;
    v.push(("unknown-record-kind", join(&l)));
    let mut l = lines.clone();
    let future = l[0].replacen("\"version\":1", "\"version\":2", 1);
    l[0] = &future;
    v.push(("future-version", join(&l)));
    v.push(("missing-header", join(&lines[1..])));
    let mut l = lines.clone();
    let earlier = l[7].replacen("\"t\":150", "\"t\":50", 1);
    l[7] = &earlier;
    v.push(("out-of-order-times", join(&l)));
    // Today's machine under another policy: the header says the SDK needs the pay-result
    // report, so replay would emit updateWxpayfacePayResult after the log's last line. No
    // record contradicts it: to replay, it is a log cut mid-step.
    let mut l = lines.clone();
    let old_sdk = l[0].replacen("\"minor\":13", "\"minor\":12", 1);
    l[0] = &old_sdk;
    v.push(("policy-changed-ends-mid-step", join(&l)));
    // A recorded command the machine does not emit: a divergence, at its line.
    let mut l = lines.clone();
    let submit = l.iter().position(|l| l.contains("{\"submit\":")).unwrap();
    let changed = l[submit].replacen("\"total_fee\":100", "\"total_fee\":200", 1);
    l[submit] = &changed;
    v.push(("record-contradicts-diverges", join(&l)));
    // Cut at a line boundary in the middle of a step: the submit's journal record is
    // logged, the submit itself is not.
    v.push(("cut-mid-step", join(&lines[..submit])));
    v
}

#[test]
#[ignore = "re-records the corpus; run by hand for new scenarios, then read each file"]
fn record_corpus() {
    let dir = corpus_dir();
    for (name, bytes) in scenarios() {
        let path = dir.join(format!("{name}.jsonl"));
        // A recorded log is a field log: never re-recorded, only new scenarios written.
        if path.exists() {
            continue;
        }
        std::fs::write(path, &bytes).unwrap();
        if name == "01-paid-micropay" {
            for (bad, bytes) in bad_traces(&bytes) {
                std::fs::write(dir.join("bad").join(format!("{bad}.jsonl")), bytes).unwrap();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------

fn report_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    let report = replay_bytes(&bytes, true);
    format!("{}\n{}", report.verdict_text(&name), report.transcript_text())
}

#[test]
fn corpus_replays_exactly() {
    insta::glob!("../traces", "*.jsonl", |path| {
        let bytes = std::fs::read(path).unwrap();
        let report = replay_bytes(&bytes, true);
        assert_eq!(
            report.verdict(),
            Verdict::Exact,
            "{}",
            report.verdict_text(&path.display().to_string())
        );
        insta::assert_snapshot!(report_text(path));
    });
}

#[test]
fn bad_traces_are_reported_with_line_and_column() {
    insta::glob!("../traces/bad", "*.jsonl", |path| {
        let bytes = std::fs::read(path).unwrap();
        let report = replay_bytes(&bytes, false);
        assert_ne!(report.verdict(), Verdict::Exact);
        insta::assert_snapshot!(report.verdict_text(&path.file_name().unwrap().to_string_lossy()));
    });
}

#[test]
fn corpus_has_enough_traces() {
    let n = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "jsonl"))
        .count();
    assert!(n >= 12, "{n} traces");
}

#[test]
fn every_corpus_line_matches_the_schema() {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/trace-format.schema.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            let value: Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}:{}: {errors:?}", path.display(), i + 1);
            checked += 1;
        }
    }
    assert!(checked > 100);
    // And the schema rejects what the reader rejects.
    for bad in [
        json!({"t": 1, "inptu": {"app": "cancel"}}),
        json!({"t": -1, "input": {"app": "cancel"}}),
        json!({"format": "facepay-trace", "version": 2, "library": "x", "policy": {}}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}

#[test]
fn a_recorded_session_replays_exactly_and_a_changed_policy_diverges_at_the_right_line() {
    for (name, bytes) in scenarios() {
        let report = replay_bytes(&bytes, false);
        assert_eq!(
            report.verdict(),
            Verdict::Exact,
            "{name}: {}",
            report.verdict_text(name)
        );
    }
    // Recorded with reverse_attempts 2: the second reverse times out and the order needs
    // reconciliation. Under a header saying 3, replay keeps reversing where the log
    // concluded.
    let (_, good) = scenarios().swap_remove(8);
    let text = String::from_utf8(good).unwrap();
    let changed = text.replacen("\"reverse_attempts\":2", "\"reverse_attempts\":3", 1);
    let report = replay_bytes(changed.as_bytes(), false);
    let d = report.divergence.clone().expect("diverges");
    // The first output of the conclusion is its journal record (written before the notice).
    let concluded = text.lines().position(|l| l.contains("{\"concluded\":")).unwrap() + 1;
    assert_eq!(d.line, concluded, "{report}");
    // The backend-deadline timeout of the second reverse now arms a backoff instead.
    assert!(
        matches!(&d.mismatch, Mismatch::Missing { expected } if matches!(**expected, Command::Persist(_))),
        "{report}"
    );
    assert_eq!(d.state, facepay_fsm::StateId::Reversing, "{report}");
}

#[test]
fn a_failed_journal_write_is_recorded_replays_exactly_and_cannot_be_dropped() {
    let mut r = online(json!({}), Redaction::Placeholders);
    r.s.await_persist_acks();
    r.at(1000, order("T31", 100, "1", ""));
    r.failing_journal = true;
    r.at(5000, face_code(FACE_CODE));
    r.failing_journal = false;
    let bytes = r.finish(10_000);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(r#"{"t":5000,"persisted":"write_failed"}"#), "{text}");
    assert!(!text.contains(r#""submit""#), "the submit never left: {text}");
    assert!(text.contains("journal_unavailable"), "{text}");
    let report = replay_bytes(&bytes, false);
    assert_eq!(report.verdict(), Verdict::Exact, "{report}");
    // The report is an input: without it, replay counts the write as done, the submit
    // comes out, and the log no longer matches.
    let dropped: String = text
        .lines()
        .filter(|l| !l.contains("\"persisted\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let report = replay_bytes(dropped.as_bytes(), false);
    let d = report.divergence.clone().expect("diverges");
    assert!(
        matches!(&d.mismatch, Mismatch::Command { actual, .. } if matches!(**actual, Command::Backend { .. })),
        "{report}"
    );
}

#[test]
fn one_late_handle_timeout_is_recorded_as_one_timeout_per_firing_and_replays_exactly() {
    let mut r = online(json!({}), Redaction::Placeholders);
    r.at(1000, order("T30", 100, "1", ""));
    // The host's timer stalls for an hour: one call, while the scan's deadline and the
    // authinfo refresh are both overdue.
    r.s.handle_timeout(Instant(3_600_000)).unwrap();
    while r.s.poll_command().is_some() {}
    let (_, w, err) = r.s.into_parts();
    assert!(err.is_none());
    let bytes = w.into_inner();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let late: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("{\"t\":3600000,\"timeout\""))
        .collect();
    assert!(late.len() >= 2, "one record per firing: {late:?}");
    let report = replay_bytes(&bytes, false);
    assert_eq!(report.verdict(), Verdict::Exact, "{report}");
}

#[test]
fn redaction_keeps_secrets_out_and_replay_exact() {
    let (_, bytes) = scenarios().swap_remove(1);
    let text = String::from_utf8(bytes.clone()).unwrap();
    for secret in ["RAWDATA-0f3a9c", "AUTHINFO-7d1e55c0", "fc-9b2e7f11a0c4", "13800138000"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    assert!(text.contains("\"redaction\":\"placeholders\""));
    assert_eq!(replay_bytes(&bytes, false).verdict(), Verdict::Exact);
    let raw = std::fs::read_to_string(corpus_dir().join("17-raw-logging-lab.jsonl")).unwrap();
    assert!(raw.contains("13800138000") && raw.contains("\"redaction\":\"raw\""));
}

#[test]
fn nothing_panics_on_garbage() {
    let (_, good) = scenarios().swap_remove(0);
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\n\n\n".to_vec(),
        vec![0xff, 0xfe, b'\n', b'{'],
        b"{\"format\":\"facepay-trace\",\"version\":1}\n".to_vec(),
        b"[1,2,3]\n{\"t\":1}\n".to_vec(),
        good[..good.len() / 3].to_vec(),
        good.iter().map(|b| if *b == b':' { b'=' } else { *b }).collect(),
    ];
    for bytes in inputs {
        let parsed = parse_trace(&bytes);
        let report = replay_bytes(&bytes, true);
        assert!(parsed.error.is_some() || report.verdict() != Verdict::Exact || parsed.header.is_some());
    }
    // Every prefix of a good trace: truncated (or, inside the header, unreadable), never
    // a panic, never "exact", and the complete part replays.
    for cut in (1..good.len()).step_by(97) {
        let report = replay_bytes(&good[..cut], false);
        let e = report.error.as_ref().unwrap_or_else(|| panic!("{cut}: {report}"));
        assert!(
            e.kind.is_cut() || e.kind == LineErrorKind::TruncatedHeader,
            "{cut}: {e}"
        );
        assert!(report.divergence.is_none(), "{cut}: {report}");
    }
}
