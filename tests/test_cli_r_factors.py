"""R factors and model maps on the command line: ``info MAP MODEL`` with an MTZ of measured
amplitudes, ``--model-maps``, and the R columns of ``evaluate --task build``."""

from __future__ import annotations

import gemmi
import pytest
from conftest import model_density, write_mtz
from test_model_maps import D_MIN, measured_mtz, true_model

from napari_densitybuild.cli import main
from napari_densitybuild.commands.evaluate import data_fit
from napari_densitybuild.maps import read_map


@pytest.fixture
def crystal(tmp_path):
    model = tmp_path / "model.cif"
    true_model().make_mmcif_document().write_file(str(model))
    return tmp_path, model, measured_mtz(true_model(), tmp_path / "refined.mtz")


def test_info_prints_r_factors_and_writes_the_model_maps(crystal, capsys):
    folder, model, mtz = crystal
    maps = folder / "model_maps.mtz"
    assert main(["info", str(mtz), str(model), "--blobs", "0", "--model-maps", str(maps)]) == 0
    out = capsys.readouterr().out
    assert "R-work 0.0" in out and "R-free 0.0" in out and "the model's B-factors" in out
    assert read_map(maps, difference=True).info["columns"] == ("DELFWT", "PHDELWT")
    assert main(["info", str(mtz), str(model), "--blobs", "0", "--b-factors", "flat"]) == 0
    assert "one B (20 A^2) for every atom" in capsys.readouterr().out


def test_without_measured_amplitudes_there_is_no_r_and_no_model_map(crystal, capsys):
    folder, model, _ = crystal
    coefficients = write_mtz(model_density(true_model(), D_MIN), folder / "c.mtz", D_MIN)
    assert main(["info", str(coefficients), str(model), "--blobs", "0"]) == 0
    assert "no R factors: no measured amplitudes" in capsys.readouterr().out
    maps = folder / "model_maps.mtz"
    assert main(["info", str(coefficients), str(model), "--model-maps", str(maps)]) == 2
    assert "no measured amplitudes" in capsys.readouterr().err
    assert main(["info", str(coefficients), "--model-maps", str(maps)]) == 2
    assert "needs a model" in capsys.readouterr().err
    assert not maps.exists()
    assert data_fit(coefficients, true_model(), true_model()) == {}


def test_evaluate_scores_built_and_deposited_models_against_the_data(crystal):
    mtz = crystal[2]
    built = true_model()
    for ch in built[0]:
        for res in ch:
            for a in res:
                a.b_iso = 80.0  # a build's confidence column: one value per residue
    moved = true_model()  # every third residue 0.4 A off
    for ch in moved[0]:
        for res in ch:
            for a in res if res.seqid.num % 3 == 0 else ():
                a.pos = a.pos + gemmi.Position(0.4, 0.0, 0.0)
    from napari_densitybuild.commands.evaluate import map_fit

    fits = map_fit(read_map(mtz), true_model(), moved)
    assert fits["rscc_median"] > 0.85 and fits["low_rscc"] < 0.1
    assert fits["deposited_rscc_median"] < fits["rscc_median"] - 0.01  # a third 0.4 A off
    row = data_fit(mtz, built, true_model())
    assert row["r_free"] < 0.1 and row["deposited_r_free"] < 0.05
    assert row["deposited_r_free_flat_b"] == pytest.approx(row["r_free"], abs=0.01)
    worse = data_fit(mtz, moved, true_model())
    assert worse["r_free"] > row["r_free"] + 0.05


def test_r_factors_that_cannot_be_had_leave_the_rest_of_info(crystal, capsys, monkeypatch):
    from napari_densitybuild import model_maps

    _, model, mtz = crystal
    monkeypatch.setattr(model_maps, "MIN_WORK", 10**9)
    assert main(["info", str(mtz), str(model), "--blobs", "0"]) == 0
    out = capsys.readouterr().out
    assert "no R factors: only" in out and "Model checks (70 residues)" in out


def test_info_says_what_to_do_with_intensities(crystal, capsys):
    import numpy as np

    folder, model, _ = crystal
    path = write_mtz(model_density(true_model(), D_MIN), folder / "i.mtz", D_MIN)
    mtz = gemmi.read_mtz_file(str(path))
    data = np.array(mtz, copy=True)
    mtz.add_column("IMEAN", "J")
    mtz.add_column("SIGIMEAN", "Q")
    mtz.set_data(np.column_stack([data, data[:, 3] ** 2, data[:, 3]]).astype(np.float32))
    mtz.write_to_file(str(path))
    assert main(["info", str(path), str(model), "--blobs", "0"]) == 0
    out = capsys.readouterr().out
    assert "no R factors: no measured amplitudes (F with SIGF) found; it holds intensities: " in out
    assert "French-Wilson" in out and "the file has" not in out
