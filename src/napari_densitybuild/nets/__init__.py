"""Residue-classifier networks (``nn.Module`` only) and the config that builds them.

A net is named by a small JSON-able dict, stored with its weights::

    {"name": "compact", "base": 16, "blocks": [3, 3]}
    {"name": "resnet11", "width": 1.0, "repeats": 11}
    {"name": "ensemble", "members": [{"name": "compact", ...}, {"name": "compact", ...}]}

Examples
--------
>>> net = build_net({"name": "compact"})
>>> count_params(net) > 0
True
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from ..errors import DensityBuildError
from .compact import CompactNet
from .ensemble import Ensemble
from .resnet11 import ResNet11

#: Config name -> module class.
NETS: dict[str, type[nn.Module]] = {
    "resnet11": ResNet11,
    "compact": CompactNet,
    "ensemble": Ensemble,
}

__all__ = [
    "NETS",
    "CompactNet",
    "Ensemble",
    "ResNet11",
    "build_net",
    "count_flops",
    "count_params",
]


def full_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config with every default filled in (what is saved next to the weights).

    Raises
    ------
    DensityBuildError
        For an unknown net name or option.
    """
    if not isinstance(config, dict) or "name" not in config:
        raise DensityBuildError(f"a net config is a dict with a 'name' (got {config!r})")
    name = config["name"]
    if name not in NETS:
        raise DensityBuildError(f"unknown net {name!r}; known nets: {', '.join(NETS)}")
    params = inspect.signature(NETS[name].__init__).parameters
    options = {k: v.default for k, v in params.items() if k != "self"}
    unknown = sorted(set(config) - set(options) - {"name"})
    if unknown:
        raise DensityBuildError(
            f"net {name!r} has no option(s) {', '.join(unknown)}; options: {', '.join(options)}"
        )
    options.update({k: v for k, v in config.items() if k != "name"})
    if "blocks" in options:
        options["blocks"] = [int(b) for b in options["blocks"]]
    if name == "ensemble":
        members = options["members"]
        if not isinstance(members, (list, tuple)) or not members:
            raise DensityBuildError("an ensemble config needs a non-empty list of 'members'")
        options["members"] = [full_config(m) for m in members]
    return {"name": name, **options}


def build_net(config: dict[str, Any]) -> nn.Module:
    """Build a net from its config (``{"name": ..., **options}``); weights are random.

    Parameters
    ----------
    config
        ``name`` is one of :data:`NETS`; other keys are the class's keyword arguments.

    Returns
    -------
    torch.nn.Module
        The net, in training mode, on the current default device.
    """
    cfg = full_config(config)
    name = cfg.pop("name")
    try:
        return NETS[name](**cfg)
    except (TypeError, ValueError) as e:
        raise DensityBuildError(f"bad options for net {name!r}: {e}") from None


def count_params(net: nn.Module) -> int:
    """Number of learnable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def learnable_layers(net: nn.Module) -> int:
    """Number of conv and linear layers (the poster's "learnable layers"; batch norm excluded)."""
    return sum(isinstance(m, (nn.Conv3d, nn.Linear)) for m in net.modules())


def count_flops(net: nn.Module, input_size: int | tuple[int, int, int]) -> int:
    """FLOPs of one forward pass for one box: 2 x multiply-adds of every conv and linear layer.

    Batch norm, ReLU, pooling and biases are left out (they are < 1 % here).

    Parameters
    ----------
    net
        The net (its mode and device are kept).
    input_size
        Box edge in voxels, or a (z, y, x) shape.
    """
    shape = (input_size,) * 3 if isinstance(input_size, int) else tuple(input_size)
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv3d):
            k = module.kernel_size
            per_out = module.in_channels // module.groups * k[0] * k[1] * k[2]
            total += 2 * per_out * output[0].numel()
        else:
            total += 2 * module.in_features * module.out_features

    handles = [
        m.register_forward_hook(hook)
        for m in net.modules()
        if isinstance(m, (nn.Conv3d, nn.Linear))
    ]
    was_training = net.training
    try:
        net.eval()
        p = next(net.parameters())
        with torch.no_grad():
            net(torch.zeros((1, 1, *shape), dtype=p.dtype, device=p.device))
    finally:
        net.train(was_training)
        for h in handles:
            h.remove()
    return total
