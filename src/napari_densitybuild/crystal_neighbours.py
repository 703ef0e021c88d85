"""The crystal neighbours of a model: its copies' residues at its surface, to show beside it.

In a crystal the model's surface meets its own copies (the space group's operations and the
lattice's translations); at those contacts the density in view belongs partly to them, which
is why a crystallographer reviews with the copies' atoms drawn (Coot's symmetry atoms).
:func:`neighbour_residues` gives the residues of every copy (identity and lattice translation
included, the model itself left out) that come within a reach of the model's atoms, whole and
as residues, so the review's layers can draw their atoms and bonds as they draw the model's.
Nothing for a map without crystal symmetry (a cryo-EM box).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import DensityBuildError
from .session import ResidueState, Session
from .symmetry import Symmetry

#: Residues of a copy with an atom this close (A) to the model's atoms are shown.
REACH = 5.0
#: More neighbour residues than this many per residue of the model (and than
#: :data:`MAX_ALWAYS`) are refused: a model in a crystal meets its copies at its surface only,
#: one overlapping them (far larger than the cell, or not placed by its symmetry) everywhere.
MAX_PER_RESIDUE = 3
#: Up to this many neighbour residues are always drawn.
MAX_ALWAYS = 2000


def neighbour_residues(session: Session, reach: float = REACH) -> list[ResidueState]:
    """The residues of the model's crystal copies with an atom within ``reach`` of one of its
    atoms, whole, their atoms and frames moved by their copy's operation. Each keeps its
    type, number and chain name, so a copied residue reads as the one it copies; residues
    of one copy come in model order, copy after copy.

    Raises
    ------
    DensityBuildError
        Where the model meets its copies everywhere (:data:`MAX_PER_RESIDUE`).

    Examples
    --------
    >>> neighbours = neighbour_residues(session)  # doctest: +SKIP
    >>> sorted({f"{r.name} {r.chain} {r.seqid}" for r in neighbours})[:2]  # doctest: +SKIP
    ['ARG A 12', 'ASP A 40']
    """
    from scipy.spatial import cKDTree

    sym = session.symmetry()
    rows = session.residues
    owner = np.array([i for i, r in enumerate(rows) for _ in r.atoms], dtype=int)
    if not sym.periodic or not len(owner):
        return []
    xyz = np.array([a[1:] for r in rows for a in r.atoms], dtype=float)
    lo, hi = xyz.min(0) - reach, xyz.max(0) + reach
    images = sym.images(xyz, box=(lo, hi), copies_only=True)
    near = cKDTree(xyz).query(images["xyz"], k=1, distance_upper_bound=reach)[0] <= reach
    if not near.any():
        return []
    # a copy is one operation and lattice shift; a residue of it is shown if any atom is near
    shift = images["shift"].round().astype(int)
    key = np.column_stack([images["op"], shift, owner[images["src"]]])
    wanted = np.unique(key[near], axis=0)
    if len(wanted) > max(MAX_ALWAYS, MAX_PER_RESIDUE * len(rows)):
        raise DensityBuildError(
            f"the model meets its own crystal copies at {len(wanted)} residues, more than "
            f"{MAX_PER_RESIDUE} per residue of its {len(rows)}: it overlaps them, so it does not "
            "sit in this crystal as a model of one asymmetric unit does; crystal neighbours "
            "not drawn"
        )
    rotations = sym.cart_rotations()
    return [_moved(rows[int(index)], sym, int(op), np.array(shift, dtype=float), rotations[op])
            for op, *shift, index in wanted]  # fmt: skip


def _moved(
    r: ResidueState, sym: Symmetry, op: int, shift: np.ndarray, rotation: np.ndarray
) -> ResidueState:
    """Residue ``r`` where copy (``op``, ``shift``) of the crystal places it (``rotation``: the
    operation's Cartesian rotation, for its frame)."""
    points = np.array([r.centre, *(xyz for _, *xyz in r.atoms)], dtype=float)
    moved = sym.apply(points, op, shift)
    atoms = tuple((a[0], *map(float, p)) for a, p in zip(r.atoms, moved[1:]))
    rot = rotation @ np.array(r.rotation).reshape(3, 3)
    return replace(r, atoms=atoms, centre=tuple(map(float, moved[0])),
                   rotation=tuple(map(float, rot.ravel())))  # fmt: skip
