"""A second pose head for the atoms of built models: net, weights file, classifier, build."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.nets import build_net
from napari_densitybuild.nets.fold import fold_batchnorm
from napari_densitybuild.nets.pose_integral import IntegralPoseHead
from napari_densitybuild.weights_io import load_model, save_model

TINY = {"name": "compact", "base": 4, "blocks": [1, 1], "pose": True}
BOX = {"size": 22, "spacing": 0.5}
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "add_atom_head.py"


def _script():
    spec = importlib.util.spec_from_file_location("add_atom_head", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_atom_head_is_a_second_head_beside_the_pose_head():
    torch.manual_seed(0)
    net = build_net({**TINY, "atom_head": "integral"}).eval()
    x = torch.randn(2, 1, 22, 22, 22)
    logits, atoms = net.forward_atoms(x)
    _, poses = net.forward_pose(x)
    assert logits.shape == (2, 20) and atoms.shape == poses.shape == (2, 20, 14, 3)
    assert type(net.pose_head).__name__ == "PoseHead"
    assert type(net.atom_head).__name__ == "IntegralPoseHead"
    assert not torch.allclose(atoms, poses)
    torch.testing.assert_close(fold_batchnorm(net).forward_atoms(x)[1], atoms, atol=1e-4,
                               rtol=1e-4)  # fmt: skip
    with pytest.raises(RuntimeError, match="atom head"):
        build_net(TINY).forward_atoms(x)
    with pytest.raises(DensityBuildError, match="atom_head"):
        build_net({**TINY, "atom_head": "regression"})


def test_add_atom_head_joins_a_head_trained_on_the_same_features(tmp_path):
    torch.manual_seed(1)
    base = build_net(TINY).eval()
    save_model(tmp_path / "base.safetensors", base, {"net": TINY, "box": BOX})
    other = build_net({**TINY, "pose": "integral"}).eval()
    state = {k: v for k, v in base.state_dict().items() if not k.startswith("pose_head.")}
    other.load_state_dict({**other.state_dict(), **state})
    cfg = {"net": {**TINY, "pose": "integral"}, "box": BOX}
    save_model(tmp_path / "head.safetensors", other, cfg, {"pose_head": {"samples": 10}})
    out = _script().add_atom_head(str(tmp_path / "base.safetensors"),
                                  str(tmp_path / "head.safetensors"),
                                  str(tmp_path / "out.safetensors"))  # fmt: skip
    net, config = load_model(out)
    assert config["net"]["atom_head"] == "integral" and config["card"]["atom_head"]["samples"] == 10
    x = torch.randn(2, 1, 22, 22, 22)
    torch.testing.assert_close(net.forward_pose(x)[1], base.forward_pose(x)[1])
    torch.testing.assert_close(net.forward_atoms(x)[1], other.forward_pose(x)[1])
    # a head trained on other features is refused
    torch.manual_seed(2)
    stranger = build_net({**TINY, "pose": "integral"}).eval()
    save_model(tmp_path / "stranger.safetensors", stranger, cfg)
    with pytest.raises(SystemExit, match="trunks differ"):
        _script().add_atom_head(str(tmp_path / "base.safetensors"),
                                str(tmp_path / "stranger.safetensors"),
                                str(tmp_path / "bad.safetensors"))  # fmt: skip


def test_a_build_takes_its_last_pass_atoms_from_the_atom_head():
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.build import atoms_for_types, build
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer
    from napari_densitybuild.pose import frame_to_world

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    assert clf.has_atom_head  # the shipped net has one; without it, the pose head's atoms
    clf.net.atom_head = None
    assert not clf.has_atom_head and clf.atom_poses(dmap, np.zeros((1, 3)), np.eye(3)) is None
    plain = build(dmap, placer, clf, do_refine=False, weak_fragments=None, join=False, link=False)
    torch.manual_seed(3)
    head = IntegralPoseHead(64, 6, 128).eval()
    clf.net.atom_head = head
    assert clf.has_atom_head
    got = build(dmap, placer, clf, do_refine=False, weak_fragments=None, join=False, link=False)
    # the types (framed and weighed by the pose head) are unchanged; the atoms are the head's
    np.testing.assert_array_equal(got.types, plain.types)
    np.testing.assert_allclose(got.probs, plain.probs, atol=1e-6)
    centres, rotations = got.trace.frames()
    atoms = clf.atom_poses(dmap, centres, rotations)
    assert atoms.shape == (len(got), 20, 14, 3)
    np.testing.assert_allclose(got.poses, frame_to_world(atoms, centres, rotations), atol=1e-4)
    np.testing.assert_allclose(got.model.xyz, atoms_for_types(got.poses, got.types, got.trace).xyz,
                               atol=1e-4)  # fmt: skip
    assert np.abs(got.model.xyz - plain.model.xyz).max() > 0.1


def test_review_takes_atoms_from_the_atom_head():
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.build import build
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer
    from napari_densitybuild.pose import frame_to_world
    from napari_densitybuild.review import classify_residues, pose_for_type
    from napari_densitybuild.session import Session

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    clf.net.atom_head = None
    session = Session.from_build(build(dmap, placer, clf, passes=1, do_refine=False))
    plain = classify_residues(session, dmap, clf, [3])[3]
    torch.manual_seed(4)
    clf.net.atom_head = IntegralPoseHead(64, 6, 128).eval()
    got = classify_residues(session, dmap, clf, [3])[3]
    assert got.type == plain.type and got.probs == plain.probs  # types: the pose head's
    res = session.residues[3]
    rot = np.asarray(res.rotation, dtype=float).reshape(1, 3, 3)
    centre = np.asarray(res.centre, dtype=float)[None]
    want = frame_to_world(clf.atom_poses(dmap, centre, rot), centre, rot)[0, got.type]
    np.testing.assert_allclose([a[1:] for a in got.atoms], want[: len(got.atoms)], atol=1e-4)
    atoms = pose_for_type(session.residues[3], got.type, dmap, clf)
    np.testing.assert_allclose([a[1:] for a in atoms], want[: len(atoms)], atol=1e-4)


@pytest.mark.parametrize("on_device", [False, True])
def test_both_heads_from_one_forward_pass(on_device):
    """``poses="both"`` (a build's last pass): each head's coordinates as if asked alone, the
    probabilities with test-time copies as without atoms; on the host or the device path."""
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.models import backbone_residues, read_structure

    map_path, model_path = sample_paths()
    dmap = read_map(map_path)
    res, _ = backbone_residues(read_structure(model_path))
    clf = Classifier.from_path(None, "cpu", tta=2)
    centres, rotations = clf.frames(res.n[:12], res.ca[:12], res.c[:12])
    probs, pose, atoms = clf.classify_frames(dmap, centres, rotations, poses="both",
                                             on_device=on_device)  # fmt: skip
    probs1, pose1 = clf.classify_frames(dmap, centres, rotations, poses=True, on_device=on_device)
    _, atoms1 = clf.classify_frames(dmap, centres, rotations, poses="atoms", on_device=on_device)
    np.testing.assert_allclose(probs, probs1, atol=1e-6)
    np.testing.assert_allclose(pose, pose1, atol=1e-5)
    np.testing.assert_allclose(atoms, atoms1, atol=1e-5)
    np.testing.assert_allclose(atoms, clf.atom_poses(dmap, centres, rotations), atol=1e-4)
    assert pose.shape == atoms.shape == (12, 20, 14, 3) and np.abs(pose - atoms).max() > 0.05
    clf.net.atom_head = None
    with pytest.raises(DensityBuildError, match="no atom head"):
        clf.classify_frames(dmap, centres, rotations, poses="both")
