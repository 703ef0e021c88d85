"""The Model building panel closed and opened again (pytest-qt, napari, the sample data): the new
panel napari makes carries on with the model on screen instead of drawing a second set of
layers; a second panel on the viewer is switched off while one is open; the panel says where it
autosaves when another napari holds the map's usual autosave file.
"""

from __future__ import annotations

import pytest
from conftest import JOB_TIMEOUT

from napari_densitybuild._napari._build_widget import BuildWidget
from napari_densitybuild.autosave import autosave_path
from napari_densitybuild.autosave_lock import lock_path

pytestmark = pytest.mark.gui


def _names(viewer) -> list[str]:
    return [ly.name for ly in viewer.layers]


def _reopen(viewer) -> BuildWidget:
    """What Plugins > Model building does once the panel's dock was closed."""
    _, widget = viewer.window.add_plugin_dock_widget("napari-densitybuild", "Model building")
    return widget


def test_a_panel_opened_again_carries_on_with_the_model_on_screen(shown):
    widget, s = shown
    viewer = widget.viewer
    before = s.residues[3].name
    s.set_type(3, "W")  # a correction: one Undo away
    widget.refresh()
    widget.review.show_residue(5)  # the residue under review, in 3-D drawn in a local mesh
    assert "sample_map.mtz mesh" in _names(viewer)
    boxes, layers = widget.sync.boxes, [n for n in _names(viewer) if not n.endswith(" mesh")]
    viewer.window.remove_dock_widget(widget)  # the dock's close button: the mesh goes with it
    again = _reopen(viewer)
    assert again is not widget
    assert _names(viewer) == layers  # no second "residue boxes", "built atoms", ...
    assert again.session is s and again.sync.boxes is boxes
    assert again.review.current == 5 and "Carrying on" in again.status.text()
    boxes.remove([0])  # the boxes layer's edits reach the new panel
    assert len(s.residues) == 69 and again.review.current == 4
    assert again.review.undo() and again.review.undo()  # the history came along
    assert len(s.residues) == 70 and s.residues[3].name == before != "TRP"
    assert _names(viewer) == layers


def test_a_second_panel_is_off_while_one_is_open_on_the_viewer(shown):
    widget, s = shown
    viewer = widget.viewer
    layers = _names(viewer)
    second = BuildWidget(viewer)
    viewer.window.add_dock_widget(second, name="a second panel")
    assert _names(viewer) == layers  # no second set of layers
    assert second.refused and not second.isEnabled() and second.session is None
    assert "Another Model building panel" in second.status.text()
    widget.sync.boxes.remove([0])  # one panel, one session: deleted once
    assert len(s.residues) == 69 and not widget.refused


def test_a_closed_panel_docked_again_after_another_took_over_is_off_until_that_one_closes(shown):
    widget, s = shown
    viewer = widget.viewer
    layers = _names(viewer)
    viewer.window.remove_dock_widget(widget)
    again = _reopen(viewer)
    viewer.window.add_dock_widget(widget, name="the first panel")  # docked again, in code
    assert _names(viewer) == layers
    assert widget.refused and not widget.isEnabled() and widget.session is None
    assert again.session is s and not again.refused
    again.sync.boxes.remove([0])
    assert len(s.residues) == 69
    viewer.window.remove_dock_widget(again)
    viewer.window.remove_dock_widget(widget)
    viewer.window.add_dock_widget(widget, name="the first panel")  # now it takes it back
    assert not widget.refused and widget.isEnabled() and widget.session is s
    widget.sync.boxes.remove([0])
    assert len(s.residues) == 68 and _names(viewer) == layers


def test_with_its_layers_deleted_a_panel_opened_again_restores_the_autosave(shown, qtbot):
    widget, s = shown
    viewer = widget.viewer
    s.set_type(3, "W")
    viewer.window.remove_dock_widget(widget)
    for layer in [ly for ly in viewer.layers if ly.metadata.get("densitybuild") != "map"]:
        viewer.layers.remove(layer)  # the model's layers deleted by hand: that session ended
    again = _reopen(viewer)
    qtbot.waitUntil(lambda: again.session is not None, timeout=JOB_TIMEOUT)
    assert again.session is not s and again.session.residues[3].name == "TRP"
    assert again.session.autosave_claim.path == autosave_path(s.map_path)  # the usual file
    assert _names(viewer).count("residue boxes") == 1


def test_closing_the_viewer_ends_its_session_and_frees_its_autosave(shown, qtbot):
    widget, s = shown
    claim = s.autosave_claim
    assert claim.held() and lock_path(claim.path).exists()
    widget.viewer.close()
    qtbot.waitUntil(lambda: not lock_path(claim.path).exists(), timeout=10_000)
    assert not claim.held()


def test_closing_the_viewer_after_the_panel_frees_the_autosave(shown, qtbot):
    """The panel closed with its model left on screen, then napari's window: the session ends
    with the window, found through Qt's parents, not napari's private window attribute."""
    widget, s = shown
    claim = s.autosave_claim
    widget.viewer.window.remove_dock_widget(widget)
    assert claim.held()  # the model is still on screen
    widget.viewer.close()
    qtbot.waitUntil(lambda: not lock_path(claim.path).exists(), timeout=10_000)
    assert not claim.held()


def test_the_panel_uses_no_private_or_deprecated_napari_api(make_napari_viewer, qtbot,
                                                           sample_map):  # fmt: skip
    import warnings

    from conftest import open_widget, shown_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        widget = open_widget(make_napari_viewer(), qtbot, sample_map)
        shown_model(widget, sample_map)
        qtbot.wait(50)  # the panel's deferred look at its window
    said = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    private = [m for m in said if "Private attribute access" in m or "deprecated" in m]
    assert not private, private


def test_the_panel_says_where_it_autosaves_when_another_napari_holds_the_map(
    make_napari_viewer, qtbot, sample_map
):
    from conftest import open_widget, shown_model

    lock = lock_path(autosave_path(sample_map))
    lock.write_text('{"pid": 4242, "host": "another-host.example", "token": "t"}\n')
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    s = shown_model(widget, sample_map)
    path = s.autosave_claim.path
    assert path != autosave_path(sample_map) and path.is_file()
    said = widget.status.text()
    assert f"autosaved to {path}" in said and "process 4242 on another-host.example" in said
    s.set_type(3, "W")
    assert widget.restore_autosave()  # the newest autosave of the map: this one's
    assert widget.session.residues[3].name == "TRP"
