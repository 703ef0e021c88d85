"""A crystal map's layers grow to cover the model on them (pytest-qt, napari): a model that runs
out of the unit cell's box is shown in its density, not in empty space."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest
from conftest import JOB_TIMEOUT, open_widget
from scipy.ndimage import map_coordinates

from napari_densitybuild._napari._layers import DEFAULT_MARGIN
from napari_densitybuild._napari._map_cache import cached_map
from napari_densitybuild._napari._map_cover import layer_box, model_points
from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.models import read_structure
from napari_densitybuild.session import Session

pytestmark = pytest.mark.gui


def layer_values(layer, xyz: np.ndarray) -> np.ndarray:
    """The layer's trilinear values at world points (x, y, z), NaN outside its grid."""
    idx = (xyz - np.asarray(layer.translate)[::-1]) / np.asarray(layer.scale)[::-1]
    idx = idx[:, ::-1]  # (z, y, x) array order
    inside = np.all((idx >= 0) & (idx <= np.asarray(layer.data.shape) - 1), axis=1)
    out = np.full(len(xyz), np.nan)
    out[inside] = map_coordinates(np.asarray(layer.data), idx[inside].T, order=1)
    return out


def shifted_sample(shift_cells: tuple[int, int, int]) -> gemmi.Structure:
    """The sample model moved by whole unit cells: the same density, outside the cell's box."""
    st = read_structure(sample_paths()[1])
    shift = st.cell.orthogonalize(gemmi.Fractional(*shift_cells))
    for ch in st[0]:
        for res in ch:
            for atom in res:
                atom.pos = atom.pos + shift
    return st


def test_model_outside_the_cell_box_gets_its_density(make_napari_viewer, qtbot, sample_map):
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    layer, dmap = widget.controls.layer, cached_map(sample_map)
    level, before = layer.iso_threshold, layer_box(layer)
    session = Session.from_structure(shifted_sample((1, 0, 0)), str(sample_map), dmap)
    points = model_points(session)
    assert np.isnan(layer_values(layer, points)).mean() > 0.9  # outside the map shown
    widget.set_session(session)
    qtbot.waitUntil(lambda: layer_box(layer)[1][0] > before[1][0], timeout=JOB_TIMEOUT)
    lo, hi = layer_box(layer)
    assert np.all(lo <= points.min(0) - DEFAULT_MARGIN + 0.51)
    assert np.all(hi >= points.max(0) + DEFAULT_MARGIN - 0.51)
    assert np.all(lo <= before[0] + 1e-6) and np.all(hi >= before[1] - 1e-6)  # and the cell
    shown = layer_values(layer, points)
    truth = dmap.sample_points(points)
    assert np.corrcoef(shown, truth)[0, 1] > 0.95 and np.mean(truth) > 1.0  # the map, not 0
    assert layer.iso_threshold == level and layer in widget.viewer.layers  # the same layer
    assert widget.controls.layer is layer
    # a model inside what is shown starts nothing
    inside = Session.from_structure(read_structure(sample_paths()[1]), str(sample_map), dmap)
    assert widget._map_cover.worker is None
    assert not widget._map_cover.check(inside)


def test_mesh_follows_the_grown_map(make_napari_viewer, qtbot, sample_map):
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    dmap = cached_map(sample_map)
    session = Session.from_structure(shifted_sample((0, -1, 0)), str(sample_map), dmap)
    widget.controls.rendering.setCurrentText("mesh (as in Coot)")
    widget.set_session(session)
    qtbot.waitUntil(lambda: widget._map_cover.worker is None, timeout=JOB_TIMEOUT)
    widget.review.show_residue(10)
    mesh = widget.viewer.layers[f"{widget.controls.layer.name} mesh"]
    ca = session.residues[10].ca[::-1]  # z, y, x
    radius = widget.controls.radius.value()
    assert len(mesh.data) > 100  # contoured around the residue, out of the cell's box
    assert np.abs(np.asarray(mesh.data)[:, 0] - ca).max() <= radius + 0.5


def test_a_model_changed_while_the_map_grows_is_covered_too(make_napari_viewer, qtbot,
                                                            sample_map):  # fmt: skip
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    layer, dmap = widget.controls.layer, cached_map(sample_map)
    first = Session.from_structure(shifted_sample((1, 0, 0)), str(sample_map), dmap)
    second = Session.from_structure(shifted_sample((0, -1, 0)), str(sample_map), dmap)
    widget.set_session(first)
    assert widget._map_cover.worker is not None  # growing for the first model
    widget.set_session(second)  # before it is done: looked at again once it is
    qtbot.waitUntil(lambda: widget._map_cover.worker is None
                    and not widget._map_cover._again, timeout=JOB_TIMEOUT)  # fmt: skip
    lo, hi = layer_box(layer)
    for s in (first, second):  # the first model's part stays: grown boxes only grow
        points = model_points(s)
        assert np.all(lo <= points.min(0) - DEFAULT_MARGIN + 0.51)
        assert np.all(hi >= points.max(0) + DEFAULT_MARGIN - 0.51)


def test_a_model_cells_away_gets_the_map_around_it_alone(make_napari_viewer, qtbot, sample_map):
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    layer, dmap = widget.controls.layer, cached_map(sample_map)
    before = layer_box(layer)
    session = Session.from_structure(shifted_sample((3, 0, 0)), str(sample_map), dmap)
    widget.set_session(session)
    qtbot.waitUntil(lambda: widget._map_cover.worker is None, timeout=JOB_TIMEOUT)
    lo, hi = layer_box(layer)
    points = model_points(session)
    assert np.allclose(lo, points.min(0) - DEFAULT_MARGIN, atol=0.51)
    assert np.allclose(hi, points.max(0) + DEFAULT_MARGIN, atol=0.51)
    assert lo[0] > before[1][0]  # not the cell as well: a box four cells long


def test_a_cryo_em_box_is_left_as_it_is(make_napari_viewer, qtbot, tmp_path):
    from test_periodic_cell import molecule_box, write_ccp4

    box, cell = molecule_box(3.0, 0.0)
    path = write_ccp4(tmp_path / "box.mrc", box, cell)
    widget = open_widget(make_napari_viewer(), qtbot, path)
    layer, dmap = widget.controls.layer, cached_map(path)
    assert not dmap.periodic
    before = layer_box(layer)
    st = shifted_sample((0, 0, 0))
    for ch in st[0]:
        for res in ch:
            for atom in res:  # half of it out of the box
                atom.pos = gemmi.Position(atom.pos.x + cell[0] / 2, atom.pos.y, atom.pos.z)
    widget.set_session(Session.from_structure(st, str(path), dmap))
    qtbot.waitUntil(lambda: widget._map_cover.worker is None, timeout=JOB_TIMEOUT)
    assert all(np.allclose(a, b) for a, b in zip(layer_box(layer), before))
    assert str(path) in widget._map_cover._boxes  # looked at once, found a box
    assert not widget._map_cover.check(widget.session)  # and not looked at again
