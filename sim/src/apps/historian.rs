//! App 6: when a new order starts, looks its older orders up again — orderquery, then
//! reverse "to be sure" — as end-of-shift reconciliation screens do (assumption). What
//! it reads of an older order must agree with what it told the customer then.

use facepay_facade::{Answer, Operation, Token};
use facepay_fsm::{OrderRequest, Outcome};

use super::{Ctx, SeedApp, code_params, micropay_verdict, params, query_verdict, s};

/// How many older orders it looks up.
const LOOKBACK: usize = 3;

/// The historian app.
#[derive(Debug, Default)]
pub struct Historian {
    otn: String,
    fee: u32,
    told: bool,
    older: Vec<String>,
    lookups: Vec<(Token, String)>,
}

impl Historian {
    fn tell(&mut self, ctx: &mut Ctx<'_>, v: Outcome) {
        if !self.told {
            self.told = true;
            ctx.tell(&self.otn, v);
        }
    }
}

impl SeedApp for Historian {
    fn order(&mut self, ctx: &mut Ctx<'_>, order: &OrderRequest) {
        if !self.otn.is_empty() {
            self.older.push(std::mem::take(&mut self.otn));
        }
        self.otn = order.out_trade_no.to_string();
        self.fee = order.total_fee;
        self.told = false;
        ctx.call(Operation::GetWxpayfaceCode, code_params(order));
        let skip = self.older.len().saturating_sub(LOOKBACK);
        for old in self.older.iter().skip(skip) {
            let p = params(&[("out_trade_no", s(old))]);
            let q = ctx.call(Operation::Orderquery, p.clone());
            let r = ctx.call(Operation::Reverse, p);
            self.lookups.push((q, old.clone()));
            self.lookups.push((r, old.clone()));
        }
    }

    fn answer(&mut self, ctx: &mut Ctx<'_>, token: Token, op: Operation, a: &Answer) {
        if let Some(i) = self.lookups.iter().position(|(t, _)| *t == token) {
            let (_, old) = self.lookups.swap_remove(i);
            // What it reads now must agree with what it said then (the strategy checks).
            let now_reads = match op {
                Operation::Orderquery => query_verdict(a),
                _ if a.error_code() == Some("ORDER_PAID") => Some(Outcome::Paid),
                _ if a.status() => a.get("facepay_state").and_then(|st| match st {
                    "REVERSED" => Some(Outcome::Reversed),
                    "NOT_PAID" | "NOT_SUBMITTED" => Some(Outcome::NotPaid),
                    _ => None,
                }),
                _ => None,
            };
            if let Some(v) = now_reads {
                ctx.tell(&old, v);
            }
            return;
        }
        match op {
            Operation::GetWxpayfaceCode if a.status() => {
                let credential = a.get("auth_code").filter(|c| !c.is_empty()).or(a.get("face_code"));
                ctx.call(
                    Operation::Micropay,
                    params(&[
                        ("out_trade_no", s(&self.otn)),
                        ("total_fee", s(&self.fee.to_string())),
                        ("auth_code", s(credential.unwrap_or_default())),
                    ]),
                );
            }
            Operation::GetWxpayfaceCode => self.tell(ctx, Outcome::NotPaid),
            Operation::Micropay => match micropay_verdict(a) {
                Some(v) => self.tell(ctx, v),
                None => {
                    ctx.call(Operation::Orderquery, params(&[("out_trade_no", s(&self.otn))]));
                }
            },
            Operation::Orderquery => {
                if let Some(v) = query_verdict(a) {
                    self.tell(ctx, v);
                }
            }
            _ => {}
        }
    }
}
