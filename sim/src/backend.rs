//! The model WeChat Pay backend (v2 APIs behind the merchant's server): authinfo, submit
//! (micropay / facepay), orderquery, reverse. It decides what really happens to the money
//! in its [`Ledger`], then answers — and the answer may hide what happened (SYSTEMERROR,
//! BANKERROR), exactly the ambiguity the terminal must survive.

use facepay_fsm::codes::{PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseErrCode};
use facepay_fsm::{
    AuthInfo, AuthInfoAnswer, BackendCall, BackendEvent, Event, Field, Message, OpenId, OutTradeNo, PayAnswer, PayApi,
    PayCredential, QueryAnswer, RequestId, ReverseAnswer, TransactionId, WxTime,
};

use crate::ledger::{Ledger, PayingEnd, Trade};
use crate::rng::SimRng;
use crate::sdk::MODEL_OPENID;
use crate::stack_fmt::{dec_width, put_dec};

mod profile;
pub use profile::BackendProfile;

/// A backend answer as it travels back: compact (an authinfo is kept as the numbers its
/// text is made of); [`BackendReply::event`] builds the fsm event on delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendReply {
    /// get_wxpayface_authinfo: `issued` is `(serial, expires_at)`, or `None` for a FAIL.
    AuthInfo {
        /// Request.
        id: RequestId,
        /// What was issued.
        issued: Option<(u32, u64)>,
        /// `expires_in`, seconds.
        expires_in: u32,
    },
    /// micropay / facepay.
    Submitted {
        /// Request.
        id: RequestId,
        /// Answer.
        answer: PayAnswer,
    },
    /// orderquery.
    Queried {
        /// Request.
        id: RequestId,
        /// Answer.
        answer: QueryAnswer,
    },
    /// reverse.
    Reversed {
        /// Request.
        id: RequestId,
        /// Answer.
        answer: ReverseAnswer,
    },
}

impl BackendReply {
    /// The fsm event the terminal receives.
    pub fn event(&self) -> Event {
        // Each arm builds the whole event: a BackendEvent built first and wrapped after is
        // copied (1 KB) into the Event.
        match self {
            BackendReply::AuthInfo {
                id,
                issued: None,
                expires_in: _,
            } => Event::Backend(BackendEvent::AuthInfo {
                id: *id,
                answer: Ok(AuthInfoAnswer {
                    return_code: ReturnCode::Fail,
                    return_msg: Message::new(Field::ReturnMsg, "SYSTEMERROR").unwrap_or_default(),
                    authinfo: AuthInfo::empty(),
                    expires_in: 0,
                }),
            }),
            BackendReply::AuthInfo {
                id,
                issued: Some((serial, expires_at)),
                expires_in,
            } => {
                // "authinfo-{serial}-{expires_at}", without the formatting machinery.
                let mut b = [0u8; 9 + 10 + 1 + 20];
                b[..9].copy_from_slice(b"authinfo-");
                let mid = 9 + dec_width(u64::from(*serial), 1);
                put_dec(&mut b[9..mid], u64::from(*serial));
                b[mid] = b'-';
                let end = mid + 1 + dec_width(*expires_at, 1);
                put_dec(&mut b[mid + 1..end], *expires_at);
                let text = core::str::from_utf8(&b[..end]).unwrap_or_default();
                Event::Backend(BackendEvent::AuthInfo {
                    id: *id,
                    answer: Ok(AuthInfoAnswer {
                        return_code: ReturnCode::Success,
                        return_msg: Message::empty(),
                        authinfo: AuthInfo::new(Field::Authinfo, text).unwrap_or_default(),
                        expires_in: *expires_in,
                    }),
                })
            }
            BackendReply::Submitted { id, answer } => Event::Backend(BackendEvent::Submitted {
                id: *id,
                answer: Ok(answer.clone()),
            }),
            BackendReply::Queried { id, answer } => Event::Backend(BackendEvent::Queried {
                id: *id,
                answer: Ok(answer.clone()),
            }),
            BackendReply::Reversed { id, answer } => Event::Backend(BackendEvent::Reversed {
                id: *id,
                answer: Ok(answer.clone()),
            }),
        }
    }
}

