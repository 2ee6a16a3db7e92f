//! Simulated seed apps: cashier apps written for the APICloud `wxFacePay` module, calling
//! facepay through its seed-compatible facade (`facepay-facade`) the way real APICloud /
//! uni-app code does, under the same world, faults and power losses as the machine alone.
//!
//! # How an app is driven
//!
//! [`AppStrategy`] is a terminal [`Strategy`](crate::terminal::Strategy): the cashier (the person at the till) still
//! asks for a start, an order, a member lookup or a release; the app turns each into seed
//! calls (`initWxpayface`, `getWxpayfaceCode`, `micropay`, ...), the facade routes them to
//! the real machine, and the app reads the answers. The machine's own conclusion notice of
//! an order the app took is **replaced by the app's verdict** — what the app was told and
//! shows the customer — so the checker's money properties (charged but told unpaid, told
//! paid but not charged, asked to pay again) are checked against the app's view (docs/design.md §safety,
//! property 8). Other notices (Ready, Released, ...) pass through; an order the app
//! did not take (resumed from the journal after a power loss, which the new app process
//! never saw) keeps the machine's notice, as the listener would show it.
//!
//! Every call must be answered within [`facepay_facade::answer_bound_ms`]: a late answer,
//! or a call still unanswered when the session ends, is a [`Violation::AppCallUnanswered`](crate::checker::Violation::AppCallUnanswered).

use std::collections::VecDeque;

use facepay_facade::{Answer, Operation, Params, Token, Value};
use facepay_fsm::{Instant, OrderRequest, Outcome};

pub mod discount;
pub mod documented;
mod driver;
pub mod historian;
pub mod impatient;
pub mod releasing;
pub mod retrying;

pub use driver::AppStrategy;

/// The seed apps there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppKind {
    /// init → rawdata → authinfo → getWxpayfaceCode → micropay → orderquery polling →
    /// reverse on its own timeout → updateWxpayfacePayResult → release ([`documented`]).
    Documented,
    /// Calls `reverse` itself 10 s after micropay if micropay has not answered ([`impatient`]).
    Impatient,
    /// Calls getWxpayfaceCode again after any `status: false` ([`retrying`]).
    Retrying,
    /// Gives a member discount at micropay: another total_fee ([`discount`]).
    Discount,
    /// Calls releaseWxpayface mid-order, and again ([`releasing`]).
    Releasing,
    /// Queries and reverses its older orders after new ones started ([`historian`]).
    Historian,
}

impl AppKind {
    /// Every app, in table order.
    pub const ALL: [AppKind; 6] = [
        AppKind::Documented,
        AppKind::Impatient,
        AppKind::Retrying,
        AppKind::Discount,
        AppKind::Releasing,
        AppKind::Historian,
    ];

    /// Its short name (`run --app NAME`).
    pub const fn name(self) -> &'static str {
        match self {
            AppKind::Documented => "app-documented",
            AppKind::Impatient => "app-impatient-reverse",
            AppKind::Retrying => "app-retry-on-false",
            AppKind::Discount => "app-discount-at-micropay",
            AppKind::Releasing => "app-release-mid-order",
            AppKind::Historian => "app-old-order-lookups",
        }
    }

    /// The app of that name (with or without the `app-` prefix).
    pub fn from_name(name: &str) -> Option<AppKind> {
        AppKind::ALL
            .into_iter()
            .find(|k| k.name() == name || k.name().strip_prefix("app-") == Some(name))
    }

    fn make(self) -> Box<dyn SeedApp> {
        match self {
            AppKind::Documented => Box::<documented::Documented>::default(),
            AppKind::Impatient => Box::<impatient::Impatient>::default(),
            AppKind::Retrying => Box::<retrying::Retrying>::default(),
            AppKind::Discount => Box::<discount::Discount>::default(),
            AppKind::Releasing => Box::<releasing::Releasing>::default(),
            AppKind::Historian => Box::<historian::Historian>::default(),
        }
    }
}

/// What an app can do when it runs: call the facade, tell the customer an order's
/// outcome, and read the time.
pub struct Ctx<'a> {
    now: Instant,
    next_token: &'a mut Token,
    calls: &'a mut VecDeque<(Token, Operation, Params)>,
    verdicts: &'a mut Vec<(String, Outcome)>,
}

impl Ctx<'_> {
    /// The terminal's time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Calls `op` with `params`; the answer comes to [`SeedApp::answer`] with this token.
    pub fn call(&mut self, op: Operation, params: Params) -> Token {
        let t = *self.next_token;
        *self.next_token += 1;
        self.calls.push_back((t, op, params));
        t
    }

    /// Tells the customer the order's outcome (what the till shows; once per order).
    pub fn tell(&mut self, out_trade_no: &str, outcome: Outcome) {
        self.verdicts.push((out_trade_no.to_owned(), outcome));
    }
}

/// One seed app: a script reacting to the cashier and to the facade's answers.
pub trait SeedApp: Send {
    /// The cashier rang up `order`: the app starts paying it (its first call must be
    /// `getWxpayfaceCode`, made at once).
    fn order(&mut self, ctx: &mut Ctx<'_>, order: &OrderRequest);
    /// The app's call `token` (`op`) was answered.
    fn answer(&mut self, ctx: &mut Ctx<'_>, token: Token, op: Operation, answer: &Answer);
    /// The app's own timer fired.
    fn timer(&mut self, _ctx: &mut Ctx<'_>) {}
    /// When the app's own timer fires next.
    fn next_timer(&self) -> Option<Instant> {
        None
    }
}

/// A string parameter.
pub fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

/// A request map.
pub fn params(pairs: &[(&str, Value)]) -> Params {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

/// getWxpayfaceCode's parameters for `o`, as the seed's sample passes them.
pub fn code_params(o: &OrderRequest) -> Params {
    params(&[
        ("face_authtype", s("FACEPAY")),
        ("out_trade_no", s(&o.out_trade_no)),
        ("total_fee", s(&o.total_fee.to_string())),
        ("face_code_type", s(o.face_code_type.as_str())),
        (
            "ignore_update_pay_result",
            s(if o.ignore_update_pay_result { "1" } else { "0" }),
        ),
    ])
}

/// What a micropay answer tells the app, by the facade's contract: paid, surely not
/// paid, "a person must look", or nothing yet (ask orderquery).
pub fn micropay_verdict(a: &Answer) -> Option<Outcome> {
    if a.status() {
        return Some(Outcome::Paid);
    }
    match a.error_code() {
        Some("NOT_PAID" | "NOT_SUBMITTED") => Some(Outcome::NotPaid),
        Some("REVERSED") => Some(Outcome::Reversed),
        Some("NEEDS_RECONCILIATION") => Some(Outcome::NeedsReconciliation),
        _ => None,
    }
}

/// What an orderquery answer tells the app: its `facepay_state`, or the backend's own
/// `trade_state`; `None` while nothing is known.
pub fn query_verdict(a: &Answer) -> Option<Outcome> {
    if !a.status() {
        return match a.error_code() {
            Some("NEEDS_RECONCILIATION") => Some(Outcome::NeedsReconciliation),
            _ => None,
        };
    }
    match (a.get("facepay_state"), a.get("trade_state")) {
        (Some("PAID"), _) | (_, Some("SUCCESS")) => Some(Outcome::Paid),
        (Some("NOT_PAID" | "NOT_SUBMITTED"), _) => Some(Outcome::NotPaid),
        (Some("REVERSED"), _) => Some(Outcome::Reversed),
        (Some("NEEDS_RECONCILIATION"), _) => Some(Outcome::NeedsReconciliation),
        _ => None,
    }
}
