"""Fragment termini: turn the first residue's N and the last one's C to where the map puts them.

Inside a fragment the N of a residue is held by the peptide bond to the residue before; the
first residue of a fragment has no such anchor, and its N comes from the detector's direction
and then from the pose head, which often puts it on the wrong side: on builds of five real
maps, 13 of 21 first residues had their N 2.2-3.5 A from the deposited one while their CA and
C were within 1 A, so the box frame was turned by 60-170 degrees and the residue mistyped.

With CA and C fixed, N and CB (and the side chain beyond it) can only turn about the CA-C
axis: bond lengths, the N-CA-C and CB-CA-C angles and the handedness at CA stay as they are.
:func:`turn_fragment_termini` tries that turn in :data:`STEP_DEGREES` steps and keeps the best
one where the map at N and CB gains at least :data:`TURN_MARGIN` sigma; refinement then
polishes the result.

The last residue of a fragment is the mirror case: its N and CA are held by the peptide to the
residue before, its C has no next N to hold it, and the pose head turns it about the N-CA axis
as freely. On saved builds of 13 real maps, 28 of 168 last residues had C more than 1.2 A from
the deposited one with N and CA within 1 A. ``turn_fragment_termini(..., ends=True)`` turns C,
O and the side chain about N-CA the same way, scored by the map at C, O and CB. Builds do not
use it: on the 13 real maps it failed both rules it was held to (over three fresh draws it
lowered the backbone error with a sequence but raised it without one); ``refine(end_turns=True)``
turns it on for measurement (docs/build/fragments.md, "Fragment-end turns").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from .geometry import rotate_about
from .rotamers import RHO_CAP

if TYPE_CHECKING:
    from .refine import AtomModel

#: Angles tried about the CA-C (starts) or N-CA (ends) axis, degrees apart.
STEP_DEGREES = 15.0
#: Minimum gain in summed density (sigma) at the scored atoms (N, CB; C, O, CB) for a turn.
TURN_MARGIN = 0.5


#: (axis from, axis to, atoms scored, atoms turned): atom indices of one residue's turn.
Unit = tuple[int, int, np.ndarray, np.ndarray]


def _units(model: AtomModel, ends: bool) -> list[Unit]:
    """The turn of every fragment start (about CA-C; N and CB scored; N and the side chain
    turned) or, with ``ends``, every fragment end (about N-CA; C, O and CB scored; all but N and
    CA turned)."""
    axis, scored, held = ((("N", "CA"), ("C", "O", "CB"), ("N", "CA")) if ends
                          else (("CA", "C"), ("N", "CB"), ("CA", "C", "O")))  # fmt: skip
    out = []
    n_res = len(model.resname)
    for r in range(n_res):
        before = bool(model.linked[r])
        after = r + 1 < n_res and bool(model.linked[r + 1])
        last, first = before and not after, after and not before
        atoms = model.residue_atoms(r) if (last if ends else first) else {}
        if not all(k in atoms for k in ("N", "CA", "C")):
            continue
        probe = [atoms[k] for k in scored if k in atoms]
        moving = [i for name, i in atoms.items() if name not in held]
        out.append((atoms[axis[0]], atoms[axis[1]], np.array(probe, dtype=np.int64),
                    np.array(sorted(moving), dtype=np.int64)))  # fmt: skip
    return out


def fragment_starts(model: AtomModel) -> list[Unit]:
    """(CA, C, [N, CB], atoms to turn) of the first residue of every fragment.

    ``model`` is a :class:`~.refine.AtomModel`. A fragment start is a residue not linked to
    the one before and linked to the one after (single residues are left alone). N and CB
    (where present) are scored; the atoms to turn are N and every side-chain atom (CB onwards):
    the rest of the residue is C-alpha, C and O, which the peptide to the next residue holds.
    """
    return _units(model, ends=False)


def fragment_ends(model: AtomModel) -> list[Unit]:
    """(N, CA, [C, O, CB], atoms to turn) of the last residue of every fragment.

    ``model`` is a :class:`~.refine.AtomModel`. A fragment end is a residue linked to the one
    before and not to the one after. C, O and CB (where present) are scored; the atoms turned
    are every atom but N and CA, which the peptide to the residue before holds.
    """
    return _units(model, ends=True)


def turn_fragment_termini(
    xyz: np.ndarray,
    model: AtomModel,
    density: Callable[[torch.Tensor], torch.Tensor],
    ends: bool = False,
    margin: float = TURN_MARGIN,
    only: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Turn fragment starts (or ends) about their axis where the map is clearly higher.

    Parameters
    ----------
    xyz
        (N, 3) atom positions (not modified).
    model
        The :class:`~.refine.AtomModel`.
    density
        Callable: (M, 3) float64 tensor -> (M,) map values in sigma (a ``DensityField``).
    ends
        Turn the last residues' C, O and side chain about N-CA (:func:`fragment_ends`) instead
        of the first residues' N and side chain about CA-C (:func:`fragment_starts`).
    margin
        Required gain (sigma) in the summed, capped map values at the scored atoms.
    only
        (R,) True for the residues that may turn (default: all).

    Returns
    -------
    xyz, turned
        New positions and the residue index of every start (or end) turned.
    """
    out = np.array(xyz, dtype=float, copy=True)
    angles = np.arange(0.0, 360.0, STEP_DEGREES)
    turned = []
    for a, b, probe, moving in _units(model, ends):
        if only is not None and not only[model.residue[a]]:
            continue
        cand = rotate_about(out[probe], out[a], out[b] - out[a], angles)  # (K, P, 3)
        with torch.no_grad():
            rho = density(torch.as_tensor(cand.reshape(-1, 3), dtype=torch.float64)).numpy()
        score = np.minimum(rho.reshape(len(angles), -1), RHO_CAP).sum(1)
        best = int(np.argmax(score))
        if best != 0 and score[best] >= score[0] + margin:  # angles[0] = 0: as it is
            out[moving] = rotate_about(out[moving], out[a], out[b] - out[a], angles[best])
            turned.append(int(model.residue[a]))
    return out, np.asarray(turned, dtype=np.int64)
