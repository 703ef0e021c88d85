"""The sample MTZ holds "measured" amplitudes (FP/SIGFP) and free flags (FREE) beside its map
coefficients, and they tell the sample's true model from a damaged one.

Measured when the sample was made (``scripts/make_sample_data.py``, ``sample_info.json``): the
true model R-work 0.097, R-free 0.099; 5 residues deleted R-work 0.214; 5 residues shifted 1 A
R-work 0.194. The bounds below leave margin.
"""

from __future__ import annotations

from pathlib import Path

import gemmi
import numpy as np
import pytest

from napari_densitybuild.maps import read_map
from napari_densitybuild.model_maps import fit_model
from napari_densitybuild.models import read_structure
from napari_densitybuild.xray_data import read_observed

SAMPLE = Path(__file__).parents[1] / "sample_data"
MTZ, MODEL = SAMPLE / "sample_map.mtz", SAMPLE / "sample_model.cif"


@pytest.fixture(scope="module")
def data():
    return read_observed(MTZ)


@pytest.fixture(scope="module")
def true_fit(data):
    return fit_model(read_structure(MODEL), data)


def test_sample_mtz_holds_amplitudes_sigmas_and_free_flags():
    mtz = gemmi.read_mtz_file(str(MTZ))
    kinds = {c.label: c.type for c in mtz.columns}
    assert {k: kinds.get(k) for k in ("FWT", "PHWT", "FP", "SIGFP", "FREE")} == {
        "FWT": "F", "PHWT": "P", "FP": "F", "SIGFP": "Q", "FREE": "I"
    }  # fmt: skip
    table = np.array(mtz, copy=False)
    labels = [c.label for c in mtz.columns]
    fp, sig, free = (table[:, labels.index(k)] for k in ("FP", "SIGFP", "FREE"))
    assert np.isfinite(fp).all() and (fp > 0).all() and (sig > 0).all()
    assert set(np.unique(free).astype(int)) == set(range(20))  # CCP4 flags 0-19
    fwt = table[:, labels.index("FWT")]
    assert not np.allclose(fp, fwt)  # the crystal's amplitudes, not the noisy map's
    assert np.corrcoef(fp, fwt)[0, 1] > 0.7
    # the map read from the file is still the FWT/PHWT map
    assert "columns FWT/PHWT" in read_map(MTZ).summary()


def test_read_observed_finds_them_with_a_5_percent_free_set(data):
    assert data.columns == ("FP", "SIGFP", "FREE")
    assert len(data.fobs) == gemmi.read_mtz_file(str(MTZ)).nreflections  # every reflection
    assert data.has_free_set
    assert 0.03 <= data.free.mean() <= 0.07
    assert abs(data.d_min - 1.5) < 0.01


def test_true_model_fits_with_a_low_r(true_fit):
    assert true_fit.r_work < 0.13
    assert true_fit.r_free is not None and true_fit.r_free < 0.14
    assert true_fit.b_factors == "model"


def _damaged(kind: str) -> gemmi.Structure:
    st = read_structure(MODEL)
    chain = st[0][0]
    if kind == "deleted":
        for _ in range(5):
            del chain[20]
    else:
        for res in list(chain)[40:45]:
            for atom in res:
                atom.pos = atom.pos + gemmi.Position(1.0, 0.0, 0.0)
    return st


@pytest.mark.parametrize("kind", ["deleted", "shifted"])
def test_a_damaged_model_scores_clearly_worse(data, true_fit, kind):
    fit = fit_model(_damaged(kind), data)
    assert fit.r_work > true_fit.r_work + 0.05
    assert fit.r_free > true_fit.r_free + 0.04
