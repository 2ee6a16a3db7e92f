#!/usr/bin/env bash
# Fuzzing (issue 5): every corpus and regression input through the targets' logic on
# stable, then each cargo-fuzz target for a bounded time on nightly. A crash fails CI.
# FUZZ_SECONDS sets the time per target (default 30).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
TARGETS=(session_events codes trace_line jni_map)

echo "-- fuzz crate: format, clippy, corpora and regressions on stable"
cargo fmt --manifest-path fuzz/Cargo.toml --check
cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
cargo test --manifest-path fuzz/Cargo.toml --lib

echo "-- nightly and cargo-fuzz"
if ! cargo +nightly --version >/dev/null 2>&1 && ! rustup toolchain install nightly --profile minimal; then
  # The stable corpus and regression runs above still checked every input.
  echo "SKIP fuzz runs: no nightly toolchain and rustup could not install one; cargo-fuzz needs nightly"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked
fi

cd fuzz
for t in "${TARGETS[@]}"; do
  echo "-- fuzz $t for ${SECONDS_PER_TARGET}s (corpus: corpus/$t, regressions/$t)"
  # A fresh copy of the corpus: what libFuzzer adds stays out of the work tree.
  work="$(mktemp -d)"
  cp -r "corpus/$t/." "$work/"
  inputs=("$work")
  if [ -d "regressions/$t" ]; then inputs+=("regressions/$t"); fi
  cargo +nightly fuzz run "$t" "${inputs[@]}" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
  rm -rf "$work"
done
echo "fuzz: ${#TARGETS[@]} targets ran ${SECONDS_PER_TARGET}s each with no crash"
