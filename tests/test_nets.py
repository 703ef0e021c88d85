"""The classifier nets: shapes, the poster's table, FLOPs, memory formats, one training step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.nets import (
    CompactNet,
    ResNet11,
    build_net,
    count_flops,
    count_params,
    full_config,
    learnable_layers,
)

torch.set_num_threads(1)


@pytest.mark.parametrize("size", [16, 21, 22, 41, 44])
def test_resnet11_output_shapes(size):
    net = build_net({"name": "resnet11", "width": 0.0625, "repeats": 2}).eval()
    with torch.no_grad():
        assert net(torch.randn(3, 1, size, size, size)).shape == (3, 20)


@pytest.mark.parametrize("size", [11, 16, 22, 24])
def test_compact_output_shapes(size):
    net = build_net({"name": "compact", "base": 4, "blocks": [1, 2]}).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 1, size, size, size)).shape == (2, 20)


def test_poster_table():
    """29 learnable layers, ~59.6 M parameters, and the table's shapes 41 -> 20 -> 10 -> 5 -> 1."""
    with torch.device("meta"):
        net = ResNet11()
    assert learnable_layers(net) == 29
    assert len(net.blocks) == 11
    assert 59.5e6 < count_params(net) < 59.7e6
    convs = [m for m in net.modules() if isinstance(m, nn.Conv3d)]
    assert [m.out_channels for m in convs[:5]] == [128, 256, 512, 256, 512]
    assert [m.out_channels for m in convs[-4:]] == [1024, 512, 256, 20]
    assert [m.kernel_size[0] for m in convs[-4:]] == [3, 1, 1, 1]
    # shapes at 1/16 width (same pooling, cheap)
    small = ResNet11(width=1 / 16, repeats=1).eval()
    seen = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[1:])))
        for m in small.modules()
        if isinstance(m, (nn.MaxPool3d, nn.AdaptiveMaxPool3d, nn.Conv3d))
    ]
    with torch.no_grad():
        small(torch.zeros(1, 1, 41, 41, 41))
    for h in hooks:
        h.remove()
    spatial = [s[1] for s in seen]
    assert spatial == [41, 20, 20, 10, 10, 10, 10, 5, 5, 5, 5, 1, 1]
    assert seen[-1] == (20, 1, 1, 1)


def test_half_sampling_topology():
    """0.5 A poster topology: 22 -> 11 (residual stage) -> 5 -> 1; DESIGN.md's 1.9 M / 2.8 GFLOP."""
    cfg = {"name": "resnet11", "width": 0.25, "repeats": 3, "input_size": 22, "stem_pools": 1}
    net = build_net(cfg).eval()
    stem, blocks, pool, head, gp = net.features(torch.zeros(1, 1, 22, 22, 22))
    assert [t.shape[-1] for t in (stem, blocks, pool, head, gp)] == [11, 11, 5, 5, 1]
    assert 1.85e6 < count_params(net) < 1.95e6
    assert 2.7e9 < count_flops(net, 22) < 2.9e9


def test_flops_and_params():
    with torch.device("meta"):
        poster = ResNet11()
        quarter = ResNet11(width=0.25)
    compact = CompactNet()
    assert 0.49e6 < count_params(compact) < 0.52e6
    assert 0.26e9 < count_flops(compact, 22) < 0.28e9
    assert 3.6e6 < count_params(quarter) < 3.8e6
    assert count_params(poster) / count_params(quarter) == pytest.approx(16, rel=0.01)


def test_poster_flops_exact():
    """Multiply-adds of the table at 41^3, counted by hand, against the hook count."""
    net = ResNet11(width=1 / 16, repeats=11)  # 1/16 width: FLOPs scale by ~1/256
    c = [8, 16, 32, 16, 64, 32, 16]  # 128, 256, 512, 256, 1024, 512, 256 / 16
    hand = 2 * (
        41**3 * 1 * c[0] * 27
        + 20**3 * c[0] * c[1] * 27
        + 10**3 * c[1] * c[2] * 27
        + 11 * 10**3 * (c[2] * c[3] + c[3] * c[2] * 27)
        + 5**3 * (c[2] * c[4] * 27 + c[4] * c[5] + c[5] * c[6])
        + c[6] * 20
    )
    assert count_flops(net, 41) == hand
    assert net.training  # count_flops leaves the mode alone


