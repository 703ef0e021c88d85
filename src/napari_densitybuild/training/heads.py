"""The heads a training run trains: which parameters learn, and the atom head's start.

A compact net can carry two pose heads (``nets/compact.py``): the regression pose head, trained
with the classifier (``pose_weight``), and the integral atom head (``atom_weight``). A run may
train only some parts of a net (``train_only``: parameter-name prefixes such as
``atom_head``): the others are frozen, their batch-norm statistics too, so a head can be
trained on the features of a net that stays exactly as it was (what the shipped atom head was
trained on), or the whole net jointly with both heads.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def _trained(name: str, prefixes: list[str]) -> bool:
    return not prefixes or any(name == p or name.startswith(f"{p}.") for p in prefixes)


def freeze_except(net: nn.Module, prefixes: list[str]) -> int:
    """Freeze every parameter whose name is under none of ``prefixes`` (none: train all).

    Returns
    -------
    int
        The number of parameters left to train.

    Raises
    ------
    ValueError
        If a prefix names no parameter of ``net``.
    """
    names = [n for n, _ in net.named_parameters()]
    unknown = [p for p in prefixes if not any(_trained(n, [p]) for n in names)]
    if unknown:
        tops = sorted({n.split(".")[0] for n in names})
        raise ValueError(f"no parameters under {', '.join(unknown)} (this net has {tops})")
    count = 0
    for name, param in net.named_parameters():
        param.requires_grad_(_trained(name, prefixes))
        count += param.numel() if param.requires_grad else 0
    return count


def set_training(net: nn.Module, prefixes: list[str]) -> None:
    """``net.train()``, but batch norm outside ``prefixes`` keeps its running statistics."""
    net.train()
    if not prefixes:
        return
    for name, module in net.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not _trained(name, prefixes):
            module.eval()


def load_without_atom_head(
    net: nn.Module, source: nn.Module, load: Callable[[nn.Module, nn.Module], list[str]]
) -> tuple[list[str], str]:
    """Load ``source`` into ``net`` with ``load`` (e.g. :func:`~..nets.grow.load_grown`),
    matching atom heads: one that ``net`` lacks is left out, one that only ``net`` has starts
    fresh. Returns ``load``'s result and a note for the log ('' when the heads matched)."""
    mine, theirs = getattr(net, "atom_head", None), getattr(source, "atom_head", None)
    note = ""
    if theirs is not None and mine is None:
        source.atom_head = None  # trained on other features: it would not fit these
        note = ("its atom head is left out (train one: --atom-head integral --atom-weight W, "
                "with --train-only atom_head to keep the rest as it is)")  # fmt: skip
    elif mine is not None and theirs is None:
        net.atom_head = None  # hidden while the rest loads
        note = "it has no atom head: the atom head starts from scratch"
    try:
        result = load(net, source)
    finally:
        if mine is not None:
            net.atom_head = mine
    return result, note


def forward_heads(
    model: nn.Module, x: torch.Tensor, use_pose: bool, use_atoms: bool
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Logits and, as asked, the pose head's and the atom head's coordinates for ``x``."""
    if use_pose and use_atoms:
        return model(x, pose="both")
    if use_atoms:
        logits, atoms = model(x, pose="atoms")
        return logits, None, atoms
    if use_pose:
        logits, coords = model(x, pose=True)
        return logits, coords, None
    return model(x), None, None
