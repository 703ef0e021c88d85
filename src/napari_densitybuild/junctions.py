"""Junctions the trace left unlinked, opened for the gap fill (builds with a sequence).

Where one fragment ends at residue n and another fragment of the same molecule starts at n + 1,
the two residues are neighbours in the chain, yet the build did not join them: the end's C lies
further from the next N than a peptide allows (:data:`.joins.JOIN_MAX_CN`). Pulling them
together by refinement drags both over (docs/build/chains.md, "Joining consecutively numbered
fragments whose C and N lie apart": measured, not built). In the builds of 13 real maps one of
the two residues is off and the other right: a fragment start whose N points away from the
chain (its side chain then framed wrong, as a TRP 6.8 A off), or an end whose C and O do. The
wrong one sits in weaker density. :func:`open_junctions` leaves that one out, so the chain step
gathers the two pieces with one residue missing between them (:mod:`.seq_chains`) and the gap
fill builds it again along the density between its neighbours (:mod:`.gap_fill`),
peptide-linked both ways. The same holds where one residue is missing between the two pieces
but the fill finds no path for it as the ends stand (:func:`stuck_gaps`): the weaker end is
left out and the fill builds two. A residue the fill could not build again is kept as it was
(:func:`fillable`). Judged on the 13 real maps under rules written first (docs/build/chains.md,
"Junctions opened for the gap fill").

Examples
--------
>>> result, kept = open_junctions(result, aligned, sequences, sym, dmap)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .build_result import atom_bounds, backbone_of
from .gap_fill import link_path
from .gap_paths import JOIN_MAX, MIN_DENSITY
from .joins import leave_out
from .seq_chains import STEP, molecules

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .maps import DensityMap
    from .symmetry import Symmetry

#: Farthest C-alphas (A) of a junction's two residues: one residue's reach either side of the
#: one left out, so the two pieces can be gathered and the gap filled.
REACH = 2 * STEP


def junctions(result: BuildResult, sequences: list[str], sym: Symmetry) -> list[tuple[int, int]]:
    """(end, start) residue indices of every fragment end numbered just before another
    fragment's start of the same molecule (records of one molecule among ``sequences``:
    :func:`.seq_chains.molecules`), whose C-alphas lie within :data:`REACH` (crystal copies
    included)."""
    pairs = _numbered_pairs(result, sequences, 1)
    ca = backbone_of(result.model)[1] if pairs else None
    return [(e, s) for e, s in pairs if _nearest_image(ca[e], ca[s], sym)[0] <= REACH]


def unnumbered_junctions(result: BuildResult, sym: Symmetry) -> list[tuple[int, int]]:
    """Without a sequence: (end, start) of every fragment end whose nearest other fragment's
    start (any crystal copy) lies a peptide's length away (C-alphas within
    :data:`~.gap_paths.JOIN_MAX`) but unjoined, each start taken once, nearest first. Nothing
    numbers them, but no residue fits between C-alphas that close: they are neighbours."""
    fr = result.trace.fragment
    if not len(fr):
        return []
    firsts, lasts = result.trace.starts_and_ends()
    ca = backbone_of(result.model)[1]
    near = []
    for e in lasts:  # every start's images near this end at once, as the link step looks
        img = sym.images(ca[firsts], box=(ca[e] - JOIN_MAX, ca[e] + JOIN_MAX))
        d = np.linalg.norm(img["xyz"] - ca[e], axis=1)
        near += [(float(x), int(e), int(firsts[k])) for x, k in zip(d, img["src"])
                 if fr[firsts[k]] != fr[e]]  # fmt: skip
    near.sort()
    out, used = [], set()
    for dist, e, s in near:
        if dist <= JOIN_MAX and e not in used and s not in used:
            used |= {e, s}
            out.append((e, s))
    return sorted(out)


def _numbered_pairs(result: BuildResult, sequences: list[str], step: int) -> list[tuple[int, int]]:
    """(end, start) of every fragment end numbered ``step`` before another fragment's start of
    the same molecule (both aligned, no insertion codes)."""
    if result.record is None or not len(result):
        return []
    fr = result.trace.fragment
    rec = np.where(result.record >= 0, molecules(sequences)[np.maximum(result.record, 0)], -1)
    firsts, lasts = result.trace.starts_and_ends()
    by_start = {(int(rec[s]), int(result.seqid[s])): int(s) for s in firsts
                if rec[s] >= 0 and not result.icode[s]}  # fmt: skip
    out = []
    for e in lasts:
        if rec[e] < 0 or result.icode[e]:
            continue
        s = by_start.get((int(rec[e]), int(result.seqid[e]) + step))
        if s is not None and fr[s] != fr[e]:
            out.append((int(e), s))
    return out


def _nearest_image(
    end: np.ndarray, start: np.ndarray, sym: Symmetry, reach: float = REACH
) -> tuple[float, int, np.ndarray]:
    """Distance (A) from ``end`` to the nearest image of ``start`` within ``reach`` (inf where
    none), and that image's symmetry operation and lattice shift."""
    img = sym.images(start[None], box=(end - reach, end + reach))
    if not len(img["xyz"]):
        return np.inf, 0, np.zeros(3)
    d = np.linalg.norm(img["xyz"] - end, axis=1)
    k = int(np.argmin(d))
    return float(d[k]), int(img["op"][k]), img["shift"][k]


