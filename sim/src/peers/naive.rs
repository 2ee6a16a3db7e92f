//! The loop many terminals ship: after an ambiguous submit answer (USERPAYING,
//! SYSTEMERROR, BANKERROR, a FAIL return_code, or no answer), wait **5 s**, query **once**,
//! and if that query does not say SUCCESS, tell the cashier the payment failed. No
//! reverse. (The shape of the demo controllers docs/protocol.md §pitfalls lists — "the loop tests the wrong
//! map (one query)" — with the 5 s wait of the official SYSTEMERROR advice, docs/protocol.md §micropay.)
//!
//! Its HTTP timeout is facepay's default backend deadline, **10 s**, so it loses nothing
//! to a shorter fuse than facepay's.

use facepay_fsm::codes::{PayClass, TradeState};
use facepay_fsm::{BackendEvent, Instant, Outcome, Reason, RequestId, TransactionId};

use super::{PeerLoop, PeerOut, Slot, SubmitOrder, after};

/// The HTTP timeout of every call, ms.
pub const HTTP_TIMEOUT_MS: u64 = 10_000;
/// The wait before the one query, ms.
pub const QUERY_AFTER_MS: u64 = 5_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    #[default]
    Paying,
    Waiting,
    Querying,
    Done,
}

/// One order under the naive loop.
#[derive(Debug, Default)]
pub struct Naive {
    order: Option<SubmitOrder>,
    phase: Phase,
    slot: Slot,
}

impl Naive {
    fn wait(&mut self, now: Instant, out: &mut PeerOut, why: &str) {
        out.note(|| format!("{why} → wait 5 s, then one query"));
        self.phase = Phase::Waiting;
        self.slot = Slot::Sleep(after(now, QUERY_AFTER_MS));
    }

    fn done(&mut self) {
        self.phase = Phase::Done;
        self.slot = Slot::Idle;
    }
}

impl PeerLoop for Naive {
    fn start(&mut self, now: Instant, order: &SubmitOrder, _out: &mut PeerOut) {
        self.order = Some(order.clone());
        self.slot = Slot::Http {
            id: order.id,
            deadline: after(now, HTTP_TIMEOUT_MS),
        };
    }

    fn awaits(&self, id: RequestId) -> bool {
        self.slot.awaits(id)
    }

    fn answer(&mut self, now: Instant, event: &BackendEvent, out: &mut PeerOut) {
        self.slot = Slot::Idle;
        match (self.phase, event) {
            (Phase::Paying, BackendEvent::Submitted { answer, .. }) => match answer {
                Ok(a) => match (a.class(), &a.err_code) {
                    (PayClass::Paid, _) => {
                        self.done();
                        out.note(|| "SUCCESS → paid".to_string());
                        out.conclude(Outcome::Paid, Reason::SubmitSucceeded, a.transaction_id.clone());
                    }
                    (PayClass::Declined, Some(code)) => {
                        self.done();
                        out.note(|| format!("{} → failed", code.as_str()));
                        out.conclude(Outcome::NotPaid, Reason::Declined(code.clone()), TransactionId::empty());
                    }
                    _ => self.wait(now, out, "ambiguous answer"),
                },
                Err(_) => self.wait(now, out, "no answer"),
            },
            (Phase::Querying, BackendEvent::Queried { answer, .. }) => {
                self.done();
                match answer {
                    Ok(a) if a.trade_state == Some(TradeState::Success) => {
                        out.note(|| "query SUCCESS → paid".to_string());
                        let reason = Reason::TradeState(TradeState::Success);
                        out.conclude(Outcome::Paid, reason, a.transaction_id.clone());
                    }
                    Ok(a) => {
                        let state = a.trade_state.clone();
                        out.note(|| format!("query {state:?} → give up: failed"));
                        match state {
                            Some(s) => out.conclude(Outcome::NotPaid, Reason::TradeState(s), TransactionId::empty()),
                            None => out.conclude_unpaid("NAIVE_GAVE_UP"),
                        }
                    }
                    Err(_) => {
                        out.note(|| "query failed → give up: failed".to_string());
                        out.conclude_unpaid("NAIVE_GAVE_UP");
                    }
                }
            }
            _ => {}
        }
    }

    fn timer(&mut self, now: Instant, out: &mut PeerOut) {
        match (self.phase, self.slot) {
            (Phase::Paying, Slot::Http { .. }) => self.wait(now, out, "submit timed out"),
            (Phase::Waiting, Slot::Sleep(_)) => {
                let Some(order) = &self.order else { return };
                let id = out.send(order.query());
                self.phase = Phase::Querying;
                self.slot = Slot::Http {
                    id,
                    deadline: after(now, HTTP_TIMEOUT_MS),
                };
            }
            (Phase::Querying, Slot::Http { .. }) => {
                self.done();
                out.note(|| "query timed out → give up: failed".to_string());
                out.conclude_unpaid("NAIVE_GAVE_UP");
            }
            _ => {}
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.slot.at()
    }
}
