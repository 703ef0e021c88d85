"""What a reviewed model holds besides the residues under review, kept for its export.

"Review model..." opens a model from a file (the user's own, another program's, a deposited
one) as a session of its amino-acid residues with N, CA and C; its waters, ligands, ions,
nucleic acids and residues without a backbone are not reviewed, and the session's residues
carry no B-factors or occupancies. :func:`kept_parts` records both in the session's ``meta``
(JSON-ready, so the autosave keeps them): the other atoms as rows, each reviewed atom's B and
occupancy by chain, residue and atom name, and which modified residues (MSE, SEP, ...) are
reviewed as their parent type, without the atoms it lacks. :func:`export_table` writes the
session back with them: the other atoms as they were, the reviewed atoms with their own B and
occupancy (an atom a correction added takes its residue's mean B, or the model's), so that
exporting a reviewed model loses nothing but hydrogens (refinement programs put riding ones
back), alternative conformations (the first of each is kept) and what modified residues have
beyond their parent type (:func:`kept_summary` says which). A build's session has none of
these entries: its B column is the residue's confidence (0-100).

Examples
--------
>>> session.meta.update(kept_parts(st, session))  # doctest: +SKIP
>>> write_model(export_table(session), "corrected.cif")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import gemmi

    from .models import AtomTable
    from .residue_state import ResidueState
    from .session import Session

#: ``meta`` key of the atoms outside the reviewed residues: rows (x, y, z, chain, seqid, icode,
#: residue name, atom name, element, B, occupancy).
KEPT = "kept_atoms"
#: ``meta`` key of the reviewed atoms' B and occupancy: ``"chain/seqid icode/atom"`` -> [B, occ].
ATOM_B = "atom_b"
#: ``meta`` key of the modified residues reviewed (and written) as their parent type, e.g.
#: ``"SEP A12"``: atoms the parent lacks (a phosphate) are not in the session.
AS_PARENT = "as_parent"
#: ``meta`` key: what the review leaves out of the file it was opened from, {"alternative":
#: atoms of the other alternative conformations, "hydrogens": ..., "models": models after the
#: first, "unknown": UNK residues given the classifier's types}, each where there are any.
LEFT_OUT = "left_out"


def _key(chain: str, seqid: int, icode: str, atom: str) -> str:
    return f"{chain}/{seqid}{icode.strip()}/{atom}"


def kept_parts(st: gemmi.Structure, session: Session) -> dict:
    """The ``meta`` entries :data:`KEPT` and :data:`ATOM_B` for ``session``, made from the
    structure ``st`` it was opened from (first model; of alternative conformations, the
    first); empty entries are left out."""
    from .residues import ATOM_ALIASES

    hydrogens = sum(a.is_hydrogen() for ch in st[0] for r in ch for a in r)
    st = st.clone()
    st.remove_hydrogens()
    heavy = st[0].count_atom_sites()
    st.remove_alternative_conformations()
    left_out = {"alternative": heavy - st[0].count_atom_sites(), "hydrogens": hydrogens,
                "models": len(st) - 1, "unknown": 0}  # fmt: skip
    reviewed = {(r.chain, r.seqid, r.icode.strip()): r for r in session.residues}
    kept, atom_b, parents = [], {}, []
    for ch in st[0]:
        for res in ch:
            key = (ch.name, res.seqid.num, res.seqid.icode.strip())
            if key in reviewed:  # named as the session names them (MSE's SE as SD, ...)
                alias = ATOM_ALIASES.get(res.name, {})  # file name -> the session's
                if res.name != reviewed[key].name and res.name != "UNK":
                    parents.append(f"{res.name} {ch.name}{res.seqid.num}{key[2]}")
                elif res.name != reviewed[key].name:  # typed by the classifier
                    left_out["unknown"] += 1
                for a in res:
                    atom_b[_key(*key, alias.get(a.name, a.name))] = [round(a.b_iso, 2),
                                                                     round(a.occ, 2)]  # fmt: skip
                continue
            for a in res:
                kept.append([round(a.pos.x, 3), round(a.pos.y, 3), round(a.pos.z, 3), ch.name,
                             res.seqid.num, key[2], res.name, a.name, a.element.name,
                             round(a.b_iso, 2), round(a.occ, 2)])  # fmt: skip
    out: dict = {}
    if kept:
        out[KEPT] = kept
    if atom_b:
        out[ATOM_B] = atom_b
    if parents:
        out[AS_PARENT] = parents
    if any(left_out.values()):
        out[LEFT_OUT] = {k: v for k, v in left_out.items() if v}
    return out


def renamed_atom_b(
    atom_b: dict, old: list[ResidueState], new: list[ResidueState], order: list[int]
) -> dict:
    """:data:`ATOM_B` for residues renamed or renumbered: ``new[k]`` is ``old[order[k]]`` under
    its new chain and number (:func:`~.assign_sequence.assign_sequence`); entries of residues
    not in ``new`` are dropped."""
    by_residue: dict[str, list[tuple[str, list]]] = {}
    for key, value in atom_b.items():
        residue, _, atom = key.rpartition("/")
        by_residue.setdefault(residue, []).append((atom, value))
    out = {}
    for k, r in enumerate(new):
        o = old[order[k]]
        for atom, value in by_residue.get(_key(o.chain, o.seqid, o.icode, "").rstrip("/"), []):
            out[_key(r.chain, r.seqid, r.icode, atom)] = value
    return out


def kept_summary(meta: dict) -> str:
    """A few words on the atoms kept aside, e.g. ``"212 waters and 3 other residues (NAG,
    SO4) kept aside, exported as they are"``, on the modified residues reviewed as their
    parent types, and on what the review left out (:data:`LEFT_OUT`); "" where there are none."""
    rows = meta.get(KEPT) or []
    parents = meta.get(AS_PARENT) or []
    gone = meta.get(LEFT_OUT) or {}
    words = {"alternative": ("atom", " of other alternative conformations"),
             "hydrogens": ("hydrogen", ""), "models": ("model", " after the first")}  # fmt: skip
    left = ", ".join(f"{gone[k]} {noun}{'s' * (gone[k] != 1)}{rest}"
                     for k, (noun, rest) in words.items() if gone.get(k))  # fmt: skip
    n = gone.get("unknown", 0)
    typed = (
        f"{n} residue{'s' * (n != 1)} of unknown type (UNK) given the classifier's types"
        if n
        else ""
    )
    parts = (_kept_text(rows, parents), typed, left and f"left out: {left}")
    return "; ".join(t for t in parts if t)


def _kept_text(rows: list, parents: list) -> str:
    """The kept atoms and the modified residues of :func:`kept_summary`."""
    many = len(parents) > 1
    modified = (f"{len(parents)} modified residue{'s' * many} ("
                f"{', '.join(parents[:3])}{', ...' if len(parents) > 3 else ''}) reviewed and "
                f"written as {'their parent types' if many else 'its parent type'}"
                if parents else "")  # fmt: skip
    if not rows:
        return modified
    residues = {(r[3], r[4], r[5]): r[6] for r in rows}
    waters = sum(1 for name in residues.values() if name in ("HOH", "WAT", "DOD"))
    others = sorted({name for name in residues.values() if name not in ("HOH", "WAT", "DOD")})
    n_other = len(residues) - waters
    names = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
    parts = ([f"{waters} water{'s' * (waters > 1)}"] if waters else []) + (
        [f"{n_other} other residue{'s' * (n_other > 1)} ({names})"] if n_other else [])  # fmt: skip
    text = f"{' and '.join(parts)} kept aside, exported as they are"
    return f"{text}; {modified}" if modified else text


def export_table(session: Session) -> AtomTable:
    """The session's atoms for a model file: as the atoms layer shows them, with the B and
    occupancy each reviewed atom had (:data:`ATOM_B`), and the atoms kept aside
    (:data:`KEPT`) after them; a build's session as it is (B: confidence)."""
    from .models import AtomTable

    atom_b = session.meta.get(ATOM_B) or {}
    kept = session.meta.get(KEPT) or []
    mean_b = (float(np.mean([v[0] for v in atom_b.values()])) if atom_b else None)  # fmt: skip
    rows = []
    for res in session.residues:
        own = [atom_b.get(_key(res.chain, res.seqid, res.icode, a[0])) for a in res.atoms]
        known = [v[0] for v in own if v is not None]
        fill = float(np.mean(known)) if known else mean_b
        for (name, *xyz), got in zip(res.atoms, own):
            b, occ = ((got[0], got[1]) if got is not None
                      else (fill, 1.0) if fill is not None
                      else (round(res.confidence, 2), 1.0))  # fmt: skip
            rows.append((*xyz, res.chain, res.seqid, res.icode, res.name, name, name[0], b, occ))
    rows += [tuple(r) for r in kept]
    cell = tuple(session.meta["cell"]) if session.meta.get("cell") else None
    return AtomTable.from_rows(rows, cell, session.meta.get("spacegroup"))
