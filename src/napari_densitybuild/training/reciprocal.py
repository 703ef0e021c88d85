"""Reciprocal-space helpers for simulated and degraded maps: |s|^2 per coefficient, rfft
multiplicities, resolution-shell amplitudes and phase errors of a grid's ``scipy.fft.rfftn``,
and the uniform draws of their parameters."""

from __future__ import annotations

import gemmi
import numpy as np

Range = tuple[float, float]


def draw(rng: np.random.Generator, r: Range) -> float:
    """A value drawn uniformly from ``r`` (its low end when the range is empty)."""
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def miller_s2(shape: tuple[int, int, int], cell: gemmi.UnitCell) -> np.ndarray:
    """|s|^2 (1/A^2) for every coefficient of an ``rfftn`` of a grid of ``shape`` on ``cell``."""
    h = [np.fft.fftfreq(shape[0], 1 / shape[0]), np.fft.fftfreq(shape[1], 1 / shape[1]),
         np.arange(shape[2] // 2 + 1, dtype=float)]  # fmt: skip
    g = np.array(cell.frac.mat.tolist())
    g = g @ g.T  # reciprocal metric tensor
    axes = [v.reshape([-1 if i == j else 1 for j in range(3)]) for i, v in enumerate(h)]
    s2 = np.zeros((shape[0], shape[1], shape[2] // 2 + 1), dtype=np.float32)
    for i in range(3):
        for j in range(i, 3):
            s2 += ((1.0 if i == j else 2.0) * g[i, j]) * axes[i] * axes[j]
    return s2


def half_weights(shape: tuple[int, int, int]) -> np.ndarray:
    """Multiplicity of each rfft plane in the full spectrum (1 for l = 0 and Nyquist, else 2)."""
    w = np.full(shape[2] // 2 + 1, 2.0, dtype=np.float32)
    w[0] = 1.0
    if shape[2] % 2 == 0:
        w[-1] = 1.0
    return w


def shell_rms(amp2: np.ndarray, s: np.ndarray, inside: np.ndarray, bins: int = 20) -> np.ndarray:
    """rms |F| of the resolution shell of each coefficient (shells equal in reciprocal volume)."""
    s_max = float(s[inside].max())
    shell = np.minimum((bins * (s / s_max) ** 3).astype(np.int32), bins - 1)
    sums = np.bincount(shell[inside], weights=amp2[inside], minlength=bins)
    counts = np.maximum(np.bincount(shell[inside], minlength=bins), 1)
    return np.sqrt(sums / counts)[shell].astype(np.float32)


def phase_shifts(
    rng: np.random.Generator, s2: np.ndarray, d_min: float, error_deg: float
) -> np.ndarray:
    """Random phase errors (radians) per coefficient: normal, sd ``error_deg`` at ``d_min`` and
    proportional to |s| below it."""
    s_rel = np.sqrt(s2) * np.float32(d_min)
    return rng.standard_normal(s2.shape, dtype=np.float32) * (np.deg2rad(error_deg) * s_rel)
