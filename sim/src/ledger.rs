//! The truth about money: what the WeChat Pay backend knows of each out_trade_no. The
//! checker holds the terminal's conclusions against this, never against what the
//! terminal was told.

use facepay_fsm::codes::TradeState;
use facepay_fsm::{FaceCode, OutTradeNo, PayApi};

/// How a password prompt (or a slow bank) ends, decided when it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PayingEnd {
    /// The user enters the password: the order is charged.
    Pays,
    /// The bank refuses: PAYERROR.
    Fails,
    /// The user walks away: NOTPAY.
    Abandons,
    /// The user walks away (NOTPAY), then comes back and pays at backend time `at` —
    /// after the terminal may have seen NOTPAY. WeChat: "a user may complete the payment
    /// between the last order query and the call to the Revoke API"
    /// (<https://pay.weixin.qq.com/doc/global/v2/en/4013665567>).
    PaysLater {
        /// When the user pays.
        at: u64,
    },
}

/// The state of one order in the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Trade {
    /// A reverse arrived before any submit and this backend closed the order: a later
    /// submit is refused (ORDERREVERSED). Assumption: no WeChat document says whether a
    /// reverse of an unseen order closes it; the profile draws this or "no effect".
    ClosedUnseen,
    /// The money question is open until `until` (backend ms).
    Paying {
        /// When it resolves.
        until: u64,
        /// How.
        then: PayingEnd,
        /// What a query shows meanwhile: USERPAYING (password) or ACCEPT (bank).
        bank: bool,
    },
    /// Charged.
    Paid,
    /// Failed for good (PAYERROR or a final decline): not charged.
    Failed,
    /// The user never paid: not charged, still open.
    NotPay,
    /// NOTPAY for now, but the user pays at backend time `pays_at` unless the order is
    /// reversed first ([`PayingEnd::PaysLater`]).
    NotPayYet {
        /// When the user pays.
        pays_at: u64,
    },
    /// Reversed: closed; if it had been charged, the money went back (WeChat's query
    /// then shows REVOKED, not REFUND: reverse is "撤销", not a refund).
    Revoked,
    /// Charged, then refunded by the merchant's back office, in whole or in part
    /// (orderquery shows REFUND, "转入退款", for both). The customer *was* charged for
    /// this order: a terminal that says "not paid" misinforms the merchant, so the
    /// refund is not counted against the charge. Assumption: a refund this soon (before
    /// the terminal settled the order) is a cashier refunding a till that looked stuck.
    Refunded {
        /// Part of the amount only.
        partial: bool,
    },
}

impl Trade {
    /// The `trade_state` an orderquery shows.
    pub fn trade_state(&self) -> TradeState {
        match self {
            Trade::ClosedUnseen | Trade::Revoked => TradeState::Revoked,
            Trade::Paying { bank: false, .. } => TradeState::UserPaying,
            Trade::Paying { bank: true, .. } => TradeState::Accept,
            Trade::Paid => TradeState::Success,
            Trade::Failed => TradeState::PayError,
            Trade::NotPay | Trade::NotPayYet { .. } => TradeState::NotPay,
            Trade::Refunded { .. } => TradeState::Refund,
        }
    }
}

/// One out_trade_no in the backend.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LedgerEntry {
    /// The order.
    #[serde(serialize_with = "as_str")]
    pub out_trade_no: OutTradeNo,
    /// The API family of its first submit (or reverse).
    pub api: PayApi,
    /// Backend time of the first submit or reverse.
    pub created_at: u64,
    /// Pay submissions that reached the backend.
    pub submits: u32,
    /// Its state.
    pub trade: Trade,
    /// Times money was taken from the customer for it.
    pub charges: u32,
    /// Times money was given back.
    pub refunds: u32,
    /// The transaction id, once charged.
    pub transaction: u32,
    /// `total_fee` of the submit that created it, fen.
    pub total_fee: u32,
    /// Backend time it was charged (its `time_end`), once charged.
    pub paid_at: u64,
    /// When the merchant refunds it after the charge, and whether in part
    /// ([`Trade::Refunded`]).
    pub refund: Option<(u64, bool)>,
    /// An older order of another customer under the same out_trade_no (its charge is
    /// not this session's money): `Ledger::open_foreign`.
    pub foreign: bool,
}

fn as_str<S: serde::Serializer>(t: &OutTradeNo, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

impl LedgerEntry {
    /// True when the customer is out of pocket for this order.
    pub fn net_charged(&self) -> bool {
        self.charges > self.refunds
    }
}

/// Every order the backend has seen, and every face_code it has been paid with.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
    used_codes: Vec<FaceCode>,
    next_transaction: u32,
}

