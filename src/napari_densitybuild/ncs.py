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


def kabsch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation ``r`` and translation ``t`` minimising ``|a @ r.T + t - b|`` for (N, 3) points."""
    ca, cb = a.mean(0), b.mean(0)
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r, cb - ca @ r.T


def _windows(ca: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start indices and internal-distance descriptors (K, W*(W-1)/2) of a fragment's windows."""
    starts = np.arange(max(len(ca) - WINDOW + 1, 0))
    iu = np.triu_indices(WINDOW, 1)
    desc = np.array([np.linalg.norm(ca[s + iu[0]] - ca[s + iu[1]], axis=1) for s in starts])
    return starts, desc.reshape(len(starts), -1)


def match_fragments(ca_f, ca_g, types_f, types_g, rng) -> list[tuple[int, int]]:
    """Matched residue index pairs (into f, into g) of two fragments that are NCS copies."""
    from scipy.spatial import cKDTree

    if min(len(ca_f), len(ca_g)) < max(WINDOW, MIN_PAIRS):
        return []
    sf, df = _windows(ca_f)
    sg, dg = _windows(ca_g)
    span = np.arange(WINDOW)
    tf, tg = types_f[sf[:, None] + span], types_g[sg[:, None] + span]  # (K, W) window types
    found = []
    for lo in range(0, len(sf), 128):  # bounded memory for long fragments
        shape = np.abs(df[lo : lo + 128, None] - dg[None]).mean(-1)
        same = (tf[lo : lo + 128, None] == tg[None]).sum(-1)
        hits = np.argwhere((shape < SHAPE_TOLERANCE) & (same >= WINDOW // 2))
        found.append(hits + np.array([lo, 0]))
    cand = np.concatenate(found)
    if not len(cand):
        return []
    if len(cand) > MAX_TRIALS:
        cand = cand[rng.choice(len(cand), MAX_TRIALS, replace=False)]
    tree = cKDTree(ca_g)
    best: list[tuple[int, int]] = []
    for i, j in cand:
        r, t = kabsch(ca_f[sf[i] + span], ca_g[sg[j] + span])
        dist, near = tree.query(ca_f @ r.T + t, distance_upper_bound=MATCH_DISTANCE)
        hit = np.flatnonzero(np.isfinite(dist))
        hit = hit[np.argsort(dist[hit])]
        _, first = np.unique(near[hit], return_index=True)  # one to one: the closest wins
        pairs = sorted((int(k), int(near[k])) for k in hit[first])
        if len(pairs) > len(best):
            best = pairs
    n = len(best)
    if n < MIN_PAIRS:
        return []
    agree = sum(int(types_f[a] == types_g[b]) for a, b in best)
    freq_f = np.bincount(types_f, minlength=20) / len(types_f)
    freq_g = np.bincount(types_g, minlength=20) / len(types_g)
    chance = float(np.clip(freq_f @ freq_g, 0.02, 0.98))
    z = (agree - n * chance) / np.sqrt(n * chance * (1 - chance))
    return best if agree >= MIN_AGREEMENT * n and z >= MIN_Z else []


def ncs_groups(ca: np.ndarray, fragment: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(N,) group label of every residue: residues that are NCS copies of each other share one.

    Parameters
    ----------
    ca
        (N, 3) C-alphas, fragment by fragment, N to C.
    fragment
        (N,) fragment index of each residue.
    probs
        (N, 20) classifier probabilities (their most likely types check the copies).
    """
    n = len(ca)
    parent = np.arange(n)
    frags_of = {i: {int(fragment[i])} for i in range(n)}  # fragments in each group (by root)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    types = np.asarray(probs).argmax(1)
    frags = [np.flatnonzero(fragment == f) for f in np.unique(fragment)]
    rng = np.random.default_rng(0)
    for x in range(len(frags)):
        for y in range(x + 1, len(frags)):
            fx, fy = frags[x], frags[y]
            for a, b in match_fragments(ca[fx], ca[fy], types[fx], types[fy], rng):
                ra, rb = root(int(fx[a])), root(int(fy[b]))
                if ra == rb or frags_of[ra] & frags_of[rb]:
                    continue  # a group holds at most one residue of each fragment
                keep, drop = min(ra, rb), max(ra, rb)
                parent[drop] = keep
                frags_of[keep] |= frags_of.pop(drop)
    return np.array([root(i) for i in range(n)])


def average_copies(probs: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Probabilities with each NCS group's members replaced by their normalised geometric mean."""
    probs = np.asarray(probs, dtype=np.float64)
    out = probs.copy()
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        if len(members) < 2:
            continue
        mean = np.exp(logp[members].mean(0))
        out[members] = mean / mean.sum()
    return out.astype(np.float32)
