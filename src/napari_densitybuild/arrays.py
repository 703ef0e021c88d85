"""Small array helpers that numpy has, but slowly for our sizes.

numpy 2's ``np.unique`` takes a hash-table path for integer arrays that is about 30 times
slower than a sort on the million-element arrays of a large model's RSCC lattice points, and
``np.unique(..., axis=0)`` sorts rows as structured records, about 14 times slower than sorting
one integer key per row (a mesh's edges, redrawn on the GUI thread as the view moves).
"""

from __future__ import annotations

import numpy as np


def unique_ints(a: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array (as ``np.unique(a)``).

    Examples
    --------
    >>> unique_ints(np.array([3, 1, 3, 2, 1])).tolist()
    [1, 2, 3]
    """
    a = np.sort(np.asarray(a).ravel())
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """The distinct rows of an (N, 2) array of non-negative integers, sorted (as
    ``np.unique(pairs, axis=0)``).

    Examples
    --------
    >>> unique_pairs(np.array([[2, 5], [0, 1], [2, 5]])).tolist()
    [[0, 1], [2, 5]]
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if not len(pairs):
        return pairs
    width = int(pairs[:, 1].max()) + 1
    first, second = np.divmod(unique_ints(pairs[:, 0] * width + pairs[:, 1]), width)
    return np.stack([first, second], axis=1)
