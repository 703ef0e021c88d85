#!/usr/bin/env bash
# The poster's task on one GPU: the shipped net's topology trained from scratch on plain
# simulations (the molecule alone, 1.4-1.6 A), scored on the plain test split at 1.5 A.
#
#   scripts/plain_gpu.sh OUT [MINUTES]
#
# Row 8 of docs/ablation.md is the same net and data trained on the CPU (12,000 x 64 samples,
# 3.3 CPU-hours: test mAP 0.968); 2.5 minutes here (5.2 M samples, 28 passes over the one
# simulation of `train_plain`) scored 0.961: the net memorised that simulation. So, while it
# trains, fresh plain simulations of the training structures (STREAM, default train_plain2..9)
# are made on the spare cores and join the pool as each completes (--stream-splits). Not a
# shipped net: plain simulations alone score about 0.5 top-1 on real maps (ablation row 8).
# Writes OUT/train (the run) and OUT/test (evaluate on test_plain; the test structures must be
# in the data folder). Needs the data folder ($DENSITYBUILD_DATA, else ../shared/data), a
# PyTorch with CUDA, gemmi and mrcfile. Dry run on a CPU: DEVICE=cpu LIMIT=4 MINUTES=0.3
# BATCH=32 EVAL_EVERY=20 CACHE=/tmp/plain_cache STREAM=train_plain2.
set -euo pipefail
OUT=${1:?usage: scripts/plain_gpu.sh OUT [MINUTES]}
MINUTES=${2:-${MINUTES:-2.5}}
DEVICE=${DEVICE:-cuda}
CACHE=${CACHE:-.cache/boxes}
LIMIT=${LIMIT:-}
BATCH=${BATCH:-512}
LR=${LR:-3e-3}
EVAL_EVERY=${EVAL_EVERY:-1000}
STREAM=${STREAM:-train_plain2,train_plain3,train_plain4,train_plain5,train_plain6,train_plain7,train_plain8,train_plain9}
NPROC=$(nproc)
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1
db() { python3 -m napari_densitybuild "$@"; }
mkdir -p "$OUT" "$CACHE"
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0)) s] $*"; }

stamp "step 1: plain simulations of the train, validation and test structures on $NPROC cores"
db prepare --out "$CACHE" --splits train_plain,val_plain,test_plain --workers "$NPROC" \
  ${LIMIT:+--limit $LIMIT} >"$OUT/prepare.log" 2>&1

stamp "step 2: $MINUTES min from scratch on $DEVICE, batch $BATCH; simulating $STREAM beside it"
nice -n 10 python3 -m napari_densitybuild prepare --out "$CACHE" --splits "$STREAM" \
  --workers $((NPROC > 4 ? NPROC - 3 : 1)) ${LIMIT:+--limit $LIMIT} >"$OUT/prepare_stream.log" 2>&1 &
sim=$!
db train --out "$OUT/train" --cache "$CACHE" --train-splits train_plain --val-split val_plain \
  --stream-splits "$STREAM" \
  --net compact --base 16 --blocks 3,3,3 --minutes "$MINUTES" --steps 1000000 \
  --batch-size "$BATCH" --lr "$LR" --wd 0.05 --warmup 300 --min-lr 0.02 \
  --eval-every "$EVAL_EVERY" --eval-max 4000 --best-metric val_map --threads 1 \
  --device "$DEVICE" --seed 5 --log-every 100 --checkpoint-minutes 100 >"$OUT/train.log" 2>&1
pkill -TERM -P "$sim" 2>/dev/null || true
kill "$sim" 2>/dev/null || true
grep -h "boxes from" "$OUT/prepare_stream.log" || true

stamp "step 3: the final weights on the plain test split"
db evaluate --weights "$OUT/train/final.safetensors" --cache "$CACHE" --splits test_plain \
  --device "$DEVICE" --out "$OUT/test" 2>&1 | tee "$OUT/test.log"
stamp "done"
