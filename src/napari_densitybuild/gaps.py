"""Closing a chain break under review: two pieces of chain joined by a peptide, or the one or two
residues missing between them built into the density.

A chain break (:mod:`.breaks`) names where a chain stops and the nearest start of another
piece of chain. :func:`plan_gap` decides how to close it: a start a peptide's length away
(C-alphas at most :data:`~.gap_paths.JOIN_MAX` apart) is joined as it is; a start further off is
reached through one or two new C-alphas, 3.8 A apart along the chain, where the map is highest along
the path among the placements that keep the chain's geometry and clear of the other atoms
(crystal copies included; :func:`.gap_paths.best_path`). A piece that starts on a crystal copy
is moved onto that copy first, a symmetry-equivalent place. :func:`close_gap` then makes the
new residues (frames from the C-alpha trace, types from the chain's sequence where the build had
one, else from the classifier, atoms from the classifier's pose heads), renumbers the joined
piece to follow on, and refines the residues around the new peptides with the rest of the model
held. Nothing is changed in the session: the caller applies the rows in one undoable step.

Examples
--------
>>> brk = chain_breaks(session)[0]  # doctest: +SKIP
>>> closed = close_gap(session, brk, dmap, classifier)  # doctest: +SKIP
>>> session.replace(closed.rows)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .boxes import backbone_frames
from .breaks import ChainBreak, pieces
from .errors import DensityBuildError
from .gap_paths import JOIN_MAX, MAX_NEW, MIN_DENSITY, atoms_to_clear, best_path
from .geometry import CIS_CA
from .residues import INDEX, THREE_LETTER
from .seq_chains import followed_sequences
from .session import UNKNOWN, ResidueState
from .trace import new_residue_backbone

if TYPE_CHECKING:
    from collections.abc import Callable

    from .classify import Classifier
    from .maps import DensityMap
    from .session import Session


@dataclass(frozen=True)
class GapPlan:
    """How a break is closed: ``ca`` (k, 3) the new C-alphas (none for a join), in chain order
    from ``end`` to ``start``; ``op``, ``shift`` the symmetry operation that brings ``start``'s
    piece next to ``end`` (0 and zeros: where it is); ``density`` the mean map value along the
    new path (sigma; nan for a join)."""

    end: int
    start: int
    ca: np.ndarray
    op: int = 0
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    density: float = float("nan")

    @property
    def moved(self) -> bool:
        """Whether the start's piece moves onto a crystal copy."""
        return self.op != 0 or any(self.shift)


@dataclass(frozen=True)
class GapClosure:
    """The session's residues after closing a gap (``rows``, not applied), the indices in
    ``rows`` of the new residues (``built``; for a join, the two either side of the new
    peptide) and of every residue built or refined (``changed``), a line for the status bar,
    and the plan carried out."""

    rows: list[ResidueState]
    built: list[int]
    changed: list[int]
    text: str
    plan: GapPlan


