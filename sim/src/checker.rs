//! The invariant checker: holds what the terminal did against the backend's ledger after
//! every step and at the end of the session — the safety properties of docs/design.md §safety.

use std::fmt;

use facepay_fsm::{
    BackendCall, Command, FaceCode, Notice, OutTradeNo, Outcome, PayCredential, PayResult, SdkCall, Session,
};

use crate::ledger::{Ledger, Trade};
use crate::world::WorldMs;

/// A broken property, with what shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Violation {
    /// Property 1: a second pay submission for one out_trade_no.
    DoubleSubmit {
        /// The order.
        out_trade_no: String,
    },
    /// Property 1: a face_code or auth_code submitted twice.
    CredentialReused {
        /// The order of the second use.
        out_trade_no: String,
    },
    /// Property 1: a new order was submitted while an earlier one was unresolved.
    OverlappingOrders {
        /// The unresolved order.
        open: String,
        /// The new one.
        new: String,
    },
    /// Property 1: the backend charged one order more than once.
    ChargedTwice {
        /// The order.
        out_trade_no: String,
    },
    /// Property 1: the customer is out of pocket for more than one order of one purchase.
    CustomerChargedTwice {
        /// How many orders are charged.
        orders: usize,
    },
    /// Property 2: the terminal concluded NotPaid or Reversed, the ledger says charged.
    UnpaidButCharged {
        /// The order.
        out_trade_no: String,
        /// What the terminal concluded.
        outcome: String,
        /// True if found at the end of the session rather than at the conclusion.
        at_end: bool,
    },
    /// Property 2: an order was concluded twice.
    ConcludedTwice {
        /// The order.
        out_trade_no: String,
    },
    /// Property 2: a started or submitted order never concluded.
    NeverConcluded {
        /// The order.
        out_trade_no: String,
    },
    /// Property 3: Paid without the ledger saying so.
    PaidButNotCharged {
        /// The order.
        out_trade_no: String,
    },
    /// Property 3: updateWxpayfacePayResult(SUCCESS) without a payment.
    PayResultWithoutPayment,
    /// Property 8: a face app before 2.13 (with `ignore_update_pay_result=0`) gave this
    /// order's face code and never heard its result, though it was known: its UI waits,
    /// then shows "交易已提交…请与商户联系" (docs/protocol.md §pay-result-update).
    FaceUiLeftWaiting {
        /// The order.
        out_trade_no: String,
    },
    /// Property 4: an order took longer than the policy's bound.
    OrderTooSlow {
        /// The order.
        out_trade_no: String,
        /// How long it took, ms.
        took_ms: u64,
        /// The bound, ms.
        bound_ms: u64,
    },
    /// Property 4: more reverse calls for one order than the policy's budget (counted
    /// across power losses: a resumed session must spend what is left, not more).
    ReverseBudgetExceeded {
        /// The order.
        out_trade_no: String,
        /// Reverse calls made.
        reverses: u32,
        /// The budget.
        budget: u32,
    },
    /// Property 2 (closed loop, when the policy promises it): an order concluded NotPaid is
    /// left open at WeChat (PAYERROR or NOTPAY, not CLOSED or REVOKED) although its
    /// reverse budget was not spent. WeChat: every order must end SUCCESS, CLOSED or
    /// REVOKED (<https://pay.weixin.qq.com/doc/global/v2/en/4013665567>).
    LoopLeftOpen {
        /// The order.
        out_trade_no: String,
        /// Its trade_state at the end.
        trade_state: String,
    },
    /// Property 1/2 (persist handshake): the journal write before this order's submit
    /// failed, and the submit went out anyway, or the order concluded other than NotPaid
    /// (`outcome`: what it concluded; `None`: it was submitted).
    Unjournaled {
        /// The order.
        out_trade_no: String,
        /// Its conclusion, when that was the wrong one.
        outcome: Option<Outcome>,
    },
    /// Property 4: the session did not reach Released within the bound after faults stopped.
    NotLive {
        /// Where it was stuck.
        state: String,
        /// World time of the check.
        at_ms: u64,
    },
    /// Property 5: the session lost commands (its queue overflowed).
    LostCommands {
        /// How many.
        lost: u16,
    },
    /// Property 5: the session refused an input although its commands were drained.
    Refused {
        /// The error.
        error: String,
    },
    /// Property 5: a panic.
    /// Property 8: a seed call not answered within the facade's bound (`None`: still
    /// unanswered when the session ended).
    AppCallUnanswered { operation: String, waited_ms: Option<u64> },
    /// Property 8: what the app read of an order later contradicts what it told the customer.
    AppViewContradicted {
        out_trade_no: String,
        told: String,
        now_reads: String,
    },
    Panic {
        /// Its message.
        message: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::DoubleSubmit { out_trade_no } => write!(f, "{out_trade_no}: submitted twice"),
            Violation::CredentialReused { out_trade_no } => {
                write!(f, "{out_trade_no}: a spent face_code/auth_code submitted again")
            }
            Violation::OverlappingOrders { open, new } => write!(f, "{new} submitted while {open} was unresolved"),
            Violation::ChargedTwice { out_trade_no } => write!(f, "{out_trade_no}: charged twice by the backend"),
            Violation::CustomerChargedTwice { orders } => {
                write!(f, "the customer is charged for {orders} orders of one purchase")
            }
            Violation::UnpaidButCharged {
                out_trade_no,
                outcome,
                at_end,
            } => write!(
                f,
                "{out_trade_no}: concluded {outcome} but the ledger has it charged{}",
                if *at_end { " at the end" } else { "" }
            ),
            Violation::ConcludedTwice { out_trade_no } => write!(f, "{out_trade_no}: concluded twice"),
            Violation::NeverConcluded { out_trade_no } => write!(f, "{out_trade_no}: never concluded"),
            Violation::PaidButNotCharged { out_trade_no } => {
                write!(f, "{out_trade_no}: concluded Paid but the ledger has it unpaid")
            }
            Violation::FaceUiLeftWaiting { out_trade_no } => {
                write!(f, "{out_trade_no}: the old face app never heard the known result")
            }
            Violation::PayResultWithoutPayment => {
                f.write_str("updateWxpayfacePayResult(SUCCESS) without a confirmed payment")
            }
            Violation::OrderTooSlow {
                out_trade_no,
                took_ms,
                bound_ms,
            } => {
                write!(
                    f,
                    "{out_trade_no}: concluded after {took_ms} ms, over the policy bound of {bound_ms} ms"
                )
            }
            Violation::ReverseBudgetExceeded {
                out_trade_no,
                reverses,
                budget,
            } => write!(
                f,
                "{out_trade_no}: {reverses} reverse calls, over the budget of {budget}"
            ),
            Violation::LoopLeftOpen {
                out_trade_no,
                trade_state,
            } => write!(
                f,
                "{out_trade_no}: concluded NotPaid but left {trade_state}, not closed"
            ),
            Violation::Unjournaled {
                out_trade_no,
                outcome: None,
            } => write!(f, "{out_trade_no}: submitted although its journal write failed"),
            Violation::Unjournaled {
                out_trade_no,
                outcome: Some(o),
            } => write!(
                f,
                "{out_trade_no}: its journal write before the submit failed, but it concluded {o}, not NotPaid"
            ),
            Violation::NotLive { state, at_ms } => {
                write!(f, "not released {at_ms} ms into the world: stuck in {state}")
            }
            Violation::LostCommands { lost } => write!(f, "{lost} command(s) lost"),
            Violation::Refused { error } => write!(f, "input refused: {error}"),
            Violation::AppCallUnanswered {
                operation,
                waited_ms: Some(ms),
            } => write!(
                f,
                "the app's {operation} was answered only after {ms} ms, over the facade's bound"
            ),
            Violation::AppCallUnanswered {
                operation,
                waited_ms: None,
            } => write!(f, "the app's {operation} was never answered"),
            Violation::AppViewContradicted {
                out_trade_no,
                told,
                now_reads,
            } => write!(
                f,
                "{out_trade_no}: the app told the customer {told}, and now reads {now_reads}"
            ),
            Violation::Panic { message } => write!(f, "panic: {message}"),
        }
    }
}

