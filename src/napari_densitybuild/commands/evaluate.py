"""``densitybuild evaluate``: score weights on box caches or on map + model pairs.

``--task classify`` (the default, and for now the only task) scores the residue classifier;
placement (C-alpha recall/precision) and model-building metrics are meant to be further tasks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DensityBuildError

TASKS = ("classify",)


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "evaluate",
        help="score classifier weights on cached test splits or a map + model",
        description="Per split: n, top-1, top-3, mAP; confusion matrices (PNG + CSV); "
        "metrics.json. Held-out real maps are also pooled as 'real_heldout'.",
    )
    p.add_argument("--task", choices=TASKS, default="classify", help="what to evaluate")
    p.add_argument("--weights", default="shipped", help="a .safetensors file, or 'shipped'")
    p.add_argument("--cache", help="box-cache folder (e.g. .cache/boxes)")
    p.add_argument(
        "--splits",
        help="comma-separated splits (default: test_1.5, test_2.5 and the held-out "
        "real maps, those present)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        help="a map file (with --model), or a folder holding a map and a model "
        "(e.g. data/real/1cbs); repeatable",
    )
    p.add_argument("--model", action="append", default=[], help="model file for each --map FILE")
    p.add_argument("--out", help="folder for metrics.json, metrics.md and confusion matrices")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    p.add_argument("--batch-size", type=int, default=256)
    return p


def _pairs(maps: list[str], models: list[str]) -> list[tuple[str, Path, Path]]:
    from ..training.evaluate import find_map_and_model

    pairs, models = [], list(models)
    for m in maps:
        path = Path(m)
        if path.is_dir():
            map_file, model_file = find_map_and_model(path)
            pairs.append((f"real_{path.name}", map_file, model_file))
        else:
            if not models:
                raise DensityBuildError(f"--map {m} is a file: give its --model too")
            model_file = Path(models.pop(0))
            pairs.append((path.name.split(".")[0], path, model_file))
    if models:
        raise DensityBuildError(f"{len(models)} --model without a --map file")
    return pairs


def run(args: argparse.Namespace) -> int:
    """Evaluate and print a markdown table."""
    from ..training.evaluate import evaluate_classifier, markdown_table

    weights = args.weights
    if weights == "shipped":
        from ..weights_io import shipped_weights_path

        weights = shipped_weights_path()
        if weights is None:
            raise DensityBuildError("no shipped weights in this install: give --weights PATH")
    splits = [s for s in args.splits.split(",") if s] if args.splits else None
    if splits and not args.cache:
        raise DensityBuildError("--splits needs --cache")
    results = evaluate_classifier(
        weights,
        cache=args.cache,
        splits=splits,
        pairs=_pairs(args.map, args.model),
        out=args.out,
        device=args.device,
        batch_size=args.batch_size,
    )
    print(markdown_table(results))
    if args.out:
        print(f"wrote {Path(args.out) / 'metrics.json'} and confusion matrices")
    return 0