/// A backend request as it travels (the rawdata of an authinfo call is not needed).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // boxed whole when scheduled
pub enum BackendOp {
    /// get_wxpayface_authinfo.
    AuthInfo,
    /// micropay / facepay.
    Submit {
        /// API family.
        api: PayApi,
        /// Order.
        out_trade_no: OutTradeNo,
        /// Amount, fen.
        total_fee: u32,
        /// What pays.
        credential: PayCredential,
    },
    /// orderquery / facepayquery.
    Query {
        /// API family.
        api: PayApi,
        /// Order.
        out_trade_no: OutTradeNo,
    },
    /// reverse / facepayreverse.
    Reverse {
        /// API family.
        api: PayApi,
        /// Order.
        out_trade_no: OutTradeNo,
    },
}

impl BackendOp {
    /// The request a terminal command sends.
    pub fn from_call(call: &BackendCall) -> BackendOp {
        match call {
            BackendCall::GetAuthInfo { .. } => BackendOp::AuthInfo,
            BackendCall::Submit {
                api,
                out_trade_no,
                total_fee,
                credential,
            } => BackendOp::Submit {
                api: *api,
                out_trade_no: out_trade_no.clone(),
                total_fee: *total_fee,
                credential: credential.clone(),
            },
            BackendCall::Query { api, out_trade_no } => BackendOp::Query {
                api: *api,
                out_trade_no: out_trade_no.clone(),
            },
            BackendCall::Reverse { api, out_trade_no, .. } => BackendOp::Reverse {
                api: *api,
                out_trade_no: out_trade_no.clone(),
            },
        }
    }
}

/// Reverse is allowed for 7 days after the order (docs/protocol.md §reverse).
pub const REVERSE_WINDOW_MS: u64 = 7 * 24 * 3600 * 1000;

/// The backend: its ledger and the authinfos it issued.
#[derive(Debug, Default)]
pub struct Backend {
    /// The truth about every order.
    pub ledger: Ledger,
    /// Expiry (backend ms) of the latest authinfo issued.
    pub authinfo_expires_at: u64,
    issued: u32,
}

/// Declines of a first submit (the micropay error table); the last two the machine
/// cannot tell from a second copy's answer, so it settles them by query.
const DECLINES: [PayErrCode; 5] = [
    PayErrCode::NotEnough,
    PayErrCode::AuthCodeExpire,
    PayErrCode::NotSuportCard,
    PayErrCode::BuyerMismatch,
    PayErrCode::AuthCodeInvalid,
];

/// What the second copy of a submit can hear while the first charged ([`BackendProfile::submit_twice`]).
const SECOND_COPY: [PayErrCode; 4] = [
    PayErrCode::OrderPaid,
    PayErrCode::OutTradeNoUsed,
    PayErrCode::AuthCodeError,
    PayErrCode::InvalidRequest,
];

/// The payer of the older order behind an out_trade_no collision.
const OLD_PAYER_OPENID: &str = "oUpF8uN95-Ptaags6E_roPHg7AG0";

const DAY_MS: u64 = 24 * 3600 * 1000;

/// The `yyyyMMddHHmmss` (China Standard Time, UTC+8) of backend time `ms` (Unix ms).
pub fn wx_time(ms: u64) -> WxTime {
    // 2000-01-01T00:00:00 UTC+8 is Unix 946_656_000.
    WxTime::from_secs((ms / 1000).saturating_sub(946_656_000))
}

impl Backend {
    /// Forgets everything, keeping allocations.
    pub fn clear(&mut self) {
        self.ledger.clear();
        self.authinfo_expires_at = 0;
        self.issued = 0;
    }

    /// Serves one request that arrived at backend time `now`; the answer names `id`.
    pub fn serve(&mut self, now: u64, id: RequestId, op: &BackendOp, p: &BackendProfile, rng: &mut SimRng) -> Event {
        self.serve_reply(now, id, op, p, rng).event()
    }

    /// As [`Backend::serve`], with the answer in its compact travelling form.
    pub fn serve_reply(
        &mut self,
        now: u64,
        id: RequestId,
        op: &BackendOp,
        p: &BackendProfile,
        rng: &mut SimRng,
    ) -> BackendReply {
        self.ledger.advance(now);
        match op {
            BackendOp::AuthInfo => BackendReply::AuthInfo {
                id,
                issued: self.authinfo(now, p, rng),
                expires_in: p.authinfo_expires_in,
            },
            BackendOp::Submit {
                api,
                out_trade_no,
                total_fee,
                credential,
            } => BackendReply::Submitted {
                id,
                answer: self.submit(now, *api, out_trade_no, *total_fee, credential, p, rng),
            },
            BackendOp::Query { out_trade_no, .. } => BackendReply::Queried {
                id,
                answer: self.query(out_trade_no, p, rng),
            },
            BackendOp::Reverse { api, out_trade_no } => BackendReply::Reversed {
                id,
                answer: self.reverse(now, *api, out_trade_no, p, rng),
            },
        }
    }