/// What the checker knows of one order.
#[derive(Debug)]
struct OrderRecord {
    out_trade_no: OutTradeNo,
    started_at: Option<WorldMs>,
    submits: u32,
    conclusions: u32,
    outcome: Option<Outcome>,
    /// A journal record of it was written (the host's durable storage has it).
    persisted: bool,
    /// The record written before its submit failed: it must never be submitted, and
    /// must conclude NotPaid.
    unjournaled: bool,
    /// Lost to a power loss before any record was written: nothing was submitted, no
    /// conclusion is owed.
    abandoned: bool,
    /// Reverse calls made for it.
    reverses: u32,
    /// Reverse attempts its last journal record counts (the machine records each attempt
    /// before the call leaves).
    journaled_reverses: u32,
    /// Attempts recorded in the journal whose call never left: the power went between
    /// the record and the call. The resumed machine cannot know that and counts them
    /// spent, so they count against the reverse budget (never as calls made).
    unsent_reverses: u32,
    /// Time the order may take beyond the policy bound: power losses while it was open.
    extra_ms: u64,
    /// Conclusions that may come again: the order was resumed from a torn record, which
    /// queries it afresh even if it had concluded.
    reconclusions: u32,
}

/// Checks one session.
#[derive(Debug, Default)]
pub struct Checker {
    orders: Vec<OrderRecord>,
    credentials: Vec<FaceCode>,
    open: Option<OutTradeNo>,
    last_outcome: Option<Outcome>,
    order_bound_ms: u64,
    /// The installed face app takes updateWxpayfacePayResult (before 2.13).
    old_face_app: bool,
    /// The order whose face the face app is scanning, and whether it was told not to wait
    /// for the result (`ignore_update_pay_result`).
    face_scan: Option<(OutTradeNo, bool)>,
    /// That order was submitted with the face app's credential: its UI waits for the result.
    face_waits: Option<OutTradeNo>,
    /// It concluded with a known result in this step: the report must follow in it.
    report_owed: Option<OutTradeNo>,
    /// Most reverse calls an order may take; 0 leaves them uncounted (a peer loop has
    /// its own idea of a budget).
    reverse_budget: u32,
    /// Orders concluded NotPaid must be closed at WeChat (the policy's
    /// `close_declined_orders`).
    closed_loop: bool,
    /// Every violation found, in order.
    pub violations: Vec<Violation>,
}

