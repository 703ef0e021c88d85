"""Chains of molecules, not of fragments: with a sequence, the fragments aligned to one copy of
it become one chain.

The trace breaks a protein chain wherever the map or the detector loses it, and the build names
a chain per fragment: a 110-residue domain came out as chains A (16-110), B (8-15) and C (1-6)
though the sequence numbers them as one. A crystallographer expects a chain per molecule, with
gaps in its numbering where residues are missing. :func:`sequence_chains` takes the fragments
aligned to each sequence in the order of their numbers and appends each to the chain whose last
residue is numbered before its first, at most :data:`MAX_MISSING` residues before, and whose
last C-alpha can reach its first over the residues missing between (:data:`STEP` A per peptide,
crystal copies included: the fragment then moves onto that copy, a symmetry-equivalent place),
the chain that leaves the fewest residues missing, then the nearest. A fragment that fits no
chain starts one (a second copy of the molecule, say). Unaligned fragments stay chains of their
own. Atoms do not move other than onto crystal copies, and no peptide is added: fragments stay
fragments, now in one chain.

In review, :func:`followed_sequences` gives the chains whose residues still follow the
sequence a build or "Apply sequence" recorded for them (residues built later take its types).

Examples
--------
>>> result = sequence_chains(result, Symmetry.of_map(dmap))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .assemble import chain_name
from .build_result import Movable
from .residues import ONE_LETTER

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .session import Session
    from .symmetry import Symmetry

#: Longest C-alpha to C-alpha step along a chain (A): a trans peptide spans 3.8.
STEP = 3.85
#: Most residues missing between two fragments gathered into one chain. Across longer gaps the
#: reach of the missing residues says nothing (a second copy of the molecule lies within it),
#: so those fragments stay chains of their own.
MAX_MISSING = 10


def _fragments(result: BuildResult) -> list[np.ndarray]:
    tr = result.trace
    return [np.flatnonzero(tr.fragment == f) for f in range(tr.fragment_count)]


def molecules(sequences: list[str]) -> np.ndarray:
    """Per sequence, the index of the first one that is the same molecule: the same letters
    from position 1 on, one perhaps longer (a FASTA record per chain of a model, one with a
    residue or two more at its end), so that their numbers agree."""
    out = np.arange(len(sequences))
    for k, seq in enumerate(sequences):
        same = [j for j in range(k) if seq and sequences[j]
                and (seq.startswith(sequences[j]) or sequences[j].startswith(seq))]  # fmt: skip
        out[k] = out[same[0]] if same else k
    return out


def chain_groups(
    result: BuildResult, sym: Symmetry, sequences: list[str] | None = None
) -> tuple[list[list[int]], dict[int, tuple[int, np.ndarray]]]:
    """Fragments (indices) per chain, chains in the order of their lowest fragment (the longest
    first), each in sequence order; and the fragments to move onto a crystal copy: {fragment:
    (operation, lattice shift)}. Fragments aligned to ``sequences`` of one molecule
    (:func:`molecules`) may share a chain."""
    frags = _fragments(result)
    record = result.record if result.record is not None else np.full(len(result), -1)
    if sequences:
        record = np.where(record >= 0, molecules(sequences)[np.maximum(record, 0)], -1)
    ca = result.trace.ca.copy()
    rec = [int(record[idx].max()) if len(idx) else -1 for idx in frags]
    # the numbers a fragment holds (unaligned residues before its first aligned one count down
    # from it, others are insertions: assemble.number_residues)
    first = [int(result.seqid[idx].min()) if len(idx) else 0 for idx in frags]
    last = [int(result.seqid[idx].max()) if len(idx) else 0 for idx in frags]
    chains: list[list[int]] = []
    moves: dict[int, tuple[int, np.ndarray]] = {}
    for k in sorted({r for r in rec if r >= 0}):
        open_chains: list[list[int]] = []
        for f in sorted((f for f in range(len(frags)) if rec[f] == k), key=lambda f: first[f]):
            best = None
            start = ca[frags[f][0]]
            for c in open_chains:
                missing = first[f] - last[c[-1]] - 1
                found = reach_across(start, ca[frags[c[-1]][-1]], missing, sym)
                if found is not None and (best is None or (missing, found[0]) < best[0]):
                    best = ((missing, found[0]), c, found[1])
            if best is None:
                open_chains.append([f])
                continue
            _, c, move = best
            if move is not None:  # on a crystal copy: the fragment moves
                moves[f] = move
                ca[frags[f]] = sym.apply(ca[frags[f]], *move)
            c.append(f)
        chains += open_chains
    chains += [[f] for f in range(len(frags)) if rec[f] < 0]
    chains.sort(key=min)
    return chains, moves


def reach_across(
    start: np.ndarray, end: np.ndarray, missing: int, sym: Symmetry
) -> tuple[float, tuple[int, np.ndarray] | None] | None:
    """The distance from a chain's last C-alpha ``end`` to the nearest crystal image of a
    piece's first C-alpha ``start``, and the move onto that image (operation, lattice shift;
    None where it is ``start`` itself), where ``missing`` residues (0 to :data:`MAX_MISSING`)
    can span it at :data:`STEP` A each; else None."""
    if not 0 <= missing <= MAX_MISSING:
        return None
    reach = STEP * (missing + 1)
    img = sym.images(start[None], box=(end - reach, end + reach))
    if not len(img["xyz"]):
        return None
    d = np.linalg.norm(img["xyz"] - end, axis=1)
    j = int(np.argmin(d))
    if d[j] > reach:
        return None
    moved = np.linalg.norm(img["xyz"][j] - start) > 1e-3
    return float(d[j]), ((int(img["op"][j]), img["shift"][j]) if moved else None)


def sequence_chains(
    result: BuildResult, sym: Symmetry, sequences: list[str] | None = None
) -> BuildResult:
    """``result`` with the fragments aligned to each of ``sequences`` (or to copies of one
    molecule among them) gathered into chains (module docstring); the numbering is kept.
    ``report["chains"]`` counts the chains and ``report["chain_sequences"]`` names the
    sequence each chain follows (the longest of its molecule's records; for review, where a
    residue built into a gap takes its type from it); unchanged where nothing was aligned."""
    chains, moves = chain_groups(result, sym, sequences)
    result.report["chains"] = len(chains)
    if len(chains) != result.trace.fragment_count:
        result = _gathered(result, sym, chains, moves)
    if sequences and result.record is not None:
        named = {}
        for ch in dict.fromkeys(result.chain):
            rec = {int(r) for r in result.record[result.chain == ch] if r >= 0}
            if rec:
                named[str(ch)] = max((sequences[r] for r in rec), key=len)
        result.report["chain_sequences"] = named
    return result


def _gathered(
    result: BuildResult,
    sym: Symmetry,
    chains: list[list[int]],
    moves: dict[int, tuple[int, np.ndarray]],
) -> BuildResult:
    """``result`` rearranged into ``chains`` (fragment indices), after ``moves``."""
    frags = _fragments(result)
    movable = Movable(result, sym)
    for f, (op, shift) in moves.items():
        movable.move(frags[f], op, shift)
    order = np.concatenate([frags[f] for c in chains for f in c])
    fragment = np.repeat(np.arange(len(frags)), [len(frags[f]) for c in chains for f in c])
    chain = np.repeat([chain_name(i) for i in range(len(chains))],
                      [sum(len(frags[f]) for f in c) for c in chains]).astype(object)  # fmt: skip
    return result.rearranged(order, fragment, chain, result.seqid[order], result.icode[order],
                             movable.arrays)  # fmt: skip


#: Share of a chain's residues that must have their sequence's type at their numbers for the
#: chain to still follow its sequence (after Undo, renaming or renumbering it does not).
FOLLOWS = 0.75


def followed_sequences(session: Session) -> dict[str, str]:
    """``meta["chain_sequences"]`` (chain -> sequence, from a build with a sequence or
    :func:`assign_sequence`) for the chains whose residues still follow it: at least
    :data:`FOLLOWS` of their typed residues numbered inside it, insertions aside, of the type
    it has at their numbers (X matches any)."""
    named = session.meta.get("chain_sequences") or {}
    out = {}
    for chain, seq in named.items():
        got = [
            seq[r.seqid - 1] in ("X", ONE_LETTER[r.name])
            for r in session.residues
            if r.chain == chain and r.type >= 0 and not r.icode and 1 <= r.seqid <= len(seq)
        ]
        if got and sum(got) >= FOLLOWS * len(got):
            out[chain] = seq
    return out
