"""An MTZ's difference map (mFo-DFc) in napari: two layers, +3 sigma green and -3 sigma red (the
red one on the negated values), placed as the 2mFo-DFc map, opened by the reader after the
2mFo-DFc map when the file has difference coefficients, and kept apart in the map cache."""

from __future__ import annotations

from collections import OrderedDict

import gemmi
import numpy as np
import pytest
from conftest import density_at_atoms, model_density, random_structure, world_xyz, write_ccp4

from napari_densitybuild._napari import _map_cache, _reader
from napari_densitybuild._napari._layers import (
    DIFFERENCE_KIND,
    MAP_KIND,
    difference_layers,
    map_layer,
)
from napari_densitybuild._napari._reader import has_difference_columns, layers_from_files
from napari_densitybuild.maps import read_map

CELL = (22.0, 24.0, 26.0, 90.0, 90.0, 90.0)


def coefficients(grid: gemmi.FloatGrid, d_min: float = 2.0):
    """Miller indices, amplitudes and phases (degrees) of a map, sorted by (h, k, l)."""
    asu = gemmi.transform_map_to_f_phi(grid).prepare_asu_data(dmin=d_min)
    order = np.lexsort(asu.miller_array.T[::-1])
    v = asu.value_array[order]
    return asu.miller_array[order], np.abs(v), np.angle(v, deg=True)


def write_mtz_maps(path, grid: gemmi.FloatGrid, pairs: dict[tuple[str, str], gemmi.FloatGrid]):
    """An MTZ with map coefficients (amplitude F, phase P) of each grid under its labels."""
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = grid.spacegroup
    mtz.set_cell_for_all(grid.unit_cell)
    mtz.add_dataset("synthetic")
    columns, hkl = [], None
    for (f, phi), g in pairs.items():
        mtz.add_column(f, "F")
        mtz.add_column(phi, "P")
        miller, amplitude, phase = coefficients(g)
        assert hkl is None or np.array_equal(hkl, miller)  # one reflection list
        hkl = miller
        columns += [amplitude, phase]
    mtz.set_data(np.column_stack([hkl, *columns]).astype(np.float32))
    mtz.write_to_file(str(path))
    return path


@pytest.fixture(scope="module")
def crystal(tmp_path_factory):
    """A small P 1 crystal: the model (40 atoms), 3 atoms missing from it and 3 extra ones.

    Returns the folder, the MTZ with FWT/PHWT and DELFWT/PHDELWT (the difference map is the
    missing atoms' density minus the extra atoms'), the MTZ with FWT/PHWT only, and the missing
    and extra atoms' positions (x, y, z).
    """
    folder = tmp_path_factory.mktemp("difference")
    st = random_structure(CELL, "P 1", n_atoms=40, seed=3)
    missing = random_structure(CELL, "P 1", n_atoms=3, seed=11)
    extra = random_structure(CELL, "P 1", n_atoms=3, seed=12)
    full = model_density(st)
    diff = model_density(missing)
    diff.array[...] -= model_density(extra).array
    with_diff = write_mtz_maps(
        folder / "refined.mtz", full, {("FWT", "PHWT"): full, ("DELFWT", "PHDELWT"): diff}
    )
    plain = write_mtz_maps(folder / "plain.mtz", full, {("FWT", "PHWT"): full})
    model = folder / "model.pdb"
    st.write_pdb(str(model))
    return folder, with_diff, plain, model, world_xyz(missing), world_xyz(extra)


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty map cache for this test."""
    monkeypatch.setattr(_map_cache, "_maps", OrderedDict())


@pytest.fixture
def warnings(monkeypatch) -> list[str]:
    """The reader's warning notifications, recorded."""
    said: list[str] = []
    monkeypatch.setattr(_reader, "notify_warning", said.append)
    return said