impl Checker {
    /// A checker for a session whose orders must conclude within `order_bound_ms` (world
    /// time; the caller allows for clock drift).
    pub fn new(order_bound_ms: u64) -> Self {
        Checker {
            order_bound_ms,
            ..Checker::default()
        }
    }

    /// Makes this checker [`Checker::new`]'s for another session, keeping its buffers
    /// (a campaign checks millions of sessions, one after another).
    pub fn renew(&mut self, order_bound_ms: u64) {
        // Every field named, so that a new one cannot be forgotten here.
        let Checker {
            orders,
            credentials,
            open,
            last_outcome,
            order_bound_ms: bound,
            old_face_app,
            face_scan,
            face_waits,
            report_owed,
            reverse_budget,
            closed_loop,
            violations,
        } = self;
        *reverse_budget = 0;
        *closed_loop = false;
        orders.clear();
        credentials.clear();
        *open = None;
        *last_outcome = None;
        *bound = order_bound_ms;
        *old_face_app = false;
        *face_scan = None;
        *face_waits = None;
        *report_owed = None;
        violations.clear();
    }

    /// The installed face app is `version` (the model face app's, whatever the policy
    /// says): before 2.13 its UI waits for updateWxpayfacePayResult.
    pub fn face_app(&mut self, version: facepay_fsm::SdkVersion) {
        self.old_face_app = version.needs_pay_result_update();
    }

    fn record(&mut self, otn: &OutTradeNo) -> &mut OrderRecord {
        if let Some(i) = self.orders.iter().position(|o| &o.out_trade_no == otn) {
            return &mut self.orders[i];
        }
        self.orders.push(OrderRecord {
            out_trade_no: otn.clone(),
            started_at: None,
            submits: 0,
            conclusions: 0,
            outcome: None,
            persisted: false,
            unjournaled: false,
            abandoned: false,
            reverses: 0,
            journaled_reverses: 0,
            unsent_reverses: 0,
            extra_ms: 0,
            reconclusions: 0,
        });
        let last = self.orders.len() - 1;
        &mut self.orders[last]
    }

    /// Holds every order to at most `budget` reverse calls (the policy's
    /// `reverse_attempts`). Call after [`Checker::renew`], which lifts it.
    pub fn limit_reverses(&mut self, budget: u8) {
        self.reverse_budget = u32::from(budget);
    }

