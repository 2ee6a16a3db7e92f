#!/usr/bin/env bash
# facepay-device for Android: type-check and lint the JNI crate for aarch64-linux-android.
# Linking the .so needs the NDK (see device/README.md); checking and linting do not.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=aarch64-linux-android
if ! rustup target add "$TARGET" >/dev/null 2>&1; then
  if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    echo "SKIP 20-android: rustup cannot add $TARGET (offline or no rustup); the Android check did not run"
    exit 0
  fi
fi
cargo check -p facepay-device --target "$TARGET"
cargo clippy -p facepay-device --target "$TARGET" -- -D warnings
