"""MRC/CCP4 placement: nstart, ORIGIN (cryo-EM) and permuted axis order all put atoms in density.

Each file is written with mrcfile from a density computed by gemmi for known atoms, read through
the plugin's reader and checked with the same atom-density test as the real maps. Files whose
header lies (axis order, origin or start left at their defaults) must fail that test: the check
can tell a right placement from a wrong one.
"""

from __future__ import annotations

import gemmi
import mrcfile
import numpy as np
import pytest
from conftest import assert_atoms_in_density, density_at_atoms, model_density, random_structure

from napari_densitybuild._napari._reader import get_reader
from napari_densitybuild.errors import MapReadError
from napari_densitybuild.maps import read_map

BOX = (40.0, 44.0, 48.0, 90.0, 90.0, 90.0)  # cryo-EM style: P 1, cell = box
BIG = (64.0, 60.0, 56.0, 90.0, 90.0, 90.0)  # a cell of which the file holds only a part


def structure_and_grid(cell, lo=0.2, hi=0.8, seed=1):
    """Random atoms inside fractions [lo, hi] of a P 1 cell, and the cell's density (x, y, z)."""
    st = random_structure(cell, "P 1", n_atoms=40, seed=seed)
    for res in st[0][0]:
        f = st.cell.fractionalize(res[0].pos)
        g = [lo + (hi - lo) * v for v in (f.x, f.y, f.z)]
        res[0].pos = st.cell.orthogonalize(type(f)(*g))
    grid = model_density(st, d_min=2.0)
    xyz = np.array([res[0].pos.tolist() for res in st[0][0]])
    return xyz, np.array(grid, copy=True), grid.unit_cell


def write_mrc(path, arr_xyz, cell, *, axes=(1, 2, 3), start=(0, 0, 0), sampling=None,
              origin=(0.0, 0.0, 0.0), header_axes=None, header_start=None, ispg=1):  # fmt: skip
    """Write ``arr_xyz`` (indexed x, y, z) with columns/rows/sections along ``axes`` (MAPC, MAPR,
    MAPS), first voxel at grid ``start`` (x, y, z), ORIGIN ``origin``. ``header_axes`` and
    ``header_start`` write a wrong header over correctly ordered data (negative controls)."""
    mapc, mapr, maps = axes
    data = np.ascontiguousarray(arr_xyz.transpose(maps - 1, mapr - 1, mapc - 1), np.float32)
    sampling = arr_xyz.shape if sampling is None else sampling
    hc, hr, hs = header_axes or axes
    hstart = header_start if header_start is not None else start
    with mrcfile.new(str(path), overwrite=True, compression="gzip" if str(path).endswith(".gz")
                     else None) as mrc:  # fmt: skip
        mrc.set_data(data)
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = hc, hr, hs
        mrc.header.nxstart = hstart[hc - 1]
        mrc.header.nystart = hstart[hr - 1]
        mrc.header.nzstart = hstart[hs - 1]
        mrc.header.mx, mrc.header.my, mrc.header.mz = sampling
        mrc.header.cella = (cell.a, cell.b, cell.c)
        mrc.header.cellb = (cell.alpha, cell.beta, cell.gamma)
        mrc.header.origin = tuple(origin)
        mrc.header.ispg = ispg
        mrc.update_header_stats()
    return path


def read_layer(path):
    reader = get_reader(str(path))
    assert reader is not None
    layers = reader(str(path))
    (image,) = [ly for ly in layers if ly[2] == "image"]
    return image


