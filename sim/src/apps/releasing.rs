//! App 5: calls releaseWxpayface in the middle of an order, and again — during the face
//! scan on some terminals, after getWxpayfaceCode answered (while the order settles) on
//! others, by the terminal's order-number prefix (assumption: both happen in shipped apps
//! that release on a screen change). A
//! release while money may move is refused (`SETTLING`); one during the scan ends the
//! order before anything is submitted.

use facepay_facade::{Answer, Operation, Token};
use facepay_fsm::{OrderRequest, Outcome};

use super::{Ctx, SeedApp, code_params, micropay_verdict, params, query_verdict, s};

/// The releasing app.
#[derive(Debug, Default)]
pub struct Releasing {
    during_scan: bool,
    otn: String,
    fee: u32,
    told: bool,
}

impl Releasing {
    fn tell(&mut self, ctx: &mut Ctx<'_>, v: Outcome) {
        if !self.told {
            self.told = true;
            ctx.tell(&self.otn, v);
        }
    }
}

impl SeedApp for Releasing {
    fn order(&mut self, ctx: &mut Ctx<'_>, order: &OrderRequest) {
        self.otn = order.out_trade_no.to_string();
        // Half the terminals, by a digit of their order-number prefix.
        self.during_scan = self.otn.bytes().rev().nth(2).is_some_and(|b| b % 2 == 0);
        self.fee = order.total_fee;
        self.told = false;
        ctx.call(Operation::GetWxpayfaceCode, code_params(order));
        if self.during_scan {
            ctx.call(Operation::ReleaseWxpayface, Vec::new());
            ctx.call(Operation::ReleaseWxpayface, Vec::new());
        }
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
                if !self.during_scan {
                    ctx.call(Operation::ReleaseWxpayface, Vec::new());
                    ctx.call(Operation::ReleaseWxpayface, Vec::new());
                }
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
