"""Placement metrics: C-alpha recall and precision against a deposited model, symmetry aware.

Every deposited C-alpha is expanded to its crystal images (space-group operations and lattice
translations around the unit cell), so a placed residue counts wherever the copy it sits on
is. Matching is one-to-one: pairs are taken closest first, each placed and each deposited
residue at most once, so two detections on one residue count once.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..symmetry import Symmetry

THRESHOLDS = (1.0, 3.0)


def match_cas(
    placed: np.ndarray,
    reference: np.ndarray,
    sym: Symmetry,
    max_distance: float = 3.0,
    with_images: bool = False,
) -> tuple[np.ndarray, ...]:
    """One-to-one matches (closest first) of placed C-alphas to any image of reference ones.

    Returns
    -------
    placed_index, reference_index, distance
        The matched pairs, each within ``max_distance`` A; with ``with_images`` also the
        operation index and lattice shift (K, 3) that take each reference residue onto its
        match (:meth:`~napari_densitybuild.symmetry.Symmetry.apply`).
    """
    placed = np.asarray(placed, dtype=float).reshape(-1, 3)
    reference = np.asarray(reference, dtype=float).reshape(-1, 3)
    empty = (np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    empty_images = (np.zeros(0, int), np.zeros((0, 3)))
    if not len(placed) or not len(reference):
        return (*empty, *empty_images) if with_images else empty
    # images of the reference around the placed residues' cells
    reach = 1
    if sym.periodic:
        frac = sym.to_frac(placed)
        reach = int(max(1, np.ceil(np.abs(frac).max()) + 1))
    imgs = sym.images(reference, reach=min(reach, 3))
    tree = cKDTree(imgs["xyz"])
    pairs = []
    for p, hits in enumerate(tree.query_ball_point(placed, max_distance)):
        if hits:
            hits = np.asarray(hits)
            d = np.linalg.norm(imgs["xyz"][hits] - placed[p], axis=1)
            for h, dist in zip(hits, d):
                pairs.append((dist, p, int(imgs["src"][h]), int(h)))
    pairs.sort()
    used_p, used_r = set(), set()
    out = []
    for dist, p, r, h in pairs:
        if p in used_p or r in used_r:
            continue
        used_p.add(p)
        used_r.add(r)
        out.append((p, r, dist, h))
    if not out:
        return (*empty, *empty_images) if with_images else empty
    p, r, d, h = (np.array(v) for v in zip(*out))
    if with_images:
        return p, r, d, imgs["op"][h], imgs["shift"][h]
    return p, r, d


def placement_metrics(
    placed: np.ndarray,
    reference: np.ndarray,
    sym: Symmetry,
    fragment: np.ndarray | None = None,
    thresholds: tuple[float, ...] = THRESHOLDS,
) -> dict:
    """Recall and precision at each threshold, RMSD of matches within 1 A, fragment counts.

    Parameters
    ----------
    placed
        (N, 3) placed C-alphas.
    reference
        (M, 3) deposited C-alphas.
    sym
        The crystal symmetry (``Symmetry.none()`` for maps without it).
    fragment
        (N,) fragment index of each placed residue, for fragment statistics.
    """
    _, _, d = match_cas(placed, reference, sym, max(thresholds))
    out: dict = {"placed": len(placed), "reference": len(reference)}
    for t in thresholds:
        k = int(np.count_nonzero(d <= t))
        out[f"recall_{t:g}A"] = k / max(len(reference), 1)
        out[f"precision_{t:g}A"] = k / max(len(placed), 1)
    close = d <= 1.0
    out["rmsd_1A"] = float(np.sqrt(np.mean(d[close] ** 2))) if close.any() else float("nan")
    if fragment is not None and len(fragment):
        lengths = np.bincount(np.asarray(fragment))
        lengths = lengths[lengths > 0]
        out["fragments"] = len(lengths)
        out["mean_fragment_length"] = float(lengths.mean())
        out["longest_fragment"] = int(lengths.max())
    return out
