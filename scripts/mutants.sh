#!/usr/bin/env bash
# Mutation testing of facepay-fsm (issue 17; docs/testing.md §mutation testing).
#
#   scripts/mutants.sh K/N [cargo-mutants args...]   run shard K of N (K = 0..N-1)
#   scripts/mutants.sh all/N [args...]               run every shard of N in turn
#   scripts/mutants.sh list [args...]                list the mutants, run nothing
#
# Extra args go to cargo-mutants, e.g. `-f fsm/src/journal.rs` or `--in-diff my.diff`.
# Environment:
#   MUTANTS_TEST_PACKAGES  packages whose tests judge each mutant (default
#                          "facepay-fsm"; add facepay-tests for the transcripts, at
#                          about 4x the time per mutant on a 2-core machine)
#   MUTANTS_IN_PLACE=1     mutate this checkout and reuse its target/ (much faster, but do
#                          not edit or build here until it finishes; files are restored)
#   MUTANTS_OUT            where results go (default target/mutants)
# Exit status is cargo-mutants': 0 all caught, 2 some missed, 3 some timed out,
# 4 the unmutated tests fail. Results: $MUTANTS_OUT/<shard>/mutants.out/{caught,missed,
# unviable,timeout}.txt and outcomes.json.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  sed -n '3,8p' "$0" >&2
  exit 1
fi
what="$1"
shift

if ! cargo mutants --version >/dev/null 2>&1; then
  echo "cargo-mutants is not installed: cargo install cargo-mutants --locked" >&2
  exit 1
fi

# `std` compiles the trace codec (fsm/src/trace), whose mutants would otherwise "survive"
# only because nothing builds them.
args=(--package facepay-fsm --features std)
for p in ${MUTANTS_TEST_PACKAGES:-facepay-fsm}; do
  args+=(--test-package "$p")
done
# Unit and integration tests (and the example's check); doctests are left out: each is
# its own rustc run per mutant, and the suites cover what they show.
args+=(--cargo-test-arg=--tests)
if [ "${MUTANTS_IN_PLACE:-0}" = 1 ]; then
  args+=(--in-place)
fi
out="${MUTANTS_OUT:-target/mutants}"

if [ "$what" = list ]; then
  exec cargo mutants "${args[@]}" --list "$@"
fi

case "$what" in
  */*) ;;
  *)
    echo "expected K/N, all/N or list, got '$what'" >&2
    exit 1
    ;;
esac
k="${what%/*}"
n="${what#*/}"
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]] || ! [[ "$k" =~ ^([0-9]+|all)$ ]] || { [ "$k" != all ] && [ "$k" -ge "$n" ]; }; then
  echo "bad shard '$what': K must be 0..N-1 (or all)" >&2
  exit 1
fi

run_shard() {
  mkdir -p "$out/shard-$1-of-$n"
  cargo mutants "${args[@]}" --shard "$1/$n" --output "$out/shard-$1-of-$n" "${@:2}"
}

if [ "$k" != all ]; then
  run_shard "$k" "$@"
  exit
fi
missed=0
timeouts=0
for ((i = 0; i < n; i++)); do
  status=0
  run_shard "$i" "$@" || status=$?
  case "$status" in
    0) ;;
    2) missed=1 ;;
    3) timeouts=1 ;;
    *) exit "$status" ;;
  esac
done
if [ "$missed" = 1 ]; then exit 2; fi
if [ "$timeouts" = 1 ]; then exit 3; fi