def test_full_width_flops():
    with torch.device("meta"):  # shapes only: no memory, no arithmetic
        net = ResNet11()
    flops = count_flops(net, 41)
    assert 105e9 < flops < 107e9


def test_channels_last_and_autocast():
    for net in (CompactNet(base=8).eval(), ResNet11(width=1 / 16, repeats=1).eval()):
        x = torch.randn(2, 1, 22, 22, 22)
        with torch.no_grad():
            ref = net(x)
            net_cl = net.to(memory_format=torch.channels_last_3d)
            out = net_cl(x.contiguous(memory_format=torch.channels_last_3d))
            with torch.autocast("cpu", dtype=torch.bfloat16):
                low = net_cl(x.contiguous(memory_format=torch.channels_last_3d))
        assert torch.allclose(ref, out, atol=1e-4)
        assert low.shape == (2, 20) and torch.isfinite(low).all()
        assert (low.float() - ref).abs().max() < 0.2 * ref.abs().max() + 0.1


def test_dropout_and_config_errors():
    net = build_net({"name": "compact", "dropout": 0.3})
    assert isinstance(net.dropout, nn.Dropout)
    assert full_config({"name": "compact"})["blocks"] == [3, 3]
    with pytest.raises(DensityBuildError, match="unknown net"):
        build_net({"name": "resnet50"})
    with pytest.raises(DensityBuildError, match="no option"):
        build_net({"name": "compact", "widht": 2})
    with pytest.raises(DensityBuildError, match="bad options"):
        build_net({"name": "resnet11", "stem_pools": 3})
    with pytest.raises(ValueError, match="too small"):
        ResNet11(width=1 / 16, repeats=0)(torch.zeros(1, 1, 6, 6, 6))


@pytest.mark.slow
def test_one_training_step_full_poster_net():
    """The poster's net at full width and 41^3 takes a training step: finite loss, new weights."""
    torch.manual_seed(0)
    net = ResNet11().to(memory_format=torch.channels_last_3d).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    bn_before = net.stem[0][1].running_mean.clone()
    x = torch.randn(2, 1, 41, 41, 41).contiguous(memory_format=torch.channels_last_3d)
    y = torch.tensor([3, 17])
    loss = nn.functional.cross_entropy(net(x), y)
    assert torch.isfinite(loss)
    opt.zero_grad()
    loss.backward()
    opt.step()
    changed = [k for k, v in net.named_parameters() if not torch.equal(v, before[k])]
    assert len(changed) == len(before)
    assert not torch.equal(net.stem[0][1].running_mean, bn_before)
    assert all(torch.isfinite(p).all() for p in net.parameters())


@pytest.mark.parametrize(
    "config, size",
    [
        ({"name": "compact", "base": 8, "blocks": [2, 1], "pose": True}, 22),
        ({"name": "resnet11", "width": 0.05, "repeats": 2, "stem_pools": 1}, 22),
    ],
)
def test_fold_batchnorm_keeps_outputs(config, size):
    from napari_densitybuild.nets.detector import DetectorNet
    from napari_densitybuild.nets.fold import fold_batchnorm

    torch.manual_seed(0)
    net = build_net(config)
    net.train()
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        for _ in range(3):
            net(torch.randn(4, 1, size, size, size) * 2 + 0.5)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
    net.eval()
    folded = fold_batchnorm(net)
    assert net.training is False and any(
        isinstance(m, torch.nn.BatchNorm3d) for m in net.modules()
    )  # the original is untouched
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in folded.modules())
    x = torch.randn(3, 1, size, size, size)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), atol=1e-4, rtol=1e-4)
        if config.get("pose"):
            for a, b in zip(folded.forward_pose(x), net.forward_pose(x)):
                torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    det = DetectorNet().eval()
    y = torch.randn(1, 1, 16, 16, 16)
    det_folded = fold_batchnorm(det)
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in det_folded.modules())
    with torch.no_grad():
        torch.testing.assert_close(det_folded(y), det(y), atol=1e-4, rtol=1e-4)
