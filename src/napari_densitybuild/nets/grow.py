"""Start a deeper net from a trained one: the extra residual blocks begin as identities.

A :class:`~.resnet11.Bottleneck` computes ``relu(x + bn(conv(...)))`` on an input that is
already the output of a ReLU, so with its last batch-norm scale at zero it returns ``x``
unchanged. Loading a trained net's weights into a net with more blocks (e.g. ``compact``
``blocks [3, 3]`` into ``[3, 3, 3]``) and zeroing that scale in every new block gives a net
that predicts exactly what the trained one does, and that training can then improve.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import DensityBuildError
from .resnet11 import Bottleneck


def load_grown(net: nn.Module, source: nn.Module) -> list[str]:
    """Load ``source``'s weights into ``net``, whose extra residual blocks start as identities.

    Parameters
    ----------
    net
        The target net: every parameter and buffer of ``source`` under the same name and
        shape, plus zero or more whole :class:`~.resnet11.Bottleneck` blocks that
        ``source`` lacks.
    source
        The trained net.

    Returns
    -------
    list of str
        Names of the new blocks (empty when the two nets have the same layers).

    Raises
    ------
    DensityBuildError
        If a weight of ``source`` is missing from ``net`` or has another shape, or ``net``
        has new weights outside whole new residual blocks.
    """
    have, want = source.state_dict(), net.state_dict()
    lost = sorted(k for k in have if k not in want)
    resized = sorted(k for k in have if k in want and have[k].shape != want[k].shape)
    if lost or resized:
        raise DensityBuildError(
            "cannot grow this net from those weights: "
            + "; ".join(f"{what}: {', '.join(keys[:4])}" for what, keys in
                        (("missing in the new net", lost), ("other shapes", resized)) if keys)
        )  # fmt: skip
    new_blocks = [
        name
        for name, m in net.named_modules()
        if isinstance(m, Bottleneck) and not any(k.startswith(f"{name}.") for k in have)
    ]
    covered = tuple(f"{name}." for name in new_blocks)
    stray = sorted(k for k in want if k not in have and not k.startswith(covered))
    if stray:
        raise DensityBuildError(
            f"cannot grow this net from those weights: new weights outside new residual "
            f"blocks ({', '.join(stray[:4])})"
        )
    net.load_state_dict(have, strict=False)
    modules = dict(net.named_modules())
    with torch.no_grad():
        for name in new_blocks:
            modules[name].bn.weight.zero_()
    return new_blocks
