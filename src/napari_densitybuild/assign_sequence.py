"""A sequence given after the build: the model's residues typed and numbered by it.

A build without a sequence names each residue by the classifier alone and numbers each chain
from 1; its chains are the trace's fragments. Given the sequence later (Coot's "Assign
sequence", or a FASTA file found after the build), :func:`assign_sequence` aligns every piece
of chain (:func:`~.breaks.pieces`) to it through the residues' class probabilities, as the build
aligns its fragments (:func:`~.sequence.assign_fragment`: a piece of at least 4 residues whose
alignment beats shuffled sequences by 4 standard deviations), then

* types every aligned residue as the sequence has it (X keeps the classifier's type) and gives
  the residues whose type changed the new type's side chain on the backbone they have, posed
  in their boxes and refined (rotamers refitted), every backbone and other residue held; then
  refines them with their chain neighbours, every atom free but the C-alphas (a backbone a
  wrong type shaped settles for the new one; the C-alphas stay); then, as a build with
  the sequence does, searches the frames of those whose new type the classifier doubts
  (:mod:`~.frame_search`: a backbone built for the wrong type turned about its C-alpha to where
  the net reads the new one), reposing and refining them with their neighbours, C-alphas held;
* in a build's model, numbers the aligned residues by their sequence positions
  (:func:`~.assemble.fragment_numbers`) and gathers the pieces of one molecule into one chain in
  the order of their numbers, as a build with the sequence does (:mod:`~.seq_chains`): a piece
  goes on a chain whose last residue is numbered before its first and, unless they were one
  chain already, at most :data:`~.seq_chains.MAX_MISSING` residues before it and within reach of
  the residues missing between (:func:`~.seq_chains.reach_across`; crystal copies included: the
  piece then moves onto that copy, a symmetry-equivalent place). A piece that does not align
  stays in its chain where its numbers still fit between its neighbours', and otherwise becomes
  a chain of its own (numbers kept). A chain keeps its name where it holds the first part of a
  chain of that name; new chains take names no chain or kept atom uses.
* in a model opened from a file, keeps chains and numbers as the file has them (its B-factors,
  waters and ligands are filed by them) and changes types only; so does a build's model where
  the sequence's numbers would fall on a kept residue (a ligand, a water) of the same chain.

Each chain that follows one sequence gets that sequence as its own (``chain_sequences``:
residues built later by Close gap and Add residue take their types from it while the chain
follows it, :func:`~.seq_chains.followed_sequences`). Where a model file numbers a chain with an
offset from the sequence, the sequence is shifted to match.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .assemble import chain_name, fragment_numbers
from .breaks import pieces
from .residues import AMINO_ACIDS, BACKBONE, HEAVY_ATOMS, THREE_LETTER
from .seq_chains import molecules, reach_across
from .sequence import assign_fragment

if TYPE_CHECKING:
    from .build import StageProgress
    from .classify import Classifier
    from .maps import DensityMap
    from .residue_state import ResidueState
    from .session import Session
    from .symmetry import Symmetry

#: Weight of the type in use in a residue's profile where it is not the classifier's first
#: choice (a type corrected by hand, or a model's own): the rest is the classifier's.
TYPE_WEIGHT = 0.5


@dataclass(eq=False)  # compared by identity
class _Part:
    """One piece of chain: its residues, original chain, alignment and new numbers."""

    residues: np.ndarray
    chain: str
    molecule: int = -1  # of the aligned sequence (seq_chains.molecules); -1 not aligned
    sequence: int = -1
    numbers: list[tuple[int, str]] = field(default_factory=list)
    move: tuple[int, np.ndarray] | None = None  # onto a crystal copy: operation, lattice shift

    @property
    def first(self) -> int:
        return min(n for n, _ in self.numbers)

    @property
    def last(self) -> int:
        return max(n for n, _ in self.numbers)


@dataclass(frozen=True)
class SequenceEdit:
    """The model with the sequence applied.

    Attributes
    ----------
    rows
        The residues, in their new chain order.
    retyped
        Indices (into ``rows``) of the residues whose type changed.
    chain_sequences
        Chain name -> the sequence its numbers follow.
    text
        What was done, for the status line.
    order
        Each row's index in the model it was made from.
    """

    rows: list[ResidueState]
    retyped: list[int]
    chain_sequences: dict[str, str]
    text: str
    order: list[int] = field(default_factory=list)


def profile(rows: list[ResidueState]) -> np.ndarray:
    """(N, 20) class probabilities to align: the classifier's, the type in use weighted in by
    :data:`TYPE_WEIGHT` where it is not the classifier's first choice; uniform for a residue
    with neither."""
    out = np.full((len(rows), len(AMINO_ACIDS)), 1.0 / len(AMINO_ACIDS))
    for i, r in enumerate(rows):
        if r.probs:
            out[i] = np.asarray(r.probs, dtype=float)
        if r.type >= 0 and int(out[i].argmax()) != r.type:
            out[i] *= 1.0 - TYPE_WEIGHT
            out[i, r.type] += TYPE_WEIGHT
    return out


def _aligned_parts(session: Session, sequences: list[str]) -> tuple[list[_Part], np.ndarray]:
    """The pieces of ``session`` with their alignments, and (N,) sequence types (-1: none)."""
    rows = session.residues
    piece, prob, mol = pieces(session), profile(rows), molecules(sequences)
    types = np.full(len(rows), -1)
    parts = []
    for p in range(int(piece.max()) + 1 if len(piece) else 0):
        idx = np.flatnonzero(piece == p)
        part = _Part(idx, rows[idx[0]].chain)
        a = assign_fragment(prob[idx], sequences)
        if a is not None:
            part.molecule, part.sequence = int(mol[a.sequence]), a.sequence
            seqid, icode = fragment_numbers(a.positions, len(idx))
            part.numbers = list(zip(seqid, icode))
            for i, pos in zip(idx, a.positions):
                three = THREE_LETTER.get(sequences[a.sequence][pos]) if pos >= 0 else None
                types[i] = AMINO_ACIDS.index(three) if three else -1
        parts.append(part)
    return parts, types


def _gathered(parts: list[_Part], rows: list[ResidueState], sym: Symmetry) -> list[list[_Part]]:
    """The aligned parts in chains (module docstring), each chain in number order; a part that
    goes on a chain end across a crystal contact gets the ``move`` onto that copy."""
    ends = [np.array([rows[int(p.residues[0])].ca, rows[int(p.residues[-1])].ca]) for p in parts]
    chains: list[list[int]] = []  # part indices
    for m in sorted({p.molecule for p in parts if p.molecule >= 0}):
        open_: list[list[int]] = []
        for k in sorted((k for k, p in enumerate(parts) if p.molecule == m),
                        key=lambda k: (parts[k].first, k)):  # fmt: skip
            best = None
            for c in open_:
                end = parts[c[-1]]
                missing = parts[k].first - end.last - 1
                if missing < 0:
                    continue
                if end.chain == parts[k].chain:  # one chain already: it stays one
                    key, move = (0, missing, 0.0), None
                else:
                    found = reach_across(ends[k][0], ends[c[-1]][1], missing, sym)
                    if found is None:
                        continue
                    key, move = (1, missing, found[0]), found[1]
                if best is None or key < best[0]:
                    best = (key, c, move)
            if best is None:
                open_.append([k])
                continue
            best[1].append(k)
            if best[2] is not None:
                parts[k].move = best[2]
                ends[k] = sym.apply(ends[k], *best[2])
        chains += open_
    return [[parts[k] for k in c] for c in chains]


def _placed_unaligned(chains: list[list[_Part]], parts: list[_Part]) -> list[list[_Part]]:
    """``chains`` with each unaligned part put back after the part before it in its old chain
    (aligned, or unaligned and placed already) where its numbers fit, else as a chain of its
    own."""
    where = {id(p): c for c in chains for p in c}
    for k, p in enumerate(parts):
        if p.molecule >= 0:
            continue
        prev = next((q for q in reversed(parts[:k]) if q.chain == p.chain and id(q) in where),
                    None)  # fmt: skip
        if prev is not None:
            home = where[id(prev)]
            at = home.index(prev) + 1
            after = home[at] if at < len(home) else None
            if prev.last < p.first and (after is None or p.last < after.first):
                home.insert(at, p)
                where[id(p)] = home
                continue
        chains.append([p])
        where[id(p)] = chains[-1]
    return chains


def _named(chains: list[list[_Part]], reserved: set[str]) -> list[str]:
    """A name per chain: its first part's old chain name where no earlier chain took it, else
    the first name not in use."""
    names: list[str | None] = [None] * len(chains)
    taken = set()
    for c, parts in enumerate(chains):
        old = min(parts, key=lambda p: int(p.residues[0])).chain
        if old not in taken:
            names[c] = old
            taken.add(old)
    k = 0
    for c in range(len(chains)):
        while names[c] is None:
            name = chain_name(k)
            k += 1
            if name not in taken and name not in reserved:
                names[c] = name
                taken.add(name)
    return names  # type: ignore[return-value]


def _renumbered(
    parts: list[_Part], rows: list[ResidueState], reserved: set[str], sym: Symmetry
) -> tuple[list[ResidueState], list[int], dict[str, int]]:
    """The rows regrouped and renumbered; each new row's old index; chain name -> sequence
    index for chains of one sequence."""
    for p in parts:
        if p.molecule < 0:  # numbers as they are
            p.numbers = [(rows[i].seqid, rows[i].icode) for i in p.residues]
    chains = _placed_unaligned(_gathered(parts, rows, sym), parts)
    chains.sort(key=lambda c: min(int(p.residues[0]) for p in c))
    out, old, follows = [], [], {}
    for name, c in zip(_named(chains, reserved), chains):
        seqs = {p.sequence for p in c if p.molecule >= 0}
        if len(seqs) == 1:
            follows[name] = seqs.pop()
        for p in c:
            for i, (n, code) in zip(p.residues, p.numbers):
                r = rows[int(i)] if p.move is None else rows[int(i)].on_copy(sym, *p.move)
                out.append(replace(r, chain=name, seqid=int(n), icode=code))
                old.append(int(i))
    return out, old, follows


def _offset_sequences(parts: list[_Part], rows: list[ResidueState], sequences: list[str]):
    """Chain name -> its sequence shifted to the chain's own numbers, for chains (numbers
    kept) whose aligned residues all sit at one offset from one sequence's positions."""
    out = {}
    for name in dict.fromkeys(r.chain for r in rows):
        mine = [p for p in parts if p.chain == name and p.molecule >= 0]
        if not mine or len({p.sequence for p in mine}) > 1:
            continue
        shift = {rows[int(i)].seqid - n for p in mine for i, (n, code) in
                 zip(p.residues, p.numbers) if not code and not rows[int(i)].icode}  # fmt: skip
        if len(shift) == 1:
            d, seq = shift.pop(), sequences[mine[0].sequence]
            out[name] = "X" * d + seq if d >= 0 else seq[-d:]
    return out