    fn authinfo(&mut self, now: u64, p: &BackendProfile, rng: &mut SimRng) -> Option<(u32, u64)> {
        if rng.chance(p.authinfo_error) {
            return None;
        }
        self.issued += 1;
        self.authinfo_expires_at = now + u64::from(p.authinfo_expires_in) * 1000;
        Some((self.issued, self.authinfo_expires_at))
    }

    #[allow(clippy::too_many_arguments)] // one request's fields, as they arrive
    fn submit(
        &mut self,
        now: u64,
        api: PayApi,
        otn: &OutTradeNo,
        total_fee: u32,
        credential: &PayCredential,
        p: &BackendProfile,
        rng: &mut SimRng,
    ) -> PayAnswer {
        if self.ledger.get(otn).is_none() && rng.chance(p.collision) {
            // Older than the reverse window, with another amount: only a person can sort
            // it out, and the terminal must not take the old payment for this one.
            let age = rng.range(8 * DAY_MS, 60 * DAY_MS);
            let fee = match rng.range(1, 200_000) as u32 {
                f if f == total_fee => f + 1,
                f => f,
            };
            self.ledger.open_foreign(otn, api, now, age, fee);
        }
        if let Some(e) = self.ledger.get_mut(otn) {
            // The same out_trade_no again: the backend never charges it twice.
            e.submits += 1;
            let code = match e.trade {
                Trade::Paid => PayErrCode::OrderPaid,
                Trade::ClosedUnseen | Trade::Revoked => PayErrCode::OrderReversed,
                Trade::Refunded { .. } | Trade::Failed | Trade::NotPay | Trade::NotPayYet { .. } => {
                    PayErrCode::OrderClosed
                }
                Trade::Paying { .. } => PayErrCode::UserPaying,
            };
            return fail(code);
        }
        let code = match credential {
            PayCredential::FaceCode { face_code, .. } => face_code.clone(),
            PayCredential::AuthCode(code) => code.clone(),
        };
        if !self.ledger.use_code(&code) {
            // "face_code已被使用": the credential was spent on another order.
            return fail(PayErrCode::AuthCodeInvalid);
        }
        let mut answer;
        // When the customer is charged, if ever.
        let mut charged_at = None;
        if rng.chance(p.decline) {
            let code = rng.pick(&DECLINES).clone();
            self.ledger.open(otn, api, now, Trade::Failed).submits = 1;
            answer = fail(code);
        } else if rng.chance(p.password) || rng.chance(p.slow_bank) {
            let bank = !rng.chance(p.password / (p.password + p.slow_bank).max(f64::MIN_POSITIVE));
            let until = now
                + if bank {
                    rng.range(500, 8_000)
                } else {
                    rng.range(1_000, p.password_max_ms)
                };
            let then = if bank || rng.chance(p.user_pays) {
                charged_at = Some(until);
                PayingEnd::Pays
            } else if rng.chance(0.5) {
                PayingEnd::Fails
            } else if rng.chance(p.late_pay) {
                let at = until + rng.range(1_000, 120_000);
                charged_at = Some(at);
                PayingEnd::PaysLater { at }
            } else {
                PayingEnd::Abandons
            };
            self.ledger
                .open(otn, api, now, Trade::Paying { until, then, bank })
                .submits = 1;
            answer = fail(if bank {
                PayErrCode::BankError
            } else {
                PayErrCode::UserPaying
            });
        } else {
            let paying = Trade::Paying {
                until: 0,
                then: PayingEnd::Pays,
                bank: false,
            };
            self.ledger.open(otn, api, now, paying).submits = 1;
            self.ledger.charge(otn, now);
            charged_at = Some(now);
            let txn = self.ledger.get(otn).map_or(0, |e| e.transaction);
            answer = PayAnswer {
                return_code: ReturnCode::Success,
                result_code: Some(ResultCode::Success),
                err_code: None,
                transaction_id: transaction_id(txn),
            };
        }
        let refund = match charged_at {
            Some(at) if rng.chance(p.refund) => Some((at + rng.range(1_000, 20_000), rng.chance(0.5))),
            _ => None,
        };
        if let Some(e) = self.ledger.get_mut(otn) {
            e.total_fee = total_fee;
            e.refund = refund;
        }
        if rng.chance(p.submit_error) {
            answer = if rng.chance(0.2) {
                PayAnswer {
                    return_code: ReturnCode::Fail,
                    result_code: None,
                    err_code: None,
                    transaction_id: TransactionId::empty(),
                }
            } else {
                fail(rng.pick(&[PayErrCode::SystemError, PayErrCode::BankError]).clone())
            };
        }
        if rng.chance(p.submit_twice) {
            // The terminal hears the second copy; the first did what is in the ledger.
            answer = fail(rng.pick(&SECOND_COPY).clone());
        }
        answer
    }

