"""Fragment ends that strayed past a chain break onto another fragment's sequence position:
the less confident goes, the rest stays."""

from __future__ import annotations

import numpy as np
from test_joins import SYM, _chain, _moved, _result

from napari_densitybuild.refine import AtomModel
from napari_densitybuild.stray_ends import stray_ends, without_stray_ends
from napari_densitybuild.symmetry import Symmetry

OFF = np.array([0.0, 6.0, 0.0])  # a stray residue: a copy of a chain residue, 6 A off


def _with_stray(model: AtomModel, after: int, copy_of: int) -> AtomModel:
    """``model`` with a copy of residue ``copy_of``, moved by :data:`OFF`, after ``after``."""
    order = np.r_[np.arange(after + 1), copy_of, np.arange(after + 1, len(model.resname))]
    atoms = np.concatenate([np.flatnonzero(model.residue == r) for r in order])
    xyz = model.xyz[atoms].copy()
    sizes = [np.count_nonzero(model.residue == r) for r in order]
    residue = np.repeat(np.arange(len(order)), sizes)
    xyz[residue == after + 1] += OFF
    return AtomModel(xyz, model.atom[atoms], model.element[atoms], residue,
                     model.resname[order], np.ones(len(order), dtype=bool))  # fmt: skip


def _split(stray_ends_first: bool, stray_confidence: float = 30.0):
    """The sample's first 12 residues as two fragments numbered 1-7 and 8-12, with a stray
    residue that takes the number of the other fragment's first or last residue: at the end of
    the first fragment (a copy of residue 8) or at the start of the second (of residue 7)."""
    chain = _chain(12)
    if stray_ends_first:
        model = _with_stray(chain, after=6, copy_of=7)
        fragment, seqid = np.array([0] * 8 + [1] * 5), np.r_[1:9, 8:13]
    else:
        model = _with_stray(chain, after=6, copy_of=6)
        fragment, seqid = np.array([0] * 7 + [1] * 6), np.r_[1:8, 7:13]
    result = _result(model, fragment, seqid)
    result.confidence[7] = stray_confidence
    return result, chain.xyz.copy()


def test_the_weaker_of_two_ends_on_one_sequence_position_goes():
    for stray_ends_first in (True, False):
        result, truth = _split(stray_ends_first)
        aligned = np.ones(len(result), dtype=bool)
        assert np.flatnonzero(stray_ends(result, aligned, Symmetry.none())).tolist() == [7]
        out, kept = without_stray_ends(result, aligned, Symmetry.none())
        assert kept.tolist() == [True] * 7 + [False] + [True] * 5
        assert out.report["stray_ends_left_out"] == 1 and out.report["residues"] == 12
        assert out.report["aligned_to_sequence"] == 12 and out.report["fragments"] == 2
        assert out.seqid.tolist() == list(range(1, 13)) and out.trace.fragment_count == 2
        np.testing.assert_allclose(out.model.xyz, truth, atol=1e-9)


def test_ends_in_different_crystal_images_are_compared_across_the_contact():
    result, _ = _split(stray_ends_first=False)
    _moved(result, np.arange(7, 13), 1, (0, 1, 0))
    aligned = np.ones(len(result), dtype=bool)
    assert not stray_ends(result, aligned, Symmetry.none()).any()  # apart in this image
    assert np.flatnonzero(stray_ends(result, aligned, SYM)).tolist() == [7]


def test_ends_that_only_look_alike_are_left_as_they_are():
    aligned = np.ones(13, dtype=bool)
    result, _ = _split(stray_ends_first=True)
    # not aligned to the sequence: numbers 1, 2, ... share nothing
    assert not stray_ends(result, np.r_[aligned[:7], False, aligned[8:]], Symmetry.none()).any()
    # another type
    result.types[7] = (result.types[8] + 1) % 20
    assert not stray_ends(result, aligned, Symmetry.none()).any()
    # the gap left would be too wide for a peptide: the second fragment 2 A further away
    result, _ = _split(stray_ends_first=True)
    ca = result.model.xyz[result.model.atom == "CA"]
    away = (ca[8] - ca[6]) / np.linalg.norm(ca[8] - ca[6])
    result.model.xyz[result.model.residue >= 8] += 2.0 * away
    assert np.linalg.norm(ca[8] + 2.0 * away - ca[6]) > 5.5
    out, kept = without_stray_ends(result, aligned, Symmetry.none())
    assert len(out) == 13 and kept.all() and out.report["stray_ends_left_out"] == 0


def test_build_leaves_stray_ends_out_with_the_sequence_positions_or_by_geometry(monkeypatch):
    """``build`` hands its result and the aligned mask to :func:`without_stray_ends` where a
    sequence is given; ``stray_ends=False`` or ``trim_links=False`` skips it."""
    import napari_densitybuild.build as build_module
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer
    from napari_densitybuild.sequence import read_fasta

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    calls, real = [], build_module.without_stray_ends

    def spy(result, aligned, sym, dmap=None):
        calls.append(int(aligned.sum()))
        assert dmap is None  # an unrefined build refines nothing again
        return real(result, aligned, sym, dmap)

    monkeypatch.setattr(build_module, "without_stray_ends", spy)
    out = build_module.build(dmap, placer, clf, passes=1, do_refine=False)
    assert calls == [] and "stray_ends_left_out" not in out.report  # no sequence
    fasta = sample_paths()[0].replace("sample_map.mtz", "sample_sequence.fasta")
    seqs = [s for _, s in read_fasta(fasta)]
    out = build_module.build(dmap, placer, clf, seqs, passes=1, do_refine=False)
    rep = out.report  # unrefined, one fragment end of the sample strays (3.7 A off the chain)
    aligned = rep["aligned_to_sequence"] + rep["stray_ends_left_out"] - rep["gap_residues_built"]
    assert calls[0] == aligned > 0  # before a gap was filled
    assert rep["stray_ends_left_out"] == 1
    build_module.build(dmap, placer, clf, seqs, passes=1, do_refine=False, stray_ends=False)
    build_module.build(dmap, placer, clf, seqs, passes=1, do_refine=False, trim_links=False)
    assert len(calls) == 1


def test_given_the_map_the_residues_beside_a_stray_end_are_refined_again_the_rest_held():
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.maps import read_map

    dmap = read_map(sample_paths()[0])
    result, truth = _split(stray_ends_first=False)  # the stray residue starts fragment 2
    aligned = np.ones(len(result), dtype=bool)
    out, kept = without_stray_ends(result, aligned, Symmetry.none(), dmap)
    assert kept.tolist() == [True] * 7 + [False] + [True] * 5
    beside = out.model.residue == 7  # the new start, once after the stray residue
    np.testing.assert_array_equal(out.model.xyz[~beside], truth[~beside])  # held
    moved = np.linalg.norm(out.model.xyz[beside] - truth[beside], axis=1)
    assert moved.max() > 0 and moved.max() < 1.0  # refined, and still where the map puts them
