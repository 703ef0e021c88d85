"""Low-level readers for MTZ map coefficients and MRC/CCP4 arrays, with clear errors.

:func:`napari_densitybuild.maps.read_map` is the public entry point; these functions return raw
grids/arrays and the header facts needed to place them in the unit cell.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import gemmi
import numpy as np

from .errors import MapReadError
from .map_geometry import check_cell, check_origin
from .periodic_cell import crystal_cell_note, oversized_axes

if TYPE_CHECKING:
    from .density_map import DensityMap

#: (amplitude, phase) column pairs of 2mFo-DFc map coefficients, in order of preference.
TWO_FOFC_COLUMNS = (
    ("FWT", "PHWT"),
    ("2FOFCWT", "PH2FOFCWT"),
    ("FWT", "PHIWT"),
    ("2FOFCWT_no_fill", "PH2FOFCWT_no_fill"),
    ("F_map", "PHI_map"),
    # density-modified maps (DM, Parrot as CCP4i writes it)
    ("FDM", "PHIDM"),
    ("parrot.F_phi.F", "parrot.F_phi.phi"),
)
#: (amplitude, phase, figure of merit) of experimentally phased data: the map is FOM-weighted.
EXPERIMENTAL_COLUMNS = (
    ("FP", "PHIB", "FOM"),
    ("F", "PHIB", "FOM"),
    ("FP", "PHI", "FOM"),
)
#: (amplitude, phase) column pairs of mFo-DFc difference coefficients.
DIFFERENCE_COLUMNS = (
    ("DELFWT", "PHDELWT"),
    ("FOFCWT", "PHFOFCWT"),
    ("DELFWT", "DELPHWT"),
)
#: The finest grid spacing (Angstrom) used when computing a map from coefficients.
MTZ_SPACING = 0.5


def _column_list(mtz: gemmi.Mtz) -> str:
    return ", ".join(f"{c.label} ({c.type})" for c in mtz.columns)


def find_map_columns(mtz: gemmi.Mtz, difference: bool = False) -> tuple[str, ...]:
    """Pick the columns of 2mFo-DFc (or difference) map coefficients: (amplitude, phase), or
    (amplitude, phase, figure of merit) for experimental phases when no map coefficients are
    there.

    Raises
    ------
    MapReadError
        Listing the columns the file has, when no known set is present.
    """
    labels = {c.label: c.type for c in mtz.columns}
    sets = DIFFERENCE_COLUMNS if difference else TWO_FOFC_COLUMNS + EXPERIMENTAL_COLUMNS
    for names in sets:
        if all(labels.get(n) == t for n, t in zip(names, "FPW")):
            return names
    what = "difference (mFo-DFc)" if difference else "2mFo-DFc"
    raise MapReadError(
        f"no {what} map coefficients found; looked for "
        + ", ".join("/".join(names) for names in sets)
        + f". The file has: {_column_list(mtz)}. Give the columns explicitly (e.g. --columns "
        "F,PHI, or F,PHI,FOM for figure-of-merit weighting)"
    )


def _weighted_amplitudes(mtz: gemmi.Mtz, f: str, weight: str) -> str:
    """Add a column F x weight (figure-of-merit weighting) to ``mtz``; returns its label."""
    data = np.array(mtz, copy=True)
    labels = [c.label for c in mtz.columns]
    product = data[:, labels.index(f)] * data[:, labels.index(weight)]
    label = "FWEIGHTED"
    mtz.add_column(label, "F", dataset_id=mtz.column_with_label(f).dataset_id)
    mtz.set_data(np.column_stack([data, product]).astype(np.float32))
    return label


def _check_coefficients(
    path: Path, mtz: gemmi.Mtz, f: str, phi: str, columns: tuple[str, ...]
) -> None:
    """Refuse map coefficients that hold no map: no reflection with both an amplitude and a phase
    (MTZ marks a missing value NaN; the map would be 0 everywhere), or every amplitude 0."""
    data = np.array(mtz, copy=False)
    labels = [c.label for c in mtz.columns]
    amplitude, phase = data[:, labels.index(f)], data[:, labels.index(phi)]
    present = ~np.isnan(amplitude) & ~np.isnan(phase)
    names = "/".join(columns)
    if not present.any():
        raise MapReadError(
            f"{path}: columns {names} hold no map: no reflection has both an amplitude and a "
            f"phase ({np.count_nonzero(~np.isnan(amplitude))} of {len(data)} amplitudes and "
            f"{np.count_nonzero(~np.isnan(phase))} phases given, the rest missing)"
        )
    if not np.any(amplitude[present] != 0):
        raise MapReadError(
            f"{path}: columns {names} hold no map: every amplitude of the "
            f"{np.count_nonzero(present)} reflections with a phase is 0"
        )


def read_mtz_grid(
    path: Path,
    columns: tuple[str, ...] | None,
    difference: bool,
    max_voxels: int,
) -> tuple[gemmi.FloatGrid, float, dict]:
    """Compute the map of one unit cell from MTZ map coefficients (raw values, not scaled)."""
    try:
        mtz = gemmi.read_mtz_file(str(path))
    except (RuntimeError, ValueError, OSError) as e:
        raise MapReadError(f"{path}: not a readable MTZ file ({e})") from None
    return mtz_grid(mtz, path, columns, difference, max_voxels)


def mtz_grid(
    mtz: gemmi.Mtz,
    path: Path | str,
    columns: tuple[str, ...] | None,
    difference: bool,
    max_voxels: int,
) -> tuple[gemmi.FloatGrid, float, dict]:
    """:func:`read_mtz_grid` for an MTZ already in memory (``path`` names it in messages)."""
    if mtz.nreflections == 0:
        raise MapReadError(f"{path}: the MTZ file has no reflections (empty or truncated?)")
    if columns:
        if len(columns) not in (2, 3):
            raise MapReadError(f"{path}: give two columns, amplitude and phase, or three with a "
                               f"figure of merit (got {columns})")  # fmt: skip
        labels = {c.label: c.type for c in mtz.columns}
        kinds = {"F": "amplitude (type F)", "P": "phase (type P)", "W": "weight (type W)"}
        for label, want in zip(columns, "FPW"):
            if label not in labels:
                raise MapReadError(
                    f"{path}: no column {label!r}; the file has: {_column_list(mtz)}"
                )
            if labels[label] != want:
                raise MapReadError(
                    f"{path}: column {label!r} is type {labels[label]}, not {kinds[want]}"
                )
    else:
        try:
            columns = find_map_columns(mtz, difference)
        except MapReadError as e:
            raise MapReadError(f"{path}: {e}") from None
    f, phi = columns[:2]
    if len(columns) == 3:
        f = _weighted_amplitudes(mtz, f, columns[2])
    cell = mtz.cell
    check_cell(path, cell)
    _check_coefficients(path, mtz, f, phi, columns)
    d_min = float(mtz.resolution_high())
    rate = max(3.0, d_min / MTZ_SPACING)
    est = cell.volume / (d_min / rate) ** 3
    if est > max_voxels:
        raise MapReadError(
            f"{path}: the map would have about {est / 1e6:.0f} M voxels "
            f"({est * 4 / 2**30:.1f} GiB); the limit is {max_voxels / 1e6:.0f} M"
        )
    grid = mtz.transform_f_phi_to_map(f, phi, sample_rate=rate)
    arr = np.array(grid, copy=False)
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise MapReadError(
            f"{path}: columns {'/'.join(columns)} hold NaN or infinite values ({bad} voxels)"
        )
    return grid, d_min, {"columns": tuple(columns), "spacegroup": mtz.spacegroup.hm}


def _read_mrc_header(path: Path):
    import mrcfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mrcfile.open(str(path), mode="r", permissive=True, header_only=True) as mrc:
                return mrc.header.copy()
    except Exception as e:  # mrcfile raises many kinds on garbage
        raise MapReadError(f"{path}: not a readable MRC/CCP4 map ({e})") from None


def read_mrc_array(path: Path, max_voxels: int) -> dict:
    """Read an MRC/CCP4 map and reorder its data to (x, y, z) along the cell axes.

    Returns a dict with ``array_xyz`` (float32), ``cell`` (a, b, c, alpha, beta, gamma),
    ``sampling`` (cell grid along x, y, z), ``nstart`` (x, y, z), ``origin`` (x, y, z Angstrom),
    ``spacegroup`` (number), ``mode``, ``axis_order``, ``crystal`` (a crystal space group, cell
    angles other than 90 degrees, or a whole P 1 cell whose data read as a crystal's:
    :mod:`.periodic_cell`; else the map is taken for a cryo-EM box) and ``notes``
    (what was read other than the header says: minor header faults accepted, a cryo-EM box
    larger than its cell sampling).
    """
    import mrcfile

    h = _read_mrc_header(path)
    dims = np.array([int(h.nx), int(h.ny), int(h.nz)])
    if np.any(dims <= 0) or np.any(dims > 100_000):
        raise MapReadError(f"{path}: not an MRC/CCP4 map (header grid size {dims.tolist()})")
    n = int(np.prod(dims))
    if n > max_voxels:
        raise MapReadError(
            f"{path}: the map is {'x'.join(map(str, dims))} = {n / 1e6:.0f} M voxels "
            f"({n * 4 / 2**30:.1f} GiB as float32); the limit is {max_voxels / 1e6:.0f} M voxels"
        )
    problems = io.StringIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mrcfile.open(str(path), mode="r", permissive=False) as mrc:
                data = np.asarray(mrc.data, dtype=np.float32)
    except Exception as strict_error:
        # Accept files that only break minor header rules, if the data block is whole.
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with mrcfile.open(str(path), mode="r", permissive=True) as mrc:
                    data = None if mrc.data is None else np.asarray(mrc.data, dtype=np.float32)
            for w in caught:
                problems.write(f"{w.message}; ")
        except Exception:
            data = None
        if data is None or data.size != n:
            detail = str(strict_error)
            extra = problems.getvalue().strip().rstrip(";")
            if extra and extra not in detail:
                detail = f"{detail}; {extra}"
            raise MapReadError(f"{path}: not a readable MRC/CCP4 map ({detail})") from None
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise MapReadError(
            f"{path}: a stack of {data.shape[0]} volumes (space group {int(h.ispg)}), not one "
            "map; save the volume to build into as a map of its own"
        )
    crs_axes = [int(h.mapc), int(h.mapr), int(h.maps)]
    if sorted(crs_axes) != [1, 2, 3]:
        if any(crs_axes):
            raise MapReadError(f"{path}: invalid axis order MAPC/MAPR/MAPS = {crs_axes}")
        crs_axes = [1, 2, 3]
    arr_crs = data.transpose(2, 1, 0)  # (col, row, section)
    perm = [crs_axes.index(t) for t in (1, 2, 3)]
    arr_xyz = np.ascontiguousarray(arr_crs.transpose(perm))
    start_crs = [int(h.nxstart), int(h.nystart), int(h.nzstart)]
    nstart = [start_crs[p] for p in perm]
    sampling = [int(h.mx), int(h.my), int(h.mz)]
    if min(sampling) <= 0:
        sampling = list(arr_xyz.shape)
    cell = [float(h.cella.x), float(h.cella.y), float(h.cella.z)]
    angles = [float(h.cellb.alpha), float(h.cellb.beta), float(h.cellb.gamma)]
    if min(cell) <= 0:
        raise MapReadError(f"{path}: the header gives no cell dimensions ({cell})")
    if not all(0 < a < 180 for a in angles):
        angles = [90.0, 90.0, 90.0]
    sg_number = int(h.ispg)
    if sg_number <= 0 or sg_number > 230 or gemmi.find_spacegroup_by_number(sg_number) is None:
        sg_number = 1
    origin = [float(h.origin.x), float(h.origin.y), float(h.origin.z)]
    if not np.all(np.isfinite(origin)):
        origin = [0.0, 0.0, 0.0]
    check_origin(path, origin)
    notes = [f"header problems accepted: {problems.getvalue().strip().rstrip(';')}"]
    notes = notes if problems.getvalue() else []
    crystal = sg_number > 1 or not np.allclose(angles, 90)
    if not crystal:  # P 1 and 90 degrees: a cryo-EM box, or a crystal map written in P 1
        note = crystal_cell_note(arr_xyz, sampling, origin)
        if note is not None:
            crystal = True
            notes.append(note)
    more = oversized_axes(path, arr_xyz, sampling, crystal)
    if more and not crystal:
        # a cryo-EM box: the voxel size is cell / MX; the data is a box of NX voxels
        voxel = [cell[a] / sampling[a] for a in range(3)]
        for a in more:
            cell[a], sampling[a] = voxel[a] * arr_xyz.shape[a], arr_xyz.shape[a]
        notes.append(
            f"the header's grid sampling (MX, MY, MZ) is smaller than the data along "
            f"{', '.join('xyz'[a] for a in more)}; read as a box of {arr_xyz.shape} voxels "
            f"of {' x '.join(f'{v:.3f}' for v in voxel)} A (cell / MX)"
        )
    check_cell(path, gemmi.UnitCell(*cell, *angles), sampling)  # as read (a box: resized)
    whole = int(np.prod(np.asarray(sampling, dtype=np.int64)))
    if whole > max_voxels:
        raise MapReadError(
            f"{path}: the header's cell grid (MX, MY, MZ) is {'x'.join(map(str, sampling))} = "
            f"{whole / 1e6:.0f} M voxels, for a map of {'x'.join(map(str, arr_xyz.shape))}; "
            f"the limit is {max_voxels / 1e6:.0f} M voxels (is MX, MY, MZ right?)"
        )
    return {
        "array_xyz": arr_xyz,
        "cell": cell + angles,
        "sampling": sampling,
        "nstart": nstart,
        "origin": origin,
        "spacegroup": sg_number,
        "mode": int(h.mode),
        "axis_order": crs_axes,
        "crystal": crystal,
        "notes": notes,
    }


def write_mrc(path: str | Path, dmap: DensityMap, data_zyx: np.ndarray | None = None) -> None:
    """Write a DensityMap's unit cell as a CCP4/MRC map (mode 2, axis order X, Y, Z)."""
    import mrcfile

    arr = np.array(dmap.grid, copy=False) if data_zyx is None else data_zyx
    if data_zyx is None:
        arr = arr.transpose(2, 1, 0)  # gemmi (x, y, z) -> MRC (section=z, row=y, col=x)
    c = dmap.cell
    with mrcfile.new(str(path), overwrite=True, compression="gzip" if str(path).endswith(".gz")
                     else None) as mrc:  # fmt: skip
        mrc.set_data(np.ascontiguousarray(arr, dtype=np.float32))
        mrc.header.cella = (c.a, c.b, c.c)
        mrc.header.cellb = (c.alpha, c.beta, c.gamma)
        mrc.header.mx, mrc.header.my, mrc.header.mz = dmap.grid.nu, dmap.grid.nv, dmap.grid.nw
        mrc.header.ispg = dmap.spacegroup.ccp4
        mrc.update_header_stats()


