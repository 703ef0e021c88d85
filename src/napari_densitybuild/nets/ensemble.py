"""Several classifier nets that read the same box, averaged: one module, one weights file.

The members' log-probabilities are averaged (a normalised geometric mean of their
probabilities once the classifier applies softmax), and so are their pose coordinates, so an
ensemble is used exactly like a single net. Config::

    {"name": "ensemble", "members": [{"name": "compact", ...}, {"name": "compact", ...}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


class Ensemble(nn.Module):
    """Average of member nets (all with the same classes, input box and pose head or none).

    Parameters
    ----------
    members
        Net configs (see :func:`~napari_densitybuild.nets.build_net`); ensembles do not nest.

    Examples
    --------
    >>> net = Ensemble([{"name": "compact", "base": 4}, {"name": "compact", "base": 4}])
    >>> net(torch.zeros(2, 1, 22, 22, 22)).shape
    torch.Size([2, 20])
    """

    def __init__(self, members: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__()
        from . import build_net  # the registry imports this module

        if len(members) < 1 or any(m.get("name") == "ensemble" for m in members):
            raise ValueError("an ensemble needs one or more member nets, none an ensemble")
        self.members = nn.ModuleList(build_net(dict(m)) for m in members)
        heads = [getattr(m, "pose_head", None) is not None for m in self.members]
        if any(heads) and not all(heads):
            raise ValueError("either every member has a pose head or none has")
        self.input_size = getattr(self.members[0], "input_size", None)
        self.min_input_size = max(getattr(m, "min_input_size", 1) for m in self.members)

    @property
    def pose_head(self) -> nn.Module | None:
        """The first member's pose head (a marker that the ensemble predicts atoms)."""
        return getattr(self.members[0], "pose_head", None)

    def forward(
        self, x: torch.Tensor, pose: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Mean log-probabilities (B, n_classes); with ``pose`` also mean coordinates."""
        if not pose:
            return torch.stack([F.log_softmax(m(x), dim=1) for m in self.members]).mean(0)
        outs = [m(x, pose=True) for m in self.members]
        logp = torch.stack([F.log_softmax(o[0], dim=1) for o in outs]).mean(0)
        return logp, torch.stack([o[1] for o in outs]).mean(0)

    def forward_pose(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean log-probabilities and mean pose coordinates (B, n_classes, 14, 3)."""
        return self.forward(x, pose=True)
