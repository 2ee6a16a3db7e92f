//! The fsm's integration tests drive the session through the crate's shared harness
//! (`facepay_fsm::testing`, feature `testing`); `positions` lists every waiting state.
#![allow(dead_code)] // each test file uses part of it

pub use facepay_fsm::testing::*;

/// The harness, by the short name every test here uses.
pub type H = Harness;

pub mod positions;
