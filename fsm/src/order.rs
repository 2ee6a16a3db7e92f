//! The current order as one value, built fresh for every order: what was asked, where
//! the order came from, what pays for it, and — once it was submitted — how settling it
//! is going. Nothing here is reset by hand: a new order replaces the whole value.

use crate::command::{PayApi, Reason};
use crate::config::{FaceCodeType, OrderRequest};
use crate::journal::JournalRecord;
use crate::text::{OpenId, OutTradeNo, TransactionId};
use crate::time::Instant;

/// Where the current order came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The app asked for it (`StartOrder`) in this session.
    Requested,
    /// Taken over from an intact journal record after a power loss.
    Resumed,
    /// Taken over from a damaged journal record whose out_trade_no still read
    /// (`JournalRecord::is_salvaged`): its amount is unknown, and it may have concluded
    /// Paid, and the goods been handed over, before the power went.
    Salvaged,
}

/// What pays for the current order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    /// Nothing taken yet.
    None,
    FaceCode,
    /// A payment code the cashier app handed over (or the journal's micropay order).
    AuthCode,
    /// A payment code the face app's own scanner read: it expects `reportPaycode`.
    ScannedCode,
}

/// What settling a submitted order has learnt. It exists from the submit (or the resume)
/// on: its presence is what "money may have moved" means, so the order is journalled.
/// It stays after the conclusion, for the conclusion's own journal record; the next order
/// replaces it. Only the budgets are journalled: after a power loss the order is settled
/// from them alone, read conservatively (a recorded reverse attempt counts as unanswered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settlement {
    /// When the submit left (for a resumed order: now, less the time the record says was
    /// spent). The query budget and the first reverse's earliest time count from here.
    pub(crate) submitted_at: Instant,
    /// Queries sent so far.
    pub(crate) queries: u8,
    /// Reverse calls sent so far.
    pub(crate) reverse_attempts: u8,
    /// The last reverse answer was USERPAYING: wait at least a poll interval.
    pub(crate) reverse_user_paying: bool,
    /// A query saw the order not paid yet (NOTPAY, USERPAYING, ACCEPT, ORDERNOTEXIST): it
    /// cannot have concluded Paid before.
    pub(crate) seen_unpaid: bool,
    /// The order failed for good (a final decline, or a query's PAYERROR) and is being
    /// reversed to close it (`Policy::close_declined_orders`): once the reverse is
    /// confirmed, refused or out of budget, it concludes NotPaid with this reason.
    pub(crate) closing: Option<Reason>,
    /// The last reverse answered SYSTEMERROR: query the order before reversing again.
    pub(crate) verify_reverse: bool,
    /// A reverse went unanswered (timeout, transport error): it may still reach WeChat
    /// and undo a payment, so a later SUCCESS is no longer this terminal's to conclude.
    pub(crate) reverse_unanswered: bool,
}

impl Settlement {
    /// A settlement that starts with the submit leaving at `submitted_at`.
    pub(crate) fn begun(submitted_at: Instant) -> Self {
        Settlement {
            submitted_at,
            queries: 0,
            reverse_attempts: 0,
            reverse_user_paying: false,
            seen_unpaid: false,
            closing: None,
            verify_reverse: false,
            reverse_unanswered: false,
        }
    }
}

/// The current order (or, between orders, the last one).
#[derive(Clone, Debug)]
pub(crate) struct Order {
    /// What the app asked for (for a resumed order: what the journal record says).
    pub(crate) request: OrderRequest,
    pub(crate) origin: Origin,
    /// What pays for it; the credential itself is kept on the machine (see
    /// `Machine::credential`), because it must outlive the order.
    pub(crate) credential_kind: CredentialKind,
    /// The payer the face app named with the face_code (empty otherwise).
    pub(crate) payer_openid: OpenId,
    /// The face app rejected the authinfo once (271382020) and a new one was fetched:
    /// a second rejection ends the order.
    pub(crate) auth_retried: bool,
    /// The face service went away during the order (or, resumed, is down after the
    /// restart): it must be started again once the order is done, and the face UI hears
    /// no pay result.
    pub(crate) service_lost: bool,
    /// WeChat's id for the payment, once an answer named one.
    pub(crate) transaction_id: TransactionId,
    /// Present from the submit on: see [`Settlement`].
    pub(crate) settlement: Option<Settlement>,
}

impl Order {
    /// The slot's value before the session's first order: never submitted, so nothing
    /// reads it as an order (an empty out_trade_no matches no request).
    pub(crate) fn none() -> Self {
        Order::requested(OrderRequest::new(OutTradeNo::empty(), 0, FaceCodeType::Micropay))
    }

    /// An order the app asked for; nothing is taken or submitted yet.
    pub(crate) fn requested(request: OrderRequest) -> Self {
        Order {
            request,
            origin: Origin::Requested,
            credential_kind: CredentialKind::None,
            payer_openid: OpenId::empty(),
            auth_retried: false,
            service_lost: false,
            transaction_id: TransactionId::empty(),
            settlement: None,
        }
    }

