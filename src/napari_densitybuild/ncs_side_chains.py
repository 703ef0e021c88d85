"""Side chains of NCS copies fitted to their summed density, as NCS averaging does for a map.

Copies of a molecule in one asymmetric unit (:mod:`.ncs`) are, residue for residue, the same
chemistry seen through independent noise; their side chains nearly always take the same
rotamer. A side chain fitted to one copy's density alone can settle on the wrong rotamer where
that copy's density is weak or a neighbour's density lies close by. As a crystallographer does
with an NCS-averaged map, every conformation that a copy has now, and every library rotamer, is
scored on each copy's own backbone and density (the score of :mod:`.rotamers`) and summed over
the copies. A copy takes the best-summed conformation when it differs from its own (by
:data:`SAME_CONFORMATION` or more), its sum beats that of the copy's own conformation by
``margin``, and every atom of it is in the copy's own density (copies that truly differ keep
their own: their density rules out the others'). Refinement then polishes each copy.

Off by default (``build(..., ncs_side_chains=True)``, ``--ncs-side-chains``): on the three
real maps with NCS copies it fixed some side chains and broke others (docs/build.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .boxes import backbone_frames
from .pose import frame_to_world, world_to_frame
from .residues import HEAVY_ATOMS
from .rotamers import (
    FIT_MARGIN,
    OUT_OF_DENSITY,
    ClashIndex,
    rotamer_library,
    side_chain_scores,
)

if TYPE_CHECKING:
    import torch

    from .refine import AtomModel
    from .symmetry import Symmetry

#: Conformations closer than this (RMSD, A, in the backbone frame) are the same one: left alone.
SAME_CONFORMATION = 0.5


def _members(model: AtomModel, groups: np.ndarray) -> list[tuple[str, list[int], np.ndarray, list]]:
    """(type, residues, (3, M) N/CA/C atom indices, side-chain atom indices) of each group of
    two or more NCS copies of one type with a rotamer library and every heavy atom present."""
    lib = rotamer_library()
    labels, counts = np.unique(groups, return_counts=True)
    out = []
    for g in labels[counts > 1]:
        residues, backbone, sides = [], [], []
        for r in np.flatnonzero(groups == g):
            atoms = model.residue_atoms(int(r))
            names = HEAVY_ATOMS.get(str(model.resname[r]), ())
            if all(a in atoms for a in names) and str(model.resname[r]) in lib:
                residues.append(int(r))
                backbone.append([atoms[a] for a in ("N", "CA", "C")])
                sides.append(np.array([atoms[a] for a in names[4:]]))
        types = {str(model.resname[r]) for r in residues}
        if len(residues) >= 2 and len(types) == 1:
            out.append((types.pop(), residues, np.array(backbone).T, sides))
    return out


def fit_ncs_side_chains(
    xyz: np.ndarray,
    model: AtomModel,
    groups: np.ndarray,
    density: Callable[[torch.Tensor], torch.Tensor],
    sym: Symmetry | None = None,
    margin: float = FIT_MARGIN,
) -> tuple[np.ndarray, np.ndarray]:
    """Give NCS copies the side-chain conformation that fits their summed density best.

    Parameters
    ----------
    xyz
        (N, 3) atom positions of ``model`` (not modified).
    model
        The :class:`~.refine.AtomModel`.
    groups
        (R,) NCS group of every residue of ``model`` (:func:`~.ncs.ncs_groups`: copies share
        a label).
    density
        Callable: (M, 3) float64 tensor -> (M,) map values in sigma (a ``DensityField``).
    sym
        The crystal's :class:`~.symmetry.Symmetry` (clashes with crystal neighbours count).
    margin
        Required gain of the summed score over that of a copy's own conformation.

    Returns
    -------
    xyz, changed
        New positions and the indices of the residues given another copy's or a library
        conformation.
    """
    out = np.array(xyz, dtype=float, copy=True)
    groups = np.asarray(groups)
    if len(groups) != len(model.resname):
        raise ValueError(f"{len(groups)} NCS labels for {len(model.resname)} residues")
    members = _members(model, groups)
    if not members:
        return out, np.zeros(0, dtype=np.int64)
    lib = rotamer_library()
    neighbours = ClashIndex(out, model, sym)
    changed = []
    for name, residues, backbone, sides in members:
        centres, rots = backbone_frames(*(out[idx] for idx in backbone))
        own = world_to_frame(np.stack([out[s] for s in sides]), centres, rots)
        local = np.concatenate([own, lib[name]["xyz"]])  # copies' own first, then the library
        k = len(local)
        scores, lowest = [], []
        for m, r in enumerate(residues):
            world = frame_to_world(local, np.repeat(centres[m : m + 1], k, 0),
                                   np.repeat(rots[m : m + 1], k, 0))  # fmt: skip
            score, rho = side_chain_scores(world, sides[m], r, model, density, neighbours)
            scores.append(score)
            lowest.append(rho.min(1))
        total = np.sum(scores, 0)
        best = int(np.argmax(total))
        for m, r in enumerate(residues):
            moved = np.sqrt(((local[best] - local[m]) ** 2).sum(-1).mean())
            if (moved >= SAME_CONFORMATION and total[best] >= total[m] + margin
                    and lowest[m][best] >= OUT_OF_DENSITY):  # fmt: skip
                out[sides[m]] = frame_to_world(local[best][None], centres[m : m + 1],
                                               rots[m : m + 1])[0]  # fmt: skip
                changed.append(r)
    return out, np.asarray(changed, dtype=np.int64)
