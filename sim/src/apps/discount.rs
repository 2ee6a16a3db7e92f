//! App 4: identifies the member at getWxpayfaceCode and gives a 10% discount at micropay,
//! passing another `total_fee` than the one the order was started with. The facade's
//! contract: micropay answers `ORDER_MISMATCH` (nothing more is sent) with the amount
//! really submitted, and the app reads the order's outcome with orderquery.

use facepay_facade::{Answer, Operation, Token};
use facepay_fsm::{OrderRequest, Outcome};

use super::{Ctx, SeedApp, code_params, micropay_verdict, params, query_verdict, s};

/// The discounting app.
#[derive(Debug, Default)]
pub struct Discount {
    otn: String,
    fee: u32,
    told: bool,
}

impl Discount {
    fn tell(&mut self, ctx: &mut Ctx<'_>, v: Outcome) {
        if !self.told {
            self.told = true;
            ctx.tell(&self.otn, v);
        }
    }
}

impl SeedApp for Discount {
    fn order(&mut self, ctx: &mut Ctx<'_>, order: &OrderRequest) {
        *self = Discount {
            otn: order.out_trade_no.to_string(),
            fee: order.total_fee,
            told: false,
        };
        ctx.call(Operation::GetWxpayfaceCode, code_params(order));
    }

    fn answer(&mut self, ctx: &mut Ctx<'_>, _token: Token, op: Operation, a: &Answer) {
        match op {
            Operation::GetWxpayfaceCode if a.status() => {
                let discounted = (self.fee - self.fee / 10).max(1);
                let credential = a.get("auth_code").filter(|c| !c.is_empty()).or(a.get("face_code"));
                ctx.call(
                    Operation::Micropay,
                    params(&[
                        ("out_trade_no", s(&self.otn)),
                        ("total_fee", s(&discounted.to_string())),
                        ("auth_code", s(credential.unwrap_or_default())),
                    ]),
                );
            }
            Operation::GetWxpayfaceCode => self.tell(ctx, Outcome::NotPaid),
            Operation::Micropay => match micropay_verdict(a) {
                Some(v) => self.tell(ctx, v),
                // ORDER_MISMATCH (or no outcome yet): the order's own outcome.
                None => {
                    ctx.call(Operation::Orderquery, params(&[("out_trade_no", s(&self.otn))]));
                }
            },
            Operation::Orderquery => match query_verdict(a) {
                Some(v) => self.tell(ctx, v),
                None if !self.told => {
                    ctx.call(Operation::Orderquery, params(&[("out_trade_no", s(&self.otn))]));
                }
                None => {}
            },
            _ => {}
        }
    }
}
