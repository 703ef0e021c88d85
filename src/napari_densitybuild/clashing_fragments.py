"""Short fragments in impossible contact with a longer one, left out.

Two fragments cannot both be where a build puts them when an atom of one lies within
:data:`CLASH` (the evaluation's clash distance) of an atom of the other: one of them is wrong.
Where one is a short fragment and the other a longer chain, the short one is nearly always the
wrong one (a side chain, a ligand or a neighbour's loop traced as a few residues of their own).
In the default builds of the 13 real maps outside the held-out set (2026-12-06, two draws each,
with and without their sequences), fragments of at most :data:`MAX_LENGTH` residues with such a
contact held 28-39 residues per sweep, of which 4 had a deposited C-alpha within 1 A, all in
one fragment. Nothing else left them out: the weak-fragment rule judges confidence alone, and
the duplicates the trace removes lie within one fragment.

:func:`clashing_fragments` finds them, crystal copies included: a crystal contact is as
impossible as one in the asymmetric unit. A peptide-like C-N contact under :data:`LINK` between
two residues is a junction (:mod:`.joins` makes it a peptide), so no contact between those two
residues counts; a fragment's contacts with its own copies do not count either.

Examples
--------
>>> sym = Symmetry.of_map(dmap)  # doctest: +SKIP
>>> result, kept = without_clashing_fragments(result, aligned, sym)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .build_result import recount
from .crystal_clash import LINK
from .settings import CLASHING_FRAGMENTS

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .symmetry import Symmetry

#: Longest fragment (residues) left out for an impossible contact with a longer one, and the
#: heavy-atom distance (A) under which two atoms of different residues clash (as evaluated).
MAX_LENGTH, CLASH = CLASHING_FRAGMENTS


def clashing_fragments(
    result: BuildResult, sym: Symmetry, max_length: int = MAX_LENGTH, cutoff: float = CLASH
) -> np.ndarray:
    """(N,) True at the residues of fragments of at most ``max_length`` residues with a heavy
    atom within ``cutoff`` of a heavy atom of a longer fragment or a crystal copy of one (see
    module)."""
    from scipy.spatial import cKDTree

    frag = result.trace.fragment
    length = np.bincount(frag)[frag]  # (N,) length of each residue's fragment
    m = result.model
    short_atoms = np.flatnonzero(length[m.residue] <= max_length)
    drop = np.zeros(len(frag), dtype=bool)
    if not len(short_atoms):
        return drop
    xyz = m.xyz[short_atoms]
    box = (xyz.min(0) - cutoff, xyz.max(0) + cutoff)
    images = sym.images(m.xyz, box=box)  # the atoms themselves (identity) and their copies
    hits = cKDTree(images["xyz"]).query_ball_point(xyz, cutoff) if len(images["xyz"]) else []
    i = np.repeat(short_atoms, [len(h) for h in hits])
    if not len(i):
        return drop
    k = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
    j = images["src"][k]
    res_i, res_j = m.residue[i], m.residue[j]
    longer = length[res_j] > length[res_i]
    # one key per (residue, copy of a residue) pair: a C-N link exempts the whole pair
    copy = np.column_stack([res_i, res_j, images["op"][k], images["shift"][k]]).astype(np.int64)
    _, pair = np.unique(copy, axis=0, return_inverse=True)
    pair = pair.ravel()
    d = np.linalg.norm(m.xyz[i] - images["xyz"][k], axis=1)
    link = ((m.atom[i] == "C") & (m.atom[j] == "N")) | ((m.atom[i] == "N") & (m.atom[j] == "C"))
    linked = np.isin(pair, pair[link & (d < LINK)])
    drop_fragments = np.unique(frag[res_i[longer & ~linked]])
    drop[np.isin(frag, drop_fragments)] = True
    return drop


def without_clashing_fragments(
    result: BuildResult, aligned: np.ndarray, sym: Symmetry
) -> tuple[BuildResult, np.ndarray]:
    """``result`` without its short fragments in impossible contact with a longer one
    (:func:`clashing_fragments`), and the (N,) mask of the residues kept; the report counts
    what was left out (``clashing_fragments_left_out``, ``clashing_residues_left_out``)."""
    drop = clashing_fragments(result, sym)
    rep = result.report
    rep.update(clashing_fragments_left_out=len(np.unique(result.trace.fragment[drop])),
               clashing_residues_left_out=int(drop.sum()))  # fmt: skip
    if not drop.any():
        return result, ~drop
    out = result.subset(~drop)
    recount(out, np.asarray(aligned)[~drop])
    return out, ~drop
