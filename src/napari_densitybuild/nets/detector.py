"""A small fully convolutional 3D U-Net that finds C-alpha atoms in a density map.

Input: one channel, a Cartesian map tile at ``spacing`` A per voxel (1.0 A for the shipped net),
indexed (z, y, x) and normalised by the map's global mean and sd. Output, per voxel,
``OUT_CHANNELS`` = 10 channels:

* 0: C-alpha logit (the voxel is within about 1 A of a C-alpha);
* 1-3: offset (index units, z, y, x) from the voxel centre to that C-alpha;
* 4-6: direction CA->N (z, y, x; not normalised, normalise before use);
* 7-9: direction CA->C (z, y, x).

Levels: ``base`` channels at full resolution, 2x at half, 3x at quarter resolution (each level
two 3^3 convs with batch norm and ReLU), trilinear upsampling and skip concatenation back up.
Tile edges must be multiples of 4. The net has no global operation, so a map can be run in
overlapping tiles (see :mod:`napari_densitybuild.place`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

#: Output channels: logit, offset (3), CA->N (3), CA->C (3).
OUT_CHANNELS = 10


def _double(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv3d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


class DetectorNet(nn.Module):
    """Three-level 3D U-Net with a 10-channel per-voxel head.

    Parameters
    ----------
    base
        Channels at full resolution (2x and 3x at the lower levels).
    spacing
        Voxel size in A the net was trained at (recorded; placement resamples to it).
    """

    def __init__(self, base: int = 16, spacing: float = 1.0):
        super().__init__()
        c1, c2, c3 = base, 2 * base, 3 * base
        self.base, self.spacing = base, spacing
        self.enc0 = _double(1, c1)
        self.enc1 = _double(c1, c2, stride=2)
        self.enc2 = _double(c2, c3, stride=2)
        self.dec1 = _double(c3 + c2, c2)
        self.dec0 = _double(c2 + c1, c1)
        self.head = nn.Conv3d(c1, OUT_CHANNELS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, D, H, W) -> (B, 10, D, H, W); D, H, W multiples of 4."""
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        u1 = F.interpolate(e2, size=e1.shape[2:], mode="trilinear", align_corners=False)
        d1 = self.dec1(torch.cat([u1, e1], 1))
        u0 = F.interpolate(d1, size=e0.shape[2:], mode="trilinear", align_corners=False)
        d0 = self.dec0(torch.cat([u0, e0], 1))
        return self.head(d0)


def detector_config(net: DetectorNet) -> dict:
    """The JSON-able config that rebuilds ``net`` with :func:`build_detector`."""
    return {"name": "detector", "base": int(net.base), "spacing": float(net.spacing)}


def build_detector(config: dict) -> DetectorNet:
    """Build a :class:`DetectorNet` from its config (random weights)."""
    return DetectorNet(base=int(config.get("base", 16)), spacing=float(config.get("spacing", 1.0)))
