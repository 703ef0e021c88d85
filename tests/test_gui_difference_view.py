"""Difference map and Next difference peak in the review panel (pytest-qt, napari): the model
as it stands against the measured amplitudes of its MTZ file."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest
from conftest import JOB_TIMEOUT, button, model_density, open_widget, write_ccp4, write_mtz
from test_model_maps import D_MIN, measured_mtz, side_chain, true_model

pytestmark = pytest.mark.gui


def _reviewed(widget, qtbot, model_path) -> None:
    assert widget.review_model(str(model_path)) is not None
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip


def _idle(widget, qtbot) -> None:
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)


def test_the_difference_map_finds_a_missing_side_chain(make_napari_viewer, qtbot, tmp_path):
    mtz = measured_mtz(true_model(), tmp_path / "refined.mtz")
    st = true_model()
    res, gone = side_chain(st)  # an ARG without its side chain beyond CB
    label = f"ARG {st[0][0].name}{res.seqid.num}"
    for name in gone:
        res.remove_atom(name, " ")
    lys, moved = side_chain(st, "LYS")  # and a LYS side chain 1.6 A off
    for a in lys:
        if a.name in moved:
            a.pos = a.pos + gemmi.Position(1.6, 0.0, 0.0)
    model = tmp_path / "missing.cif"
    st.make_mmcif_document().write_file(str(model))
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, mtz)
    _reviewed(widget, qtbot, model)
    names = {ly.name for ly in viewer.layers}
    table = widget.review.table
    assert table.isColumnHidden(table.columnCount() - 1)  # no diff σ column before
    button(widget, "Difference map").click()
    _idle(widget, qtbot)
    status = widget.status.text()
    assert status.startswith("Model against FP/SIGFP/FREE: R-work 0.") and "R-free" in status
    new = {ly.name for ly in viewer.layers} - names
    assert new == {"model mFo-DFc +3.0 σ", "model mFo-DFc -3.0 σ"}
    assert widget.controls.layer.name == "refined.mtz"  # the map to build into is kept
    assert not table.isColumnHidden(table.columnCount() - 1)
    column = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    diff = column.index("diff σ")
    table.sortItems(diff)  # ascending: the residue whose atoms the data least support first
    assert table.item(0, 0).text() == f"{st[0][0].name} {lys.seqid.num}"
    assert float(table.item(0, diff).text()) < -1.0
    assert all(table.item(r, diff).text() for r in range(table.rowCount()))
    # the sequence strip has the same values: coloured by them, the LYS is red
    strip = widget.review.sequence.strip
    rows = widget.session.residues
    np.testing.assert_array_equal(strip.difference, table.difference(rows))
    k = next(i for i, r in enumerate(rows) if r.seqid == lys.seqid.num)
    strip.set_mode("difference map")
    np.testing.assert_allclose(strip.colours[k], (1, 0, 0, 1))
    assert strip.difference[k] < -1.0
    assert f"mFo-DFc {strip.difference[k]:+.2f} σ" in strip.tip(k)
    said = []
    for _ in range(4):  # the largest peaks: the LYS's atoms (negative), the ARG's (positive)
        button(widget, "Next difference peak").click()
        said.append((widget.status.text(), widget.review.current))
    assert said[0][0].startswith("Peak 1 of ") and said[1][0].startswith("Peak 2 of ")
    lys_label = f"LYS {st[0][0].name}{lys.seqid.num}"
    assert lys_label in said[0][0] and "negative" in said[0][0], said
    arg = [(text, k) for text, k in said if label in text]
    assert arg and "positive" in arg[0][0], said
    assert widget.session.residues[arg[0][1]].seqid == res.seqid.num
    # an edit: the next press computes the map again for the model as it is now
    widget.review.delete_current()
    assert all(table.item(r, diff).text() for r in range(table.rowCount()))  # the rest kept
    button(widget, "Next difference peak").click()
    _idle(widget, qtbot)
    assert widget.status.text().startswith("Peak 1 of ")
    button(widget, "Difference map").click()  # again: the layers are replaced, not added
    _idle(widget, qtbot)
    assert len([ly for ly in viewer.layers if "mFo-DFc" in ly.name]) == 2
    widget.review._difference_layers = ()  # as a panel opened again would start
    button(widget, "Difference map").click()
    _idle(widget, qtbot)
    assert len([ly for ly in viewer.layers if "mFo-DFc" in ly.name]) == 2
    _reviewed(widget, qtbot, model)  # another model: its difference map is not yet made
    assert not [ly for ly in viewer.layers if "mFo-DFc" in ly.name]
    assert table.isColumnHidden(table.columnCount() - 1)
    assert not np.isfinite(strip.difference).any()  # nor its values in the strip


def test_without_measured_amplitudes_the_panel_says_what_is_needed(
    make_napari_viewer, qtbot, tmp_path, monkeypatch
):
    from napari_densitybuild._napari import _tasks

    shown = []
    monkeypatch.setattr(_tasks, "_notify", lambda err: shown.append(str(err)))
    coefficients = write_mtz(model_density(true_model(), D_MIN), tmp_path / "map.mtz", D_MIN)
    model = tmp_path / "model.cif"
    true_model().make_mmcif_document().write_file(str(model))
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, coefficients)
    _reviewed(widget, qtbot, model)
    layers = len(viewer.layers)
    button(widget, "Difference map").click()
    _idle(widget, qtbot)
    assert len(shown) == 1 and "map.mtz: no measured amplitudes (F with SIGF)" in shown[0]
    assert len(viewer.layers) == layers and widget.review.isEnabled()


def test_a_ccp4_map_holds_no_measured_data(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    from napari_densitybuild._napari import _tasks

    shown = []
    monkeypatch.setattr(_tasks, "_notify", lambda err: shown.append(str(err)))
    ccp4 = write_ccp4(model_density(true_model(), D_MIN), tmp_path / "map.ccp4")
    model = tmp_path / "model.cif"
    true_model().make_mmcif_document().write_file(str(model))
    widget = open_widget(make_napari_viewer(), qtbot, ccp4)
    _reviewed(widget, qtbot, model)
    button(widget, "Next difference peak").click()
    _idle(widget, qtbot)
    assert len(shown) == 1 and "map.ccp4: a map file holds no measured amplitudes" in shown[0]
