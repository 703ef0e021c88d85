"""The Model building panel closed, opened again and taken over (hunt 4, pytest-qt, napari,
the sample data): a panel docked again after another one worked on the model shows the model
as it is now and corrects the residue the user is on; closing a viewer whose panel was closed
ends its session, so the map's autosave file is free for the next window.
"""

from __future__ import annotations

import pytest
from conftest import JOB_TIMEOUT, open_widget

from napari_densitybuild.autosave import autosave_path
from napari_densitybuild.autosave_lock import lock_path

pytestmark = pytest.mark.gui


def _reopen(viewer):
    """What Plugins > Model building does once the panel's dock was closed."""
    _, widget = viewer.window.add_plugin_dock_widget("napari-densitybuild", "Model building")
    return widget


def test_a_panel_docked_again_after_another_edited_the_model_is_on_the_model_as_it_is(shown, qtbot):
    """The first panel, closed on residue 10, docked again after the panel that took over
    deleted three boxes before it: it showed 70 rows and residue index 10 (now another
    residue: a correction typed went to the wrong residue; at the last residue, an
    IndexError)."""
    widget, s = shown
    viewer = widget.viewer
    widget.refine_box.setChecked(False)  # (the correction's atoms sooner)
    widget.review.show_residue(10)
    key = (s.residues[10].chain, s.residues[10].seqid)
    viewer.window.remove_dock_widget(widget)
    again = _reopen(viewer)
    again.sync.boxes.remove([0, 1, 2])  # deleted in the other panel's time
    viewer.window.remove_dock_widget(again)
    viewer.window.add_dock_widget(widget, name="the first panel")  # docked again
    assert not widget.refused and widget.session is s
    assert widget.review.table.rowCount() == 67 and "67 residues" in widget.status.text()
    assert widget.review.current == 7
    assert widget.review.set_type("W")  # the residue the user is on, wherever it now is
    qtbot.waitUntil(lambda: widget.review.corrections.pending == 0, timeout=JOB_TIMEOUT)
    assert [(r.chain, r.seqid, r.name) for r in s.residues if r.edited] == [(*key, "TRP")]


def test_closing_a_viewer_whose_panel_was_closed_frees_the_maps_autosave(
    shown, make_napari_viewer, qtbot, sample_map
):
    """The panel closed (the model left on screen), then the window: napari keeps the closed
    viewer, so its session lived on holding the map's autosave file, and a new window on the
    map autosaved to a second file 'in use by another session' that no longer ran."""
    widget, s = shown
    claim = s.autosave_claim
    viewer = widget.viewer
    viewer.window.remove_dock_widget(widget)
    viewer.close()
    qtbot.waitUntil(lambda: not lock_path(claim.path).exists(), timeout=10_000)
    assert not claim.held()
    later = open_widget(make_napari_viewer(), qtbot, sample_map)  # a new window, the same map
    qtbot.waitUntil(lambda: later.session is not None, timeout=JOB_TIMEOUT)  # restored
    assert later.session.autosave_claim.path == autosave_path(sample_map)
    assert "in use" not in later.status.text()
