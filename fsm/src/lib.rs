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
//! reverse concludes it. What cannot be proven ends as `NeedsReconciliation`.
//!
//! Features: `serde` derives Serialize/Deserialize on every public type (no std needed);
//! `std` adds nothing the machine needs and exists for host crates.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
// No heap means no Box: large variants (rawdata, authinfo) are inline by design.
#![allow(clippy::large_enum_variant)]
#![warn(missing_docs, unreachable_pub)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

#[cfg(feature = "std")]
extern crate std;

mod chart;
pub mod codes;
mod command;
mod config;
mod event;
mod journal;
mod machine;
mod outbox;
mod policy;
mod session;
mod state;
mod text;
mod time;
mod timer;
#[cfg(feature = "std")]
pub mod trace;
mod wxtime;

pub use command::{
    BackendCall, Command, Conclusion, Diagnostic, DiagnosticKind, FaceCodeRequest, Notice, Outcome, PayApi,
    PayCredential, PayResult, PayResultCall, Reason, Refusal, SdkCall, UserInfoCall,
};
pub use config::{
    FaceAuthType, FaceCodeType, InitParams, Merchant, OrderRequest, PerformMode, ProxyType, UserInfoRequest,
};
pub use event::{
    AnswerError, AppEvent, AuthInfoAnswer, BackendEvent, Event, FaceCodeAnswer, PayAnswer, PaymentMismatch,
    QueryAnswer, RequestId, ReverseAnswer, SdkCallKind, SdkEvent, SdkStatus, TransportError, UserInfo,
};
pub use journal::{JOURNAL_BYTES, JOURNAL_VERSION, JournalError, JournalPhase, JournalRecord};
pub use outbox::OUTBOX_CAPACITY;
pub use policy::{Policy, PolicyError, PolicySettings, SdkVersion};
pub use session::{HandleError, Session};
pub use state::StateId;
pub use text::{
    AppId, AuthCode, AuthInfo, CodeText, Credential, FaceCode, FaceSid, Field, FieldError, Host, MchId, Message,
    Nickname, OpenId, OutTradeNo, PortText, RawData, ScreenIndex, StoreId, Telephone, Text, TransactionId,
    is_payment_code,
};
pub use time::{Duration, Instant};
pub use timer::Timer;
pub use wxtime::WxTime;
