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
Ramachandran outliers and lost no match or type (docs/build.md, "A last short refinement").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .refine import refine

if TYPE_CHECKING:
    from .maps import DensityMap
    from .refine import AtomModel

#: L-BFGS iterations of the last round (8, 15, 22 and 30 were compared on the design draw).
SETTLE_ITERATIONS = 15


def settle(model: AtomModel, dmap: DensityMap, iterations: int = SETTLE_ITERATIONS) -> np.ndarray:
    """Coordinates of ``model`` after one short round of real-space refinement against
    ``dmap``, every atom free, without flips or refits (``model`` is not modified)."""
    return refine(model, dmap, rounds=1, iterations=iterations)
