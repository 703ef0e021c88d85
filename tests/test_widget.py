"""The density-controls dock widget drives the map layer (pytest-qt + napari's viewer fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_densitybuild._napari._layers import camera
from napari_densitybuild._napari._sample_data import make_sample_data, sample_paths
from napari_densitybuild._napari._widgets import DensityControls

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer_and_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = DensityControls(viewer)
    viewer.window.add_dock_widget(widget)  # the viewer owns (and closes) it
    return viewer, widget


def add_sample(viewer):
    for data, meta, kind in make_sample_data():
        getattr(viewer, f"add_{kind}")(data, **meta)
    return viewer.layers[-1]


def test_widget_is_contributed_by_the_manifest(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-densitybuild", "Density map")
    assert isinstance(widget, DensityControls)


def test_contour_drives_iso_threshold(viewer_and_widget):
    viewer, widget = viewer_and_widget
    assert not widget.contour.isEnabled()  # no map yet
    layer = add_sample(viewer)
    assert widget.layer is layer and widget.map_combo.currentText() == layer.name
    assert widget.contour.value() == pytest.approx(layer.iso_threshold)
    widget.contour.setValue(2.5)
    assert layer.iso_threshold == pytest.approx(2.5)
    layer.iso_threshold = 1.0  # changed elsewhere (layer controls): the widget follows
    assert widget.contour.value() == pytest.approx(1.0)


def test_rendering_switch(viewer_and_widget):
    viewer, widget = viewer_and_widget
    layer = add_sample(viewer)
    widget.contour.setValue(2.0)
    widget.rendering.setCurrentText("volume (mip)")
    assert layer.rendering == "mip"
    assert layer.contrast_limits[0] == pytest.approx(2.0)  # density below the level hidden
    widget.rendering.setCurrentText("volume (attenuated mip)")
    assert layer.rendering == "attenuated_mip"
    widget.rendering.setCurrentText("volume (translucent)")
    assert layer.rendering == "translucent"
    widget.rendering.setCurrentText("iso-surface")
    assert layer.rendering == "iso"
    layer.rendering = "mip"
    assert widget.rendering.currentText() == "volume (mip)"


def test_choosing_another_map_layer(viewer_and_widget):
    viewer, widget = viewer_and_widget
    first = add_sample(viewer)
    data, meta, _ = make_sample_data()[1]
    second = viewer.add_image(data, **{**meta, "name": "second map"})
    assert widget.map_combo.count() == 2
    widget.map_combo.setCurrentText("second map")
    assert widget.layer is second
    widget.contour.setValue(3.0)
    assert second.iso_threshold == pytest.approx(3.0)
    assert first.iso_threshold == pytest.approx(1.5)
    viewer.layers.remove(second)
    assert widget.map_combo.count() == 1 and widget.layer is first


def test_open_map_around_model(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    map_path, model_path = sample_paths()
    widget.map_path.setText(map_path)
    widget.model_path.setText(model_path)
    widget.contour.setValue(2.0)
    widget.open_button.click()
    qtbot.waitUntil(lambda: widget.status.text().startswith("opened"), timeout=30000)
    assert [type(ly).__name__ for ly in viewer.layers] == ["Points", "Image"]
    assert viewer.layers[1].iso_threshold == pytest.approx(2.0)
    assert viewer.dims.ndisplay == 3
    assert widget.layer is viewer.layers[1]


def test_open_bad_file_reports_error(viewer_and_widget, qtbot, tmp_path):
    viewer, widget = viewer_and_widget
    bad = tmp_path / "bad.mtz"
    bad.write_text("not an mtz")
    widget.open_files(str(bad))
    qtbot.waitUntil(lambda: "not a readable MTZ file" in widget.status.text(), timeout=30000)
    qtbot.waitUntil(widget.open_button.isEnabled, timeout=5000)
    assert len(viewer.layers) == 0


def notified_since(before: int) -> list[str]:
    """The messages of napari notifications after the first ``before`` ones."""
    from napari.utils.notifications import notification_manager

    return [str(n.message) for n in notification_manager.records[before:]]


def test_open_bad_file_notifies_too(viewer_and_widget, qtbot, tmp_path):
    """A read error is a napari notification, not only the small status text."""
    from napari.utils.notifications import notification_manager

    viewer, widget = viewer_and_widget
    bad = tmp_path / "bad.mtz"
    bad.write_text("not an mtz")
    before = len(notification_manager.records)
    widget.open_files(str(bad))
    qtbot.waitUntil(widget.open_button.isEnabled, timeout=30000)
    assert "bad.mtz: not a readable MTZ file" in widget.status.text()
    messages = notified_since(before)
    assert len(messages) == 1 and "bad.mtz: not a readable MTZ file" in messages[0], messages
    assert len(viewer.layers) == 0


@pytest.mark.parametrize(
    ("name", "said"), [("seq.fasta", "not a map or model file"), ("maps", "a folder")]
)
def test_open_what_the_plugin_does_not_read_says_nothing_opened(
    viewer_and_widget, qtbot, tmp_path, name, said
):
    """Another kind of file, or a folder: no layer, and a message saying why (not "opened")."""
    from napari.utils.notifications import notification_manager

    viewer, widget = viewer_and_widget
    path = tmp_path / name
    if name == "maps":
        path.mkdir()
    else:
        path.write_text(">A\nMKV\n")
    before = len(notification_manager.records)
    widget.open_files(str(path), sample_paths()[1])
    qtbot.waitUntil(widget.open_button.isEnabled, timeout=30000)
    status = widget.status.text()
    assert not status.startswith("opened") and f"{path}: {said}" in status, status
    messages = notified_since(before)
    assert len(messages) == 1 and f"{path}: {said}" in messages[0], messages
    if name != "maps":
        assert ".mtz" in status and ".cif" in status  # what it does read
    assert len(viewer.layers) == 0  # not even the model given with it


def kept_box(layer) -> tuple[np.ndarray, np.ndarray]:
    """World (z, y, x) corners of the box a layer's six clipping planes keep."""
    planes = layer.experimental_clipping_planes
    assert len(planes) == 6
    lo, hi = np.full(3, -np.inf), np.full(3, np.inf)
    for plane in planes:
        axis = int(np.argmax(np.abs(plane.normal)))
        if plane.normal[axis] > 0:
            lo[axis] = plane.position[axis]
        else:
            hi[axis] = plane.position[axis]
    return lo, hi


