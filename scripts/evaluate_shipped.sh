#!/usr/bin/env bash
# The figures of the model cards and docs/build.md: the shipped classifier on the cached test
# splits and real maps, on the held-out real maps through the tool's own box cutting (with and
# without test-time augmentation), and whole builds of the held-out real maps with and without
# their sequence. Run from the repository root after scripts/train_classifier.sh step 1.
set -euo pipefail
DB=${DB:-.venv/bin/densitybuild}
WEIGHTS=${WEIGHTS:-shipped}  # or a candidate: WEIGHTS=runs/ft1/best.safetensors
REAL=${REAL:-../shared/data/real}
OUT=${OUT:-runs}
mkdir -p "$OUT"
THREADS_OPT=(); [ -n "${THREADS:-}" ] && THREADS_OPT=(--threads "$THREADS")  # e.g. THREADS=1
HELD=(1cbs cdk2 rnasa)
VAL=(3sb3 gamma)

if [ -z "${BUILDS_ONLY:-}" ]; then
# Cached boxes (deposited residues, the training frames): simulated test split and real maps.
$DB evaluate "${THREADS_OPT[@]}" --weights "$WEIGHTS" --cache .cache/boxes \
    --splits test_1.5,test_2.5,test_plain,real_1cbs,real_cdk2,real_rnasa,real_3sb3,real_gamma \
    --out "$OUT/eval_shipped" > "$OUT/eval_shipped.md"
# Map + model pairs as `densitybuild classify` sees them (default TTA, then none).
maps=()
for m in "${HELD[@]}" "${VAL[@]}"; do maps+=(--map "$REAL/$m"); done
$DB evaluate "${THREADS_OPT[@]}" --weights "$WEIGHTS" "${maps[@]}" --out "$OUT/eval_shipped_maps" \
    > "$OUT/eval_shipped_maps.md"
$DB evaluate "${THREADS_OPT[@]}" --weights "$WEIGHTS" "${maps[@]}" --tta 0 --out "$OUT/eval_shipped_maps_tta0" \
    > "$OUT/eval_shipped_maps_tta0.md"
fi
# Whole builds against the deposited models, with and without a sequence: the one-letter
# sequence of each chain of the deposited model (what a user would paste from the construct).
mkdir -p "$OUT/seq" "$OUT/eval_build" "$OUT/eval_build_seq"
for m in "${HELD[@]}" "${VAL[@]}"; do
  .venv/bin/python -c "import sys; from napari_densitybuild.models import read_structure
from napari_densitybuild.sequence import model_fasta
print(model_fasta(read_structure(sys.argv[1]), sys.argv[2]), end='')" \
      "$(ls "$REAL/$m"/model.* | head -1)" "$m" > "$OUT/seq/$m.fasta"
done
for m in "${HELD[@]}" "${VAL[@]}"; do
  $DB evaluate "${THREADS_OPT[@]}" --task build --weights "$WEIGHTS" --map "$REAL/$m" --out "$OUT/eval_build/$m" \
      > "$OUT/eval_build/$m.md" 2>&1 || true
  $DB evaluate "${THREADS_OPT[@]}" --task build --weights "$WEIGHTS" --map "$REAL/$m" --sequence "$OUT/seq/$m.fasta" \
      --out "$OUT/eval_build_seq/$m" > "$OUT/eval_build_seq/$m.md" 2>&1 || true
done