def plan_gap(session: Session, brk: ChainBreak, dmap: DensityMap) -> GapPlan:
    """How to close ``brk``: join, or one or two new C-alphas through the density.

    Where the start is numbered on from the end (residues deleted, a sequence position the trace
    stepped over; or, leaving room for at most :data:`MAX_NEW`, pieces of one sequence built as
    chains of their own), the numbers say how many residues to build; otherwise one or two,
    whichever path has the higher mean density.

    Raises
    ------
    DensityBuildError
        Nothing goes on within reach; the numbering leaves room for more than :data:`MAX_NEW`
        residues, or for none where the C-alphas are too far apart for a peptide (or for some
        where they are close enough: one end is misplaced); or no path keeps to the rules in
        density of at least :data:`MIN_DENSITY` sigma: the gap is left for building by hand.
    """
    res = session.residues
    if brk.start is None:
        raise DensityBuildError(f"{res[brk.end].label} of chain {res[brk.end].chain}: no other "
                                "piece of chain starts near it, nothing to join")  # fmt: skip
    piece = pieces(session)
    end, start = brk.end, brk.start
    if piece[end] == piece[start] or (end + 1 < len(res) and piece[end + 1] == piece[end]) or (
            start > 0 and piece[start - 1] == piece[start]):  # fmt: skip
        raise DensityBuildError(f"{res[end].label} and {res[start].label}: not the end of one "
                                "piece of chain and the start of another")  # fmt: skip
    sym = session.symmetry()
    e = res[end].ca
    images = sym.images(res[start].ca[None], box=(e - 15.0, e + 15.0))
    if not len(images["xyz"]):
        raise DensityBuildError("the start of the other piece is not within reach of this end")
    j = int(np.argmin(np.linalg.norm(images["xyz"] - e, axis=1)))
    op, shift = int(images["op"][j]), tuple(float(v) for v in images["shift"][j])
    s = images["xyz"][j]
    if np.linalg.norm(s - res[start].ca) < 1e-3:  # the piece itself, wherever its cell
        op, shift = 0, (0.0, 0.0, 0.0)
    d = float(np.linalg.norm(s - e))
    plan = GapPlan(end, start, np.zeros((0, 3)), op, shift)
    # numbers that go on across the gap (a sequence's, or residues deleted) say how many
    # residues are missing: within a chain always, across chains where they leave room for
    # at most MAX_NEW (a build numbers each chain from 1 where no sequence numbers it)
    gap = res[start].seqid - res[end].seqid - 1
    one_chain = res[start].chain == res[end].chain and piece[start] == piece[end] + 1
    gap = gap if gap >= 0 and (one_chain or gap <= MAX_NEW) else -1
    if gap >= 0 and (gap == 0) != (d <= JOIN_MAX):
        said = ("are numbered as neighbours but their C-alphas lie" if gap == 0 else
                f"leave room for {gap} residue{'s' * (gap > 1)} by their numbers but their "
                "C-alphas lie only")  # fmt: skip
        raise DensityBuildError(f"{res[end].label} of chain {res[end].chain} and "
                                f"{res[start].label} of chain {res[start].chain} {said} {d:.1f} "
                                "A apart: one of them is misplaced or misnumbered (delete a "
                                "misplaced end, then close the gap)")  # fmt: skip
    if gap > MAX_NEW:
        raise DensityBuildError(f"the numbering leaves room for {gap} residues between "
                                f"{res[end].label} of chain {res[end].chain} and "
                                f"{res[start].label} of chain {res[start].chain}: more than "
                                f"{MAX_NEW}, add them by hand")  # fmt: skip
    if d <= JOIN_MAX:
        return plan
    move = (lambda x: sym.apply(x, op, shift)) if plan.moved else (lambda x: x)
    before = res[end - 1].ca if end > 0 and piece[end - 1] == piece[end] else None
    after = (move(res[start + 1].ca[None])[0] if start + 1 < len(res)
             and piece[start + 1] == piece[start] else None)  # fmt: skip
    # other residues' atoms (the two ends' side chains too) that new C-alphas must keep clear of
    xyz = atoms_to_clear(session, {end, start}, np.minimum(e, s) - 6, np.maximum(e, s) + 6)
    counts = [gap] if gap >= 1 else range(1, MAX_NEW + 1)
    found = best_path(e, s, counts, dmap, before, after, xyz, res[start].type == INDEX["PRO"])
    best = None if found is None else GapPlan(end, start, found[0], op, shift, found[1])
    if best is None or best.density < MIN_DENSITY:
        what = ("no placement of one or two residues keeps the chain's geometry" if best is None
                else f"the best path runs through {best.density:.1f} sigma")  # fmt: skip
        raise DensityBuildError(f"cannot close the {d:.1f} A gap after {res[end].label}: {what}; "
                                "add residues by hand")  # fmt: skip
    return best


def _new_residues(
    plan: GapPlan, e: ResidueState, s: ResidueState, sequence: str | None = None
) -> list[ResidueState]:
    """Residues at the plan's C-alphas between ``e`` and ``s``: N and C from the C-alpha trace
    (the last C placed for a cis peptide where its step into ``s`` is a cis one), numbered on
    from ``e``, typed by ``sequence`` (``e``'s chain's) where it has a residue at that number,
    else unclassified."""
    cas = [e.ca, *plan.ca, s.ca]
    s_n = dict((a[0], a[1:]) for a in s.atoms).get("N")
    out = []
    for i, ca in enumerate(plan.ca):
        letter = sequence[e.seqid + i] if sequence and 0 <= e.seqid + i < len(sequence) else "X"
        t = INDEX.get(THREE_LETTER.get(letter, ""), UNKNOWN)
        last = i == len(plan.ca) - 1
        # angles within the table: checked
        n, c = new_residue_backbone(cas[i], ca, cas[i + 2], s_n if last else None)
        centre, rot = backbone_frames(n, ca, c)
        atoms = tuple((name, *map(float, p)) for name, p in (("N", n), ("CA", ca), ("C", c)))
        out.append(ResidueState(e.chain, e.seqid + 1 + i, "", t, (),
                                tuple(map(float, centre[0])), tuple(map(float, rot[0].ravel())),
                                1.0, atoms, edited=True))  # fmt: skip
    return out


