"""Tell a P 1 crystal map from a cryo-EM box when the MRC/CCP4 header cannot.

A CCP4 map of a crystal says so by its space group (above 1) or its cell angles (other than 90
degrees). A map written in P 1 with a rectangular cell, as some programs write a crystal map
expanded to the whole cell, has a header exactly like a cryo-EM box's. The data tell them apart:

- a crystal map covers whole cells, and its values run on across the cell's faces, since the
  far face is the near face's neighbour (the map is periodic);
- the cell's faces cut through the crystal's protein as often as any other plane does, where a
  cryo-EM box has its molecule inside and solvent (noise, or zeros where it was masked) at its
  faces.

A box reconstructed by Fourier methods is periodic too, so the second test is the one that
decides for most boxes; the first keeps a box cut tightly around its molecule (density at the
faces, but a different molecule part at each) from being read as a crystal.
:func:`crystal_cell_note` asks both, on the map as the file holds it.

A crystal map computed from map coefficients holds no Fourier terms beyond the coefficients'
resolution, so its transform gives that resolution back (:func:`truncation_resolution`), which a
CCP4 header does not record.

A crystal map may also hold more than one cell; :func:`oversized_axes` finds the axes along
which it does, and checks that its points one cell apart agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import MapReadError

if TYPE_CHECKING:
    import gemmi

#: Opposite faces must correlate at least this much ...
MIN_FACE_CORRELATION = 0.3
#: ... and at least this share of the mean correlation of neighbouring planes inside the map.
FACE_SHARE = 0.5
#: Density level (map standard deviations above its mean) counted on the faces and in the map.
HIGH = 2.5
#: The faces must hold at least this share of the map's fraction of voxels above :data:`HIGH`.
#: The 16 real crystal maps of the project's data, written in P 1: 0.22-1.45; cryo-EM boxes
#: simulated with the molecule 2-10 A from the faces and band-limited noise up to 1.5 times
#: the molecule's standard deviation: 0-0.08.
HIGH_SHARE = 0.15
#: Fewer voxels than this along an axis: too few planes to judge.
MIN_POINTS = 8
#: Fourier terms under this fraction of the largest count as absent (float32 rounding leaves
#: about 1e-7 beyond a map's resolution).
ABSENT = 1e-4
#: The terms must stop at least this factor short of the finest spacing the grid holds (else the
#: map is not truncated: a map computed from atoms, or changed in real space).
TRUNCATED = 1.2
#: Cells of more grid points than this are not transformed (time and memory on opening).
MAX_TRANSFORM = 64_000_000


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def crystal_cell_note(arr_xyz: np.ndarray, sampling: list[int], origin: list[float]) -> str | None:
    """Why a P 1 map with a rectangular cell is read as a crystal map, or None (a cryo-EM box).

    Parameters
    ----------
    arr_xyz
        The map as the file holds it, (x, y, z) along the cell axes.
    sampling
        The header's cell grid (MX, MY, MZ).
    origin
        The header's ORIGIN (A): cryo-EM boxes place themselves with it; a crystal map has 0.

    Returns
    -------
    str or None
        A note for the map's summary where the data cover exactly one cell, run on across all
        three pairs of faces (correlation of opposite faces at least :data:`MIN_FACE_CORRELATION`
        and :data:`FACE_SHARE` of that of neighbouring planes inside) and hold density at their
        faces (voxels over :data:`HIGH` standard deviations at least :data:`HIGH_SHARE` as
        common as in the whole map); else None.
    """
    a = np.asarray(arr_xyz)  # no float64 copy of a large map: sums in float64
    if list(a.shape) != [int(s) for s in sampling] or min(a.shape) < MIN_POINTS:
        return None
    if np.any(np.asarray(origin, dtype=float) != 0):
        return None
    mean, sd = float(a.mean(dtype=np.float64)), float(a.std(dtype=np.float64))
    if not (np.isfinite(mean) and np.isfinite(sd)) or sd == 0:
        return None  # NaN somewhere (refused later), or a flat map
    high = a > mean + HIGH * sd
    faces_high, corr = [], []
    for ax in range(3):
        n = a.shape[ax]
        first, last = np.take(a, 0, axis=ax), np.take(a, n - 1, axis=ax)
        inside = np.mean([_corr(np.take(a, k, axis=ax), np.take(a, k + 1, axis=ax))
                          for k in np.linspace(1, n - 3, 4).astype(int)])  # fmt: skip
        across = _corr(last, first)
        if not (across >= MIN_FACE_CORRELATION and across >= FACE_SHARE * inside):
            return None
        corr.append(across)
        faces_high.append(np.take(high, 0, axis=ax).mean())
    whole = float(high.mean())
    if whole == 0 or float(np.mean(faces_high)) < HIGH_SHARE * whole:
        return None
    return (
        "read as a P 1 crystal map: the header gives space group 1 and 90-degree angles, as a "
        "cryo-EM box's does, but the map covers one whole cell, runs on across its faces "
        f"(opposite faces correlate {min(corr):.2f} or more) and has density at them"
    )


def oversized_axes(path: Path, arr_xyz: np.ndarray, sampling: list[int], crystal: bool) -> list:
    """The axes (0, 1, 2 for x, y, z) along which an MRC/CCP4 array holds more points than the
    header's cell sampling (NX > MX).

    A crystal map may cover more than one cell, and then its points one cell apart must agree
    (they are the same point); if they do not, the header's sampling is wrong and the map would
    fold onto itself, so this raises :class:`MapReadError`.
    """
    more = [a for a in range(3) if arr_xyz.shape[a] > sampling[a]]
    if not crystal:
        return more
    sd = float(np.nanstd(arr_xyz)) or 1.0
    for a in more:
        s, n = sampling[a], arr_xyz.shape[a]
        first = np.take(arr_xyz, np.arange(n - s), axis=a)
        again = np.take(arr_xyz, np.arange(s, n), axis=a)
        rms = float(np.sqrt(np.nanmean((first - again) ** 2))) / sd
        if not rms < 0.05:
            raise MapReadError(
                f"{path}: the map has {n} points along {'xyz'[a]} but its cell only {s} "
                f"(header MX/MY/MZ), and the points one cell apart differ ({rms:.2f} of the "
                "map's sd): the header's grid sampling does not fit the data"
            )
    return more


def truncation_resolution(grid: gemmi.FloatGrid) -> float | None:
    """The resolution (A) at which a crystal map's Fourier terms stop, or None where they do
    not stop well short of the grid's finest spacing (:data:`TRUNCATED`).

    Parameters
    ----------
    grid
        The map over its whole unit cell, with its cell.

    Returns
    -------
    float or None
        The smallest d-spacing among the terms above :data:`ABSENT` of the largest; a map
        written from coefficients to 1.83 A gives 1.83 back. The terms are read a plane of
        h at a time from gemmi's half-complex transform (no reflection list is made).
    """
    import gemmi

    if grid.point_count > MAX_TRANSFORM:
        return None
    amp = np.abs(np.array(gemmi.transform_map_to_f_phi(grid, half_l=True), copy=False))
    top = float(amp.max()) if amp.size else 0.0
    if not np.isfinite(top) or top <= 0:
        return None
    n = np.array([grid.nu, grid.nv, grid.nw])
    # s = h . F (F: the fractionalisation matrix); 1/d^2 = |s|^2
    frac = np.array(grid.unit_cell.frac.mat.tolist())
    k = np.fft.fftfreq(n[1], 1.0 / n[1])[:, None]
    l_idx = np.arange(amp.shape[2])[None, :]
    finest = 0.0
    for h_idx in range(amp.shape[0]):
        kk, ll = np.nonzero(amp[h_idx] > ABSENT * top)
        if not len(kk):
            continue
        h = h_idx if h_idx <= n[0] // 2 else h_idx - n[0]
        hkl = np.column_stack([np.full(len(kk), h), k[kk, 0], l_idx[0, ll]]).astype(float)
        finest = max(finest, float((np.square(hkl @ frac)).sum(1).max()))
    if finest <= 0:
        return None
    d_min = 1.0 / np.sqrt(finest)
    nyquist = 2.0 * max(grid.unit_cell.a / n[0], grid.unit_cell.b / n[1], grid.unit_cell.c / n[2])
    return float(d_min) if d_min >= TRUNCATED * nyquist else None
