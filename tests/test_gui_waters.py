"""Find waters and Remove waters in review (pytest-qt, napari): waters put beside a model in
its map are found, drawn with the atoms kept aside, written by Export, and taken out again."""

from __future__ import annotations

import gemmi
import pytest
from conftest import JOB_TIMEOUT, model_density, open_widget, write_mtz
from test_waters import SAMPLE_MODEL, true_waters

from napari_densitybuild.models import read_structure
from napari_densitybuild.waters import with_waters

pytestmark = pytest.mark.gui

KEPT = "waters and ligands (kept as they are)"


def test_find_waters_export_and_remove(make_napari_viewer, qtbot, tmp_path):
    st = gemmi.read_structure(str(SAMPLE_MODEL))
    st.remove_hydrogens()
    waters = true_waters(st)
    grid = model_density(with_waters(st, waters, b=15.0), d_min=1.2)
    map_path = write_mtz(grid, tmp_path / "crystal.mtz", d_min=1.5)
    source = tmp_path / "protein.cif"
    st.setup_entities()
    st.make_mmcif_document().write_file(str(source))
    widget = open_widget(make_napari_viewer(), qtbot, map_path)
    assert widget.review_model(str(source)) is not None
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    assert KEPT not in widget.viewer.layers  # the protein alone: nothing kept aside
    assert widget.review.find_waters() is not None
    qtbot.waitUntil(lambda: not widget.runner.busy and "waters found" in widget.status.text(),
                    timeout=JOB_TIMEOUT)  # fmt: skip
    kept = widget.viewer.layers[KEPT]
    found = len(kept.data)
    assert found >= 0.8 * len(waters) and set(kept.features["resname"]) == {"HOH"}
    assert f"{found} waters found in chain W" in widget.status.text()
    out = tmp_path / "with_waters.cif"
    assert widget.export(str(out)) == str(out)
    names = [r.name for ch in read_structure(out)[0] for r in ch]
    assert names.count("HOH") == found and len(names) - found == 70
    # pressed again: found again in place of the last ones, not on top of them
    widget.review.find_waters()
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)
    assert len(widget.viewer.layers[KEPT].data) == found
    assert widget.review.remove_waters() == found
    assert KEPT not in widget.viewer.layers or len(widget.viewer.layers[KEPT].data) == 0
    widget.export(str(out))
    assert not any(r.name == "HOH" for ch in read_structure(out)[0] for r in ch)