    /// An order taken over from the journal at `now`: it was submitted, so it is settled
    /// by the same rules and budgets, counting the time the record says was spent. The
    /// face service is down after a restart.
    pub(crate) fn resumed(record: &JournalRecord, now: Instant) -> Self {
        let face_code_type = match record.api {
            PayApi::Facepay => FaceCodeType::Facepay,
            PayApi::Micropay => FaceCodeType::Micropay,
        };
        let mut settlement = Settlement::begun(Instant(now.0.saturating_sub(u64::from(record.elapsed_ms))));
        settlement.queries = record.queries;
        settlement.reverse_attempts = record.reverse_attempts;
        // A recorded reverse may have left, and its answer died with the power: it may
        // still reach WeChat and undo a payment a later query shows.
        settlement.reverse_unanswered = record.reverse_attempts > 0;
        Order {
            request: OrderRequest::new(record.out_trade_no.clone(), record.total_fee, face_code_type),
            origin: if record.is_salvaged() {
                Origin::Salvaged
            } else {
                Origin::Resumed
            },
            credential_kind: match record.api {
                PayApi::Facepay => CredentialKind::FaceCode,
                PayApi::Micropay => CredentialKind::AuthCode,
            },
            payer_openid: OpenId::empty(),
            auth_retried: false,
            service_lost: true,
            transaction_id: TransactionId::empty(),
            settlement: Some(settlement),
        }
    }

    /// The submit leaves at `now`: from here on money may move.
    pub(crate) fn submit(&mut self, now: Instant) {
        self.settlement = Some(Settlement::begun(now));
    }

    /// Undoes [`Order::submit`] for a submit that was never sent (its journal write
    /// failed): nothing can have moved, so nothing is left to settle or journal.
    pub(crate) fn unsubmit(&mut self) {
        self.settlement = None;
    }

    /// True once the order was submitted: money may have moved, so it is journalled.
    pub(crate) fn submitted(&self) -> bool {
        self.settlement.is_some()
    }

    /// The settlement of a submitted order. The settling states are entered only by the
    /// submit or a resume, which both begin one, so this always finds it; should a chart
    /// change ever break that, a settlement begun at time 0 (its budgets already spent)
    /// stands in rather than a panic.
    pub(crate) fn settlement(&mut self) -> &mut Settlement {
        self.settlement.get_or_insert_with(|| Settlement::begun(Instant(0)))
    }

    /// True when the order was salvaged from a damaged journal record (see
    /// [`Origin::Salvaged`]).
    pub(crate) fn salvaged(&self) -> bool {
        self.origin == Origin::Salvaged
    }

    /// The API family for the order's credential.
    pub(crate) fn pay_api(&self) -> PayApi {
        match (self.credential_kind, self.request.face_code_type) {
            (CredentialKind::FaceCode, FaceCodeType::Facepay) => PayApi::Facepay,
            _ => PayApi::Micropay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{JOURNAL_VERSION, JournalPhase};
    use crate::text::{Field, Text};

    fn no() -> OutTradeNo {
        Text::new(Field::OutTradeNo, "T1").unwrap()
    }

    fn record(total_fee: u32) -> JournalRecord {
        JournalRecord {
            version: JOURNAL_VERSION,
            out_trade_no: no(),
            api: PayApi::Facepay,
            total_fee,
            phase: JournalPhase::Reversing,
            elapsed_ms: 20_000,
            queries: 4,
            reverse_attempts: 2,
        }
    }

    #[test]
    fn a_requested_order_starts_with_nothing_taken_or_submitted() {
        let mut o = Order::requested(OrderRequest::new(no(), 100, FaceCodeType::Facepay));
        assert_eq!(o.origin, Origin::Requested);
        assert!(!o.submitted() && !o.salvaged() && !o.service_lost && !o.auth_retried);
        assert_eq!(o.credential_kind, CredentialKind::None);
        o.submit(Instant(5_000));
        assert!(o.submitted());
        assert_eq!(o.settlement, Some(Settlement::begun(Instant(5_000))));
    }

    #[test]
    fn a_resumed_order_continues_the_records_budgets_with_the_service_down() {
        let o = Order::resumed(&record(100), Instant(60_000));
        assert_eq!(o.origin, Origin::Resumed);
        assert!(o.submitted() && o.service_lost && !o.salvaged());
        assert_eq!(o.pay_api(), PayApi::Facepay);
        let s = o.settlement.unwrap();
        assert_eq!((s.submitted_at, s.queries, s.reverse_attempts), (Instant(40_000), 4, 2));
        // Two reverses were recorded: the last may have left unanswered.
        assert!(s.reverse_unanswered);
        let none_sent = JournalRecord {
            reverse_attempts: 0,
            ..record(100)
        };
        assert!(
            !Order::resumed(&none_sent, Instant(60_000))
                .settlement
                .unwrap()
                .reverse_unanswered
        );
    }

    /// Salvaged is the origin the journal's damaged record gives, not an amount read on
    /// a live order.
    #[test]
    fn only_a_salvaged_record_makes_a_salvaged_order() {
        let o = Order::resumed(&JournalRecord::salvaged(no(), PayApi::Micropay), Instant(1_000));
        assert_eq!(o.origin, Origin::Salvaged);
        assert!(o.salvaged());
        assert!(!Order::requested(OrderRequest::new(no(), 0, FaceCodeType::Micropay)).salvaged());
    }
}
