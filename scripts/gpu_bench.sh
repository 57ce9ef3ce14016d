#!/usr/bin/env bash
# GPU benchmark in one go (issue 14): build, run the GPU kernel tests, time the engine on the
# GPU, and put PyTorch CUDA's figures for the same shapes beside them when torch and a CUDA
# device are there. Meant to finish inside 10 minutes on an H100/H200.
# Usage: scripts/gpu_bench.sh [OUT_DIR]   (default target/bench; logs and tables go there)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/bench}"
mkdir -p "$out"
export VAECAM_DEVICE=gpu VAECAM_BENCH_DEVICE=gpu VAECAM_BENCH_SECONDS="${VAECAM_BENCH_SECONDS:-1}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-gpu-bench}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true; } | tee "$out/gpu.txt"
cargo run --release --quiet -- devices | tee -a "$out/gpu.txt"
echo "== GPU kernel tests (CPU vs WGSL on awkward shapes)"
timeout 300 cargo test --release -p vaecam-tensor --test gpu_kernels 2>&1 | tail -n 5 | tee "$out/gpu_tests.txt"
echo "== vaecam engine bench on the GPU"
timeout 240 cargo bench --bench engine 2>&1 | tee "$out/engine-gpu.md"
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "== PyTorch CUDA, same shapes"
    python3 benches/torch_reference.py --device cuda --vaecam target/bench/engine-gpu.json | tee "$out/torch-cuda.md"
else
    echo "(no PyTorch with CUDA here: vaecam's GPU figures only)" | tee "$out/torch-cuda.md"
fi
