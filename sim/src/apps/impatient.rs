//! App 2, impatient: it calls `reverse` itself 10 s after micropay if micropay has not
//! answered yet (a common pattern in cashier code; assumption: 10 s, as the issue says).
//! The facade's reverse never sends anything the machine would not: it answers with what
//! the machine's own reverse rules made of the order.

use facepay_facade::{Answer, Operation, Token};
use facepay_fsm::{Duration, Instant, OrderRequest, Outcome};

use super::{Ctx, SeedApp, code_params, micropay_verdict, params, query_verdict, s};

const IMPATIENCE_MS: u32 = 10_000;

/// The impatient app.
#[derive(Debug, Default)]
pub struct Impatient {
    otn: String,
    fee: u32,
    reverse_at: Option<Instant>,
    told: bool,
}

impl Impatient {
    fn tell(&mut self, ctx: &mut Ctx<'_>, v: Outcome) {
        if !self.told {
            self.told = true;
            self.reverse_at = None;
            ctx.tell(&self.otn, v);
        }
    }
}

impl SeedApp for Impatient {
    fn order(&mut self, ctx: &mut Ctx<'_>, order: &OrderRequest) {
        *self = Impatient {
            otn: order.out_trade_no.to_string(),
            fee: order.total_fee,
            ..Impatient::default()
        };
        ctx.call(Operation::GetWxpayfaceCode, code_params(order));
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
                self.reverse_at = Some(ctx.now() + Duration(IMPATIENCE_MS));
            }
            Operation::GetWxpayfaceCode => self.tell(ctx, Outcome::NotPaid),
            Operation::Micropay => {
                if let Some(v) = micropay_verdict(a) {
                    self.tell(ctx, v);
                } else if !self.told {
                    ctx.call(Operation::Orderquery, params(&[("out_trade_no", s(&self.otn))]));
                }
            }
            Operation::Orderquery => {
                if let Some(v) = query_verdict(a) {
                    self.tell(ctx, v);
                }
            }
            Operation::Reverse => {
                let v = if a.status() {
                    Outcome::Reversed
                } else if a.error_code() == Some("ORDER_PAID") {
                    Outcome::Paid
                } else {
                    Outcome::NeedsReconciliation
                };
                self.tell(ctx, v);
            }
            _ => {}
        }
    }

    fn timer(&mut self, ctx: &mut Ctx<'_>) {
        self.reverse_at = None;
        ctx.call(Operation::Reverse, params(&[("out_trade_no", s(&self.otn))]));
    }

    fn next_timer(&self) -> Option<Instant> {
        self.reverse_at
    }
}
