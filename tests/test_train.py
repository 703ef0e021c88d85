"""Training loop on a tiny synthetic cache: learns, resumes exactly, exports loadable weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from napari_densitybuild.training.augment import AugmentConfig
from napari_densitybuild.training.train import TrainConfig, lr_at, train

N = 8
TINY_NET = {"name": "compact", "base": 4, "blocks": [1, 1], "input_size": N}


def make_cache(root: Path, counts: dict[str, int] | None = None, seed: int = 0) -> Path:
    """Write a box cache whose 20 classes are blobs at 20 distinct places in an 8^3 box.

    Boxes are raw (mean ~1, noisy, random amplitude), like simulated boxes in sigma units.
    """
    counts = counts or {
        "train": 1500,
        "val": 300,
        "real_1cbs": 60,
        "real_cdk2": 60,
        "real_1dmm": 100,
        "real_3sb3": 50,
        "real_gamma": 50,
    }
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(N)] * 3, indexing="ij"), -1).astype(float)
    centres = np.random.default_rng(123).uniform(1.5, N - 2.5, size=(20, 3))
    patterns = np.exp(-((grid[None] - centres[:, None, None, None]) ** 2).sum(-1) / 2.0)
    for split, n in counts.items():
        d = root / split
        d.mkdir(parents=True)
        labels = rng.integers(0, 20, size=n)
        amp = rng.uniform(2.0, 4.0, size=(n, 1, 1, 1))
        boxes = 1.0 + amp * patterns[labels] + rng.normal(0, 0.5, size=(n, N, N, N))
        np.save(d / "boxes.npy", boxes.astype(np.float16))
        np.save(d / "labels.npy", labels.astype(np.int64))
        box = {"size": N, "spacing": 1.375, "frame": "backbone"}
        (d / "info.json").write_text(json.dumps({"box": box, "count": n}))
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return make_cache(tmp_path_factory.mktemp("cache"))


def _cfg(cache: Path, out: Path, **kw) -> TrainConfig:
    torch.set_num_threads(1)
    base = dict(
        cache=str(cache),
        out=str(out),
        net=TINY_NET,
        batch_size=32,
        steps=150,
        lr=5e-3,
        warmup=10,
        weight_decay=1e-4,
        eval_every=75,
        log_every=1,
        threads=1,
        seed=3,
        checkpoint_minutes=100.0,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_lr_schedule():
    cfg = TrainConfig(cache="", out="", lr=1.0, warmup=10, steps=110, min_lr=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(60, cfg) == pytest.approx(0.55)
    assert lr_at(110, cfg) == pytest.approx(0.1)


def test_training_learns_and_exports(cache, tmp_path):
    from napari_densitybuild.training.evaluate import load_split, predict_probs
    from napari_densitybuild.weights_io import load_model

    aug = AugmentConfig(scale=(0.8, 1.2), noise=0.3, blur=0.5, offset=0.2)
    out = tmp_path / "run"
    summary = train(
        _cfg(cache, out, augment=aug, real_mix=["real_1dmm"], real_fraction=0.25, command="pytest")
    )
    val = summary["last_eval"]["val"]
    assert val["top1"] > 0.5, val  # chance is 0.05
    assert summary["best_metric"] == "realval_top1"  # never the held-out (test) maps
    assert "real_heldout" in summary["last_eval"] and "real_val" in summary["last_eval"]
    for name in (
        "config.json",
        "log.jsonl",
        "log.csv",
        "curves.png",
        "last.pt",
        "best.safetensors",
        "final.safetensors",
    ):
        assert (out / name).exists(), name
    net, config = load_model(out / "final.safetensors", "cpu")
    assert config["box"] == {"size": N, "spacing": 1.375, "frame": "backbone"}
    card = config["card"]
    assert card["steps"] == 150 and card["samples_seen"] == 150 * 32
    assert card["command"] == "pytest" and card["cpu_seconds"] > 0
    # the exported net predicts what the trained net predicted at its last evaluation
    boxes, labels = load_split(cache, "val")
    probs = predict_probs(net, boxes, device="cpu")
    assert (probs.argmax(1) == labels).mean() == pytest.approx(val["top1"], abs=1e-9)

    # continue from the exported weights: counts carry forward
    out2 = tmp_path / "cont"
    train(_cfg(cache, out2, steps=10, eval_every=10, init_from=str(out / "final.safetensors")))
    _, config2 = load_model(out2 / "final.safetensors", "cpu")
    assert config2["card"]["steps"] == 160
    assert config2["card"]["samples_seen"] == 160 * 32
    # ... and from a member of an ensemble of the two: that member's counts
    from napari_densitybuild.weights_io import combine_weights

    ens = combine_weights([out / "final.safetensors", out2 / "final.safetensors"],
                          tmp_path / "ens.safetensors")  # fmt: skip
    out3 = tmp_path / "member"
    train(_cfg(cache, out3, steps=10, eval_every=10, init_from=str(ens), init_member=1))
    _, config3 = load_model(out3 / "final.safetensors", "cpu")
    assert config3["card"]["steps"] == 170 and config3["net"]["name"] != "ensemble"
    # ... and into a deeper net: the extra blocks start as identities, counts carry forward
    out4 = tmp_path / "deeper"
    train(_cfg(cache, out4, steps=10, eval_every=10, init_from=str(out / "final.safetensors"),
               net={**TINY_NET, "blocks": [1, 1, 1]}))  # fmt: skip
    _, config4 = load_model(out4 / "final.safetensors", "cpu")
    assert config4["net"]["blocks"] == [1, 1, 1]
    assert config4["card"]["steps"] == 160
    assert config4["card"]["run"]["grown_blocks"] == ["stage4.0"]
    # ... and from weights with an atom head (trained on frozen features): it is left out
    from napari_densitybuild.nets import build_net
    from napari_densitybuild.weights_io import save_model

    with_head = build_net({**config["net"], "atom_head": "integral"}).eval()
    with_head.load_state_dict({**with_head.state_dict(), **net.state_dict()})
    save_model(tmp_path / "atoms.safetensors", with_head,
               {**config, "net": {**config["net"], "atom_head": "integral"}},
               config["card"])  # fmt: skip
    out5 = tmp_path / "atoms"
    train(_cfg(cache, out5, steps=10, eval_every=10, init_from=str(tmp_path / "atoms.safetensors")))
    net5, config5 = load_model(out5 / "final.safetensors", "cpu")
    assert net5.atom_head is None and config5["net"].get("atom_head") is None
    assert config5["card"]["steps"] == 160


def test_resume_matches_uninterrupted_run(cache, tmp_path):
    aug = AugmentConfig(noise=0.3, blur=0.5, scale=(0.8, 1.2))
    kw = dict(steps=40, eval_every=20, augment=aug, net={**TINY_NET, "dropout": 0.2},
              real_mix=["real_1dmm"], real_fraction=0.25, augment_real=False)  # fmt: skip
    full = _cfg(cache, tmp_path / "full", **kw)
    train(full)
    part = _cfg(cache, tmp_path / "part", **kw)
    part.stop_at_step = 20  # interrupted after step 20 ...
    train(part)
    assert not (tmp_path / "part" / "final.safetensors").exists()
    part.stop_at_step, part.resume = None, True  # ... and resumed to the end
    summary = train(part)
    assert summary["resumed_from"] == 20

    def losses(run):
        rows = [json.loads(s) for s in (tmp_path / run / "log.jsonl").read_text().splitlines()]
        return np.array([r["loss"] for r in rows if "loss" in r])

    a, b = losses("full"), losses("part")
    assert len(a) == len(b) == 40
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_train_command(cache, tmp_path, capsys):
    from napari_densitybuild.cli import main

    out = tmp_path / "cli"
    rc = main(["train", "--cache", str(cache), "--out", str(out), "--steps", "4", "--base", "4",
               "--blocks", "1,1", "--batch-size", "8", "--threads", "1", "--eval-every", "4",
               "--eval-max", "50", "--warmup", "2", "--aug-noise", "0.2", "--crop", "7",
               "--rotate90", "--frame", "axis", "--real-mix", "0.25", "--real-balance",
               "map"])  # fmt: skip
    assert rc == 0
    args = json.loads((out / "args.json").read_text())
    assert args["config"]["steps"] == 4 and args["config"]["augment"]["noise"] == 0.2
    # auto: the real training maps in the cache (not the held-out or validation ones)
    assert args["config"]["real_mix"] == ["real_1dmm"]
    assert args["config"]["real_balance"] == "map"
    assert '"steps": 4' in capsys.readouterr().out
    # a cropping net is exported for full boxes plus its input size; Classifier crops the same way
    from napari_densitybuild.classify import Classifier

    clf = Classifier.from_path(out / "final.safetensors", device="cpu")
    assert clf.spec.size == 8 and clf.spec.frame == "axis" and clf.input_size == 7
    assert clf.predict(np.zeros((3, 8, 8, 8), np.float16)).shape == (3, 20)


@pytest.mark.parametrize(
    "splits, metric, message",
    [
        ("real_1dmm,real_cdk2_j2", "val_map", "held-out map(s) cdk2"),
        ("real_3sb3", "auto", "validation map(s) 3sb3"),
        ("real_gamma_d1", "realval_top1", "validation map(s) gamma"),
    ],
)
def test_train_refuses_held_out_real_maps(cache, tmp_path, capsys, splits, metric, message):
    """The held-out maps are never trained on; validation maps only with another checkpoint
    rule (cross-validation trains on them)."""
    from napari_densitybuild.cli import main

    rc = main(["train", "--cache", str(cache), "--out", str(tmp_path / "x"), "--steps", "1",
               "--real-mix", "0.25", "--real-splits", splits, "--best-metric", metric])  # fmt: skip
    assert rc == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_augment_rotations_are_proper_and_filter_is_gaussian():
    from napari_densitybuild.training.augment import (
        ROTATIONS,
        augment_batch,
        gaussian_filter_batch,
        rotate90,
    )

    rng = np.random.default_rng(0)
    box = rng.normal(size=(1, 5, 5, 5)).astype(np.float32)
    rotated = rotate90(np.repeat(box, 24, 0), np.arange(24))
    flat = {r.tobytes() for r in rotated}
    assert len(ROTATIONS) == 24 and len(flat) == 24
    mirror = box[0, ::-1].copy()  # a reflection is never produced
    assert all(not np.allclose(r, m) for r in rotated for m in rotate90(mirror[None], [0]))
    # a point at (z, y, x) = (0, 0, 1) goes to 24 places, all on the 6 face centres' axes
    one = np.zeros((1, 3, 3, 3), np.float32)
    one[0, 1, 1, 2] = 1
    spots = {np.argwhere(r)[0].tobytes() for r in rotate90(np.repeat(one, 24, 0), np.arange(24))}
    assert len(spots) == 6
    # the filter matches an analytic Gaussian at the centre of a delta
    delta = np.zeros((2, 9, 9, 9), np.float32)
    delta[:, 4, 4, 4] = 1
    out = gaussian_filter_batch(delta, np.array([1.0, 0.0]))
    g = np.exp(-0.5 * np.arange(-4, 5) ** 2)
    g /= g.sum()
    np.testing.assert_allclose(out[0, 4, 4], g[4] ** 2 * g, atol=1e-6)
    np.testing.assert_allclose(out[1], delta[1], atol=1e-6)
    # backbone frames are never rotated; crops give the asked size; inputs are left alone
    x = rng.normal(size=(4, 8, 8, 8)).astype(np.float16)
    x0 = x.copy()
    cfg = AugmentConfig(rotate90=True, crop=7)
    assert augment_batch(x, cfg, rng, "axis").shape == (4, 7, 7, 7)
    same = augment_batch(x, AugmentConfig(rotate90=True), rng, "backbone")
    np.testing.assert_array_equal(same, x.astype(np.float32))
    np.testing.assert_array_equal(x, x0)


def make_pose_cache(root: Path, n: int = 1200, seed: int = 0) -> Path:
    """Boxes with one blob each at a random place; the pose (14 atoms of the label's type, in
    box-frame Angstrom) moves with the blob, so only a net that reads the box can predict it."""
    from napari_densitybuild.residues import AMINO_ACIDS, HEAVY_ATOMS

    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(N)] * 3, indexing="ij"), -1).astype(float)
    template = np.random.default_rng(5).normal(scale=1.5, size=(20, 14, 3))
    for split, count in (("train", n), ("val", 200)):
        d = root / split
        d.mkdir(parents=True)
        labels = rng.integers(0, 20, size=count)
        centre = rng.uniform(2.0, N - 3.0, size=(count, 3))  # (z, y, x) voxels
        blobs = np.exp(-((grid[None] - centre[:, None, None, None]) ** 2).sum(-1) / 2.0)
        boxes = 3.0 * blobs + rng.normal(0, 0.2, size=blobs.shape)
        xyz = (centre[:, ::-1] - (N - 1) / 2) * 1.375  # frame (x, y, z) Angstrom
        atoms = xyz[:, None, :] + template[labels]
        for i, k in enumerate(labels):
            atoms[i, len(HEAVY_ATOMS[AMINO_ACIDS[k]]) :] = np.nan
        np.save(d / "boxes.npy", boxes.astype(np.float16))
        np.save(d / "labels.npy", labels.astype(np.int64))
        np.save(d / "atoms.npy", atoms.astype(np.float16))
        box = {"size": N, "spacing": 1.375, "frame": "backbone"}
        (d / "info.json").write_text(json.dumps({"box": box, "count": count}))
    return root


def test_pose_head_learns_positions(tmp_path):
    from napari_densitybuild.training.evaluate import load_atoms, load_split
    from napari_densitybuild.training.pose_loss import mean_poses, pose_rmsd
    from napari_densitybuild.weights_io import load_model

    cache = make_pose_cache(tmp_path / "cache")
    net = {**TINY_NET, "pose": True}
    cfg = _cfg(cache, tmp_path / "run", net=net, pose_weight=1.0, steps=300, heldout=[])
    summary = train(cfg)
    assert summary["last_eval"]["val"]["pose_rmsd"] < 1.0
    _loaded, config = load_model(tmp_path / "run" / "final.safetensors")
    assert config["net"]["pose"] is True
    _boxes, labels = load_split(cache, "val")
    atoms = load_atoms(cache, "val", len(labels))
    train_labels = load_split(cache, "train")[1]
    mean = mean_poses(load_atoms(cache, "train", len(train_labels)), train_labels)
    baseline = np.nanmean(pose_rmsd(mean[labels], atoms, labels))  # the head's starting point
    print(summary["last_eval"]["val"], baseline)
    assert summary["last_eval"]["val"]["pose_rmsd"] < 0.5 * baseline


@pytest.mark.slow
def test_two_process_data_parallel(cache, tmp_path):
    """torchrun with 2 CPU processes (gloo): one log, one set of weights, each process's steps."""
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", "29517", "-m", "napari_densitybuild.cli", "train",
           "--cache", str(cache), "--out", str(out), "--base", "4", "--blocks", "1,1",
           "--steps", "12", "--batch-size", "16", "--eval-every", "12", "--log-every", "4",
           "--warmup", "2", "--threads", "1"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    from napari_densitybuild.weights_io import load_model

    _, config = load_model(out / "final.safetensors")
    assert config["card"]["steps"] == 12 and "2 processes (DDP)" in config["card"]["machine"]
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [4, 8, 12]  # rank 0 logs alone
