"""Training tiles for the C-alpha detector: map tiles and per-voxel targets from simulations.

A tile is a cube of ``size`` voxels at ``spacing`` A, cut from a simulated crystal map in a
random orientation (so rotation augmentation is free), indexed (z, y, x) like every net input,
and normalised by the map's global mean and sd (:func:`map_stats`), the rule placement uses
too. Targets, in the tile's index frame:

* ``label``: 1 at voxels within ``radius`` voxels of a C-alpha (all lattice images count);
* ``offset``: from the voxel to that C-alpha (index units), at labelled voxels;
* ``to_n``, ``to_c``: unit vectors CA->N and CA->C, at labelled voxels.

Tiles are made on the fly by :func:`tiles_from_simulation`; simulating a structure (~0.4 s)
is cheap next to training on the tiles it gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..boxes import random_rotations
from ..maps import DensityMap
from ..models import backbone_residues
from ..place import map_stats
from .simulate import Simulation

#: Index (i, j, k) -> world axes (x, y, z) = (k, j, i): arrays are (z, y, x).
PERM = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=float)


@dataclass(frozen=True)
class TileSpec:
    """Tile geometry: ``size`` voxels per edge (multiple of 4) at ``spacing`` A."""

    size: int = 32
    spacing: float = 1.0
    radius: float = 1.1  # voxels (index units) around a C-alpha that are labelled


def tile_matrix(rotation: np.ndarray, spacing: float) -> np.ndarray:
    """World step matrix (columns = world steps of indices i, j, k) of a rotated tile."""
    return np.asarray(rotation, dtype=float) @ PERM * spacing


def lattice_images(xyz: np.ndarray, dmap: DensityMap, centre: np.ndarray) -> np.ndarray:
    """The 27 lattice images of each point around the image nearest ``centre``: (27 N, 3)."""
    cell = dmap.cell
    frac_m = np.array(cell.frac.mat.tolist())
    orth_m = np.array(cell.orth.mat.tolist())
    f = (xyz - dmap.offset) @ frac_m.T
    fc = (centre - dmap.offset) @ frac_m.T
    f = f + np.round(fc - f)
    shifts = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    allf = (f[None] + shifts[:, None]).reshape(-1, 3)
    return allf @ orth_m.T + dmap.offset


def tile_targets(
    ca: np.ndarray, n: np.ndarray, c: np.ndarray, matrix: np.ndarray, origin: np.ndarray,
    spec: TileSpec,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Per-voxel targets for C-alphas (world, any images) in the tile ``origin + matrix @ idx``."""
    size = spec.size
    inv = np.linalg.inv(matrix)
    q = (ca - origin) @ inv.T  # index coordinates (i, j, k)
    inside = np.all((q > -2) & (q < size + 1), axis=1)
    q, n, c, ca = q[inside], n[inside], c[inside], ca[inside]
    to_n = (n - ca) @ inv.T
    to_c = (c - ca) @ inv.T
    to_n /= np.linalg.norm(to_n, axis=1, keepdims=True)
    to_c /= np.linalg.norm(to_c, axis=1, keepdims=True)
    label = np.zeros((size,) * 3, dtype=np.uint8)
    offset = np.zeros((3,) + (size,) * 3, dtype=np.float32)
    dn = np.zeros_like(offset)
    dc = np.zeros_like(offset)
    r = int(np.ceil(spec.radius))
    span = np.arange(-r, r + 1)
    nb = np.stack(np.meshgrid(span, span, span, indexing="ij"), -1).reshape(-1, 3)
    for qi, vn, vc in zip(q, to_n, to_c):
        vox = np.round(qi).astype(int) + nb
        d = qi - vox
        keep = (np.linalg.norm(d, axis=1) <= spec.radius) & np.all((vox >= 0) & (vox < size), 1)
        for v, dv in zip(vox[keep], d[keep]):
            i, j, k = v
            label[i, j, k] = 1
            offset[:, i, j, k] = dv
            dn[:, i, j, k] = vn
            dc[:, i, j, k] = vc
    return {"label": label, "offset": offset, "to_n": dn, "to_c": dc}


def tiles_from_simulation(
    sim: Simulation, count: int, rng: np.random.Generator, spec: TileSpec = TileSpec(),
    near_protein: float = 0.8,
) -> dict[str, np.ndarray]:  # fmt: skip
    """``count`` random tiles (map + targets) from one simulation, stacked along axis 0.

    ``near_protein`` of the tiles are centred within 8 A of a random C-alpha, the others
    anywhere in the cell. The map is float16 (normalised), targets as in :func:`tile_targets`.
    """
    bb, _ = backbone_residues(sim.structure)
    mean, sd = map_stats(sim.dmap)
    size = spec.size
    half = np.full(3, (size - 1) / 2.0)
    rots = random_rotations(count, 180.0, rng)
    out: dict[str, list] = {"map": [], "label": [], "offset": [], "to_n": [], "to_c": []}
    cell = sim.dmap.cell
    orth_m = np.array(cell.orth.mat.tolist())
    for t in range(count):
        if len(bb) and rng.random() < near_protein:
            centre = bb.ca[rng.integers(len(bb))] + rng.uniform(-8, 8, size=3)
        else:
            centre = rng.random(3) @ orth_m.T
        matrix = tile_matrix(rots[t], spec.spacing)
        origin = centre - matrix @ half
        vals = sim.dmap.sample_transform(matrix, origin, (size,) * 3)
        out["map"].append(((vals - mean) / sd).astype(np.float16))
        if len(bb):
            ca = lattice_images(bb.ca, sim.dmap, centre)
            reps = len(ca) // len(bb)
            shift = ca - np.tile(bb.ca, (reps, 1))
            n = np.tile(bb.n, (reps, 1)) + shift
            c = np.tile(bb.c, (reps, 1)) + shift
            tg = tile_targets(ca, n, c, matrix, origin, spec)
        else:
            tg = tile_targets(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)), matrix,
                              origin, spec)  # fmt: skip
        for k, v in tg.items():
            out[k].append(v)
    return {k: np.stack(v) for k, v in out.items()}
