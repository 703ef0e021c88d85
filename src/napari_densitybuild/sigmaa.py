"""SigmaA of a model against measured amplitudes, estimated in resolution bins.

sigmaA (Read, 1986) measures how much of the measured structure factors a model explains at
each resolution; map coefficients are weighted by it (:func:`~.model_maps.map_coefficients`).
Here it is the maximum-likelihood estimate from normalised amplitudes (Read, 1986: the Rice
distribution of |Eo| given |Ec| for acentric reflections, a Gaussian for centric ones) in bins
of equal counts, smoothed by a straight line through ln sigmaA against 1/d^2 (falling with
resolution, as a model's errors make it). A moment estimate (<Eo^2 Ec^2> = 1 + sigmaA^2) read
real data low (0.74-0.89 for a model of R-free 0.19), leaving the model itself as positive
density in the mFo-DFc map. Nothing here knows about files or models: arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import i0e

#: Reflections per resolution bin when normalising amplitudes, and the most bins.
BIN_REFLECTIONS, MAX_BINS = 500, 20
#: sigmaA is kept within these bounds.
SIGMAA_RANGE = (0.05, 0.99)


def bins_of(s2: np.ndarray, per_bin: int) -> np.ndarray:
    """Resolution bin of each reflection, bins of equal counts of about ``per_bin``."""
    n = int(np.clip(len(s2) // per_bin, 1, MAX_BINS))
    edges = np.quantile(s2, np.linspace(0, 1, n + 1)[1:-1])
    return np.searchsorted(edges, s2)


def normalised(f: np.ndarray, eps: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """|E| of amplitudes ``f``: f / sqrt(eps <f^2 / eps>) in each resolution bin."""
    e = np.empty(len(f))
    for b in np.unique(bins):
        sel = bins == b
        e[sel] = f[sel] / np.sqrt(eps[sel] * max(np.mean(f[sel] ** 2 / eps[sel]), 1e-12))
    return e


def _log_likelihood(sa: float, eo: np.ndarray, ec: np.ndarray, centric: np.ndarray) -> float:
    """Log-likelihood of the normalised amplitudes ``eo`` given ``ec`` and sigmaA ``sa``
    (Read, 1986: a Rice distribution for acentric reflections, a Gaussian for centric ones)."""
    d = 1.0 - sa * sa
    eo, ec = np.maximum(eo, 1e-9), np.asarray(ec)
    a, c = ~centric, centric
    x = 2.0 * sa * eo[a] * ec[a] / d
    acentric = (
        np.log(2.0 * eo[a] / d) - (eo[a] ** 2 + sa * sa * ec[a] ** 2) / d + np.log(i0e(x)) + x
    )
    y = sa * eo[c] * ec[c] / d
    centric_ll = (0.5 * np.log(2.0 / (np.pi * d)) - (eo[c] ** 2 + sa * sa * ec[c] ** 2) / (2 * d)
                  + y + np.log1p(np.exp(-2.0 * y)) - np.log(2.0))  # fmt: skip
    return float(acentric.sum() + centric_ll.sum())


def ml_sigmaa(eo: np.ndarray, ec: np.ndarray, centric: np.ndarray) -> float:
    """The sigmaA that makes ``eo`` most likely given ``ec`` (within :data:`SIGMAA_RANGE`)."""
    found = minimize_scalar(
        lambda sa: -_log_likelihood(sa, eo, ec, centric),
        bounds=SIGMAA_RANGE, method="bounded", options={"xatol": 1e-3},
    )  # fmt: skip
    return float(found.x)


def sigmaa_curve(
    eo: np.ndarray, ec: np.ndarray, centric: np.ndarray, s2: np.ndarray, use: np.ndarray
) -> np.ndarray:
    """SigmaA of each reflection: maximum-likelihood estimates in resolution bins of the
    reflections ``use`` selects, then ln sigmaA = a - b s^2 (b >= 0) fitted to them, weighted
    by count."""
    bins = bins_of(s2[use], BIN_REFLECTIONS // 4)
    centres, values, weights = [], [], []
    for b in np.unique(bins):
        sel = bins == b
        sa = ml_sigmaa(eo[use][sel], ec[use][sel], centric[use][sel])
        centres.append(np.mean(s2[use][sel]))
        values.append(np.log(sa))
        weights.append(np.count_nonzero(sel))
    if len(centres) < 2:
        return np.full(len(eo), np.exp(values[0]))
    slope, intercept = np.polyfit(centres, values, 1, w=np.sqrt(weights))
    if slope > 0:
        slope, intercept = 0.0, float(np.average(values, weights=weights))
    return np.clip(np.exp(intercept + slope * s2), *SIGMAA_RANGE)
