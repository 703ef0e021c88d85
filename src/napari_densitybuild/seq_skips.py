"""Sequence positions skipped inside a fragment, built: the residue the trace stepped over put
back (a step of a build with a sequence, before :mod:`.gap_fill`).

The alignment may skip a sequence position between two linked residues of a fragment
(:func:`.assemble.sequence_gaps`): the trace stepped over a residue it missed, which it can do
in a helix, where the C-alpha three along lies about 5 A away, or it put one residue between
two true ones (4iid: built residues 168, 169, 171 on deposited 189, none and 192). The
numbering stays true after the skip, but the chain holds one residue too few and a peptide
between residues numbered two apart. :func:`mend_skips` tries, at each such pair ``a``, ``b``
(numbered ``i`` and ``i + 2``): one new residue between them, where their C-alphas leave room;
``a`` replaced by two new residues between its neighbours; ``b`` replaced likewise; and takes
the path (:func:`.gap_paths.best_path`) with the highest mean map value, if that is at least
:data:`~.gap_paths.MIN_DENSITY` sigma and, where it replaces a residue, no lower than along the
path through the residue it replaces. New residues are built as :func:`.gap_fill.build_in`
builds them.

Examples
--------
>>> result = mend_skips(result, dmap, classifier, sequences, Symmetry.of_map(dmap))
... # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .build_result import backbone_of
from .gap_fill import JOIN_MAX, build_in, link_path
from .gap_paths import MIN_DENSITY, line_density
from .seq_chains import molecules

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .classify import Classifier
    from .maps import DensityMap
    from .symmetry import Symmetry


def skip_sites(result: BuildResult, sequences: list[str]) -> list[int]:
    """Indices ``b`` of residues linked to the one before them (``a = b - 1``, same fragment,
    one molecule of ``sequences``) and numbered two after it: one sequence position skipped."""
    if result.record is None or not sequences:
        return []
    rec = np.where(result.record >= 0, molecules(sequences)[np.maximum(result.record, 0)], -1)
    fr, num, ic = result.trace.fragment, result.seqid, result.icode
    b = np.arange(1, len(result))
    ok = (fr[b] == fr[b - 1]) & (rec[b] >= 0) & (rec[b] == rec[b - 1]) & (num[b] - num[b - 1] == 2)
    blank = np.array([not c for c in ic], dtype=bool)
    ok &= blank[b] & blank[b - 1]
    return [int(i) for i in b[ok]]


def _options(result: BuildResult, b: int) -> list[tuple[int | None, int, int, int]]:
    """(residue replaced or None, end, start, new residues) of the ways to mend the skip before
    ``b``, where the neighbours needed are in the fragment and numbered on."""
    fr, num, a = result.trace.fragment, result.seqid, b - 1
    ca = backbone_of(result.model)[1]
    out: list[tuple[int | None, int, int, int]] = []
    if np.linalg.norm(ca[b] - ca[a]) > JOIN_MAX:
        out.append((None, a, b, 1))
    if a > 0 and fr[a - 1] == fr[a] and num[a - 1] == num[a] - 1:
        out.append((a, a - 1, b, 2))
    if b + 1 < len(fr) and fr[b + 1] == fr[b] and num[b + 1] == num[b] + 1:
        out.append((b, a, b + 1, 2))
    return out


def plan_skips(
    result: BuildResult, dmap: DensityMap, sequences: list[str], sym: Symmetry
) -> list[tuple[int | None, int, np.ndarray, float]]:
    """(residue replaced or None, end, new C-alphas, mean map value along them) per skip that
    can be mended (module docstring), skips whose stretches overlap another's left as they
    are."""
    ca = backbone_of(result.model)[1]
    plans: list[tuple[int | None, int, np.ndarray, float]] = []
    added: list[np.ndarray] = []
    used: set[int] = set()
    for b in skip_sites(result, sequences):
        if used & set(range(b - 2, b + 2)):
            continue
        best = None
        for gone, e, s, k in _options(result, b):
            found = link_path(result, e, s, k, dmap, sym, added, () if gone is None else (gone,))
            if found is None or found[1] < MIN_DENSITY:
                continue
            if gone is not None and found[1] < line_density(ca[[e, gone, s]], dmap):
                continue
            if best is None or found[1] > best[3]:
                best = (gone, e, found[0], found[1])
        if best is not None:
            plans.append(best)
            added.append(best[2])
            used |= set(range(b - 2, b + 2))
    return plans


def mend_skips(
    result: BuildResult,
    dmap: DensityMap,
    classifier: Classifier,
    sequences: list[str],
    sym: Symmetry,
    refine: bool = True,
) -> BuildResult:
    """``result`` with the skips of :func:`plan_skips` mended: residues replaced left out, new
    ones built (:func:`.gap_fill.build_in`); ``report["skips_mended"]``,
    ``report["skip_residues_built"]`` and ``report["skip_residues_replaced"]`` count them.
    Unchanged where nothing can be mended."""
    rep = result.report
    rep.update(skips_mended=0, skip_residues_built=0, skip_residues_replaced=0)
    plans = plan_skips(result, dmap, sequences, sym)
    if not plans:
        return result
    keep = np.ones(len(result), dtype=bool)
    keep[[gone for gone, *_ in plans if gone is not None]] = False
    trimmed = result
    if not keep.all():
        trimmed = result.subset(keep)
        trimmed.chain = result.chain[keep]  # subset names chains by fragment: keep the chains
    index = np.cumsum(keep) - 1
    fills = [(int(index[e]), path) for _, e, path, _ in plans]
    out, built = build_in(trimmed, fills, dmap, classifier, sequences, refine)
    n_new, n_gone = int(built.sum()), int((~keep).sum())
    aligned = int(rep.get("aligned_to_sequence", 0)) + n_new - n_gone
    rep.update(skips_mended=len(plans), skip_residues_built=n_new, skip_residues_replaced=n_gone,
               residues=len(out), atoms=len(out.model), aligned_to_sequence=aligned,
               sequence_gaps=max(int(rep.get("sequence_gaps", 0)) - len(plans), 0))  # fmt: skip
    return out
