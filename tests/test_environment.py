"""H-bond evidence for ASP/ASN, GLU/GLN and VAL/THR: features, the fitted table, rescoring."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest

from napari_densitybuild.environment import (
    FEATURES,
    PAIRS,
    environment_table,
    kind_of,
    log_likelihood_ratio,
    model_from_poses,
    pair_features,
    rescore,
)
from napari_densitybuild.hbonds import symmetry_mates
from napari_densitybuild.residues import AMINO_ACIDS, HEAVY_ATOMS, INDEX, MAX_ATOMS
from napari_densitybuild.symmetry import Symmetry

ASP = {"N": (0.0, 1.4, 0.0), "CA": (0.0, 0.0, 0.0), "C": (1.5, -0.3, 0.0), "O": (2.2, 0.6, 0.0),
       "CB": (-0.8, -0.6, 1.2), "CG": (-0.8, -2.1, 1.2), "OD1": (-1.8, -2.8, 1.2),
       "OD2": (0.3, -2.8, 1.2)}  # fmt: skip
LYS_NZ_AT = np.array([-4.6, -3.3, 1.2])  # 2.9 A from OD1
GLY_O_AT = np.array([3.1, -3.5, 1.2])  # 2.9 A from OD2


def _poses(partner: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Poses (R, 20, 14, 3) and types of an ASP (residue 0) and, far or near, a partner."""
    poses = np.full((2, len(AMINO_ACIDS), MAX_ATOMS, 3), 100.0)
    for t, name in enumerate(AMINO_ACIDS):  # every type of residue 0 shares the ASP's atoms
        for k, atom in enumerate(HEAVY_ATOMS[name][:8]):
            poses[0, t, k] = ASP.get(atom, ASP["CG"])
    if partner == "LYS":
        lys = HEAVY_ATOMS["LYS"]
        for k in range(len(lys)):  # a line of atoms ending in NZ, away from the ASP
            poses[1, INDEX["LYS"], k] = LYS_NZ_AT + np.array([-1.4 * (len(lys) - 1 - k), 0, 0])
        return poses, np.array([INDEX["ASP"], INDEX["LYS"]])
    gly = np.array([(0.0, 0.0, 3.6), (0.0, 0.0, 2.4), (0.0, 0.0, 1.2), (0.0, 0.0, 0.0)])
    where = GLY_O_AT if partner == "GLY_O" else np.array([60.0, 0.0, 0.0])
    poses[1, INDEX["GLY"], :4] = gly + where  # O (last) at ``where``
    return poses, np.array([INDEX["ASP"], INDEX["GLY"]])


def test_features_count_partners():
    poses, types = _poses("LYS")
    f = pair_features(model_from_poses(poses, types))
    assert list(f) == [0]
    names = FEATURES["acid_amide"]
    assert f[0][names.index("lys_arg_N")] == 1 and f[0].sum() == 1
    poses, types = _poses("GLY_O")
    f = pair_features(model_from_poses(poses, types))
    assert f[0][names.index("backbone_O")] == 1 and f[0].sum() == 1
    poses, types = _poses(None)
    assert pair_features(model_from_poses(poses, types))[0].sum() == 0


def test_table_matches_features():
    table = environment_table()["pairs"]
    assert set(table) == {"/".join(p) for p in PAIRS}
    for pair in PAIRS:
        row = table["/".join(pair)]
        assert row["features"] == list(FEATURES[kind_of(pair)])
        assert len(row["weights"]) == len(row["features"])
        assert row["val_auc"] > 0.6  # better than chance on the validation structures
    # the chemistry: a backbone O partner argues for an amide, a lysine for an acid
    acid = FEATURES["acid_amide"]
    one = np.eye(len(acid))
    assert log_likelihood_ratio(("ASP", "ASN"), one[acid.index("backbone_O")]) > 0.3
    assert log_likelihood_ratio(("ASP", "ASN"), one[acid.index("lys_arg_N")]) < -0.3
    assert log_likelihood_ratio(("GLU", "GLN"), one[acid.index("backbone_O")]) > 0.3
    assert log_likelihood_ratio(("VAL", "THR"), np.array([2.0, 0.0])) > 0.3


@pytest.mark.parametrize("partner, towards", [("LYS", "ASP"), ("GLY_O", "ASN")])
def test_rescore_moves_the_pair_only(partner, towards):
    poses, types = _poses(partner)
    probs = np.full((2, 20), 0.01)
    probs[0, INDEX["ASP"]], probs[0, INDEX["ASN"]] = 0.42, 0.40
    probs[1, types[1]] = 0.81
    out = rescore(probs, poses)
    pair = [INDEX["ASP"], INDEX["ASN"]]
    other = np.setdiff1d(np.arange(20), pair)
    np.testing.assert_allclose(out[0, pair].sum(), 0.82, atol=1e-6)
    np.testing.assert_allclose(out[0, other], probs[0, other], atol=1e-7)
    np.testing.assert_allclose(out[1], probs[1], atol=1e-7)
    assert AMINO_ACIDS[out[0].argmax()] == towards
    assert out[0, INDEX[towards]] > probs[0, INDEX[towards]] + 0.05


