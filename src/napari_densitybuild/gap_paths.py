"""Paths of one or two new C-alphas through the density between a chain's end and the start of
the piece that follows it: shared by the review's Close gap (:mod:`.gaps`) and the build's gap
filling and links (:mod:`.gap_fill`, :mod:`.links`).

:func:`best_path` tries every placement of the new C-alphas :data:`STEP` A apart (a circle of
points for one, a sphere of first points and a circle of second ones for two) that keeps the
virtual C-alpha angles at and beside them in [:data:`ANGLE_MIN`, :data:`ANGLE_MAX`] degrees and
keeps clear of other atoms, and returns the one along which the map is highest. Where the
residue after the gap is a proline, the last step is tried as a cis peptide too
(:data:`CIS_STEP`), and taken where its path is :data:`CIS_MARGIN` denser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .maps import DensityMap
    from .session import Session

#: C-alphas at most this far apart (A) are a peptide's length apart (trans 3.8, cis 2.9): no
#: residue fits between them.
JOIN_MAX = 4.3
#: C-alpha to C-alpha along a chain (A).
STEP = 3.8
#: C-alpha to C-alpha across a cis peptide (A; 797 cis peptides of the training structures:
#: 2.96 +- 0.08).
CIS_STEP = 2.96
#: Where the piece after the gap starts with a proline, the last step into it is tried at
#: :data:`CIS_STEP` as well as :data:`STEP`: the peptide before a proline is cis in about one in
#: twenty cases, and refinement makes a link that short a cis peptide (:mod:`.refine`).
CIS_BEFORE_PRO = True
#: A cis last step is taken only where its path's mean map value beats the best path of
#: :data:`STEP` steps by this much (sigma): a cis peptide before a proline is the rarer case,
#: and a shorter last step hugs the proline's density. Chosen on simulated maps of 40 training
#: structures (the smallest of 0-0.5 in steps of 0.05 that gives at most 1 % of 1,171 trans
#: sites a cis peptide: 8; ``scripts/cis_sites_simulated.py``, docs/build.md).
CIS_MARGIN = 0.2
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


def atoms_to_clear(session: Session, ends: set[int], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(M, 3) the atoms new C-alphas keep :data:`CLASH` A from: every atom of ``session`` but the
    backbone (N, CA, C, O) of the residues ``ends`` they start from, with the crystal copies in
    the box ``lo``-``hi`` (x, y, z, A)."""
    xyz = [a[1:] for i, r in enumerate(session.residues) for a in r.atoms
           if i not in ends or a[0] not in ("N", "CA", "C", "O")]  # fmt: skip
    xyz = np.array(xyz, dtype=float).reshape(-1, 3)
    sym = session.symmetry()
    if sym.periodic and len(xyz):
        xyz = sym.images(xyz, box=(lo, hi))["xyz"]
    return xyz


def _circle(a: np.ndarray, b: np.ndarray, r: float, n: int, r_b: float | None = None) -> np.ndarray:
    """Points (..., n, 3) at distance ``r`` from ``a`` and ``r_b`` (``r`` where None) from
    ``b`` (..., 3); nan where the spheres do not meet."""
    r_b = r if r_b is None else r_b
    axis = b - a
    d = np.linalg.norm(axis, axis=-1, keepdims=True)
    u = axis / np.maximum(d, 1e-9)
    x = (d * d + r * r - r_b * r_b) / (2 * np.maximum(d, 1e-9))  # foot along the axis from a
    rad = np.sqrt(np.clip(r * r - x * x, 0, None))
    rad = np.where((d <= r + r_b) & (d >= abs(r - r_b)), rad, np.nan)
    helper = np.where(np.abs(u[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    v = np.cross(u, helper)
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    w = np.cross(u, v)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.cos(t)[:, None] * v[..., None, :] + np.sin(t)[:, None] * w[..., None, :]
    return (a + x * u)[..., None, :] + rad[..., None, :] * ring


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


def _paths(e: np.ndarray, s: np.ndarray, k: int, last: float = STEP) -> np.ndarray:
    """Candidate new C-alphas (P, k, 3) between ``e`` and ``s``, steps of :data:`STEP` but the
    last (into ``s``), of ``last``."""
    if k == 1:
        return _circle(e, s, STEP, CIRCLE_POINTS, last).reshape(-1, 1, 3)
    first = e + STEP * _sphere(SPHERE_POINTS)
    first = first[np.linalg.norm(first - s, axis=1) <= STEP + last]
    second = _circle(first, np.broadcast_to(s, first.shape), STEP, CIRCLE_POINTS // 2, last)
    return np.stack([np.repeat(first[:, None], second.shape[1], 1), second], 2).reshape(-1, 2, 3)


def _score(
    paths: np.ndarray,
    e: np.ndarray,
    s: np.ndarray,
    before: np.ndarray | None,
    after: np.ndarray | None,
    dmap: DensityMap,
    others: np.ndarray,
) -> np.ndarray:
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
    cis_last: bool = False,
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
    cis_last
        ``s`` is a proline: the last step is tried at :data:`CIS_STEP` too (where
        :data:`CIS_BEFORE_PRO`), and taken where its path is :data:`CIS_MARGIN` denser.
    """
    e, s = np.asarray(e, dtype=float), np.asarray(s, dtype=float)
    others = np.zeros((0, 3)) if others is None else np.asarray(others, dtype=float)
    d = float(np.linalg.norm(s - e))
    lasts = (STEP, CIS_STEP) if cis_last and CIS_BEFORE_PRO else (STEP,)
    best: dict[float, tuple[np.ndarray, float]] = {}
    for last in lasts:
        for k in counts:
            if d > k * STEP + last:
                continue
            paths = _paths(e, s, k, last)
            if not len(paths):  # no first point of the sphere in reach of ``s``
                continue
            score = _score(paths, e, s, before, after, dmap, others)
            if np.isfinite(score).any():
                i = int(np.nanargmax(score))
                if last not in best or score[i] > best[last][1]:
                    best[last] = (paths[i], float(score[i]))
    trans, cis = best.get(STEP), best.get(CIS_STEP)
    if cis is not None and (trans is None or cis[1] >= trans[1] + CIS_MARGIN):
        return cis
    return trans
