//! The cashier: the app in front of the session. It starts the face service, maybe looks
//! a member up, takes one purchase (a new out_trade_no per attempt, as long as the
//! customer is patient and the last attempt provably did not charge), and releases. A
//! later issue can add other strategies (peer terminals) beside this one.

use facepay_fsm::{
    AppEvent, AuthCode, DiagnosticKind, Event, FaceAuthType, FaceCodeType, Field, InitParams, MchId, Merchant, Notice,
    OrderCredential, OrderRequest, OutTradeNo, Outcome, Refusal, ScreenIndex, SdkVersion, StoreId, UserInfoRequest,
};

use crate::rng::SimRng;
use crate::stack_fmt::{dec_width, put_dec, put_hex};

/// What this cashier will do in the session.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CashierScript {
    /// Orders the customer will attempt for the one purchase (1–3).
    pub patience: u8,
    /// Look the member up by face before paying.
    pub identify_first: bool,
    /// Which API pays the face_code.
    pub face_code_type: FaceCodeType,
    /// Tell the face app the terminal will not report the pay result.
    pub ignore_update_pay_result: bool,
    /// The price, in fen.
    pub total_fee: u32,
    /// Chance, per order, that the cashier presses Cancel or Release at a random moment.
    pub meddle: f64,
    /// How the customer pays (issue 16): by face, or with a payment code and no face.
    pub payment: Payment,
    /// Chance, per retry of a code order, that the customer shows the code they showed
    /// before (the wallet did not refresh it; assumption). It is never submitted twice.
    pub same_code_again: f64,
    /// The face app's version as the host read it and reports at start (`None`: the host
    /// cannot read it; the policy's `sdk_version` stands).
    pub reports_version: Option<SdkVersion>,
}

/// How the customer pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Payment {
    /// getWxpayfaceCode (and the code scanner if the customer picks SCAN_PAYMENT).
    Face,
    /// The cashier reads the customer's 付款码 with the hand scanner: no face step.
    HandScanner,
    /// The face app's code scanner reads the 付款码 at once: no face step.
    CodeScanner,
}

impl CashierScript {
    /// A script drawn from `rng`.
    pub fn draw(rng: &mut SimRng) -> Self {
        CashierScript {
            patience: rng.range(1, 3) as u8,
            identify_first: rng.chance(0.1),
            face_code_type: if rng.chance(0.7) {
                FaceCodeType::Micropay
            } else {
                FaceCodeType::Facepay
            },
            ignore_update_pay_result: rng.chance(0.2),
            total_fee: rng.range(1, 200_000) as u32,
            meddle: 0.05,
            payment: Payment::Face,
            same_code_again: 0.0,
            reports_version: None,
        }
    }

    /// Draws how the customer pays: most by face, the others with a payment code and no
    /// face step (assumption: a till's mix; no public figure exists). Drawn after every
    /// other figure of the session, so those stay what they were.
    pub fn draw_payment(&mut self, rng: &mut SimRng) {
        let r = rng.below(100);
        self.payment = if r < 70 {
            Payment::Face
        } else if r < 85 {
            Payment::HandScanner
        } else {
            Payment::CodeScanner
        };
        self.same_code_again = 0.05;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    Start,
    Identify,
    Order,
    Release,
    Done,
}

/// What the cashier does when its wake-up comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// The next step of the script (stale unless `generation` is current).
    Next {
        /// Which scheduling this is.
        generation: u32,
    },
    /// Press Cancel or Release in the middle of order `order`.
    Meddle {
        /// Which order (1-based).
        order: u8,
        /// Release rather than Cancel.
        release: bool,
    },
}

/// What the cashier wants the world to do after it looked at a step's commands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reaction {
    /// Wake the cashier after this many ms.
    pub wake: Option<(u64, Wake)>,
    /// An order was accepted by the session (for the liveness check).
    pub order_started: bool,
    /// The session is released: the cashier is done.
    pub done: bool,
}

/// One cashier.
#[derive(Debug)]
pub struct Cashier {
    script: CashierScript,
    want: Want,
    after_start: Want,
    orders: u8,
    refusals: u32,
    generation: u32,
    /// "FP{prefix:08x}": every out_trade_no of the session starts so (formatted once).
    otn_prefix: [u8; 10],
    sent_order: bool,
    /// Makes the hand scanner's payment codes unique to this cashier.
    prefix: u32,
    /// Payment codes the customer has shown so far.
    codes: u32,
    /// The face app's version was reported since the terminal booted.
    version_sent: bool,
    sent_version: bool,
    /// The next code order shows the last code again.
    same_code_roll: bool,
    /// The terminal rebooted since the last order was sent.
    rebooted: bool,
}