def test_symmetry_mates_find_neighbours_across_the_cell_edge():
    sym = Symmetry.from_cell(gemmi.UnitCell(10, 30, 30, 90, 90, 90), "P 1")
    xyz = np.array([[0.5, 5.0, 5.0], [8.0, 5.0, 5.0]])
    pos, src = symmetry_mates(xyz, sym, cutoff=3.0)
    assert len(pos) == 2 and sorted(src.tolist()) == [0, 1]
    np.testing.assert_allclose(pos[src == 1][0], [-2.0, 5.0, 5.0])
    assert len(symmetry_mates(xyz, Symmetry.none(), cutoff=3.0)[0]) == 0
    # around chosen points only: the image of atom 1 next to atom 0, not that of 0 next to 1
    pos0, src0 = symmetry_mates(xyz, sym, cutoff=3.0, near=xyz[:1])
    assert src0.tolist() == [1]
    np.testing.assert_allclose(pos0[0], [-2.0, 5.0, 5.0])
    assert len(symmetry_mates(xyz, sym, cutoff=3.0, near=np.zeros((0, 3)))[0]) == 0
    # the LYS of the test above, seen only as a symmetry mate, still counts
    poses, types = _poses("LYS")
    sym = Symmetry.from_cell(gemmi.UnitCell(25, 30, 30, 90, 90, 90), "P 1")
    poses[1] += np.array([25.0, 0, 0])  # one cell over: only its image sits next to the ASP
    model = model_from_poses(poses, types)
    assert pair_features(model)[0].sum() == 0
    assert pair_features(model, sym=sym)[0][FEATURES["acid_amide"].index("lys_arg_N")] == 1


def test_rescore_counts_context_atoms():
    """The lysine is not being classified but is part of the model (``context``)."""
    poses, types = _poses("LYS")
    lys = model_from_poses(poses[1:], types[1:])
    probs = np.full((1, 20), 0.01)
    probs[0, INDEX["ASP"]], probs[0, INDEX["ASN"]] = 0.40, 0.42
    alone = rescore(probs, poses[:1])
    assert AMINO_ACIDS[alone[0].argmax()] == "ASN"
    with_lys = rescore(probs, poses[:1], context=lys)
    assert AMINO_ACIDS[with_lys[0].argmax()] == "ASP"


@pytest.mark.parametrize(
    ("cell", "group"),
    [
        ((58.0, 58.0, 150.0, 90, 90, 120), "P 61 2 2"),
        ((40.0, 52.0, 61.0, 90, 104.5, 90), "C 1 2 1"),
    ],
)
def test_images_in_a_box_are_the_full_images_inside_it(cell, group):
    """Screening images in fractional coordinates first (hexagonal and monoclinic cells) keeps
    exactly the images inside the box, in the same order as filtering all of them."""
    sym = Symmetry.from_cell(gemmi.UnitCell(*cell), group)
    xyz = np.random.default_rng(0).uniform(-10.0, 60.0, size=(300, 3))
    lo, hi = xyz.min(0) - 4.0, xyz[:40].max(0) + 4.0  # a box over part of the points
    full = sym.images(xyz, reach=1)
    keep = np.all((full["xyz"] >= lo) & (full["xyz"] <= hi), axis=1)
    boxed = sym.images(xyz, reach=1, box=(lo, hi))
    assert 0 < keep.sum() < 0.5 * len(keep)
    for key in ("xyz", "src", "op", "shift"):
        np.testing.assert_allclose(boxed[key], full[key][keep], atol=1e-9)


def test_features_of_some_residues_are_those_of_the_whole_model():
    """Crystal copies are looked for around the residues described only: each one's features
    are what the whole model's gives it (the sample model, in its crystal)."""
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.models import read_structure
    from napari_densitybuild.refine import atom_model

    st = read_structure(sample_paths()[1])
    model, sym = atom_model(st), Symmetry.from_cell(st.cell, st.spacegroup_hm)
    every = pair_features(model, sym=sym)
    assert len(every) >= 10 and sum(f.sum() for f in every.values()) > 0
    for r in sorted(every)[::3]:
        got = pair_features(model, np.array([r]), sym)
        assert list(got) == [r] and np.array_equal(got[r], every[r])
    other = [r for r in range(len(model.resname)) if r not in every][:5]  # no pair's type
    assert len(other) == 5 and pair_features(model, np.array(other), sym) == {}
