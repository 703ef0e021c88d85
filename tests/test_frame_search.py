"""Frames searched again for residues whose sequence type the classifier doubts."""

from __future__ import annotations

import numpy as np
from conftest import assert_build_step_on_everywhere
from scipy.spatial.transform import Rotation

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.build_result import backbone_of
from napari_densitybuild.classify import Classifier
from napari_densitybuild.frame_search import candidate_rotations, refit_doubted, search_frames
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import atom_model
from napari_densitybuild.residues import AMINO_ACIDS


def _sample():
    st = read_structure(sample_paths()[1])
    model = atom_model(st)
    return read_map(sample_paths()[0]), model


def test_candidates_start_with_the_frame_as_given():
    rots = candidate_rotations()
    assert np.allclose(rots[0], np.eye(3)) and len(rots) == 1 + 13 * 7
    assert np.allclose(np.einsum("kij,kil->kjl", rots, rots), np.eye(3), atol=1e-9)


def test_a_turned_frame_is_found_again():
    """N and C turned 60 degrees about the C-alpha: the search finds a frame near the true one
    in which the residue's type is much more probable than in the turned one."""
    dmap, model = _sample()
    clf = Classifier.from_path(None, "cpu", tta=0)
    n, ca, c = backbone_of(model)
    types = np.array([AMINO_ACIDS.index(str(r)) for r in model.resname])
    idx = np.array([i for i in range(5, len(types) - 5) if AMINO_ACIDS[types[i]] in
                    ("TRP", "PHE", "TYR", "LEU", "ARG", "LYS", "ILE", "MET")][:4])  # fmt: skip
    turn = Rotation.from_rotvec(np.radians(60) * np.array([1.0, 1.0, 0.0]) / np.sqrt(2))
    tn = ca[idx] + turn.apply(n[idx] - ca[idx])
    tc = ca[idx] + turn.apply(c[idx] - ca[idx])
    _, rot_best, p_best, p_turned = search_frames(dmap, clf, tn, ca[idx], tc, types[idx])
    cen_true, rot_true = clf.frames(n[idx], ca[idx], c[idx])
    p_true = clf.classify_frames(dmap, cen_true, rot_true)[np.arange(len(idx)), types[idx]]
    assert (p_best > p_turned + 0.3).all() and (p_best >= p_true - 1e-6).all()
    off = Rotation.from_matrix(np.einsum("rji,rjk->rik", rot_true, rot_best)).magnitude()
    assert (np.degrees(off) < 35).sum() >= 3  # one may find another frame just as convincing


def _turned_and_doubted():
    """The sample with its first PHE, TYR or LEU after residue 10 turned 90 degrees about its
    C-alpha, and probabilities that trust every type but that one's: the map, the model, the
    classifier, the types, the residue, the true coordinates and the probabilities."""
    dmap, model = _sample()
    clf = Classifier.from_path(None, "cpu", tta=0)
    types = np.array([AMINO_ACIDS.index(str(r)) for r in model.resname])
    true = model.xyz.copy()
    i = next(k for k in range(10, len(types)) if AMINO_ACIDS[types[k]] in ("PHE", "TYR", "LEU"))
    atoms = model.residue == i
    ca = model.xyz[atoms & (model.atom == "CA")][0]
    turn = Rotation.from_rotvec(np.radians(90) * np.array([0.0, 0.0, 1.0]))
    model.xyz[atoms] = ca + turn.apply(model.xyz[atoms] - ca)
    probs = np.eye(20)[types] * 0.9 + 0.005
    probs[i] = 0.05  # the classifier doubts the sequence's type here
    return dmap, model, clf, types, i, true, probs


def test_refit_moves_a_doubted_residue_back_and_leaves_the_rest():
    """A residue built in a turned frame (as a wrong trace step leaves it) and typed by the
    sequence against the classifier's doubt is posed in the frame found again: its atoms come
    back near the true ones; residues not doubted or not next to it do not move."""
    dmap, model, clf, types, i, true, probs = _turned_and_doubted()
    atoms = model.residue == i
    from_sequence = np.ones(len(types), dtype=bool)
    fragment = np.zeros(len(types), dtype=int)
    before = np.sqrt(((model.xyz[atoms] - true[atoms]) ** 2).sum(1).mean())
    held = ~np.isin(model.residue, [i - 1, i, i + 1])
    kept = model.xyz[held].copy()
    assert refit_doubted(model, dmap, clf, types, probs, from_sequence, fragment) == 1
    after = np.sqrt(((model.xyz[atoms] - true[atoms]) ** 2).sum(1).mean())
    assert before > 1.5 and after < 0.6
    np.testing.assert_array_equal(model.xyz[held], kept)
    probs[i] = np.eye(20)[types[i]] * 0.9 + 0.005  # not doubted: nothing searched
    assert refit_doubted(model, dmap, clf, types, probs, from_sequence, fragment) == 0


def test_refit_can_hold_the_neighbours_c_alphas():
    """With ``hold_ca`` (Apply sequence), the neighbours refined with the turned residue keep
    their C-alphas exactly; the residue's own comes from its new pose, near where it was."""
    dmap, model, clf, types, i, true, probs = _turned_and_doubted()
    atoms = model.residue == i
    ca_i = true[atoms & (model.atom == "CA")][0]
    ones = np.ones(len(types), dtype=bool)
    near_ca = np.isin(model.residue, [i - 1, i + 1]) & (model.atom == "CA")
    kept = model.xyz[near_ca].copy()
    assert refit_doubted(model, dmap, clf, types, probs, ones, np.zeros(len(types), int),
                         hold_ca=True) == 1  # fmt: skip
    np.testing.assert_array_equal(model.xyz[near_ca], kept)
    assert np.linalg.norm(model.xyz[atoms & (model.atom == "CA")][0] - ca_i) < 0.3