def joined_rows(session: Session, plan: GapPlan) -> tuple[list[ResidueState], slice]:
    """The session's residues with ``plan`` carried out (new residues unclassified) and the
    slice of the joined stretch (the end's piece, the new residues, the start's piece).

    The start's piece moves (onto its crystal copy where the plan says so) to follow the new
    residues in the end's chain, numbered on from the end; residues of the end's chain after
    the joined stretch are numbered on after it where their numbers would clash."""
    res, piece = session.residues, pieces(session)
    e = res[plan.end]
    s_rows = [res[i] for i in np.flatnonzero(piece == piece[plan.start])]
    if plan.moved:
        sym = session.symmetry()
        s_rows = [r.on_copy(sym, plan.op, plan.shift) for r in s_rows]
    sequence = followed_sequences(session).get(e.chain)
    new = _new_residues(plan, e, s_rows[0], sequence)
    offset = e.seqid + len(new) + 1 - s_rows[0].seqid
    s_rows = [replace(r, chain=e.chain, seqid=r.seqid + offset) for r in s_rows]
    rows: list[ResidueState] = []
    lo = hi = 0
    for p in np.unique(piece):
        if p == piece[plan.start]:
            continue
        if p == piece[plan.end]:
            lo = len(rows)
        rows.extend(res[i] for i in np.flatnonzero(piece == p))
        if p == piece[plan.end]:
            rows.extend(new + s_rows)
            hi = len(rows)
    last = rows[hi - 1].seqid
    tail = [i for i in range(hi, len(rows)) if rows[i].chain == e.chain]
    if tail and min(rows[i].seqid for i in tail) <= last:
        bump = last + 1 - min(rows[i].seqid for i in tail)
        for i in tail:
            rows[i] = replace(rows[i], seqid=rows[i].seqid + bump)
    return rows, slice(lo, hi)


def close_gap(
    session: Session,
    brk: ChainBreak,
    dmap: DensityMap,
    classifier: Classifier | None = None,
    refine: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> GapClosure:
    """Close ``brk`` (:func:`plan_gap`): the new residues classified and posed by ``classifier``
    (left unclassified without one), of the type the chain's sequence has there where the chain
    follows one (:func:`~.seq_chains.followed_sequences`), and, with ``refine``, the
    residues from two before the first new peptide to two after the last refined against the map
    with the rest of the model held. The session itself is not changed. ``progress(stage, done,
    total)`` is told of the classification and the refinement.

    Raises
    ------
    DensityBuildError
        As :func:`plan_gap`.
    """
    from .review import classify_residues, refine_updates
    from .session import Session

    plan = plan_gap(session, brk, dmap)
    e0, s0 = session.residues[plan.end], session.residues[plan.start]
    rows, span = joined_rows(session, plan)
    piece = pieces(session)
    first_new = span.start + int(np.sum(piece == piece[plan.end]))
    new = list(range(first_new, first_new + len(plan.ca)))
    if new and classifier is not None:
        report = None if progress is None else (lambda d, n: progress("classify", d, n))
        got = classify_residues(Session(rows, None, session.meta, autosave=False), dmap,
                                classifier, new, poses=True, progress=report)  # fmt: skip
        for i, r in got.items():
            rows[i] = replace(r, edited=True)
    near = range(max(first_new - 2, span.start), min(first_new + len(new) + 2, span.stop))
    zone = [i for i in near if rows[i].type >= 0 and len(rows[i].atoms) >= 4]
    if refine and zone:
        got = refine_updates(Session(rows, None, session.meta, autosave=False),
                             {i: rows[i] for i in zone}, dmap, progress)  # fmt: skip
        for i, r in got.items():
            rows[i] = r
    s = rows[first_new + len(new)]
    where = " (moved onto its crystal copy)" if plan.moved else ""
    if new:
        names = ", ".join(rows[i].label for i in new)
        text = (f"Built {len(new)} residue{'s' * (len(new) > 1)} ({names}) between {e0.label} "
                f"and {s.label} of chain {s.chain}{where}, {plan.density:.1f} sigma along the "
                "path")  # fmt: skip
        if np.linalg.norm(s.ca - rows[new[-1]].ca) < CIS_CA:
            text += f"; the peptide into {s.label} is cis"
    else:
        text = (f"Joined {e0.label} of chain {e0.chain} to {s0.label} of chain {s0.chain}"
                f"{where}, now {s.label} of chain {s.chain}")  # fmt: skip
    built = new or [first_new - 1, first_new]
    return GapClosure(rows, built, sorted(set(built) | set(zone)), text, plan)
