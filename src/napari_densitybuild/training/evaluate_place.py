"""Evaluate placement (stage 1) on real maps and on simulated test structures.

Real maps: the placed C-alphas against the deposited model's, symmetry aware
(:mod:`.place_metrics`). Simulated: each test structure is simulated (crystal-like settings at
a fixed resolution, its own seed), placed, and compared with the structure in the map's frame.
Link accuracy is the fraction of traced links (consecutive residues of a fragment) whose two
C-alphas match deposited residues that are consecutive in the same chain, in that order.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..maps import DensityMap, read_map
from ..models import BackboneResidues, backbone_residues, read_structure
from ..place import Placer
from ..symmetry import Symmetry
from .place_metrics import match_cas, placement_metrics
from .simulate import SimulationSettings, simulate_file

if TYPE_CHECKING:
    import gemmi

    from ..trace import Trace


def link_accuracy(placed: Trace, bb: BackboneResidues, sym: Symmetry) -> float:
    """Fraction of traced links that join deposited residues k -> k + 1 of one chain."""
    p, r, _ = match_cas(placed.ca, bb.ca, sym, 1.5)
    ref_of = dict(zip(p.tolist(), r.tolist()))
    good = total = 0
    for i in range(len(placed) - 1):
        if placed.fragment[i] != placed.fragment[i + 1]:
            continue
        total += 1
        a, b = ref_of.get(i), ref_of.get(i + 1)
        if a is not None and b is not None and b == a + 1 and bb.chain[a] == bb.chain[b]:
            good += 1
    return good / total if total else float("nan")


def score_placement(placer: Placer, dmap: DensityMap, reference: gemmi.Structure) -> dict:
    """Place into ``dmap`` and score against a reference structure (gemmi) in the same frame."""
    t0 = time.perf_counter()
    placed = placer.place(dmap)
    seconds = time.perf_counter() - t0
    bb, _ = backbone_residues(reference)
    sym = Symmetry.of_map(dmap)
    out = placement_metrics(placed.ca, bb.ca, sym, placed.fragment)
    out["link_accuracy"] = link_accuracy(placed, bb, sym)
    out["seconds"] = round(seconds, 2)
    return out


def evaluate_real(placer: Placer, folder: str | Path) -> dict:
    """Placement metrics on a real-data folder (``map.mtz`` + deposited model)."""
    from .realdata import model_path

    folder = Path(folder)
    dmap = read_map(folder / "map.mtz")
    out = score_placement(placer, dmap, read_structure(model_path(folder.name, folder.parent)))
    out["resolution"] = dmap.resolution
    return out


def evaluate_simulated(placer: Placer, files: list[Path], d_min: float, seed: int = 0) -> dict:
    """Pooled placement metrics over simulated maps of ``files`` at ``d_min``."""
    settings = SimulationSettings().with_d_min(d_min)
    rows = []
    for k, path in enumerate(files):
        sim = simulate_file(path, settings, seed=seed + k)
        rows.append(score_placement(placer, sim.dmap, sim.structure))
    return pool(rows)


def pool(rows: list[dict]) -> dict:
    """Pool per-map metrics: counts summed, rates recomputed from counts, means of the rest."""
    if not rows:
        return {}
    out = {"maps": len(rows), "placed": sum(r["placed"] for r in rows),
           "reference": sum(r["reference"] for r in rows)}  # fmt: skip
    for key in rows[0]:
        if key.startswith("recall_"):
            out[key] = sum(r[key] * r["reference"] for r in rows) / max(out["reference"], 1)
        elif key.startswith("precision_"):
            out[key] = sum(r[key] * r["placed"] for r in rows) / max(out["placed"], 1)
        elif key not in out:
            out[key] = float(np.nanmean([r.get(key, np.nan) for r in rows]))
    return out