    /// Holds every order concluded NotPaid to being closed at WeChat (unless its reverse
    /// budget was spent). Call after [`Checker::renew`], which lifts it.
    pub fn expect_closed_loop(&mut self, on: bool) {
        self.closed_loop = on;
    }

    /// The cashier's order `otn` was accepted at `now`.
    pub fn order_started(&mut self, now: WorldMs, otn: &OutTradeNo) {
        self.record(otn).started_at = Some(now);
    }

    /// Outcomes of the concluded orders, in order.
    pub fn outcomes(&self) -> impl Iterator<Item = Outcome> + '_ {
        self.orders.iter().filter_map(|o| o.outcome)
    }

    /// Checks one command the terminal emitted at `now`, against `ledger` as of `now`.
    pub fn command(&mut self, now: WorldMs, command: &Command, ledger: &Ledger) {
        // Reported; or the face service is being started again (it was lost, and its UI
        // with it).
        if let Command::Sdk {
            call: SdkCall::UpdateWxpayfacePayResult(_) | SdkCall::InitWxpayface(_),
            ..
        } = command
        {
            self.report_owed = None;
        }
        match command {
            Command::Backend {
                call:
                    BackendCall::Submit {
                        out_trade_no,
                        credential,
                        ..
                    },
                ..
            } => {
                if let Some(open) = &self.open
                    && open != out_trade_no
                {
                    self.violations.push(Violation::OverlappingOrders {
                        open: open.to_string(),
                        new: out_trade_no.to_string(),
                    });
                }
                self.open = Some(out_trade_no.clone());
                // A face_code and an auth_code are the same text type: one list of spent codes.
                let code: &FaceCode = match credential {
                    PayCredential::FaceCode { face_code, .. } => face_code,
                    PayCredential::AuthCode(code) => code,
                };
                if self.credentials.contains(code) {
                    self.violations.push(Violation::CredentialReused {
                        out_trade_no: out_trade_no.to_string(),
                    });
                } else {
                    self.credentials.push(code.clone());
                }
                if let Some((otn, ignore)) = &self.face_scan
                    && otn == out_trade_no
                {
                    self.face_waits = (!ignore).then(|| otn.clone());
                }
                if self.record(out_trade_no).unjournaled {
                    self.violations.push(Violation::Unjournaled {
                        out_trade_no: out_trade_no.to_string(),
                        outcome: None,
                    });
                }
                let rec = self.record(out_trade_no);
                rec.submits += 1;
                if rec.submits > 1 {
                    self.violations.push(Violation::DoubleSubmit {
                        out_trade_no: out_trade_no.to_string(),
                    });
                }
            }
            Command::Backend {
                call: BackendCall::Reverse { out_trade_no, .. },
                ..
            } => {
                let budget = self.reverse_budget;
                let rec = self.record(out_trade_no);
                rec.reverses += 1;
                let reverses = rec.reverses;
                if budget > 0 && reverses == budget + 1 {
                    self.violations.push(Violation::ReverseBudgetExceeded {
                        out_trade_no: out_trade_no.to_string(),
                        reverses,
                        budget,
                    });
                }
            }
            Command::Persist(record) => {
                self.record(&record.out_trade_no).journaled_reverses = u32::from(record.reverse_attempts);
            }
            Command::Sdk {
                call: SdkCall::UpdateWxpayfacePayResult(r),
                ..
            } if r.payresult == PayResult::Success => {
                let paid = self.last_outcome == Some(Outcome::Paid);
                let charged = self
                    .orders
                    .iter()
                    .rev()
                    .find(|o| o.outcome.is_some())
                    .and_then(|o| ledger.get(&o.out_trade_no))
                    .is_some_and(|e| e.net_charged());
                if !(paid && charged) {
                    self.violations.push(Violation::PayResultWithoutPayment);
                }
            }
            Command::Sdk {
                call: SdkCall::GetWxpayfaceCode(r),
                ..
            } => {
                self.face_scan = Some((r.out_trade_no.clone(), r.ignore_update_pay_result));
                self.face_waits = None;
            }
            // The credential will be a scanned code: the face UI is gone.
            Command::Sdk {
                call: SdkCall::StartCodeScanner,
                ..
            } => self.face_scan = None,
            Command::Notify(Notice::OrderConcluded(c)) => {
                // NeedsReconciliation: neither SUCCESS nor ERROR is true, the UI must wait.
                if self.old_face_app
                    && c.outcome != Outcome::NeedsReconciliation
                    && self.face_waits.as_ref() == Some(&c.out_trade_no)
                {
                    self.report_owed = Some(c.out_trade_no.clone());
                }
                self.face_waits = None;
                self.face_scan = None;
                self.concluded(now, &c.out_trade_no, c.outcome, ledger);
            }
            _ => {}
        }
    }

    /// Order `otn` concluded `outcome` at `now` (the terminal said so, or the journal the
    /// terminal booted with did).
    pub fn concluded(&mut self, now: WorldMs, otn: &OutTradeNo, outcome: Outcome, ledger: &Ledger) {
        let bound = self.order_bound_ms;
        let rec = self.record(otn);
        rec.conclusions += 1;
        rec.outcome = Some(outcome);
        let unjournaled = rec.unjournaled && outcome != Outcome::NotPaid;
        let twice = rec.conclusions > 1 && rec.reconclusions == 0;
        rec.reconclusions = rec.reconclusions.saturating_sub(u32::from(rec.conclusions > 1));
        let took = rec.started_at.map(|s| now.saturating_sub(s));
        let bound = bound + rec.extra_ms;
        if unjournaled {
            self.violations.push(Violation::Unjournaled {
                out_trade_no: otn.to_string(),
                outcome: Some(outcome),
            });
        }
        if twice {
            self.violations.push(Violation::ConcludedTwice {
                out_trade_no: otn.to_string(),
            });
        }
        if let Some(took) = took
            && took > bound
        {
            self.violations.push(Violation::OrderTooSlow {
                out_trade_no: otn.to_string(),
                took_ms: took,
                bound_ms: bound,
            });
        }
        if self.open.as_ref() == Some(otn) {
            self.open = None;
        }
        self.last_outcome = Some(outcome);
        let charged = ledger.get(otn).is_some_and(|e| e.net_charged());
        match outcome {
            Outcome::Paid if !charged => self.violations.push(Violation::PaidButNotCharged {
                out_trade_no: otn.to_string(),
            }),
            Outcome::NotPaid | Outcome::Reversed if charged => self.violations.push(Violation::UnpaidButCharged {
                out_trade_no: otn.to_string(),
                outcome: outcome.to_string(),
                at_end: false,
            }),
            _ => {}
        }
    }

    /// A journal record of `otn` was written durably.
    pub fn persisted(&mut self, otn: &OutTradeNo) {
        self.record(otn).persisted = true;
    }

    /// The host could not write `record` (the simulator failed the write). A record
    /// written before the submit means the submit must never leave.
    pub fn persist_failed(&mut self, record: &facepay_fsm::JournalRecord) {
        if record.phase == facepay_fsm::JournalPhase::Submitting {
            self.record(&record.out_trade_no).unjournaled = true;
        }
    }

    /// True if order `otn` has concluded.
    pub fn has_concluded(&self, otn: &OutTradeNo) -> bool {
        self.orders.iter().any(|o| &o.out_trade_no == otn && o.conclusions > 0)
    }

    /// The terminal lost power for `down_ms`. An open order with no journal record is
    /// lost (nothing was submitted); one with a record must still conclude, through the
    /// resumed session, within its bound again after the terminal is back.
    pub fn power_lost(&mut self, down_ms: u64) {
        // The face app restarts with the terminal: no UI is left waiting.
        self.face_scan = None;
        self.face_waits = None;
        self.report_owed = None;
        let bound = self.order_bound_ms;
        for o in &mut self.orders {
            // Both counts run on across boots: what the journal has beyond the calls seen
            // was cut off by a power loss (this one or an earlier one).
            o.unsent_reverses = o.journaled_reverses.saturating_sub(o.reverses);
            if o.conclusions > 0 && o.reconclusions == 0 {
                continue;
            }
            if o.persisted {
                o.extra_ms += down_ms + bound;
            } else if o.submits == 0 {
                o.abandoned = true;
            }
        }
    }

    /// The terminal booted with a torn record of `otn`: it is queried afresh, and may
    /// conclude once more.
    pub fn resumed_from_torn(&mut self, otn: &OutTradeNo) {
        let bound = self.order_bound_ms;
        let rec = self.record(otn);
        // The torn record lost its count of reverses: the budget starts over.
        rec.reverses = 0;
        rec.journaled_reverses = 0;
        rec.unsent_reverses = 0;
        if rec.conclusions > 0 {
            rec.reconclusions += 1;
            rec.extra_ms += bound;
        }
    }

    /// Checks the session after a step.
    pub fn after_step(&mut self, session: &Session) {
        if let Some(otn) = self.report_owed.take() {
            self.violations.push(Violation::FaceUiLeftWaiting {
                out_trade_no: otn.to_string(),
            });
        }
        let lost = session.lost_commands();
        if lost > 0
            && !self
                .violations
                .iter()
                .any(|v| matches!(v, Violation::LostCommands { .. }))
        {
            self.violations.push(Violation::LostCommands { lost });
        }
    }

    /// The end of the session: every order concluded once, and the ledger — with every
    /// password prompt resolved, however late — agrees with every conclusion.
    pub fn finish(&mut self, ledger: &mut Ledger) {
        ledger.advance_to_end();
        for o in &self.orders {
            // Named only in a violation: most sessions have none, and a name is an allocation.
            let otn = || o.out_trade_no.to_string();
            if o.conclusions == 0 && !o.abandoned && (o.submits > 0 || o.started_at.is_some()) {
                self.violations.push(Violation::NeverConcluded { out_trade_no: otn() });
            }
            let charged = ledger.get(&o.out_trade_no).is_some_and(|e| e.net_charged());
            match o.outcome {
                Some(outcome @ (Outcome::NotPaid | Outcome::Reversed)) if charged => {
                    self.violations.push(Violation::UnpaidButCharged {
                        out_trade_no: otn(),
                        outcome: outcome.to_string(),
                        at_end: true,
                    })
                }
                Some(Outcome::Paid) if !charged => self
                    .violations
                    .push(Violation::PaidButNotCharged { out_trade_no: otn() }),
                _ => {}
            }
            // An attempt the power cut off is spent as the machine counts it.
            let spent = self.reverse_budget > 0 && o.reverses + o.unsent_reverses >= self.reverse_budget;
            if self.closed_loop
                && o.outcome == Some(Outcome::NotPaid)
                && o.submits > 0
                && !spent
                && let Some(e) = ledger.get(&o.out_trade_no)
                && !e.foreign
                && matches!(e.trade, Trade::Failed | Trade::NotPay)
            {
                self.violations.push(Violation::LoopLeftOpen {
                    out_trade_no: otn(),
                    trade_state: e.trade.trade_state().to_string(),
                });
            }
        }
        for e in ledger.entries() {
            // Counted where the money is: a resumed terminal forgets what it sent.
            let reported = self.violations.iter().any(
                |v| matches!(v, Violation::DoubleSubmit { out_trade_no } if out_trade_no == e.out_trade_no.as_str()),
            );
            if e.submits > 1 && !reported {
                self.violations.push(Violation::DoubleSubmit {
                    out_trade_no: e.out_trade_no.to_string(),
                });
            }
            if e.charges > 1 {
                self.violations.push(Violation::ChargedTwice {
                    out_trade_no: e.out_trade_no.to_string(),
                });
            }
        }
        let charged = ledger.entries().iter().filter(|e| e.net_charged()).count();
        if charged > 1 {
            self.violations
                .push(Violation::CustomerChargedTwice { orders: charged });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::PayingEnd;
    use facepay_fsm::{
        Conclusion, Field, JOURNAL_VERSION, JournalPhase, JournalRecord, PayApi, Reason, RequestId, TransactionId,
    };

    fn concluded(otn: &OutTradeNo, outcome: Outcome) -> Command {
        Command::Notify(Notice::OrderConcluded(Conclusion {
            out_trade_no: otn.clone(),
            outcome,
            reason: Reason::ReverseConfirmed,
            transaction_id: TransactionId::empty(),
        }))
    }

    #[test]
    fn unpaid_conclusion_against_a_charge_settling_later_is_caught_at_the_end() {
        let otn = OutTradeNo::new(Field::OutTradeNo, "T1").unwrap();
        let mut ledger = Ledger::default();
        let paying = Trade::Paying {
            until: 90_000,
            then: PayingEnd::Pays,
            bank: false,
        };
        ledger.open(&otn, PayApi::Micropay, 0, paying);
        let mut c = Checker::new(1_000_000);
        c.order_started(0, &otn);
        c.command(40_000, &concluded(&otn, Outcome::NotPaid), &ledger);
        assert!(c.violations.is_empty(), "not charged yet at the conclusion");
        c.finish(&mut ledger);
        assert!(matches!(
            c.violations.as_slice(),
            [Violation::UnpaidButCharged { at_end: true, .. }]
        ));
    }

    /// The commands of an order declined for good (PAYERROR at WeChat) whose closing
    /// reverses are refused until its budget of 2 is spent: the submit, then per attempt
    /// its journal record and (unless `cut` says the power went in between) its call.
    fn declined_with_reverses_refused(cut: Option<u8>, power_loss: bool) -> Vec<Violation> {
        let otn = OutTradeNo::new(Field::OutTradeNo, "T3").unwrap();
        let mut ledger = Ledger::default();
        ledger.open(&otn, PayApi::Micropay, 0, Trade::Failed);
        let mut c = Checker::new(1_000_000);
        c.limit_reverses(2);
        c.expect_closed_loop(true);
        c.order_started(0, &otn);
        let submit = Command::Backend {
            id: RequestId(1),
            call: BackendCall::Submit {
                api: PayApi::Micropay,
                out_trade_no: otn.clone(),
                total_fee: 1,
                credential: PayCredential::AuthCode("131300294217000001".parse().unwrap()),
            },
        };
        c.command(0, &submit, &ledger);
        for attempt in 1..=2u8 {
            let record = JournalRecord {
                version: JOURNAL_VERSION,
                out_trade_no: otn.clone(),
                api: PayApi::Micropay,
                total_fee: 1,
                phase: JournalPhase::Reversing,
                elapsed_ms: 15_000,
                queries: 0,
                reverse_attempts: attempt,
            };
            c.command(15_000, &Command::Persist(record), &ledger);
            if cut == Some(attempt) {
                if power_loss {
                    c.power_lost(1_000);
                }
                continue;
            }
            let reverse = Command::Backend {
                id: RequestId(1 + u32::from(attempt)),
                call: BackendCall::Reverse {
                    api: PayApi::Micropay,
                    out_trade_no: otn.clone(),
                    attempt,
                },
            };
            c.command(15_000, &reverse, &ledger);
        }
        c.command(40_000, &concluded(&otn, Outcome::NotPaid), &ledger);
        c.finish(&mut ledger);
        c.violations
    }

    #[test]
    fn a_declined_order_concluded_with_reverse_budget_to_spare_is_left_open() {
        // One reverse call of two, and no power loss to explain the other.
        assert!(matches!(
            declined_with_reverses_refused(Some(2), false).as_slice(),
            [Violation::LoopLeftOpen { trade_state, .. }] if trade_state == "PAYERROR"
        ));
        assert_eq!(declined_with_reverses_refused(None, false), []);
    }

    /// Seed 7 session 91181 with --swarm --power-loss: the power went between the record
    /// of reverse attempt 5 and its call; the resumed machine counted it spent (it cannot
    /// know the call never left) and concluded NotPaid, PAYERROR, after attempt 10.
    #[test]
    fn a_reverse_attempt_cut_off_by_a_power_loss_counts_against_the_budget() {
        assert_eq!(declined_with_reverses_refused(Some(1), true), []);
        assert_eq!(declined_with_reverses_refused(Some(2), true), []);
    }

    #[test]
    fn paid_without_a_charge_and_slow_orders_are_caught() {
        let otn = OutTradeNo::new(Field::OutTradeNo, "T2").unwrap();
        let ledger = Ledger::default();
        let mut c = Checker::new(1_000);
        c.order_started(0, &otn);
        c.command(2_000, &concluded(&otn, Outcome::Paid), &ledger);
        c.command(2_001, &concluded(&otn, Outcome::Paid), &ledger);
        assert!(c.violations.contains(&Violation::PaidButNotCharged {
            out_trade_no: "T2".into()
        }));
        assert!(c.violations.contains(&Violation::ConcludedTwice {
            out_trade_no: "T2".into()
        }));
        assert!(c.violations.iter().any(|v| matches!(v, Violation::OrderTooSlow { .. })));
    }
}
