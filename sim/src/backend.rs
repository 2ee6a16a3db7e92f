//! The model WeChat Pay backend (v2 APIs behind the merchant's server): authinfo, submit
//! (micropay / facepay), orderquery, reverse. It decides what really happens to the money
//! in its [`Ledger`], then answers — and the answer may hide what happened (SYSTEMERROR,
//! BANKERROR), exactly the ambiguity the terminal must survive.

use facepay_fsm::codes::{PayErrCode, QueryErrCode, Recall, ResultCode, ReturnCode, ReverseErrCode};
use facepay_fsm::{
    AuthInfo, AuthInfoAnswer, BackendCall, BackendEvent, Event, Field, Message, OutTradeNo, PayAnswer, PayApi,
    PayCredential, QueryAnswer, RequestId, ReverseAnswer, TransactionId,
};

use crate::ledger::{Ledger, PayingEnd, Trade};
use crate::rng::SimRng;
use crate::stack_fmt::{dec_width, put_dec};

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
                credential,
                ..
            } => BackendOp::Submit {
                api: *api,
                out_trade_no: out_trade_no.clone(),
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

/// How the backend behaves for one session: drawn per seed in swarm mode.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct BackendProfile {
    /// A submit asks for a password (USERPAYING).
    pub password: f64,
    /// A submit goes to a slow bank (settles seconds later, query shows ACCEPT).
    pub slow_bank: f64,
    /// A submit fails for good (NOTENOUGH, AUTHCODEEXPIRE, ...).
    pub decline: f64,
    /// Of a password prompt: the user pays (else fails or walks away, evenly).
    pub user_pays: f64,
    /// Longest time a user takes at the password prompt, ms.
    pub password_max_ms: u64,
    /// A submit answers SYSTEMERROR / BANKERROR whatever happened inside.
    pub submit_error: f64,
    /// A query answers SYSTEMERROR.
    pub query_error: f64,
    /// A reverse answers SYSTEMERROR (having done its work, or not).
    pub reverse_error: f64,
    /// A reverse answers recall=Y (call again), having done its work or not.
    pub recall: f64,
    /// A reverse of an order whose user is paying is refused (USERPAYING) rather than closing it.
    pub refuse_while_paying: f64,
    /// `expires_in` of an authinfo, seconds.
    pub authinfo_expires_in: u32,
    /// The authinfo call fails (return_code FAIL).
    pub authinfo_error: f64,
}

impl Default for BackendProfile {
    fn default() -> Self {
        BackendProfile {
            password: 0.15,
            slow_bank: 0.05,
            decline: 0.08,
            user_pays: 0.6,
            password_max_ms: 90_000,
            submit_error: 0.05,
            query_error: 0.05,
            reverse_error: 0.05,
            recall: 0.1,
            refuse_while_paying: 0.7,
            authinfo_expires_in: 3600,
            authinfo_error: 0.02,
        }
    }
}

impl BackendProfile {
    /// A backend that answers every call cleanly: no password, no slow bank, no decline, no
    /// errors, no recall (tests set the one behaviour they study on top of it).
    pub fn quiet() -> Self {
        BackendProfile {
            password: 0.0,
            slow_bank: 0.0,
            decline: 0.0,
            submit_error: 0.0,
            query_error: 0.0,
            reverse_error: 0.0,
            recall: 0.0,
            authinfo_error: 0.0,
            ..BackendProfile::default()
        }
    }

