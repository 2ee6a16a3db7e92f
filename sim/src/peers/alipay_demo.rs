//! The Alipay 当面付 (face-to-face) demo, `AlipayTradeServiceImpl.tradePay` over
//! `AbsAlipayTradeService` (Chaoswyhh/alipay-trade-sdk, `…/service/impl/`; settings from
//! `zfbinfo.properties`: `max_query_retry=5`, `query_duration=5000`, `max_cancel_retry=3`,
//! `cancel_duration=2000`; docs/protocol.md §closed-loop). Vendors port it to WeChat Pay; so does this module.
//!
//! What the code does:
//!
//! - `trade.pay`. Code 10000 → SUCCESS. 10003 (PAYING) → `loopQueryResult`: 5 times,
//!   `sleep(5000)` *then* query; stop on TRADE_SUCCESS, TRADE_FINISHED or TRADE_CLOSED;
//!   keep the last non-null answer. A null answer or 20000 (`tradeError`) → query **once,
//!   at once**. Anything else → FAILED.
//! - `checkQueryAndCancel`: TRADE_SUCCESS/FINISHED → SUCCESS; otherwise cancel at once
//!   (no 15 s wait), synchronously. If that first cancel is null or 20000 → UNKNOWN; else
//!   FAILED — "如果撤销未能成功，产生的单边帐由人工处理" — whether the cancel worked or not.
//! - `cancelPayResult`: a cancel that is not 10000 and needs a retry (`response == null ||
//!   retry_flag == "Y"`) starts `asyncCancel` on a thread pool: up to 3 more cancels,
//!   `sleep(2000)` before each, stopping on 10000 or when no retry is asked for. The
//!   verdict has already been returned by then.
//!
//! How WeChat answers map onto Alipay codes (the port a vendor writes):
//!
//! | WeChat answer | Alipay |
//! |---|---|
//! | no answer in the client's **15 s** read timeout (`DefaultAlipayClient`), or `return_code=FAIL` | null |
//! | pay: SUCCESS/SUCCESS · USERPAYING · SYSTEMERROR, BANKERROR · other err_code | 10000 · 10003 · 20000 · 40004 |
//! | query: trade_state SUCCESS · CLOSED, REVOKED, PAYERROR, REFUND · NOTPAY, USERPAYING, ACCEPT | TRADE_SUCCESS · TRADE_CLOSED · WAIT_BUYER_PAY |
//! | query: SYSTEMERROR · ORDERNOTEXIST | 20000 · 40004 |
//! | reverse: SUCCESS and recall=N · recall=Y · SYSTEMERROR · other err_code | 10000 · 40004 with retry_flag=Y · 20000 · 40004 |
//!
//! Verdicts: SUCCESS → `Paid`; FAILED after a 10000 cancel → `Reversed`; FAILED otherwise
//! → `NotPaid`; UNKNOWN → `NeedsReconciliation` (the demo prints "系统异常，订单状态未知").

use facepay_fsm::codes::{PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseErrCode, TradeState};
use facepay_fsm::{
    BackendEvent, Instant, Outcome, PayAnswer, QueryAnswer, Reason, RequestId, ReverseAnswer, TransactionId,
    TransportError,
};

use super::{PeerLoop, PeerOut, Slot, SubmitOrder, after};

/// `DefaultAlipayClient` read timeout, ms.
pub const READ_TIMEOUT_MS: u64 = 15_000;
/// `max_query_retry`.
pub const MAX_QUERY_RETRY: u8 = 5;
/// `query_duration`, ms.
pub const QUERY_DURATION_MS: u64 = 5_000;
/// `max_cancel_retry`.
pub const MAX_CANCEL_RETRY: u8 = 3;
/// `cancel_duration`, ms.
pub const CANCEL_DURATION_MS: u64 = 2_000;

/// An Alipay response code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    /// 10000.
    Success,
    /// 10003.
    Paying,
    /// 20000.
    Error,
    /// 40004.
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TradeStatus {
    Success,
    Closed,
    WaitBuyerPay,
}

