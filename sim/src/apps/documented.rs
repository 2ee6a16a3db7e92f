//! App 1, the documented flow (the module doc's order,
//! <https://developer.yonyou.com/docs/Client-API/Open-SDK/wxFacePay>, and WeChat's face-pay
//! sequence, <https://pay.weixin.qq.com/wiki/doc/wxfacepay/develop/android/facepay.html>):
//! init → getWxpayfaceRawdata → getWxpayFaceAuthInfo → getWxpayfaceCode → micropay →
//! orderquery polling while the outcome is unknown → reverse on its own timeout →
//! updateWxpayfacePayResult. Every `status: false` of getWxpayfaceCode is read as "not
//! paid", as the seed's sample does.

use facepay_facade::{Answer, Operation, Token};
use facepay_fsm::{Instant, OrderRequest, Outcome};

use super::{Ctx, SeedApp, code_params, micropay_verdict, params, query_verdict, s};

/// Polls of orderquery before the app reverses by itself: 30 s, WeChat's advice for
/// micropay (<https://pay.weixin.qq.com/wiki/doc/api/wxpay/ch/pay/QuickPay/chapter3_3.shtml>).
const POLLS: u32 = 6;
const POLL_MS: u64 = 5_000;

/// The order in hand.
#[derive(Debug, Default)]
struct Flow {
    otn: String,
    fee: u32,
    polls: u32,
    poll_at: Option<Instant>,
    told: bool,
}

/// The documented flow.
#[derive(Debug, Default)]
pub struct Documented {
    flow: Option<Flow>,
    authinfo: Option<String>,
}

impl Documented {
    fn tell(&mut self, ctx: &mut Ctx<'_>, outcome: Outcome) {
        let Some(f) = self.flow.as_mut().filter(|f| !f.told) else {
            return;
        };
        f.told = true;
        f.poll_at = None;
        ctx.tell(&f.otn, outcome);
        let payresult = match outcome {
            Outcome::Paid => "SUCCESS",
            Outcome::NotPaid | Outcome::Reversed => "ERROR",
            Outcome::NeedsReconciliation => return,
        };
        ctx.call(
            Operation::UpdateWxpayfacePayResult,
            params(&[("payresult", s(payresult))]),
        );
    }
}

impl SeedApp for Documented {
    fn order(&mut self, ctx: &mut Ctx<'_>, order: &OrderRequest) {
        let mut p = code_params(order);
        if let Some(a) = &self.authinfo {
            p.push(("authinfo".into(), s(a)));
        }
        ctx.call(Operation::GetWxpayfaceCode, p);
        self.flow = Some(Flow {
            otn: order.out_trade_no.to_string(),
            fee: order.total_fee,
            ..Flow::default()
        });
    }

    fn answer(&mut self, ctx: &mut Ctx<'_>, _token: Token, op: Operation, a: &Answer) {
        match op {
            Operation::InitWxpayface if a.status() => {
                ctx.call(Operation::GetWxpayfaceRawdata, Vec::new());
            }
            Operation::GetWxpayfaceRawdata if a.status() => {
                ctx.call(Operation::GetWxpayFaceAuthInfo, Vec::new());
            }
            Operation::GetWxpayFaceAuthInfo if a.status() => self.authinfo = a.get("authinfo").map(str::to_owned),
            Operation::GetWxpayfaceCode => match self.flow.as_ref() {
                Some(f) if a.status() => {
                    let credential = a.get("auth_code").filter(|c| !c.is_empty()).or(a.get("face_code"));
                    let p = params(&[
                        ("out_trade_no", s(&f.otn)),
                        ("total_fee", s(&f.fee.to_string())),
                        ("auth_code", s(credential.unwrap_or_default())),
                    ]);
                    ctx.call(Operation::Micropay, p);
                }
                Some(_) => self.tell(ctx, Outcome::NotPaid),
                None => {}
            },
            Operation::Micropay => match micropay_verdict(a) {
                Some(v) => self.tell(ctx, v),
                None => {
                    if let Some(f) = self.flow.as_mut() {
                        f.poll_at = Some(ctx.now() + facepay_fsm::Duration(POLL_MS as u32));
                    }
                }
            },
            Operation::Orderquery => match query_verdict(a) {
                Some(v) => self.tell(ctx, v),
                None => {
                    if let Some(f) = self.flow.as_mut().filter(|f| !f.told) {
                        f.poll_at = Some(ctx.now() + facepay_fsm::Duration(POLL_MS as u32));
                    }
                }
            },
            Operation::Reverse => {
                let v = if a.status() {
                    Outcome::Reversed
                } else if a.error_code() == Some("ORDER_PAID") {
                    Outcome::Paid
                } else {
                    // The reverse failed: the money may have moved.
                    Outcome::NeedsReconciliation
                };
                self.tell(ctx, v);
            }
            _ => {}
        }
    }

    fn timer(&mut self, ctx: &mut Ctx<'_>) {
        let Some(f) = self.flow.as_mut() else { return };
        f.poll_at = None;
        f.polls += 1;
        let p = params(&[("out_trade_no", s(&f.otn))]);
        if f.polls > POLLS {
            ctx.call(Operation::Reverse, p);
        } else {
            ctx.call(Operation::Orderquery, p);
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        self.flow.as_ref().and_then(|f| f.poll_at)
    }
}
