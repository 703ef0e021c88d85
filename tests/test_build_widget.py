"""The model-building widget driven as a user would, on the sample data (pytest-qt, napari).

Auto-build, change a label (typed one-letter code), undo, redo, export, close, reopen and find
the correction again (autosave). Buttons are found by their text, as a test outside the project
would find them. Waits are for conditions, never for fixed times.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import JOB_TIMEOUT, button, open_widget
from qtpy.QtCore import Qt

from napari_densitybuild._napari._build_widget import BUTTONS, BuildWidget
from napari_densitybuild._napari._layer_sync import camera
from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.contacts import polar_contacts
from napari_densitybuild.models import read_structure
from napari_densitybuild.session import autosave_path

pytestmark = pytest.mark.gui


def test_buttons_are_named(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-densitybuild", "Model building")
    for name in (*BUTTONS, "Next doubtful residue", "Next unmodelled blob", "Next chain break",
                 "Close gap", "Add residue", "Flip peptide", "Cis/trans peptide", "Refine zone",
                 "Refine all", "Undo", "Redo", "Export model..."):  # fmt: skip
        button(widget, name)


def auto_built(viewer, qtbot, map_path):
    """The widget on ``map_path`` after Auto-build has finished."""
    widget = open_widget(viewer, qtbot, map_path)
    qtbot.mouseClick(button(widget, "Auto-build"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    return widget


def test_build_correct_undo_export_reopen(make_napari_viewer, qtbot, sample_map, tmp_path):
    viewer = make_napari_viewer()
    widget = auto_built(viewer, qtbot, sample_map)
    session = widget.session
    assert len(session.residues) >= 40  # the sample has 70 residues
    assert widget.status.text().startswith(f"Built: {len(session.residues)} residues in ")
    boxes = widget.sync.boxes
    assert len(boxes.data) == len(session.residues)
    assert boxes.features["label"][0] == session.residues[0].label  # e.g. "LEU 1"
    assert len(widget.sync.atoms.data) > 4 * len(session.residues)
    assert len(widget.sync.bonds.data) > 3 * len(session.residues)

    # review: the next doubtful residue is selected and the camera goes there
    qtbot.mouseClick(button(widget, "Next doubtful residue"), Qt.MouseButton.LeftButton)
    k = widget.review.current
    assert k is not None and widget.sync.selected() == [k]
    assert np.allclose(camera(viewer).center, session.residues[k].ca[::-1], atol=1e-3)
    assert len(widget.sync.outline.data) == 12  # the box outline

    # residues with several, one and no polar partners in turn: their H-bonds drawn to labelled
    # partners, the hint below the type list, and the layer the user works in stays active
    counts = [len(polar_contacts(session, i)) for i in range(len(session.residues))]
    order = [counts.index(n) for n in (max(counts), 1, 0) if n in counts]
    assert counts[order[0]] >= 2
    active = viewer.layers.selection.active
    for i in order:
        widget.review.show_residue(i)
        contacts = polar_contacts(session, i)
        assert len(widget.sync.hbonds.data) == len(widget.sync.partners.data) == len(contacts)
        assert list(widget.sync.partners.features["label"]) == [
            f"{c.partner} {c.distance:.1f}" for c in contacts]  # fmt: skip
        hint = widget.review.hint.text()
        if contacts:
            assert hint.startswith(f"H-bonds: {contacts[0].atom}-{contacts[0].partner}")
        assert viewer.layers.selection.active is active
    widget.review.show_residue(k)  # back to the doubtful one
    header = [widget.review.table.horizontalHeaderItem(c).text()
              for c in range(widget.review.table.columnCount())]  # fmt: skip
    row = next(r for r in range(len(session.residues))
               if widget.review.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == k)  # fmt: skip
    alt, p = session.residues[k].alternative
    assert widget.review.table.item(row, header.index("runner-up")).text() == f"{alt} {p:.2f}"
    rama = {
        widget.review.table.item(r, header.index("Rama")).text()
        for r in range(len(session.residues))
    }
    assert rama <= {"", "outlier"} and "" in rama
    peptides = {
        widget.review.table.item(r, header.index("peptide")).text()
        for r in range(len(session.residues))
    }
    assert peptides <= {"", "cis", "cis-Pro", "twisted"} and "" in peptides
    table = widget.review.table
    table.sortItems(header.index("residue"))  # by chain, then residue number
    keys = [session.residues[table.item(r, 0).data(Qt.ItemDataRole.UserRole)]
            for r in range(table.rowCount())]  # fmt: skip
    keys = [(r.chain, r.seqid) for r in keys]
    assert keys == sorted(keys) and len({c for c, _ in keys}) >= 2

    # change its type by typing a one-letter code
    old = session.residues[k].name
    new = "TRP" if old != "TRP" else "GLY"
    widget.review.letter.setText("W" if new == "TRP" else "G")
    qtbot.keyClick(widget.review.letter, Qt.Key.Key_Return)
    # its atoms are predicted off the GUI thread; the change lands with them
    qtbot.waitUntil(lambda: widget.review.corrections.pending == 0, timeout=JOB_TIMEOUT)
    assert widget.session.residues[k].name == new
    names = {a[0] for a in widget.session.residues[k].atoms}
    assert ("CZ2" in names) if new == "TRP" else (names == {"N", "CA", "C", "O"})
    assert boxes.features["type"][k] == new
    # Enter on the empty field: on to the next doubtful residue (k is corrected, so not k)
    qtbot.keyClick(widget.review.letter, Qt.Key.Key_Return)
    assert widget.review.current == widget.session.doubtful() != k

    qtbot.mouseClick(button(widget, "Undo"), Qt.MouseButton.LeftButton)
    assert widget.session.residues[k].name == old
    qtbot.mouseClick(button(widget, "Redo"), Qt.MouseButton.LeftButton)
    assert widget.session.residues[k].name == new

    out = widget.export(str(tmp_path / "corrected.cif"))
    st = read_structure(out)
    r = session.residues[k]
    assert st[0][r.chain][str(r.seqid)][0].name == new

    # close napari's widget and viewer, reopen the map: the correction is still there
    assert autosave_path(sample_map).is_file()
    viewer.close()
    viewer2 = make_napari_viewer()
    widget2 = open_widget(viewer2, qtbot, sample_map)
    assert widget2.restore_autosave()
    assert widget2.session.residues[k].name == new
    assert len(widget2.sync.boxes.data) == len(session.residues)


def test_stage_without_weights_is_disabled(make_napari_viewer, monkeypatch):
    from napari_densitybuild import detector_weights

    monkeypatch.setattr(detector_weights, "shipped_detector_path", lambda: None)
    viewer = make_napari_viewer()
    widget = BuildWidget(viewer)
    viewer.window.add_dock_widget(widget)
    for name in ("Auto-place", "Auto-build"):
        b = button(widget, name)
        assert not b.isEnabled() and "detector" in b.toolTip()
    assert button(widget, "Classify").isEnabled()


def test_add_and_delete_boxes_in_the_layer(make_napari_viewer, qtbot, sample_map):
    """Boxes added in the points layer snap to the nearest C-alpha and get classified; points
    deleted in the layer delete residues (undoably)."""
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)
    qtbot.mouseClick(button(widget, "Auto-place"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    session = widget.session
    n = len(session.residues)
    assert n >= 40 and all(r.name == "UNK" for r in session.residues)
    # delete one residue the way a user does: select the point, delete it
    gone = session.residues[3]
    widget.sync.boxes.selected_data = {3}
    widget.sync.boxes.remove_selected()
    assert len(session.residues) == n - 1 and gone not in session.residues
    # add it back by clicking 1 A off its C-alpha (what "add points" mode does on a click)
    click = gone.ca + np.array([0.6, -0.5, 0.5])
    widget.sync.boxes.add(click[::-1])
    qtbot.waitUntil(lambda: len(session.residues) == n and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    new = session.residues[-1]
    assert np.linalg.norm(new.ca - gone.ca) < 1.0  # snapped to the detected C-alpha
    qtbot.waitUntil(lambda: session.residues[-1].name != "UNK" and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    assert len(session.residues[-1].atoms) >= 4  # classified and posed
    assert widget.review.undo()


def test_next_unmodelled_blob_finds_deleted_residues(make_napari_viewer, qtbot, sample_map):
    """Residues deleted from a build leave density the model no longer explains: "Next
    unmodelled blob" finds it off the GUI thread, shows it and moves the camera there; after
    an edit it looks again."""
    viewer = make_napari_viewer()
    widget = auto_built(viewer, qtbot, sample_map)
    session = widget.session
    gone = np.array([a[1:] for r in session.residues[20:23] for a in r.atoms])
    for _ in range(3):
        session.delete(20)
    widget.refresh()
    active = viewer.layers.selection.active
    qtbot.mouseClick(button(widget, "Next unmodelled blob"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.review._blobs is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    blobs = widget.review._blobs
    assert blobs and np.linalg.norm(gone - np.array(blobs[0].centre), axis=1).min() < 1.5
    assert len(widget.sync.blobs.data) == len(blobs)
    assert np.allclose(camera(viewer).center, blobs[0].centre[::-1], atol=1e-3)
    assert widget.status.text().startswith(f"Blob 1 of {len(blobs)}: ")
    assert viewer.layers.selection.active is active
    # with a map radius the next blob is looked at close up: density and model cut to a cube
    assert viewer.dims.ndisplay == 3
    widget.controls.radius.setValue(6)
    camera(viewer).zoom = 0.5
    qtbot.mouseClick(button(widget, "Next unmodelled blob"), Qt.MouseButton.LeftButton)
    assert widget.review._blob_index == (1 if len(blobs) > 1 else 0)  # no new search
    centre = np.array(blobs[widget.review._blob_index].centre[::-1])
    for layer in (widget.controls.layer, widget.sync.atoms):
        corners = np.array([p.position for p in layer.experimental_clipping_planes])
        assert np.allclose(np.abs(corners - centre).max(1), 6.0)
    assert camera(viewer).zoom > 0.5  # zoomed in to the cube
    widget.controls.radius.setValue(0)
    # the deletions opened a gap in the first chain: the first chain break is before it
    widget.review.current = None
    qtbot.mouseClick(button(widget, "Next chain break"), Qt.MouseButton.LeftButton)
    assert widget.review.current == 19 and widget.status.text().startswith("Break 1 of ")
    assert f"stops at {session.residues[19].label}" in widget.status.text()
    qtbot.mouseClick(button(widget, "Next chain break"), Qt.MouseButton.LeftButton)
    assert widget.review.current > 19
    # undo the deletions: the stale blobs go, and the next press searches the restored model
    for _ in range(3):
        widget.review.undo()
    assert widget.review._blobs is None and len(widget.sync.blobs.data) == 0
    qtbot.mouseClick(button(widget, "Next unmodelled blob"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.review._blobs_of is session.residues and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    assert len(widget.sync.blobs.data) < len(blobs) or not widget.review._blobs
    # two residues deleted: Close gap at that break builds two again, numbered as before
    before = [(r.chain, r.seqid) for r in session.residues]
    gone = [r.ca for r in session.residues[20:22]]
    session.delete(20), session.delete(20)
    widget.refresh()
    widget.review.current = 18
    qtbot.mouseClick(button(widget, "Next chain break"), Qt.MouseButton.LeftButton)
    assert widget.review.current == 19
    qtbot.mouseClick(button(widget, "Close gap"), Qt.MouseButton.LeftButton)
    assert widget.runner.busy
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert [(r.chain, r.seqid) for r in session.residues] == before
    new = session.residues[20:22]
    assert all(r.edited and len(r.atoms) >= 5 for r in new)
    assert np.linalg.norm(np.array([r.ca for r in new]) - gone, axis=1).max() < 1.0
    assert widget.status.text().startswith("Built 2 residues (")
    assert widget.sync.selected()[:2] == [20, 21]
    widget.review.undo()
    assert len(session.residues) == len(before) - 2
    # not at a break: nothing happens
    widget.review.current = 5
    qtbot.mouseClick(button(widget, "Close gap"), Qt.MouseButton.LeftButton)
    assert not widget.runner.busy and len(session.residues) == len(before) - 2
    # the peptide into a proline made cis, in one undoable step
    pro = next(i for i, r in enumerate(session.residues) if r.name == "PRO" and i > 0
               and np.linalg.norm(r.ca - session.residues[i - 1].ca) < 4.3)  # fmt: skip
    widget.review.current = pro
    rows = session.residues
    qtbot.mouseClick(button(widget, "Cis/trans peptide"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert session.residues is not rows and "made cis: mean map" in widget.status.text()
    assert np.linalg.norm(session.residues[pro].ca - session.residues[pro - 1].ca) < 3.3
    widget.review.undo()
    assert session.residues == rows


def test_review_a_model_from_a_file(make_napari_viewer, qtbot, sample_map):
    """Review model...: the sample's model opened against its map, types as modelled, each
    with the classifier's probabilities; Next doubtful residue goes to the least confident."""
    viewer = make_napari_viewer()
    widget = open_widget(viewer, qtbot, sample_map)
    model = sample_paths()[1]
    assert widget.review_model(str(model)) is not None
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    st = read_structure(model)
    session = widget.session
    assert [r.name for r in session.residues] == [r.name for r in st[0][0]]
    assert all(len(r.probs) == 20 for r in session.residues)
    assert widget.status.text().startswith(f"Reviewing {Path(model).name}: 70 residues")
    assert autosave_path(sample_map).is_file()
    assert len(widget.sync.boxes.data) == 70
    qtbot.mouseClick(button(widget, "Next doubtful residue"), Qt.MouseButton.LeftButton)
    conf = [r.confidence for r in session.residues]
    assert widget.review.current == int(np.argmin(conf))
