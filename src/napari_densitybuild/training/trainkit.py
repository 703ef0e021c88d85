"""Small parts of the training loop: the learning-rate schedule, weight-decay groups, whether a
cache is complete, and the metrics kept from an evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .train import TrainConfig


def lr_at(step: int, cfg: TrainConfig, progress: float | None = None) -> float:
    """Linear warm-up to ``lr`` over ``warmup`` steps, then cosine decay to ``min_lr * lr``.

    ``progress`` (0-1, e.g. the fraction of ``cfg.minutes`` spent) replaces the step count as
    the position in the cosine after the warm-up.
    """
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup) if progress is None else progress
    return cfg.lr * (cfg.min_lr + (1 - cfg.min_lr) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def cache_complete(cache: str, split: str) -> bool:
    """Whether a cache folder is finished (``info.json`` is written last, with the box count)."""
    path = Path(cache) / split / "info.json"
    try:
        return "boxes" in json.loads(path.read_text())
    except (OSError, ValueError):
        return False


def param_groups(net: torch.nn.Module, wd: float) -> list[dict]:
    """AdamW groups: weight decay on weights (ndim > 1), none on biases and norm parameters."""
    decay = [p for p in net.parameters() if p.requires_grad and p.ndim > 1]
    other = [p for p in net.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": wd}, {"params": other, "weight_decay": 0.0}]


def summary(results: dict[str, dict]) -> dict:
    """The metrics a log and model card keep from :func:`.evaluate.evaluate_arrays` results."""
    keys = ("n", "top1", "top3", "map", "pose_rmsd")
    return {k: {m: v[m] for m in keys if m in v} for k, v in results.items()}
