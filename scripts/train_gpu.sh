#!/usr/bin/env bash
# Train the classifier on one GPU within a time budget, simulating its data on all CPU cores.
#
#   scripts/train_gpu.sh OUT [MINUTES]
#
# 0. On CUDA, the device-batch tests (SELF_TEST=0 skips them).
# 1. Real-map caches (one process per map; training maps with 4 jittered copies) and the first
#    simulation of the training structures (`train`) plus `val`, side by side on all cores.
# 2. Two runs share the GPU for MINUTES each (the cosine schedule spans the time): A continues
#    the shipped net; B grows it to blocks 3,4,6 (new blocks start as identities) and continues
#    (BLOCKS_B=3,3,3 REAL_MIX_B=0.4: the shipped net again, with more real boxes per batch).
#    Meanwhile `prepare` simulates train2..train9 on the spare cores, and each run adds every
#    cache that is complete to its pool at its evaluations (--stream-splits). ATOM_WEIGHT=W
#    (e.g. 1) keeps the shipped atom head and trains it jointly with the net (without it the
#    runs leave the head out; one can be trained later with `train --train-only atom_head`).
# 3. The pipeline benchmark on the GPU (benchmarks/results/pipeline_cuda.md), if BENCH=1.
#
# Needs the data folder ($DENSITYBUILD_DATA, else ../shared/data: structures/ and real/), a
# PyTorch with CUDA, gemmi and mrcfile; with the 9 simulations about 37 GB of disk (4.1 GB
# each, float16) and, as every run holds all of them, about 40 GB of GPU memory per run.
# Seen on one H200 with 16 cores: step 1 in 65 s, a simulation every ~45 s beside training,
# 6-9 k samples/s per run (docs: the model card). For a dry run on a CPU: DEVICE=cpu LIMIT=8
# MINUTES=0.3 BATCH=32 EVAL_EVERY=20.
set -euo pipefail
OUT=${1:?usage: scripts/train_gpu.sh OUT [MINUTES]}
MINUTES=${2:-${MINUTES:-6}}
DEVICE=${DEVICE:-cuda}
CACHE=${CACHE:-.cache/boxes}
LIMIT=${LIMIT:-}                     # structures per simulated split (dry runs)
BATCH=${BATCH:-512}
LR=${LR:-2e-3}
REAL_MIX=${REAL_MIX:-0.25}  # the shipped recipe (the 2026-12-04 run used 0.15)
BLOCKS_B=${BLOCKS_B:-3,4,6}         # run B: grown (new blocks start as identities)
REAL_MIX_B=${REAL_MIX_B:-$REAL_MIX}
EVAL_EVERY=${EVAL_EVERY:-500}
ATOM_WEIGHT=${ATOM_WEIGHT:-0}
STREAM=${STREAM:-train2,train3,train4,train5,train6,train7,train8,train9}
NPROC=$(nproc)
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1
db() { python3 -m napari_densitybuild "$@"; }
limit=${LIMIT:+--limit $LIMIT}
mkdir -p "$OUT" "$CACHE"
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0)) s] $*"; }

if [[ "$DEVICE" == cuda && "${SELF_TEST:-1}" == 1 ]]; then  # ~20 s: stop before spending more
  stamp "step 0: the device-batch tests on $DEVICE"
  python3 -m pytest -q -x -p no:cacheprovider tests/test_device_batches.py
fi

stamp "step 1: real caches and train,val on $NPROC cores"
pids=()
for m in 1dmm 1g8a 1t48 2apb 3k0n 4iid 4ms6 5gge 5orl gere psp; do
  db prepare --out "$CACHE" --splits none --real "$m" --real-jitter 4 >"$OUT/prepare_$m.log" 2>&1 &
  pids+=($!)
done
for m in 1cbs cdk2 rnasa 3sb3 gamma; do
  db prepare --out "$CACHE" --splits none --real "$m" >"$OUT/prepare_$m.log" 2>&1 &
  pids+=($!)
done
db prepare --out "$CACHE" --splits val,train --workers "$NPROC" $limit >"$OUT/prepare_train.log" 2>&1
for p in "${pids[@]}"; do wait "$p"; done
stamp "caches: $(ls "$CACHE" | tr '\n' ' ')"

stamp "step 2: simulate $STREAM in the background; two runs of $MINUTES min on $DEVICE"
nice -n 10 python3 -m napari_densitybuild prepare --out "$CACHE" --splits "$STREAM" --workers $((NPROC > 4 ? NPROC - 3 : 1)) $limit \
  >"$OUT/prepare_stream.log" 2>&1 &
sim=$!
common=(--cache "$CACHE" --train-splits train --stream-splits "$STREAM" --val-split val
  --real-splits auto --net compact --base 16 --pose --pose-weight 0.3
  --minutes "$MINUTES" --steps 1000000 --batch-size "$BATCH" --lr "$LR" --wd 0.05 --warmup 200
  --min-lr 0.02 --aug-scale 0.9,1.1 --aug-noise 0.2 --aug-blur 0.4 --eval-every "$EVAL_EVERY"
  --eval-max 4000 --best-metric realval_top1 --threads 1 --device "$DEVICE" --init-from shipped
  --log-every 100 --checkpoint-minutes 100)
if [[ "$ATOM_WEIGHT" != 0 ]]; then common+=(--atom-head integral --atom-weight "$ATOM_WEIGHT"); fi
db train --out "$OUT/A" --blocks 3,3,3 --real-mix "$REAL_MIX" --seed 41 "${common[@]}" >"$OUT/A.log" 2>&1 &
a=$!
db train --out "$OUT/B" --blocks "$BLOCKS_B" --real-mix "$REAL_MIX_B" --seed 42 "${common[@]}" >"$OUT/B.log" 2>&1 &
b=$!
status=0
wait "$a" || status=$?
wait "$b" || status=$?
pkill -TERM -P "$sim" 2>/dev/null || true
kill "$sim" 2>/dev/null || true
stamp "runs done (status $status)"
tail -n 3 "$OUT/A.log" "$OUT/B.log" || true

if [[ "${BENCH:-0}" == 1 ]]; then
  stamp "step 3: pipeline benchmark on $DEVICE"
  env -u OMP_NUM_THREADS python3 benchmarks/bench_pipeline.py --device "$DEVICE" \
    --threads "${BENCH_THREADS:-8}" --cases cdk2,5orl,1t48 \
    --out benchmarks/results/pipeline_cuda.md || true
  cp benchmarks/results/pipeline_cuda.md "$OUT/" 2>/dev/null || true
fi
stamp "done"
exit "$status"
