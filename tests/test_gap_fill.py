"""The one or two residues a sequence shows missing between fragments of one chain, built into
the density where the map shows them, and nowhere else."""

from __future__ import annotations

import dataclasses

import gemmi
import numpy as np
import pytest
from conftest import assert_build_step_on_everywhere
from test_joins import _chain, _result

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.classify import Classifier
from napari_densitybuild.gap_fill import fill_gaps, gap_sites
from napari_densitybuild.maps import read_map
from napari_densitybuild.residues import AMINO_ACIDS, ONE_LETTER
from napari_densitybuild.symmetry import Symmetry

N = 20


@pytest.fixture(scope="module")
def sample():
    """The sample map, the shipped classifier (no test-time copies) and the first 20 residues
    of the sample model's first chain."""
    dmap = read_map(sample_paths()[0])
    return dmap, Classifier.from_path(None, "cpu", tta=0), _chain(N)


def _without(model, missing: list[int], record: int = 0):
    """A build of ``model`` with the residues ``missing`` (indices) deleted: two fragments of
    chain A, numbered 1-20 with the gap, aligned to sequence ``record``."""
    fragment = np.where(np.arange(N) < missing[0], 0, 1)
    keep = np.ones(N, dtype=bool)
    keep[missing] = False
    result = _result(model, fragment, np.arange(1, N + 1)).subset(keep)
    result.chain[:] = "A"
    result.record = np.full(len(result), record)
    result.report["aligned_to_sequence"] = len(result)
    return result


def assert_bonded_peptides(m, first: int, last: int) -> None:
    """Every peptide from residue ``first`` to ``last`` (indices) has a bonded C-N."""
    for i in range(first, last):
        c = m.xyz[(m.residue == i) & (m.atom == "C")][0]
        n = m.xyz[(m.residue == i + 1) & (m.atom == "N")][0]
        assert 1.2 < np.linalg.norm(c - n) < 1.5


def _ca(result, i: int) -> np.ndarray:
    m = result.model
    return m.xyz[(m.residue == i) & (m.atom == "CA")][0]


@pytest.mark.parametrize("missing", [[7], [7, 8], [12]])
def test_missing_residues_are_built_where_they_were_typed_by_the_sequence(sample, missing):
    dmap, clf, model = sample
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    sequence = "".join(ONE_LETTER[r] for r in model.resname)
    # the sequence names a type the classifier would not choose at the first missing residue
    other = "W" if sequence[missing[0]] != "W" else "Y"
    sequence = sequence[: missing[0]] + other + sequence[missing[0] + 1 :]
    result = _without(model, missing)
    assert gap_sites(result) == [(missing[0] - 1, missing[0], len(missing))]
    out = fill_gaps(result, dmap, clf, [sequence], Symmetry.of_map(dmap))
    assert len(out) == N and out.seqid.tolist() == list(range(1, N + 1))
    assert out.trace.fragment_count == 1 and out.model.linked[1:].all()
    assert out.chain.tolist() == ["A"] * N and out.record.tolist() == [0] * N
    assert out.report["gaps_filled"] == 1 and out.report["gap_residues_built"] == len(missing)
    assert out.report["aligned_to_sequence"] == N and out.report["fragments"] == 1
    assert f"{len(missing)} residue" in out.summary() and "built into 1 gap" in out.summary()
    for i in missing:
        assert np.linalg.norm(_ca(out, i) - _ca(truth, i)) < 0.5
        want = other if i == missing[0] else sequence[i]
        assert ONE_LETTER[AMINO_ACIDS[out.types[i]]] == want
        assert out.model.resname[i] == AMINO_ACIDS[out.types[i]]
        names = out.model.atom[out.model.residue == i].tolist()
        assert names[:4] == ["N", "CA", "C", "O"] and 0 <= out.confidence[i] <= 100
    # the residues that were there keep their atoms but for the refined stretch around the gap
    far = [i for i in range(N) if abs(i - missing[0]) > 4]
    for i in far:
        np.testing.assert_allclose(_ca(out, i), _ca(truth, i), atol=1e-9)
    assert_bonded_peptides(out.model, missing[0] - 1, missing[-1] + 1)


