"""Fragment ends that stray past a chain break, left out (builds with a sequence).

Where the trace breaks a chain, one fragment can run a residue past the break into density that
is not the chain's while the next fragment starts at the right place (or the next fragment
starts with such a residue). Aligned to the sequence, both ends take the same position (same
number, same type). In builds of the 13 real maps outside the held-out set with their sequences
(2026-12-05), 14 fragment ends shared a position with another fragment's start within 10 A: in
13 exactly one of the two lay within 1 A of a deposited C-alpha, always the one of higher
confidence, and the residue beside the other lay 3.4-5.1 A from it (C-alpha to C-alpha, any
crystal image); in the 14th neither matched.

:func:`without_stray_ends` leaves the less confident of each such pair out and, given the map,
refines the residues beside it again (rotamer fit and start turns, every other atom held): a
new fragment start whose N the stray residue had pulled out of density can turn back into it.
Joining the two fragments across the gap did more harm than good; refining the residues beside
did too, by one clashing residue, until short clashing fragments were left out and peptides
turned in every pass (2026-12-06: then it passed, docs/build/fragments.md, "Stray fragment ends");
and without a sequence, where only geometry and confidence can tell the stray one, a right residue
went once.

Examples
--------
>>> sym = Symmetry.of_map(dmap)  # doctest: +SKIP
>>> result, kept = without_stray_ends(result, aligned, sym, dmap)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .build_result import backbone_of
from .joins import leave_out

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .maps import DensityMap
    from .symmetry import Symmetry

#: Largest C-alpha distance (A) between the residues on either side of the stray one once it
#: is gone (any crystal image; the pairs measured: 3.4-5.1 A, a peptide 3.8 A).
GAP_MAX = 5.5


def _nearest_image(a: np.ndarray, b: np.ndarray, sym: Symmetry, reach: float) -> float:
    """Distance from ``a`` to the nearest crystal image of ``b`` (inf beyond ``reach``)."""
    imgs = sym.images(b[None], box=(a - reach, a + reach))
    if not len(imgs["xyz"]):
        return float("inf")
    return float(np.linalg.norm(imgs["xyz"] - a, axis=1).min())


def stray_ends(
    result: BuildResult, aligned: np.ndarray, sym: Symmetry, gap_max: float = GAP_MAX
) -> np.ndarray:
    """(N,) True at the less confident of each fragment end and other fragment's start that
    take the same sequence position and type, where the residues on either side of it lie
    at most ``gap_max`` apart once it is gone (see module).

    Parameters
    ----------
    result
        A build numbered from a sequence.
    aligned
        (N,) True where a residue's number is a sequence position (a fragment the sequence
        could not place is numbered 1, 2, ... and shares nothing).
    sym
        The map's symmetry (the two fragments may lie in different crystal images).
    gap_max
        Largest C-alpha distance (A) across the gap left.
    """
    frag, conf = result.trace.fragment, result.confidence
    first = np.flatnonzero(np.r_[True, frag[1:] != frag[:-1]])
    last = np.r_[first[1:] - 1, len(frag) - 1]
    ca = backbone_of(result.model)[1]
    drop = np.zeros(len(frag), dtype=bool)
    for e in last:
        for s in first:
            shared = (aligned[e] and aligned[s] and result.seqid[e] == result.seqid[s]
                      and result.types[e] == result.types[s])  # fmt: skip
            if frag[e] == frag[s] or not shared or drop[e] or drop[s]:
                continue
            if conf[e] < conf[s]:  # the end goes: the residue before it meets the start
                gone, a, b = e, e - 1, s
            else:  # the start goes: the end meets the residue after it
                gone, a, b = s, e, s + 1
            if a < 0 or b >= len(frag) or frag[a] != frag[e] or frag[b] != frag[s]:
                continue  # a one-residue fragment: no chain on its side to judge the gap by
            if _nearest_image(ca[a], ca[b], sym, gap_max) <= gap_max:
                drop[gone] = True
    return drop


def without_stray_ends(
    result: BuildResult, aligned: np.ndarray, sym: Symmetry, dmap: DensityMap | None = None
) -> tuple[BuildResult, np.ndarray]:
    """``result`` without its stray fragment ends (:func:`stray_ends`); with ``dmap``, the
    residues beside them refined again against it, every other atom held (None: nothing else
    moves).

    Returns
    -------
    tuple
        The result (``report["stray_ends_left_out"]`` set, its counts updated) and the (N,)
        mask of the residues kept.
    """
    drop = stray_ends(result, aligned, sym)
    result.report.update(stray_ends_left_out=int(drop.sum()))
    return leave_out(result, aligned, drop, dmap)
