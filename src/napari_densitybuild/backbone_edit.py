"""A peptide flipped, or a stretch of chain refined, by hand in review.

A build turns a peptide unit about its C-alpha axis where the turned carbonyl O sits in
clearly more map (:mod:`.pepflip`); where the map at O says little, the person reviewing may
know better from the Ramachandran plot or the H-bonds of the carbonyl and the NH.
:func:`flip_peptide` turns the peptide before a residue by 180 degrees about CA(i-1)-CA(i) (C,
O and N move; Coot's "Pepflip") and refines the residues around it with the rest held.
:func:`refine_zone` refines a residue and its chain neighbours against the map with ideal
geometry and the rest of the model held (Coot's "Real Space Refine Zone"), after a hand edit or
where a check flags the stretch; :func:`refine_all` does the same for the whole model at once,
after many hand edits. None changes the session: the caller applies the rows in one undoable
step.

Examples
--------
>>> edit = flip_peptide(session, index, dmap)  # doctest: +SKIP
>>> session.replace(edit.rows)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .cis_peptides import LOCAL_REFINE, link_window
from .errors import DensityBuildError
from .pepflip import turned_positions
from .refine import refine_residues
from .session import atoms_at
from .settings import ZONE_BESIDE

if TYPE_CHECKING:
    from .maps import DensityMap
    from .refine import AtomModel
    from .session import ResidueState, Session


@dataclass(frozen=True)
class BackboneEdit:
    """A backbone changed: the session's rows with the residues around it moved (their boxes
    in the frames of their new backbone), their indices, the change of the mean map value
    (sigma) at the atoms that tell (the flipped O; the zone's atoms), and a line for the status
    bar."""

    rows: list[ResidueState]
    changed: list[int]
    gain: float
    text: str


def flip_peptide(
    session: Session, index: int, dmap: DensityMap, refine: bool = True
) -> BackboneEdit:
    """The peptide between residues ``index - 1`` and ``index`` of ``session`` turned over
    (see the module); the status line gives the map at its O and the Ramachandran outliers of
    its two residues before and after. The two residues are marked edited. Raises
    :class:`DensityBuildError` where there is no trans peptide before ``index``, a backbone
    atom is missing, or its O, as is or turned over, lies outside a map that ends at its box's
    faces (a cryo-EM box: its values there would be wrapped round from the far side)."""
    model, label = _model(session, index)
    named = session.residues
    if index == 0 or named[index - 1].chain != named[index].chain:
        raise DensityBuildError(f"{label} starts a piece of chain: no peptide before it to flip")
    prev, atoms = model.residue_atoms(index - 1), model.residue_atoms(index)
    missing = [k for k in ("CA", "C", "O") if k not in prev] + [
        k for k in ("N", "CA") if k not in atoms
    ]
    if missing:  # before the link: without a C-alpha the link is judged from a guessed one
        raise DensityBuildError(f"the peptide into {label} lacks backbone atoms "
                                f"({', '.join(missing)}): predict poses first")  # fmt: skip
    if not model.linked[index]:
        raise DensityBuildError(f"{label} starts a piece of chain: no peptide before it to flip")
    if not model.is_trans(prev, atoms):
        raise DensityBuildError(f"the peptide into {label} is cis: Cis/trans peptide makes it "
                                "trans first")  # fmt: skip
    unit = np.array([[prev["CA"], prev["C"], prev["O"], atoms["N"], atoms["CA"]]])
    xyz = model.xyz.copy()
    xyz[unit[0, 1:4]] = turned_positions(model.xyz, unit, 180.0)[0]
    if (dmap.depth_inside(np.stack([model.xyz[prev["O"]], xyz[prev["O"]]])) < 0).any():
        raise DensityBuildError(f"the O of the peptide into {label} lies outside the map, as is "
                                "or turned over: the map cannot tell")  # fmt: skip
    window = link_window(model, index)
    if refine:
        xyz = refine_residues(replace(model, xyz=xyz), dmap, window, **LOCAL_REFINE)
    o = prev["O"]
    before, after = (float(dmap.sample_points(p[o][None])[0]) for p in (model.xyz, xyz))
    rows = _moved(session, model, xyz, window, edited=(index - 1, index))
    outliers = _outliers(session, rows, [index - 1, index])
    text = (f"Peptide {session.residues[index - 1].label} - {label} flipped: map at its O "
            f"{before:.1f} -> {after:.1f} sigma; Ramachandran outliers of the two "
            f"{outliers[0]} -> {outliers[1]} (Undo takes it back)")  # fmt: skip
    return BackboneEdit(rows, [int(r) for r in window], after - before, text)


def refine_zone(
    session: Session, index: int, dmap: DensityMap, beside: int = ZONE_BESIDE
) -> BackboneEdit:
    """Residue ``index`` of ``session`` and up to ``beside`` linked neighbours on either side
    refined against the map (ideal geometry, no discrete moves), every other atom held; the
    status line gives the mean map at their atoms, the largest atom shift and their
    Ramachandran outliers. The zone stops before a residue reaching outside a map that ends at
    its box's faces (a cryo-EM box: its values there would be wrapped round from the far side).
    Raises :class:`DensityBuildError` for a residue without atoms or reaching outside the map."""
    model, label = _model(session, index)
    if not (model.residue == index).any():
        raise DensityBuildError(f"{label} has no atoms: predict poses first")
    inside = ~np.isin(np.arange(len(model.resname)),
                      model.residue[dmap.depth_inside(model.xyz) < 0])  # fmt: skip
    if not inside[index]:
        raise DensityBuildError(f"{label} reaches outside the map: the map cannot tell")
    lo, hi = index, index
    for _ in range(beside):
        lo -= 1 if lo > 0 and model.linked[lo] and inside[lo - 1] else 0
        hi += 1 if hi + 1 < len(inside) and model.linked[hi + 1] and inside[hi + 1] else 0
    zone = np.arange(lo, hi + 1)
    xyz = refine_residues(model, dmap, zone, **LOCAL_REFINE)
    mask = np.isin(model.residue, zone)
    before, after = (float(dmap.sample_points(p[mask]).mean()) for p in (model.xyz, xyz))
    shift = float(np.linalg.norm(xyz[mask] - model.xyz[mask], axis=1).max())
    rows = _moved(session, model, xyz, zone, edited=())
    outliers = _outliers(session, rows, zone.tolist())
    named = session.residues
    span = label if lo == hi else f"{named[lo].label} - {named[hi].label}"
    text = (f"Refined {span} ({len(zone)} residues): mean map at their atoms {before:.2f} -> "
            f"{after:.2f} sigma, largest shift {shift:.2f} A; Ramachandran outliers "
            f"{outliers[0]} -> {outliers[1]} (Undo takes it back)")  # fmt: skip
    return BackboneEdit(rows, [int(r) for r in zone], after - before, text)


def refine_all(session: Session, dmap: DensityMap) -> BackboneEdit:
    """Every residue of ``session`` with a backbone (N, CA and C) refined against the map
    together (ideal geometry, no discrete moves: peptides, rotamers and amide namings stay as
    they are), the residues reaching outside a map that ends at its box's faces held; the
    status line gives the mean map at their atoms, the largest atom shift (and whose), the
    Ramachandran outliers and the bond-length RMSZ before and after. Raises
    :class:`DensityBuildError` where no residue has a backbone inside the map."""
    from .geometry import bond_rmsz
    from .session import Session

    model, _ = session.atom_model()
    outside = np.isin(np.arange(len(model.resname)),
                      model.residue[dmap.depth_inside(model.xyz) < 0])  # fmt: skip
    free = [r for r in range(len(model.resname)) if not outside[r]
            and all(k in model.residue_atoms(r) for k in ("N", "CA", "C"))]  # fmt: skip
    if not free:
        raise DensityBuildError("no residue with N, CA and C inside the map: nothing to refine")
    xyz = refine_residues(model, dmap, free, **LOCAL_REFINE)
    mask = np.isin(model.residue, free)
    before, after = (float(dmap.sample_points(p[mask]).mean()) for p in (model.xyz, xyz))
    shifts = np.linalg.norm(xyz - model.xyz, axis=1)
    worst = session.residues[int(model.residue[int(np.argmax(shifts))])]
    rows = _moved(session, model, xyz, np.array(free), edited=())
    after_st = Session(rows, None, session.meta, autosave=False).structure()
    before_st = session.structure()
    outliers = _outliers(session, rows, free, (before_st, after_st))
    rmsz = [bond_rmsz(st) for st in (before_st, after_st)]
    held = f", {int(outside.sum())} reaching outside the map held" if outside.any() else ""
    text = (f"Refined all {len(free)} residues{held}: mean map at their atoms {before:.2f} -> "
            f"{after:.2f} sigma, largest shift {shifts.max():.2f} A ({worst.label} of chain "
            f"{worst.chain}); Ramachandran outliers {outliers[0]} -> {outliers[1]}, bond RMSZ "
            f"{rmsz[0]:.2f} -> {rmsz[1]:.2f} (Undo takes it back)")  # fmt: skip
    return BackboneEdit(rows, free, after - before, text)


def _model(session: Session, index: int) -> tuple[AtomModel, str]:
    rows = session.residues
    if not 0 <= index < len(rows):
        raise DensityBuildError("select a residue first")
    model, _ = session.atom_model()
    return model, rows[index].label


def _moved(
    session: Session, model: AtomModel, xyz: np.ndarray, residues: np.ndarray,
    edited: tuple[int, ...],
) -> list[ResidueState]:  # fmt: skip
    """The rows with ``residues`` at ``xyz``, boxed in the frames of their new backbone (those
    with N, CA and C); ``edited`` marked edited."""
    out = list(session.residues)
    for r in residues:
        new = replace(out[r], atoms=atoms_at(model, xyz, r)).reframed()
        out[r] = replace(new, edited=True) if r in edited else new
    return out


def _outliers(
    session: Session, rows: list[ResidueState], residues: list[int],
    structures: tuple | None = None,
) -> tuple[int, int]:  # fmt: skip
    """How many of ``residues`` are Ramachandran outliers in ``session`` and in ``rows``
    (``structures``: the two as gemmi structures, if already made)."""
    from .review import rama_outliers
    from .session import Session

    after = Session(rows, None, session.meta, autosave=False)
    sts = structures or (None, None)
    return tuple(int(rama_outliers(s, st)[residues].sum())
                 for s, st in zip((session, after), sts))  # type: ignore[return-value]  # fmt: skip