def test_map_radius_follows_the_centre_of_view(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    layer = add_sample(viewer)
    viewer.dims.ndisplay = 3
    assert len(layer.experimental_clipping_planes) == 0  # whole map by default
    camera(viewer).center = (20.0, 15.0, 10.0)
    widget.radius.setValue(6)
    lo, hi = kept_box(layer)
    np.testing.assert_allclose(lo, (14.0, 9.0, 4.0), atol=1e-6)
    np.testing.assert_allclose(hi, (26.0, 21.0, 16.0), atol=1e-6)
    camera(viewer).center = (25.0, 15.0, 12.0)  # the view moves: the density follows it
    camera(viewer).center = (25.0, 15.0, 13.0)  # once it rests
    assert kept_box(layer)[0][0] == pytest.approx(14.0)
    qtbot.waitUntil(lambda: kept_box(layer)[0][0] == pytest.approx(19.0), timeout=2000)
    lo, hi = kept_box(layer)
    np.testing.assert_allclose(lo, (19.0, 9.0, 7.0), atol=1e-6)
    viewer.dims.ndisplay = 2  # a slice shows the whole plane
    assert len(layer.experimental_clipping_planes) == 0
    viewer.dims.ndisplay = 3
    assert len(layer.experimental_clipping_planes) == 6
    widget.radius.setValue(0)
    assert len(layer.experimental_clipping_planes) == 0


def test_map_radius_clips_the_chosen_map_and_the_model(viewer_and_widget):
    viewer, widget = viewer_and_widget
    first = add_sample(viewer)
    data, meta, _ = make_sample_data()[1]
    second = viewer.add_image(data, **{**meta, "name": "second map"})
    viewer.dims.ndisplay = 3
    widget.radius.setValue(8)
    assert len(first.experimental_clipping_planes) == 6
    widget.map_combo.setCurrentText("second map")
    assert len(first.experimental_clipping_planes) == 0
    assert len(second.experimental_clipping_planes) == 6
    atoms = viewer.layers[0]
    assert len(atoms.experimental_clipping_planes) == 6  # the model too, by default
    widget.clip_model.setChecked(False)
    assert len(atoms.experimental_clipping_planes) == 0
    assert len(second.experimental_clipping_planes) == 6
    widget.clip_model.setChecked(True)
    widget.radius.setValue(0)
    assert all(len(ly.experimental_clipping_planes) == 0 for ly in viewer.layers)


def mesh_layers(viewer) -> list:
    return [ly for ly in viewer.layers if ly.metadata.get("densitybuild") == "mesh"]


def test_mesh_rendering_draws_the_contour_as_lines_in_the_radius(viewer_and_widget):
    from napari_densitybuild._napari._widgets import MESH

    viewer, widget = viewer_and_widget
    image = add_sample(viewer)
    viewer.dims.ndisplay = 3
    camera(viewer).center = (20.0, 15.0, 10.0)
    widget.rendering.setCurrentText(MESH)
    assert widget.radius.value() == 10  # a mesh is drawn near the centre: 10 A if no radius
    (mesh,) = mesh_layers(viewer)
    assert not image.visible and len(mesh.data) > 100
    assert np.abs(mesh.data[:, 0] - (20.0, 15.0, 10.0)).max() <= 10.0 + 0.5
    assert viewer.layers.selection.active is not mesh  # the user's layer stays active
    n = len(mesh.data)
    widget.contour.setValue(3.0)  # a higher level: less density, fewer lines
    assert 0 < len(mesh.data) < n
    at_3 = len(mesh_layers(viewer)[0].data)
    image.iso_threshold = 1.0  # set in napari's own layer controls: the mesh follows too
    assert widget.contour.value() == 1.0 and len(mesh_layers(viewer)[0].data) > at_3
    viewer.dims.ndisplay = 2  # a slice shows the map itself
    assert not mesh_layers(viewer) and image.visible
    viewer.dims.ndisplay = 3
    assert len(mesh_layers(viewer)) == 1 and not image.visible
    widget.rendering.setCurrentText("iso-surface")
    assert not mesh_layers(viewer) and image.visible and image.rendering == "iso"
    widget.rendering.setCurrentText(MESH)
    viewer.layers.remove(mesh_layers(viewer)[0])  # deleting the mesh layer ends mesh mode
    assert not mesh_layers(viewer) and image.visible
    assert widget.rendering.currentText() == "iso-surface"
    widget.rendering.setCurrentText(MESH)  # and the viewer closes with the mesh on


def test_mesh_of_a_large_map_is_contoured_near_the_centre_only(viewer_and_widget, monkeypatch):
    from napari_densitybuild._napari import _local_view
    from napari_densitybuild._napari._widgets import MESH

    monkeypatch.setattr(_local_view, "MESH_WHOLE_MAX", 20**3)  # the sample map counts as large
    viewer, widget = viewer_and_widget
    add_sample(viewer)
    viewer.dims.ndisplay = 3
    camera(viewer).center = (20.0, 15.0, 10.0)
    widget.rendering.setCurrentText(MESH)
    widget.radius.setValue(0)  # whole map asked for: 10 A instead
    (mesh,) = mesh_layers(viewer)
    assert np.abs(mesh.data[:, 0] - (20.0, 15.0, 10.0)).max() <= 10.0 + 0.5
    widget.radius.setValue(40)  # more than 20^3 voxels: capped at 10 voxels (5 A)
    assert np.abs(mesh.data[:, 0] - (20.0, 15.0, 10.0)).max() <= 5.0 + 0.5


def test_closing_the_dock_gives_the_map_back_whole(viewer_and_widget, qtbot):
    """Closing the dock (napari takes the widget out of it) leaves no clipping, no mesh and a
    shown map, and the controls no longer follow the view; docking them again restores them."""
    from napari_densitybuild._napari._widgets import MESH

    viewer, widget = viewer_and_widget
    image = add_sample(viewer)
    atoms = viewer.layers[0]
    viewer.dims.ndisplay = 3
    widget.radius.setValue(6)
    widget.rendering.setCurrentText(MESH)
    assert not image.visible and mesh_layers(viewer)
    assert len(atoms.experimental_clipping_planes) == 6
    viewer.window.remove_dock_widget(widget)  # what the dock's close button does
    assert widget.parent() is None
    assert image.visible and not mesh_layers(viewer)
    assert all(len(ly.experimental_clipping_planes) == 0 for ly in viewer.layers)
    camera(viewer).center = (25.0, 15.0, 12.0)  # the view moves: nothing is clipped again
    viewer.dims.ndisplay = 2
    viewer.dims.ndisplay = 3
    qtbot.wait(300)
    assert all(len(ly.experimental_clipping_planes) == 0 for ly in viewer.layers)
    assert not mesh_layers(viewer)
    data, meta, _ = make_sample_data()[1]
    viewer.add_image(data, **{**meta, "name": "opened later"})  # not picked up by closed controls
    assert widget.layer is None and widget.map_combo.count() == 1  # the list as it was
    viewer.window.add_dock_widget(widget)  # docked again: the radius applies once more
    assert widget.layer is image and widget.map_combo.count() == 2
    assert len(image.experimental_clipping_planes) == 6
    assert widget.rendering.currentText() == "iso-surface"


def test_a_map_opened_in_napari_is_not_read_again_by_the_widget(
    make_napari_viewer, qtbot, sample_map, monkeypatch
):
    """The reader and the Model building widget share the map read off the GUI thread."""
    from conftest import JOB_TIMEOUT, open_widget

    from napari_densitybuild import maps

    reads = []
    real = maps.read_map
    monkeypatch.setattr(maps, "read_map", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    qtbot.waitUntil(lambda: len(reads) == 1, timeout=JOB_TIMEOUT)
    from napari_densitybuild._napari._map_cache import cached_map

    assert cached_map(widget.map_file(chosen=True)).source == str(sample_map) and len(reads) == 1
