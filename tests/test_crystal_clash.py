"""Contacts with crystal copies in refinement: found with the affine that makes each copy,
links and duplicates across a crystal contact left alone, and pushed apart by the target."""

from __future__ import annotations

import gemmi
import numpy as np
import torch

from napari_densitybuild.crystal_clash import image_energy, image_pairs
from napari_densitybuild.refine import NONBONDED, AtomModel
from napari_densitybuild.symmetry import Symmetry

SYM = Symmetry.from_cell(gemmi.UnitCell(20, 30, 30, 90, 90, 90), "P 1")


def model(atoms: list[tuple[int, str, tuple[float, float, float]]]) -> AtomModel:
    res = np.array([r for r, _, _ in atoms])
    return AtomModel(np.array([p for _, _, p in atoms], dtype=float),
                     np.array([a for _, a, _ in atoms], dtype=object),
                     np.array([a[0] for _, a, _ in atoms], dtype=object), res,
                     np.array(["ALA"] * (res.max() + 1), dtype=object),
                     np.zeros(res.max() + 1, dtype=bool))  # fmt: skip


def test_a_side_chain_in_a_copy_is_found_and_pushed_out():
    # residue 0's CB at x = 19 sits 1.5 A from the copy (x + 20) of residue 1's CB at x = 0.5
    m = model([(0, "CA", (16.0, 5.0, 5.0)), (0, "CB", (19.0, 5.0, 5.0)),
               (1, "CA", (2.0, 5.0, 5.0)), (1, "CB", (0.5, 5.0, 5.0))])  # fmt: skip
    pairs = image_pairs(m.xyz, m, SYM, NONBONDED + 1.0)
    x = torch.tensor(m.xyz)
    image = torch.einsum("pab,pb->pa", torch.tensor(pairs.rot), x[pairs.j]) + torch.tensor(
        pairs.trans)  # fmt: skip
    d = torch.linalg.norm(x[pairs.i] - image, dim=1).numpy()
    cb = [(int(i), int(j)) for i, j in zip(pairs.i, pairs.j)].index((1, 3))
    assert abs(d[cb] - 1.5) < 1e-9
    assert image_energy(x, pairs, NONBONDED) > 0
    # gradient descent on the term alone moves the two CBs apart
    for _ in range(200):
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(image_energy(x, pairs, NONBONDED), x)
        x = (x - 0.002 * grad).detach()
    apart = x[3].numpy() + np.array([20.0, 0.0, 0.0]) - x[1].numpy()
    assert np.linalg.norm(apart) > 2.5
    # the same atom from the other side: residue 1's CB near the copy (x - 20) of residue 0's
    assert (3, 1) in [(int(i), int(j)) for i, j in zip(pairs.i, pairs.j)]


def test_links_duplicates_and_no_symmetry_are_left_alone():
    # residue 0's C 1.33 A from the copy of residue 1's N: a chain running on into the copy
    link = model([(0, "CA", (17.5, 5.0, 5.0)), (0, "C", (18.9, 5.0, 5.0)),
                  (1, "N", (0.23, 5.0, 5.0)), (1, "CA", (1.6, 5.0, 5.0))])  # fmt: skip
    assert len(image_pairs(link.xyz, link, SYM, NONBONDED + 1.0)) == 0
    # residue 1's CA 0.5 A from the copy of residue 0's CA: one residue built twice
    dup = model([(0, "CA", (19.6, 5.0, 5.0)), (0, "CB", (19.6, 6.5, 5.0)),
                 (1, "CA", (0.1, 5.0, 5.0)), (1, "CB", (0.1, 3.5, 5.0))])  # fmt: skip
    assert len(image_pairs(dup.xyz, dup, SYM, NONBONDED + 1.0)) == 0
    assert len(image_pairs(link.xyz, link, None, NONBONDED + 1.0)) == 0
    assert len(image_pairs(link.xyz, link, Symmetry.none(), NONBONDED + 1.0)) == 0
