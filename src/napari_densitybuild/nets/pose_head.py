"""A pose head: heavy-atom coordinates of every residue type, regressed from box features.

Stage 3 of the poster predicts atomic coordinates from the box. This head reads the feature
map of a classifier's middle stage (spatial, so positions are not pooled away) plus its pooled
features, and returns, for each of the 20 residue types, the coordinates of that type's heavy
atoms (:data:`~napari_densitybuild.residues.HEAVY_ATOMS` order, padded to 14) in the box's own
frame (x, y, z in Angstrom from the box centre along the frame axes). The classifier's answer,
or a user's correction, picks which type's coordinates are used, so a new label needs no new
forward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from ..residues import MAX_ATOMS, N_CLASSES


class PoseHead(nn.Module):
    """Coordinates (B, n_classes, n_atoms, 3) from a spatial feature map and pooled features.

    Parameters
    ----------
    channels
        Channels of the spatial feature map.
    spatial
        Its edge in voxels (6 for the compact net's second stage on 22^3 boxes).
    pooled
        Length of the pooled feature vector.
    reduce
        Channels after the 1^3 reduction of the feature map.
    hidden
        Width of the hidden layer.
    """

    def __init__(
        self,
        channels: int,
        spatial: int,
        pooled: int,
        reduce: int = 8,
        hidden: int = 256,
        n_classes: int = N_CLASSES,
        n_atoms: int = MAX_ATOMS,
    ) -> None:
        super().__init__()
        self.n_classes, self.n_atoms = n_classes, n_atoms
        self.reduce = nn.Sequential(
            nn.Conv3d(channels, reduce, 1, bias=False), nn.BatchNorm3d(reduce), nn.ReLU(True)
        )
        self.mlp = nn.Sequential(
            nn.Linear(reduce * spatial**3 + pooled, hidden),
            nn.ReLU(True),
            nn.Linear(hidden, n_classes * n_atoms * 3),
        )

    def forward(self, fmap: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """(B, C, s, s, s) and (B, P) -> (B, n_classes, n_atoms, 3) frame coordinates (A)."""
        x = torch.cat([torch.flatten(self.reduce(fmap), 1), torch.flatten(pooled, 1)], 1)
        return self.mlp(x).view(-1, self.n_classes, self.n_atoms, 3)

    @torch.no_grad()
    def set_mean_pose(self, mean: torch.Tensor) -> None:
        """Start from the mean pose of each type (n_classes, n_atoms, 3): the output bias."""
        last = self.mlp[-1]
        last.bias.copy_(torch.nan_to_num(mean.to(last.bias)).reshape(-1))
