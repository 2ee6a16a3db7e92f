//! `cargo +nightly fuzz run session_events`: see `facepay_fuzz::session_events` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| facepay_fuzz::session_events::run(data));
