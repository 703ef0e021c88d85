"""The model-building widget's jobs: cancel, errors, closing the dock, what Auto-build is given.

Driven as a user would (pytest-qt, napari) on the sample data; buttons found by their text.
Waits are for conditions, never for fixed times.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import JOB_TIMEOUT, button, open_widget
from qtpy.QtCore import Qt

from napari_densitybuild._napari._build_widget import BUTTONS, BuildWidget

pytestmark = pytest.mark.gui


def test_cancel_stops_auto_build(make_napari_viewer, qtbot, sample_map):
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)
    outcomes = []
    widget.runner.stopped.connect(lambda name, outcome: outcomes.append((name, outcome)))
    qtbot.mouseClick(button(widget, "Auto-build"), Qt.MouseButton.LeftButton)
    assert widget.runner.busy and button(widget, "Cancel").isEnabled()
    qtbot.mouseClick(button(widget, "Cancel"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert outcomes == [("Auto-build", "cancelled")]
    assert widget.session is None  # nothing half-built was shown
    assert button(widget, "Auto-build").isEnabled()  # ready for the next job


def test_job_error_becomes_a_notification(make_napari_viewer, qtbot, sample_map, monkeypatch):
    """A job that fails (here: nothing found in the map) notifies the user; napari carries on."""
    from napari_densitybuild._napari import _tasks
    from napari_densitybuild.trace import Trace

    shown = []
    monkeypatch.setattr(_tasks, "_notify", lambda err: shown.append(str(err)))
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)

    class NothingFound:
        def place(self, dmap, progress=None):
            e = np.zeros((0, 3))
            return Trace(e, e, e, np.zeros(0), np.zeros(0, dtype=int))

    widget._placer = NothingFound()
    outcomes = []
    widget.runner.stopped.connect(lambda name, outcome: outcomes.append(outcome))
    widget.auto_build()
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert outcomes == ["failed"] and "no residues were found" in shown[0]
    assert widget.session is None and button(widget, "Auto-build").isEnabled()


def test_auto_build_leaves_out_weak_fragments_unless_asked(
    make_napari_viewer, qtbot, sample_map, monkeypatch
):
    """The widget's Auto-build passes the default weak-fragment rule, or None when the box is
    ticked (the build itself is replaced: it fails at once, which the widget reports)."""
    from napari_densitybuild import build as build_module
    from napari_densitybuild._napari import _tasks
    from napari_densitybuild.errors import DensityBuildError
    from napari_densitybuild.settings import DEFAULT_WEAK_FRAGMENTS

    seen = []

    def fake_build(*args, weak_fragments="missing", **kwargs):
        seen.append(weak_fragments)
        raise DensityBuildError("stopped by the test")

    monkeypatch.setattr(build_module, "build", fake_build)
    monkeypatch.setattr(_tasks, "_notify", lambda err: None)
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)
    assert not widget.keep_weak.isChecked()
    for keep in (False, True):
        widget.keep_weak.setChecked(keep)
        widget.auto_build()
        qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert seen == [DEFAULT_WEAK_FRAGMENTS, None]


def test_auto_build_aligns_to_the_protein_records_of_a_complex_fasta(
    make_napari_viewer, qtbot, sample_map, monkeypatch, tmp_path
):
    """A FASTA file with DNA strands besides the protein: Auto-build gets the protein alone,
    and a warning names what was left out."""
    from napari.utils.notifications import notification_manager

    from napari_densitybuild import build as build_module
    from napari_densitybuild._napari import _tasks
    from napari_densitybuild.errors import DensityBuildError

    seen = []

    def fake_build(dmap, placer, clf, seqs=None, **kwargs):
        seen.append(seqs)
        raise DensityBuildError("stopped by the test")

    monkeypatch.setattr(build_module, "build", fake_build)
    monkeypatch.setattr(_tasks, "_notify", lambda err: None)
    fasta = tmp_path / "complex.fasta"
    fasta.write_text(">A protein\nMKTAYIAKQRQ\n>B dna\nATGCGTACGT\n")
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)
    widget.sequence_path = str(fasta)
    before = len(notification_manager.records)
    widget.auto_build()
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert seen == [["MKTAYIAKQRQ"]]
    messages = [str(n.message) for n in notification_manager.records[before:]]
    assert any("'B dna'" in m and "DNA or RNA" in m for m in messages), messages


def test_closing_the_dock_stops_the_job_and_unties_the_layers(
    make_napari_viewer, qtbot, sample_map
):
    """Closing the Model building dock cancels its job, gives the map back whole, and leaves
    the boxes layer as it is: edits to it no longer reach the closed panel's session."""
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)
    widget.auto_place()
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    session, boxes = widget.session, widget.sync.boxes
    n = len(session.residues)
    viewer.dims.ndisplay = 3
    widget.controls.radius.setValue(6)
    assert len(widget.controls.layer.experimental_clipping_planes) == 6
    assert len(boxes.experimental_clipping_planes) == 6
    outcomes = []
    widget.runner.stopped.connect(lambda name, outcome: outcomes.append(outcome))
    widget.classify()
    assert widget.runner.busy
    viewer.window.remove_dock_widget(widget)  # the dock's close button
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert outcomes == ["cancelled"]
    assert all(len(ly.experimental_clipping_planes) == 0 for ly in viewer.layers)
    assert all(r.name == "UNK" for r in session.residues)  # nothing half-classified shown
    boxes.selected_data = {3}
    boxes.remove_selected()  # the layer is the user's now
    qtbot.wait(100)
    assert len(boxes.data) == n - 1 and len(session.residues) == n and not widget.runner.busy


