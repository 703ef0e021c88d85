"""Junctions the trace left unlinked: the residue of the two in weaker density left out, and
built again by the gap fill between its neighbours."""

from __future__ import annotations

import dataclasses

import gemmi
import numpy as np
import pytest
from test_gap_fill import assert_bonded_peptides
from test_joins import SYM, _chain, _moved, _result

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.classify import Classifier
from napari_densitybuild.gap_fill import fill_gaps
from napari_densitybuild.junctions import (
    REACH,
    backbone_density,
    beside,
    fillable,
    junctions,
    open_junctions,
    stuck_gaps,
    unnumbered_junctions,
)
from napari_densitybuild.maps import read_map
from napari_densitybuild.residues import ONE_LETTER
from napari_densitybuild.seq_chains import sequence_chains
from napari_densitybuild.symmetry import Symmetry

N = 20
SYM_CELL = gemmi.UnitCell(60, 50, 70, 90, 100, 90)  # test_joins.SYM's cell
#: The junction: fragment 0 ends at index 9 (number 10), fragment 1 starts at 10 (number 11).
END, START = 9, 10


@pytest.fixture(scope="module")
def sample():
    """The sample map, the shipped classifier (no test-time copies), the first 20 residues of
    the sample model's first chain and their sequence."""
    dmap = read_map(sample_paths()[0])
    model = _chain(N)
    sequence = "".join(ONE_LETTER[r] for r in model.resname)
    return dmap, Classifier.from_path(None, "cpu", tta=0), model, sequence


def _split(model, off: int | None = None, shift=(0.0, 0.0, 1.6)):
    """The chain as two fragments numbered 1-20 without a gap, aligned to sequence 0; with
    ``off``, that residue's atoms moved by ``shift`` (A): the junction's wrong residue."""
    fragment = (np.arange(N) >= START).astype(int)
    result = _result(model, fragment, np.arange(1, N + 1))
    result.record = np.zeros(N, dtype=int)
    result.report["aligned_to_sequence"] = N
    if off is not None:
        result.model.xyz[result.model.residue == off] += np.asarray(shift)
    return result


def _ca(result, i: int) -> np.ndarray:
    m = result.model
    return m.xyz[(m.residue == i) & (m.atom == "CA")][0]


@pytest.mark.parametrize("off", [START, END])
def test_the_wrong_residue_of_a_junction_is_left_out_and_built_again(sample, off):
    dmap, clf, model, sequence = sample
    sym = Symmetry.of_map(dmap)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    result = _split(model, off)
    assert junctions(result, [sequence], sym) == [(END, START)]
    rho = backbone_density(result, dmap, np.array([END, START]))
    assert (rho[0] < rho[1]) == (off == END)  # the moved residue sits in weaker density
    opened, kept = open_junctions(result, np.ones(N, bool), [sequence], sym, dmap)
    assert opened.report["junctions_opened"] == 1 and len(opened) == N - 1
    assert kept.tolist() == [i != off for i in range(N)]
    assert opened.report["aligned_to_sequence"] == N - 1
    out = fill_gaps(sequence_chains(opened, sym, [sequence]), dmap, clf, [sequence], sym)
    assert out.report["gap_residues_built"] == 1
    assert len(out) == N and out.seqid.tolist() == list(range(1, N + 1))
    assert out.trace.fragment_count == 1 and out.chain.tolist() == ["A"] * N
    assert np.linalg.norm(_ca(out, off) - _ca(truth, off)) < 0.5
    assert_bonded_peptides(out.model, END - 1, START + 1)