    fn query(&mut self, otn: &OutTradeNo, p: &BackendProfile, rng: &mut SimRng) -> QueryAnswer {
        let err = |code| QueryAnswer {
            return_code: ReturnCode::Success,
            result_code: Some(ResultCode::Fail),
            err_code: Some(code),
            trade_state: None,
            transaction_id: TransactionId::empty(),
            total_fee: None,
            time_end: None,
            openid: OpenId::empty(),
        };
        if rng.chance(p.query_error) {
            return err(QueryErrCode::SystemError);
        }
        match self.ledger.get(otn) {
            None => err(QueryErrCode::OrderNotExist),
            Some(e) => {
                // orderquery names the order's amount always, its payer and time_end
                // once paid (the orderquery response table).
                let paid = e.transaction > 0;
                let payer = if e.foreign { OLD_PAYER_OPENID } else { MODEL_OPENID };
                QueryAnswer {
                    return_code: ReturnCode::Success,
                    result_code: Some(ResultCode::Success),
                    err_code: None,
                    trade_state: Some(e.trade.trade_state()),
                    transaction_id: if paid {
                        transaction_id(e.transaction)
                    } else {
                        TransactionId::empty()
                    },
                    total_fee: (e.total_fee > 0).then_some(e.total_fee),
                    time_end: paid.then(|| wx_time(e.paid_at)),
                    openid: if paid {
                        OpenId::new(Field::Openid, payer).unwrap_or_default()
                    } else {
                        OpenId::empty()
                    },
                }
            }
        }
    }

    fn reverse(
        &mut self,
        now: u64,
        api: PayApi,
        otn: &OutTradeNo,
        p: &BackendProfile,
        rng: &mut SimRng,
    ) -> ReverseAnswer {
        let error = rng.chance(p.reverse_error);
        let recall = !error && rng.chance(p.recall);
        // With an error or recall=Y the work may or may not have been done.
        let act = !(error || recall) || rng.chance(0.5);
        let answer = match self.ledger.get(otn).map(|e| (e.trade, e.created_at)) {
            None if p.reverse_unseen_closes => {
                if act {
                    self.ledger.open(otn, api, now, Trade::ClosedUnseen);
                }
                reversed(recall)
            }
            // Nothing to close: a submit still on its way will charge.
            None => reverse_fail(ReverseErrCode::OrderNotExist),
            Some((_, created)) if now.saturating_sub(created) > REVERSE_WINDOW_MS => {
                reverse_fail(ReverseErrCode::ReverseExpire)
            }
            Some((Trade::Paying { .. }, _)) if rng.chance(p.refuse_while_paying) => {
                // "用户正在支付中的订单不允许撤销": nothing changes.
                return if error {
                    reverse_fail(ReverseErrCode::SystemError)
                } else {
                    reverse_fail(ReverseErrCode::UserPaying)
                };
            }
            // Assumption: an order the merchant already refunded cannot be reversed
            // (WeChat's TRADE_ERROR, "订单状态错误"); its money is the refund's business.
            Some((Trade::Refunded { .. }, _)) => reverse_fail(ReverseErrCode::TradeError),
            Some((trade, _)) => {
                if act && let Some(e) = self.ledger.get_mut(otn) {
                    match trade {
                        Trade::Paid => {
                            // A reverse of a paid order refunds it and shows REVOKED.
                            e.refunds += 1;
                            e.trade = Trade::Revoked;
                            e.refund = None;
                        }
                        Trade::Paying { .. } | Trade::NotPay | Trade::NotPayYet { .. } | Trade::Failed => {
                            e.trade = Trade::Revoked
                        }
                        Trade::ClosedUnseen | Trade::Revoked | Trade::Refunded { .. } => {}
                    }
                }
                reversed(recall)
            }
        };
        if error {
            reverse_fail(ReverseErrCode::SystemError)
        } else {
            answer
        }
    }
}

fn fail(code: PayErrCode) -> PayAnswer {
    PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(code),
        transaction_id: TransactionId::empty(),
    }
}

