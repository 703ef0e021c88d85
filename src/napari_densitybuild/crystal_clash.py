"""Non-bonded contacts with crystal neighbours, for refinement.

Refinement keeps atoms of residues that are not linked at least
:data:`~.refine.NONBONDED` apart within the model; in a crystal the model also touches its
symmetry copies, and a side chain built into density that is really a neighbour's (or two
fragments built on either side of a crystal contact) can end up inside a copy's atoms. Builds
of the 16 real maps had 1-11 residues in contacts under 2.2 A with a crystal copy per map
(98 on 4IID). :func:`image_pairs` lists, for the atoms of a model, the crystal images of its
atoms within reach, each with the Cartesian affine that makes it, so the refinement target can
move the images with the atoms they copy (:func:`image_energy`). Left out: an atom's own images,
residues linked to a copy of another through a peptide-like C-N contact under 2 A (a chain
that runs on in the next asymmetric unit: a link, not a clash), and residues whose C-alpha lies
within 1.5 A of a copy's C-alpha (the same residue built twice; pushing the copies apart would
move both out of density).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from .refine import AtomModel
    from .symmetry import Symmetry

#: Peptide-like C-N contact (A) that makes two residues linked across a crystal contact.
LINK = 2.0
#: C-alpha distance (A) under which a residue and a copy of another are the same residue.
DUPLICATE = 1.5


@dataclass(frozen=True)
class ImagePairs:
    """Atom ``i`` of the model near the image ``rot[p] @ x[j] + trans[p]`` of atom ``j``."""

    i: np.ndarray
    j: np.ndarray
    rot: np.ndarray
    trans: np.ndarray

    def __len__(self) -> int:
        return len(self.i)


def image_pairs(
    xyz: np.ndarray, model: AtomModel, sym: Symmetry | None, reach: float
) -> ImagePairs:
    """Pairs of model atoms and crystal images of model atoms closer than ``reach`` (A).

    Parameters
    ----------
    xyz
        (N, 3) atom positions of ``model``.
    model
        The :class:`~.refine.AtomModel` (residues and atom names).
    sym
        The crystal's symmetry (None or not periodic: no pairs).
    reach
        Distance (A) within which pairs are listed.
    """
    from scipy.spatial import cKDTree

    empty = ImagePairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3, 3)),
                       np.zeros((0, 3)))  # fmt: skip
    xyz = np.asarray(xyz, dtype=float)
    if sym is None or not sym.periodic or not len(xyz):
        return empty
    images = sym.images(xyz, box=(xyz.min(0) - reach, xyz.max(0) + reach), copies_only=True)
    pos, src, op, shift = images["xyz"], images["src"], images["op"], images["shift"]
    if not len(pos):
        return empty
    hits = cKDTree(pos).query_ball_point(xyz, reach)
    i = np.repeat(np.arange(len(xyz)), [len(h) for h in hits])
    k = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits]) if len(i) else i
    if not len(i):
        return empty
    j = src[k]
    # one key per (residue, copy of residue): the copy is (residue of j, op, shift)
    res_i, res_j = model.residue[i], model.residue[j]
    copy = np.column_stack([res_j, op[k], shift[k]]).astype(np.int64)
    _, copy_id = np.unique(copy, axis=0, return_inverse=True)
    copy_id = copy_id.ravel()
    d = np.linalg.norm(xyz[i] - pos[k], axis=1)
    names_i, names_j = model.atom[i], model.atom[j]
    link = ((names_i == "C") & (names_j == "N")) | ((names_i == "N") & (names_j == "C"))
    same = (names_i == "CA") & (names_j == "CA") & (d < DUPLICATE)
    skip = {(int(a), int(b)) for a, b in zip(res_i[(link & (d < LINK)) | same],
                                            copy_id[(link & (d < LINK)) | same])}  # fmt: skip
    keep = np.array([(int(a), int(b)) not in skip for a, b in zip(res_i, copy_id)], dtype=bool)
    keep &= i != j
    if not keep.any():
        return empty
    rot = sym.cart_rotations()[op[k][keep]]
    trans = (sym.tran[op[k][keep]] + shift[k][keep]) @ sym.orth.T
    return ImagePairs(i[keep], j[keep], rot, trans)


def image_energy(x: torch.Tensor, pairs: ImagePairs, limit: float, sd: float = 0.2) -> torch.Tensor:
    """Half the sum of ((limit - d) / sd)^2 over the pairs closer than ``limit``.

    The images move with ``x``; every contact is listed from both sides (atom i near a copy of
    j, and j near the inverse copy of i), hence the half.
    """
    if not len(pairs):
        return x.new_zeros(())
    rot = torch.as_tensor(pairs.rot, dtype=x.dtype)
    trans = torch.as_tensor(pairs.trans, dtype=x.dtype)
    image = torch.einsum("pab,pb->pa", rot, x[pairs.j]) + trans
    d = torch.linalg.norm(x[pairs.i] - image, dim=1)
    return 0.5 * ((torch.relu(limit - d) / sd) ** 2).sum()