@pytest.mark.parametrize("off", [START, END])
def test_fragments_in_any_order(sample, off):
    """The later fragment first in the build's arrays (as builds hold them: by length, not by
    number): the wrong residue is still the one left out, and the check that the gap fill can
    build it again looks at the right neighbours."""
    dmap, clf, model, sequence = sample
    sym = Symmetry.of_map(dmap)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    split = _split(model, off)
    order = np.r_[np.arange(START, N), np.arange(START)]
    result = split.rearranged(order, (order < START).astype(int), split.chain[order],
                              split.seqid[order], split.icode[order])  # fmt: skip
    end, start = N - START + END, 0  # the two residues' indices now
    assert junctions(result, [sequence], sym) == [(end, start)]
    drop = end if off == END else start
    assert beside(result, drop, end, start) == ((end - 1, start) if off == END else (end, 1))
    opened, kept = open_junctions(result, np.ones(N, bool), [sequence], sym, dmap)
    assert opened.report["junctions_opened"] == 1 and np.flatnonzero(~kept).tolist() == [drop]
    out = fill_gaps(sequence_chains(opened, sym, [sequence]), dmap, clf, [sequence], sym)
    assert len(out) == N and sorted(out.seqid.tolist()) == list(range(1, N + 1))
    new = int(np.flatnonzero(out.seqid == off + 1)[0])
    assert np.linalg.norm(_ca(out, new) - _ca(truth, off)) < 0.5


def test_a_residue_the_gap_fill_could_not_build_again_is_kept(sample):
    """Where the map does not show the residue's place (its density erased), leaving it out
    would lose it: the junction stays as it is."""
    dmap, _, model, sequence = sample
    sym = Symmetry.of_map(dmap)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1)).model
    grid = gemmi.FloatGrid(np.array(dmap.grid, copy=True), dmap.grid.unit_cell,
                           dmap.grid.spacegroup)  # fmt: skip
    for xyz in truth.xyz[truth.residue == START]:
        grid.set_points_around(gemmi.Position(*(xyz - dmap.offset)), 2.0, -1.0)
    erased = dataclasses.replace(dmap, grid=grid)
    result = _split(model, START)
    assert beside(result, START, END, START) == (END, START + 1)
    opened = result.subset(np.arange(N) != START)  # START + 1 is now at START
    assert fillable(opened, END, START, dmap, sym)
    assert not fillable(opened, END, START, erased, sym)
    out, kept = open_junctions(result, np.ones(N, bool), [sequence], sym, erased)
    assert kept.all() and len(out) == N and out.report["junctions_opened"] == 0
    # the report counts what is kept, not the residue left out and put back
    assert out.report["residues"] == N and out.report["atoms"] == len(out.model)
    assert out.report["aligned_to_sequence"] == N


def test_the_residues_beside_are_refined_only_when_asked(sample):
    dmap, _, model, sequence = sample
    sym = Symmetry.of_map(dmap)
    result = _split(model, START)
    held, _ = open_junctions(result, np.ones(N, bool), [sequence], sym, dmap, refine=False)
    refined, _ = open_junctions(result, np.ones(N, bool), [sequence], sym, dmap)
    # the residue after the one left out (in its fragment), now at its index
    before = result.model.xyz[result.model.residue == START + 1]
    np.testing.assert_array_equal(held.model.xyz[held.model.residue == START], before)
    assert not np.allclose(refined.model.xyz[refined.model.residue == START], before)


def test_a_junction_across_a_crystal_copy_is_found(sample):
    """The later fragment on a crystal copy (the screw axis of a P 1 21 1 cell): its start is
    within reach of the end only in the copy that puts it back."""
    _, _, model, sequence = sample
    result = _split(model, START)
    _moved(result, np.arange(START, N), 1, (0, 0, 0))
    ca = result.model.xyz[result.model.atom == "CA"]
    assert np.linalg.norm(ca[START] - ca[END]) > REACH
    assert junctions(result, [sequence], SYM) == [(END, START)]
    assert junctions(result, [sequence], Symmetry.from_cell(SYM_CELL, "P 1")) == []


