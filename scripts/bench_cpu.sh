#!/usr/bin/env bash
# CPU benchmark in one command (issue 14 item 5): vaecam's engine bench, then PyTorch CPU on the
# same rows with the vaecam / PyTorch ratio, back to back (the load average is printed before
# each half: on a shared machine compare only runs made under the same load).
# Usage: scripts/bench_cpu.sh [--interleave] [ROWS]
#   ROWS: comma-separated words selecting rows by name (e.g. "maps,texture"); default all.
#   --interleave: one group of rows at a time, vaecam then PyTorch, then the next group, and
#   one ratio table at the end. On a VM whose speed drifts over minutes, each ratio then
#   compares two measurements taken seconds apart instead of one or two minutes apart.
# PyTorch uses 2 threads unless BENCH_THREADS is set.
# VAECAM_CPU_ISA=avx2 on an AVX-512 machine runs vaecam's AVX2 kernels and caps PyTorch's
# (ATen, oneDNN, MKL) at AVX2 too, so that both sides compare like for like.
set -euo pipefail
cd "$(dirname "$0")/.."
export VAECAM_BENCH_DEVICE=cpu
interleave=0
if [ "${1:-}" = "--interleave" ]; then
  interleave=1
  shift
fi
threads="${BENCH_THREADS:-2}"
torch_env=()
if [ "${VAECAM_CPU_ISA:-}" = avx2 ]; then
  torch_env=(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2)
fi
torch_ref() {
  env "${torch_env[@]}" OMP_NUM_THREADS="$threads" KMP_BLOCKTIME=0 \
    python3 benches/torch_reference.py --threads "$threads" "$@"
}
if [ "$interleave" = 0 ]; then
  if [ -n "${1:-}" ]; then export VAECAM_BENCH_ROWS="$1"; fi
  echo "load average before vaecam: $(cut -d' ' -f1-3 /proc/loadavg)"
  cargo bench --bench engine
  echo "load average before PyTorch: $(cut -d' ' -f1-3 /proc/loadavg)"
  torch_ref
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
# Groups in the engine bench's order; each word selects its rows on both sides.
groups=("matmul" "sum of" "conv2d" "conv_transpose2d" "dSprites VAE" "FactorVAE" "texture" "per-dim")
if [ -n "${1:-}" ]; then IFS=',' read -r -a groups <<< "$1"; fi
cargo bench --bench engine --no-run
json=target/bench/engine-cpu.json
table=""
for g in "${groups[@]}"; do
  echo "== $g (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  VAECAM_BENCH_ROWS="$g" cargo bench --bench engine
  table+="$(torch_ref --rows "$g" --rows-only --vaecam "$json")"$'\n'
done
echo
echo "## vaecam / PyTorch, interleaved by group ($threads threads; vaecam: ${VAECAM_CPU_ISA:-best} path)"
echo
echo "| op | PyTorch | vaecam | vaecam / PyTorch |"
echo "|---|---:|---:|---:|"
printf '%s' "$table" | grep '^|'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
