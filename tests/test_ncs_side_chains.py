"""Side chains of NCS copies fitted to their summed density (ncs_side_chains.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_densitybuild.ncs_side_chains import fit_ncs_side_chains
from napari_densitybuild.refine import AtomModel
from napari_densitybuild.residues import HEAVY_ATOMS
from napari_densitybuild.rotamers import candidates

NAMES = HEAVY_ATOMS["PHE"]
#: Backbone N, CA, C, O of the first copy; the second is the first turned 90 degrees and moved.
BACKBONE = np.array([[-0.53, 1.36, 0.0], [0.0, 0.0, 0.0], [1.53, 0.0, 0.0], [2.15, -1.05, 0.0]])
TURN = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
SHIFT = np.array([25.0, 3.0, -4.0])


def _copies() -> tuple[list[np.ndarray], np.ndarray, int, int]:
    """Backbones of the two copies, the library rotamers (frame of copy 1), and two rotamers
    far apart: ``right`` (the true one) and ``wrong``."""
    backbones = [BACKBONE, BACKBONE @ TURN.T + SHIFT]
    lib = candidates("PHE", *(BACKBONE[k][None] for k in range(3)))
    spread = np.sqrt(((lib[:, None] - lib[None]) ** 2).sum(-1).mean(-1))
    right, wrong = np.unravel_index(np.argmax(spread), spread.shape)
    return backbones, lib, int(right), int(wrong)


def _side(lib: np.ndarray, k: int, copy: int) -> np.ndarray:
    """Rotamer ``k``'s side chain on copy ``copy`` (0 or 1)."""
    return lib[k] if copy == 0 else lib[k] @ TURN.T + SHIFT


def _model(sides: list[np.ndarray], backbones: list[np.ndarray]) -> AtomModel:
    xyz = np.concatenate([np.concatenate([bb, sc]) for bb, sc in zip(backbones, sides)])
    n = len(NAMES)
    return AtomModel(
        xyz, np.array(NAMES * 2, dtype=object), np.array([a[0] for a in NAMES] * 2, dtype=object),
        np.repeat([0, 1], n), np.array(["PHE", "PHE"], dtype=object), np.zeros(2, dtype=bool),
    )  # fmt: skip


def _density(blobs: list[tuple[np.ndarray, float]]):
    """A map callable: Gaussian blobs (positions, height in sigma) of width 0.6 A."""
    centres = torch.as_tensor(np.concatenate([p for p, _ in blobs]), dtype=torch.float64)
    heights = torch.as_tensor(np.concatenate([np.full(len(p), h) for p, h in blobs]))

    def rho(x: torch.Tensor) -> torch.Tensor:
        d2 = ((x[:, None, :] - centres[None]) ** 2).sum(-1)
        return (heights * torch.exp(-d2 / (2 * 0.6**2))).sum(1)

    return rho


def test_a_copy_in_a_weak_decoy_takes_its_twins_side_chain():
    backbones, lib, right, wrong = _copies()
    # copy 1: strong density for the true rotamer; copy 2: the true rotamer weak, and a slightly
    # stronger decoy where the wrong rotamer lies (a single-copy fit keeps the wrong one)
    density = _density([(np.concatenate(backbones), 3.0), (_side(lib, right, 0), 3.0),
                        (_side(lib, right, 1), 1.2), (_side(lib, wrong, 1)[1:], 1.5)])  # fmt: skip
    model = _model([_side(lib, right, 0), _side(lib, wrong, 1)], backbones)
    xyz, changed = fit_ncs_side_chains(model.xyz, model, np.array([0, 0]), density)
    assert changed.tolist() == [1]
    n = len(NAMES)
    np.testing.assert_allclose(xyz[n + 4 :], _side(lib, right, 1), atol=1e-6)
    np.testing.assert_array_equal(xyz[:n], model.xyz[:n])  # the twin that was right is kept
    # residues that are not copies of each other keep their own side chains
    same, none = fit_ncs_side_chains(model.xyz, model, np.array([0, 1]), density)
    assert len(none) == 0 and np.array_equal(same, model.xyz)


def test_copies_that_differ_in_their_own_density_keep_their_side_chains():
    backbones, lib, right, wrong = _copies()
    # copy 2's density has the wrong rotamer only: the true one would leave it out of density
    density = _density([(np.concatenate(backbones), 3.0), (_side(lib, right, 0), 3.0),
                        (_side(lib, wrong, 1)[1:], 1.0)])  # fmt: skip
    model = _model([_side(lib, right, 0), _side(lib, wrong, 1)], backbones)
    xyz, changed = fit_ncs_side_chains(model.xyz, model, np.array([0, 0]), density)
    assert len(changed) == 0 and np.array_equal(xyz, model.xyz)


def test_copies_that_agree_are_left_alone_and_bad_labels_refused():
    backbones, lib, right, _ = _copies()
    density = _density([(np.concatenate(backbones), 3.0), (_side(lib, right, 0), 3.0),
                        (_side(lib, right, 1), 3.0)])  # fmt: skip
    model = _model([_side(lib, right, 0), _side(lib, right, 1)], backbones)
    xyz, changed = fit_ncs_side_chains(model.xyz, model, np.array([0, 0]), density)
    assert len(changed) == 0 and np.array_equal(xyz, model.xyz)
    with pytest.raises(ValueError, match="NCS labels"):
        fit_ncs_side_chains(model.xyz, model, np.array([0]), density)
