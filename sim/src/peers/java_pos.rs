//! The official WeChat Pay Java SDK, `WXPay.microPayWithPos` (java_sdk v3.0.9,
//! `src/main/java/com/github/wxpay/sdk/WXPay.java`; docs/protocol.md §timings): "提交刷卡支付，针对软POS，
//! 尽可能做成功 / 内置重试机制，最多60s".
//!
//! What the code does, and what this module does with it:
//!
//! - `remainingTimeMs = 60*1000`. Each turn: `startTimestampMs = now`,
//!   `readTimeoutMs = remainingTimeMs - connectTimeoutMs` (the config's connect timeout,
//!   **6 s** by default), and only if `readTimeoutMs > 1000` a `microPay(reqData, …)` —
//!   **the same request again**: same out_trade_no, same auth_code / face_code, a fresh
//!   nonce and signature. Otherwise `break`.
//! - `return_code != SUCCESS` → `break`. `result_code == SUCCESS` → `break` (paid).
//! - `err_code` SYSTEMERROR, BANKERROR or USERPAYING: `remainingTimeMs -= now -
//!   startTimestampMs` (only the HTTP call's own time is charged: the sleeps are not), then
//!   `<= 100` → `break`, else `Thread.sleep(5*1000)` (**1 s** if `remainingTimeMs <= 5000`)
//!   and submit again. Any other err_code → `break`.
//! - An exception (timeout, connection error; also a FAIL result_code without an
//!   err_code, a `NullPointerException` on `errCode.equals`) → `lastResult = null` and
//!   **straight round again, with `remainingTimeMs` unchanged**: no sleep and no budget
//!   spent, so a run of lost answers re-submits for as long as it lasts.
//! - No query and no reverse anywhere. The method returns the last answer; if that is
//!   null it throws the last exception.
//!
//! Verdicts: the method leaves the decision to its caller; the caller here reads
//! `result_code == SUCCESS` as paid (`Paid`) and anything else — USERPAYING when the 60 s
//! of HTTP time ran out, ORDERPAID, ORDERCLOSED, a FAIL return_code — as not paid
//! (`NotPaid`), as does an exception (see [`super`]).

use facepay_fsm::codes::{PayErrCode, ResultCode, ReturnCode};
use facepay_fsm::{BackendEvent, Instant, Outcome, PayAnswer, Reason, RequestId, TransactionId};

use super::{PeerLoop, PeerOut, Slot, SubmitOrder, after};

/// `int remainingTimeMs = 60*1000;`
pub const BUDGET_MS: i64 = 60_000;
/// `WXPayConfig.getHttpConnectTimeoutMs()` default, ms.
pub const CONNECT_TIMEOUT_MS: i64 = 6_000;
/// `Thread.sleep(5*1000)` between submits.
pub const RETRY_SLEEP_MS: u64 = 5_000;
/// `Thread.sleep(1*1000)` when `remainingTimeMs <= 5*1000`.
pub const LAST_RETRY_SLEEP_MS: u64 = 1_000;

/// One order under `microPayWithPos`.
#[derive(Debug, Default)]
pub struct JavaPos {
    order: Option<SubmitOrder>,
    remaining_ms: i64,
    turn_started: Instant,
    last: Option<PayAnswer>,
    submits: u32,
    slot: Slot,
    done: bool,
}

impl JavaPos {
    /// One turn of `while (true)`.
    fn turn(&mut self, now: Instant, out: &mut PeerOut) {
        self.turn_started = now;
        let read_timeout = self.remaining_ms - CONNECT_TIMEOUT_MS;
        if read_timeout <= 1_000 {
            out.note(|| format!("readTimeoutMs {read_timeout} <= 1000 → break"));
            return self.finish(out);
        }
        let Some(order) = &self.order else { return };
        let id = out.send(order.submit());
        self.submits += 1;
        let n = self.submits;
        out.note(|| format!("microPay #{n} (same request), readTimeoutMs {read_timeout}"));
        self.slot = Slot::Http {
            id,
            deadline: after(now, read_timeout as u64),
        };
    }

