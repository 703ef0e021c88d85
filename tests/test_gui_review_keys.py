"""The review panel's keyboard shortcuts (pytest-qt, napari, the sample data): bound on the
viewer while the panel works on it, each pressing its button; unbound when the dock closes; a
key the user bound first is left as it was."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import JOB_TIMEOUT, button, open_widget, shown_model
from napari.utils.key_bindings import coerce_keybinding

from napari_densitybuild._napari._review_keys import REVIEW_KEYS

pytestmark = pytest.mark.gui


def _press(widget, qtbot, key: str) -> None:
    widget.viewer.keymap[coerce_keybinding(key)](widget.viewer)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)


def test_the_keys_press_their_buttons_and_go_with_the_dock(shown, qtbot):
    widget, s = shown
    assert widget.keys.bound == [key for key, _ in REVIEW_KEYS]
    assert button(widget, "Flip side chain").toolTip().endswith("[Shift-F]")
    _press(widget, qtbot, "Shift-N")  # Next doubtful residue
    assert widget.review.current == int(np.argmin([r.confidence for r in s.residues]))
    i = next(k for k, r in enumerate(s.residues) if r.label == "GLN 49")
    widget.review.show_residue(i)
    rows = s.residues
    _press(widget, qtbot, "Shift-F")  # Flip side chain
    assert s.residues is not rows and "turned over (OE1/NE2 swapped)" in widget.status.text()
    widget.viewer.window.remove_dock_widget(widget)
    assert all(coerce_keybinding(key) not in widget.viewer.keymap for key, _ in REVIEW_KEYS)
    assert "[Shift-F]" not in button(widget, "Flip side chain").toolTip()


def test_a_key_the_user_bound_first_is_left_to_them(make_napari_viewer, qtbot, sample_map):
    viewer = make_napari_viewer()
    said = []
    viewer.bind_key("Shift-R", lambda v: said.append("mine"))
    widget = open_widget(viewer, qtbot, sample_map)
    shown_model(widget, sample_map)
    assert "Shift-R" not in widget.keys.bound and "Shift-N" in widget.keys.bound
    viewer.keymap[coerce_keybinding("Shift-R")](viewer)
    assert said == ["mine"]
    assert "[Shift-R]" not in button(widget, "Next rotamer").toolTip()
    # a key pressed with nothing to act on does what its button does: says so
    widget.review.current = None
    rows = widget.session.residues
    viewer.keymap[coerce_keybinding("Shift-Q")](viewer)  # Flip peptide, no residue chosen
    assert widget.session.residues is rows and not widget.runner.busy


def test_typing_a_capital_letter_in_the_type_field_is_not_a_shortcut(shown, qtbot):
    """The type field takes one-letter codes: Shift-N there types N, it does not go to the
    next doubtful residue."""
    from qtpy.QtCore import Qt

    widget, _ = shown
    widget.review.show_residue(5)
    widget.review.letter.setFocus()
    qtbot.keyClick(widget.review.letter, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert widget.review.letter.text().upper() == "N" and widget.review.current == 5


def test_a_key_pressed_on_the_canvas_reaches_the_panel(shown, qtbot):
    from qtpy.QtCore import Qt

    widget, s = shown
    widget.review.show_residue(5)
    expected = s.doubtful(after=5)  # what Next doubtful residue goes to from here
    assert expected != 5
    from napari.qt import QtViewer

    canvas = widget.window().findChild(QtViewer).canvas.native  # napari's public Qt viewer
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: widget.review.current != 5, timeout=JOB_TIMEOUT)
    assert widget.review.current == expected
