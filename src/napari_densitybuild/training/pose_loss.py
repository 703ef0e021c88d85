"""Pose targets, losses and errors: heavy atoms in box frames, blind to naming symmetry.

Coordinates are (B, 14, 3) in :data:`~napari_densitybuild.residues.HEAVY_ATOMS` order, NaN where
an atom is missing (or the type has fewer atoms). Density cannot tell apart the two namings of
:data:`~napari_densitybuild.residues.SWAPS` (PHE ring flip, ASP carboxylate, ...), so every loss and
error takes the better of the identity and the swapped naming, per residue.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..residues import AMINO_ACIDS, MAX_ATOMS, SWAPS


def swap_permutations(swaps: dict[str, tuple[tuple[int, int], ...]]) -> np.ndarray:
    """(20, 14) atom permutation per type exchanging the given atom positions (else identity)."""
    out = np.tile(np.arange(MAX_ATOMS), (len(AMINO_ACIDS), 1))
    for name, pairs in swaps.items():
        row = out[AMINO_ACIDS.index(name)]
        for a, b in pairs:
            row[a], row[b] = b, a
    return out


#: (20, 14) atom permutation of each type's other naming (identity for types without one).
SWAP_PERMUTATIONS = swap_permutations(SWAPS)


def mean_poses(atoms: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean frame coordinates (20, 14, 3) of each type's atoms (NaN for absent atoms)."""
    out = np.full((len(AMINO_ACIDS), MAX_ATOMS, 3), np.nan, dtype=np.float32)
    atoms = np.asarray(atoms, dtype=np.float32)
    for k in range(len(AMINO_ACIDS)):
        sel = atoms[labels == k]
        if len(sel):
            with warnings.catch_warnings():  # atoms a type does not have: all NaN, mean NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                out[k] = np.nanmean(sel, axis=0)
    return out


_PERMS: dict[torch.device, torch.Tensor] = {}


def _swap_permutations(device: torch.device) -> torch.Tensor:
    """:data:`SWAP_PERMUTATIONS` as a tensor on ``device`` (copied there once)."""
    if device not in _PERMS:
        _PERMS[device] = torch.as_tensor(SWAP_PERMUTATIONS, device=device)
    return _PERMS[device]


def _pick(coords: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return coords[torch.arange(len(labels), device=coords.device), labels]


def pose_loss(coords: torch.Tensor, labels: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-atom distance (A) of the true type's predicted atoms, better naming per residue.

    Parameters
    ----------
    coords
        (B, 20, 14, 3) predicted coordinates of every type.
    labels
        (B,) true types.
    target
        (B, 14, 3) true coordinates, NaN where missing.
    """
    pred = _pick(coords, labels).float()
    mask = torch.isfinite(target).all(-1)
    tgt = torch.nan_to_num(target.float())
    perm = _swap_permutations(coords.device)[labels]
    swapped = torch.gather(tgt, 1, perm[..., None].expand(-1, -1, 3))
    swapped_mask = torch.gather(mask, 1, perm)
    n = mask.sum(1).clamp(min=1)

    def per_residue(t: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        d = torch.sqrt(((pred - t) ** 2).sum(-1) + 1e-6)
        return (d * m).sum(1) / n

    loss = torch.minimum(per_residue(tgt, mask), per_residue(swapped, swapped_mask))
    has = mask.any(1).to(loss.dtype)  # residues with a target (0 if none: still a graph)
    return (loss * has).sum() / has.sum().clamp(min=1)


def pose_rmsd(
    pred: np.ndarray,
    target: np.ndarray,
    labels: np.ndarray,
    permutations: np.ndarray = SWAP_PERMUTATIONS,
) -> np.ndarray:
    """Per-residue RMSD (A) over the atoms present in ``target``, better naming per residue.

    ``pred`` and ``target`` are (B, 14, 3) for the residues' own types (``labels``); NaN for
    residues without any target atom. ``permutations`` (20, 14): the other naming of each type
    (:func:`swap_permutations`).
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    perm = permutations[np.asarray(labels)]
    swapped = np.take_along_axis(target, perm[..., None], axis=1)
    out = []
    for t in (target, swapped):
        d2 = ((pred - t) ** 2).sum(-1)
        ok = np.isfinite(d2)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.sqrt(np.where(ok, d2, 0).sum(1) / ok.sum(1)))
    return np.fmin(out[0], out[1])


@torch.inference_mode()
def predict_poses(
    net: torch.nn.Module, x: torch.Tensor, labels: np.ndarray | torch.Tensor, head: str = "pose"
) -> np.ndarray:
    """Predicted (B, 14, 3) frame coordinates of the given types for net input ``x``, from
    the pose head or (``head="atoms"``) the atom head."""
    _, coords = net.forward_atoms(x) if head == "atoms" else net.forward_pose(x)
    labels = torch.as_tensor(np.asarray(labels), device=coords.device)
    return _pick(coords, labels).float().cpu().numpy()


def evaluate_poses(
    net: torch.nn.Module,
    data: dict[str, tuple[np.ndarray, ...]],
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    head: str = "pose",
) -> dict[str, float]:
    """Mean per-residue pose RMSD (A) of the true types per split (boxes, labels, atoms),
    plus the pooled real sets of :data:`~.evaluate.POOLS`; ``head``: "pose" or "atoms"."""
    from .evaluate import POOLS, prepare_batch, to_input

    if not data:
        return {}
    was_training = net.training
    net.eval()
    per_split = {}
    for name, (boxes, labels, atoms) in data.items():
        errs = []
        for i in range(0, len(labels), batch_size):
            x = to_input(prepare_batch(boxes[i : i + batch_size]), device)
            pred = predict_poses(net, x, labels[i : i + batch_size], head)
            errs.append(pose_rmsd(pred, atoms[i : i + batch_size], labels[i : i + batch_size]))
        per_split[name] = np.concatenate(errs) if errs else np.zeros(0)
    net.train(was_training)
    out = {k: float(np.nanmean(v)) if len(v) else float("nan") for k, v in per_split.items()}
    for pool, names in POOLS.items():
        held = [per_split[f"real_{n}"] for n in names if f"real_{n}" in per_split]
        if len(held) > 1:
            out[pool] = float(np.nanmean(np.concatenate(held)))
    return out
