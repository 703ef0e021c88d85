"""SigmaA from normalised amplitudes (sigmaa): known sigmaA comes back, for acentric and
centric reflections, and falls with resolution where it does."""

from __future__ import annotations

import numpy as np
import pytest

from napari_densitybuild.sigmaa import bins_of, normalised, sigmaa_curve


def _pair(sigmaa: np.ndarray, centric: np.ndarray, seed: int = 0):
    """|Eo|, |Ec| of normalised structure factors correlated by ``sigmaa``."""
    rng = np.random.default_rng(seed)
    n = len(sigmaa)
    phase = np.where(centric, 0.0, 1.0)  # centric: real structure factors

    def gauss():
        return (rng.standard_normal(n) + 1j * phase * rng.standard_normal(n)) / np.sqrt(
            np.where(centric, 1.0, 2.0)
        )

    ec = gauss()
    eo = sigmaa * ec + np.sqrt(1 - sigmaa**2) * gauss()
    return np.abs(eo), np.abs(ec)


@pytest.mark.parametrize("centric_share", [0.0, 0.3])
def test_a_constant_sigmaa_comes_back(centric_share):
    n = 40_000
    s2 = np.linspace(0.01, 0.3, n)
    centric = np.random.default_rng(1).random(n) < centric_share
    eo, ec = _pair(np.full(n, 0.7), centric)
    got = sigmaa_curve(eo, ec, centric, s2, np.ones(n, bool))
    assert np.all(np.abs(got - 0.7) < 0.03)


def test_sigmaa_falling_with_resolution_is_followed_and_never_rises():
    n = 40_000
    s2 = np.linspace(0.01, 0.3, n)
    truth = 0.95 * np.exp(-4.0 * s2)  # 0.91 at low resolution, 0.29 at 1.8 A
    eo, ec = _pair(truth, np.zeros(n, bool), seed=2)
    got = sigmaa_curve(eo, ec, np.zeros(n, bool), s2, np.ones(n, bool))
    assert np.max(np.abs(got - truth)) < 0.05
    assert np.all(np.diff(got) <= 1e-12)
    unrelated = sigmaa_curve(eo, np.random.default_rng(3).permutation(ec), np.zeros(n, bool), s2,
                             np.ones(n, bool))  # fmt: skip
    assert unrelated.max() < 0.2  # a model that explains nothing


def test_normalised_amplitudes_have_unit_mean_square_in_each_bin():
    s2 = np.linspace(0.01, 0.3, 5000)
    f = np.exp(-10 * s2) * (1 + np.random.default_rng(4).random(5000))
    eps = np.ones(5000)
    bins = bins_of(s2, 500)
    e = normalised(f, eps, bins)
    assert len(np.unique(bins)) == 10
    for b in np.unique(bins):
        assert np.mean(e[bins == b] ** 2) == pytest.approx(1.0)
