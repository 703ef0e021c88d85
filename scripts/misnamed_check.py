"""How well "Review model..." finds misnamed residues: deposited models with residues renamed,
classified against their maps, ranked by confidence as "Next doubtful residue" walks them.

    .venv/bin/python scripts/misnamed_check.py --maps 1cbs,cdk2,rnasa [--share 0.05] [--seed 0]

For each map of ``../shared/data/real``, ``--share`` of the deposited model's residues (at
random) are renamed to another of the 20 types, and a stretch of 6 residues elsewhere is
shifted one position along the chain (a register error: each takes its neighbour's name). The
model is then opened as Review model opens it (``review.model_session``: types as modelled,
probabilities from the shipped classifier) and the residues are ranked by confidence, least
first. Printed per map: residues, renamed, how many of those (and of the shifted stretch) are
among the least confident 5 % and 10 % of the model, and their median rank percentile.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.classify import Classifier  # noqa: E402
from napari_densitybuild.device import configure_cpu_threads  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.residues import AMINO_ACIDS, class_index  # noqa: E402
from napari_densitybuild.review import model_session  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402


def misname(st, share: float, rng: np.random.Generator) -> tuple[set, set]:
    """Rename ``share`` of the amino acids of ``st`` and shift one stretch of 6; the (chain,
    number) keys of each kind."""
    residues = [(ch.name, r) for ch in st[0] for r in ch if class_index(r.name) is not None]
    picked = rng.choice(len(residues), max(1, round(share * len(residues))), replace=False)
    renamed = set()
    for k in picked:
        ch, r = residues[k]
        r.name = str(rng.choice([a for a in AMINO_ACIDS if a != r.name]))
        renamed.add((ch, r.seqid.num))
    shifted = set()
    taken = {int(k) for k in picked}
    for start in rng.permutation(len(residues) - 7):
        window = range(start, start + 7)
        if taken & set(window) or len({residues[i][0] for i in window}) > 1:
            continue
        names = [residues[i][1].name for i in window]
        for i, name in zip(window[:-1], names[1:]):
            if residues[i][1].name != name:
                shifted.add((residues[i][0], residues[i][1].seqid.num))
            residues[i][1].name = name
        break
    return renamed, shifted


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--maps", required=True)
    p.add_argument("--share", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    configure_cpu_threads(args.threads)
    clf = Classifier.from_path()
    rng = np.random.default_rng(args.seed)
    print(
        "| map | residues | renamed: in least confident 5 % / 10 %, median rank | register "
        "shift (changed names): in 5 % / 10 %, median rank |"
    )
    print("|---|---:|---|---|")
    for name in args.maps.split(","):
        dmap = read_map(real_dir() / name / "map.mtz")
        st = read_structure(model_path(name))
        renamed, shifted = misname(st, args.share, rng)
        s = model_session(st, dmap, clf)
        order = np.argsort([r.confidence for r in s.residues], kind="stable")
        rank = np.empty(len(order))
        rank[order] = np.arange(len(order)) / len(order)
        keys = [(r.chain, r.seqid) for r in s.residues]
        cells = []
        for group in (renamed, shifted):
            rk = np.array([rank[i] for i, k in enumerate(keys) if k in group])
            cells.append(f"{int((rk < 0.05).sum())} / {int((rk < 0.1).sum())} of {len(rk)}, "
                         f"{np.median(rk):.3f}" if len(rk) else "-")  # fmt: skip
        print(f"| {name} | {len(keys)} | {cells[0]} | {cells[1]} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
