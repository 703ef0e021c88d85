"""SigmaA of a model against measured amplitudes, estimated in resolution bins.

sigmaA (Read, 1986) measures how much of the measured structure factors a model explains at
each resolution; map coefficients are weighted by it (:func:`~.model_maps.map_coefficients`).
Here it is the moment estimate from normalised amplitudes, <Eo^2 Ec^2> = 1 + sigmaA^2 for
acentric reflections (1 + 2 sigmaA^2 for centric ones), in bins of equal counts, smoothed by a
straight line through ln sigmaA against 1/d^2 (falling with resolution, as a model's errors
make it). Nothing here knows about files or models: arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np

#: Reflections per resolution bin when normalising amplitudes, and the most bins.
BIN_REFLECTIONS, MAX_BINS = 500, 20
#: sigmaA is kept within these bounds.
SIGMAA_RANGE = (0.05, 0.95)


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


def sigmaa_curve(
    eo: np.ndarray, ec: np.ndarray, centric: np.ndarray, s2: np.ndarray, use: np.ndarray
) -> np.ndarray:
    """SigmaA of each reflection: moment estimates in resolution bins of the reflections
    ``use`` selects, then ln sigmaA = a - b s^2 (b >= 0) fitted to them, weighted by count."""
    bins = bins_of(s2[use], BIN_REFLECTIONS // 4)
    centres, values, weights = [], [], []
    for b in np.unique(bins):
        e2 = (eo[use][bins == b] * ec[use][bins == b]) ** 2
        moment = np.mean(e2 - 1) / np.mean(1 + centric[use][bins == b])
        centres.append(np.mean(s2[use][bins == b]))
        values.append(np.log(np.clip(np.sqrt(max(moment, 0.0)), *SIGMAA_RANGE)))
        weights.append(np.count_nonzero(bins == b))
    if len(centres) < 2:
        return np.full(len(eo), np.exp(values[0]))
    slope, intercept = np.polyfit(centres, values, 1, w=np.sqrt(weights))
    if slope > 0:
        slope, intercept = 0.0, float(np.average(values, weights=weights))
    return np.clip(np.exp(intercept + slope * s2), *SIGMAA_RANGE)
