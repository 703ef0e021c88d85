"""The peptide before a residue switched between cis and trans by hand, in review.

A build keeps a link into a proline cis only where the map says so (:mod:`.cis_peptides`), and
never makes one before another residue; the person reviewing may know better. :func:`switch_peptide`
rebuilds the peptide before the current residue the other way round (the ideal unit placed
as :func:`~.cis_peptides.peptide_candidate` places it, turned to the highest map) and refines the
residues around it with the rest of the model held, as a correction does. Cis peptides are made
only before a proline: refinement holds a cis peptide in shape only there (elsewhere a link that
short keeps only its C-N bond, since it is far more often a wrong trace step). Nothing is changed
in the session: the caller applies the rows in one undoable step.

Examples
--------
>>> switched = switch_peptide(session, index, dmap)  # doctest: +SKIP
>>> session.replace(switched.rows)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .cis_peptides import LOCAL_REFINE, link_window, pair_gain, peptide_candidate
from .errors import DensityBuildError
from .refine import CIS_BEFORE, refine_residues
from .session import atoms_at

if TYPE_CHECKING:
    from .maps import DensityMap
    from .session import ResidueState, Session


@dataclass(frozen=True)
class PeptideSwitch:
    """A switched peptide: the session's rows with the residues around it moved (the peptide's
    two residues marked edited, their boxes in the frames of their new backbone), their
    indices, whether the peptide is now cis, the change of the mean map value (sigma) at its
    two residues, and a line for the status bar."""

    rows: list[ResidueState]
    changed: list[int]
    cis: bool
    gain: float
    text: str


def switch_peptide(
    session: Session, index: int, dmap: DensityMap, refine: bool = True
) -> PeptideSwitch:
    """The peptide between residues ``index - 1`` and ``index`` of ``session`` made cis if it
    is trans and trans if it is cis (see the module). Raises :class:`DensityBuildError` where
    there is no such peptide, a backbone atom is missing, or a cis peptide would not be
    before a proline."""
    rows = session.residues
    if not 0 <= index < len(rows):
        raise DensityBuildError("select a residue first")
    model, _ = session.atom_model()
    label = rows[index].label
    if index == 0 or not model.linked[index]:
        raise DensityBuildError(f"{label} starts a piece of chain: no peptide before it to switch")
    prev, atoms = model.residue_atoms(index - 1), model.residue_atoms(index)
    missing = [k for k in ("N", "CA", "C", "O") if k not in prev] + [
        k for k in ("N", "CA", "C") if k not in atoms
    ]
    if missing:
        raise DensityBuildError(
            f"the peptide into {label} lacks backbone atoms ({', '.join(missing)}): "
            "predict poses first"
        )
    cis = model.is_trans(prev, atoms)  # what it becomes
    if cis and model.resname[index] not in CIS_BEFORE:
        raise DensityBuildError(
            f"{label} is not a proline: cis peptides are built only before prolines (change "
            "its type first if it is one)"
        )
    xyz = peptide_candidate(model.xyz, model, prev, atoms, dmap, cis=cis)
    window = link_window(model, index)
    if refine:
        xyz = refine_residues(replace(model, xyz=xyz), dmap, window, **LOCAL_REFINE)
    gain = pair_gain(model, dmap, xyz, model.xyz, index)
    out = list(rows)
    for r in window:
        new = replace(rows[r], atoms=atoms_at(model, xyz, r))
        if r in (index - 1, index):  # reviewed, and boxed in the frame of their new backbone
            new = replace(new.reframed(), edited=True)
        out[r] = new
    kind = "cis" if cis else "trans"
    text = (f"Peptide {rows[index - 1].label} - {label} made {kind}: mean map at the two "
            f"residues {gain:+.2f} sigma (Undo takes it back)")  # fmt: skip
    return PeptideSwitch(out, [int(r) for r in window], cis, gain, text)
