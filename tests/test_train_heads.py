"""Training the atom head: jointly with the net, or alone on a net that stays as loaded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import TINY_NET, _cfg, make_pose_cache

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.nets import build_net
from napari_densitybuild.training.heads import freeze_except, set_training
from napari_densitybuild.training.train import train
from napari_densitybuild.training.trainkit import metric_value
from napari_densitybuild.weights_io import load_model

BOTH = {**TINY_NET, "pose": True, "atom_head": "integral"}


@pytest.fixture(scope="module")
def pose_cache(tmp_path_factory):
    return make_pose_cache(tmp_path_factory.mktemp("pose_cache"))


def _baseline(cache) -> float:
    """Pose RMSD of each type's mean pose: what a head that ignores the box would score."""
    from napari_densitybuild.training.evaluate import load_atoms, load_split
    from napari_densitybuild.training.pose_loss import mean_poses, pose_rmsd

    labels = load_split(cache, "val")[1]
    train_labels = load_split(cache, "train")[1]
    mean = mean_poses(load_atoms(cache, "train", len(train_labels)), train_labels)
    return float(np.nanmean(pose_rmsd(mean[labels], load_atoms(cache, "val", len(labels)), labels)))


def test_forward_both_heads_matches_each_head():
    net = build_net(BOTH).eval()
    x = torch.randn(3, 1, 8, 8, 8)
    logits, pose, atoms = net(x, pose="both")
    torch.testing.assert_close(pose, net.forward_pose(x)[1])
    torch.testing.assert_close(atoms, net.forward_atoms(x)[1])
    torch.testing.assert_close(logits, net(x))
    with pytest.raises(RuntimeError, match="atom head"):
        build_net({**TINY_NET, "pose": True}).eval()(x, pose="both")


def test_joint_training_learns_both_heads(pose_cache, tmp_path):
    cfg = _cfg(pose_cache, tmp_path / "run", net=BOTH, pose_weight=1.0, atom_weight=1.0,
               steps=200, batch_size=16, eval_every=100, heldout=[],
               best_metric="val_atom_rmsd")  # fmt: skip
    summary = train(cfg)
    val = summary["last_eval"]["val"]
    baseline = _baseline(pose_cache)
    print(val, baseline)
    assert val["pose_rmsd"] < 0.5 * baseline, (val, baseline)
    assert val["atom_rmsd"] < 0.5 * baseline, (val, baseline)
    assert summary["best"] == pytest.approx(
        -min(  # best checkpoint: the lowest atom RMSD
            r["eval"]["val"]["atom_rmsd"] for r in _log(tmp_path / "run") if "eval" in r
        )
    )
    net, config = load_model(tmp_path / "run" / "final.safetensors")
    assert config["net"]["atom_head"] == "integral" and net.atom_head is not None
    assert config["card"]["run"]["atom_weight"] == 1.0
    rows = [r for r in _log(tmp_path / "run") if "atom_loss" in r]
    assert rows and rows[-1]["atom_loss"] < rows[0]["atom_loss"]


def _log(run) -> list[dict]:
    import json

    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_atom_head_alone_leaves_the_rest_as_loaded(pose_cache, tmp_path, capsys):
    # a net with a pose head, trained; then an atom head trained on its frozen features
    train(_cfg(pose_cache, tmp_path / "base", net={**TINY_NET, "pose": True}, pose_weight=1.0,
               steps=150, heldout=[]))  # fmt: skip
    base, _ = load_model(tmp_path / "base" / "final.safetensors")
    cfg = _cfg(pose_cache, tmp_path / "atoms", net=BOTH, atom_weight=1.0, steps=200, heldout=[],
               batch_size=16, eval_every=100,
               train_only=["atom_head"], best_metric="val_atom_rmsd",
               init_from=str(tmp_path / "base" / "final.safetensors"))  # fmt: skip
    summary = train(cfg)
    assert "the atom head starts from scratch" in capsys.readouterr().out
    print(summary["last_eval"]["val"], _baseline(pose_cache))
    assert summary["last_eval"]["val"]["atom_rmsd"] < 0.6 * _baseline(pose_cache)
    net, config = load_model(tmp_path / "atoms" / "final.safetensors")
    after = net.state_dict()
    for name, value in base.state_dict().items():  # weights and batch-norm statistics
        assert torch.equal(after[name], value), name
    assert config["card"]["run"]["train_only"] == ["atom_head"]
    assert config["card"]["steps"] == 350  # the base's 150 carried on
    assert config["card"]["previous"]["run"]["steps"] == 150  # and what the base's run was

    # continued from weights with an atom head: it is loaded, not started afresh
    cfg2 = _cfg(pose_cache, tmp_path / "again", net=BOTH, atom_weight=1.0, steps=2, lr=0.0,
                heldout=[], train_only=["atom_head"],
                init_from=str(tmp_path / "atoms" / "final.safetensors"))  # fmt: skip
    summary2 = train(cfg2)
    assert "atom head" not in capsys.readouterr().out
    assert summary2["best_metric"] == "val_atom_rmsd"  # auto: the classifier cannot change
    again, config2 = load_model(tmp_path / "again" / "final.safetensors")
    previous = config2["card"]["previous"]  # the runs before, each in its successor's card
    assert previous["run"]["train_only"] == ["atom_head"] and previous["run"]["steps"] == 200
    assert previous["previous"]["run"]["steps"] == 150 and "previous" not in previous["previous"]
    for name, value in net.named_parameters():  # (the head's batch-norm statistics move)
        assert torch.equal(dict(again.named_parameters())[name], value), name


def test_train_only_checks(pose_cache, tmp_path):
    net = build_net(BOTH)
    assert freeze_except(net, ["atom_head"]) == sum(p.numel() for p in net.atom_head.parameters())
    set_training(net, ["atom_head"])
    assert not net.stem[1].training and net.atom_head.training  # frozen batch norm stays put
    with pytest.raises(ValueError, match="no parameters under atom_heads"):
        freeze_except(net, ["atom_heads"])
    with pytest.raises(DensityBuildError, match="nothing trained is in the loss"):
        train(_cfg(pose_cache, tmp_path / "x", net=BOTH, pose_weight=1.0, steps=2, heldout=[],
                   train_only=["atom_head"]))  # fmt: skip
    with pytest.raises(DensityBuildError, match="needs a net with an atom head"):
        train(_cfg(pose_cache, tmp_path / "y", net=TINY_NET, atom_weight=1.0, steps=2))


def test_metric_value_names():
    results = {"val": {"map": 0.8, "atom_rmsd": 0.3}, "real_val": {"top1": 0.9},
               "real_heldout": {"pose_rmsd": 0.4}, "real_3sb3": {"top1": 0.7}}  # fmt: skip
    assert metric_value(results, "val_map") == 0.8
    assert metric_value(results, "val_atom_rmsd") == -0.3  # lower is better: negated
    assert metric_value(results, "realval_top1") == 0.9
    assert metric_value(results, "heldout_pose_rmsd") == -0.4
    assert metric_value(results, "real_3sb3_top1") == 0.7
    assert metric_value(results, "val_top1") is None
    assert metric_value(results, "nonsense") is None
