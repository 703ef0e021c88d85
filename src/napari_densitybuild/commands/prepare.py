"""``densitybuild prepare``: build the box caches the residue classifier trains and is scored on.

Examples
--------
Quick check (3 structures per split)::

    densitybuild prepare --out .cache/boxes --limit 3

Everything, both cores, with the real maps::

    densitybuild prepare --out .cache/boxes --splits train,val,val_jittered,test_1.5,test_2.5 \\
        --real all --workers 2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    from ..training import DEFAULT_CACHES  # the cache table itself imports the simulation

    p = sub.add_parser("prepare", help="simulate maps and cut training boxes (box caches)")
    p.add_argument("--out", default=".cache/boxes", help="cache folder (default .cache/boxes)")
    p.add_argument(
        "--splits",
        default=",".join(DEFAULT_CACHES),
        help=f"caches to build, comma-separated, 'all' or 'none' (default "
        f"{','.join(DEFAULT_CACHES)}; an unknown name lists the known ones)",
    )
    p.add_argument(
        "--real",
        default="none",
        help="real-map caches: 'all', 'none' (default) or names, e.g. 1cbs,cdk2",
    )
    p.add_argument(
        "--real-jitter",
        type=int,
        default=0,
        help="also build K jittered copies (real_<name>_j1..K) of each real training map",
    )
    p.add_argument(
        "--real-degraded",
        type=int,
        default=0,
        help="also build K degraded copies (real_<name>_d1..K: the map at lower resolution, "
        "blurred, with phase errors and noise; frames jittered) of each real training map",
    )
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    p.add_argument("--scheduler", help="simulate on a Dask cluster (scheduler address)")
    p.add_argument("--limit", type=int, help="only the first N structures of each split")
    p.add_argument(
        "--frame",
        choices=("backbone", "axis"),
        default="backbone",
        help="box frame: backbone (CA->CB shifted, rotated) or the poster's axis",
    )
    p.add_argument("--size", type=int, default=22, help="box edge in voxels (default 22)")
    p.add_argument("--spacing", type=float, default=0.5, help="voxel size in A (default 0.5)")
    return p


def _names(text: str, known: Collection[str], what: str) -> list[str]:
    from ..errors import DensityBuildError

    if text.strip().lower() in ("", "none"):
        return []
    if text.strip().lower() == "all":
        return list(known)
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DensityBuildError(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def run(args: argparse.Namespace) -> int:
    """Build the caches; print one line per cache."""
    from ..boxes import BoxSpec
    from ..training.cache import CACHES, build_cache
    from ..training.realdata import REAL_TRAIN, build_real_cache, real_names

    box = BoxSpec(size=args.size, spacing=args.spacing, frame=args.frame)
    caches = _names(args.splits, CACHES, "cache")
    reals = _names(args.real, real_names(), "real map")
    for name in caches:
        info = build_cache(CACHES[name], args.out, box, workers=args.workers, limit=args.limit,
                           scheduler=args.scheduler)  # fmt: skip
        failed = f", {len(info['failed'])} failed" if info["failed"] else ""
        print(f"{name}: {info['boxes']} boxes from {info['structures']} structures{failed}, "
              f"{info['seconds']:.0f} s", flush=True)  # fmt: skip
    for name in reals:
        info = build_real_cache(name, args.out, box)
        print(f"real_{name}: {info['boxes']} boxes, {info['resolution']} A", flush=True)
        if name in REAL_TRAIN:
            for k in range(1, args.real_jitter + 1):
                info = build_real_cache(name, args.out, box, jitter=True, seed=k)
                print(f"{info['name']}: {info['boxes']} jittered boxes", flush=True)
            for k in range(1, args.real_degraded + 1):
                info = build_real_cache(name, args.out, box, seed=k, degrade=True)
                print(f"{info['name']}: {info['boxes']} boxes of a degraded map", flush=True)
    if not caches and not reals:
        print("nothing to build (--splits none and --real none)", file=sys.stderr)
    return 0
