"""Odd inputs to the model checks and the side-chain edits (``model_checks``,
``side_chain_edit``, ``densitybuild info``), on the sample map and model."""

from __future__ import annotations

import gemmi
import numpy as np

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.cli import main
from napari_densitybuild.model_checks import check_model
from napari_densitybuild.training.evaluate_build import clashing_residues

MAP, MODEL = (str(p) for p in sample_paths()[:2])


def _difference_mtz(path) -> str:
    """The sample MTZ with mFo-DFc-like coefficients (small, random phases) added."""
    mtz = gemmi.read_mtz_file(MAP)
    data = np.array(mtz, copy=True)
    f = data[:, mtz.column_labels().index("FWT")] * 0.2
    phi = np.random.default_rng(0).uniform(-180, 180, len(f))
    ds = mtz.datasets[-1].id
    mtz.add_column("DELFWT", "F", dataset_id=ds)
    mtz.add_column("PHDELWT", "P", dataset_id=ds)
    mtz.set_data(np.column_stack([data, f, phi]).astype(np.float32))
    mtz.write_to_file(str(path))
    return str(path)


def test_info_with_a_difference_map_does_not_call_every_residue_weak(tmp_path, capsys):
    """A difference map is near 0 at the atoms of a right model: its values say nothing of weak
    density, so the check is left out (it flagged all 70 residues)."""
    path = _difference_mtz(tmp_path / "diff.mtz")
    assert main(["info", path, MODEL, "--difference", "--blobs", "0"]) == 0
    out = capsys.readouterr().out
    assert "columns DELFWT/PHDELWT" in out and "Model checks (70 residues)" in out
    assert "weak density" not in out


def test_impossible_contacts_with_copies_by_a_symmetry_operation_are_found():
    """The sample in its cell with a two-fold axis (P 1 2 1): its rotated copies overlap it.
    The check saw the copies one cell shift away only (the session's structure had no symmetry
    images set up), and found none."""
    st = gemmi.read_structure(MODEL)
    st.spacegroup_hm = "P 1 2 1"
    st.setup_cell_images()
    expected = clashing_residues(st)  # as a model file read with its space group counts them
    assert len(expected) > 50
    checks = check_model(st)
    assert len(checks.clashing) == len(expected)