    fn exception(&mut self, now: Instant, out: &mut PeerOut, what: &str) {
        self.last = None;
        let remaining = self.remaining_ms;
        out.note(|| format!("{what} → catch: lastResult = null, again at once (remainingTimeMs {remaining})"));
        self.turn(now, out);
    }

    fn finish(&mut self, out: &mut PeerOut) {
        self.done = true;
        self.slot = Slot::Idle;
        match &self.last {
            Some(a) if a.return_code == ReturnCode::Success && a.result_code == Some(ResultCode::Success) => {
                out.note(|| "return lastResult: result_code SUCCESS → paid".to_string());
                out.conclude(Outcome::Paid, Reason::SubmitSucceeded, a.transaction_id.clone());
            }
            Some(a) => {
                let code = a.err_code.clone().unwrap_or(PayErrCode::SystemError);
                out.note(|| format!("return lastResult ({}) → the caller: not paid", code.as_str()));
                out.conclude(Outcome::NotPaid, Reason::Declined(code), TransactionId::empty());
            }
            None => {
                out.note(|| "throw lastException → not paid".to_string());
                out.conclude_unpaid("JAVA_EXCEPTION");
            }
        }
    }
}

impl PeerLoop for JavaPos {
    fn start(&mut self, now: Instant, order: &SubmitOrder, out: &mut PeerOut) {
        self.order = Some(order.clone());
        self.remaining_ms = BUDGET_MS;
        self.turn_started = now;
        self.submits = 1;
        let read_timeout = BUDGET_MS - CONNECT_TIMEOUT_MS;
        out.note(|| format!("microPay #1, readTimeoutMs {read_timeout}"));
        self.slot = Slot::Http {
            id: order.id,
            deadline: after(now, read_timeout as u64),
        };
    }

    fn awaits(&self, id: RequestId) -> bool {
        self.slot.awaits(id)
    }

    fn answer(&mut self, now: Instant, event: &BackendEvent, out: &mut PeerOut) {
        self.slot = Slot::Idle;
        let BackendEvent::Submitted { answer, .. } = event else {
            return;
        };
        let a = match answer {
            Ok(a) => a,
            Err(_) => return self.exception(now, out, "IOException"),
        };
        if a.return_code != ReturnCode::Success {
            self.last = Some(a.clone());
            out.note(|| "return_code != SUCCESS → break".to_string());
            return self.finish(out);
        }
        let (Some(result), Some(err)) = (&a.result_code, &a.err_code) else {
            if a.result_code == Some(ResultCode::Success) {
                self.last = Some(a.clone());
                out.note(|| "result_code SUCCESS → break".to_string());
                return self.finish(out);
            }
            return self.exception(now, out, "NullPointerException (no err_code)");
        };
        self.last = Some(a.clone());
        if *result == ResultCode::Success {
            out.note(|| "result_code SUCCESS → break".to_string());
            return self.finish(out);
        }
        if matches!(
            err,
            PayErrCode::SystemError | PayErrCode::BankError | PayErrCode::UserPaying
        ) {
            let spent = now.0.saturating_sub(self.turn_started.0) as i64;
            self.remaining_ms -= spent;
            let remaining = self.remaining_ms;
            if remaining <= 100 {
                out.note(|| format!("{}: remainingTimeMs {remaining} <= 100 → break", err.as_str()));
                return self.finish(out);
            }
            let sleep = if remaining > 5_000 {
                RETRY_SLEEP_MS
            } else {
                LAST_RETRY_SLEEP_MS
            };
            out.note(|| {
                format!(
                    "{}: remainingTimeMs -= {spent} → {remaining}; sleep {} s, submit again",
                    err.as_str(),
                    sleep / 1000
                )
            });
            self.slot = Slot::Sleep(after(now, sleep));
        } else {
            out.note(|| format!("{} → break", err.as_str()));
            self.finish(out);
        }
    }

    fn timer(&mut self, now: Instant, out: &mut PeerOut) {
        match self.slot {
            Slot::Http { .. } => {
                self.slot = Slot::Idle;
                self.exception(now, out, "SocketTimeoutException");
            }
            Slot::Sleep(_) => {
                self.slot = Slot::Idle;
                self.turn(now, out);
            }
            Slot::Idle => {}
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        if self.done { None } else { self.slot.at() }
    }
}
