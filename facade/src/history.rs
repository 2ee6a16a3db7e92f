//! The terminal's recent orders as the facade saw them: what was asked, what the machine
//! really submitted, what the backend reported, how each concluded. Bounded: the oldest
//! concluded order goes first, so `orderquery` / `reverse` reach any of the last
//! [`HISTORY_CAPACITY`] orders, including a NeedsReconciliation one after newer orders.

use std::collections::VecDeque;

use facepay_fsm::codes::TradeState;
use facepay_fsm::{Conclusion, FaceCodeAnswer};

/// How many orders the facade remembers.
pub const HISTORY_CAPACITY: usize = 64;

/// What the machine submitted for an order (the only parameters that can be charged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// `total_fee` in fen (`None`: resumed from a journal that the facade did not see written).
    pub total_fee: Option<u32>,
    /// `face_code` or `auth_code` (`None`: resumed from the journal, which does not keep it).
    pub credential: Option<String>,
    /// Whether the credential came from the code scanner (`auth_code`).
    pub scanned_code: bool,
}

/// One order of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderEntry {
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `total_fee` asked at `getWxpayfaceCode` (`None` for a resumed order).
    pub asked_fee: Option<u32>,
    /// The last face-code answer the SDK gave for it (for `getWxpayfaceCode`'s fields).
    pub face: Option<FaceCodeAnswer>,
    /// What went to the backend, once it did.
    pub submitted: Option<Submitted>,
    /// The last trade_state a query reported (never invented).
    pub trade_state: Option<TradeState>,
    /// The conclusion, once the machine reached one.
    pub conclusion: Option<Conclusion>,
}

impl OrderEntry {
    /// A new order as asked.
    pub fn new(out_trade_no: &str, asked_fee: Option<u32>) -> Self {
        OrderEntry {
            out_trade_no: out_trade_no.to_owned(),
            asked_fee,
            face: None,
            submitted: None,
            trade_state: None,
            conclusion: None,
        }
    }
}

/// The bounded history.
#[derive(Debug, Default)]
pub struct History {
    orders: VecDeque<OrderEntry>,
}

impl History {
    /// Adds (or restarts) an order; evicts the oldest concluded order when full.
    pub fn insert(&mut self, entry: OrderEntry) {
        self.orders.retain(|o| o.out_trade_no != entry.out_trade_no);
        if self.orders.len() >= HISTORY_CAPACITY {
            let victim = self.orders.iter().position(|o| o.conclusion.is_some()).unwrap_or(0);
            self.orders.remove(victim);
        }
        self.orders.push_back(entry);
    }

    /// The order `out_trade_no`, if remembered.
    pub fn get(&self, out_trade_no: &str) -> Option<&OrderEntry> {
        self.orders.iter().find(|o| o.out_trade_no == out_trade_no)
    }

    /// The order `out_trade_no`, to update.
    pub fn get_mut(&mut self, out_trade_no: &str) -> Option<&mut OrderEntry> {
        self.orders.iter_mut().find(|o| o.out_trade_no == out_trade_no)
    }

    /// How many orders are remembered.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_concluded_order_goes_first() {
        let mut h = History::default();
        h.insert(OrderEntry::new("OPEN", Some(1)));
        for i in 0..HISTORY_CAPACITY + 3 {
            let mut e = OrderEntry::new(&format!("T{i}"), Some(1));
            e.conclusion = Some(Conclusion {
                out_trade_no: facepay_fsm::Text::new(facepay_fsm::Field::OutTradeNo, "x").unwrap(),
                outcome: facepay_fsm::Outcome::NotPaid,
                reason: facepay_fsm::Reason::UserCancelled,
                transaction_id: facepay_fsm::Text::empty(),
            });
            h.insert(e);
        }
        assert_eq!(h.len(), HISTORY_CAPACITY);
        assert!(h.get("OPEN").is_some(), "an unconcluded order is never evicted first");
        assert!(h.get("T0").is_none());
        assert!(h.get(&format!("T{}", HISTORY_CAPACITY + 2)).is_some());
    }
}
