//! Cross-crate test suites for facepay.
