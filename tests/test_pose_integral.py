"""The integral-regression pose head: heat maps to coordinates in the box frame's (x, y, z)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.nets import build_net
from napari_densitybuild.nets.pose_integral import IntegralPoseHead, expected_positions
from napari_densitybuild.training.pose_loss import pose_loss


def test_a_peaked_map_gives_its_voxel_in_x_y_z_order():
    axis = torch.linspace(-5.25, 4.75, 12)
    p = torch.zeros(2, 12, 12, 12)
    p[0, 1, 4, 9] = 1.0  # index (z, y, x)
    p[1, 3, 3, 3] = p[1, 5, 5, 5] = 0.5  # halfway between two grid points
    xyz = expected_positions(p, axis)
    np.testing.assert_allclose(xyz[0], [axis[9], axis[4], axis[1]], atol=1e-6)
    np.testing.assert_allclose(xyz[1], [(axis[3] + axis[5]) / 2] * 3, atol=1e-6)


def test_the_head_gives_every_type_s_atoms_inside_the_grid():
    torch.manual_seed(0)
    head = IntegralPoseHead(64, 6, 128).eval()
    out = head(torch.randn(3, 64, 6, 6, 6), torch.randn(3, 128))
    assert out.shape == (3, 20, 14, 3) and torch.isfinite(out).all()
    assert out.min() >= -5.25 and out.max() <= 4.75
    maps = head.heat_maps(torch.randn(1, 64, 6, 6, 6))
    assert maps.shape == (1, 280, 12, 12, 12)
    torch.testing.assert_close(maps.sum((2, 3, 4)), torch.ones(1, 280))


def test_compact_net_takes_an_integral_pose_head_and_it_learns():
    net = build_net({"name": "compact", "base": 4, "blocks": [1, 1], "pose": "integral"})
    assert type(net.pose_head).__name__ == "IntegralPoseHead"
    logits, coords = net.forward_pose(torch.zeros(2, 1, 22, 22, 22))
    assert logits.shape == (2, 20) and coords.shape == (2, 20, 14, 3)
    with pytest.raises(DensityBuildError, match="pose"):
        build_net({"name": "compact", "pose": "heatmap"})
    # a few steps on fixed boxes and targets bring the loss down
    torch.manual_seed(1)
    x = torch.randn(8, 1, 22, 22, 22)
    labels = torch.randint(0, 20, (8,))
    target = torch.rand(8, 14, 3) * 6 - 3
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = pose_loss(net.forward_pose(x)[1], labels, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]


def test_train_takes_the_head_by_name():
    from napari_densitybuild.cli import build_parser
    from napari_densitybuild.commands.train import config_from_args

    p = build_parser()
    base = ["train", "--cache", "c", "--out", "o", "--net", "compact"]
    for extra, want in ((["--pose"], True), (["--pose", "integral"], "integral"),
                        (["--pose", "--pose-weight", "0.3"], True), ([], None)):  # fmt: skip
        cfg = config_from_args(p.parse_args(base + extra))
        assert cfg.net.get("pose") == want, extra


def test_weights_with_an_integral_head_round_trip_and_give_poses(tmp_path):
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.weights_io import load_model, save_model

    cfg = {"net": {"name": "compact", "base": 4, "blocks": [1, 1], "pose": "integral"},
           "box": {"size": 22, "spacing": 0.5}}  # fmt: skip
    torch.manual_seed(2)
    net = build_net(cfg["net"]).eval()
    path = save_model(tmp_path / "w.safetensors", net, cfg)
    loaded, config = load_model(path)
    assert config["net"]["pose"] == "integral"
    x = torch.randn(2, 1, 22, 22, 22)
    torch.testing.assert_close(loaded.forward_pose(x)[1], net.forward_pose(x)[1])
    assert Classifier.from_path(path, "cpu", tta=0).has_poses
