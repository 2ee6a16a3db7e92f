//! How the model backend behaves for one session: every probability, each with its
//! public source or marked as an assumption (docs/wechat-model.md).

use crate::rng::SimRng;

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
    /// A reverse of an order whose user is paying is refused (USERPAYING) rather than
    /// closing it. WeChat: always ("用户正在支付中的订单不允许撤销，请稍后再试", the reverse
    /// error table, <https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=9_11&index=3>);
    /// 1.0 in every drawn profile, lower only where a test studies a kinder backend.
    pub refuse_while_paying: f64,
    /// Of a user who walks away from the password prompt (NOTPAY): comes back and pays
    /// later, after the terminal may have seen NOTPAY ([`PayingEnd::PaysLater`](crate::ledger::PayingEnd::PaysLater)).
    pub late_pay: f64,
    /// A reverse of an order the backend has not seen closes it (a later submit gets
    /// ORDERREVERSED); otherwise it answers ORDERNOTEXIST and changes nothing, so a
    /// submit still on its way charges. Assumption: undocumented, so both are drawn.
    pub reverse_unseen_closes: bool,
    /// The submit reaches the backend twice (the merchant server re-sends after a
    /// timeout, or fails over to the backup domain api2.mch.weixin.qq.com): the first
    /// copy is processed, the terminal hears the second copy's answer — ORDERPAID,
    /// OUT_TRADE_NO_USED, AUTH_CODE_ERROR or INVALID_REQUEST. The backup domain is
    /// WeChat's own ("【备域名】`https://api2.mch.weixin.qq.com` ... 访问异地的接入点",
    /// <https://pay.weixin.qq.com/doc/v3/merchant/4013070356>); which code the second
    /// copy gets is an assumption (each is drawn).
    pub submit_twice: f64,
    /// The out_trade_no already belongs to an older order, paid by someone else
    /// (`Ledger::open_foreign`): the submit answers ORDERPAID and a query reports
    /// the old order's SUCCESS, total_fee, openid and time_end.
    pub collision: f64,
    /// A charged order is refunded by the merchant's back office within seconds
    /// (whole or in part: [`Trade::Refunded`](crate::ledger::Trade::Refunded)).
    pub refund: f64,
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
            refuse_while_paying: 1.0,
            late_pay: 0.3,
            reverse_unseen_closes: true,
            submit_twice: 0.01,
            collision: 0.002,
            refund: 0.002,
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
            late_pay: 0.0,
            submit_twice: 0.0,
            collision: 0.0,
            refund: 0.0,
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
            refuse_while_paying: 1.0,
            authinfo_expires_in: *rng.pick(&[3600, 3300, 600]),
            authinfo_error: rng.swarm_probability(),
            late_pay: rng.swarm_probability(),
            reverse_unseen_closes: rng.chance(0.5),
            submit_twice: rng.swarm_probability(),
            collision: rng.swarm_probability() / 4.0,
            refund: rng.swarm_probability() / 4.0,
        }
    }
}
