"""Fragments linked through the density where there is no sequence to number them (a step of a
build without a sequence, after the joins across crystal contacts).

Without a sequence nothing says which fragment follows which, or how many residues are
missing between them; the review's Close gap answers both from the map, one break at a time.
:func:`link_fragments` does it for the whole build: each fragment's end is offered the nearest
start of another fragment (any crystal copy, within :data:`REACH`) and, where that start is
further than a peptide's length (:data:`~.gap_paths.JOIN_MAX`), linked to it through the one or
two new residues (the count the map prefers) of :func:`.gap_paths.best_path`, where the mean map
value along it is at least :data:`~.gap_paths.MIN_DENSITY` sigma (all steps trans: a start the
classifier calls a proline may be a stray residue, and a cis step into one linked such a stray
start on 4ms6; docs/build.md). The densest paths go first;
each end and start is used once and no chain closes on itself. Linked fragments become one
chain (moved onto the crystal copies that continue it), the new residues take the classifier's
type, and the chains are numbered 1, 2, ... again, longest first. Starts a peptide's length
away are left to the build's joins, which ask for the C and N to be bonded: joining them at
any C-alpha distance under 4.3 A strained bonds on the real maps measured (docs/build.md).

Examples
--------
>>> result = link_fragments(result, dmap, classifier, Symmetry.of_map(dmap))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .assemble import number_residues
from .build_result import Movable, backbone_of, recount
from .gap_fill import build_in, link_path
from .gap_paths import JOIN_MAX, MAX_NEW, MIN_DENSITY, STEP

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .classify import Classifier
    from .maps import DensityMap
    from .symmetry import Symmetry

#: Farthest start (C-alpha to C-alpha, A) offered to a fragment's end: two residues' reach.
REACH = (MAX_NEW + 1) * STEP


def _candidates(result: BuildResult, dmap: DensityMap, sym: Symmetry) -> list[tuple]:
    """(-density, end fragment, start fragment, op, shift, path) per fragment end that can be
    linked to its nearest other start, densest path first."""
    tr = result.trace
    ca = backbone_of(result.model)[1]
    frag = tr.fragment
    starts, ends = tr.starts_and_ends()
    out = []
    for e in ends:
        img = sym.images(ca[starts], box=(ca[e] - REACH, ca[e] + REACH))
        d = np.linalg.norm(img["xyz"] - ca[e], axis=1)
        ok = (frag[starts[img["src"]]] != frag[e]) & (d <= REACH)
        if not ok.any():
            continue
        idx = np.flatnonzero(ok)
        k = int(idx[np.argmin(d[idx])])
        s, op, shift = int(starts[img["src"][k]]), int(img["op"][k]), img["shift"][k]
        if d[k] <= JOIN_MAX:  # a peptide's length: joined by the build's joins or left
            continue
        found = link_path(result, e, s, range(1, MAX_NEW + 1), dmap, sym, (), op, shift,
                          cis_pro=False)  # fmt: skip
        if found is not None and found[1] >= MIN_DENSITY:
            out.append((-found[1], int(frag[e]), int(frag[s]), op, shift, found[0]))
    return sorted(out, key=lambda c: c[0])


def _accepted(candidates: list[tuple], n_fragments: int) -> dict[int, tuple]:
    """{end fragment: (start fragment, op, shift, path)}, greedily in order, each end and start
    once, no cycles."""
    root = list(range(n_fragments))

    def find(f: int) -> int:
        while root[f] != f:
            root[f] = root[root[f]]
            f = root[f]
        return f

    nxt: dict[int, tuple] = {}
    taken: set[int] = set()
    for _, f, g, op, shift, path in candidates:
        if f in nxt or g in taken or find(f) == find(g):
            continue
        nxt[f] = (g, op, shift, path)
        taken.add(g)
        root[find(g)] = find(f)
    return nxt


def link_fragments(
    result: BuildResult,
    dmap: DensityMap,
    classifier: Classifier,
    sym: Symmetry,
    refine: bool = True,
) -> BuildResult:
    """``result`` with fragments linked (module docstring); ``report["fragments_linked"]`` and
    ``report["link_residues_built"]`` count the links and the residues built in them.
    Unchanged where nothing links."""
    rep = result.report
    rep.update(fragments_linked=0, link_residues_built=0)
    tr = result.trace
    nxt = _accepted(_candidates(result, dmap, sym), tr.fragment_count)
    if not nxt:
        return result
    members = [np.flatnonzero(tr.fragment == f) for f in range(tr.fragment_count)]
    heads = [f for f in range(tr.fragment_count) if f not in {v[0] for v in nxt.values()}]
    movable = Movable(result, sym)
    chains, fills_at = [], []
    for h in heads:
        chain, moves, f = [h], [], h  # moves: the operations that carry f onto its place
        while f in nxt:
            g, op, shift, path = nxt[f]
            for o, sh in moves[::-1]:  # the path was found next to f where it was placed
                path = sym.apply(path, o, sh)
            moves = [*moves, (op, shift)]
            for o, sh in moves[::-1]:
                movable.move(members[g], o, sh)
            fills_at.append((int(members[f][-1]), path))
            chain.append(g)
            f = g
        chains.append(chain)
    chains.sort(key=lambda c: (-sum(len(members[f]) for f in c), c[0]))
    order = np.concatenate([members[f] for c in chains for f in c])
    fragment = np.repeat(np.arange(len(chains)), [sum(len(members[f]) for f in c) for c in chains])
    joined = result.rearranged(order, fragment, result.chain[order], result.seqid[order],
                               result.icode[order], movable.arrays)  # fmt: skip
    position = np.empty(len(order), dtype=int)
    position[order] = np.arange(len(order))
    fills = [(int(position[e]), path) for e, path in fills_at]
    out, built = build_in(joined, fills, dmap, classifier, None, refine)
    out.chain, out.seqid, out.icode = number_residues(out.trace, [None] * out.trace.fragment_count)
    rep.update(fragments_linked=len(nxt), link_residues_built=int(built.sum()))
    recount(out, np.zeros(len(out), dtype=bool))  # no sequence: nothing aligned
    return out
