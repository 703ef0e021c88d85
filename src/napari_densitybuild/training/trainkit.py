"""Small parts of the training loop: the learning-rate schedule, weight-decay groups, whether a
cache is complete, and the metrics kept from an evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import DensityBuildError

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


def box_from_cache(cfg: TrainConfig, boxes: np.ndarray) -> dict:
    """The run's box (size, spacing, frame): the cache's ``info.json``, then ``cfg.box``."""
    info_path = Path(cfg.cache) / cfg.train_splits[0] / "info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    box = dict(info.get("box") or info.get("spec") or {})
    box = {
        "size": int(box.get("size", boxes.shape[-1])),
        "spacing": float(box.get("spacing", 0.5)),
        "frame": str(box.get("frame", "backbone")),
        **(cfg.box or {}),
    }
    if box["size"] != boxes.shape[-1]:
        raise DensityBuildError(f"box size {box['size']} but cached boxes are {boxes.shape[-1]}^3")
    return box


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


def metric_value(results: dict[str, dict], name: str) -> float | None:
    """The value of checkpoint metric ``name`` in evaluation ``results``, higher is better.

    ``name`` is ``<split>_<metric>`` (``val_map``, ``real_3sb3_top1``, ``val_atom_rmsd``), with
    ``heldout`` and ``realval`` for the pooled held-out and validation maps; RMSDs are negated.
    None when the evaluation has no such figure.
    """
    from .evaluate import POOLED

    for metric in ("pose_rmsd", "atom_rmsd", "top1", "top3", "map"):
        if name.endswith(f"_{metric}"):
            split = name[: -len(metric) - 1]
            split = {"heldout": POOLED, "realval": "real_val"}.get(split, split)
            value = results.get(split, {}).get(metric)
            if value is None or not np.isfinite(value):
                return None
            return -float(value) if metric.endswith("rmsd") else float(value)
    return None


def summary(results: dict[str, dict]) -> dict:
    """The metrics a log and model card keep from :func:`.evaluate.evaluate_arrays` results."""
    keys = ("n", "top1", "top3", "map", "pose_rmsd", "atom_rmsd")
    return {k: {m: v[m] for m in keys if m in v} for k, v in results.items()}
