"""Boxes cut on the device: the map's unit cell as a torch tensor, sampled for many frames at once.

:class:`DeviceMap` holds a :class:`~napari_densitybuild.maps.DensityMap`'s periodic grid on a
torch device (CUDA, MPS or CPU) and cuts boxes in any frames with one vectorised trilinear
interpolation that wraps around the cell, like gemmi's (``order=1``) interpolation that
:func:`~napari_densitybuild.boxes.cut_boxes` uses. On a GPU the boxes never leave the device
between cutting and the classifier; on the CPU it is a batched alternative to the per-box loop.
"""

from __future__ import annotations

import numpy as np
import torch

from .boxes import BoxSpec
from .maps import DensityMap


class DeviceMap:
    """A map's unit cell on a device, for batched box cutting.

    Parameters
    ----------
    dmap
        The map.
    device
        Where to keep the grid (``torch.device`` or name).
    dtype
        Grid dtype (float32; float16 halves the memory on a GPU).
    """

    def __init__(self, dmap: DensityMap, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:  # fmt: skip
        self.device = torch.device(device)
        arr = np.array(dmap.grid, copy=False)  # (nu, nv, nw) along a, b, c
        self.shape = torch.tensor(arr.shape, device=self.device)
        self.grid = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device, dtype)
        frac = np.array(dmap.grid.unit_cell.frac.mat.tolist())
        self.frac = torch.tensor(frac, dtype=torch.float64, device=self.device)
        self.offset = torch.tensor(dmap.offset, dtype=torch.float64, device=self.device)

    def sample(self, xyz: torch.Tensor) -> torch.Tensor:
        """Trilinear, periodic values at world positions (..., 3) (float64 in, grid dtype out)."""
        g = ((xyz - self.offset) @ self.frac.T) * self.shape.to(torch.float64)
        base = torch.floor(g)
        t = (g - base).to(self.grid.dtype)
        i0 = base.to(torch.long)
        out = torch.zeros(xyz.shape[:-1], dtype=self.grid.dtype, device=self.device)
        n = self.shape
        for corner in range(8):
            d = torch.tensor([(corner >> 2) & 1, (corner >> 1) & 1, corner & 1],
                             device=self.device)  # fmt: skip
            idx = torch.remainder(i0 + d, n)
            w = torch.prod(torch.where(d.bool(), t, 1 - t), dim=-1)
            out += w * self.grid[idx[..., 0], idx[..., 1], idx[..., 2]]
        return out

    def cut(
        self, centres: np.ndarray | torch.Tensor, rotations: np.ndarray | torch.Tensor,
        spec: BoxSpec | None = None,
    ) -> torch.Tensor:  # fmt: skip
        """Boxes (B, n, n, n) indexed (z, y, x) in each frame, as :func:`~.boxes.cut_boxes`."""
        spec = spec or BoxSpec()
        c = torch.as_tensor(np.asarray(centres, dtype=float), device=self.device).reshape(-1, 3)
        r = torch.as_tensor(np.asarray(rotations, dtype=float), device=self.device)
        r = r.reshape(-1, 3, 3)
        n, s = spec.size, spec.spacing
        k = (torch.arange(n, device=self.device, dtype=torch.float64) - (n - 1) / 2.0) * s
        zz, yy, xx = torch.meshgrid(k, k, k, indexing="ij")
        local = torch.stack([xx, yy, zz], dim=-1)  # frame (x, y, z) of element [i, j, k]
        world = c[:, None, None, None, :] + torch.einsum("bij,zyxj->bzyxi", r, local)
        return self.sample(world)
