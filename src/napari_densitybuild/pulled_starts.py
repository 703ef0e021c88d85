"""Fragment termini that pull a neighbour's backbone out of density, left out.

A fragment's first residue has nothing before it to hold it, and where the trace began a
fragment one residue early (on a water, a side chain, a neighbour's backbone), that residue is
in no deposited residue's place, and its peptide holds the second residue's N where the map
has none. On saved builds of 13 real maps (2026-12-06; two draws in each mode, fragments of
three or more residues), 104 of 240 first residues matched no deposited C-alpha within 1 A.
Turning the second residue's N about its CA-C axis (the start turn of :mod:`.termini`, as if
it began the fragment) tells them apart: where that finds more than :data:`N_GAIN` sigma more
density at N than the peptide leaves it, the first residue matched nothing in all 46 such
starts, and in 20 of them the turn would put the N within 1 A of the deposited one.

A fragment's last residue is the mirror case: where the trace ran one residue too far, its
peptide holds the C and O of the residue before where the map has none. Turning those about
that residue's N-CA axis (the end turn) finds more than :data:`CO_GAIN` sigma more density,
summed at C and O, for 16 of 240 last residues of the same builds, all 16 matching nothing.

:func:`without_pulled` leaves those first (with ``ends``, last) residues out and, given the
map, refines the residues beside them again (rotamer fit and start turns, with end turns at the
ends; every other atom held), so the new first residue's N (last residue's C and O) can turn
into its density (docs/build/fragments.md, "Fragment starts that pull the next N out of density" and
"Fragment ends that pull the C and O before them out of density").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .geometry import rotate_about
from .joins import leave_out
from .termini import STEP_DEGREES

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .maps import DensityMap

#: Least gain (sigma) of the map at the second residue's N, turned about its CA-C axis, over
#: where the first residue's peptide holds it, for the first residue to be left out.
N_GAIN = 1.0
#: Least gain (sigma) of the map summed at the second-to-last residue's C and O, turned about
#: its N-CA axis, over where the last residue's peptide holds them, for the last to be left out.
CO_GAIN = 1.0


def _best_gain(dmap: DensityMap, points: np.ndarray, origin: np.ndarray, axis: np.ndarray) -> float:
    """Gain (sigma) of the map summed at ``points`` at their best turn about ``axis`` through
    ``origin`` (the turns of :data:`~.termini.STEP_DEGREES`) over where they are."""
    angles = np.arange(0.0, 360.0, STEP_DEGREES)  # angles[0] = 0: as it is
    turned = rotate_about(points, origin, axis, angles)  # (K, P, 3)
    rho = dmap.sample_points(turned.reshape(-1, 3)).reshape(len(angles), -1).sum(1)
    return float(rho.max() - rho[0])


def _termini(result: BuildResult, dmap: DensityMap, ends: bool, gain: float) -> np.ndarray:
    """The mask of :func:`pulled_starts` (``ends`` False) or :func:`pulled_ends`."""
    m = result.model
    n_res = len(m.resname)
    linked = np.append(np.asarray(m.linked, dtype=bool), False)  # nothing after the last
    out = np.zeros(n_res, dtype=bool)
    for r in range(n_res):
        if ends:  # r last of a fragment of three or more; r - 1 the residue turned
            inner, need = r - 1, ("N", "CA", "C", "O")
            if r < 2 or not (linked[r] and linked[r - 1]) or linked[r + 1]:
                continue
        else:  # r first of a fragment of three or more; r + 1 the residue turned
            inner, need = r + 1, ("N", "CA", "C")
            if linked[r] or r + 2 >= n_res or not (linked[r + 1] and linked[r + 2]):
                continue
        atoms = m.residue_atoms(inner)
        if not all(k in atoms for k in need):
            continue
        n, ca, c = (m.xyz[atoms[k]] for k in ("N", "CA", "C"))
        if ends:
            g = _best_gain(dmap, np.stack([c, m.xyz[atoms["O"]]]), n, ca - n)
        else:
            g = _best_gain(dmap, n[None], ca, c - ca)
        out[r] = g > gain
    return out


def pulled_starts(result: BuildResult, dmap: DensityMap, gain: float = N_GAIN) -> np.ndarray:
    """(N,) True at the first residues of fragments of three or more whose second residue's N
    gains more than ``gain`` sigma at its best turn about that residue's CA-C axis (see module).
    """
    return _termini(result, dmap, False, gain)


def pulled_ends(result: BuildResult, dmap: DensityMap, gain: float = CO_GAIN) -> np.ndarray:
    """(N,) True at the last residues of fragments of three or more where turning the residue
    before's C and O about its N-CA axis gains more than ``gain`` sigma, summed at the two
    (see module)."""
    return _termini(result, dmap, True, gain)


def without_pulled(
    result: BuildResult,
    aligned: np.ndarray,
    dmap: DensityMap,
    refine: bool = True,
    ends: bool = False,
) -> tuple[BuildResult, np.ndarray]:
    """``result`` without the fragment starts of :func:`pulled_starts` (with ``ends``, the
    fragment ends of :func:`pulled_ends`); with ``refine``, the residues beside them refined
    again against ``dmap`` (end turns included at the ends), every other atom held.

    Returns
    -------
    tuple
        The result (``report["pulled_starts_left_out"]`` or ``["pulled_ends_left_out"]`` set,
        its counts updated with ``aligned``) and the (N,) mask of the residues kept.
    """
    drop = _termini(result, dmap, ends, CO_GAIN if ends else N_GAIN)
    result.report[f"pulled_{'ends' if ends else 'starts'}_left_out"] = int(drop.sum())
    return leave_out(result, aligned, drop, dmap if refine else None, end_turns=ends)