def _updated(rows: list[ResidueState], updates: dict[int, ResidueState]) -> list[ResidueState]:
    return [updates.get(i, r) for i, r in enumerate(rows)]


def plan_sequence(session: Session, sequences: list[str], renumber: bool = True) -> SequenceEdit:
    """The sequence applied to ``session``'s residues, atoms not yet posed for the new types
    (module docstring). ``renumber``: regroup and renumber the chains (a build's model), else
    keep them (a model from a file)."""
    from .kept_parts import KEPT
    from .waters import FOUND_CHAIN

    rows = session.residues
    parts, types = _aligned_parts(session, sequences)
    kept = {(str(r[3]), int(r[4]), str(r[5]).strip()) for r in session.meta.get(KEPT) or []}
    clash = []
    if renumber:
        reserved = {c for c, _, _ in kept} | (
            {session.meta[FOUND_CHAIN]} if session.meta.get(FOUND_CHAIN) else set()
        )
        new, old, follows = _renumbered(parts, rows, reserved, session.symmetry())
        named = {c: sequences[s] for c, s in follows.items()}
        clash = [f"{r.chain} {r.seqid}{r.icode}" for r in new
                 if (r.chain, r.seqid, r.icode) in kept]  # fmt: skip
        renumber = not clash  # a kept residue (a ligand, a water) holds one of the new numbers
    if not renumber:
        new, old = list(rows), list(range(len(rows)))
        named = _offset_sequences(parts, rows, sequences)
    retyped = []
    for k, i in enumerate(old):
        if types[i] >= 0 and types[i] != new[k].type:
            new[k] = replace(new[k], type=int(types[i]))
            retyped.append(k)
    aligned = [p for p in parts if p.molecule >= 0]
    text = (f"Sequence applied: {len(aligned)} of {len(parts)} pieces of chain aligned "
            f"({sum(len(p.residues) for p in aligned)} of {len(rows)} residues), "
            f"{len(retyped)} types changed")  # fmt: skip
    if renumber and aligned:
        before = len(dict.fromkeys(r.chain for r in rows))
        after = len(dict.fromkeys(r.chain for r in new))
        text += f"; numbered by the sequence, {before} chains -> {after}"
    elif clash:
        text += (f"; chains and numbers kept: the sequence's numbers would clash with the kept "
                 f"residue{'s' * (len(clash) > 1)} {', '.join(clash[:3])}")  # fmt: skip
    elif aligned:
        text += "; chains and numbers kept as the model file has them"
    left = len(parts) - len(aligned)
    if left:
        text += (f"; {left} piece{' too' if left == 1 else 's too'} short or unsure to place "
                 f"keep{'s' * (left == 1)} the classifier's types")  # fmt: skip
    return SequenceEdit(new, retyped, named, text, old)


