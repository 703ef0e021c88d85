"""Degraded copies of real maps (more varied real training boxes)."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest
import scipy.fft

from napari_densitybuild.maps import DensityMap, sigma_scale
from napari_densitybuild.training import real_dir
from napari_densitybuild.training.degrade import Degradation, degrade_map
from napari_densitybuild.training.reciprocal import miller_s2

NONE = Degradation(extra_d_min=(0, 0), blur_b=(0, 0), phase_error_deg=(0, 0), noise=(0, 0))


def _band_limited(d_min: float = 2.0, seed: int = 0) -> DensityMap:
    """A random map of a monoclinic cell with no coefficient beyond ``d_min``."""
    cell = gemmi.UnitCell(30.0, 34.0, 28.0, 90, 100, 90)
    shape = (40, 44, 36)
    rng = np.random.default_rng(seed)
    coef = scipy.fft.rfftn(rng.normal(size=shape))
    coef[miller_s2(shape, cell) > 1.0 / d_min**2] = 0
    values = sigma_scale(scipy.fft.irfftn(coef, s=shape), "test")[0]
    grid = gemmi.FloatGrid(values, cell, gemmi.SpaceGroup("P 1"))
    return DensityMap(grid=grid, resolution=d_min, offset=np.array([1.0, 2.0, 3.0]))


def _corr(a: DensityMap, b: DensityMap) -> float:
    x, y = np.array(a.grid, copy=False).ravel(), np.array(b.grid, copy=False).ravel()
    return float(np.corrcoef(x, y)[0, 1])


def test_no_degradation_keeps_the_map():
    dmap = _band_limited()
    out, params = degrade_map(dmap, np.random.default_rng(0), NONE)
    assert params == {"d_min": 2.0, "blur_b": 0.0, "phase_error_deg": 0.0, "noise": 0.0}
    assert _corr(dmap, out) > 0.9999
    assert np.allclose(out.offset, dmap.offset) and out.resolution == 2.0


def test_degraded_map_is_truncated_and_sigma_scaled():
    dmap = _band_limited()
    how = Degradation(extra_d_min=(0.8, 0.8), blur_b=(0, 0), phase_error_deg=(0, 0), noise=(0, 0))
    out, params = degrade_map(dmap, np.random.default_rng(1), how)
    assert out.resolution == pytest.approx(2.8) and params["d_min"] == pytest.approx(2.8)
    values = np.array(out.grid, copy=False)
    assert abs(values.mean()) < 1e-5 and values.std() == pytest.approx(1.0, abs=1e-4)
    coef = scipy.fft.rfftn(values)
    beyond = miller_s2(values.shape, out.grid.unit_cell) > 1.0 / 2.8**2
    assert np.abs(coef[beyond]).max() < 1e-3 * np.abs(coef).max()
    assert 0.5 < _corr(dmap, out) < 0.95  # the shell 2.0-2.8 A is gone


@pytest.mark.parametrize("field", ["phase_error_deg", "noise", "blur_b"])
def test_each_error_lowers_the_correlation_more_the_larger_it_is(field):
    dmap = _band_limited()
    corrs = []
    for value in {"phase_error_deg": (10, 60), "noise": (0.2, 1.0), "blur_b": (5, 40)}[field]:
        how = Degradation(**{**NONE.__dict__, field: (value, value)})
        corrs.append(_corr(dmap, degrade_map(dmap, np.random.default_rng(2), how)[0]))
    assert 1.0 > corrs[0] > corrs[1] > 0.2


def test_same_seed_same_copy_and_bad_maps_refused():
    dmap = _band_limited()
    a, pa = degrade_map(dmap, np.random.default_rng(5))
    b, pb = degrade_map(dmap, np.random.default_rng(5))
    assert pa == pb and np.array_equal(np.array(a.grid), np.array(b.grid))
    with pytest.raises(ValueError, match="no resolution"):
        degrade_map(DensityMap(grid=dmap.grid), np.random.default_rng(0))
    part = DensityMap(grid=dmap.grid, resolution=2.0, covers_cell=False)
    with pytest.raises(ValueError, match="does not cover"):
        degrade_map(part, np.random.default_rng(0))


@pytest.mark.skipif(not (real_dir() / "1cbs").is_dir(), reason="needs ../shared/data")
def test_prepare_builds_degraded_real_caches(tmp_path, capsys):
    from napari_densitybuild.cli import main
    from napari_densitybuild.training.cache import load_cache

    args = ["prepare", "--out", str(tmp_path), "--splits", "none", "--real", "5gge"]
    assert main([*args, "--real-degraded", "1"]) == 0
    assert "real_5gge_d1: 129 boxes of a degraded map" in capsys.readouterr().out
    plain, labels, rows, _ = load_cache(tmp_path / "real_5gge")
    boxes, dlabels, drows, info = load_cache(tmp_path / "real_5gge_d1")
    assert info["degraded"] and boxes.shape == plain.shape and np.array_equal(labels, dlabels)
    assert float(drows[0]["d_min"]) > float(rows[0]["d_min"])  # the copy is at lower resolution
    assert not np.allclose(boxes.astype(np.float32), plain.astype(np.float32), atol=0.1)
