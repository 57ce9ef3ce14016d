#!/usr/bin/env bash
# Reduced-scale reproduction of the paper's Fig. 8 comparison on dSprites (CPU backend):
# FactorVAE vs AD-FactorVAE at gamma 40, same seeds and steps, then one table and one
# scatter plot (FactorVAE score against reconstruction error).
#
#   scripts/reproduce_ad.sh [OUT]        (default OUT=runs/ad-repro)
#
# Scale knobs (environment): STEPS, SEEDS, Z, BATCH, LAMBDA, VOTES_TRAIN, VOTES_EVAL,
# SAMPLES, DEVICE. The defaults are the settings of docs/disentanglement.md's table; the
# paper's scale is STEPS=300000 VOTES_TRAIN=10000 VOTES_EVAL=5000 SAMPLES=10000.
# Runs are resumable: rerunning continues unfinished seeds and reuses finished evaluations.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/ad-repro}
STEPS=${STEPS:-3000}
SEEDS=${SEEDS:-1,2}
Z=${Z:-10}
BATCH=${BATCH:-64}
GAMMA=${GAMMA:-40}
LAMBDA=${LAMBDA:-10}
VOTES_TRAIN=${VOTES_TRAIN:-1000}
VOTES_EVAL=${VOTES_EVAL:-500}
SAMPLES=${SAMPLES:-5000}
DEVICE=${DEVICE:-cpu}
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/vaecam
common=(--model factor-vae --gamma "$GAMMA" --steps "$STEPS" --seeds "$SEEDS" --z "$Z"
  --batch "$BATCH" --device "$DEVICE" --eval-train-votes "$VOTES_TRAIN"
  --eval-eval-votes "$VOTES_EVAL" --eval-samples "$SAMPLES" --quiet)
"$BIN" disentangle "${common[@]}" --out "$OUT/factor-vae"
"$BIN" disentangle "${common[@]}" --ad-lambda "$LAMBDA" --out "$OUT/ad-factor-vae"
"$BIN" compare --runs "$OUT/factor-vae" "$OUT/ad-factor-vae" --out "$OUT/compare"
