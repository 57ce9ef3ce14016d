#!/usr/bin/env bash
# Regenerates the README's localization tables (CPU backend) and copies the metrics JSON
# under docs/results/:
#
#   scripts/reproduce_localize.sh [quickstart|textures|mnist|all] [OUT]   (default: all, OUT=runs/localize-repro)
#
# quickstart: the README's first command (synthetic tiles, 64 px, 400 steps).
# textures:   make-benchmark with ../shared/data/textures (brick, grass) plus the four
#             procedural textures (woven, wood, tiles, carpet): six categories at 128 px,
#             default localize settings (conv VAE, 300 steps of 32, lr 1e-3, beta 0.1,
#             layer act2, paper variant, sigma = side/64, fused map).
# mnist:      the authors' one-class MNIST experiment (inlier 3), three variants.
# Knobs (environment): STEPS (textures), SIZE, DEVICE, MNIST_STEPS.
set -euo pipefail
cd "$(dirname "$0")/.."
PHASE=${1:-all}
OUT=${2:-runs/localize-repro}
DEVICE=${DEVICE:-cpu}
STEPS=${STEPS:-300}
SIZE=${SIZE:-128}
MNIST_STEPS=${MNIST_STEPS:-800}
TEXTURES=../shared/data/textures
MNIST=../shared/data/mnist
BIN=target/release/vaecam
cargo build --release --quiet
mkdir -p "$OUT" docs/results

timed() { # name, command...
    local name=$1; shift
    local t0; t0=$(date +%s)
    "$@"
    echo "$name: $(( $(date +%s) - t0 )) s" | tee -a "$OUT/times.txt"
}

if [[ $PHASE == quickstart || $PHASE == all ]]; then
    timed quickstart "$BIN" localize --data synthetic:tiles --train --size 64 --steps 400 \
        --device "$DEVICE" --quiet --out "$OUT/quickstart"
    cp "$OUT/quickstart/metrics.json" docs/results/localize-quickstart.json
    cp "$OUT/quickstart/table.md" docs/results/localize-quickstart.md
fi

if [[ $PHASE == textures || $PHASE == all ]]; then
    [[ -d $TEXTURES ]] || { echo "missing $TEXTURES (see ../shared/data/NOTICE.md)" >&2; exit 1; }
    if [[ ! -d $OUT/texbench ]]; then
        "$BIN" make-benchmark --textures "$TEXTURES" --size "$SIZE" --out "$OUT/texbench"
    fi
    # One category per call so that each category's wall time is measured on its own; a
    # final call over all six (their runs are finished, so it only maps) writes one table.
    for c in brick grass woven wood tiles carpet; do
        timed "textures/$c" "$BIN" localize --data "mvtec:$OUT/texbench/$c" --train --steps "$STEPS" \
            --size "$SIZE" --device "$DEVICE" --quiet --save-maps false --out "$OUT/textures"
    done
    "$BIN" localize --data "mvtec:$OUT/texbench" --categories all --train --steps "$STEPS" \
        --size "$SIZE" --device "$DEVICE" --quiet --save-maps false --out "$OUT/textures"
    cp "$OUT/textures/metrics.json" docs/results/localize-textures.json
    cp "$OUT/textures/table.md" docs/results/localize-textures.md
fi

if [[ $PHASE == mnist || $PHASE == all ]]; then
    [[ -d $MNIST ]] || { echo "missing $MNIST (see ../shared/data/NOTICE.md)" >&2; exit 1; }
    timed mnist "$BIN" localize --data "mnist:$MNIST:3" --train --steps "$MNIST_STEPS" --batch 128 \
        --lr 1e-3 --beta 1 --device "$DEVICE" --quiet --out "$OUT/mnist3"
    cp "$OUT/mnist3/metrics.json" docs/results/localize-mnist3-paper.json
    for v in code normal-difference; do
        "$BIN" localize --data "mnist:$MNIST:3" --run "$OUT/mnist3/run" --variant "$v" \
            --device "$DEVICE" --quiet --out "$OUT/mnist3-$v"
        cp "$OUT/mnist3-$v/metrics.json" "docs/results/localize-mnist3-$v.json"
    done
fi
echo "done; times in $OUT/times.txt"
