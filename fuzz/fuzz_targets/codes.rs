//! `cargo +nightly fuzz run codes`: see `facepay_fuzz::codes` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| facepay_fuzz::codes::run(data));
