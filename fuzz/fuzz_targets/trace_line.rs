//! `cargo +nightly fuzz run trace_line`: see `facepay_fuzz::trace_line` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| facepay_fuzz::trace_line::run(data));
