"""Stepping through a model in 3-D looks at each residue close up (pytest-qt, napari): the
first step turns a whole-map iso-surface, which hides the atoms inside it, into Coot's mesh
within 10 A, and zooms in; a radius or rendering the user chose is left as it is."""

from __future__ import annotations

import numpy as np
import pytest

from napari_densitybuild._napari._layers import camera, view_size
from napari_densitybuild._napari._mesh import DEFAULT_MESH_RADIUS
from napari_densitybuild._napari._widgets import MESH

pytestmark = pytest.mark.gui


def clip_half_edges(layer, viewer) -> np.ndarray:
    """Distance of each of ``layer``'s clipping planes from the centre of view (A)."""
    planes = np.array([p.position for p in layer.experimental_clipping_planes])
    return np.abs(planes - np.asarray(camera(viewer).center)).max(1)


def test_first_step_in_3d_draws_a_local_mesh_and_zooms_in(shown):
    widget, session = shown
    viewer, controls = widget.viewer, widget.controls
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    assert controls.radius.value() == 0 and controls.rendering.currentText() == "iso-surface"
    zoom = camera(viewer).zoom
    widget.review.show_residue(10)
    assert controls.rendering.currentText() == MESH and controls.local.mesh_on
    assert controls.radius.value() == DEFAULT_MESH_RADIUS
    assert "mesh within 10 Å" in controls.status.text()
    assert np.allclose(camera(viewer).center, session.residues[10].ca[::-1], atol=1e-3)
    fit = 0.9 * float(view_size(viewer).min()) / (2 * np.sqrt(2) * DEFAULT_MESH_RADIUS)
    assert camera(viewer).zoom > zoom and camera(viewer).zoom >= fit - 1e-6  # the cube fills it
    assert np.allclose(clip_half_edges(widget.sync.atoms, viewer), DEFAULT_MESH_RADIUS)
    # the user goes back to the whole iso-surface: later steps leave it so
    controls.rendering.setCurrentText("iso-surface")
    controls.radius.setValue(0)
    assert not controls.local.mesh_on
    widget.review.show_residue(30)
    assert controls.rendering.currentText() == "iso-surface" and controls.radius.value() == 0
    assert np.allclose(camera(viewer).center, session.residues[30].ca[::-1], atol=1e-3)


def test_a_radius_chosen_first_and_the_2d_view_are_left_alone(shown):
    widget, _ = shown
    viewer, controls = widget.viewer, widget.controls
    viewer.dims.ndisplay = 2
    widget.review.show_residue(5)  # 2-D: the slice moves, nothing else changes
    assert controls.radius.value() == 0 and controls.rendering.currentText() == "iso-surface"
    viewer.dims.ndisplay = 3
    controls.radius.setValue(6)
    widget.review.show_residue(12)
    assert controls.radius.value() == 6 and controls.rendering.currentText() == "iso-surface"
    assert not controls.local.mesh_on
