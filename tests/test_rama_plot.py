"""The review panel's Ramachandran plot: its regions and points (no Qt), the plot's classes,
clicks and current residue (pytest-qt), and in napari: opened from the panel, kept up to date
with edits, a click goes to the residue, and its dock closes with the panel's."""

from __future__ import annotations

from dataclasses import replace

import gemmi
import numpy as np
import pytest
from conftest import open_widget
from qtpy.QtCore import Qt

from napari_densitybuild._napari._rama_plot import (
    CLASSES,
    FAVOURED,
    REGION_RGB,
    RamaPlot,
    rama_points,
    region_levels,
)
from napari_densitybuild.geometry import rama_tables, ramachandran
from napari_densitybuild.session import Session

SAMPLE_MODEL = "sample_data/sample_model.cif"


def _bin(phi: float, psi: float, bins: int = 72) -> tuple[int, int]:
    return int((phi + 180) // (360 / bins)), int((psi + 180) // (360 / bins))


def test_regions_hold_what_they_say():
    t = rama_tables()
    for kind in CLASSES:
        dens, threshold = t[kind], float(t[f"{kind}_threshold"])
        levels = region_levels(dens, threshold)
        assert set(np.unique(levels)) == {0, 1, 2}
        assert FAVOURED <= dens[levels == 2].sum() < FAVOURED + 0.01  # the densest 98 %
        assert dens[levels == 2].min() >= dens[levels < 2].max()
        np.testing.assert_array_equal(levels == 0, dens < threshold)  # outliers as evaluate
    general = region_levels(t["general"], float(t["general_threshold"]))
    assert general[_bin(-63, -42)] == 2 and general[_bin(-120, 130)] == 2  # helix, strand
    assert general[_bin(80, -170)] == 0 and general[_bin(100, -150)] == 0
    glycine = region_levels(t["glycine"], float(t["glycine_threshold"]))
    assert glycine[_bin(80, -170)] == 2 and glycine[_bin(100, -150)] == 2  # glycine's own
    proline = region_levels(t["proline"], float(t["proline_threshold"]))
    assert proline[_bin(-63, -42)] == 2 and proline[_bin(60, 40)] == 0  # phi held near -65


def test_points_are_the_residues_with_both_angles():
    st = gemmi.read_structure(SAMPLE_MODEL)
    s = Session.from_structure(st)
    points = rama_points(s)
    rows = ramachandran(s.structure())
    assert len(points) == len(rows) > 60  # all but the ends of the chain's pieces
    ends = {0, len(s.residues) - 1}
    assert ends.isdisjoint(p.index for p in points)
    for p, row in zip(points, rows):
        r = s.residues[p.index]
        assert (r.chain, r.seqid) == (row["chain"], row["seqid"])
        assert (p.phi, p.psi, p.kind, p.outlier) == (row["phi"], row["psi"], row["class"],
                                                     row["outlier"])  # fmt: skip
    assert {p.kind for p in points} == set(CLASSES)  # ubiquitin has all four
    assert rama_points(Session([replace(r, atoms=()) for r in s.residues], None, {})) == []


@pytest.mark.gui
def test_plot_shows_a_class_picks_residues_and_follows_the_current_one(qtbot):
    s = Session.from_structure(gemmi.read_structure(SAMPLE_MODEL))
    plot = RamaPlot()
    qtbot.addWidget(plot)
    plot.resize(420, 460)
    plot.show()
    plot.show_session(s)
    canvas = plot.canvas
    general = [p for p in plot.all_points if p.kind == "general"]
    assert canvas.kind == "general" and canvas.points == general
    texts = [plot.kinds.itemText(k) for k in range(len(CLASSES))]
    assert texts[0].startswith(f"general: {len(general)} residues, ")
    p = general[len(general) // 2]
    with qtbot.waitSignal(plot.residue_clicked) as hit:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton,
                         pos=canvas.position(p.phi, p.psi).toPoint())  # fmt: skip
    assert hit.args == [p.index]
    assert canvas.point_at(canvas.position(0.0, 0.0)) is None  # nothing drawn there
    image = canvas.region_image("general")  # phi across, psi up
    for (phi, psi), rgb in (((-63, -42), REGION_RGB[2]), ((80, -170), REGION_RGB[0])):
        i, j = _bin(phi, psi)
        assert image.pixelColor(i, image.height() - 1 - j).getRgb()[:3] == rgb
    gly = next(q for q in plot.all_points if q.kind == "glycine")
    plot.set_current(gly.index)  # the class of the current residue is shown
    assert canvas.kind == "glycine" and canvas.current == gly.index
    assert all(q.kind == "glycine" for q in canvas.points)
    plot.set_current(0)  # a chain end: no point; the class stays
    assert canvas.kind == "glycine" and canvas.current == 0


@pytest.mark.gui
def test_panel_opens_the_plot_keeps_it_current_and_closes_it(make_napari_viewer, qtbot,
                                                             sample_map):  # fmt: skip
    viewer = make_napari_viewer()
    w = open_widget(viewer, qtbot, sample_map)
    s = Session.from_structure(gemmi.read_structure(SAMPLE_MODEL))
    s.autosave = False
    w.set_session(s)
    qtbot.mouseClick(w.review.rama_button, Qt.MouseButton.LeftButton)
    plot = w.review._rama
    assert plot is not None and plot.parent() is not None and plot.parent().isFloating()
    assert len(plot.all_points) == len(ramachandran(s.structure()))
    p = next(q for q in plot.all_points if q.kind == "general")
    plot.residue_clicked.emit(p.index)
    assert w.review.current == p.index and plot.canvas.current == p.index
    # an edit that turns the residue's atoms about its CA: the plot moves it
    r = s.residues[p.index]
    ca = r.ca
    turned = tuple((n, *(ca + (np.array(xyz) - ca)[[1, 0, 2]])) for n, *xyz in r.atoms)
    s.apply({p.index: replace(r, atoms=turned, edited=True)})
    w.refresh()
    q = next(q for q in plot.all_points if q.index == p.index)
    assert (q.phi, q.psi) != (p.phi, p.psi)
    w.review.current = None  # with no residue under review too
    s.apply({p.index: r})
    w.refresh()
    assert next(q for q in plot.all_points if q.index == p.index) == p
    plot.parent().hide()  # its window closed as a floating window's own button closes it
    assert w.review.show_rama() is plot and plot.parent().isVisible()  # pressed again: back
    plot.parent().close()
    qtbot.mouseClick(w.review.rama_button, Qt.MouseButton.LeftButton)
    assert w.review._rama is plot and plot.isVisible()
    viewer.window.remove_dock_widget(plot)  # its dock's own close (x): a new plot next time
    assert w.review.show_rama() is not plot and w.review._rama.isVisible()
    plot = w.review._rama
    viewer.window.remove_dock_widget(w)  # the panel's dock closes: so does the plot's
    assert plot.parent() is None and w.review._rama is None
