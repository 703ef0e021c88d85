"""DensityMap: a density map on one periodic unit cell, in sigma units, and how it is sampled.

Everything downstream samples the map through :meth:`DensityMap.sample_transform` or
:meth:`DensityMap.sample_points`, so non-orthogonal cells, symmetry (periodicity) and origins are
handled in one place. Files become DensityMaps in :mod:`.map_reader`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import gemmi
import numpy as np

from .map_geometry import BLOCK, blocks_near, cell_bounding_box

#: Largest Cartesian volume (voxels) resampled for display before the spacing is coarsened.
MAX_DISPLAY_VOXELS = 2**25


@dataclass(eq=False)
class DensityMap:
    """A density map on one periodic unit cell, scaled to sigma units (mean 0, sd 1).

    Attributes
    ----------
    grid
        The map over one whole unit cell, with its cell and space group; voxels the file did not
        cover are 0.
    offset
        Cartesian shift (x, y, z, Angstrom) from grid positions to world positions.
    data_min, data_max
        Cartesian bounding box (x, y, z) of the region the file covered, in world coordinates.
    covers_cell
        True when the file covered the whole unit cell, or its symmetry copies did (an
        asymmetric unit; ``info["filled_by_symmetry"]``): the map is then periodic.
    resolution
        High-resolution limit in Angstrom, when known.
    kind
        ``"xray"`` for crystallographic maps, ``"em"`` for cryo-EM boxes.
    source
        Path of the file it was read from (or a description).
    info
        Extra facts for the user (MTZ columns used, raw mean and sd, ...).
    """

    grid: gemmi.FloatGrid
    offset: np.ndarray = field(default_factory=lambda: np.zeros(3))
    data_min: np.ndarray | None = None
    data_max: np.ndarray | None = None
    covers_cell: bool = True
    resolution: float | None = None
    kind: str = "xray"
    source: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.offset = np.asarray(self.offset, dtype=float)
        if self.data_min is None or self.data_max is None:
            lo, hi = cell_bounding_box(self.grid.unit_cell)
            self.data_min, self.data_max = lo + self.offset, hi + self.offset

    # -- facts ---------------------------------------------------------------------------------
    @property
    def cell(self) -> gemmi.UnitCell:
        """The unit cell (a, b, c in Angstrom, angles in degrees)."""
        return self.grid.unit_cell

    @property
    def spacegroup(self) -> gemmi.SpaceGroup:
        """The space group (P 1 for cryo-EM maps)."""
        return self.grid.spacegroup or gemmi.SpaceGroup("P 1")

    @property
    def voxel_size(self) -> np.ndarray:
        """Grid spacing along a, b, c in Angstrom."""
        c = self.cell
        return np.array([c.a / self.grid.nu, c.b / self.grid.nv, c.c / self.grid.nw])

    def summary(self) -> str:
        """One line for the user: kind, cell, space group, grid, resolution, and where the
        values came from (MTZ columns; symmetry copies for a file of part of the cell)."""
        c = self.cell
        res = f"{self.resolution:.2f} A" if self.resolution else "unknown resolution"
        if self.resolution and self.info.get("resolution_from"):
            res += f" ({self.info['resolution_from']})"
        extra = ""
        if self.info.get("columns"):
            extra += f", columns {'/'.join(self.info['columns'])}"
        if self.info.get("filled_by_symmetry"):
            extra += ", the cell filled from the file's part by symmetry"
        elif not self.covers_cell:
            extra += ", the file covers part of the cell"
        if self.info.get("zero_voxels"):
            extra += f", {self.info['zero_voxels']} voxels exactly 0 (mask or padding) left out"
        for message in self.info.get("notes", ()):
            extra += f"; note: {message}"
        return (
            f"{Path(self.source).name}: {self.kind} map, cell {c.a:.2f} {c.b:.2f} {c.c:.2f} "
            f"{c.alpha:.1f} {c.beta:.1f} {c.gamma:.1f}, {self.spacegroup.hm}, grid "
            f"{self.grid.nu}x{self.grid.nv}x{self.grid.nw}, {res}{extra}"
        )

    @property
    def periodic(self) -> bool:
        """True for a crystal map over its whole cell (values repeat across the cell's faces);
        a cryo-EM box, or a file of part of a cell, ends at the faces of its data."""
        return self.kind == "xray" and self.covers_cell

    def depth_inside(self, xyz: np.ndarray) -> np.ndarray:
        """(N,) distance (A) of world points ``xyz`` (N, 3) from the nearest face of the region
        the file covered: negative outside it, infinite everywhere in a periodic map."""
        xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
        if self.periodic:
            return np.full(len(xyz), np.inf)
        return np.minimum(xyz - self.data_min, self.data_max - xyz).min(axis=1)

    # -- sampling ------------------------------------------------------------------------------
    def sample_transform(
        self, matrix: np.ndarray, origin: np.ndarray, shape: tuple[int, int, int], order: int = 1
    ) -> np.ndarray:
        """Sample the map on a regular lattice: ``world = origin + matrix @ (i, j, k)``.

        Parameters
        ----------
        matrix
            3x3 matrix whose columns are the world (x, y, z) steps of the array's three indices.
        origin
            World position (x, y, z) of element [0, 0, 0].
        shape
            Output array shape.
        order
            1 for trilinear, 3 for tricubic interpolation.

        Returns
        -------
        numpy.ndarray
            float32 array of ``shape``.
        """
        out = np.zeros(shape, dtype=np.float32)
        tr = gemmi.Transform()
        tr.mat.fromlist(np.asarray(matrix, dtype=float).tolist())
        tr.vec.fromlist((np.asarray(origin, dtype=float) - self.offset).tolist())
        self.grid.interpolate_values(out, tr, order=order)
        return out

    def sample_points(self, xyz: np.ndarray, order: int = 1) -> np.ndarray:
        """Map values (sigma) at world positions ``xyz`` (N, 3), interpolated periodically."""
        pts = np.ascontiguousarray(np.asarray(xyz, dtype=np.float64).reshape(-1, 3) - self.offset)
        return np.asarray(self.grid.interpolate_position_array(pts, order=order))

    def display_region(
        self, margin: float = 5.0, around: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """World bounding box (x, y, z min and max) to show.

        A crystallographic map that covers its cell is shown over the whole unit cell plus
        ``margin`` (so a molecule at a cell edge is whole), or over ``around`` (atom positions,
        N x 3) plus ``margin`` when given. Other maps are shown over the region they cover.
        """
        if around is not None and len(around):
            pts = np.asarray(around, dtype=float).reshape(-1, 3)
            return pts.min(0) - margin, pts.max(0) + margin
        if self.periodic:
            lo, hi = cell_bounding_box(self.cell)
            return lo + self.offset - margin, hi + self.offset + margin
        return self.data_min.copy(), self.data_max.copy()

    def resample_cartesian(
        self,
        lo: np.ndarray,
        hi: np.ndarray,
        spacing: float = 0.5,
        order: int = 1,
        max_voxels: int = MAX_DISPLAY_VOXELS,
        near: np.ndarray | None = None,
        reach: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Resample the box [lo, hi] (world x, y, z) onto an orthogonal (z, y, x) grid.

        The spacing grows if the box would exceed ``max_voxels``. With ``near`` (N x 3 world
        points), only the blocks of :data:`BLOCK` ^3 voxels within ``reach`` A of a point are
        sampled (:func:`blocks_near`; the same lattice and values) and the rest is left 0: a
        model spread over a large cell then costs its own volume, not its bounding box's.

        Returns
        -------
        data, origin_xyz, spacing
            ``data[k, j, i]`` is the value at world ``origin_xyz + spacing * (i, j, k)``.
        """
        lo = np.asarray(lo, dtype=float)
        hi = np.asarray(hi, dtype=float)
        extent = np.maximum(hi - lo, spacing)
        n = np.ceil(extent / spacing).astype(int) + 1
        while int(np.prod(n)) > max_voxels:
            spacing *= 1.25
            n = np.ceil(extent / spacing).astype(int) + 1
        # array index (k, j, i) -> world (x, y, z) = lo + spacing * (i, j, k)
        matrix = np.zeros((3, 3))
        matrix[2, 0] = matrix[1, 1] = matrix[0, 2] = spacing
        shape = (int(n[2]), int(n[1]), int(n[0]))
        if near is None:
            return self.sample_transform(matrix, lo, shape, order), lo, float(spacing)
        data = np.zeros(shape, dtype=np.float32)
        for start in blocks_near(lo, spacing, shape, near, reach):
            stop = np.minimum(start + BLOCK, shape)
            origin = lo + spacing * start[::-1]  # block (k, j, i) start -> world (x, y, z)
            size = tuple(int(v) for v in stop - start)
            data[tuple(slice(a, b) for a, b in zip(start, stop))] = self.sample_transform(
                matrix, origin, size, order
            )
        return data, lo, float(spacing)