def sub_box(xyz, arr, cell, margin=4.0):
    """Grid start (x, y, z) and the part of ``arr`` that covers the atoms plus ``margin``."""
    step = np.array([cell.a, cell.b, cell.c]) / np.array(arr.shape)
    lo = np.floor((xyz.min(0) - margin) / step).astype(int)
    hi = np.ceil((xyz.max(0) + margin) / step).astype(int)
    part = arr[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    return tuple(int(v) for v in lo), part


AXIS_ORDERS = [(1, 2, 3), (3, 1, 2), (2, 3, 1), (3, 2, 1), (2, 1, 3), (1, 3, 2)]


@pytest.mark.parametrize("axes", AXIS_ORDERS, ids=lambda a: "".join(map(str, a)))
def test_em_box_any_axis_order(tmp_path, axes):
    xyz, arr, cell = structure_and_grid(BOX)
    path = write_mrc(tmp_path / "box.mrc", arr, cell, axes=axes)
    layer = read_layer(path)
    assert layer[1]["metadata"]["kind"] == "em"
    assert_atoms_in_density(layer, xyz)


def test_em_origin(tmp_path):
    """MRC2014 ORIGIN (cryo-EM): the first voxel sits at ORIGIN, atoms are far from 0."""
    xyz, arr, cell = structure_and_grid(BOX)
    origin = np.array([151.5, -33.25, 80.0])
    path = write_mrc(tmp_path / "origin.mrc", arr, cell, origin=origin)
    assert_atoms_in_density(read_layer(path), xyz + origin)


def test_em_box_ends_at_its_faces(tmp_path):
    """A cryo-EM box is not periodic: depth_inside measures from its faces, at its ORIGIN; a
    crystal map over its whole cell has no faces."""
    _, arr, cell = structure_and_grid(BOX)
    origin = np.array([10.0, -20.0, 5.0])
    dmap = read_map(write_mrc(tmp_path / "origin.mrc", arr, cell, origin=origin))
    assert not dmap.periodic
    step = np.array([cell.a, cell.b, cell.c]) / np.array(arr.shape)
    far = origin + (np.array(arr.shape) - 1) * step  # the last voxel's centre
    points = origin + np.array([[3.0, 7.0, 9.0], far - origin - [2.0, 30.0, 30.0], [-1.0, 5, 5]])
    np.testing.assert_allclose(dmap.depth_inside(points), [3.0, 2.0, -1.0], atol=1e-6)
    crystal = read_map(write_mrc(tmp_path / "crystal.ccp4", arr, cell))
    crystal.kind = "xray"  # the same file as a P 1 crystal map over its whole cell
    assert crystal.periodic and np.all(np.isinf(crystal.depth_inside(points)))


@pytest.mark.parametrize(
    "axes", [(1, 2, 3), (3, 1, 2), (2, 3, 1)], ids=lambda a: "".join(map(str, a))
)
def test_nstart_part_of_cell(tmp_path, axes):
    """A file covering part of a larger cell, starting at NSTART, in any axis order."""
    xyz, arr, cell = structure_and_grid(BIG, lo=0.45, hi=0.85)
    start, part = sub_box(xyz, arr, cell)
    assert min(start) > 0
    path = write_mrc(tmp_path / "part.ccp4", part, cell, axes=axes, start=start,
                     sampling=arr.shape)  # fmt: skip
    layer = read_layer(path)
    assert layer[0].size < arr.size  # only the part is shown
    assert_atoms_in_density(layer, xyz)


def test_negative_nstart_gzipped(tmp_path):
    """Atoms near the cell origin: the box starts at a negative NSTART (wraps); .mrc.gz."""
    xyz, arr, cell = structure_and_grid(BIG, lo=0.02, hi=0.3)
    step = np.array([cell.a, cell.b, cell.c]) / np.array(arr.shape)
    lo = np.floor((xyz.min(0) - 4.0) / step).astype(int)
    assert np.all(lo < 0)
    hi = np.ceil((xyz.max(0) + 4.0) / step).astype(int)
    idx = [np.arange(a, b) % n for a, b, n in zip(lo, hi, arr.shape)]
    part = arr[np.ix_(*idx)]
    path = write_mrc(tmp_path / "wrap.mrc.gz", part, cell, start=tuple(lo), sampling=arr.shape)
    assert_atoms_in_density(read_layer(path), xyz)


@pytest.mark.parametrize(
    "lie", ["axis order", "origin", "nstart"], ids=["axes-ignored", "origin-ignored", "nstart-0"]
)
def test_wrong_header_puts_atoms_out_of_density(tmp_path, lie):
    """Same data with a header that drops the placement: the density check must fail."""
    xyz, arr, cell = structure_and_grid(BIG, lo=0.45, hi=0.85)
    start, part = sub_box(xyz, arr, cell)
    kw = {"start": start, "sampling": arr.shape}
    if lie == "axis order":
        kw.update(axes=(3, 1, 2), header_axes=(1, 2, 3))
    elif lie == "origin":
        kw.update(origin=(30.0, 0.0, 0.0))  # the data really start at NSTART, not at 30 A
    else:
        kw.update(header_start=(0, 0, 0))
    layer = read_layer(write_mrc(tmp_path / "lie.mrc", part, cell, **kw))
    values, covered = density_at_atoms(layer, xyz)
    assert covered < 0.95 or values.mean() < 1.0, (covered, values.mean())


def test_em_box_reads_the_same_however_much_zero_padding_surrounds_it(tmp_path):
    """A masked cryo-EM map (0 outside 3 A of the atoms) in its box and in one padded with
    zeros to twice the size: the same sigma values at the atoms, the same statistics for the
    C-alpha detector, and the padding still exactly 0."""
    from scipy.spatial import cKDTree

    from napari_densitybuild.place import map_stats

    xyz, arr, cell = structure_and_grid(BOX)
    step = np.array([cell.a, cell.b, cell.c]) / np.array(arr.shape)
    voxels = np.indices(arr.shape).reshape(3, -1).T * step
    near, _ = cKDTree(xyz).query(voxels, distance_upper_bound=3.0)
    masked = np.where(np.isfinite(near).reshape(arr.shape), arr, 0.0).astype(np.float32)
    pad = np.array(arr.shape) // 2
    padded = np.zeros(tuple(np.array(arr.shape) + 2 * pad), dtype=np.float32)
    padded[pad[0] : pad[0] + arr.shape[0], pad[1] : pad[1] + arr.shape[1],
           pad[2] : pad[2] + arr.shape[2]] = masked  # fmt: skip
    big = gemmi.UnitCell(*(np.array(padded.shape) * step), 90, 90, 90)
    small_map = read_map(write_mrc(tmp_path / "masked.mrc", masked, cell))
    big_map = read_map(write_mrc(tmp_path / "padded.mrc", padded, big, origin=-pad * step))
    assert small_map.kind == big_map.kind == "em"
    np.testing.assert_allclose(big_map.sample_points(xyz), small_map.sample_points(xyz),
                               atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(map_stats(big_map), map_stats(small_map), atol=1e-5)
    assert big_map.info["zero_voxels"] == np.count_nonzero(padded == 0)
    values = np.array(big_map.grid, copy=False)
    assert np.count_nonzero(values == 0) == np.count_nonzero(padded == 0)
    inside = values[values != 0]
    assert abs(inside.mean()) < 1e-4 and abs(inside.std() - 1) < 1e-4


def test_info_leaves_atoms_outside_an_em_box_out_and_says_so(tmp_path, capsys):
    """Atoms beyond a cryo-EM box's faces have no density there: `info` counts them apart
    instead of reading them as 0 sigma."""
    from conftest import random_structure

    from napari_densitybuild.cli import main

    _, arr, cell = structure_and_grid(BOX)
    path = write_mrc(tmp_path / "box.mrc", arr, cell)
    st = random_structure(BOX, "P 1", n_atoms=20, seed=3)
    for k, res in enumerate(st[0][0]):
        if k % 2:  # every other atom 60 A beyond the box
            res[0].pos = gemmi.Position(res[0].pos.x + 60.0, res[0].pos.y, res[0].pos.z)
    st.write_pdb(str(tmp_path / "m.pdb"))
    assert main(["info", str(path), str(tmp_path / "m.pdb"), "--blobs", "0"]) == 0
    out = capsys.readouterr().out
    assert "20 atoms (10 outside the map, left out): mean density" in out


def test_em_box_larger_than_its_cell_sampling_is_read_as_a_box_not_folded(tmp_path):
    """NX > MX in a cryo-EM header: the data is a box of NX voxels of cell / MX (the pixel size
    EM programs read), said in a note; folding it onto MX voxels would put atoms out of density."""
    xyz, arr, cell = structure_and_grid(BOX)
    short = (arr.shape[0] - 12, arr.shape[1], arr.shape[2] - 5)
    voxel = np.array([cell.a, cell.b, cell.c]) / np.array(arr.shape)
    header_cell = gemmi.UnitCell(*(voxel * short), 90, 90, 90)
    path = write_mrc(tmp_path / "box.mrc", arr, header_cell, sampling=short)
    notes: list[str] = []
    dmap = read_map(path, note=notes.append)
    assert (dmap.grid.nu, dmap.grid.nv, dmap.grid.nw) == arr.shape
    np.testing.assert_allclose(dmap.voxel_size, voxel, rtol=1e-5)
    assert len(notes) == 1 and "smaller than the data along x, z" in notes[0]
    assert "note:" in dmap.summary()
    assert_atoms_in_density(read_layer(path), xyz)


MONO = (40.0, 44.0, 48.0, 90.0, 104.0, 90.0)  # a crystal cell (not orthogonal: not cryo-EM)


def test_crystal_map_over_more_than_its_cell(tmp_path):
    """A crystal map may cover more than one cell (NX > MX): its points one cell apart agree and
    it reads as the one cell; if they do not, the header cannot be right and the reader says so."""
    _, arr, cell = structure_and_grid(MONO)
    one = read_map(write_mrc(tmp_path / "one.ccp4", arr, cell))
    more = np.concatenate([arr, arr[:9]], axis=0)
    dmap = read_map(write_mrc(tmp_path / "more.ccp4", more, cell, sampling=arr.shape))
    assert dmap.kind == "xray" and dmap.periodic and not dmap.info["notes"]
    assert np.array(dmap.grid).shape == arr.shape
    # scaled over 9 planes more, so compared by correlation
    assert np.corrcoef(np.ravel(dmap.grid), np.ravel(one.grid))[0, 1] > 0.999
    wrong = np.concatenate([arr, arr[20:29]], axis=0)
    path = write_mrc(tmp_path / "wrong.ccp4", wrong, cell, sampling=arr.shape)
    with pytest.raises(MapReadError, match="grid sampling does not fit"):
        read_map(path)


def test_mtz_options_given_for_a_ccp4_map(tmp_path, capsys):
    """Columns mean nothing to a CCP4/MRC file: a note, not silence; a difference map cannot be
    made from one: an error, not the 2mFo-DFc map under another name."""
    from napari_densitybuild.cli import main

    _, arr, cell = structure_and_grid(MONO)
    path = write_mrc(tmp_path / "m.ccp4", arr, cell)
    notes: list[str] = []
    read_map(path, columns="FWT,PHWT", note=notes.append)
    assert notes == ["m.ccp4: columns FWT,PHWT ignored: the file is a map already"]
    assert main(["info", str(path), "--columns", "F,PHI"]) == 0
    assert "note: columns F,PHI ignored" in capsys.readouterr().out
    with pytest.raises(MapReadError, match="difference map is made from MTZ"):
        read_map(path, difference=True)