impl Cashier {
    /// A cashier following `script`; `prefix` makes its out_trade_nos unique.
    pub fn new(script: CashierScript, prefix: u32) -> Self {
        Cashier {
            script,
            want: Want::Start,
            after_start: if script.identify_first {
                Want::Identify
            } else {
                Want::Order
            },
            orders: 0,
            refusals: 0,
            generation: 0,
            otn_prefix: {
                let mut b = [0u8; 10];
                b[..2].copy_from_slice(b"FP");
                put_hex(&mut b[2..], u64::from(prefix));
                b
            },
            sent_order: false,
            prefix,
            codes: 0,
            version_sent: false,
            sent_version: false,
            same_code_roll: false,
            rebooted: false,
        }
    }

    /// The customer's payment code (付款码): 18 digits starting 14, unique per customer
    /// and showing (the face app's scanner model uses 13). `again` shows the last one.
    fn payment_code(&mut self, again: bool) -> AuthCode {
        if !again || self.codes == 0 {
            self.codes += 1;
        }
        // "14{prefix:010}{n:06}", without the formatting machinery (a hot path).
        let mut b = [0u8; 18];
        b[..2].copy_from_slice(b"14");
        put_dec(&mut b[2..12], u64::from(self.prefix));
        put_dec(&mut b[12..18], u64::from(self.codes % 1_000_000));
        let text = core::str::from_utf8(&b).unwrap_or_default();
        AuthCode::new(Field::AuthCode, text).unwrap_or_default()
    }

    /// The first wake-up, at the start of the world.
    pub fn first_wake(&mut self) -> Wake {
        self.next_wake()
    }

    /// Orders started so far.
    pub fn orders(&self) -> u8 {
        self.orders
    }

    /// The out_trade_no of order `n` (1-based).
    pub fn out_trade_no(&self, n: u8) -> OutTradeNo {
        // "FP{prefix:08x}{n:02}", without the formatting machinery (a hot path).
        let mut b = [0u8; 13];
        b[..10].copy_from_slice(&self.otn_prefix);
        let end = 10 + dec_width(u64::from(n), 2);
        put_dec(&mut b[10..end], u64::from(n));
        let text = core::str::from_utf8(&b[..end]).unwrap_or_default();
        OutTradeNo::new(Field::OutTradeNo, text).unwrap_or_default()
    }

    fn next_wake(&mut self) -> Wake {
        self.generation += 1;
        Wake::Next {
            generation: self.generation,
        }
    }

    fn wake_after(&mut self, ms: u64) -> Reaction {
        Reaction {
            wake: Some((ms, self.next_wake())),
            ..Reaction::default()
        }
    }

    /// The app event for a wake-up, if any. Each arm builds the whole `Event`: an
    /// `AppEvent` built first and wrapped after is copied into it.
    pub fn wake(&mut self, wake: Wake, current_order: bool) -> Option<Event> {
        self.sent_order = false;
        self.sent_version = false;
        match wake {
            Wake::Next { generation } if generation == self.generation => {}
            Wake::Next { .. } => return None,
            Wake::Meddle { order, release } => {
                return (order == self.orders && current_order).then_some(if release {
                    Event::App(AppEvent::Release)
                } else {
                    Event::App(AppEvent::Cancel)
                });
            }
        }
        Some(match self.want {
            // The host reads the face app's version as it boots, before it starts it.
            Want::Start if !self.version_sent && self.script.reports_version.is_some() => {
                self.version_sent = true;
                self.sent_version = true;
                Event::App(AppEvent::FaceAppVersion(self.script.reports_version?))
            }
            Want::Start => Event::App(AppEvent::Start {
                init: InitParams::default(),
                merchant: merchant(),
            }),
            Want::Identify => Event::App(AppEvent::IdentifyUser(UserInfoRequest {
                face_authtype: FaceAuthType::FaceidOnce,
                auth_mode_jump: false,
                ask_unionid: false,
                screen_index: ScreenIndex::empty(),
            })),
            Want::Order => {
                self.sent_order = true;
                let mut req = OrderRequest::new(
                    self.out_trade_no(self.orders + 1),
                    self.script.total_fee,
                    self.script.face_code_type,
                );
                req.ignore_update_pay_result = self.script.ignore_update_pay_result;
                req.credential = match self.script.payment {
                    Payment::Face => OrderCredential::Face,
                    Payment::CodeScanner => OrderCredential::CodeScanner,
                    Payment::HandScanner => {
                        let again = self.orders > 0 && self.same_code_roll;
                        OrderCredential::AuthCode(self.payment_code(again))
                    }
                };
                Event::App(AppEvent::StartOrder(req))
            }
            Want::Release => Event::App(AppEvent::Release),
            Want::Done => return None,
        })
    }

