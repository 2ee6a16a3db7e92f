//! # facepay-facade
//!
//! The APICloud `wxFacePay` module's ten operations as a pure Rust layer over
//! [`facepay_fsm::Session`]: request maps with the seed's keys in, answers with the
//! seed's shapes, field names and types out (`{status: true, ...}` /
//! `{status: false, errorCode, msg}`), while the machine keeps deciding every call that
//! can move money. No JNI: `facepay-device` marshals Java maps through it, and the
//! simulator's seed apps call it directly. The contract is in `facade/README.md`.
//!
//! - [`value`]: answer and request values (strings, booleans, numbers, nested objects).
//! - [`request`]: request maps → typed calls; unknown keys refused by name.
//! - [`history`]: the terminal's recent orders, what was submitted, what was reported.
//! - [`facade`]: which call waits for what, and what each answer says.
//! - [`terminal`]: a session and its facade driven together (for hosts without JNI).

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

mod answers;
pub mod facade;
pub mod history;
pub mod request;
pub mod terminal;
pub mod value;

pub use facade::{Facade, Op, Route, Token, answer_bound_ms, refusal_code};
pub use request::{Call, MicropayRequest, Operation, ParamError, parse};
pub use terminal::FacadeTerminal;
pub use value::{Answer, Params, Value};
