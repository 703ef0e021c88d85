"""Sequence positions skipped inside a fragment: the residue the trace stepped over put back,
in place of a misplaced neighbour where that fits the map better."""

from __future__ import annotations

import numpy as np
import pytest
from test_gap_fill import N, _ca
from test_joins import _chain, _result

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.classify import Classifier
from napari_densitybuild.maps import read_map
from napari_densitybuild.refine import AtomModel
from napari_densitybuild.residues import ONE_LETTER
from napari_densitybuild.seq_skips import mend_skips, plan_skips, skip_sites
from napari_densitybuild.symmetry import Symmetry


@pytest.fixture(scope="module")
def sample():
    dmap = read_map(sample_paths()[0])
    model = _chain(N)
    sequence = "".join(ONE_LETTER[r] for r in model.resname)
    return dmap, Classifier.from_path(None, "cpu", tta=0), model, sequence


def _aligned(result):
    result.record = np.zeros(len(result), dtype=int)
    result.chain[:] = "A"
    result.report["aligned_to_sequence"] = len(result)
    result.report["sequence_gaps"] = 1
    return result


def _stepped_over(model, missing: int):
    """One fragment of ``model`` without residue ``missing`` (index), numbered as aligned: the
    trace stepped over it."""
    keep = np.ones(N, dtype=bool)
    keep[missing] = False
    return _aligned(_result(model, np.zeros(N, int), np.arange(1, N + 1)).subset(keep))


def _between(model, first: int):
    """One fragment with residues ``first`` and ``first + 1`` (indices) replaced by one residue
    halfway between them (a copy of the first, moved), numbered as the first: the next residue
    is numbered two on."""
    m = model
    half = 0.5 * (_ca_of(m, first + 1) - _ca_of(m, first))
    order = [r for r in range(N) if r != first + 1]
    atoms = np.concatenate([np.flatnonzero(m.residue == r) for r in order])
    xyz = m.xyz[atoms].copy()
    residue = np.repeat(np.arange(len(order)), [np.count_nonzero(m.residue == r) for r in order])
    xyz[residue == first] += half
    moved = AtomModel(xyz, m.atom[atoms], m.element[atoms], residue, m.resname[order],
                      np.ones(len(order), dtype=bool))  # fmt: skip
    seqid = np.array([r + 1 for r in order])
    return _aligned(_result(moved, np.zeros(len(order), int), seqid))


def _ca_of(model: AtomModel, i: int) -> np.ndarray:
    return model.xyz[(model.residue == i) & (model.atom == "CA")][0]


def test_a_residue_the_trace_stepped_over_is_put_back(sample):
    dmap, clf, model, sequence = sample
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    result = _stepped_over(model, 7)
    assert skip_sites(result, [sequence]) == [7]
    out = mend_skips(result, dmap, clf, [sequence], Symmetry.of_map(dmap))
    assert len(out) == N and out.seqid.tolist() == list(range(1, N + 1))
    assert out.trace.fragment_count == 1 and out.model.linked[1:].all()
    assert out.report["skips_mended"] == 1 and out.report["sequence_gaps"] == 0
    assert out.report["aligned_to_sequence"] == N
    built, gone = out.report["skip_residues_built"], out.report["skip_residues_replaced"]
    assert built - gone == 1
    for i in range(N):
        assert np.linalg.norm(_ca(out, i) - _ca(truth, i)) < 0.5
    assert "".join(ONE_LETTER[r] for r in out.model.resname) == sequence


def test_a_residue_between_two_true_ones_is_replaced_by_them(sample):
    """Residues 8 and 9 traced as one residue halfway between them, numbered 8, the next 10:
    the misplaced residue goes and 8 and 9 are built where they are."""
    dmap, clf, model, sequence = sample
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    result = _between(model, 7)
    assert skip_sites(result, [sequence]) == [8]
    sym = Symmetry.of_map(dmap)
    (gone, end, path, density), = plan_skips(result, dmap, [sequence], sym)  # fmt: skip
    assert (gone, end, len(path)) == (7, 6, 2) and density > 2
    out = mend_skips(result, dmap, clf, [sequence], sym)
    assert out.report["skip_residues_replaced"] == 1 and out.report["skip_residues_built"] == 2
    assert out.seqid.tolist() == list(range(1, N + 1)) and out.chain.tolist() == ["A"] * N
    for i in range(N):
        assert np.linalg.norm(_ca(out, i) - _ca(truth, i)) < 0.5


def test_skips_are_left_where_the_map_does_not_show_the_residue(sample):
    """Without sequences, or in a map with nothing there, nothing changes."""
    _, clf, model, sequence = sample
    result = _stepped_over(model, 7)
    assert skip_sites(result, []) == []
    flat = read_map(sample_paths()[0])
    flat.grid.fill(0.0)
    out = mend_skips(result, flat, clf, [sequence], Symmetry.of_map(flat))
    assert out is result and out.report["skips_mended"] == 0
    # numbered two apart but not linked (two fragments): a gap for gap_fill, not a skip
    result = _stepped_over(model, 7)
    result.trace.fragment[7:] = 1
    assert skip_sites(result, [sequence]) == []
