"""Map files to :class:`~.density_map.DensityMap`: the format dispatch of :func:`read_map`, an
MRC/CCP4 array placed in its unit cell, and the scaling of every map to sigma units.

The formats' own readers (MTZ columns, MRC headers) are in :mod:`.mapfiles`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gemmi
import numpy as np

from .density_map import DensityMap
from .errors import MapReadError
from .map_geometry import check_region
from .mapfiles import fill_by_symmetry, mtz_grid, read_mrc_array, read_mtz_grid
from .periodic_cell import truncation_resolution

#: Largest map (voxels) read into memory; above it the reader refuses with the size.
MAX_VOXELS = 512**3

MAP_SUFFIXES = (".mtz", ".ccp4", ".map", ".mrc", ".ccp4.gz", ".map.gz", ".mrc.gz")


def sigma_scale(
    values: np.ndarray, what: str, voxels: int | None = None
) -> tuple[np.ndarray, float, float]:
    """Scale finite values to mean 0 and sd 1; refuse NaN/inf and flat maps with a message.

    Parameters
    ----------
    values : numpy.ndarray
        The values to scale.
    what : str
        The map, as the messages name it.
    voxels : int, optional
        The voxels of the whole map the message counts NaN/inf among, where ``values`` are a
        part of it that holds every NaN/inf (the non-zero voxels of a padded box); default
        ``values.size``.

    Raises
    ------
    MapReadError
        If a value is NaN or infinite, or the values are flat.
    """
    finite = np.isfinite(values)
    bad = int(values.size - np.count_nonzero(finite))
    if bad:
        total = values.size if voxels is None else voxels
        raise MapReadError(
            f"{what}: {bad:,} of {total:,} voxels are NaN or infinite; refusing to guess them "
            "(fix the map, e.g. recompute it, or fill the gaps with 0)"
        )
    mean = float(values.mean(dtype=np.float64))
    sd = float(values.std(dtype=np.float64))
    # flat: no spread beyond float rounding of its values (a map in any units, 1e-30 or 1e6)
    if values.size == 0 or not sd > 1e-6 * float(np.abs(values).max(initial=0.0)):
        raise MapReadError(f"{what}: the map is flat (every value {mean:g}); nothing to show")
    return ((values - mean) / sd).astype(np.float32), mean, sd


def _refuse_one_value(rest: np.ndarray, size: int, path: Path) -> None:
    """Refuse a cryo-EM box whose voxels that are not exactly 0 (``rest``, of ``size``) all hold
    one value: a single voxel, or a mask of 0 and 1, not density (:func:`sigma_scale` would
    call it a flat map of that value, which it is not)."""
    if not np.isfinite(rest).all() or rest.std(dtype=np.float64) > 1e-6 * np.abs(rest).max():
        return  # NaN (refused by sigma_scale), or density
    v = float(rest[0])
    if rest.size == 1:
        raise MapReadError(f"{path}: every voxel but one is 0 (that one is {v:g}): no density "
                           "to show")  # fmt: skip
    raise MapReadError(f"{path}: every voxel is 0 or {v:g} ({rest.size:,} of {size:,} are "
                       f"{v:g}): a mask, not a density map")  # fmt: skip


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
            columns = tuple(c.strip() for c in columns.split(",") if c.strip())  # type: ignore[assignment]
        return _scaled(*read_mtz_grid(path, columns, difference, max_voxels), str(path))
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


def _scaled(grid: gemmi.FloatGrid, resolution: float, info: dict, source: str) -> DensityMap:
    values, mean, sd = sigma_scale(np.array(grid, copy=False), source)
    grid.array[...] = values
    info.update(raw_mean=mean, raw_sd=sd)
    return DensityMap(grid=grid, resolution=resolution, kind="xray", source=source, info=info)


def map_from_mtz(
    mtz: gemmi.Mtz,
    source: str,
    columns: tuple[str, ...] | None = None,
    difference: bool = False,
    max_voxels: int = MAX_VOXELS,
) -> DensityMap:
    """The map of MTZ map coefficients already in memory, in sigma units, as :func:`read_map`
    reads them from a file (``source`` names the map in messages and its summary)."""
    return _scaled(*mtz_grid(mtz, source, columns, difference, max_voxels), source)


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
        values, rest = np.zeros_like(arr), arr[~padding]
        _refuse_one_value(rest, arr.size, path)
        values[~padding], mean, sd = sigma_scale(rest, str(path), arr.size)  # NaN is not 0
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
    if kind == "em" or not covers_cell:  # where the data lie matters (no periodic cell)
        check_region(path, data_min, data_max)
    if kind == "xray" and not covers_cell:
        # an asymmetric unit or a box of a crystal map: its symmetry copies fill the cell
        filled = fill_by_symmetry(full, covered, cell, grid.spacegroup)
        if filled is not None:
            grid = gemmi.FloatGrid(filled, cell, grid.spacegroup)
            covers_cell, data_min, data_max = True, None, None
            info["filled_by_symmetry"] = True
    # a CCP4 header gives no resolution; a crystal map made from coefficients shows where they
    # stop (a cryo-EM box is not periodic, and its terms do not stop sharply)
    resolution = truncation_resolution(grid) if kind == "xray" and covers_cell else None
    if resolution is not None:
        info["resolution_from"] = "where the map's Fourier terms stop"
    return DensityMap(
        grid=grid,
        offset=offset,
        data_min=data_min,
        data_max=data_max,
        covers_cell=covers_cell,
        resolution=resolution,
        kind=kind,
        source=str(path),
        info=info,
    )
