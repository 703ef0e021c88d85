"""Classify every residue of a model: the boxes its backbone frames, the rows ``classify``
writes (see :meth:`~napari_densitybuild.classify.Classifier.classify_model`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import gemmi
import numpy as np

from .errors import DensityBuildError
from .maps import DensityMap
from .models import protein_residues, read_structure
from .pose import frame_to_world
from .residues import PARENT

if TYPE_CHECKING:
    from .classify import Classifier, Progress


def classify_model(
    classifier: Classifier,
    dmap: DensityMap,
    structure: gemmi.Structure | str | Path,
    progress: Progress | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Classify every residue of a model (its first model) in ``dmap``.

    Parameters
    ----------
    classifier
        The classifier.
    dmap
        The map.
    structure
        A gemmi Structure or a model file; residues need N, CA and C.
    progress
        Optional ``progress(done, total)`` callback.

    Returns
    -------
    residues, skipped
        One dict per classified residue, in model order: ``chain``, ``seqid``, ``icode``,
        ``ref`` (the model's residue name), ``ref_class`` (its standard class, e.g. MET for
        MSE, or None), ``pred``, ``confidence``, ``ca_density`` (map at CA, sigma) and
        ``probs`` (every class name -> probability). ``skipped`` counts residues left out:
        ``"missing N/CA/C"``, ``"not amino acid"``, ``"N/CA/C in a line"``, ``"outside map"``.

    Raises
    ------
    DensityBuildError
        If the model has no residue with a backbone, none whose backbone gives a box, or none
        lies inside the map.
    """
    model, st = "the model", structure  # (messages name a model file)
    if not isinstance(st, gemmi.Structure):
        model, st = f"{structure}: the model", read_structure(structure)
    res, skipped = protein_residues(st, model, "classify")
    centres, rotations = classifier.frames(res.n, res.ca, res.c)
    # N, CA and C on one point or in a line (a damaged file) give no box
    framed = np.isfinite(centres).all(1) & np.isfinite(rotations).all((1, 2))
    skipped = {**skipped, "N/CA/C in a line": int(np.count_nonzero(~framed)), "outside map": 0}
    inside = framed.copy()
    inside[framed] = dmap.depth_inside(centres[framed]) >= 0  # always, in a whole-cell map
    skipped["outside map"] = int(np.count_nonzero(framed & ~inside))
    if not framed.any():
        raise DensityBuildError(f"{model} has no residue whose N, CA and C give a box (all "
                                f"{len(res)} have them on one point or in a line)")  # fmt: skip
    if not inside.any():
        lo, hi = np.round(dmap.data_min, 1), np.round(dmap.data_max, 1)
        raise DensityBuildError(
            f"{model} does not overlap the map: all {len(res)} residues lie outside the "
            f"map's region (x, y, z from {lo.tolist()} to {hi.tolist()} A); is it the "
            "model for this map, in the same frame?"
        )
    idx = np.flatnonzero(inside)
    c, r = centres[idx], rotations[idx]
    if classifier.environment and classifier.has_poses:
        probs, coords = classifier.classify_frames(dmap, c, r, progress=progress, poses=True)
        probs = classifier.weigh_environment(dmap, probs, frame_to_world(coords, c, r))
    else:
        probs = classifier.classify_frames(dmap, c, r, progress=progress)
    ca_density = dmap.sample_points(res.ca[idx])
    best = probs.argmax(1)
    out = []
    for row, i in enumerate(idx):
        ref = str(res.resname[i])
        parent = PARENT.get(ref, ref)
        out.append({
            "chain": str(res.chain[i]),
            "seqid": int(res.seqid[i]),
            "icode": str(res.icode[i]),
            "ref": ref,
            "ref_class": parent if parent in classifier.classes else None,
            "pred": classifier.classes[best[row]],
            "confidence": float(probs[row, best[row]]),
            "ca_density": float(ca_density[row]),
            "probs": dict(zip(classifier.classes, probs[row].tolist())),
        })  # fmt: skip
    return out, skipped
