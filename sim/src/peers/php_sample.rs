//! The official WeChat Pay PHP sample, `MicroPay::pay()` in `example/WxPay.MicroPay.php`
//! (the copy in CallMeNP/wxpayapi_php, docs/protocol.md §timings, §pitfalls), with `lib/WxPay.Api.php` under it.
//!
//! Its header: "根据返回结果决定是否需要查询订单，如果查询之后订单还未变则需要返回查询
//! （一般反复查10次）… 撤销订单需要循环撤销，一直撤销成功为止（注意循环次数，建议10次）".
//! What the code does, step by step, and what this module does with it:
//!
//! 1. `WxPayApi::micropay($microPayInput, 5)`: a **5 s** curl timeout. A curl error or
//!    timeout throws `WxPayException("curl出错…")`; an answer without `result_code` (every
//!    `return_code=FAIL`) throws "接口调用失败！". Either way `pay()` throws, with no query
//!    and no reverse.
//! 2. `return_code == SUCCESS && result_code == FAIL && err_code != USERPAYING &&
//!    err_code != SYSTEMERROR` → `return false` (failed). **BANKERROR**, which the API
//!    table calls unknown, is taken as failed here.
//! 3. `$queryTimes = 10; while ($queryTimes > 0)`: query at once (`orderQuery`, **6 s**
//!    timeout, a curl error throws out of `pay()`). `query()` gives 1 for trade_state
//!    SUCCESS, 0 for err_code ORDERNOTEXIST, and 2 for *everything else* — USERPAYING,
//!    SYSTEMERROR, and also NOTPAY, PAYERROR, CLOSED, REVOKED, REFUND, which fall through
//!    to the "如果是系统错误，则后续继续" branch. On 2: `sleep(2); continue;` — and in this
//!    copy `$queryTimes--` sits after the `continue`, so it is never reached: the loop
//!    polls every 2 s **until the trade is SUCCESS or does not exist**, with no end for an
//!    order that failed or was abandoned. 1 → return the result (paid). 0 → `break`.
//! 4. `cancel()`: reverse at once (no 15 s wait; **6 s** timeout, a curl error throws).
//!    `return_code != SUCCESS` → false. The success test reads `result_code != "SUCCESS"
//!    && recall == "N"` → true; so a *refused* reverse (SYSTEMERROR, USERPAYING,
//!    REVERSE_EXPIRE, all recall=N) counts as reversed, and a real one (SUCCESS, N) counts
//!    as failed. `recall == "Y"` → recurse at once, `depth > 10` → false (11 calls at most).
//!    `cancel()` false → throw "撤销单失败！"; true → `return false`.
//!
//! Verdicts: the query result → `Paid`; `false` after the decline of step 2 → `NotPaid`;
//! `false` after `cancel()` said true → `Reversed` (what the sample believes); an
//! exception → `NotPaid` (an error page at the till, see [`super`]).

use facepay_fsm::codes::{PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, TradeState};
use facepay_fsm::{BackendEvent, Instant, Outcome, Reason, RequestId, TransactionId};

use super::{PeerLoop, PeerOut, Slot, SubmitOrder, after};

/// `WxPayApi::micropay($microPayInput, 5)`: curl timeout of the submit, ms.
pub const SUBMIT_TIMEOUT_MS: u64 = 5_000;
/// `orderQuery($inputObj, $timeOut = 6)`, ms.
pub const QUERY_TIMEOUT_MS: u64 = 6_000;
/// `reverse($inputObj, $timeOut = 6)`, ms.
pub const REVERSE_TIMEOUT_MS: u64 = 6_000;
/// `sleep(2)` between queries, ms.
pub const QUERY_SLEEP_MS: u64 = 2_000;
/// `$queryTimes = 10` (never decremented in this copy).
pub const QUERY_TIMES: u32 = 10;
/// `if($depth > 10) return false;`
pub const CANCEL_MAX_DEPTH: u8 = 10;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    #[default]
    Submitting,
    Querying,
    Cancelling {
        depth: u8,
    },
    Done,
}

/// One order under the PHP sample's `pay()`.
#[derive(Debug, Default)]
pub struct PhpSample {
    order: Option<SubmitOrder>,
    phase: Phase,
    slot: Slot,
    /// `$queryTimes`: stays 10.
    query_times: u32,
}

impl PhpSample {
    fn query(&mut self, now: Instant, out: &mut PeerOut) {
        let Some(order) = &self.order else { return };
        let id = out.send(order.query());
        self.phase = Phase::Querying;
        self.slot = Slot::Http {
            id,
            deadline: after(now, QUERY_TIMEOUT_MS),
        };
    }

    fn cancel(&mut self, now: Instant, depth: u8, out: &mut PeerOut) {
        if depth > CANCEL_MAX_DEPTH {
            out.note(|| format!("cancel(depth {depth}): depth > 10 → false → throw 撤销单失败！"));
            self.throw(out);
            return;
        }
        let Some(order) = &self.order else { return };
        let id = out.send(order.reverse(depth.saturating_add(1)));
        self.phase = Phase::Cancelling { depth };
        self.slot = Slot::Http {
            id,
            deadline: after(now, REVERSE_TIMEOUT_MS),
        };
    }