def write_em_box(
    path: str | Path, dmap: DensityMap, lo: np.ndarray, hi: np.ndarray, spacing: float
) -> tuple[tuple[int, int, int], float]:
    """Write the world box [lo, hi] of a map as a cryo-EM map is written: P 1, an orthogonal
    grid of ``spacing`` A (larger if the box is huge), the box's corner in the ORIGIN field.

    Returns
    -------
    shape, spacing
        Voxels along x, y, z, and the spacing used.
    """
    import mrcfile

    data, origin, spacing = dmap.resample_cartesian(lo, hi, spacing)  # data (z, y, x)
    with mrcfile.new(str(path), overwrite=True) as mrc:
        mrc.set_data(np.ascontiguousarray(data, dtype=np.float32))
        mrc.voxel_size = spacing
        mrc.header.origin = tuple(float(v) for v in origin)
        mrc.header.ispg = 1
        mrc.update_header_stats()
    return data.shape[::-1], spacing


def fill_by_symmetry(
    values: np.ndarray, covered: np.ndarray, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup
) -> np.ndarray | None:
    """A crystal map over the whole cell from a file that covers part of it (an asymmetric
    unit, or a box around the molecule), by the space group's operations.

    Parameters
    ----------
    values
        (nx, ny, nz) map over the cell grid, 0 where the file gave nothing.
    covered
        Same shape, True where the file gave a value.
    cell, spacegroup
        The crystal's.

    Returns
    -------
    The whole-cell map (each grid point the mean of the covered points it is a copy of), or None
    when the copies of the covered points do not fill the cell or the grid does not suit the
    space group.
    """
    if spacegroup.number <= 1:
        return None
    try:
        count = gemmi.FloatGrid(covered.astype(np.float32), cell, spacegroup)
        total = gemmi.FloatGrid(np.where(covered, values, 0).astype(np.float32), cell, spacegroup)
        count.symmetrize_sum()
        total.symmetrize_sum()
    except (RuntimeError, ValueError):  # grid not compatible with the operations
        return None
    n = np.array(count, copy=False)
    if not np.all(n > 0.5):
        return None
    return (np.array(total, copy=False) / n).astype(np.float32)
