"""Non-crystallographic symmetry (NCS): copies of one chain in the asymmetric unit.

Many crystals hold two or more copies of the molecule that crystal symmetry does not relate.
Each copy sees its own, independently noisy density, so the classifier's answers for matching
residues are independent looks at one residue type; averaging them (the normalised geometric
mean of their probabilities) is what a crystallographer does with NCS averaging, for types.

Copies are found between pairs of traced fragments: windows of :data:`WINDOW` consecutive
C-alphas with the same shape (internal distances) and agreeing type profiles propose a rigid
superposition; the one that puts most C-alphas of one fragment within :data:`MATCH_DISTANCE` of
the other's is kept if at least :data:`MIN_PAIRS` residues match and their most likely types
agree far more often than chance: at least :data:`MIN_AGREEMENT` of them, and :data:`MIN_Z`
standard deviations above the agreement expected from the two fragments' type frequencies
(unrelated helices, which superpose just as well, agree on about 1 residue in 10). A group
never holds two residues of one fragment.
"""

from __future__ import annotations

import numpy as np

#: C-alphas per window.
WINDOW = 7
#: Largest mean absolute difference (A) of the windows' internal distances.
SHAPE_TOLERANCE = 0.6
#: Superposed C-alphas this close (A) match.
MATCH_DISTANCE = 1.0
#: Fewest matched residues for a copy.
MIN_PAIRS = 10
#: Fewest matched residues with the same most likely type (fraction) ...
MIN_AGREEMENT = 0.5
#: ... and standard deviations above chance agreement.
MIN_Z = 4.0
#: Most window pairs tried per fragment pair.
MAX_TRIALS = 300
#: Residues whose C-alpha is nearer than this (A) to the edge of a map that ends there (a
#: cryo-EM box) have part of their box cut off: they take their copies' average, and do not
#: count in it.
EDGE_DEPTH = 8.0


def kabsch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation ``r`` and translation ``t`` minimising ``|a @ r.T + t - b|`` for (N, 3) points."""
    ca, cb = a.mean(0), b.mean(0)
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r, cb - ca @ r.T


def _windows(ca: np.ndarray, fragment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First residues (K,) of every window of :data:`WINDOW` residues inside one fragment, and
    their internal C-alpha distances (K, W*(W-1)/2): a shape that no rigid motion changes."""
    n = len(ca)
    first = np.arange(max(n - WINDOW + 1, 0))
    first = first[fragment[first] == fragment[np.minimum(first + WINDOW - 1, n - 1)]]
    i, j = np.triu_indices(WINDOW, 1)
    desc = np.linalg.norm(ca[first[:, None] + i] - ca[first[:, None] + j], axis=-1)
    return first, desc.reshape(len(first), -1)


