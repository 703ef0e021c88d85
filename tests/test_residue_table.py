"""The review table: filled with its columns held fixed, and brought up to date row by row
after an edit to match a table filled from scratch (napari, pytest-qt)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import open_widget

from napari_densitybuild._napari._build_widget import BuildWidget
from napari_densitybuild._napari._residue_table import ResidueTable
from napari_densitybuild.build import build
from napari_densitybuild.classify import Classifier
from napari_densitybuild.maps import read_map
from napari_densitybuild.place import Placer
from napari_densitybuild.session import Session

pytestmark = pytest.mark.gui


def _cells(table: ResidueTable) -> dict[int, tuple[str, ...]]:
    return {table.residue_of(r): tuple(table.item(r, c).text() for c in range(table.columnCount()))
            for r in range(table.rowCount())}  # fmt: skip


def test_rows_patched_after_an_edit_match_a_full_fill(make_napari_viewer, qtbot, sample_map):
    viewer = make_napari_viewer()
    w = open_widget(viewer, qtbot, sample_map)
    dmap = read_map(str(sample_map))
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    session = Session.from_build(build(dmap, placer, clf, passes=1, do_refine=False))
    session.autosave = False
    w.set_session(session)
    table = w.review.table
    fills = []
    full = table._fill
    table._fill = lambda *a: (fills.append(1), full(*a))[1]
    table.sortItems(4)  # sorted by fit: rows are not in residue order
    # an edit that moves a residue's atoms: its fit, and its and its neighbours' phi/psi change
    k = 12
    r = session.residues[k]
    moved = tuple((a[0], a[1] + 0.8, a[2] - 0.5, a[3]) for a in r.atoms)
    session.apply({k: replace(r, atoms=moved, edited=True)})
    session.set_type(30, "W")
    before = _cells(table)
    w.refresh()
    assert fills == []  # patched, not refilled
    after = _cells(table)
    assert {i for i in after if after[i] != before[i]} <= {11, 12, 13, 29, 30, 31}
    assert after[12][0] == before[12][0] and after[12][4] != before[12][4]  # fit moved
    assert after[30][1] == "TRP *"
    fresh = ResidueTable()
    fresh.show_session(session, w.kept_dmap())
    assert after == _cells(fresh)
    np.testing.assert_allclose(table.fit, fresh.fit)
    # residues removed: the whole table again
    session.delete(3)
    w.refresh()
    assert fills == [1] and table.rowCount() == len(session.residues)
    fresh = ResidueTable()
    fresh.show_session(session, w.kept_dmap())
    assert _cells(table) == _cells(fresh)


def test_review_table_is_refilled_with_columns_fixed(make_napari_viewer):
    """Refilling the table with columns sized to their contents took N^2 steps (196 s for a
    1,764-residue model): the columns stay fixed while cells are set, then fit again."""
    from qtpy.QtWidgets import QHeaderView

    from napari_densitybuild.session import ResidueState, Session

    viewer = make_napari_viewer()
    widget = BuildWidget(viewer)
    viewer.window.add_dock_widget(widget)
    rows = [ResidueState("A", k + 1, "", k % 20, tuple(np.eye(20)[k % 20]), (3.8 * k, 0.0, 0.0),
                         tuple(np.eye(3).ravel()), 0.9, (("CA", 3.8 * k, 0.0, 0.0),))
            for k in range(60)]  # fmt: skip
    table = widget.review.table
    header = table.horizontalHeader()
    modes = []
    set_item = table.setItem
    table.setItem = lambda *a: (modes.append(header.sectionResizeMode(0)), set_item(*a))[1]
    widget.set_session(Session(rows, None, {}, autosave=False))  # a new model: every row
    assert len(modes) == 60 * table.columnCount() and table.rowCount() == 60
    assert set(modes) == {QHeaderView.ResizeMode.Interactive}
    fit = [header.sectionResizeMode(c) for c in range(table.columnCount())]
    assert set(fit) == {QHeaderView.ResizeMode.ResizeToContents} and header.stretchLastSection()
    assert not table.wordWrap()  # "ASN 0.13" on one line, never cut into two
    modes.clear()
    widget.session.set_type(7, "W")
    widget.refresh()  # one residue changed: its row and its neighbours', columns fixed too
    assert len(modes) == 3 * table.columnCount()
    assert set(modes) == {QHeaderView.ResizeMode.Interactive}


def test_rows_start_in_chain_order_and_the_panel_scrolls_on_a_short_screen(make_napari_viewer,
                                                                           qtbot):  # fmt: skip
    """Until the user sorts, rows run A 1, A 2, ... (Qt's first order is descending); the
    panel asks its dock for little height, so a laptop screen's window is not held taller than
    the screen (the panel needs about 1,000 pixels): its contents scroll, as wide as they need."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QScrollArea

    from napari_densitybuild.session import ResidueState, Session

    viewer = make_napari_viewer(show=True)
    widget = BuildWidget(viewer)
    viewer.window.add_dock_widget(widget)
    rows = [ResidueState("AB"[k // 30], k % 30 + 1, "", k % 20, (), (3.8 * k, 0.0, 0.0),
                         tuple(np.eye(3).ravel()), 0.9, (("CA", 3.8 * k, 0.0, 0.0),))
            for k in range(60)]  # fmt: skip
    widget.set_session(Session(rows, None, {}, autosave=False))
    table = widget.review.table
    assert table.horizontalHeader().sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    shown = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert shown[:3] == ["A 1", "A 2", "A 3"] and shown[-1] == "B 30"
    scroll = widget.findChild(QScrollArea)
    body = scroll.widget()
    assert body.minimumSizeHint().height() > 600  # what it would ask of the window unscrolled
    assert widget.minimumSizeHint().height() < 300
    assert widget.minimumSizeHint().width() >= body.minimumSizeHint().width()
    assert scroll.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    viewer.window._qt_window.resize(1200, 700)
    qtbot.waitUntil(lambda: scroll.viewport().width() >= body.minimumSizeHint().width(),
                    timeout=3000)  # nothing cut off, once the dock hears of the width  # fmt: skip
    assert scroll.verticalScrollBar().maximum() > 0  # the rest is reached by scrolling
