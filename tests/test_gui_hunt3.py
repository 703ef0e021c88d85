"""The Model building widget under an afternoon's use (hunt 3): the boxes layer's selection
and the residue under review follow their residues through deletes and undo, and boxes pasted
in the boxes layer are added like clicked ones (pytest-qt, napari, the sample data).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import JOB_TIMEOUT
from qtpy.QtWidgets import QApplication

from napari_densitybuild._napari import _build_widget

pytestmark = pytest.mark.gui


def test_a_box_deleted_in_the_layer_takes_the_residue_under_review_with_it(shown):
    widget, s = shown
    boxes = widget.sync.boxes
    boxes.selected_data = {2}  # the user clicks box 2: it is the residue under review ...
    assert widget.review.current == 2
    boxes.remove_selected()  # ... and deletes it with the layer's Delete key
    assert len(s.residues) == 69
    assert widget.review.current is None  # not the residue that moved up into its place
    assert widget.review.type_combo.count() == 0
    assert not widget.review.set_type("W")  # nothing is changed behind the user's back
    assert not any(r.edited for r in s.residues)


def test_the_residue_under_review_follows_it_when_one_before_it_goes(shown):
    widget, s = shown
    widget.review.show_residue(10)
    label = s.residues[10].label
    widget.sync.boxes.remove([2])  # another box deleted in the layer
    assert s.residues[widget.review.current].label == label
    widget.review.undo()  # and back
    assert widget.review.current == 10 and s.residues[10].label == label
    widget.review.set_type("W")
    widget.review.corrections.cancel()  # (no need to wait for the atoms)
    assert widget.review.current == 10


def test_the_box_selection_follows_its_residues_through_delete_and_undo(shown):
    widget, s = shown
    boxes = widget.sync.boxes
    boxes.selected_data = {0, 69}  # the first and the last box; the first is under review
    last = s.residues[69]
    widget.review.delete_current()
    assert len(boxes.data) == 69
    assert sorted(boxes.selected_data) == [68]  # still the last box, none past the end
    widget.selected_only.setChecked(True)
    assert widget.selected_indices() == [68] and s.residues[68] is last
    widget.review.undo()
    assert sorted(boxes.selected_data) == [70 - 1] and s.residues[69] is last


def test_a_box_pasted_in_the_layer_is_added_like_a_clicked_one(qtbot, shown):
    """Copy and paste (Ctrl+C, Ctrl+V) in the boxes layer: napari reports only the selection
    of the pasted point; it crashed the review panel (an index past the end) and was never
    made a residue, so the layer no longer matched the model."""
    from napari.qt import QtViewer
    from qtpy.QtCore import Qt

    widget, s = shown
    boxes = widget.sync.boxes
    widget.viewer.layers.selection.active = boxes
    canvas = widget.window().findChild(QtViewer).canvas.native
    canvas.setFocus()
    boxes.selected_data = {3}
    qtbot.keyClick(canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    boxes.selected_data = set()
    qtbot.keyClick(canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert len(boxes.data) == 71  # pasted
    pasted = np.asarray(boxes.data)[-1][::-1]  # x, y, z
    QApplication.processEvents()
    qtbot.waitUntil(lambda: len(s.residues) == 71 and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    assert np.linalg.norm(s.residues[70].ca - pasted) < 3.0  # snapped to a C-alpha there
    qtbot.waitUntil(lambda: s.residues[70].name != "UNK" and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    assert len(boxes.data) == 71  # the layer shows the model


def test_closing_the_viewer_while_a_map_is_read_ends_quietly(
    make_napari_viewer, qtbot, sample_map, monkeypatch
):
    """The map is read off the GUI thread; closing napari meanwhile deletes the controls, and
    the read's callbacks must not touch them (pytest-qt fails the test on an exception in the
    event loop)."""
    from napari_densitybuild._napari import _widgets

    opened, real = threading.Event(), _widgets.layers_from_files

    def held(*args, **kwargs):  # the real read, once the test has closed the viewer
        assert opened.wait(JOB_TIMEOUT / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(_widgets, "layers_from_files", held)
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-densitybuild", "Model building")
    ended = []
    worker = widget.controls.open_files(str(sample_map))
    worker.finished.connect(lambda: ended.append(True))
    viewer.close()
    opened.set()
    qtbot.waitUntil(lambda: bool(ended), timeout=JOB_TIMEOUT)
    QApplication.processEvents()
    assert not viewer.layers  # nothing added to the closed viewer


def test_a_deleted_outline_layer_comes_back_without_taking_the_active_layer(shown):
    """The user deletes the "selected box" layer and works on in the boxes layer: drawing the
    outline again must not make it the active layer (the next Delete key or click would go to
    it instead of the boxes)."""
    widget, _ = shown
    viewer = widget.viewer
    viewer.layers.remove(widget.sync.outline)
    viewer.layers.selection.active = widget.sync.boxes
    widget.sync.boxes.selected_data = {4}  # a box clicked
    assert widget.sync.outline in viewer.layers
    assert viewer.layers.selection.active.name == "residue boxes"


def test_selected_boxes_only_with_the_boxes_layer_deleted_classifies_nothing(shown, monkeypatch):
    widget, _ = shown
    got = []
    monkeypatch.setattr(_build_widget, "notify_error", got.append)
    widget.sync.boxes.selected_data = {5}
    widget.viewer.layers.remove(widget.sync.boxes)  # no box can be seen selected any more
    widget.selected_only.setChecked(True)
    assert widget.classify() is None and not widget.runner.busy
    assert any("no boxes selected" in m for m in got)
