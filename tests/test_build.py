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
    # the residue numbered as the sequence's last (70) ends its chain with a carboxylate
    with_oxt = [(ch.name, r.seqid.num) for ch in st[0] for r in ch if r.find_atom("OXT", "*")]
    assert [n for _, n in with_oxt] == [70]
    rep = json.loads((built / "report.json").read_text())
    assert rep["residues"] == len(residues) and rep["aligned_to_sequence"] > 0
    for key in ("peptide_flips", "rotamer_changes", "side_chain_flips", "ncs_residues"):
        assert rep[key] >= 0, key
    assert rep["ncs_residues"] == 0  # one chain: no copies
    assert rep["cis_ends_left_out"] == rep["duplicates_left_out"] == 0  # sample: all trans
    assert rep["cis_prolines_rebuilt"] == 0 and rep["cis_prolines_rebuilt_at"] == []  # all trans
    assert rep["stray_ends_left_out"] == 0  # one unbroken chain
    assert rep["pulled_starts_left_out"] == 0  # the sample's chain starts where it should
    for stage in ("read_map", "place", "classify", "sequence", "refine", "wall_total",
                  "unmodelled_blobs", "model_checks"):  # fmt: skip
        assert rep["seconds"][stage] >= 0, stage
    blobs = rep["unmodelled_blobs"]  # the sample build explains its map: few or none
    assert blobs["count"] == len(blobs["largest"]) <= 3
    checks = rep["model_checks"]  # refined with ideal geometry: flat trans peptides, no clash
    assert 0 < checks["bond_rmsz"] < 1 and rep["seconds"]["model_checks"] >= 0
    assert 0.8 < checks["rscc_median"] <= 1.0  # the build correlates with its map
    assert checks["twisted"] == checks["cis"] == checks["clashing"] == []
    assert len(checks["rama_outliers"]) <= 2
    assert all(" -> " in x for x in checks["to_turn"])


def test_evaluate_build_against_the_true_model(built, tmp_path, capsys):
    code = main(["evaluate", "--task", "build", "--map", MAP, "--model", MODEL, "--built",
                 str(built / "model.cif"), "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    m = json.loads((tmp_path / "metrics.json").read_text())["sample_map"]
    assert m["recall_1A"] > 0.8 and m["precision_1A"] > 0.8
    assert m["backbone_rmsd"] < 1.0 and m["bond_rmsz"] < 2.0
    # the sample's peptides are all trans and flat (refinement keeps omega; it used not to)
    assert m["cis_proline"] == m["cis_nonproline"] == m["twisted_peptides"] == 0
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
    with pytest.raises(SystemExit):
        main(["build", MAP, "--out", str(tmp_path / "m.cif"), "--passes", "0"])
    assert "--passes: must be 1 or more" in capsys.readouterr().err


def seen_by_build(monkeypatch, tmp_path, key: str, extras: list[list[str]]) -> list:
    """The value of ``build``'s keyword ``key`` for ``densitybuild build`` with each of
    ``extras`` (the build itself is replaced: it stops at once)."""
    from napari_densitybuild import build as build_module
    from napari_densitybuild.errors import DensityBuildError

    seen = []

    def fake_build(*args, **kwargs):
        seen.append(kwargs.get(key, "missing"))
        raise DensityBuildError("stopped by the test")

    monkeypatch.setattr(build_module, "build", fake_build)
    out = str(tmp_path / "m.cif")
    for extra in extras:
        assert main(["build", MAP, "--out", out, "--device", "cpu", *extra]) == 2
    return seen


def test_peptide_turns_reach_the_build(tmp_path, monkeypatch, capsys):
    """``--peptide-turns`` is passed to ``build``, "every" by default; a value not among the
    choices is refused."""
    extras = [[], ["--peptide-turns", "last"], ["--peptide-turns", "none"]]
    assert seen_by_build(monkeypatch, tmp_path, "peptide_turns", extras) == [
        "every",
        "last",
        "none",
    ]
    with pytest.raises(SystemExit):
        main(["build", MAP, "--out", str(tmp_path / "m.cif"), "--peptide-turns", "all"])
    assert "invalid choice: 'all'" in capsys.readouterr().err


def test_cis_prolines_reach_the_build(tmp_path, monkeypatch):
    """Cis prolines are rebuilt by default; ``--no-cis-prolines`` turns it off."""
    extras = [[], ["--no-cis-prolines"]]
    assert seen_by_build(monkeypatch, tmp_path, "cis_prolines", extras) == [True, False]


def test_build_with_waters_writes_and_reports_them(tmp_path, capsys):
    out, report = tmp_path / "model.cif", tmp_path / "report.json"
    assert main(["build", MAP, "--out", str(out), "--waters", "--passes", "1", "--report",
                 str(report), "--device", "cpu"]) == 0  # fmt: skip
    st = read_structure(out)
    waters = [r for ch in st[0] for r in ch if r.is_water()]
    rep = json.loads(report.read_text())
    assert rep["waters"] == len(waters) and rep["seconds"]["waters"] >= 0
    assert all(r.name == "HOH" and len(r) == 1 for r in waters)
    assert rep["residues"] == sum(not r.is_water() for ch in st[0] for r in ch)
    out_text, err_text = capsys.readouterr()
    assert f"{len(waters)} waters" in out_text
    # the sample's simulated map is noisy: its peaks in the solvent raise R-work, so the
    # measured amplitudes its MTZ holds turn the waters down
    assert not waters and "waters not added" in err_text
