"""Acceptance: maps opened through the plugin's reader put the deposited atoms in density.

Each map is read the way napari reads it (``get_reader(path)(path)``), and the resulting Image
layer (data, scale, translate) is sampled at the model's atoms in the layer's world frame. The
same check must fail when the layer's x and z axes are swapped or it is shifted by 3 A.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    REAL_MAPS,
    assert_atoms_in_density,
    model_density,
    random_structure,
    real_model_path,
    world_xyz,
    write_ccp4,
    write_mtz,
)

from napari_densitybuild._napari._reader import get_reader
from napari_densitybuild.models import read_model


def read_through_plugin(*paths) -> list:
    """Layer tuples exactly as napari gets them from this plugin."""
    arg = str(paths[0]) if len(paths) == 1 else [str(p) for p in paths]
    reader = get_reader(arg)
    assert reader is not None, f"the plugin does not claim {arg}"
    layers = reader(arg)
    assert layers and layers[0][0] is not None, f"the reader returned no layer for {arg}"
    return layers


def image_layer(layers: list):
    """The map's layer (an MTZ with difference coefficients also gives two mFo-DFc layers)."""
    (image,) = [
        ly for ly in layers if ly[2] == "image" and ly[1]["metadata"]["densitybuild"] == "map"
    ]
    return image


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_MAPS or ["(no shared data)"])
def test_real_map_puts_atoms_in_density(real_dir, name):
    folder = real_dir / name
    atoms = read_model(real_model_path(folder))
    layer = image_layer(read_through_plugin(folder / "map.mtz"))
    meta = layer[1]
    assert meta["rendering"] == "iso"
    assert meta["metadata"]["cell"] is not None and meta["metadata"]["resolution"] > 0
    assert np.allclose(meta["scale"], meta["scale"][0])
    mean = assert_atoms_in_density(layer, atoms.xyz)
    print(f"{name}: mean density at {len(atoms)} atoms {mean:.2f} sigma")


@pytest.mark.realdata
def test_real_map_around_model(real_dir):
    """Map and model opened together: the map box surrounds the model, atoms in density."""
    folder = real_dir / "1g8a"  # monoclinic, P 1 21 1
    model = real_model_path(folder)
    layers = read_through_plugin(folder / "map.mtz", model)
    assert [ly[2] for ly in layers] == ["points", "image"]
    points, image = layers
    xyz = points[0][:, ::-1]
    assert np.allclose(xyz, read_model(model).xyz)
    lo = np.asarray(image[1]["translate"])
    hi = lo + np.asarray(image[1]["scale"]) * (np.array(image[0].shape) - 1)
    assert np.all(points[0] >= lo) and np.all(points[0] <= hi)
    assert_atoms_in_density(image, xyz)


SYNTHETIC = {
    "monoclinic C 2, beta 110": ((46.0, 38.0, 41.0, 90.0, 110.0, 90.0), "C 1 2 1"),
    "monoclinic P 21, beta 110": ((31.0, 36.0, 28.0, 90.0, 110.0, 90.0), "P 1 21 1"),
    "hexagonal P 61": ((37.0, 37.0, 52.0, 90.0, 90.0, 120.0), "P 61"),
    "trigonal P 31 2 1": ((40.0, 40.0, 35.0, 90.0, 90.0, 120.0), "P 31 2 1"),
}


@pytest.mark.parametrize("fmt", ["mtz", "ccp4"])
@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_synthetic_crystal_map(tmp_path, name, fmt):
    cell, sg = SYNTHETIC[name]
    st = random_structure(cell, sg, n_atoms=40, seed=len(name))
    grid = model_density(st, d_min=2.0)
    path = tmp_path / f"map.{fmt}"
    (write_mtz if fmt == "mtz" else write_ccp4)(grid, path)
    layer = image_layer(read_through_plugin(path))
    md = layer[1]["metadata"]
    assert np.allclose(md["cell"], cell, atol=1e-3)
    assert md["spacegroup"] == st.spacegroup_hm
    assert_atoms_in_density(layer, world_xyz(st))


def test_synthetic_map_around_model(tmp_path):
    """With a model, the box follows the model (atoms may sit far outside the first cell)."""
    cell, sg = SYNTHETIC["hexagonal P 61"]
    st = random_structure(cell, sg, n_atoms=30, seed=3)
    write_mtz(model_density(st), tmp_path / "map.mtz")
    # move the model by a lattice vector: same crystal, coordinates outside the unit cell
    for a in st[0][0]:
        for atom in a:
            atom.pos = atom.pos + st.cell.orthogonalize(gemmi_frac(2, -1, 1))
    st.setup_entities()
    st.make_mmcif_document().write_file(str(tmp_path / "model.cif"))
    layers = read_through_plugin(tmp_path / "map.mtz", tmp_path / "model.cif")
    image = image_layer(layers)
    xyz = world_xyz(st)
    lo = np.asarray(image[1]["translate"])[::-1]
    assert np.all(xyz >= lo)  # the atoms themselves lie in the box, no symmetry copy needed
    assert_atoms_in_density(image, xyz)


def gemmi_frac(u: float, v: float, w: float):
    import gemmi

    return gemmi.Fractional(u, v, w)


