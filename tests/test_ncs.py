"""NCS copies: superposition, finding copies of a chain, averaging their residue types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_densitybuild.boxes import random_rotations
from napari_densitybuild.models import backbone_residues, read_structure
from napari_densitybuild.ncs import average_copies, kabsch, ncs_groups
from napari_densitybuild.residues import INDEX

SAMPLE = Path(__file__).parents[1] / "sample_data"


def test_kabsch_recovers_a_rigid_motion():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 3)) * 5
    r_true = random_rotations(1, 170, rng)[0]
    b = a @ r_true.T + [3.0, -7.0, 1.0]
    r, t = kabsch(a, b)
    np.testing.assert_allclose(r, r_true, atol=1e-9)
    np.testing.assert_allclose(a @ r.T + t, b, atol=1e-9)
    assert np.linalg.det(r) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def two_copies():
    """The sample chain and a rotated, moved, slightly perturbed copy; true types."""
    res, _ = backbone_residues(read_structure(SAMPLE / "sample_model.cif"))
    rng = np.random.default_rng(1)
    rot = random_rotations(1, 180, rng)[0]
    copy = res.ca @ rot.T + [40.0, 5.0, -3.0] + rng.normal(0, 0.3, res.ca.shape)
    types = np.array([INDEX[r] for r in res.resname])
    return res.ca, copy, types


def _noisy(types: np.ndarray, rng, signal: float = 3.0) -> np.ndarray:
    """Classifier-like probabilities (top-1 about 0.8), independent noise per copy."""
    logits = rng.normal(0, 1.0, (len(types), 20))
    logits[np.arange(len(types)), types] += signal
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def test_copies_are_found_and_averaged(two_copies):
    ca, copy, types = two_copies
    n = len(ca)
    rng = np.random.default_rng(2)
    probs = np.concatenate([_noisy(types, rng), _noisy(types, rng)])
    # the copy traced as two fragments, its halves in the other order
    half = n // 2
    xyz = np.concatenate([ca, copy[half:], copy[:half]])
    probs = np.concatenate([probs[:n], probs[n + half :], probs[n : n + half]])
    fragment = np.r_[np.zeros(n, int), np.ones(n - half, int), np.full(half, 2)]
    groups = ncs_groups(xyz, fragment, probs)
    partner = np.r_[np.arange(half, n), np.arange(half)] + n  # where residue k of copy 2 went
    assert np.mean(groups[:n] == groups[partner]) > 0.9
    assert len(np.unique(groups)) < 1.2 * n
    for g in np.unique(groups):  # never two residues of one fragment in a group
        assert len(set(fragment[groups == g])) == np.count_nonzero(groups == g)
    truth = np.r_[types, types[half:], types[:half]]
    before = np.mean(probs.argmax(1) == truth)
    after = np.mean(average_copies(probs, groups).argmax(1) == truth)
    assert after > before + 0.08, (before, after)


def test_unrelated_chains_of_the_same_shape_are_not_copies(two_copies):
    """Same backbone, other sequence: superposes perfectly, but the types disagree."""
    ca, copy, types = two_copies
    rng = np.random.default_rng(3)
    other = rng.permutation(types)
    probs = np.concatenate([_noisy(types, rng, 4.0), _noisy(other, rng, 4.0)])
    fragment = np.r_[np.zeros(len(ca), int), np.ones(len(ca), int)]
    groups = ncs_groups(np.concatenate([ca, copy]), fragment, probs)
    assert len(np.unique(groups)) == 2 * len(ca)


def test_one_chain_has_no_copies_and_averaging_keeps_singletons(two_copies):
    ca, _, types = two_copies
    probs = _noisy(types, np.random.default_rng(4))
    groups = ncs_groups(ca, np.zeros(len(ca), int), probs)
    np.testing.assert_array_equal(groups, np.arange(len(ca)))
    np.testing.assert_allclose(average_copies(probs, groups), probs, rtol=1e-5)
    # a group of two: both get the normalised geometric mean
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
    out = average_copies(p, np.array([0, 0]))
    want = np.sqrt(p[0] * p[1])
    np.testing.assert_allclose(out[0], want / want.sum(), rtol=1e-6)
    np.testing.assert_allclose(out[1], out[0])


def test_copies_at_a_map_edge_take_the_average_but_do_not_count_in_it():
    """A copy whose box is cut off by a map's edge (untrusted) gets the trusted copies' mean;
    a group with no trusted member averages all of its members."""
    p = np.array([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.05, 0.05, 0.9]])
    out = average_copies(p, np.array([0, 0, 0]), np.array([True, True, False]))
    want = np.sqrt(p[0] * p[1])
    np.testing.assert_allclose(out, np.tile(want / want.sum(), (3, 1)), rtol=1e-6)
    assert out[2].argmax() == 0  # the edge copy's own vote (type 2) is overruled
    alone = average_copies(p[1:], np.array([0, 0]), np.array([False, False]))
    np.testing.assert_allclose(alone, average_copies(p[1:], np.array([0, 0])), rtol=1e-6)
