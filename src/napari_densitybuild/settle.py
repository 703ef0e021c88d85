"""A last short refinement of the whole model, after every step of the build.

Each pass of the build ends with two refinement rounds of 30 L-BFGS iterations, the second
after peptide flips, rotamer refits and side-chain flips have moved some atoms far; later steps
(joins, links, gaps, cis prolines) refine only the residues they change, with the rest held.
One more round over every atom, no flips, its non-bonded pairs found again and the L-BFGS
memory started afresh, lets the model settle: on the 13 real maps of the design draw it lowered
the all-atom RMSD of every map (summed 4.43 -> 4.38 A) and the backbone RMSD of 12 of them
(summed 1.99 -> 1.92 A), with or without the later steps. Longer is worse, not better (60
iterations: all-atom sum 4.43, backbone 2.04 A): the target (map values at atom centres plus
ideal geometry, no torsion terms) is soft along torsions, and a minimisation run far carries
atoms along them into the noise of the map (the deposited models themselves move 0.11-0.18 A
under 100 iterations, 0.08-0.10 A under 30). Judged on three fresh draws in each mode, with
and without a sequence, it lowered the summed backbone and all-atom RMSD, clashes and
Ramachandran outliers and lost no match or type (docs/build/refinement.md, "A last short
refinement").

This round reads the map by cubic interpolation between the grid nodes
(:data:`SETTLE_INTERPOLATION`; :mod:`.density_field`), where the passes read it trilinearly,
whose maxima sit on grid nodes: it takes the atoms from the nodes to the map's own peaks. On the
saved builds of one draw in each mode (13 real maps) that lowered the summed backbone RMSD by
3-5 % and the all-atom RMSD by 1 %, where a second trilinear round changed nothing; reading the
map cubically in the passes as well moved their discrete choices (start turns, types) and lost
matches (docs/build/refinement.md, "Reading the map between grid nodes").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .density_field import DensityField
from .refine import refine

if TYPE_CHECKING:
    from .maps import DensityMap
    from .refine import AtomModel

#: L-BFGS iterations of the last round (8, 15, 22 and 30 were compared on the design draw).
SETTLE_ITERATIONS = 15
#: How the last round reads the map between grid nodes (:class:`~.density_field.DensityField`).
SETTLE_INTERPOLATION = "cubic"


def settle(
    model: AtomModel,
    dmap: DensityMap,
    iterations: int = SETTLE_ITERATIONS,
    interpolation: str = SETTLE_INTERPOLATION,
    refit: bool = False,
    info: dict | None = None,
) -> np.ndarray:
    """Coordinates of ``model`` after one short round of real-space refinement against
    ``dmap``, every atom free, without flips (``model`` is not modified), the map read by
    ``interpolation`` ("cubic" or "linear"). With ``refit``, side chains with an atom out of
    density first get the library rotamer that fits the map clearly better, as between the
    passes' rounds (:func:`~.rotamers.fit_rotamers`, the map read trilinearly as there): steps
    after the passes (sequence types, gaps, links) give residues side chains that no refit has
    seen; ``info["final_rotamer_fits"]`` counts them."""
    if len(model) == 0:
        return model.xyz.copy()
    # one resampling of the map, read trilinearly by the refit (as between the passes' rounds)
    # and by ``interpolation`` in the round; side chains move well within its margin
    field = DensityField(dmap, model.xyz, interpolation=interpolation)
    if refit:
        from dataclasses import replace

        from .rotamers import fit_rotamers
        from .symmetry import Symmetry

        xyz, changed = fit_rotamers(model.xyz, model, field.read_as("linear"),
                                    Symmetry.of_map(dmap))  # fmt: skip
        model = replace(model, xyz=xyz)
        if info is not None:
            info["final_rotamer_fits"] = len(changed)
    return refine(model, dmap, rounds=1, iterations=iterations, field=field)
