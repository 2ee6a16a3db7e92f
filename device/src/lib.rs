//! # facepay-device
//!
//! The Android side of facepay: Java bridge sources (`device/java/`) that hold the
//! `com.tencent.wxpayface.WxPayFace` instance, and the Rust native methods behind them.
//! Every SDK callback, backend answer, app request and timer enters one session's machine
//! as an event, one at a time; every command the machine emits is executed through Java.
//!
//! One idea per module:
//! - [`answer`]: SDK callback maps → typed events, with every check (pure; fuzzable).
//! - [`request`]: app maps, session options and backend answers → typed values (pure).
//! - [`call`]: commands → Java call arguments (pure).
//! - [`facade`]: the APICloud `wxFacePay`-compatible facade's bookkeeping (pure).
//! - [`registry`]: generation-checked handles for sessions.
//! - [`device`]: one session: queue, clock, trace, run to completion.
//! - [`timer`]: the single timer thread.
//! - [`bridge`]: the JNI native methods and the Java-calling host (thin).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod answer;
pub mod bridge;
pub mod call;
pub mod device;
pub mod facade;
pub mod registry;
pub mod request;
pub mod timer;
pub mod trace_files;