    /// Hears whether the session turned the cashier's own event away (`refusal`, as
    /// `Session::refusal` reads it, before any of the step's commands is carried out).
    pub fn after_own_event(&mut self, refusal: Option<DiagnosticKind>, rng: &mut SimRng) -> Reaction {
        let refusal = refusal.map(|kind| match kind {
            DiagnosticKind::Refused(r) => Some(r),
            _ => None,
        });
        let mut reaction = match refusal {
            // The version is a fact, never refused: Start follows at once.
            None if self.sent_version => self.wake_after(0),
            None if self.sent_order => {
                self.orders += 1;
                self.rebooted = false;
                self.refusals = 0;
                let mut r = Reaction {
                    order_started: true,
                    ..Reaction::default()
                };
                if rng.chance(self.script.meddle) {
                    let release = rng.chance(0.2);
                    let wake = Wake::Meddle {
                        order: self.orders,
                        release,
                    };
                    r.wake = Some((rng.range(0, 60_000), wake));
                }
                r
            }
            None => Reaction::default(),
            Some(r) => {
                self.refusals += 1;
                match r {
                    Some(Refusal::NotStarted) if self.want != Want::Start => {
                        self.after_start = self.want;
                        self.want = Want::Start;
                    }
                    Some(Refusal::AlreadyStarted) if self.want == Want::Start => self.want = self.after_start,
                    Some(Refusal::Released) => self.want = Want::Done,
                    // A member lookup is a nicety: give up on it after a few refusals.
                    _ if self.want == Want::Identify && self.refusals > 3 => self.want = Want::Order,
                    _ => {}
                }
                if self.want == Want::Done {
                    return Reaction {
                        done: true,
                        ..Reaction::default()
                    };
                }
                self.wake_after(1_000)
            }
        };
        reaction.done = self.want == Want::Done;
        reaction
    }

    /// Hears a notice from the session.
    pub fn notice(&mut self, notice: &Notice, rng: &mut SimRng) -> Reaction {
        let think = rng.range(200, 3_000);
        match notice {
            Notice::Ready => {
                if self.want == Want::Start {
                    self.want = self.after_start;
                }
                self.wake_after(think)
            }
            // The simulated terminal always starts fresh, so its journal is never unreadable.
            Notice::JournalUnreadable => self.wake_after(think),
            Notice::SdkUnavailable => {
                if self.want != Want::Done && self.want != Want::Release {
                    if self.want != Want::Start {
                        self.after_start = self.want;
                    }
                    self.want = Want::Start;
                }
                self.wake_after(2_000)
            }
            Notice::OrderConcluded(c) => {
                // Only a hand-scanner customer draws: every other session's draws stay as they were.
                // Not across a reboot: see `power_on`.
                if self.script.payment == Payment::HandScanner && !self.rebooted {
                    self.same_code_roll = rng.chance(self.script.same_code_again);
                }
                self.order_concluded(c.outcome, think)
            }
            Notice::UserIdentified(_) | Notice::UserNotIdentified => {
                if self.want == Want::Identify {
                    self.want = Want::Order;
                }
                self.wake_after(think)
            }
            Notice::Released => {
                self.want = Want::Done;
                Reaction {
                    done: true,
                    ..Reaction::default()
                }
            }
        }
    }
}

impl Cashier {
    fn order_concluded(&mut self, outcome: Outcome, think: u64) -> Reaction {
        let next = match outcome {
            Outcome::Paid | Outcome::NeedsReconciliation => Want::Release,
            Outcome::NotPaid | Outcome::Reversed if self.orders < self.script.patience => Want::Order,
            Outcome::NotPaid | Outcome::Reversed => Want::Release,
        };
        // A session that is not started refuses what comes next, and the cashier starts it.
        self.want = next;
        self.wake_after(think)
    }

    /// The terminal boots after a power loss: the app forgets what it was doing (its
    /// order numbering is durable), starts the face service again, then goes on with the
    /// purchase. The first wake-up is returned.
    pub fn power_on(&mut self) -> Wake {
        let next = match self.want {
            Want::Start => self.after_start,
            Want::Identify | Want::Order if self.orders < self.script.patience => Want::Order,
            Want::Identify | Want::Order | Want::Release | Want::Done => Want::Release,
        };
        self.want = Want::Start;
        self.after_start = next;
        self.refusals = 0;
        self.sent_order = false;
        self.version_sent = false;
        // Minutes later the wallet shows a fresh code (it refreshes its 付款码 every minute;
        // assumption). The machine's memory of the last code does not survive the power
        // loss: a code shown again after one would be submitted (WeChat declines a spent
        // one; no money moves), so the model does not show it.
        self.same_code_roll = false;
        self.rebooted = true;
        self.next_wake()
    }

    /// The journal the terminal booted with says the last order concluded `outcome`
    /// (the power went after the record was written, before the app heard of it).
    pub fn journal_concluded(&mut self, outcome: Outcome, rng: &mut SimRng) -> Reaction {
        let think = rng.range(200, 3_000);
        self.order_concluded(outcome, think)
    }
}

fn merchant() -> Merchant {
    Merchant {
        appid: facepay_fsm::AppId::new(Field::Appid, "wx2421b1c4370ec43b").unwrap_or_default(),
        mch_id: MchId::new(Field::MchId, "10000100").unwrap_or_default(),
        store_id: StoreId::new(Field::StoreId, "store-7").unwrap_or_default(),
        ..Merchant::default()
    }
}
