"""What to look at in a model before it is deposited: the review panel's checks, whole-model.

:func:`check_model` lists, for every amino acid of a model, what a crystallographer fixes
before deposition and what the review panel flags one residue at a time: Ramachandran
outliers (``data/rama.npz``, as ``evaluate`` counts them), twisted peptides (never right) and
cis peptides (before a proline: uncommon; before anything else: rare), residues in impossible
contacts (a heavy atom within 2.2 A of one of another residue that is not its chain neighbour,
crystal copies included), the bond-length RMSZ against the ideal lengths, and the ASN, GLN and
HIS whose H-bonds would score higher turned over (:mod:`.side_chain_edit`, :mod:`.sideflip`'s
count). ``densitybuild info MAP MODEL`` prints it. Nothing here imports Qt or napari.

Examples
--------
>>> checks = check_model(read_structure("model.cif"), read_map("map.mtz"))  # doctest: +SKIP
>>> print("\\n".join(checks.lines()))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import gemmi

    from .maps import DensityMap

#: Residues named per line of :meth:`ModelChecks.lines` (the rest counted).
SHOWN = 10
CLASH_LINE = "residues in impossible contacts (heavy atoms under 2.2 A, crystal copies included)"


@dataclass(frozen=True)
class ModelChecks:
    """The residues (``"GLN A40"``) each check flags, and the bond-length RMSZ."""

    residues: int
    rama_outliers: list[str] = field(default_factory=list)
    twisted: list[str] = field(default_factory=list)
    cis: list[str] = field(default_factory=list)
    cis_proline: list[str] = field(default_factory=list)
    clashing: list[str] = field(default_factory=list)
    to_turn: list[tuple[str, float, float]] = field(default_factory=list)
    bond_rmsz: float = float("nan")

    def lines(self) -> list[str]:
        """The checks as lines of text, a heading first."""
        turn = [f"{label} {a:+.0f} -> {b:+.0f}" for label, a, b in self.to_turn]
        return [
            f"Model checks ({self.residues} residues): bond-length RMSZ {self.bond_rmsz:.3f}",
            _line("Ramachandran outliers", self.rama_outliers),
            _line("twisted peptides (omega 30-150 degrees from flat: never right)", self.twisted),
            _line("cis peptides before a residue other than proline (rare)", self.cis),
            _line("cis peptides before a proline", self.cis_proline),
            _line(CLASH_LINE, self.clashing),
            _line("ASN, GLN and HIS whose H-bonds would score higher turned over", turn),
        ]


def check_model(st: gemmi.Structure, dmap: DensityMap | None = None) -> ModelChecks:
    """The checks of the module for the amino acids of ``st`` (first model; of alternative
    conformations, the first). ``dmap``: the model's map, whose cell gives the crystal copies
    for the H-bonds (the contacts use the model's own cell); None: the model's cell alone."""
    from .geometry import bond_rmsz
    from .review import peptide_flags, rama_outliers
    from .session import Session
    from .side_chain_edit import turned_hbond_scores
    from .training.evaluate_build import clashing_residues

    s = Session.from_structure(st, None, dmap)
    if not s.residues:
        return ModelChecks(0)
    if not s.meta and st.cell.is_crystal():  # no map: the model's own crystal
        s.meta = {"cell": list(st.cell.parameters), "spacegroup": st.spacegroup_hm}
    labels = [f"{r.name} {r.chain}{r.seqid}{r.icode}" for r in s.residues]
    model = s.structure()
    rama = rama_outliers(s, model)
    peptides = peptide_flags(s, model)
    keys = {(r.chain, r.seqid, r.icode.strip()): k for k, r in enumerate(s.residues)}
    clash = sorted(keys[c] for c in clashing_residues(st) if c in keys)
    turn = []
    for k in range(len(s.residues)):
        scores = turned_hbond_scores(s, k)
        if scores is not None and scores[1] > scores[0]:
            turn.append((labels[k], *scores))
    return ModelChecks(
        residues=len(s.residues),
        rama_outliers=[labels[k] for k in np.flatnonzero(rama)],
        twisted=[labels[k] for k, p in enumerate(peptides) if p == "twisted"],
        cis=[labels[k] for k, p in enumerate(peptides) if p == "cis"],
        cis_proline=[labels[k] for k, p in enumerate(peptides) if p == "cis-Pro"],
        clashing=[labels[k] for k in clash],
        to_turn=turn,
        bond_rmsz=float(bond_rmsz(st)),
    )


def _line(what: str, items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN]) + (f", ... ({len(items) - SHOWN} more)"
                                        if len(items) > SHOWN else "")  # fmt: skip
    return f"  {what}: {len(items)}" + (f" ({shown})" if items else "")
