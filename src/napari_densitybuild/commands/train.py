"""``densitybuild train``: train the residue classifier from box caches (see ``training.train``)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DensityBuildError
from ._paths import check_output_folder

if TYPE_CHECKING:
    from ..training.train import TrainConfig


def _floats(text: str) -> tuple[float, float]:
    lo, hi = (float(v) for v in text.split(","))
    return lo, hi


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "train",
        help="train the residue classifier from box caches",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--cache", default=".cache/boxes", help="box-cache folder")
    p.add_argument("--out", required=True, help="run folder (logs, last.pt, *.safetensors)")
    p.add_argument("--train-splits", default="train", help="comma-separated training splits")
    p.add_argument(
        "--stream-splits",
        default="",
        help="caches still being built (e.g. by a parallel prepare) that join the training pool "
        "once complete, checked at each evaluation",
    )
    p.add_argument("--val-split", default="val", help="validation split ('' for none)")
    p.add_argument(
        "--real-mix",
        type=float,
        default=0.0,
        help="fraction of each batch drawn from the real training maps",
    )
    p.add_argument(
        "--real-splits",
        default="auto",
        help="comma-separated real_<name> splits to mix in; auto: the REAL_TRAIN ones",
    )
    p.add_argument(
        "--real-balance",
        choices=("box", "map", "sqrt"),
        default="box",
        help="real boxes drawn uniformly (box), each map an equal share (map), or shares as "
        "the square root of each map's box count (sqrt)",
    )
    p.add_argument("--net", choices=("compact", "resnet11"), default="compact")
    p.add_argument("--base", type=int, default=16, help="compact: base channels")
    p.add_argument(
        "--blocks",
        default="3,3",
        help="compact: residual blocks per stage (a third count adds blocks on the last 3^3 "
        "stage; with --init-from a net with fewer blocks, the new ones start as identities)",
    )
    p.add_argument("--width", type=float, default=1.0, help="resnet11: width multiplier")
    p.add_argument("--dropout", type=float, default=0.0, help="compact: dropout before the head")
    p.add_argument(
        "--pose",
        nargs="?",
        const="regression",
        choices=("regression", "integral"),
        help="compact: add a pose head (stage 3): regression (the default when the option is "
        "given alone) or integral (heat maps; nets/pose_integral.py)",
    )
    p.add_argument("--pose-weight", type=float, default=0.0, help="weight of the pose loss")
    p.add_argument(
        "--atom-head",
        choices=("integral",),
        default=None,
        help="compact: add an atom head (a second, integral pose head whose atoms a build "
        "refines into its model; the shipped net has one)",
    )
    p.add_argument(
        "--atom-weight", type=float, default=0.0, help="weight of the atom head's pose loss"
    )
    p.add_argument(
        "--train-only",
        default="",
        help="train only the parameters under these comma-separated names (e.g. atom_head: "
        "the rest of the net, batch-norm statistics included, stays as loaded)",
    )
    p.add_argument(
        "--frame",
        choices=("backbone", "axis"),
        default=None,
        help="box frame (default: the cache's); axis allows --rotate90",
    )
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="train this long, the cosine schedule spread over the time (--steps is then a cap)",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--momentum", type=float, default=0.9, help="sgd momentum")
    p.add_argument("--wd", type=float, default=0.05, help="weight decay (sgd: L2)")
    p.add_argument("--warmup", type=int, default=200, help="linear warm-up steps")
    p.add_argument("--min-lr", type=float, default=0.0, help="cosine floor (fraction of lr)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    g = p.add_argument_group("augmentation (applied to raw boxes before normalisation)")
    g.add_argument("--rotate90", action="store_true", help="axis frame: 24 cube rotations")
    g.add_argument("--crop", type=int, default=None, help="random crop to this edge (e.g. 41)")
    g.add_argument("--aug-scale", type=_floats, default=(1.0, 1.0), help="signal scale lo,hi")
    g.add_argument("--aug-noise", type=float, default=0.0, help="max smooth-noise sd (sigma)")
    g.add_argument("--aug-noise-smooth", type=float, default=1.5, help="noise filter sd (voxels)")
    g.add_argument("--aug-blur", type=float, default=0.0, help="max extra blur sd (voxels)")
    g.add_argument("--aug-offset", type=float, default=0.0, help="offset sd (sigma)")
    g.add_argument(
        "--no-augment-real",
        action="store_true",
        help="real boxes get only rotations and crops, not noise/blur/scale/offset",
    )
    p.add_argument("--eval-every", type=int, default=500, help="validate every N steps")
    p.add_argument("--eval-max", type=int, default=None, help="at most N boxes per eval split")
    p.add_argument(
        "--best-metric",
        default="auto",
        help="realval_top1, realval_map, val_top1, val_map, or an RMSD (lower is better) such "
        "as realval_atom_rmsd, val_pose_rmsd (heldout_* exist but choosing by the held-out "
        "maps leaks the test); auto: real validation top-1 when present, else val mAP (with "
        "--train-only atom_head: the atom RMSD of the same)",
    )
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument(
        "--stop-after-minutes",
        type=float,
        default=None,
        help="checkpoint and stop after this long (continue with --resume)",
    )
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    p.add_argument(
        "--device-data",
        choices=("auto", "yes", "no"),
        default="auto",
        help="keep the box pools and augmentation on the device (auto: on CUDA)",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument(
        "--init-from", default=None, help="start from weights: 'shipped' or a .safetensors path"
    )
    p.add_argument(
        "--init-member",
        type=int,
        default=0,
        help="with --init-from an ensemble: the member to start from",
    )
    p.add_argument("--ablation-row", default=None, help="label for the ablation table")
    return p


def _check_real_splits(real_mix: list[str], best_metric: str) -> None:
    """Refuse to train on the held-out real maps, or to choose checkpoints by validation maps
    that are trained on (``real_<name>``, ``real_<name>_j<k>``, ``real_<name>_d<k>``)."""
    from ..training.realdata import REAL_HOLDOUT, REAL_VAL

    maps = {s.removeprefix("real_").split("_")[0] for s in real_mix}
    held = sorted(maps & set(REAL_HOLDOUT))
    if held:
        raise DensityBuildError(
            f"--real-splits includes the held-out map(s) {', '.join(held)}: they give the "
            "reported real-map accuracy and are never trained on"
        )
    val = sorted(maps & set(REAL_VAL))
    if val and best_metric in ("auto", "realval_top1", "realval_map"):
        raise DensityBuildError(
            f"--real-splits includes the validation map(s) {', '.join(val)}, which choose "
            f"checkpoints under --best-metric {best_metric}; pass --best-metric val_map"
        )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`~napari_densitybuild.training.train.TrainConfig` that ``args`` ask for."""
    from ..training.augment import AugmentConfig
    from ..training.train import TrainConfig

    if args.net == "compact":
        blocks = [int(b) for b in args.blocks.split(",")]
        net = {"name": "compact", "base": args.base, "blocks": blocks, "dropout": args.dropout}
        if args.pose:
            net["pose"] = True if args.pose == "regression" else args.pose
        if args.atom_head:
            net["atom_head"] = args.atom_head
    else:
        net = {"name": "resnet11", "width": args.width}
    real_mix: list[str] = []
    if args.real_mix > 0:
        if args.real_splits == "auto":
            from ..training.realdata import REAL_TRAIN

            # each real training map, its jittered copies (prepare --real-jitter) and the boxes
            # of its degraded copies (prepare --real-degraded)
            real_mix = sorted(
                p.parent.name
                for n in REAL_TRAIN
                for p in [
                    *Path(args.cache).glob(f"real_{n}/boxes.npy"),
                    *Path(args.cache).glob(f"real_{n}_j*/boxes.npy"),
                    *Path(args.cache).glob(f"real_{n}_d*/boxes.npy"),
                ]
            )
        else:
            real_mix = [s for s in args.real_splits.split(",") if s]
        if not real_mix:
            msg = f"--real-mix {args.real_mix} but no real splits in {args.cache}"
            raise DensityBuildError(msg)
        _check_real_splits(real_mix, args.best_metric)
    init = args.init_from
    if init == "shipped":
        from ..weights_io import shipped_weights_path

        init = shipped_weights_path()
        if init is None:
            raise DensityBuildError("--init-from shipped: this install has no shipped weights")
        init = str(init)
    aug = AugmentConfig(
        rotate90=args.rotate90,
        crop=args.crop,
        scale=tuple(args.aug_scale),
        noise=args.aug_noise,
        noise_smooth=args.aug_noise_smooth,
        blur=args.aug_blur,
        offset=args.aug_offset,
    )
    device = args.device
    if device == "auto":
        from ..device import pick_device

        device = str(pick_device("auto"))
    return TrainConfig(
        cache=args.cache,
        out=args.out,
        train_splits=[s for s in args.train_splits.split(",") if s],
        stream_splits=[s for s in args.stream_splits.split(",") if s],
        val_split=args.val_split or None,
        real_mix=real_mix,
        real_fraction=args.real_mix,
        real_balance=args.real_balance,
        net=net,
        box={"frame": args.frame} if args.frame else None,
        batch_size=args.batch_size,
        steps=args.steps,
        minutes=args.minutes,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.wd,
        warmup=args.warmup,
        min_lr=args.min_lr,
        label_smoothing=args.label_smoothing,
        pose_weight=args.pose_weight,
        atom_weight=args.atom_weight,
        train_only=[s for s in args.train_only.split(",") if s],
        augment=aug,
        augment_real=not args.no_augment_real,
        eval_every=args.eval_every,
        eval_max=args.eval_max,
        best_metric=args.best_metric,
        log_every=args.log_every,
        checkpoint_minutes=args.checkpoint_minutes,
        stop_after_minutes=args.stop_after_minutes,
        threads=args.threads,
        seed=args.seed,
        device=device,
        device_data={"auto": None, "yes": True, "no": False}[args.device_data],
        resume=args.resume,
        init_from=init,
        init_member=args.init_member,
        command=shlex.join(["densitybuild", *sys.argv[1:]]) if sys.argv else "",
    )


def run(args: argparse.Namespace) -> int:
    """Print the configuration, train, and print where the results are."""
    from ..training.train import train

    cfg = config_from_args(args)
    out = check_output_folder(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    params = {
        "args": {k: v for k, v in vars(args).items() if not k.startswith("_")},
        "config": asdict(cfg),
    }
    (out / "args.json").write_text(json.dumps(params, indent=1, default=str))
    print(json.dumps(asdict(cfg), indent=1, default=str), flush=True)
    summary = train(cfg)
    print(json.dumps(summary, indent=1, default=str))
    return 0
