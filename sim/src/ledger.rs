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
}

/// The state of one order in the backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Trade {
    /// A reverse arrived before any submit: the order is closed, a later submit is refused
    /// (ORDERREVERSED). This is how a reverse closes the door on a delayed submit.
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
    /// Reversed before it was charged: closed.
    Revoked,
    /// Reversed after it was charged: the money went back.
    Refunded,
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
            Trade::NotPay => TradeState::NotPay,
            Trade::Refunded => TradeState::Refund,
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
        });
        let last = self.entries.len() - 1;
        &mut self.entries[last]
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

    pub(crate) fn charge(&mut self, out_trade_no: &str) {
        self.next_transaction += 1;
        let txn = self.next_transaction;
        if let Some(e) = self.get_mut(out_trade_no) {
            e.trade = Trade::Paid;
            e.charges += 1;
            e.transaction = txn;
        }
    }

    /// Resolves every password prompt and bank delay due at backend time `now`. Call it
    /// before reading the ledger: the truth moves on whether or not anyone asks.
    #[inline]
    pub fn advance(&mut self, now: u64) {
        // Called at every step, and almost always nothing is due: only then out of line.
        if self
            .entries
            .iter()
            .any(|e| matches!(e.trade, Trade::Paying { until, .. } if until <= now))
        {
            self.resolve_due(now);
        }
    }

    /// Resolves what [`Ledger::advance`] found due.
    #[inline(never)]
    fn resolve_due(&mut self, now: u64) {
        let mut due: Option<usize> = None;
        for (i, e) in self.entries.iter_mut().enumerate() {
            if let Trade::Paying { until, then, .. } = e.trade
                && until <= now
            {
                match then {
                    PayingEnd::Pays => due = due.or(Some(i)),
                    PayingEnd::Fails => e.trade = Trade::Failed,
                    PayingEnd::Abandons => e.trade = Trade::NotPay,
                }
            }
        }
        if let Some(i) = due {
            let otn = self.entries[i].out_trade_no.clone();
            self.charge(&otn);
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
    fn a_face_code_is_single_use() {
        let mut l = Ledger::default();
        let code = FaceCode::new(Field::FaceCode, "b713b5d2-666c-48").unwrap();
        assert!(l.use_code(&code));
        assert!(!l.use_code(&code));
    }
}