def test_not_junctions(sample):
    dmap, _, model, sequence = sample
    sym = Symmetry.of_map(dmap)
    # a residue missing between the two (the gap fill's own case)
    result = _split(model)
    result.seqid[START:] += 1
    assert junctions(result, [sequence], sym) == []
    # two different molecules
    result = _split(model)
    result.record[START:] = 1
    assert junctions(result, [sequence, "W" * N], sym) == []
    # ... but two records of one molecule are one
    assert junctions(result, [sequence, sequence + "A"], sym) == [(END, START)]
    # the start out of reach (moved 10 A on)
    result = _split(model)
    result.model.xyz[result.model.residue >= START] += np.array([0.0, 0.0, 10.0])
    assert junctions(result, [sequence], sym) == []
    # no fragments to join, no sequence records, unaligned residues
    assert junctions(_result(model, np.zeros(N, int), np.arange(1, N + 1)), [sequence], sym) == []
    result = _split(model)
    result.record = None
    assert junctions(result, [sequence], sym) == []
    result = _split(model)
    result.record[START] = -1
    assert junctions(result, [sequence], sym) == []
    out, kept = open_junctions(result, np.ones(N, bool), [sequence], sym, dmap)
    assert out is result and kept.all() and out.report["junctions_opened"] == 0


def test_on_by_default_with_the_gap_fill_and_off_with_it(monkeypatch):
    """``build`` opens junctions by default, only with a sequence, and not without the gap fill
    (the command line's ``--no-fill-gaps``) or with ``open_junctions=False``."""
    import inspect

    import napari_densitybuild.build as build_module
    from napari_densitybuild.cli import build_parser
    from napari_densitybuild.place import Placer
    from napari_densitybuild.sequence import read_fasta

    params = inspect.signature(build_module.build).parameters
    assert params["open_junctions"].default is True and params["open_stuck_gaps"].default is True
    args = build_parser().parse_args(["build", "m.mtz", "--out", "o.cif", "--no-fill-gaps"])
    assert args.fill_gaps is False
    map_path = sample_paths()[0]
    fasta = map_path.replace("sample_map.mtz", "sample_sequence.fasta")
    dmap = read_map(map_path)
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    sequences = [seq for _, seq in read_fasta(fasta)]
    seen = []

    def spy(result, aligned, seqs, sym, dmap, refine, stuck=False):
        seen.append((len(result), seqs, refine, stuck))
        return result, np.ones(len(result), dtype=bool)

    monkeypatch.setattr(build_module, "open_unjoined", spy)
    kw = dict(passes=1, do_refine=False)
    built = build_module.build(dmap, placer, clf, sequences, **kw)
    assert len(seen) == 1 and seen[0][1] == sequences and seen[0][2:] == (False, True)
    assert seen[0][0] >= len(built) - built.report.get("gap_residues_built", 0)
    build_module.build(dmap, placer, clf, **kw)
    build_module.build(dmap, placer, clf, sequences, fill_gaps=False, **kw)
    build_module.build(dmap, placer, clf, sequences, open_junctions=False, **kw)
    assert len(seen) == 1


def test_a_fragment_of_one_residue_is_not_left_out(sample):
    """Nothing to build the residue again from: a junction's start that is its fragment's only
    residue (followed by another fragment) stays."""
    dmap, _, model, sequence = sample
    sym = Symmetry.of_map(dmap)
    fragment = np.searchsorted([START, START + 1], np.arange(N), side="right")
    result = _result(model, fragment, np.arange(1, N + 1))
    result.record = np.zeros(N, dtype=int)
    result.model.xyz[result.model.residue == START] += np.array([0.0, 0.0, 1.6])
    assert beside(result, START, END, START) is None
    assert beside(result, END, END, START) == (END - 1, START)
    out, kept = open_junctions(result, np.ones(N, bool), [sequence], sym, dmap)
    assert kept[START] and out.report["junctions_opened"] <= 1


def test_the_build_summary_counts_the_residues_built_again():
    from types import SimpleNamespace

    from napari_densitybuild.build_result import BuildResult

    rep = {"residues": 120, "fragments": 3, "junctions_opened": 2, "seconds": {"total": 5.0}}
    line = BuildResult.summary(SimpleNamespace(report=rep))
    assert "2 residues at unjoined junctions of numbered fragments built again" in line
    rep.update(junctions_opened=0, stuck_gaps_opened=1)
    line = BuildResult.summary(SimpleNamespace(report=rep))
    assert "junctions" not in line
    assert "1 end of one-residue gaps the fill could not bridge built again" in line


