"""The one or two residues a sequence shows missing between two fragments of one chain, built
into the density (the last step of a build with a sequence).

Where the trace loses a chain for a residue or two (a weak loop residue, a step it could not
make), the build leaves two fragments whose sequence numbers say how many residues are missing
between them; gathered into one chain (:mod:`.seq_chains`), the gap stays. :func:`fill_gaps`
builds them where the map shows them: the new C-alphas go along the path of highest density
that keeps the chain's geometry and clear of other atoms (:func:`.gap_paths.best_path`; mean
map value along it at least :data:`~.gap_paths.MIN_DENSITY` sigma, the threshold the review's
Close gap uses; into a proline, the last step also as a cis peptide), N and C from the C-alpha
trace table (the C before a cis step placed for a cis peptide), the type from the sequence (the
classifier's where the sequence says X), the atoms from the classifier's heads in the new
boxes, and the residues from two before to two after the gap refined with the rest held. The
two fragments and the new residues become one fragment, linked by peptides.

Examples
--------
>>> result = fill_gaps(result, dmap, classifier, sequences, Symmetry.of_map(dmap))
... # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .build_result import BuildResult, atom_bounds, backbone_of, recount
from .gap_paths import JOIN_MAX, MAX_NEW, MIN_DENSITY, best_path
from .joins import chain_neighbours
from .pose import frame_to_world
from .refine import AtomModel, refine_residues
from .residues import AMINO_ACIDS, HEAVY_ATOMS, THREE_LETTER
from .seq_chains import molecules
from .trace import Trace, new_residue_backbone

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .classify import Classifier
    from .maps import DensityMap
    from .symmetry import Symmetry

#: Atoms within this (A) of the box the two ends span are the ones new C-alphas keep clear of.
MARGIN = 6.0


def gap_sites(
    result: BuildResult, sequences: list[str] | None = None
) -> list[tuple[int, int, int]]:
    """(end, start, missing) of every break between consecutive fragments of one chain whose
    numbers, from one sequence (or from records of one molecule among ``sequences``:
    :func:`.seq_chains.molecules`), leave room for 1 to :data:`~.gap_paths.MAX_NEW` residues."""
    if result.record is None:
        return []
    fr, rec = result.trace.fragment, result.record
    if sequences:
        rec = np.where(rec >= 0, molecules(sequences)[np.maximum(rec, 0)], -1)
    out = []
    for i in np.flatnonzero((fr[1:] != fr[:-1]) & (result.chain[1:] == result.chain[:-1])):
        missing = int(result.seqid[i + 1] - result.seqid[i] - 1)
        same = rec[i] >= 0 and rec[i] == rec[i + 1] and not result.icode[i]
        if same and not result.icode[i + 1] and 1 <= missing <= MAX_NEW:
            out.append((int(i), int(i + 1), missing))
    return out


def link_path(
    result: BuildResult,
    end: int,
    start: int,
    counts: Iterable[int],
    dmap: DensityMap,
    sym: Symmetry,
    added: Sequence[np.ndarray] = (),
    op: int = 0,
    shift: np.ndarray | tuple[float, float, float] = (0.0, 0.0, 0.0),
    cis_pro: bool = True,
) -> tuple[np.ndarray, float] | None:
    """:func:`.gap_paths.best_path` of ``counts`` new C-alphas from residue ``end`` to residue
    ``start`` (its piece on the crystal copy that symmetry operation ``op`` and lattice
    ``shift`` give, where they are not the identity): the residues beside them in their
    fragments held to its angle rules, every atom but the two ends' backbones (and the
    C-alphas ``added`` at other sites) kept clear of, and, with ``cis_pro``, the last step tried
    as a cis peptide where ``start`` is a proline (a type the sequence gave: a stray fragment
    start that the classifier calls a proline is no ground for it, see docs/build.md)."""
    ca, fr = backbone_of(result.model)[1], result.trace.fragment
    moved = op != 0 or any(shift)
    place = (lambda x: sym.apply(x[None], op, shift)[0]) if moved else (lambda x: x)
    before = ca[end - 1] if end > 0 and fr[end - 1] == fr[end] else None
    s = place(ca[start])
    after = place(ca[start + 1]) if start + 1 < len(fr) and fr[start + 1] == fr[start] else None
    others = _others(result, sym, end, start, added, start_at=s)
    pro = cis_pro and int(result.types[start]) == AMINO_ACIDS.index("PRO")
    return best_path(ca[end], s, counts, dmap, before, after, others, pro)


def _others(
    result: BuildResult,
    sym: Symmetry,
    end: int,
    start: int,
    extra: Sequence[np.ndarray],
    start_at: np.ndarray | None = None,
) -> np.ndarray:
    """Atoms (crystal copies included) that new C-alphas between ``end`` and ``start`` (its
    C-alpha at ``start_at`` where given: a crystal copy's) keep clear of: all but the two ends'
    backbones, and the C-alphas ``extra`` already added."""
    m = result.model
    lo, hi = atom_bounds(m)
    skip = np.zeros(len(m), dtype=bool)
    for r in (end, start):
        skip[lo[r] : hi[r]] = np.isin(m.atom[lo[r] : hi[r]], ("N", "CA", "C", "O"))
    # paths of one and two residues: (1, 3) and (2, 3) arrays, stacked as rows
    xyz = np.concatenate([m.xyz[~skip], *(np.reshape(e, (-1, 3)) for e in extra)])
    e, s = backbone_of(m)[1][[end, start]]
    s = s if start_at is None else np.asarray(start_at, dtype=float)
    box = (np.minimum(e, s) - MARGIN, np.maximum(e, s) + MARGIN)
    return sym.images(xyz, box=box)["xyz"] if sym.periodic else xyz


def fill_gaps(
    result: BuildResult,
    dmap: DensityMap,
    classifier: Classifier,
    sequences: list[str],
    sym: Symmetry,
    refine: bool = True,
) -> BuildResult:
    """``result`` with the residues missing at :func:`gap_sites` built where the map shows them
    (module docstring); ``report["gap_residues_built"]`` and ``report["gaps_filled"]`` count
    them. Unchanged where there is nothing to fill."""
    rep = result.report
    rep.update(gaps_filled=0, gap_residues_built=0)
    _, ca_all, _ = backbone_of(result.model)
    fills: list[tuple[int, np.ndarray]] = []
    added: list[np.ndarray] = []
    for end, start, missing in gap_sites(result, sequences):
        if np.linalg.norm(ca_all[start] - ca_all[end]) <= JOIN_MAX:
            continue
        found = link_path(result, end, start, [missing], dmap, sym, added)
        if found is None or found[1] < MIN_DENSITY:
            continue
        fills.append((end, found[0]))
        added.append(found[0])
    if not fills:
        return result
    out, built = build_in(result, fills, dmap, classifier, sequences, refine)
    rep.update(gaps_filled=len(fills), gap_residues_built=int(built.sum()))
    recount(out, out.record >= 0)  # with a sequence, aligned residues are those with a record
    return out


def build_in(
    result: BuildResult,
    fills: list[tuple[int, np.ndarray]],
    dmap: DensityMap,
    classifier: Classifier,
    sequences: list[str] | None,
    refine: bool = True,
) -> tuple[BuildResult, np.ndarray]:
    """``result`` with new residues at the C-alphas of each ``(end, path)`` in ``fills``, between
    residue ``end`` and the next, numbered on from ``end``, typed by its sequence (the
    classifier's type where it says X or there is none), posed by the classifier's heads, the
    fragments either side made one, and (``refine``) the residues up to two either side refined
    with the rest held; and the (N,) mask of the new residues. The report is shared and not
    updated."""
    new = _new_residues(result, fills, dmap, classifier, sequences)
    out, built = _inserted(result, fills, new)
    if refine:
        zone = chain_neighbours(np.flatnonzero(built), out.trace.fragment, reach=MAX_NEW)
        out.model.xyz = refine_residues(out.model, dmap, zone, peptide_flips=False,
                                        side_chain_flips=False)  # fmt: skip
    return out, built


def _new_residues(
    result: BuildResult,
    fills: list[tuple[int, np.ndarray]],
    dmap: DensityMap,
    classifier: Classifier,
    sequences: list[str] | None,
) -> dict[str, np.ndarray]:
    """Per new residue (in the order of ``fills``): C-alpha, N, C, probabilities, world poses
    (20, 14, 3), type, number, and the end it follows."""
    n_all, ca_all, _ = backbone_of(result.model)
    ca, n, c, after, seqid = [], [], [], [], []
    for end, path in fills:
        start = end + 1
        chain = [ca_all[end], *path, ca_all[start]]
        for k, p in enumerate(path):
            last = k == len(path) - 1
            got = new_residue_backbone(chain[k], p, chain[k + 2], n_all[start] if last else None)
            if got is None:  # off the table: the path's angles are checked, so not expected
                raise ValueError(f"no N and C for a new C-alpha after residue {end}")
            ca.append(p), n.append(got[0]), c.append(got[1]), after.append(end)
            seqid.append(int(result.seqid[end]) + 1 + k)
    ca, n, c = np.array(ca), np.array(n), np.array(c)
    centres, rotations = classifier.frames(n, ca, c)
    atom_head = classifier.has_atom_head
    probs, coords, *atoms = classifier.classify_frames(
        dmap, centres, rotations, poses="both" if atom_head else True
    )
    poses = frame_to_world(atoms[0] if atom_head else coords, centres, rotations)
    types = probs.argmax(1)
    same = molecules(sequences) if sequences and result.record is not None else None
    for i, (end, number) in enumerate(zip(after, seqid)):
        if same is None or result.record[end] < 0:
            continue  # no sequence: the classifier's type
        mol = same[int(result.record[end])]
        seq = max((q for q, m in zip(sequences, same) if m == mol), key=len)
        three = THREE_LETTER.get(seq[number - 1]) if 0 < number <= len(seq) else None
        if three is not None:
            types[i] = AMINO_ACIDS.index(three)
    return {"ca": ca, "n": n, "c": c, "probs": probs, "poses": poses, "types": types,
            "seqid": np.array(seqid), "after": np.array(after)}  # fmt: skip


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _inserted(
    result: BuildResult, fills: list[tuple[int, np.ndarray]], new: dict[str, np.ndarray]
) -> tuple[BuildResult, np.ndarray]:
    """``result`` with the ``new`` residues after their ends, each end's fragment, the new
    residues and the next fragment made one; and the (N,) mask of the new residues."""
    n_old, m, tr = len(result), result.model, result.trace
    order = []
    for i in range(n_old):
        order.append(i)
        order.extend(n_old + np.flatnonzero(new["after"] == i))
    order = np.array(order)
    built = order >= n_old
    after = new["after"]
    score = np.minimum(tr.score[after], tr.score[after + 1])  # no detector score of their own
    types = np.r_[result.types, new["types"]][order]
    probs = np.concatenate([result.probs, new["probs"]])[order]
    # a fragment starts where the old fragments change, but not at or after a new residue
    old_fragment = np.r_[tr.fragment, tr.fragment[after]][order]
    starts = np.r_[True, old_fragment[1:] != old_fragment[:-1]] & ~built
    starts[1:] &= ~built[:-1]
    fragment = np.cumsum(starts) - 1
    trace = Trace(np.r_[tr.ca, new["ca"]][order],
                  np.r_[tr.to_n, _unit(new["n"] - new["ca"])][order],
                  np.r_[tr.to_c, _unit(new["c"] - new["ca"])][order],
                  np.r_[tr.score, score][order], fragment)  # fmt: skip
    # atoms: the refined ones of the old residues, the new ones' from the heads for their type
    lo, hi = atom_bounds(m)
    xyz, atom, residue = [], [], []
    for r, i in enumerate(order):
        if i < n_old:
            xyz.append(m.xyz[lo[i] : hi[i]]), atom.extend(m.atom[lo[i] : hi[i]])
            residue.extend([r] * (hi[i] - lo[i]))
        else:
            t = int(new["types"][i - n_old])
            names = HEAVY_ATOMS[AMINO_ACIDS[t]]
            xyz.append(new["poses"][i - n_old, t, : len(names)]), atom.extend(names)
            residue.extend([r] * len(names))
    atom = np.array(atom, dtype=object)
    model = AtomModel(np.concatenate(xyz), atom, np.array([a[0] for a in atom], dtype=object),
                      np.array(residue, dtype=np.int64),
                      np.array([AMINO_ACIDS[t] for t in types], dtype=object),
                      np.r_[False, fragment[1:] == fragment[:-1]])  # fmt: skip
    conf = np.round(100.0 * trace.score * probs[np.arange(len(types)), types], 2)
    confidence = np.where(built, conf, np.r_[result.confidence, np.zeros(len(after))][order])
    out = BuildResult(trace, probs, np.concatenate([result.poses, new["poses"]])[order], types,
                      np.r_[result.chain, result.chain[after]][order],
                      np.r_[result.seqid, new["seqid"]][order],
                      np.r_[result.icode, np.full(len(after), "", dtype=object)][order], model,
                      confidence, result.dmap, result.report,
                      None if result.record is None
                      else np.r_[result.record, result.record[after]][order])  # fmt: skip
    return out, built