def assign_sequence(
    session: Session,
    sequences: list[str],
    dmap: DensityMap,
    classifier: Classifier,
    refine: bool = True,
    renumber: bool = True,
    progress: StageProgress | None = None,
    frame_search: bool = True,
    neighbours: bool = True,
) -> SequenceEdit:
    """``session``'s residues typed (and with ``renumber`` numbered and gathered into chains)
    by ``sequences`` (:func:`plan_sequence`), the residues whose type changed posed for it in
    their boxes and, with ``refine``, their side chains refined against ``dmap`` with the rest
    held, then (with ``neighbours``) they and their chain neighbours refined with the C-alphas
    held (:func:`~.review.refine_around`), then (with ``frame_search``) those whose new type
    the classifier doubts framed again as a build with the sequence frames them
    (:func:`_frames_searched`). Reads only ``session``: it runs off the GUI thread."""
    from .review import posed_on_backbone, refine_around
    from .session import Session

    if not session.residues:
        from .errors import DensityBuildError

        raise DensityBuildError("the model has no residues to apply a sequence to")
    plan = plan_sequence(session, sequences, renumber)
    rows = list(plan.rows)
    if plan.retyped and classifier.has_poses:  # the new side chain on the backbone there is
        if refine and progress is not None:
            progress("refine", 0, 1)
        rows = posed_on_backbone(rows, plan.retyped, dmap, classifier, refine)
        if refine:
            if neighbours:
                rows = _updated(rows, refine_around(Session(rows, autosave=False), plan.retyped,
                                                    dmap))  # fmt: skip
            if frame_search:
                rows = _frames_searched(rows, plan.retyped, dmap, classifier)
    else:  # no pose head: the backbone atoms the new type has (as Session.set_type keeps)
        for i in plan.retyped:
            keep = set(HEAVY_ATOMS[rows[i].name]) & set(BACKBONE)
            rows[i] = replace(rows[i], atoms=tuple(a for a in rows[i].atoms if a[0] in keep))
    posed = plan.retyped and classifier.has_poses
    text = plan.text + ((" (posed and refined)" if refine else " (posed)") if posed else "")
    return replace(plan, rows=rows, text=text)


