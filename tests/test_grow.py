"""Growing a trained net: extra residual blocks start as identities (nets/grow.py)."""

from __future__ import annotations

import pytest
import torch

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.nets import build_net, count_flops, count_params
from napari_densitybuild.nets.grow import load_grown

torch.set_num_threads(1)


def _trained_like(config: dict) -> torch.nn.Module:
    """A net with random weights and batch-norm statistics (as after training)."""
    torch.manual_seed(0)
    net = build_net(config)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_grown_net_predicts_what_the_source_did():
    small = _trained_like({"name": "compact", "base": 4, "blocks": [1, 1], "pose": True})
    big = build_net({"name": "compact", "base": 4, "blocks": [1, 2, 2], "pose": True})
    assert load_grown(big, small) == ["stage2.2", "stage4.0", "stage4.1"]
    big.eval()
    x = torch.randn(3, 1, 22, 22, 22)
    with torch.no_grad():
        (a, pa), (b, pb) = small.forward_pose(x), big.forward_pose(x)
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(pa, pb, atol=1e-5)
    # the new blocks are real layers: training moves their zeroed scale off zero
    assert count_params(big) > count_params(small)
    big.train()
    loss = big(x).logsumexp(1).sum()
    loss.backward()
    assert big.stage4[0].bn.weight.grad.abs().sum() > 0


def test_top_blocks_are_cheap():
    """Blocks on the 3^3 stage add under 5 % of the FLOPs each at the shipped width."""
    base = count_flops(build_net({"name": "compact", "base": 16, "blocks": [3, 3]}), 22)
    more = count_flops(build_net({"name": "compact", "base": 16, "blocks": [3, 3, 1]}), 22)
    assert 1.0 < more / base < 1.05


@pytest.mark.parametrize(
    "target",
    [
        {"name": "compact", "base": 4, "blocks": [1, 0]},  # fewer blocks: weights would be lost
        {"name": "compact", "base": 8, "blocks": [1, 1]},  # other widths
        {"name": "compact", "base": 4, "blocks": [1, 1]},  # no pose head
    ],
)
def test_grow_refuses_what_is_not_growth(target):
    small = _trained_like({"name": "compact", "base": 4, "blocks": [1, 1], "pose": True})
    with pytest.raises(DensityBuildError, match="cannot grow"):
        load_grown(build_net(target), small)


def test_same_net_loads_unchanged():
    small = _trained_like({"name": "compact", "base": 4, "blocks": [1, 1]})
    twin = build_net({"name": "compact", "base": 4, "blocks": [1, 1]})
    assert load_grown(twin, small) == []
    for k, v in small.state_dict().items():
        assert torch.equal(v, twin.state_dict()[k])
