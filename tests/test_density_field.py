"""The resampled map read between grid nodes: Catmull-Rom weights, peaks where the map has
them (not on grid nodes), a gradient that matches the values, borders that hold."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest
import torch

from napari_densitybuild.density_field import DensityField, catmull_rom_weights
from napari_densitybuild.lbfgs import minimize, value_and_grad
from napari_densitybuild.maps import DensityMap, read_map

CELL = 20.0
SD = 0.7  # A, the blob's width: an atom at about 1.8 A resolution


def blob_map(centre: np.ndarray) -> DensityMap:
    """A P1 cubic cell holding one Gaussian blob (peak 1) at ``centre``, on a 0.5 A grid."""
    grid = gemmi.FloatGrid()
    grid.set_unit_cell(gemmi.UnitCell(CELL, CELL, CELL, 90, 90, 90))
    grid.spacegroup = gemmi.SpaceGroup("P 1")
    grid.set_size_from_spacing(0.5, gemmi.GridSizeRounding.Up)
    axes = [np.arange(n) * CELL / n for n in (grid.nu, grid.nv, grid.nw)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    r2 = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2
    grid.array[...] = np.exp(-r2 / (2 * SD**2)).astype(np.float32)
    return DensityMap(grid=grid, source="blob")


# the peak, off the map's nodes (0.5 A), and a point the fields are made around, whose grid
# (0.4 A, through that point) has no node within 0.25 A of the peak
CENTRE = np.array([10.13, 9.87, 10.21])
AROUND = CENTRE[None] + np.array([0.17, 0.11, 0.23])


@pytest.fixture(scope="module")
def blob():
    return blob_map(CENTRE)


def test_catmull_rom_weights_sum_to_one_and_reproduce_quadratics():
    t = torch.rand(100, dtype=torch.float64)
    w = catmull_rom_weights(t)
    np.testing.assert_allclose(w.sum(-1).numpy(), 1.0, atol=1e-12)
    nodes = torch.arange(-1.0, 3.0, dtype=torch.float64)  # positions of the four nodes
    for poly in (lambda s: 2 + 0 * s, lambda s: 3 * s - 1, lambda s: s * s - 2 * s + 0.5):
        got = (w * poly(nodes)).sum(-1)
        np.testing.assert_allclose(got.numpy(), poly(t).numpy(), atol=1e-12)


def test_cubic_reading_follows_the_map_between_nodes(blob):
    pts = CENTRE + np.random.default_rng(0).normal(scale=0.8, size=(200, 3))
    truth = blob.sample_points(pts, order=3)  # gemmi's tricubic reading of the map itself
    err = {}
    for kind in ("cubic", "linear"):
        field = DensityField(blob, AROUND, interpolation=kind)
        got = field(torch.as_tensor(pts)).numpy()
        err[kind] = np.abs(got - truth).max()
    assert err["cubic"] < 0.03, err
    assert err["cubic"] < 0.5 * err["linear"], err


def _peak(field: DensityField, start: np.ndarray) -> np.ndarray:
    """Where minimising minus the field from ``start`` ends."""

    def energy(x: torch.Tensor) -> torch.Tensor:
        return -field(x.view(1, 3)).sum()

    best, _ = minimize(value_and_grad(energy, (1, 3)), torch.as_tensor(start).reshape(-1), 100)
    return best.numpy()


def test_an_atom_drawn_to_density_settles_on_the_peak(blob):
    start = CENTRE + np.array([0.3, -0.25, 0.2])
    cubic = DensityField(blob, AROUND, interpolation="cubic")
    linear = DensityField(blob, AROUND, interpolation="linear")
    at_cubic, at_linear = _peak(cubic, start), _peak(linear, start)
    assert np.linalg.norm(at_cubic - CENTRE) < 0.05
    # trilinear reading is flat or kinked between nodes: it holds the atom off the peak
    assert np.linalg.norm(at_linear - CENTRE) > 0.2


def test_gradient_matches_finite_differences(blob):
    field = DensityField(blob, AROUND, interpolation="cubic")
    x = torch.as_tensor(CENTRE + np.random.default_rng(1).normal(scale=0.6, size=(20, 3)))
    x.requires_grad_(True)
    field(x).sum().backward()
    h = 1e-5
    for axis in range(3):
        step = torch.zeros(3, dtype=torch.float64)
        step[axis] = h
        with torch.no_grad():
            fd = (field(x + step) - field(x - step)) / (2 * h)
        np.testing.assert_allclose(x.grad[:, axis].numpy(), fd.numpy(), atol=1e-5)


def test_positions_beyond_the_grid_read_its_border(blob):
    field = DensityField(blob, AROUND, interpolation="cubic")
    far = torch.as_tensor(np.array([[-100.0, 10.0, 10.0], [10.0, 300.0, 10.0], [10, 10, 10.0]]))
    out = field(far)
    assert torch.isfinite(out).all()
    lo = field.origin.numpy()
    edge = torch.as_tensor(np.array([[lo[0], 10.0, 10.0]]))
    assert float(out[0]) == pytest.approx(float(field(edge)[0]), abs=1e-9)
    inside = blob.sample_points(np.array([[10.0, 10.0, 10.0]]), order=3)[0]
    assert float(out[2]) == pytest.approx(float(inside), abs=0.02)


@pytest.mark.parametrize("kind", ["cubic", "linear"])
def test_float32_positions(blob, kind):
    field = DensityField(blob, AROUND, interpolation=kind)
    x = torch.as_tensor(CENTRE[None], dtype=torch.float32)
    assert field(x).dtype == torch.float32
    want = float(field(torch.as_tensor(CENTRE[None]))[0])
    assert float(field(x)[0]) == pytest.approx(want, abs=1e-5)


def test_unknown_interpolation(blob):
    with pytest.raises(ValueError, match="interpolation"):
        DensityField(blob, CENTRE[None], interpolation="nearest")


def test_one_resampling_read_both_ways(blob):
    """``read_as`` reads the same resampled grid another way: as a field made with that
    interpolation reads it, with the grid shared, not resampled."""
    cubic = DensityField(blob, AROUND, interpolation="cubic")
    linear = cubic.read_as("linear")
    assert linear.grid is cubic.grid and cubic.interpolation == "cubic"
    x = torch.as_tensor(CENTRE[None] + np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 0.1]]))
    made = DensityField(blob, AROUND, interpolation="linear")
    torch.testing.assert_close(linear(x), made(x))
    assert not torch.allclose(linear(x), cubic(x))
    with pytest.raises(ValueError, match="interpolation"):
        cubic.read_as("nearest")


def test_refinement_reading_the_map_cubically_ends_closer_to_the_model():
    """The bundled sample (a 1.5 A map simulated from its model), every atom moved 0.35 A rms:
    refinement brings the atoms back closer with the cubic reading than with the trilinear."""
    import dataclasses
    from pathlib import Path

    from napari_densitybuild.models import read_structure
    from napari_densitybuild.refine import atom_model, refine

    sample = Path(__file__).parents[1] / "sample_data"
    model = atom_model(read_structure(sample / "sample_model.cif"))
    dmap = read_map(sample / "sample_map.mtz")
    truth = model.xyz.copy()
    moved = dataclasses.replace(
        model, xyz=truth + np.random.default_rng(1).normal(0, 0.2, truth.shape)
    )
    median = {}
    for kind in ("linear", "cubic"):
        field = DensityField(dmap, truth, interpolation=kind)
        out = refine(moved, dmap, field=field, rotamer_fit=False, side_chain_flips=False,
                     peptide_flips=False, start_turns=False)  # fmt: skip
        median[kind] = float(np.median(np.linalg.norm(out - truth, axis=1)))
    assert median["cubic"] < median["linear"] - 0.003, median
    assert DensityField(dmap, truth[:10]).interpolation == "linear"  # the passes' default


def test_beyond_a_cryo_em_box_the_field_reads_no_map(tmp_path):
    """A box cut through the sample: inside it the field reads the map; beyond its face it reads
    0, not the values wrapped round from the box's far side."""
    from test_model_checks import MAP, MODEL, _em_box

    from napari_densitybuild.models import atom_table

    crystal = read_map(MAP)
    box = read_map(_em_box(tmp_path / "half.mrc", crystal, 0.5))
    xyz = atom_table(gemmi.read_structure(MODEL)).xyz
    field = DensityField(box, xyz, interpolation="linear")
    depth = box.depth_inside(xyz)
    inside, outside = xyz[depth > 1.0], xyz[depth < -1.0]
    assert len(inside) > 50 and len(outside) > 50
    read = field(torch.tensor(inside)).numpy()
    assert np.corrcoef(read, box.sample_points(inside))[0, 1] > 0.95
    assert np.all(field(torch.tensor(outside)).numpy() == 0.0)
    assert np.abs(box.sample_points(outside)).mean() > 0.5  # what wrapping would have read
