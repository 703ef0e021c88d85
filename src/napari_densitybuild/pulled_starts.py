"""Fragment starts that pull the next residue's N out of density, left out.

A fragment's first residue has nothing before it to hold it, and where the trace began a
fragment one residue early (on a water, a side chain, a neighbour's backbone), that residue is
in no deposited residue's place, and its peptide holds the second residue's N where the map
has none. On saved builds of 13 real maps (2026-12-06; two draws in each mode, fragments of
three or more residues), 104 of 240 first residues matched no deposited C-alpha within 1 A.
Turning the second residue's N about its CA-C axis (the start turn of :mod:`.termini`, as if
it began the fragment) tells them apart: where that finds more than :data:`N_GAIN` sigma more
density at N than the peptide leaves it, the first residue matched nothing in all 46 such
starts, and in 20 of them the turn would put the N within 1 A of the deposited one.

:func:`without_pulled_starts` leaves those first residues out and, given the map, refines the
residues beside them again (rotamer fit and start turns, every other atom held), so the new
first residue's N can turn into its density (docs/build.md, "Fragment starts that pull the
next N out of density").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .build_result import recount
from .geometry import rotate_about
from .joins import refine_beside
from .termini import STEP_DEGREES

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .maps import DensityMap

#: Least gain (sigma) of the map at the second residue's N, turned about its CA-C axis, over
#: where the first residue's peptide holds it, for the first residue to be left out.
N_GAIN = 1.0


def pulled_starts(result: BuildResult, dmap: DensityMap, gain: float = N_GAIN) -> np.ndarray:
    """(N,) True at the first residues of fragments of three or more whose second residue's N
    gains more than ``gain`` sigma at its best turn about that residue's CA-C axis (see module).
    """
    m = result.model
    n_res = len(m.resname)
    linked = np.asarray(m.linked, dtype=bool)
    out = np.zeros(n_res, dtype=bool)
    angles = np.arange(0.0, 360.0, STEP_DEGREES)
    for r in range(n_res - 2):
        if linked[r] or not (linked[r + 1] and linked[r + 2]):
            continue
        atoms = m.residue_atoms(r + 1)
        if not all(k in atoms for k in ("N", "CA", "C")):
            continue
        n, ca, c = (m.xyz[atoms[k]] for k in ("N", "CA", "C"))
        turned = rotate_about(n[None], ca, c - ca, angles)[:, 0]  # angles[0] = 0: as it is
        rho = dmap.sample_points(turned)
        out[r] = rho.max() - rho[0] > gain
    return out


def without_pulled_starts(
    result: BuildResult, aligned: np.ndarray, dmap: DensityMap, refine: bool = True
) -> tuple[BuildResult, np.ndarray]:
    """``result`` without the fragment starts of :func:`pulled_starts`; with ``refine``, the
    residues beside them refined again against ``dmap``, every other atom held.

    Returns
    -------
    tuple
        The result (``report["pulled_starts_left_out"]`` set, its counts updated with
        ``aligned``) and the (N,) mask of the residues kept.
    """
    drop = pulled_starts(result, dmap)
    result.report.update(pulled_starts_left_out=int(drop.sum()))
    if not drop.any():
        return result, ~drop
    out = result.subset(~drop)
    recount(out, aligned[~drop])
    if refine:
        out.model.xyz = refine_beside(out, result.trace.fragment, ~drop, dmap)
    return out, ~drop