def _gapped(model, off: int | None = None, shift=(0.0, 0.0, -2.5)):
    """The chain as two fragments with residue START (number 11) missing between them, aligned
    to sequence 0; with ``off`` (an index of the gapped result), that residue moved."""
    result = _result(model, (np.arange(N) >= START).astype(int), np.arange(1, N + 1))
    result = result.subset(np.arange(N) != START)
    result.record = np.zeros(N - 1, dtype=int)
    if off is not None:
        result.model.xyz[result.model.residue == off] += np.asarray(shift)
    return result


@pytest.mark.parametrize("off", [START, END])  # the start after the gap, or the end before it
def test_a_one_residue_gap_the_fill_cannot_bridge_is_opened_and_built(sample, off):
    dmap, clf, model, sequence = sample
    sym = Symmetry.of_map(dmap)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    # as it stands: no path for the one missing residue
    assert stuck_gaps(_gapped(model), [sequence], sym, dmap) == []  # both ends right: the
    result = _gapped(model, off)  # fill builds it as it is
    assert stuck_gaps(result, [sequence], sym, dmap) == [(END, START)]
    assert junctions(result, [sequence], sym) == []
    held, kept = open_junctions(result, np.ones(N - 1, bool), [sequence], sym, dmap)
    assert kept.all() and held.report["junctions_opened"] == 0  # only with ``stuck``
    opened, kept = open_junctions(result, np.ones(N - 1, bool), [sequence], sym, dmap, stuck=True)
    assert opened.report["stuck_gaps_opened"] == 1 and np.flatnonzero(~kept).tolist() == [off]
    out = fill_gaps(sequence_chains(opened, sym, [sequence]), dmap, clf, [sequence], sym)
    assert out.report["gap_residues_built"] == 2
    assert len(out) == N and out.seqid.tolist() == list(range(1, N + 1))
    moved = off + (off == START)  # its index in the full chain
    for i in sorted({START, moved}):
        assert np.linalg.norm(_ca(out, i) - _ca(truth, i)) < 0.5
    assert_bonded_peptides(out.model, END - 1, START + 2)


@pytest.mark.parametrize("off", [START, END])
def test_without_a_sequence_a_junction_a_peptide_apart_is_built_again_by_the_link_step(sample, off):
    """No numbers: the end and the nearest start a peptide's length away, unjoined (one of
    them moved 1 A), are neighbours; the moved one is left out and the link step builds it."""
    from napari_densitybuild.links import link_fragments

    dmap, clf, model, _ = sample
    sym = Symmetry.of_map(dmap)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    result = _split(model, off, (0.0, 0.0, 1.0))
    result.record = None
    assert unnumbered_junctions(result, sym) == [(END, START)]
    opened, kept = open_junctions(result, np.zeros(N, bool), None, sym, dmap)
    assert np.flatnonzero(~kept).tolist() == [off] and opened.report["junctions_opened"] == 1
    linked = link_fragments(opened, dmap, clf, sym)
    assert len(linked) == N and linked.trace.fragment_count == 1
    assert np.linalg.norm(_ca(linked, off) - _ca(truth, off)) < 0.5


def test_unnumbered_junctions_are_a_peptide_apart_and_each_start_once(sample):
    dmap, _, model, _ = sample
    sym = Symmetry.of_map(dmap)
    result = _split(model)
    result.model.xyz[result.model.residue >= START] += np.array([0.0, 0.0, 3.0])
    assert unnumbered_junctions(result, sym) == []  # C-alphas over 4.3 A apart
    # three fragments: the two ends before 10 and 15 both near one start? each start once
    fragment = np.searchsorted([START, START + 5], np.arange(N), side="right")
    result = _result(model, fragment, np.arange(1, N + 1))
    pairs = unnumbered_junctions(result, sym)
    assert pairs == [(END, START), (START + 4, START + 5)]
    assert len({s for _, s in pairs}) == len(pairs)
    assert unnumbered_junctions(_result(model, np.zeros(N, int), np.arange(1, N + 1)), sym) == []
