#!/usr/bin/env bash
# CPU benchmark in one command (issue 14 item 5): vaecam's engine bench, then PyTorch CPU on the
# same rows with the vaecam / PyTorch ratio, back to back (the load average is printed before
# each half: on a shared machine compare only runs made under the same load).
# Usage: scripts/bench_cpu.sh [--interleave [--rounds N]] [ROWS]
#   ROWS: comma-separated words selecting rows by name (e.g. "maps,texture"); default all.
#   --interleave: one group of rows at a time, vaecam then PyTorch, then the next group, and
#   one ratio table at the end. On a VM whose speed drifts over minutes, each ratio then
#   compares two measurements taken seconds apart instead of one or two minutes apart.
#   --rounds N: the interleaved pass N times over; the table then gives, for each row, the
#   median of the N PyTorch and vaecam figures and of the N ratios, with the ratios' range
#   (a VM whose host is busy slows either side by 20-50% for seconds at a time).
# PyTorch uses 2 threads unless BENCH_THREADS is set.
# VAECAM_CPU_ISA=avx2 on an AVX-512 machine runs vaecam's AVX2 kernels and caps PyTorch's
# (ATen, oneDNN, MKL) at AVX2 too, so that both sides compare like for like.
set -euo pipefail
cd "$(dirname "$0")/.."
export VAECAM_BENCH_DEVICE=cpu
interleave=0
rounds=1
if [ "${1:-}" = "--interleave" ]; then
  interleave=1
  shift
  if [ "${1:-}" = "--rounds" ]; then
    rounds="${2:?--rounds needs a count}"
    shift 2
  fi
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
for r in $(seq "$rounds"); do
  for g in "${groups[@]}"; do
    echo "== round $r/$rounds: $g (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    VAECAM_BENCH_ROWS="$g" cargo bench --bench engine
    table+="$(torch_ref --rows "$g" --rows-only --vaecam "$json")"$'\n'
  done
done
echo
echo "## vaecam / PyTorch, interleaved by group ($threads threads; vaecam: ${VAECAM_CPU_ISA:-best} path; $rounds round(s))"
echo
if [ "$rounds" = 1 ]; then
  echo "| op | PyTorch | vaecam | vaecam / PyTorch |"
  echo "|---|---:|---:|---:|"
  printf '%s' "$table" | grep '^|'
else
  printf '%s' "$table" | grep '^|' | python3 -c '
import statistics as st, sys
rows = {}
for line in sys.stdin:
    c = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(c) != 4 or not c[3].endswith("x"):
        continue
    torch_v, unit = c[1].split(" ", 1)
    rows.setdefault(c[0], (unit, []))[1].append((float(torch_v), float(c[2]), float(c[3][:-1])))
print("| op | PyTorch (median) | vaecam (median) | vaecam / PyTorch (median) | ratio range |")
print("|---|---:|---:|---:|---:|")
for op, (unit, v) in rows.items():
    t, m, r = (st.median(x[i] for x in v) for i in range(3))
    lo, hi = min(x[2] for x in v), max(x[2] for x in v)
    print(f"| {op} | {t:.1f} {unit} | {m:.1f} | {r:.2f}x | {lo:.2f}-{hi:.2f}x |")
'
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
