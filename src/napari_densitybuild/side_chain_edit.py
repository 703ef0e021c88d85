"""A side chain turned over, or put in another rotamer, by hand in review.

A build names ASN and GLN amides and HIS rings by their H-bonds and the map's extra electron
(:mod:`.sideflip`), and refits side chains out of density into library rotamers
(:mod:`.rotamers`); where the map says little, a reviewer may know better (an H-bond network,
a ligand, a metal). :func:`flip_side_chain` turns an ASN, GLN or HIS over (its two ends swap
places: OD1/ND2, OE1/NE2, or ND1/CD2 and CE1/NE2); :func:`place_rotamer` puts the side chain
in one of the library rotamers of its type on its backbone, ranked by the rotamer fit's score
(map, clashes with the rest of the model and its crystal copies, the library's frequency),
rotamers within :data:`DISTINCT` of a better-ranked one or of the present side chain left out,
so that pressing again walks through rotamers that differ. Either then refines the residue
against the map with the rest of the model held, as a correction does. Nothing is changed in
the session: the caller applies the rows in one undoable step.

Examples
--------
>>> edit = place_rotamer(session, index, dmap, rank=0)  # doctest: +SKIP
>>> session.replace(edit.rows)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .cis_peptides import LOCAL_REFINE
from .contacts import PolarAtoms, polar_atoms, polar_contacts
from .errors import DensityBuildError
from .hbonds import atom_role, pair_score
from .refine import refine_residues
from .residues import HEAVY_ATOMS, SWAPS
from .session import atoms_at
from .sideflip import FLIP_PAIRS

if TYPE_CHECKING:
    from .maps import DensityMap
    from .refine import AtomModel
    from .session import ResidueState, Session

#: Rotamers whose side chains (CB onwards) lie within this RMSD (A) of a better-ranked one, or
#: of the present side chain, are not offered (the library's 30-degree bins are close).
DISTINCT = 1.0
#: Types whose two ends look alike and are named by convention: nothing to turn over.
SYMMETRIC = ("ASP", "GLU", "PHE", "TYR", "ARG", "LEU", "VAL")


@dataclass(frozen=True)
class SideChainEdit:
    """A side chain changed: the session's rows with the residue moved (marked edited, its box
    in the frame of its refined backbone), the residue's index, the change of the mean map
    value (sigma) at its atoms beyond CB, the rotamer's rank (None for a flip), and a line for
    the status bar."""

    rows: list[ResidueState]
    index: int
    gain: float
    rank: int | None
    text: str


def flip_side_chain(
    session: Session, index: int, dmap: DensityMap, refine: bool = True
) -> SideChainEdit:
    """Residue ``index`` of ``session`` (ASN, GLN or HIS) turned over (see the module); the
    status line gives the H-bond score (H-bonds minus impossible donor or acceptor pairs)
    before and after. Raises :class:`DensityBuildError` for another type or missing atoms."""
    model, row, atoms = _residue(session, index)
    pairs = _flip_pairs(row, atoms)
    xyz = model.xyz.copy()  # the residue's atoms are its rows', in order
    xyz[model.residue == index] = [a[1:] for a in _turned_row(row, pairs).atoms]
    rows, gain = _apply(session, model, xyz, index, dmap, refine)
    before = hbond_score(session, index)
    after = hbond_score(_session(session, rows), index)
    ends = " and ".join(f"{a}/{b}" for a, b in pairs)
    text = (f"{row.label} turned over ({ends} swapped): H-bond score {before:+.0f} -> "
            f"{after:+.0f}, mean map at the side chain {gain:+.2f} sigma (Undo takes it "
            "back)")  # fmt: skip
    return SideChainEdit(rows, index, gain, None, text)


def turned_hbond_scores(
    session: Session, index: int, polar: PolarAtoms | None = None
) -> tuple[float, float] | None:
    """The H-bond scores of residue ``index`` (ASN, GLN or HIS) as it is and turned over (no
    map, no refinement: what the review panel's hint weighs), or None for other types and
    incomplete side chains. ``polar``: :func:`~.contacts.polar_atoms` of ``session``, for
    many calls."""
    row = session.residues[index]
    pairs = FLIP_PAIRS.get(row.name)
    names = {a[0] for a in row.atoms}  # this residue's atoms only: no model
    if pairs is None or any(a not in names for pair in pairs for a in pair):
        return None
    polar = polar_atoms(session) if polar is None else polar  # one table for both scores
    rows = list(session.residues)
    rows[index] = _turned_row(row, pairs)
    return hbond_score(session, index, polar), hbond_score(_session(session, rows), index, polar)


def _flip_pairs(row: ResidueState, atoms: dict[str, int]) -> tuple[tuple[str, str], ...]:
    pairs = FLIP_PAIRS.get(row.name)
    if pairs is None:
        why = ("its two ends are alike, named by convention" if row.name in SYMMETRIC
               else "only ASN, GLN and HIS have two ends that differ")  # fmt: skip
        raise DensityBuildError(f"{row.label}: nothing to turn over ({why})")
    missing = [a for pair in pairs for a in pair if a not in atoms]
    if missing:
        raise DensityBuildError(f"{row.label} lacks {', '.join(missing)}: predict poses first")
    return pairs


def _turned_row(row: ResidueState, pairs: tuple[tuple[str, str], ...]) -> ResidueState:
    """``row`` with the atoms of each pair at each other's places."""
    where = {a[0]: k for k, a in enumerate(row.atoms)}
    atoms = list(row.atoms)
    for a, b in pairs:
        i, j = where[a], where[b]
        atoms[i], atoms[j] = (a, *row.atoms[j][1:]), (b, *row.atoms[i][1:])
    return replace(row, atoms=tuple(atoms))


def rotamer_choices(
    session: Session, index: int, dmap: DensityMap
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct library rotamers of residue ``index`` on its backbone, best first.

    Returns
    -------
    positions, score, library_index
        (K, m, 3) world positions of the side chain (CB onwards, in
        :data:`~.residues.HEAVY_ATOMS` order), their scores as the rotamer fit scores them
        (:func:`~.rotamers.side_chain_scores` plus the library prior), and each one's index in
        the library of its type. Rotamers within :data:`DISTINCT` of a better one or of the
        present side chain are left out.
    """
    return _choices(session, index, dmap, *_residue(session, index))


def _choices(
    session: Session, index: int, dmap: DensityMap, model: AtomModel, row: ResidueState,
    atoms: dict[str, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    from .density_field import DensityField
    from .rotamers import PRIOR_WEIGHT, ClashIndex, candidates, rotamer_library, side_chain_scores
    from .symmetry import Symmetry

    lib = rotamer_library().get(row.name)
    if lib is None:
        raise DensityBuildError(f"{row.label}: {row.name} has no rotamers to choose from")
    names = HEAVY_ATOMS[row.name][4:]
    missing = [a for a in names if a not in atoms]
    if missing:
        raise DensityBuildError(f"{row.label} lacks {', '.join(missing)}: predict poses first")
    side = np.array([atoms[a] for a in names])
    cand = candidates(row.name, *(model.xyz[atoms[a]][None] for a in ("N", "CA", "C")))
    field = DensityField(dmap, np.concatenate([model.xyz[side], cand.reshape(-1, 3)]),
                         interpolation="linear")  # fmt: skip
    only = np.zeros(len(session.residues), dtype=bool)
    only[index] = True
    neighbours = ClashIndex(model.xyz, model, Symmetry.of_map(dmap), only)
    score, _ = side_chain_scores(cand, side, index, model, field, neighbours)
    score = score + PRIOR_WEIGHT * (lib["logp"] - lib["logp"].max())
    kept: list[int] = []
    present = model.xyz[side]
    for k in np.argsort(-score, kind="stable"):
        near = [present] + [cand[j] for j in kept]
        if min(side_chain_rmsd(row.name, cand[k], other) for other in near) >= DISTINCT:
            kept.append(int(k))
    keep = np.array(kept, dtype=np.int64)
    return cand[keep], score[keep], keep


def place_rotamer(
    session: Session, index: int, dmap: DensityMap, rank: int = 0, refine: bool = True
) -> SideChainEdit:
    """Residue ``index`` of ``session`` with its side chain in the ``rank``-th of
    :func:`rotamer_choices` (counted from the best, wrapping round), refined. Raises
    :class:`DensityBuildError` for a type without rotamers, missing atoms, or a side chain
    that no library rotamer differs from."""
    from .rotamers import rotamer_library

    model, row, atoms = _residue(session, index)
    positions, _, lib_index = _choices(session, index, dmap, model, row, atoms)
    if not len(positions):
        raise DensityBuildError(f"{row.label}: every library rotamer lies within {DISTINCT} A "
                                "of the present side chain")  # fmt: skip
    k = rank % len(positions)
    xyz = model.xyz.copy()
    names = HEAVY_ATOMS[row.name][4:]
    xyz[[atoms[a] for a in names]] = positions[k]
    rows, gain = _apply(session, model, xyz, index, dmap, refine)
    lib = rotamer_library()[row.name]
    chi = ", ".join(f"{c:.0f}" for c in lib["chi"][lib_index[k]])
    share = 100.0 * np.exp(lib["logp"][lib_index[k]])
    text = (f"{row.label}: rotamer {k + 1} of {len(positions)} (chi {chi}; {share:.1f} % of "
            f"{row.name} in the library): mean map at the side chain {gain:+.2f} sigma (press "
            "again for the next; Undo takes it back)")  # fmt: skip
    return SideChainEdit(rows, index, gain, k, text)


def hbond_score(session: Session, index: int, polar: PolarAtoms | None = None) -> float:
    """H-bonds minus impossible pairs (two donors, two acceptors) of residue ``index``'s side
    chain with its polar neighbours (crystal copies included), as :mod:`.sideflip` counts them.
    ``polar``: as :func:`~.contacts.polar_contacts` takes it."""
    row = session.residues[index]
    return float(sum(pair_score(atom_role(row.name, c.atom), c.role)
                     for c in polar_contacts(session, index, polar=polar)))  # fmt: skip


def _residue(session: Session, index: int) -> tuple[AtomModel, ResidueState, dict[str, int]]:
    rows = session.residues
    if not 0 <= index < len(rows):
        raise DensityBuildError("select a residue first")
    model, _ = session.atom_model()
    atoms = model.residue_atoms(index)
    missing = [a for a in ("N", "CA", "C") if a not in atoms]
    if missing:
        raise DensityBuildError(f"{rows[index].label} lacks {', '.join(missing)}: predict poses "
                                "first")  # fmt: skip
    return model, rows[index], atoms


def _apply(
    session: Session, model: AtomModel, xyz: np.ndarray, index: int, dmap: DensityMap,
    refine: bool,
) -> tuple[list[ResidueState], float]:  # fmt: skip
    """The rows with residue ``index`` at ``xyz`` (refined alone, the rest held, when
    ``refine``), and the change of the mean map at its atoms beyond CB."""
    if refine:
        xyz = refine_residues(replace(model, xyz=xyz), dmap, [index], **LOCAL_REFINE)
    atoms = model.residue_atoms(index)
    side = [atoms[a] for a in HEAVY_ATOMS.get(session.residues[index].name, ())[5:] if a in atoms]
    gain = float(dmap.sample_points(xyz[side]).mean() - dmap.sample_points(model.xyz[side]).mean()
                 if side else 0.0)  # fmt: skip
    new = replace(replace(session.residues[index], atoms=atoms_at(model, xyz, index)).reframed(),
                  edited=True)  # fmt: skip
    rows = list(session.residues)
    rows[index] = new
    return rows, gain


def _session(session: Session, rows: list[ResidueState]) -> Session:
    from .session import Session

    return Session(rows, None, session.meta, autosave=False)


def side_chain_rmsd(name: str, a: np.ndarray, b: np.ndarray) -> float:
    """RMSD (A) of two side chains of type ``name`` ((m, 3), CB onwards, in
    :data:`~.residues.HEAVY_ATOMS` order), the better of the two namings of the atoms that
    density cannot tell apart (:data:`~.residues.SWAPS`: a PHE ring turned by 180 degrees is
    the same side chain)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    other = b.copy()
    for i, j in SWAPS.get(name, ()):
        other[[i - 4, j - 4]] = b[[j - 4, i - 4]]
    return float(min(np.sqrt(((a - x) ** 2).sum(-1).mean()) for x in (b, other)))