def beside(result: BuildResult, drop: int, end: int, start: int) -> tuple[int, int] | None:
    """The residues either side of ``drop`` (``end`` or ``start`` of a junction), between which
    the gap fill would build it again; None where ``drop`` is a fragment of one residue."""
    fr = result.trace.fragment
    e, s = (end - 1, start) if drop == end else (end, start + 1)
    if e < 0 or s >= len(fr) or fr[e] != fr[end] or fr[s] != fr[start]:
        return None
    return e, s


def fillable(
    result: BuildResult,
    end: int,
    start: int,
    dmap: DensityMap,
    sym: Symmetry,
    count: int = 1,
) -> bool:
    """Whether the gap fill will build ``count`` residues between residues ``end`` and
    ``start`` (of fragments that are to become one chain): the C-alphas more than a peptide
    apart and within ``count`` + 1 steps (any crystal copy), and a path of ``count`` new
    C-alphas between them clear of the other atoms along at least
    :data:`~.gap_paths.MIN_DENSITY` sigma, as :func:`.gap_fill.fill_gaps` asks."""
    ca = backbone_of(result.model)[1]
    reach = (count + 1) * STEP
    dist, op, shift = _nearest_image(ca[end], ca[start], sym, reach)
    if not JOIN_MAX < dist <= reach:
        return False
    found = link_path(result, end, start, [count], dmap, sym, (), op, shift)
    return found is not None and found[1] >= MIN_DENSITY


def stuck_gaps(
    result: BuildResult, sequences: list[str], sym: Symmetry, dmap: DensityMap
) -> list[tuple[int, int]]:
    """(end, start) of every fragment end numbered two before another fragment's start of the
    same molecule (one residue missing), within three C-alpha steps, where the gap fill finds
    no path for that residue as the two ends stand (:func:`fillable`): one end may be off."""
    pairs = _numbered_pairs(result, sequences, 2)
    ca = backbone_of(result.model)[1] if pairs else None
    return [(e, s) for e, s in pairs
            if _nearest_image(ca[e], ca[s], sym, 3 * STEP)[0] <= 3 * STEP
            and not fillable(result, e, s, dmap, sym)]  # fmt: skip


def backbone_density(result: BuildResult, dmap: DensityMap, residues: np.ndarray) -> np.ndarray:
    """Mean map value (sigma) at the N, CA, C and O of each of ``residues`` (each residue's
    first four atoms; N, CA and C where the fourth is not its O)."""
    m = result.model
    first = atom_bounds(m)[0][residues]
    idx = first[:, None] + np.arange(4)
    has_o = m.atom[np.minimum(idx[:, 3], len(m) - 1)] == "O"
    rho = dmap.sample_points(m.xyz[np.minimum(idx, len(m) - 1)].reshape(-1, 3)).reshape(-1, 4)
    return np.where(has_o, rho.mean(1), rho[:, :3].mean(1))


def open_junctions(
    result: BuildResult,
    aligned: np.ndarray,
    sequences: list[str] | None,
    sym: Symmetry,
    dmap: DensityMap,
    refine: bool = True,
    stuck: bool = False,
) -> tuple[BuildResult, np.ndarray]:
    """``result`` without one residue of each of its :func:`junctions` (with ``stuck``, of its
    :func:`stuck_gaps` too; without ``sequences``, of its :func:`unnumbered_junctions`, for the
    link step to build again), the one whose backbone sits in lower density
    (:func:`backbone_density`); with ``refine``, the residues beside it refined again against
    ``dmap``. A residue the gap fill could not build again between those residues, as they then
    lie (:func:`fillable`, one residue more than was missing), is kept.

    Returns
    -------
    tuple
        The result (``report["junctions_opened"]`` and ``["stuck_gaps_opened"]`` set, its
        counts updated with ``aligned``) and the (N,) mask of the residues kept.
    """
    drop = np.zeros(len(result), dtype=bool)
    sites = []  # (left out, the residues beside it, residues the fill is to build)
    if sequences:
        kinds = [(junctions(result, sequences, sym), 1)]
    else:
        kinds = [(unnumbered_junctions(result, sym), 1)]
    if stuck and sequences:
        kinds.append((stuck_gaps(result, sequences, sym, dmap), 2))
    for pairs, count in kinds:
        if not pairs:
            continue
        ends, starts = np.array(pairs).T
        weaker = backbone_density(result, dmap, starts) < backbone_density(result, dmap, ends)
        for e, s, x in zip(ends, starts, np.where(weaker, starts, ends)):
            site = beside(result, int(x), int(e), int(s))
            if site is not None and not drop[x]:
                drop[x] = True
                sites.append((int(x), *site, count))
    out, kept = leave_out(result, aligned, drop, dmap if refine else None)
    # with the neighbours refined as the gap fill will find them: a residue it could not build
    # again stays as it was
    index = np.cumsum(kept) - 1
    lost = [x for x, e, s, n in sites
            if not fillable(out, int(index[e]), int(index[s]), dmap, sym, n)]  # fmt: skip
    if lost:
        drop[lost] = False
        out, kept = leave_out(result, aligned, drop, dmap if refine else None)
    counts = {c: sum(drop[x] for x, *_, n in sites if n == c) for c in (1, 2)}
    result.report["junctions_opened"] = int(counts[1])
    if stuck:
        result.report["stuck_gaps_opened"] = int(counts[2])
    return out, kept
