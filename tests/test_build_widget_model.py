"""The model shown by the Model building widget: restored from its autosave, replaced as one
undoable step, kept on its own map, and never overwritten by a job's result computed for
residues that were edited while it ran (pytest-qt, napari, the sample data).

Jobs that must still be running while the test edits the model wait on a gate the test opens;
every other wait is for a condition, never for a fixed time.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

import gemmi
import numpy as np
import pytest
from conftest import JOB_TIMEOUT, button, open_widget, shown_model
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from napari_densitybuild._napari import _box_edits, _build_widget, _model_on_map, _model_review
from napari_densitybuild._napari._map_cache import cached_map
from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild._napari._tasks import Cancelled, TaskRunner
from napari_densitybuild.models import read_structure
from napari_densitybuild.session import UNKNOWN, Session, autosave_path

pytestmark = pytest.mark.gui


@pytest.fixture
def said(monkeypatch):
    """Messages the widget modules notify (errors, warnings and information)."""
    got: list[str] = []
    for module in (_build_widget, _box_edits, _model_on_map, _model_review):
        for name in ("notify_error", "notify_warning", "notify_info"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, got.append)
    return got


@pytest.fixture
def gate(monkeypatch):
    """Classify's work held until the test sets the gate; it marks every residue it was given
    (score 0.123), computed for the residues as they were when the job started."""
    from napari_densitybuild import review

    opened = threading.Event()

    def held(session, dmap, clf, indices=None, poses=True, progress=None):
        assert opened.wait(JOB_TIMEOUT / 1000)
        todo = range(len(session.residues)) if indices is None else indices
        return {i: replace(session.residues[i], score=0.123) for i in todo}

    monkeypatch.setattr(review, "classify_residues", held)
    yield opened
    opened.set()


def test_reopening_the_map_restores_the_model_and_a_new_one_is_one_undo_away(
    make_napari_viewer, qtbot, sample_map, said
):
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)
    shown_model(widget, sample_map).set_type(5, "TRP")  # a correction, autosaved
    viewer.close()

    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    qtbot.waitUntil(lambda: widget.session is not None, timeout=JOB_TIMEOUT)
    assert widget.session.residues[5].name == "TRP" and widget.session.residues[5].edited
    assert any("restored 70 residues" in m for m in said)

    widget.auto_place()  # a new model on the same map: replaces the corrected one ...
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert all(r.type == UNKNOWN for r in widget.session.residues)
    assert Session.load(autosave_path(sample_map)).residues[5].type == UNKNOWN
    assert any("70 residues before is one Undo away" in m for m in said)
    qtbot.mouseClick(button(widget, "Undo"), Qt.MouseButton.LeftButton)  # ... and comes back
    assert widget.session.residues[5].name == "TRP"
    assert Session.load(autosave_path(sample_map)).residues[5].name == "TRP"


def test_classify_lands_on_the_residues_nobody_changed_while_it_ran(qtbot, gate, said, shown):
    widget, s = shown
    moved_up = s.residues[11]
    widget.classify()
    assert widget.runner.busy
    s.set_type(3, "TRP")  # corrected meanwhile: the correction stays
    s.delete(10)  # deleted meanwhile: the rows after it move up one
    gate.set()
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert len(s.residues) == 69
    assert s.residues[3].name == "TRP" and s.residues[3].score != 0.123
    assert s.residues[10].seqid == moved_up.seqid and s.residues[10].score == 0.123
    assert sum(r.score == 0.123 for r in s.residues) == 68
    assert "68 residues classified; 2 changed meanwhile" in widget.status.text()
    s.undo()  # the classification is one step
    assert not any(r.score == 0.123 for r in s.residues)


def test_a_box_added_while_a_job_runs_is_taken_back_and_the_job_kept(qtbot, gate, said, shown):
    widget, s = shown
    widget.classify()
    widget.on_boxes_added(np.array([s.residues[0].ca[::-1]]))
    assert widget.runner.name == "Classify" and any("Classify is running" in m for m in said)
    assert len(widget.sync.boxes.data) == 70
    gate.set()
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert all(r.score == 0.123 for r in s.residues)
    assert not widget.selected_only.isChecked()


def test_classify_of_no_selected_box_says_so(said, shown):
    widget, _ = shown
    widget.selected_only.setChecked(True)
    assert widget.classify() is None and not widget.runner.busy
    assert any("no boxes selected" in m for m in said)


@pytest.fixture
def two_maps(qtbot, sample_map, tmp_path, shown) -> tuple:
    """``shown`` with a copy of the map opened too: the widget, the copy's path, and a
    function that chooses a map layer by its file."""
    other = tmp_path / "other.mtz"
    shutil.copy(sample_map, other)
    widget, _ = shown
    widget.controls.open_files(str(other))
    qtbot.waitUntil(lambda: len(widget.controls.map_layers()) == 2, timeout=JOB_TIMEOUT)
    sources = [ly.metadata["source"] for ly in widget.controls.map_layers()]

    def choose(path: Path) -> None:
        widget.controls.map_combo.setCurrentIndex(sources.index(str(path)))

    return widget, other, choose


def test_the_model_stays_on_its_map_when_another_is_chosen(qtbot, sample_map, two_maps):
    widget, other, choose = two_maps
    choose(other)
    qtbot.waitUntil(lambda: "stays on sample_map.mtz" in widget.status.text(), timeout=2000)
    assert widget.map_path(chosen=True) == str(other)
    assert widget.map_path() == str(sample_map)
    assert cached_map(widget.map_file()).source == str(sample_map)
    assert cached_map(widget.map_file(chosen=True)).source == str(other)


def test_export_to_a_folder_that_is_not_there_says_so(tmp_path, said, shown):
    widget, _ = shown
    assert widget.export(str(tmp_path / "no such folder" / "m.cif")) is None
    assert any("cannot write the model" in m for m in said)


def test_a_failed_autosave_is_said(monkeypatch, shown):
    widget, s = shown
    assert "autosaved to" in widget.status.text()

    def read_only(self, path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Session, "save", read_only)
    s.set_type(2, "ALA")
    widget.refresh()
    assert "NOT autosaved" in widget.status.text() and "Permission denied" in widget.status.text()


def test_the_sequence_can_be_cleared(make_napari_viewer):
    widget = _build_widget.BuildWidget(make_napari_viewer())
    clear = button(widget, "No sequence")
    assert not clear.isEnabled()
    widget._set_sequence(str(Path(sample_paths()[0]).parent / "sample_sequence.fasta"))
    assert clear.isEnabled() and widget.sequence_button.text().startswith("Sequence: sample")
    clear.click()
    assert widget.sequence_path is None and not clear.isEnabled()


def test_a_superseded_job_is_cancelled(qtbot):
    """A job started while another runs cancels that one (it stops at its next report)."""
    runner = TaskRunner()
    stopped = threading.Event()

    def endless(progress):
        try:
            for _ in range(10_000):
                progress("work", 0, 1)
                threading.Event().wait(0.01)
        except Cancelled:
            stopped.set()
            raise

    runner.start("first", endless)
    second = runner.start("second", lambda progress: 1)
    qtbot.waitUntil(stopped.is_set, timeout=JOB_TIMEOUT)
    qtbot.waitUntil(lambda: not runner.busy, timeout=JOB_TIMEOUT)
    assert second is not None


def test_a_box_dragged_while_a_job_runs_is_placed_and_posed_when_it_is_done(
    qtbot, gate, said, shown
):
    widget, s = shown
    before = s.residues[7]
    widget.classify()
    data = np.array(widget.sync.boxes.data)
    data[7] += 0.6  # dragged a little while Classify runs: placed again once it is done
    widget.sync.boxes.data = data
    widget.on_boxes_moved([7])
    gate.set()
    # placed again (a C-alpha only: the held classifier poses nothing), then classified
    qtbot.waitUntil(lambda: len(s.residues[7].atoms) == 1 and s.residues[7].score == 0.123
                    and not widget.runner.busy, timeout=JOB_TIMEOUT)  # fmt: skip
    assert s.residues[7].seqid == before.seqid
    assert np.linalg.norm(s.residues[7].ca - before.ca) < 1.5  # snapped to the same C-alpha
    assert sum(r.score == 0.123 for r in s.residues) == 70  # the first Classify landed too


def test_an_emptied_model_is_not_replaced_by_its_autosave(
    make_napari_viewer, qtbot, sample_map, said
):
    """Deleting every residue leaves an empty model with its history: a layer added later (or
    the map list refilled) restores nothing over it."""
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)
    s = shown_model(widget, sample_map)
    s.set_type(3, "TRP")
    for _ in range(70):
        s.delete(0)
    viewer.add_points(np.zeros((1, 3)), name="other points")
    widget.controls._refresh_layers()
    QApplication.processEvents()  # the queued map check runs
    assert not s.residues and s.can_undo and not any("restored" in m for m in said)


def test_a_model_on_another_map_comes_back_with_restore_autosave(
    make_napari_viewer, qtbot, sample_map, tmp_path, said
):
    other = tmp_path / "other.mtz"
    shutil.copy(sample_map, other)
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    shown_model(widget, sample_map).set_type(3, "TRP")
    widget.controls.open_files(str(other))
    qtbot.waitUntil(lambda: len(widget.controls.map_layers()) == 2, timeout=JOB_TIMEOUT)
    sources = [ly.metadata["source"] for ly in widget.controls.map_layers()]
    widget.controls.map_combo.setCurrentIndex(sources.index(str(other)))
    shown_model(widget, other)  # a new model on the chosen map (as Auto-place would make)
    assert any("stays in its autosave" in m for m in said)
    widget.controls.map_combo.setCurrentIndex(sources.index(str(sample_map)))
    qtbot.mouseClick(button(widget, "Restore autosave"), Qt.MouseButton.LeftButton)
    assert widget.session.map_path == str(sample_map)
    assert widget.session.residues[3].name == "TRP"


def test_a_runner_deleted_with_its_viewer_ends_its_job_quietly(qtbot):
    """Closing the viewer deletes the widget and its runner: the job stops at its next report
    and nothing reaches the event loop (pytest-qt fails the test on an exception there)."""
    from qtpy.QtCore import QObject

    owner = QObject()
    runner = TaskRunner(owner)
    ended, landed = threading.Event(), []

    def endless(progress):
        try:
            for _ in range(10_000):
                progress("work", 0, 1)
                threading.Event().wait(0.01)
        finally:
            ended.set()

    runner.start("job", endless, on_done=landed.append)
    owner.deleteLater()
    qtbot.waitUntil(ended.is_set, timeout=JOB_TIMEOUT)
    QApplication.processEvents()  # the worker's returned/finished signals are delivered
    assert landed == []


def test_review_of_a_model_that_is_not_in_the_map_warns(
    make_napari_viewer, qtbot, sample_map, tmp_path, said
):
    st = read_structure(sample_paths()[1])
    for res in st[0][0]:
        for a in res:
            a.pos = gemmi.Position(a.pos.x + 300.0, a.pos.y, a.pos.z)
    st.setup_entities()
    path = tmp_path / "elsewhere.cif"
    st.make_mmcif_document().write_file(str(path))
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    widget.review_model(str(path))
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    assert any("does the model sit in this map" in m for m in said)


def test_a_map_the_widget_has_not_read_is_read_by_the_job_not_the_gui(
    qtbot, gate, said, shown, monkeypatch
):
    """A map layer opened by another plugin is read the first time a job needs it, on the
    job's worker thread: the GUI stays free however large the map."""
    from napari_densitybuild import maps
    from napari_densitybuild._napari import _map_cache

    widget, session = shown
    _map_cache._maps.clear()  # as if the layer came from another reader
    threads = []
    real = maps.read_map

    def read(*a, **k):
        threads.append(threading.current_thread())
        return real(*a, **k)

    monkeypatch.setattr(maps, "read_map", read)
    widget.review.refresh()  # the table is drawn without reading the map
    assert threads == []
    worker = widget.classify()
    qtbot.waitUntil(lambda: len(threads) == 1, timeout=JOB_TIMEOUT)
    assert threads[0] is not threading.main_thread()
    gate.set()
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert worker is not None and session.residues[0].score == 0.123 and len(threads) == 1
    assert _map_cache.kept_map(widget.map_path()) is not None  # the table has it now


def test_a_map_chosen_while_a_job_runs_is_looked_at_when_it_is_done(
    qtbot, sample_map, gate, two_maps
):
    widget, other, choose = two_maps
    choose(sample_map)
    widget.classify()  # held by the gate
    choose(other)
    qtbot.wait(200)
    assert "stays on" not in widget.status.text()  # not while the job runs
    gate.set()
    qtbot.waitUntil(lambda: "stays on sample_map.mtz" in widget.status.text(), timeout=JOB_TIMEOUT)
