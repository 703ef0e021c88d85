"""The whole pipeline from the command line on the sample: place, build (with and without the
sequence), evaluate against the true model; bad input gives one line and exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.cli import main
from napari_densitybuild.models import read_structure

MAP, MODEL = sample_paths()
SEQUENCE = str(MAP).replace("sample_map.mtz", "sample_sequence.fasta")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    code = main(["build", MAP, "--out", str(out / "model.cif"), "--sequence", SEQUENCE,
                 "--report", str(out / "report.json"), "--device", "cpu"])  # fmt: skip
    assert code == 0
    return out


def test_build_writes_model_and_report(built):
    st = read_structure(built / "model.cif")
    residues = [r for ch in st[0] for r in ch]
    assert len(residues) >= 50  # the sample has 70
    assert st.cell.a > 20 and st.spacegroup_hm == "P 1"
    b = np.array([a.b_iso for r in residues for a in r])
    assert b.min() >= 0 and b.max() <= 100  # confidence in the B-factor column
    names = {a.name for r in residues for a in r}
    assert {"N", "CA", "C", "O", "CB"} <= names
    rep = json.loads((built / "report.json").read_text())
    assert rep["residues"] == len(residues) and rep["aligned_to_sequence"] > 0
    for stage in ("read_map", "place", "classify", "sequence", "refine", "wall_total"):
        assert rep["seconds"][stage] >= 0, stage


def test_evaluate_build_against_the_true_model(built, tmp_path, capsys):
    code = main(["evaluate", "--task", "build", "--map", MAP, "--model", MODEL, "--built",
                 str(built / "model.cif"), "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    m = json.loads((tmp_path / "metrics.json").read_text())["sample_map"]
    assert m["recall_1A"] > 0.8 and m["precision_1A"] > 0.8
    assert m["backbone_rmsd"] < 1.0 and m["bond_rmsz"] < 2.0
    assert "| sample_map |" in capsys.readouterr().out


def test_place_and_evaluate_place(tmp_path, capsys):
    assert main(["place", MAP, "--out", str(tmp_path / "ca.pdb"), "--device", "cpu",
                 "--report", str(tmp_path / "r.json")]) == 0  # fmt: skip
    atoms = [a for ch in read_structure(tmp_path / "ca.pdb")[0] for r in ch for a in r]
    assert len(atoms) >= 50 and {a.name for a in atoms} == {"CA"}
    assert main(["evaluate", "--task", "place", "--map", MAP, "--model", MODEL]) == 0
    assert "recall_1A" in capsys.readouterr().out


def test_bad_input_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.mtz"
    bad.write_text("hello\n")
    assert main(["build", str(bad), "--out", str(tmp_path / "m.cif")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("densitybuild build: error:")
    fasta = tmp_path / "x.fa"
    fasta.write_text(">x\nMK1\n")
    assert main(["build", MAP, "--out", str(tmp_path / "m.cif"), "--sequence", str(fasta)]) == 2
    assert "not amino acids" in capsys.readouterr().err
