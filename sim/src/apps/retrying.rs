//! App 3: retries getWxpayfaceCode, with the same order, after any `status: false`
//! (twice), then tells the customer the payment failed. Safe only because the facade
//! says `status: false` solely for an order nothing was submitted for.

use facepay_facade::{Answer, Operation, Params, Token};
use facepay_fsm::{OrderRequest, Outcome};

use super::{Ctx, SeedApp, code_params, micropay_verdict, params, query_verdict, s};

const RETRIES: u32 = 2;

/// The retrying app.
#[derive(Debug, Default)]
pub struct Retrying {
    otn: String,
    fee: u32,
    code: Params,
    retries: u32,
    told: bool,
}

impl Retrying {
    fn tell(&mut self, ctx: &mut Ctx<'_>, v: Outcome) {
        if !self.told {
            self.told = true;
            ctx.tell(&self.otn, v);
        }
    }
}

impl SeedApp for Retrying {
    fn order(&mut self, ctx: &mut Ctx<'_>, order: &OrderRequest) {
        *self = Retrying {
            otn: order.out_trade_no.to_string(),
            fee: order.total_fee,
            code: code_params(order),
            ..Retrying::default()
        };
        ctx.call(Operation::GetWxpayfaceCode, self.code.clone());
    }

    fn answer(&mut self, ctx: &mut Ctx<'_>, _token: Token, op: Operation, a: &Answer) {
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
            Operation::GetWxpayfaceCode if self.retries < RETRIES && !self.told => {
                self.retries += 1;
                ctx.call(Operation::GetWxpayfaceCode, self.code.clone());
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
