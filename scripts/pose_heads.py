"""Pose heads compared on the shipped classifier's frozen features: regression vs integral.

    .venv/bin/python scripts/pose_heads.py --out runs/posehead [--boxes 80000] [--steps 1500]

The shipped net's pose head regresses coordinates (``nets/pose_head.py``); the poster's stage 3
points at pose estimation, whose heads are heat maps (``nets/pose_integral.py``: integral
regression). Both heads read the same middle-stage feature map, so with the rest of the shipped
net frozen they can be trained on the same cached features and compared fairly: a fresh
regression head and a fresh integral head, same boxes (simulated training boxes and, a quarter,
the boxes of the eleven real training maps, as the shipped net was trained), same optimiser
and steps. Both are scored by the per-residue pose RMSD of the true type (better naming of
symmetric groups), as ``densitybuild train`` logs it, on the simulated validation split and the
real validation and held-out maps' cached boxes, next to the shipped head. Prints a Markdown
table; the heads' weights go to OUT.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.device import configure_cpu_threads  # noqa: E402
from napari_densitybuild.nets import build_net  # noqa: E402
from napari_densitybuild.nets.pose_head import PoseHead  # noqa: E402
from napari_densitybuild.nets.pose_integral import IntegralPoseHead  # noqa: E402
from napari_densitybuild.training.cache import load_cache  # noqa: E402
from napari_densitybuild.training.evaluate import load_atoms, prepare_batch, to_input  # noqa: E402
from napari_densitybuild.training.pose_loss import mean_poses, pose_loss, pose_rmsd  # noqa: E402
from napari_densitybuild.training.realdata import REAL_TRAIN  # noqa: E402
from napari_densitybuild.weights_io import load_model, save_model, shipped_weights_path  # noqa: E402

EVAL = {"val": 4000, "real_3sb3": None, "real_gamma": None, "real_1cbs": None,
        "real_cdk2": None, "real_rnasa": None}  # fmt: skip


@torch.inference_mode()
def features(net, boxes: np.ndarray, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Middle-stage feature maps (float16) and pooled features of the frozen net."""
    mids, pooled = [], []
    for i in range(0, len(boxes), batch):
        _, _, mid, _, pool = net.features(to_input(prepare_batch(boxes[i : i + batch])))
        pooled.append(torch.flatten(pool, 1))
        mids.append(mid.contiguous().half())
    return torch.cat(mids), torch.cat(pooled)


def load(cache: Path, split: str, pick: np.ndarray | None) -> tuple:
    """Boxes, labels and pose targets of a cached split (the rows ``pick``, or all)."""
    boxes, labels, _, _ = load_cache(cache / split)
    atoms = load_atoms(cache, split, len(labels))
    idx = np.arange(len(labels)) if pick is None else np.sort(pick)
    return boxes[idx], labels[idx], atoms[idx].astype(np.float32)


def sample(cache: Path, splits: list[str], count: int, rng) -> tuple:
    """``count`` boxes drawn from ``splits`` without replacement (all of them if fewer)."""
    sizes = np.array([len(np.load(cache / s / "labels.npy")) for s in splits])
    pick = rng.choice(sizes.sum(), size=min(count, sizes.sum()), replace=False)
    which = np.searchsorted(np.cumsum(sizes), pick, side="right")
    starts = np.cumsum(sizes) - sizes
    parts = [load(cache, s, pick[which == k] - starts[k]) for k, s in enumerate(splits)
             if (which == k).any()]  # fmt: skip
    return tuple(np.concatenate(p) for p in zip(*parts))


