"""Chain breaks of a session under review: where each chain stops or a gap opens in it, and the
nearest start of another piece of chain across the gap (crystal copies included).

A crystallographer goes through the breaks of a model as through its doubtful residues: a
start a peptide's length away (3-4 A) is a gap to close, one 5-10 A away may be a residue built
on both sides or a stray end (docs/build/fragments.md, "Stray fragment ends"), none near is a true
terminus or a loop the map does not show.

:func:`loose_starts` names the other kind of chain end: pieces that no break leads to, where
a chain begins (its N-terminus, mostly), to be grown by hand where the map goes on.

Examples
--------
>>> for b in chain_breaks(session):  # doctest: +SKIP
...     print(b.describe(session.residues))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .contacts import with_crystal_copies

if TYPE_CHECKING:
    from .session import ResidueState, Session

#: Other pieces' starts further than this (A, C-alpha to C-alpha) are not named: two residues
#: missing from a strand leave their neighbours' C-alphas up to about 10.5 A apart.
REACH = 11.0
#: Consecutive residues of a chain whose C-alphas lie further apart than this (A) are not
#: linked (a peptide holds them 3.8 A apart, a cis one 2.9 A): a gap, e.g. after deletions.
LINK_MAX = 4.5


@dataclass(frozen=True)
class ChainBreak:
    """The last residue of a chain or of a piece of one before a gap (``end``), and the first
    residue of the nearest other piece (``start``, None if none within :data:`REACH`) with the
    C-alpha ``distance``."""

    end: int
    start: int | None = None
    distance: float | None = None

    def describe(self, residues: list[ResidueState]) -> str:
        """One line for the status bar with the tool to reach for, e.g. ``"chain A stops at
        THR 168; chain B goes on 6.4 A away from THR 168 (Close gap)"``."""
        e = residues[self.end]
        text = f"chain {e.chain} stops at {e.label}"
        if self.start is None:
            return text + (f"; nothing goes on within {REACH:.0f} A (Add residue, where the map "
                           "shows more chain)")  # fmt: skip
        s = residues[self.start]
        return text + (f"; chain {s.chain} goes on {self.distance:.1f} A away from {s.label} "
                       "(Close gap)")  # fmt: skip


def pieces(session: Session) -> np.ndarray:
    """Piece index of every residue: runs of one chain whose consecutive C-alphas are at most
    :data:`LINK_MAX` apart, numbered in model order."""
    res = session.residues
    if not res:
        return np.zeros(0, dtype=int)
    ca = np.array([r.ca for r in res], dtype=float)
    chain = np.array([r.chain for r in res], dtype=object)
    linked = (chain[1:] == chain[:-1]) & (np.linalg.norm(ca[1:] - ca[:-1], axis=1) <= LINK_MAX)
    return np.r_[0, np.cumsum(~linked)].astype(int)


def chain_breaks(session: Session) -> list[ChainBreak]:
    """Every chain end and gap of ``session`` in model order, with the nearest start of
    another piece of chain; at a gap inside a chain (numbered on after it), the chain's own next
    piece where it is within :data:`REACH`, nearest or not."""
    residues = session.residues
    if not residues:
        return []
    ca = np.array([r.ca for r in residues], dtype=float)
    piece = pieces(session)
    ends = np.flatnonzero(np.r_[piece[1:] != piece[:-1], True])
    starts = np.flatnonzero(np.r_[True, piece[1:] != piece[:-1]])
    out = []
    for e in ends:
        d_next = float(np.linalg.norm(ca[e + 1] - ca[e])) if e + 1 < len(ca) else np.inf
        if (e + 1 < len(ca) and residues[e + 1].chain == residues[e].chain
                and residues[e + 1].seqid > residues[e].seqid and d_next <= REACH):  # fmt: skip
            out.append(ChainBreak(int(e), int(e + 1), round(d_next, 2)))  # its own chain goes on
            continue
        pos, src, _ = with_crystal_copies(session, ca[starts], ca[e][None], REACH)
        d = np.linalg.norm(pos - ca[e], axis=1)
        ok = (piece[starts[src]] != piece[e]) & (d <= REACH)
        if not ok.any():
            out.append(ChainBreak(int(e)))
            continue
        k = int(np.flatnonzero(ok)[np.argmin(d[ok])])
        out.append(ChainBreak(int(e), int(starts[src[k]]), round(float(d[k]), 2)))
    return out


def loose_starts(session: Session, breaks: list[ChainBreak] | None = None) -> list[int]:
    """First residues of the pieces of chain that no chain break of ``session`` leads to
    (``breaks``: :func:`chain_breaks`, if already found): no end lies within :data:`REACH`
    before them, so that a chain begins there."""
    if not session.residues:
        return []
    breaks = chain_breaks(session) if breaks is None else breaks
    piece = pieces(session)
    starts = np.flatnonzero(np.r_[True, piece[1:] != piece[:-1]])
    named = {b.start for b in breaks}
    return [int(k) for k in starts if int(k) not in named]


def describe_start(residues: list[ResidueState], index: int) -> str:
    """One line for the status bar at a loose start (:func:`loose_starts`)."""
    r = residues[index]
    return (
        f"chain {r.chain} starts at {r.label}; no chain ends within {REACH:.0f} A before it "
        "(Add residue, where the map shows more chain)"
    )
