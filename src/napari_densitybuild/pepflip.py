"""Peptide flips: turn a peptide plane about its C-alpha axis where its carbonyl O fits the
density better.

A peptide unit C(i), O(i), N(i+1) lies in a plane through C-alpha(i) and C-alpha(i+1). The
pose head places O from the box alone and sometimes puts it on the wrong side (on the held-out
real maps about 1 peptide in 20 differed from the deposited model by 2.5-3.7 A at O).
Turning the unit about the CA(i)-CA(i+1) axis moves O by up to about 3.5 A and C, N by well
under 1 A; refinement then restores ideal geometry. The full flip is tried, or every turn of
:data:`TURN_ANGLES` (a built carbonyl that is wrong is most often 60-165 degrees from the
deposited one, not a full flip: docs/build/peptides.md, "Peptide units turned by any angle"), and
the one that puts O in the highest density is kept where the map there is higher than at the
present O by ``margin`` sigma.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from .geometry import rotate_about

if TYPE_CHECKING:
    from .refine import AtomModel

#: Minimum gain in density (sigma) at O for a flip.
FLIP_MARGIN = 0.5
#: The full flip alone (degrees about CA(i) -> CA(i+1)).
FULL_FLIP = np.array([180.0])
#: Every turn tried where turns are asked for (``refine(..., peptide_turns=True)``); smaller
#: ones are left to refinement.
TURN_ANGLES = np.arange(30.0, 331.0, 15.0)


def peptide_units(model: AtomModel) -> np.ndarray:
    """(P, 5) atom indices CA(i), C(i), O(i), N(i+1), CA(i+1) of the trans peptides of ``model``.

    ``model`` is a :class:`~.refine.AtomModel`; residues not linked to the previous one and cis
    peptides (C-alphas closer than 3.3 A) are left out.
    """
    units = []
    prev = None
    for r in range(len(model.resname)):
        atoms = model.residue_atoms(r)
        complete = prev is not None and all(k in prev for k in ("CA", "C", "O"))
        if complete and model.linked[r] and "N" in atoms and "CA" in atoms:
            if model.is_trans(prev, atoms):
                units.append([prev["CA"], prev["C"], prev["O"], atoms["N"], atoms["CA"]])
        prev = atoms
    return np.asarray(units, dtype=np.int64).reshape(-1, 5)


def turned_positions(xyz: np.ndarray, units: np.ndarray, degrees: float | np.ndarray) -> np.ndarray:
    """(P, A, 3, 3) positions of C, O, N of every unit turned about CA(i) -> CA(i+1) by each of
    ``degrees`` (A angles; (P, 3, 3) for one angle; :func:`~.geometry.rotate_about`)."""
    a, b = xyz[units[:, 0]], xyz[units[:, 4]]
    out = rotate_about(xyz[units[:, 1:4]], a, b - a, degrees)
    return out if np.ndim(degrees) == 0 else np.moveaxis(out, 0, 1)


def flip_peptides(
    xyz: np.ndarray,
    units: np.ndarray,
    density: Callable[[torch.Tensor], torch.Tensor],
    margin: float = FLIP_MARGIN,
    angles: np.ndarray = FULL_FLIP,
) -> tuple[np.ndarray, np.ndarray]:
    """Turn the peptides whose O fits the map better turned by one of ``angles``.

    Parameters
    ----------
    xyz
        (N, 3) atom positions (not modified).
    units
        From :func:`peptide_units`.
    density
        Callable: (M, 3) float64 tensor of positions -> (M,) map values in sigma
        (a :class:`~.density_field.DensityField`).
    margin
        Required gain at O (sigma).
    angles
        Turns tried (degrees): the full flip, or :data:`TURN_ANGLES`.

    Returns
    -------
    xyz, flipped
        New positions and a (P,) boolean mask of the units turned over.
    """
    out = xyz.copy()
    if not len(units):
        return out, np.zeros(0, dtype=bool)
    turned = turned_positions(xyz, units, np.atleast_1d(angles))  # (P, A, 3, 3)
    with torch.no_grad():
        now = density(torch.as_tensor(xyz[units[:, 2]], dtype=torch.float64)).numpy()
        o = torch.as_tensor(turned[:, :, 1].reshape(-1, 3), dtype=torch.float64)
        new = density(o).numpy().reshape(len(units), -1)
    best = np.argmax(np.minimum(new, 5.0), axis=1)
    top = np.minimum(new[np.arange(len(units)), best], 5.0)
    flipped = top > np.minimum(now, 5.0) + margin
    pick = turned[np.flatnonzero(flipped), best[flipped]]
    for k in range(3):
        out[units[flipped, 1 + k]] = pick[:, k]
    return out, flipped
