"""The sample pool of training: uniform over rows, or weighted per part (real maps balanced)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_densitybuild.training.runlog import Pool, group_weights


def _parts(sizes):
    return [(np.full((n, 2), k, np.float16), np.full(n, k, np.int64)) for k, n in enumerate(sizes)]


def test_uniform_pool_draws_parts_by_size():
    pool = Pool(_parts([900, 100]))
    boxes, labels = pool.sample(20000, np.random.default_rng(0))
    assert boxes.shape == (20000, 2) and (boxes[:, 0] == labels).all()
    assert np.mean(labels == 1) == pytest.approx(0.1, abs=0.01)


def test_weighted_pool_draws_parts_by_weight_and_all_rows_of_a_part():
    pool = Pool(_parts([900, 100]), weights=[1.0, 1.0])
    _, labels = pool.sample(20000, np.random.default_rng(1))
    assert np.mean(labels == 1) == pytest.approx(0.5, abs=0.02)
    tagged = [(np.arange(n)[:, None].astype(np.float32), np.full(n, k)) for k, n in
              enumerate([5, 3])]  # fmt: skip
    rows, labels = Pool(tagged, weights=[1, 1]).sample(4000, np.random.default_rng(2))
    assert set(rows[labels == 0, 0]) == set(range(5)) and set(rows[labels == 1, 0]) == {0, 1, 2}
    with pytest.raises(ValueError, match="one non-negative weight per part"):
        Pool(_parts([3, 3]), weights=[1.0])


def test_group_weights_balance_maps_with_their_copies():
    names = ["real_4iid", "real_4iid_j1", "real_4iid_d1", "real_1dmm", "real_1dmm_d2"]
    sizes = [1600, 1600, 1600, 100, 100]
    assert group_weights(names, sizes, "box") is None
    w = np.array(group_weights(names, sizes, "map"))
    assert w[:3].sum() == pytest.approx(w[3:].sum()) and w[0] == pytest.approx(w[1])
    s = np.array(group_weights(names, sizes, "sqrt"))
    assert s[:3].sum() / s[3:].sum() == pytest.approx(np.sqrt(4800 / 200))
    with pytest.raises(ValueError, match="unknown balance"):
        group_weights(names, sizes, "per-residue")
