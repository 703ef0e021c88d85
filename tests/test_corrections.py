"""Type corrections in the review panel: atoms predicted off the GUI thread, queued, and
landing in one undoable step (napari, pytest-qt). The pose prediction is held by an event, so
the test decides when it finishes; waits are for conditions, never for fixed times."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import JOB_TIMEOUT, open_widget

from napari_densitybuild._napari import _corrections
from napari_densitybuild.residues import AMINO_ACIDS
from napari_densitybuild.session import ResidueState, Session

pytestmark = pytest.mark.gui


@pytest.fixture
def held(monkeypatch):
    """atoms_for_type replaced by one that waits for ``go`` and records its thread."""
    from napari_densitybuild import review

    state = {"go": threading.Event(), "threads": [], "calls": []}

    def pose(rows, index, new_type, dmap, clf, do_refine=True):
        res = rows[index]
        state["threads"].append(threading.get_ident())
        state["calls"].append(AMINO_ACIDS[new_type])
        assert state["go"].wait(30)
        return (("N", *res.centre), ("CA", *res.centre), ("C", *res.centre), ("O", *res.centre),
                ("CB", res.centre[0] + 1.5, res.centre[1], res.centre[2]))  # fmt: skip

    monkeypatch.setattr(review, "atoms_for_type", pose)
    return state


@pytest.fixture
def widget(make_napari_viewer, qtbot, sample_map):
    viewer = make_napari_viewer()
    w = open_widget(viewer, qtbot, sample_map)
    probs = tuple(np.eye(20)[7] * 0.6 + 0.02)
    rows = [ResidueState("A", k + 1, "", 7, probs, (10.0 + 3.8 * k, 10.0, 10.0),
                         tuple(np.eye(3).ravel()), 50.0 + k, ()) for k in range(6)]  # fmt: skip
    w.set_session(Session(rows, None, {}, autosave=False))
    w.test_viewer = viewer
    return w


def _wait(qtbot, w):
    qtbot.waitUntil(lambda: w.review.corrections.pending == 0, timeout=JOB_TIMEOUT)


def test_a_correction_lands_with_its_atoms_and_the_panel_stays_usable(qtbot, widget, held):
    w, panel = widget, widget.review
    panel.show_residue(2)
    before = w.session.residues[2]
    assert panel.set_type("W")
    # queued, not done on the GUI thread: the residue is as it was and the panel works on
    assert w.session.residues[2] is before and panel.corrections.pending == 1
    assert w.status.text() == "A 3 as TRP: predicting atoms"
    assert panel.isEnabled() and all(b.isEnabled() for b in w.buttons.values())
    assert panel.next_doubtful() is not None
    held["go"].set()
    _wait(qtbot, w)
    r = w.session.residues[2]
    assert r.name == "TRP" and r.edited and [a[0] for a in r.atoms][-1] == "CB"
    assert threading.get_ident() not in held["threads"]
    assert panel.table.rowCount() == 6 and w.sync.boxes.features["type"][2] == "TRP"
    assert w.session.undo() and w.session.residues[2] is before  # one step


def test_a_newer_correction_of_the_residue_replaces_the_older(qtbot, widget, held):
    w, panel = widget, widget.review
    before = w.session.residues[1]
    panel.set_type("W", index=1)
    qtbot.waitUntil(lambda: len(held["calls"]) == 1, timeout=JOB_TIMEOUT)  # running
    panel.set_type("F", index=1)
    panel.set_type("Y", index=3)
    panel.set_type("L", index=3)  # replaces the queued TYR
    held["go"].set()
    _wait(qtbot, w)
    assert held["calls"] == ["TRP", "PHE", "LEU"]
    assert w.session.residues[1].name == "PHE" and w.session.residues[3].name == "LEU"
    assert w.session.undo() and w.session.undo() and w.session.residues[1] is before
    assert not w.session.undo()


def test_a_correction_of_a_residue_changed_meanwhile_is_dropped(qtbot, widget, held, monkeypatch):
    said = []
    monkeypatch.setattr(_corrections, "notify_error", said.append)
    w, panel = widget, widget.review
    after = w.session.residues[3]
    panel.set_type("W", index=2)
    qtbot.waitUntil(lambda: len(held["calls"]) == 1, timeout=JOB_TIMEOUT)
    panel.show_residue(2)
    panel.delete_current()  # the user deletes it while its atoms are predicted
    held["go"].set()
    _wait(qtbot, w)
    assert len(w.session.residues) == 5 and w.session.residues[2] is after
    assert "TRP" not in [r.name for r in w.session.residues]
    assert len(said) == 1 and "changed" in said[0] and w.status.text() == said[0]


def test_a_correction_lands_on_its_residue_after_one_before_it_was_deleted(qtbot, widget, held):
    w, panel = widget, widget.review
    target = w.session.residues[4]
    panel.set_type("W", index=4)
    qtbot.waitUntil(lambda: len(held["calls"]) == 1, timeout=JOB_TIMEOUT)
    panel.show_residue(1)
    panel.delete_current()  # a residue before it goes: it is now the fourth
    held["go"].set()
    _wait(qtbot, w)
    r = w.session.residues[3]
    assert r.seqid == target.seqid and r.name == "TRP" and r.edited


def test_closing_the_dock_drops_the_queued_corrections_and_says_which(
    qtbot, widget, held, monkeypatch
):
    """Dropped, they were lost without a word: the panel opened again carries on with the
    model, without the corrections the user had typed."""
    from napari_densitybuild._napari import _build_widget

    said = []
    monkeypatch.setattr(_build_widget, "notify_warning", said.append)
    w, panel = widget, widget.review
    names = [r.name for r in w.session.residues]
    panel.set_type("W", index=0)
    panel.set_type("W", index=4)
    qtbot.waitUntil(lambda: len(held["calls"]) == 1, timeout=JOB_TIMEOUT)
    w.test_viewer.window.remove_dock_widget(w)  # the dock's close button
    held["go"].set()
    qtbot.waitUntil(lambda: not panel.corrections.runner.busy, timeout=JOB_TIMEOUT)
    assert [r.name for r in w.session.residues] == names and held["calls"] == ["TRP"]
    assert said == ["Not applied, the Model building panel closed before their atoms were "
                    "ready: A 1 as TRP, A 5 as TRP; make them again"]  # fmt: skip


def test_a_failed_correction_is_reported_and_the_queue_goes_on(qtbot, widget, monkeypatch):
    from napari_densitybuild import review
    from napari_densitybuild._napari import _tasks
    from napari_densitybuild.errors import DensityBuildError

    errors = []
    monkeypatch.setattr(_tasks, "_notify", errors.append)

    def pose(rows, index, new_type, dmap, clf, do_refine=True):
        res = rows[index]
        if AMINO_ACIDS[new_type] == "TRP":
            raise DensityBuildError("no atoms for this one")
        return (("N", *res.centre), ("CA", *res.centre), ("C", *res.centre), ("O", *res.centre))

    monkeypatch.setattr(review, "atoms_for_type", pose)
    w, panel = widget, widget.review
    panel.set_type("W", index=1)
    panel.set_type("A", index=4)
    _wait(qtbot, w)
    assert len(errors) == 1 and "no atoms" in str(errors[0])
    assert w.session.residues[1].name == "GLY" and w.session.residues[4].name == "ALA"
