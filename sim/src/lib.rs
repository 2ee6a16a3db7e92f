//! facepay-sim: the deterministic simulator (see the simulator issue).
pub mod diagram;
pub mod replay;
