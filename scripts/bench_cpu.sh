#!/usr/bin/env bash
# CPU benchmark in one command (issue 14 item 5): vaecam's engine bench, then PyTorch CPU on the
# same rows with the vaecam / PyTorch ratio, back to back (the load average is printed before
# each half: on a shared machine compare only runs made under the same load).
# Usage: scripts/bench_cpu.sh [ROWS]   ROWS: comma-separated words selecting rows by name
#        (e.g. "maps,texture"); default all. PyTorch uses 2 threads unless BENCH_THREADS is set.
# VAECAM_CPU_ISA=avx2 on an AVX-512 machine runs vaecam's AVX2 kernels and caps PyTorch's
# (ATen, oneDNN, MKL) at AVX2 too, so that both sides compare like for like.
set -euo pipefail
cd "$(dirname "$0")/.."
export VAECAM_BENCH_DEVICE=cpu
if [ -n "${1:-}" ]; then export VAECAM_BENCH_ROWS="$1"; fi
threads="${BENCH_THREADS:-2}"
echo "load average before vaecam: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench --bench engine
echo "load average before PyTorch: $(cut -d' ' -f1-3 /proc/loadavg)"
torch_env=()
if [ "${VAECAM_CPU_ISA:-}" = avx2 ]; then
  torch_env=(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2)
fi
env "${torch_env[@]}" OMP_NUM_THREADS="$threads" KMP_BLOCKTIME=0 \
  python3 benches/torch_reference.py --threads "$threads"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
