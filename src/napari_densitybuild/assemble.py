"""Assembly: placed (and classified, posed) residues into a gemmi Structure and a model file.

Chains follow the fragments of :class:`~napari_densitybuild.trace.Trace` (longest first, chain
names A, B, ..., Z, then AA, AB, ...), residues are numbered 1, 2, ... along each fragment (or by
sequence position where a fragment aligns to a sequence), and
the B-factor column holds a per-residue confidence (0-100) so that viewers can colour by it.
The map's cell and space group go into the model.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

import gemmi
import numpy as np

from .errors import DensityBuildError
from .maps import DensityMap
from .models import write_structure
from .trace import Trace

if TYPE_CHECKING:
    from .refine import AtomModel

__all__ = [
    "ca_structure",
    "chain_name",
    "model_structure",
    "new_structure",
    "number_residues",
    "write_structure",
]


def chain_name(index: int) -> str:
    """A, B, ..., Z, AA, AB, ... for fragment 0, 1, ..."""
    letters = string.ascii_uppercase
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = letters[rem] + name
    return name


def new_structure(dmap: DensityMap | None, name: str = "densitybuild") -> gemmi.Structure:
    """An empty structure with the map's cell and space group (P 1 for cryo-EM maps)."""
    st = gemmi.Structure()
    st.name = name
    if dmap is not None and dmap.kind == "xray":
        st.cell = dmap.cell
        st.spacegroup_hm = dmap.spacegroup.hm
    st.add_model(gemmi.Model(1))
    return st


def _atom(name: str, element: str, xyz: np.ndarray, b: float) -> gemmi.Atom:
    a = gemmi.Atom()
    a.name, a.element = name, gemmi.Element(element)
    a.pos = gemmi.Position(*map(float, xyz))
    a.b_iso, a.occ = float(b), 1.0
    return a


def ca_structure(placed: Trace, dmap: DensityMap | None = None) -> gemmi.Structure:
    """A C-alpha-only model of a trace: one chain per fragment, residues UNK, B = 100 x score."""
    if len(placed) == 0:
        raise DensityBuildError("no residues were placed: nothing to write")
    st = new_structure(dmap)
    model = st[0]
    for f in range(placed.fragment_count):
        idx = np.flatnonzero(placed.fragment == f)
        chain = gemmi.Chain(chain_name(f))
        for k, i in enumerate(idx):
            res = gemmi.Residue()
            res.name, res.seqid, res.het_flag = "UNK", gemmi.SeqId(k + 1, " "), "A"
            res.entity_type = gemmi.EntityType.Polymer
            res.add_atom(_atom("CA", "C", placed.ca[i], 100.0 * placed.score[i]))
            chain.add_residue(res)
        model.add_chain(chain)
    st.setup_entities()
    return st


