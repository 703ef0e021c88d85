"""What a build holds, residue by residue, and the steps that cut it down or count it.

:class:`BuildResult` is what :func:`.build.build` returns and what a review session is made
from; :func:`atoms_for_types` and :func:`backbone_of` go between per-residue poses and an
:class:`~.refine.AtomModel`; :class:`Movable` moves residues onto crystal copies before
:meth:`BuildResult.rearranged` puts them in a new order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gemmi
import numpy as np

from .assemble import chain_name, model_structure
from .maps import DensityMap
from .refine import AtomModel
from .residues import AMINO_ACIDS, HEAVY_ATOMS
from .trace import Trace

if TYPE_CHECKING:
    from .symmetry import Symmetry


@dataclass(eq=False)
class BuildResult:
    """Everything the pipeline found, residue by residue (fragment order, N to C).

    Attributes
    ----------
    trace
        Placement (C-alphas, fragments, frames).
    probs
        (N, 20) classifier probabilities.
    poses
        (N, 20, 14, 3) world coordinates of every type's atoms in the last pass, before
        refinement (the atom head's where the net has one).
    types
        (N,) class index used (the classifier's, or the sequence's where aligned).
    chain, seqid, icode
        (N,) chain names and residue numbers (sequence positions where aligned).
    model
        The refined atoms.
    confidence
        (N,) 0-100: detector score x probability of the type used.
    dmap
        The map it was built into (for the cell and space group).
    report
        Counts and per-stage seconds.
    record
        (N,) index of the sequence each residue was aligned to, -1 where none (None: built
        without sequences).
    """

    trace: Trace
    probs: np.ndarray
    poses: np.ndarray
    types: np.ndarray
    chain: np.ndarray
    seqid: np.ndarray
    icode: np.ndarray
    model: AtomModel
    confidence: np.ndarray
    dmap: DensityMap | None = None
    report: dict = field(default_factory=dict)
    record: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.types)

    def summary(self) -> str:
        """One line for people: residues, fragments, what the build changed, seconds."""
        r = self.report
        parts = [f"{_n(r['residues'], 'residue')} in {_n(r['fragments'], 'fragment')}"]
        if r.get("aligned_to_sequence"):
            parts.append(f"{r['aligned_to_sequence']} aligned to the sequence")
        if r.get("chains") and r["chains"] < r["fragments"]:
            parts.append(f"gathered into {_n(r['chains'], 'chain')} by the sequence")
        if r.get("gap_residues_built"):
            parts.append(f"{_n(r['gap_residues_built'], 'residue')} built into "
                         f"{_n(r['gaps_filled'], 'gap')} between fragments")  # fmt: skip
        phrases = (  # report key, noun, the rest of the phrase
            ("junctions_opened", "residue", "at unjoined junctions of numbered fragments built "
             "again"),
            ("stuck_gaps_opened", "end", "of one-residue gaps the fill could not bridge built "
             "again"),
        )  # fmt: skip
        parts += [f"{_n(r[k], noun)} {rest}" for k, noun, rest in phrases if r.get(k)]
        if r.get("fragments_linked"):
            parts.append(f"{_n(r['fragments_linked'], 'fragment')} linked to the next through "
                         f"the density ({_n(r.get('link_residues_built', 0), 'residue')} "
                         "built)")  # fmt: skip
        if r.get("sequence_gaps"):
            parts.append(f"{_n(r['sequence_gaps'], 'sequence position')} skipped inside "
                         "fragments")  # fmt: skip
        if r.get("ncs_residues"):
            parts.append(f"{r['ncs_residues']} in NCS copies")
        phrases = (
            ("rotamer_changes", "rotamer", "refitted"),
            ("peptide_flips", "peptide unit", "turned"),
            ("side_chain_flips", "amide/ring", "turned"),
            ("start_turns", "fragment start", "turned"),
            ("ncs_side_chains", "side chain", "from NCS copies"),
            ("fragments_joined", "fragment", "joined across crystal contacts"),
            ("cis_prolines_rebuilt", "peptide", "into a proline rebuilt cis"),
            ("prolines_made_cis", "residue", "made a proline behind a cis peptide"),
            ("frames_searched_again", "residue", "posed in frames searched again"),
            ("duplicates_left_out", "residue", "detected twice left out"),
            ("cis_ends_left_out", "fragment end", "across a cis step left out"),
            ("stray_ends_left_out", "fragment end", "past a chain break left out"),
            ("final_rotamer_fits", "side chain", "out of density refitted at the end"),
            ("pulled_starts_left_out", "fragment start", "pulling a neighbour out of density "
             "left out"),
            ("pulled_ends_left_out", "fragment end", "pulling a neighbour out of density left "
             "out"),
        )  # fmt: skip
        parts += [f"{_n(r[k], noun)} {rest}" for k, noun, rest in phrases if r.get(k)]
        if r.get("weak_fragments_left_out"):
            parts.append(f"{_n(r['weak_fragments_left_out'], 'short weak fragment')} "
                         f"({_n(r['weak_residues_left_out'], 'residue')}) left out")  # fmt: skip
        if r.get("clashing_fragments_left_out"):
            parts.append(f"{_n(r['clashing_fragments_left_out'], 'short fragment')} "
                         f"({_n(r['clashing_residues_left_out'], 'residue')}) in impossible "
                         "contact with longer ones left out")  # fmt: skip
        seconds = r.get("seconds", {}).get("total")
        return ", ".join(parts) + (f" ({seconds:.1f} s)" if seconds is not None else "")

    def subset(self, keep: np.ndarray) -> BuildResult:
        """The residues where ``keep`` is True, whole fragments at a time: fragments renumbered,
        chains renamed in their order, the sequence numbering kept (the report is shared)."""
        keep = np.asarray(keep, dtype=bool)
        trace = self.trace.subset(keep)
        chain = np.array([chain_name(int(f)) for f in trace.fragment], dtype=object)
        m = self.model
        atoms = keep[m.residue]
        new_index = np.cumsum(keep) - 1
        linked = m.linked[keep] & np.r_[False, trace.fragment[1:] == trace.fragment[:-1]]
        model = AtomModel(m.xyz[atoms], m.atom[atoms], m.element[atoms],
                          new_index[m.residue[atoms]], m.resname[keep], linked)  # fmt: skip
        return BuildResult(trace, self.probs[keep], self.poses[keep], self.types[keep], chain,
                           self.seqid[keep], self.icode[keep], model, self.confidence[keep],
                           self.dmap, self.report,
                           None if self.record is None else self.record[keep])  # fmt: skip

    def rearranged(
        self,
        order: np.ndarray,
        fragment: np.ndarray,
        chain: np.ndarray,
        seqid: np.ndarray,
        icode: np.ndarray,
        moved: tuple[np.ndarray, ...] | None = None,
    ) -> BuildResult:
        """The residues in ``order`` (a permutation), with the new (N,) ``fragment`` indices
        (residues of one fragment contiguous, linked in the model), ``chain`` names and
        numbering; ``moved``: the atoms' xyz and the trace's ca, to_n, to_c and the poses, in
        the old order, after some residues were moved onto crystal copies (the report is
        shared)."""
        m, tr = self.model, self.trace
        xyz, ca, to_n, to_c, poses = moved or (m.xyz, tr.ca, tr.to_n, tr.to_c, self.poses)
        lo, hi = (b[order] for b in atom_bounds(m))
        atoms = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)])
        linked = np.r_[False, fragment[1:] == fragment[:-1]]
        model = AtomModel(xyz[atoms], m.atom[atoms], m.element[atoms],
                          np.repeat(np.arange(len(order)), hi - lo), m.resname[order],
                          linked)  # fmt: skip
        trace = Trace(ca[order], to_n[order], to_c[order], tr.score[order], fragment)
        return BuildResult(trace, self.probs[order], poses[order], self.types[order], chain,
                           seqid, icode, model, self.confidence[order], self.dmap, self.report,
                           None if self.record is None else self.record[order])  # fmt: skip

    def structure(self) -> gemmi.Structure:
        """The model as a gemmi Structure (B-factor column: confidence)."""
        return model_structure(self.model, self.chain, self.seqid, self.icode, self.confidence,
                               self.dmap, self.report.get("chain_sequences"))  # fmt: skip


class Movable:
    """Copies of a build's coordinates (atoms, C-alphas, N and C directions, poses) in which
    residues can be moved onto crystal copies, for :meth:`BuildResult.rearranged`."""

    def __init__(self, result: BuildResult, sym: Symmetry) -> None:
        m, tr = result.model, result.trace
        self.arrays = (m.xyz.copy(), tr.ca.copy(), tr.to_n.copy(), tr.to_c.copy(),
                       result.poses.copy())  # fmt: skip
        self._residue, self._sym = m.residue, sym
        self._rot = sym.cart_rotations() if sym.periodic else np.eye(3)[None]

    def move(self, residues: np.ndarray, op: int, shift: np.ndarray) -> None:
        """Move ``residues`` (indices) by symmetry operation ``op`` and lattice ``shift``."""
        xyz, ca, to_n, to_c, poses = self.arrays
        res, sym, rot = np.asarray(residues), self._sym, self._rot[op]
        atoms = np.isin(self._residue, res)
        xyz[atoms] = sym.apply(xyz[atoms], op, shift)
        ca[res] = sym.apply(ca[res], op, shift)
        to_n[res], to_c[res] = to_n[res] @ rot.T, to_c[res] @ rot.T
        poses[res] = sym.apply(poses[res].reshape(-1, 3), op, shift).reshape(poses[res].shape)


def atoms_for_types(poses: np.ndarray, types: np.ndarray, trace: Trace) -> AtomModel:
    """An :class:`AtomModel` of each residue's atoms for its type (residues linked in fragments)."""
    xyz, atom, element, residue = [], [], [], []
    for r, t in enumerate(types):
        for k, name in enumerate(HEAVY_ATOMS[AMINO_ACIDS[t]]):
            xyz.append(poses[r, t, k]), atom.append(name), element.append(name[0])
            residue.append(r)
    linked = np.zeros(len(types), dtype=bool)
    linked[1:] = trace.fragment[1:] == trace.fragment[:-1]
    return AtomModel(np.array(xyz, float).reshape(-1, 3), np.array(atom, dtype=object),
                     np.array(element, dtype=object), np.array(residue, dtype=np.int64),
                     np.array([AMINO_ACIDS[t] for t in types], dtype=object), linked)  # fmt: skip


def atom_bounds(model: AtomModel) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last atom index of every residue (atoms are residue by residue)."""
    r = np.arange(len(model.resname))
    return np.searchsorted(model.residue, r), np.searchsorted(model.residue, r, side="right")


def backbone_of(model: AtomModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R, 3) N, CA and C of every residue of ``model`` (each residue's first three atoms)."""
    first = atom_bounds(model)[0]
    return model.xyz[first], model.xyz[first + 1], model.xyz[first + 2]


def without_weak_fragments(
    result: BuildResult, aligned: np.ndarray, max_length: int, min_confidence: float
) -> tuple[BuildResult, np.ndarray]:
    """``result`` without its short, weak fragments (:meth:`.Trace.weak_fragments` of the
    detector score x top class probability), unless that would leave nothing, and the (N,)
    mask of the residues kept; the report counts what was left out."""
    tr = result.trace
    weak = tr.weak_fragments(100.0 * tr.score * result.probs.max(1), max_length, min_confidence)
    rep = result.report
    if not weak.any() or weak.all():
        rep.update(weak_fragments_left_out=0, weak_residues_left_out=0)
        return result, np.ones(len(result), dtype=bool)
    rep.update(weak_fragments_left_out=len(np.unique(tr.fragment[weak])),
               weak_residues_left_out=int(weak.sum()))  # fmt: skip
    out = result.subset(~weak)
    recount(out, np.asarray(aligned)[~weak])
    return out, ~weak


def recount(result: BuildResult, aligned: np.ndarray) -> None:
    """Set the report's counts (residues, fragments, atoms, mean fragment length, residues
    aligned to the sequence) to what ``result`` holds after residues were left out."""
    result.report.update(residues=len(result), fragments=result.trace.fragment_count,
                         atoms=len(result.model),
                         mean_fragment_length=float(result.trace.fragment_lengths().mean()),
                         aligned_to_sequence=int(aligned.sum()))  # fmt: skip


#: Below this fraction of the built residues aligned to the given sequence, a note says so.
FEW_ALIGNED = 0.5


def sequence_note(report: dict, sequences: list[str] | None = None) -> str | None:
    """A note for a build given a sequence that most of its residues do not align to (the
    sequence may be another protein's, or, given ``sequences``, too short for the map: a
    build with a wrong sequence is worse than one without, since fragments are then not linked
    through the map); None otherwise."""
    built, aligned = report.get("residues", 0), report.get("aligned_to_sequence", 0)
    if not built or aligned >= FEW_ALIGNED * built:
        return None
    length = sum(len(s) for s in sequences or [])
    if sequences and length < FEW_ALIGNED * built:
        return (f"only {aligned} of {built} built residues aligned to the sequence, which holds "
                f"{length} residues: is it the whole of this map's protein?")  # fmt: skip
    return (f"only {aligned} of {built} built residues aligned to the sequence: is it this "
            "map's protein? A wrong sequence builds worse than none")  # fmt: skip


def _n(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless one ("1 fragment", "3 amides/rings")."""
    plural = "/".join(f"{word}s" for word in noun.split("/"))
    return f"{count} {noun if count == 1 else plural}"
