"""An MTZ with difference coefficients opened in napari (pytest-qt, napari's viewer): its
mFo-DFc layers are green at +3 sigma and red at -3 sigma, and the Model building panel never
offers them as the map to build into."""

from __future__ import annotations

import pytest
from conftest import JOB_TIMEOUT, model_density, random_structure
from test_difference_map import CELL, write_mtz_maps

from napari_densitybuild._napari._build_widget import BuildWidget

pytestmark = pytest.mark.gui

PLUGIN = "napari-densitybuild"


@pytest.fixture
def refined_mtz(tmp_path):
    """An MTZ with FWT/PHWT and DELFWT/PHDELWT (atoms missing from the model, and extra)."""
    full = model_density(random_structure(CELL, "P 1", n_atoms=40, seed=3))
    diff = model_density(random_structure(CELL, "P 1", n_atoms=3, seed=11))
    diff.array[...] -= model_density(random_structure(CELL, "P 1", n_atoms=3, seed=12)).array
    pairs = {("FWT", "PHWT"): full, ("DELFWT", "PHDELWT"): diff}
    return write_mtz_maps(tmp_path / "refined.mtz", full, pairs)


def test_difference_layers_are_not_offered_as_the_map(make_napari_viewer, qtbot, refined_mtz):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Model building")
    assert isinstance(widget, BuildWidget)
    viewer.open(str(refined_mtz), plugin=PLUGIN)
    names = [ly.name for ly in viewer.layers]
    assert names == ["refined.mtz", "refined.mtz mFo-DFc +3.0 σ", "refined.mtz mFo-DFc -3.0 σ"]
    two, plus, minus = viewer.layers
    assert [type(ly).__name__ for ly in viewer.layers] == ["Image"] * 3
    assert plus.rendering == minus.rendering == "iso"
    assert plus.iso_threshold == minus.iso_threshold == pytest.approx(3.0)
    assert plus.colormap.name == "densitybuild green" and minus.colormap.name == "densitybuild red"
    assert float(minus.data.max()) == pytest.approx(-float(plus.data.min()))

    controls = widget.controls
    combo = [controls.map_combo.itemText(i) for i in range(controls.map_combo.count())]
    assert combo == ["refined.mtz"]
    assert controls.map_layers() == [two] and controls.layer is two
    viewer.layers.selection.active = plus  # selecting a difference layer chooses nothing
    assert controls.layer is two and widget.map_file(chosen=True) == str(refined_mtz)

    # opened through the panel's own Open button: still one map in the chooser
    viewer.layers.clear()
    assert controls.map_combo.count() == 0 and controls.layer is None
    controls.open_files(str(refined_mtz))
    qtbot.waitUntil(lambda: len(viewer.layers) == 3, timeout=JOB_TIMEOUT)
    assert controls.map_combo.count() == 1 and controls.map_combo.currentText() == "refined.mtz"
    assert controls.layer is viewer.layers["refined.mtz"]
    controls.contour.setValue(2.0)  # the contour acts on the map, not the difference layers
    assert viewer.layers["refined.mtz"].iso_threshold == pytest.approx(2.0)
    assert viewer.layers["refined.mtz mFo-DFc -3.0 σ"].iso_threshold == pytest.approx(3.0)


def test_the_map_radius_cuts_the_difference_map_too(make_napari_viewer, qtbot, refined_mtz):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Model building")
    viewer.open(str(refined_mtz), plugin=PLUGIN)
    viewer.dims.ndisplay = 3
    widget.controls.radius.setValue(8)
    assert all(len(ly.experimental_clipping_planes) == 6 for ly in viewer.layers)
    widget.controls.radius.setValue(0)
    assert all(len(ly.experimental_clipping_planes) == 0 for ly in viewer.layers)
