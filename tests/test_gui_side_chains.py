"""The review panel's "Flip side chain" and "Next rotamer" buttons (pytest-qt, napari, the
sample data): each press is one undoable step on the current residue, "Next rotamer" walks the
ranked rotamers of the side chain as it was before the first press, and a residue the edit does
not apply to is refused with the reason."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import JOB_TIMEOUT, button
from qtpy.QtCore import Qt

from napari_densitybuild._napari import _tasks

pytestmark = pytest.mark.gui


def _atoms(row) -> dict[str, np.ndarray]:
    return {a[0]: np.array(a[1:]) for a in row.atoms}


def _press(widget, qtbot, text: str) -> None:
    qtbot.mouseClick(button(widget, text), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)


def _first(session, name: str) -> int:
    return next(i for i, r in enumerate(session.residues) if r.name == name)


def test_a_flipped_amide_is_one_undo_away(shown, qtbot):
    widget, s = shown
    i = _first(s, "GLN")
    before = _atoms(s.residues[i])
    widget.review.show_residue(i)
    _press(widget, qtbot, "Flip side chain")
    after = _atoms(s.residues[i])
    # refined after the swap: each end now near where the other was
    assert np.linalg.norm(after["OE1"] - before["NE2"]) < 0.5
    assert np.linalg.norm(after["NE2"] - before["OE1"]) < 0.5
    assert s.residues[i].edited and "turned over (OE1/NE2 swapped)" in widget.status.text()
    _press(widget, qtbot, "Undo")
    assert np.allclose(_atoms(s.residues[i])["OE1"], before["OE1"])


def test_the_hint_suggests_a_flip_where_the_hbonds_would_fit_better(shown, qtbot):
    """The sample's GLN 49 scores -2 as deposited and +2 turned over (its polar contacts as
    :mod:`~napari_densitybuild.sideflip` counts them): the hint says so; flipped, it does not."""
    widget, s = shown
    i = next(k for k, r in enumerate(s.residues) if r.label == "GLN 49")
    widget.review.show_residue(i)
    assert "Turned over, its H-bonds would score +2, not -2: Flip side chain." in (
        widget.review.hint.text()
    )
    _press(widget, qtbot, "Flip side chain")
    widget.review.show_residue(i)
    assert "Turned over" not in widget.review.hint.text()
    assert "H-bond score -2 -> +2" in widget.status.text()


def test_next_rotamer_walks_the_ranks_and_undo_takes_each_back(shown, qtbot):
    widget, s = shown
    i = _first(s, "LYS")
    original = s.residues[i]
    widget.review.show_residue(i)
    _press(widget, qtbot, "Next rotamer")
    assert f"{original.label}: rotamer 1 of " in widget.status.text()
    first = s.residues[i]
    _press(widget, qtbot, "Next rotamer")
    assert f"{original.label}: rotamer 2 of " in widget.status.text()
    second = s.residues[i]
    assert max(np.abs(_atoms(second)[k] - _atoms(first)[k]).max() for k in ("CE", "NZ")) > 0.5
    _press(widget, qtbot, "Undo")
    assert s.residues[i] == first
    _press(widget, qtbot, "Undo")
    assert s.residues[i] == original
    # another residue starts its own walk from the best rotamer
    j = _first(s, "LEU")
    widget.review.show_residue(j)
    _press(widget, qtbot, "Next rotamer")
    assert f"{s.residues[j].label}: rotamer 1 of " in widget.status.text()


def test_side_chain_edits_that_do_not_apply_are_refused(shown, qtbot, monkeypatch):
    widget, s = shown
    errors: list[str] = []
    monkeypatch.setattr(_tasks, "_notify", lambda err: errors.append(str(err)))
    rows = s.residues
    widget.review.show_residue(_first(s, "GLY"))
    _press(widget, qtbot, "Next rotamer")
    widget.review.show_residue(_first(s, "ASP"))
    _press(widget, qtbot, "Flip side chain")
    assert "has no rotamers to choose from" in errors[0]
    assert "nothing to turn over (its two ends are alike" in errors[1]
    assert s.residues is rows  # the model as it was


def test_next_problem_walks_the_checks_and_checks_again_after_an_edit(shown, qtbot):
    """The sample's problems are GLN 40 and GLN 49, whose H-bonds would score higher turned
    over, and LYS 11 and ASN 60, whose map is weaker than their atoms say: the walk goes to each
    in turn; once GLN 49 is flipped, the model is checked again and it is no longer flagged."""
    widget, s = shown
    flag = "H-bonds that would score higher turned over (Flip side chain)"
    poor = "a map that does not look like its atoms (real-space correlation under 0.8"
    _press(widget, qtbot, "Next problem")
    assert widget.status.text().startswith(f"Problem 1 of 4: LYS B11: {poor}")
    _press(widget, qtbot, "Next problem")  # no new check: the model did not change
    assert widget.status.text() == f"Problem 2 of 4: GLN B40: {flag}"
    assert s.residues[widget.review.current].label == "GLN 40"
    _press(widget, qtbot, "Next problem")
    assert widget.status.text() == f"Problem 3 of 4: GLN B49: {flag}"
    _press(widget, qtbot, "Flip side chain")
    _press(widget, qtbot, "Next problem")  # checked again, from the current residue on
    assert widget.status.text().startswith(f"Problem 3 of 3: ASN B60: {poor}")
    _press(widget, qtbot, "Next problem")
    _press(widget, qtbot, "Next problem")
    assert widget.status.text() == f"Problem 2 of 3: GLN B40: {flag}"
    _press(widget, qtbot, "Flip side chain")
    _press(widget, qtbot, "Next problem")
    assert widget.status.text().startswith(f"Problem 2 of 2: ASN B60: {poor}")
    assert [s.residues[k].label for k, _ in widget.review._problems] == ["LYS 11", "ASN 60"]
