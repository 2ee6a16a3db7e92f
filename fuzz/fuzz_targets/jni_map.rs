//! `cargo +nightly fuzz run jni_map`: see `facepay_fuzz::jni_map` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| facepay_fuzz::jni_map::run(data));
