"""What to look at in a model before it is deposited: the review panel's checks, whole-model.

:func:`check_session` lists, for every residue of a review session, what a crystallographer
fixes before deposition: Ramachandran outliers (``data/rama.npz``, as ``evaluate`` counts
them), twisted peptides (never right) and cis peptides (before a proline: uncommon; before
anything else: rare), residues in impossible contacts (a heavy atom within 2.2 A of one of
another residue that is not its chain neighbour, crystal copies included, or too near one of a
chain neighbour: :func:`~.training.evaluate_build.neighbour_clashes`), residues in weak
density (given the map: the mean map value at their atoms under :data:`WEAK_FIT`), residues
whose map does not look like their atoms (given the map: real-space correlation under
:data:`~.rscc.LOW_RSCC`, :mod:`.rscc`), peptides
whose carbonyl O the map puts on the other side (given the map: :func:`carbonyls_to_flip`), the
bond-length RMSZ against the ideal lengths, and the ASN, GLN and HIS whose H-bonds would score
higher turned over (:mod:`.side_chain_edit`, :mod:`.sideflip`'s count). On builds of the 13
real maps outside the held-out set with their sequences (``scripts/check_flags.py``), 13 of
the 18 residues in weak density match no deposited residue of their type within 1 A or are over
1 A off, 131 of the 255 of low real-space correlation, 144 of the 317 residues flagged by any
check, against 2.4 % of the residues no check flags. :func:`check_model` does the same for a
model file's structure; ``densitybuild info MAP MODEL`` prints it, and the review panel's "Next
problem" walks it. Nothing here imports Qt or napari.

Examples
--------
>>> checks = check_model(read_structure("model.cif"), read_map("map.mtz"))  # doctest: +SKIP
>>> print("\\n".join(checks.lines()))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .rscc import LOW_RSCC

if TYPE_CHECKING:
    import gemmi

    from .maps import DensityMap
    from .session import Session

#: Residues named per line of :meth:`ModelChecks.lines` (the rest counted).
SHOWN = 10
#: A residue whose atoms sit in less map than this on average (sigma) is in weak density.
WEAK_FIT = 1.0
#: A peptide whose O, turned over about the C-alpha axis, would sit in this much more map
#: (sigma) is flagged (the build's own flip margin, :data:`~.pepflip.FLIP_MARGIN`).
O_MARGIN = 0.5
#: Checks that need the map.
MAP_CHECKS = ("weak_density", "low_rscc", "carbonyls")
#: The checks, in the order lines and problems list them: (attribute, line heading, what a
#: flagged residue has, for the review panel's status bar).
CHECKS = (
    ("rama_outliers", "Ramachandran outliers",
     "a Ramachandran outlier (Flip peptide here or at the next residue, or Refine zone)"),
    ("twisted", "twisted peptides (omega 30-150 degrees from flat: never right)",
     "a twisted peptide before it (Refine zone, or Cis/trans peptide)"),
    ("cis", "cis peptides before a residue other than proline (rare)",
     "a cis peptide before it, and it is not a proline"),
    ("cis_proline", "cis peptides before a proline", "a cis peptide before it (a proline)"),
    ("clashing", "residues in impossible contacts (heavy atoms under 2.2 A, crystal copies "
     "included)", "an impossible contact (heavy atoms under 2.2 A)"),
    ("weak_density", f"residues in weak density (mean map at their atoms under {WEAK_FIT:g} "
     "sigma)", f"weak density (mean map at its atoms under {WEAK_FIT:g} sigma)"),
    ("low_rscc", f"residues whose map does not look like their atoms (real-space correlation "
     f"under {LOW_RSCC:g})", f"a map that does not look like its atoms (real-space correlation "
     f"under {LOW_RSCC:g}: Next rotamer, Refine zone, or another type)"),
    ("carbonyls", f"peptides to flip (their O in {O_MARGIN:g} sigma more map turned over; "
     "named by the residue after)",
     "the map puts the O of the peptide before it on the other side (Flip peptide)"),
    ("to_turn", "ASN, GLN and HIS whose H-bonds would score higher turned over",
     "H-bonds that would score higher turned over (Flip side chain)"),
)  # fmt: skip


@dataclass(frozen=True)
class ModelChecks:
    """The residues each check flags (indices into the session's residues), their labels
    (``"GLN A40"``), the H-bond scores (as is, turned over) of ``to_turn``, the bond-length
    RMSZ, and whether the density was checked (a map was given)."""

    labels: list[str]
    rama_outliers: list[int] = field(default_factory=list)
    twisted: list[int] = field(default_factory=list)
    cis: list[int] = field(default_factory=list)
    cis_proline: list[int] = field(default_factory=list)
    clashing: list[int] = field(default_factory=list)
    weak_density: list[int] = field(default_factory=list)
    low_rscc: list[int] = field(default_factory=list)
    carbonyls: list[int] = field(default_factory=list)
    to_turn: list[int] = field(default_factory=list)
    turn_scores: list[tuple[float, float]] = field(default_factory=list)
    bond_rmsz: float = float("nan")
    density_checked: bool = False
    outside_map: int = 0
    rscc_median: float = float("nan")

    @property
    def residues(self) -> int:
        """How many residues were checked."""
        return len(self.labels)

    def named(self, check: str) -> list[str]:
        """The labels of the residues ``check`` (an attribute name) flags; for ``to_turn``
        with their scores as is and turned over."""
        if check == "to_turn":
            return [f"{self.labels[k]} {a:+.0f} -> {b:+.0f}"
                    for k, (a, b) in zip(self.to_turn, self.turn_scores)]  # fmt: skip
        return [self.labels[k] for k in getattr(self, check)]

    def lines(self) -> list[str]:
        """The checks as lines of text, a heading first."""
        head = f"Model checks ({self.residues} residues): bond-length RMSZ {self.bond_rmsz:.3f}"
        if self.density_checked and np.isfinite(self.rscc_median):
            head += f", median real-space correlation {self.rscc_median:.3f}"
        if self.density_checked and self.outside_map:
            head += f"; {self.outside_map} residues reach outside the map: not weighed in it"
        return [head] + [_line(heading, self.named(check)) for check, heading, _ in CHECKS
                         if check not in MAP_CHECKS or self.density_checked]  # fmt: skip

    def problems(self) -> list[tuple[int, str]]:
        """(residue index, what is wrong) for every residue flagged, in model order; a
        residue flagged by several checks has them joined in one line."""
        found: dict[int, list[str]] = {}
        for check, _, what in CHECKS:
            for k in getattr(self, check):
                found.setdefault(k, []).append(what)
        return [(k, "; ".join(found[k])) for k in sorted(found)]


def check_session(session: Session, dmap: DensityMap | None = None) -> ModelChecks:
    """The checks of the module for the residues of ``session`` (crystal copies from its
    cell, where it has one); the density check only with the map, ``dmap``."""
    from .contacts import polar_atoms
    from .geometry import bond_rmsz
    from .review import density_fit, peptide_flags, rama_outliers
    from .rscc import residue_rscc
    from .side_chain_edit import turned_hbond_scores
    from .sideflip import FLIP_PAIRS
    from .training.evaluate_build import clashing_residues

    labels = [f"{r.name} {r.chain}{r.seqid}{r.icode}" for r in session.residues]
    if not any(r.atoms for r in session.residues):
        return ModelChecks(labels)
    st = session.structure()
    st.setup_cell_images()  # crystal copies by every symmetry operation, not the cell's shifts
    peptides = peptide_flags(session, st)
    keys = {(r.chain, r.seqid, r.icode.strip()): k for k, r in enumerate(session.residues)}
    fit = None if dmap is None else density_fit(session, dmap)  # NaN: outside the map
    weak = [] if fit is None else np.flatnonzero(fit < WEAK_FIT).tolist()
    has_atoms = np.array([bool(r.atoms) for r in session.residues])
    outside = 0 if fit is None else int((has_atoms & ~np.isfinite(fit)).sum())
    carbonyls = [] if dmap is None else carbonyls_to_flip(session, dmap)
    rscc = None if dmap is None else residue_rscc(session, dmap, st)  # NaN: outside the map
    low_rscc = [] if rscc is None else np.flatnonzero(rscc < LOW_RSCC).tolist()
    measured = rscc[np.isfinite(rscc)] if rscc is not None else np.zeros(0)
    median_rscc = float(np.median(measured)) if len(measured) else float("nan")
    turn, polar = [], polar_atoms(session)
    for k in (k for k, r in enumerate(session.residues) if r.name in FLIP_PAIRS):
        scores = turned_hbond_scores(session, k, polar)
        if scores is not None and scores[1] > scores[0]:
            turn.append((k, scores))
    return ModelChecks(
        labels,
        rama_outliers=[int(k) for k in np.flatnonzero(rama_outliers(session, st))],
        twisted=[k for k, p in enumerate(peptides) if p == "twisted"],
        cis=[k for k, p in enumerate(peptides) if p == "cis"],
        cis_proline=[k for k, p in enumerate(peptides) if p == "cis-Pro"],
        clashing=sorted(keys[c] for c in clashing_residues(st) if c in keys),
        weak_density=weak,
        low_rscc=low_rscc,
        carbonyls=carbonyls,
        density_checked=dmap is not None,
        outside_map=outside,
        rscc_median=median_rscc,
        to_turn=[k for k, _ in turn],
        turn_scores=[s for _, s in turn],
        bond_rmsz=float(bond_rmsz(st)),
    )


def carbonyls_to_flip(session: Session, dmap: DensityMap, margin: float = O_MARGIN) -> list[int]:
    """The residues (indices) after the trans peptides of ``session`` whose O would sit in at
    least ``margin`` sigma more map turned over by 180 degrees about the C-alpha axis (what
    Flip peptide at that residue does); O outside a map that ends at its box's faces is not
    judged. On the deposited models of 1cbs, cdk2, rnasa, 3sb3 and gamma it flags 3 of their
    799 trans peptides, and 695 of them turned over and refined
    (``scripts/backbone_edit_check.py``)."""
    from .pepflip import peptide_units, turned_positions

    model, _ = session.atom_model()
    units = peptide_units(model)
    if not len(units):
        return []
    turned, now = turned_positions(model.xyz, units, 180.0)[:, 1], model.xyz[units[:, 2]]
    inside = (dmap.depth_inside(turned) >= 0) & (dmap.depth_inside(now) >= 0)
    gain = dmap.sample_points(turned) - dmap.sample_points(now)
    return sorted(int(model.residue[u[3]]) for u in units[inside & (gain >= margin)])


def off_map_note(mean_at_ca: float) -> str | None:
    """A note where a model's C-alphas sit in less map on average than
    :data:`~.settings.MODEL_IN_MAP_CA_DENSITY` (sigma): another crystal form's model, or one in
    another frame (``classify``, ``waters``, Review model); None otherwise."""
    from .settings import MODEL_IN_MAP_CA_DENSITY

    if not mean_at_ca < MODEL_IN_MAP_CA_DENSITY:
        return None
    return (f"the mean density at its C-alphas is {mean_at_ca:.2f} sigma: does the model sit in "
            "this map? (another crystal form, or another frame)")  # fmt: skip


def check_model(
    st: gemmi.Structure, dmap: DensityMap | None = None, density: bool = True
) -> ModelChecks:
    """:func:`check_session` for the amino acids of ``st`` (first model; of alternative
    conformations, the first). Crystal copies come from ``dmap``'s cell, or without a map from
    the model's own. ``density``: False where ``dmap`` is no density to weigh the residues in
    (a difference map): no weak-density check."""
    from .session import Session

    s = Session.from_structure(st, None, dmap)
    if not s.meta and st.cell.is_crystal():
        s.meta = {"cell": list(st.cell.parameters), "spacegroup": st.spacegroup_hm}
    return check_session(s, dmap if density else None)


def _line(what: str, items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN]) + (f", ... ({len(items) - SHOWN} more)"
                                        if len(items) > SHOWN else "")  # fmt: skip
    return f"  {what}: {len(items)}" + (f" ({shown})" if items else "")
