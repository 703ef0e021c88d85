"""Chains that run on across a crystal contact: fragments joined where one's end meets a copy
of another's start.

A chain that leaves the asymmetric unit goes on in a crystal copy of itself. The trace lays
each fragment out as one connected copy, but where it misses a link the build ends a fragment
with its last C at peptide-bond distance from the N of a crystal copy (or of the same copy) of
another fragment's first residue: two chains that a crystallographer would see as one, and a
"clash" between them. In builds of the 16 real maps (2026-12-04), each of the six fragment ends
with another fragment's start N (any image) under 2.5 A from its C lay on consecutive residues
of the deposited model.

:func:`join_fragments` moves the second fragment onto that copy (a symmetry-equivalent place:
its fit to the map is unchanged) and makes the two one chain, repeatedly, nearest pair first;
the build then refines the residues on either side of each new peptide with the rest held
(``refine(movable=...)``).

Examples
--------
>>> joined, junctions = join_fragments(result, Symmetry.of_map(dmap))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from .assemble import number_residues
from .build_result import Movable, atom_bounds, recount
from .refine import AtomModel, refine_residues

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .maps import DensityMap
    from .symmetry import Symmetry

#: Largest C-N distance (A) between a fragment's last residue and an image of another
#: fragment's first residue that is taken for a missed peptide bond (ideal: 1.33 A).
JOIN_MAX_CN = 2.2
#: C-alpha distance range (A) of such a pair (trans 3.8 A, cis 2.9 A).
JOIN_CA_RANGE = (2.6, 4.4)
#: With a sequence, the largest C-N distance (A) of a join of consecutively numbered fragments
#: (their C-alphas in :data:`JOIN_CA_RANGE`). Raising it to 4.5 A, so that ends the numbers call
#: neighbours join although the trace left a C or N off the peptide, was measured and not kept:
#: the refined junctions lost 3 matched residues and strained bonds (docs/build.md).
JOIN_MAX_CN_NUMBERED = 2.2


def _named(
    model: AtomModel, lo: np.ndarray, hi: np.ndarray, residues: list[int], name: str
) -> np.ndarray:
    """Atom index of ``name`` in each of ``residues``."""
    return np.array([lo[r] + list(model.atom[lo[r] : hi[r]]).index(name) for r in residues])


def _best_join(
    groups: list[list[int]],
    xyz: np.ndarray,
    model: AtomModel,
    lo: np.ndarray,
    hi: np.ndarray,
    seqid: np.ndarray,
    sym: Symmetry,
    renumber: bool,
    max_cn: float,
):
    """(distance, g, h, op, shift) of the nearest end-of-g to image-of-start-of-h pair."""
    ends = [grp[-1] for grp in groups]
    starts = [grp[0] for grp in groups]
    c = xyz[_named(model, lo, hi, ends, "C")]
    ca_end = xyz[_named(model, lo, hi, ends, "CA")]
    n = xyz[_named(model, lo, hi, starts, "N")]
    ca_start = xyz[_named(model, lo, hi, starts, "CA")]
    reach = max_cn + 0.5
    imgs = sym.images(n, box=(c.min(0) - reach, c.max(0) + reach))
    if not len(imgs["xyz"]):
        return None
    best = None
    tree = cKDTree(imgs["xyz"])
    for g, hits in enumerate(tree.query_ball_point(c, max_cn)):
        for k in hits:
            h, op, shift = int(imgs["src"][k]), int(imgs["op"][k]), imgs["shift"][k]
            d = float(np.linalg.norm(imgs["xyz"][k] - c[g]))
            if h == g or (best is not None and d >= best[0]):
                continue
            d_ca = np.linalg.norm(sym.apply(ca_start[h], op, shift)[0] - ca_end[g])
            if not JOIN_CA_RANGE[0] <= d_ca <= JOIN_CA_RANGE[1]:
                continue
            if not renumber and seqid[starts[h]] != seqid[ends[g]] + 1:
                continue  # numbered from a sequence: only consecutive positions join
            best = (d, g, h, op, shift)
    return best


def join_fragments(
    result: BuildResult, sym: Symmetry, renumber: bool = True, max_cn: float = JOIN_MAX_CN
) -> tuple[BuildResult, np.ndarray]:
    """``result`` with fragments joined where one ends at peptide distance from another's start.

    Parameters
    ----------
    result
        A build (its model, trace and poses are moved together, in copies; only its report,
        shared with the result as :meth:`.BuildResult.subset` shares it, is updated).
    sym
        The map's symmetry (:meth:`.Symmetry.of_map`; cryo-EM maps: the identity alone).
    renumber
        Number the joined chains 1, 2, ... again (a build without a sequence); False keeps the
        sequence numbering and joins only fragments numbered consecutively across the gap.
    max_cn
        Largest C-N distance (A) of a join.

    Returns
    -------
    tuple
        The joined result (chains renamed longest first, ``report["fragments_joined"]`` set)
        and the (R,) mask of the residues on either side of a new peptide.
    """
    tr, model = result.trace, result.model
    groups = [list(np.flatnonzero(tr.fragment == f)) for f in range(tr.fragment_count)]
    lo, hi = atom_bounds(model)
    movable = Movable(result, sym)
    xyz = movable.arrays[0]
    pairs = []
    while len(groups) > 1:
        found = _best_join(groups, xyz, model, lo, hi, result.seqid, sym, renumber,
                           max_cn if renumber else max(max_cn, JOIN_MAX_CN_NUMBERED))  # fmt: skip
        if found is None:
            break
        _, g, h, op, shift = found
        movable.move(np.array(groups[h]), op, shift)
        pairs.append((groups[g][-1], groups[h][0]))
        groups[g] = groups[g] + groups[h]
        del groups[h]
    result.report["fragments_joined"] = len(pairs)
    if not pairs:
        return result, np.zeros(len(result), dtype=bool)
    groups.sort(key=lambda grp: (-len(grp), grp[0]))
    order = np.concatenate(groups)
    fragment = np.repeat(np.arange(len(groups)), [len(grp) for grp in groups])
    out = result.rearranged(order, fragment, result.chain[order], result.seqid[order],
                            result.icode[order], movable.arrays)  # fmt: skip
    trace = out.trace
    out.chain, seqid, icode = number_residues(trace, [None] * len(groups))
    if renumber:
        out.seqid, out.icode = seqid, icode
    junction = np.isin(order, np.array(pairs).ravel())
    out.report.update(fragments=trace.fragment_count,
                      mean_fragment_length=float(trace.fragment_lengths().mean()))  # fmt: skip
    return out, junction


def chain_neighbours(residues: np.ndarray, fragment: np.ndarray, reach: int = 1) -> np.ndarray:
    """Sorted indices of the residues within ``reach`` of ``residues`` in the same fragment
    (``residues`` included)."""
    r = np.asarray(residues, dtype=np.int64)
    near = (r[:, None] + np.arange(-reach, reach + 1)[None]).ravel()
    src = np.repeat(r, 2 * reach + 1)
    ok = (near >= 0) & (near < len(fragment))
    near, src = near[ok], src[ok]
    return np.unique(near[fragment[near] == fragment[src]])


def mend_junctions(
    result: BuildResult, junction: np.ndarray, dmap: DensityMap | None, reach: int = 1
) -> None:
    """Refine the residues within ``reach`` of each junction residue (same chain) against
    ``dmap`` (None: geometry alone) with every other atom held, so the new peptides take ideal
    geometry. Changes ``result.model.xyz``.
    """
    r = np.flatnonzero(junction)
    if not len(r):
        return
    model = result.model
    model.xyz = refine_residues(model, dmap, chain_neighbours(r, result.trace.fragment, reach),
                                peptide_flips=False, side_chain_flips=False, rotamer_fit=False,
                                start_turns=False)  # fmt: skip


def trim_short_links(
    result: BuildResult, dmap: DensityMap | None, renumber: bool = True, rounds: int = 3
) -> tuple[BuildResult, np.ndarray, int]:
    """``result`` without the residues on C-alpha links too short for their place.

    Those are one residue of each link inside a fragment under
    :data:`~.geometry.DUPLICATE_CA` (one residue detected twice, :meth:`.Trace.duplicates`:
    the one of lower confidence goes, and its neighbours are linked across the gap), and the
    fragment ends whose refined C-alpha lies under :data:`~.geometry.CIS_CA` from the next one
    in (:meth:`.Trace.cis_ends`, again while a new end is so linked, at most ``rounds`` times).

    The residues next to those left out are refined again, with rotamer fit and start turns and
    every other atom held, so that a start whose N the removed residue had pulled out of density
    can go back into it, and a new link takes peptide geometry. Nothing else changes: no box is
    cut again, no type changes. ``dmap`` None: nothing is refined.

    Returns
    -------
    tuple
        The trimmed result (numbered 1, 2, ... again with ``renumber``, else the sequence
        numbering kept), the (N,) mask of the residues kept, and how many of the residues
        left out were duplicates.
    """
    m = result.model
    ca = np.full((len(result), 3), np.nan)
    is_ca = m.atom == "CA"
    ca[m.residue[is_ca]] = m.xyz[is_ca]
    trace = dataclasses.replace(result.trace, ca=np.where(np.isnan(ca), result.trace.ca, ca))
    keep = ~trace.duplicates(result.confidence)
    duplicates = int((~keep).sum())
    for _ in range(rounds):
        ends = trace.subset(keep).cis_ends()
        if not ends.any() or ends.all():
            break
        keep[np.flatnonzero(keep)[ends]] = False
    if keep.all():
        return result, keep, 0
    out = result.subset(keep)
    if renumber:
        out.seqid, out.icode = number_residues(out.trace, [None] * out.trace.fragment_count)[1:]
    if dmap is not None:
        out.model.xyz = refine_beside(out, result.trace.fragment, keep, dmap)
    return out, keep, duplicates


def refine_beside(
    out: BuildResult, fragment: np.ndarray, keep: np.ndarray, dmap: DensityMap,
    end_turns: bool = False,
) -> np.ndarray:  # fmt: skip
    """Coordinates of ``out`` (the residues of a build where ``keep``) with the residues that
    were next to a left-out one in its ``fragment`` refined again, rotamer fit and start turns
    included (a start whose N the left-out residue had pulled out of density can turn back
    into it), with ``end_turns`` the turns of new fragment ends too, every other atom held."""
    touched = chain_neighbours(np.flatnonzero(~keep), fragment)
    touched = touched[keep[touched]]  # kept residues next to a left-out one
    new_index = np.cumsum(keep) - 1
    return refine_residues(out.model, dmap, new_index[touched], peptide_flips=False,
                           side_chain_flips=False, end_turns=end_turns)  # fmt: skip


def leave_out(
    result: BuildResult, aligned: np.ndarray, drop: np.ndarray, dmap: DensityMap | None,
    end_turns: bool = False,
) -> tuple[BuildResult, np.ndarray]:  # fmt: skip
    """``result`` without the residues where ``drop``, its counts updated with ``aligned``
    (the residues aligned to a sequence) and, given ``dmap``, the residues beside them refined
    again (:func:`refine_beside`). Returns the result and the (N,) mask of the residues kept."""
    if not drop.any():  # the counts still: a subset left out before shares this report
        recount(result, aligned)
        return result, ~drop
    out = result.subset(~drop)
    recount(out, aligned[~drop])
    if dmap is not None:
        out.model.xyz = refine_beside(out, result.trace.fragment, ~drop, dmap, end_turns)
    return out, ~drop