def number_residues(
    trace: Trace, positions: list[np.ndarray | None]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chain names, residue numbers and insertion codes from per-fragment sequence positions
    (each fragment numbered by :func:`fragment_numbers`, a chain of its own)."""
    chain, seqid, icode = [], [], []
    for f in range(trace.fragment_count):
        n = int(np.count_nonzero(trace.fragment == f))
        nums, codes = fragment_numbers(positions[f], n)
        chain += [chain_name(f)] * n
        seqid += nums
        icode += codes
    return np.array(chain, dtype=object), np.array(seqid, dtype=int), np.array(icode, dtype=object)


def fragment_numbers(pos: np.ndarray | None, n: int) -> tuple[list[int], list[str]]:
    """Residue numbers and insertion codes of a fragment of ``n`` residues from its sequence
    positions ``pos`` (0-based, -1: not aligned; None: no alignment).

    A fragment without positions is numbered 1, 2, ...; an aligned residue by its position
    (1-based). Residues the sequence has no place for are numbered by their neighbours: before
    the first aligned residue, counting down from it (the fragment's start runs on before it:
    0 and below where it runs past the sequence's start); after an aligned residue, as its
    insertions (``12A``, ``12B``, ... ``12Z``, ``12a``, ...: :data:`INSERTION_CODES`).
    """
    seqid, icode = [], []
    last, ins = 0, 0
    lead = int(np.argmax(pos >= 0)) if pos is not None and (pos >= 0).any() else 0
    for k in range(n):
        if pos is None:
            seqid.append(k + 1), icode.append("")
        elif k < lead:  # before the first aligned residue
            seqid.append(int(pos[lead]) + 1 - (lead - k)), icode.append("")
        elif pos[k] >= 0:
            last, ins = int(pos[k]) + 1, 0
            seqid.append(last), icode.append("")
        else:  # a residue the sequence has no place for: an insertion after the last one
            ins += 1
            seqid.append(last), icode.append(INSERTION_CODES[(ins - 1) % len(INSERTION_CODES)])
    return seqid, icode


#: Insertion codes in the order a run of residues after one sequence position takes them: one
#: character each, as the PDB format holds them (a run longer than this is not seen: each
#: residue of it costs the alignment a gap, :func:`~.sequence.align`).
INSERTION_CODES = string.ascii_uppercase + string.ascii_lowercase + string.digits


def sequence_gaps(trace: Trace, positions: list[np.ndarray | None]) -> np.ndarray:
    """(N,) True where the sequence alignment skipped positions between a residue and the one
    before it in its fragment: the trace stepped over a residue it missed (in a helix a C-alpha
    three along lies about 5 A away). The build counts them (report ``sequence_gaps``); the
    numbering shows them, and the peptide between the two is kept (docs/build.md)."""
    gap = np.zeros(len(trace.fragment), dtype=bool)
    for f, pos in enumerate(positions):
        if pos is None:
            continue
        idx = np.flatnonzero(trace.fragment == f)
        both = (pos[1:] >= 0) & (pos[:-1] >= 0)
        gap[idx[1:]] = both & (pos[1:] - pos[:-1] > 1)
    return gap


def model_structure(
    model: AtomModel,
    chain: np.ndarray,
    seqid: np.ndarray,
    icode: np.ndarray,
    confidence: np.ndarray,
    dmap: DensityMap | None = None,
    chain_sequences: dict[str, str] | None = None,
) -> gemmi.Structure:
    """A gemmi Structure of an :class:`AtomModel` with the given numbering and B = confidence;
    with ``chain_sequences`` (chain name -> the sequence its numbers follow), a chain whose last
    residue is its sequence's last gets the carboxylate's OXT (:func:`add_terminal_oxygens`)."""
    if len(model.resname) == 0:
        raise DensityBuildError("the model has no residues: nothing to write")
    st = new_structure(dmap)
    chains: dict[str, gemmi.Chain] = {}
    for r, name in enumerate(model.resname):
        ch = chains.setdefault(str(chain[r]), gemmi.Chain(str(chain[r])))
        res = gemmi.Residue()
        res.name, res.het_flag = str(name), "A"
        res.seqid = gemmi.SeqId(int(seqid[r]), (str(icode[r]) or " ")[0])
        res.entity_type = gemmi.EntityType.Polymer
        for i in np.flatnonzero(model.residue == r):
            a = gemmi.Atom()
            a.name, a.element = str(model.atom[i]), gemmi.Element(str(model.element[i]))
            a.pos = gemmi.Position(*map(float, model.xyz[i]))
            a.b_iso, a.occ = float(confidence[r]), 1.0
            res.add_atom(a)
        ch.add_residue(res)
    for ch in chains.values():
        st[0].add_chain(ch)
    st.setup_entities()
    set_entity_sequences(st, chain_sequences or {})
    add_terminal_oxygens(st, chain_sequences or {})
    return st


def set_entity_sequences(st: gemmi.Structure, chain_sequences: dict[str, str]) -> None:
    """Give ``st``'s polymer entities their full sequences, as mmCIF readers and deposition
    expect: a chain numbered by a sequence (``chain_sequences``: chain name -> one-letter
    sequence) takes it, any other (or one with residues the sequence has no place for:
    insertions, numbers past its ends) its own residues; chains of one sequence share an entity,
    entities are numbered 1, 2, ... and residues get their ``label_seq_id``."""
    polymer = gemmi.EntityType.Polymer
    entities = []
    for ch in st[0]:
        for sub in dict.fromkeys(r.subchain for r in ch if r.entity_type == polymer):
            ent = gemmi.Entity(sub)
            ent.entity_type, ent.polymer_type = polymer, gemmi.PolymerType.PeptideL
            ent.subchains = [sub]
            own = [r for r in ch if r.subchain == sub]
            seq = chain_sequences.get(ch.name, "")
            inside = all(1 <= r.seqid.num <= len(seq) and r.seqid.icode == " " for r in own)
            ent.full_sequence = (gemmi.expand_one_letter_sequence(seq, gemmi.ResidueKind.AA)
                                 if inside else [r.name for r in own])  # fmt: skip
            entities.append(ent)
    others = [e for e in st.entities if e.entity_type != polymer]
    st.entities.clear()
    for ent in entities + others:
        st.entities.append(ent)
    st.deduplicate_entities()
    number_entities(st)
    st.assign_label_seq_id(False)


def number_entities(st: gemmi.Structure) -> None:
    """Name ``st``'s entities 1, 2, ... in their order (the mmCIF ids deposition expects)."""
    for k, ent in enumerate(st.entities):
        ent.name = str(k + 1)


def add_terminal_oxygens(st: gemmi.Structure, chain_sequences: dict[str, str]) -> int:
    """Give each chain of ``st`` whose last residue is numbered as its sequence's last (a
    C-terminus) the second carboxylate oxygen, OXT: O mirrored about the CA-C axis, in the
    plane of CA, C and O (O-C-OXT about 119 degrees). Returns how many were added."""
    added = 0
    for ch in st[0]:
        sequence = chain_sequences.get(ch.name)
        if not sequence or not len(ch):
            continue
        res = ch[len(ch) - 1]
        atoms = {n: res.find_atom(n, "*") for n in ("CA", "C", "O", "OXT")}
        if res.seqid.num != len(sequence) or atoms["OXT"] or None in (atoms["CA"], atoms["C"],
                                                                        atoms["O"]):  # fmt: skip
            continue
        ca, c, o = (np.array(atoms[n].pos.tolist()) for n in ("CA", "C", "O"))
        u = (c - ca) / np.linalg.norm(c - ca)
        oxt = c + 2 * np.dot(o - c, u) * u - (o - c)
        res.add_atom(_atom("OXT", "O", oxt, atoms["O"].b_iso))
        added += 1
    return added
