"""Paths of one or two new C-alphas through the density between a chain's end and the start of
the piece that follows it: shared by the review's Close gap (:mod:`.gaps`) and the build's gap
filling (:mod:`.gap_fill`).

:func:`best_path` tries every placement of the new C-alphas :data:`STEP` A apart (a circle of
points for one, a sphere of first points and a circle of second ones for two) that keeps the
virtual C-alpha angles at and beside them in [:data:`ANGLE_MIN`, :data:`ANGLE_MAX`] degrees and
keeps clear of other atoms, and returns the one along which the map is highest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .maps import DensityMap

#: C-alphas at most this far apart (A) are a peptide's length apart (trans 3.8, cis 2.9): no
#: residue fits between them.
JOIN_MAX = 4.3
#: C-alpha to C-alpha along a chain (A).
STEP = 3.8
#: Most residues built into one gap.
MAX_NEW = 2
#: Virtual C-alpha angles allowed at and beside the new residues (degrees; the trace's table of
#: N and C positions spans 70-160).
ANGLE_MIN, ANGLE_MAX = 80.0, 155.0
#: A new C-alpha closer than this (A) to another residue's atom is a clash.
CLASH = 2.6
#: Least mean map value (sigma) along a new path: below it the map does not show the chain well
#: enough to build it blind. Chosen by a rule written first (the highest of 0.5-2.0 in steps of
#: 0.25 that keeps 98 % of 520 sites of one or two residues deleted from the deposited models of
#: 13 real maps closed right): the chain's own paths ran through 1.5 sigma and more at 99 % of
#: them, where the closings of chain breaks in builds that went wrong all ran under 1.55.
MIN_DENSITY = 1.75
#: Sphere directions tried for the first of two new C-alphas, and angles around each circle.
SPHERE_POINTS, CIRCLE_POINTS = 600, 72


def _circle(a: np.ndarray, b: np.ndarray, r: float, n: int) -> np.ndarray:
    """Points (..., n, 3) at distance ``r`` from both ``a`` and ``b`` (..., 3); nan where the
    spheres do not meet."""
    axis = b - a
    d = np.linalg.norm(axis, axis=-1, keepdims=True)
    u = axis / np.maximum(d, 1e-9)
    rad = np.sqrt(np.clip(r * r - (d / 2) ** 2, 0, None))
    rad = np.where(d <= 2 * r, rad, np.nan)
    helper = np.where(np.abs(u[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    v = np.cross(u, helper)
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    w = np.cross(u, v)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.cos(t)[:, None] * v[..., None, :] + np.sin(t)[:, None] * w[..., None, :]
    return ((a + b) / 2)[..., None, :] + rad[..., None, :] * ring


def _sphere(n: int) -> np.ndarray:
    """``n`` nearly even unit vectors (Fibonacci sphere)."""
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = np.pi * (1 + 5**0.5) * k
    s = np.sqrt(1 - z * z)
    return np.stack([s * np.cos(phi), s * np.sin(phi), z], axis=1)


def _angles(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    u, v = a - b, c - b
    cos = (u * v).sum(-1) / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1),
                                       1e-9)  # fmt: skip
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _paths(e: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """Candidate new C-alphas (P, k, 3) between ``e`` and ``s``, steps of :data:`STEP`."""
    if k == 1:
        return _circle(e, s, STEP, CIRCLE_POINTS).reshape(-1, 1, 3)
    first = e + STEP * _sphere(SPHERE_POINTS)
    first = first[np.linalg.norm(first - s, axis=1) <= 2 * STEP]
    second = _circle(first, np.broadcast_to(s, first.shape), STEP, CIRCLE_POINTS // 2)
    return np.stack([np.repeat(first[:, None], second.shape[1], 1), second], 2).reshape(-1, 2, 3)


def _score(paths, e, s, before, after, dmap, others) -> np.ndarray:
    """Mean map value along each path from ``e`` to ``s`` (nan where it breaks a rule)."""
    chain = np.concatenate([np.broadcast_to(e, (len(paths), 1, 3)), paths,
                            np.broadcast_to(s, (len(paths), 1, 3))], axis=1)  # fmt: skip
    ok = np.isfinite(chain).all((1, 2))
    full = chain
    if before is not None:
        full = np.concatenate([np.broadcast_to(before, (len(paths), 1, 3)), full], axis=1)
    if after is not None:
        full = np.concatenate([full, np.broadcast_to(after, (len(paths), 1, 3))], axis=1)
    ang = _angles(full[:, :-2], full[:, 1:-1], full[:, 2:])
    ok &= ((ang >= ANGLE_MIN) & (ang <= ANGLE_MAX)).all(1)
    if len(others):
        from scipy.spatial import cKDTree

        d, _ = cKDTree(others).query(np.nan_to_num(paths.reshape(-1, 3), nan=1e6))
        ok &= (d.reshape(len(paths), -1) >= CLASH).all(1)
    return np.where(ok, line_density(np.nan_to_num(chain), dmap), np.nan)


def line_density(chain: np.ndarray, dmap: DensityMap) -> np.ndarray:
    """Mean map value (sigma) along C-alpha paths ``chain`` (..., n, 3), sampled at four points
    per step and at the last C-alpha."""
    chain = np.asarray(chain, dtype=float)
    t = np.linspace(0, 1, 4, endpoint=False)
    pts = chain[..., :-1, None, :] + t[:, None] * (
        chain[..., 1:, None, :] - chain[..., :-1, None, :]
    )
    pts = np.concatenate([pts.reshape(*chain.shape[:-2], -1, 3), chain[..., -1:, :]], axis=-2)
    rho = dmap.sample_points(pts.reshape(-1, 3)).reshape(pts.shape[:-1])
    return rho.mean(-1)


def best_path(
    e: np.ndarray,
    s: np.ndarray,
    counts: Iterable[int],
    dmap: DensityMap,
    before: np.ndarray | None = None,
    after: np.ndarray | None = None,
    others: np.ndarray | None = None,
) -> tuple[np.ndarray, float] | None:
    """The new C-alphas (k, 3) from end ``e`` to start ``s`` (C-alphas, A) along which the mean
    map value is highest, over ``k`` in ``counts``, and that mean (sigma); None where no
    placement keeps to the rules.

    Parameters
    ----------
    e, s
        The C-alphas the new ones link (the end's piece runs N to C into ``e``).
    counts
        How many new residues to try (1 and 2 are searched).
    dmap
        The map, sampled along the path (four points per step).
    before, after
        The C-alphas before ``e`` and after ``s`` in their pieces, where there are any: the
        virtual angles at ``e`` and ``s`` are held to the rules too.
    others
        (M, 3) atoms the new C-alphas keep :data:`CLASH` A from (crystal copies included).
    """
    e, s = np.asarray(e, dtype=float), np.asarray(s, dtype=float)
    others = np.zeros((0, 3)) if others is None else np.asarray(others, dtype=float)
    d = float(np.linalg.norm(s - e))
    best = None
    for k in counts:
        if d > (k + 1) * STEP:
            continue
        paths = _paths(e, s, k)
        score = _score(paths, e, s, before, after, dmap, others)
        if np.isfinite(score).any():
            i = int(np.nanargmax(score))
            if best is None or score[i] > best[1]:
                best = (paths[i], float(score[i]))
    return best
