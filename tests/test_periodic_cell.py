"""A P 1 crystal map with 90-degree angles is read as a crystal map, a cryo-EM box as a box.

Both headers say P 1 and a rectangular cell; the data decide (:mod:`.periodic_cell`).
"""

from __future__ import annotations

from pathlib import Path

import gemmi
import numpy as np
import pytest
from conftest import model_density, random_structure

from napari_densitybuild.maps import read_map
from napari_densitybuild.periodic_cell import crystal_cell_note

ROOT = Path(__file__).resolve().parents[1]


def write_ccp4(path: Path, arr_xyz: np.ndarray, cell: tuple, spacegroup: str = "P 1") -> Path:
    grid = gemmi.FloatGrid(np.ascontiguousarray(arr_xyz, dtype=np.float32),
                           gemmi.UnitCell(*cell), gemmi.SpaceGroup(spacegroup))  # fmt: skip
    ccp = gemmi.Ccp4Map()
    ccp.grid = grid
    ccp.update_ccp4_header()
    ccp.write_ccp4_map(str(path))
    return path


def periodic_field(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Band-limited noise made by FFT: periodic, like a crystal map full of density."""
    rng = np.random.default_rng(seed)
    f = np.fft.rfftn(rng.normal(size=shape))
    k = np.meshgrid(np.fft.fftfreq(shape[0]), np.fft.fftfreq(shape[1]),
                    np.fft.rfftfreq(shape[2]), indexing="ij")  # fmt: skip
    return np.fft.irfftn(f * (np.sqrt(sum(x * x for x in k)) < 0.15), shape, axes=(0, 1, 2))


def molecule_box(margin: float, noise: float) -> tuple[np.ndarray, tuple]:
    """A cryo-EM style box: the sample model's density (computed by FFT, so periodic) with
    ``margin`` A of solvent on every side, plus band-limited noise."""
    st = gemmi.read_structure(str(ROOT / "sample_data" / "sample_model.cif"))
    xyz = np.array([a.pos.tolist() for ch in st[0] for r in ch for a in r])
    lo, size = xyz.min(0) - margin, np.ptp(xyz, axis=0) + 2 * margin
    for ch in st[0]:
        for r in ch:
            for a in r:
                a.pos = gemmi.Position(*(np.array(a.pos.tolist()) - lo))
    st.cell = gemmi.UnitCell(*size, 90, 90, 90)
    st.spacegroup_hm = "P 1"
    dc = gemmi.DensityCalculatorX()
    dc.d_min = 3.0
    dc.grid.setup_from(st)
    dc.put_model_density_on_grid(st[0])
    arr = np.array(dc.grid, copy=True)
    arr /= arr.std()
    extra = periodic_field(arr.shape, seed=3)
    return arr + noise * extra / extra.std(), (*size, 90.0, 90.0, 90.0)


def test_whole_periodic_cell_is_a_crystal():
    a = periodic_field((40, 36, 32))
    note = crystal_cell_note(a, [40, 36, 32], [0.0, 0.0, 0.0])
    assert note is not None and "P 1 crystal map" in note


def test_cropped_or_placed_or_flat_maps_are_not_judged_crystals():
    a = periodic_field((48, 36, 32))
    assert crystal_cell_note(a[:40], [40, 36, 32], [0, 0, 0]) is None  # not periodic
    assert crystal_cell_note(a, [24, 36, 32], [0, 0, 0]) is None  # more than one cell
    assert crystal_cell_note(a, [48, 36, 32], [10.0, 0, 0]) is None  # an EM box's ORIGIN
    assert crystal_cell_note(np.zeros((16, 16, 16)), [16] * 3, [0, 0, 0]) is None
    holed = a.astype(np.float32)
    holed[3, 4, 5] = np.nan  # left to the reader, which refuses NaN with its own message
    assert crystal_cell_note(holed, [48, 36, 32], [0, 0, 0]) is None


@pytest.mark.parametrize(("margin", "noise"), [(2.0, 0.0), (5.0, 0.7), (10.0, 1.5)])
def test_molecule_in_a_box_stays_cryo_em(tmp_path, margin, noise):
    arr, cell = molecule_box(margin, noise)
    assert crystal_cell_note(arr, list(arr.shape), [0, 0, 0]) is None
    dmap = read_map(write_ccp4(tmp_path / "box.mrc", arr, cell))
    assert dmap.kind == "em"


def test_crystal_map_written_in_p1_reads_as_crystal(tmp_path):
    # a P 21 21 21 crystal of random atoms, as dense as protein (its copies fill the cell),
    # written in P 1
    st = random_structure((30.0, 34.0, 38.0, 90.0, 90.0, 90.0), "P 21 21 21", n_atoms=300)
    grid = model_density(st, d_min=2.0)
    arr, cell = np.array(grid, copy=True), grid.unit_cell.parameters
    dmap = read_map(write_ccp4(tmp_path / "p1.ccp4", arr, cell))
    assert dmap.kind == "xray" and dmap.covers_cell
    assert any("P 1 crystal map" in n for n in dmap.info["notes"])
    assert dmap.grid.spacegroup.hm == "P 1"
    values = np.array(dmap.grid)
    assert np.corrcoef(values.ravel(), arr.ravel())[0, 1] > 0.9999  # as written, sigma-scaled
    # written in its own space group, it was read as a crystal before: unchanged, no note
    same = read_map(write_ccp4(tmp_path / "p212121.ccp4", arr, cell, "P 21 21 21"))
    assert same.kind == "xray" and not any("P 1 crystal" in n for n in same.info["notes"])
    # a box cut from the same map, its cell the box (as a cryo-EM box is written): a box
    sub = arr[4:40, 6:50, 8:60]
    step = np.array(cell[:3]) / np.array(arr.shape)
    box = read_map(write_ccp4(tmp_path / "cut.mrc", sub, (*(step * sub.shape), 90, 90, 90)))
    assert box.kind == "em"


def test_resolution_from_the_fourier_terms(tmp_path):
    # a crystal map computed from coefficients to 2.3 A, written as CCP4 (whose header has no
    # resolution), in its space group and expanded to P 1
    st = random_structure((30.0, 34.0, 38.0, 90.0, 90.0, 90.0), "P 21 21 21", n_atoms=300)
    asu = gemmi.transform_map_to_f_phi(model_density(st, d_min=1.5)).prepare_asu_data(dmin=2.3)
    grid = asu.transform_f_phi_to_map(sample_rate=3.0)
    arr, cell = np.array(grid, copy=True), grid.unit_cell.parameters
    for group in ("P 21 21 21", "P 1"):
        dmap = read_map(write_ccp4(tmp_path / "m.ccp4", arr, cell, group))
        assert dmap.kind == "xray" and dmap.resolution == pytest.approx(2.3, abs=0.02)
        assert "2.3" in dmap.summary() and "Fourier terms stop" in dmap.summary()
    # a map computed from atoms in real space (terms to the grid's finest spacing), and a
    # cryo-EM box: no resolution
    atoms = model_density(st, d_min=2.0)
    dense = read_map(write_ccp4(tmp_path / "atoms.ccp4", np.array(atoms), cell, "P 21 21 21"))
    assert dense.resolution is None and "unknown resolution" in dense.summary()
    box, box_cell = molecule_box(5.0, 0.0)
    assert read_map(write_ccp4(tmp_path / "box.mrc", box, box_cell)).resolution is None


def test_resolution_from_the_fourier_terms_of_a_monoclinic_cell(tmp_path):
    st = random_structure((30.0, 34.0, 38.0, 90.0, 105.0, 90.0), "P 1 21 1", n_atoms=300)
    asu = gemmi.transform_map_to_f_phi(model_density(st, d_min=1.5)).prepare_asu_data(dmin=1.9)
    grid = asu.transform_f_phi_to_map(sample_rate=3.0)
    path = write_ccp4(tmp_path / "m.ccp4", np.array(grid), grid.unit_cell.parameters, "P 1 21 1")
    assert read_map(path).resolution == pytest.approx(1.9, abs=0.02)


def test_write_mrc_round_trip_keeps_the_crystal(tmp_path):
    """``mapfiles.write_mrc`` (how scripts share degraded maps): a P 21 21 21 crystal map read
    from an MTZ, written as CCP4 and read back, has the same cell, space group and values, and
    its resolution again from where its Fourier terms stop."""
    from conftest import write_mtz

    from napari_densitybuild.mapfiles import write_mrc

    st = random_structure((30.0, 34.0, 38.0, 90.0, 90.0, 90.0), "P 21 21 21", n_atoms=300)
    dmap = read_map(write_mtz(model_density(st, d_min=1.5), tmp_path / "m.mtz", d_min=2.3))
    write_mrc(tmp_path / "m.ccp4", dmap)
    back = read_map(tmp_path / "m.ccp4")
    assert back.cell.parameters == pytest.approx(dmap.cell.parameters, abs=1e-3)
    assert back.spacegroup.hm == dmap.spacegroup.hm == "P 21 21 21" and back.periodic
    assert np.array(back.grid).shape == np.array(dmap.grid).shape
    assert np.allclose(np.array(back.grid), np.array(dmap.grid), atol=1e-4)
    assert dmap.resolution == pytest.approx(2.3, abs=0.01)
    assert back.resolution == pytest.approx(2.3, abs=0.05)