def test_difference_layers_green_plus_red_minus_on_negated_values(crystal):
    _, path, _, _, missing, extra = crystal
    dmap = read_map(path, difference=True)
    layers = difference_layers(dmap)
    assert [kind for _, _, kind in layers] == ["image", "image"]
    (plus, plus_meta, _), (minus, minus_meta, _) = layers
    assert plus_meta["name"] == "refined.mtz mFo-DFc +3.0 σ"
    assert minus_meta["name"] == "refined.mtz mFo-DFc -3.0 σ"
    np.testing.assert_array_equal(minus, -plus)
    assert plus.min() < -3.0 and plus.max() > 3.0  # both signs have density to show
    for meta, sign in ((plus_meta, 1), (minus_meta, -1)):
        assert meta["rendering"] == "iso" and meta["iso_threshold"] == 3.0
        assert meta["metadata"]["densitybuild"] == DIFFERENCE_KIND
        assert meta["metadata"]["sign"] == sign and meta["metadata"]["units"] == "sigma"
        assert meta["metadata"]["info"]["columns"] == ("DELFWT", "PHDELWT")
        assert meta["contrast_limits"][0] == 0.0 and meta["contrast_limits"][1] > 4.0
    green = np.asarray(plus_meta["colormap"].colors)
    red = np.asarray(minus_meta["colormap"].colors)
    assert np.all(green[:, 1] > green[:, 0] + 0.5) and np.all(green[:, 1] > green[:, 2] + 0.5)
    assert np.all(red[:, 0] > red[:, 1] + 0.5) and np.all(red[:, 0] > red[:, 2] + 0.5)
    # the green surface wraps the missing atoms, the red one the extra atoms, not the other way
    at_missing, covered = density_at_atoms(layers[0], missing)
    assert covered == 1.0 and at_missing.min() > 3.0
    assert density_at_atoms(layers[1], missing)[0].max() < 0.0
    at_extra, _ = density_at_atoms(layers[1], extra)
    assert at_extra.min() > 3.0
    assert density_at_atoms(layers[0], extra)[0].max() < 0.0


def test_difference_layers_placed_as_the_map_layer(crystal):
    _, path, _, model, missing, _ = crystal
    dmap = read_map(path, difference=True)
    for around in (None, missing, world_xyz(gemmi.read_structure(str(model)))):
        data, meta, _ = map_layer(dmap, around=around)
        for values, diff_meta, _ in difference_layers(dmap, around=around):
            assert values.shape == data.shape
            assert diff_meta["scale"] == meta["scale"]
            assert diff_meta["translate"] == meta["translate"]
    layers = difference_layers(dmap, name="F", level=-2.5, spacing=1.0)
    assert [m["name"] for _, m, _ in layers] == ["F mFo-DFc +2.5 σ", "F mFo-DFc -2.5 σ"]
    assert [m["iso_threshold"] for _, m, _ in layers] == [2.5, 2.5]
    assert layers[0][1]["scale"] == (1.0, 1.0, 1.0)


def test_an_mtz_with_difference_coefficients_opens_three_maps(crystal, fresh_cache, warnings):
    _, path, _, model, _, _ = crystal
    layers = layers_from_files([path])
    assert [m["name"] for _, m, _ in layers] == [
        "refined.mtz",
        "refined.mtz mFo-DFc +3.0 σ",
        "refined.mtz mFo-DFc -3.0 σ",
    ]
    (two, two_meta, _), (plus, plus_meta, _), (minus, _, _) = layers
    assert two_meta["metadata"]["densitybuild"] == MAP_KIND
    assert two_meta["metadata"]["info"]["columns"] == ("FWT", "PHWT")
    assert two_meta["iso_threshold"] == 1.5
    assert plus_meta["metadata"]["source"] == str(path)
    assert not np.allclose(plus, two)  # the difference map, not the 2mFo-DFc map again
    np.testing.assert_array_equal(minus, -plus)
    assert warnings == []
    # with a model: the maps around its atoms, all three on one grid
    layers = layers_from_files([path, model], iso_sigma=1.2)
    assert [kind for _, _, kind in layers] == ["points", "image", "image", "image"]
    grids = {(m["scale"], m["translate"], d.shape) for d, m, k in layers if k == "image"}
    assert len(grids) == 1
    assert [m["iso_threshold"] for _, m, k in layers if k == "image"] == [1.2, 3.0, 3.0]


