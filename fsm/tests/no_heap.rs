//! docs/design.md §safety 7: the machine never touches the heap. A counting global allocator wraps the
//! system one; 100 000 mixed sessions (happy, ambiguous → query → paid, → reverse, cashier
//! cancel, code scanner) run with counting on around *everything* the host does per
//! session: building the session and each event (inline `Text`, so no heap either),
//! `handle`, `handle_timeout`, `poll_timeout` and `poll_command` (or, for half the
//! sessions, `poll_command_with`). Not one allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use facepay_fsm::codes::{PayErrCode, Recall, ResultCode, ReturnCode, SdkReturnCode, TradeState};
use facepay_fsm::*;

struct Counting;

thread_local! {
    // Only this thread's allocations count: the harness and other tests allocate on theirs.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

/// Runs `f` with counting on; returns its result and the allocations it made.
fn counted<R>(f: impl FnOnce() -> R) -> (R, usize) {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCATIONS.with(Cell::get))
}

// SAFETY: forwards every call unchanged to `System`; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SESSIONS: u32 = 100_000;

/// A tiny LCG (Numerical Recipes constants): enough to vary the mix, no dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// One session with its clock and the last request id per kind; no collections.
struct Host {
    s: Session,
    now: u64,
    sdk: RequestId,
    backend: RequestId,
    concluded: Option<Outcome>,
    journal: [u8; facepay_fsm::JOURNAL_BYTES],
    /// Takes commands with `poll_command_with` instead of `poll_command`.
    lent: bool,
}

/// What a step's commands told the host.
#[derive(Default)]
struct Seen {
    sdk: Option<RequestId>,
    backend: Option<RequestId>,
    concluded: Option<Outcome>,
    journal: Option<[u8; facepay_fsm::JOURNAL_BYTES]>,
}

impl Seen {
    fn take(&mut self, c: &Command) {
        match c {
            Command::Sdk { id, call } => {
                if call.kind() != SdkCallKind::StopCodeScanner {
                    self.sdk = Some(*id);
                }
            }
            Command::Backend { id, .. } => self.backend = Some(*id),
            Command::Notify(Notice::OrderConcluded(k)) => self.concluded = Some(k.outcome),
            // A real host writes the 64-byte form to flash here; encoding must not allocate.
            Command::Persist(r) => self.journal = Some(r.encode()),
            Command::Notify(_) => {}
            Command::Diagnostic(d) => panic!("unexpected diagnostic {d:?}"),
        }
    }
}

impl Host {
    /// Takes the commands, by value or lent in place (`lent`): neither may allocate.
    fn drain(&mut self) {
        if self.lent {
            let mut seen = Seen::default();
            while self.s.poll_command_with(|c| seen.take(c)).is_some() {}
            self.sdk = seen.sdk.unwrap_or(self.sdk);
            self.backend = seen.backend.unwrap_or(self.backend);
            self.concluded = seen.concluded.or(self.concluded);
            self.journal = seen.journal.unwrap_or(self.journal);
        } else {
            while let Some(c) = self.s.poll_command() {
                let mut seen = Seen::default();
                seen.take(&c);
                self.sdk = seen.sdk.unwrap_or(self.sdk);
                self.backend = seen.backend.unwrap_or(self.backend);
                self.concluded = seen.concluded.or(self.concluded);
                self.journal = seen.journal.unwrap_or(self.journal);
            }
        }
        assert_eq!(self.s.lost_commands(), 0);
    }
    fn at(&mut self, t: u64) {
        while let Some(at) = self.s.poll_timeout() {
            if at.0 > t {
                break;
            }
            self.now = self.now.max(at.0);
            self.s.handle_timeout(Instant(self.now)).unwrap();
            self.drain();
        }
        self.now = self.now.max(t);
    }
    fn ev(&mut self, dt: u64, e: &Event) {
        let t = self.now + dt;
        self.at(t);
        self.s.handle(Instant(self.now), e).unwrap();
        self.drain();
    }
    /// Answers the latest SDK call `dt` ms from now (after the timers due before then).
    fn sdk(&mut self, dt: u64, f: impl FnOnce(RequestId) -> SdkEvent) {
        self.at(self.now + dt);
        let e = Event::Sdk(f(self.sdk));
        self.ev(0, &e);
    }
    /// Answers the latest backend call `dt` ms from now.
    fn backend(&mut self, dt: u64, f: impl FnOnce(RequestId) -> BackendEvent) {
        self.at(self.now + dt);
        let e = Event::Backend(f(self.backend));
        self.ev(0, &e);
    }
}

