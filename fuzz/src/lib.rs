//! The logic of facepay's fuzz targets, one module per target. Each `fuzz_targets/<t>.rs`
//! hands libFuzzer's bytes to `<t>::run`; the tests below hand it every file of
//! `corpus/<t>/` and `regressions/<t>/`, so a stable `cargo test` checks them too.
//!
//! Run a target (nightly): `cargo +nightly fuzz run <t> -- -max_total_time=30`.
//! Stable check of the corpora: `cargo test --manifest-path fuzz/Cargo.toml --lib`.

#![warn(missing_docs)]

pub mod codes;
pub mod input;
pub mod jni_map;
pub mod session_events;
pub mod trace_line;

/// A target's entry point: libFuzzer's bytes in, a panic on a failed property.
pub type Target = fn(&[u8]);

/// The targets, by name, with their entry points.
pub const TARGETS: [(&str, Target); 4] = [
    ("session_events", session_events::run),
    ("codes", codes::run),
    ("trace_line", trace_line::run),
    ("jni_map", jni_map::run),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::TARGETS;

    /// Every file of `corpus/<t>/` and `regressions/<t>/` through target `t`.
    #[test]
    fn corpora_and_regressions_pass() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut total = 0;
        for (name, run) in TARGETS {
            let mut n = 0;
            for dir in ["corpus", "regressions"] {
                let Ok(files) = std::fs::read_dir(root.join(dir).join(name)) else {
                    continue;
                };
                let mut paths: Vec<_> = files.filter_map(|e| e.ok().map(|e| e.path())).collect();
                paths.sort();
                for p in paths.iter().filter(|p| p.is_file()) {
                    let data = std::fs::read(p).expect("readable");
                    let r = std::panic::catch_unwind(|| run(&data));
                    assert!(r.is_ok(), "{name}: {} fails", p.display());
                    n += 1;
                }
            }
            assert!(n > 0, "{name} has no corpus");
            println!("{name}: {n} inputs");
            total += n;
        }
        println!("{total} corpus and regression inputs passed");
    }
}