def test_frame_search_is_on_by_default_and_can_be_turned_off_everywhere():
    from napari_densitybuild.settings import DEFAULT_FRAME_SEARCH

    assert DEFAULT_FRAME_SEARCH
    assert_build_step_on_everywhere("frame_search")


def test_build_searches_frames_only_with_a_sequence_unless_told_not_to(monkeypatch):
    import napari_densitybuild.build as build_module
    from napari_densitybuild.place import Placer
    from napari_densitybuild.sequence import read_fasta

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    calls, real_refine = [], build_module.refine

    def spy(model, dmap, classifier, types, probs, from_sequence, fragment):
        calls.append(int(from_sequence.sum()))
        return 0

    def quick(model, *args, **kwargs):
        return real_refine(model, *args, **{**kwargs, "rounds": 1, "iterations": 2})

    monkeypatch.setattr(build_module, "refit_doubted", spy)
    monkeypatch.setattr(build_module, "refine", quick)
    fasta = sample_paths()[0].replace("sample_map.mtz", "sample_sequence.fasta")
    seqs = [s for _, s in read_fasta(fasta)]
    out = build_module.build(dmap, placer, clf, seqs, passes=1)  # on by default
    rep = out.report  # searched before a stray end went and a gap was filled
    aligned = rep["aligned_to_sequence"] + rep["stray_ends_left_out"] - rep["gap_residues_built"]
    assert len(calls) == 1 and calls[0] == aligned > 0
    assert out.report["frames_searched_again"] == 0
    build_module.build(dmap, placer, clf, seqs, passes=1, frame_search=False)
    build_module.build(dmap, placer, clf, passes=1)  # no sequence
    assert len(calls) == 1


def test_only_frames_that_can_make_peptides_are_candidates():
    """A frame is a candidate only where its N lies about 2.43 A from the previous C-alpha and
    its C as far from the next one; without a neighbour, anything goes."""
    from napari_densitybuild.frame_search import PEPTIDE_REACH, peptide_feasible

    near = np.array([[0.0, 0.0, 0.0], [np.nan] * 3])
    ends = np.zeros((2, 3, 3))
    ends[:, :, 0] = [PEPTIDE_REACH, PEPTIDE_REACH + 0.4, PEPTIDE_REACH - 0.7]
    np.testing.assert_array_equal(peptide_feasible(ends, near), [[1, 1, 0], [1, 1, 1]])

    dmap, model = _sample()
    clf = Classifier.from_path(None, "cpu", tta=0)
    n, ca, c = backbone_of(model)
    types = np.array([AMINO_ACIDS.index(str(r)) for r in model.resname])
    idx = np.arange(5, 9)
    args = (dmap, clf, n[idx], ca[idx], c[idx], types[idx])
    free = search_frames(*args)
    # neighbours placed where no turned N or C can reach them: only the frame as given is left
    far = ca[idx] + 20.0
    held = search_frames(*args, far, far)
    np.testing.assert_allclose(held[1], clf.frames(n[idx], ca[idx], c[idx])[1], atol=1e-6)
    np.testing.assert_allclose(held[2], held[3])
    np.testing.assert_allclose(free[3], held[3], atol=1e-6)
    # the true neighbours leave the true frame (and the best among those near it) in play
    real = search_frames(*args, ca[idx - 1], ca[idx + 1])
    assert (real[2] >= real[3] - 1e-6).all() and (real[2] <= free[2] + 1e-6).all()


def test_short_side_chains_are_not_searched():
    """A doubted VAL is left in its frame (too little side chain to judge frames by)."""
    from napari_densitybuild.frame_search import NOT_SEARCHED

    dmap, model = _sample()
    clf = Classifier.from_path(None, "cpu", tta=0)
    types = np.array([AMINO_ACIDS.index(str(r)) for r in model.resname])
    short = np.isin(types, [AMINO_ACIDS.index(t) for t in NOT_SEARCHED])
    i = int(np.flatnonzero(short)[3])
    atoms = model.residue == i
    ca = model.xyz[atoms & (model.atom == "CA")][0]
    turn = Rotation.from_rotvec(np.radians(90) * np.array([0.0, 0.0, 1.0]))
    model.xyz[atoms] = ca + turn.apply(model.xyz[atoms] - ca)
    before = model.xyz.copy()
    probs = np.eye(20)[types] * 0.9 + 0.005
    probs[i] = 0.05
    ones = np.ones(len(types), dtype=bool)
    assert refit_doubted(model, dmap, clf, types, probs, ones, np.zeros(len(types), int)) == 0
    np.testing.assert_array_equal(model.xyz, before)


def test_only_trusted_neighbours_constrain_the_frames():
    """A neighbour whose own type the classifier doubts may be misplaced: its C-alpha does not
    rule frames out; a fragment's ends have no neighbour there either."""
    from napari_densitybuild.frame_search import _neighbour_ca

    ca = np.arange(15.0).reshape(5, 3)
    fragment = np.array([0, 0, 0, 1, 1])
    trusted = np.array([True, False, True, True, True])
    idx = np.array([0, 2, 3])
    prev = _neighbour_ca(ca, fragment, idx, -1, trusted)
    nxt = _neighbour_ca(ca, fragment, idx, 1, trusted)
    assert np.isnan(prev[0]).all() and np.isnan(prev[1]).all() and np.isnan(prev[2]).all()
    assert np.isnan(nxt[0]).all()  # residue 1 is not trusted
    assert np.isnan(nxt[1]).all()  # residue 2 ends its fragment
    np.testing.assert_array_equal(nxt[2], ca[4])
