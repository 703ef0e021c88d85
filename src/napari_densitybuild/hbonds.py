"""Hydrogen-bond chemistry of protein heavy atoms: which atoms can donate, which can accept.

At 1.5-2.5 A an N and an O look the same in density, so which end of an ASN or GLN amide is
which, which way a HIS ring faces, and whether a side chain is an acid or an amide are read
from the atoms around it, as crystallographers (and programs like Reduce) do: a donor wants an
acceptor within H-bond distance, and two donors (or two pure acceptors) do not sit that close.

Roles are bit flags (:data:`DONOR`, :data:`ACCEPTOR`); hydroxyls, ring nitrogens of histidine
(tautomer unknown) and water are both. Atoms with no polar role (carbons, sulfurs) are 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .refine import AtomModel
    from .symmetry import Symmetry

DONOR = 1
ACCEPTOR = 2
BOTH = DONOR | ACCEPTOR
#: Longest heavy-atom distance (A) counted as an H-bond (donor-acceptor 2.6-3.3 A in proteins,
#: plus room for the coordinate error of a built model).
HBOND_MAX = 3.4

#: Side-chain polar atoms by residue; backbone N donates (not in PRO) and O/OXT accept.
SIDE_CHAIN_ROLES: dict[str, dict[str, int]] = {
    "ARG": {"NE": DONOR, "NH1": DONOR, "NH2": DONOR},
    "ASN": {"OD1": ACCEPTOR, "ND2": DONOR},
    "ASP": {"OD1": ACCEPTOR, "OD2": ACCEPTOR},
    "GLN": {"OE1": ACCEPTOR, "NE2": DONOR},
    "GLU": {"OE1": ACCEPTOR, "OE2": ACCEPTOR},
    "HIS": {"ND1": BOTH, "NE2": BOTH},
    "LYS": {"NZ": DONOR},
    "SER": {"OG": BOTH},
    "THR": {"OG1": BOTH},
    "TRP": {"NE1": DONOR},
    "TYR": {"OH": BOTH},
    "HOH": {"O": BOTH},
}


def atom_role(resname: str, atom: str) -> int:
    """The H-bond role of one atom (bit flags; 0 for none).

    Examples
    --------
    >>> atom_role("ASN", "ND2") == DONOR, atom_role("GLY", "O") == ACCEPTOR
    (True, True)
    >>> atom_role("PRO", "N"), atom_role("LEU", "CD1")
    (0, 0)
    """
    if resname == "HOH":
        return BOTH if atom == "O" else 0
    if atom == "N":
        return 0 if resname == "PRO" else DONOR
    if atom in ("O", "OXT"):
        return ACCEPTOR
    return SIDE_CHAIN_ROLES.get(resname, {}).get(atom, 0)


def model_roles(model: AtomModel) -> np.ndarray:
    """(N,) role of every atom of an :class:`~.refine.AtomModel`, from its residue names."""
    return np.array(
        [atom_role(str(model.resname[r]), str(a)) for r, a in zip(model.residue, model.atom)],
        dtype=np.int8,
    )


def pair_score(role: int, partner: int) -> float:
    """+1 for a possible H-bond between two roles, -1 for two donors or two pure acceptors.

    ``role`` and ``partner`` are bit flags; an atom that is both (a hydroxyl) pairs with anything.

    Examples
    --------
    >>> pair_score(DONOR, ACCEPTOR), pair_score(DONOR, DONOR), pair_score(ACCEPTOR, BOTH)
    (1.0, -1.0, 1.0)
    """
    if not role or not partner:
        return 0.0
    if (role & DONOR and partner & ACCEPTOR) or (role & ACCEPTOR and partner & DONOR):
        return 1.0
    return -1.0


def symmetry_mates(
    xyz: np.ndarray, sym: Symmetry | None, cutoff: float = 5.0, near: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Crystal neighbours of a model: images of its atoms within ``cutoff`` of the model.

    Parameters
    ----------
    xyz
        (N, 3) atom positions.
    sym
        A :class:`~.symmetry.Symmetry` (None or a map without symmetry: no mates).
    cutoff
        Keep images within this distance (A) of any atom of the model.
    near
        (K, 3) points: keep only images within ``cutoff`` of these (default: the model's atoms).

    Returns
    -------
    positions, source
        (M, 3) image positions (the model itself left out) and (M,) the atom each is an image of.
    """
    from scipy.spatial import cKDTree

    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    if sym is None or not getattr(sym, "periodic", False) or not len(xyz):
        return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    near = xyz if near is None else np.asarray(near, dtype=float).reshape(-1, 3)
    if not len(near):
        return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    box = (near.min(0) - cutoff, near.max(0) + cutoff)
    images = sym.images(xyz, box=box, copies_only=True)
    pos, src = images["xyz"], images["src"]
    if not len(pos):
        return pos, src.astype(np.int64)
    dist, _ = cKDTree(near).query(pos, distance_upper_bound=cutoff)
    keep = np.isfinite(dist)
    return pos[keep], src[keep].astype(np.int64)
