#!/usr/bin/env bash
# The classifier ablation (docs/ablation.md): the poster's steps, then ours, each row trained
# for the same number of steps (same samples, about the same CPU time: one thread) on the same
# training structures, and scored on the same test structures and held-out real maps.
# Run from the repository root after scripts/train_classifier.sh step 1 (the main caches).
set -euo pipefail
DB=${DB:-.venv/bin/densitybuild}
OUT=${OUT:-runs/ablation}
STEPS=${STEPS:-800}
COMMON=(--net compact --base 16 --blocks 3,3 --steps "$STEPS" --batch-size 64 --lr 2e-3
        --warmup 100 --eval-every "$STEPS" --eval-max 4000 --threads 1 --seed 0 --val-split "")
HELD=real_1cbs,real_cdk2,real_rnasa

# Plain simulations (the molecule alone in a box, 1.4-1.6 A, no solvent, waters or noise) in
# the poster's axis-aligned frame and in the backbone frame; test splits in both frames.
$DB prepare --out .cache/boxes_axis --frame axis --splits train_plain,test_plain,test_1.5 \
    --real 1cbs,cdk2,rnasa --workers 2
$DB prepare --out .cache/boxes --splits train_plain,test_plain --workers 2

row() {  # name, cache, extra train args...
  local name=$1 cache=$2; shift 2
  $DB train --cache "$cache" --out "$OUT/$name" "${COMMON[@]}" "$@" > "$OUT/$name.log" 2>&1
  $DB evaluate --weights "$OUT/$name/final.safetensors" --cache "$cache" \
      --splits "test_plain,test_1.5,$HELD" --out "$OUT/$name/eval" > "$OUT/$name/eval.md"
}
mkdir -p "$OUT"
row 1_poster_plain      .cache/boxes_axis --train-splits train_plain --wd 0
row 2_poster_augment    .cache/boxes_axis --train-splits train_plain --wd 0 --rotate90 --crop 20
row 3_poster_aug_wd     .cache/boxes_axis --train-splits train_plain --wd 0.05 --rotate90 --crop 20
row 4_backbone_frame    .cache/boxes      --train-splits train_plain --wd 0.05
row 5_realistic_sim     .cache/boxes      --train-splits train --wd 0.05

# Row 8 (LONG=1; about 2 hours on 2 threads): the poster's task at length, row 4 with the
# shipped net's topology for 12,000 steps on 2 threads.
if [ "${LONG:-0}" = 1 ]; then
  $DB train --cache .cache/boxes --out "$OUT/8_plain_long" --train-splits train_plain \
      --val-split val --net compact --base 16 --blocks 3,3,3 --steps 12000 --batch-size 64 \
      --lr 2e-3 --wd 0.05 --warmup 300 --min-lr 0.02 --eval-every 3000 --eval-max 2000 \
      --best-metric val_map --threads 2 --seed 5 --ablation-row 8 > "$OUT/8_plain_long.log" 2>&1
  $DB evaluate --weights "$OUT/8_plain_long/final.safetensors" --cache .cache/boxes \
      --splits "test_plain,test_1.5,$HELD" --out "$OUT/8_plain_long/eval" > "$OUT/8_plain_long/eval.md"
fi
