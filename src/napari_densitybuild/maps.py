"""DensityMap: a density map in Cartesian Angstrom, in sigma units, whatever file it came from.

Crystallographic maps (MTZ map coefficients, CCP4/MRC maps) and cryo-EM maps are held as one
periodic unit cell (a ``gemmi.FloatGrid`` with its cell and space group) plus a Cartesian
``offset`` (non-zero only for MRC files with an ORIGIN record). Everything downstream samples the
map through :meth:`DensityMap.sample_transform` or :meth:`DensityMap.sample_points`, so
non-orthogonal cells, symmetry (periodicity) and origins are handled in one place.

World coordinates are Cartesian Angstrom; arrays handed to napari are indexed (z, y, x).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gemmi
import numpy as np

from .errors import MapReadError
from .mapfiles import fill_by_symmetry, read_mrc_array, read_mtz_grid

#: Largest map (voxels) read into memory; above it the reader refuses with the size.
MAX_VOXELS = 512**3
#: Largest Cartesian volume (voxels) resampled for display before the spacing is coarsened.
MAX_DISPLAY_VOXELS = 2**25
#: Edge (voxels) of the blocks that :meth:`DensityMap.resample_cartesian` samples near points.
BLOCK = 16

MAP_SUFFIXES = (".mtz", ".ccp4", ".map", ".mrc", ".ccp4.gz", ".map.gz", ".mrc.gz")


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


def cell_bounding_box(cell: gemmi.UnitCell) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian bounding box (x, y, z min and max) of the parallelepiped of one unit cell."""
    corners = np.array(
        [cell.orthogonalize(gemmi.Fractional(i, j, k)).tolist() for i in (0, 1) for j in (0, 1)
         for k in (0, 1)]
    )  # fmt: skip
    return corners.min(0), corners.max(0)


def sigma_scale(values: np.ndarray, what: str) -> tuple[np.ndarray, float, float]:
    """Scale finite values to mean 0 and sd 1; refuse NaN/inf and flat maps with a message."""
    finite = np.isfinite(values)
    bad = int(values.size - np.count_nonzero(finite))
    if bad:
        raise MapReadError(
            f"{what}: {bad} of {values.size} values are NaN or infinite; refusing to guess them "
            "(fix the map, e.g. recompute it, or fill the gaps with 0)"
        )
    mean = float(values.mean(dtype=np.float64))
    sd = float(values.std(dtype=np.float64))
    # flat: no spread beyond float rounding of its values (a map in any units, 1e-30 or 1e6)
    if values.size == 0 or not sd > 1e-6 * float(np.abs(values).max(initial=0.0)):
        raise MapReadError(f"{what}: the map is flat (every value {mean:g}); nothing to show")
    return ((values - mean) / sd).astype(np.float32), mean, sd


def is_map_path(path: str | Path) -> bool:
    """True if the file name ends like a map this package reads (.mtz, .ccp4, .map, .mrc, .gz)."""
    name = str(path).lower()
    return name.endswith(MAP_SUFFIXES)


def read_map(
    path: str | Path,
    columns: tuple[str, ...] | str | None = None,
    difference: bool = False,
    max_voxels: int = MAX_VOXELS,
    note: Callable[[str], None] | None = None,
) -> DensityMap:
    """Read a density map (MTZ map coefficients, CCP4/MRC, gzipped too) in sigma units.

    Parameters
    ----------
    path
        The file.
    columns
        MTZ only: amplitude and phase column labels ("FWT,PHWT"), and optionally a figure of
        merit to weight the amplitudes by ("FP,PHIB,FOM"); found automatically if None.
    difference
        MTZ only: take mFo-DFc difference coefficients instead of 2mFo-DFc.
    max_voxels
        Refuse maps with more voxels than this (the message gives the size).
    note
        Called with each note on how the file was read (columns given for a CCP4/MRC file,
        header faults accepted); the notes are also kept in ``info["notes"]``.

    Returns
    -------
    DensityMap

    Raises
    ------
    MapReadError
        With a message that says what is wrong (missing columns, corrupt file, NaN, ...).

    Examples
    --------
    >>> dmap = read_map("map.mtz")  # doctest: +SKIP
    >>> dmap.summary()  # doctest: +SKIP
    'map.mtz: xray map, cell 36.09 95.98 74.25 90.0 90.0 90.0, C 2 2 21, ...'
    """
    path = Path(path)
    if path.is_dir():
        raise MapReadError(f"{path}: a folder, not a map file; give the map file in it")
    if not path.is_file():
        raise MapReadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise MapReadError(f"{path}: the file is empty")
    name = path.name.lower()
    if name.endswith(".mtz"):
        if isinstance(columns, str):
            columns = tuple(c.strip() for c in columns.split(","))  # type: ignore[assignment]
        grid, resolution, info = read_mtz_grid(path, columns, difference, max_voxels)
        values, mean, sd = sigma_scale(np.array(grid, copy=False), str(path))
        grid.array[...] = values
        info.update(raw_mean=mean, raw_sd=sd)
        return DensityMap(
            grid=grid, resolution=resolution, kind="xray", source=str(path), info=info
        )
    if name.endswith((".ccp4", ".map", ".mrc", ".ccp4.gz", ".map.gz", ".mrc.gz")):
        if difference:
            raise MapReadError(
                f"{path}: a difference map is made from MTZ map coefficients (mFo-DFc); "
                "a CCP4/MRC file holds one map already"
            )
        dmap = _from_mrc(path, max_voxels)
        if columns:
            given = columns if isinstance(columns, str) else ",".join(columns)
            dmap.info["notes"].insert(0, f"columns {given} ignored: the file is a map already")
        for message in dmap.info["notes"] if note else ():
            note(f"{path.name}: {message}")
        return dmap
    raise MapReadError(f"{path}: not a map file this reader knows ({', '.join(MAP_SUFFIXES)})")


