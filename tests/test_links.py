"""Fragments linked through the density without a sequence: through the residues
the map shows missing, on the crystal copy that continues the chain; never in a circle."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_build_step_on_everywhere
from test_gap_fill import N, _ca, assert_bonded_peptides
from test_joins import SYM, _chain, _moved, _result

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.classify import Classifier
from napari_densitybuild.links import _accepted, _candidates, link_fragments
from napari_densitybuild.maps import read_map
from napari_densitybuild.symmetry import Symmetry


@pytest.fixture(scope="module")
def sample():
    dmap = read_map(sample_paths()[0])
    return dmap, Classifier.from_path(None, "cpu", tta=0), _chain(N)


def _pieces(model, missing: list[int]):
    """A build without a sequence: ``model`` cut into two fragments (chains A and B, each
    numbered from 1) at the ``missing`` residues (indices), which are left out."""
    keep = np.ones(N, dtype=bool)
    keep[missing] = False
    fragment = np.where(np.arange(N) < missing[0], 0, 1)
    result = _result(model, fragment, np.arange(1, N + 1)).subset(keep)
    result.seqid = np.r_[1 : missing[0] + 1, 1 : N - missing[-1]]
    return result


@pytest.mark.parametrize("missing", [[7], [7, 8]])
def test_residues_between_two_fragments_are_built_and_the_chain_numbered_again(sample, missing):
    dmap, clf, model = sample
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    out = link_fragments(_pieces(model, missing), dmap, clf, Symmetry.of_map(dmap))
    assert out.report["fragments_linked"] == 1
    assert out.report["link_residues_built"] == len(missing)  # the map chose the count
    assert len(out) == N and out.trace.fragment_count == 1 and out.model.linked[1:].all()
    assert out.chain.tolist() == ["A"] * N and out.seqid.tolist() == list(range(1, N + 1))
    assert out.report["fragments"] == 1 and "1 fragment linked" in out.summary()
    for i in range(N):
        assert np.linalg.norm(_ca(out, i) - _ca(truth, i)) < 0.5
    assert_bonded_peptides(out.model, missing[0] - 1, missing[-1] + 1)


def test_a_fragment_on_a_crystal_copy_is_linked_on_the_copy_that_continues_the_chain(sample):
    """Residue 8 missing and the second fragment on a crystal copy (a 2-fold screw and one cell
    along b): linked through one new residue on the original copy, its atoms back where they
    were; fragments a peptide's length apart are left to the build's joins."""
    dmap, clf, model = sample
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    result = _pieces(model, [7])
    _moved(result, np.arange(7, N - 1), 1, (0, 1, 0))
    assert np.linalg.norm(result.trace.ca[7] - result.trace.ca[6]) > 15
    assert link_fragments(result, dmap, clf, Symmetry.none()).report["fragments_linked"] == 0
    out = link_fragments(result, dmap, clf, SYM)
    assert out.report["fragments_linked"] == 1 and out.report["link_residues_built"] == 1
    assert out.trace.fragment_count == 1 and out.seqid.tolist() == list(range(1, N + 1))
    for i in [*range(4), *range(11, N)]:  # outside the refined stretch: as deposited
        np.testing.assert_allclose(_ca(out, i), _ca(truth, i), atol=1e-9)
    assert np.linalg.norm(_ca(out, 7) - _ca(truth, 7)) < 0.5
    joined = _result(model, np.array([0] * 7 + [1] * 13), np.r_[1:8, 1:14])
    assert link_fragments(joined, dmap, clf, SYM).report["fragments_linked"] == 0


def test_links_never_close_a_circle_and_use_each_end_and_start_once():
    path = np.zeros((0, 3))
    cands = [((0, 0.0), 0, 1, 0, 0, path), ((0, 0.0), 1, 0, 0, 0, path),  # 1 -> 0: a circle
             ((1, -3.0), 2, 1, 0, 0, path),  # start 1 taken
             ((1, -2.5), 1, 2, 0, 0, path), ((1, -2.0), 3, 2, 0, 0, path)]  # fmt: skip
    got = _accepted(cands, 4)
    assert {f: v[0] for f, v in got.items()} == {0: 1, 1: 2}


def test_nothing_links_where_the_map_does_not_show_the_chain(sample):
    _, clf, model = sample
    flat = read_map(sample_paths()[0])
    flat.grid.fill(0.0)
    result = _pieces(model, [7, 8])
    out = link_fragments(result, flat, clf, Symmetry.of_map(flat))
    assert out is result and out.report["fragments_linked"] == 0


def test_build_links_fragments_only_without_a_sequence_when_asked(monkeypatch):
    import napari_densitybuild.build as build_module
    from napari_densitybuild.place import Placer
    from napari_densitybuild.sequence import read_fasta

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    calls = []

    def spy(result, *args):
        calls.append(result.record is None)
        return result

    monkeypatch.setattr(build_module, "link_fragments", spy)
    fasta = sample_paths()[0].replace("sample_map.mtz", "sample_sequence.fasta")
    seqs = [s for _, s in read_fasta(fasta)]
    build_module.build(dmap, placer, clf, seqs, passes=1, do_refine=False, link=True)
    build_module.build(dmap, placer, clf, passes=1, do_refine=False, link=False)
    assert calls == []
    build_module.build(dmap, placer, clf, passes=1, do_refine=False, link=True)
    assert calls == [True]


def test_linking_is_on_by_default_and_can_be_turned_off_everywhere():
    from napari_densitybuild.settings import DEFAULT_LINK

    assert DEFAULT_LINK
    assert_build_step_on_everywhere("link")


def test_links_take_no_cis_step_into_a_start_called_a_proline(sample, monkeypatch):
    """Without a sequence a fragment's first residue may be a stray one the classifier calls a
    proline: links keep to trans steps there, where the gap filling (its proline from the
    sequence) would take the cis step."""
    from napari_densitybuild import gap_paths
    from napari_densitybuild.gap_fill import link_path
    from napari_densitybuild.residues import AMINO_ACIDS

    dmap, _, model = sample
    pieces = _pieces(model, [7])
    pieces.types = pieces.types.copy()
    pieces.types[7] = AMINO_ACIDS.index("PRO")
    monkeypatch.setattr(gap_paths, "CIS_MARGIN", -9.0)  # any cis path wins
    sym = Symmetry.of_map(dmap)
    cis = link_path(pieces, 6, 7, [1, 2], dmap, sym)
    assert cis is not None
    assert np.linalg.norm(cis[0][-1] - _ca(pieces, 7)) == pytest.approx(gap_paths.CIS_STEP)
    (cand,) = _candidates(pieces, dmap, sym)
    assert np.linalg.norm(cand[-1][-1] - _ca(pieces, 7)) == pytest.approx(gap_paths.STEP)
