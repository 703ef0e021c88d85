"""The augmentations of :mod:`.augment` and the input rule, as torch operations on any device.

On a GPU the numpy path (:func:`.augment.augment_batch`, one CPU thread) cannot feed the net:
sampling and augmenting 64 boxes takes about 17 ms on this project's CPUs, so a 512-box batch
over 100 ms, where the shipped net's training step on an H200 takes 13 ms. These
functions do the same operations, with the same distributions, on the tensors where they live;
randomness comes from one ``torch.Generator`` on that device (so a run's draws differ from the
numpy path's, but are repeatable from a checkpoint of the generator).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from .augment import ROTATIONS, AugmentConfig, rotate90

_CPU = torch.device("cpu")


def _uniform(
    n: int, lo: float, hi: float, gen: torch.Generator, device: torch.device
) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=device)


def gaussian_matrices_t(sd: torch.Tensor, n: int) -> torch.Tensor:
    """(B, n, n) row-normalised Gaussian filter matrices (as :func:`.augment.gaussian_matrices`)."""
    sd = sd.clamp_min(1e-3).to(torch.float32)[:, None, None]
    ar = torch.arange(n, device=sd.device, dtype=torch.float32)
    d = ar[:, None] - ar[None, :]
    k = torch.exp(-0.5 * (d[None] / sd) ** 2)
    full = torch.arange(-n + 1, n, device=sd.device, dtype=torch.float32)
    norm = torch.exp(-0.5 * (full[None, :] / sd[:, 0]) ** 2).sum(1)
    return k / norm[:, None, None]


def gaussian_filter_t(x: torch.Tensor, sd: torch.Tensor) -> torch.Tensor:
    """Separable zero-padded Gaussian filter of each (n, n, n) box with its own sd (voxels)."""
    b, n = x.shape[0], x.shape[-1]
    k = gaussian_matrices_t(sd, n)
    for _ in range(3):
        x = torch.bmm(k, x.reshape(b, n, n * n)).reshape(b, n, n, n).permute(0, 2, 3, 1)
    return x.contiguous()


@functools.cache
def rotation_table(n: int, device: torch.device = _CPU) -> torch.Tensor:
    """(24, n^3) flat source index of every voxel of an (n, n, n) box under each cube rotation
    (made once per edge and device)."""
    flat = np.arange(n**3).reshape(1, n, n, n)
    table = [rotate90(flat, np.array([r]))[0].ravel() for r in range(len(ROTATIONS))]
    return torch.as_tensor(np.stack(table), device=device)


def rotate90_t(x: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Rotate box ``b`` by cube rotation ``ROTATIONS[which[b]]`` (:func:`.augment.rotate90`).

    One gather through :func:`rotation_table`: no per-rotation loop, no wait on the device.
    """
    b, n = x.shape[0], x.shape[-1]
    index = rotation_table(n, x.device)[which]
    return x.reshape(b, -1).gather(1, index).reshape(x.shape)


def crop_t(x: torch.Tensor, size: int, starts: torch.Tensor) -> torch.Tensor:
    """Crop each box to edge ``size`` at its own (z, y, x) start (``starts``: (B, 3) integers)."""
    ar = torch.arange(size, device=x.device)
    i, j, k = (starts[:, a, None] + ar for a in range(3))
    b = torch.arange(len(x), device=x.device)
    return x[b[:, None, None, None], i[:, :, None, None], j[:, None, :, None], k[:, None, None, :]]


def augment_batch_t(
    boxes: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator, frame: str = "backbone"
) -> torch.Tensor:
    """Augment raw boxes (B, n, n, n) on their device; float32 out, not yet normalised.

    The same steps and distributions as :func:`.augment.augment_batch`: cube rotations (axis
    frame only), random crops, signal scale, extra blur, smooth noise and offset.
    """
    x = boxes.to(torch.float32)
    bsz, n, dev = len(x), x.shape[-1], x.device
    if cfg.rotate90 and frame == "axis":
        x = rotate90_t(x, torch.randint(0, len(ROTATIONS), (bsz,), generator=gen, device=dev))
    if cfg.crop and cfg.crop < n:
        starts = torch.randint(0, n - cfg.crop + 1, (bsz, 3), generator=gen, device=dev)
        x = crop_t(x, cfg.crop, starts)
    if cfg.scale != (1.0, 1.0):
        x = x * _uniform(bsz, *cfg.scale, gen, dev)[:, None, None, None]
    if cfg.blur > 0:
        x = gaussian_filter_t(x, _uniform(bsz, 0.0, cfg.blur, gen, dev))
    if cfg.noise > 0:
        m = x.shape[-1]
        white = torch.randn((bsz, m, m, m), generator=gen, device=dev)
        smooth = gaussian_filter_t(white, torch.full((bsz,), cfg.noise_smooth, device=dev))
        sd = smooth.reshape(bsz, -1).std(dim=1, unbiased=False).clamp_min(1e-6)
        amp = _uniform(bsz, 0.0, cfg.noise, gen, dev) / sd
        x = x + amp[:, None, None, None] * smooth
    if cfg.offset:
        x = x + cfg.offset * torch.randn(bsz, generator=gen, device=dev)[:, None, None, None]
    return x


def normalise_boxes_t(x: torch.Tensor, eps: float = 0.1) -> torch.Tensor:
    """Per-box standardisation, the rule of :func:`napari_densitybuild.boxes.normalise_boxes`."""
    dims = tuple(range(1, x.ndim))
    mean = x.mean(dim=dims, keepdim=True)
    sd = x.std(dim=dims, keepdim=True, unbiased=False)
    return (x - mean) / sd.clamp_min(eps)
