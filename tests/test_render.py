"""Pixels: the sample map's iso-surface and its atoms are really drawn in a shown 3-D viewer.

Needs an X server (``xvfb-run -a``, ``QT_QPA_PLATFORM=xcb``); skipped without one. The
screenshots are kept in ``$DENSITYBUILD_SCREENSHOTS`` (default: a ``densitybuild-screenshots``
folder in the system temp folder) to be looked at.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from napari_densitybuild._napari._layer_sync import camera
from napari_densitybuild._napari._sample_data import make_sample_data

pytestmark = [pytest.mark.render, pytest.mark.gui]


def keep(path: Path) -> Path:
    folder = Path(
        os.environ.get("DENSITYBUILD_SCREENSHOTS")
        or Path(tempfile.gettempdir()) / "densitybuild-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(path, folder / path.name))


def screenshots(viewer, folder: Path):
    """``shot(name)``: the canvas as an array, saved (and kept, see :func:`keep`) as ``name``."""

    def shot(name: str) -> np.ndarray:
        path = folder / name
        img = viewer.screenshot(path=str(path), canvas_only=True, flash=False)
        assert path.is_file()
        keep(path)
        return np.asarray(img)

    return shot


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels whose colour differs by more than a little."""
    return float(np.mean(np.abs(a[..., :3].astype(int) - b[..., :3].astype(int)).max(-1) > 24))


def test_sample_renders_map_and_atoms(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer(show=True)
    for data, meta, kind in make_sample_data():
        getattr(viewer, f"add_{kind}")(data, **meta)
    atoms, density = viewer.layers
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    camera(viewer).angles = (15, 30, 60)
    qtbot.wait(300)
    shot = screenshots(viewer, tmp_path)
    both = shot("sample_3d.png")
    density.visible = False
    atoms_only = shot("sample_3d_atoms_only.png")
    atoms.visible = False
    empty = shot("sample_3d_empty.png")

    background = empty.reshape(-1, empty.shape[-1])[0]
    assert np.all(empty == background), "the empty canvas should be one colour"
    colours = np.unique(both[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) > 200, f"only {len(colours)} distinct colours: blank or flat rendering"
    assert np.mean(np.any(both[..., :3] != background[:3], axis=-1)) > 0.2
    # the iso-surface covers a good part of the view, and is blue
    assert changed(both, atoms_only) > 0.15
    surface = both[changed_mask(both, atoms_only)]
    assert np.median(surface[:, 2]) > np.median(surface[:, 0]) + 30
    # atoms are drawn and visible through the translucent surface; oxygens show up red
    assert changed(atoms_only, empty) > 0.02
    red = (both[..., 0] > 150) & (both[..., 1] < 110) & (both[..., 2] < 140)
    assert red.sum() > 20, f"{red.sum()} red (oxygen) pixels"


def changed_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a[..., :3].astype(int) - b[..., :3].astype(int)).max(-1) > 24


def test_build_overlay_renders(make_napari_viewer, qtbot, tmp_path):
    """After Auto-build: the map, the labelled residue boxes and the atoms with bonds are drawn."""
    from napari_densitybuild._napari._build_widget import BuildWidget
    from napari_densitybuild._napari._sample_data import sample_paths

    map_path = tmp_path / "sample_map.mtz"
    shutil.copy(sample_paths()[0], map_path)
    viewer = make_napari_viewer(show=True)
    widget = BuildWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.controls.open_files(str(map_path))
    qtbot.waitUntil(lambda: widget.controls.layer is not None, timeout=300_000)
    widget.auto_build()
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=300_000)  # fmt: skip
    density = widget.controls.layer
    sync = widget.sync
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    camera(viewer).angles = (15, 30, 60)
    qtbot.wait(300)
    shot = screenshots(viewer, tmp_path)
    full = shot("build_overlay.png")
    for layer in (density, sync.atoms, sync.bonds, sync.outline):
        layer.visible = False
    labels_only = shot("build_overlay_boxes_only.png")
    sync.boxes.visible = False
    empty = shot("build_overlay_empty.png")
    density.visible = True
    map_only = shot("build_overlay_map_only.png")
    assert len(np.unique(full[..., :3].reshape(-1, 3), axis=0)) > 200
    assert changed(labels_only, empty) > 0.01  # boxes and their text labels
    assert changed(full, map_only) > 0.02  # atoms, bonds and boxes on top of the map
    white = (labels_only[..., :3] > 200).all(-1) & ~(empty[..., :3] > 200).all(-1)
    assert white.sum() > 50, "no label text drawn"


def test_map_radius_draws_only_the_density_near_the_centre(make_napari_viewer, qtbot, tmp_path):
    """With a map radius the iso-surface is drawn in a cube around the centre of view only."""
    from napari_densitybuild._napari._widgets import DensityControls

    viewer = make_napari_viewer(show=True)
    widget = DensityControls(viewer)
    viewer.window.add_dock_widget(widget)
    data, meta, _ = make_sample_data()[1]
    density = viewer.add_image(data, **meta)
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    qtbot.wait(300)
    shot = screenshots(viewer, tmp_path)
    whole = shot("radius_whole.png")
    widget.radius.setValue(5)
    qtbot.wait(300)
    near = shot("radius_5A.png")
    density.visible = False
    empty = shot("radius_empty.png")
    drawn_whole, drawn_near = changed_mask(whole, empty), changed_mask(near, empty)
    assert drawn_whole.mean() > 0.2
    assert 0.002 < drawn_near.mean() < 0.3 * drawn_whole.mean()
    # what is left is at the centre of the canvas: a 10 A cube at the view's zoom
    rows, cols = np.nonzero(drawn_near)
    h, w = drawn_near.shape
    half = 5.0 * np.sqrt(3) * camera(viewer).zoom + 2
    assert np.abs(rows - h / 2).max() < half and np.abs(cols - w / 2).max() < half


def test_mesh_is_drawn_as_blue_lines_near_the_centre(make_napari_viewer, qtbot, tmp_path):
    """The mesh rendering draws the contour as lines in the radius, the map layer hidden."""
    from napari_densitybuild._napari._widgets import MESH, DensityControls

    viewer = make_napari_viewer(show=True)
    widget = DensityControls(viewer)
    viewer.window.add_dock_widget(widget)
    data, meta, _ = make_sample_data()[1]
    viewer.add_image(data, **meta)
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    widget.radius.setValue(6)
    widget.rendering.setCurrentText(MESH)
    qtbot.wait(300)
    shot = screenshots(viewer, tmp_path)
    mesh = shot("mesh_6A.png")
    widget.rendering.setCurrentText("iso-surface")
    widget.radius.setValue(0)
    for layer in viewer.layers:
        layer.visible = False
    empty = shot("mesh_empty.png")
    drawn = changed_mask(mesh, empty)
    assert 0.01 < drawn.mean() < 0.5
    lines = mesh[drawn][:, :3].astype(int)
    assert np.median(lines[:, 2]) > np.median(lines[:, 0]) + 40  # blue
    rows, cols = np.nonzero(drawn)
    h, w = drawn.shape
    half = 6.0 * np.sqrt(3) * camera(viewer).zoom + 2
    assert np.abs(rows - h / 2).max() < half and np.abs(cols - w / 2).max() < half
