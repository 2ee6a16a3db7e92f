//! facepay-sim: the deterministic simulator (see the simulator issue).