def test_a_job_cancelled_after_its_last_progress_report_is_dropped(qtbot):
    """Cancel pressed while a job runs past its last progress report: it finishes, but its
    result is not applied and it ends as cancelled (a closed panel shows nothing late)."""
    import threading

    from napari_densitybuild._napari._tasks import TaskRunner

    runner = TaskRunner()
    reported, go, applied, outcomes = threading.Event(), threading.Event(), [], []
    runner.stopped.connect(lambda name, outcome: outcomes.append(outcome))

    def job(progress):
        progress("work", 1, 1)  # the last report
        reported.set()
        go.wait(10)
        return "result"

    runner.start("Job", job, on_done=applied.append)
    assert reported.wait(10)
    runner.cancel()
    go.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert outcomes == ["cancelled"] and applied == []
    runner.start("Job", lambda progress: "again", on_done=applied.append)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert applied == ["again"] and outcomes[-1] == "done"


def test_buttons_before_a_map_or_build_say_what_is_missing(make_napari_viewer, monkeypatch):
    """Every button pressed on a fresh panel (no map, nothing built) gives a message, no error."""
    from napari_densitybuild._napari import (
        _build_widget,
        _model_edits,
        _model_on_map,
        _model_review,
        _review_panel,
    )

    said = []
    for module in (_build_widget, _review_panel, _model_edits, _model_review, _model_on_map):
        monkeypatch.setattr(module, "notify_error", said.append)
    viewer = make_napari_viewer()
    widget = BuildWidget(viewer)
    viewer.window.add_dock_widget(widget)
    names = (*BUTTONS, "Next doubtful residue", "Next unmodelled blob", "Next chain break",
             "Close gap", "Add residue", "Flip peptide", "Cis/trans peptide", "Refine zone",
             "Refine all", "Delete residue", "Export model...")  # fmt: skip
    monkeypatch.setattr(_build_widget.QFileDialog, "getSaveFileName", lambda *a: ("", ""))
    for name in names:
        button(widget, name).click()
    assert len(said) == len(names) and all(isinstance(m, str) and m for m in said)
    assert widget.session is None and not widget.runner.busy
