#!/usr/bin/env bash
# Runs the CPU kernel tests of the engine for aarch64 under qemu user emulation, so the NEON
# path (and the portable one) is checked on an x86 machine. Not part of CI (the cross build
# takes a few minutes). Needs (Debian, as root):
#   apt-get install -y qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross
#   rustup target add aarch64-unknown-linux-gnu
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
# No GPU under emulation; the CPU kernels' tests are the point.
export VAECAM_SKIP_GPU=1
cargo test --release --target aarch64-unknown-linux-gnu -p vaecam-tensor --lib -- cpu:: "$@"
