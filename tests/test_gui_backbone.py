"""The review panel's "Add residue", "Flip peptide", "Refine zone" and "Refine all" buttons
(pytest-qt, napari, the sample data): each is one undoable step (on the current residue, or
the whole model); a chain cut short grows back a residue per press of Add residue; a peptide
built the wrong way round shows as a Ramachandran outlier in Next problem and one press of Flip
peptide mends it; a residue the edit does not apply to is refused with the reason."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import JOB_TIMEOUT, button
from qtpy.QtCore import Qt

from napari_densitybuild._napari import _tasks
from napari_densitybuild.backbone_edit import flip_peptide

pytestmark = pytest.mark.gui


def _o(row) -> np.ndarray:
    return next(np.array(a[1:]) for a in row.atoms if a[0] == "O")


def _press(widget, qtbot, text: str) -> None:
    qtbot.mouseClick(button(widget, text), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)


def test_a_peptide_built_wrong_is_a_problem_that_flip_peptide_mends(shown, qtbot):
    widget, s = shown
    original = s.residues
    i = 35
    dmap = widget.kept_dmap()
    s.replace(flip_peptide(s, i, dmap).rows)  # built the wrong way round, and refined so
    wrong = s.residues
    label = f"{wrong[i].name} {wrong[i].chain}{wrong[i].seqid}"
    widget.review.show_residue(30)  # the sample's own problems: LYS 11, GLN 40, GLN 49, ASN 60
    said = []
    while not said or ("Ramachandran" not in said[-1] and len(said) < 3):
        _press(widget, qtbot, "Next problem")  # the peptide's residues, the map's check first
        said.append(widget.status.text())
    assert said[-1].startswith(f"Problem {len(said) + 1} of ") and (
        f"{label}: a Ramachandran outlier (Flip peptide here or at the next residue, or Refine "
        "zone)" in said[-1]
    ), said
    assert widget.review.current == i
    _press(widget, qtbot, "Flip peptide")
    assert s.residues is not wrong and "flipped: map at its O " in widget.status.text()
    assert "Ramachandran outliers of the two 1 -> 0" in widget.status.text()
    assert np.linalg.norm(_o(s.residues[i - 1]) - _o(original[i - 1])) < 0.5
    assert s.residues[i - 1].edited and s.residues[i].edited
    _press(widget, qtbot, "Next problem")  # checked again: only the sample's own problems left
    assert widget.status.text().startswith("Problem 2 of 4: GLN B40"), widget.status.text()
    _press(widget, qtbot, "Undo")
    assert s.residues is wrong


def test_refine_zone_moves_the_stretch_back_into_its_density(shown, qtbot):
    widget, s = shown
    i = 40
    rng = np.random.default_rng(1)
    rows = list(s.residues)
    for r in range(i - 2, i + 3):  # side chains and carbonyls shaken, C-alphas kept
        rows[r] = replace(rows[r], atoms=tuple(
            (a[0], *(np.array(a[1:]) + (0.0 if a[0] == "CA" else rng.normal(0, 0.35, 3))))
            for a in rows[r].atoms))  # fmt: skip
    s.replace(rows)
    shaken = s.residues
    widget.review.show_residue(i)
    _press(widget, qtbot, "Refine zone")
    text = widget.status.text()
    assert text.startswith(f"Refined {shaken[i - 2].label} - {shaken[i + 2].label} (5 residues)")
    fit = text.split("their atoms ")[1].split(" sigma")[0]
    before, after = (float(t) for t in fit.split(" -> "))
    assert after > before + 0.2
    assert all(s.residues[k] is shaken[k] for k in range(len(shaken)) if abs(k - i) > 2)
    _press(widget, qtbot, "Undo")
    assert s.residues is shaken


def test_refine_all_is_one_undo_step_and_needs_no_current_residue(shown, qtbot):
    widget, s = shown
    rows = s.residues
    widget.review.current = None
    _press(widget, qtbot, "Refine all")
    assert s.residues is not rows and len(s.residues) == len(rows)
    assert widget.status.text().startswith(f"Refined all {len(rows)} residues: mean map at ")
    _press(widget, qtbot, "Undo")
    assert s.residues is rows


def test_add_residue_grows_a_chain_cut_short_one_press_at_a_time(shown, qtbot):
    widget, s = shown
    full = s.residues
    s.replace(full[:60])
    cut = s.residues
    widget.review.show_residue(59)
    _press(widget, qtbot, "Add residue")
    assert len(s.residues) == 61 and widget.review.current == 60
    assert widget.status.text().startswith(f"Added {s.residues[60].label} after ")
    assert np.linalg.norm(s.residues[60].ca - full[60].ca) < 0.5
    _press(widget, qtbot, "Add residue")  # from the new residue on
    assert len(s.residues) == 62 and widget.review.current == 61
    assert np.linalg.norm(s.residues[61].ca - full[61].ca) < 0.5
    assert widget.sync.selected() == [61]
    _press(widget, qtbot, "Undo")
    _press(widget, qtbot, "Undo")
    assert s.residues is cut


def test_next_chain_break_finds_where_a_chain_begins_and_add_residue_grows_it(shown, qtbot):
    widget, s = shown
    full = s.residues
    s.replace(full[10:])  # the first ten residues gone: the chain begins at the old 11th
    # (the stops: that start, the gap where the sample lacks residue 35, the chain's end)
    widget.review.current = None
    qtbot.mouseClick(button(widget, "Next chain break"), Qt.MouseButton.LeftButton)
    first = s.residues[0]
    assert widget.review.current == 0
    assert widget.status.text().startswith(
        f"Break 1 of 3: chain {first.chain} starts at {first.label}; no chain ends within 11 A "
        "before it (Add residue"
    )
    _press(widget, qtbot, "Add residue")
    assert widget.status.text().startswith(f"Added {s.residues[0].label} before {first.label}")
    assert np.linalg.norm(s.residues[0].ca - full[9].ca) < 0.5


def test_backbone_edits_that_do_not_apply_are_refused(shown, qtbot, monkeypatch):
    widget, s = shown
    errors: list[str] = []
    monkeypatch.setattr(_tasks, "_notify", lambda err: errors.append(str(err)))
    rows = s.residues
    widget.review.show_residue(0)
    _press(widget, qtbot, "Flip peptide")
    assert "starts a piece of chain: no peptide before it to flip" in errors[0]
    widget.review.show_residue(30)
    _press(widget, qtbot, "Add residue")
    assert "is inside a piece of chain: go to a chain end first" in errors[1]
    assert s.residues is rows