def _from_mrc(path: Path, max_voxels: int) -> DensityMap:
    """Place an MRC/CCP4 array into its unit cell (axis order, nstart, origin) and scale it."""
    m = read_mrc_array(path, max_voxels)
    arr = m["array_xyz"]  # float32, indexed (x, y, z) along the cell axes
    kind = "xray" if m["crystal"] else "em"
    info: dict = {"mode": m["mode"], "axis_order": m["axis_order"], "notes": m["notes"]}
    padding = arr == 0 if kind == "em" else None
    if padding is not None and padding.any() and not padding.all():
        # a cryo-EM box zero-padded or masked around the molecule: the exact zeros are no
        # density, not data; scaled over the rest, the map reads the same however much empty
        # box surrounds it, and the zeros stay 0 (as voxels a file does not cover do)
        values = np.zeros_like(arr)
        values[~padding], mean, sd = sigma_scale(arr[~padding], str(path))
        info["zero_voxels"] = int(padding.sum())
    else:
        values, mean, sd = sigma_scale(arr, str(path))
    info.update(raw_mean=mean, raw_sd=sd)
    cell = gemmi.UnitCell(*m["cell"])
    sampling = np.maximum(np.asarray(m["sampling"], dtype=int), 1)
    start = np.asarray(m["nstart"], dtype=int)
    n = np.asarray(arr.shape)
    full = np.zeros(tuple(sampling), dtype=np.float32)
    idx = [np.mod(start[a] + np.arange(n[a]), sampling[a]) for a in range(3)]
    full[np.ix_(*idx)] = values
    covered = np.zeros(tuple(sampling), dtype=bool)
    covered[np.ix_(*idx)] = True
    covers_cell = bool(covered.all())
    grid = gemmi.FloatGrid(full, cell, gemmi.SpaceGroup(m["spacegroup"]))
    # Cartesian position of the first voxel: ORIGIN (MRC2014/EM convention) if set, else nstart.
    first_frac = gemmi.Fractional(*(start / sampling))
    first_grid_pos = np.array(cell.orthogonalize(first_frac).tolist())
    origin = np.asarray(m["origin"], dtype=float)
    offset = origin - first_grid_pos if np.any(origin != 0) else np.zeros(3)
    last_frac = (start + n - 1) / sampling
    corners = np.array(
        [cell.orthogonalize(gemmi.Fractional(*np.where([i, j, k], last_frac, start / sampling)))
         .tolist() for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    )  # fmt: skip
    data_min, data_max = corners.min(0) + offset, corners.max(0) + offset
    if kind == "xray" and not covers_cell:
        # an asymmetric unit or a box of a crystal map: its symmetry copies fill the cell
        filled = fill_by_symmetry(full, covered, cell, grid.spacegroup)
        if filled is not None:
            grid = gemmi.FloatGrid(filled, cell, grid.spacegroup)
            covers_cell, data_min, data_max = True, None, None
            info["filled_by_symmetry"] = True
    return DensityMap(
        grid=grid,
        offset=offset,
        data_min=data_min,
        data_max=data_max,
        covers_cell=covers_cell,
        resolution=None,
        kind=kind,
        source=str(path),
        info=info,
    )
