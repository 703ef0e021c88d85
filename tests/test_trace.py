"""Placement without the net: symmetry copies, tracing and metrics on deposited C-alphas.

Perfect detections (every crystal copy of every deposited C-alpha inside the unit cell's box,
with the true CA->N and CA->C directions, shuffled) must come out as one residue each, traced
into the deposited chains (N to C, broken only where the model has gaps), each fragment one
connected copy near the origin cell, and score recall and precision 1.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REAL_DIR, real_model_path

from napari_densitybuild.maps import read_map
from napari_densitybuild.models import backbone_residues, read_structure
from napari_densitybuild.place import Detections, search_region, unique_under_symmetry
from napari_densitybuild.symmetry import Symmetry
from napari_densitybuild.trace import Trace, trace
from napari_densitybuild.training.place_metrics import placement_metrics

# orthorhombic, monoclinic and hexagonal cells
MAPS = [m for m in ("1cbs", "1g8a", "5orl") if (REAL_DIR / m / "map.mtz").is_file()]
pytestmark = pytest.mark.realdata


def _unit(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def perfect_detections(dmap, bb, sym, seed=0):
    """Every image of every C-alpha inside the search box, with transformed directions."""
    lo, hi = search_region(dmap)
    imgs = sym.images(bb.ca)
    inside = np.all((imgs["xyz"] >= lo) & (imgs["xyz"] <= hi), axis=1)
    src, op = imgs["src"][inside], imgs["op"][inside]
    rot = sym.cart_rotations()[op]
    to_n = np.einsum("kab,kb->ka", rot, _unit(bb.n - bb.ca)[src])
    to_c = np.einsum("kab,kb->ka", rot, _unit(bb.c - bb.ca)[src])
    rng = np.random.default_rng(seed)
    order = rng.permutation(int(inside.sum()))
    det = Detections(imgs["xyz"][inside], to_n, to_c, rng.uniform(0.6, 1.0, len(src)),
                     np.full(len(src), 5))  # fmt: skip
    return det.subset(order), src[order]


def true_segments(bb) -> int:
    """Continuous runs of the deposited model (same chain, consecutive C-alphas < 4.2 A)."""
    step = np.linalg.norm(np.diff(bb.ca, axis=0), axis=1)
    breaks = (step > 4.2) | (bb.chain[1:] != bb.chain[:-1])
    return int(breaks.sum()) + 1


@pytest.mark.parametrize("name", MAPS)
def test_perfect_detections_trace_into_the_deposited_chains(name):
    dmap = read_map(REAL_DIR / name / "map.mtz")
    bb, _ = backbone_residues(read_structure(real_model_path(REAL_DIR / name)))
    sym = Symmetry.of_map(dmap)
    det, _src = perfect_detections(dmap, bb, sym)
    assert len(det) >= len(bb)  # at least one copy of each residue
    unique = unique_under_symmetry(det, sym)
    assert len(unique) == len(bb)
    placed = trace(unique, dmap, sym)
    assert len(placed) == len(bb)
    assert placed.fragment_count == true_segments(bb)
    m = placement_metrics(placed.ca, bb.ca, sym, placed.fragment)
    assert m["recall_1A"] == 1.0 and m["precision_1A"] == 1.0 and m["rmsd_1A"] < 1e-6
    # every fragment is one connected copy, N to C, its centre inside the unit cell
    residue = {tuple(np.round(p, 3)): k for k, p in enumerate(bb.ca)}
    for f in range(placed.fragment_count):
        ca = placed.ca[placed.fragment == f]
        if len(ca) > 1:
            assert np.linalg.norm(np.diff(ca, axis=0), axis=1).max() < 4.3
        frac = sym.to_frac(ca).mean(0)
        assert np.all((frac >= 0) & (frac < 1))
        # the placed copy maps back onto consecutive deposited residues in order
        ids = []
        for p in ca:
            imgs = sym.images(p[None])["xyz"]
            hit = [residue.get(tuple(np.round(q, 3))) for q in imgs]
            ids.append(next(h for h in hit if h is not None))
        assert np.all(np.diff(ids) == 1), (name, f, ids[:10])


def test_em_map_without_symmetry(tmp_path):
    """No symmetry: detections are kept as they are and traced in place."""
    if not MAPS:
        pytest.skip("no real maps in the shared data")
    name = MAPS[0]
    dmap = read_map(REAL_DIR / name / "map.mtz")
    bb, _ = backbone_residues(read_structure(real_model_path(REAL_DIR / name)))
    sym = Symmetry.none()
    n = 40
    det = Detections(bb.ca[:n], _unit(bb.n - bb.ca)[:n], _unit(bb.c - bb.ca)[:n],
                     np.ones(n), np.full(n, 5))  # fmt: skip
    placed = trace(unique_under_symmetry(det, sym), dmap, sym)
    assert len(placed) == n and np.allclose(np.sort(placed.ca, 0), np.sort(bb.ca[:n], 0))
    assert placed.fragment_count == true_segments(bb.subset(np.arange(n)))


def test_short_fragments_dropped():
    from napari_densitybuild.trace import Trace

    frag = np.array([0, 0, 0, 0, 1, 1, 1, 2, 3])
    t = Trace(np.arange(27.0).reshape(9, 3), np.ones((9, 3)), np.ones((9, 3)), np.ones(9), frag)
    kept = t.without_short(3)
    assert len(kept) == 7 and kept.fragment.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert len(t.without_short(1)) == 9 and len(t.without_short(5)) == 0


def test_weak_fragments_and_subset():
    from napari_densitybuild.trace import Trace

    frag = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    t = Trace(np.arange(27.0).reshape(9, 3), np.ones((9, 3)), np.ones((9, 3)), np.ones(9), frag)
    confidence = np.array([10, 10, 10, 10, 60, 20, 10, 90, 80.0])
    weak = t.weak_fragments(confidence, max_length=3, min_confidence=50)
    assert weak.tolist() == [False] * 4 + [True] * 3 + [False] * 2  # fragment 1: mean 30
    assert not t.weak_fragments(confidence, max_length=2, min_confidence=50).any()
    assert t.weak_fragments(confidence, max_length=4, min_confidence=50)[:4].all()
    kept = t.subset(~weak)
    assert kept.fragment.tolist() == [0, 0, 0, 0, 1, 1] and kept.ca[-1].tolist() == [24, 25, 26]
    assert len(Trace(*(np.zeros((0, 3)),) * 3, np.zeros(0), np.zeros(0, int)).weak_fragments(
        np.zeros(0), 3, 50)) == 0  # fmt: skip


def _line_trace(steps: list[list[float]], fragment: list[int]) -> Trace:
    """C-alphas along x, each fragment starting 20 A after the last, spaced by ``steps``."""
    ca = []
    for k, gaps in enumerate(steps):
        x = 20.0 * k + np.concatenate([[0.0], np.cumsum(gaps)])
        ca.extend([[v, 0.0, 0.0] for v in x])
    n = len(ca)
    return Trace(np.array(ca), np.ones((n, 3)), np.ones((n, 3)), np.ones(n), np.array(fragment))


def test_cis_ends_of_fragments():
    # fragment 0: cis first link; 1: cis last link; 2: cis link inside; 3: two cis links at
    # its start (the second found once the first residue is gone)
    t = _line_trace([[2.8, 3.8, 3.8], [3.8, 3.8, 2.6], [3.8, 2.9, 3.8], [2.9, 2.9, 3.8, 3.8]],
                    [0] * 4 + [1] * 4 + [2] * 4 + [3] * 5)  # fmt: skip
    ends = t.cis_ends()
    assert np.flatnonzero(ends).tolist() == [0, 7, 12]
    kept = t.subset(~ends)
    assert kept.fragment_lengths().tolist() == [3, 3, 4, 4]
    assert kept.cis_ends().sum() == 1  # fragment 3's next step
    assert _line_trace([[2.8]], [0, 0]).cis_ends().all()  # both ends of a pair
    assert not _line_trace([[]], [0]).cis_ends().any()  # a single residue has no link


def test_residues_detected_twice():
    """Of two linked C-alphas under 2.5 A apart inside a fragment, the less confident one goes;
    cis steps and pairs at fragment ends are not this rule's."""
    ca = np.array([
        [0, 0, 0], [3.8, 0, 0], [5.7, 0, 0], [7.6, 0, 0], [11.4, 0, 0],  # 1.9 A: 1-2, 2-3
        [40, 0, 0], [43.0, 2.3, 0], [43.8, 0.5, 0], [47.6, 0, 0],  # 6 a stray before 7
        [80, 0, 0], [83.8, 0, 0], [86.7, 0, 0], [90.5, 0, 0],  # a cis step (2.9 A)
        [120, 0, 0], [121.9, 0, 0], [125.7, 0, 0],  # a pair at the start: cis_ends'
    ], dtype=float)  # fmt: skip
    fragment = np.repeat([0, 1, 2, 3], [5, 4, 4, 3])
    n = len(ca)
    t = Trace(ca, np.ones((n, 3)), np.ones((n, 3)), np.ones(n), fragment)
    confidence = np.full(n, 90.0)
    confidence[[2, 6, 14]] = 40.0
    dup = t.duplicates(confidence)
    assert np.flatnonzero(dup).tolist() == [2, 6]  # 2-3 not looked at once 2 is gone
    kept = t.subset(~dup)
    same = kept.fragment[1:] == kept.fragment[:-1]
    steps = np.linalg.norm(np.diff(kept.ca, axis=0), axis=1)[same]
    assert np.abs(steps[:5] - 3.8).max() < 0.1  # the neighbours lie a trans step apart
    assert not kept.duplicates(confidence[~dup]).any()
    confidence[[1, 2, 6, 7]] = (40.0, 90.0, 90.0, 40.0)
    assert np.flatnonzero(t.duplicates(confidence)).tolist() == [1, 7]
    assert not Trace(ca[:3], np.ones((3, 3)), np.ones((3, 3)), np.ones(3),
                     np.zeros(3, int)).duplicates(confidence[:3]).any()  # fmt: skip


def test_starts_and_ends_of_fragments():
    def made(fragment):
        n = len(fragment)
        z = np.zeros((n, 3))
        return Trace(z, z, z, np.ones(n), np.asarray(fragment, dtype=np.int64))

    starts, ends = made([0, 0, 0, 1, 2, 2]).starts_and_ends()
    assert starts.tolist() == [0, 3, 4] and ends.tolist() == [2, 3, 5]
    assert [x.tolist() for x in made([]).starts_and_ends()] == [[], []]
