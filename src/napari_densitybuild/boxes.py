"""Residue boxes: a box is a frame (centre + rotation), and one sampler cuts boxes in any frame.

Frame convention (the "backbone frame"; placement must predict the same frame):

* origin at CA; x axis along CA->C; y axis in the N-CA-C plane, perpendicular to x, on the side
  of N; z = x cross y (right-handed);
* the box centre is CA + ``CENTRE_SHIFT`` (2.4 A) along CA->CB, where CB is the *ideal* CB built
  from N, CA, C (so glycine gets a box like any other residue);
* the box axes are the frame axes: crop ``[i, j, k]`` holds the density at
  ``centre + R @ (s * (k - c), s * (j - c), s * (i - c))`` with ``c = (n - 1) / 2`` and
  ``s`` the spacing, i.e. crops are indexed (z, y, x) in the frame, like napari volumes.

The poster's convention (box axis-aligned at CA, rotations by multiples of 90 degrees) is the
same sampler with ``rotation = identity`` and ``centre_shift = 0``; see :func:`poster_frames`.

Every net input passes through :func:`normalise_boxes` (per-box mean 0, sd 1), one rule for real
and simulated maps that does not depend on how much solvent or vacuum surrounds the molecule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .maps import DensityMap

#: Distance (A) from CA to the box centre along CA->CB.
CENTRE_SHIFT = 2.4
#: Box edge in Angstrom (the poster's 11 A).
BOX_EDGE = 11.0


@dataclass(frozen=True)
class BoxSpec:
    """How a net wants its boxes: ``size`` voxels per edge at ``spacing`` Angstrom."""

    size: int = 22
    spacing: float = 0.5
    frame: str = "backbone"  # or "axis" (the poster's axis-aligned boxes at CA)

    @classmethod
    def poster(cls) -> BoxSpec:
        """The poster's boxes: 44^3 at 0.25 A, axis-aligned (41^3 random crops in training)."""
        return cls(size=44, spacing=0.25, frame="axis")


def ideal_cb(n: np.ndarray, ca: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Ideal CB positions (..., 3) from backbone N, CA, C (L-amino acid geometry)."""
    b = ca - n
    cc = c - ca
    a = np.cross(b, cc)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca


def backbone_frames(
    n: np.ndarray,
    ca: np.ndarray,
    c: np.ndarray,
    centre_shift: float = CENTRE_SHIFT,
    fallback: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Box centres (B, 3) and rotations (B, 3, 3) from N, CA, C positions (B, 3) each.

    Rotation columns are the frame's x, y, z axes in world coordinates. Where N, CA and C give
    no frame (coincident, or in a line) the frame is NaN, or with ``fallback`` centred on CA
    and aligned with the axes (a damaged model file's residue still gets a box).
    """
    n, ca, c = (np.asarray(v, dtype=float).reshape(-1, 3) for v in (n, ca, c))
    with np.errstate(invalid="ignore", divide="ignore"):
        x = c - ca
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        v = n - ca
        y = v - (v * x).sum(1, keepdims=True) * x
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        z = np.cross(x, y)
        rot = np.stack([x, y, z], axis=2)
        cb_dir = ideal_cb(n, ca, c) - ca
        cb_dir /= np.linalg.norm(cb_dir, axis=1, keepdims=True)
    centre = ca + centre_shift * cb_dir
    if fallback:
        bad = ~(np.isfinite(centre).all(1) & np.isfinite(rot).all((1, 2)))
        centre[bad], rot[bad] = ca[bad], np.eye(3)
    return centre, rot


def poster_frames(ca: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The poster's frames: centred at CA, axis-aligned."""
    ca = np.asarray(ca, dtype=float).reshape(-1, 3)
    return ca.copy(), np.repeat(np.eye(3)[None], len(ca), axis=0)


def random_rotations(count: int, max_angle_deg: float, rng: np.random.Generator) -> np.ndarray:
    """Random rotation matrices (count, 3, 3) about uniform axes, angles up to ``max_angle_deg``."""
    axis = rng.normal(size=(count, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = np.deg2rad(rng.uniform(-max_angle_deg, max_angle_deg, size=count))
    k = np.zeros((count, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(0, 2, 1)
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3)[None] + s * k + (1 - c) * (k @ k)


def jitter_frames(
    centres: np.ndarray,
    rotations: np.ndarray,
    rng: np.random.Generator,
    max_angle_deg: float = 10.0,
    shift_sd: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Perturb frames as a detector would place them: small rotations and shifts."""
    r = random_rotations(len(centres), max_angle_deg, rng)
    return centres + rng.normal(scale=shift_sd, size=centres.shape), r @ rotations


def cut_boxes(
    dmap: DensityMap,
    centres: np.ndarray,
    rotations: np.ndarray,
    spec: BoxSpec = BoxSpec(),
    order: int = 1,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Cut one box per frame from ``dmap`` (values in map sigma units, not yet normalised).

    Parameters
    ----------
    dmap
        The map.
    centres, rotations
        Frames: (B, 3) world centres and (B, 3, 3) rotations (columns = frame axes).
    spec
        Box size and spacing.
    order
        Interpolation order (1 trilinear, 3 tricubic).
    out
        Optional (B, n, n, n) float32 array to fill.

    Returns
    -------
    numpy.ndarray
        (B, n, n, n) float32, indexed (z, y, x) in each frame.
    """
    centres = np.asarray(centres, dtype=float).reshape(-1, 3)
    rotations = np.asarray(rotations, dtype=float).reshape(-1, 3, 3)
    n, s = spec.size, spec.spacing
    if out is None:
        out = np.empty((len(centres), n, n, n), dtype=np.float32)
    # index (i, j, k) -> frame (x, y, z) = s * (k, j, i) - s * c
    perm = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=float) * s
    half = np.full(3, s * (n - 1) / 2.0)
    for b in range(len(centres)):
        matrix = rotations[b] @ perm
        origin = centres[b] - rotations[b] @ half
        out[b] = dmap.sample_transform(matrix, origin, (n, n, n), order)
    return out


def normalise_boxes(boxes: np.ndarray, eps: float = 0.1) -> np.ndarray:
    """Per-box standardisation (mean 0, sd 1), the one input rule for every map and net.

    ``eps`` keeps nearly empty boxes (solvent) from being blown up into noise.
    """
    boxes = np.asarray(boxes, dtype=np.float32)
    axes = tuple(range(1, boxes.ndim))
    mean = boxes.mean(axis=axes, keepdims=True)
    sd = boxes.std(axis=axes, keepdims=True)
    return (boxes - mean) / np.maximum(sd, eps)