fn reversed(recall: bool) -> ReverseAnswer {
    ReverseAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        recall: Some(if recall { Recall::Y } else { Recall::N }),
    }
}

fn reverse_fail(code: ReverseErrCode) -> ReverseAnswer {
    ReverseAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Fail),
        err_code: Some(code),
        recall: Some(Recall::N),
    }
}

fn transaction_id(n: u32) -> TransactionId {
    // "42000{n:015}", without the formatting machinery (a u32 always fits 15 digits).
    let mut b = [0u8; 20];
    b[..5].copy_from_slice(b"42000");
    put_dec(&mut b[5..], u64::from(n));
    let text = core::str::from_utf8(&b).unwrap_or_default();
    TransactionId::new(Field::TransactionId, text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use facepay_fsm::codes::TradeState;

    fn otn(s: &str) -> OutTradeNo {
        OutTradeNo::new(Field::OutTradeNo, s).unwrap()
    }

    fn code(s: &str) -> PayCredential {
        PayCredential::AuthCode(facepay_fsm::AuthCode::new(Field::AuthCode, s).unwrap())
    }

    fn submit(b: &mut Backend, now: u64, o: &str, c: &str, p: &BackendProfile) -> PayAnswer {
        let op = BackendOp::Submit {
            api: PayApi::Micropay,
            out_trade_no: otn(o),
            total_fee: 100,
            credential: code(c),
        };
        match b.serve(now, RequestId(1), &op, p, &mut SimRng::new(3)) {
            Event::Backend(BackendEvent::Submitted { answer: Ok(a), .. }) => a,
            other => panic!("{other:?}"),
        }
    }

    fn reverse(b: &mut Backend, now: u64, o: &str, p: &BackendProfile) -> ReverseAnswer {
        let op = BackendOp::Reverse {
            api: PayApi::Micropay,
            out_trade_no: otn(o),
        };
        match b.serve(now, RequestId(2), &op, p, &mut SimRng::new(4)) {
            Event::Backend(BackendEvent::Reversed { answer: Ok(a), .. }) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_reverse_before_the_submit_closes_the_door() {
        let mut b = Backend::default();
        let p = BackendProfile::quiet();
        assert_eq!(reverse(&mut b, 10, "A", &p).recall, Some(Recall::N));
        let a = submit(&mut b, 20, "A", "134567890123456789", &p);
        assert_eq!(a.err_code, Some(PayErrCode::OrderReversed));
        assert!(!b.ledger.get("A").unwrap().net_charged());
    }

    #[test]
    fn a_paid_order_is_revoked_by_reverse_and_never_charged_twice() {
        let mut b = Backend::default();
        let p = BackendProfile::quiet();
        assert_eq!(
            submit(&mut b, 0, "A", "134567890123456789", &p).result_code,
            Some(ResultCode::Success)
        );
        assert_eq!(
            submit(&mut b, 1, "A", "134567890123456780", &p).err_code,
            Some(PayErrCode::OrderPaid)
        );
        assert_eq!(b.ledger.get("A").unwrap().charges, 1);
        reverse(&mut b, 20_000, "A", &p);
        let e = b.ledger.get("A").unwrap();
        assert_eq!(e.trade.trade_state(), TradeState::Revoked);
        assert!(!e.net_charged());
    }

    #[test]
    fn a_spent_code_is_refused_and_reverse_expires_after_seven_days() {
        let mut b = Backend::default();
        let p = BackendProfile::quiet();
        submit(&mut b, 0, "A", "134567890123456789", &p);
        assert_eq!(
            submit(&mut b, 5, "B", "134567890123456789", &p).err_code,
            Some(PayErrCode::AuthCodeInvalid)
        );
        assert_eq!(
            reverse(&mut b, REVERSE_WINDOW_MS + 1, "A", &p).err_code,
            Some(ReverseErrCode::ReverseExpire)
        );
    }

    #[test]
    fn reverse_is_refused_while_the_user_pays() {
        let mut b = Backend::default();
        let p = BackendProfile {
            password: 1.0,
            user_pays: 1.0,
            refuse_while_paying: 1.0,
            ..BackendProfile::quiet()
        };
        assert_eq!(
            submit(&mut b, 0, "A", "134567890123456789", &p).err_code,
            Some(PayErrCode::UserPaying)
        );
        assert_eq!(reverse(&mut b, 500, "A", &p).err_code, Some(ReverseErrCode::UserPaying));
        b.ledger.advance_to_end();
        assert!(b.ledger.get("A").unwrap().net_charged());
    }
}
