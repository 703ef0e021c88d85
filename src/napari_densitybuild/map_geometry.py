"""The geometry of a map's unit cell and grid: which cells and voxel spacings a density map can
have (:func:`check_cell`), the Cartesian box of a cell, and the blocks of a lattice near points.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gemmi
import numpy as np

from .errors import MapReadError

#: Edge (voxels) of the blocks that :meth:`DensityMap.resample_cartesian` samples near points.
BLOCK = 16

#: Shortest and longest unit-cell edge (Angstrom) of a density map. No crystal has an edge under
#: about 2 A (the closest atoms: hexagonal beryllium's a is 2.29 A; protein crystals none under
#: about 20 A), and a header that gives 1 A is a placeholder (cryo-EM models' CRYST1 1 1 1). The
#: largest cells in the PDB are around 1,000-2,000 A (virus crystals up to about 1,500 A) and
#: cryo-EM boxes reach a few thousand A (1,024 voxels of 3 A); 20,000 A (2 um) leaves ten times
#: the largest crystal cell and still refuses a header that gives 1e5 A or 1e30 A.
CELL_EDGE_RANGE = (2.0, 20_000.0)
#: Shortest and longest voxel spacing (cell edge / grid points, Angstrom) of a density map. Maps
#: are sampled at a third to a half of their resolution: 0.2-0.5 A at atomic resolution, 1-4 A
#: for low-resolution cryo-EM, 10-30 A for binned tomograms. A grid point every 0.01 A or every
#: 50 A (a whole protein domain) is not a density map but a wrong cell or grid in the header.
VOXEL_RANGE = (0.01, 50.0)
#: Farthest (Angstrom, along x, y or z) a map's origin or a model's atom can be from 0: five of
#: the longest cell edges accepted (:data:`CELL_EDGE_RANGE`), and ten times what the PDB format
#: can write (9999.999 A). Positions farther out are header or file faults; in float arithmetic
#: they also leave nothing of the map's sub-Angstrom detail (1e30 A - 1e30 A is 0).
FARTHEST = 100_000.0


def check_cell(path: Path, cell: gemmi.UnitCell, grid: Sequence[int] | None = None) -> None:
    """Refuse a unit cell that no crystal or box has: an edge not a positive finite number or
    outside :data:`CELL_EDGE_RANGE`, angles that leave no room between the edges (NaN or
    near-zero volume), or, given the cell's ``grid`` (points along a, b, c), a voxel spacing
    outside :data:`VOXEL_RANGE`.

    Raises
    ------
    MapReadError
        Saying which cell (and grid) the file's header gives.
    """
    edges = np.array([cell.a, cell.b, cell.c])
    angles = np.array([cell.alpha, cell.beta, cell.gamma])
    volume = float(cell.volume)
    room = volume / float(np.prod(edges)) if np.all(np.isfinite(edges) & (edges > 0)) else 0.0
    shown = " ".join(f"{v:g}" for v in (*edges, *angles))
    if not (np.all(np.isfinite(angles)) and np.isfinite(volume) and room > 1e-3):
        raise MapReadError(
            f"{path}: the header gives an impossible unit cell ({shown}): the edges must be "
            "positive and the angles leave room between them; fix the file's cell"
        )
    low, high = CELL_EDGE_RANGE
    if not np.all((edges >= low) & (edges <= high)):
        raise MapReadError(
            f"{path}: the header gives an impossible unit cell ({shown}): no crystal or cryo-EM "
            f"box has an edge under {low:g} A or over {high:g} A; fix the file's cell"
        )
    if grid is None:
        return
    spacing = edges / np.maximum(np.asarray(grid, dtype=float), 1.0)
    low, high = VOXEL_RANGE
    if not np.all((spacing >= low) & (spacing <= high)):
        raise MapReadError(
            f"{path}: the header's cell ({shown}) over a grid of "
            f"{'x'.join(str(int(n)) for n in grid)} points gives voxels of "
            f"{' x '.join(f'{v:.3g}' for v in spacing)} A, not a density map's {low:g}-{high:g} "
            "A; fix the file's cell or grid sampling (MX, MY, MZ)"
        )


def check_origin(path: Path, origin: Sequence[float]) -> None:
    """Refuse a map origin (x, y, z, Angstrom) farther than :data:`FARTHEST` from 0.

    Raises
    ------
    MapReadError
        Saying which origin the file's header gives.
    """
    if np.max(np.abs(np.asarray(origin, dtype=float))) > FARTHEST:
        shown = " ".join(f"{v:g}" for v in origin)
        raise MapReadError(
            f"{path}: the header's ORIGIN ({shown}) lies over {FARTHEST:,.0f} A from 0, farther "
            "than any map reaches; fix the file's origin"
        )


def check_region(path: Path, lo: np.ndarray, hi: np.ndarray) -> None:
    """Refuse a map whose data (world box ``lo`` to ``hi``, x, y, z) reach farther than
    :data:`FARTHEST` from 0: a header's start (NXSTART...) or origin that no map has.

    Raises
    ------
    MapReadError
        Saying where the header puts the data.
    """
    if max(np.max(np.abs(lo)), np.max(np.abs(hi))) > FARTHEST:
        shown = " to ".join(", ".join(f"{v:g}" for v in corner) for corner in (lo, hi))
        raise MapReadError(
            f"{path}: the header puts the map's data at x, y, z {shown} A, over "
            f"{FARTHEST:,.0f} A from 0, farther than any map reaches (its NXSTART, NYSTART, "
            "NZSTART or ORIGIN); fix the file's header"
        )


def cell_bounding_box(cell: gemmi.UnitCell) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian bounding box (x, y, z min and max) of the parallelepiped of one unit cell."""
    corners = np.array(
        [cell.orthogonalize(gemmi.Fractional(i, j, k)).tolist() for i in (0, 1) for j in (0, 1)
         for k in (0, 1)]
    )  # fmt: skip
    return corners.min(0), corners.max(0)


def blocks_near(
    lo: np.ndarray, spacing: float, shape: tuple[int, int, int], points: np.ndarray, reach: float
) -> np.ndarray:
    """(M, 3) (k, j, i) start indices of the :data:`BLOCK` ^3 blocks of a (z, y, x) lattice at
    ``lo + spacing * (i, j, k)`` that may hold a voxel within ``reach`` A of one of ``points``
    (every block that does, and those whose bounding sphere comes that close)."""
    from scipy.spatial import cKDTree

    points = np.asarray(points, dtype=float).reshape(-1, 3)
    counts = [int(np.ceil(s / BLOCK)) for s in shape]
    starts = np.stack(np.meshgrid(*[np.arange(c) * BLOCK for c in counts], indexing="ij"), -1)
    starts = starts.reshape(-1, 3)
    if not len(points):
        return starts[:0]
    ends = np.minimum(starts + BLOCK, shape) - 1
    centre = lo + spacing * ((starts + ends) / 2)[:, ::-1]  # world x, y, z
    half = spacing * np.linalg.norm((ends - starts) / 2, axis=1)  # centre to a corner
    dist, _ = cKDTree(points).query(centre, distance_upper_bound=reach + half.max() + 1e-6)
    return starts[dist <= reach + half]