def train_head(head, mids, pooled, labels, atoms, steps, batch, lr, seed) -> list[float]:
    """Train ``head`` alone on cached features with the pose loss; the loss per step."""
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, lr, total_steps=steps, pct_start=min(0.5, max(0.05, 3 / steps))
    )
    gen = np.random.default_rng(seed)
    head.train()
    log = []
    for step in range(steps):
        i = torch.from_numpy(gen.choice(len(labels), size=batch, replace=False))
        coords = head(mids[i].float(), pooled[i])
        loss = pose_loss(coords, torch.from_numpy(labels[i.numpy()]), torch.from_numpy(atoms[i]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        log.append(float(loss.detach()))
        if (step + 1) % 100 == 0:
            print(f"  step {step + 1}: loss {np.mean(log[-100:]):.4f} A", flush=True)
    head.eval()
    return log


@torch.inference_mode()
def rmsd(head, mids, pooled, labels, atoms, batch: int = 512) -> float:
    """Mean per-residue pose RMSD (A) of the true types."""
    out = []
    for i in range(0, len(labels), batch):
        c = head(mids[i : i + batch].float(), pooled[i : i + batch])
        pred = c[torch.arange(len(c)), torch.from_numpy(labels[i : i + batch])].numpy()
        out.append(pose_rmsd(pred, atoms[i : i + batch], labels[i : i + batch]))
    return float(np.nanmean(np.concatenate(out)))


def save_with_head(net, config: dict, head, path: str, facts: dict) -> None:
    """Write ``net`` (the shipped one) with ``head`` as its integral pose head."""
    net_config = {**config["net"], "pose": "integral"}
    full = build_net(net_config)
    state = {k: v for k, v in net.state_dict().items() if not k.startswith("pose_head.")}
    state.update({f"pose_head.{k}": v for k, v in head.state_dict().items()})
    full.load_state_dict(state, strict=True)
    card = {**config.get("card", {}), "pose_head": {"kind": "integral", **facts}}
    save_model(path, full.eval(), {**config, "net": net_config}, card)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--cache", default=str(ROOT / ".cache/boxes"))
    p.add_argument("--boxes", type=int, default=80000)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heads", default="regression,integral")
    p.add_argument("--init-integral", help="start the integral head from this state dict (.pt "
                   "written by an earlier run) instead of from scratch")  # fmt: skip
    p.add_argument("--save-weights", help="write the shipped net with the trained integral head "
                   "to this .safetensors (its card says how the head was trained)")  # fmt: skip
    args = p.parse_args(argv)
    configure_cpu_threads(args.threads)
    out, cache = Path(args.out), Path(args.cache)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    net, shipped_config = load_model(shipped_weights_path(), "cpu")
    t0 = time.perf_counter()
    n_real = args.boxes // 4
    real = [f"real_{m}{j}" for m in REAL_TRAIN for j in ("", "_j1", "_j2", "_j3", "_j4")]
    real = [s for s in real if (cache / s).exists()]
    simulated = [s for s in ("train", "train2", "train3") if (cache / s).exists()]
    sim = sample(cache, simulated, args.boxes - n_real, rng)
    rea = sample(cache, real, n_real, rng)
    boxes, labels, atoms = (np.concatenate(a) for a in zip(sim, rea))
    mids, pooled = features(net, boxes)
    del boxes
    print(f"features of {len(labels)} boxes ({len(real)} real splits): "
          f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    evals = {}
    for split, n in EVAL.items():
        b, lab, at = load(cache, split, None if n is None else np.arange(n))
        evals[split] = (*features(net, b), lab, at)
    c, spatial = mids.shape[1], mids.shape[-1]
    heads = {"shipped regression head": net.pose_head}
    rows = {}
    for name in args.heads.split(","):
        head = (IntegralPoseHead if name == "integral" else PoseHead)(c, spatial, pooled.shape[1])
        if name != "integral":
            head.set_mean_pose(torch.from_numpy(mean_poses(atoms, labels)))
        elif args.init_integral:  # a state dict of tensors only: no pickled objects
            head.load_state_dict(torch.load(args.init_integral, weights_only=True))
        t = time.perf_counter()
        print(f"training the {name} head", flush=True)
        log = train_head(head, mids, pooled, labels, atoms, args.steps, args.batch, args.lr,
                         args.seed)  # fmt: skip
        rows[name] = {"seconds": round(time.perf_counter() - t), "final_loss": np.mean(log[-100:])}
        torch.save(head.state_dict(), out / f"{name}.pt")
        heads[f"{name} head, frozen features"] = head
    table = ["| head | " + " | ".join(EVAL) + " |", "|---|" + "---:|" * len(EVAL)]
    result = {}
    for name, head in heads.items():
        head.eval()
        vals = {s: rmsd(head, *e) for s, e in evals.items()}
        result[name] = vals
        table.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in vals.values()) + " |")
    print("\n".join(table))
    if args.save_weights and "integral" in rows:
        save_with_head(net, shipped_config, heads["integral head, frozen features"],
                       args.save_weights, {**rows["integral"], "samples": args.steps * args.batch,
                                           "continued_from": args.init_integral,
                                           "command": " ".join(sys.argv)})  # fmt: skip
    (out / "result.json").write_text(
        json.dumps({"rmsd": result, "train": rows, "args": vars(args)}, indent=1, default=float)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
