"""Where a classifier's errors sit: by how strong the deposited side chain is in the map.

    .venv/bin/python scripts/errors_by_density.py --map ../shared/data/real/cdk2 \\
        --pred cdk2=PRED.json [--pred cdk2=OTHER.json] [--map ...]

Each ``--pred`` is a ``densitybuild classify`` output for the map folder of the same name. For
each residue: the mean map value (sigma) at the deposited side-chain atoms beyond CB (none for
GLY and ALA). Prints, per density bin, residues and errors of the first prediction set; the
error pairs (deposited -> predicted) where the side chain is in strong density; and, with two
prediction sets per map, how many errors the two share.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.residues import class_index  # noqa: E402
from napari_densitybuild.training.realdata import model_path  # noqa: E402

BACKBONE = {"N", "CA", "C", "O", "CB", "OXT"}
BINS = (1.0, 1.5)  # sigma: weak < 1.0 <= moderate < 1.5 <= strong


def side_chain_density(folder: Path) -> dict[tuple[str, int], float]:
    """Mean map value at the deposited side-chain heavy atoms beyond CB, per (chain, seqid)."""
    dmap = read_map(folder / "map.mtz")
    st = read_structure(model_path(folder.name, folder.parent))
    out = {}
    for chain in st[0]:
        for res in chain:
            xyz = [a.pos.tolist() for a in res if a.name not in BACKBONE and a.element.name != "H"]
            if xyz:
                out[(chain.name, res.seqid.num)] = float(dmap.sample_points(np.array(xyz)).mean())
    return out


def wrong(residue: dict) -> bool:
    """The prediction is not the deposited type (modified residues read as their parent)."""
    return class_index(residue["ref"]) != class_index(residue["pred"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--map", action="append", required=True, help="real-map folder (repeatable)")
    p.add_argument("--pred", action="append", required=True, help="NAME=classify.json")
    args = p.parse_args(argv)
    preds: dict[str, list[list[dict]]] = {}
    for item in args.pred:
        name, path = item.split("=", 1)
        preds.setdefault(name, []).append(json.loads(Path(path).read_text())["residues"])
    counts = np.zeros((3, 2), int)
    pairs: Counter = Counter()
    shared = [0, 0, 0]  # both wrong, first only, second only
    for folder in map(Path, args.map):
        sets = preds.get(folder.name)
        if not sets:
            raise SystemExit(f"no --pred for {folder.name}")
        density = side_chain_density(folder)
        second = {(r["chain"], r["seqid"]): r for r in sets[1]} if len(sets) > 1 else None
        for r in sets[0]:
            if r["ref"] is None or class_index(r["ref"]) is None:
                continue
            key = (r["chain"], r["seqid"])
            level = density.get(key, np.inf)
            b = int(np.searchsorted(BINS, level, side="right"))
            counts[b] += (1, wrong(r))
            if wrong(r) and b == 2:
                pairs[f"{r['ref']}->{r['pred']}"] += 1
            if second is not None and key in second:
                a, c = wrong(r), wrong(second[key])
                shared[0 if a and c else 1 if a else 2] += a or c
    names = ("< 1.0 sigma", "1.0-1.5 sigma", ">= 1.5 sigma or no side chain")
    print("| side-chain density | residues | wrong | error rate |\n|---|---:|---:|---:|")
    for name, (n, k) in zip(names, counts):
        print(f"| {name} | {n} | {k} | {k / max(n, 1):.3f} |")
    print(f"| all | {counts[:, 0].sum()} | {counts[:, 1].sum()} | "
          f"{counts[:, 1].sum() / max(counts[:, 0].sum(), 1):.3f} |")  # fmt: skip
    print("errors in strong density:", ", ".join(f"{k} {v}" for k, v in pairs.most_common()))
    if any(len(s) > 1 for s in preds.values()):
        print(f"errors of both prediction sets: {shared[0]}; first only {shared[1]}; "
              f"second only {shared[2]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
