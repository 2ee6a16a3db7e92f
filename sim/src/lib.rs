//! facepay-sim: the deterministic simulator of facepay terminals.
//!
//! One `u64` seed gives one world: a virtual clock and an agenda ([`world`]), a xoshiro256++
//! stream ([`rng`]), a model WxPayFace SDK ([`sdk`]), a model WeChat Pay backend
//! ([`backend`]) that keeps the truth in a [`ledger`], faults injected between them and
//! the terminal ([`faults`]), a cashier driving the session ([`cashier`]) through the
//! [`terminal`] seam, and a [`checker`] holding the machine to the safety properties after
//! every step. [`simulation`] runs one session; [`campaign`] runs many and sums them up.
//! The same seed on the same commit gives the same run, byte for byte.

pub mod apps;
pub mod backend;
pub mod bill;
pub mod campaign;
pub mod cashier;
pub mod checker;
pub mod compare;
pub mod diagram;
pub mod faults;
pub mod fieldlog;
pub mod fleet;
pub mod ledger;
pub mod merge;
pub mod peers;
pub mod reconcile;
pub mod replay;
pub mod rng;
pub mod sdk;
pub mod simulation;
pub mod stack_fmt;
pub mod terminal;
pub mod world;