def test_gaps_of_one_and_two_residues_in_one_chain_are_all_filled(sample):
    """Three gaps (1, 2 and 1 missing residues): each later path keeps clear of the C-alphas
    the earlier ones added, whatever their lengths."""
    dmap, clf, model = sample
    sequence = "".join(ONE_LETTER[r] for r in model.resname)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    missing = [4, 9, 10, 15]
    keep = ~np.isin(np.arange(N), missing)
    fragment = np.searchsorted([4, 9, 15], np.arange(N), side="right")
    result = _result(model, fragment, np.arange(1, N + 1)).subset(keep)
    result.chain[:] = "A"
    result.record = np.zeros(len(result), dtype=int)
    result.report["aligned_to_sequence"] = len(result)
    assert [m for _, _, m in gap_sites(result)] == [1, 2, 1]
    out = fill_gaps(result, dmap, clf, [sequence], Symmetry.of_map(dmap))
    assert out.report["gaps_filled"] == 3 and out.report["gap_residues_built"] == 4
    assert len(out) == N and out.seqid.tolist() == list(range(1, N + 1))
    for i in missing:
        assert np.linalg.norm(_ca(out, i) - _ca(truth, i)) < 0.5


def test_nothing_is_built_where_the_map_or_the_numbers_do_not_show_the_residue(sample):
    dmap, clf, model = sample
    sequence = "".join(ONE_LETTER[r] for r in model.resname)
    sym = Symmetry.of_map(dmap)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    # the density of the missing residue erased
    grid = gemmi.FloatGrid(np.array(dmap.grid, copy=True), dmap.grid.unit_cell,
                           dmap.grid.spacegroup)  # fmt: skip
    m = truth.model
    for xyz in m.xyz[m.residue == 7]:
        grid.set_points_around(gemmi.Position(*(xyz - dmap.offset)), 2.0, -1.0)
    erased = dataclasses.replace(dmap, grid=grid)
    out = fill_gaps(_without(model, [7]), erased, clf, [sequence], sym)
    assert len(out) == N - 1 and out.report["gaps_filled"] == 0
    # numbers with room for one residue where two are missing (the C-alphas too far apart)
    result = _without(model, [7, 8])
    result.seqid[7:] -= 1
    assert gap_sites(result) == [(6, 7, 1)]
    out = fill_gaps(result, dmap, clf, [sequence], sym)
    assert out is result and out.report["gap_residues_built"] == 0


def test_only_gaps_of_one_chain_and_one_sequence_up_to_two_residues_are_sites(sample):
    _, _, model = sample
    assert gap_sites(_without(model, [7, 8, 9])) == []  # three missing
    result = _without(model, [7])
    result.chain[7:] = "B"
    assert gap_sites(result) == []  # two chains
    result = _without(model, [7])
    result.record[7:] = 1
    assert gap_sites(result) == []  # two sequences
    # two FASTA records of one molecule (one with two residues more at its end): one sequence
    sequence = "".join(ONE_LETTER[r] for r in model.resname)
    assert gap_sites(result, [sequence, sequence + "GS"]) == [(6, 7, 1)]
    assert gap_sites(result, [sequence, "M" + sequence]) == []
    result = _without(model, [7])
    result.record = None
    assert gap_sites(result) == []  # built without a sequence


def test_build_fills_gaps_only_with_a_sequence_unless_told_not_to(monkeypatch):
    """``build`` hands its result to :func:`fill_gaps` after the chain step where a sequence is
    given and ``fill_gaps`` is on; not without a sequence or with it off."""
    import napari_densitybuild.build as build_module
    from napari_densitybuild.place import Placer
    from napari_densitybuild.sequence import read_fasta

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    calls = []

    def spy(result, *args):
        calls.append("chains" in result.report)
        return result

    monkeypatch.setattr(build_module, "fill_sequence_gaps", spy)
    build_module.build(dmap, placer, clf, passes=1, do_refine=False, fill_gaps=True)
    assert calls == []
    fasta = sample_paths()[0].replace("sample_map.mtz", "sample_sequence.fasta")
    seqs = [s for _, s in read_fasta(fasta)]
    build_module.build(dmap, placer, clf, seqs, passes=1, do_refine=False, fill_gaps=False)
    assert calls == []
    build_module.build(dmap, placer, clf, seqs, passes=1, do_refine=False, fill_gaps=True)
    assert calls == [True]


def test_gap_filling_is_on_by_default_and_can_be_turned_off_everywhere(monkeypatch, tmp_path):
    from napari_densitybuild import build as build_module
    from napari_densitybuild.batch import build_one
    from napari_densitybuild.errors import DensityBuildError
    from napari_densitybuild.settings import DEFAULT_FILL_GAPS

    assert DEFAULT_FILL_GAPS
    assert_build_step_on_everywhere("fill_gaps")
    # the batch runner hands the switches (this one and links without a sequence) to build()
    seen = []

    def spy(*args, **kwargs):
        seen.append((kwargs["fill_gaps"], kwargs["link"]))
        raise DensityBuildError("stop here")

    monkeypatch.setattr(build_module, "build", spy)
    for options in ({}, {"fill_gaps": False, "link": False}):
        row = build_one(sample_paths()[0], str(tmp_path), options)
        assert "stop here" in row["error"]
    assert seen == [(True, True), (False, False)]
