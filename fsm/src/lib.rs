//! # facepay-fsm
//!
//! The WeChat Pay face-payment (刷脸支付) session of one terminal as a hierarchical state
//! machine: deterministic protocol logic with no I/O, no clock and no heap. The host feeds
//! it events (the cashier app, WxPayFace SDK callbacks, the merchant backend's answers)
//! and the time; it answers with commands (SDK calls, backend calls, notices) and the next
//! deadline. See [`Session`].
//!
//! Its promise: no customer is charged twice, and none is charged without the merchant
//! knowing. A pay submission is sent once per order; an ambiguous answer is never read as
//! "not paid"; the order is queried, then reversed, and only a final answer or a confirmed
//! reverse concludes it. What cannot be proven ends as `NeedsReconciliation`. The chart and
//! the safety properties: `docs/design.md`; the WeChat facts behind every rule, with their
//! sources: `docs/protocol.md`.
//!
//! ## The host loop
//!
//! The machine never calls anything. One input at a time, from one thread at a time:
//!
//! ```no_run
//! use facepay_fsm::{Command, Event, Instant, Policy, Session};
//! # struct Host;
//! # impl Host {
//! #     fn now(&self) -> Instant { Instant(0) }
//! #     fn next_input(&mut self, _deadline: Option<Instant>) -> Option<Event> { None }
//! #     fn write_journal(&mut self, _bytes: &[u8]) {}
//! #     fn execute(&mut self, _cmd: &Command) {}
//! # }
//! # let mut host = Host;
//! # let journal: Vec<u8> = Vec::new();
//! // After a power loss, continue the journalled order; on a first boot `journal` is empty.
//! let (mut session, damaged) = Session::resume_from_bytes(Policy::default(), &journal, host.now());
//! if let Some(e) = damaged { eprintln!("journal: {e}") }
//! loop {
//!     // 1. Drain every command of the last step, in order.
//!     while let Some(cmd) = session.poll_command() {
//!         match &cmd {
//!             // Durably, before the next command: it guards the submit that follows.
//!             Command::Persist(record) => host.write_journal(&record.encode()),
//!             // Call the SDK / the merchant backend; the answer comes back as an
//!             // `Event::Sdk` / `Event::Backend` carrying the same `id`.
//!             Command::Sdk { .. } | Command::Backend { .. } => host.execute(&cmd),
//!             // Show it (`Ready`, `OrderConcluded { .. }`, ...) / log it.
//!             Command::Notify(_) | Command::Diagnostic(_) => host.execute(&cmd),
//!         }
//!     }
//!     // 2. Wait for the next input or the next deadline, whichever comes first.
//!     match host.next_input(session.poll_timeout()) {
//!         Some(event) => session.handle(host.now(), &event).expect("drained above"),
//!         // Every timer due by now fires, one step each, as step 1 drains them.
//!         None => {
//!             let first = session.handle_timeout(host.now()).expect("drained above");
//!             # let _ = first;
//!         }
//!     }
//! }
//! ```
//!
//! The first input is the app's [`Session::start`]; after `Notice::Ready`,
//! [`Session::start_order`] takes a payment. App requests return their refusal
//! ([`RequestError`]) and are fed, and recorded, as `Event::App` inputs; the loop above
//! feeds them the same way. [`Session::waiting_on`] lists the requests the session expects
//! answers to. `cargo run -p facepay-fsm --example one_session` prints a whole session.
//!
//! ## Features
//!
//! - *(none)*: the machine, `#![no_std]`, no `alloc`; builds for bare-metal targets.
//! - `serde`: `Serialize` / `Deserialize` on every public type, still without std.
//! - `testing` (needs std, never for production): the `testing` module, the one
//!   machine-level test harness of the fsm's tests, the `tests` crate and the fuzz targets.

// The `std` bullet links into `trace` only where the module exists (as on docs.rs).
#![cfg_attr(
    feature = "std",
    doc = "- `std` (implies `serde`): the [`trace`] module — the field-log recorder ([`trace::RecordingSession`], [`trace::TraceWriter`]), reader and replay engine. The machine itself never needs it."
)]
#![cfg_attr(
    not(feature = "std"),
    doc = "- `std` (implies `serde`): the `trace` module — the field-log recorder (`trace::RecordingSession`, `trace::TraceWriter`), reader and replay engine. The machine itself never needs it."
)]
#![cfg_attr(not(test), no_std)]
// docs.rs (Cargo.toml metadata) shows which items need which feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
// No heap means no Box: large variants (rawdata, authinfo) are inline by design.
#![allow(clippy::large_enum_variant)]
#![warn(missing_docs, unreachable_pub)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

#[cfg(any(feature = "std", feature = "testing"))]
extern crate std;

mod chart;
pub mod codes;
mod command;
mod config;
mod event;
mod journal;
mod machine;
mod order;
mod outbox;
mod policy;
mod request;
mod session;
mod state;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod text;
mod time;
mod timer;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub mod trace;
mod wxtime;

pub use command::{
    BackendCall, Command, Conclusion, Diagnostic, DiagnosticKind, FaceCodeRequest, Notice, Outcome, PayApi,
    PayCredential, PayResult, PayResultCall, Reason, Refusal, SdkCall, UserInfoCall,
};
pub use config::{
    FaceAuthType, FaceCodeType, InitParams, Merchant, OrderCredential, OrderRequest, PerformMode, ProxyType,
    UserInfoRequest,
};
pub use event::{
    AnswerError, AppEvent, AuthInfoAnswer, BackendEvent, Event, FaceCodeAnswer, PayAnswer, PaymentMismatch,
    QueryAnswer, RequestId, ReverseAnswer, SdkCallKind, SdkEvent, SdkStatus, TransportError, UserInfo,
};
pub use journal::{
    JOURNAL_BYTES, JOURNAL_VERSION, JournalDamage, JournalError, JournalField, JournalPhase, JournalRecord,
};
pub use outbox::{MAX_STEP_COMMANDS, OUTBOX_CAPACITY};
pub use policy::{Policy, PolicyError, PolicySettings, SdkVersion};
pub use request::RequestError;
pub use session::{BackendCallKind, HandleError, PersistError, Polled, Session, WaitingOn};
pub use state::StateId;
pub use text::{
    AppId, AuthCode, AuthInfo, CodeText, Credential, FaceCode, FaceSid, Field, FieldError, Host, MchId, Message,
    Nickname, OpenId, OutTradeNo, PortText, RawData, ScreenIndex, StoreId, Telephone, Text, TextTooLong, TransactionId,
    is_payment_code,
};
pub use time::{Duration, Instant};
pub use timer::{Timer, TimerScope};
pub use wxtime::WxTime;
