//! Cross-crate test suites for facepay.
//!
//! The library part is what the suites share: [`Driver`], which runs one session through a
//! script of inputs and records a transcript a person can read (the insta snapshots), and
//! [`build`], which makes the SDK and backend answers those scripts feed in.

pub mod build;
mod driver;
pub mod render;

pub use driver::{Call, Driver};