impl Ledger {
    /// Forgets everything, keeping the allocation.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.used_codes.clear();
        self.next_transaction = 0;
    }

    /// The entry of `out_trade_no`, if the backend has seen it.
    pub fn get(&self, out_trade_no: &str) -> Option<&LedgerEntry> {
        self.entries.iter().find(|e| e.out_trade_no.as_str() == out_trade_no)
    }

    pub(crate) fn get_mut(&mut self, out_trade_no: &str) -> Option<&mut LedgerEntry> {
        self.entries
            .iter_mut()
            .find(|e| e.out_trade_no.as_str() == out_trade_no)
    }

    pub(crate) fn open(&mut self, out_trade_no: &OutTradeNo, api: PayApi, now: u64, trade: Trade) -> &mut LedgerEntry {
        self.entries.push(LedgerEntry {
            out_trade_no: out_trade_no.clone(),
            api,
            created_at: now,
            submits: 0,
            trade,
            charges: 0,
            refunds: 0,
            transaction: 0,
            total_fee: 0,
            paid_at: 0,
            refund: None,
            foreign: false,
        });
        let last = self.entries.len() - 1;
        &mut self.entries[last]
    }

    /// An older order, paid by another customer `age_ms` before backend time `now` with
    /// `total_fee`, that already holds `out_trade_no`: a terminal whose numbering started
    /// over (factory reset, a cloned image) or a second terminal with the same prefix.
    /// Assumption: how often this happens in the field is not published.
    pub(crate) fn open_foreign(
        &mut self,
        out_trade_no: &OutTradeNo,
        api: PayApi,
        now: u64,
        age_ms: u64,
        total_fee: u32,
    ) {
        self.next_transaction += 1;
        let transaction = self.next_transaction;
        let at = now.saturating_sub(age_ms);
        let e = self.open(out_trade_no, api, at, Trade::Paid);
        e.total_fee = total_fee;
        e.paid_at = at;
        e.transaction = transaction;
        e.foreign = true;
    }

    /// Every order.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// Marks `code` used; false if it already was (a face_code is single-use).
    pub(crate) fn use_code(&mut self, code: &FaceCode) -> bool {
        if self.used_codes.contains(code) {
            false
        } else {
            self.used_codes.push(code.clone());
            true
        }
    }

    pub(crate) fn charge(&mut self, out_trade_no: &str, now: u64) {
        self.next_transaction += 1;
        let txn = self.next_transaction;
        if let Some(e) = self.get_mut(out_trade_no) {
            e.trade = Trade::Paid;
            e.charges += 1;
            e.transaction = txn;
            e.paid_at = now;
        }
    }

    /// Resolves every password prompt and bank delay due at backend time `now`. Call it
    /// before reading the ledger: the truth moves on whether or not anyone asks.
    #[inline]
    pub fn advance(&mut self, now: u64) {
        // Called at every step, and almost always nothing is due: only then out of line.
        if self.entries.iter().any(|e| match e.trade {
            Trade::Paying { until, .. } => until <= now,
            Trade::NotPayYet { pays_at } => pays_at <= now,
            Trade::Paid => e.refund.is_some_and(|(at, _)| at <= now),
            _ => false,
        }) {
            self.resolve_due(now);
        }
    }

    /// Resolves what [`Ledger::advance`] found due.
    #[inline(never)]
    fn resolve_due(&mut self, now: u64) {
        let mut due: Option<(usize, u64)> = None;
        for (i, e) in self.entries.iter_mut().enumerate() {
            match e.trade {
                Trade::Paying { until, then, .. } if until <= now => match then {
                    PayingEnd::Pays => due = due.or(Some((i, until))),
                    PayingEnd::Fails => e.trade = Trade::Failed,
                    PayingEnd::Abandons => e.trade = Trade::NotPay,
                    PayingEnd::PaysLater { at } => e.trade = Trade::NotPayYet { pays_at: at },
                },
                Trade::NotPayYet { pays_at } if pays_at <= now => due = due.or(Some((i, pays_at))),
                Trade::Paid => {
                    if let Some((at, partial)) = e.refund
                        && at <= now
                    {
                        e.trade = Trade::Refunded { partial };
                        e.refund = None;
                    }
                }
                _ => {}
            }
        }
        if let Some((i, at)) = due {
            let otn = self.entries[i].out_trade_no.clone();
            self.charge(&otn, at);
            // Another prompt may be due too.
            self.advance(now);
        }
    }

    /// Resolves everything still open, whenever it would: the end of the world.
    pub fn advance_to_end(&mut self) {
        self.advance(u64::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facepay_fsm::Field;

    fn otn(s: &str) -> OutTradeNo {
        OutTradeNo::new(Field::OutTradeNo, s).unwrap()
    }

    #[test]
    fn a_password_prompt_charges_when_it_resolves() {
        let mut l = Ledger::default();
        l.open(
            &otn("A"),
            PayApi::Micropay,
            0,
            Trade::Paying {
                until: 50,
                then: PayingEnd::Pays,
                bank: false,
            },
        );
        l.advance(49);
        assert!(!l.get("A").unwrap().net_charged());
        assert_eq!(l.get("A").unwrap().trade.trade_state(), TradeState::UserPaying);
        l.advance(50);
        assert!(l.get("A").unwrap().net_charged());
        assert_eq!(l.get("A").unwrap().trade, Trade::Paid);
    }

    #[test]
    fn a_user_who_walked_away_can_still_pay_and_a_refund_shows_refund() {
        let mut l = Ledger::default();
        let paying = Trade::Paying {
            until: 50,
            then: PayingEnd::PaysLater { at: 40_000 },
            bank: false,
        };
        l.open(&otn("A"), PayApi::Micropay, 0, paying);
        l.advance(60);
        assert_eq!(l.get("A").unwrap().trade.trade_state(), TradeState::NotPay);
        assert!(!l.get("A").unwrap().net_charged());
        l.get_mut("A").unwrap().refund = Some((45_000, true));
        l.advance(40_000);
        assert!(l.get("A").unwrap().net_charged());
        assert_eq!(l.get("A").unwrap().paid_at, 40_000);
        l.advance_to_end();
        let e = l.get("A").unwrap();
        assert_eq!(e.trade.trade_state(), TradeState::Refund);
        assert!(
            e.net_charged(),
            "a merchant's refund does not undo what the terminal must report"
        );
    }

    #[test]
    fn a_face_code_is_single_use() {
        let mut l = Ledger::default();
        let code = FaceCode::new(Field::FaceCode, "b713b5d2-666c-48").unwrap();
        assert!(l.use_code(&code));
        assert!(!l.use_code(&code));
    }
}