def _ccp4_part(grid, path, frac_lo, frac_hi):
    """Write the part of a whole-cell map between fractions ``frac_lo`` and ``frac_hi``."""
    import gemmi

    ccp4 = gemmi.Ccp4Map()
    ccp4.grid = grid
    ccp4.update_ccp4_header()
    box = gemmi.FractionalBox()
    box.extend(gemmi.Fractional(*frac_lo))
    box.extend(gemmi.Fractional(*frac_hi))
    ccp4.set_extent(box)
    ccp4.write_ccp4_map(str(path))
    return path


@pytest.mark.parametrize("sg", ["P 21 21 21", "P 1 21 1"])
def test_asymmetric_unit_map_fills_the_cell(tmp_path, sg):
    """A CCP4 map of one asymmetric unit (as CCP4 mapmask writes it) is expanded by the space
    group to the whole cell: periodic, every atom of every copy in density, the same map as the
    whole-cell file up to the sigma scale."""
    from napari_densitybuild.maps import read_map

    cell = (36.0, 40.0, 44.0, 90.0, 90.0 if sg.startswith("P 21") else 104.0, 90.0)
    st = random_structure(cell, sg, n_atoms=40, seed=5)
    grid = model_density(st, d_min=2.0)
    whole = read_map(write_ccp4(grid, tmp_path / "whole.ccp4"))
    hi = (0.5, 0.5, 0.999) if sg.startswith("P 21") else (0.999, 0.5, 0.999)
    part = read_map(_ccp4_part(grid, tmp_path / "asu.ccp4", (0, 0, 0), hi))
    assert part.covers_cell and part.info.get("filled_by_symmetry")
    assert "filled from the file's part by symmetry" in part.summary()
    a, b = np.array(whole.grid, copy=False), np.array(part.grid, copy=False)
    assert a.shape == b.shape and np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.999
    layer = image_layer(read_through_plugin(tmp_path / "asu.ccp4"))
    assert_atoms_in_density(layer, world_xyz(st))


def test_small_box_of_a_crystal_map_stays_a_box(tmp_path):
    """A box too small for its copies to fill the cell is read as the box it is."""
    from napari_densitybuild.maps import read_map

    st = random_structure((36.0, 40.0, 44.0, 90.0, 90.0, 90.0), "P 21 21 21", n_atoms=40, seed=6)
    part = read_map(_ccp4_part(model_density(st), tmp_path / "box.ccp4", (0.1, 0.1, 0.1),
                               (0.3, 0.3, 0.3)))  # fmt: skip
    assert not part.covers_cell and not part.info.get("filled_by_symmetry")
    assert part.summary().endswith("the file covers part of the cell")
    assert np.all(part.data_max - part.data_min < 0.25 * 44.0)


@pytest.mark.realdata
def test_box_of_a_real_crystal_map_builds_one_copy(real_dir, tmp_path):
    """A CCP4 box around the deposited model (crystal header kept, as Coot exports a map
    fragment) holds parts of symmetry copies: placement finds one copy, not one per copy."""
    import gemmi

    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer

    folder = real_dir / "1cbs"
    whole = read_map(folder / "map.mtz")
    box = gemmi.FractionalBox()
    for x in read_model(real_model_path(folder)).xyz:
        box.extend(whole.cell.fractionalize(gemmi.Position(*x)))
    box.add_margin(0.15)
    ccp4 = gemmi.Ccp4Map()
    ccp4.grid = whole.grid
    ccp4.update_ccp4_header()
    ccp4.set_extent(box)
    ccp4.write_ccp4_map(str(tmp_path / "box.ccp4"))
    dmap = read_map(tmp_path / "box.ccp4")
    assert dmap.covers_cell and dmap.info.get("filled_by_symmetry")
    placed = Placer.from_path(None, device="cpu").place(dmap)
    assert 130 <= len(placed) <= 145  # 137 deposited residues


def test_resampling_near_points_keeps_the_whole_box_values(tmp_path):
    """Sampling only the blocks near some points (a model spread over a large cell) gives the
    whole box's values wherever a point is within reach, and 0 only in blocks left out."""
    from pathlib import Path

    from napari_densitybuild.maps import BLOCK, blocks_near, read_map

    dmap = read_map(Path(__file__).parents[1] / "sample_data" / "sample_map.mtz")
    points = np.array([[2.0, 3.0, 4.0], [21.0, 19.0, 25.0]])  # two ends of a 25 A box
    lo, hi, spacing, reach = points.min(0) - 4.0, points.max(0) + 4.0, 0.4, 3.0
    whole, origin, step = dmap.resample_cartesian(lo, hi, spacing, order=3)
    near, origin2, step2 = dmap.resample_cartesian(lo, hi, spacing, order=3, near=points,
                                                   reach=reach)  # fmt: skip
    assert near.shape == whole.shape and step2 == step and np.array_equal(origin2, origin)
    k, j, i = np.indices(whole.shape)
    xyz = origin + step * np.stack([i, j, k], -1)
    close = np.min(np.linalg.norm(xyz[..., None, :] - points, axis=-1), -1) <= reach
    assert close.sum() > 1000 and np.array_equal(near[close], whole[close])
    sampled = np.zeros(whole.shape, dtype=bool)
    starts = blocks_near(lo, step, whole.shape, points, reach)
    for s in starts:
        sampled[s[0] : s[0] + BLOCK, s[1] : s[1] + BLOCK, s[2] : s[2] + BLOCK] = True
    assert np.array_equal(near[sampled], whole[sampled])
    assert not near[~sampled].any() and 0.05 < sampled.mean() < 0.5  # the middle is skipped
    assert len(blocks_near(lo, step, whole.shape, np.zeros((0, 3)), reach)) == 0
