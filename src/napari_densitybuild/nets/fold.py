"""Fold batch norm into the convolution before it, for inference.

In eval mode ``bn(conv(x))`` is an affine map of ``conv(x)`` per channel, so it can be written
into the convolution's weights and bias (``torch.nn.utils.fusion.fuse_conv_bn_eval``): the same
outputs (to float rounding) with one pass over the activations fewer per layer. On the 2-core
CPUs here that made the compact net 9 % faster on two threads and 17-27 % on one
(benchmarks/results/classify.md).
Only for nets that will not be trained again: the batch-norm statistics are gone afterwards.
"""

from __future__ import annotations

import copy

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .resnet11 import Bottleneck


def _fold_sequential(seq: nn.Sequential) -> None:
    """Fold every (Conv3d, BatchNorm3d) neighbour pair of ``seq`` in place."""
    mods = list(seq)
    for i in range(len(mods) - 1):
        conv, bn = mods[i], mods[i + 1]
        if isinstance(conv, nn.Conv3d) and isinstance(bn, nn.BatchNorm3d):
            seq[i] = fuse_conv_bn_eval(conv, bn)
            seq[i + 1] = nn.Identity()


def fold_batchnorm(net: nn.Module) -> nn.Module:
    """A copy of ``net`` in eval mode with each batch norm folded into its convolution.

    Handles batch norms that directly follow a Conv3d in an ``nn.Sequential`` and the
    ``conv``/``bn`` pair of the residual :class:`~.resnet11.Bottleneck`; any other batch norm
    stays as it is.

    Examples
    --------
    >>> import torch
    >>> from napari_densitybuild.nets import build_net
    >>> net = build_net({"name": "compact"}).eval()
    >>> x = torch.randn(2, 1, 22, 22, 22)
    >>> bool(torch.allclose(net(x), fold_batchnorm(net)(x), atol=1e-4))
    True
    """
    out = copy.deepcopy(net).eval()
    for module in out.modules():
        if isinstance(module, nn.Sequential):
            _fold_sequential(module)
        elif isinstance(module, Bottleneck) and isinstance(module.bn, nn.BatchNorm3d):
            module.conv = fuse_conv_bn_eval(module.conv, module.bn)
            module.bn = nn.Identity()
    return out