    /// A profile drawn for swarm testing: every behaviour gets its own probability.
    pub fn swarm(rng: &mut SimRng) -> Self {
        BackendProfile {
            password: rng.swarm_probability(),
            slow_bank: rng.swarm_probability(),
            decline: rng.swarm_probability(),
            user_pays: rng.range(0, 100) as f64 / 100.0,
            password_max_ms: *rng.pick(&[5_000, 30_000, 90_000, 300_000]),
            submit_error: rng.swarm_probability(),
            query_error: rng.swarm_probability(),
            reverse_error: rng.swarm_probability(),
            recall: rng.swarm_probability(),
            refuse_while_paying: rng.range(0, 100) as f64 / 100.0,
            authinfo_expires_in: *rng.pick(&[3600, 3300, 600]),
            authinfo_error: rng.swarm_probability(),
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

const DECLINES: [PayErrCode; 5] = [
    PayErrCode::NotEnough,
    PayErrCode::AuthCodeExpire,
    PayErrCode::NotSuportCard,
    PayErrCode::BuyerMismatch,
    PayErrCode::AuthCodeInvalid,
];

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
                credential,
            } => BackendReply::Submitted {
                id,
                answer: self.submit(now, *api, out_trade_no, credential, p, rng),
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

    fn submit(
        &mut self,
        now: u64,
        api: PayApi,
        otn: &OutTradeNo,
        credential: &PayCredential,
        p: &BackendProfile,
        rng: &mut SimRng,
    ) -> PayAnswer {
        if let Some(e) = self.ledger.get_mut(otn) {
            // The same out_trade_no again: the backend never charges it twice.
            e.submits += 1;
            let code = match e.trade {
                Trade::Paid => PayErrCode::OrderPaid,
                Trade::ClosedUnseen | Trade::Revoked => PayErrCode::OrderReversed,
                Trade::Refunded | Trade::Failed | Trade::NotPay => PayErrCode::OrderClosed,
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
        if rng.chance(p.decline) {
            let code = rng.pick(&DECLINES).clone();
            self.ledger.open(otn, api, now, Trade::Failed).submits = 1;
            answer = fail(code);
        } else if rng.chance(p.password) || rng.chance(p.slow_bank) {
            let bank = !rng.chance(p.password / (p.password + p.slow_bank).max(f64::MIN_POSITIVE));
            let then = if bank || rng.chance(p.user_pays) {
                PayingEnd::Pays
            } else if rng.chance(0.5) {
                PayingEnd::Fails
            } else {
                PayingEnd::Abandons
            };
            let until = now
                + if bank {
                    rng.range(500, 8_000)
                } else {
                    rng.range(1_000, p.password_max_ms)
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
            self.ledger
                .open(
                    otn,
                    api,
                    now,
                    Trade::Paying {
                        until: 0,
                        then: PayingEnd::Pays,
                        bank: false,
                    },
                )
                .submits = 1;
            self.ledger.charge(otn);
            let txn = self.ledger.get(otn).map_or(0, |e| e.transaction);
            answer = PayAnswer {
                return_code: ReturnCode::Success,
                result_code: Some(ResultCode::Success),
                err_code: None,
                transaction_id: transaction_id(txn),
            };
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
        answer
    }

    fn query(&mut self, otn: &OutTradeNo, p: &BackendProfile, rng: &mut SimRng) -> QueryAnswer {
        let err = |code| QueryAnswer {
            return_code: ReturnCode::Success,
            result_code: Some(ResultCode::Fail),
            err_code: Some(code),
            trade_state: None,
            transaction_id: TransactionId::empty(),
        };
        if rng.chance(p.query_error) {
            return err(QueryErrCode::SystemError);
        }
        match self.ledger.get(otn) {
            None => err(QueryErrCode::OrderNotExist),
            Some(e) => QueryAnswer {
                return_code: ReturnCode::Success,
                result_code: Some(ResultCode::Success),
                err_code: None,
                trade_state: Some(e.trade.trade_state()),
                transaction_id: if e.transaction > 0 {
                    transaction_id(e.transaction)
                } else {
                    TransactionId::empty()
                },
            },
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
            None => {
                if act {
                    self.ledger.open(otn, api, now, Trade::ClosedUnseen);
                }
                reversed(recall)
            }
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
            Some((trade, _)) => {
                if act && let Some(e) = self.ledger.get_mut(otn) {
                    match trade {
                        Trade::Paid => {
                            e.refunds += 1;
                            e.trade = Trade::Refunded;
                        }
                        Trade::Paying { .. } | Trade::NotPay | Trade::Failed => e.trade = Trade::Revoked,
                        Trade::ClosedUnseen | Trade::Revoked | Trade::Refunded => {}
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
    fn a_paid_order_is_refunded_by_reverse_and_never_charged_twice() {
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
        assert_eq!(e.trade.trade_state(), TradeState::Refund);
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