def _candidates(
    ca: np.ndarray, fragment: np.ndarray, types: np.ndarray
) -> dict[tuple[int, int], np.ndarray]:
    """Window pairs (first residues) of the same shape and half their types in common, by
    fragment pair (lower fragment first)."""
    from scipy.spatial import cKDTree

    first, desc = _windows(ca, fragment)
    if len(first) < 2:
        return {}
    # mean absolute difference of the distances below SHAPE_TOLERANCE: an L1 ball
    pairs = cKDTree(desc).query_pairs(SHAPE_TOLERANCE * desc.shape[1], p=1, output_type="ndarray")
    a, b = first[pairs[:, 0]], first[pairs[:, 1]]
    span = np.arange(WINDOW)
    same = (types[a[:, None] + span] == types[b[:, None] + span]).sum(1)
    keep = (fragment[a] != fragment[b]) & (same >= WINDOW // 2)
    a, b = a[keep], b[keep]
    swap = fragment[a] > fragment[b]
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    out: dict[tuple[int, int], list] = {}
    for x, y in zip(a.tolist(), b.tolist()):
        out.setdefault((int(fragment[x]), int(fragment[y])), []).append((x, y))
    return {k: np.array(v) for k, v in out.items()}


def _best_match(
    ca: np.ndarray,
    types: np.ndarray,
    fx: np.ndarray,
    fy: np.ndarray,
    cand: np.ndarray,
    rng: np.random.Generator,
) -> list[tuple[int, int]]:
    """Residue pairs (global indices) of the superposition of fragment ``fx`` onto ``fy`` that
    matches most C-alphas, tried from the candidate windows; [] unless they are copies."""
    from scipy.spatial import cKDTree

    if min(len(fx), len(fy)) < MIN_PAIRS:
        return []
    if len(cand) > MAX_TRIALS:
        cand = cand[rng.choice(len(cand), MAX_TRIALS, replace=False)]
    tree = cKDTree(ca[fy])
    span = np.arange(WINDOW)
    best: list[tuple[int, int]] = []
    for a, b in cand:
        r, t = kabsch(ca[a + span], ca[b + span])
        dist, near = tree.query(ca[fx] @ r.T + t, distance_upper_bound=MATCH_DISTANCE)
        hit = np.flatnonzero(np.isfinite(dist))
        hit = hit[np.argsort(dist[hit])]
        _, once = np.unique(near[hit], return_index=True)  # one to one: the closest wins
        pairs = sorted((int(fx[k]), int(fy[near[k]])) for k in hit[once])
        if len(pairs) > len(best):
            best = pairs
        if len(best) >= 0.9 * min(len(fx), len(fy)):
            break  # as good as it gets
    n = len(best)
    if n < MIN_PAIRS:
        return []
    agree = sum(int(types[a] == types[b]) for a, b in best)
    freq = [np.bincount(types[f], minlength=20) / len(f) for f in (fx, fy)]
    chance = float(np.clip(freq[0] @ freq[1], 0.02, 0.98))
    z = (agree - n * chance) / np.sqrt(n * chance * (1 - chance))
    return best if agree >= MIN_AGREEMENT * n and z >= MIN_Z else []


def ncs_groups(ca: np.ndarray, fragment: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(N,) group label of every residue: residues that are NCS copies of each other share one.

    Parameters
    ----------
    ca
        (N, 3) C-alphas, fragment by fragment, N to C.
    fragment
        (N,) fragment index of each residue (a fragment's residues are consecutive).
    probs
        (N, 20) classifier probabilities (their most likely types check the copies).
    """
    ca = np.asarray(ca, dtype=float)
    fragment = np.asarray(fragment)
    n = len(ca)
    parent = np.arange(n)
    frags_of = {i: {int(fragment[i])} for i in range(n)}  # fragments in each group (by root)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    types = np.asarray(probs).argmax(1)
    members = {int(f): np.flatnonzero(fragment == f) for f in np.unique(fragment)}
    rng = np.random.default_rng(0)
    for (x, y), cand in sorted(_candidates(ca, fragment, types).items()):
        for a, b in _best_match(ca, types, members[x], members[y], cand, rng):
            ra, rb = root(a), root(b)
            if ra == rb or frags_of[ra] & frags_of[rb]:
                continue  # a group holds at most one residue of each fragment
            keep, drop = min(ra, rb), max(ra, rb)
            parent[drop] = keep
            frags_of[keep] |= frags_of.pop(drop)
    return np.array([root(i) for i in range(n)])


def average_copies(
    probs: np.ndarray, groups: np.ndarray, trusted: np.ndarray | None = None
) -> np.ndarray:
    """Probabilities with each NCS group's members replaced by their normalised geometric mean.

    Parameters
    ----------
    probs
        (N, 20) probabilities.
    groups
        (N,) group labels from :func:`ncs_groups`.
    trusted
        (N,) False for residues whose own density is incomplete (at a map's edge): they get the
        mean of their group's trusted members, and only a group without one averages them.
    """
    probs = np.asarray(probs, dtype=np.float64)
    out = probs.copy()
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    trusted = np.ones(len(probs), bool) if trusted is None else np.asarray(trusted, bool)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        if len(members) < 2:
            continue
        voters = members[trusted[members]] if trusted[members].any() else members
        mean = np.exp(logp[voters].mean(0))
        out[members] = mean / mean.sum()
    return out.astype(np.float32)
