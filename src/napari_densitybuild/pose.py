"""Stage 3: atom poses. The pose head predicts, for each box and each residue type, the heavy
atoms of that type in the box's frame; this module turns them into world coordinates.

Frame coordinates are (x, y, z) in Angstrom from the box centre along the frame's axes (the
columns of the rotation, see :mod:`napari_densitybuild.boxes`): ``world = centre + R @ p``.
Atoms are in :data:`~napari_densitybuild.residues.HEAVY_ATOMS` order; a type with fewer than
14 atoms ignores the rest.
"""

from __future__ import annotations

import numpy as np

from .residues import AMINO_ACIDS, HEAVY_ATOMS


def frame_to_world(coords: np.ndarray, centres: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """World positions (B, ..., 3) of frame coordinates (B, ..., 3) in frames (B, 3) + (B, 3, 3)."""
    coords = np.asarray(coords, dtype=float)
    flat = coords.reshape(len(coords), -1, 3)
    world = np.einsum("bij,baj->bai", np.asarray(rotations, float), flat)
    world += np.asarray(centres, float)[:, None, :]
    return world.reshape(coords.shape)


def world_to_frame(xyz: np.ndarray, centres: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """Inverse of :func:`frame_to_world`."""
    xyz = np.asarray(xyz, dtype=float)
    flat = xyz.reshape(len(xyz), -1, 3) - np.asarray(centres, float)[:, None, :]
    return np.einsum("bji,baj->bai", np.asarray(rotations, float), flat).reshape(xyz.shape)


def residue_atoms(type_index: int, coords14: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """(atom name, element, position) of one residue of class ``type_index`` from (14, 3)."""
    names = HEAVY_ATOMS[AMINO_ACIDS[type_index]]
    return [(n, n[0], np.asarray(coords14[k], dtype=float)) for k, n in enumerate(names)]
