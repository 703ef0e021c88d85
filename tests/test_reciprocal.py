"""Reciprocal-space helpers of the map simulation."""

from __future__ import annotations

import gemmi
import numpy as np
import scipy.fft

from napari_densitybuild.training.reciprocal import half_weights, miller_s2, shell_rms


def test_miller_s2_of_an_orthogonal_cell():
    shape, cell = (6, 8, 10), gemmi.UnitCell(30.0, 40.0, 50.0, 90, 90, 90)
    s2 = miller_s2(shape, cell)
    assert s2.shape == (6, 8, 6)
    h, k, l = -2, 3, 4  # noqa: E741 (Miller index)
    assert np.isclose(s2[h, k, l], (h / 30.0) ** 2 + (k / 40.0) ** 2 + (l / 50.0) ** 2)
    assert s2[0, 0, 0] == 0


def test_miller_s2_of_a_monoclinic_cell_matches_gemmi():
    shape, cell = (8, 8, 8), gemmi.UnitCell(30.0, 35.0, 40.0, 90, 105, 90)
    s2 = miller_s2(shape, cell)
    for hkl in ((1, 0, 2), (-3, 2, 1), (2, -1, 3)):
        assert np.isclose(s2[hkl], cell.calculate_1_d2(hkl), rtol=1e-5)


def test_half_weights_give_parseval_over_the_rfft():
    rng = np.random.default_rng(0)
    for shape in ((6, 8, 10), (5, 7, 9)):
        x = rng.normal(size=shape)
        f = scipy.fft.rfftn(x)
        power = (np.abs(f) ** 2 * half_weights(shape)).sum() / np.prod(shape)
        assert np.isclose(power, (x**2).sum())


def test_shell_rms_is_the_rms_of_each_shell():
    s = np.array([0.1, 0.1, 0.9, 0.9, 0.5])
    amp2 = np.array([1.0, 9.0, 4.0, 4.0, 100.0])
    inside = np.array([True, True, True, True, False])
    out = shell_rms(amp2, s, inside, bins=2)
    assert np.allclose(out[:4], [np.sqrt(5.0), np.sqrt(5.0), 2.0, 2.0])