fn text<T>(r: Result<T, FieldError>) -> T {
    r.unwrap()
}

fn pay(err: Option<PayErrCode>) -> Result<PayAnswer, TransportError> {
    Ok(PayAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(if err.is_some() {
            ResultCode::Fail
        } else {
            ResultCode::Success
        }),
        err_code: err,
        transaction_id: text(Text::new(Field::TransactionId, "4200000000000000001")),
    })
}

fn query(state: TradeState) -> Result<QueryAnswer, TransportError> {
    Ok(QueryAnswer {
        return_code: ReturnCode::Success,
        result_code: Some(ResultCode::Success),
        err_code: None,
        trade_state: Some(state),
        transaction_id: TransactionId::empty(),
        total_fee: None,
        time_end: None,
        openid: Default::default(),
    })
}

/// Runs one session of kind `kind` (0–4); returns how its order ended.
fn run(kind: u32, rng: &mut Lcg) -> Outcome {
    let ty = if rng.below(2) == 0 {
        FaceCodeType::Facepay
    } else {
        FaceCodeType::Micropay
    };
    let jitter = u64::from(rng.below(400));
    let mut h = Host {
        s: Session::new(Policy::default()),
        now: 0,
        sdk: RequestId(0),
        backend: RequestId(0),
        concluded: None,
        journal: [0; facepay_fsm::JOURNAL_BYTES],
        lent: rng.below(2) == 0,
    };
    let merchant = Merchant {
        appid: text(Text::new(Field::Appid, "wx2421b1c4370ec43b")),
        mch_id: text(Text::new(Field::MchId, "10000100")),
        ..Merchant::default()
    };
    h.ev(
        0,
        &Event::App(AppEvent::Start {
            init: InitParams::default(),
            merchant,
        }),
    );
    h.sdk(100, |id| SdkEvent::Initialised {
        id,
        status: SdkStatus::success(),
    });
    h.at(h.now); // the authinfo refresh is due at once
    h.sdk(100 + jitter, |id| SdkEvent::Rawdata {
        id,
        status: SdkStatus::success(),
        rawdata: text(Text::new(Field::Rawdata, "RAWDATA-0123456789")),
    });
    h.backend(200, |id| BackendEvent::AuthInfo {
        id,
        answer: Ok(AuthInfoAnswer {
            return_code: ReturnCode::Success,
            return_msg: Message::empty(),
            authinfo: text(Text::new(Field::Authinfo, "AUTHINFO-abcdefghijklmnopqrstuvwxyz")),
            expires_in: 3600,
        }),
    });
    let order = OrderRequest::new(
        text(Text::new(Field::OutTradeNo, "T20260101000001")),
        100 + jitter as u32,
        ty,
    );
    h.ev(1_000, &Event::App(AppEvent::StartOrder(order)));
    let face = |id| SdkEvent::FaceCode {
        id,
        status: SdkStatus::success(),
        answer: FaceCodeAnswer {
            face_code: text(Text::new(Field::FaceCode, "134567890123456789")),
            openid: text(Text::new(Field::Openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")),
            ..FaceCodeAnswer::default()
        },
    };
    match kind {
        // happy path
        0 => {
            h.sdk(3_000 + jitter, face);
            h.backend(300, |id| BackendEvent::Submitted { id, answer: pay(None) });
        }
        // ambiguous → query → paid
        1 => {
            h.sdk(3_000, face);
            h.backend(300 + jitter, |id| BackendEvent::Submitted {
                id,
                answer: pay(Some(PayErrCode::SystemError)),
            });
            h.at(h.now + 5_000);
            h.backend(100, |id| BackendEvent::Queried {
                id,
                answer: query(TradeState::UserPaying),
            });
            h.at(h.now + 5_000);
            h.backend(100, |id| BackendEvent::Queried {
                id,
                answer: query(TradeState::Success),
            });
        }
        // ambiguous → NOTPAY until the budget → reverse (recall Y, then N)
        2 => {
            h.sdk(3_000, face);
            h.backend(300, |id| BackendEvent::Submitted {
                id,
                answer: Err(TransportError::Timeout),
            });
            while h.s.state() == StateId::Querying {
                let next = h.s.poll_timeout().unwrap().0;
                h.at(next);
                if h.s.state() == StateId::Querying {
                    h.backend(50 + jitter / 4, |id| BackendEvent::Queried {
                        id,
                        answer: query(TradeState::NotPay),
                    });
                }
            }
            // The budget's end sent the first reverse at once (30 s > 15 s after submit).
            assert_eq!(h.s.state(), StateId::Reversing);
            let reverse = |recall| ReverseAnswer {
                return_code: ReturnCode::Success,
                result_code: Some(ResultCode::Success),
                err_code: None,
                recall: Some(recall),
            };
            h.backend(100, |id| BackendEvent::Reversed {
                id,
                answer: Ok(reverse(Recall::Y)),
            });
            h.at(h.now + 2_000);
            h.backend(100, |id| BackendEvent::Reversed {
                id,
                answer: Ok(reverse(Recall::N)),
            });
        }
        // the cashier cancels the scan
        3 => h.ev(2_000 + jitter, &Event::App(AppEvent::Cancel)),
        // SCAN_PAYMENT → code scanner → paid
        _ => {
            h.sdk(2_000, |id| SdkEvent::FaceCode {
                id,
                status: SdkStatus::code(SdkReturnCode::ScanPayment),
                answer: FaceCodeAnswer::default(),
            });
            h.sdk(1_000 + jitter, |id| SdkEvent::CodeScanned {
                id,
                status: SdkStatus::success(),
                code: text(Text::new(Field::CodeMsg, "134567890123456789")),
            });
            h.backend(300, |id| BackendEvent::Submitted { id, answer: pay(None) });
        }
    }
    assert_eq!(h.s.state(), StateId::Idle, "kind {kind}");
    h.concluded.expect("the order concluded")
}

#[test]
fn a_hundred_thousand_sessions_allocate_nothing() {
    // The allocator is live: a Vec made while counting is seen.
    let (v, n) = counted(|| Vec::<u8>::with_capacity(16));
    drop(v);
    assert_eq!(n, 1);

    let mut rng = Lcg(0x5eed);
    let (outcomes, allocations) = counted(|| {
        let mut outcomes = [0u32; 4];
        for _ in 0..SESSIONS {
            let kind = rng.below(5);
            let slot = match run(kind, &mut rng) {
                Outcome::Paid => 0,
                Outcome::NotPaid => 1,
                Outcome::Reversed => 2,
                Outcome::NeedsReconciliation => 3,
            };
            outcomes[slot] += 1;
        }
        outcomes
    });
    assert_eq!(allocations, 0, "{allocations} allocations in {SESSIONS} sessions");
    // The mix really ran: about 3/5 paid, 1/5 cancelled, 1/5 reversed.
    assert_eq!(outcomes.iter().sum::<u32>(), SESSIONS);
    assert!(outcomes[0] > SESSIONS / 2, "{outcomes:?}");
    assert!(outcomes[1] > SESSIONS / 10, "{outcomes:?}");
    assert!(outcomes[2] > SESSIONS / 10, "{outcomes:?}");
    assert_eq!(outcomes[3], 0, "{outcomes:?}");
}
