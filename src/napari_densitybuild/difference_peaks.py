"""Difference-map peaks near a model, largest first (as Coot's "Difference Map Peaks" lists
them).

In a model-phased mFo-DFc map (:mod:`~.model_maps`) a positive peak is density the data
want and the model lacks (a side chain in another rotamer, a missing water or atom), a
negative one is model the data do not support (an atom placed wrong, too many atoms, a
residue whose side chain is disordered). :func:`difference_peaks` samples the map on a
Cartesian grid over the model, keeps local maxima of +map and of -map at or above ``level``
sigma within ``within`` A of an atom (crystal copies included; peaks that look like waters up to
the far end of :data:`WATER_RANGE`), and names the nearest atom. Nothing here imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.ndimage import maximum_filter
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from .maps import DensityMap

#: Height (sigma) of a reported peak, as refinement programs flag them.
PEAK_SIGMA = 3.5
#: Largest distance (A) from a model atom of a reported peak.
PEAK_DISTANCE = 3.0
#: Grid spacing (A) the map is sampled at.
SPACING = 0.4
#: A positive peak this far (A) from a polar N or O atom, and no nearer to any atom than the
#: least of that range, looks like a water (the H-bond distances of ordered waters).
WATER_RANGE = (2.4, 3.4)


@dataclass(frozen=True)
class DifferencePeak:
    """One peak: ``xyz`` (x, y, z, A), ``height`` in sigma (negative for a negative peak),
    ``atom`` the index of the nearest model atom and ``distance`` to it (A); ``water`` when it
    looks like an ordered water (:data:`WATER_RANGE`)."""

    xyz: tuple[float, float, float]
    height: float
    atom: int
    distance: float
    water: bool = False


def difference_peaks(
    dmap: DensityMap,
    xyz: np.ndarray,
    level: float = PEAK_SIGMA,
    within: float = PEAK_DISTANCE,
    spacing: float = SPACING,
    polar: np.ndarray | None = None,
) -> list[DifferencePeak]:
    """Peaks of the difference map ``dmap`` (sigma units) near the atoms ``xyz`` (N, 3; x, y,
    z), the largest |height| first; with ``polar`` (N, True for N and O atoms) the peaks that
    look like waters are marked, and come after the others.

    Examples
    --------
    >>> peaks = difference_peaks(read_map("maps.mtz", difference=True), xyz)  # doctest: +SKIP
    >>> peaks[0].height, peaks[0].distance  # doctest: +SKIP
    (-6.1, 0.3)
    """
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    if not len(xyz):
        return []
    reach = max(within, WATER_RANGE[1])
    data, origin, step = dmap.resample_cartesian(
        xyz.min(0) - reach, xyz.max(0) + reach, spacing=spacing, near=xyz, reach=reach
    )
    # the model's atoms and their crystal copies near the region: the nearest atom of a peak
    # may be a copy's (it is named by the atom it copies)
    from .symmetry import Symmetry

    margin = within + WATER_RANGE[1]
    sym = Symmetry.of_map(dmap)
    images = sym.images(xyz, box=(xyz.min(0) - margin, xyz.max(0) + margin))
    tree, source = cKDTree(images["xyz"]), images["src"]
    turn = sym.cart_rotations()[images["op"]]  # (M, 3, 3): image = turn @ atom + translation
    is_polar = None if polar is None else np.asarray(polar, bool)[source]
    polar_tree = (
        cKDTree(images["xyz"][is_polar]) if is_polar is not None and is_polar.any() else None
    )
    found, seen = [], set()
    for sign in (1.0, -1.0):
        values = sign * data
        top = (values >= level) & (values == maximum_filter(values, size=3, mode="nearest"))
        k, j, i = np.nonzero(top)
        points = origin + step * np.column_stack([i, j, k])
        distance, image = tree.query(points)
        atom = source[image]
        # each peak where it lies beside the atom it is named by (not beside a crystal copy)
        offset = np.einsum("nba,nb->na", turn[image], points - images["xyz"][image])
        points = xyz[atom] + offset
        water = np.zeros(len(points), bool)
        if polar_tree is not None and sign > 0 and len(points):
            to_polar = polar_tree.query(points)[0]
            water = (distance >= WATER_RANGE[0]) & (to_polar <= WATER_RANGE[1])
        for p, h, d, a, w in zip(points, values[k, j, i], distance, atom, water):
            # a peak seen twice (itself and its crystal copy, both near the model) once
            key = (int(a), round(float(h), 1), round(float(d), 1))
            if (d <= within or (w and d <= WATER_RANGE[1])) and key not in seen:
                seen.add(key)
                found.append(DifferencePeak(tuple(map(float, p)), float(sign * h), int(a),
                                            float(d), bool(w)))  # fmt: skip
    return sorted(found, key=lambda p: (p.water, -abs(p.height)))
