#!/usr/bin/env bash
# The commands that made the shipped residue classifier (weights/classifier.safetensors).
# Run from the repository root; needs ../shared/data (or DENSITYBUILD_DATA) and about 30 GB disk.
# Long: run it in the background (nohup) and follow runs/classifier/log.csv.
set -euo pipefail
DB=${DB:-.venv/bin/densitybuild}
CACHE=${CACHE:-.cache/boxes}
OUT=${OUT:-runs/classifier}
THREADS=${THREADS:-1}

# 1. Box caches: two simulations of every training structure (1.3-2.5 A, crystal-like), the
#    validation and test splits, every real map at its deposited residues, and 4 jittered
#    copies of each real training map (about 25 minutes on 2 cores).
$DB prepare --out "$CACHE" --splits train,train2,val,val_jittered,test_1.5,test_2.5 \
    --real all --real-jitter 4 --workers 2

# 2. Train: compact net with the pose head; a quarter of every batch from the real training
#    maps (never 1cbs, cdk2, rnasa; gamma and 3sb3 are watched as real validation maps).
#    The shipped weights: this command was stopped at step 2,560 and continued with
#    `scripts/train_classifier.sh --resume --steps 7000` (skipping step 1), then copied from
#    runs/classifier/final.safetensors (see weights/MODEL_CARD.md for the choice).
$DB train --cache "$CACHE" --out "$OUT" --train-splits train,train2 --val-split val \
    --real-mix 0.25 --real-splits auto --net compact --base 16 --blocks 3,3 --pose \
    --pose-weight 0.3 --steps 10000 --batch-size 64 --lr 2e-3 --wd 0.05 --warmup 300 \
    --min-lr 0.02 --aug-scale 0.9,1.1 --aug-noise 0.2 --aug-blur 0.4 --eval-every 1000 \
    --eval-max 4000 --best-metric realval_top1 --threads "$THREADS" --seed 0 "$@"

# 3. Grow and continue (the shipped weights since 2026-12-03): the net of step 2 with three
#    residual blocks on its last 3^3 stage (they start as identities, so training begins from
#    what step 2 learned), on a third simulation of the training structures as well; 4,000
#    steps on 2 threads, best real-validation checkpoint (runs/classifier_grown/best.safetensors).
$DB prepare --out "$CACHE" --splits train3 --workers 2
$DB train --cache "$CACHE" --out "${OUT}_grown" --train-splits train,train2,train3 \
    --val-split val --real-mix 0.25 --real-splits auto --net compact --base 16 --blocks 3,3,3 \
    --pose --pose-weight 0.3 --steps 4000 --batch-size 64 --lr 1e-3 --wd 0.05 --warmup 200 \
    --min-lr 0.02 --aug-scale 0.9,1.1 --aug-noise 0.2 --aug-blur 0.4 --eval-every 1000 \
    --eval-max 4000 --best-metric realval_top1 --threads 2 --seed 31 \
    --init-from "$OUT/final.safetensors"

# 4. The atom head (stage 3's atoms, since 2026-12-05): first trained on the frozen features of
#    step 3's net (`scripts/pose_heads.py --heads integral --save-weights HEAD`, twice, then
#    `scripts/add_atom_head.py BASE HEAD --out W`; the model card), then continued with the
#    rest of the net frozen, from the weights shipped then (step 3's net with that head)
#    (runs/atomhead/best.safetensors), and once more on two simulations, its cosine run to
#    the end (runs/atomhead2/best.safetensors: the shipped weights).
$DB prepare --out "$CACHE" --splits train,val --real all --real-jitter 4 --workers 2
$DB train --cache "$CACHE" --out runs/atomhead --train-splits train --val-split val \
    --real-mix 0.25 --real-splits auto --net compact --base 16 --blocks 3,3,3 --pose \
    --atom-head integral --atom-weight 1 --train-only atom_head --steps 10000 --minutes 85 \
    --batch-size 64 --lr 5e-4 --wd 0.05 --warmup 200 --min-lr 0.02 --aug-scale 0.9,1.1 \
    --aug-noise 0.2 --aug-blur 0.4 --eval-every 1000 --eval-max 4000 \
    --best-metric realval_atom_rmsd --threads 2 --seed 101 --init-from shipped
$DB prepare --out "$CACHE" --splits train2 --workers 2
$DB train --cache "$CACHE" --out runs/atomhead2 --train-splits train,train2 --val-split val \
    --real-mix 0.25 --real-splits auto --net compact --base 16 --blocks 3,3,3 --pose \
    --atom-head integral --atom-weight 1 --train-only atom_head --steps 5000 --minutes 88 \
    --batch-size 64 --lr 3e-4 --wd 0.05 --warmup 100 --min-lr 0.03 --aug-scale 0.9,1.1 \
    --aug-noise 0.2 --aug-blur 0.4 --eval-every 1000 --eval-max 4000 \
    --best-metric realval_atom_rmsd --threads 2 --seed 202 \
    --init-from runs/atomhead/best.safetensors