fn pay_code(answer: &Result<PayAnswer, TransportError>) -> Option<Code> {
    let a = answer.as_ref().ok().filter(|a| a.return_code == ReturnCode::Success)?;
    Some(match (&a.result_code, &a.err_code) {
        (Some(ResultCode::Success), _) => Code::Success,
        (_, Some(PayErrCode::UserPaying)) => Code::Paying,
        (_, Some(PayErrCode::SystemError | PayErrCode::BankError) | None) => Code::Error,
        _ => Code::Failed,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Query {
    code: Code,
    status: Option<TradeStatus>,
    transaction_id: TransactionId,
}

fn query_response(answer: &Result<QueryAnswer, TransportError>) -> Option<Query> {
    let a = answer.as_ref().ok().filter(|a| a.return_code == ReturnCode::Success)?;
    let (code, status) = match (&a.result_code, &a.trade_state) {
        (Some(ResultCode::Success), Some(s)) => (
            Code::Success,
            Some(match s {
                TradeState::Success => TradeStatus::Success,
                TradeState::Closed | TradeState::Revoked | TradeState::PayError | TradeState::Refund => {
                    TradeStatus::Closed
                }
                _ => TradeStatus::WaitBuyerPay,
            }),
        ),
        _ => match &a.err_code {
            Some(QueryErrCode::SystemError) | None => (Code::Error, None),
            Some(_) => (Code::Failed, None),
        },
    };
    Some(Query {
        code,
        status,
        transaction_id: a.transaction_id.clone(),
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cancel {
    code: Code,
    retry_flag: bool,
    err: Option<ReverseErrCode>,
}

fn cancel_response(answer: &Result<ReverseAnswer, TransportError>) -> Option<Cancel> {
    let a = answer.as_ref().ok().filter(|a| a.return_code == ReturnCode::Success)?;
    let code = if a.recall == Some(Recall::Y) {
        Code::Failed
    } else if a.result_code == Some(ResultCode::Success) {
        Code::Success
    } else if a.err_code == Some(ReverseErrCode::SystemError) {
        Code::Error
    } else {
        Code::Failed
    };
    Some(Cancel {
        code,
        retry_flag: a.recall == Some(Recall::Y),
        err: a.err_code.clone(),
    })
}

/// `cancelSuccess`.
fn cancel_success(c: &Option<Cancel>) -> bool {
    c.as_ref().is_some_and(|c| c.code == Code::Success)
}

/// `needRetry`.
fn need_retry(c: &Option<Cancel>) -> bool {
    c.as_ref().is_none_or(|c| c.retry_flag)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    #[default]
    Paying,
    /// `loopQueryResult`, round `i` (0-based).
    LoopQuery {
        i: u8,
    },
    /// The single query after a system error.
    QueryOnce,
    /// The synchronous cancel.
    Cancel,
    /// `asyncCancel`, retry `i` (0-based).
    AsyncCancel {
        i: u8,
    },
    Done,
}

/// One order under the demo's `tradePay`.
#[derive(Debug, Default)]
pub struct AlipayDemo {
    order: Option<SubmitOrder>,
    phase: Phase,
    slot: Slot,
    last_query: Option<Query>,
}

impl AlipayDemo {
    fn http(&mut self, now: Instant, id: RequestId) {
        self.slot = Slot::Http {
            id,
            deadline: after(now, READ_TIMEOUT_MS),
        };
    }

    fn query(&mut self, now: Instant, out: &mut PeerOut) {
        let Some(order) = &self.order else { return };
        let id = out.send(order.query());
        self.http(now, id);
    }

    fn cancel(&mut self, now: Instant, attempt: u8, out: &mut PeerOut) {
        let Some(order) = &self.order else { return };
        let id = out.send(order.reverse(attempt));
        self.http(now, id);
    }

    /// `checkQueryAndCancel`.
    fn check_query_and_cancel(&mut self, now: Instant, q: Option<Query>, out: &mut PeerOut) {
        if let Some(q) = q.filter(|q| q.code == Code::Success && q.status == Some(TradeStatus::Success)) {
            out.note(|| "checkQueryAndCancel: querySuccess → SUCCESS".to_string());
            self.phase = Phase::Done;
            self.slot = Slot::Idle;
            return out.conclude(Outcome::Paid, Reason::TradeState(TradeState::Success), q.transaction_id);
        }
        out.note(|| "checkQueryAndCancel: not TRADE_SUCCESS → cancel at once".to_string());
        self.phase = Phase::Cancel;
        self.cancel(now, 1, out);
    }

    /// A query of `loopQueryResult` answered (`None`: null).
    fn looped(&mut self, now: Instant, i: u8, q: Option<Query>, out: &mut PeerOut) {
        if let Some(q) = q {
            let stop = q.code == Code::Success && q.status != Some(TradeStatus::WaitBuyerPay) && q.status.is_some();
            if stop {
                out.note(|| format!("loopQueryResult #{}: stopQuery ({:?}) → return it", i + 1, q.status));
                return self.check_query_and_cancel(now, Some(q), out);
            }
            self.last_query = Some(q);
        }
        if i + 1 < MAX_QUERY_RETRY {
            out.note(|| format!("loopQueryResult #{}: keep polling, sleep(5000)", i + 1));
            self.phase = Phase::LoopQuery { i: i + 1 };
            self.slot = Slot::Sleep(after(now, QUERY_DURATION_MS));
        } else {
            out.note(|| "loopQueryResult: 5 queries done → the last non-null answer".to_string());
            let last = self.last_query.take();
            self.check_query_and_cancel(now, last, out);
        }
    }

    /// The synchronous cancel answered.
    fn cancelled(&mut self, now: Instant, c: Option<Cancel>, out: &mut PeerOut) {
        let success = cancel_success(&c);
        let retry = !success && need_retry(&c);
        let error = c.as_ref().is_none_or(|c| c.code == Code::Error);
        if retry {
            out.note(|| "cancelPayResult: needRetry → asyncCancel (3 × 2 s, in the background)".to_string());
            self.phase = Phase::AsyncCancel { i: 0 };
            self.slot = Slot::Sleep(after(now, CANCEL_DURATION_MS));
        } else {
            self.phase = Phase::Done;
            self.slot = Slot::Idle;
        }
        if success {
            out.note(|| "first cancel 10000 → FAILED (cancelled)".to_string());
            out.conclude(Outcome::Reversed, Reason::ReverseConfirmed, TransactionId::empty());
        } else if error {
            out.note(|| "first cancel null/20000 → UNKNOWN".to_string());
            out.conclude(
                Outcome::NeedsReconciliation,
                Reason::ReverseBudgetExhausted,
                TransactionId::empty(),
            );
        } else {
            out.note(|| "first cancel not 10000 → FAILED (单边帐由人工处理)".to_string());
            match c.and_then(|c| c.err) {
                Some(code) => out.conclude(Outcome::NotPaid, Reason::ReverseRefused(code), TransactionId::empty()),
                None => out.conclude_unpaid("ALIPAY_FAILED"),
            }
        }
    }

    /// One cancel of `asyncCancel` answered.
    fn async_cancelled(&mut self, now: Instant, i: u8, c: Option<Cancel>, out: &mut PeerOut) {
        if cancel_success(&c) || !need_retry(&c) {
            out.note(|| format!("asyncCancel #{}: success or no retry → return", i + 1));
            self.phase = Phase::Done;
            self.slot = Slot::Idle;
        } else if i + 1 < MAX_CANCEL_RETRY {
            out.note(|| format!("asyncCancel #{}: retry, sleep(2000)", i + 1));
            self.phase = Phase::AsyncCancel { i: i + 1 };
            self.slot = Slot::Sleep(after(now, CANCEL_DURATION_MS));
        } else {
            out.note(|| "asyncCancel: 3 retries done → give up".to_string());
            self.phase = Phase::Done;
            self.slot = Slot::Idle;
        }
    }

    /// The HTTP call in flight got `event` (`None`: the read timeout).
    fn http_done(&mut self, now: Instant, event: Option<&BackendEvent>, out: &mut PeerOut) {
        self.slot = Slot::Idle;
        match self.phase {
            Phase::Paying => {
                let code = match event {
                    Some(BackendEvent::Submitted { answer, .. }) => pay_code(answer),
                    _ => None,
                };
                match code {
                    Some(Code::Success) => {
                        out.note(|| "trade.pay 10000 → SUCCESS".to_string());
                        self.phase = Phase::Done;
                        let txn = match event {
                            Some(BackendEvent::Submitted { answer: Ok(a), .. }) => a.transaction_id.clone(),
                            _ => TransactionId::empty(),
                        };
                        out.conclude(Outcome::Paid, Reason::SubmitSucceeded, txn);
                    }
                    Some(Code::Paying) => {
                        out.note(|| "trade.pay 10003 PAYING → loopQueryResult: sleep(5000)".to_string());
                        self.phase = Phase::LoopQuery { i: 0 };
                        self.slot = Slot::Sleep(after(now, QUERY_DURATION_MS));
                    }
                    Some(Code::Error) | None => {
                        out.note(|| "trade.pay null/20000 → tradeError: query once, at once".to_string());
                        self.phase = Phase::QueryOnce;
                        self.query(now, out);
                    }
                    Some(Code::Failed) => {
                        out.note(|| "trade.pay 40004 → FAILED".to_string());
                        self.phase = Phase::Done;
                        let code = match event {
                            Some(BackendEvent::Submitted { answer: Ok(a), .. }) => a.err_code.clone(),
                            _ => None,
                        };
                        let code = code.unwrap_or(PayErrCode::SystemError);
                        out.conclude(Outcome::NotPaid, Reason::Declined(code), TransactionId::empty());
                    }
                }
            }
            Phase::LoopQuery { i } => {
                let q = match event {
                    Some(BackendEvent::Queried { answer, .. }) => query_response(answer),
                    _ => None,
                };
                self.looped(now, i, q, out);
            }
            Phase::QueryOnce => {
                let q = match event {
                    Some(BackendEvent::Queried { answer, .. }) => query_response(answer),
                    _ => None,
                };
                self.check_query_and_cancel(now, q, out);
            }
            Phase::Cancel => {
                let c = match event {
                    Some(BackendEvent::Reversed { answer, .. }) => cancel_response(answer),
                    _ => None,
                };
                self.cancelled(now, c, out);
            }
            Phase::AsyncCancel { i } => {
                let c = match event {
                    Some(BackendEvent::Reversed { answer, .. }) => cancel_response(answer),
                    _ => None,
                };
                self.async_cancelled(now, i, c, out);
            }
            Phase::Done => {}
        }
    }
}

impl PeerLoop for AlipayDemo {
    fn start(&mut self, now: Instant, order: &SubmitOrder, out: &mut PeerOut) {
        self.order = Some(order.clone());
        self.http(now, order.id);
        out.note(|| "trade.pay (15 s read timeout)".to_string());
    }

    fn awaits(&self, id: RequestId) -> bool {
        self.slot.awaits(id)
    }

    fn answer(&mut self, now: Instant, event: &BackendEvent, out: &mut PeerOut) {
        self.http_done(now, Some(event), out);
    }

    fn timer(&mut self, now: Instant, out: &mut PeerOut) {
        match self.slot {
            Slot::Http { .. } => {
                out.note(|| "read timeout → null".to_string());
                self.http_done(now, None, out);
            }
            Slot::Sleep(_) => {
                self.slot = Slot::Idle;
                match self.phase {
                    Phase::LoopQuery { .. } => self.query(now, out),
                    Phase::AsyncCancel { i } => self.cancel(now, i + 2, out),
                    _ => {}
                }
            }
            Slot::Idle => {}
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.slot.at()
    }
}
