"""Do a build's chains follow the deposited model's? One row per map and build folder.

    .venv/bin/python scripts/chain_check.py runs/before runs/after [--maps 3sb3,gamma]

Each folder holds ``MAP.cif`` per map of ``../shared/data/real`` (``build_sweep.py --save``).
Built residues are matched to deposited ones as ``evaluate --task build`` matches them
(C-alphas within 1 A, one to one, any crystal image). For each built chain with matched
residues: is it one copy of one deposited chain (every match in the same deposited chain, on
the same crystal image), and are its matches in the deposited order? Printed: chains built
and deposited, built chains that are one deposited copy in order, chains that mix copies or
run out of order, and the residues in those.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import backbone_residues, read_structure  # noqa: E402
from napari_densitybuild.symmetry import Symmetry  # noqa: E402
from napari_densitybuild.training.place_metrics import match_cas  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402

MAPS = "4iid,3sb3,gamma,1g8a,2apb,1dmm,3k0n,gere,4ms6,psp,5orl,1t48,5gge"


def check(built: Path, name: str) -> dict:
    """Chain counts of one build against the deposited model of real map ``name``."""
    sym = Symmetry.of_map(read_map(real_dir() / name / "map.mtz"))
    b, _ = backbone_residues(read_structure(built))
    d, _ = backbone_residues(read_structure(model_path(name)))
    p, r, _, op, shift = match_cas(b.ca, d.ca, sym, 1.0, with_images=True)
    good = bad = bad_residues = 0
    for ch in dict.fromkeys(b.chain):
        k = np.flatnonzero(b.chain[p] == ch)
        if not len(k):
            continue
        copies = {(d.chain[r[i]], int(op[i]), *np.round(shift[i]).astype(int)) for i in k}
        in_order = bool(np.all(np.diff(r[k[np.argsort(p[k])]]) > 0))
        if len(copies) == 1 and in_order:
            good += 1
        else:
            bad, bad_residues = bad + 1, bad_residues + int(np.count_nonzero(b.chain == ch))
    return {"chains": len(set(b.chain)), "deposited": len(set(d.chain)), "one_copy": good,
            "mixed": bad, "mixed_residues": bad_residues}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--maps", default=MAPS)
    args = p.parse_args(argv)
    print("| map | " + " | ".join(f"{f.name}: chains (deposited) / one copy / mixed (residues)"
                                   for f in args.folders) + " |")  # fmt: skip
    print("|---|" + "---|" * len(args.folders))
    for name in args.maps.split(","):
        cells = []
        for folder in args.folders:
            c = check(folder / f"{name}.cif", name)
            cells.append(f"{c['chains']} ({c['deposited']}) / {c['one_copy']} / {c['mixed']} "
                         f"({c['mixed_residues']})")  # fmt: skip
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
