"""Review model... then Export model... (pytest-qt, napari, the sample data): a model with
waters and a ligand comes back out with them, and with its own B-factors, after a correction."""

from __future__ import annotations

import pytest
from conftest import JOB_TIMEOUT, open_widget
from test_kept_parts import _with_extras

from napari_densitybuild.models import read_structure

pytestmark = pytest.mark.gui


def test_a_reviewed_model_is_exported_with_its_waters_ligands_and_b_factors(
    make_napari_viewer, qtbot, sample_map, tmp_path
):
    st = _with_extras()
    source = tmp_path / "mine.cif"
    st.setup_entities()
    st.make_mmcif_document().write_file(str(source))
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    assert widget.review_model(str(source)) is not None
    qtbot.waitUntil(lambda: widget.session is not None and not widget.runner.busy,
                    timeout=JOB_TIMEOUT)  # fmt: skip
    assert widget.status.text().startswith(
        "Reviewing mine.cif: 70 residues; 1 water and 1 other residue (SO4) kept aside, "
        "exported as they are; "
    )
    kept = widget.viewer.layers["waters and ligands (kept as they are)"]
    assert sorted(set(kept.features["resname"])) == ["HOH", "SO4"] and len(kept.data) == 3
    assert widget.viewer.layers.selection.active is not kept
    widget.review.show_residue(30)
    widget.review.delete_current()  # a correction: the rest keeps its B-factors
    assert len(kept.data) == 3 and kept in widget.viewer.layers  # drawn again, the same
    out = tmp_path / "corrected.pdb"
    assert widget.export(str(out)) == str(out)
    back = read_structure(out)
    names = [res.name for ch in back[0] for res in ch]
    assert len(names) == 71 and names.count("HOH") == 1 and names.count("SO4") == 1
    src = {(res.seqid.num, a.name): a.b_iso for res in st[0][0] for a in res}
    got = {(res.seqid.num, a.name): a.b_iso for ch in back[0] for res in ch for a in res}
    assert all(abs(got[k] - src[k]) < 0.01 for k in got if k in src)
    assert len([k for k in got if k in src]) > 500
