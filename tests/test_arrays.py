"""The array helpers give what numpy's ``unique`` gives."""

from __future__ import annotations

import numpy as np

from napari_densitybuild.arrays import unique_ints, unique_pairs


def test_unique_ints_and_pairs_match_numpy():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 1000, 5000)
    assert np.array_equal(unique_ints(keys), np.unique(keys))
    pairs = rng.integers(0, 40, (5000, 2))
    assert np.array_equal(unique_pairs(pairs), np.unique(pairs, axis=0))
    assert unique_ints(keys[:0]).shape == (0,) and unique_pairs(pairs[:0]).shape == (0, 2)
