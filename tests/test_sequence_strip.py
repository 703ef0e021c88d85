"""The sequence strip of the review panel: its layout (no Qt), its codes, colours and clicks
(pytest-qt), and in the panel: a click goes to the residue, and the strip follows edits; and
going to a residue by its chain and number, typed in the type field."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import backbone_state, open_widget
from qtpy.QtCore import QPoint, Qt
from qtpy.QtGui import QContextMenuEvent
from qtpy.QtWidgets import QMenu

from napari_densitybuild._napari._sequence_strip import (
    BREAK,
    SequenceView,
    strip_lines,
)
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.residue_state import find_residue
from napari_densitybuild.residues import INDEX
from napari_densitybuild.session import Session


def test_lines_wrap_start_each_chain_anew_and_mark_breaks():
    chains = ["A"] * 7 + ["B"] * 2
    piece = np.array([0, 0, 0, 1, 1, 1, 2, 3, 3])
    lines = strip_lines(chains, piece, 3)
    assert lines == [[0, 1, 2], [BREAK, 3, 4], [5, BREAK, 6], [7, 8]]
    for per_line in (1, 2, 4, 50):
        lines = strip_lines(chains, piece, per_line)
        assert all(0 < len(line) <= per_line for line in lines)
        cells = [i for line in lines for i in line]
        assert [i for i in cells if i != BREAK] == list(range(9))  # each residue once, in order
        assert cells.count(BREAK) == 2  # A's two breaks; a new chain needs none
        assert lines[0][0] == 0 and any(line[0] == 7 for line in lines)  # B starts a line
    assert strip_lines([], np.zeros(0, dtype=int), 5) == []


def _session() -> Session:
    """Chain A: residues 1-6 along x, a gap of 9 A, residues 10-12; chain B: 1-3. Types and
    probabilities set so confidence falls along chain A."""
    rows = [backbone_state("A", k + 1, [10.0 + 3.8 * k, 20.0, 20.0]) for k in range(6)]
    rows += [backbone_state("A", k + 10, [38.0 + 3.8 * k, 20.0, 20.0]) for k in range(3)]
    rows += [backbone_state("B", k + 1, [10.0 + 3.8 * k, 45.0, 60.0]) for k in range(3)]
    out = []
    for k, r in enumerate(rows):
        p = np.full(20, 0.0)
        p[INDEX["LEU"]], p[INDEX["ILE"]] = 1.0 - 0.08 * k, 0.08 * k
        out.append(replace(r, type=INDEX["LEU"], probs=tuple(p), score=1.0))
    out[2] = replace(out[2], type=INDEX["TRP"], edited=True)  # corrected by hand
    out[-1] = replace(out[-1], type=-1, probs=())  # not classified
    return Session(out, None, {}, autosave=False)


@pytest.mark.gui
def test_strip_shows_codes_by_confidence_and_a_click_names_the_residue(qtbot, monkeypatch):
    view = SequenceView()
    qtbot.addWidget(view)
    view.resize(400, 200)
    view.show()
    s = _session()
    view.show_session(s)
    strip = view.strip
    assert "".join(strip.letters) == "LLWLLLLLLLLX"
    assert strip.lines[0][:7] == [0, 1, 2, 3, 4, 5, BREAK]  # the gap after A 6
    assert strip.lines[-1][0] == 9 and strip.labels[9] == "B 1"  # chain B starts a line
    # red falls and green rises with confidence; the unclassified one is grey
    assert strip.colours[0][1] > strip.colours[8][1] and strip.colours[0][0] < strip.colours[8][0]
    np.testing.assert_allclose(strip.colours[-1][:3], 0.6)
    assert strip.edited.tolist() == [k == 2 for k in range(12)]
    assert "TRP A 3" in strip.tip(2) and "corrected by hand" in strip.tip(2)
    assert "runner-up ILE 0.08" in strip.tip(1)
    for k in range(12):  # each code is hit where it is drawn
        assert strip.index_at(strip.cell_rect(k).center()) == k
    assert strip.index_at(QPoint(2, 2)) is None  # the line's label
    with qtbot.waitSignal(strip.residue_clicked) as hit:
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(10).center())
    assert hit.args == [10]
    # narrower: more lines, every code still where a click finds it
    n = len(strip.lines)
    view.resize(strip.label_w + 4 * strip.cell_w + 40, 200)
    qtbot.waitUntil(lambda: len(strip.lines) > n)
    assert all(strip.index_at(strip.cell_rect(k).center()) == k for k in range(12))
    view.set_current(11)
    assert strip.current == 11
    # coloured by density fit: red at 1 sigma or under, green at 2 or over, grey unknown
    fit = np.linspace(0.5, 2.5, 12)
    fit[3] = np.nan
    view.show_session(s, fit)  # the same residues: only their fit is new
    assert np.array_equal(strip.fit, fit, equal_nan=True) and strip.mode == "confidence"

    def pick(menu, *_):  # the user picks the density fit in the strip's context menu
        next(a for a in menu.actions() if a.text() == "Colour by density fit").trigger()

    monkeypatch.setattr(QMenu, "exec", pick)
    strip.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(5, 5)))
    assert strip.mode == "density fit"
    np.testing.assert_allclose(strip.colours[0], (1, 0, 0, 1))
    np.testing.assert_allclose(strip.colours[-1], (0, 1, 0, 1))
    np.testing.assert_allclose(strip.colours[3][:3], 0.6)
    assert strip.colours[5][0] > strip.colours[7][0] and strip.colours[5][1] < strip.colours[7][1]
    assert "fit 0.5 σ" in strip.tip(0) and "fit" not in strip.tip(3)
    # by the difference map: offered only once there are values; red at -1 sigma or under,
    # green at 0 or over, grey where a residue has none
    offered = []
    monkeypatch.setattr(QMenu, "exec", lambda menu, *_: offered.extend(menu.actions()))
    strip.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(5, 5)))
    last = offered[-1]
    assert last.text() == "Colour by difference map (press Difference map first)"
    assert not last.isEnabled()
    diff = np.linspace(-1.5, 0.5, 12)
    diff[4] = np.nan
    view.show_session(s, None, diff)
    assert np.array_equal(strip.difference, diff, equal_nan=True) and strip.mode == "density fit"
    offered.clear()
    strip.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(5, 5)))
    assert offered[-1].text() == "Colour by difference map" and offered[-1].isEnabled()
    offered[-1].trigger()
    assert strip.mode == "difference map"
    np.testing.assert_allclose(strip.colours[0], (1, 0, 0, 1))
    np.testing.assert_allclose(strip.colours[-1], (0, 1, 0, 1))
    np.testing.assert_allclose(strip.colours[4][:3], 0.6)
    assert "mFo-DFc -1.50 σ" in strip.tip(0) and "mFo-DFc" not in strip.tip(4)
    np.testing.assert_array_equal(strip.fit, fit)  # the fit kept
    strip.set_mode("confidence")
    assert strip.colours[0][1] > strip.colours[8][1]
    # labels are given the room the longest one needs, and codes stay right of them
    long = Session([replace(r, chain="ABCD", seqid=10000 + k) for k, r in enumerate(s.residues)],
                   None, {}, autosave=False)  # fmt: skip
    view.show_session(long)
    assert strip.label_w > strip.fontMetrics().horizontalAdvance("ABCD 10011")
    assert strip.cell_rect(0).left() >= strip.label_w and strip.index_at(QPoint(2, 8)) is None
    view.show_session(None)
    assert strip.lines == [] and strip.current is None


@pytest.mark.gui
def test_panel_strip_goes_to_a_clicked_residue_and_follows_edits(make_napari_viewer, qtbot,
                                                                 sample_map):  # fmt: skip
    viewer = make_napari_viewer()
    w = open_widget(viewer, qtbot, sample_map)
    s = _session()
    w.set_session(s)
    strip = w.review.sequence.strip
    assert len(strip.letters) == 12
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip.cell_rect(4).center())
    assert w.review.current == 4 and strip.current == 4
    assert w.review.table.residue_of(w.review.table.currentRow()) == 4
    assert w.sync.selected() == [4]
    np.testing.assert_array_equal(strip.fit, w.review.table.fit)  # the table's density fit
    assert np.isfinite(strip.fit).all()
    s.set_type(4, "W")
    w.refresh()
    assert strip.letters[4] == "W" and strip.edited[4]
    w.review.delete_current()
    assert len(strip.letters) == 11 and strip.current is None
    assert w.review.undo() and len(strip.letters) == 12


def test_residues_are_found_as_a_person_names_them():
    rows = _session().residues  # A 1-6, A 10-12, B 1-3
    assert find_residue(rows, "A 10") == find_residue(rows, "A10") == 6
    assert find_residue(rows, " a/10 ") == find_residue(rows, "A:10") == 6
    assert find_residue(rows, "B 2") == 10 and find_residue(rows, "2") == 1  # first in order
    assert find_residue(rows, "2", prefer_chain="B") == 10
    assert find_residue(rows, "7") is None and find_residue(rows, "C 1") is None
    icoded = [*rows, replace(rows[0], seqid=52, icode="A"), replace(rows[1], seqid=52)]
    assert find_residue(icoded, "A 52A") == 12 and find_residue(icoded, "52") == 12
    assert find_residue(icoded, "A 52B") is None
    for text in ("", "LEU", "A 1 2", "A-B 3", "12.5"):
        with pytest.raises(DensityBuildError, match="does not name a residue"):
            find_residue(rows, text)


@pytest.mark.gui
def test_a_chain_and_number_typed_in_the_type_field_goes_there(
    make_napari_viewer, qtbot, sample_map, monkeypatch
):
    from napari_densitybuild._napari import _model_edits

    said = []
    monkeypatch.setattr(_model_edits, "notify_error", said.append)
    viewer = make_napari_viewer()
    w = open_widget(viewer, qtbot, sample_map)
    s = _session()
    w.set_session(s)
    types = [r.type for r in s.residues]
    field = w.review.letter
    for text, index in (("B 2", 10), ("3", 11), ("A 11", 7)):  # "3": in chain B, where it is
        field.setText(text)
        qtbot.keyClick(field, Qt.Key.Key_Return)
        assert w.review.current == index and w.review.sequence.strip.current == index
        assert field.text() == ""
    field.setText("A 99")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert said == ["no residue A 99 in the model"] and w.review.current == 7
    assert [r.type for r in s.residues] == types  # no type was changed on the way
