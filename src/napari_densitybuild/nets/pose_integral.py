"""An integral-regression pose head: a heat map per atom, its expected position as coordinates.

The poster's stage 3 refers to pose estimation, where key points are heat maps; integral
regression (Sun et al., ECCV 2018) takes each heat map's softmax-weighted mean position as the
coordinate, so the loss stays on coordinates (``training/pose_loss.py``) and the output keeps
sub-voxel precision. Here, from the classifier's middle-stage feature map: a 3^3 convolution,
trilinear upsampling to a 12^3 grid spanning the box, a 3^3 convolution, and one 1^3 output
channel per (type, heavy atom): (B, n_classes, n_atoms, 3) box-frame coordinates (x, y, z, A),
the same output as :class:`~.pose_head.PoseHead`.

The grid's corners sit where the feature map's corner voxels look (the centres of input voxels
0 and 20 of a 22^3 box at 0.5 A: -5.25 and +4.75 A on each axis), so the heat maps and the map
share one geometry; 0.2 % of simulated validation atoms lie outside that span.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..residues import MAX_ATOMS, N_CLASSES


class IntegralPoseHead(nn.Module):
    """Coordinates (B, n_classes, n_atoms, 3) as the mean positions of per-atom heat maps.

    Parameters
    ----------
    channels
        Channels of the spatial feature map.
    spatial
        Its edge in voxels (unused: the grid is upsampled to ``grid``; kept so that both pose
        heads are built with the same arguments).
    pooled
        Length of the pooled feature vector (unused, as ``spatial``).
    hidden
        Channels of the two convolutions.
    grid
        Edge of the heat maps.
    span
        (first, last) grid-point coordinate along each frame axis (A).
    """

    def __init__(
        self,
        channels: int,
        spatial: int,
        pooled: int,
        hidden: int = 32,
        grid: int = 12,
        span: tuple[float, float] = (-5.25, 4.75),
        n_classes: int = N_CLASSES,
        n_atoms: int = MAX_ATOMS,
    ) -> None:
        super().__init__()
        self.n_classes, self.n_atoms, self.grid = n_classes, n_atoms, grid
        self.reduce = nn.Sequential(
            nn.Conv3d(channels, hidden, 3, padding=1, bias=False),
            nn.BatchNorm3d(hidden),
            nn.ReLU(True),
        )
        self.heat = nn.Sequential(
            nn.Conv3d(hidden, hidden, 3, padding=1, bias=False),
            nn.BatchNorm3d(hidden),
            nn.ReLU(True),
            nn.Conv3d(hidden, n_classes * n_atoms, 1),
        )
        self.span = (float(span[0]), float(span[1]))

    def heat_maps(self, fmap: torch.Tensor) -> torch.Tensor:
        """(B, C, s, s, s) -> (B, n_classes * n_atoms, g, g, g) probabilities (each sums to 1)."""
        x = F.interpolate(self.reduce(fmap), size=self.grid, mode="trilinear", align_corners=True)
        h = self.heat(x).float()
        return torch.softmax(h.flatten(2), -1).view(h.shape)

    def forward(self, fmap: torch.Tensor, pooled: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, s, s, s) -> (B, n_classes, n_atoms, 3) frame coordinates (A)."""
        p = self.heat_maps(fmap)
        axis = torch.linspace(*self.span, self.grid, device=p.device, dtype=p.dtype)
        xyz = expected_positions(p, axis)
        return xyz.view(-1, self.n_classes, self.n_atoms, 3)


def expected_positions(p: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """Mean positions (..., 3) as (x, y, z) of probability maps (..., g, g, g) indexed (z, y, x),
    as boxes are, whose grid points lie at ``axis`` (g,) along each frame axis."""
    axis = axis.to(p.dtype)
    x = (p.sum((-3, -2)) * axis).sum(-1)
    y = (p.sum((-3, -1)) * axis).sum(-1)
    z = (p.sum((-2, -1)) * axis).sum(-1)
    return torch.stack([x, y, z], -1)
