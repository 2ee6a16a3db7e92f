//! What the property suites share.

use proptest::prelude::ProptestConfig;
use proptest::test_runner::FileFailurePersistence;

/// `default_cases` cases (or `FACEPAY_PROPTEST_CASES` for long runs), failures kept in
/// `regressions` (committed).
pub fn config(regressions: &'static str, default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("FACEPAY_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..ProptestConfig::default()
    }
}
