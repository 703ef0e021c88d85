"""Would a fixed bias for one type help? Judged on out-of-fold predictions, map by map.

    .venv/bin/python scripts/oof_bias.py OUT/oof.json [--type ASP] [--bias 0,0.25,0.5,1]

``oof.json`` is what ``scripts/crossval_gpu.sh`` writes: for each real map, ``classify``'s
output from a net that never saw the map. For each bias b, b is added to the log-probability of
``--type`` and every residue re-predicted; printed: residues right per map and pooled. Then the
honest estimate: for each map, b is chosen on the other maps (most residues right, ties to the
smaller b) and applied to it; the pooled gain of that leave-one-map-out choice is what a bias
chosen on these maps would bring to an unseen one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from napari_densitybuild.residues import AMINO_ACIDS, PARENT


def load(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per map: log-probabilities (N, 20) and the deposited class indices (N,)."""
    maps = json.loads(path.read_text())["maps"]
    out = {}
    for name, entry in maps.items():
        res = entry["residues"]
        probs = np.array([[r["probs"][a] for a in AMINO_ACIDS] for r in res], dtype=float)
        ref = np.array([AMINO_ACIDS.index(PARENT.get(r["ref"], r["ref"])) for r in res])
        out[name] = (np.log(np.clip(probs, 1e-9, 1.0)), ref)
    return out


def right(logp: np.ndarray, ref: np.ndarray, k: int, b: float) -> int:
    """Residues right with ``b`` added to class ``k``'s log-probability."""
    shifted = logp.copy()
    shifted[:, k] += b
    return int((shifted.argmax(1) == ref).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("oof", type=Path)
    ap.add_argument("--type", default="ASP", help="the type to favour (three-letter code)")
    ap.add_argument("--bias", default="0,0.25,0.5,0.75,1,1.5", help="biases to try")
    args = ap.parse_args()
    data = load(args.oof)
    k = AMINO_ACIDS.index(args.type)
    biases = sorted({0.0, *(float(b) for b in args.bias.split(","))})
    table = {m: [right(lp, ref, k, b) for b in biases] for m, (lp, ref) in data.items()}
    print("map | residues | " + " | ".join(f"b={b:g}" for b in biases))
    for m, row in table.items():
        print(f"{m} | {len(data[m][1])} | " + " | ".join(map(str, row)))
    pooled = np.sum(list(table.values()), axis=0)
    print(f"all | {sum(len(v[1]) for v in data.values())} | " + " | ".join(map(str, pooled)))
    loo_gain = 0
    for m, row in table.items():
        others = pooled - np.array(row)
        choice = int(np.argmax(others))  # first maximum: the smallest bias among ties
        loo_gain += row[choice] - row[biases.index(0.0)]
        print(f"leave out {m}: b = {biases[choice]:g} chosen on the others, {row[choice]} right")
    print(f"leave-one-map-out gain over b = 0: {loo_gain:+d} residues")


if __name__ == "__main__":
    main()
