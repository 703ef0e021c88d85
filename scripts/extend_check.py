"""Add residue (chain_extend) tried on deposited models of real maps: chains cut short and grown
back one residue, and the chains' own ends.

    DENSITYBUILD_DATA=../shared/data .venv/bin/python scripts/extend_check.py 1cbs,cdk2,rnasa

Per map (``../shared/data/real/MAP``: its map and deposited model), at up to ``--sites``
residues inside pieces of chain (drawn with a fixed seed): the next ten residues of the chain
deleted, then :func:`extend_chain` after the residue (and likewise the ten before it, and a
residue added before it). A site counts as built back where the new C-alpha lies within 1 A of
the deleted one, and typed where the shipped classifier (no sequence) names it as deposited.
At the model's own chain ends, how often a residue is added at all (the map there shows
disorder, a ligand or a neighbour, not the chain). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.breaks import pieces  # noqa: E402
from napari_densitybuild.chain_extend import extend_chain  # noqa: E402
from napari_densitybuild.classify import Classifier  # noqa: E402
from napari_densitybuild.errors import DensityBuildError  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.session import Session  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402

#: Residues deleted beyond the end at each site.
CUT = 10


def _try(s: Session, index: int, dmap, clf) -> tuple | None:
    try:
        return extend_chain(s, index, dmap, clf)
    except DensityBuildError:
        return None


def check_map(name: str, clf: Classifier, sites: int, seed: int = 0) -> dict:
    """The figures of the module for real map ``name``."""
    dmap = read_map(real_dir() / name / "map.mtz")
    s = Session.from_structure(read_structure(str(model_path(name))), None, dmap)
    res, piece = s.residues, pieces(s)
    inner = [i for i in range(CUT, len(res) - CUT)
             if piece[i - CUT] == piece[i + CUT]]  # fmt: skip
    rng = np.random.default_rng(seed)
    picked = rng.choice(inner, size=min(sites, len(inner)), replace=False)
    out = {"map": name, "sites": 0, "built": 0, "right": 0, "typed": 0, "seconds": []}
    for i in picked:
        for c_term in (True, False):
            gone = range(i + 1, i + 1 + CUT) if c_term else range(i - CUT, i)
            rows = [r for k, r in enumerate(res) if k not in gone]
            at = i if c_term else i - CUT
            t = time.perf_counter()
            got = _try(Session(rows, None, s.meta, autosave=False), at, dmap, clf)
            out["seconds"].append(time.perf_counter() - t)
            truth = res[i + 1] if c_term else res[i - 1]
            out["sites"] += 1
            if got is None:
                continue
            new = got.rows[got.built]
            out["built"] += 1
            if np.linalg.norm(new.ca - truth.ca) < 1.0:
                out["right"] += 1
                out["typed"] += new.name == truth.name
    ends = [k for k in range(len(res)) if k == 0 or piece[k - 1] != piece[k]] + [
        k for k in range(len(res)) if k == len(res) - 1 or piece[k + 1] != piece[k]
    ]
    out["ends"] = len(ends)
    out["ends_built"] = sum(_try(s, k, dmap, clf) is not None for k in ends)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("maps", help="real-map folders, comma-separated")
    p.add_argument("--sites", type=int, default=30, help="residues per map (each: both ends)")
    args = p.parse_args(argv)
    clf = Classifier.from_path()
    print("| map | ends cut | residue added | C-alpha within 1 A | of those, typed as deposited "
          "| s per press | the model's own chain ends: residue added |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.maps.split(","):
        r = check_map(name, clf, args.sites)
        print(
            f"| {name} | {r['sites']} | {r['built']} | {r['right']} | {r['typed']} | "
            f"{np.mean(r['seconds']):.2f} | {r['ends_built']} of {r['ends']} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