    fn throw(&mut self, out: &mut PeerOut) {
        self.phase = Phase::Done;
        self.slot = Slot::Idle;
        out.conclude_unpaid("PHP_EXCEPTION");
    }

    fn done(&mut self, out: &mut PeerOut, outcome: Outcome, reason: Reason, txn: TransactionId) {
        self.phase = Phase::Done;
        self.slot = Slot::Idle;
        out.conclude(outcome, reason, txn);
    }
}

impl PeerLoop for PhpSample {
    fn start(&mut self, now: Instant, order: &SubmitOrder, out: &mut PeerOut) {
        self.order = Some(order.clone());
        self.query_times = QUERY_TIMES;
        self.slot = Slot::Http {
            id: order.id,
            deadline: after(now, SUBMIT_TIMEOUT_MS),
        };
        out.note(|| "micropay($microPayInput, 5): 5 s curl timeout".to_string());
    }

    fn awaits(&self, id: RequestId) -> bool {
        self.slot.awaits(id)
    }

    fn answer(&mut self, now: Instant, event: &BackendEvent, out: &mut PeerOut) {
        self.slot = Slot::Idle;
        match (self.phase, event) {
            (Phase::Submitting, BackendEvent::Submitted { answer, .. }) => {
                let Ok(a) = answer else {
                    out.note(|| "curl error → throw WxPayException".to_string());
                    return self.throw(out);
                };
                if a.result_code.is_none() {
                    out.note(|| "no result_code → throw 接口调用失败！".to_string());
                    return self.throw(out);
                }
                let fail = a.return_code == ReturnCode::Success && a.result_code == Some(ResultCode::Fail);
                let wait = matches!(a.err_code, Some(PayErrCode::UserPaying | PayErrCode::SystemError));
                if fail && !wait {
                    out.note(|| "②: result_code FAIL, err_code not USERPAYING/SYSTEMERROR → return false".to_string());
                    let code = a.err_code.clone().unwrap_or(PayErrCode::SystemError);
                    return self.done(out, Outcome::NotPaid, Reason::Declined(code), TransactionId::empty());
                }
                out.note(|| "③: $queryTimes = 10; query at once".to_string());
                self.query(now, out);
            }
            (Phase::Querying, BackendEvent::Queried { answer, .. }) => {
                let Ok(a) = answer else {
                    out.note(|| "orderQuery: curl error → throw out of pay()".to_string());
                    return self.throw(out);
                };
                let ok = a.return_code == ReturnCode::Success && a.result_code == Some(ResultCode::Success);
                if ok && a.trade_state == Some(TradeState::Success) {
                    out.note(|| "query(): trade_state SUCCESS → succCode 1 → return the result".to_string());
                    let reason = Reason::TradeState(TradeState::Success);
                    return self.done(out, Outcome::Paid, reason, a.transaction_id.clone());
                }
                if !(ok && a.trade_state == Some(TradeState::UserPaying))
                    && a.err_code == Some(QueryErrCode::OrderNotExist)
                {
                    out.note(|| "query(): ORDERNOTEXIST → succCode 0 → break → cancel()".to_string());
                    return self.cancel(now, 0, out);
                }
                let times = self.query_times;
                out.note(|| format!("query(): succCode 2 → sleep(2); continue ($queryTimes still {times})"));
                self.slot = Slot::Sleep(after(now, QUERY_SLEEP_MS));
            }
            (Phase::Cancelling { depth }, BackendEvent::Reversed { answer, .. }) => {
                let Ok(a) = answer else {
                    out.note(|| "reverse: curl error → throw out of pay()".to_string());
                    return self.throw(out);
                };
                if a.return_code != ReturnCode::Success {
                    out.note(|| "cancel(): return_code != SUCCESS → false → throw 撤销单失败！".to_string());
                    return self.throw(out);
                }
                if a.result_code != Some(ResultCode::Success) && a.recall == Some(Recall::N) {
                    out.note(|| "cancel(): result_code != SUCCESS && recall == N → true → return false".to_string());
                    return self.done(out, Outcome::Reversed, Reason::ReverseConfirmed, TransactionId::empty());
                }
                if a.recall == Some(Recall::Y) {
                    out.note(|| format!("cancel(): recall == Y → cancel(depth {})", depth + 1));
                    return self.cancel(now, depth + 1, out);
                }
                out.note(|| "cancel(): neither branch → false → throw 撤销单失败！".to_string());
                self.throw(out);
            }
            _ => {}
        }
    }

    fn timer(&mut self, now: Instant, out: &mut PeerOut) {
        match self.slot {
            Slot::Http { .. } => {
                self.slot = Slot::Idle;
                out.note(|| "curl timeout → throw WxPayException out of pay()".to_string());
                self.throw(out);
            }
            Slot::Sleep(_) => self.query(now, out),
            Slot::Idle => {}
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.slot.at()
    }
}
