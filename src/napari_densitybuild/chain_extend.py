"""A chain made one residue longer at an end, by hand in review (Coot's "Add Terminal Residue").

A build leaves out the residues at a chain's ends that the detector missed or that its rules
dropped, and a piece of chain may stop where the map still shows it going on.
:func:`extend_chain` adds one residue after the last residue of a piece of chain (or before the
first): its C-alpha one peptide's length (:data:`~.gap_paths.STEP`) from the end's, where the
map along the step is highest among the places that keep the virtual C-alpha angle at the end
in the trace's range and keep clear of the other atoms (crystal copies included); refused where
that best step runs through less than :data:`~.gap_paths.MIN_DENSITY` sigma (the chain does not
go on clearly). The C-alpha beyond it, found the same way, frames its N and C
(:func:`~.trace.new_residue_backbone`); the new residue is typed by the chain's sequence where
it follows one (:func:`~.seq_chains.followed_sequences`), else by the classifier, posed,
and refined with its neighbours, the rest held. Nothing is changed in the session: the caller
applies the rows in one undoable step, and pressing again on the new residue goes on.

Examples
--------
>>> added = extend_chain(session, index, dmap, classifier)  # doctest: +SKIP
>>> session.replace(added.rows)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .boxes import backbone_frames
from .breaks import pieces
from .errors import DensityBuildError
from .gap_paths import (
    ANGLE_MAX,
    ANGLE_MIN,
    CLASH,
    MIN_DENSITY,
    STEP,
    _angles,
    _sphere,
    atoms_to_clear,
    line_density,
)
from .residues import INDEX, THREE_LETTER
from .seq_chains import followed_sequences
from .session import UNKNOWN, ResidueState
from .trace import new_residue_backbone

if TYPE_CHECKING:
    from collections.abc import Callable

    from .classify import Classifier
    from .maps import DensityMap
    from .session import Session

#: Directions tried for the new C-alpha and for the one beyond it (Fibonacci sphere).
FIRST_POINTS, BEYOND_POINTS = 600, 300
#: Rounds of classify, pose and refine for the new residue, each after the first on the box
#: cut from its refined backbone (a build's passes do the same).
PASSES = 2


@dataclass(frozen=True)
class Extension:
    """A chain made longer: the session's rows with the new residue (``rows``, not applied), its
    index in them (``built``), every residue built or refined (``changed``), whether it was
    added at the C-terminal end, the mean map along the step (sigma), and a line for the
    status bar."""

    rows: list[ResidueState]
    built: int
    changed: list[int]
    c_terminal: bool
    density: float
    text: str


def next_calpha(
    end: np.ndarray, before: np.ndarray | None, dmap: DensityMap, others: np.ndarray,
    points: int = FIRST_POINTS,
) -> tuple[np.ndarray, float] | None:  # fmt: skip
    """The C-alpha one step on from ``end`` (coming from ``before``, where there is one) along
    which the map is highest, and that mean (sigma; :func:`~.gap_paths.line_density`), among the
    places inside the map whose virtual angle at ``end`` lies in [ANGLE_MIN, ANGLE_MAX] and that
    keep :data:`~.gap_paths.CLASH` A from ``others`` (M, 3); None where no place does."""
    from scipy.spatial import cKDTree

    end = np.asarray(end, dtype=float)
    cand = end + STEP * _sphere(points)
    ok = dmap.depth_inside(cand) >= 0  # a cryo-EM box's values do not go on past its faces
    if before is not None:
        ang = _angles(np.broadcast_to(before, cand.shape), np.broadcast_to(end, cand.shape), cand)
        ok &= (ang >= ANGLE_MIN) & (ang <= ANGLE_MAX)
    if len(others):
        ok &= cKDTree(others).query(cand)[0] >= CLASH
    if not ok.any():
        return None
    cand = cand[ok]
    score = line_density(np.stack([np.broadcast_to(end, cand.shape), cand], axis=1), dmap)
    k = int(np.argmax(score))
    return cand[k], float(score[k])


def extend_chain(
    session: Session,
    index: int,
    dmap: DensityMap,
    classifier: Classifier | None = None,
    refine: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> Extension:
    """One residue added at the end of the piece of chain that residue ``index`` ends (after
    it) or starts (before it); see the module. ``progress(stage, done, total)`` is told of the
    classification and the refinement.

    Raises
    ------
    DensityBuildError
        The residue is inside a piece of chain or lacks a C-alpha; the chain already holds a
        residue of the new number (another piece: Close gap joins them), or has a sequence that
        the new number falls outside; no place keeps to the rules, or the best runs through
        under :data:`~.gap_paths.MIN_DENSITY` sigma.
    """
    from .review import classify_residues, refine_updates
    from .session import Session

    res = session.residues
    if not 0 <= index < len(res):
        raise DensityBuildError("select a residue first")
    if not any(a[0] == "CA" for a in res[index].atoms):  # else a C-alpha guessed from its box
        raise DensityBuildError(f"{res[index].label} of chain {res[index].chain} lacks a "
                                "C-alpha: predict poses first")  # fmt: skip
    piece = pieces(session)
    first = index == 0 or piece[index - 1] != piece[index]
    last = index == len(res) - 1 or piece[index + 1] != piece[index]
    e = res[index]
    if not (first or last):
        raise DensityBuildError(f"{e.label} of chain {e.chain} is inside a piece of chain: go to "
                                "a chain end first (Next chain break)")  # fmt: skip
    c_term = last  # a one-residue piece grows at its C-terminal end
    step = 1 if c_term else -1
    seqid = e.seqid + step
    if any(r.chain == e.chain and r.seqid == seqid and not r.icode for r in res):
        raise DensityBuildError(f"chain {e.chain} already has a residue numbered {seqid} (another "
                                "piece of it): Close gap builds the residues between")  # fmt: skip
    sequence = followed_sequences(session).get(e.chain)
    if sequence and not 1 <= seqid <= len(sequence):
        raise DensityBuildError(f"cannot add residue {seqid} to chain {e.chain}: its sequence "
                                f"has residues 1 to {len(sequence)} only")  # fmt: skip
    inner = index - step  # the end's neighbour in its piece, if any
    before = res[inner].ca if 0 <= inner < len(res) and piece[inner] == piece[index] else None
    reach = 2 * STEP + 6.0  # the new C-alpha and the one beyond it
    others = atoms_to_clear(session, {index}, e.ca - reach, e.ca + reach)
    found = next_calpha(e.ca, before, dmap, others)
    where = "after" if c_term else "before"
    if found is None or found[1] < MIN_DENSITY:
        what = ("no place keeps the chain's geometry clear of other atoms" if found is None
                else f"the best step runs through {found[1]:.1f} sigma")  # fmt: skip
        raise DensityBuildError(f"cannot add a residue {where} {e.label} of chain {e.chain}: "
                                f"{what} (at least {MIN_DENSITY:g} needed)")  # fmt: skip
    ca, density = found
    beyond = next_calpha(ca, e.ca, dmap, others, BEYOND_POINTS)
    far = beyond[0] if beyond is not None else _bent_step(e.ca, ca)  # frames the new residue
    e_n = dict((a[0], np.array(a[1:])) for a in e.atoms).get("N")
    backbone = (new_residue_backbone(e.ca, ca, far) if c_term
                else new_residue_backbone(far, ca, e.ca, e_n))  # fmt: skip
    if backbone is None:
        raise DensityBuildError(f"cannot add a residue {where} {e.label}: no backbone fits the "
                                "C-alphas found")  # fmt: skip
    n, c = backbone
    centre, rot = backbone_frames(n, ca, c)
    letter = sequence[seqid - 1] if sequence else "X"
    new = ResidueState(e.chain, seqid, "", INDEX.get(THREE_LETTER.get(letter, ""), UNKNOWN), (),
                       tuple(map(float, centre[0])), tuple(map(float, rot[0].ravel())), 1.0,
                       tuple((k, *map(float, p)) for k, p in (("N", n), ("CA", ca), ("C", c))),
                       edited=True)  # fmt: skip
    at = index + 1 if c_term else index
    rows = [*res[:at], new, *res[at:]]
    piece = pieces(Session(rows, None, session.meta, autosave=False))
    near = [i for i in range(max(at - 2, 0), min(at + 3, len(rows))) if piece[i] == piece[at]]
    typed = new.type >= 0  # by the sequence
    zone: list[int] = []
    for _ in range(PASSES if classifier is not None and refine else 1):
        if classifier is not None:  # typed by the sequence: posed as that type
            report = None if progress is None else (lambda d, t: progress("classify", d, t))
            posed = classify_residues(Session(rows, None, session.meta, autosave=False), dmap,
                                      classifier, [at], poses=True, progress=report)  # fmt: skip
            rows[at] = replace(posed[at], edited=typed)
        zone = [i for i in near if rows[i].type >= 0 and len(rows[i].atoms) >= 4]
        if refine and zone:
            snapshot = Session(rows, None, session.meta, autosave=False)
            updates = {i: rows[i] for i in zone}
            for i, r in refine_updates(snapshot, updates, dmap, progress).items():
                rows[i] = r
            rows[at] = rows[at].reframed()  # the next pass's box: from the refined backbone
    rows[at] = replace(rows[at], edited=True)
    text = (f"Added {rows[at].label} {where} {e.label} of chain {e.chain}, {density:.1f} sigma "
            "along the step (press again to go on; Undo takes it back)")  # fmt: skip
    return Extension(rows, at, sorted(set(zone) | {at}), c_term, density, text)


def _bent_step(prev: np.ndarray, ca: np.ndarray) -> np.ndarray:
    """A C-alpha one step on from ``ca`` at a virtual angle of 120 degrees to ``prev``."""
    u = (ca - prev) / np.linalg.norm(ca - prev)
    side = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
    side /= np.linalg.norm(side)
    return ca + STEP * (0.5 * u + np.sqrt(0.75) * side)