def _frames_searched(
    rows: list[ResidueState], retyped: list[int], dmap: DensityMap, classifier: Classifier
) -> list[ResidueState]:
    """``rows`` after the build's frame search (:func:`~.frame_search.refit_doubted`) of the
    ``retyped`` residues whose new type the classifier doubts: where turning N and C about the
    C-alpha finds a frame in which the net reads the new type clearly better, the residue is
    posed there and refined with its chain neighbours, their C-alphas held (its own where its
    pose puts it; the residues moved are boxed again)."""
    from .frame_search import refit_doubted
    from .session import Session, atoms_at

    s = Session(rows, autosave=False)
    model, _ = s.atom_model()
    types = np.array([max(r.type, 0) for r in rows])
    probs = profile([replace(r, type=-1) for r in rows])  # the classifier's alone
    mask = np.zeros(len(rows), dtype=bool)
    mask[retyped] = True
    before = model.xyz.copy()
    if not refit_doubted(model, dmap, classifier, types, probs, mask, pieces(s), hold_ca=True):
        return rows
    moved = set(np.unique(model.residue[(model.xyz != before).any(axis=1)]).tolist())
    return [replace(r, atoms=atoms_at(model, model.xyz, i)).reframed() if i in moved else r
            for i, r in enumerate(rows)]  # fmt: skip
