"""Unmodelled blobs: density a model leaves unexplained, largest first (as Coot lists them).

After an automatic build, the places to look are where the map has density and the model has
nothing: a loop or a chain end the trace left out, a ligand, a glycan, an ion or a cluster of
waters. :func:`unmodelled_blobs` samples the map on a Cartesian grid over the model and
``margin`` around it, keeps grid points at or above ``level`` sigma that are more than
``clearance`` from every atom of the model and of its crystal copies, joins them into connected
blobs (26-neighbour), and returns those of at least ``min_volume`` cubic Angstrom, largest
density sum first. Single waters at these resolutions make blobs of a few cubic Angstrom, a
missing residue 20-60. Nothing here imports Qt or napari.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import DensityBuildError

if TYPE_CHECKING:
    from .maps import DensityMap

#: Map level (sigma) of a blob, distance (A) kept from the model's atoms, grid spacing (A).
LEVEL, CLEARANCE, SPACING = 1.5, 2.0, 0.7
#: Smallest blob reported (cubic Angstrom).
MIN_VOLUME = 15.0
#: Largest grid sampled (points); a bigger region is sampled more coarsely.
MAX_POINTS = 20_000_000


@dataclass(frozen=True)
class Blob:
    """One unmodelled blob: ``centre`` (x, y, z, A) is its highest point; ``volume`` in cubic A
    above the level; ``peak`` the highest map value (sigma); ``score`` the sum of the map
    values over the blob times the voxel volume (sigma x A^3)."""

    centre: tuple[float, float, float]
    volume: float
    peak: float
    score: float


def unmodelled_blobs(
    dmap: DensityMap,
    xyz: np.ndarray,
    level: float = LEVEL,
    clearance: float = CLEARANCE,
    margin: float = 5.0,
    spacing: float = SPACING,
    min_volume: float = MIN_VOLUME,
) -> list[Blob]:
    """Blobs of density at or above ``level`` more than ``clearance`` from the model.

    Parameters
    ----------
    dmap
        The map (sigma units).
    xyz
        (N, 3) Cartesian positions of the model's atoms (its crystal copies are added from the
        map's symmetry).
    level, clearance, margin, spacing, min_volume
        Contour (sigma), distance kept from atoms (A), region around the model (A), grid
        spacing (A), smallest blob kept (A^3).

    Returns
    -------
    list of Blob
        Largest ``score`` first.

    Raises
    ------
    DensityBuildError
        If the model has no atoms.
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    from .symmetry import Symmetry

    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    xyz = xyz[np.isfinite(xyz).all(1)]
    if not len(xyz):
        raise DensityBuildError("the model has no atoms: nothing to compare the map with")
    lo, hi = xyz.min(0) - margin, xyz.max(0) + margin
    if not dmap.periodic:  # a box (cryo-EM): only where it has data
        lo, hi = np.maximum(lo, dmap.data_min), np.minimum(hi, dmap.data_max)
        if (hi <= lo).any():
            return []
    n_points = np.prod((hi - lo) / spacing + 1)
    if n_points > MAX_POINTS:
        spacing *= float((n_points / MAX_POINTS) ** (1 / 3))
    axes = [np.arange(a, b + 1e-9, spacing) for a, b in zip(lo, hi)]
    shape = tuple(len(a) for a in axes)
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    values = dmap.sample_points(grid).reshape(shape)
    inside = values >= level
    if not inside.any():
        return []
    # the model and its crystal copies (the model lies inside the box, so it is among them)
    atoms = Symmetry.of_map(dmap).images(xyz, box=(lo - clearance, hi + clearance))["xyz"]
    candidates = np.flatnonzero(inside.ravel())
    dist, _ = cKDTree(atoms).query(grid[candidates], distance_upper_bound=clearance)
    free = np.zeros(values.size, dtype=bool)
    free[candidates[~np.isfinite(dist)]] = True
    labels, n = ndimage.label(free.reshape(shape), structure=np.ones((3, 3, 3), dtype=bool))
    if not n:
        return []
    index = np.arange(1, n + 1)
    voxel = spacing**3
    counts = ndimage.sum_labels(np.ones(shape), labels, index)
    sums = ndimage.sum_labels(values, labels, index)
    peaks = ndimage.maximum(values, labels, index)
    where = ndimage.maximum_position(values, labels, index)
    blobs = [
        Blob(tuple(float(axes[a][w[a]]) for a in range(3)), float(c * voxel), float(p),
             float(s * voxel))
        for c, s, p, w in zip(counts, sums, peaks, where)
        if c * voxel >= min_volume
    ]  # fmt: skip
    return sorted(blobs, key=lambda b: -b.score)