def test_an_mtz_without_difference_coefficients_opens_one_map(crystal, fresh_cache, warnings):
    folder, _, plain, _, _, _ = crystal
    layers = layers_from_files([plain])
    assert [m["name"] for _, m, _ in layers] == ["plain.mtz"]
    assert not has_difference_columns(plain)
    ccp4 = write_ccp4(read_map(plain).grid, folder / "plain.ccp4")
    assert [m["name"] for _, m, _ in layers_from_files([ccp4])] == ["plain.ccp4"]
    assert not has_difference_columns(ccp4)
    assert warnings == []


def test_broken_difference_columns_leave_the_map_open_with_a_warning(
    crystal, tmp_path, fresh_cache, warnings
):
    _, path, _, _, _, _ = crystal
    mtz = gemmi.read_mtz_file(str(path))
    data = np.array(mtz, copy=True)
    data[:, [c.label for c in mtz.columns].index("DELFWT")] = 0.0  # no difference map in it
    mtz.set_data(data)
    broken = tmp_path / "broken.mtz"
    mtz.write_to_file(str(broken))
    assert has_difference_columns(broken)
    layers = layers_from_files([broken])
    assert [m["name"] for _, m, _ in layers] == ["broken.mtz"]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert warnings[0].startswith("mFo-DFc map not shown: ")
    assert "broken.mtz" in warnings[0] and "DELFWT/PHDELWT" in warnings[0]


def test_difference_maps_are_cached_apart(crystal, fresh_cache, monkeypatch):
    """A difference map is read once, and never pushes a map to build into out of the cache."""
    from napari_densitybuild import maps

    _, path, plain, _, _, _ = crystal
    reads = []
    real = maps.read_map
    monkeypatch.setattr(maps, "read_map", lambda p, **k: reads.append(k) or real(p, **k))
    two = _map_cache.cached_map(plain)
    diff = _map_cache.cached_map(path, difference=True)
    assert diff.info["columns"] == ("DELFWT", "PHDELWT") and two.info["columns"][0] == "FWT"
    assert _map_cache.cached_map(path, difference=True) is diff
    assert _map_cache.kept_map(path) is None  # the 2mFo-DFc map of that file was not read
    own = _map_cache.cached_map(path)
    assert own is not diff and own.info["columns"] == ("FWT", "PHWT")
    assert len(reads) == 3 and reads.count({"difference": True}) == 1
    layers_from_files([path])  # all read already
    assert len(reads) == 3
    assert _map_cache.kept_map(plain) is two and _map_cache.kept_map(path) is own


def test_a_grown_difference_layer_keeps_its_sign(crystal, fresh_cache):
    """The map layers grown to cover a model (``_map_cover``): the +3 sigma layer is sampled
    from the mFo-DFc map, the -3 sigma one from its negation, the map layer from the map."""
    from napari_densitybuild._napari._map_cover import resampled

    _, with_diff, _, _, missing, _ = crystal
    lo = missing.min(0) - 2.0
    plus, origin, step = resampled(str(with_diff), lo, lo + 4.0, 0.5, 1)
    minus = resampled(str(with_diff), lo, lo + 4.0, 0.5, -1)[0]
    density = resampled(str(with_diff), lo, lo + 4.0, 0.5)[0]
    assert np.array_equal(minus, -plus) and not np.allclose(plus, density)
    top = np.array(np.unravel_index(np.argmax(plus), plus.shape))[::-1]  # x, y, z index
    diff = read_map(with_diff, difference=True)
    assert plus.max() == pytest.approx(diff.sample_points(origin + step * top)[0], abs=1e-3)
