"""Degraded copies of real maps: more varied real boxes for training from the same few maps.

The classifier fits the real maps it trains on much better than unseen ones (top-1 0.94-0.98
against 0.81-0.92): with eleven maps it learns those maps' noise rather than what real maps
share. A degraded copy keeps what makes a real map real (its errors, disorder, solvent and
model bias) and changes what is particular to it: the map's coefficients are truncated at a
lower resolution, blurred, given phase errors that grow with resolution and resolution-limited
noise, then sigma-scaled again over the cell as the reader scales every map.

Examples
--------
>>> worse, params = degrade_map(read_map("map.mtz"), np.random.default_rng(1))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import gemmi
import numpy as np
import scipy.fft

from ..maps import DensityMap, sigma_scale
from .reciprocal import Range, draw, miller_s2, phase_shifts, shell_rms


@dataclass(frozen=True)
class Degradation:
    """Ranges the degradations are drawn from (uniform).

    Attributes
    ----------
    extra_d_min
        Added to the map's resolution (A): the new truncation.
    blur_b
        Extra B (A^2) applied to the coefficients.
    phase_error_deg
        Phase-error sd (degrees) at the new resolution limit, proportional to |s| below it.
    noise
        Noise rms relative to each resolution shell's rms amplitude.
    """

    extra_d_min: Range = (0.0, 0.5)
    blur_b: Range = (0.0, 15.0)
    phase_error_deg: Range = (0.0, 40.0)
    noise: Range = (0.0, 0.5)


def degrade_map(
    dmap: DensityMap, rng: np.random.Generator, how: Degradation | None = None
) -> tuple[DensityMap, dict]:
    """A degraded copy of a map over a whole unit cell (an X-ray map as ``read_map`` gives it).

    Parameters
    ----------
    dmap
        The map; its grid must cover one unit cell (maps from MTZ files do).
    rng
        Random stream for the drawn values and the noise.
    how
        Ranges to draw from (default :class:`Degradation`).

    Returns
    -------
    degraded, params
        The new map (sigma units, ``resolution`` the new limit) and the values drawn.
    """
    how = how or Degradation()
    if not dmap.resolution or dmap.resolution <= 0:
        raise ValueError(f"{dmap.source}: the map has no resolution to degrade from")
    if not dmap.covers_cell:
        raise ValueError(f"{dmap.source}: the map does not cover its unit cell")
    rho = np.array(dmap.grid, copy=False).astype(np.float32)
    shape = rho.shape
    d_min = float(dmap.resolution) + draw(rng, how.extra_d_min)
    params = {
        "d_min": round(d_min, 3),
        "blur_b": draw(rng, how.blur_b),
        "phase_error_deg": draw(rng, how.phase_error_deg),
        "noise": draw(rng, how.noise),
    }
    s2 = miller_s2(shape, dmap.grid.unit_cell)
    inside = s2 <= 1.0 / d_min**2
    coef = scipy.fft.rfftn(rho)
    coef *= np.exp(np.float32(-params["blur_b"] / 4) * s2)
    coef[~inside] = 0
    if params["noise"] > 0:
        amp2 = coef.real**2 + coef.imag**2
        shell = shell_rms(amp2, np.sqrt(s2), inside)
        unit = rng.standard_normal(coef.shape, dtype=np.float32) + 1j * rng.standard_normal(
            coef.shape, dtype=np.float32
        )
        coef = coef + unit * (shell * inside * np.float32(params["noise"] / np.sqrt(2.0)))
    if params["phase_error_deg"] > 0:
        dphi = phase_shifts(rng, s2, d_min, params["phase_error_deg"])
        coef = coef * np.exp(1j * dphi).astype(np.complex64)
    coef[0, 0, 0] = 0  # mean 0, as maps from coefficients without F000
    values = scipy.fft.irfftn(coef, s=shape)
    values, _, _ = sigma_scale(values, f"{dmap.source} (degraded)")
    grid = gemmi.FloatGrid(np.ascontiguousarray(values, dtype=np.float32),
                           dmap.grid.unit_cell, dmap.grid.spacegroup)  # fmt: skip
    source = f"{dmap.source} (degraded)"
    info = dict(dmap.info, degraded=params)
    out = DensityMap(grid=grid, offset=dmap.offset, resolution=d_min, kind=dmap.kind,
                     source=source, info=info)  # fmt: skip
    return out, params
